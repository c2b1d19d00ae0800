/* fuzz_dicom_decode.c - libFuzzer target for the decoders of compressed DICOM pixel data (host/dicom/dicom_codec.h),
 * straight, without a DICOM file around them: the fuzzer reaches the streams' inner structure (Huffman tables,
 * restart markers, JPEG-LS and JPEG 2000 headers, RLE segments, fragments and offset tables) far more often than
 * through fuzz_dicom_read. The input's layout and the invariants: fuzz_dicom_decode.h (shared with the replay of
 * tests/fuzz/regressions-dicom-decode in tests/test_dicom.c). */
#include "fuzz_dicom_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    (void)vxt_fuzz_decode_once(data, size, err, sizeof err);
    return 0;
}
