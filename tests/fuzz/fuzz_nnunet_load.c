/* fuzz_nnunet_load.c - libFuzzer target for the nnU-Net folder loader (runtime/pipeline/plan_nnunet.c).
 *
 * An input is the folder's two files: plans.json, then a line "---", then dataset.json (without the line, all of
 * it is plans.json and dataset.json is empty). They are written to a folder of this process (under /dev/shm when it
 * is writable) and loaded with vxt_plan_load_nnunet, configuration "3d_fullres". A refusal must come with a message
 * on one line of printable ASCII; a folder that loads must give a plan that is written back (vxt_plan_to_json) and
 * reads again as the same plan (a mismatch aborts, so libFuzzer reports it like a crash). Seeds:
 * tests/fuzz/corpus/fuzz_nnunet_load (the test folder's files joined this way, and inputs the fuzzer found). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_plan_check.h"
#include "voxtile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TARGET "fuzz_nnunet_load"

static char dir[256];

static void put(const char *name, const uint8_t *p, size_t n)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    fuzz_check(TARGET, f && fwrite(p, 1, n, f) == n && fclose(f) == 0, "writing the input's files");
}

/* The folder goes when the fuzzer ends. */
static void remove_dir(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/plans.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/dataset.json", dir);
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/vxt-fuzz-nnunet.XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        fuzz_check(TARGET, mkdtemp(dir) != NULL, "mkdtemp");
        atexit(remove_dir);
    }
    const uint8_t *sep = NULL;
    for (size_t i = 0; i + 5 <= size && !sep; i++)
        if (memcmp(data + i, "\n---\n", 5) == 0)
            sep = data + i;
    const size_t plans_n = sep ? (size_t)(sep - data) : size;
    put("plans.json", data, plans_n);
    put("dataset.json", sep ? sep + 5 : data, sep ? size - plans_n - 5 : 0);
    vxt_plan *plan = NULL;
    fuzz_check(TARGET, vxt_plan_create(&plan) == VXT_OK, "vxt_plan_create");
    if (vxt_plan_load_nnunet(plan, dir, "3d_fullres") != VXT_OK) {
        fuzz_one_line(TARGET, vxt_last_error());
        vxt_plan_destroy(plan);
        return 0;
    }
    fuzz_plan_round_trip(TARGET, plan);
    vxt_plan_destroy(plan);
    return 0;
}
