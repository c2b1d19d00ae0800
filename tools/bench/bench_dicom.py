#!/usr/bin/python3
"""bench_dicom.py - reading a 512 x 512 x 300 CT series, uncompressed and JPEG lossless: voxtile against dcm2niix
and against pydicom + numpy stacking, in the same run, alternating (this VM's speed drifts).

  /usr/bin/python3 tools/bench/bench_dicom.py --build BUILD [--rounds 5] [--slices 300] [--keep DIR] [--json]
                                             [--baseline-build OLD]

The series is a CT phantom (an elliptic body of soft tissue with bone, air and noise: int16 stored values with
RescaleIntercept -1024, padding outside a circular field of view), written by pydicom into a temporary folder under
/dev/shm (so that the page cache, not a disk, serves every reader), its files in shuffled order; the JPEG lossless
copy is made by gdcmconv. Each round times, in turn:

  voxtile read      BUILD/bench/vxt_bench_dicom DIR --runs 1: vxt_image_read_path on the folder (scan, sort,
                    decode, stored int16 values: what `voxtile run` reads), in a process of its own (its start
                    included, as dcm2niix's is; pydicom's interpreter start is not counted); files decoded on
                    every CPU (vxt_read_options.threads 0), and again on one (--threads 1)
  baseline read     with --baseline-build: OLD/bench/vxt_bench_dicom, an older voxtile (e.g. one that decoded
                    through GDCM's codecs), the same way
  pydicom + numpy   the recipe's reader in this process: pydicom.dcmread every file, sort by ImagePositionPatient
                    along the normal, np.stack the pixel_array (JPEG through python3-gdcm), int16
  voxtile convert   BUILD/voxtile convert DIR -o OUT/x.nii (read, then write an uncompressed NIfTI)
  dcm2niix          dcm2niix -z n -b n -o OUT DIR (the same: read, write an uncompressed NIfTI)

and reports the medians and the ratios (read: pydicom / voxtile; convert: dcm2niix / voxtile). docs/PERFORMANCE.md
("DICOM") has the command and the figures. Needs Debian's python3-pydicom, python3-numpy, python3-gdcm (pydicom's
JPEG lossless decoder), libgdcm-tools (gdcmconv) and dcm2niix.
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

ROOT = "1.2.826.0.1.3680043.10.1234.9."


def phantom(rows, cols, slices, seed=7):
    """int16 stored values (HU + 1024) of an elliptic body with bone and lungs; -2000 outside the field of view."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float32)
    cy, cx = rows / 2.0, cols / 2.0
    body = ((x - cx) / (0.42 * cols)) ** 2 + ((y - cy) / (0.32 * rows)) ** 2 <= 1.0
    fov = (x - cx) ** 2 + (y - cy) ** 2 <= (0.49 * cols) ** 2
    out = np.empty((slices, rows, cols), np.int16)
    for k in range(slices):
        hu = np.full((rows, cols), -1000.0, np.float32)
        hu[body] = 40.0
        r = 0.05 * cols * (1.0 + 0.3 * np.sin(k / 20.0))
        for sx in (-0.18, 0.18):  # lungs
            hu[((x - cx - sx * cols) ** 2 + (y - cy) ** 2) <= (2.2 * r) ** 2] = -850.0
        hu[((x - cx) ** 2 + (y - cy - 0.22 * rows) ** 2) <= r ** 2] = 900.0  # spine
        hu += rng.normal(0.0, 20.0, hu.shape).astype(np.float32)
        v = np.clip(np.rint(hu + 1024.0), 0, 4095).astype(np.int16)
        v[~fov] = -2000
        out[k] = v
    return out


def write_series(folder, vol, spacing=(0.7, 0.7), step=1.25):
    os.makedirs(folder, exist_ok=True)
    series, study = generate_uid(ROOT + "1."), generate_uid(ROOT + "2.")
    order = list(range(vol.shape[0]))
    random.Random(3).shuffle(order)
    for n, k in enumerate(order):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        meta.MediaStorageSOPInstanceUID = generate_uid(ROOT + "3.")
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        d = Dataset()
        d.file_meta = meta
        d.is_little_endian, d.is_implicit_VR = True, False
        d.SOPClassUID, d.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
        d.StudyInstanceUID, d.SeriesInstanceUID = study, series
        d.Modality, d.SeriesNumber, d.InstanceNumber = "CT", 2, vol.shape[0] - k
        d.SeriesDescription = "BENCH CT"
        d.PatientName, d.PatientID = "Bench^Phantom", "BENCH"
        d.ImagePositionPatient = [-179.0, -179.0, -300.0 + step * k]
        d.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        d.PixelSpacing = [spacing[0], spacing[1]]
        d.SliceThickness = step
        d.Rows, d.Columns = vol.shape[1], vol.shape[2]
        d.SamplesPerPixel, d.PhotometricInterpretation = 1, "MONOCHROME2"
        d.BitsAllocated, d.BitsStored, d.HighBit, d.PixelRepresentation = 16, 16, 15, 1
        d.RescaleIntercept, d.RescaleSlope, d.RescaleType = -1024, 1, "HU"
        d.PixelPaddingValue = -2000
        d.PixelData = vol[k].tobytes()
        d.save_as(os.path.join(folder, "IM%05d" % (7919 * n % 100003)), write_like_original=False)


def jpeg_copy(src, dst):
    os.makedirs(dst, exist_ok=True)
    for name in os.listdir(src):
        subprocess.run(["gdcmconv", "--jpeg", os.path.join(src, name), os.path.join(dst, name)], check=True)
    ts = pydicom.dcmread(os.path.join(dst, os.listdir(dst)[0]), stop_before_pixels=True).file_meta.TransferSyntaxUID
    if ts != "1.2.840.10008.1.2.4.70":
        sys.exit("bench_dicom.py: gdcmconv --jpeg gave %s, not JPEG lossless" % ts)


def pydicom_stack(folder):
    files = [pydicom.dcmread(os.path.join(folder, f)) for f in os.listdir(folder)]
    r = np.array(files[0].ImageOrientationPatient[:3], float)
    c = np.array(files[0].ImageOrientationPatient[3:], float)
    n = np.cross(r, c)
    files.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, float), n)))
    return np.stack([d.pixel_array for d in files])


def timed(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--slices", type=int, default=300)
    ap.add_argument("--keep", help="make (or reuse) the series here instead of a temporary folder")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--baseline-build", help="also time this build's vxt_bench_dicom (an older voxtile) in the rotation")
    a = ap.parse_args()
    base = a.keep or tempfile.mkdtemp(prefix="vxt-bench-dicom-", dir="/dev/shm" if os.access("/dev/shm", os.W_OK)
                                      else None)
    raw, jpg, out = os.path.join(base, "raw"), os.path.join(base, "jpeg"), os.path.join(base, "out")
    if not os.path.isdir(raw):
        write_series(raw, phantom(512, 512, a.slices))
    if not os.path.isdir(jpg):
        jpeg_copy(raw, jpg)
    bench = os.path.join(a.build, "bench", "vxt_bench_dicom")
    cli = os.path.join(a.build, "voxtile")
    results = {}
    try:
        # the same voxels from each reader, once
        ref = pydicom_stack(raw)
        for name, folder in (("uncompressed", raw), ("jpeg_lossless", jpg)):
            assert np.array_equal(pydicom_stack(folder), ref), "pydicom: the JPEG copy decodes differently"
            t = {"voxtile_read": [], "voxtile_read_1thread": [], "pydicom_numpy": [], "voxtile_convert": [],
                 "dcm2niix": []}
            if a.baseline_build:
                t["baseline_read"] = []
            reads = [("voxtile_read", [bench, folder, "--runs", "1"]),
                     ("voxtile_read_1thread", [bench, folder, "--runs", "1", "--threads", "1"])]
            if a.baseline_build:
                reads.append(("baseline_read", [os.path.join(a.baseline_build, "bench", "vxt_bench_dicom"), folder,
                                                "--runs", "1"]))
            for r in range(a.rounds):
                # the reads in a rotating order: what runs first after the other tools (a page-fault-heavy start in
                # a process after pydicom's and dcm2niix's) is not always the same one
                for key, cmd in reads[r % len(reads):] + reads[:r % len(reads)]:
                    t[key].append(timed(cmd))
                t0 = time.perf_counter()
                pydicom_stack(folder)
                t["pydicom_numpy"].append(time.perf_counter() - t0)
                shutil.rmtree(out, ignore_errors=True)
                os.makedirs(out)
                t["voxtile_convert"].append(timed([cli, "convert", folder, "-o", os.path.join(out, "x.nii"),
                                                   "--quiet"]))
                shutil.rmtree(out, ignore_errors=True)
                os.makedirs(out)
                t["dcm2niix"].append(timed(["dcm2niix", "-z", "n", "-b", "n", "-f", "x", "-o", out, folder]))
            med = {k: statistics.median(v) for k, v in t.items()}
            med["read_ratio_pydicom_over_voxtile"] = med["pydicom_numpy"] / med["voxtile_read"]
            med["convert_ratio_dcm2niix_over_voxtile"] = med["dcm2niix"] / med["voxtile_convert"]
            results[name] = med
        bw = subprocess.run([bench, raw, "--runs", "3", "--bandwidth", "--json"], check=True, capture_output=True,
                            text=True)
        results["machine"] = json.loads(bw.stdout)
    finally:
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)
    if a.json:
        print(json.dumps(results, indent=1))
        return
    for name in ("uncompressed", "jpeg_lossless"):
        m = results[name]
        print("%-14s read: voxtile %.3f s (1 thread %.3f s), pydicom + numpy %.3f s (%.1fx); convert to .nii: "
              "voxtile %.3f s, dcm2niix %.3f s (%.1fx)%s" % (
                  name, m["voxtile_read"], m["voxtile_read_1thread"], m["pydicom_numpy"],
                  m["read_ratio_pydicom_over_voxtile"], m["voxtile_convert"], m["dcm2niix"],
                  m["convert_ratio_dcm2niix_over_voxtile"],
                  "; baseline build %.3f s" % m["baseline_read"] if "baseline_read" in m else ""))
    print("memory copy (1 thread) %.1f GB/s; %d rounds, medians, alternating" % (results["machine"]["copy_gbs"],
                                                                               a.rounds))


if __name__ == "__main__":
    main()
