/* A program that embeds voxtile: the whole pipeline on an image from a plan file, labels written as the input's
 * format. Usage: consumer IMAGE PLAN.json LABELS_OUT (tests/check_install.cmake compares LABELS_OUT with
 * `voxtile run`'s, byte for byte). Without arguments: a version check only. */
#include <stdio.h>
#include <voxtile.h>

static int fail(const char *what, vxt_status st)
{
    fprintf(stderr, "consumer: %s: %s: %s\n", what, vxt_status_string(st), vxt_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (vxt_version_number() != VXT_VERSION_NUMBER)
        return fprintf(stderr, "consumer: header/library version mismatch\n"), 1;
    if (argc != 4) {
        printf("voxtile %s consumer ok\n", vxt_version_string());
        return argc == 1 ? 0 : 2;
    }
    vxt_context *ctx = NULL;
    vxt_plan *plan = NULL;
    vxt_image *img = NULL;
    vxt_pipeline *pipe = NULL;
    vxt_run_result res = {.struct_size = sizeof res};
    vxt_status st;
    int rc = 1;
    if ((st = vxt_context_create(NULL, &ctx)) != VXT_OK) /* auto: a GPU when there is one, else the CPU */
        rc = fail("context", st);
    else if ((st = vxt_plan_create(&plan)) != VXT_OK || (st = vxt_plan_load_file(plan, argv[2])) != VXT_OK)
        rc = fail(argv[2], st);
    else if ((st = vxt_image_read_path(argv[1], NULL, &img)) != VXT_OK)
        rc = fail(argv[1], st);
    else if ((st = vxt_pipeline_create(ctx, plan, NULL, 0, &pipe)) != VXT_OK)
        rc = fail("pipeline", st);
    else if ((st = vxt_pipeline_run(pipe, img, NULL, &res)) != VXT_OK)
        rc = fail("run", st);
    else if ((st = vxt_image_write_path(res.labels, argv[3], NULL)) != VXT_OK)
        rc = fail(argv[3], st);
    else
        rc = 0;
    vxt_run_result_clear(&res);
    vxt_pipeline_destroy(pipe);
    vxt_image_destroy(img);
    vxt_plan_destroy(plan);
    vxt_context_destroy(ctx);
    return rc;
}
