// An embedding in C++ as an inference server would do it: RAII handles, a session fed by an "engine" that
// answers batches out of order, and a check that the result equals vxt_stitch()'s bit for bit.
// Built by tests/CMakeLists.txt (test cxx_session) and by the install check (tests/consumer/CMakeLists.txt),
// with -Wall -Wextra -Wpedantic -Werror so that the public header stays clean C++.
#include <voxtile.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// Every voxtile call returns a status; a server turns a failure into its own error type.
void check(vxt_status st, const char *what)
{
    if (st != VXT_OK)
        throw std::runtime_error(std::string(what) + ": " + vxt_status_string(st) + ": " + vxt_last_error());
}

struct ContextDeleter { void operator()(vxt_context *c) const { vxt_context_destroy(c); } };
struct PlanDeleter { void operator()(vxt_tiling *p) const { vxt_tiling_destroy(p); } };
struct SessionDeleter { void operator()(vxt_session *s) const { vxt_session_destroy(s); } };
using Context = std::unique_ptr<vxt_context, ContextDeleter>;
using Plan = std::unique_ptr<vxt_tiling, PlanDeleter>;
using Session = std::unique_ptr<vxt_session, SessionDeleter>;

// The "model": two channels, a smooth function of the input voxel and of the position inside the tile, so
// that overlapping tiles disagree and the blending matters.
void predict(const vxt_batch &b, float *out)
{
    const int64_t n = b.roi[0] * b.roi[1] * b.roi[2];
    for (int t = 0; t < b.count; t++) {
        const float *in = b.input + static_cast<int64_t>(t) * b.in_channels * n;
        float *o = out + static_cast<int64_t>(t) * b.out_channels * n;
        for (int64_t i = 0; i < n; i++) {
            const float edge = static_cast<float>(i % b.roi[2]) / static_cast<float>(b.roi[2]);
            o[i] = in[i] * 2.0f - 0.5f + edge;       // channel 0
            o[n + i] = 1.0f - in[i] - 0.25f * edge;  // channel 1
        }
    }
}

int c_predict(void *, const vxt_batch *b)
{
    predict(*b, static_cast<float *>(b->output));
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    try {
        vxt_context_options copt;
        vxt_context_options_init(&copt);  // auto: an OpenCL device that passes the probe, else the CPU
        if (argc > 1)                      // or the backend named on the command line: auto, opencl, cpu
            check(vxt_backend_parse(argv[1], &copt.backend), "vxt_backend_parse");
        vxt_context *raw_ctx = nullptr;
        check(vxt_context_create(&copt, &raw_ctx), "vxt_context_create");
        Context ctx(raw_ctx);
        vxt_context_info info{};
        info.struct_size = sizeof info;
        check(vxt_context_get_info(ctx.get(), &info), "vxt_context_get_info");

        vxt_tiling_options popt;
        vxt_tiling_options_init(&popt);
        const int64_t shape[3] = {40, 56, 48}, roi[3] = {16, 24, 32};
        std::memcpy(popt.shape, shape, sizeof shape);
        std::memcpy(popt.roi, roi, sizeof roi);
        for (double &o : popt.overlap)
            o = 0.5;
        vxt_tiling *raw_plan = nullptr;
        check(vxt_tiling_create(&popt, &raw_plan), "vxt_tiling_create");
        Plan plan(raw_plan);

        const int64_t nvox = shape[0] * shape[1] * shape[2];
        std::vector<float> image(static_cast<size_t>(nvox));
        uint32_t state = 12345u;  // deterministic, non-trivial input
        for (float &v : image) {
            state = state * 1664525u + 1013904223u;
            v = static_cast<float>(state >> 8) / 16777216.0f;
        }
        vxt_volume input{image.data(), VXT_DTYPE_F32, 1, {shape[0], shape[1], shape[2]}};

        vxt_stitch_options sopt;
        vxt_stitch_options_init(&sopt);
        sopt.out_channels = 2;
        sopt.batch_size = 3;
        sopt.activation = VXT_ACTIVATION_SOFTMAX;
        sopt.max_outstanding = 8;

        // 1. The session: take batches as an asynchronous engine would, answer them in reverse order.
        std::vector<float> probs(static_cast<size_t>(2 * nvox), -1.0f);
        std::vector<uint8_t> labels(static_cast<size_t>(nvox), 255);
        vxt_volume vprobs{probs.data(), VXT_DTYPE_F32, 2, {shape[0], shape[1], shape[2]}};
        vxt_volume vlabels{labels.data(), VXT_DTYPE_U8, 1, {shape[0], shape[1], shape[2]}};
        vxt_stitch_output out;
        vxt_stitch_output_init(&out);
        out.values = &vprobs;
        out.labels = &vlabels;
        vxt_session *raw_session = nullptr;
        check(vxt_session_create(ctx.get(), plan.get(), &sopt, &input, &out, &raw_session), "vxt_session_create");
        Session session(raw_session);
        for (;;) {
            struct Pending {
                uint64_t id;
                std::vector<float> output;
            };
            std::vector<Pending> pending;
            int done = 0;
            while (pending.size() < static_cast<size_t>(sopt.max_outstanding)) {
                vxt_batch b{};
                check(vxt_session_next_batch(session.get(), &b, &done), "vxt_session_next_batch");
                if (done)
                    break;
                const int64_t n = b.roi[0] * b.roi[1] * b.roi[2];
                Pending p{b.id, std::vector<float>(static_cast<size_t>(b.count * b.out_channels * n))};
                predict(b, p.output.data());  // the batch's input stays valid until it is submitted
                pending.push_back(std::move(p));
            }
            for (auto it = pending.rbegin(); it != pending.rend(); ++it)
                check(vxt_session_submit(session.get(), it->id, it->output.data()), "vxt_session_submit");
            if (done)
                break;
        }
        check(vxt_session_finish(session.get()), "vxt_session_finish");

        // 2. The same run in one call; the session's result must be identical, bit for bit.
        std::vector<float> probs2(probs.size(), -2.0f);
        std::vector<uint8_t> labels2(labels.size(), 254);
        vxt_volume vprobs2{probs2.data(), VXT_DTYPE_F32, 2, {shape[0], shape[1], shape[2]}};
        vxt_volume vlabels2{labels2.data(), VXT_DTYPE_U8, 1, {shape[0], shape[1], shape[2]}};
        vxt_stitch_output out2;
        vxt_stitch_output_init(&out2);
        out2.values = &vprobs2;
        out2.labels = &vlabels2;
        check(vxt_stitch(ctx.get(), plan.get(), &sopt, &input, c_predict, nullptr, &out2), "vxt_stitch");
        if (std::memcmp(probs.data(), probs2.data(), probs.size() * sizeof(float)) != 0 || labels != labels2)
            throw std::runtime_error("session and vxt_stitch results differ");

        // Softmax over 2 channels: probabilities in [0, 1] summing to 1; labels are 0 or 1, with both present.
        size_t ones = 0;
        for (int64_t i = 0; i < nvox; i++) {
            const float p0 = probs[static_cast<size_t>(i)], p1 = probs[static_cast<size_t>(nvox + i)];
            if (!(p0 >= 0.0f && p1 >= 0.0f && std::fabs(p0 + p1 - 1.0f) < 1e-6f) || labels[static_cast<size_t>(i)] > 1)
                throw std::runtime_error("implausible probabilities or labels at voxel " + std::to_string(i));
            ones += labels[static_cast<size_t>(i)];
        }
        if (ones == 0 || ones == static_cast<size_t>(nvox))
            throw std::runtime_error("labels are all the same");
        std::printf("C++ session on %s (%s): %lld voxels, %zu labelled 1, identical to vxt_stitch\n",
                    info.device_name, vxt_backend_name(info.backend), static_cast<long long>(nvox), ones);
        return 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
