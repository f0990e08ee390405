/*
 * A fault injector for the commit-fault scenario of tests/processes/store.rs, loaded with
 * LD_PRELOAD into a child process (the parent compiles it with the system C compiler).
 *
 * It wraps fsync, fdatasync, write, pwrite and pwrite64. While the environment variable
 * SENDENSE_FAULT is "<kind>:<n>" (kind "sync" or "write"), the n-th call of that kind
 * (counted from the moment the value was set) on a file whose name ends in "-wal" or ".db"
 * fails with EIO, and SENDENSE_FAULT_FIRED is set to "1" so the child can say whether the
 * fault was reached. Every other call goes to the C library. Unset, it changes nothing.
 * The child is single-threaded while armed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static char armed[64];
static long seen;

static int ends_with(const char *s, size_t len, const char *suffix) {
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static int database_file(int fd) {
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, path, sizeof path - 1);
    if (len <= 0) {
        return 0;
    }
    return ends_with(path, (size_t)len, "-wal") || ends_with(path, (size_t)len, ".db");
}

/* Whether this call of `kind` on `fd` is the one to fail. */
static int should_fail(const char *kind, int fd) {
    const char *spec = getenv("SENDENSE_FAULT");
    if (spec == NULL || strlen(spec) >= sizeof armed) {
        armed[0] = '\0';
        return 0;
    }
    if (strcmp(spec, armed) != 0) {
        strcpy(armed, spec);
        seen = 0;
    }
    size_t kind_len = strlen(kind);
    if (strncmp(spec, kind, kind_len) != 0 || spec[kind_len] != ':' || !database_file(fd)) {
        return 0;
    }
    seen++;
    if (seen != atol(spec + kind_len + 1)) {
        return 0;
    }
    setenv("SENDENSE_FAULT_FIRED", "1", 1);
    errno = EIO;
    return 1;
}

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

int fsync(int fd) {
    return should_fail("sync", fd) ? -1 : NEXT(fsync)(fd);
}

int fdatasync(int fd) {
    return should_fail("sync", fd) ? -1 : NEXT(fdatasync)(fd);
}

ssize_t write(int fd, const void *buf, size_t count) {
    return should_fail("write", fd) ? -1 : NEXT(write)(fd, buf, count);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
    return should_fail("write", fd) ? -1 : NEXT(pwrite)(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t offset) {
    return should_fail("write", fd) ? -1 : NEXT(pwrite64)(fd, buf, count, offset);
}
