/* test_cli_memory.c - the tool's memory ceiling (tools/voxtile/cli_memory.c): sizes as users write them, and what
 * the machine can give, from /proc/meminfo and the cgroup files (v2, with every ancestor's memory.max, and v1's
 * memory controller) in a fake root folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "vxt_test.h"

static char root[256];

static void put(const char *rel, const char *text)
{
    char path[1024], dir[1024];
    snprintf(path, sizeof path, "%s%s", root, rel);
    for (char *p = strchr(path + strlen(root) + 1, '/'); p; p = strchr(p + 1, '/')) { /* the folders on the way */
        snprintf(dir, sizeof dir, "%.*s", (int)(p - path), path);
        mkdir(dir, 0700);
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_sizes(void **state)
{
    (void)state;
    struct {
        const char *text;
        uint64_t bytes;
    } good[] = {{"8G", (uint64_t)8 << 30}, {"512M", (uint64_t)512 << 20}, {"1.5GiB", (uint64_t)3 << 29},
                {"100", 100},           {"2t", (uint64_t)2 << 40},     {"64kb", 65536},
                {"none", 0}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t b = 1;
        if (!cli_parse_size(good[i].text, &b) || b != good[i].bytes)
            fail_msg("'%s' gives %llu", good[i].text, (unsigned long long)b);
    }
    const char *bad[] = {"", "G", "-1G", "0", "0.1", "0x10", "1e400", "inf", "nan", "5 G", "5GB ", "12Q", "1..2G"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t b = 0;
        if (cli_parse_size(bad[i], &b))
            fail_msg("'%s' accepted as %llu", bad[i], (unsigned long long)b);
    }
    assert_false(cli_parse_size(NULL, NULL));
}

static void test_available(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/vxt_mem_XXXXXX");
    assert_non_null(mkdtemp(root));
    uint64_t b = 0;
    char src[256];
    /* nothing to read: no ceiling */
    assert_false(cli_memory_available(root, &b, src, sizeof src));
    /* MemAvailable (kB), no cgroup file */
    put("/proc/meminfo", "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   20000000 kB\n");
    assert_true(cli_memory_available(root, &b, src, sizeof src));
    assert_int_equal(b, 20000000ull * 1024);
    assert_string_equal(src, "MemAvailable");
    /* cgroup v2: the unit's own limit is unlimited, its parent's 4 GiB with 1 GiB used: 3 GiB */
    put("/proc/self/cgroup", "0::/system.slice/job.service\n");
    put("/sys/fs/cgroup/system.slice/job.service/memory.max", "max\n");
    put("/sys/fs/cgroup/system.slice/job.service/memory.current", "104857600\n");
    put("/sys/fs/cgroup/system.slice/memory.max", "4294967296\n");
    put("/sys/fs/cgroup/system.slice/memory.current", "1073741824\n");
    assert_true(cli_memory_available(root, &b, src, sizeof src));
    assert_int_equal(b, (uint64_t)3 << 30);
    assert_non_null(strstr(src, "/system.slice"));
    assert_null(strstr(src, "job.service"));
    /* over its limit already: nothing left */
    put("/sys/fs/cgroup/system.slice/memory.current", "5368709120\n");
    assert_true(cli_memory_available(root, &b, src, sizeof src));
    assert_int_equal(b, 0);
    /* a limit above MemAvailable does not raise it */
    put("/sys/fs/cgroup/system.slice/memory.max", "1099511627776\n");
    put("/sys/fs/cgroup/system.slice/memory.current", "0\n");
    assert_true(cli_memory_available(root, &b, src, sizeof src));
    assert_int_equal(b, 20000000ull * 1024);
    assert_string_equal(src, "MemAvailable");
    /* cgroup v1's memory controller; "unlimited" is a huge number there */
    put("/proc/self/cgroup", "12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n");
    put("/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "2147483648\n");
    put("/sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes", "536870912\n");
    assert_true(cli_memory_available(root, &b, src, sizeof src));
    assert_int_equal(b, (uint64_t)3 << 29);
    assert_non_null(strstr(src, "/docker/abc"));
    put("/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "9223372036854771712\n");
    assert_true(cli_memory_available(root, &b, src, sizeof src));
    assert_string_equal(src, "MemAvailable");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_available),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
