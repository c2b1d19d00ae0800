#!/usr/bin/env python3
"""Write .npy test files with NumPy itself (good and bad ones) for tests/test_npy.c.
    /usr/bin/python3 tools/make_npy_testdata.py tests/data/npy
Values follow v[i] = (i * 7 % 23) - 11 (+ 0.25 for floats) so the C test can recompute them."""
import os
import sys

import numpy as np


def values(n, dtype):
    v = (np.arange(n) * 7 % 23) - 11
    if np.dtype(dtype).kind == 'f':
        v = v + 0.25
    if np.dtype(dtype).kind == 'u':
        v = v + 11
    return v.astype(dtype)


def main(out):
    os.makedirs(out, exist_ok=True)
    good = {
        "f4_3x4x5": ('<f4', (3, 4, 5)),
        "f2_2x3": ('<f2', (2, 3)),
        "f8_7": ('<f8', (7,)),
        "u1_4x4": ('|u1', (4, 4)),
        "i2_be_3x3": ('>i2', (3, 3)),
        "f4_be_2x2x2": ('>f4', (2, 2, 2)),
        "u2_10": ('<u2', (10,)),
        "i8_scalar": ('<i8', ()),
        "f4_empty": ('<f4', (0, 5)),
    }
    for name, (dt, shape) in good.items():
        a = values(int(np.prod(shape)), dt).reshape(shape)
        np.save(os.path.join(out, name + ".npy"), a)
    # format version 2.0
    a = values(6, '<f4').reshape(2, 3)
    with open(os.path.join(out, "f4_v2_2x3.npy"), "wb") as f:
        np.lib.format.write_array(f, a, version=(2, 0))
    # bad ones
    np.save(os.path.join(out, "bad_fortran.npy"), np.asfortranarray(values(6, '<f4').reshape(2, 3)))
    np.save(os.path.join(out, "bad_bool.npy"), np.array([True, False]))
    np.save(os.path.join(out, "bad_structured.npy"), np.zeros(3, dtype=[('a', '<f4'), ('b', '<i2')]))
    np.save(os.path.join(out, "bad_complex.npy"), np.zeros(3, dtype=np.complex64))
    raw = open(os.path.join(out, "f4_3x4x5.npy"), "rb").read()
    open(os.path.join(out, "bad_truncated_data.npy"), "wb").write(raw[:-7])
    open(os.path.join(out, "bad_truncated_header.npy"), "wb").write(raw[:40])
    open(os.path.join(out, "bad_trailing.npy"), "wb").write(raw + b"xyz")
    open(os.path.join(out, "bad_magic.npy"), "wb").write(b"\x93NUMPX" + raw[6:])
    open(os.path.join(out, "bad_version.npy"), "wb").write(raw[:6] + b"\x09\x00" + raw[8:])
    hdr = bytearray(raw)
    hdr[8], hdr[9] = 0xff, 0xff  # header length beyond the file
    open(os.path.join(out, "bad_header_len.npy"), "wb").write(bytes(hdr))
    h = raw.replace(b"'shape': (3, 4, 5)", b"'shape': (3, 4; 5)")
    open(os.path.join(out, "bad_shape.npy"), "wb").write(h)
    big = raw.replace(b"'shape': (3, 4, 5), }", b"'shape': (4294967296, 4294967296, 5), }")
    open(os.path.join(out, "bad_overflow.npy"), "wb").write(big)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/npy")
