#!/usr/bin/env python3
"""Generate reference data for voxtile's tile planner and importance maps from the tools themselves.

Run with Debian's python3 (numpy, scipy, torch 1.13) plus MONAI 1.4 and TorchIO from PyPI:
    /usr/bin/python3 tools/make_stitch_testdata.py tests/data/stitch
Writes plans.json (tile starts per axis as MONAI, nnU-Net and TorchIO compute them) and maps.json plus
<name>.f32 files (importance maps as the tools compute them). nnU-Net v2 is not installable next to torch 1.13,
so its two functions are copied verbatim below (nnunetv2/inference/sliding_window_prediction.py, Apache-2.0).
"""
import json
import os
import sys
from functools import lru_cache

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

import monai
from monai.data.utils import compute_importance_map, dense_patch_slices
from monai.inferers.utils import _get_scan_interval
from torchio.data.inference.aggregator import GridAggregator
from torchio.data.sampler.grid import GridSampler


# ---- nnU-Net v2 (copied verbatim) --------------------------------------------------------------------------
def compute_steps_for_sliding_window(image_size, tile_size, tile_step_size):
    assert [i >= j for i, j in zip(image_size, tile_size)], "image size must be as large or larger than patch_size"
    assert 0 < tile_step_size <= 1, 'step_size must be larger than 0 and smaller or equal to 1'
    target_step_sizes_in_voxels = [i * tile_step_size for i in tile_size]
    num_steps = [int(np.ceil((i - k) / j)) + 1 for i, j, k in zip(image_size, target_step_sizes_in_voxels, tile_size)]
    steps = []
    for dim in range(len(tile_size)):
        max_step_value = image_size[dim] - tile_size[dim]
        if num_steps[dim] > 1:
            actual_step_size = max_step_value / (num_steps[dim] - 1)
        else:
            actual_step_size = 99999999999
        steps_here = [int(np.round(actual_step_size * i)) for i in range(num_steps[dim])]
        steps.append(steps_here)
    return steps


def compute_gaussian(tile_size, sigma_scale=1. / 8, value_scaling_factor=1, dtype=torch.float16, device=torch.device('cpu')):
    tmp = np.zeros(tile_size)
    center_coords = [i // 2 for i in tile_size]
    sigmas = [i * sigma_scale for i in tile_size]
    tmp[tuple(center_coords)] = 1
    gaussian_importance_map = gaussian_filter(tmp, sigmas, 0, mode='constant', cval=0)
    gaussian_importance_map = torch.from_numpy(gaussian_importance_map)
    gaussian_importance_map /= (torch.max(gaussian_importance_map) / value_scaling_factor)
    gaussian_importance_map = gaussian_importance_map.to(device=device, dtype=dtype)
    mask = gaussian_importance_map == 0
    gaussian_importance_map[mask] = torch.min(gaussian_importance_map[~mask])
    return gaussian_importance_map


def fnv1a64(data: bytes) -> str:
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xffffffffffffffff
    return f"{h:016x}"


def monai_starts(shape, roi, overlap):
    # sliding_window_inference pads to max(shape, roi) first
    padded = [max(s, r) for s, r in zip(shape, roi)]
    interval = _get_scan_interval(padded, roi, 3, overlap)
    slices = dense_patch_slices(padded, roi, interval)
    return ([sorted({int(sl[a].start) for sl in slices}) for a in range(3)],
            [[int(sl[a].start) for a in range(3)] for sl in slices])


def torchio_starts(shape, roi, overlap):
    locs = GridSampler._get_patches_locations(np.array(shape), np.array(roi), np.array(overlap))
    return [sorted({int(l[a]) for l in locs}) for a in range(3)], [[int(l[a]) for a in range(3)] for l in locs]


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    cases = []
    monai_cases = [((256, 512, 512), (128, 128, 128), (0.5, 0.5, 0.5)),
                   ((193, 200, 160), (160, 160, 160), (0.8, 0.8, 0.8)),   # truncation: interval 31
                   ((37, 61, 90), (16, 32, 40), (0.25, 0.6, 0.1)),
                   ((10, 10, 10), (16, 8, 10), (0.5, 0.5, 0.5)),           # padding on z, R == S on x
                   ((1, 300, 257), (1, 96, 96), (0.0, 0.5, 0.75)),         # 2D
                   ((1024, 1024, 1024), (96, 96, 96), (0.25, 0.25, 0.25))]
    for shape, roi, ov in monai_cases:
        axes, order = monai_starts(shape, roi, ov)
        cases.append({"grid": "monai", "shape": shape, "roi": roi, "overlap": ov, "starts": axes,
                      "count": len(order), "first_tiles": order[:20], "last_tile": order[-1]})
    nnunet_cases = [((193, 300, 257), (128, 128, 128), 0.5),   # 0, 32, 65 on axis 0
                    ((256, 512, 512), (128, 128, 128), 0.5),
                    ((64, 77, 130), (64, 48, 33), 0.33),
                    ((1, 500, 400), (1, 256, 256), 0.5),
                    ((40, 40, 40), (40, 40, 40), 0.5),
                    ((97, 211, 3000), (80, 192, 160), 1.0)]
    for shape, roi, step in nnunet_cases:
        axes = compute_steps_for_sliding_window(shape, roi, step)
        cases.append({"grid": "nnunet", "shape": shape, "roi": roi, "step": step, "starts": axes,
                      "count": int(np.prod([len(a) for a in axes]))})
    torchio_cases = [((64, 100, 37), (32, 32, 32), (8, 16, 4)),
                     ((128, 128, 128), (64, 64, 64), (0, 0, 0)),
                     ((50, 51, 52), (50, 20, 13), (0, 2, 6))]
    for shape, roi, ov in torchio_cases:
        axes, order = torchio_starts(shape, roi, ov)
        cases.append({"grid": "voxels", "shape": shape, "roi": roi, "overlap_voxels": ov, "starts": axes,
                      "count": len(order), "first_tiles": order[:20]})
    with open(os.path.join(out_dir, "plans.json"), "w") as f:
        json.dump({"generator": "tools/make_stitch_testdata.py", "monai": monai.__version__, "cases": cases}, f,
                  indent=1)

    maps = []
    for roi in [(8, 12, 10), (5, 7, 9), (1, 20, 24), (16, 16, 16), (31, 40, 17)]:
        for kind in ["gaussian", "gaussian-nnunet", "hann"]:
            sig = (0.125, 0.125, 0.125)
            if kind == "gaussian":
                if roi[0] == 1:
                    m = compute_importance_map(roi[1:], mode="gaussian", sigma_scale=0.125).numpy()[None]
                else:
                    m = compute_importance_map(roi, mode="gaussian", sigma_scale=0.125).numpy()
            elif kind == "gaussian-nnunet":
                r = roi[1:] if roi[0] == 1 else roi
                m = compute_gaussian(r, sigma_scale=1. / 8, value_scaling_factor=10).float().numpy().reshape(roi)
            else:
                m = GridAggregator._get_hann_window(roi).numpy()
            m = np.ascontiguousarray(m.astype(np.float32))
            name = f"map_{kind}_{roi[0]}x{roi[1]}x{roi[2]}.f32"
            m.tofile(os.path.join(out_dir, name))
            maps.append({"kind": kind, "roi": roi, "file": name})
    # large ROIs: hashes only (nnU-Net: the float16 bits, which must match exactly)
    big = []
    for roi in [(128, 128, 128), (80, 192, 160)]:
        g = compute_gaussian(roi, sigma_scale=1. / 8, value_scaling_factor=10)
        big.append({"kind": "gaussian-nnunet", "roi": roi,
                    "fnv1a64_f16": fnv1a64(g.numpy().astype(np.float16).tobytes()),
                    "min": float(g.min()), "max": float(g.max())})
    mg = compute_importance_map((128, 128, 128), mode="gaussian", sigma_scale=0.125)
    big.append({"kind": "gaussian", "roi": (128, 128, 128), "fnv1a64_f32": fnv1a64(mg.numpy().tobytes()),
                "floor_fraction": float((mg == mg.min()).float().mean())})
    with open(os.path.join(out_dir, "maps.json"), "w") as f:
        json.dump({"generator": "tools/make_stitch_testdata.py", "maps": maps, "big": big}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/stitch")
