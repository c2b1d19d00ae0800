#!/usr/bin/env python3
"""make_cubic_testdata.py - the reference arrays of voxtile's cubic B-spline resampling (tests/test_resample_cubic.c),
made by the tools users compare it with, written to tests/data/resample_cubic/ with a manifest.json:

  scipy.ndimage.zoom(order=3) in every boundary mode voxtile maps (nearest, grid-constant, mirror, grid-mirror), on
  the half-pixel grid (grid_mode=True) and the corner grid (grid_mode=False), up, down and mixed, of a noise volume
  (noise: the largest overshoot of an interpolating spline);
  scipy.ndimage.map_coordinates(order=3) at a zoom's coordinates (the same sampling, another entry point);
  skimage.transform.resize(order=3, mode='edge', anti_aliasing=False) of a real T1 crop (its clip to the input's range
  included): nnU-Net's 3D image resampling;
  nnunetv2's resample_data_or_seg_to_spacing(order=3, order_z=0) of a real T1 crop made anisotropic (every third
  slice, 3.5 x 1 x 1 mm), which resizes each slice on its own and takes the nearest slice along z: nnU-Net's
  separate-z rule; and the same crop at 1 mm, where nnU-Net resizes in 3D.

scipy computes in float64; the references are stored as float32 (half an ulp of rounding: far below the stated
tolerance). Run with a Python that has numpy, scipy, scikit-image and nnunetv2 (with --no-nnunet: without the
nnU-Net cases): tools/bench/install-bench-deps.sh's venv with `pip install --no-deps nnunetv2==2.6.2`, and
Debian's python3-skimage and python3-pandas.

    .deps/bench-venv/bin/python tools/make_cubic_testdata.py [--out tests/data/resample_cubic]
"""
import argparse
import gzip
import json
import os
import struct

import numpy as np
import scipy
import scipy.ndimage as ndi
import skimage
from skimage.transform import resize

HERE = os.path.dirname(os.path.abspath(__file__))
T1 = os.path.join(HERE, "..", "tests", "data", "brainchop", "t1_crop.nii.gz")


def read_t1():
    b = gzip.decompress(open(T1, "rb").read())
    dim = struct.unpack("<8h", b[40:56])
    off = int(struct.unpack("<f", b[108:112])[0])
    ni, nj, nk = dim[1:4]
    return np.frombuffer(b, np.uint8, ni * nj * nk, off).reshape(nk, nj, ni)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "..", "tests", "data", "resample_cubic"))
    ap.add_argument("--no-nnunet", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    cases, versions = [], {"numpy": np.__version__, "scipy": scipy.__version__, "scikit-image": skimage.__version__}

    def save(name, arr, dtype=np.float32):
        np.save(os.path.join(a.out, name + ".npy"), np.ascontiguousarray(arr, dtype=dtype))
        return name + ".npy"

    rng = np.random.default_rng(17)
    noise = (rng.normal(size=(6, 7, 9)) * 300.0 + 500.0).astype(np.float32)
    save("noise", noise)
    modes = {"nearest": "clamp", "grid-constant": "constant", "mirror": "mirror", "grid-mirror": "grid-mirror"}
    for shape_name, shape in (("up", (10, 11, 13)), ("down", (4, 5, 6)), ("mixed", (6, 12, 5))):
        for mode, boundary in modes.items():
            for grid_mode in (True, False):
                # zoom only names the output shape (round(in * zoom)); the sampling factors come from the shapes:
                # in / out on the half-pixel grid, (in - 1) / (out - 1) on the corner grid
                zoom = [o / i for o, i in zip(shape, noise.shape)]
                out = np.zeros(shape)  # the output's shape decides the zoom (zoom_shift's factors come from it)
                ndi.zoom(noise.astype(np.float64), zoom, order=3, mode=mode, cval=3.5, grid_mode=grid_mode, output=out)
                assert out.shape == shape, (out.shape, shape)
                name = "zoom_%s_%s_%s" % (shape_name, mode, "half" if grid_mode else "corner")
                cases.append({"name": name, "input": "noise.npy", "output": save(name, out), "shape": list(shape),
                              "interp": ["cubic"] * 3, "align": "half-pixel" if grid_mode else "corner",
                              "boundary": boundary, "fill": 3.5, "clip": "none",
                              "made_by": "scipy.ndimage.zoom(order=3, mode=%r, cval=3.5, grid_mode=%r)"
                                         % (mode, grid_mode)})
    # map_coordinates at the half-pixel coordinates of a downsampling, mirror
    shape = (4, 5, 6)
    grid = np.meshgrid(*[(np.arange(o) + 0.5) * (i / o) - 0.5 for o, i in zip(shape, noise.shape)], indexing="ij")
    out = ndi.map_coordinates(noise.astype(np.float64), grid, order=3, mode="mirror", output=np.float64)
    cases.append({"name": "map_coordinates_mirror", "input": "noise.npy", "output": save("map_coordinates_mirror", out),
                  "shape": list(shape), "interp": ["cubic"] * 3, "align": "half-pixel", "boundary": "mirror",
                  "fill": 0.0, "clip": "none",
                  "made_by": "scipy.ndimage.map_coordinates(order=3, mode='mirror') at (o + 0.5) * in / out - 0.5"})

    t1 = read_t1()
    crop = np.ascontiguousarray(t1[100:116, 100:118, 100:120])
    save("t1_crop", crop, np.uint8)
    shape = (23, 15, 27)
    out = resize(crop.astype(np.float64), shape, order=3, mode="edge", anti_aliasing=False)
    cases.append({"name": "skimage_resize_t1", "input": "t1_crop.npy", "output": save("skimage_resize_t1", out),
                  "shape": list(shape), "interp": ["cubic"] * 3, "align": "half-pixel", "boundary": "clamp",
                  "fill": 0.0, "clip": "input-range",
                  "made_by": "skimage.transform.resize(order=3, mode='edge', anti_aliasing=False), clip=True"})

    # the constant boundary with the clip: skimage keeps the fill value when it lies outside the input's range
    # (20..139 here) but inside the output's (preserve_cval); 18 is kept at 8 voxels, 150 is not reached
    for cval in (18.0, 150.0):
        name = "skimage_resize_t1_constant_%g" % cval
        out = resize(crop.astype(np.float64), (23, 15, 27), order=3, mode="constant", cval=cval, anti_aliasing=False)
        cases.append({"name": name, "input": "t1_crop.npy", "output": save(name, out), "shape": [23, 15, 27],
                      "interp": ["cubic"] * 3, "align": "half-pixel", "boundary": "constant", "fill": cval,
                      "clip": "input-range",
                      "made_by": "skimage.transform.resize(order=3, mode='constant', cval=%g, anti_aliasing=False), "
                                 "clip=True" % cval})

    # skimage's default for shrinking: anti_aliasing=True (a Gaussian of skimage's sigma first), then order 3, clipped
    # to the range of the image it was given
    shape = (9, 7, 12)
    out = resize(crop.astype(np.float64), shape, order=3, mode="edge", anti_aliasing=True)
    cases.append({"name": "skimage_resize_t1_antialias", "input": "t1_crop.npy",
                  "output": save("skimage_resize_t1_antialias", out), "shape": list(shape), "interp": ["cubic"] * 3,
                  "align": "half-pixel", "boundary": "clamp", "fill": 0.0, "clip": "input-range", "anti_alias": True,
                  "made_by": "skimage.transform.resize(order=3, mode='edge', anti_aliasing=True), clip=True"})

    if not a.no_nnunet:
        import nnunetv2
        from importlib.metadata import version
        from nnunetv2.preprocessing.resampling.default_resampling import resample_data_or_seg_to_spacing
        versions["nnunetv2"] = version("nnunetv2")
        aniso = np.ascontiguousarray(t1[90:114:3, 100:124, 100:120])  # 8 slices of 3.5 mm
        save("t1_aniso", aniso, np.uint8)
        for name, data, cur, new in (("nnunet_separate_z", aniso, [3.5, 1.0, 1.0], [1.75, 0.8, 1.25]),
                                     ("nnunet_3d", crop, [1.0, 1.0, 1.0], [0.7, 1.3, 0.9])):
            out = resample_data_or_seg_to_spacing(data[None].astype(np.float32), cur, new, is_seg=False, order=3,
                                                  order_z=0, force_separate_z=None)[0]
            cases.append({"name": name, "input": "t1_aniso.npy" if data is aniso else "t1_crop.npy",
                          "output": save(name, out), "shape": list(out.shape), "in_spacing": cur, "out_spacing": new,
                          "nnunet": True,
                          "made_by": "nnunetv2 resample_data_or_seg_to_spacing(order=3, order_z=0, "
                                     "force_separate_z=None) of float32 data"})
    json.dump({"versions": versions, "cases": cases}, open(os.path.join(a.out, "manifest.json"), "w"), indent=1)
    print("%d cases in %s (%s)" % (len(cases), a.out, ", ".join("%s %s" % kv for kv in versions.items())))


if __name__ == "__main__":
    main()
