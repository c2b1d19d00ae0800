#!/usr/bin/python3
"""make_preproc_testdata.py - generate the expected arrays of the preprocessing faithfulness tests.

Runs numpy, scipy and torch (the tools voxtile's preprocessing is compared with) on small deterministic volumes
and writes inputs and expected outputs to tests/data/preproc/: one raw little-endian file per array and a
manifest (manifest.txt) with one line per case:

    <case> <key>=<value> ...

Values are numbers, comma-separated lists, or names of raw files (dtype and shape given by <key>_dtype and
<key>_shape). The C tests (tests/test_preproc_faithful.c) read only these files; they never run Python.

Run once, from the repository root, with Debian's python3 (numpy 1.24, scipy 1.10, torch 1.13):
    /usr/bin/python3 tools/make_preproc_testdata.py
"""
import os
import sys

import numpy as np
import scipy
import scipy.ndimage as ndi
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "preproc")
lines = []
written = set()
saved = {}  # id(array) -> fields, so that shared inputs are written once
os.makedirs(OUT, exist_ok=True)


def save(name, arr):
    """Write arr as raw little-endian; returns the manifest fields describing it."""
    arr = np.ascontiguousarray(arr)
    fn = name + ".raw"
    assert fn not in written, fn
    written.add(fn)
    arr.astype(arr.dtype.newbyteorder("<"), copy=False).tofile(os.path.join(OUT, fn))
    return fn, str(arr.dtype), ",".join(str(s) for s in arr.shape)


def case(name, **kw):
    fields = [name]
    for k, v in kw.items():
        if isinstance(v, np.ndarray):
            if id(v) in saved:
                fn, dt, shape = saved[id(v)]
            else:
                fn, dt, shape = save(name + "_" + k, v)
                if k in ("input", "mask"):
                    saved[id(v)] = (fn, dt, shape)
            fields += [f"{k}={fn}", f"{k}_dtype={dt}", f"{k}_shape={shape}"]
        elif isinstance(v, (list, tuple)):
            fields.append(f"{k}=" + ",".join(repr(float(x)) if isinstance(x, float) else str(x) for x in v))
        elif isinstance(v, float):
            fields.append(f"{k}={v!r}")
        else:
            fields.append(f"{k}={v}")
    lines.append(" ".join(fields))


rng = np.random.default_rng(20241121)


def ct_volume(shape):
    """CT-like int16: air (~-1000 with noise), soft tissue (~40), bone up to ~1800, scanner padding -2000,
    some exact zeros."""
    v = rng.normal(40, 60, size=shape)
    air = rng.random(shape) < 0.35
    v[air] = rng.normal(-1000, 15, size=air.sum())
    bone = rng.random(shape) < 0.1
    v[bone] = rng.uniform(300, 1800, size=bone.sum())
    v = np.round(v)
    v[rng.random(shape) < 0.05] = -2000
    v[rng.random(shape) < 0.04] = 0
    return v.astype(np.int16)


ct = ct_volume((13, 17, 19))
mask = (rng.random(ct.shape) < 0.6).astype(np.uint8)
u8 = rng.integers(0, 256, size=(11, 13, 15), dtype=np.uint8)
f32 = (rng.normal(40, 300, size=(9, 14, 17))).astype(np.float32)
f32[rng.random(f32.shape) < 0.1] = 0.0
i32 = rng.integers(-3_000_000_000 // 2, 3_000_000_000 // 2, size=(7, 9, 11)).astype(np.int32)


def as_f32(x):
    return x.astype(np.float32)


# ---- intensity: numpy in float32, the scalars as numpy casts them (to float32) ----------------------------
x = as_f32(ct)
case("window", input=ct, lo=-160.0, hi=240.0, expect=np.clip((x - np.float32(-160.0)) / np.float32(240.0 - -160.0), 0, 1))
c, w = 40.0, 400.0
lo, hi = c - w / 2, c + w / 2
wl = ((np.clip(x, np.float32(lo), np.float32(hi)) - np.float32(lo)) / np.float32(hi - lo) * np.float32(255)).astype(np.uint8)
case("window_level", input=ct, center=c, width=w, expect=wl)
case("rescale_u8", input=u8, slope=1.5, intercept=-1024.25,
     expect=as_f32(u8) * np.float32(1.5) + np.float32(-1024.25))
case("clip_f32", input=f32, lo=-100.5, hi=250.25, expect=np.clip(f32, np.float32(-100.5), np.float32(250.25)))
rep = x.copy()
rep[x == -2000] = np.float32(-1024.0)
case("replace", input=ct, value=-2000.0, replacement=-1024.0, expect=rep)
# nnU-Net CTNormalization (nnunetv2/preprocessing/normalization/default_normalization_schemes.py)
p_lo, p_hi, mean, std = -958.0, 1500.5, 42.3, 250.7
img = x.copy()
np.clip(img, p_lo, p_hi, out=img)
img -= mean
img /= max(std, 1e-8)
case("ct_normalize", input=ct, lo=p_lo, hi=p_hi, mean=mean, std=std, expect=img)

# z-score with float64 statistics (numpy on the integer data, or on float64 copies), applied in float32
for src_name, src in (("ct", ct), ("f32", f32)):
    xf = as_f32(src)
    for sel in ("all", "nonzero", "mask"):
        if sel == "all":
            m = np.ones(src.shape, bool)
        elif sel == "nonzero":
            m = xf != 0
        else:
            if src.shape != mask.shape:
                continue
            m = mask != 0
        vals = src[m].astype(np.float64)
        mu, sd = vals.mean(), vals.std()
        out = xf.copy()
        out[m] = (xf[m] - np.float32(mu)) / np.float32(max(sd, 1e-8))
        kw = dict(input=src, select=sel, mean=float(mu), std=float(sd), min=float(vals.min()), max=float(vals.max()),
                  count=int(m.sum()), expect=out)
        if sel == "mask":
            kw["mask"] = mask
        case(f"zscore_{src_name}_{sel}", **kw)

# min-max (nnU-Net RescaleTo01Normalization) in float32
img = as_f32(ct)
img = img - img.min()
img = img / np.clip(img.max(), a_min=1e-8, a_max=None)
case("minmax_ct", input=ct, expect=img)

# percentiles (numpy default 'linear'); q as given
qs = [0.0, 0.5, 1.0, 12.5, 33.3, 50.0, 66.7, 99.5, 100.0]
for src_name, src in (("ct", ct), ("u8", u8), ("f32", f32), ("i32", i32)):
    case(f"percentile_{src_name}", input=src, q=qs, expect=[float(np.percentile(src, q)) for q in qs])
nz = ct[ct != 0]
case("percentile_ct_nonzero", input=ct, q=qs, expect=[float(np.percentile(nz, q)) for q in qs])
case("percentile_ct_mask", input=ct, mask=mask, q=qs, expect=[float(np.percentile(ct[mask != 0], q)) for q in qs])
fnz = f32[f32 != 0]
case("percentile_f32_nonzero", input=f32, q=qs, expect=[float(np.percentile(fnz, q)) for q in qs])
# percentile clip: bounds from the non-zero voxels, clip of every voxel in float32
b = np.percentile(ct[ct != 0], [0.5, 99.5])
case("percentile_clip_ct", input=ct, p_lo=0.5, p_hi=99.5, bounds=[float(b[0]), float(b[1])],
     expect=np.clip(as_f32(ct), b[0], b[1]).astype(np.float32))

# histograms (np.histogram with a range)
h, _ = np.histogram(ct, bins=50, range=(-1024.0, 3071.0))
case("histogram_ct", input=ct, lo=-1024.0, hi=3071.0, nbins=50, expect=h.astype(np.uint64))
h, _ = np.histogram(f32, bins=37, range=(-500.25, 700.5))
case("histogram_f32", input=f32, lo=-500.25, hi=700.5, nbins=37, expect=h.astype(np.uint64))
h, _ = np.histogram(u8, bins=256, range=(0.0, 256.0))
case("histogram_u8", input=u8, lo=0.0, hi=256.0, nbins=256, expect=h.astype(np.uint64))
h, _ = np.histogram(ct[mask != 0], bins=17, range=(-3.0, 1000.0))
case("histogram_ct_mask", input=ct, mask=mask, lo=-3.0, hi=1000.0, nbins=17, expect=h.astype(np.uint64))

# ---- resampling ------------------------------------------------------------------------------------------
torch.set_num_threads(1)


def t5(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None, None]


ctf = as_f32(ct)
for name, size in (("up", (21, 25, 31)), ("down", (7, 9, 10)), ("mixed", (16, 8, 23))):
    y = torch.nn.functional.interpolate(t5(ctf), size=size, mode="trilinear", align_corners=False)
    case(f"torch_trilinear_{name}", input=ct, expect=y[0, 0].numpy())
scale = (1.6, 0.5, 1.3)
y = torch.nn.functional.interpolate(t5(ctf), scale_factor=scale, mode="trilinear", align_corners=False)
case("torch_trilinear_scale", input=ct, scale=list(scale), expect=y[0, 0].numpy())
y = torch.nn.functional.interpolate(t5(f32), size=(17, 11, 30), mode="trilinear", align_corners=False)
case("torch_trilinear_f32", input=f32, expect=y[0, 0].numpy())
for mode, tag in (("nearest", "nearest_floor"), ("nearest-exact", "nearest")):
    y = torch.nn.functional.interpolate(t5(ctf), size=(26, 11, 40), mode=mode)
    case(f"torch_{tag}", input=ct, expect=y[0, 0].numpy())
# multi-channel logits (C, z, y, x), channel by channel
logits = rng.normal(0, 3, size=(3, 8, 11, 13)).astype(np.float32)
y = torch.nn.functional.interpolate(torch.from_numpy(logits)[None], size=(15, 7, 20), mode="trilinear",
                                    align_corners=False)
case("torch_trilinear_logits", input=logits, expect=y[0].numpy())

# nnU-Net's anisotropic resampling: linear in-plane (torch bilinear, half-pixel), nearest along z with
# floor((i + 0.5) * in/out) (torch 'nearest-exact')
out_shape = (30, 23, 25)
inplane = torch.nn.functional.interpolate(torch.from_numpy(ctf)[:, None], size=out_shape[1:], mode="bilinear",
                                          align_corners=False)[:, 0]
zi = torch.nn.functional.interpolate(torch.arange(ct.shape[0], dtype=torch.float32)[None, None], size=out_shape[0],
                                     mode="nearest-exact")[0, 0].long()
case("nnunet_aniso", input=ct, expect=inplane[zi].numpy())

# scipy zoom, corner-aligned (grid_mode=False, the default), edge mode 'nearest'
for order in (1, 0):
    for name, z in (("up", (1.7, 1.45, 1.3)), ("down", (0.6, 0.55, 0.75))):
        y = ndi.zoom(ctf, z, order=order, mode="nearest", grid_mode=False)
        case(f"scipy_zoom{order}_{name}", input=ct, expect=y)
# scipy zoom with grid_mode=True (half-pixel) and mode='grid-constant' (our constant boundary)
y = ndi.zoom(ctf, (1.7, 1.45, 1.3), order=1, mode="grid-constant", cval=-7.5, grid_mode=True)
case("scipy_zoom1_halfpixel_constant", input=ct, fill=-7.5, expect=y)

# affine_transform: output index -> input index through matrix and offset (a rotation about z, a zoom, a shift)
th = 0.3
R = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(th), -np.sin(th)], [0.0, np.sin(th), np.cos(th)]])
Z = np.diag([0.8, 1.1, 0.9])
M3 = R @ Z
off = np.array([1.25, -2.5, 3.0])
mat = np.eye(4)
mat[:3, :3] = M3
mat[:3, 3] = off
# scipy computes coordinates in double; the voxtile kernels use float32 coordinates (see the test tolerance)
for order, mode, cval, tag in ((1, "nearest", 0.0, "linear_clamp"), (1, "grid-constant", -3.0, "linear_constant"),
                               (0, "nearest", 0.0, "nearest_clamp")):
    y = ndi.affine_transform(ctf, M3, offset=off, output_shape=(15, 16, 18), order=order, mode=mode, cval=cval)
    case(f"scipy_affine_{tag}", input=ct, matrix=list(mat.ravel()), fill=cval, expect=y.astype(np.float32))
# a flip and an axis permutation (exact: integer coordinates)
P = np.zeros((4, 4))
P[0, 2] = 1.0          # out z <- in x
P[1, 1] = -1.0         # out y <- flipped in y
P[1, 3] = ct.shape[1] - 1
P[2, 0] = 1.0          # out x <- in z
P[3, 3] = 1.0
y = np.ascontiguousarray(np.flip(ctf, axis=1).transpose(2, 1, 0))
case("affine_permute_flip", input=ct, matrix=list(P.ravel()), expect=y)

with open(os.path.join(OUT, "manifest.txt"), "w") as fh:
    fh.write(f"# generated by tools/make_preproc_testdata.py: numpy {np.__version__}, scipy {scipy.__version__}, "
             f"torch {torch.__version__}\n")
    fh.write("\n".join(lines) + "\n")
print(f"{len(lines)} cases, {len(written)} arrays in {OUT}", file=sys.stderr)
