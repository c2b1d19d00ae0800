/* output_set.c - vxt_output_set: the files of one result (labels, probabilities, a picture) written completely
 * first, then moved into place together, so that a failure or a kill before the commit changes no target
 * (io/staged_file.c does each file). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_internal.h"

struct vxt_output_set {
    vxt__staged *files;
    int n, cap;
    int committed;
};

vxt_status vxt_output_set_create(vxt_output_set **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = calloc(1, sizeof **out);
    if (!*out)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "vxt_output_set_create: out of memory");
    return VXT_OK;
}

/* A slot for a file at path: refused after the commit, or when the set already has a file there. */
static vxt_status reserve(vxt_output_set *set, const char *func, const char *path)
{
    if (set->committed)
        return vxt__fail(NULL, VXT_ERR_STATE, "%s: the set was committed already ('%s' not added)", func, path);
    struct stat a, b;
    const int a_ok = stat(path, &a) == 0;
    for (int i = 0; i < set->n; i++)
        if (strcmp(set->files[i].path, path) == 0 ||
            (a_ok && stat(set->files[i].path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino))
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: '%s' is in the set already", func, path);
    if (set->n == set->cap) {
        int cap = set->cap ? 2 * set->cap : 4;
        vxt__staged *f = realloc(set->files, (size_t)cap * sizeof *f);
        if (!f)
            return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory", func);
        set->files = f;
        set->cap = cap;
    }
    return VXT_OK;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

vxt_status vxt_output_set_add_image(vxt_output_set *set, const vxt_image *img, const char *path,
                                    const vxt_nifti_write_options *nifti)
{
    VXT_CHECK_NULL(NULL, set);
    VXT_CHECK_NULL(NULL, img);
    VXT_CHECK_NULL(NULL, path);
    vxt_status st = reserve(set, __func__, path);
    if (st != VXT_OK)
        return st;
    vxt__staged f;
    if (has_suffix(path, ".nii") || has_suffix(path, ".nii.gz"))
        st = vxt__nifti_stage(__func__, img, path, nifti, &f);
    else if (has_suffix(path, ".npy"))
        st = vxt__npy_stage_image(img, path, &f);
    else
        st = vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: '%s' has no extension of a format voxtile writes (.nii, "
                       ".nii.gz, .npy)", __func__, path);
    if (st == VXT_OK)
        set->files[set->n++] = f;
    return st;
}

vxt_status vxt_output_set_add_file(vxt_output_set *set, const char *path, vxt_output_write_fn write, void *user)
{
    VXT_CHECK_NULL(NULL, set);
    VXT_CHECK_NULL(NULL, path);
    VXT_CHECK_NULL(NULL, write);
    vxt_status st = reserve(set, __func__, path);
    if (st != VXT_OK)
        return st;
    char who[4200];
    snprintf(who, sizeof who, "%s: '%s'", __func__, path);
    vxt__staged f;
    if ((st = vxt__staged_open(who, path, &f)) != VXT_OK)
        return st;
    errno = 0;
    int rc = write(user, f.fd);
    if (rc != 0) {
        int e = errno;
        vxt__staged_abort(&f);
        return vxt__fail(NULL, VXT_ERR_IO, "%s: the writer returned %d%s%s", who, rc, e ? ": " : "", e ? strerror(e) : "");
    }
    if ((st = vxt__staged_finish(who, &f)) != VXT_OK) {
        vxt__staged_abort(&f);
        return st;
    }
    set->files[set->n++] = f;
    return VXT_OK;
}

vxt_status vxt_output_set_add_npy_writer(vxt_output_set *set, vxt_npy_writer *w)
{
    if (!set || !w) {
        vxt_npy_writer_abort(w); /* taken in every case */
        return vxt__fail(NULL, VXT_ERR_NULL, "vxt_output_set_add_npy_writer: %s is NULL", set ? "w" : "set");
    }
    vxt__staged f;
    vxt_status st = reserve(set, __func__, vxt__npy_writer_path(w));
    if (st != VXT_OK) {
        vxt_npy_writer_abort(w);
        return st;
    }
    if ((st = vxt__npy_writer_finish(w, &f)) != VXT_OK) /* which releases the writer */
        return st;
    set->files[set->n++] = f;
    return VXT_OK;
}

vxt_status vxt_output_set_commit(vxt_output_set *set)
{
    VXT_CHECK_NULL(NULL, set);
    if (set->committed)
        return vxt__fail(NULL, VXT_ERR_STATE, "vxt_output_set_commit: committed already");
    set->committed = 1;
    /* every file named first: a failure here leaves every target as it was (destroy removes the temporaries) */
    for (int i = 0; i < set->n; i++) {
        char who[4200];
        snprintf(who, sizeof who, "vxt_output_set_commit: '%s'", set->files[i].path);
        vxt_status st = vxt__staged_name(who, &set->files[i]);
        if (st != VXT_OK)
            return st;
    }
    /* then the renames back to back (no disk flush between them), then the directories synced */
    vxt_status st = VXT_OK;
    int placed = 0;
    for (int i = 0; i < set->n && st == VXT_OK; i++) {
        char who[4200];
        snprintf(who, sizeof who, "vxt_output_set_commit: '%s'", set->files[i].path);
        st = vxt__staged_place(who, &set->files[i]);
        placed += st == VXT_OK;
    }
    for (int i = 0; i < placed; i++)
        vxt__staged_sync_dir(&set->files[i]);
    if (st != VXT_OK && placed > 0) { /* the message says which are in place already */
        char done[512] = "";
        for (int k = 0; k < placed; k++)
            vxt__strlcatf(done, sizeof done, "%s'%s'", k ? ", " : "", set->files[k].path);
        char why[1024];
        vxt__strlcpy(why, vxt_last_error(), sizeof why);
        vxt__fail(NULL, st, "%s (in place already: %s; the others are not)", why, done);
    }
    return st;
}

void vxt_output_set_destroy(vxt_output_set *set)
{
    if (!set)
        return;
    for (int i = 0; i < set->n; i++)
        vxt__staged_release(&set->files[i]);
    free(set->files);
    free(set);
}
