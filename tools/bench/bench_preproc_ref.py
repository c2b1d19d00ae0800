#!/usr/bin/python3
"""bench_preproc_ref.py - time what users run today for the cases of vxt_bench_preproc (numpy for intensity
operations, torch with 2 threads for resampling; scipy optionally) on the same 512x512x256 int16 CT phantom.

    /usr/bin/python3 tools/bench/bench_preproc_ref.py [--reps N] [--json ref.json] [--scipy]

The JSON it writes is read by `vxt_bench_preproc --ref ref.json`, which prints voxtile's speedup next to each case.
Each case is timed cold (first call) and warm (median of --reps calls). numpy allocates its outputs on every call
(that is how the code users copy from nnU-Net and tutorials works); torch's interpolate too. The resampling cases
time F.interpolate on a float32 tensor already converted from int16 (the conversion is reported separately).
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np
import torch

NZ, NY, NX = 256, 512, 512


def phantom():
    """The same voxels as phantom() in tools/bench/bench_preproc.c (uint32 arithmetic wraps the same way)."""
    z, y, x = np.meshgrid(np.arange(NZ, dtype=np.uint32), np.arange(NY, dtype=np.uint32),
                          np.arange(NX, dtype=np.uint32), indexing="ij")
    h = (x * np.uint32(73856093)) ^ (y * np.uint32(19349663)) ^ (z * np.uint32(83492791))
    h ^= h >> np.uint32(13)
    h *= np.uint32(0x5bd1e995)
    h ^= h >> np.uint32(15)
    noise = (h & np.uint32(255)).astype(np.int32) - 128
    dx = x.astype(np.int64) - 256
    dy = y.astype(np.int64) - 256
    zi = z.astype(np.int32)
    # C integer division truncates toward zero
    def cdiv(a, b):
        return np.sign(a) * (np.abs(a) // b)
    tissue = 40 + cdiv(noise, 4) + (zi % 32) - 16
    lx = np.where(dx < 0, dx + 75, dx - 75)
    ly = dy + 30
    lungs = lx * lx * 90 * 90 + ly * ly * 60 * 60 < 60 * 60 * 90 * 90
    sy = dy - 100
    spine = dx * dx + sy * sy < 30 * 30
    v = tissue
    v = np.where(spine, 400 + ((h >> np.uint32(8)) & np.uint32(1023)).astype(np.int32), v)
    v = np.where(lungs, -850 + cdiv(noise, 2), v)
    body = dx * dx * 220 * 220 + dy * dy * 180 * 180 > 180 * 180 * 220 * 220
    v = np.where(body, -1000 + cdiv(noise, 16), v)
    v = np.where(dx * dx + dy * dy > 255 * 255, -2000, v)
    return v.astype(np.int16)


def timeit(fn, reps):
    t0 = time.perf_counter()
    fn()
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t0)
    return cold, statistics.median(warm)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json")
    ap.add_argument("--scipy", action="store_true", help="also time scipy.ndimage.zoom (order 1, single thread)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    ct = phantom()
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads); "
          f"{NZ}x{NY}x{NX} int16 phantom, checksum {int(ct.astype(np.int64).sum())}")

    def window():
        return np.clip((ct.astype(np.float32) - np.float32(-160.0)) / np.float32(400.0), 0, 1)

    def zscore_nonzero():  # nnU-Net ZScoreNormalization with the non-zero mask
        image = ct.astype(np.float32)
        mask = image != 0
        mean = image[mask].mean()
        std = image[mask].std()
        image[mask] = (image[mask] - mean) / max(std, 1e-8)
        return image

    def percentile_clip():
        lo, hi = np.percentile(ct, [0.5, 99.5])
        return np.clip(ct.astype(np.float32), lo, hi)

    t = torch.from_numpy(ct.astype(np.float32))[None, None]

    def interp(**kw):
        return lambda: torch.nn.functional.interpolate(t, mode="trilinear", align_corners=False, **kw)

    def nnunet_aniso():  # in-plane bilinear, nearest-exact along z (voxtile's VXT_INTERP_NEAREST on z)
        a = torch.nn.functional.interpolate(t[0].permute(1, 0, 2, 3), size=(399, 399), mode="bilinear",
                                            align_corners=False)
        return torch.nn.functional.interpolate(a.permute(1, 0, 2, 3)[None], size=(640, 399, 399),
                                               mode="nearest-exact")

    cases = [
        ("window", "numpy", window),
        ("zscore_nonzero", "numpy", zscore_nonzero),
        ("percentile_clip", "numpy", percentile_clip),
        ("trilinear_x0.5", "torch", interp(scale_factor=0.5)),
        ("trilinear_x1.6", "torch", interp(scale_factor=1.6)),
        ("ct_to_1mm", "torch", interp(size=(640, 399, 399))),
        ("ct_to_1mm_nnunet", "torch", nnunet_aniso),
    ]
    res = {}
    print(f"{'case':18s} {'tool':6s} {'cold s':>9s} {'warm s':>9s}")
    for name, tool, fn in cases:
        cold, warm = timeit(fn, args.reps)
        res[name] = {"tool": tool, "cold_s": cold, "warm_s": warm}
        print(f"{name:18s} {tool:6s} {cold:9.4f} {warm:9.4f}")
    c0 = time.perf_counter()
    ct.astype(np.float32)
    print(f"(int16 -> float32 conversion for torch: {time.perf_counter() - c0:.4f} s, not included)")
    if args.scipy:
        import scipy.ndimage as ndi
        ctf = ct.astype(np.float32)
        cold, warm = timeit(lambda: ndi.zoom(ctf, (2.5, 0.78, 0.78), order=1, mode="nearest"), 1)
        res["ct_to_1mm_scipy"] = {"tool": "scipy", "cold_s": cold, "warm_s": warm}
        print(f"{'ct_to_1mm (scipy zoom order 1)':18s} {cold:9.4f} {warm:9.4f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
