/* staged_file.c - a file written where nobody sees it, then moved into place: the one way voxtile writes an output
 * (NIfTI, .npy, pictures, and sets of them: vxt_output_set).
 *
 * The bytes go to an unnamed temporary file in the target's directory (O_TMPFILE: it has no name, so a process
 * killed while writing leaves nothing behind), or, where the file system lacks O_TMPFILE, to a named temporary
 * ".<name>.vxt-<pid>-<16 hex>.tmp" beside the target. Finishing flushes it to disk (fsync). Committing gives it a
 * name (linkat to such a named temporary) and renames that over the target in one step, then syncs the directory:
 * the target is either the old file or the complete new one, never a part. Aborting closes and unlinks: the target
 * is untouched.
 *
 * A named temporary is visible only between its creation and its rename. One left by a killed process is removed
 * by the next staging in that directory (vxt__staged_sweep): only names of this exact pattern whose process id is
 * not a live process. */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nifti_internal.h"

/* "<dir>" of a path ("." when it has none), into buf. */
static void dir_of(const char *path, char *buf, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(buf, n, ".");
    else if (slash == path)
        snprintf(buf, n, "/");
    else
        snprintf(buf, n, "%.*s", (int)(slash - path), path);
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* A temporary name beside path: "<dir>/.<base>.vxt-<pid>-<16 hex>.tmp". */
static int temp_name(const char *path, char *tmp, size_t n)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)tmp;
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    int k = snprintf(tmp, n, "%s/.%s.vxt-%ld-%016llx.tmp", dir, base_of(path), (long)getpid(), (unsigned long long)r);
    return k > 0 && (size_t)k < n ? 0 : -1;
}

/* Whether a directory entry is a temporary of this pattern whose process is gone. */
static int stale(const char *name)
{
    const char *v = strstr(name, ".vxt-");
    if (name[0] != '.' || !v)
        return 0;
    /* the last ".vxt-" (a target's own name may hold one) */
    for (const char *w = strstr(v + 1, ".vxt-"); w; w = strstr(w + 1, ".vxt-"))
        v = w;
    char *end = NULL;
    errno = 0;
    long pid = strtol(v + 5, &end, 10);
    if (errno || pid <= 0 || !end || *end != '-')
        return 0;
    const char *hex = end + 1;
    for (int i = 0; i < 16; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return 0;
    if (strcmp(hex + 16, ".tmp") != 0)
        return 0;
    if (pid == (long)getpid())
        return 0; /* ours: another staging of this process may be using it */
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

void vxt__staged_sweep(const char *path)
{
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    const int dfd = dirfd(d);
    for (struct dirent *e = readdir(d); e; e = readdir(d))
        if (stale(e->d_name)) {
            struct stat sb;
            /* only regular files, and only ones this user owns */
            if (fstatat(dfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) && sb.st_uid == geteuid())
                (void)unlinkat(dfd, e->d_name, 0);
        }
    closedir(d);
}

vxt_status vxt__staged_open(const char *who, const char *path, vxt__staged *s)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return vxt__fail(NULL, VXT_ERR_IO, "%s: is a directory", who);
    if (!(s->path = strdup(path)))
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory", who);
    vxt__staged_sweep(path);
    char dir[4096];
    dir_of(path, dir, sizeof dir);
#ifdef O_TMPFILE
    s->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    if (s->fd >= 0)
        return VXT_OK;
    /* file systems without unnamed temporaries say so in several ways; anything else is a real failure */
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
        int e = errno;
        free(s->path);
        s->path = NULL;
        return vxt__fail(NULL, VXT_ERR_IO, "%s: cannot create a temporary file beside it: %s", who, strerror(e));
    }
#endif
    char tmp[4200];
    for (int attempt = 0; attempt < 16; attempt++) {
        if (temp_name(path, tmp, sizeof tmp) != 0)
            break;
        s->fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (s->fd >= 0) {
            if (!(s->tmp = strdup(tmp))) {
                close(s->fd);
                unlink(tmp);
                s->fd = -1;
                break;
            }
            return VXT_OK;
        }
        if (errno != EEXIST)
            break;
    }
    int e = errno;
    free(s->path);
    s->path = NULL;
    return vxt__fail(NULL, VXT_ERR_IO, "%s: cannot create a temporary file beside it: %s", who, strerror(e));
}

vxt_status vxt__staged_finish(const char *who, vxt__staged *s)
{
    if (fsync(s->fd) != 0)
        return vxt__fail(NULL, VXT_ERR_IO, "%s: cannot flush to disk: %s", who, strerror(errno));
    s->finished = 1;
    return VXT_OK;
}

static void sync_dir(const char *path)
{
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: the rename is already visible */
        close(fd);
    }
}

vxt_status vxt__staged_name(const char *who, vxt__staged *s)
{
    if (!s->finished)
        return vxt__fail(NULL, VXT_ERR_INTERNAL, "%s: committed before it was finished", who);
    if (s->tmp) /* named already */
        return VXT_OK;
    /* unnamed: give it a temporary name first (linkat cannot replace a target) */
    char named[4200], proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", s->fd);
    int ok = 0;
    for (int attempt = 0; attempt < 16 && !ok; attempt++) {
        if (temp_name(s->path, named, sizeof named) != 0)
            break;
        if (linkat(AT_FDCWD, proc, AT_FDCWD, named, AT_SYMLINK_FOLLOW) == 0)
            ok = 1;
        else if (errno != EEXIST)
            break;
    }
    if (!ok)
        return vxt__fail(NULL, VXT_ERR_IO, "%s: cannot give the finished file a name: %s", who, strerror(errno));
    if (!(s->tmp = strdup(named))) {
        unlink(named);
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory", who);
    }
    return VXT_OK;
}

vxt_status vxt__staged_place(const char *who, vxt__staged *s)
{
    /* the mode a new file of this user gets (O_TMPFILE and O_EXCL created it 0666 & ~umask already) */
    if (rename(s->tmp, s->path) != 0) {
        int e = errno;
        unlink(s->tmp);
        free(s->tmp);
        s->tmp = NULL;
        return vxt__fail(NULL, VXT_ERR_IO, "%s: cannot rename the finished file into place: %s", who, strerror(e));
    }
    free(s->tmp);
    s->tmp = NULL;
    close(s->fd);
    s->fd = -1;
    s->committed = 1;
    return VXT_OK;
}

void vxt__staged_sync_dir(const vxt__staged *s)
{
    sync_dir(s->path);
}

vxt_status vxt__staged_commit(const char *who, vxt__staged *s)
{
    vxt_status st = vxt__staged_name(who, s);
    if (st == VXT_OK && (st = vxt__staged_place(who, s)) == VXT_OK)
        sync_dir(s->path);
    return st;
}

void vxt__staged_abort(vxt__staged *s)
{
    if (s->fd >= 0)
        close(s->fd);
    if (s->tmp)
        unlink(s->tmp);
    free(s->tmp);
    free(s->path);
    memset(s, 0, sizeof *s);
    s->fd = -1;
}

void vxt__staged_release(vxt__staged *s)
{
    if (!s->committed) {
        vxt__staged_abort(s);
        return;
    }
    free(s->path);
    memset(s, 0, sizeof *s);
    s->fd = -1;
}
