#!/usr/bin/env python3
"""client.py - send a NIfTI volume to a voxtile model of a Triton server over HTTP or gRPC (tritonclient) and
save what comes back: the tests' client (tests/test_triton.c) and docs/TRITON.md's example.

    client.py --url 127.0.0.1:PORT --model NAME --nifti IN.nii[.gz] --labels OUT.npy [--probabilities OUT.npy]
              [--grpc-url 127.0.0.1:PORT [--cancel-after S]] [--timeout S]
              [--dtype uint8|int16|float32] [--no-affine] [--spacing Z,Y,X] [--param KEY=VALUE ...]
              [--requests N] [--clients K]
              [--crop Z0:Z1,Y0:Y1,X0:X1] [--reshape A,B,...] [--expect-error TEXT]

With --grpc-url the requests go over gRPC instead of HTTP. Over gRPC, --timeout is the request's deadline (the server
is told when it passes) and --cancel-after S cancels the request S seconds after it was sent; over HTTP, --timeout
only makes the client give up and disconnect (HTTP cannot tell the server).

The volume goes as VOLUME in volume order [Z, Y, X] (the NIfTI's k, j, i), its sform as AFFINE (FP64 [4, 4]);
with --spacing, SPACING (FP64 [3], mm along Z, Y, X) goes as well (with --no-affine: instead); --diagonal-affine
Z,Y,X sends the affine diag(X, Y, Z, 1) instead of the file's.
With --requests/--clients, K threads send N requests each and every answer must equal the first (the load test);
the summary (one JSON line on stdout) gives the requests, the failures and the wall time. A failed request prints
one line on stderr and exits 1 (with --expect-error TEXT: exits 0 only when the failure's message holds TEXT)."""
import argparse
import gzip
import json
import struct
import sys
import threading
import time

import numpy as np
import tritonclient.http as httpclient

grpcclient = None  # tritonclient.grpc, imported when --grpc-url asks for it

NIFTI_TYPES = {2: np.uint8, 4: np.int16, 16: np.float32, 512: np.uint16, 8: np.int32, 64: np.float64}


def read_nifti(path):
    """A single-file NIfTI-1 (gzipped or not): voxels [k][j][i] and the 4 x 4 sform (the qform is not read)."""
    raw = open(path, "rb").read()
    b = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    if struct.unpack("<i", b[:4])[0] != 348:
        sys.exit("client.py: %s: not a little-endian NIfTI-1 file" % path)
    dim = struct.unpack("<8h", b[40:56])
    dt = NIFTI_TYPES[struct.unpack("<h", b[70:72])[0]]
    off = int(struct.unpack("<f", b[108:112])[0])
    ni, nj, nk = dim[1:4]
    vox = np.frombuffer(b, dt, ni * nj * nk, off).reshape(nk, nj, ni)
    affine = np.eye(4)
    for r in range(3):
        affine[r] = struct.unpack("<4f", b[280 + 16 * r:296 + 16 * r])
    return vox, affine


def one_request(client, a, vol, affine):
    lib = grpcclient if a.grpc_url else httpclient
    binary = {} if a.grpc_url else {"binary_data": True}
    inputs = [lib.InferInput("VOLUME", list(vol.shape), {"uint8": "UINT8", "int16": "INT16",
                                                         "float32": "FP32"}[str(vol.dtype)])]
    inputs[0].set_data_from_numpy(vol, **binary)
    if affine is not None:
        inputs.append(lib.InferInput("AFFINE", [4, 4], "FP64"))
        inputs[-1].set_data_from_numpy(affine, **binary)
    if a.spacing:
        inputs.append(lib.InferInput("SPACING", [3], "FP64"))
        inputs[-1].set_data_from_numpy(np.array([float(v) for v in a.spacing.split(",")]), **binary)
    outputs = [lib.InferRequestedOutput("LABELS", **binary)]
    if a.probabilities:
        outputs.append(lib.InferRequestedOutput("PROBABILITIES", **binary))
    params = {}
    for p in a.param:  # KEY=true|false|NUMBER|"quoted string"; anything else (a JSON object) is sent as a string
        key, value = p.split("=", 1)
        if value in ("true", "false"):
            params[key] = value == "true"
        elif value[:1] == '"':
            params[key] = json.loads(value)
        else:
            try:
                params[key] = int(value)
            except ValueError:
                params[key] = value
    if not a.grpc_url:
        res = client.infer(a.model, inputs, outputs=outputs, parameters=params or None)
    elif a.cancel_after is None:
        res = client.infer(a.model, inputs, outputs=outputs, parameters=params or None, client_timeout=a.timeout)
    else:  # send, wait, cancel: the answer is the server's (or gRPC's) error
        done, box = threading.Event(), {}

        def answered(result, error):
            box["result"], box["error"] = result, error
            done.set()

        call = client.async_infer(a.model, inputs, answered, outputs=outputs, parameters=params or None)
        if not done.wait(a.cancel_after):
            call.cancel()
        done.wait(a.timeout)
        if box.get("error") is not None:
            raise box["error"]
        if "result" not in box:
            raise TimeoutError("no answer after the cancellation")
        res = box["result"]
    return res.as_numpy("LABELS"), res.as_numpy("PROBABILITIES") if a.probabilities else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True, help="the server's HTTP address")
    ap.add_argument("--grpc-url", help="send over gRPC, to this address")
    ap.add_argument("--cancel-after", type=float, help="gRPC: cancel each request this many seconds after sending it")
    ap.add_argument("--model", required=True)
    ap.add_argument("--nifti", required=True)
    ap.add_argument("--labels")
    ap.add_argument("--probabilities")
    ap.add_argument("--dtype", choices=["uint8", "int16", "float32"])
    ap.add_argument("--no-affine", action="store_true")
    ap.add_argument("--spacing", help="Z,Y,X: send SPACING (mm) too")
    ap.add_argument("--diagonal-affine", help="Z,Y,X: send AFFINE = diag(X, Y, Z, 1) instead of the file's")
    ap.add_argument("--param", action="append", default=[])
    ap.add_argument("--requests", type=int, default=1)
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--expect-error")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds before the client gives up (disconnects)")
    ap.add_argument("--crop", help="Z0:Z1,Y0:Y1,X0:X1: send this box of the volume (the affine kept: a test's volume)")
    ap.add_argument("--reshape", help="send the volume with this shape instead (comma-separated: a wrong rank)")
    a = ap.parse_args()
    if a.cancel_after is not None and not a.grpc_url:
        ap.error("--cancel-after needs --grpc-url (HTTP cannot cancel a request)")
    if a.grpc_url:
        global grpcclient
        import tritonclient.grpc as grpcclient
    vol, affine = read_nifti(a.nifti)
    if a.crop:
        vol = vol[tuple(slice(*map(int, r.split(":"))) for r in a.crop.split(","))]
    if a.reshape:
        vol = np.ascontiguousarray(vol).reshape([int(v) for v in a.reshape.split(",")])
    if a.dtype:
        vol = vol.astype(a.dtype)
    vol = np.ascontiguousarray(vol)
    if a.diagonal_affine:
        affine = np.diag([float(v) for v in reversed(a.diagonal_affine.split(","))] + [1.0])
    affine = None if a.no_affine else affine
    first, failures, lock = {}, [], threading.Lock()

    def worker(k):
        if a.grpc_url:
            client = grpcclient.InferenceServerClient(url=a.grpc_url)
        else:
            client = httpclient.InferenceServerClient(url=a.url, network_timeout=a.timeout,
                                                      connection_timeout=a.timeout)
        for r in range(a.requests):
            try:
                labels, probs = one_request(client, a, vol, affine)
            except Exception as exc:  # the server's error, one line
                with lock:
                    failures.append(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                continue
            with lock:
                if "labels" not in first:
                    first["labels"], first["probs"] = labels, probs
                elif not np.array_equal(first["labels"], labels) or (
                        probs is not None and not np.array_equal(first["probs"], probs)):
                    failures.append("client %d, request %d: an answer differs from the first" % (k, r))
        client.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if a.expect_error:
        ok = failures and all(a.expect_error in f for f in failures) and "labels" not in first
        print(failures[0] if failures else "no failure", file=sys.stderr)
        sys.exit(0 if ok else 1)
    if failures:
        print("client.py: %d failure(s); the first: %s" % (len(failures), failures[0]), file=sys.stderr)
        sys.exit(1)
    if a.labels:
        np.save(a.labels, first["labels"])
    if a.probabilities:
        np.save(a.probabilities, first["probs"])
    print(json.dumps({"requests": a.requests * a.clients, "failures": 0, "wall_s": round(wall, 3),
                      "shape": list(first["labels"].shape), "dtype": str(first["labels"].dtype)}))


if __name__ == "__main__":
    main()
