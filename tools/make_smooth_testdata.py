#!/usr/bin/python3
"""make_smooth_testdata.py - generate the expected arrays of the Gaussian smoothing tests (tests/test_smooth.c).

Runs scipy.ndimage.gaussian_filter (every boundary mode, a sigma of 0 on an axis, kernels longer than the axes,
truncate, an integer input, channels, an axis of one voxel) and skimage.transform.resize(anti_aliasing=True) on
small deterministic volumes and writes inputs and expected outputs to tests/data/smooth/: one raw little-endian file
per array and manifest.json, a list of cases:

    {"name": ..., "op": "gaussian" | "resize", "input": FILE, "input_dtype": ..., "input_shape": [...],
     "expect": FILE, "expect_shape": [...], and the parameters}

The C test reads only these files; it never runs Python. Run once, from the repository root, with Debian's python3
(numpy 1.24, scipy 1.10, skimage 0.19):
    /usr/bin/python3 tools/make_smooth_testdata.py
"""
import json
import os
import sys

import numpy as np
import scipy
import scipy.ndimage as ndi
import skimage
from skimage.transform import resize

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "smooth")
os.makedirs(OUT, exist_ok=True)
cases = []
written = {}  # input name -> file name: an input shared by several cases is written once
saved = set()
# voxtile's names of scipy's modes (vxt_boundary)
VXT_BOUNDARY = {"nearest": "clamp", "constant": "constant", "mirror": "mirror", "reflect": "grid-mirror"}


def save(fn, arr):
    assert fn not in saved, fn
    saved.add(fn)
    arr = np.ascontiguousarray(arr)
    arr.astype(arr.dtype.newbyteorder("<"), copy=False).tofile(os.path.join(OUT, fn))
    return fn


def case(name, op, inp, expect, **params):
    """inp: (input name, array)."""
    iname, arr = inp
    if iname not in written:
        written[iname] = save(iname + ".raw", arr)
    c = {"name": name, "op": op, "input": written[iname], "input_dtype": str(arr.dtype), "input_shape": list(arr.shape),
         "expect": save(name + "_expect.raw", expect.astype(np.float32)), "expect_shape": list(expect.shape)}
    c.update(params)
    cases.append(c)


rng = np.random.default_rng(20250117)
f32 = (rng.normal(40, 120, size=(7, 9, 11))).astype(np.float32)
ct = np.round(rng.normal(40, 300, size=(6, 10, 8))).clip(-1024, 3000).astype(np.int16)
chan = rng.normal(0, 50, size=(2, 5, 6, 7)).astype(np.float32)
flat = rng.normal(10, 30, size=(1, 9, 11)).astype(np.float32)
F32, CT, CHAN, FLAT = ("f32_input", f32), ("int16_input", ct), ("channels_input", chan), ("flat_input", flat)

# ---- gaussian_filter: float32 in, float32 out (scipy sums each pass in double, stores float32) --------------------
for mode in ("reflect", "nearest", "mirror", "constant"):
    for tag, sigma in (("aniso", (1.0, 0.7, 1.5)), ("long", (3.0, 4.0, 5.0))):  # long: reaches 12, 16, 20 > the axes
        y = ndi.gaussian_filter(f32, sigma, mode=mode, cval=-3.5)
        case(f"gauss_{tag}_{mode}", "gaussian", F32, y, sigma=list(sigma), boundary=VXT_BOUNDARY[mode], fill=-3.5,
             truncate=4.0)
y = ndi.gaussian_filter(f32, (0.0, 1.2, 2.0))
case("gauss_zero_z", "gaussian", F32, y, sigma=[0.0, 1.2, 2.0], boundary="grid-mirror", fill=0.0, truncate=4.0)
y = ndi.gaussian_filter(f32, 1.3, truncate=2.5)
case("gauss_truncate", "gaussian", F32, y, sigma=[1.3, 1.3, 1.3], boundary="grid-mirror", fill=0.0, truncate=2.5)
# int16 read as float32 exactly: scipy on the float32 copy
y = ndi.gaussian_filter(ct.astype(np.float32), (1.0, 1.5, 0.8))
case("gauss_int16", "gaussian", CT, y, sigma=[1.0, 1.5, 0.8], boundary="grid-mirror", fill=0.0, truncate=4.0)
# channels (C, z, y, x): each on its own (sigma 0 along the channel axis)
y = ndi.gaussian_filter(chan, (0.0, 1.1, 0.9, 1.4), mode="nearest")
case("gauss_channels", "gaussian", CHAN, y, sigma=[1.1, 0.9, 1.4], boundary="clamp", fill=0.0, truncate=4.0)
# an axis of one voxel
for mode in ("mirror", "reflect"):
    y = ndi.gaussian_filter(flat, (2.0, 1.0, 1.0), mode=mode)
    case(f"gauss_flat_{mode}", "gaussian", FLAT, y, sigma=[2.0, 1.0, 1.0], boundary=VXT_BOUNDARY[mode], fill=0.0,
         truncate=4.0)

# ---- skimage resize with anti-aliasing: order 1 (scipy zoom, grid_mode=True: voxtile's half-pixel linear), edge
# mode (voxtile's clamp); the default sigma max(0, (in/out - 1) / 2). float32 input stays float32; int16 becomes
# float64 (preserve_range) -------------------------------------------------------------------------------------------
big = (rng.normal(0, 100, size=(10, 13, 16)) + np.linspace(-200, 200, 16)).astype(np.float32)
ct2 = np.round(rng.normal(40, 300, size=(10, 12, 16))).clip(-1024, 3000).astype(np.int16)
BIG, CT2 = ("resize_f32_input", big), ("resize_int16_input", ct2)
for tag, inp, shape in (("down", BIG, (4, 6, 7)), ("mixed", BIG, (5, 17, 8)), ("int16", CT2, (4, 5, 7))):
    y = resize(inp[1], shape, order=1, anti_aliasing=True, mode="edge", preserve_range=True)
    sigma = np.maximum(0, (np.array(inp[1].shape) / np.array(shape) - 1) / 2)
    case(f"resize_{tag}", "resize", inp, y, sigma=[float(s) for s in sigma])

with open(os.path.join(OUT, "manifest.json"), "w") as fh:
    json.dump({"generator": f"tools/make_smooth_testdata.py: numpy {np.__version__}, scipy {scipy.__version__}, "
                            f"skimage {skimage.__version__}", "cases": cases}, fh, indent=1)
    fh.write("\n")
print(f"{len(cases)} cases, {len(saved)} arrays in {OUT}", file=sys.stderr)
