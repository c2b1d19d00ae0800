/* version.c - run-time version query. */
#include "internal.h"

unsigned vxt_version_number(void)
{
    return VXT_VERSION_NUMBER;
}

const char *vxt_version_string(void)
{
    return VXT_VERSION_STRING;
}
