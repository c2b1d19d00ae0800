/* dicom_api.c - reading DICOM series as images: vxt_dicom_scan_read() and the ways in that scan first (a path for
 * vxt_image_read_path(), a list of files, one file in memory). The scan itself: dicom_series.c. */
#include <string.h>
#include <unistd.h>

#include "dicom_internal.h"

static vxt_status no_gdcm(const char *func)
{
    return vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "%s: this voxtile was built without GDCM, so it cannot read DICOM "
                     "(install libgdcm-dev and rebuild; docs/DICOM.md)", func);
}

const char *vxt_dicom_gdcm_version(void)
{
    return vxt__dcm_gdcm_version();
}

static vxt_status read_chosen(const vxt_dicom_scan *s, const char *series, const vxt_read_options *opts,
                              const char *func, vxt_image **out)
{
    vxt_read_options o;
    vxt_status st = vxt__read_options_check(func, opts, &o);
    if (st != VXT_OK)
        return st;
    if (o.dicom_flags != s->o.dicom_flags)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: dicom_flags = 0x%x, but the scan was made with 0x%x "
                         "(scan again with the flags to read with)", func, o.dicom_flags, s->o.dicom_flags);
    if (s->bad) /* it could be a slice of any series: nothing is read while it is there */
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: '%s': %s", func, s->bad->path, s->bad->error);
    size_t g;
    if ((st = vxt__dicom_choose(s, series, func, &g)) != VXT_OK)
        return st;
    return vxt__dicom_read_group(s, g, &o, func, out);
}

vxt_status vxt_dicom_scan_read(const vxt_dicom_scan *scan, const char *series, const vxt_read_options *opts,
                               vxt_image **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    VXT_CHECK_NULL(NULL, scan);
    return read_chosen(scan, series, opts, __func__, out);
}

/* vxt_image_read_path() on a folder or a DICOM file (host/image/image_io.c). */
vxt_status vxt__dicom_read_path(const char *path, const vxt_read_options *o, vxt_image **out)
{
    static const char func[] = "vxt_image_read_path";
    if (!vxt__dcm_available())
        return no_gdcm(func);
    vxt_dicom_scan *s;
    vxt_status st = vxt__dicom_scan_path(func, path, o, &s);
    if (st != VXT_OK)
        return st;
    st = read_chosen(s, o->dicom_series, o, func, out);
    vxt_dicom_scan_destroy(s);
    return st;
}

vxt_status vxt_dicom_read_files(const char *const *paths, size_t count, const vxt_read_options *opts,
                                vxt_image **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    if (!vxt__dcm_available())
        return no_gdcm(__func__);
    vxt_dicom_scan *s;
    vxt_status st = vxt_dicom_scan_files(paths, count, opts, &s);
    if (st != VXT_OK)
        return st;
    st = read_chosen(s, opts ? opts->dicom_series : NULL, opts, __func__, out);
    vxt_dicom_scan_destroy(s);
    return st;
}

vxt_status vxt_dicom_read_memory(const void *data, size_t size, const vxt_read_options *opts, vxt_image **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    VXT_CHECK_NULL(NULL, data);
    if (!vxt__dcm_available())
        return no_gdcm(__func__);
    vxt_dicom_scan *s;
    int fd;
    vxt_status st = vxt__dicom_scan_memory(data, size, opts, &s, &fd);
    if (st != VXT_OK)
        return st;
    st = read_chosen(s, NULL, opts, __func__, out);
    vxt_dicom_scan_destroy(s);
    close(fd);
    return st;
}
