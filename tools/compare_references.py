#!/usr/bin/env python3
"""Stitch the same tiles with MONAI / nnU-Net and with `voxtile stitch`, and compare.

    /usr/bin/python3 tools/compare_references.py build/voxtile [--backend cpu|opencl|both] [--json OUT]

MONAI: runs monai.inferers.sliding_window_inference (MONAI 1.4, torch CPU) with a predictor whose output depends
on the tile's contents and on the call index, records every tile's output before MONAI multiplies it in place,
saves them as (N, C, *ROI), stitches them with `voxtile stitch --grid monai --importance gaussian`, and reports
whether every voxel is identical (voxtile reproduces torch's CPU exp, so it should be, bit for bit), with the
largest relative difference (max |a - b| / max |b|, and per voxel |a - b| / |b| where |b| > 1e-3) otherwise.

nnU-Net: runs nnU-Net v2's predict_sliding_window_return_logits arithmetic (copied from nnunetv2 2.5,
nnunetv2/inference/predict_from_raw_data.py and sliding_window_prediction.py, Apache-2.0; nnU-Net itself needs a
newer torch than Debian's) in float16 on the CPU, with float16 tile predictions, and compares
`voxtile stitch --grid nnunet --importance gaussian-nnunet --accumulate float16` bit for bit.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from monai.inferers import sliding_window_inference
from scipy.ndimage import gaussian_filter

torch.set_num_threads(2)


def run_voxtile(exe, tiles_path, out_path, args):
    cmd = [exe, "stitch", tiles_path, "-o", out_path] + args
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"voxtile failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return np.load(out_path)


def monai_case(exe, backend, shape, roi, overlap, channels, seed):
    rng = np.random.default_rng(seed)
    vol = torch.from_numpy(rng.uniform(-2, 3, size=(1, 1) + shape).astype(np.float32))
    tiles = []

    def predictor(x):
        k = len(tiles)
        outs = [x[:, 0] * (0.5 + 0.3 * c) + c - 0.01 * k + torch.sin(x[:, 0] * (c + 1)) for c in range(channels)]
        y = torch.stack(outs, dim=1).contiguous()
        for b in range(y.shape[0]):
            tiles.append(y[b].clone().numpy())
        return y

    ref = sliding_window_inference(vol, roi, 1, predictor, overlap=overlap, mode="gaussian", sigma_scale=0.125,
                                   padding_mode="constant", cval=0.0)[0].numpy()
    with tempfile.TemporaryDirectory() as d:
        tp, op = os.path.join(d, "tiles.npy"), os.path.join(d, "out.npy")
        np.save(tp, np.stack(tiles))
        got = run_voxtile(exe, tp, op, ["--shape", ",".join(map(str, shape)), "--roi", ",".join(map(str, roi)),
                                        "--grid", "monai", "--overlap", str(overlap), "--importance", "gaussian",
                                        "--accumulate", "float32", "--backend", backend])
    diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    big = np.abs(ref) > 1e-3
    return {"tool": "monai", "backend": backend, "shape": shape, "roi": roi, "overlap": overlap, "channels": channels,
            "tiles": len(tiles), "max_rel_to_max": float(diff.max() / np.abs(ref).max()),
            "max_rel_per_voxel": float((diff[big] / np.abs(ref[big])).max()),
            "identical_voxels": float((got == ref).mean())}


# ---- nnU-Net v2 (copied from nnunetv2; see the module docstring) -------------------------------------------
def compute_steps_for_sliding_window(image_size, tile_size, tile_step_size):
    target_step_sizes_in_voxels = [i * tile_step_size for i in tile_size]
    num_steps = [int(np.ceil((i - k) / j)) + 1 for i, j, k in zip(image_size, target_step_sizes_in_voxels, tile_size)]
    steps = []
    for dim in range(len(tile_size)):
        max_step_value = image_size[dim] - tile_size[dim]
        actual_step_size = max_step_value / (num_steps[dim] - 1) if num_steps[dim] > 1 else 99999999999
        steps.append([int(np.round(actual_step_size * i)) for i in range(num_steps[dim])])
    return steps


def compute_gaussian(tile_size, sigma_scale=1. / 8, value_scaling_factor=1, dtype=torch.float16):
    tmp = np.zeros(tile_size)
    center_coords = [i // 2 for i in tile_size]
    sigmas = [i * sigma_scale for i in tile_size]
    tmp[tuple(center_coords)] = 1
    g = gaussian_filter(tmp, sigmas, 0, mode='constant', cval=0)
    g = torch.from_numpy(g)
    g /= (torch.max(g) / value_scaling_factor)
    g = g.to(dtype=dtype)
    mask = g == 0
    g[mask] = torch.min(g[~mask])
    return g


def nnunet_case(exe, backend, shape, patch, step, channels, seed):
    rng = np.random.default_rng(seed)
    data = torch.from_numpy(rng.uniform(-2, 3, size=(1,) + shape).astype(np.float32))
    steps = compute_steps_for_sliding_window(shape, patch, step)
    slicers = [(slice(None), slice(sx, sx + patch[0]), slice(sy, sy + patch[1]), slice(sz, sz + patch[2]))
               for sx in steps[0] for sy in steps[1] for sz in steps[2]]
    gaussian = compute_gaussian(tuple(patch), sigma_scale=1. / 8, value_scaling_factor=10)
    predicted_logits = torch.zeros((channels,) + shape, dtype=torch.half)
    n_predictions = torch.zeros(shape, dtype=torch.half)
    tiles = []
    for k, sl in enumerate(slicers):
        x = data[sl][None][0, 0]
        # a "network" answering in float16, as under autocast
        prediction = torch.stack([x * (0.5 + 0.3 * c) + c - 0.01 * k + torch.sin(x * (c + 1)) for c in range(channels)])
        prediction = prediction.half()
        tiles.append(prediction.clone().numpy())
        prediction *= gaussian
        predicted_logits[sl] += prediction
        n_predictions[sl[1:]] += gaussian
    predicted_logits /= n_predictions
    ref = predicted_logits.float().numpy()
    with tempfile.TemporaryDirectory() as d:
        tp, op = os.path.join(d, "tiles.npy"), os.path.join(d, "out.npy")
        np.save(tp, np.stack(tiles))
        got = run_voxtile(exe, tp, op, ["--shape", ",".join(map(str, shape)), "--roi", ",".join(map(str, patch)),
                                        "--grid", "nnunet", "--step", str(step), "--importance", "gaussian-nnunet",
                                        "--accumulate", "float16", "--backend", backend])
    differ = int((got.view(np.uint32) != ref.view(np.uint32)).sum())
    return {"tool": "nnunet", "backend": backend, "shape": shape, "roi": patch, "step": step, "channels": channels,
            "tiles": len(tiles), "differing_values": differ, "values": int(ref.size),
            "max_abs_diff": float(np.abs(got - ref).max())}


def write_fixtures(out):
    """Small cases for tests/test_cli.c: tiles in, the tool's own stitched result out."""
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(11)
    shape, roi, channels = (9, 20, 17), (6, 12, 10), 2
    vol = torch.from_numpy(rng.uniform(-2, 3, size=(1, 1) + shape).astype(np.float32))
    tiles = []

    def predictor(x):
        k = len(tiles)
        y = torch.stack([x[:, 0] * (0.5 + 0.3 * c) + c - 0.01 * k + torch.sin(x[:, 0] * (c + 1))
                         for c in range(channels)], dim=1).contiguous()
        tiles.append(y[0].clone().numpy())
        return y

    ref = sliding_window_inference(vol, roi, 1, predictor, overlap=0.5, mode="gaussian")[0].numpy()
    np.save(os.path.join(out, "monai_tiles.npy"), np.stack(tiles))
    np.save(os.path.join(out, "monai_expected.npy"), ref)
    # nnU-Net, float16 tiles
    data = torch.from_numpy(rng.uniform(-2, 3, size=(1,) + shape).astype(np.float32))
    steps = compute_steps_for_sliding_window(shape, roi, 0.5)
    g = compute_gaussian(roi, value_scaling_factor=10)
    L = torch.zeros((channels,) + shape, dtype=torch.half)
    N = torch.zeros(shape, dtype=torch.half)
    tiles = []
    for k, (sx, sy, sz) in enumerate([(a, b, c) for a in steps[0] for b in steps[1] for c in steps[2]]):
        sl = (slice(None), slice(sx, sx + roi[0]), slice(sy, sy + roi[1]), slice(sz, sz + roi[2]))
        x = data[sl][0]
        p = torch.stack([x * (0.5 + 0.3 * c) + c - 0.01 * k for c in range(channels)]).half()
        tiles.append(p.clone().numpy())
        p *= g
        L[sl] += p
        N[sl[1:]] += g
    L /= N
    np.save(os.path.join(out, "nnunet_tiles.npy"), np.stack(tiles))
    np.save(os.path.join(out, "nnunet_expected.npy"), L.float().numpy())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("voxtile")
    ap.add_argument("--backend", default="both", choices=["cpu", "opencl", "both"])
    ap.add_argument("--json")
    ap.add_argument("--fixtures", help="write small MONAI and nnU-Net cases (tiles and expected output) here")
    a = ap.parse_args()
    if a.fixtures:
        write_fixtures(a.fixtures)
        return
    backends = ["cpu", "opencl"] if a.backend == "both" else [a.backend]
    results = []
    for b in backends:
        results.append(monai_case(a.voxtile, b, (64, 96, 80), (32, 48, 40), 0.5, 3, 1))
        results.append(monai_case(a.voxtile, b, (40, 70, 33), (32, 32, 48), 0.25, 2, 2))   # x padded
        results.append(monai_case(a.voxtile, b, (193, 100, 90), (160, 64, 64), 0.8, 2, 3))  # interval truncation
        results.append(nnunet_case(a.voxtile, b, (64, 96, 80), (32, 48, 40), 0.5, 3, 4))
        results.append(nnunet_case(a.voxtile, b, (70, 100, 64), (48, 64, 64), 0.5, 2, 5))
    ok = True
    for r in results:
        if r["tool"] == "monai":
            good = r["identical_voxels"] == 1.0
            print(f"MONAI   {r['backend']:6} {r['shape']} roi {r['roi']} overlap {r['overlap']}: {r['tiles']} tiles, "
                  f"max |diff|/max|ref| = {r['max_rel_to_max']:.2e}, max per-voxel relative = "
                  f"{r['max_rel_per_voxel']:.2e}, identical voxels {100 * r['identical_voxels']:.2f}% "
                  f"{'OK' if good else 'FAIL'}")
        else:
            good = r["differing_values"] == 0
            print(f"nnU-Net {r['backend']:6} {r['shape']} patch {r['roi']} step {r['step']}: {r['tiles']} tiles, "
                  f"{r['differing_values']} of {r['values']} values differ {'OK' if good else 'FAIL'}")
        ok = ok and good
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
