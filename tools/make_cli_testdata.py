#!/usr/bin/python3
"""make_cli_testdata.py - inputs and expected results of `voxtile resample`'s end-to-end tests.

Writes to tests/data/cli/resample/:
  in_int16.nii.gz   13 x 11 x 7 int16 with scl_slope 0.5, scl_inter -100 and an oblique affine (sform code 2,
                    qform code 1): an intensity image whose values are read scaled
  in_labels.nii.gz  the same grid, uint8 labels 0..5 (intent "Label")
  in_4d.nii.gz      13 x 11 x 7 x 2 float32: two channels
  expected.json     per case: the voxtile arguments, the expected shape (NIfTI order), dtype, affine (both forms),
                    voxel sizes, the expected voxels file and the tolerance
  <case>.npy        the expected voxels, volume order (channels, k, j, i)

The expected affine is computed here from the grid convention alone: new voxel x' along an axis of n -> m
voxels sits at old voxel coordinate (x' + 0.5) n/m - 0.5 (half-pixel) or x' (n-1)/(m-1) (corner), so
A_new = A_old @ M with M that diagonal map and offset -- independent of voxtile's vxt_geometry_resize. (nibabel's
rescale_affine is not used: it keeps the world position of voxel (shape - 1) // 2, an integer voxel, which is
half a voxel off the field-of-view centre for even shapes.) The expected voxels are the tools voxtile's
resampler is documented to reproduce (docs/PREPROCESSING.md): torch interpolate (trilinear, align_corners=False;
'nearest-exact') on the half-pixel grid, scipy zoom (order 1 or 0, grid_mode=False) on the corner grid, scipy
zoom (grid_mode=True, mode='grid-constant') with a fill value; tolerances are the ones measured there.

Run once from the repository root with Debian's python3 (numpy 1.24, scipy 1.10, torch 1.13, nibabel 5.0):
    /usr/bin/python3 tools/make_cli_testdata.py
The C test (tests/test_cli_resample.c) reads only these files; it never runs Python.
"""
import json
import math
import os

import nibabel as nib
import numpy as np
import scipy.ndimage as ndi
import skimage.transform
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "cli", "resample")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20240611)

# An oblique affine: 20 degrees about an axis, voxel sizes 0.9, 1.2, 3.0 mm, an offset.
ang = math.radians(20.0)
axis = np.array([0.3, -0.5, 0.8])
axis /= np.linalg.norm(axis)
K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
R = np.eye(3) + math.sin(ang) * K + (1 - math.cos(ang)) * K @ K
A = np.eye(4)
A[:3, :3] = R @ np.diag([0.9, 1.2, 3.0])
A[:3, 3] = [-31.5, 17.25, -42.0]
SHAPE = (13, 11, 7)  # i, j, k


def smooth_field(shape, lo, hi):
    """A smooth random field (sums of low-frequency cosines) plus noise, in [lo, hi]."""
    g = np.meshgrid(*[np.arange(s, dtype=np.float64) for s in shape], indexing="ij")
    f = np.zeros(shape)
    for _ in range(4):
        k = rng.uniform(0.1, 0.6, size=3)
        ph = rng.uniform(0, 2 * math.pi)
        f += np.cos(k[0] * g[0] + k[1] * g[1] + k[2] * g[2] + ph)
    f += 0.3 * rng.standard_normal(shape)
    f = (f - f.min()) / (f.max() - f.min())
    return lo + f * (hi - lo)


def write(name, data, affine, sform_code=2, qform_code=1, slope=None, inter=None, intent=None):
    img = nib.Nifti1Image(data, affine)
    img.header.set_sform(affine, code=sform_code)
    img.header.set_qform(affine, code=qform_code)
    img.header.set_xyzt_units("mm")
    if slope is not None:
        img.header.set_slope_inter(slope, inter)
    if intent:
        img.header.set_intent(intent)
    nib.save(img, os.path.join(OUT, name))
    return img


raw = np.round(smooth_field(SHAPE, -400, 1600)).astype(np.int16)
write("in_int16.nii.gz", raw, A, slope=0.5, inter=-100.0)
intensity = raw.astype(np.float32) * np.float32(0.5) + np.float32(-100.0)  # nibabel's float32 scaling
labels = np.floor(smooth_field(SHAPE, 0, 5.999)).astype(np.uint8)
write("in_labels.nii.gz", labels, A, intent="label")
four = np.stack([smooth_field(SHAPE, -1, 1), smooth_field(SHAPE, 0, 300)], axis=-1).astype(np.float32)
write("in_4d.nii.gz", four, A)


def vol(a):
    """NIfTI (i, j, k[, c]) -> volume order (c, k, j, i)."""
    if a.ndim == 3:
        a = a[..., None]
    return np.ascontiguousarray(np.transpose(a, (3, 2, 1, 0)))


def grid_map(n, m, align):
    """Old voxel coordinate of new voxel x' along one axis: (scale, offset)."""
    if align == "half-pixel":
        return n / m, 0.5 * n / m - 0.5
    if m == 1:
        return n / m, 0.0
    return (n - 1) / (m - 1), 0.0


def expected_affine(new_shape, align):
    M = np.eye(4)
    for c in range(3):
        M[c, c], M[c, 3] = grid_map(SHAPE[c], new_shape[c], align)
    return A @ M


def round_half_even(x):
    return float(np.round(x))


def shape_for(mode, values, align):
    zooms = np.sqrt((A[:3, :3] ** 2).sum(axis=0))
    if mode == "shape":
        return [int(v) for v in values]
    if mode == "scale":
        return [int(math.floor(n * s)) for n, s in zip(SHAPE, values)]
    if align == "half-pixel":
        return [int(round_half_even(z / s * n)) for n, z, s in zip(SHAPE, zooms, values)]
    return [int(round_half_even((n - 1) * z / s)) + 1 for n, z, s in zip(SHAPE, zooms, values)]


def torch_resample(v, new_shape, mode):
    """v: (C, k, j, i) float32 -> torch interpolate to the volume-order shape."""
    t = torch.from_numpy(v[None].astype(np.float32))
    size = tuple(reversed(new_shape))
    if mode == "linear":
        r = torch.nn.functional.interpolate(t, size=size, mode="trilinear", align_corners=False)
    else:
        r = torch.nn.functional.interpolate(t, size=size, mode="nearest-exact")
    return r[0].numpy()


def scipy_zoom(v, new_shape, order, fill=None):
    out = []
    size = tuple(reversed(new_shape))
    for ch in v:
        if fill is None:
            z = [s / n for s, n in zip(size, ch.shape)]
            r = ndi.zoom(ch.astype(np.float64), z, order=order, mode="nearest", grid_mode=False)
        else:
            z = [s / n for s, n in zip(size, ch.shape)]
            r = ndi.zoom(ch.astype(np.float64), z, order=order, mode="grid-constant", cval=fill, grid_mode=True)
        assert r.shape == size, (r.shape, size)
        out.append(r)
    return np.stack(out)


cases = []


def case(name, inp, args, mode, values, align="half-pixel", interp="linear", fill=None, tol=0.0):
    new_shape = shape_for(mode, values, align)
    src = {"in_int16.nii.gz": intensity, "in_labels.nii.gz": labels, "in_4d.nii.gz": four}[inp]
    v = vol(src)
    if interp == "nearest":
        if align == "half-pixel":
            exp = torch_resample(v.astype(np.float32), new_shape, "nearest").astype(src.dtype)
        else:
            exp = scipy_zoom(v, new_shape, 0).astype(src.dtype)
    elif fill is not None:
        exp = scipy_zoom(v, new_shape, 1, fill).astype(np.float32)
    elif align == "half-pixel":
        exp = torch_resample(v, new_shape, "linear")
    else:
        exp = scipy_zoom(v, new_shape, 1).astype(np.float32)
    exp = np.ascontiguousarray(exp)
    np.save(os.path.join(OUT, name + ".npy"), exp)
    aff = expected_affine(new_shape, align)
    cases.append({
        "name": name,
        "input": inp,
        "args": args,
        "shape": new_shape,
        "channels": int(v.shape[0]),
        "dtype": str(exp.dtype),
        "affine": aff.tolist(),
        "spacing": np.sqrt((aff[:3, :3] ** 2).sum(axis=0)).tolist(),
        "expected": name + ".npy",
        # tolerance relative to max |input| (0: identical)
        "tolerance": tol,
    })


# half-pixel trilinear vs torch: 2^-22 of max|input| (docs/PREPROCESSING.md); corner vs scipy: 4e-7; constant
# fill vs scipy grid-constant: 2e-6.
def zyx(values):
    """voxtile's per-axis flags are Z,Y,X: the NIfTI-order (i, j, k) values reversed."""
    return ",".join("%g" % v for v in reversed(values))


case("shape_linear", "in_int16.nii.gz", "--shape " + zyx([17, 8, 9]), "shape", [17, 8, 9], tol=2.0 ** -22)
case("spacing_linear", "in_int16.nii.gz", "--spacing " + zyx([0.6, 2, 1.5]), "spacing", [0.6, 2.0, 1.5],
     tol=2.0 ** -22)
case("scale_corner", "in_int16.nii.gz", "--scale " + zyx([1.5, 0.5, 2]) + " --align corner", "scale",
     [1.5, 0.5, 2.0], align="corner", tol=4e-7)
case("spacing_corner", "in_int16.nii.gz", "--spacing " + zyx([0.6, 2, 1.5]) + " --align corner", "spacing",
     [0.6, 2.0, 1.5], align="corner", tol=4e-7)
case("shape_fill", "in_int16.nii.gz", "--shape " + zyx([17, 8, 9]) + " --fill -50", "shape", [17, 8, 9],
     fill=-50.0, tol=2e-6)
case("labels_spacing", "in_labels.nii.gz", "--spacing " + zyx([0.6, 2, 1.5]) + " --interp nearest", "spacing",
     [0.6, 2.0, 1.5], interp="nearest")
case("labels_corner", "in_labels.nii.gz", "--shape " + zyx([20, 5, 11]) + " --interp nearest --align corner",
     "shape", [20, 5, 11], align="corner", interp="nearest")
case("int_nearest", "in_int16.nii.gz", "--shape " + zyx([9, 15, 4]) + " --interp nearest", "shape", [9, 15, 4],
     interp="nearest")
case("channels_scale", "in_4d.nii.gz", "--scale 2", "scale", [2.0, 2.0, 2.0], tol=2.0 ** -22)

# int_nearest keeps the stored int16 values (and the file's scaling): recompute its expectation from raw.
exp = torch_resample(vol(raw).astype(np.float32), shape_for("shape", [9, 15, 4], "half-pixel"), "nearest")
np.save(os.path.join(OUT, "int_nearest.npy"), np.ascontiguousarray(exp.astype(np.int16)))
cases[-2]["dtype"] = "int16"
cases[-2]["scl_slope"] = 0.5
cases[-2]["scl_inter"] = -100.0

# cubic B-spline: scipy zoom(order=3) on the corner grid with the mirror boundary, and skimage resize(order=3,
# mode='edge', anti_aliasing=False) with its clip to the input's range on the half-pixel grid (nnU-Net's). The
# library's tolerance against float64 references is 2e-6 of max|input| (docs/PREPROCESSING.md).
def cubic_case(name, args, mode, values, align, boundary, clip):
    new_shape = shape_for(mode, values, align)
    v = vol(intensity).astype(np.float64)
    size = tuple(reversed(new_shape))
    out = []
    for ch in v:
        if clip:
            r = skimage.transform.resize(ch, size, order=3, mode="edge", anti_aliasing=False, preserve_range=True)
        else:
            r = np.zeros(size)
            ndi.zoom(ch, [s / n for s, n in zip(size, ch.shape)], order=3, mode=boundary,
                     grid_mode=align == "half-pixel", output=r)
        out.append(r)
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(np.stack(out).astype(np.float32)))
    aff = expected_affine(new_shape, align)
    cases.append({"name": name, "input": "in_int16.nii.gz", "args": args, "shape": new_shape, "channels": 1,
                  "dtype": "float32", "affine": aff.tolist(),
                  "spacing": np.sqrt((aff[:3, :3] ** 2).sum(axis=0)).tolist(), "expected": name + ".npy",
                  "tolerance": 2e-6})


cubic_case("spacing_cubic_clip", "--spacing " + zyx([0.6, 2, 1.5]) + " --interp cubic --clip", "spacing",
           [0.6, 2.0, 1.5], "half-pixel", "nearest", True)
cubic_case("shape_cubic_mirror_corner", "--shape " + zyx([17, 8, 9]) + " --interp cubic --boundary mirror --align corner",
           "shape", [17, 8, 9], "corner", "mirror", False)

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump({"input_affine": A.tolist(), "input_shape": list(SHAPE), "cases": cases}, f, indent=1)
    f.write("\n")
print("wrote", len(cases), "cases to", OUT)
