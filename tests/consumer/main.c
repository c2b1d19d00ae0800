/* A minimal embedding: version check, a CPU context, its description. */
#include <stdio.h>
#include <voxtile.h>

int main(void)
{
    if (vxt_version_number() != VXT_VERSION_NUMBER) {
        fprintf(stderr, "header/library version mismatch\n");
        return 1;
    }
    vxt_context_options o;
    vxt_context_options_init(&o);
    o.backend = VXT_BACKEND_CPU;
    vxt_context *ctx = NULL;
    vxt_status st = vxt_context_create(&o, &ctx);
    if (st != VXT_OK) {
        fprintf(stderr, "vxt_context_create: %s: %s\n", vxt_status_string(st), vxt_last_error());
        return 1;
    }
    vxt_context_info info = {.struct_size = sizeof info};
    vxt_context_get_info(ctx, &info);
    printf("voxtile %s consumer ok: %s\n", vxt_version_string(), info.device_name);
    vxt_context_destroy(ctx);
    return 0;
}
