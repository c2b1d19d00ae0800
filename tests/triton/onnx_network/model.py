"""model.py - a network model for Triton's python backend: an ONNX file run with OpenVINO's Python API the way
voxtile's onnx runner runs it (runtime/runners/onnx/runner_onnx.c: float32 inference, the LATENCY hint, the same
thread count, the dynamic dimensions made the request's), so that a voxtile model calling it through the server
(network_model) gives `voxtile run`'s bits. The tests' network model (tests/test_triton.c; docs/TRITON.md).

config.pbtxt parameters: onnx (the file), openvino (the folder of the unpacked openvino wheel, which Debian does not
package), threads (INFERENCE_NUM_THREADS), fail_after (tests: answer the first N requests, then fail every one).
Tensors: INPUT FP32 [N, C, D, H, W] -> OUTPUT FP32 [N, K, D, H, W]."""
import json
import sys

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        cfg = json.loads(args["model_config"])
        p = {k: v["string_value"] for k, v in cfg.get("parameters", {}).items()}
        sys.path.insert(0, p["openvino"])
        import openvino as ov
        self.core = ov.Core()
        self.model = self.core.read_model(p["onnx"])
        self.dynamic = self.model.input(0).get_partial_shape().is_dynamic
        self.props = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
        if p.get("threads"):
            self.props["INFERENCE_NUM_THREADS"] = int(p["threads"])
        self.fail_after = int(p.get("fail_after", "-1"))
        self.calls = 0
        self.compiled = {}  # input shape -> compiled model (two kept, as the runner keeps)

    def run(self, x):
        shape = tuple(x.shape)
        c = self.compiled.get(shape)
        if c is None:
            if self.dynamic:
                self.model.reshape(list(shape))
            c = self.core.compile_model(self.model, "CPU", self.props)
            if len(self.compiled) >= 2:
                self.compiled.clear()
            self.compiled[shape] = c
        return c(x)[0]

    def execute(self, requests):
        responses = []
        for r in requests:
            self.calls += 1
            if 0 <= self.fail_after < self.calls:
                responses.append(pb_utils.InferenceResponse(
                    error=pb_utils.TritonError("onnx_network: failing on purpose after %d requests" % self.fail_after)))
                continue
            x = pb_utils.get_input_tensor_by_name(r, "INPUT").as_numpy()
            y = np.ascontiguousarray(self.run(np.ascontiguousarray(x, dtype=np.float32)), dtype=np.float32)
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("OUTPUT", y)]))
        return responses
