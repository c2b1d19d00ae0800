#!/usr/bin/env python3
"""monai_brainchop.py - the reference side of the brainchop benchmark: what a user runs today to segment a T1 MRI
with brainchop's MeshNet networks outside the browser. The ONNX file is rebuilt as a torch nn.Module (from its
initializers, following the graph node by node) and run on the CPU with torch, either

  * on the whole volume in one pass (--whole): the networks are fully convolutional with a finite receptive field,
    so this is the exact answer every tiling is measured against, and the fastest a torch user can do when the
    activations fit in memory; or
  * through MONAI's sliding_window_inference (--roi ...): tiles of the ROI size, MONAI's overlap, Gaussian or
    constant weights, zero padding, sw_batch_size tiles per network call; what MONAI tutorials and most deployed
    pipelines do, and what voxtile replaces.

Both sides are timed from the scaled input tensor in memory (1, 1, I, J, K) to the labels (argmax over classes
included; the NIfTI read and min-max scaling are timed once, separately), with torch.inference_mode(), after one
warm-up pass of each side that is not counted; with --repeat N each side then runs N times, whole and sliding
window alternating (this VM's speed drifts by +-30 % over minutes, so alternating keeps the two sides' samples
comparable), and min and median are reported. One deviation from a plain net(x): where the logits of one call would
exceed 2^30 elements (the 104-class network on a whole 256^3 volume), the final 1x1x1 convolution runs in slabs,
because torch 1.13 crashes otherwise (HEAD_MAX_ELEMENTS below; the same numbers, into the same full logits tensor).

The whole-volume pass always runs once (it is the warm-up, and gives the labels every agreement is measured
against); --whole also times it. A note for reading the times: torch 1.13 convolves with oneDNN only when
N * C_in * A0 * A1 > 20480 for these 3x3x3 kernels and falls back to its much slower im2col convolution otherwise
(every layer of a 64^3 tile of the 5-filter network, the first layer of a 128^3 tile); that is what a torch user gets.

Input convention (data/brainchop README): float32, min-max scaled to [0, 1] over the whole volume, model axis 0 =
NIfTI i, 1 = j, 2 = k, i.e. nibabel's array order as is. Labels written with --labels-out are in the same order,
with the input's affine and header.

Always reported: how far the sliding-window labels agree with the whole-volume labels (fraction of voxels equal,
over all voxels and over the voxels where either is non-background); with --compare, the same for other label
volumes (voxtile's output, say) against the whole-volume labels. The last line on stdout is one JSON object with
every number; progress goes to stderr.

    PY=$(tools/bench/install-bench-deps.sh | tail -n 1)
    $PY tools/bench/monai_brainchop.py /work/shared/data/brainchop/model5_gw_ae.onnx \\
        /work/shared/data/brainchop/t1_crop.nii.gz --whole --roi 128 --overlap 0.5 --mode gaussian --repeat 2
"""
import argparse
import json
import math
import os
import statistics
import sys
import time


def log(msg):
    print(f"monai_brainchop: {msg}", file=sys.stderr, flush=True)


def fail(msg):
    raise SystemExit(f"monai_brainchop: error: {msg}")


# ---- the ONNX graph --------------------------------------------------------------------------------------------------

def read_meshnet(path):
    """Reads the ONNX file and checks that its graph is the MeshNet chain this program rebuilds: input -> (Conv ->
    Relu) x n -> Conv 1x1x1 -> output, every Conv 3-D, stride 1, group 1, "same" zero padding (pads = dilation *
    (kernel - 1) / 2 on both sides), weights and biases as float32 initializers. Returns (layers, graph info), each
    layer a dict with weight, bias (numpy arrays), dilation (3-tuple), relu (bool)."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    try:
        model = onnx.load(path)
    except Exception as e:  # onnx raises several types for unreadable files
        fail(f"{path}: cannot read as ONNX: {e}")
    g = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    graph_inputs = [i.name for i in g.input if i.name not in inits]
    if len(graph_inputs) != 1 or len(g.output) != 1:
        fail(f"{path}: expected one input and one output, found inputs {graph_inputs} and outputs "
             f"{[o.name for o in g.output]}")
    ops = [n.op_type for n in g.node]
    expected = ["Conv", "Relu"] * ((len(ops) - 1) // 2) + ["Conv"]
    if ops != expected or len(ops) < 3:
        fail(f"{path}: op sequence {ops} is not (Conv, Relu) x n followed by Conv; this program rebuilds only "
             f"that chain")

    layers = []
    current = graph_inputs[0]
    for idx, node in enumerate(g.node):
        where = f"{path}: node {idx} ({node.op_type} '{node.name}')"
        if node.input[0] != current:
            fail(f"{where}: reads '{node.input[0]}', expected the previous node's output '{current}' (not a chain)")
        if len(node.output) != 1:
            fail(f"{where}: has {len(node.output)} outputs, expected 1")
        current = node.output[0]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Relu":
            if attrs:
                fail(f"{where}: unexpected attributes {sorted(attrs)}")
            layers[-1]["relu"] = True
            continue
        # Conv
        if len(node.input) != 3 or node.input[1] not in inits or node.input[2] not in inits:
            fail(f"{where}: expected inputs (X, W, B) with W and B initializers, found {list(node.input)}")
        w, b = inits[node.input[1]], inits[node.input[2]]
        if w.dtype != np.float32 or b.dtype != np.float32:
            fail(f"{where}: weights are {w.dtype}/{b.dtype}, expected float32")
        if w.ndim != 5 or b.shape != (w.shape[0],):
            fail(f"{where}: weight shape {w.shape} and bias shape {b.shape} are not a 3-D convolution's")
        k = tuple(w.shape[2:])
        if "kernel_shape" in attrs and tuple(attrs["kernel_shape"]) != k:
            fail(f"{where}: kernel_shape {attrs['kernel_shape']} does not match the weight's {k}")
        unknown = set(attrs) - {"kernel_shape", "dilations", "pads", "strides", "group", "auto_pad"}
        if unknown:
            fail(f"{where}: unexpected attributes {sorted(unknown)}")
        auto_pad = attrs.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
        if auto_pad != "NOTSET":
            fail(f"{where}: auto_pad {auto_pad} (only explicit pads are handled)")
        dil = tuple(attrs.get("dilations", [1, 1, 1]))
        strides = tuple(attrs.get("strides", [1, 1, 1]))
        pads = tuple(attrs.get("pads", [0] * 6))
        if attrs.get("group", 1) != 1:
            fail(f"{where}: group {attrs['group']}, expected 1")
        if strides != (1, 1, 1):
            fail(f"{where}: strides {strides}, expected 1")
        if any(kk % 2 == 0 for kk in k):
            fail(f"{where}: even kernel {k}")
        same = tuple(d * (kk - 1) // 2 for d, kk in zip(dil, k))
        if pads != same + same:
            fail(f"{where}: pads {pads} are not 'same' padding {same + same} for kernel {k} and dilations {dil}")
        cin = 1 if not layers else layers[-1]["weight"].shape[0]
        if w.shape[1] != cin:
            fail(f"{where}: weight expects {w.shape[1]} input channels, the previous layer gives {cin}")
        layers.append({"weight": w, "bias": b, "dilation": dil, "kernel": k, "relu": False, "onnx": node.name})
    if current != g.output[0].name:
        fail(f"{path}: the chain ends in '{current}', not the graph output '{g.output[0].name}'")
    if layers[-1]["kernel"] != (1, 1, 1):
        fail(f"{path}: the last Conv has kernel {layers[-1]['kernel']}, expected 1x1x1")

    rf = 1 + sum(max(d * (kk - 1) for d, kk in zip(l["dilation"], l["kernel"])) for l in layers)
    info = {
        "file": path,
        "opset": [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")],
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "ops": ops,
        "layers": [f"conv{'x'.join(map(str, l['kernel']))} {l['weight'].shape[1]}->{l['weight'].shape[0]} "
                   f"dilation {l['dilation'][0]}" + (" relu" if l["relu"] else "") for l in layers],
        "classes": int(layers[-1]["weight"].shape[0]),
        "parameters": int(sum(l["weight"].size + l["bias"].size for l in layers)),
        "receptive_field": rf,
    }
    return model, layers, info


def build_torch(layers):
    import torch
    from torch import nn

    mods = []
    for l in layers:
        w = torch.from_numpy(l["weight"].copy())
        conv = nn.Conv3d(w.shape[1], w.shape[0], kernel_size=l["kernel"], dilation=l["dilation"],
                         padding=tuple(d * (kk - 1) // 2 for d, kk in zip(l["dilation"], l["kernel"])),
                         padding_mode="zeros", bias=True)
        with torch.no_grad():
            conv.weight.copy_(w)
            conv.bias.copy_(torch.from_numpy(l["bias"].copy()))
        mods.append(conv)
        if l["relu"]:
            mods.append(nn.ReLU(inplace=True))
    net = nn.Sequential(*mods).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


# ---- --check: the torch rebuild against the ONNX graph evaluated another way ---------------------------------------

def eval_onnx_numpy(model, x):
    """Evaluates the graph node by node from the ONNX operators' definitions (Conv with explicit pads, dilations,
    stride 1, group 1; Relu), in float64 with numpy: an implementation independent of torch's."""
    import numpy as np
    from onnx import helper, numpy_helper

    env = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    env[model.graph.input[0].name] = x.astype(np.float64)
    for node in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Relu":
            env[node.output[0]] = np.maximum(env[node.input[0]], 0.0)
            continue
        if node.op_type != "Conv":
            fail(f"--check: the numpy evaluator has no {node.op_type}")
        inp, w, b = env[node.input[0]], env[node.input[1]], env[node.input[2]]
        dil = attrs.get("dilations", [1, 1, 1])
        pads = attrs.get("pads", [0] * 6)
        xp = np.pad(inp, [(0, 0), (0, 0)] + [(pads[i], pads[i + 3]) for i in range(3)])
        k = w.shape[2:]
        out_shape = [xp.shape[2 + i] - dil[i] * (k[i] - 1) for i in range(3)]
        out = np.zeros((inp.shape[0], w.shape[0], *out_shape))
        for a in range(k[0]):
            for c in range(k[1]):
                for e in range(k[2]):
                    win = xp[:, :, a * dil[0]:a * dil[0] + out_shape[0], c * dil[1]:c * dil[1] + out_shape[1],
                             e * dil[2]:e * dil[2] + out_shape[2]]
                    out += np.einsum("nidhw,oi->nodhw", win, w[:, :, a, c, e], optimize=True)
        env[node.output[0]] = out + b.reshape(1, -1, 1, 1, 1)
    return env[model.graph.output[0].name]


def check_rebuild(model, net, shape=(1, 1, 23, 30, 37), seed=0):
    import numpy as np
    import torch

    x = np.random.default_rng(seed).random(shape, dtype=np.float32)
    with torch.inference_mode():
        got = net(torch.from_numpy(x)).numpy()
    try:
        from onnx.reference import ReferenceEvaluator  # onnx >= 1.13
    except ImportError:
        ReferenceEvaluator = None
    if ReferenceEvaluator is not None:
        how = "onnx.reference.ReferenceEvaluator"
        ref = ReferenceEvaluator(model).run(None, {model.graph.input[0].name: x})[0].astype(np.float64)
    else:
        log("--check: onnx.reference.ReferenceEvaluator is not in this onnx (1.13 or later has it); evaluating the "
            "graph with this program's numpy implementation of its operators instead (float64)")
        how = "numpy float64 (onnx.reference unavailable)"
        ref = eval_onnx_numpy(model, x)
    if got.shape != ref.shape:
        fail(f"--check: torch gives shape {got.shape}, the ONNX graph {ref.shape}")
    err = float(np.max(np.abs(got - ref)))
    scale = float(np.max(np.abs(ref)))
    same_argmax = float(np.mean(got.argmax(1) == ref.argmax(1)))
    ok = err <= 1e-4 * max(scale, 1.0)
    log(f"--check ({how}) on {shape}: max |torch - onnx| = {err:.3g} (max |logit| {scale:.3g}), argmax equal at "
        f"{same_argmax:.6f} of voxels: {'ok' if ok else 'MISMATCH'}")
    if not ok:
        fail("--check: the torch rebuild does not reproduce the ONNX graph")
    return {"method": how, "shape": list(shape), "max_abs_err": err, "max_abs_logit": scale,
            "argmax_equal": same_argmax}


# ---- inference -------------------------------------------------------------------------------------------------------

def argmax_labels(logits):
    import torch

    c = logits.shape[1]
    lab = torch.argmax(logits[0], dim=0)
    return lab.to(torch.uint8 if c <= 256 else torch.int16)


# torch 1.13.1 (Debian 12) dies with SIGSEGV inside its oneDNN convolution when the 104-class network's 1x1x1
# convolution writes the logits of a whole 256^3 volume in one call (1.74e9 elements; 240^3, 1.44e9, still works).
# The last convolution is pointwise, so forward() applies it to slabs along the first spatial axis whenever its
# output would exceed this many elements: every voxel's logits are the same dot products, into the same full-size
# logits tensor (checked here: identical bits for 200^3 and 240^3, one call against slabs). Below the limit
# (every tile, the 3-class network's whole volume) forward(net, x) is net(x).
HEAD_MAX_ELEMENTS = 1 << 30


def forward(net, x):
    """net(x), with the final 1x1x1 convolution in slabs when its output is too large for torch (above).
    Returns (logits, number of slabs the head ran in)."""
    import torch

    head = net[-1]
    n, _, a0, a1, a2 = x.shape
    per_slice = n * head.out_channels * a1 * a2
    if per_slice * a0 <= HEAD_MAX_ELEMENTS:
        return net(x), 1
    h = net[:-1](x)
    step = max(1, HEAD_MAX_ELEMENTS // per_slice)
    logits = torch.empty((n, head.out_channels, a0, a1, a2), dtype=h.dtype)
    for a in range(0, a0, step):
        logits[:, :, a:a + step] = head(h[:, :, a:a + step])
    return logits, math.ceil(a0 / step)


def run_whole(net, x):
    import torch

    t0 = time.perf_counter()
    with torch.inference_mode():
        logits, slabs = forward(net, x)
        t1 = time.perf_counter()
        labels = argmax_labels(logits)
        del logits
    t2 = time.perf_counter()
    return labels, {"total": t2 - t0, "argmax": t2 - t1, "head_slabs": slabs}


def run_sliding(net, x, roi_ijk, a):
    import torch
    from monai.inferers import sliding_window_inference

    tiles = [0]

    def predictor(batch):
        tiles[0] += batch.shape[0]
        return forward(net, batch)[0]

    t0 = time.perf_counter()
    with torch.inference_mode():
        out = sliding_window_inference(x, roi_ijk, a.sw_batch_size, predictor, overlap=a.overlap, mode=a.mode,
                                       sigma_scale=a.sigma_scale, padding_mode="constant", cval=0.0)
        t1 = time.perf_counter()
        labels = argmax_labels(torch.as_tensor(out))
        del out
    t2 = time.perf_counter()
    return labels, {"total": t2 - t0, "argmax": t2 - t1}, tiles[0]


def monai_tile_count(shape, roi, overlap):
    """Tiles MONAI's grid has for this shape (as its documentation describes _get_scan_interval and
    dense_patch_slices: step = floor(roi * (1 - overlap)), at least 1, or roi where roi covers the axis; tiles per
    axis = ceil((size - roi) / step) + 1, the last tile moved back to end at the border)."""
    n = 1
    for s, r in zip(shape, roi):
        r = min(r, s)  # MONAI pads the image to at least roi; a roi as large as the axis gives one tile
        step = r if r == s else max(int(r * (1 - overlap)), 1)
        n *= math.ceil((s - r) / step) + 1 if s > r else 1
    return n


def agreement(a, b):
    """Fraction of voxels where two label volumes are equal, and the same over voxels where either is non-zero."""
    import torch

    eq = a == b
    fg = (a != 0) | (b != 0)
    nfg = int(fg.sum())
    return {"equal": float(eq.double().mean()),
            "equal_foreground": float((eq & fg).sum()) / nfg if nfg else 1.0,
            "foreground_voxels": nfg,
            "differing_voxels": int((~eq).sum())}


def summary(samples):
    tot = [s["total"] for s in samples]
    return {"min_s": min(tot), "median_s": statistics.median(tot),
            "argmax_median_s": statistics.median(s["argmax"] for s in samples), "all_s": tot}


def parse_roi(text):
    try:
        v = [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not R or Z,Y,X (integers)")
    if len(v) == 1:
        v = v * 3
    if len(v) != 3 or min(v) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not R or Z,Y,X (positive integers)")
    return tuple(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Prints progress on stderr and one JSON object on stdout.")
    ap.add_argument("onnx", help="a brainchop MeshNet network as ONNX (e.g. model5_gw_ae.onnx)")
    ap.add_argument("image", help="the T1 volume (NIfTI, any dtype; scaled to [0, 1] over the whole volume)")
    ap.add_argument("--whole", action="store_true", help="time whole-volume inference (one pass)")
    ap.add_argument("--roi", type=parse_roi, help="time MONAI sliding_window_inference with this ROI: R, or "
                    "Z,Y,X as everywhere in voxtile (slowest axis first: NIfTI k,j,i; the model's tensor is i,j,k, "
                    "so Z,Y,X is reversed for MONAI)")
    ap.add_argument("--overlap", type=float, default=0.25, help="MONAI's overlap fraction (default 0.25, MONAI's)")
    ap.add_argument("--mode", choices=("gaussian", "constant"), default="gaussian", help="blending weights")
    ap.add_argument("--sigma-scale", type=float, default=0.125, help="Gaussian sigma / ROI (default 0.125)")
    ap.add_argument("--sw-batch-size", type=int, default=1, help="tiles per network call (default 1)")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2; inter-op 1)")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per side after one warm-up (default 1)")
    ap.add_argument("--check", action="store_true", help="first check the torch rebuild against the ONNX graph "
                    "evaluated another way, on a small random input")
    ap.add_argument("--labels-out", metavar="PATH.nii.gz", help="write the sliding-window labels (uint8, or "
                    "int16 beyond 256 classes) with the input's geometry")
    ap.add_argument("--compare", metavar="PATH.nii.gz", action="append", default=[],
                    help="a label volume to compare with the whole-volume labels (repeatable)")
    a = ap.parse_args()
    if not a.whole and a.roi is None:
        ap.error("nothing to run: give --whole and/or --roi")
    if a.labels_out and a.roi is None:
        ap.error("--labels-out writes the sliding-window labels: give --roi")
    if not 0.0 <= a.overlap < 1.0:
        ap.error(f"--overlap {a.overlap}: must be in [0, 1)")
    if a.repeat < 1 or a.threads < 1 or a.sw_batch_size < 1 or a.sigma_scale <= 0:
        ap.error("--repeat, --threads, --sw-batch-size and --sigma-scale must be positive")

    import torch

    # before any parallel work, or torch refuses to change the inter-op pool
    torch.set_num_interop_threads(1)
    torch.set_num_threads(a.threads)

    import monai
    import nibabel as nib
    import numpy as np

    model, layers, netinfo = read_meshnet(a.onnx)
    net = build_torch(layers)
    log(f"{a.onnx}: {netinfo['classes']} classes, {netinfo['parameters']} parameters, receptive field "
        f"{netinfo['receptive_field']}; " + ", ".join(netinfo["layers"]))
    result = {"tool": "monai_brainchop", "torch": torch.__version__, "monai": monai.__version__,
              "numpy": np.__version__, "threads": torch.get_num_threads(),
              "interop_threads": torch.get_num_interop_threads(), "network": netinfo,
              # other work on the machine shows here: each side's times are only comparable under the same load
              "loadavg_start": list(os.getloadavg())}
    if a.check:
        result["check"] = check_rebuild(model, net)

    # ---- the image
    t0 = time.perf_counter()
    try:
        img = nib.load(a.image)
        # nibabel's array order ([i, j, k]) as is, scl_slope/scl_inter applied
        data = img.get_fdata(dtype=np.float32)
    except Exception as e:  # nibabel raises several types for unreadable files
        fail(f"{a.image}: cannot read as NIfTI: {e}")
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        fail(f"{a.image}: shape {data.shape}, expected a 3-D volume")
    t1 = time.perf_counter()
    lo, hi = float(data.min()), float(data.max())
    if not hi > lo:
        fail(f"{a.image}: constant volume ({lo}), min-max scaling is undefined")
    data = (data - np.float32(lo)) / np.float32(hi - lo)
    x = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32)).reshape(1, 1, *data.shape)
    t2 = time.perf_counter()
    del data
    shape = tuple(x.shape[2:])
    log(f"{a.image}: {shape[0]} x {shape[1]} x {shape[2]} (i, j, k), {img.get_data_dtype()}, min {lo} max {hi}; "
        f"read {t1 - t0:.3f} s, scale {t2 - t1:.3f} s")
    result.update({"image": a.image, "shape_ijk": list(shape), "input_min": lo, "input_max": hi,
                   "read_s": t1 - t0, "scale_s": t2 - t1, "repeat": a.repeat})
    logits_gb = netinfo["classes"] * math.prod(shape) * 4 / 1e9
    log(f"logits of one volume: {netinfo['classes']} x {math.prod(shape)} float32 = {logits_gb:.2f} GB")

    # ---- warm-up: one pass of each side, not counted; gives the whole-volume labels every comparison uses
    whole_s, sw_s = [], []
    roi_ijk = tuple(reversed(a.roi)) if a.roi is not None else None
    tiles_seen = None
    log("warm-up: whole volume")
    whole_labels, t = run_whole(net, x)
    result["whole_warmup_s"] = t["total"]
    result["whole_head_slabs"] = t["head_slabs"]
    log(f"  {t['total']:.2f} s (argmax {t['argmax']:.2f} s)")
    sw_labels = None
    if a.roi is not None:
        log(f"warm-up: sliding window roi {roi_ijk} (i, j, k), overlap {a.overlap}, {a.mode}, "
            f"sw_batch_size {a.sw_batch_size}")
        sw_labels, t, tiles_seen = run_sliding(net, x, roi_ijk, a)
        result["sliding_window_warmup_s"] = t["total"]
        log(f"  {t['total']:.2f} s (argmax {t['argmax']:.2f} s), {tiles_seen} tiles")

    for r in range(a.repeat):
        if a.whole:
            lab, t = run_whole(net, x)
            whole_s.append(t)
            if not torch.equal(lab, whole_labels):
                log("  note: whole-volume labels differ from the warm-up's (non-deterministic kernels)")
            del lab
            log(f"run {r + 1}/{a.repeat} whole: {t['total']:.2f} s (argmax {t['argmax']:.2f} s)")
        if a.roi is not None:
            lab, t, _ = run_sliding(net, x, roi_ijk, a)
            sw_s.append(t)
            del lab
            log(f"run {r + 1}/{a.repeat} sliding window: {t['total']:.2f} s (argmax {t['argmax']:.2f} s)")

    if a.whole:
        result["whole"] = summary(whole_s)
    if a.roi is not None:
        result["sliding_window"] = dict(
            summary(sw_s), roi_zyx=list(a.roi), roi_ijk=list(roi_ijk), overlap=a.overlap, mode=a.mode,
            sigma_scale=a.sigma_scale, sw_batch_size=a.sw_batch_size, padding_mode="constant", cval=0.0,
            tiles=tiles_seen,
            tiles_monai_grid=monai_tile_count(shape, roi_ijk, a.overlap))
        result["agreement_sliding_vs_whole"] = agreement(sw_labels, whole_labels)
        ag = result["agreement_sliding_vs_whole"]
        log(f"sliding window vs whole: equal at {ag['equal']:.6f} of voxels, {ag['equal_foreground']:.6f} of "
            f"{ag['foreground_voxels']} non-background voxels ({ag['differing_voxels']} differ)")
        if a.whole:
            result["speedup_whole_over_sliding_window_median"] = (result["sliding_window"]["median_s"]
                                                                  / result["whole"]["median_s"])
    counts = torch.bincount(whole_labels.flatten().to(torch.int64), minlength=netinfo["classes"])
    result["whole_label_fractions"] = [round(float(c) / whole_labels.numel(), 6) for c in counts]

    # ---- labels out
    if a.labels_out:
        arr = sw_labels.numpy()
        hdr = img.header.copy()
        hdr.set_data_dtype(arr.dtype)
        hdr["cal_min"], hdr["cal_max"] = 0, 0  # the input's display window means nothing for labels
        out = type(img)(arr, img.affine, hdr)
        out.header.set_slope_inter(1, 0)
        try:
            nib.save(out, a.labels_out)
        except Exception as e:
            fail(f"--labels-out {a.labels_out}: {e}")
        log(f"wrote {a.labels_out} ({arr.dtype}, sliding-window labels)")
        result["labels_out"] = a.labels_out

    # ---- other label volumes against the whole-volume labels
    result["compare"] = []
    for path in a.compare:
        try:
            other = np.asanyarray(nib.load(path).dataobj)
        except Exception as e:
            fail(f"--compare {path}: cannot read as NIfTI: {e}")
        if other.ndim == 4 and other.shape[3] == 1:
            other = other[..., 0]
        if tuple(other.shape) != shape:
            fail(f"--compare {path}: shape {other.shape}, the input's is {shape}")
        ag = agreement(torch.from_numpy(np.ascontiguousarray(other).astype(np.int64)),
                       whole_labels.to(torch.int64))
        log(f"{path} vs whole: equal at {ag['equal']:.6f} of voxels, {ag['equal_foreground']:.6f} of "
            f"{ag['foreground_voxels']} non-background voxels")
        result["compare"].append(dict(ag, path=path))

    result["loadavg_end"] = list(os.getloadavg())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
