#!/usr/bin/env python3
"""MONAI's sliding_window_inference on the case of vxt_bench_stitch: by default a 512x512x256 float32 volume (1, 1,
256, 512, 512), ROI 128^3, overlap 0.5, gaussian, sw_batch_size 1, C = 2 from a trivial predictor (channel c = x *
(c + 1): one broadcast multiply into a new tensor, each output computed once by torch's threads; a new tensor, since
MONAI multiplies the predictor's output in place; --predictor cat: torch.cat of the C products, as before 2026-12-07).
The time inside the predictor is measured in every run: predictor_s, and outside_predictor_s, MONAI's own time (the
warm runs less their predictor's, median), to compare with vxt_bench_stitch's library_s. torch with 2 threads
(Debian's torch 1.13 uses one unless told). --labels: then the label map as a MONAI user gets it, argmax over the
classes into uint8 (the volume of C float32 values is made first: MONAI has no other way). Prints cold (first call)
and warm (median of the rest) seconds as JSON; the peak resident memory is the caller's to read (ru_maxrss of the
process, as tools/bench/bench_labels_monai.py does).

    /usr/bin/python3 tools/bench/bench_stitch_monai.py [--runs N] [--threads N] [--shape Z,Y,X] [--roi R]
                                                       [--channels C] [--batch B] [--labels] [--predictor P]
"""
import argparse
import json
import time

import numpy as np
import torch
from monai.inferers import sliding_window_inference


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--shape", default="256,512,512")
    ap.add_argument("--batch", type=int, default=1, help="sw_batch_size")
    ap.add_argument("--roi", type=int, default=128)
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--labels", action="store_true", help="argmax into uint8 labels after the sliding window")
    ap.add_argument("--predictor", choices=("broadcast", "cat"), default="broadcast",
                    help="x * [1..C] in one multiply (default), or torch.cat of the C products (before 2026-12-07)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    shape = tuple(int(v) for v in a.shape.split(","))
    rng = np.random.default_rng(42)
    vol = torch.from_numpy(rng.uniform(-1000, 2000, size=(1, 1) + shape).astype(np.float32))

    # x * (c + 1) for every channel c at once: the same float32 products as one multiply per channel
    scale = torch.arange(1, a.channels + 1, dtype=torch.float32).view(1, a.channels, 1, 1, 1)
    in_predictor = [0.0]  # seconds inside the predictor in the current run

    def predictor(x):
        t0 = time.perf_counter()
        if a.predictor == "cat":
            y = torch.cat([x * float(c + 1) for c in range(a.channels)], dim=1)
        else:
            y = x * scale
        in_predictor[0] += time.perf_counter() - t0
        return y

    times, pred_times = [], []
    with torch.no_grad():
        for _ in range(max(a.runs, 2)):
            in_predictor[0] = 0.0
            t0 = time.perf_counter()
            out = sliding_window_inference(vol, (a.roi,) * 3, a.batch, predictor, overlap=0.5, mode="gaussian")
            if a.labels:
                out = torch.argmax(out, dim=1).to(torch.uint8)
            times.append(time.perf_counter() - t0)
            pred_times.append(in_predictor[0])
            del out

    def median(v):
        v = sorted(v)
        return v[len(v) // 2] if len(v) % 2 else 0.5 * (v[len(v) // 2 - 1] + v[len(v) // 2])

    warm = median(times[1:])
    # MONAI's own time: each warm run less its predictor's (the predictor stands for the network)
    outside = median([t - p for t, p in zip(times[1:], pred_times[1:])])
    print(json.dumps({"tool": "monai", "version": __import__("monai").__version__, "torch": torch.__version__,
                      "threads": a.threads, "sw_batch_size": a.batch, "shape": shape, "roi": a.roi,
                      "channels": a.channels, "labels": a.labels, "predictor": a.predictor,
                      "cold_s": times[0], "warm_s": warm, "predictor_s": median(pred_times[1:]),
                      "outside_predictor_s": outside, "all_s": times, "all_predictor_s": pred_times}))


if __name__ == "__main__":
    main()
