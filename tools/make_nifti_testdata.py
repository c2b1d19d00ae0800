#!/usr/bin/python3
"""make_nifti_testdata.py - write the small NIfTI test files under tests/data/nifti/ with nibabel, and
reference.json with what nibabel reports for each of them (and for tests/data/mricron_ch2.nii.gz).

    /usr/bin/python3 tools/make_nifti_testdata.py [OUTDIR]     (default: tests/data/nifti)

Run with Debian's python3 (python3-nibabel, python3-numpy). The outputs are committed; the C tests compare
voxtile's reader against reference.json and never run Python. The data is deterministic (fixed seeds), so
running the script again gives the same files.

For each file the JSON holds: the header as nibabel reads it (dim, datatype, bitpix, pixdim, vox_offset,
scl_slope/scl_inter, qform/sform codes and matrices, descrip, xyzt_units, extensions), nibabel's affine
(img.affine: sform, else qform, else its pixdim fallback), its orientation code (aff2axcodes), and the
voxels: min, max, mean of the float32 values and the CRC-32 of their little-endian bytes in on-disk order
(i fastest), both for the stored values ("raw") and for the float32 scaled values. The float32 scaled values
are computed exactly as voxtile defines them -- float32(raw) * float32(slope), then + float32(inter), each
rounded to float32, a multiply by 1 and an add of 0 skipped -- and "scaled_matches_nibabel" says whether
nibabel's own get_fdata(dtype=float32) gives the same bits (it does for 8- and 16-bit types; for 32- and 64-bit
integers nibabel computes in float64 first). "canonical" is nibabel's as_closest_canonical(): its affine and
the CRC-32 of its stored values in on-disk order.
"""
import gzip
import json
import os
import shutil
import struct
import sys
import zlib

import nibabel as nib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "data", "nifti")


def rng(seed):
    return np.random.default_rng(seed)


def phantom(shape, dtype, seed, lo, hi):
    """A smooth blob plus noise, spanning [lo, hi] -- never constant, never all zeros."""
    r = rng(seed)
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape[:3]], indexing="ij")
    blob = np.exp(-sum(g * g for g in grids) * 2.0)
    if len(shape) > 3:
        blob = blob[..., None] * np.linspace(1.0, 0.5, shape[3])[None, None, None, :]
    v = lo + (hi - lo) * (0.6 * blob + 0.4 * r.random(shape))
    if np.dtype(dtype).kind in "iu":
        v = np.clip(np.rint(v), np.iinfo(dtype).min, np.iinfo(dtype).max)
    return v.astype(dtype)


def rot(ax, ay, az):
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def affine(r, zooms, origin):
    a = np.eye(4)
    a[:3, :3] = r @ np.diag(zooms)
    a[:3, 3] = origin
    return a


def f32_scaled(raw, slope, inter):
    """voxtile's float32 scaling (see the module docstring)."""
    v = raw.astype(np.float32)
    if slope is None:
        return v
    s, i = np.float32(slope), np.float32(inter)
    if s != np.float32(1):
        v = (v * s).astype(np.float32)
    if i != np.float32(0):
        v = (v + i).astype(np.float32)
    return v


def crc_f32(arr):
    return zlib.crc32(np.ascontiguousarray(arr.astype("<f4").ravel(order="F")).tobytes()) & 0xFFFFFFFF


def crc_raw(arr):
    a = np.asarray(arr)
    le = a.astype(a.dtype.newbyteorder("<"))
    return zlib.crc32(np.ascontiguousarray(le.ravel(order="F")).tobytes()) & 0xFFFFFFFF


def stats(arr):
    a = arr.astype(np.float64)
    return {"min": float(a.min()), "max": float(a.max()), "mean": float(a.mean())}


def raw_header(path):
    """The header as stored (nibabel's image header is a copy whose scl fields and vox_offset it resets)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        block = f.read(540)
    n = struct.unpack("<i", block[:4])[0]
    ver = 2 if n in (540, 0x1C020000) else 1
    klass = nib.Nifti2Header if ver == 2 else nib.Nifti1Header
    if path.endswith((".hdr", ".hdr.gz")):
        klass = nib.nifti2.Nifti2PairHeader if ver == 2 else nib.nifti1.Nifti1PairHeader
    return ver, klass.from_fileobj(open(path, "rb") if not path.endswith(".gz") else gzip.open(path, "rb"))


def describe(path, name):
    img = nib.load(path)
    ver, hdr = raw_header(path)
    raw = np.asanyarray(img.dataobj.get_unscaled())
    slope, inter = hdr.get_slope_inter()
    scaled = f32_scaled(raw, slope, inter)
    nib_f32 = img.get_fdata(dtype=np.float32)
    q, qcode = hdr.get_qform(coded=True)
    s, scode = hdr.get_sform(coded=True)
    # nibabel's as_closest_canonical(), done on the stored values (a 2D image as a 3D one of 1 slice)
    raw3 = raw.reshape(raw.shape + (1,) * (3 - raw.ndim)) if raw.ndim < 3 else raw
    ornt = nib.orientations.io_orientation(img.affine)
    canon_raw = nib.orientations.apply_orientation(raw3, ornt)
    canon_aff = img.affine @ nib.orientations.inv_ornt_aff(ornt, raw3.shape)
    if raw.ndim >= 3:
        assert np.allclose(canon_aff, nib.as_closest_canonical(img).affine)
    exts = [
        {"code": int(e.get_code()), "crc32": zlib.crc32(e.get_content()) & 0xFFFFFFFF, "size": len(e.get_content())}
        for e in hdr.extensions
    ]
    d = {
        "file": name,
        "nifti_version": ver,
        "big_endian": hdr.endianness == ">",
        "dim": [int(x) for x in hdr["dim"]],
        "datatype": int(hdr["datatype"]),
        "bitpix": int(hdr["bitpix"]),
        "pixdim": [float(x) for x in hdr["pixdim"]],
        "vox_offset": int(hdr["vox_offset"]),
        "scl_slope": None if not np.isfinite(hdr["scl_slope"]) else float(hdr["scl_slope"]),
        "scl_inter": None if not np.isfinite(hdr["scl_inter"]) else float(hdr["scl_inter"]),
        "scaling_applies": slope is not None,
        "qform_code": int(hdr["qform_code"]),
        "sform_code": int(hdr["sform_code"]),
        "qform": hdr.get_qform().tolist(),
        "sform": hdr.get_sform().tolist(),
        "affine": img.affine.tolist(),
        "axcodes": "".join(nib.aff2axcodes(img.affine)),
        "zooms": [float(z) for z in hdr.get_zooms()],
        "descrip": hdr["descrip"].item().split(b"\0")[0].decode("latin-1"),
        "xyzt_units": int(hdr["xyzt_units"]),
        "extensions": exts,
        "shape": list(raw.shape),
        "raw_dtype": str(raw.dtype.newbyteorder("=")),
        "raw_crc32": crc_raw(raw),
        "raw": stats(raw),
        "scaled_crc32": crc_f32(scaled),
        "scaled": stats(scaled),
        "scaled_matches_nibabel": bool(np.array_equal(scaled.view(np.uint32), nib_f32.view(np.uint32))),
        "canonical": {"affine": canon_aff.tolist(), "axcodes": "".join(nib.aff2axcodes(canon_aff)),
                      "shape": list(canon_raw.shape), "raw_crc32": crc_raw(canon_raw)},
    }
    return d


def save(img, name, big_endian=False):
    path = os.path.join(OUT, name)
    if big_endian:
        img.header = img.header.as_byteswapped(">")
    nib.save(img, path)
    return path


def with_header(img_class, data, aff, dtype=None, endian=None, **fields):
    hdr = img_class.header_class(endianness=endian) if endian else img_class.header_class()
    if dtype is not None:
        hdr.set_data_dtype(dtype)
    img = img_class(data, aff, hdr)
    for k, v in fields.items():
        img.header[k] = v
    return img


def main():
    os.makedirs(OUT, exist_ok=True)
    files = []
    r_obl = rot(0.2, -0.1, 0.35)
    a_obl = affine(r_obl, [0.9, 1.1, 2.5], [-40.5, 22.25, 13.0])

    # 1-2: scaled int16 (CT-like: slope, intercept), little- and big-endian
    raw = phantom((7, 6, 5), np.int16, 1, -1000, 3000)
    img = nib.Nifti1Image(raw, a_obl)
    img.header.set_slope_inter(0.7, -1024.0)
    img.header["descrip"] = b"scaled int16, little-endian"
    img.header.set_xyzt_units("mm", "sec")
    files.append(save(img, "le_int16_scaled.nii"))
    hdr = nib.Nifti1Header(endianness=">")
    hdr.set_data_dtype(np.int16)
    img = nib.Nifti1Image(raw, a_obl, hdr)
    img.header.set_slope_inter(0.7, -1024.0)
    img.header["descrip"] = b"scaled int16, big-endian"
    files.append(save(img, "be_int16_scaled.nii"))

    # 3-4: NIfTI-2, float32 little-endian; int32 big-endian compressed
    img = nib.Nifti2Image(phantom((6, 5, 4), np.float32, 3, -2.5, 7.5), a_obl)
    img.header["descrip"] = b"NIfTI-2 float32"
    files.append(save(img, "nifti2_float32.nii"))
    hdr = nib.Nifti2Header(endianness=">")
    hdr.set_data_dtype(np.int32)
    img = nib.Nifti2Image(phantom((5, 4, 6), np.int32, 4, -100000, 100000), affine(np.eye(3), [1.5, 1.5, 3.0], [1, 2, 3]), hdr)
    files.append(save(img, "nifti2_be_int32.nii.gz"))

    # 5: 4D uint16, compressed
    img = nib.Nifti1Image(phantom((5, 4, 3, 3), np.uint16, 5, 0, 60000), a_obl)
    img.header.set_xyzt_units("mm", "msec")
    img.header["pixdim"][4] = 2000.0
    files.append(save(img, "4d_uint16.nii.gz"))

    # 6: extensions (a comment and an AFNI-coded blob), float64
    img = nib.Nifti1Image(phantom((4, 5, 3), np.float64, 6, -1.0, 1.0), a_obl)
    img.header.extensions.append(nib.nifti1.Nifti1Extension("comment", b"voxtile test extension: hello"))
    img.header.extensions.append(nib.nifti1.Nifti1Extension(4, b"<AFNI_attributes>" + bytes(range(40)) + b"</AFNI_attributes>"))
    files.append(save(img, "ext_float64.nii"))

    # 7: qform only (oblique, left-handed: qfac -1); the sform fields hold values but code 0
    a_lh = affine(r_obl @ np.diag([1, 1, -1]), [1.2, 0.8, 3.0], [10.0, -20.0, 30.0])
    img = nib.Nifti1Image(phantom((6, 7, 4), np.uint8, 7, 0, 255), None)
    img.header.set_qform(a_lh, code=1)
    img.header.set_sform(affine(np.eye(3), [9, 9, 9], [99, 99, 99]), code=0)
    files.append(save(img, "qform_only.nii"))

    # 8: sform only (with shear); qform code 0 with garbage quaternion fields, as in mricron_ch2
    a_sh = a_obl.copy()
    a_sh[0, 1] += 0.3
    img = nib.Nifti1Image(phantom((5, 6, 7), np.int8, 8, -120, 120), None)
    img.header.set_sform(a_sh, code=2)
    img.header.set_qform(None, code=0)
    img.header["quatern_b"], img.header["quatern_c"], img.header["quatern_d"] = 1.0, 0.0, 0.0
    img.header["qoffset_x"] = 5.0
    files.append(save(img, "sform_only.nii"))

    # 9: neither form: nibabel's pixdim fallback
    img = nib.Nifti1Image(phantom((6, 5, 4), np.uint16, 9, 0, 4000), None)
    img.header.set_qform(None, code=0)
    img.header.set_sform(None, code=0)
    img.header.set_zooms((0.8, 0.9, 2.5))
    files.append(save(img, "neither.nii"))

    # 10: .hdr/.img pair
    img = nib.Nifti1Pair(phantom((5, 4, 3), np.int8, 10, -100, 100), a_obl)
    files.append(save(img, "pair_int8.hdr"))

    # 11: every stored type, small
    for i, dt in enumerate([np.uint8, np.int8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64,
                            np.float32, np.float64]):
        name = "type_%s.nii" % np.dtype(dt).name
        info = np.iinfo(dt) if np.dtype(dt).kind in "iu" else None
        lo = max(info.min, -2**40) if info else -1e6
        hi = min(info.max, 2**40) if info else 1e6
        img = nib.Nifti1Image(phantom((4, 3, 2), dt, 20 + i, lo, hi), a_obl, dtype=dt)
        files.append(save(img, name))

    # 12: scaled int32 (nibabel computes in float64: the float32 definitions differ in the last bit)
    img = nib.Nifti1Image(phantom((4, 3, 5), np.int32, 31, -2**30, 2**30), a_obl, dtype=np.int32)
    img.header.set_slope_inter(0.3, 17.25)
    files.append(save(img, "int32_scaled.nii"))

    # 13: reorientation: LPS-like with a permutation (i -> superior, j -> left, k -> anterior)
    perm = np.array([[0, -1, 0], [0, 0, 1], [1, 0, 0]], dtype=float)  # columns: i->z, j->-x, k->y
    img = nib.Nifti1Image(phantom((5, 6, 4), np.int16, 40, -500, 500), affine(perm, [2.0, 0.7, 1.3], [30, -40, 50]))
    img.header.set_qform(img.affine, code=1)
    files.append(save(img, "permuted_int16.nii.gz"))

    # 14: 2D image (dim[0] = 2)
    img = nib.Nifti1Image(phantom((9, 7), np.float32, 41, 0.0, 1.0), np.diag([0.5, 0.5, 1, 1]))
    files.append(save(img, "2d_float32.nii"))

    # 15: a gzip file of two members (pigz/bgzip-style concatenation)
    with open(os.path.join(OUT, "le_int16_scaled.nii"), "rb") as f:
        b = f.read()
    path = os.path.join(OUT, "multi_member.nii.gz")
    with open(path, "wb") as f:
        f.write(gzip.compress(b[:400], mtime=0) + gzip.compress(b[400:], mtime=0))
    files.append(path)

    # the real volume (copied beside the generated files by this script's caller, see tests/data/README.md)
    real = os.path.join(os.path.dirname(OUT), "mricron_ch2.nii.gz")

    ref = [describe(p, os.path.basename(p)) for p in files]
    if os.path.exists(real):
        ref.append(describe(real, "../mricron_ch2.nii.gz"))
    for d in ref:
        kind = np.dtype(d["raw_dtype"]).itemsize <= 2 or d["raw_dtype"].startswith("float")
        if kind and not d["scaled_matches_nibabel"]:
            raise SystemExit("unexpected: %s float32 scaling differs from nibabel's" % d["file"])
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump({"generator": "tools/make_nifti_testdata.py", "nibabel": nib.__version__,
                   "numpy": np.__version__, "files": ref}, f, indent=1)
        f.write("\n")
    print("wrote %d files and reference.json to %s" % (len(files), OUT))


if __name__ == "__main__":
    main()
