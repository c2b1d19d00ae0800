#!/usr/bin/env python3
"""make_onnx_testdata.py - write the small ONNX models and reference arrays under tests/data/onnx/ that
tests/test_runner_onnx.c uses: models that the onnx runner must refuse (each with one thing wrong), models with a
static batch or tile size, and ONNX Runtime's output of the brainchop networks on a small real tile (an oracle
that is not OpenVINO).

    python3 tools/make_onnx_testdata.py [OUTDIR]     (default: tests/data/onnx)

Needs numpy, onnx, onnxruntime and nibabel, e.g. in a virtual environment (Debian's python refuses system-wide pip
installs):  python3 -m venv /tmp/onnxenv && /tmp/onnxenv/bin/pip install numpy onnx onnxruntime nibabel
The outputs are committed; the C tests never run Python. Everything is deterministic (fixed weights and seeds).

Models (opset 13, IR version 7, float32 unless said; N, D, H, W dynamic unless said):
  rank4_input.onnx      input (N, 1, H, W): rank 4                              -> refused: input rank
  output_rank4.onnx     input (N, 1, D, H, W), output (N, D, H, W)               -> refused: output rank
  dynamic_channels.onnx input (N, C, D, H, W) with C dynamic                     -> refused: dynamic channels
  float64_input.onnx    input float64                                           -> refused: element type
  two_inputs.onnx       two inputs                                              -> refused
  shrinks.onnx          3x3x3 convolution without padding: output D-2, H-2, W-2 -> refused at predict time
  nan_output.onnx       channel 0 = sqrt(x), channel 1 = sqrt(-x): NaN where x > 0 (runs; the stitcher refuses it)
  static_8.onnx         (1, 1, 8, 8, 8) -> (1, 2, 8, 8, 8), a 3x3x3 convolution: a fixed tile size and batch of 1
  static_n2.onnx        (2, 1, D, H, W) -> (2, 2, D, H, W), the same convolution: a fixed batch of 2
  not_onnx.onnx         a text file
  truncated.onnx        the first 300 bytes of static_8.onnx (starts like ONNX; OpenVINO cannot parse it)
References (from ../shared/data/brainchop via tests/data/brainchop/, ONNX Runtime on the CPU, float32):
  gwm_input.npy, gwm_logits_ort.npy        model5_gw_ae.onnx on a 1 x 1 x 12 x 16 x 20 tile of t1_crop
  aparc_input.npy, aparc_logits_ort.npy    model21_104class.onnx on a 1 x 1 x 6 x 8 x 10 tile
  The tiles: t1_crop min-max scaled to [0, 1] over the whole volume, tensor axis 0 = NIfTI i (the networks'
  convention), starting at (i, j, k) = (100, 110, 120); non-cubic so that a swapped axis shows.
"""
import os
import sys

import nibabel as nib
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "data", "onnx")
BRAINCHOP = os.path.join(ROOT, "tests", "data", "brainchop")
OPSET = [helper.make_opsetid("", 13)]


def save(graph, name):
    model = helper.make_model(graph, opset_imports=OPSET, producer_name="voxtile make_onnx_testdata.py")
    model.ir_version = 7
    onnx.checker.check_model(model)
    path = os.path.join(OUT, name)
    onnx.save(model, path)
    return path


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def conv_weights(cout, cin, k, seed):
    w = np.random.default_rng(seed).uniform(-0.5, 0.5, size=(cout, cin) + (k,) * 3).astype(np.float32)
    b = np.linspace(-0.1, 0.1, cout).astype(np.float32)
    return numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")


def conv3(x_shape, y_shape, name, pads=1, seed=1):
    w, b = conv_weights(2, 1, 3, seed)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3, 3], pads=[pads] * 6)
    return save(helper.make_graph([node], name, [vi("x", x_shape)], [vi("y", y_shape)], [w, b]), name + ".onnx")


def bad_models():
    dyn = ["N", 1, "D", "H", "W"]
    # input of rank 4: a 2D 1x1 convolution
    w = numpy_helper.from_array(np.array([[[[1.0]]], [[[-1.0]]]], np.float32), "w")
    save(helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[1, 1])], "rank4_input",
                           [vi("x", ["N", 1, "H", "W"])], [vi("y", ["N", 2, "H", "W"])], [w]), "rank4_input.onnx")
    # output of rank 4: the channel axis reduced away
    save(helper.make_graph([helper.make_node("ReduceMean", ["x"], ["y"], axes=[1], keepdims=0)], "output_rank4",
                           [vi("x", dyn)], [vi("y", ["N", "D", "H", "W"])]), "output_rank4.onnx")
    # a dynamic channel count
    save(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "dynamic_channels",
                           [vi("x", ["N", "C", "D", "H", "W"])], [vi("y", ["N", "C", "D", "H", "W"])]),
         "dynamic_channels.onnx")
    # float64 input
    w, b = conv_weights(2, 1, 1, 3)
    save(helper.make_graph([helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
                            helper.make_node("Conv", ["xf", "w", "b"], ["y"], kernel_shape=[1, 1, 1])],
                           "float64_input", [vi("x", dyn, TensorProto.DOUBLE)], [vi("y", ["N", 2, "D", "H", "W"])],
                           [w, b]), "float64_input.onnx")
    # two inputs
    save(helper.make_graph([helper.make_node("Add", ["x", "z"], ["y"])], "two_inputs", [vi("x", dyn), vi("z", dyn)],
                           [vi("y", dyn)]), "two_inputs.onnx")
    # an output smaller than the input: no padding
    conv3(dyn, ["N", 2, "D2", "H2", "W2"], "shrinks", pads=0)
    # NaN in the output: sqrt(x) and sqrt(-x)
    w = numpy_helper.from_array(np.array([1.0, -1.0], np.float32).reshape(2, 1, 1, 1, 1), "w")
    save(helper.make_graph([helper.make_node("Conv", ["x", "w"], ["s"], kernel_shape=[1, 1, 1]),
                            helper.make_node("Sqrt", ["s"], ["y"])], "nan_output", [vi("x", dyn)],
                           [vi("y", ["N", 2, "D", "H", "W"])], [w]), "nan_output.onnx")
    # fixed shapes
    static8 = conv3([1, 1, 8, 8, 8], [1, 2, 8, 8, 8], "static_8")
    conv3([2, 1, "D", "H", "W"], [2, 2, "D", "H", "W"], "static_n2")
    with open(os.path.join(OUT, "not_onnx.onnx"), "w") as f:
        f.write("This is a text file with the .onnx extension, not an ONNX model.\n")
    with open(static8, "rb") as f:
        head = f.read(300)
    with open(os.path.join(OUT, "truncated.onnx"), "wb") as f:
        f.write(head)


def references():
    img = nib.load(os.path.join(BRAINCHOP, "t1_crop.nii.gz"))
    vol = np.asarray(img.dataobj).astype(np.float32)  # (i, j, k): tensor axis 0 = NIfTI i
    lo, hi = vol.min(), vol.max()
    vol = (vol - lo) / max(hi - lo, 1e-8)
    start = (100, 110, 120)
    for net, stem, shape in (("model5_gw_ae.onnx", "gwm", (12, 16, 20)),
                             ("model21_104class.onnx", "aparc", (6, 8, 10))):
        tile = vol[start[0]:start[0] + shape[0], start[1]:start[1] + shape[1], start[2]:start[2] + shape[2]]
        x = np.ascontiguousarray(tile[None, None], dtype=np.float32)
        sess = ort.InferenceSession(os.path.join(BRAINCHOP, net), providers=["CPUExecutionProvider"])
        y = sess.run(None, {sess.get_inputs()[0].name: x})[0].astype(np.float32)
        np.save(os.path.join(OUT, stem + "_input.npy"), x)
        np.save(os.path.join(OUT, stem + "_logits_ort.npy"), y)
        labels = np.bincount(y[0].argmax(0).ravel(), minlength=y.shape[1])
        print("%s: logits %s in [%.4g, %.4g]; labels present: %d" % (stem, y.shape, y.min(), y.max(),
                                                                     int((labels > 0).sum())))


def main():
    os.makedirs(OUT, exist_ok=True)
    bad_models()
    references()
    for name in sorted(os.listdir(OUT)):
        print("%-28s %8d bytes" % (name, os.path.getsize(os.path.join(OUT, name))))


if __name__ == "__main__":
    main()
