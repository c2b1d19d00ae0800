/* cli_memory.c - how much memory a command may take: --max-memory SIZE, or what this machine can give now
 * (MemAvailable, or the cgroup's limit less its usage where that is lower: a container's or a systemd unit's). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_parse_size(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return 0;
    if (!strcmp(s, "none")) {
        *out = 0;
        return 1;
    }
    if (!((*s >= '0' && *s <= '9') || *s == '.') || strpbrk(s, "xXpP")) /* decimal only: no sign, hex, inf */
        return 0;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v > 0) || !isfinite(v))
        return 0;
    static const struct {
        const char *suffix;
        double scale;
    } units[] = {{"", 1.0},         {"B", 1.0},          {"K", 1024.0},        {"KB", 1024.0},      {"KiB", 1024.0},
                 {"M", 1048576.0},  {"MB", 1048576.0},   {"MiB", 1048576.0},   {"G", 1073741824.0}, {"GB", 1073741824.0},
                 {"GiB", 1073741824.0}, {"T", 1099511627776.0}, {"TB", 1099511627776.0}, {"TiB", 1099511627776.0}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcasecmp(end, units[i].suffix)) {
            double bytes = v * units[i].scale;
            if (bytes < 1.0 || bytes >= 18446744073709549568.0)
                return 0;
            *out = (uint64_t)bytes;
            return 1;
        }
    return 0;
}

const char *cli_size_text(char *buf, size_t n, uint64_t bytes)
{
    if (bytes >= ((uint64_t)1 << 30))
        snprintf(buf, n, "%.1f GiB", (double)bytes / 1073741824.0);
    else
        snprintf(buf, n, "%.0f MiB", ceil((double)bytes / 1048576.0));
    return buf;
}

/* The first number in file root/path, in bytes (kB when `kib`); "max" is unlimited (UINT64_MAX). 0 when absent. */
static int read_number(const char *root, const char *path, const char *key, uint64_t *out)
{
    char full[4096];
    snprintf(full, sizeof full, "%s%s", root, path);
    FILE *f = fopen(full, "r");
    if (!f)
        return 0;
    char line[512];
    int ok = 0;
    while (!ok && fgets(line, sizeof line, f)) {
        const char *v = line;
        if (key) {
            size_t k = strlen(key);
            if (strncmp(line, key, k) != 0 || line[k] != ':')
                continue;
            v = line + k + 1;
        }
        while (*v == ' ' || *v == '\t')
            v++;
        if (!strncmp(v, "max", 3)) {
            *out = UINT64_MAX;
            ok = 1;
        } else {
            char *end = NULL;
            unsigned long long n = strtoull(v, &end, 10);
            if (end != v) {
                *out = key ? (uint64_t)n * 1024u : (uint64_t)n; /* /proc/meminfo counts kB */
                ok = 1;
            }
        }
        if (!key)
            break;
    }
    fclose(f);
    return ok;
}

/* The cgroup (v2, or v1's memory controller) this process is in: the least of (limit - usage) over it and its
 * ancestors; UINT64_MAX where none is set. `where` names the limiting one. */
static uint64_t cgroup_room(const char *root, char *where, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/proc/self/cgroup", root);
    FILE *f = fopen(path, "r");
    if (!f)
        return UINT64_MAX;
    char line[4096], v2[4096] = "", v1[4096] = ""; /* as long as a line: a path is never cut */
    int have_v2 = 0, have_v1 = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!strncmp(line, "0::", 3)) {
            snprintf(v2, sizeof v2, "%s", line + 3);
            have_v2 = 1;
        } else {
            const char *c = strchr(line, ':');
            const char *c2 = c ? strchr(c + 1, ':') : NULL;
            if (c && c2 && (size_t)(c2 - c - 1) >= 6 && strstr(c + 1, "memory") && strstr(c + 1, "memory") < c2) {
                snprintf(v1, sizeof v1, "%s", c2 + 1);
                have_v1 = 1;
            }
        }
    }
    fclose(f);
    uint64_t best = UINT64_MAX;
    char dir[4096];
    if (have_v1) { /* v1: the memory controller's own hierarchy, the process's group only */
        uint64_t lim = 0, use = 0;
        char p1[4200], p2[4200];
        snprintf(p1, sizeof p1, "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", strcmp(v1, "/") ? v1 : "");
        snprintf(p2, sizeof p2, "/sys/fs/cgroup/memory%s/memory.usage_in_bytes", strcmp(v1, "/") ? v1 : "");
        if (read_number(root, p1, NULL, &lim) && lim < ((uint64_t)1 << 62) && read_number(root, p2, NULL, &use)) {
            best = lim > use ? lim - use : 0;
            snprintf(where, n, "the cgroup %s (memory.limit_in_bytes)", v1);
        }
    }
    if (have_v2) { /* v2: every ancestor's memory.max counts */
        snprintf(dir, sizeof dir, "%s", v2);
        for (;;) {
            uint64_t lim = 0, use = 0;
            char p1[4200], p2[4200];
            const char *d = strcmp(dir, "/") ? dir : "";
            snprintf(p1, sizeof p1, "/sys/fs/cgroup%s/memory.max", d);
            snprintf(p2, sizeof p2, "/sys/fs/cgroup%s/memory.current", d);
            if (read_number(root, p1, NULL, &lim) && lim != UINT64_MAX && read_number(root, p2, NULL, &use)) {
                uint64_t room = lim > use ? lim - use : 0;
                if (room < best) {
                    best = room;
                    snprintf(where, n, "the cgroup %.2000s (memory.max)", dir[0] ? dir : "/");
                }
            }
            char *slash = strrchr(dir, '/');
            if (!slash || !strcmp(dir, "/"))
                break;
            if (slash == dir)
                dir[1] = '\0';
            else
                *slash = '\0';
        }
    }
    return best;
}

int cli_memory_available(const char *root, uint64_t *bytes, char *source, size_t n)
{
    uint64_t avail = UINT64_MAX;
    char where[2200] = "";
    int have = read_number(root, "/proc/meminfo", "MemAvailable", &avail);
    if (have)
        snprintf(source, n, "MemAvailable");
    uint64_t room = cgroup_room(root, where, sizeof where);
    if (room < avail) {
        avail = room;
        snprintf(source, n, "%s", where);
        have = 1;
    }
    if (!have)
        return 0;
    *bytes = avail;
    return 1;
}

uint64_t cli_resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long pages = 0, rss = 0;
    int ok = f && fscanf(f, "%llu %llu", &pages, &rss) == 2;
    if (f)
        fclose(f);
    return ok ? (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}
