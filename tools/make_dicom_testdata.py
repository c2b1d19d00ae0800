#!/usr/bin/python3
"""make_dicom_testdata.py - small synthetic DICOM series (and broken files) for voxtile's DICOM reader tests.

    /usr/bin/python3 tools/make_dicom_testdata.py OUTDIR [--t1 T1.nii.gz] [--pydicom-data DIR]

Run with Debian's python3 (python3-pydicom 2.3, python3-numpy 1.24) and Debian's gdcmconv (libgdcm-tools) on
PATH; nothing else, no network. It runs at test time as a CTest fixture, so it is deterministic (fixed seeds,
fixed UIDs under ROOT_UID, no dates or random UIDs from the tools: two runs give the same bytes) and fast (a few
seconds). Any failure -- gdcmconv missing, a conversion that does not give the intended transfer syntax or does
not decompress back to the original bytes -- ends the script with exit status 1 and a one-line message.

What it makes (old series/, bad/, expected/, codecs/ and manifest.json under OUTDIR are removed first; nothing
else in OUTDIR is touched):

  OUTDIR/series/<case>/...     one folder per case: the DICOM files of one (or two) series, one file per slice,
                               names shuffled ("IM%05d" with a permuted number), some in subfolders, InstanceNumber
                               reversed (or permuted) relative to the spatial order
  OUTDIR/bad/<case>/...        broken inputs a reader must refuse with a clear message
  OUTDIR/expected/<case>_stored.npy  the expected stored voxels, numpy shape (nk, nj, ni) = (slices, rows,
                               columns), dtype int16 or uint16: the integers of PixelData after masking to
                               BitsStored and sign extension, slices sorted as below
  OUTDIR/expected/<case>_values.npy  float32: per sorted slice k, float32(stored) * float32(slope_k) then
                               + float32(intercept_k), each op rounded to float32; voxels whose stored value is
                               PixelPaddingValue get padding_value_out instead
  OUTDIR/codecs/<pair>/...     codec pairs: a compressed file and its uncompressed twin (<pair>_raw or
                               <pair>_twin), which must read to the same voxels (manifest "pairs"); with
                               --pydicom-data, real scans of PyPI's pydicom-data (its data_store/data folder) too
  OUTDIR/series/t1_crop/...    with --t1: a real T1 (uint8 NIfTI with an sform) as a 256-slice MR series (manifest
                               "t1"), for test_brainchop's run of a real network on DICOM
  OUTDIR/manifest.json         what each case is and what a reader must make of it

The images are a phantom: an ellipsoid "body" with a few inner spheres of different values, a slow gradient
along the slices and deterministic Gaussian noise, so no slice is all zeros and all slices differ. Columns (64)
differ from rows (48) on purpose so that a transposed read is caught.

Conventions (the C tests rely on these exactly):
  * i = column index (fastest), j = row index, k = slice index after sorting the slices by ascending
    dot(ImagePositionPatient, n), n = cross(r, c), r = IOP[0:3] (direction of increasing column index),
    c = IOP[3:6].
  * affine_lps maps (i, j, k, 1) to DICOM patient LPS mm: column 0 = r * PixelSpacing[1] (column spacing),
    column 1 = c * PixelSpacing[0] (row spacing), column 2 = (IPP_last - IPP_first) / (nk - 1) over the sorted
    slices, column 3 = IPP_first. affine_ras = diag(-1, -1, 1, 1) @ affine_lps.
  * Every DS value is written from a string of at most 16 characters, and all manifest numbers (affines,
    normal, spacings) are computed from those strings parsed back, so they are exactly what a reader parsing
    the files gets (up to the reader's own arithmetic).

Manifest: {"version": 1, "generator": "tools/make_dicom_testdata.py", "expected_dir": "expected",
"cases": [...]}. Each case has the fields below; a field that does not apply is null. Paths are relative to
OUTDIR.
  name, path ("series/<name>" or "bad/<name>"), kind ("series" | "bad"), modality, series_uid, series_number,
  description, files (number of DICOM files under path), shape [nk, nj, ni], spacing [dk, dj, di] (dk = length
  of affine column 2, dj = PixelSpacing[0], di = PixelSpacing[1]), affine_lps, affine_ras (lists of 4 rows),
  stored_dtype ("int16" | "uint16"), slope, intercept (the uniform rescale; null when it varies),
  rescale_varies, stored_npy, values_npy, has_padding, padding_stored, padding_value_out, transfer_syntax
  (UID), same_as (another case with the same pixels and geometry, hence the same expected arrays, which the
  entry repeats), tilt_degrees, expect_error (lowercase substring a good error message contains; for series
  cases the reader's default behaviour), tag ("(gggg,eeee)" to blame, when one is), skip_reason (why the
  variant could not be made; the entry then has no files).
Extra fields:
  generator, expected_dir   (top level) this script; the folder of the .npy files ("expected")
  sop_class_uid       SOPClassUID of the files
  slices              nk (the number of distinct slice positions)
  normal              n = cross(r, c) from the parsed IOP (not normalised)
  slice_step_normal   dot(affine column 2, n / |n|): the slice spacing along the normal (differs from dk
                      only with gantry tilt)
  bits_stored, pixel_representation
  rescale_slopes, rescale_intercepts  per sorted slice (null when the files have no rescale tags)
  instance_numbers    InstanceNumber per sorted slice (shows they are reversed or permuted)
  multiframe          true for the enhanced (one file, many frames) cases; frame_order gives, for each frame
                      in file order, its sorted slice index k
  expected_with_option  for cases refused by default (ct_gap, ct_duplicate): the reader option under which the
                      expected arrays apply ("keep_gaps": the remaining slices; "drop_duplicates": the volume
                      with the second copy ignored)
  missing_slice_position, missing_slice_index, nominal_slice_step   (ct_gap: the IPP of the absent slice, its
                      index in the complete grid and the regular step; affine column 2 still follows the
                      definition above, i.e. the mean step over the remaining slices)
  duplicate_position, duplicate_files  (ct_duplicate)
  series              (two_series) a list with a full entry (the fields above, name "two_series_<number>")
                      per series
  odd_slices          (mixed_size, mixed_orientation) the files whose size / orientation differs
  file                (bad cases) the one file to open, when the case is a single file
  full_length         (truncated) the length of the file before it was cut
  expect_error_alternatives  other substrings that are also acceptable
  base_case           (ts_*_u16 workaround variants) the case whose geometry they share
"""
import concurrent.futures
import copy
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence

# ----------------------------------------------------------------------------------------------------------------
# Constants

ROOT_UID = "1.2.826.0.1.3680043.10.1234."
IMPLEMENTATION_UID = ROOT_UID + "0.1"
IMPLEMENTATION_VERSION = "VOXTILE_TESTGEN"

CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2.1"
ENHANCED_MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"

TS_IMPLICIT_LE = "1.2.840.10008.1.2"
TS_EXPLICIT_LE = "1.2.840.10008.1.2.1"
TS_EXPLICIT_BE = "1.2.840.10008.1.2.2"
TS_JPEG_LOSSLESS = "1.2.840.10008.1.2.4.70"
TS_JPEGLS_LOSSLESS = "1.2.840.10008.1.2.4.80"
TS_J2K_LOSSLESS = "1.2.840.10008.1.2.4.90"
TS_RLE = "1.2.840.10008.1.2.5"
TS_MPEG2 = "1.2.840.10008.1.2.4.100"

# Compressed variants of ct_axial made with gdcmconv: case name -> (transfer syntax, gdcmconv flag). Without
# --lossy, gdcmconv's JPEG is process 14 SV1, its JPEG-LS and JPEG 2000 are reversible.
GDCMCONV_VARIANTS = [
    ("ts_jpeg_lossless", TS_JPEG_LOSSLESS, "--jpeg"),
    ("ts_jpegls_lossless", TS_JPEGLS_LOSSLESS, "--jpegls"),
    ("ts_j2k_lossless", TS_J2K_LOSSLESS, "--j2k"),
    ("ts_rle", TS_RLE, "--rle"),
]

NI, NJ = 64, 48  # columns, rows (different on purpose)

# Every case gets a fixed number: its UIDs and random seed derive from it.
CASE_NUMBERS = {name: n for n, name in enumerate([
    "ct_axial", "ct_u12", "mr_oblique", "ct_gap", "ct_duplicate", "ct_rescale", "two_series", "ct_tilt",
    "mixed_size", "mixed_orientation", "enhanced_ct", "enhanced_mr", "ts_u16",
    "bad_truncated", "bad_no_pixels", "bad_unsupported_ts", "bad_spacing", "bad_huge", "bad_zero_slice_spacing",
], start=1)}

STUDY_UID = ROOT_UID + "1"


class Fail(Exception):
    """A problem that must stop the script (reported as one line, exit status 1)."""


def uid(*parts):
    """A fixed UID under ROOT_UID: ROOT_UID + "2.3.7" for uid(2, 3, 7)."""
    u = ROOT_UID + ".".join(str(p) for p in parts)
    assert len(u) <= 64
    return u


def series_uid(case, series=1):
    return uid(2, CASE_NUMBERS[case], series)


def instance_uid(case, series, k):
    return uid(3, CASE_NUMBERS[case], series, k)


def frame_of_reference_uid(case):
    return uid(4, CASE_NUMBERS[case])


# ----------------------------------------------------------------------------------------------------------------
# Decimal strings (DS) that round-trip


def ds(x):
    """x as a DS string of at most 16 characters (the most significant digits that fit; "0" for +-0)."""
    for prec in range(15, 0, -1):
        s = "%.*g" % (prec, x)
        if len(s) <= 16:
            break
    if float(s) == 0.0:
        s = "0"
    return s


def dsv(values):
    """A list of DS strings."""
    return [ds(v) for v in values]


def parse(strings):
    """DS strings back to a float64 array: exactly what a reader parsing the file gets."""
    return np.array([float(s) for s in strings], dtype=np.float64)


# ----------------------------------------------------------------------------------------------------------------
# Pixels


def phantom(nk, seed, ni=NI, nj=NJ):
    """An HU-like float phantom of shape (nk, nj, ni): air -1000, an ellipsoid body ~40 with four inner spheres
    (bone 700, fat -90, dense 1500, soft 200), a gradient of 20 per unit along k and Gaussian noise (sigma 12).
    The body reaches every slice (its z semi-axis is 1.3 on a [-1, 1] grid)."""
    rng = np.random.default_rng(seed)
    z, y, x = np.meshgrid(np.linspace(-1, 1, nk), np.linspace(-1, 1, nj), np.linspace(-1, 1, ni), indexing="ij")
    vol = np.full((nk, nj, ni), -1000.0)
    vol[(x / 0.85) ** 2 + (y / 0.75) ** 2 + (z / 1.3) ** 2 <= 1.0] = 40.0
    for (cx, cy, cz), rad, val in [((-0.35, -0.2, -0.3), 0.28, 700.0), ((0.4, 0.1, 0.2), 0.22, -90.0),
                                   ((0.0, 0.35, 0.55), 0.18, 1500.0), ((0.1, -0.3, -0.6), 0.2, 200.0)]:
        vol[(x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2 <= rad * rad] = val
    vol += 20.0 * z
    vol += rng.normal(0.0, 12.0, vol.shape)
    return vol


def ct_stored(nk, seed, ni=NI, nj=NJ):
    """Stored CT values (int16) for a phantom with intercept -1024: HU + 1024 clipped to [0, 4095]."""
    return np.clip(np.rint(phantom(nk, seed, ni, nj) + 1024.0), 0, 4095).astype(np.int16)


def mr_stored(nk, seed, ni=NI, nj=NJ, gain=0.6):
    """Stored MR values (uint16): the phantom shifted to >= 0 and scaled, clipped to [0, 4095]."""
    v = np.rint((phantom(nk, seed, ni, nj) + 1000.0) * gain)
    return np.clip(v, 0, 4095).astype(np.uint16)


def fov_mask(nj, ni, row_spacing, col_spacing, radius_mm):
    """True outside a circular field of view centred on the image (where CT scanners write padding)."""
    dy = (np.arange(nj) - (nj - 1) / 2.0) * row_spacing
    dx = (np.arange(ni) - (ni - 1) / 2.0) * col_spacing
    return dy[:, None] ** 2 + dx[None, :] ** 2 > radius_mm ** 2


def rotation(ax_deg, ay_deg):
    """Rotation about x by ax then about y by ay (R = Ry @ Rx)."""
    a, b = math.radians(ax_deg), math.radians(ay_deg)
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    return ry @ rx


# ----------------------------------------------------------------------------------------------------------------
# Datasets and files


def new_dataset(sop_class, sop_uid, ts=TS_EXPLICIT_LE):
    """An empty dataset with complete file meta information for transfer syntax ts."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ts
    meta.ImplementationClassUID = IMPLEMENTATION_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    d = Dataset()
    d.file_meta = meta
    d.preamble = b"\0" * 128
    set_transfer_syntax(d, ts)
    d.SOPClassUID = sop_class
    d.SOPInstanceUID = sop_uid
    return d


def set_transfer_syntax(d, ts):
    d.file_meta.TransferSyntaxUID = ts
    d.is_implicit_VR = ts == TS_IMPLICIT_LE
    d.is_little_endian = ts != TS_EXPLICIT_BE


def write(d, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pydicom.dcmwrite(path, d, write_like_original=False)


def to_bytes(d):
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, d, write_like_original=False)
    return buf.getvalue()


def pixel_bytes(a, big_endian=False):
    """The PixelData bytes of a 16-bit array."""
    return a.astype(a.dtype.newbyteorder(">" if big_endian else "<")).tobytes()


def common_tags(d, case, modality, series, number, description):
    """Patient / study / series / equipment tags shared by every file of a series."""
    d.SpecificCharacterSet = "ISO_IR 100"
    d.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"] if modality == "CT" else ["ORIGINAL", "PRIMARY", "M", "ND"]
    d.StudyDate = d.SeriesDate = d.AcquisitionDate = d.ContentDate = "20240101"
    d.StudyTime = d.SeriesTime = d.AcquisitionTime = d.ContentTime = "120000"
    d.AccessionNumber = "VXT0001"
    d.Modality = modality
    d.Manufacturer = "voxtile"
    d.InstitutionName = "voxtile test data"
    d.ReferringPhysicianName = ""
    d.StationName = "TESTGEN"
    d.SeriesDescription = description
    d.ManufacturerModelName = "make_dicom_testdata"
    d.PatientName = "Voxtile^Phantom"
    d.PatientID = "VOXTILE001"
    d.PatientBirthDate = "19700101"
    d.PatientSex = "O"
    d.BodyPartExamined = "HEAD"
    d.PatientPosition = "HFS"
    d.StudyInstanceUID = STUDY_UID
    d.SeriesInstanceUID = series
    d.StudyID = "1"
    d.SeriesNumber = number
    d.AcquisitionNumber = 1
    d.FrameOfReferenceUID = frame_of_reference_uid(case)
    d.PositionReferenceIndicator = ""


def image_pixel_tags(d, pixels, bits_stored, signed):
    d.SamplesPerPixel = 1
    d.PhotometricInterpretation = "MONOCHROME2"
    d.Rows, d.Columns = int(pixels.shape[-2]), int(pixels.shape[-1])
    d.BitsAllocated = 16
    d.BitsStored = bits_stored
    d.HighBit = bits_stored - 1
    d.PixelRepresentation = 1 if signed else 0


class Slice:
    """One single-frame file to write: its geometry strings, stored pixels (nj, ni) and rescale strings.

    raw, when set, replaces the PixelData bytes (ct_u12: pixels plus garbage in the unused high bits)."""

    def __init__(self, ipp, iop, pixels, slope=None, intercept=None, raw=None):
        self.ipp, self.iop, self.pixels = ipp, iop, pixels
        self.slope, self.intercept, self.raw = slope, intercept, raw


class Series:
    """A single-frame series: tags shared by its slices and the slices in spatial (sorted) order."""

    def __init__(self, case, modality, number, description, pixel_spacing, thickness, bits_stored=16,
                 signed=True, padding=None, series=1, rescale_type="HU", tilt=None):
        self.case, self.modality, self.number, self.description = case, modality, number, description
        self.pixel_spacing, self.thickness = pixel_spacing, thickness
        self.bits_stored, self.signed, self.padding = bits_stored, signed, padding
        self.series_index, self.rescale_type, self.tilt = series, rescale_type, tilt
        self.uid = series_uid(case, series)
        self.slices = []

    @property
    def sop_class(self):
        return CT_STORAGE if self.modality == "CT" else MR_STORAGE

    def dataset(self, s, instance_number, sop_uid, ts=TS_EXPLICIT_LE):
        """The dataset of slice s."""
        d = new_dataset(self.sop_class, sop_uid, ts)
        common_tags(d, self.case, self.modality, self.uid, self.number, self.description)
        if self.modality == "CT":
            d.KVP = "120"
        else:
            d.ScanningSequence, d.SequenceVariant, d.ScanOptions, d.MRAcquisitionType = "GR", "SP", "", "3D"
            d.RepetitionTime, d.EchoTime, d.MagneticFieldStrength = "8.5", "3.2", "3"
            d.FlipAngle = "8"
        d.SliceThickness = self.thickness
        if self.tilt is not None:
            d.GantryDetectorTilt = self.tilt
        d.InstanceNumber = instance_number
        d.ImagePositionPatient = s.ipp
        d.ImageOrientationPatient = s.iop
        if self.modality == "CT" and self.tilt is None and s.iop == dsv([1, 0, 0, 0, 1, 0]):
            d.SliceLocation = s.ipp[2]
        image_pixel_tags(d, s.pixels, self.bits_stored, self.signed)
        d.PixelSpacing = self.pixel_spacing
        if self.padding is not None:
            d.add_new(0x00280120, "SS" if self.signed else "US", self.padding)  # PixelPaddingValue
        if s.slope is not None:
            d.RescaleIntercept = s.intercept
            d.RescaleSlope = s.slope
            d.RescaleType = self.rescale_type
        big = ts == TS_EXPLICIT_BE
        d.PixelData = s.raw if s.raw is not None and not big else pixel_bytes(s.pixels, big)
        d["PixelData"].VR = "OW"
        return d


def shuffled_names(rng, count, start=1, step=1):
    """count file names "IM%05d" whose numbers are a permutation of start, start + step, ..."""
    return ["IM%05d" % (start + step * int(p)) for p in rng.permutation(count)]


# ----------------------------------------------------------------------------------------------------------------
# Expected arrays and manifest entries


def rows(a):
    """A 4x4 array as a list of 4 lists of floats (no -0.0)."""
    return [[float(v) + 0.0 for v in row] for row in a]


def geometry(series_pixel_spacing, iop, ipps):
    """Normal, affines and spacing from the parsed strings (ipps in sorted order). Checks the sort order."""
    r, c = parse(iop[:3]), parse(iop[3:])
    n = np.cross(r, c)
    pos = [parse(p) for p in ipps]
    dots = [float(np.dot(p, n)) for p in pos]
    if any(b <= a for a, b in zip(dots, dots[1:])):
        raise Fail("internal: slices not in ascending position order")
    ps = parse(series_pixel_spacing)
    a = np.eye(4)
    a[:3, 0] = r * ps[1]
    a[:3, 1] = c * ps[0]
    a[:3, 2] = (pos[-1] - pos[0]) / (len(pos) - 1)
    a[:3, 3] = pos[0]
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ a
    step = float(np.linalg.norm(a[:3, 2]))
    return {
        "spacing": [step, float(ps[0]), float(ps[1])],
        "affine_lps": rows(a), "affine_ras": rows(ras),
        "normal": [float(v) + 0.0 for v in n],
        "slice_step_normal": float(np.dot(a[:3, 2], n / np.linalg.norm(n))),
    }


def expected_values(stored, slopes, intercepts, padding):
    """float32 values: float32(stored) * float32(slope_k) + float32(intercept_k) per slice (two float32 ops);
    padding voxels get float32(pad) * float32(slope_0) + float32(intercept_0)."""
    v = stored.astype(np.float32)
    out = np.empty_like(v)
    for k in range(v.shape[0]):
        out[k] = (v[k] * np.float32(slopes[k])) + np.float32(intercepts[k])
    pad_out = None
    if padding is not None:
        pad_out = (np.float32(padding) * np.float32(slopes[0])) + np.float32(intercepts[0])
        out[stored == padding] = pad_out
    return out, pad_out


class Output:
    """OUTDIR, the expected arrays and the manifest entries."""

    def __init__(self, root):
        self.root = root
        self.cases = []
        self.pairs = []
        self.t1 = None

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def save_arrays(self, name, stored, values):
        os.makedirs(self.path("expected"), exist_ok=True)
        np.save(self.path("expected", name + "_stored.npy"), stored)
        np.save(self.path("expected", name + "_values.npy"), values)
        return "expected/%s_stored.npy" % name, "expected/%s_values.npy" % name

    def add(self, entry):
        self.cases.append(entry)
        return entry


def empty_entry(name, path, kind):
    """A manifest entry with every documented field null."""
    e = {"name": name, "path": path, "kind": kind}
    for key in ["modality", "series_uid", "series_number", "description", "files", "shape", "spacing",
                "affine_lps", "affine_ras", "stored_dtype", "slope", "intercept", "rescale_varies",
                "stored_npy", "values_npy", "has_padding", "padding_stored", "padding_value_out",
                "transfer_syntax", "same_as", "tilt_degrees", "expect_error", "tag", "skip_reason"]:
        e[key] = None
    return e


def series_entry(out, name, array_name, s, instance_numbers=None):
    """Manifest fields (and expected arrays, saved as array_name) of Series s, whose slices are sorted."""
    stored = np.stack([sl.pixels for sl in s.slices])
    if s.bits_stored < 16:
        stored = stored & np.array((1 << s.bits_stored) - 1, stored.dtype)
    has_rescale = s.slices[0].slope is not None
    slopes = [float(sl.slope) if has_rescale else 1.0 for sl in s.slices]
    intercepts = [float(sl.intercept) if has_rescale else 0.0 for sl in s.slices]
    varies = len(set(zip(slopes, intercepts))) > 1
    values, pad_out = expected_values(stored, slopes, intercepts, s.padding)
    stored_npy, values_npy = out.save_arrays(array_name, stored, values)
    e = {
        "modality": s.modality, "series_uid": s.uid, "series_number": s.number, "description": s.description,
        "sop_class_uid": s.sop_class, "slices": int(stored.shape[0]), "shape": list(stored.shape),
    }
    e.update(geometry(s.pixel_spacing, s.slices[0].iop, [sl.ipp for sl in s.slices]))
    e.update({
        "stored_dtype": str(stored.dtype), "bits_stored": s.bits_stored,
        "pixel_representation": 1 if s.signed else 0,
        "slope": None if varies else slopes[0], "intercept": None if varies else intercepts[0],
        "rescale_varies": varies,
        "rescale_slopes": slopes if has_rescale else None,
        "rescale_intercepts": intercepts if has_rescale else None,
        "stored_npy": stored_npy, "values_npy": values_npy,
        "has_padding": s.padding is not None, "padding_stored": s.padding,
        "padding_value_out": None if pad_out is None else float(pad_out),
        "instance_numbers": instance_numbers,
        "tilt_degrees": None if s.tilt is None else float(s.tilt),
    })
    return e


def write_series(out, case_dir, s, names, instance_numbers, subdir_of, ts=TS_EXPLICIT_LE):
    """Write the sorted slices of s: slice k as subdir_of(k)/names[k], InstanceNumber instance_numbers[k]."""
    paths = []
    for k, sl in enumerate(s.slices):
        rel = os.path.join(subdir_of(k), names[k])
        d = s.dataset(sl, instance_numbers[k], instance_uid(s.case, s.series_index, k + 1), ts)
        write(d, out.path(case_dir, rel))
        paths.append(rel)
    return paths


# ----------------------------------------------------------------------------------------------------------------
# The series cases

AXIAL = dsv([1, 0, 0, 0, 1, 0])


def axial_series(case, nk, seed, padding=-2000, ps=("0.75", "0.7"), z0=-30.0, dz=2.5, **kw):
    """A CT axial series like ct_axial: int16, intercept -1024, padding outside a circular FOV, z ascending."""
    s = Series(case, "CT", 2, "CT AXIAL HEAD", list(ps), ds(dz), padding=padding, **kw)
    stored = ct_stored(nk, seed)
    if padding is not None:
        stored[:, fov_mask(NJ, NI, float(ps[0]), float(ps[1]), 21.0)] = padding
    x0 = -(NI - 1) / 2.0 * float(ps[1])
    y0 = -(NJ - 1) / 2.0 * float(ps[0])
    for k in range(nk):
        s.slices.append(Slice(dsv([x0, y0 + 20.0, z0 + dz * k]), AXIAL, stored[k], "1", "-1024"))
    return s


def subdir_two(names):
    """Files spread over two subfolders, by their name's number."""
    return lambda k: "dirA" if int(names[k][2:]) % 2 else os.path.join("dirB", "deeper")


def subdir_some(names):
    """A third of the files in a subfolder "sub", the rest at the top."""
    return lambda k: "sub" if int(names[k][2:]) % 3 == 0 else ""


def add_series(out, name, s, names, inst, layout, files=None, extra=None):
    """Write the sorted slices of s as case `name` (slice k as layout(k)/names[k], InstanceNumber inst[k]) and add
    its manifest entry: series_entry, the file count (len(names) unless given), explicit VR little endian, then
    `extra`. Returns what write_series returns and the entry."""
    written = write_series(out, "series/" + name, s, names, inst, layout)
    e = empty_entry(name, "series/" + name, "series")
    e.update(series_entry(out, name, name, s, instance_numbers=inst))
    e.update({"files": len(names) if files is None else files, "transfer_syntax": TS_EXPLICIT_LE})
    if extra:
        e.update(extra)
    out.add(e)
    return written, e


def make_ct_axial(out):
    name = "ct_axial"
    rng = np.random.default_rng(CASE_NUMBERS[name])
    s = axial_series(name, 20, seed=101)
    nk = len(s.slices)
    names = shuffled_names(rng, nk, start=1001, step=7)
    inst = list(range(nk, 0, -1))  # reversed: instance 1 is the highest z
    layout = subdir_two(names)
    files, e = add_series(out, name, s, names, inst, layout)
    return s, names, inst, layout, files, e


def make_ct_u12(out):
    name = "ct_u12"
    rng = np.random.default_rng(CASE_NUMBERS[name])
    s = axial_series(name, 18, seed=102, padding=None, bits_stored=12, signed=False, z0=-100.0, dz=3.0)
    for sl in s.slices:
        clean = sl.pixels.astype(np.uint16)
        # Garbage in the unused bits 12-15 of about a third of the pixels (overlay-like junk).
        junk = (rng.integers(1, 16, clean.shape) << 12) * (rng.random(clean.shape) < 0.35)
        sl.pixels = clean
        sl.raw = pixel_bytes((clean | junk.astype(np.uint16)).astype(np.uint16))
    nk = len(s.slices)
    names = shuffled_names(rng, nk, start=201)
    inst = list(range(nk, 0, -1))
    add_series(out, name, s, names, inst, subdir_some(names))


def make_mr_oblique(out):
    name = "mr_oblique"
    rng = np.random.default_rng(CASE_NUMBERS[name])
    nk = 16
    rot = rotation(15.0, 20.0)
    iop = dsv(list(rot[:, 0]) + list(rot[:, 1]))
    s = Series(name, "MR", 4, "T1 OBLIQUE", ["0.9", "0.8"], "1.5", signed=False)
    stored = mr_stored(nk, seed=103)
    # Centre the slab on (10, -20, 30) mm; slices 1.5 mm apart along the (exact) normal.
    centre = np.array([10.0, -20.0, 30.0])
    corner = centre - rot[:, 0] * 0.8 * (NI - 1) / 2 - rot[:, 1] * 0.9 * (NJ - 1) / 2 - rot[:, 2] * 1.5 * (nk - 1) / 2
    for k in range(nk):
        s.slices.append(Slice(dsv(corner + rot[:, 2] * 1.5 * k), iop, stored[k]))
    names = shuffled_names(rng, nk, start=301)
    inst = [int(v) + 1 for v in rng.permutation(nk)]  # permuted, neither ascending nor descending
    add_series(out, name, s, names, inst, subdir_some(names))


def make_ct_gap(out):
    name = "ct_gap"
    rng = np.random.default_rng(CASE_NUMBERS[name])
    full = axial_series(name, 12, seed=104)
    missing = 6
    missing_ipp = parse(full.slices[missing].ipp)
    inst_full = list(range(12, 0, -1))
    names_full = shuffled_names(rng, 12, start=401)
    keep = [k for k in range(12) if k != missing]
    full.slices = [full.slices[k] for k in keep]
    names = [names_full[k] for k in keep]
    inst = [inst_full[k] for k in keep]
    add_series(out, name, full, names, inst, subdir_some(names),
               extra={"expect_error": "gap", "expected_with_option": "keep_gaps", "missing_slice_index": missing,
                      "missing_slice_position": [float(v) for v in missing_ipp], "nominal_slice_step": 2.5})


def make_ct_duplicate(out):
    name = "ct_duplicate"
    rng = np.random.default_rng(CASE_NUMBERS[name])
    s = axial_series(name, 12, seed=105)
    nk = 12
    names = shuffled_names(rng, nk + 1, start=501)
    inst = list(range(nk + 1, 1, -1))
    layout = subdir_some(names)
    files = write_series(out, "series/" + name, s, names[:nk], inst, layout)
    # The second copy of slice 5: same position and pixels, its own SOPInstanceUID and InstanceNumber 1.
    dup = 5
    d = s.dataset(s.slices[dup], 1, instance_uid(name, 1, 99))
    write(d, out.path("series", name, layout(nk), names[nk]))
    e = empty_entry(name, "series/" + name, "series")
    e.update(series_entry(out, name, name, s, instance_numbers=inst))
    e.update({"files": nk + 1, "transfer_syntax": TS_EXPLICIT_LE, "expect_error": "duplicate",
              "expected_with_option": "drop_duplicates",
              "duplicate_position": [float(v) for v in parse(s.slices[dup].ipp)],
              "duplicate_files": [files[dup], os.path.join(layout(nk), names[nk])]})
    out.add(e)


def make_ct_rescale(out):
    name = "ct_rescale"
    rng = np.random.default_rng(CASE_NUMBERS[name])
    nk = 18
    s = axial_series(name, nk, seed=106, z0=50.0, dz=2.0)
    hu = phantom(nk, 106)
    slopes, intercepts = ["1", "0.5", "2"], ["-1024", "-1000"]
    fov = fov_mask(NJ, NI, 0.75, 0.7, 21.0)
    for k, sl in enumerate(s.slices):
        sl.slope, sl.intercept = slopes[k % 3], intercepts[k % 2]
        v = np.clip(np.rint((hu[k] - float(sl.intercept)) / float(sl.slope)), 0, 8000).astype(np.int16)
        v[fov] = s.padding
        sl.pixels = v
    names = shuffled_names(rng, nk, start=601)
    inst = list(range(nk, 0, -1))
    add_series(out, name, s, names, inst, subdir_some(names))


def make_two_series(out):
    name = "two_series"
    rng = np.random.default_rng(CASE_NUMBERS[name])
    entries, total = [], 0
    names_all = shuffled_names(rng, 16 + 20, start=701)
    for idx, (number, desc, nk, ps, seed, gain) in enumerate([(3, "AX T1", 16, ["0.9", "0.9"], 107, 0.6),
                                                              (7, "AX T2", 20, ["1", "0.8"], 108, 0.9)]):
        s = Series(name, "MR", number, desc, ps, "2", signed=False, series=idx + 1)
        stored = mr_stored(nk, seed, gain=gain)
        for k in range(nk):
            s.slices.append(Slice(dsv([-28.35, -21.15, -20.0 + 2.0 * k]), AXIAL, stored[k]))
        names = names_all[total:total + nk]  # the two series' names interleave
        inst = list(range(nk, 0, -1))
        write_series(out, "series/" + name, s, names, inst, subdir_some(names))
        sub = {"name": "%s_%d" % (name, number), "files": nk, "transfer_syntax": TS_EXPLICIT_LE}
        sub.update(series_entry(out, name, "%s_%d" % (name, number), s, instance_numbers=inst))
        entries.append(sub)
        total += nk
    e = empty_entry(name, "series/" + name, "series")
    e.update({"modality": "MR", "files": total, "transfer_syntax": TS_EXPLICIT_LE, "series": entries})
    out.add(e)


def make_ct_tilt(out):
    name = "ct_tilt"
    rng = np.random.default_rng(CASE_NUMBERS[name])
    nk, t = 16, math.radians(15.0)
    iop = dsv([1, 0, 0, 0, math.cos(t), -math.sin(t)])
    s = Series(name, "CT", 5, "CT TILT 15", ["0.75", "0.7"], "2.5", padding=-2000, tilt="15")
    stored = ct_stored(nk, seed=109)
    stored[:, fov_mask(NJ, NI, 0.75, 0.7, 21.0)] = -2000
    for k in range(nk):  # table motion: positions advance along z only
        s.slices.append(Slice(dsv([-22.05, -5.0, -40.0 + 2.5 * k]), iop, stored[k], "1", "-1024"))
    names = shuffled_names(rng, nk, start=801)
    # InstanceNumber in position order here: dcm2niix orders slices by InstanceNumber and, with them reversed, places
    # a sheared series' origin off the first slice (docs/DICOM.md); its _Tilt output is compared only this way
    inst = list(range(1, nk + 1))
    add_series(out, name, s, names, inst, subdir_some(names))


def make_mixed(out):
    """mixed_size: 3 of 12 slices are 40 x 56; mixed_orientation: 3 of 12 slices rotated 10 degrees about z."""
    for name, error in [("mixed_size", "size"), ("mixed_orientation", "orientation")]:
        rng = np.random.default_rng(CASE_NUMBERS[name])
        nk = 12
        s = axial_series(name, nk, seed=110, padding=None)
        odd = [2, 7, 8]
        for k in odd:
            sl = s.slices[k]
            if name == "mixed_size":
                sl.pixels = ct_stored(1, seed=111 + k, ni=56, nj=40)[0]
            else:
                a = math.radians(10.0)
                sl.iop = dsv([math.cos(a), math.sin(a), 0, -math.sin(a), math.cos(a), 0])
        names = shuffled_names(rng, nk, start=901)
        inst = list(range(nk, 0, -1))
        write_series(out, "series/" + name, s, names, inst, subdir_some(names))
        e = empty_entry(name, "series/" + name, "series")
        e.update({"modality": "CT", "series_uid": s.uid, "series_number": s.number, "description": s.description,
                  "files": nk, "transfer_syntax": TS_EXPLICIT_LE, "expect_error": error,
                  "odd_slices": [os.path.join(subdir_some(names)(k), names[k]) for k in odd]})
        out.add(e)


# ----------------------------------------------------------------------------------------------------------------
# Enhanced (multi-frame) cases


def make_enhanced(out, name, modality):
    """One multi-frame file of 12 frames in a non-sorted order, geometry in the functional groups."""
    rng = np.random.default_rng(CASE_NUMBERS[name])
    nk = 12
    if modality == "CT":
        sop, ps, thick = ENHANCED_CT_STORAGE, ["0.75", "0.7"], "3"
        iop = AXIAL
        ipps = [dsv([-22.05, -17.625, -18.0 + 3.0 * k]) for k in range(nk)]  # sorted: z ascending
        stored = ct_stored(nk, seed=112)
        order = [int(v) for v in rng.permutation(nk)]  # frame f holds sorted slice order[f]
        signed, frame_type = True, ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    else:
        # Sagittal: r = +y (anterior to posterior), c = -z (down); n = cross(r, c) = -x, so the sorted order
        # runs from patient left to right (x descending).
        sop, ps, thick = ENHANCED_MR_STORAGE, ["0.8", "0.9"], "2"
        iop = dsv([0, 1, 0, 0, 0, -1])
        ipps = [dsv([12.0 - 2.0 * k, -28.35, 18.8]) for k in range(nk)]
        stored = mr_stored(nk, seed=113)
        order = list(range(nk - 1, -1, -1))  # reversed
        signed, frame_type = False, ["ORIGINAL", "PRIMARY", "M", "NONE"]
    suid = series_uid(name)
    d = new_dataset(sop, instance_uid(name, 1, 1))
    common_tags(d, name, modality, suid, 6, "ENHANCED " + modality)
    d.ImageType = frame_type
    d.InstanceNumber = 1
    d.AcquisitionDateTime = "20240101120000"
    d.AcquisitionDuration = 10.0  # FD
    d.ContentQualification = "PRODUCT"
    d.PixelPresentation = "MONOCHROME"
    d.VolumetricProperties = "VOLUME"
    d.VolumeBasedCalculationTechnique = "NONE"
    d.BurnedInAnnotation = "NO"
    d.LossyImageCompression = "00"
    d.PresentationLUTShape = "IDENTITY"
    d.DeviceSerialNumber = "0001"
    d.SoftwareVersions = "1"
    if modality == "MR":
        d.ComplexImageComponent = "MAGNITUDE"
        d.AcquisitionContrast = "T1"
        d.ResonantNucleus = "1H"
        d.MagneticFieldStrength = "3"
        d.ImagedNucleus = "1H"
        d.KSpaceFiltering = "NONE"
        d.ApplicableSafetyStandardAgency = "IEC"
    else:
        d.KVP = "120"
    # Multi-frame Dimension module: frames indexed by (StackID, InStackPositionNumber).
    dim_org = uid(5, CASE_NUMBERS[name])
    org = Dataset()
    org.DimensionOrganizationUID = dim_org
    d.DimensionOrganizationSequence = Sequence([org])
    d.DimensionOrganizationType = "3D"
    index_items = []
    for pointer, label in [(0x00209056, "Stack ID"), (0x00209057, "In-Stack Position Number")]:
        it = Dataset()
        it.DimensionOrganizationUID = dim_org
        it.DimensionIndexPointer = pointer
        it.FunctionalGroupPointer = 0x00209111  # FrameContentSequence
        it.DimensionDescriptionLabel = label
        index_items.append(it)
    d.DimensionIndexSequence = Sequence(index_items)
    # Shared functional groups: spacing, orientation, rescale (CT), frame type.
    shared = Dataset()
    pm = Dataset()
    pm.PixelSpacing = ps
    pm.SliceThickness = thick
    shared.PixelMeasuresSequence = Sequence([pm])
    po = Dataset()
    po.ImageOrientationPatient = iop
    shared.PlaneOrientationSequence = Sequence([po])
    ft = Dataset()
    ft.FrameType = frame_type
    ft.PixelPresentation = "MONOCHROME"
    ft.VolumetricProperties = "VOLUME"
    ft.VolumeBasedCalculationTechnique = "NONE"
    if modality == "CT":
        pvt = Dataset()
        pvt.RescaleIntercept = "-1024"
        pvt.RescaleSlope = "1"
        pvt.RescaleType = "HU"
        shared.PixelValueTransformationSequence = Sequence([pvt])
        shared.CTImageFrameTypeSequence = Sequence([ft])
    else:
        ft.ComplexImageComponent = "MAGNITUDE"
        ft.AcquisitionContrast = "T1"
        shared.MRImageFrameTypeSequence = Sequence([ft])
    d.SharedFunctionalGroupsSequence = Sequence([shared])
    # Per-frame functional groups, in file (frame) order.
    per = []
    for f, k in enumerate(order):
        fg = Dataset()
        fc = Dataset()
        fc.FrameAcquisitionNumber = f + 1
        fc.StackID = "1"
        fc.InStackPositionNumber = k + 1
        fc.DimensionIndexValues = [1, k + 1]
        fg.FrameContentSequence = Sequence([fc])
        pp = Dataset()
        pp.ImagePositionPatient = ipps[k]
        fg.PlanePositionSequence = Sequence([pp])
        per.append(fg)
    d.PerFrameFunctionalGroupsSequence = Sequence(per)
    d.NumberOfFrames = nk
    image_pixel_tags(d, stored, 16, signed)
    d.PixelData = pixel_bytes(stored[order])
    d["PixelData"].VR = "OW"
    write(d, out.path("series", name, "sub", "EN%05d" % (CASE_NUMBERS[name] * 10)))
    # Manifest: a Series-shaped description of the sorted frames.
    s = Series(name, modality, 6, "ENHANCED " + modality, ps, thick, signed=signed)
    s.uid = suid
    for k in range(nk):
        slope, icpt = ("1", "-1024") if modality == "CT" else (None, None)
        s.slices.append(Slice(ipps[k], iop, stored[k], slope, icpt))
    e = empty_entry(name, "series/" + name, "series")
    e.update(series_entry(out, name, name, s))
    e.update({"sop_class_uid": sop, "files": 1, "transfer_syntax": TS_EXPLICIT_LE, "multiframe": True,
              "frame_order": order})
    out.add(e)


# ----------------------------------------------------------------------------------------------------------------
# Transfer syntax variants of ct_axial


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise Fail("%s failed (%d): %s" % (" ".join(cmd[:2]), p.returncode,
                                           p.stdout.decode(errors="replace").strip().replace("\n", " ")[:300]))


def read_ts_and_dataset(path):
    d = pydicom.dcmread(path)
    return str(d.file_meta.TransferSyntaxUID), d


def convert_one(src, dst, flag, ts, tmpdir):
    """gdcmconv src -> dst with flag; check the transfer syntax and that --raw gives back the same bytes.
    Returns None when fine, else the reason."""
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    run(["gdcmconv", flag, src, dst])
    got, d = read_ts_and_dataset(dst)
    if got != ts:
        raise Fail("gdcmconv %s gave transfer syntax %s, not %s (%s)" % (flag, got, ts, dst))
    back = os.path.join(tmpdir, os.path.basename(dst))  # names are unique within a case
    run(["gdcmconv", "--raw", dst, back])
    _, orig = read_ts_and_dataset(src)
    _, raw = read_ts_and_dataset(back)
    for key in ["Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
                "PhotometricInterpretation"]:
        if getattr(raw, key) != getattr(orig, key):
            return "%s changed from %s to %s" % (key, getattr(orig, key), getattr(raw, key))
    if raw.PixelData != orig.PixelData:
        return "decompressed PixelData differs from the original (not lossless)"
    return None


def convert_series(out, src_dir, dst_dir, files, flag, ts):
    """Convert every file of src_dir (relative paths files) into dst_dir, in parallel. Returns the first
    reason why the variant is not faithful, or None."""
    with tempfile.TemporaryDirectory(prefix="vxt_dicom_") as tmp:
        jobs = [(out.path(src_dir, f), out.path(dst_dir, f)) for f in files]
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 1)) as pool:
            reasons = list(pool.map(lambda j: convert_one(j[0], j[1], flag, ts, tmp), jobs))
    bad = [r for r in reasons if r]
    return bad[0] if bad else None


def make_ts_variants(out, ct):
    s, names, inst, layout, files, base = ct
    same = {k: base[k] for k in ["modality", "series_uid", "series_number", "description", "sop_class_uid",
                                  "slices", "shape", "spacing", "affine_lps", "affine_ras", "normal",
                                  "slice_step_normal", "stored_dtype", "bits_stored", "pixel_representation",
                                  "slope", "intercept", "rescale_varies", "rescale_slopes", "rescale_intercepts",
                                  "stored_npy", "values_npy", "has_padding", "padding_stored",
                                  "padding_value_out", "instance_numbers", "tilt_degrees"]}
    # Written by pydicom: implicit VR little endian, explicit VR big endian.
    for name, ts in [("ts_implicit_le", TS_IMPLICIT_LE), ("ts_explicit_be", TS_EXPLICIT_BE)]:
        write_series(out, "series/" + name, s, names, inst, layout, ts)
        e = empty_entry(name, "series/" + name, "series")
        e.update(same)
        e.update({"files": len(files), "transfer_syntax": ts, "same_as": "ct_axial"})
        out.add(e)
        for f in files:  # pydicom must read the pixels back as the original
            d = pydicom.dcmread(out.path("series", name, f))
            src = pydicom.dcmread(out.path("series", "ct_axial", f))
            if not np.array_equal(d.pixel_array, src.pixel_array):
                raise Fail("%s: pixels read back differ from ct_axial (%s)" % (name, f))
    # uint16 copy of ct_axial (no padding, PixelRepresentation 0), the source of workaround variants.
    u16 = None
    for name, ts, flag in GDCMCONV_VARIANTS:
        e = empty_entry(name, "series/" + name, "series")
        e.update(same)
        e.update({"transfer_syntax": ts, "same_as": "ct_axial"})
        reason = convert_series(out, "series/ct_axial", "series/" + name, files, flag, ts)
        if reason is None:
            e["files"] = len(files)
            out.add(e)
            continue
        # Not faithful for signed data: drop it, record why, and make the variant from an unsigned copy.
        shutil.rmtree(out.path("series", name))
        e.update({k: None for k in same})
        e.update({"same_as": None, "skip_reason": "gdcmconv %s on int16 ct_axial: %s" % (flag, reason),
                  "files": 0})
        out.add(e)
        if u16 is None:
            u16 = make_u16_copy(out, s, names, inst, layout)
        uname = name + "_u16"
        reason = convert_series(out, "series/ts_u16", "series/" + uname, files, flag, ts)
        if reason is not None:
            raise Fail("gdcmconv %s is not lossless on uint16 data either: %s" % (flag, reason))
        ue = empty_entry(uname, "series/" + uname, "series")
        ue.update(u16)
        ue.update({"name": uname, "path": "series/" + uname, "transfer_syntax": ts, "same_as": "ts_u16",
                   "base_case": "ct_axial"})
        out.add(ue)


def make_u16_copy(out, ct_series, names, inst, layout):
    """ts_u16: ct_axial's geometry with uint16 pixels (PixelRepresentation 0, no padding)."""
    s = copy.deepcopy(ct_series)
    s.case, s.signed, s.padding = "ts_u16", False, None
    s.uid = series_uid("ts_u16")
    s.description = "CT AXIAL HEAD U16"
    for sl in s.slices:
        p = sl.pixels.astype(np.int32)
        sl.pixels = np.where(p < 0, 0, p).astype(np.uint16)
    write_series(out, "series/ts_u16", s, names, inst, layout)
    e = empty_entry("ts_u16", "series/ts_u16", "series")
    e.update(series_entry(out, "ts_u16", "ts_u16", s, instance_numbers=inst))
    e.update({"files": len(names), "transfer_syntax": TS_EXPLICIT_LE, "base_case": "ct_axial"})
    out.add(e)
    return {k: v for k, v in e.items() if k not in ("name", "path", "kind", "transfer_syntax")}


# ----------------------------------------------------------------------------------------------------------------
# Codec pairs: a compressed file (or folder) and its uncompressed twin, which voxtile must read to the same voxels.
# The twin holds the source pixels where the compression is lossless, else GDCM's decoding (python3-gdcm), so the
# test compares voxtile's decoders (dicom_codec.h) with GDCM's on every stream below.

TS_JPEG_PROCESS14 = "1.2.840.10008.1.2.4.57"
TS_JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
TS_JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"


def jpeg_lossless_encode(a, precision, predictor, point_transform=0, restart_rows=0):
    """A JPEG lossless stream (T.81 annex H, process 14, one component) of 2-D array a (values < 2**precision,
    unsigned): one Huffman table fitted to the categories used, predictor 1-7, point transform Al, a restart
    marker every restart_rows rows (0: none). Independent of voxtile's decoder; GDCM checks it (gdcm_decode)."""
    rows_, cols = a.shape
    x = (a.astype(np.int64) >> point_transform).tolist()
    first = 1 << (precision - point_transform - 1)
    diffs = []  # per row: the differences (mod 2**16, in -32767..32768)
    for y in range(rows_):
        start = restart_rows and y % restart_rows == 0
        row = []
        for i in range(cols):
            if y == 0 or start:
                p = first if i == 0 else x[y][i - 1]
            elif i == 0:
                p = x[y - 1][0]
            else:
                ra, rb, rc = x[y][i - 1], x[y - 1][i], x[y - 1][i - 1]
                p = [None, ra, rb, rc, ra + rb - rc, ra + ((rb - rc) >> 1), rb + ((ra - rc) >> 1),
                     (ra + rb) >> 1][predictor]
            d = (x[y][i] - p) & 0xFFFF
            row.append(d - 65536 if d > 32768 else d)
        diffs.append(row)

    def category(d):
        return 16 if d == 32768 else abs(d).bit_length()

    counts = [0] * 17
    for row in diffs:
        for d in row:
            counts[category(d)] += 1
    used = sorted([c for c in range(17) if counts[c]], key=lambda c: (-counts[c], c))
    # lengths: one code of 2 bits, four of 3, then one of each length 4..16 (17 symbols at most; Kraft sum
    # below 1, so no code is all ones)
    lengths = {}
    length, room = 2, 1
    for c in used:
        lengths[c] = length
        room -= 1
        if room == 0:
            length += 1
            room = 4 if length == 3 else 1
    bits = [0] * 16
    for c in used:
        bits[lengths[c] - 1] += 1
    huffval = sorted(used, key=lambda c: (lengths[c], used.index(c)))
    codes, code, k = {}, 0, 0
    for ln in range(1, 17):
        for _ in range(bits[ln - 1]):
            codes[huffval[k]] = (code, ln)
            code += 1
            k += 1
        code <<= 1

    out = bytearray(b"\xff\xd8")

    def segment(marker, payload):
        out.extend(bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + bytes(payload))

    segment(0xC4, [0x00] + bits + huffval)
    segment(0xC3, [precision] + list(rows_.to_bytes(2, "big")) + list(cols.to_bytes(2, "big")) + [1, 1, 0x11, 0])
    if restart_rows:
        segment(0xDD, list((restart_rows * cols).to_bytes(2, "big")))
    segment(0xDA, [1, 1, 0x00, predictor, 0, point_transform])
    acc, n, rst = 0, 0, 0

    def flush_bits(pad=False):
        nonlocal acc, n
        if pad and n % 8:
            acc = (acc << (8 - n % 8)) | ((1 << (8 - n % 8)) - 1)
            n += 8 - n % 8
        while n >= 8:
            byte = (acc >> (n - 8)) & 0xFF
            out.append(byte)
            if byte == 0xFF:
                out.append(0)
            n -= 8
        acc &= (1 << n) - 1

    for y, row in enumerate(diffs):
        if restart_rows and y and y % restart_rows == 0:
            flush_bits(pad=True)
            out.extend(bytes([0xFF, 0xD0 + rst]))
            rst = (rst + 1) % 8
        for d in row:
            c = category(d)
            code, ln = codes[c]
            acc, n = (acc << ln) | code, n + ln
            if 0 < c < 16:
                acc, n = (acc << c) | (d if d > 0 else d + (1 << c) - 1), n + c
            flush_bits()
    flush_bits(pad=True)
    out.extend(b"\xff\xd9")
    return bytes(out)


def gdcm_decode(path):
    """GDCM's decoding of a file's pixel data: (bytes, frames), or raise Fail."""
    import gdcm  # python3-gdcm
    gdcm.Trace.SetWarning(False)
    r = gdcm.ImageReader()
    r.SetFileName(path)
    if not r.Read():
        raise Fail("GDCM cannot read %s" % path)
    img = r.GetImage()
    buf = img.GetBuffer()
    if isinstance(buf, str):
        buf = buf.encode("utf-8", "surrogateescape")
    return buf


def write_twin(src_path, twin_path, data):
    """src_path's dataset with PixelData `data`, uncompressed (explicit VR little endian)."""
    d = pydicom.dcmread(src_path)
    set_transfer_syntax(d, TS_EXPLICIT_LE)
    d.PixelData = data
    d["PixelData"].VR = "OW" if d.BitsAllocated > 8 else "OB"
    write(d, twin_path)


def codec_case(name):
    """Register a codec pair's case name (its UIDs derive from the number), in the fixed order of the calls."""
    CASE_NUMBERS.setdefault(name, 100 + len(CASE_NUMBERS))
    return name


def pair_entry(out, name, path, twin, ts, what):
    out.pairs.append({"name": name, "path": path, "twin": twin, "transfer_syntax": ts, "what": what})


def make_jpeg_lossless_pairs(out):
    """voxtile's JPEG lossless decoder against streams from an independent encoder: every predictor, 8-, 12- and
    16-bit samples (signed too), a point transform and restart markers; GDCM must decode each to the source."""
    base = axial_series("ct_axial", 2, seed=101, padding=None)
    cases = []
    for p in range(1, 8):
        cases.append(("jll_p%d_s16" % p, p, 0, 0, 16, True))
    cases += [("jll_p1_u12_restart", 1, 0, 3, 12, False), ("jll_p6_u12_restart", 6, 0, 5, 12, False),
              ("jll_p7_u16_pt2", 7, 2, 0, 16, False), ("jll_p4_u8", 4, 0, 0, 8, False),
              ("jll_p5_u8_restart_pt1", 5, 1, 4, 8, False)]
    rng = np.random.default_rng(4242)
    for name, pred, pt, rr, bits, signed in cases:
        sl = copy.deepcopy(base.slices[0])
        p = sl.pixels.astype(np.int64)
        if bits == 16 and not signed:
            p = (p + 1024) * 20 + rng.integers(0, 4000, p.shape)  # the whole 16-bit range
            p = np.clip(p, 0, 65535)
        elif bits == 16:
            p = p * 9 + rng.integers(-3000, 3000, p.shape)  # large differences: categories up to 15 and 16
            p = np.clip(p, -32768, 32767)
        elif bits == 12:
            p = np.clip(p + 1024, 0, 4095)
        else:
            p = np.clip((p + 1024) // 16, 0, 255)
        if pt:
            p = (p >> pt) << pt  # what the point transform keeps
        dtype = np.int16 if signed else (np.uint8 if bits == 8 else np.uint16)
        pixels = p.astype(dtype)
        s = Series(codec_case("codec_" + name), "CT", 40, "CODEC " + name, ["0.75", "0.7"], "2.5", bits_stored=bits,
                   signed=signed)
        sl.pixels = pixels
        sl.slope = sl.intercept = None
        s.slices = [sl]
        sop = instance_uid("codec_" + name, 1, 1)
        d = s.dataset(sl, 1, sop)
        if bits == 8:
            d.BitsAllocated, d.BitsStored, d.HighBit = 8, 8, 7
            d.PixelData = pixels.tobytes()
            d["PixelData"].VR = "OB"
        write(d, out.path("codecs", name + "_raw", "IM00001"))
        unsigned = pixels.astype(np.int64) & ((1 << (16 if bits > 8 else 8)) - 1)
        stream = jpeg_lossless_encode(unsigned, 16 if signed else bits, pred, pt, rr)
        c = pydicom.dcmread(out.path("codecs", name + "_raw", "IM00001"))
        set_transfer_syntax(c, TS_JPEG_PROCESS14 if pred != 1 else TS_JPEG_LOSSLESS)
        c.PixelData = encapsulate([stream])
        c["PixelData"].VR = "OB"
        c["PixelData"].is_undefined_length = True
        path = out.path("codecs", name, "IM00001")
        write(c, path)
        if gdcm_decode(path) != pixels.astype(pixels.dtype.newbyteorder("<")).tobytes():
            raise Fail("GDCM does not decode the test encoder's %s to its source: the encoder is wrong" % name)
        pair_entry(out, name, "codecs/" + name, "codecs/" + name + "_raw", str(c.file_meta.TransferSyntaxUID),
                   "JPEG lossless, predictor %d, %d-bit%s, point transform %d, restart every %d rows" %
                   (pred, bits, " signed" if signed else "", pt, rr))


def make_gdcm_lossy_pairs(out):
    """Lossy JPEG through gdcmconv: 8-bit baseline (libjpeg-turbo in voxtile; the twin is GDCM's decoding of the
    same file). From 16-bit data gdcmconv writes a lossy frame of 16-bit samples, which is not standard JPEG (T.81
    allows 8 and 12): voxtile refuses it (expect_error). 12-bit lossy JPEG comes from pydicom's files below."""
    made = []
    # 8-bit: an MR-like uint8 slice
    base = axial_series("ct_axial", 2, seed=102, padding=None)
    sl = copy.deepcopy(base.slices[0])
    sl.pixels = np.clip((sl.pixels.astype(np.int64) + 1024) // 16, 0, 255).astype(np.uint8)
    sl.slope = sl.intercept = None
    s = Series(codec_case("codec_jpeg8"), "CT", 41, "CODEC JPEG8", ["0.75", "0.7"], "2.5", bits_stored=8, signed=False)
    d = s.dataset(sl, 1, instance_uid("codec_jpeg8", 1, 1))
    d.BitsAllocated, d.BitsStored, d.HighBit = 8, 8, 7
    d.PixelData = sl.pixels.tobytes()
    d["PixelData"].VR = "OB"
    write(d, out.path("codecs", "jpeg8_src", "IM00001"))
    made.append(("jpeg8_lossy", "jpeg8_src", TS_JPEG_BASELINE, "JPEG baseline, 8-bit, lossy (gdcmconv)"))
    # 12-bit: a uint16 slice with BitsStored 12
    sl = copy.deepcopy(base.slices[1])
    sl.pixels = np.clip(sl.pixels.astype(np.int64) + 1024, 0, 4095).astype(np.uint16)
    s = Series(codec_case("codec_jpeg12"), "CT", 42, "CODEC JPEG12", ["0.75", "0.7"], "2.5", bits_stored=12, signed=False)
    write(s.dataset(sl, 1, instance_uid("codec_jpeg12", 1, 1)), out.path("codecs", "jpeg12_src", "IM00001"))
    made.append(("jpeg16_lossy", "jpeg12_src", TS_JPEG_EXTENDED, "JPEG extended, 16-bit samples, lossy (gdcmconv)"))
    for name, src, ts, what in made:
        path = out.path("codecs", name, "IM00001")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        run(["gdcmconv", "--jpeg", "--lossy", "-q", "90", out.path("codecs", src, "IM00001"), path])
        got = str(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)
        if got != ts:
            raise Fail("gdcmconv --jpeg --lossy gave %s, not %s (%s)" % (got, ts, name))
        shutil.rmtree(out.path("codecs", src))
        if name == "jpeg16_lossy":
            pair_entry(out, name, "codecs/" + name, None, ts, what)
            out.pairs[-1]["expect_error"] = "not standard JPEG"
            continue
        write_twin(path, out.path("codecs", name + "_twin", "IM00001"), gdcm_decode(path))
        pair_entry(out, name, "codecs/" + name, "codecs/" + name + "_twin", ts, what)


def make_multiframe_pairs(out):
    """enhanced_ct compressed: gdcmconv's one fragment per frame, and pydicom's re-encapsulations of the JPEG
    lossless frames in two fragments each, with and without a basic offset table."""
    found = [os.path.join(dp, f) for dp, _, fs in os.walk(out.path("series", "enhanced_ct")) for f in fs]
    if len(found) != 1:
        raise Fail("internal: enhanced_ct must be made first, as one file")
    src = found[0]
    for name, ts, flag in GDCMCONV_VARIANTS:
        mname = "mf_" + name[3:]
        path = out.path("codecs", mname, "IM00001")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        run(["gdcmconv", flag, src, path])
        got, _ = read_ts_and_dataset(path)
        if got != ts:
            raise Fail("gdcmconv %s gave %s, not %s (%s)" % (flag, got, ts, mname))
        if gdcm_decode(path) != pydicom.dcmread(src).PixelData:
            continue  # not lossless on this signed data (gdcmconv's JPEG-LS / JPEG 2000 of int16): not a pair
        pair_entry(out, mname, "codecs/" + mname, "series/enhanced_ct", ts,
                   "enhanced CT, 12 frames, %s (gdcmconv, one fragment per frame)" % name[3:])
    from pydicom.encaps import generate_pixel_data_frame
    c = pydicom.dcmread(out.path("codecs", "mf_jpeg_lossless", "IM00001"))
    frames = list(generate_pixel_data_frame(c.PixelData, int(c.NumberOfFrames)))
    for mname, bot in [("mf_jpeg_lossless_2frag_bot", True), ("mf_jpeg_lossless_2frag_nobot", False)]:
        c.PixelData = encapsulate(frames, fragments_per_frame=2, has_bot=bot)
        path = out.path("codecs", mname, "IM00001")
        write(c, path)
        pair_entry(out, mname, "codecs/" + mname, "series/enhanced_ct", TS_JPEG_LOSSLESS,
                   "enhanced CT, 12 JPEG lossless frames in 2 fragments each, %s basic offset table" %
                   ("with a" if bot else "without a"))


def make_pydicom_data_pairs(out, data_dir):
    """Real scans of PyPI's pydicom-data (1.0.0, MIT; tools/install-deps.sh unpacks it): lossless JPEG 2000 files
    twinned with the uncompressed files of the same image that pydicom-data ships (a 512 x 512 CT, a 1024 x 1024 MR),
    and files twinned with GDCM's decoding: the same MR lossy, a CT in JPEG lossless from a scanner, a CT in JPEG
    2000, a nuclear medicine image in JPEG lossless."""
    if not data_dir:
        return
    same = [("693_J2KR.dcm", "693_UNCR.dcm"), ("MR2_J2KR.dcm", "MR2_UNCR.dcm")]
    decoded = ["MR2_J2KI.dcm", "bad_sequence.dcm", "explicit_VR-UN.dcm", "JPEG-LL.dcm"]
    for fname, twin in same + [(f, None) for f in decoded]:
        src = os.path.join(data_dir, fname)
        if not os.path.exists(src):
            raise Fail("%s: not in pydicom-data (%s)" % (fname, data_dir))
        name = "pydicom-data_" + fname[:-4]
        path = out.path("codecs", name, fname)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.copyfile(src, path)
        twin_path = out.path("codecs", name + "_twin", twin or fname)
        if twin:
            os.makedirs(os.path.dirname(twin_path), exist_ok=True)
            shutil.copyfile(os.path.join(data_dir, twin), twin_path)
        else:
            write_twin(path, twin_path, gdcm_decode(path))
        ts = str(pydicom.dcmread(src, stop_before_pixels=True).file_meta.TransferSyntaxUID)
        pair_entry(out, name, "codecs/" + name, "codecs/" + name + "_twin", ts,
                   "pydicom-data's %s against %s" % (fname, twin or "GDCM's decoding"))


def make_pydicom_pairs(out, files_dir):
    """pydicom's own compressed grayscale test files that voxtile reads, twinned with GDCM's decoding."""
    for fname in ["JPEG-lossy.dcm", "JPGExtended.dcm", "JPEG2000.dcm", "693_J2KI.dcm", "J2K_pixelrep_mismatch.dcm",
                  "MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm", "MR_small_RLE.dcm"]:
        src = os.path.join(files_dir, fname)
        if not os.path.exists(src):
            continue
        name = "pydicom_" + fname[:-4]
        path = out.path("codecs", name, fname)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.copyfile(src, path)
        d = pydicom.dcmread(src)
        if "FrameIncrementPointer" in d and "NumberOfFrames" not in d:  # refused by voxtile (GDCM asserts)
            del d.FrameIncrementPointer
            write(d, path)
        write_twin(path, out.path("codecs", name + "_twin", fname), gdcm_decode(path))
        pair_entry(out, name, "codecs/" + name, "codecs/" + name + "_twin",
                   str(d.file_meta.TransferSyntaxUID), "pydicom's " + fname)


# ----------------------------------------------------------------------------------------------------------------
# A real scan as a DICOM series: the T1 of tests/data/brainchop, for test_brainchop's end-to-end run on DICOM.


def read_nifti_u8(path):
    """A gzipped NIfTI-1 file of uint8 voxels with an sform: (voxels [k][j][i], 4 x 4 sform)."""
    import gzip
    import struct
    b = gzip.open(path).read()
    if struct.unpack("<i", b[:4])[0] != 348 or b[344:347] != b"n+1":
        raise Fail("%s: not a little-endian single-file NIfTI-1" % path)
    dim = struct.unpack("<8h", b[40:56])
    if dim[0] != 3 or struct.unpack("<h", b[70:72])[0] != 2 or struct.unpack("<h", b[254:256])[0] <= 0:
        raise Fail("%s: expected 3-D uint8 voxels with an sform" % path)
    affine = np.eye(4)
    for r in range(3):
        affine[r] = struct.unpack("<4f", b[280 + 16 * r:296 + 16 * r])
    off = int(struct.unpack("<f", b[108:112])[0])
    ni, nj, nk = dim[1:4]
    vox = np.frombuffer(b, np.uint8, ni * nj * nk, off).reshape(nk, nj, ni)
    return vox, affine


def make_t1_series(out, nifti):
    """The T1 as an MR series of 8-bit slices along its third axis: slice k holds voxels (i, j, k), column i of row
    j, so that ImageOrientationPatient is the sform's first two columns and ImagePositionPatient its voxel (0, 0, k),
    all in LPS. voxtile reads it in its own voxel order (rows reversed); the two agree in RAS."""
    vox, a = read_nifti_u8(nifti)
    lps = np.diag([-1.0, -1.0, 1.0])
    r, c = lps @ a[:3, 0], lps @ a[:3, 1]
    dx, dy = np.linalg.norm(r), np.linalg.norm(c)
    iop = dsv(list(r / dx) + list(c / dy))
    s = Series(codec_case("t1_crop"), "MR", 50, "T1 BRAINCHOP", [ds(dy), ds(dx)], ds(np.linalg.norm(a[:3, 2])),
               bits_stored=8, signed=False)
    for k in range(vox.shape[0]):
        p = lps @ (a[:3, 3] + k * a[:3, 2])
        s.slices.append(Slice(dsv(list(p)), iop, vox[k]))
    for k, sl in enumerate(s.slices):
        d = s.dataset(sl, k + 1, instance_uid(s.case, 1, k + 1))
        d.BitsAllocated, d.BitsStored, d.HighBit = 8, 8, 7
        d.PixelData = sl.pixels.tobytes()
        d["PixelData"].VR = "OB"
        write(d, out.path("series", "t1_crop", "IM%05d" % (k + 1)))
    out.t1 = {"path": "series/t1_crop", "nifti": os.path.abspath(nifti), "slices": int(vox.shape[0])}


# ----------------------------------------------------------------------------------------------------------------
# Bad inputs


def bad_slice(case, k=1, z=0.0):
    """A small valid CT slice (int16, rescale) for the bad cases."""
    s = axial_series(case, 4, seed=120, padding=None)
    sl = s.slices[k % 4]
    sl.ipp = dsv([-22.05, -17.625, z])
    return s, sl


def make_bad(out):
    def entry(name, error, tag=None, file=None, files=1, **extra):
        e = empty_entry(name, "bad/" + name, "bad")
        e.update({"expect_error": error, "tag": tag, "files": files,
                  "file": None if file is None else "bad/%s/%s" % (name, file)})
        e.update(extra)
        out.add(e)

    # not_dicom: a text file with a DICOM-like name.
    os.makedirs(out.path("bad", "not_dicom"), exist_ok=True)
    with open(out.path("bad", "not_dicom", "x.dcm"), "w") as fh:
        fh.write("This is not a DICOM file, just text with a .dcm name.\n" * 4)
    entry("not_dicom", "not dicom", file="x.dcm")

    # truncated: a valid slice cut at 60 % of its length (inside PixelData).
    s, sl = bad_slice("bad_truncated")
    data = to_bytes(s.dataset(sl, 1, instance_uid("bad_truncated", 1, 1)))
    os.makedirs(out.path("bad", "truncated"), exist_ok=True)
    with open(out.path("bad", "truncated", "IM00001"), "wb") as fh:
        fh.write(data[:int(len(data) * 0.6)])
    entry("truncated", "truncated", tag="(7FE0,0010)", file="IM00001", full_length=len(data))

    # no_pixels: a valid slice without PixelData.
    s, sl = bad_slice("bad_no_pixels")
    d = s.dataset(sl, 1, instance_uid("bad_no_pixels", 1, 1))
    del d.PixelData
    write(d, out.path("bad", "no_pixels", "IM00001"))
    entry("no_pixels", "pixel data", tag="(7FE0,0010)", file="IM00001")

    # unsupported_ts: MPEG2 transfer syntax, an encapsulated garbage fragment.
    s, sl = bad_slice("bad_unsupported_ts")
    d = s.dataset(sl, 1, instance_uid("bad_unsupported_ts", 1, 1))
    d.file_meta.TransferSyntaxUID = TS_MPEG2
    garbage = np.random.default_rng(7).integers(0, 256, 1000, dtype=np.uint8).tobytes()
    d.PixelData = encapsulate([garbage])
    d["PixelData"].VR = "OB"
    d["PixelData"].is_undefined_length = True
    write(d, out.path("bad", "unsupported_ts", "IM00001"))
    entry("unsupported_ts", "transfer syntax", tag="(0002,0010)", file="IM00001")

    # Spacing: zero, negative, NaN PixelSpacing. NaN is written through a same-length placeholder, so the
    # bytes are exactly "NaN\0.7 " whatever pydicom's DS validation thinks of it.
    for k, (name, value) in enumerate([("zero_spacing", "0\\0.7"), ("negative_spacing", "-0.75\\0.7"),
                                       ("nan_spacing", "NaN\\0.7")]):
        s, sl = bad_slice("bad_spacing", k)
        d = s.dataset(sl, 1, instance_uid("bad_spacing", 1, k + 1))
        placeholder = "9" * len(value.split("\\")[0])
        d.PixelSpacing = [placeholder, "0.7"]
        data = to_bytes(d)
        old = (placeholder + "\\0.7").encode()
        if len(old) % 2:
            old += b" "
        new = value.encode() + (b" " if len(value) % 2 else b"")
        if data.count(old) != 1 or len(old) != len(new):
            raise Fail("internal: cannot place PixelSpacing %s" % value)
        os.makedirs(out.path("bad", name), exist_ok=True)
        with open(out.path("bad", name, "IM00001"), "wb") as fh:
            fh.write(data.replace(old, new))
        entry(name, "spacing", tag="(0028,0030)", file="IM00001")

    # huge: an Enhanced CT header declaring 65535 x 65535 x 100000 16-bit voxels (~ 8.6e14 bytes) with 64
    # bytes of PixelData.
    d = new_dataset(ENHANCED_CT_STORAGE, instance_uid("bad_huge", 1, 1))
    common_tags(d, "bad_huge", "CT", series_uid("bad_huge"), 1, "HUGE")
    d.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    shared = Dataset()
    pm = Dataset()
    pm.PixelSpacing, pm.SliceThickness = ["0.75", "0.7"], "1"
    po = Dataset()
    po.ImageOrientationPatient = AXIAL
    shared.PixelMeasuresSequence, shared.PlaneOrientationSequence = Sequence([pm]), Sequence([po])
    d.SharedFunctionalGroupsSequence = Sequence([shared])
    d.NumberOfFrames = 100000
    image_pixel_tags(d, np.zeros((1, 1), np.int16), 16, True)
    d.Rows = d.Columns = 65535
    d.PixelData = bytes(range(64))
    d["PixelData"].VR = "OW"
    write(d, out.path("bad", "huge", "IM00001"))
    entry("huge", "too large", tag="(0028,0008)", file="IM00001",
          expect_error_alternatives=["size", "pixel data", "memory"])

    # zero_slice_spacing: four slices, different pixels, all at the same position.
    s = axial_series("bad_zero_slice_spacing", 4, seed=121, padding=None)
    for sl in s.slices:
        sl.ipp = dsv([-22.05, -17.625, 10.0])
    write_series(out, "bad/zero_slice_spacing", s, ["IM%05d" % (k + 1) for k in range(4)], [4, 3, 2, 1],
                 lambda k: "")
    entry("zero_slice_spacing", "spacing", tag="(0020,0032)", files=4)


# ----------------------------------------------------------------------------------------------------------------


def prepare(root):
    """Create root; remove what an earlier run made there (and only that)."""
    os.makedirs(root, exist_ok=True)
    for sub in ["series", "bad", "expected", "codecs"]:
        if os.path.isdir(os.path.join(root, sub)):
            shutil.rmtree(os.path.join(root, sub))
    if os.path.exists(os.path.join(root, "manifest.json")):
        os.remove(os.path.join(root, "manifest.json"))


def main(argv):
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message):
            raise Fail("usage: make_dicom_testdata.py OUTDIR [--t1 T1.nii.gz] [--pydicom-data DIR]: %s" % message)

    ap = Parser(add_help=False)
    ap.add_argument("outdir")
    ap.add_argument("--t1")
    ap.add_argument("--pydicom-data")
    args = ap.parse_args(argv[1:])
    t1 = args.t1
    if shutil.which("gdcmconv") is None:
        raise Fail("gdcmconv not found on PATH (Debian: apt-get install libgdcm-tools)")
    out = Output(os.path.abspath(args.outdir))
    prepare(out.root)
    ct = make_ct_axial(out)
    make_ct_u12(out)
    make_mr_oblique(out)
    make_ct_gap(out)
    make_ct_duplicate(out)
    make_ct_rescale(out)
    make_two_series(out)
    make_ct_tilt(out)
    make_mixed(out)
    make_enhanced(out, "enhanced_ct", "CT")
    make_enhanced(out, "enhanced_mr", "MR")
    make_ts_variants(out, ct)
    make_jpeg_lossless_pairs(out)
    make_gdcm_lossy_pairs(out)
    make_multiframe_pairs(out)
    make_pydicom_pairs(out, os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"))
    make_pydicom_data_pairs(out, args.pydicom_data)
    make_bad(out)
    if t1:
        make_t1_series(out, t1)
    manifest = {"version": 1, "generator": "tools/make_dicom_testdata.py", "expected_dir": "expected",
                "cases": out.cases, "pairs": out.pairs, "t1": out.t1, "pydicom_data": bool(args.pydicom_data)}
    with open(out.path("manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    try:
        main(sys.argv)
    except Fail as exc:
        print("make_dicom_testdata: error: %s" % exc, file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # anything unexpected: still one line, still a failure
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        print("make_dicom_testdata: error: %s: %s" % (type(exc).__name__, " / ".join(lines)[:400]), file=sys.stderr)
        sys.exit(1)
