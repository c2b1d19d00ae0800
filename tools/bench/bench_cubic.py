#!/usr/bin/env python3
"""bench_cubic.py - voxtile's cubic B-spline resampling against what users run today, in alternating rounds on the
same 256x512x512 int16 CT phantom (spacing 2.5 x 0.78 x 0.78 mm; tools/bench/bench_preproc_ref.py builds the same
voxels as vxt_bench_preproc, and both print its checksum):

  ct_to_1mm   nnU-Net's image resampling to 1 mm (640x399x399): voxtile with vxt_resample_options_nnunet_order(3)
              (in-plane cubic, z nearest, clipped per slice) against nnunetv2's resample_data_or_seg_to_spacing(
              order=3, order_z=0) -- what nnU-Net itself runs (skimage resize / scipy, order 3) -- and against torch
              F.interpolate(mode="trilinear") to the same shape, 2 threads
  x0.5        3D cubic to half the size (128x256x256): voxtile against scipy.ndimage.zoom(order=3, mode="nearest",
              grid_mode=True) and torch trilinear

Each round runs every side once, in an order that rotates from round to round (this VM's speed drifts by +-30%);
voxtile's time is vxt_bench_preproc's warm median (output memory reused) and the CPU backend's 2 threads; the
Python sides are timed per call (the first round includes their first-touch costs, the table gives medians of all
rounds). The memory bandwidth comes from vxt_bench_preproc's own measurement in each round.

    .deps/bench-venv/bin/python tools/bench/bench_cubic.py --build build-rel [--rounds 3] [--json out.json]

Needs nnunetv2 (pip install --no-deps nnunetv2==2.6.2 in the bench venv, with Debian's python3-skimage and
python3-pandas), scipy and torch.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy
import scipy.ndimage as ndi
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_preproc_ref import phantom  # noqa: E402  (the same voxels as vxt_bench_preproc)


def voxtile(build, case, reps):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        out = subprocess.run([os.path.join(build, "bench", "vxt_bench_preproc"), "--backend", "cpu", "--reps",
                              str(reps), "--case", case, "--json", f.name], check=True, capture_output=True,
                             text=True).stdout
        j = json.load(open(f.name))
    r = [x for x in j["results"] if x["case"] == case][0]
    return r["warm_s"], j["membw_copy_gbs"], j["membw_triad_gbs"], out


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3, help="voxtile's warm repetitions per round")
    ap.add_argument("--json")
    a = ap.parse_args()
    from importlib.metadata import version
    from nnunetv2.preprocessing.resampling.default_resampling import resample_data_or_seg_to_spacing
    torch.set_num_threads(2)
    ct = phantom()
    print("numpy %s, scipy %s, torch %s (%d threads), nnunetv2 %s; phantom %s int16, checksum %d" % (
        np.__version__, scipy.__version__, torch.__version__, torch.get_num_threads(), version("nnunetv2"),
        "x".join(map(str, ct.shape)), int(ct.astype(np.int64).sum())), flush=True)
    ct32 = torch.from_numpy(ct.astype(np.float32))[None, None]
    data = ct.astype(np.float32)[None]

    def nnunet():
        resample_data_or_seg_to_spacing(data, [2.5, 0.78, 0.78], [1.0, 1.0, 1.0], is_seg=False, order=3, order_z=0,
                                        force_separate_z=None)

    def torch_1mm():
        torch.nn.functional.interpolate(ct32, size=(640, 399, 399), mode="trilinear", align_corners=False)

    def scipy_half():
        out = np.zeros((128, 256, 256), np.float32)
        ndi.zoom(ct, 0.5, order=3, mode="nearest", grid_mode=True, output=out)

    def torch_half():
        torch.nn.functional.interpolate(ct32, size=(128, 256, 256), mode="trilinear", align_corners=False)

    cases = {
        "ct_to_1mm": ("cubic_ct_to_1mm_nnunet", {"nnunetv2 order 3": nnunet, "torch trilinear": torch_1mm}),
        "x0.5": ("cubic_x0.5", {"scipy zoom order 3": scipy_half, "torch trilinear": torch_half}),
    }
    times = {c: {"voxtile": []} for c in cases}
    bw = []
    for r in range(a.rounds):
        for c, (vcase, refs) in cases.items():
            sides = ["voxtile"] + list(refs)
            k = r % len(sides)
            for side in sides[k:] + sides[:k]:
                if side == "voxtile":
                    t, copy, triad, _ = voxtile(a.build, vcase, a.reps)
                    bw.append((copy, triad))
                else:
                    t = timed(refs[side])
                times[c].setdefault(side, []).append(t)
                print("round %d %-10s %-18s %8.3f s" % (r + 1, c, side, t), flush=True)
    print("\nmemory bandwidth in the rounds (vxt_bench_membw, 2 threads): copy %s GB/s, triad %s GB/s" % (
        ", ".join("%.1f" % b[0] for b in bw), ", ".join("%.1f" % b[1] for b in bw)))
    summary = {"rounds": a.rounds, "bandwidth_copy_gbs": [b[0] for b in bw], "cases": {}}
    for c in cases:
        v = statistics.median(times[c]["voxtile"])
        print("\n%s (median of %d rounds)" % (c, a.rounds))
        summary["cases"][c] = {}
        for side, ts in times[c].items():
            m = statistics.median(ts)
            ratio = m / v
            print("  %-18s %8.3f s  %s" % (side, m, "" if side == "voxtile" else "voxtile %.1fx faster" % ratio
                                             if ratio >= 1 else "voxtile %.2fx (slower)" % ratio))
            summary["cases"][c][side] = {"median_s": m, "all_s": ts, "ratio": ratio}
    if a.json:
        json.dump(summary, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
