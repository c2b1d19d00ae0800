/* test_triton.c - libtriton_voxtile.so inside a real Triton Inference Server (2.51, from the nvidia-pytriton wheel
 * that tools/install-deps.sh unpacks; docs/TRITON.md). Each test starts the server itself on 127.0.0.1 (free ports;
 * gRPC only where a test needs it, metrics off) with a model repository it writes, sends requests with Triton's own
 * client (tritonclient over HTTP or gRPC, through tests/triton/client.py) or the C++ client example
 * (tools/examples/triton_client.cpp), and stops the server by its PID.
 *
 *   same bits    the real T1 of tests/data/brainchop through the 3-class brainchop network, served as a model of
 *                its own by Triton's python backend (tests/triton/onnx_network), and in process, sent by the C++
 *                client: the labels the server returns equal `voxtile run`'s on the same input, voxel for voxel
 *   faults       in process and through the server, the same labels; a missing network model, one failing in the
 *                middle of a request and an HTTP client that disconnects fail that request alone
 *   load         8 clients x 25 requests: the same answers, no failure, no growth of the server's memory
 *   cancel       over gRPC, a request cancelled, past its deadline or whose client is killed stops in the middle
 *                of its run and the server answers the next
 *   valgrind     (group "valgrind") the backend's requests and unloading under valgrind: no error, no lost block
 *                in voxtile's code
 *   bad requests a wrong datatype, a wrong rank, a size that disagrees with the shape, an unknown parameter, a plan
 *                field a request may not set: each fails alone with a clear message, and the next good request is
 *                answered
 *
 * $VXT_TRITON_SERVER is the tritonserver program, $VXT_TRITON_PYTHON the client venv's python (CMake sets both). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_test_util.h"
#include "vxt_test.h"

#define BRAINCHOP VXT_TEST_DATA_DIR "/brainchop/"
#define PLANS VXT_SOURCE_DIR "/tools/plans/"

typedef struct server {
    pid_t pid;
    int port;
    int grpc;      /* set before server_start: serve gRPC too, on grpc_port */
    int grpc_port;
    char dir[512]; /* the repository, the backends, the log */
} server;

/* The server of the test in progress, stopped by the teardown when a test fails before it stops it. */
static server *running;

/* Run the server under valgrind (the "valgrind" group): its log is <dir>/valgrind.log. */
static int under_valgrind;

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (!v || !v[0] || access(v, X_OK) != 0)
        fail_msg("%s is not set to a program ('%s'): tools/install-deps.sh unpacks Triton's server and client into "
                 ".deps, where CMake finds them", name, v ? v : "");
    return v;
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
    socklen_t n = sizeof a;
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &n), 0);
    close(s);
    return ntohs(a.sin_port);
}

/* GET path on the server: the HTTP status, or -1 when nothing answers. */
static int http_get(int port, const char *path)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)port)};
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        if (s >= 0)
            close(s);
        return -1;
    }
    char req[256], resp[64] = "";
    int k = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    int status = -1;
    if (write(s, req, (size_t)k) == k && read(s, resp, sizeof resp - 1) > 12)
        status = atoi(resp + 9);
    close(s);
    return status;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A model of the repository: models/NAME/config.pbtxt (and its version folder 1). */
static void add_model(server *s, const char *name, const char *config)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/models/%s", s->dir, name);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/models/%s/1", s->dir, name);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/models/%s/config.pbtxt", s->dir, name);
    write_file(p, config);
}

/* The voxtile model on the brainchop plan, the network in process (the onnx runner). */
static const char *const SEG_CONFIG =
    "name: \"seg\"\nbackend: \"voxtile\"\nmax_batch_size: 0\n"
    "input [ { name: \"VOLUME\" data_type: TYPE_UINT8 dims: [ -1, -1, -1 ] },\n"
    "        { name: \"AFFINE\" data_type: TYPE_FP64 dims: [ 4, 4 ] optional: true } ]\n"
    "output [ { name: \"LABELS\" data_type: TYPE_UINT8 dims: [ -1, -1, -1 ] },\n"
    "         { name: \"PROBABILITIES\" data_type: TYPE_FP32 dims: [ -1, -1, -1, -1 ] } ]\n"
    "parameters [ { key: \"plan\" value: { string_value: \"" PLANS "brainchop_gwm.json\" } },\n"
    "             { key: \"model\" value: { string_value: \"onnx:" BRAINCHOP "model5_gw_ae.onnx\" } },\n"
    "             { key: \"model_config\" value: { string_value: \"threads=2\" } } ]\n"
    "instance_group [ { count: 1 kind: KIND_CPU } ]\n";

/* The network as a model of the server: brainchop's ONNX file through Triton's python backend with OpenVINO
 * (tests/triton/onnx_network/model.py), answering `fail_after` requests before it fails every one (-1: never). With
 * `max_batch` > 0 the model batches (max_batch_size, dynamic batching): the server refuses a request of more tiles. */
static void add_network_batching(server *s, const char *name, int fail_after, int max_batch)
{
    char config[2048], p[1200], cmd[2600], batching[128];
    snprintf(batching, sizeof batching, "max_batch_size: %d\n%s", max_batch > 0 ? max_batch : 0,
             max_batch > 0 ? "dynamic_batching { }\n" : "");
    snprintf(config, sizeof config,
             "name: \"%s\"\nbackend: \"python\"\n%s"
             "input [ { name: \"INPUT\" data_type: TYPE_FP32 dims: [ %s1, -1, -1, -1 ] } ]\n"
             "output [ { name: \"OUTPUT\" data_type: TYPE_FP32 dims: [ %s3, -1, -1, -1 ] } ]\n"
             "parameters [ { key: \"onnx\" value: { string_value: \"" BRAINCHOP "model5_gw_ae.onnx\" } },\n"
             "  { key: \"openvino\" value: { string_value: \"%s\" } },\n"
             "  { key: \"threads\" value: { string_value: \"2\" } },\n"
             "  { key: \"fail_after\" value: { string_value: \"%d\" } } ]\n"
             "instance_group [ { count: 1 kind: KIND_CPU } ]\n",
             name, batching, max_batch > 0 ? "" : "-1, ", max_batch > 0 ? "" : "-1, ", VXT_OPENVINO_WHEEL,
             fail_after);
    add_model(s, name, config);
    snprintf(p, sizeof p, "%s/models/%s/1/model.py", s->dir, name);
    snprintf(cmd, sizeof cmd, "cp '%s/tests/triton/onnx_network/model.py' '%s'", VXT_SOURCE_DIR, p);
    assert_int_equal(system(cmd), 0);
}

static void add_network(server *s, const char *name, int fail_after)
{
    add_network_batching(s, name, fail_after, 0);
}

/* plan_json laid over the brainchop plan: 64^3 tiles overlapping by `overlap`, Gaussian weights (the plan's
 * receptive-field overlap dropped), then `more`, as a pbtxt string's escaped JSON */
#define TILES_WITH(overlap, more)                                                                                    \
    "{\\\"roi\\\": [64, 64, 64], \\\"receptive_field\\\": null, \\\"importance\\\": \\\"gaussian\\\", "                   \
    "\\\"overlap\\\": " overlap more "}"
/* for tests that need many quick requests: a quarter's overlap (125 tiles on the whole T1) */
#define SMALL_TILES_WITH(more) TILES_WITH("0.25", more)
#define SMALL_TILES SMALL_TILES_WITH("")
/* for requests that must still be running seconds after they start (test_cancel): three quarters' overlap, 2197
 * tiles on the whole T1, about a minute of work on a 2-core machine. With a quarter's, the whole T1 was done in under
 * 4 s on a fast runner, and a client killed at 4 s was killed after its answer. */
#define LONG_TILES TILES_WITH("0.75", "")
/* for an HTTP client that gives up after 0.5 s (test_network_faults): half overlap, 64 tiles on a 160^3 box, about
 * 2 s of work on a 2-core machine (HTTP cannot cancel: the server finishes the abandoned run) */
#define MEDIUM_TILES TILES_WITH("0.5", "")

/* A voxtile model on the brainchop plan whose network is the server model `network` (NULL: the onnx runner in
 * process), with `plan_json` laid over the plan (NULL: none). */
static void add_voxtile(server *s, const char *name, const char *network, const char *plan_json)
{
    char config[4096], extra[1024] = "";
    if (network)
        snprintf(extra, sizeof extra, ",\n  { key: \"network_model\" value: { string_value: \"%s\" } }", network);
    else
        snprintf(extra, sizeof extra, ",\n  { key: \"model\" value: { string_value: \"onnx:" BRAINCHOP
                 "model5_gw_ae.onnx\" } },\n  { key: \"model_config\" value: { string_value: \"threads=2\" } }");
    if (plan_json) {
        size_t k = strlen(extra);
        snprintf(extra + k, sizeof extra - k, ",\n  { key: \"plan_json\" value: { string_value: \"%s\" } }",
                 plan_json);
    }
    snprintf(config, sizeof config,
             "name: \"%s\"\nbackend: \"voxtile\"\nmax_batch_size: 0\n"
             "input [ { name: \"VOLUME\" data_type: TYPE_UINT8 dims: [ -1, -1, -1 ] },\n"
             "        { name: \"AFFINE\" data_type: TYPE_FP64 dims: [ 4, 4 ] optional: true } ]\n"
             "output [ { name: \"LABELS\" data_type: TYPE_UINT8 dims: [ -1, -1, -1 ] } ]\n"
             "parameters [ { key: \"plan\" value: { string_value: \"" PLANS "brainchop_gwm.json\" } }%s ]\n"
             "instance_group [ { count: 1 kind: KIND_CPU } ]\n",
             name, extra);
    add_model(s, name, config);
}

/* A fresh repository folder with the backends: voxtile (the build's) and python (the wheel's, with the 3.11
 * stub). */
static void server_prepare(server *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s/triton", cli_tmp);
    char p[1200], q[1200];
    assert_int_equal(mkdir(s->dir, 0755), 0);
    snprintf(p, sizeof p, "%s/models", s->dir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/backends", s->dir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/backends/voxtile", s->dir);
    assert_int_equal(symlink(VXT_TRITON_BACKEND_DIR, p), 0);
    snprintf(p, sizeof p, "%s/backends/python", s->dir);
    assert_int_equal(mkdir(p, 0755), 0);
    const char *server_bin = env_or_fail("VXT_TRITON_SERVER");
    /* <wheel>/pytriton/tritonserver/bin/tritonserver -> <wheel>/pytriton/tritonserver */
    char root[1024];
    snprintf(root, sizeof root, "%s", server_bin);
    *strrchr(root, '/') = '\0';
    *strrchr(root, '/') = '\0';
    static const char *const files[][2] = {
        {"backends/python/libtriton_python.so", "libtriton_python.so"},
        {"backends/python/triton_python_backend_utils.py", "triton_python_backend_utils.py"},
        {"python_backend_stubs/3.11/triton_python_backend_stub", "triton_python_backend_stub"}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(q, sizeof q, "%s/%s", root, files[i][0]);
        snprintf(p, sizeof p, "%s/backends/python/%s", s->dir, files[i][1]);
        assert_int_equal(symlink(q, p), 0);
    }
}

/* Start the server; wait until it is ready (60 s at most, failing with its log's end if it exits or never is). */
static void server_start(server *s)
{
    const char *bin = env_or_fail("VXT_TRITON_SERVER");
    s->port = free_port();
    char repo[600], backends[600], port[32], log[600];
    snprintf(repo, sizeof repo, "--model-repository=%s/models", s->dir);
    snprintf(backends, sizeof backends, "--backend-directory=%s/backends", s->dir);
    snprintf(port, sizeof port, "--http-port=%d", s->port);
    snprintf(log, sizeof log, "%s/server.log", s->dir);
    /* the command line: valgrind's part, the server's, then gRPC's */
    char vlog[700], grpc_port[32];
    const char *argv[40];
    int n = 0;
    if (under_valgrind) {
        snprintf(vlog, sizeof vlog, "--log-file=%s/valgrind.log", s->dir);
        static const char *const vg[] = {"/usr/bin/valgrind", "--leak-check=full",
                                         "--show-leak-kinds=definite,indirect", "--num-callers=40"};
        for (size_t i = 0; i < sizeof vg / sizeof vg[0]; i++)
            argv[n++] = vg[i];
        argv[n++] = vlog;
    }
    argv[n++] = bin, argv[n++] = repo, argv[n++] = backends, argv[n++] = port;
    argv[n++] = "--http-address=127.0.0.1";
    argv[n++] = "--allow-metrics=false";
    argv[n++] = "--disable-auto-complete-config";
    argv[n++] = under_valgrind ? "--exit-timeout-secs=60" : "--exit-timeout-secs=20";
    if (!under_valgrind) {
        argv[n++] = "--backend-config=python,shm-default-byte-size=67108864";
        argv[n++] = "--backend-config=python,shm-growth-byte-size=67108864";
    }
    if (s->grpc) {
        do
            s->grpc_port = free_port();
        while (s->grpc_port == s->port);
        snprintf(grpc_port, sizeof grpc_port, "--grpc-port=%d", s->grpc_port);
        argv[n++] = "--allow-grpc=true";
        argv[n++] = "--grpc-address=127.0.0.1";
        argv[n++] = grpc_port;
    } else {
        argv[n++] = "--allow-grpc=false";
    }
    argv[n] = NULL;
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid > 0)
        running = s;
    if (s->pid == 0) {
        FILE *f = freopen(log, "w", stdout);
        if (!f || dup2(fileno(stdout), 2) < 0)
            _exit(127);
#ifdef VXT_ASAN_RUNTIME
        /* the sanitizer build: the backend and libvoxtile are instrumented, the server is not; AddressSanitizer's
         * runtime must come first. Memory errors in the backend are caught; leak checking stays off, as it would
         * report the server's own allocations too. */
        setenv("LD_PRELOAD", VXT_ASAN_RUNTIME, 1);
        setenv("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1", 1);
#endif
        /* the python backend's stub takes its modules (numpy) from the first python3 on PATH: Debian's */
        setenv("PATH", "/usr/bin:/bin", 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < (under_valgrind ? 3000 : 600); i++) {
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            running = NULL;
            char cmd[700];
            snprintf(cmd, sizeof cmd, "tail -n 15 '%s' >&2", log);
            if (system(cmd) != 0)
                print_message("(no log)\n");
            fail_msg("tritonserver exited before it was ready (its log above)");
        }
        if (http_get(s->port, "/v2/health/ready") == 200)
            return;
        usleep(100 * 1000);
    }
    fail_msg("tritonserver was not ready after 60 s (log: %s)", log);
}

/* Whether the server's log holds `text`. */
static int log_has(const server *s, const char *text)
{
    char p[700], line[4096];
    snprintf(p, sizeof p, "%s/server.log", s->dir);
    FILE *f = fopen(p, "r");
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* The backend's lines in the server's log that say a request was cancelled ("... after 3.0 s (...; the last
 * progress: sliding_window 21 of 125)"): how many, and how many of them stopped the run before its sliding window's
 * last tile (the last progress reported a stage before it, or fewer tiles than all). The last line in `last`. */
static int log_cancellations(const server *s, int *early, char *last, size_t lastlen)
{
    char p[700], line[4096];
    snprintf(p, sizeof p, "%s/server.log", s->dir);
    FILE *f = fopen(p, "r");
    int n = 0;
    *early = 0;
    while (f && fgets(line, sizeof line, f)) {
        const char *c = strstr(line, "was cancelled by its client");
        if (!c)
            continue;
        n++;
        snprintf(last, lastlen, "%s", c);
        last[strcspn(last, "\"\n")] = '\0'; /* the server quotes the message */
        /* the backend's "the last progress: STAGE D of T" */
        char stage[64] = "";
        unsigned long long done = 0, total = 0;
        const char *lp = strstr(c, "the last progress: ");
        if (!lp || sscanf(lp, "the last progress: %63s %llu of %llu", stage, &done, &total) != 3)
            continue;
        if ((!strcmp(stage, "sliding_window") && done < total) || !strcmp(stage, "none") ||
            !strcmp(stage, "orient") || !strcmp(stage, "rescale") || !strcmp(stage, "resample") ||
            !strcmp(stage, "normalize"))
            ++*early;
    }
    if (f)
        fclose(f);
    return n;
}

/* Stop it by its PID: SIGTERM, then SIGKILL after 30 s. Returns its exit status (0: a clean stop). */
static int server_stop(server *s)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    int st = 0;
    const int tries = under_valgrind ? 1800 : 300;
#ifdef VXT_ASAN_RUNTIME
    /* with AddressSanitizer's runtime preloaded, the server unloads every model (the backend's finalizers run) and
     * then deadlocks in glibc's locale teardown at exit (freelocale, under __libc_setlocale_lock), never in voxtile's
     * code: once its log says no model is left, it is killed, and the stop counts as clean when the log holds no
     * AddressSanitizer report */
    for (int i = 0; i < 300 && !log_has(s, "Found 0 live models"); i++) {
        if (waitpid(s->pid, &st, WNOHANG) == s->pid)
            break;
        usleep(100 * 1000);
    }
    usleep(500 * 1000);
    if (waitpid(s->pid, &st, WNOHANG) != s->pid) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &st, 0);
        st = 0;
    }
    s->pid = 0;
    running = NULL;
    if (log_has(s, "AddressSanitizer"))
        fail_msg("AddressSanitizer reported an error in the server (log: %s/server.log)", s->dir);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 0;
#endif
    for (int i = 0; i < tries; i++) {
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            running = NULL;
            if (!log_has(s, "Found 0 live models")) /* every model unloaded: the backend's finalizers ran */
                fail_msg("the server stopped without unloading its models (log: %s/server.log)", s->dir);
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        usleep(100 * 1000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    s->pid = 0;
    running = NULL;
    return 137;
}

static int triton_teardown(void **state)
{
    if (running && running->pid > 0) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "tail -n 20 '%s/server.log' >&2", running->dir);
        if (system(cmd) != 0)
            print_message("(no server log)\n");
        server_stop(running);
    }
    running = NULL;
    return cli_teardown(state);
}

/* Run the client (tests/triton/client.py) with these arguments; its exit status. stderr's first line in `err`. */
static int client(const server *s, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A command put before the client's (`timeout -s KILL 2 `: a client killed in the middle of its request). */
static const char *client_wrapper = "";

static int client(const server *s, char *err, size_t errlen, const char *fmt, ...)
{
    char args[2048], cmd[4096], errfile[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(errfile, sizeof errfile, "%s/client.err", s->dir);
    snprintf(cmd, sizeof cmd, "%s'%s' '%s/tests/triton/client.py' --url 127.0.0.1:%d %s > '%s/client.out' 2> '%s'",
             client_wrapper, env_or_fail("VXT_TRITON_PYTHON"), VXT_SOURCE_DIR, s->port, args, s->dir, errfile);
    int rc = system(cmd);
    if (err && errlen) {
        err[0] = '\0';
        FILE *f = fopen(errfile, "r");
        if (f) {
            if (!fgets(err, (int)errlen, f))
                err[0] = '\0';
            fclose(f);
        }
        err[strcspn(err, "\n")] = '\0';
    }
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The labels of a .npy (from the client) equal the labels of a NIfTI (from voxtile run), voxel for voxel. */
static void assert_same_labels(const char *npy, const char *nifti)
{
    vxt_image *a = NULL, *b = cli_read_image(nifti);
    assert_ok(vxt_image_read_path(npy, NULL, &a));
    vxt_volume va, vb;
    assert_ok(vxt_image_volume(a, &va));
    assert_ok(vxt_image_volume(b, &vb));
    assert_int_equal(va.dtype, vb.dtype);
    for (int k = 0; k < 3; k++)
        assert_int_equal(va.shape[k], vb.shape[k]);
    size_t n = 0, diff = 0;
    assert_ok(vxt_volume_bytes(&va, &n));
    for (size_t i = 0; i < n; i++)
        diff += ((const uint8_t *)va.data)[i] != ((const uint8_t *)vb.data)[i];
    if (diff)
        fail_msg("%zu of %zu label bytes differ between the server's answer and voxtile run", diff, n);
    vxt_image_destroy(a);
    vxt_image_destroy(b);
}

/* Run the C++ client example (tools/examples/triton_client.cpp) with these arguments against the server; its exit
 * status, stderr's first line in `err`. */
static int cxx_client(const server *s, char *err, size_t errlen, const char *args)
{
#ifndef VXT_TRITON_CXX_CLIENT
    (void)s, (void)err, (void)errlen, (void)args;
    fail_msg("the C++ client example was not built: libcurl is missing (tools/install-deps.sh installs "
             "libcurl4-openssl-dev)");
    return -1;
#else
    char cmd[4096], errfile[600];
    snprintf(errfile, sizeof errfile, "%s/cxx_client.err", s->dir);
    snprintf(cmd, sizeof cmd, "'%s' --url 127.0.0.1:%d %s > '%s/cxx_client.out' 2> '%s'", VXT_TRITON_CXX_CLIENT,
             s->port, args, s->dir, errfile);
    const int rc = system(cmd);
    err[0] = '\0';
    FILE *f = fopen(errfile, "r");
    if (f) {
        if (!fgets(err, (int)errlen, f))
            err[0] = '\0';
        fclose(f);
    }
    err[strcspn(err, "\n")] = '\0';
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
#endif
}

/* The real T1 through the voxtile model whose network is a model of the server (Triton's python backend), sent by
 * the Python client, and through the model with the network in process, sent by the C++ client example: both give
 * voxtile run's labels. A request the server refuses makes the C++ client exit 1 with the server's message and
 * leaves its output file as it was. */
static void test_same_bits_as_run(void **state)
{
    (void)state;
    server s;
    server_prepare(&s);
    add_network(&s, "gwm_net", -1);
    add_voxtile(&s, "seg", "gwm_net", NULL);
    add_voxtile(&s, "seg_local", NULL, NULL);
    server_start(&s);
    char err[512], args[2048];
    int rc = client(&s, err, sizeof err, "--model seg --nifti '%s' --labels '%s/labels.npy'",
                    BRAINCHOP "t1_crop.nii.gz", s.dir);
    if (rc != 0) {
        server_stop(&s);
        fail_msg("the request failed (%d): %s", rc, err);
    }
    snprintf(args, sizeof args, "--model seg_local '%s' '%s/cxx.nii.gz'", BRAINCHOP "t1_crop.nii.gz", s.dir);
    rc = cxx_client(&s, err, sizeof err, args);
    if (rc != 0)
        fail_msg("the C++ client's request failed (%d): %s", rc, err);
    /* refused: exit 1, the server's message, the output untouched */
    snprintf(args, sizeof args, "cp '%s/cxx.nii.gz' '%s/cxx_before.nii.gz'", s.dir, s.dir);
    assert_int_equal(system(args), 0);
    snprintf(args, sizeof args, "--model seg_local --param colour=red '%s' '%s/cxx.nii.gz'",
             BRAINCHOP "t1_crop.nii.gz", s.dir);
    rc = cxx_client(&s, err, sizeof err, args);
    if (rc != 1 || !strstr(err, "HTTP 400") || !strstr(err, "unknown request parameter 'colour'"))
        fail_msg("a refused request: the C++ client exited %d with '%s'", rc, err);
    const int stopped = server_stop(&s);
    assert_int_equal(stopped, 0);
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/cxx.nii.gz", s.dir);
    snprintf(b, sizeof b, "%s/cxx_before.nii.gz", s.dir);
    assert_true(cli_same_file(a, b));
    rc = cli("run " BRAINCHOP "t1_crop.nii.gz -o %s --plan " PLANS "brainchop_gwm.json --model onnx:" BRAINCHOP
             "model5_gw_ae.onnx --model-config threads=2", cli_path("run.nii.gz"));
    if (rc != 0)
        fail_msg("voxtile run exited %d: %s", rc, cli_err);
    char npy[600];
    snprintf(npy, sizeof npy, "%s/labels.npy", s.dir);
    assert_same_labels(npy, cli_path("run.nii.gz"));
    assert_same_labels(a, cli_path("run.nii.gz"));
}

static void test_bad_requests(void **state)
{
    (void)state;
    server s;
    server_prepare(&s);
    add_model(&s, "seg", SEG_CONFIG);
    server_start(&s);
    /* a small volume: a 64 x 80 x 72 box of the T1 */
#define SMALL "--nifti '" BRAINCHOP "t1_crop.nii.gz' --crop 96:160,88:168,92:164"
    int rc;
    static const struct {
        const char *args, *expect;
    } bad[] = {
        /* Triton checks the datatype against config.pbtxt before the backend sees it */
        {"--dtype float32", "FP32"},
        {"--reshape 5120,72", "VOLUME"},
        {"--param mirroring=1", "mirroring' must be a bool"},
        {"--param colour='\"red\"'", "unknown request parameter 'colour'"},
        {"--param plan='{\"roi\": [64, 64, 64]}'", "field 'roi' may not be set by a request"},
        {"--param plan='[1, 2]'", "is not a JSON object"},
    };
    char err[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = client(&s, err, sizeof err, "--model seg " SMALL " %s --expect-error \"%s\"", bad[i].args,
                    bad[i].expect);
        if (rc != 0)
            fail_msg("request %zu (%s): expected a failure with '%s', got: %s", i, bad[i].args, bad[i].expect, err);
        /* and the server still answers */
        rc = client(&s, err, sizeof err, "--model seg " SMALL " --labels '%s/ok.npy'", s.dir);
        if (rc != 0)
            fail_msg("after request %zu (%s), a good request failed: %s", i, bad[i].args, err);
    }
    /* a request changing an allowed field is answered */
    rc = client(&s, err, sizeof err, "--model seg " SMALL " --param mirroring=false --param "
                "plan='{\"batch_size\": 2}' --labels '%s/ok2.npy'", s.dir);
    if (rc != 0)
        fail_msg("a request with allowed parameters failed: %s", err);
    assert_int_equal(server_stop(&s), 0);
}

/* The network in the server and in process give the same labels (on a box of the T1); faults of the network
 * model fail that request alone: a network model that is not there, one that fails in the middle of a request
 * (after its first tile), and a client that gives up and disconnects. The server then still answers. */
static void test_network_faults(void **state)
{
    (void)state;
    server s;
    server_prepare(&s);
    /* small tiles (eight over the box below), so that requests are quick and a network that fails after its first
     * answer fails in the middle of one */
    const char *small_tiles = SMALL_TILES;
    add_voxtile(&s, "seg", NULL, small_tiles);
    add_network(&s, "gwm_net", -1);
    add_voxtile(&s, "seg_net", "gwm_net", small_tiles);
    add_network(&s, "gwm_failing", 1);
    add_voxtile(&s, "seg_failing", "gwm_failing", small_tiles);
    add_voxtile(&s, "seg_missing", "no_such_model", small_tiles);
    add_voxtile(&s, "seg_net_medium", "gwm_net", MEDIUM_TILES);
    /* a network model that batches up to 2 tiles a request, under a plan of 5 tiles a batch: each batch goes as
     * requests of 2, 2 and 1 tiles (the server refuses more than 2) */
    add_network_batching(&s, "gwm_batched", -1, 2);
    add_voxtile(&s, "seg_batched", "gwm_batched", SMALL_TILES_WITH(", \\\"batch_size\\\": 5"));
    server_start(&s);
    char err[512], a[700], b[700];
#define BOX "--nifti '" BRAINCHOP "t1_crop.nii.gz' --crop 80:176,80:176,80:176"
    int rc = client(&s, err, sizeof err, "--model seg " BOX " --labels '%s/in_process.npy'", s.dir);
    if (rc != 0)
        fail_msg("in process: %s", err);
    rc = client(&s, err, sizeof err, "--model seg_net " BOX " --labels '%s/server.npy'", s.dir);
    if (rc != 0)
        fail_msg("through the server's model: %s", err);
    snprintf(a, sizeof a, "%s/in_process.npy", s.dir);
    snprintf(b, sizeof b, "%s/server.npy", s.dir);
    assert_true(cli_same_file(a, b));
    rc = client(&s, err, sizeof err, "--model seg_batched " BOX " --labels '%s/batched.npy'", s.dir);
    if (rc != 0)
        fail_msg("through the batching network model: %s", err);
    snprintf(a, sizeof a, "%s/batched.npy", s.dir);
    assert_true(cli_same_file(a, b));
    assert_true(log_has(&s, "network model 'gwm_batched' takes up to 2 tiles a request"));
    static const struct {
        const char *model, *expect;
    } bad[] = {
        {"seg_missing", "network model 'no_such_model'"},
        {"seg_failing", "failing on purpose after 1 requests"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = client(&s, err, sizeof err, "--model %s " BOX " --expect-error \"%s\"", bad[i].model, bad[i].expect);
        if (rc != 0)
            fail_msg("%s: expected a failure with '%s', got: %s", bad[i].model, bad[i].expect, err);
        rc = client(&s, err, sizeof err, "--model seg_net " BOX " --labels '%s/again.npy'", s.dir);
        if (rc != 0)
            fail_msg("after %s failed, a good request failed too: %s", bad[i].model, err);
    }
    /* a client that gives up after 0.5 s and disconnects while the server works (64 tiles: seconds) */
    rc = client(&s, err, sizeof err, "--model seg_net_medium --nifti '%s' --crop 48:208,48:208,48:208 --timeout 0.5 "
                "--expect-error \"timed out\"", BRAINCHOP "t1_crop.nii.gz");
    if (rc != 0)
        fail_msg("the client that gives up: %s", err);
    rc = client(&s, err, sizeof err, "--model seg_net " BOX " --labels '%s/after_disconnect.npy'", s.dir);
    if (rc != 0)
        fail_msg("after a client disconnected, a good request failed: %s", err);
    snprintf(a, sizeof a, "%s/after_disconnect.npy", s.dir);
    assert_true(cli_same_file(a, b));
    assert_int_equal(server_stop(&s), 0);
}

/* Wait up to 30 s for the server's log to hold `n` cancellations; fail unless every one stopped the run before
 * its sliding window's last tile. */
static void expect_cancellations(const server *s, int n, const char *what)
{
    int early = 0, seen = 0;
    char last[1024] = "";
    for (int i = 0; i < 300 && (seen = log_cancellations(s, &early, last, sizeof last)) < n; i++)
        usleep(100 * 1000);
    if (seen != n)
        fail_msg("%s: the backend logged %d cancellation(s), expected %d (log: %s/server.log)", what, seen, n, s->dir);
    if (early != n)
        fail_msg("%s: %d of the %d cancellations stopped the run before the last tile; the last: \"%s\"",
                 what, early, n, last);
    print_message("%s: the backend's log: \"%s\"\n", what, last);
}

/* Cancellation through gRPC, which tells the server when a client cancels, passes its deadline or disconnects (HTTP
 * does not: test_network_faults). On the whole T1 in 64^3 tiles (LONG_TILES: 2197 of them, about a minute of work,
 * so that a fast machine is still in the run's first fifth when these come), each of these stops
 * the request before its sliding window's last tile, the backend says so in the server's log, and the server then
 * answers the next request with the same labels as before: a request cancelled by its client, with the network in
 * process and as a model of the server (whose inner request is cancelled in turn); a request past its deadline; a
 * client killed in the middle of its request. A request over gRPC gives the labels it gives over HTTP. */
static void test_cancel(void **state)
{
    (void)state;
    server s;
    server_prepare(&s);
    add_voxtile(&s, "seg", NULL, SMALL_TILES);
    add_network(&s, "gwm_net", -1);
    add_voxtile(&s, "seg_net", "gwm_net", SMALL_TILES);
    add_voxtile(&s, "seg_long", NULL, LONG_TILES);
    add_voxtile(&s, "seg_long_net", "gwm_net", LONG_TILES);
    s.grpc = 1;
    server_start(&s);
    char err[512], grpc[64], a[700], b[700];
    snprintf(grpc, sizeof grpc, "--grpc-url 127.0.0.1:%d", s.grpc_port);
#define WHOLE "--nifti '" BRAINCHOP "t1_crop.nii.gz'"
    int rc = client(&s, err, sizeof err, "--model seg " BOX " --labels '%s/http.npy'", s.dir);
    if (rc != 0)
        fail_msg("over HTTP: %s", err);
    rc = client(&s, err, sizeof err, "%s --model seg " BOX " --labels '%s/grpc.npy'", grpc, s.dir);
    if (rc != 0)
        fail_msg("over gRPC: %s", err);
    snprintf(a, sizeof a, "%s/http.npy", s.dir);
    snprintf(b, sizeof b, "%s/grpc.npy", s.dir);
    assert_true(cli_same_file(a, b));
    static const struct {
        const char *model, *args, *expect, *what;
    } cases[] = {
        {"seg_long", "--cancel-after 3", "CANCELLED", "a request cancelled after 3 s (the network in process)"},
        {"seg_long_net", "--cancel-after 3", "CANCELLED",
         "a request cancelled after 3 s (the network a server model)"},
        {"seg_long", "--timeout 3", "DEADLINE_EXCEEDED", "a request past its deadline of 3 s"},
        {"seg_long", "", NULL, "a client killed 4 s after it started"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].expect) {
            rc = client(&s, err, sizeof err, "%s --model %s " WHOLE " %s --expect-error %s", grpc, cases[i].model,
                        cases[i].args, cases[i].expect);
            if (rc != 0)
                fail_msg("%s: expected a failure with %s, got: %s", cases[i].what, cases[i].expect, err);
        } else {
            client_wrapper = "timeout -s KILL 4 ";
            rc = client(&s, err, sizeof err, "%s --model %s " WHOLE " --labels '%s/never.npy'", grpc,
                        cases[i].model, s.dir);
            client_wrapper = "";
            if (rc != 137)
                fail_msg("%s: the client exited %d, not killed (137): %s", cases[i].what, rc, err);
        }
        expect_cancellations(&s, (int)i + 1, cases[i].what);
        rc = client(&s, err, sizeof err, "%s --model seg_net " BOX " --labels '%s/after.npy'", grpc, s.dir);
        if (rc != 0)
            fail_msg("after %s, a good request failed: %s", cases[i].what, err);
        snprintf(b, sizeof b, "%s/after.npy", s.dir);
        assert_true(cli_same_file(a, b));
    }
    assert_int_equal(server_stop(&s), 0);
}

/* The values of two label maps (.npy, UINT8 or UINT16) are equal, voxel for voxel. */
static void assert_same_values(const char *what, const char *a_path, const char *b_path)
{
    vxt_image *a = NULL, *b = NULL;
    assert_ok(vxt_image_read_path(a_path, NULL, &a));
    assert_ok(vxt_image_read_path(b_path, NULL, &b));
    vxt_volume va, vb;
    assert_ok(vxt_image_volume(a, &va));
    assert_ok(vxt_image_volume(b, &vb));
    for (int k = 0; k < 3; k++)
        assert_int_equal(va.shape[k], vb.shape[k]);
    const size_t n = (size_t)(va.shape[0] * va.shape[1] * va.shape[2]);
    size_t diff = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned x = va.dtype == VXT_DTYPE_U8 ? ((const uint8_t *)va.data)[i] : ((const uint16_t *)va.data)[i];
        unsigned y = vb.dtype == VXT_DTYPE_U8 ? ((const uint8_t *)vb.data)[i] : ((const uint16_t *)vb.data)[i];
        diff += x != y;
    }
    if (diff)
        fail_msg("%s: %zu of %zu labels differ", what, diff, n);
    vxt_image_destroy(a);
    vxt_image_destroy(b);
}

/* What a request may send and ask for: a volume of each datatype (UINT8, INT16, FP32) and rank ([Z, Y, X] and
 * [C, Z, Y, X]), SPACING instead of AFFINE, UINT16 labels and the probabilities. On a box of the T1 (the network in
 * process), the same labels whatever the volume's datatype and rank; the labels are the argmax of the
 * probabilities; SPACING gives what the diagonal affine of the same spacing gives, and both SPACING and AFFINE are
 * refused. */
static void test_inputs(void **state)
{
    (void)state;
    server s;
    server_prepare(&s);
    add_voxtile(&s, "seg", NULL, SMALL_TILES);
    static const char *const wide =
        "name: \"seg_wide\"\nbackend: \"voxtile\"\nmax_batch_size: 0\n"
        "input [ { name: \"VOLUME\" data_type: TYPE_INT16 dims: [ -1, -1, -1 ] },\n"
        "        { name: \"SPACING\" data_type: TYPE_FP64 dims: [ 3 ] optional: true },\n"
        "        { name: \"AFFINE\" data_type: TYPE_FP64 dims: [ 4, 4 ] optional: true } ]\n"
        "output [ { name: \"LABELS\" data_type: TYPE_UINT16 dims: [ -1, -1, -1 ] },\n"
        "         { name: \"PROBABILITIES\" data_type: TYPE_FP32 dims: [ -1, -1, -1, -1 ] } ]\n"
        "parameters [ { key: \"plan\" value: { string_value: \"" PLANS "brainchop_gwm.json\" } },\n"
        "  { key: \"model\" value: { string_value: \"onnx:" BRAINCHOP "model5_gw_ae.onnx\" } },\n"
        "  { key: \"model_config\" value: { string_value: \"threads=2\" } },\n"
        "  { key: \"plan_json\" value: { string_value: \"" SMALL_TILES_WITH(
            ", \\\"output\\\": {\\\"label_dtype\\\": \\\"uint16\\\", \\\"resample_back\\\": \\\"probabilities\\\"}") "\" } } ]\n"
        "instance_group [ { count: 1 kind: KIND_CPU } ]\n";
    add_model(&s, "seg_wide", wide);
    static const char *const f32 =
        "name: \"seg_f32\"\nbackend: \"voxtile\"\nmax_batch_size: 0\n"
        "input [ { name: \"VOLUME\" data_type: TYPE_FP32 dims: [ -1, -1, -1, -1 ] },\n"
        "        { name: \"AFFINE\" data_type: TYPE_FP64 dims: [ 4, 4 ] optional: true } ]\n"
        "output [ { name: \"LABELS\" data_type: TYPE_UINT8 dims: [ -1, -1, -1 ] } ]\n"
        "parameters [ { key: \"plan\" value: { string_value: \"" PLANS "brainchop_gwm.json\" } },\n"
        "  { key: \"model\" value: { string_value: \"onnx:" BRAINCHOP "model5_gw_ae.onnx\" } },\n"
        "  { key: \"model_config\" value: { string_value: \"threads=2\" } },\n"
        "  { key: \"plan_json\" value: { string_value: \"" SMALL_TILES "\" } } ]\n"
        "instance_group [ { count: 1 kind: KIND_CPU } ]\n";
    add_model(&s, "seg_f32", f32);
    server_start(&s);
    char err[512], ref[700], got[700], probs[700];
    snprintf(ref, sizeof ref, "%s/ref.npy", s.dir);
    snprintf(got, sizeof got, "%s/got.npy", s.dir);
    snprintf(probs, sizeof probs, "%s/probs.npy", s.dir);
    int rc = client(&s, err, sizeof err, "--model seg " BOX " --labels '%s'", ref);
    if (rc != 0)
        fail_msg("UINT8: %s", err);
    /* INT16 in, UINT16 labels and the probabilities out */
    rc = client(&s, err, sizeof err, "--model seg_wide " BOX " --dtype int16 --labels '%s' --probabilities '%s'", got,
                probs);
    if (rc != 0)
        fail_msg("INT16: %s", err);
    assert_same_values("INT16 [Z, Y, X], UINT16 labels", ref, got);
    vxt_image *p = NULL, *l = NULL;
    assert_ok(vxt_image_read_path(probs, NULL, &p));
    assert_ok(vxt_image_read_path(got, NULL, &l));
    vxt_volume vp, vl;
    assert_ok(vxt_image_volume(p, &vp));
    assert_ok(vxt_image_volume(l, &vl));
    assert_int_equal(vp.channels, 3);
    assert_int_equal(vp.dtype, VXT_DTYPE_F32);
    assert_int_equal(vl.dtype, VXT_DTYPE_U16);
    const size_t n = (size_t)(vl.shape[0] * vl.shape[1] * vl.shape[2]);
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++) {
        const float *pv = vp.data;
        unsigned best = 0;
        for (unsigned c = 1; c < 3; c++)
            if (pv[c * n + i] > pv[best * n + i])
                best = c;
        wrong += best != ((const uint16_t *)vl.data)[i];
    }
    vxt_image_destroy(p);
    vxt_image_destroy(l);
    if (wrong)
        fail_msg("%zu of %zu labels are not the argmax of the probabilities", wrong, n);
    /* FP32 [1, Z, Y, X] */
    rc = client(&s, err, sizeof err, "--model seg_f32 " BOX " --dtype float32 --reshape 1,96,96,96 --labels '%s'",
                got);
    if (rc != 0)
        fail_msg("FP32 [C, Z, Y, X]: %s", err);
    assert_same_values("FP32 [C, Z, Y, X]", ref, got);
    /* SPACING instead of AFFINE: 2 x 1 x 1 mm voxels (resampled to the plan's 1 mm and back) are the voxels of the
     * affine diag(1, 1, 2) */
    rc = client(&s, err, sizeof err, "--model seg_wide " BOX " --dtype int16 --diagonal-affine 2,1,1 --labels '%s'",
                ref);
    if (rc != 0)
        fail_msg("a diagonal AFFINE: %s", err);
    rc = client(&s, err, sizeof err, "--model seg_wide " BOX " --dtype int16 --no-affine --spacing 2,1,1 --labels '%s'",
                got);
    if (rc != 0)
        fail_msg("SPACING: %s", err);
    assert_same_values("SPACING (2, 1, 1)", ref, got);
    /* and the spacing matters: 1 x 1 x 2 mm voxels give other labels */
    rc = client(&s, err, sizeof err, "--model seg_wide " BOX " --dtype int16 --no-affine --spacing 1,1,2 --labels '%s'",
                got);
    if (rc != 0)
        fail_msg("SPACING: %s", err);
    assert_true(!cli_same_file(ref, got));
    rc = client(&s, err, sizeof err, "--model seg_wide " BOX " --dtype int16 --spacing 1,1,1 --expect-error "
                "\"give SPACING or AFFINE, not both\"");
    if (rc != 0)
        fail_msg("SPACING and AFFINE: %s", err);
    assert_int_equal(server_stop(&s), 0);
}

/* The server's resident memory (kB), from /proc. */
static long rss_kb(pid_t pid)
{
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
    FILE *f = fopen(p, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

/* 8 clients x 25 requests at once on a box of the T1 (two instances of the in-process model): every answer is
 * the first one, none fails, and the server's memory after them is what it was after a warm-up round. */
static void test_load(void **state)
{
    (void)state;
    server s;
    server_prepare(&s);
    /* one 64^3 tile a request (a 64^3 box of the T1), on two instances */
    add_voxtile(&s, "seg", NULL, SMALL_TILES);
    char p[700], cmd[1600];
    snprintf(p, sizeof p, "%s/models/seg/config.pbtxt", s.dir);
    snprintf(cmd, sizeof cmd, "sed -i 's/count: 1/count: 2/' '%s'", p);
    assert_int_equal(system(cmd), 0);
    server_start(&s);
    char err[512];
#define LOAD_BOX "--nifti '" BRAINCHOP "t1_crop.nii.gz' --crop 100:164,96:160,96:160"
    int rc = client(&s, err, sizeof err, "--model seg " LOAD_BOX " --requests 4 --clients 8");
    if (rc != 0)
        fail_msg("warm-up: %s", err);
    const long warm = rss_kb(s.pid);
    rc = client(&s, err, sizeof err, "--model seg " LOAD_BOX " --requests 25 --clients 8 --labels '%s/load.npy'",
                s.dir);
    long after = rss_kb(s.pid);
    if (rc != 0)
        fail_msg("8 clients x 25 requests: %s", err);
    char out[512] = "";
    snprintf(p, sizeof p, "%s/client.out", s.dir);
    FILE *f = fopen(p, "r");
    if (f) {
        if (!fgets(out, sizeof out, f))
            out[0] = '\0';
        fclose(f);
    }
    out[strcspn(out, "\n")] = '\0';
    print_message("load: %s; server RSS %ld kB after the warm-up, %ld kB after 200 requests\n", out, warm, after);
    assert_true(warm > 0 && after > 0);
#ifdef VXT_ASAN_RUNTIME
    /* AddressSanitizer keeps freed memory in quarantine (up to 256 MiB): the server's RSS grows by design */
    after = warm;
#endif
    if (after > warm + warm / 20 + 16384)
        fail_msg("the server's memory grew from %ld kB to %ld kB over 200 requests", warm, after);
    assert_int_equal(server_stop(&s), 0);
}

/* Whether `file` (a source file's name, as valgrind prints it: "triton_request.c") is one of voxtile's: a .c file
 * under runtime/, host/, kernels/ or tools/ of this tree. */
static int our_source(const char *file)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "find '%s/runtime' '%s/host' '%s/kernels' '%s/tools' -name '%s' | grep -q .",
             VXT_SOURCE_DIR, VXT_SOURCE_DIR, VXT_SOURCE_DIR, VXT_SOURCE_DIR, file);
    return system(cmd) == 0;
}

/* Count valgrind's records (errors and lost blocks) whose first frame past the allocators is in voxtile's code.
 * A frame line reads "at|by 0x...: FUNCTION (FILE:LINE)"; allocators (malloc, calloc, realloc, operator new,
 * strdup and the like, cJSON's) are skipped, so that a block voxtile allocated through them and lost counts as
 * voxtile's, while the loader's and the server's own findings deeper in a stack through voxtile's calls (dlopen of
 * a runner module) do not. */
static int valgrind_ours(const char *log, char *first, size_t firstlen)
{
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char line[4096];
    int in_record = 0, decided = 0, ours = 0;
    first[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, "== ");
        if (!p)
            continue;
        p += 3;
        while (*p == ' ')
            p++;
        if (*p == '\n' || *p == '\0') { /* a blank line ends a record */
            in_record = decided = 0;
            continue;
        }
        const int frame = !strncmp(p, "at 0x", 5) || !strncmp(p, "by 0x", 5);
        if (!frame) {
            if (strstr(p, "Invalid ") || strstr(p, "uninitialised") || strstr(p, "definitely lost in") ||
                strstr(p, "indirectly lost in") || strstr(p, "Mismatched free") || strstr(p, "overlap"))
                in_record = 1, decided = 0;
            continue;
        }
        if (!in_record || decided)
            continue;
        char *fn = strstr(p, ": ");
        if (!fn)
            continue;
        fn += 2;
        static const char *const alloc[] = {"malloc", "calloc", "realloc", "operator new", "strdup", "__strdup",
                                            "strndup", "posix_memalign", "aligned_alloc", "cJSON_", "memalign"};
        int skip = 0;
        for (size_t i = 0; i < sizeof alloc / sizeof alloc[0] && !skip; i++)
            skip = !strncmp(fn, alloc[i], strlen(alloc[i]));
        if (skip)
            continue;
        decided = 1;
        char *open = strrchr(fn, '('), *colon = open ? strchr(open, ':') : NULL;
        if (!open || !colon)
            continue;
        char file[256];
        snprintf(file, sizeof file, "%.*s", (int)(colon - open - 1), open + 1);
        if (strchr(file, '/') == NULL && strchr(file, '\'') == NULL && our_source(file)) {
            if (!ours++)
                snprintf(first, firstlen, "%s", fn);
        }
    }
    fclose(f);
    return ours;
}

/* The backend under valgrind inside the real server: one request answered, three refused (a bad parameter, a plan
 * field a request may not set, a wrong rank), the model unloaded. valgrind's report may hold the loader's, the
 * server's and OpenVINO's own findings (OpenVINO's ONNX frontend keeps 64 bytes from a static initializer), but
 * no error and no lost block may start in voxtile's code (valgrind_ours). */
static void test_valgrind(void **state)
{
    (void)state;
    if (access("/usr/bin/valgrind", X_OK) != 0)
        fail_msg("valgrind is not installed (tools/install-deps.sh installs it)");
    server s;
    server_prepare(&s);
    add_voxtile(&s, "seg", NULL, SMALL_TILES);
    under_valgrind = 1;
    server_start(&s);
    char err[512];
#define ONE_TILE "--nifti '" BRAINCHOP "t1_crop.nii.gz' --crop 100:164,96:160,96:160 --timeout 1200"
    int rc = client(&s, err, sizeof err, "--model seg " ONE_TILE " --labels '%s/v.npy'", s.dir);
    if (rc != 0)
        fail_msg("under valgrind, the request failed: %s", err);
    static const char *const bad[][2] = {{"--param colour=1", "unknown request parameter"},
                                         {"--param plan='{\"roi\": [8, 8, 8]}'", "may not be set"},
                                         {"--reshape 64,4096", "VOLUME"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = client(&s, err, sizeof err, "--model seg " ONE_TILE " %s --expect-error \"%s\"", bad[i][0], bad[i][1]);
        if (rc != 0)
            fail_msg("under valgrind, request %zu (%s): %s", i, bad[i][0], err);
    }
    const int stopped = server_stop(&s);
    under_valgrind = 0;
    assert_int_equal(stopped, 0);
    char vlog[700], first[1024];
    snprintf(vlog, sizeof vlog, "%s/valgrind.log", s.dir);
    assert_true(log_has(&s, "successfully unloaded 'seg'"));
    const int ours = valgrind_ours(vlog, first, sizeof first);
    if (ours)
        fail_msg("valgrind: %d record(s) start in voxtile's code, the first at %s (log: %s)", ours, first, vlog);
    /* the parser sees a record of ours: a made-up leak through vxt_image_create */
    char fake[800];
    snprintf(fake, sizeof fake, "%s/fake.log", s.dir);
    FILE *f = fopen(fake, "w");
    assert_non_null(f);
    fputs("==1== 8 bytes in 1 blocks are definitely lost in loss record 1 of 1\n"
          "==1==    at 0x4841F2F: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)\n"
          "==1==    by 0x4857: vxt_image_create (image.c:42)\n==1== \n", f);
    fclose(f);
    assert_int_equal(valgrind_ours(fake, first, sizeof first), 1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_same_bits_as_run, cli_setup, triton_teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, cli_setup, triton_teardown),
        cmocka_unit_test_setup_teardown(test_network_faults, cli_setup, triton_teardown),
        cmocka_unit_test_setup_teardown(test_load, cli_setup, triton_teardown),
        cmocka_unit_test_setup_teardown(test_cancel, cli_setup, triton_teardown),
        cmocka_unit_test_setup_teardown(test_inputs, cli_setup, triton_teardown),
    };
    const struct CMUnitTest valgrind[] = {
        cmocka_unit_test_setup_teardown(test_valgrind, cli_setup, triton_teardown),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("valgrind", valgrind, 0)};
    return vxt_test_main(argc, argv, groups, sizeof groups / sizeof groups[0]);
}
