#!/usr/bin/env python3
"""Labels only, large volume, many classes: voxtile against MONAI on the same case, alternating, in one script.

Each round runs `vxt_bench_stitch --labels --json` (voxtile's CPU backend, a sink into a uint8 label volume) and
`bench_stitch_monai.py --labels` (MONAI's sliding_window_inference, then argmax into uint8) one after the other, the
order swapped every round (this VM's speed drifts by +-30%: a ratio is only taken between neighbours). Both sides use
the same trivial predictor (channel c = input * (c + 1), each output computed once, on the same threads:
vxt_bench_stitch's in C with streaming stores unless --predictor-stores plain, torch's broadcast multiply with its
plain stores and a fresh output tensor a call), the same volume size, ROI, overlap 0.5 and Gaussian weights, the same
number of threads (--threads, default 2). Both sides time their predictor inside every run, so each round gives two
ratios: whole runs (speedup_warm) and the tools' own time with each side's predictor left out
(speedup_outside_predictor: MONAI's warm time less its predictor's, over vxt_bench_stitch's library_s). The peak
resident memory of each side is its process's own: voxtile's from its sampler (peak_rss_bytes), MONAI's as ru_maxrss
of its process (os.wait4). Prints one JSON object; --out also writes it.

    tools/bench/bench_labels_monai.py --bench build-rel/bench/vxt_bench_stitch \\
        --python "$(tools/bench/install-bench-deps.sh | tail -n 1)" [--rounds 2] [--runs 2] \\
        [--shape 512,1024,1024] [--roi 128] [--channels 8] [--threads 2] [--predictor-stores stream|plain] \\
        [--out FILE]
"""
import argparse
import json
import os
import subprocess
import sys


def run(cmd):
    """Run cmd, return (stdout, ru_maxrss in bytes)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({p.returncode}): {err.strip()[-2000:]}")
    return out, ru.ru_maxrss * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True, help="vxt_bench_stitch of a Release build")
    ap.add_argument("--python", default=sys.executable, help="a python with MONAI (install-bench-deps.sh)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--runs", type=int, default=2, help="runs per side and round (the first is cold)")
    ap.add_argument("--shape", default="512,1024,1024")
    ap.add_argument("--roi", type=int, default=128)
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2, help="threads of each side (voxtile's pool and predictor, torch)")
    ap.add_argument("--predictor-stores", choices=("stream", "plain"), default="stream",
                    help="vxt_bench_stitch's predictor stores (torch's are plain)")
    ap.add_argument("--out")
    a = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    vxt_cmd = [a.bench, "--backend", "cpu", "--labels", "--json", "--runs", str(a.runs), "--shape", a.shape,
               "--roi", str(a.roi), "--channels", str(a.channels), "--threads", str(a.threads),
               "--predictor-stores", a.predictor_stores]
    monai_cmd = [a.python, os.path.join(here, "bench_stitch_monai.py"), "--labels", "--runs", str(a.runs),
                 "--shape", a.shape, "--roi", str(a.roi), "--channels", str(a.channels), "--threads", str(a.threads)]
    rounds = []
    for r in range(a.rounds):
        res = {}
        for side in (("voxtile", "monai") if r % 2 == 0 else ("monai", "voxtile")):
            if side == "voxtile":
                out, _ = run(vxt_cmd)
                j = json.loads(out)
                cpu = j["runs"][0]
                res["voxtile"] = {"warm_s": cpu["warm_s"], "cold_s": cpu["cold_s"], "floor_fraction": cpu["floor_fraction"],
                                  "predictor_s": cpu["predictor_s"], "library_s": cpu["library_s"],
                                  "library_floor_fraction": cpu["library_floor_fraction"],
                                  "predictor_threads": j["predictor_threads"], "predictor_stores": j["predictor_stores"],
                                  "triad_after_gbs": cpu["triad_after_gbs"],
                                  "peak_rss_bytes": cpu["peak_rss_bytes"],
                                  "peak_beyond_input_output_bytes": cpu["peak_beyond_input_output_bytes"],
                                  "estimate_bytes": cpu["estimate_bytes"], "triad_gbs": j["bandwidth_gbs"]["triad"],
                                  "input_output_bytes": j["input_output_bytes"]}
            else:
                out, maxrss = run(monai_cmd)
                j = json.loads(out.strip().splitlines()[-1])
                res["monai"] = {"warm_s": j["warm_s"], "cold_s": j["cold_s"], "peak_rss_bytes": maxrss,
                                "predictor_s": j["predictor_s"], "outside_predictor_s": j["outside_predictor_s"],
                                "version": j["version"], "torch": j["torch"], "predictor": j["predictor"]}
            print(f"round {r + 1}: {side} done", file=sys.stderr, flush=True)
        res["speedup_warm"] = res["monai"]["warm_s"] / res["voxtile"]["warm_s"]
        # the two tools' own time, each side's predictor (the network's stand-in) left out
        res["speedup_outside_predictor"] = res["monai"]["outside_predictor_s"] / res["voxtile"]["library_s"]
        res["memory_ratio"] = res["monai"]["peak_rss_bytes"] / res["voxtile"]["peak_rss_bytes"]
        rounds.append(res)
    speedups = sorted(x["speedup_warm"] for x in rounds)
    own = sorted(x["speedup_outside_predictor"] for x in rounds)
    summary = {"shape": [int(v) for v in a.shape.split(",")], "roi": a.roi, "channels": a.channels, "overlap": 0.5,
               "importance": "gaussian", "threads": a.threads, "rounds": rounds,
               "speedup_warm_min": speedups[0], "speedup_warm_median": speedups[len(speedups) // 2],
               "speedup_outside_predictor_min": own[0], "speedup_outside_predictor_median": own[len(own) // 2]}
    text = json.dumps(summary, indent=1)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
