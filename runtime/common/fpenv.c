/* fpenv.c - run CPU-path arithmetic in the default floating-point environment, whatever the caller set. */
#include <fenv.h>
#include <string.h>

#include "internal.h"

_Static_assert(sizeof(fenv_t) <= sizeof(((vxt__fpenv *)0)->saved), "fenv_t does not fit");

void vxt__fpenv_enter(vxt__fpenv *saved)
{
    fenv_t env;
    fegetenv(&env);
    memcpy(saved->saved, &env, sizeof env);
    /* FE_DFL_ENV: round to nearest, exceptions masked, and on x86-64 MXCSR without FTZ/DAZ. */
    fesetenv(FE_DFL_ENV);
}

void vxt__fpenv_leave(const vxt__fpenv *saved)
{
    fenv_t env;
    memcpy(&env, saved->saved, sizeof env);
    fesetenv(&env);
}
