/* cli_dicom.c - the DICOM input flags every command that reads an image takes (--series, --keep-irregular,
 * --drop-duplicates, --tilt) and the read options they ask for (vxt_read_options.dicom_series, dicom_flags). They
 * reach every read through cli_read_image() and cli_read_image_with(); a NIfTI or .npy input ignores them. */
#include <string.h>

#include "cli.h"

const cli_flag cli_dicom_flags[] = {
    {NULL, 0, NULL, 0, "DICOM input (a folder of slices or a DICOM file; other formats ignore these)"},
    {"series", 0, "UID|NUMBER", CLI_DICOM_SERIES,
     "the series to read where there are several: its SeriesInstanceUID, or its number in voxtile header's list "
     "(default: the only one; several are refused, the message lists them)"},
    {"keep-irregular", 0, NULL, CLI_DICOM_KEEP_IRREGULAR,
     "keep a series whose slices are unevenly spaced or have a gap (a missing slice): stacked as they are and "
     "placed evenly from the first to the last, as dcm2niix (default: refused)"},
    {"drop-duplicates", 0, NULL, CLI_DICOM_DROP_DUPLICATES,
     "where several files hold a slice at the same position, keep the one with the lowest InstanceNumber "
     "(default: refused)"},
    {"tilt", 0, "refuse|correct", CLI_DICOM_TILT,
     "a gantry-tilted series (slices sheared along their planes): refused (default), or corrected by resampling "
     "each slice onto an orthogonal grid, as dcm2niix"},
    {NULL, 0, NULL, 0, NULL},
};

int cli_dicom_flag(const char *cmd, cli_dicom *d, const cli_flag *f, const char *value)
{
    switch (f->id) {
    case CLI_DICOM_SERIES:
        if (!value[0]) {
            cli_error(cmd, "--series: expected a SeriesInstanceUID or a series number (voxtile header lists them)");
            return VXT_EXIT_USAGE;
        }
        d->series = value;
        return 0;
    case CLI_DICOM_KEEP_IRREGULAR:
        d->flags |= VXT_DICOM_KEEP_IRREGULAR;
        return 0;
    case CLI_DICOM_DROP_DUPLICATES:
        d->flags |= VXT_DICOM_DROP_DUPLICATES;
        return 0;
    case CLI_DICOM_TILT:
        if (!strcmp(value, "correct")) {
            d->flags |= VXT_DICOM_CORRECT_TILT;
        } else if (!strcmp(value, "refuse")) {
            d->flags &= ~VXT_DICOM_CORRECT_TILT;
        } else {
            cli_error(cmd, "--tilt '%s': expected refuse or correct", value);
            return VXT_EXIT_USAGE;
        }
        return 0;
    default:
        return -2;
    }
}

void cli_dicom_options(const cli_dicom *d, vxt_read_options *ro)
{
    ro->dicom_series = d ? d->series : NULL;
    ro->dicom_flags = d ? d->flags : 0u;
    ro->threads = d ? d->threads : 0;
}
