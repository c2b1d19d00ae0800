#!/usr/bin/python3
"""bench_triton.py - the voxtile Triton backend in a real Triton 2.51 server (docs/TRITON.md): throughput and what the
backend costs beyond the network.

  .deps/tritonclient-2.51.0/bin/python tools/bench/bench_triton.py --build BUILD [--requests 2] [--clients 2]
        [--box Z0:Z1,Y0:Y1,X0:X1] [--json]

It writes a model repository into a temporary folder: brainchop's 3-class network as a model of its own
(tests/triton/onnx_network/model.py: Triton's python backend running the ONNX file with OpenVINO) and two voxtile
models on tools/plans/brainchop_gwm.json, one calling that network model through the server (network_model), one
running the network in process (the onnx runner). It starts the server (.deps/nvidia-pytriton-0.7.0) on a free port,
warms both models up with one request, then for each voxtile model in turn sends CLIENTS x REQUESTS requests of the
real T1 (tests/data/brainchop/t1_crop.nii.gz, or a box of it) from CLIENTS threads with tritonclient, and reads the
server's statistics (/v2/models/NAME/stats) before and after:

  requests/s           answered requests over the wall time
  per request          the voxtile model's mean request time (queue + compute, server side)
  network              the network model's compute time per voxtile request (input, inference, output), and its
                       executions (tile batches) per request
  overhead             per request minus network: what the pipeline around the network costs (preprocessing,
                       stitching, labels, the in-process calls), and its share

docs/TRITON.md has the figures. Needs the build's backend (BUILD/triton-backends/voxtile) and onnx runner module,
and what tools/install-deps.sh unpacks into .deps (the server, the client venv, OpenVINO's wheel).
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import numpy as np
import tritonclient.http as httpclient

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "triton"))
import client  # noqa: E402  (tests/triton/client.py: read_nifti)

PLAN = os.path.join(ROOT, "tools", "plans", "brainchop_gwm.json")
ONNX = os.path.join(ROOT, "tests", "data", "brainchop", "model5_gw_ae.onnx")
T1 = os.path.join(ROOT, "tests", "data", "brainchop", "t1_crop.nii.gz")

VOXTILE = """name: "{name}"
backend: "voxtile"
max_batch_size: 0
input [ {{ name: "VOLUME" data_type: TYPE_UINT8 dims: [ -1, -1, -1 ] }},
        {{ name: "AFFINE" data_type: TYPE_FP64 dims: [ 4, 4 ] optional: true }} ]
output [ {{ name: "LABELS" data_type: TYPE_UINT8 dims: [ -1, -1, -1 ] }} ]
parameters [ {{ key: "plan" value: {{ string_value: "{plan}" }} }}, {extra} ]
instance_group [ {{ count: {instances} kind: KIND_CPU }} ]
"""

NETWORK = """name: "gwm_net"
backend: "python"
max_batch_size: 0
input [ { name: "INPUT" data_type: TYPE_FP32 dims: [ -1, 1, -1, -1, -1 ] } ]
output [ { name: "OUTPUT" data_type: TYPE_FP32 dims: [ -1, 3, -1, -1, -1 ] } ]
parameters [ { key: "onnx" value: { string_value: "%s" } },
             { key: "openvino" value: { string_value: "%s" } },
             { key: "threads" value: { string_value: "2" } } ]
instance_group [ { count: 1 kind: KIND_CPU } ]
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def model_dir(repo, name, config):
    os.makedirs(os.path.join(repo, name, "1"))
    with open(os.path.join(repo, name, "config.pbtxt"), "w") as fh:
        fh.write(config)


def stats(port, name):
    """The model's cumulative statistics: request count and ns (success), compute ns, executions."""
    with urllib.request.urlopen("http://127.0.0.1:%d/v2/models/%s/stats" % (port, name)) as r:
        m = json.load(r)["model_stats"][0]
    s = m["inference_stats"]
    return {"count": s["success"]["count"], "request_ns": s["success"]["ns"],
            "compute_ns": s["compute_input"]["ns"] + s["compute_infer"]["ns"] + s["compute_output"]["ns"],
            "executions": m["execution_count"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--deps", default=os.path.join(ROOT, ".deps"))
    ap.add_argument("--requests", type=int, default=2, help="requests per client")
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--box", help="Z0:Z1,Y0:Y1,X0:X1: send this box of the T1 instead of all of it")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    server_dir = os.path.join(a.deps, "nvidia-pytriton-0.7.0", "pytriton", "tritonserver")
    openvino = [os.path.join(a.deps, d) for d in os.listdir(a.deps) if d.startswith("openvino-")][0]
    work = tempfile.mkdtemp(prefix="vxt-bench-triton-")
    proc = None
    try:
        repo, backends = os.path.join(work, "models"), os.path.join(work, "backends")
        os.makedirs(os.path.join(backends, "python"))
        os.symlink(os.path.abspath(os.path.join(a.build, "triton-backends", "voxtile")), os.path.join(backends, "voxtile"))
        for src, dst in [("backends/python/libtriton_python.so", "libtriton_python.so"),
                         ("backends/python/triton_python_backend_utils.py", "triton_python_backend_utils.py"),
                         ("python_backend_stubs/3.11/triton_python_backend_stub", "triton_python_backend_stub")]:
            os.symlink(os.path.join(server_dir, src), os.path.join(backends, "python", dst))
        model_dir(repo, "gwm_net", NETWORK % (ONNX, openvino))
        shutil.copy(os.path.join(ROOT, "tests", "triton", "onnx_network", "model.py"),
                    os.path.join(repo, "gwm_net", "1", "model.py"))
        model_dir(repo, "seg_network", VOXTILE.format(
            name="seg_network", plan=PLAN, instances=a.clients,
            extra='{ key: "network_model" value: { string_value: "gwm_net" } }'))
        model_dir(repo, "seg_in_process", VOXTILE.format(
            name="seg_in_process", plan=PLAN, instances=1,
            extra='{ key: "model" value: { string_value: "onnx:%s" } }, '
                  '{ key: "model_config" value: { string_value: "threads=2" } }' % ONNX))
        port = free_port()
        log = open(os.path.join(work, "server.log"), "w")
        env = dict(os.environ, PATH="/usr/bin:/bin")
        proc = subprocess.Popen([os.path.join(server_dir, "bin", "tritonserver"), "--model-repository=" + repo,
                                 "--backend-directory=" + backends, "--http-address=127.0.0.1",
                                 "--http-port=%d" % port, "--allow-grpc=false", "--allow-metrics=false",
                                 "--disable-auto-complete-config",
                                 "--backend-config=python,shm-default-byte-size=134217728",
                                 "--backend-config=python,shm-growth-byte-size=67108864"],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
        for _ in range(600):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/v2/health/ready" % port) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None:
                sys.exit("bench_triton.py: the server exited (log: %s)" % log.name)
            time.sleep(0.1)
        vol, affine = client.read_nifti(T1)
        if a.box:
            vol = vol[tuple(slice(*map(int, r.split(":"))) for r in a.box.split(","))]
        vol = np.ascontiguousarray(vol)

        def request(c, model):
            i = [httpclient.InferInput("VOLUME", list(vol.shape), "UINT8"), httpclient.InferInput("AFFINE", [4, 4], "FP64")]
            i[0].set_data_from_numpy(vol, binary_data=True)
            i[1].set_data_from_numpy(affine, binary_data=True)
            return c.infer(model, i, outputs=[httpclient.InferRequestedOutput("LABELS", binary_data=True)]).as_numpy("LABELS")

        results = {"shape": list(vol.shape), "clients": a.clients, "requests_per_client": a.requests}
        for model in ("seg_network", "seg_in_process"):
            c = httpclient.InferenceServerClient(url="127.0.0.1:%d" % port, network_timeout=3600.0)
            ref = request(c, model)  # warm-up (compiles the network)
            before, net_before = stats(port, model), stats(port, "gwm_net")
            answers = []

            def worker():
                cc = httpclient.InferenceServerClient(url="127.0.0.1:%d" % port, network_timeout=3600.0)
                for _ in range(a.requests):
                    answers.append(np.array_equal(request(cc, model), ref))

            t0 = time.perf_counter()
            threads = [threading.Thread(target=worker) for _ in range(a.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            after, net_after = stats(port, model), stats(port, "gwm_net")
            n = after["count"] - before["count"]
            per = (after["request_ns"] - before["request_ns"]) / n * 1e-9
            r = {"requests": n, "all_equal": all(answers) and len(answers) == n, "wall_s": round(wall, 3),
                 "requests_per_s": round(n / wall, 3), "per_request_s": round(per, 3)}
            if model == "seg_network":
                net = (net_after["compute_ns"] - net_before["compute_ns"]) / n * 1e-9
                r.update({"network_s": round(net, 3), "network_calls_per_request":
                          (net_after["executions"] - net_before["executions"]) / n,
                          "overhead_s": round(per - net, 3), "overhead_share": round((per - net) / per, 3)})
            results[model] = r
        proc.terminate()
        proc.wait(timeout=60)
        proc = None
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    if a.json:
        print(json.dumps(results, indent=1))
        return
    for model in ("seg_network", "seg_in_process"):
        r = results[model]
        print("%-15s %d requests, %.2f requests/s, %.3f s each (server side)%s" % (
            model, r["requests"], r["requests_per_s"], r["per_request_s"],
            "; network %.3f s in %.1f calls, overhead %.3f s (%.0f%%)" % (
                r["network_s"], r["network_calls_per_request"], r["overhead_s"], 100 * r["overhead_share"])
            if "network_s" in r else ""))


if __name__ == "__main__":
    main()
