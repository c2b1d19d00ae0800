/*
 * runner_torchscript.cpp - the torchscript runner module: TorchScript files through libtorch (runner_module.h,
 * docs/RUNNERS.md). The library is C; this module is its one C++ layer, because libtorch's API is C++: the five
 * functions of the module ABI have C linkage, catch every exception, and turn it into a one-line message that starts
 * with the model file's name. Nothing throws across them.
 *
 * A model is a torch::jit::Module loaded with torch::jit::load, in eval mode; predictions run under
 * c10::InferenceMode (no autograd). Its forward takes one float32 tensor (N, C, D, H, W) and returns a tensor
 * (N, K, D, H, W) of floating-point class values (logits or probabilities; float16 and the others are converted to
 * float32), or a tuple or list whose first element is that tensor (deep supervision). A TorchScript file does not say
 * its channel counts: they come from the configuration (in=C, out=K) or, for K, from one forward pass at creation on
 * a small tensor (the probe, below).
 *
 * Configuration, "key=value,..." (all optional):
 *   device=cpu|cuda|cuda:N  where the model runs (default cpu); cuda only with a libtorch built with CUDA and a device
 *   threads=N               torch::set_num_threads(N): libtorch's intra-op threads. libtorch has ONE such setting per
 *                           process: it applies to every torchscript runner, and to everything else that uses this
 *                           libtorch in the process (the last runner made with threads=N sets it). Without it libtorch
 *                           keeps its own default (its count of physical cores, or OMP_NUM_THREADS)
 *   in=C                    the input channels the model takes (default: 1 when the probe succeeds with 1, else
 *                           unknown: voxtile then does not check them, and a mismatch is torch's error at the first
 *                           batch)
 *   out=K                   the output channels it gives (default: learned by the probe)
 *   tile=Z,Y,X or tile=N    the one tile size the model takes (default: any); also the probe's size
 *
 * The probe: without out=K, the module runs the model once at creation on a (1, C, 32, 32, 32) tensor (C from in=C,
 * else 1; the tile size with tile=) of a fixed non-constant pattern, and takes K from its output, checking the
 * output's rank, batch and spatial shape on the way. It costs one small forward pass (0.08 s for deepbet's 2.1 M
 * parameter network on 2 threads). A model that cannot take that size (one that needs multiples of 64, or one fixed
 * size without tile=) fails it: give out=K (and in=C) instead.
 *
 * A batch: its input is copied into a tensor kept between batches of one shape (a model may write into its input, and
 * the batch's is const), the forward pass runs, the output is checked (type, rank 5, the batch's N, K, the tile's
 * spatial shape), scanned for NaN and infinity (an error naming the model, tile, channel and voxel: the sliding
 * window's own check cannot name the model), and copied into the batch's output (float32, or float16 rounded to
 * nearest even).
 *
 * Never prints, never exits.
 */
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/version.h>

#include "runner_module.h"

#define VXT_MODULE_EXPORT __attribute__((visibility("default")))

#ifndef VXT_TORCH_CUDA
#define VXT_TORCH_CUDA 0 /* set by the build: whether this libtorch was built with CUDA */
#endif

namespace {

/* The size of the probe's tile when the configuration gives none: most 3D networks take multiples of 32 (five
 * halvings); deepbet's LinkNet does. */
constexpr int64_t PROBE_SIZE = 32;

struct ts_model {
    torch::jit::Module module;
    std::string file;                /* the file's name, for messages */
    std::string device_text = "cpu"; /* as configured */
    torch::Device device{torch::kCPU};
    int threads = 0;                 /* 0: libtorch's own setting */
    int64_t in_channels = 0;         /* 0: unknown (any) */
    int64_t out_channels = 0;
    int64_t tile[3] = {0, 0, 0};     /* zeros: any */
    torch::Tensor input;             /* the batch's input, copied (a model may write into its input; the batch's is
                                        const), kept between batches of one shape */
};

/* ---- messages ------------------------------------------------------------------------------------------ */

const char *base_name(const char *path)
{
    const char *s = std::strrchr(path, '/');
    return s ? s + 1 : path;
}

__attribute__((format(printf, 4, 5))) void say(char *error, size_t n, const char *file, const char *fmt, ...)
{
    if (!error || !n)
        return;
    int k = std::snprintf(error, n, "%s: ", file);
    if (k < 0 || static_cast<size_t>(k) >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(error + k, n - static_cast<size_t>(k), fmt, ap);
    va_end(ap);
}

bool is_error_line(const std::string &s, size_t at)
{
    /* "RuntimeError: ...", "torch.jit.Error: ...", "ValueError: ..." at the start of a line */
    size_t i = at;
    while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_' || s[i] == '.'))
        i++;
    if (i == at || i + 1 >= s.size() || s[i] != ':' || s[i + 1] != ' ')
        return false;
    std::string name = s.substr(at, i - at);
    return name.size() >= 5 && (name.compare(name.size() - 5, 5, "Error") == 0 ||
                                (name.size() >= 9 && name.compare(name.size() - 9, 9, "Exception") == 0));
}

/* An exception's text on one line, at most `limit` characters. libtorch's errors come in two shapes: c10::Error,
 * whose what() appends a C++ backtrace (what_without_backtrace() has the message alone), and the TorchScript
 * interpreter's, which quote the failing script lines and both tracebacks before the original error on its own
 * line ("RuntimeError: Given groups=1, weight of size [16, 1, 7, 7, 7], expected input[1, 2, 32, 32, 32] to have 1
 * channels, but got 2 channels instead"): only that error is kept. */
std::string one_line(const std::exception &e, size_t limit = 360)
{
    const c10::Error *ce = dynamic_cast<const c10::Error *>(&e);
    std::string s = ce ? ce->what_without_backtrace() : e.what();
    if (s.find("Traceback of TorchScript") != std::string::npos ||
        s.find("The following operation failed in the TorchScript interpreter") != std::string::npos) {
        size_t keep = std::string::npos;
        for (size_t at = 0; at < s.size();) {
            if (is_error_line(s, at))
                keep = at;
            size_t nl = s.find('\n', at);
            if (nl == std::string::npos)
                break;
            at = nl + 1;
        }
        if (keep != std::string::npos)
            s = s.substr(keep);
    }
    size_t raised = s.find("Exception raised from ");
    if (raised != std::string::npos && raised > 0)
        s.resize(raised);
    std::string out;
    for (char c : s) {
        if (c == '\n' || c == '\r' || c == '\t')
            c = ' ';
        if (c == ' ' && (out.empty() || out.back() == ' '))
            continue;
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            c = '?';
        out.push_back(c);
    }
    while (!out.empty() && out.back() == ' ')
        out.pop_back();
    if (out.size() > limit)
        out = out.substr(0, limit - 3) + "...";
    return out.empty() ? std::string("(no message)") : out;
}

std::string shape_text(c10::IntArrayRef d)
{
    std::string s;
    for (size_t i = 0; i < d.size(); i++)
        s += (i ? "x" : "") + std::to_string(d[i]);
    return d.empty() ? std::string("a scalar") : s;
}

std::string libtorch_text()
{
    std::string s = "libtorch " TORCH_VERSION;
#if VXT_TORCH_CUDA
    size_t n = torch::cuda::device_count();
    s += n ? ", CPU and CUDA (" + std::to_string(n) + " device" + (n > 1 ? "s" : "") + ": device=cuda)"
           : ", CPU (built with CUDA, but no CUDA device is available)";
#else
    s += ", CPU (this libtorch was built without CUDA)";
#endif
    return s;
}

/* ---- configuration ------------------------------------------------------------------------------------- */

bool parse_count(const char *value, long lo, long hi, long *out)
{
    char *stop = nullptr;
    errno = 0;
    long v = std::strtol(value, &stop, 10);
    if (!value[0] || *stop || errno || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

const char *const KEYS = "device=cpu|cuda|cuda:N, threads=N, in=C, out=K, tile=Z,Y,X";

/* "key=value,...". A tile's "Z,Y,X" contains commas: the values after tile= that are numbers belong to it. */
bool parse_config(ts_model *m, const char *config, char *error, size_t n)
{
    const char *file = m->file.c_str();
    std::vector<std::string> items;
    std::string cur;
    for (const char *p = config ? config : ""; ; p++) {
        if (*p == ',' || !*p) {
            bool digits = !cur.empty() && cur.find_first_not_of("0123456789") == std::string::npos;
            if (digits && !items.empty() && items.back().rfind("tile=", 0) == 0)
                items.back() += "," + cur;
            else
                items.push_back(cur);
            cur.clear();
            if (!*p)
                break;
        } else {
            cur.push_back(*p);
        }
    }
    if (items.size() == 1 && items[0].empty())
        return true;
    for (const std::string &item : items) {
        size_t eq = item.find('=');
        if (item.empty() || eq == std::string::npos || eq == 0) {
            say(error, n, file, "configuration item '%.60s' is not key=value (the torchscript runner takes %s)",
                item.c_str(), KEYS);
            return false;
        }
        std::string key = item.substr(0, eq), value = item.substr(eq + 1);
        long v = 0;
        if (key == "device") {
            if (value == "cpu") {
                m->device = torch::Device(torch::kCPU);
            } else if (value == "cuda" || value.rfind("cuda:", 0) == 0) {
                long index = 0;
                if (value.size() > 5 && !parse_count(value.c_str() + 5, 0, 1023, &index)) {
                    say(error, n, file, "device=%.40s: expected cpu, cuda or cuda:N", value.c_str());
                    return false;
                }
#if !VXT_TORCH_CUDA
                say(error, n, file, "device=%.40s: this libtorch (" TORCH_VERSION ") was built without CUDA; it runs "
                    "TorchScript on the CPU only (device=cpu)", value.c_str());
                return false;
#else
                if (!torch::cuda::is_available()) {
                    say(error, n, file, "device=%.40s: no CUDA device is available (libtorch " TORCH_VERSION " was "
                        "built with CUDA, but sees no device)", value.c_str());
                    return false;
                }
                size_t count = torch::cuda::device_count();
                if (static_cast<size_t>(index) >= count) {
                    say(error, n, file, "device=%.40s: there %s %zu CUDA device%s (cuda:0 .. cuda:%zu)", value.c_str(),
                        count == 1 ? "is" : "are", count, count == 1 ? "" : "s", count - 1);
                    return false;
                }
                m->device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
#endif
            } else {
                say(error, n, file, "device=%.40s: expected cpu, cuda or cuda:N", value.c_str());
                return false;
            }
            m->device_text = value;
        } else if (key == "threads") {
            if (!parse_count(value.c_str(), 1, 4096, &v)) {
                say(error, n, file, "threads=%.40s: expected a thread count from 1 to 4096 (libtorch's intra-op "
                    "threads; leave it out for libtorch's default)", value.c_str());
                return false;
            }
            m->threads = static_cast<int>(v);
        } else if (key == "in" || key == "out") {
            if (!parse_count(value.c_str(), 1, 1 << 20, &v)) {
                say(error, n, file, "%s=%.40s: expected a channel count from 1 to %d", key.c_str(), value.c_str(),
                    1 << 20);
                return false;
            }
            (key == "in" ? m->in_channels : m->out_channels) = v;
        } else if (key == "tile") {
            long t[3] = {0, 0, 0};
            size_t parts = 0, at = 0;
            bool ok = true;
            while (ok && at <= value.size() && parts < 4) {
                size_t comma = value.find(',', at);
                std::string one = value.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
                ok = parts < 3 && parse_count(one.c_str(), 1, 1 << 16, &t[parts]);
                parts++;
                if (comma == std::string::npos)
                    break;
                at = comma + 1;
            }
            if (!ok || (parts != 1 && parts != 3)) {
                say(error, n, file, "tile=%.40s: expected Z,Y,X or N (voxels, 1 to 65536)", value.c_str());
                return false;
            }
            for (int a = 0; a < 3; a++)
                m->tile[a] = parts == 1 ? t[0] : t[a];
        } else {
            say(error, n, file, "unknown configuration key '%.32s' (the torchscript runner takes %s)", key.c_str(),
                KEYS);
            return false;
        }
    }
    return true;
}

/* ---- the model's output -------------------------------------------------------------------------------- */

/* The class-value tensor out of what forward returned: a tensor, or the first element of a tuple or list. "" on
 * success, else why not. */
std::string output_tensor(const torch::jit::IValue &out, torch::Tensor *t)
{
    if (out.isTensor()) {
        *t = out.toTensor();
    } else if (out.isTuple()) {
        const auto &items = out.toTupleRef().elements();
        if (items.empty() || !items[0].isTensor())
            return "it returns a tuple whose first element is not a tensor";
        *t = items[0].toTensor();
    } else if (out.isTensorList()) {
        auto list = out.toTensorList();
        if (list.size() == 0)
            return "it returns an empty list";
        *t = list.get(0);
    } else if (out.isList()) {
        auto list = out.toList();
        if (list.size() == 0 || !list.get(0).isTensor())
            return "it returns a list whose first element is not a tensor";
        *t = list.get(0).toTensor();
    } else {
        return "it returns " + std::string(out.tagKind()) + ", not a tensor (N, K, D, H, W) or a tuple or list "
               "starting with one";
    }
    if (!t->defined())
        return "it returns an undefined tensor";
    if (!at::isFloatingType(t->scalar_type()))
        return std::string("it returns ") + c10::toString(t->scalar_type()) + " values; the torchscript runner takes "
               "floating-point class values (logits or probabilities)";
    return "";
}

/* Rank 5, batch n, k channels (when k > 0), spatial shape `sp`. "" on success, else the mismatch. */
std::string check_output(const torch::Tensor &y, c10::IntArrayRef in_shape, int64_t k)
{
    c10::IntArrayRef s = y.sizes();
    std::string shapes = "its output is " + shape_text(s) + " for an input of " + shape_text(in_shape);
    if (s.size() != 5)
        return shapes + ": the torchscript runner needs rank 5, (N, K, D, H, W)";
    if (s[0] != in_shape[0])
        return shapes + ": the batch sizes differ";
    if (k > 0 && s[1] != k)
        return shapes + ": " + std::to_string(s[1]) + " channels, not the " + std::to_string(k) + " configured (out=" +
               std::to_string(k) + ")";
    if (s[1] < 1)
        return shapes + ": no channels";
    if (s[2] != in_shape[2] || s[3] != in_shape[3] || s[4] != in_shape[4])
        return shapes + ": its spatial shape " + shape_text(s.slice(2)) + " differs from the tile's " +
               shape_text(in_shape.slice(2)) + " (the torchscript runner needs outputs on the tile's grid)";
    return "";
}

torch::jit::IValue forward(ts_model *m, const torch::Tensor &x)
{
    std::vector<torch::jit::IValue> args;
    args.emplace_back(x.device() == m->device ? x : x.to(m->device));
    return m->module.forward(args);
}

/* One forward pass at creation, to learn the output channels (above). "" on success. */
std::string probe(ts_model *m)
{
    int64_t c = m->in_channels ? m->in_channels : 1;
    int64_t s[3];
    for (int a = 0; a < 3; a++)
        s[a] = m->tile[a] ? m->tile[a] : PROBE_SIZE;
    std::vector<int64_t> shape = {1, c, s[0], s[1], s[2]};
    c10::InferenceMode guard;
    /* a sawtooth of period 97 along the flattened array: every axis varies, values in [0, 1] */
    torch::Tensor x = torch::arange(c * s[0] * s[1] * s[2], torch::kFloat).remainder(97.0).div(96.0).reshape(shape);
    std::string what = "a probe forward pass on a " + shape_text(shape) + " tensor (to learn its output channels) ";
    torch::jit::IValue out;
    try {
        out = forward(m, x);
    } catch (const std::exception &e) {
        return what + "failed: " + one_line(e, 240) + "; give out=K (and in=C, tile=Z,Y,X where the model needs "
               "them) instead";
    }
    torch::Tensor y;
    std::string why = output_tensor(out, &y);
    if (why.empty())
        why = check_output(y, shape, 0);
    if (!why.empty())
        return what + "says " + why;
    m->in_channels = c;
    m->out_channels = y.size(1);
    return "";
}

/* A file torch::jit::load can be asked to read: it exists, is a regular file, and is a zip archive (TorchScript
 * files are; anything else gets a clearer message than the zip reader's). */
bool check_file(const char *path, const char *file, char *error, size_t n)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        say(error, n, file, "cannot open the model file '%.300s': %s", path, std::strerror(errno));
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        say(error, n, file, "the model file '%.300s' is not a regular file", path);
        return false;
    }
    FILE *f = std::fopen(path, "rb");
    if (!f) {
        say(error, n, file, "cannot open the model file '%.300s': %s", path, std::strerror(errno));
        return false;
    }
    unsigned char head[4] = {0, 0, 0, 0};
    size_t got = std::fread(head, 1, sizeof head, f);
    std::fclose(f);
    if (got < 4 || std::memcmp(head, "PK\x03\x04", 4) != 0) {
        char shown[8];
        size_t k = 0;
        for (size_t i = 0; i < got; i++)
            shown[k++] = head[i] >= 0x20 && head[i] < 0x7f ? static_cast<char>(head[i]) : '.';
        shown[k] = '\0';
        say(error, n, file, "not a TorchScript file (torch.jit.save writes a zip archive, which starts with 'PK'; "
            "this file %s%s%s)", got ? "starts with '" : "is empty", shown, got ? "'" : "");
        return false;
    }
    return true;
}

/* forward's arguments besides self that have no default: the runner passes exactly one. */
std::string check_signature(ts_model *m)
{
    auto method = m->module.find_method("forward");
    if (!method)
        return "the TorchScript module has no forward method";
    const auto &args = method->function().getSchema().arguments();
    size_t required = 0;
    for (size_t i = 1; i < args.size(); i++)
        required += !args[i].default_value().has_value();
    if (args.size() < 2 || required > 1)
        return "its forward takes " + std::to_string(args.size() - (args.empty() ? 0 : 1)) + " arguments (" +
               std::to_string(required) + " without a default); the torchscript runner passes one tensor (N, C, D, H, "
               "W)";
    return "";
}

} // namespace

/* ---- module ABI ---------------------------------------------------------------------------------------- */

extern "C" {
VXT_MODULE_EXPORT int vxt_module_abi_version(void) noexcept;
VXT_MODULE_EXPORT void vxt_module_describe(char *text, size_t size) noexcept;
VXT_MODULE_EXPORT void *vxt_module_create(const char *model, const char *config, vxt_plugin_desc *desc, char *error,
                                          size_t error_size) noexcept;
VXT_MODULE_EXPORT int vxt_module_predict(void *model, const vxt_batch *batch, char *error, size_t error_size) noexcept;
VXT_MODULE_EXPORT void vxt_module_destroy(void *model) noexcept;
}

int vxt_module_abi_version(void) noexcept
{
    return VXT_MODULE_ABI_VERSION;
}

void vxt_module_describe(char *text, size_t size) noexcept
{
    if (!text || !size)
        return;
    try {
        std::snprintf(text, size, "%s", libtorch_text().c_str());
    } catch (...) {
        std::snprintf(text, size, "libtorch " TORCH_VERSION);
    }
}

void vxt_module_destroy(void *model) noexcept
{
    try {
        delete static_cast<ts_model *>(model);
    } catch (...) { /* a destructor that throws: nothing to report it to */
    }
}

void *vxt_module_create(const char *path, const char *config, vxt_plugin_desc *desc, char *error,
                        size_t error_size) noexcept
{
    if (error && error_size)
        error[0] = '\0';
    if (!path || !path[0] || !desc) {
        say(error, error_size, "torchscript", "no model file given (torchscript:PATH)");
        return nullptr;
    }
    const char *file = base_name(path);
    ts_model *m = nullptr;
    try {
        m = new ts_model;
        m->file = file;
        if (!parse_config(m, config, error, error_size) || !check_file(path, file, error, error_size)) {
            delete m;
            return nullptr;
        }
        try {
            m->module = torch::jit::load(path, m->device);
        } catch (const std::exception &e) {
            std::string why = one_line(e);
            /* torch.save() writes zip archives too (pickled weights, no program) */
            const char *hint = why.find("constants.pkl") != std::string::npos
                                   ? " (torch.save writes weights, not a program: save the model with "
                                     "torch.jit.save(torch.jit.script(model)) or torch.jit.trace)"
                                   : "";
            say(error, error_size, file, "not a TorchScript file libtorch " TORCH_VERSION " can load: %s%s",
                why.c_str(), hint);
            delete m;
            return nullptr;
        }
        m->module.eval();
        std::string why = check_signature(m);
        if (why.empty() && m->threads > 0)
            at::set_num_threads(m->threads);
        if (why.empty() && !m->out_channels)
            why = probe(m);
        if (!why.empty()) {
            say(error, error_size, file, "%s", why.c_str());
            delete m;
            return nullptr;
        }
        std::memset(desc->name, 0, sizeof desc->name);
        std::snprintf(desc->name, sizeof desc->name, "%.80s (libtorch %s, %s)", file, TORCH_VERSION,
                      m->device_text.c_str());
        desc->in_channels = m->in_channels;
        desc->out_channels = m->out_channels;
        desc->output_dtype = VXT_DTYPE_F32;
        for (int a = 0; a < 3; a++)
            desc->roi[a] = m->tile[a];
        return m;
    } catch (const std::bad_alloc &) {
        say(error, error_size, file, "out of memory");
    } catch (const std::exception &e) {
        say(error, error_size, file, "%s", one_line(e).c_str());
    } catch (...) {
        say(error, error_size, file, "an unknown C++ exception");
    }
    delete m;
    return nullptr;
}

int vxt_module_predict(void *model, const vxt_batch *b, char *error, size_t error_size) noexcept
{
    ts_model *m = static_cast<ts_model *>(model);
    if (error && error_size)
        error[0] = '\0';
    if (!m || !b) {
        say(error, error_size, "torchscript", "no model or no batch");
        return 1;
    }
    const char *file = m->file.c_str();
    try {
        if (!b->input || !b->output || b->count < 1 || b->in_channels < 1 || b->out_channels != m->out_channels ||
            (m->in_channels && b->in_channels != m->in_channels) || b->roi[0] < 1 || b->roi[1] < 1 || b->roi[2] < 1 ||
            (b->output_dtype != VXT_DTYPE_F32 && b->output_dtype != VXT_DTYPE_F16)) {
            say(error, error_size, file, "a batch it cannot take: %d tiles of %lldx%lldx%lld, %lld channels in, %lld "
                "out (the model: %lld in, %lld out)", b->count, static_cast<long long>(b->roi[0]),
                static_cast<long long>(b->roi[1]), static_cast<long long>(b->roi[2]),
                static_cast<long long>(b->in_channels), static_cast<long long>(b->out_channels),
                static_cast<long long>(m->in_channels), static_cast<long long>(m->out_channels));
            return 1;
        }
        /* OpenMP's thread count is a per-thread setting: a thread that ran torch before threads=N was set keeps its
         * own until told again */
        if (m->threads > 0 && at::get_num_threads() != m->threads)
            at::set_num_threads(m->threads);
        c10::InferenceMode guard;
        std::vector<int64_t> shape = {b->count, b->in_channels, b->roi[0], b->roi[1], b->roi[2]};
        if (!m->input.defined() || m->input.sizes() != c10::IntArrayRef(shape))
            m->input = torch::empty(shape, torch::kFloat);
        std::memcpy(m->input.data_ptr<float>(), b->input, static_cast<size_t>(m->input.numel()) * sizeof(float));
        torch::jit::IValue out;
        try {
            out = forward(m, m->input);
        } catch (const std::exception &e) {
            say(error, error_size, file, "forward on %s failed: %s", shape_text(shape).c_str(), one_line(e).c_str());
            return 1;
        }
        torch::Tensor y;
        std::string why = output_tensor(out, &y);
        if (why.empty())
            why = check_output(y, shape, m->out_channels);
        if (!why.empty()) {
            say(error, error_size, file, "%s", why.c_str());
            return 1;
        }
        y = y.to(torch::kCPU, torch::kFloat).contiguous();
        const float *v = y.data_ptr<float>();
        const size_t total = static_cast<size_t>(y.numel());
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < total; i++)
            if (!std::isfinite(v[i]) && bad++ == 0)
                first = i;
        if (bad) {
            const size_t plane = static_cast<size_t>(b->roi[1] * b->roi[2]);
            const size_t vol = plane * static_cast<size_t>(b->roi[0]);
            const size_t tile = first / (vol * static_cast<size_t>(m->out_channels));
            const size_t ch = first / vol % static_cast<size_t>(m->out_channels), at = first % vol;
            say(error, error_size, file, "its output has %zu non-finite value%s (NaN or infinity) in this batch; the "
                "first: tile %llu, channel %zu, voxel (z, y, x) = (%zu, %zu, %zu) of the tile, %s", bad,
                bad == 1 ? "" : "s", static_cast<unsigned long long>(b->first_tile + tile), ch, at / plane,
                at % plane / static_cast<size_t>(b->roi[2]), at % static_cast<size_t>(b->roi[2]),
                std::isnan(v[first]) ? "NaN" : "infinity");
            return 1;
        }
        if (b->output_dtype == VXT_DTYPE_F32) {
            std::memcpy(b->output, v, total * sizeof(float));
        } else { /* IEEE binary16, rounded to nearest even */
            uint16_t *o = static_cast<uint16_t *>(b->output);
            for (size_t i = 0; i < total; i++)
                o[i] = c10::Half(v[i]).x;
        }
        return 0;
    } catch (const std::bad_alloc &) {
        say(error, error_size, file, "out of memory");
    } catch (const std::exception &e) {
        say(error, error_size, file, "%s", one_line(e).c_str());
    } catch (...) {
        say(error, error_size, file, "an unknown C++ exception");
    }
    return 1;
}
