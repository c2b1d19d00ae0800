/* image_io.c - images read and written by path, whatever the format: the reader is chosen by the file's content
 * (gzip or NIfTI magic, the .npy magic, DICOM's "DICM"; .hdr/.img pair names; a folder is a DICOM series), the
 * writer by the name's extension. The readers' shared options live here too. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <stddef.h>
#include <unistd.h>

#include "image_internal.h"

void vxt_read_options_init(vxt_read_options *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->struct_size = sizeof *opts;
    opts->scaling = VXT_SCALING_AUTO;
    opts->volume = VXT_READ_ALL_VOLUMES;
}

vxt_status vxt__read_options_check(const char *func, const vxt_read_options *opts, vxt_read_options *o)
{
    vxt_read_options_init(o);
    if (opts == NULL)
        return VXT_OK;
    /* the layout before `threads` was added is still accepted (threads then 0) */
    vxt_status st = vxt__check_struct_size(NULL, func, "vxt_read_options", opts, opts->struct_size,
                                           offsetof(vxt_read_options, threads), sizeof *opts);
    if (st != VXT_OK)
        return st;
    memcpy(o, opts, opts->struct_size < sizeof *o ? opts->struct_size : sizeof *o);
    o->struct_size = sizeof *o;
    if (o->scaling != VXT_SCALING_AUTO && o->scaling != VXT_SCALING_RAW && o->scaling != VXT_SCALING_FLOAT32)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: scaling = %d is not a vxt_scaling", func,
                         (int)o->scaling);
    if (o->volume < VXT_READ_ALL_VOLUMES)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: volume = %lld (must be >= 0, or VXT_READ_ALL_VOLUMES)",
                         func, (long long)o->volume);
    if (o->flags & ~VXT_READ_HEADER_ONLY)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: flags = 0x%x has unknown bits", func, o->flags);
    if (o->threads < 0 || o->threads > 1024)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: threads = %d (0 for the CPUs available, or 1-1024)",
                         func, o->threads);
    return VXT_OK;
}

static int has_suffix(const char *path, const char *suffix)
{
    size_t n = strlen(path), k = strlen(suffix);
    return n >= k && strcasecmp(path + n - k, suffix) == 0;
}

/* What the first bytes of a file say it is. */
static vxt_format sniff(const unsigned char *b, size_t n, const char *path)
{
    if (n >= 6 && memcmp(b, "\x93NUMPY", 6) == 0)
        return VXT_FORMAT_NPY;
    if (vxt__gz_magic(b, n))
        return VXT_FORMAT_NIFTI; /* .nii.gz, .hdr.gz: the NIfTI reader says whether it is one */
    if (n >= 4) {
        const uint32_t le = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        const uint32_t be = (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24;
        if (le == 348 || be == 348 || le == 540 || be == 540)
            return VXT_FORMAT_NIFTI;
    }
    if (has_suffix(path, ".img") || has_suffix(path, ".img.gz"))
        return VXT_FORMAT_NIFTI; /* the data file of a pair: its .hdr is read */
    if (n >= 132 && memcmp(b + 128, "DICM", 4) == 0)
        return VXT_FORMAT_DICOM; /* Part 10 file: 128-byte preamble, then the magic */
    /* a DICOM dataset without the preamble (older files): its first element is in group 0002 or 0008, little or
     * big endian */
    if (n >= 8 && ((b[0] == 0x08 && b[1] == 0x00) || (b[0] == 0x02 && b[1] == 0x00) ||
                   (b[0] == 0x00 && b[1] == 0x08)))
        return VXT_FORMAT_DICOM;
    return VXT_FORMAT_NONE;
}

vxt_status vxt_image_read_path(const char *path, const vxt_read_options *opts, vxt_image **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    VXT_CHECK_NULL(NULL, path);
    vxt_read_options o;
    vxt_status st = vxt__read_options_check(__func__, opts, &o);
    if (st != VXT_OK)
        return st;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return vxt__dicom_read_path(path, &o, out); /* a folder: a DICOM series */
    unsigned char head[132];
    ssize_t got = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        got = (ssize_t)vxt__read_full(fd, head, sizeof head);
        close(fd);
    }
    if (got < 0)
        return vxt__fail(NULL, VXT_ERR_IO, "%s: cannot read '%s': %s", __func__, path, strerror(errno));
    switch (sniff(head, (size_t)got, path)) {
    case VXT_FORMAT_NIFTI:
        return vxt_nifti_read_file(path, &o, out);
    case VXT_FORMAT_NPY:
        return vxt__npy_read_image(path, &o, out);
    case VXT_FORMAT_DICOM:
        return vxt__dicom_read_path(path, &o, out);
    default:
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: '%s' is not a NIfTI, .npy or DICOM file (its first bytes match "
                         "none of them)", __func__, path);
    }
}

vxt_status vxt_image_write_path(const vxt_image *img, const char *path, const vxt_nifti_write_options *nifti)
{
    VXT_CHECK_NULL(NULL, img);
    VXT_CHECK_NULL(NULL, path);
    if (has_suffix(path, ".nii") || has_suffix(path, ".nii.gz"))
        return vxt_nifti_write_file(img, path, nifti);
    if (has_suffix(path, ".npy"))
        return vxt__npy_write_image(img, path);
    return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: '%s' has no extension of a format voxtile writes (.nii, "
                     ".nii.gz, .npy)", __func__, path);
}
