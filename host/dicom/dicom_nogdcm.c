/* dicom_nogdcm.c - the GDCM layer's functions (dicom_gdcm.h) in a build without GDCM (VXT_WITH_GDCM=OFF, or
 * libgdcm-dev missing): every DICOM call then fails with VXT_ERR_UNSUPPORTED before it gets here
 * (vxt__dcm_available), and these only keep the library linkable. */
#include <stdio.h>
#include <string.h>

#include "dicom_gdcm.h"

int vxt__dcm_available(void)
{
    return 0;
}

int vxt__dcm_scan(const char *path, vxt__dcm_file *out, char *err, size_t errlen)
{
    (void)path;
    memset(out, 0, sizeof *out);
    snprintf(err, errlen, "voxtile was built without GDCM");
    return VXT__DCM_ERROR;
}

const char *vxt__dcm_gdcm_version(void)
{
    return NULL;
}

void vxt__dcm_file_free(vxt__dcm_file *f)
{
    (void)f;
}
