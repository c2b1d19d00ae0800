// triton_client.cpp - a C++ client of a voxtile model served by Triton Inference Server (docs/TRITON.md, "A client
// in C++"). It reads a scan with voxtile's reader, sends it over HTTP as one inference request (the KServe v2 protocol
// with Triton's binary tensor extension, through libcurl) and writes the labels that come back as a NIfTI file on the
// scan's grid.
//
//   triton_client [--url http://127.0.0.1:8000] --model NAME [--param KEY=VALUE ...] [--timeout SECONDS]
//                 [--no-affine] IN OUT
//
//   IN       a scan voxtile reads: NIfTI, .npy, a DICOM file or folder. Its voxels go as VOLUME (UINT8, INT16 or
//            FP32; other types are sent as FP32), shape [Z, Y, X] in the file's voxel order, and its affine as
//            AFFINE (FP64 [4, 4]), so that the server knows where the voxels are (--no-affine: not sent, for a
//            model without that input; the server then takes 1 mm voxels)
//   OUT      the labels (.nii, .nii.gz or .npy), on IN's grid; written to a temporary file and renamed, so an
//            existing OUT is untouched when anything fails
//   --param  a request parameter: KEY=true|false is a bool, KEY=INTEGER a number, anything else a string (the plan
//            overlay is a string of JSON: --param 'plan={"overlap": 0.5}')
//
// Exit status 0 on success; 1 with one line on stderr when the server refuses the request or anything else fails.
//
// Triton's own C++ client library (tritonclient) is not packaged for Debian or PyPI; the HTTP protocol it speaks
// is small enough that libcurl and a JSON parser (cJSON, which voxtile uses already) do the same here.
#include <curl/curl.h>

#include <cjson/cJSON.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <strings.h>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "voxtile.h"

namespace {

struct ImageFree {
    void operator()(vxt_image *p) const { vxt_image_destroy(p); }
};
struct JsonFree {
    void operator()(cJSON *p) const { cJSON_Delete(p); }
};
struct CurlFree {
    void operator()(CURL *p) const { curl_easy_cleanup(p); }
};
struct ListFree {
    void operator()(curl_slist *p) const { curl_slist_free_all(p); }
};
using Image = std::unique_ptr<vxt_image, ImageFree>;
using Json = std::unique_ptr<cJSON, JsonFree>;

[[noreturn]] void fail(const std::string &what) { throw std::runtime_error(what); }

void check(vxt_status st, const std::string &what)
{
    if (st != VXT_OK)
        fail(what + ": " + vxt_last_error());
}

struct Options {
    std::string url = "http://127.0.0.1:8000", model, in, out;
    std::vector<std::string> params;
    long timeout_ms = 0; // 0: none
    bool affine = true;
};

Options parse_args(int argc, char **argv)
{
    Options o;
    std::vector<std::string> files;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                fail("option " + a + " needs a value");
            return argv[++i];
        };
        if (a == "--url")
            o.url = value();
        else if (a == "--model")
            o.model = value();
        else if (a == "--no-affine")
            o.affine = false;
        else if (a == "--param")
            o.params.push_back(value());
        else if (a == "--timeout") {
            const std::string v = value();
            char *end = nullptr;
            const double s = std::strtod(v.c_str(), &end);
            if (end == v.c_str() || *end || !(s > 0) || s > 86400)
                fail("--timeout takes seconds (more than 0, at most 86400), not '" + v + "'");
            o.timeout_ms = static_cast<long>(s * 1000.0 + 0.5);
        } else if (a == "-h" || a == "--help") {
            std::printf("usage: triton_client [--url http://HOST:PORT] --model NAME [--param KEY=VALUE ...] "
                        "[--timeout SECONDS] [--no-affine] IN OUT\n");
            std::exit(0);
        } else if (!a.empty() && a[0] == '-')
            fail("unknown option '" + a + "' (--url, --model, --param, --timeout, --no-affine)");
        else
            files.push_back(a);
    }
    if (o.model.empty() || files.size() != 2)
        fail("usage: triton_client [--url http://HOST:PORT] --model NAME [--param KEY=VALUE ...] "
             "[--timeout SECONDS] [--no-affine] IN OUT");
    if (o.url.find("://") == std::string::npos)
        o.url = "http://" + o.url;
    o.in = files[0], o.out = files[1];
    return o;
}

// The tensor's Triton datatype for a voxtile dtype sent as it is; "" for the others (read as float32 instead).
const char *triton_type(vxt_dtype t)
{
    switch (t) {
    case VXT_DTYPE_U8:
        return "UINT8";
    case VXT_DTYPE_I16:
        return "INT16";
    case VXT_DTYPE_F32:
        return "FP32";
    default:
        return "";
    }
}

// The request: a JSON header (its length goes in the Inference-Header-Content-Length header), then the tensors'
// bytes in the order the header names them.
std::string request_body(const Options &o, const vxt_volume &v, const std::vector<uint8_t> &voxels,
                         const double affine[16], size_t *header_len)
{
    Json root(cJSON_CreateObject());
    cJSON *inputs = cJSON_AddArrayToObject(root.get(), "inputs");
    auto add_input = [&](const char *name, const char *type, const std::vector<double> &shape, size_t bytes) {
        cJSON *in = cJSON_CreateObject();
        cJSON_AddStringToObject(in, "name", name);
        cJSON_AddStringToObject(in, "datatype", type);
        cJSON_AddItemToObject(in, "shape", cJSON_CreateDoubleArray(shape.data(), static_cast<int>(shape.size())));
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(in, "parameters"), "binary_data_size",
                                static_cast<double>(bytes));
        cJSON_AddItemToArray(inputs, in);
    };
    add_input("VOLUME", triton_type(v.dtype),
              {static_cast<double>(v.shape[0]), static_cast<double>(v.shape[1]), static_cast<double>(v.shape[2])},
              voxels.size());
    if (o.affine)
        add_input("AFFINE", "FP64", {4, 4}, 16 * sizeof(double));
    cJSON *outputs = cJSON_AddArrayToObject(root.get(), "outputs");
    cJSON *labels = cJSON_CreateObject();
    cJSON_AddStringToObject(labels, "name", "LABELS");
    cJSON_AddTrueToObject(cJSON_AddObjectToObject(labels, "parameters"), "binary_data");
    cJSON_AddItemToArray(outputs, labels);
    if (!o.params.empty()) {
        cJSON *params = cJSON_AddObjectToObject(root.get(), "parameters");
        for (const std::string &p : o.params) {
            const size_t eq = p.find('=');
            if (eq == std::string::npos || eq == 0)
                fail("--param takes KEY=VALUE, not '" + p + "'");
            const std::string key = p.substr(0, eq), val = p.substr(eq + 1);
            char *end = nullptr;
            const long long n = std::strtoll(val.c_str(), &end, 10);
            if (val == "true" || val == "false")
                cJSON_AddBoolToObject(params, key.c_str(), val == "true");
            else if (!val.empty() && !*end)
                cJSON_AddNumberToObject(params, key.c_str(), static_cast<double>(n));
            else
                cJSON_AddStringToObject(params, key.c_str(), val.c_str());
        }
    }
    char *text = cJSON_PrintUnformatted(root.get());
    if (!text)
        fail("out of memory");
    std::string body(text);
    cJSON_free(text);
    *header_len = body.size();
    body.append(reinterpret_cast<const char *>(voxels.data()), voxels.size());
    if (o.affine)
        body.append(reinterpret_cast<const char *>(affine), 16 * sizeof(double));
    return body;
}

struct Reply {
    std::string body;
    size_t header_len = 0; // Inference-Header-Content-Length; 0 when absent (the whole body is JSON)
};

size_t on_body(char *data, size_t size, size_t n, void *user)
{
    static_cast<Reply *>(user)->body.append(data, size * n);
    return size * n;
}

size_t on_header(char *data, size_t size, size_t n, void *user)
{
    static const char name[] = "inference-header-content-length:";
    const size_t len = size * n, k = sizeof name - 1;
    if (len > k && strncasecmp(data, name, k) == 0)
        static_cast<Reply *>(user)->header_len = std::strtoull(std::string(data + k, len - k).c_str(), nullptr, 10);
    return len;
}

// POST the request; the reply, or a failure with the server's message.
Reply post(const Options &o, const std::string &body, size_t header_len)
{
    std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
    if (!curl)
        fail("libcurl could not start");
    const std::string url = o.url + "/v2/models/" + o.model + "/infer";
    const std::string len = "Inference-Header-Content-Length: " + std::to_string(header_len);
    curl_slist *h = curl_slist_append(nullptr, "Content-Type: application/octet-stream");
    h = curl_slist_append(h, len.c_str());
    h = curl_slist_append(h, "Expect:"); // send the body at once, without waiting for "100 Continue"
    std::unique_ptr<curl_slist, ListFree> headers(h);
    Reply r;
    char error[CURL_ERROR_SIZE] = "";
    CURL *c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (o.timeout_ms)
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o.timeout_ms);
    const CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail(url + ": " + (error[0] ? error : curl_easy_strerror(rc)));
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) { // Triton answers {"error": "..."}
        Json j(cJSON_ParseWithLength(r.body.data(), r.body.size()));
        const cJSON *e = j ? cJSON_GetObjectItemCaseSensitive(j.get(), "error") : nullptr;
        fail("the server refused the request (HTTP " + std::to_string(status) + "): " +
             (cJSON_IsString(e) ? e->valuestring : r.body.substr(0, 200)));
    }
    return r;
}

// The LABELS tensor of the reply, checked against the volume's shape: its bytes and dtype.
const uint8_t *labels_of(const Reply &r, const vxt_volume &v, vxt_dtype *dtype, size_t *bytes)
{
    const size_t hlen = r.header_len ? r.header_len : r.body.size();
    if (hlen > r.body.size())
        fail("the reply is shorter than its JSON header says");
    Json j(cJSON_ParseWithLength(r.body.data(), hlen));
    const cJSON *outputs = j ? cJSON_GetObjectItemCaseSensitive(j.get(), "outputs") : nullptr;
    if (!cJSON_IsArray(outputs))
        fail("the reply has no outputs");
    size_t offset = hlen; // binary outputs follow the header in the order it lists them
    const cJSON *out = nullptr;
    cJSON_ArrayForEach(out, outputs)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(out, "name");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(out, "datatype");
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(out, "shape");
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(out, "parameters");
        const cJSON *size = params ? cJSON_GetObjectItemCaseSensitive(params, "binary_data_size") : nullptr;
        if (!cJSON_IsNumber(size) || size->valuedouble < 0)
            fail("an output of the reply is not binary");
        const size_t n = static_cast<size_t>(size->valuedouble);
        if (n > r.body.size() - offset)
            fail("the reply is shorter than its outputs");
        if (cJSON_IsString(name) && std::strcmp(name->valuestring, "LABELS") == 0) {
            if (!cJSON_IsString(type) || (std::strcmp(type->valuestring, "UINT8") && std::strcmp(type->valuestring, "UINT16")))
                fail("LABELS is not UINT8 or UINT16");
            *dtype = std::strcmp(type->valuestring, "UINT8") == 0 ? VXT_DTYPE_U8 : VXT_DTYPE_U16;
            if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) != 3)
                fail("LABELS is not a volume [Z, Y, X]");
            size_t count = 1;
            for (int k = 0; k < 3; k++) {
                const double d = cJSON_GetArrayItem(shape, k)->valuedouble;
                if (d != static_cast<double>(v.shape[k]))
                    fail("LABELS has another shape than the volume sent");
                count *= static_cast<size_t>(d);
            }
            if (n != count * (*dtype == VXT_DTYPE_U8 ? 1 : 2))
                fail("LABELS's size disagrees with its shape");
            *bytes = n;
            return reinterpret_cast<const uint8_t *>(r.body.data()) + offset;
        }
        offset += n;
    }
    fail("the reply holds no LABELS");
}

int run(const Options &o)
{
    // the scan: its voxels as one of the types the model takes (others read again as float32), and its affine
    vxt_image *raw = nullptr;
    check(vxt_image_read_path(o.in.c_str(), nullptr, &raw), o.in);
    Image in(raw);
    vxt_volume v;
    check(vxt_image_volume(in.get(), &v), o.in);
    if (!*triton_type(v.dtype)) {
        vxt_read_options ro;
        vxt_read_options_init(&ro);
        ro.scaling = VXT_SCALING_FLOAT32;
        check(vxt_image_read_path(o.in.c_str(), &ro, &raw), o.in);
        in.reset(raw);
        check(vxt_image_volume(in.get(), &v), o.in);
    }
    if (v.channels != 1)
        fail(o.in + ": " + std::to_string(v.channels) + " channels; the model takes one");
    size_t bytes = 0;
    check(vxt_volume_bytes(&v, &bytes), o.in);
    const std::vector<uint8_t> voxels(static_cast<const uint8_t *>(v.data),
                                      static_cast<const uint8_t *>(v.data) + bytes);
    vxt_geometry g;
    vxt_geometry_init(&g);
    check(vxt_image_get_geometry(in.get(), &g), o.in);

    size_t header_len = 0;
    const std::string body = request_body(o, v, voxels, &g.affine[0][0], &header_len);
    const Reply reply = post(o, body, header_len);
    vxt_dtype dtype = VXT_DTYPE_U8;
    size_t n = 0;
    const uint8_t *labels = labels_of(reply, v, &dtype, &n);

    // the labels on the scan's grid, written through a temporary file and a rename
    vxt_image *made = nullptr;
    check(vxt_image_create(dtype, 1, v.shape, in.get(), &made), o.out);
    Image out(made);
    vxt_volume ov;
    check(vxt_image_volume(out.get(), &ov), o.out);
    std::memcpy(ov.data, labels, n);
    check(vxt_image_write_path(out.get(), o.out.c_str(), nullptr), o.out);
    std::printf("%s: %lld x %lld x %lld labels from model '%s'\n", o.out.c_str(), static_cast<long long>(v.shape[0]),
                static_cast<long long>(v.shape[1]), static_cast<long long>(v.shape[2]), o.model.c_str());
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        std::fprintf(stderr, "triton_client: libcurl could not start\n");
        return 1;
    }
    int rc = 1;
    try {
        rc = run(parse_args(argc, argv));
    } catch (const std::exception &e) {
        std::fprintf(stderr, "triton_client: %s\n", e.what());
    }
    curl_global_cleanup();
    return rc;
}
