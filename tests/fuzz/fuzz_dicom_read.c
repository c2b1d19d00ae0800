/* fuzz_dicom_read.c - libFuzzer target for the DICOM reader (host/dicom): each input is one file's bytes, read with
 * vxt_dicom_read_memory() (the bytes become an unnamed in-memory file, which GDCM reads as any file), once with the
 * default options and once with every dicom flag (gaps kept, duplicates dropped, tilt corrected), each under a
 * 64 MiB max_bytes so that declared sizes cannot make it allocate more. A failure must come with a message on one
 * line of printable ASCII; an image must hold as many voxels as its shape says, with a finite affine. Build and run
 * with tests/fuzz/run-fuzz.sh; seeds: tests/fuzz/corpus/fuzz_dicom_read (files of the test series of
 * tools/make_dicom_testdata.py, and inputs the fuzzer found). GDCM itself is not instrumented: the fuzzer steers by
 * voxtile's code, and ASan still sees every access voxtile makes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voxtile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_dicom_read: invariant broken: %s (%s)\n", what, vxt_last_error());
        abort();
    }
}

static void read_once(const uint8_t *data, size_t size, unsigned flags)
{
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.max_bytes = (uint64_t)64 << 20;
    o.dicom_flags = flags;
    vxt_image *img = NULL;
    vxt_status st = vxt_dicom_read_memory(data, size, &o, &img);
    if (st != VXT_OK) {
        check(img == NULL, "an image with a failure");
        const char *m = vxt_last_error();
        check(m && m[0], "a failure without a message");
        for (const char *p = m; *p; p++)
            check((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f, "a message that is not one printable line");
        return;
    }
    vxt_image_info in = {.struct_size = sizeof in};
    check(vxt_image_get_info(img, &in) == VXT_OK, "info");
    vxt_volume v;
    check(vxt_image_volume(img, &v) == VXT_OK, "voxels");
    check(in.shape[0] >= 1 && in.shape[1] >= 1 && in.shape[2] >= 1 && in.channels == 1, "shape");
    const size_t n = (size_t)(in.shape[0] * in.shape[1] * in.shape[2]) * vxt_dtype_size(in.dtype);
    volatile unsigned char sum = 0; /* every voxel readable */
    for (size_t i = 0; i < n; i++)
        sum = (unsigned char)(sum + ((const unsigned char *)v.data)[i]);
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            check(isfinite(in.affine[r][c]), "a finite affine");
    vxt_image_destroy(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_once(data, size, 0);
    read_once(data, size, VXT_DICOM_KEEP_IRREGULAR | VXT_DICOM_DROP_DUPLICATES | VXT_DICOM_CORRECT_TILT);
    return 0;
}
