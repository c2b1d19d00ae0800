#!/usr/bin/env python3
"""bench_brainchop.py - voxtile against MONAI + torch on a real network and a real scan: brainchop's MeshNet
networks on the T1 of tests/data/brainchop, in one script, the sides alternating (this VM's speed drifts by
+-30 % over minutes). Results and method: docs/PERFORMANCE.md ("Around a real network").

Per network:
  reference   torch on the whole volume in one pass (monai_brainchop.py's rebuild of the ONNX graph): the labels
              every tiling is measured against (the networks are fully convolutional; one pass is exact);
  monai       MONAI's sliding_window_inference with torch: ROI, overlap and Gaussian weights (sigma 0.125) as
              given, batch 1, zero padding; timed from the scaled tensor in memory to the argmax labels;
  voxtile     `voxtile run` with the plan and the same ROI, overlap and weights (--roi R --overlap F
              --importance gaussian --receptive-field none), a child process timed from spawn to exit:
              reading and writing the NIfTI files, scaling, the model's loading and compilation, blending,
              labels (all a user waits for; the MONAI side is not charged for any of that);
  voxtile-plan  `voxtile run` with the shipped plan as it is (crop blending from the receptive field), the way the
              README runs it.
Each round runs the three timed sides, the order reversed every other round; medians and minima are reported, with
the ratios MONAI / voxtile and how far each side's labels agree with the whole-volume labels.

The voxtile side runs the network with OpenVINO (the onnx runner), the MONAI side with torch: the labels also
differ where the two libraries' float32 arithmetic differs; "voxtile-whole" (the onnx runner on the whole volume
as one tile) measures that floor.

    PY=$(tools/bench/install-bench-deps.sh | tail -n 1)
    $PY tools/bench/bench_brainchop.py --voxtile build/voxtile --rounds 3
    $PY tools/bench/bench_brainchop.py --voxtile build/voxtile --networks aparc --rounds 1

The last line on stdout is one JSON object with every number; progress goes to stderr.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import monai_brainchop as mb  # noqa: E402

NETWORKS = {
    "gwm": ("tests/data/brainchop/model5_gw_ae.onnx", "tools/plans/brainchop_gwm.json"),
    "aparc": ("tests/data/brainchop/model21_104class.onnx", "tools/plans/brainchop_aparc104.json"),
}


def log(msg):
    print(f"bench_brainchop: {msg}", file=sys.stderr, flush=True)


def voxtile_run(exe, image, out, plan, extra):
    """One `voxtile run` child: wall seconds from spawn to exit, its --json summary."""
    cmd = [exe, "run", image, "-o", out, "--plan", plan, "--json", "--quiet"] + extra
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        mb.fail(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return wall, json.loads(p.stdout)


def read_labels(path, shape):
    import nibabel as nib
    import numpy as np
    import torch

    a = np.asanyarray(nib.load(path).dataobj)
    if a.ndim == 4 and a.shape[3] == 1:
        a = a[..., 0]
    if tuple(a.shape) != tuple(shape):
        mb.fail(f"{path}: shape {a.shape}, the input's is {shape}")
    return torch.from_numpy(np.ascontiguousarray(a).astype(np.int64))


def stats(v):
    return {"median_s": statistics.median(v), "min_s": min(v), "all_s": v}


def bench_network(name, a, image, x, shape, tmp):
    import torch

    onnx_path, plan = NETWORKS[name]
    model, layers, info = mb.read_meshnet(os.path.join(ROOT, onnx_path))
    net = mb.build_torch(layers)
    log(f"{name}: {onnx_path}, {info['classes']} classes, receptive field {info['receptive_field']}")

    # the reference: torch, whole volume, one pass (also torch's warm-up)
    whole, t = mb.run_whole(net, x)
    whole = whole.to(torch.int64)
    log(f"  torch whole volume: {t['total']:.2f} s")
    res = {"network": info, "plan": plan, "torch_whole_s": t["total"], "roi": a.roi, "overlap": a.overlap}

    out = os.path.join(tmp, f"{name}.nii.gz")
    gauss = ["--roi", str(a.roi), "--overlap", str(a.overlap), "--importance", "gaussian", "--receptive-field",
             "none"]
    # the floor: OpenVINO against torch on the whole volume (the onnx runner, one tile of 256^3)
    if a.voxtile_whole:
        wall, js = voxtile_run(a.voxtile, image, out, plan, ["--roi", "256"])
        res["voxtile_whole"] = {"wall_s": wall, "tiles": js["tiles"],
                                "agreement": mb.agreement(read_labels(out, shape), whole)}
        log(f"  voxtile whole volume (one tile): {wall:.2f} s, labels equal torch's at "
            f"{res['voxtile_whole']['agreement']['equal']:.6f}")

    roi_ijk = (a.roi,) * 3

    class SW:  # monai_brainchop.run_sliding's arguments
        sw_batch_size = 1
        overlap = a.overlap
        mode = "gaussian"
        sigma_scale = 0.125

    # MONAI's first sliding-window pass (oneDNN primitives for the tile shape), not counted
    if a.monai_warmup:
        _, t, _ = mb.run_sliding(net, x, roi_ijk, SW)
        log(f"  monai warm-up: {t['total']:.2f} s")
    times = {"voxtile": [], "monai": [], "voxtile-plan": []}
    labels = {}
    summaries = {}
    for r in range(a.rounds):
        order = ["voxtile", "monai", "voxtile-plan"]
        if r % 2:
            order.reverse()
        for side in order:
            if side == "monai":
                lab, t, tiles = mb.run_sliding(net, x, roi_ijk, SW)
                times[side].append(t["total"])
                labels[side] = lab.to(torch.int64)
                summaries[side] = {"tiles": tiles}
                log(f"  round {r + 1} monai: {t['total']:.2f} s ({tiles} tiles)")
            else:
                wall, js = voxtile_run(a.voxtile, image, out, plan, gauss if side == "voxtile" else [])
                times[side].append(wall)
                labels[side] = read_labels(out, shape)
                summaries[side] = {"tiles": js["tiles"], "backend": js["device"], "models": js["models"],
                                   "pipeline_s": js["seconds"], "peak_memory_mib": js["peak_memory_mib"],
                                   "stages": js["stages"]}
                log(f"  round {r + 1} {side}: {wall:.2f} s ({js['tiles']} tiles, pipeline {js['seconds']:.2f} s)")
    for side in times:
        res[side] = dict(stats(times[side]), **summaries[side], agreement=mb.agreement(labels[side], whole))
        log(f"  {side}: median {res[side]['median_s']:.2f} s, labels equal the whole volume's at "
            f"{res[side]['agreement']['equal']:.6f} ({res[side]['agreement']['differing_voxels']} voxels differ)")
    res["monai_over_voxtile"] = res["monai"]["median_s"] / res["voxtile"]["median_s"]
    res["monai_over_voxtile_plan"] = res["monai"]["median_s"] / res["voxtile-plan"]["median_s"]
    log(f"  MONAI + torch / voxtile: {res['monai_over_voxtile']:.2f}x with the same ROI, overlap and weights, "
        f"{res['monai_over_voxtile_plan']:.2f}x with the shipped plan")
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--voxtile", default=os.path.join(ROOT, "build", "voxtile"), help="the voxtile binary")
    ap.add_argument("--image", default="tests/data/brainchop/t1_crop.nii.gz", help="the T1 (repository-relative)")
    ap.add_argument("--networks", default="gwm", help="gwm, aparc or gwm,aparc (default gwm)")
    ap.add_argument("--roi", type=int, default=128, help="ROI of the MONAI side and of voxtile's (default 128)")
    ap.add_argument("--overlap", type=float, default=0.5, help="overlap fraction of both (default 0.5)")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    ap.add_argument("--threads", type=int, default=2, help="torch's intra-op threads (default 2)")
    ap.add_argument("--no-monai-warmup", dest="monai_warmup", action="store_false",
                    help="skip MONAI's untimed first pass (the 104-class network's takes minutes)")
    ap.add_argument("--no-voxtile-whole", dest="voxtile_whole", action="store_false",
                    help="skip the onnx runner on the whole volume (the 104-class network's needs ~16 GB)")
    a = ap.parse_args()
    nets = a.networks.split(",")
    if any(n not in NETWORKS for n in nets) or a.rounds < 1:
        ap.error("--networks takes gwm and/or aparc; --rounds at least 1")
    if not os.access(a.voxtile, os.X_OK):
        ap.error(f"--voxtile {a.voxtile}: not an executable (build voxtile with the onnx runner first)")

    import torch

    torch.set_num_interop_threads(1)
    torch.set_num_threads(a.threads)
    import monai
    import nibabel as nib
    import numpy as np

    image = os.path.join(ROOT, a.image)
    data = nib.load(image).get_fdata(dtype=np.float32)
    lo, hi = float(data.min()), float(data.max())
    data = (data - np.float32(lo)) / np.float32(hi - lo)
    x = torch.from_numpy(np.ascontiguousarray(data)).reshape(1, 1, *data.shape)
    shape = tuple(data.shape)
    del data
    p = subprocess.run([a.voxtile, "info"], stdout=subprocess.PIPE, text=True)
    result = {"tool": "bench_brainchop", "image": a.image, "shape_ijk": list(shape), "torch": torch.__version__,
              "monai": monai.__version__, "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
              "voxtile_info": p.stdout, "rounds": a.rounds, "loadavg_start": list(os.getloadavg()), "networks": {}}
    with tempfile.TemporaryDirectory(prefix="vxt_bench_brainchop.") as tmp:
        for n in nets:
            result["networks"][n] = bench_network(n, a, image, x, shape, tmp)
    result["loadavg_end"] = list(os.getloadavg())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
