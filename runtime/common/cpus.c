/* cpus.c - how many CPUs this process may run on: the CPU backend's pool and the DICOM reader's decoding threads
 * size themselves by it. */
#include <sched.h>
#include <unistd.h>

#include "common.h"

int vxt__available_cpus(void)
{
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int c = CPU_COUNT(&set);
        if (c > 0)
            return c;
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
