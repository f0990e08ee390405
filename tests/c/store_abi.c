/*
 * C ABI tests of the store functions, the error objects and the version/status helpers.
 *
 * Usage: store_abi TMPDIR   (TMPDIR: an existing, writable, empty directory)
 *
 * Prints one line per group of checks and closes with "N passed, M failed"; exits non-zero
 * when any check failed. Run by tests/c_abi/main.rs plainly, under ASan/UBSan/LSan and under
 * valgrind, so every string, error and store it gets is freed.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sendense.h"
#include "check.h"

#define PATH_BUF 4096

/* Values an out-parameter is set to before a call; a failing call must leave them. Sentinel
 * pointers are only ever compared, never dereferenced or freed. */
#define SENTINEL_STORE ((sendense_store *)(uintptr_t)0x5e57)
#define SENTINEL_STRING ((char *)(uintptr_t)0x5e59)
#define SENTINEL_ERROR ((sendense_error *)(uintptr_t)0x5e5e)
#define SENTINEL_U32 UINT32_C(0xdeadbeef)

/* SQLite database header fields (big-endian), see https://sqlite.org/fileformat.html. */
#define SQLITE_HEADER_FORMAT_VERSIONS 18 /* write and read version: 1 rollback journal, 2 WAL */
#define SQLITE_HEADER_USER_VERSION 60
#define SQLITE_HEADER_APPLICATION_ID 68

#define THREADS 8
#define THREAD_ITERATIONS 100
#define THREAD_BACKUPS 2

static const char *tmpdir;

/* ---- helpers ---------------------------------------------------------------------------- */

static const char *tmp_path(char *buf, const char *name) {
    snprintf(buf, PATH_BUF, "%s/%s", tmpdir, name);
    return buf;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Whether `path` followed by `suffix` exists (for -wal, -shm, -journal side files). */
static int side_file_exists(const char *path, const char *suffix) {
    char buf[PATH_BUF];
    snprintf(buf, sizeof buf, "%s%s", path, suffix);
    return file_exists(buf);
}

/* The whole file in a malloc'd buffer (free it), or NULL. */
static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    long size;
    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)size + 1);
        if (data != NULL && fread(data, 1, (size_t)size, f) != (size_t)size) {
            free(data);
            data = NULL;
        }
        *len = (size_t)size;
    }
    fclose(f);
    return data;
}

static int write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    int ok;
    if (f == NULL) {
        return 0;
    }
    ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

/* Overwrite `len` bytes at `offset`. */
static int patch_bytes(const char *path, long offset, const unsigned char *bytes, size_t len) {
    FILE *f = fopen(path, "r+b");
    int ok;
    if (f == NULL) {
        return 0;
    }
    ok = fseek(f, offset, SEEK_SET) == 0 && fwrite(bytes, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

/* Overwrite 4 bytes at `offset` with `value`, big-endian. */
static int patch_u32_be(const char *path, long offset, uint32_t value) {
    unsigned char bytes[4];
    bytes[0] = (unsigned char)(value >> 24);
    bytes[1] = (unsigned char)(value >> 16);
    bytes[2] = (unsigned char)(value >> 8);
    bytes[3] = (unsigned char)value;
    return patch_bytes(path, offset, bytes, sizeof bytes);
}

/* A snapshot of a file's bytes, to check that a refused call left the file untouched. */
typedef struct {
    unsigned char *data;
    size_t len;
} snapshot;

static snapshot take_snapshot(const char *path) {
    snapshot s = {NULL, 0};
    s.data = read_file(path, &s.len);
    return s;
}

#define CHECK_UNCHANGED(path, snap) check_unchanged_at(__FILE__, __LINE__, (path), &(snap))
/* The file still has the snapshot's bytes and no SQLite side file appeared; frees the snapshot. */
static void check_unchanged_at(const char *file, int line, const char *path, snapshot *before) {
    size_t len = 0;
    unsigned char *now = read_file(path, &len);
    int same = before->data != NULL && now != NULL && len == before->len && memcmp(now, before->data, len) == 0;
    static const char *const suffixes[] = {"-wal", "-shm", "-journal"};
    size_t i;
    check_report(same, file, line, "%s changed (%zu bytes before, %zu after)", path, before->len, len);
    for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        check_report(!side_file_exists(path, suffixes[i]), file, line, "%s%s was created next to the refused file and left there",
                     path, suffixes[i]);
    }
    free(now);
    free(before->data);
    before->data = NULL;
}

/* Open `path` with `options`, checking success; NULL on failure. */
static sendense_store *open_ok(const char *path, const sendense_open_options *options) {
    sendense_store *store = SENTINEL_STORE;
    sendense_error *err = NULL;
    sendense_status s = sendense_store_open(path, options, &store, &err);
    if (!CHECK_STATUS(s, SENDENSE_STATUS_OK, err)) {
        fprintf(stderr, "  (opening %s)\n", path);
        sendense_error_free(err);
        return NULL;
    }
    CHECK(err == NULL);
    CHECK(store != NULL && store != SENTINEL_STORE);
    return store;
}

/* The schema version of `store` (0 on failure, which is counted). */
static uint32_t schema_version_of(sendense_store *store) {
    uint32_t v = SENTINEL_U32;
    sendense_error *err = NULL;
    sendense_status s = sendense_store_schema_version(store, &v, &err);
    if (!CHECK_STATUS(s, SENDENSE_STATUS_OK, err)) {
        sendense_error_free(err);
        return 0;
    }
    return v;
}

/* Run the integrity check and check that the report says ok for `version`. */
static void check_integrity_ok(sendense_store *store, uint32_t version) {
    char *json = SENTINEL_STRING;
    char expect_version[64];
    sendense_error *err = SENTINEL_ERROR;
    sendense_status s = sendense_store_integrity_check(store, &json, &err);
    if (!CHECK_STATUS(s, SENDENSE_STATUS_OK, s == SENDENSE_STATUS_OK ? NULL : err)) {
        CHECK(err != SENTINEL_ERROR);
        sendense_error_free(err);
        return;
    }
    CHECK(err == SENTINEL_ERROR);
    if (CHECK(json != NULL && json != SENTINEL_STRING)) {
        snprintf(expect_version, sizeof expect_version, "\"schema_version\":%" PRIu32, version);
        CHECK_CONTAINS(json, "\"ok\":true");
        CHECK_CONTAINS(json, expect_version);
        CHECK_CONTAINS(json, "\"integrity_errors\":[]");
        CHECK_CONTAINS(json, "\"foreign_key_violations\":[]");
        sendense_string_free(json);
    }
}

/* Create a libsendense database at `path` and close it; returns its schema version. */
static uint32_t make_database(const char *path) {
    sendense_store *store = open_ok(path, NULL);
    uint32_t v = 0;
    if (store != NULL) {
        v = schema_version_of(store);
        sendense_store_free(store);
    }
    /* Closing the last connection checkpoints and removes the WAL: the main file is complete. */
    CHECK(!side_file_exists(path, "-wal"));
    return v;
}

/* ---- groups ----------------------------------------------------------------------------- */

static void test_versions(void) {
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", SENDENSE_VERSION_MAJOR, SENDENSE_VERSION_MINOR,
             SENDENSE_VERSION_PATCH);
    CHECK_STR_EQ(sendense_version(), expected);
    CHECK(sendense_abi_version() == SENDENSE_ABI_VERSION);
    CHECK(SENDENSE_ABI_VERSION >= 1);
}

static void test_status_names(void) {
    static const struct {
        sendense_status code;
        const char *name;
    } statuses[] = {
        {SENDENSE_STATUS_OK, "OK"},
        {SENDENSE_STATUS_INVALID_ARGUMENT, "INVALID_ARGUMENT"},
        {SENDENSE_STATUS_NOT_FOUND, "NOT_FOUND"},
        {SENDENSE_STATUS_ALREADY_EXISTS, "ALREADY_EXISTS"},
        {SENDENSE_STATUS_CONFLICT, "CONFLICT"},
        {SENDENSE_STATUS_INVALID_STATE, "INVALID_STATE"},
        {SENDENSE_STATUS_BUSY, "BUSY"},
        {SENDENSE_STATUS_CORRUPT, "CORRUPT"},
        {SENDENSE_STATUS_SCHEMA_TOO_NEW, "SCHEMA_TOO_NEW"},
        {SENDENSE_STATUS_IO, "IO"},
        {SENDENSE_STATUS_INTERNAL, "INTERNAL"},
        {SENDENSE_STATUS_PANIC, "PANIC"},
        {SENDENSE_STATUS_NOT_A_DATABASE, "NOT_A_DATABASE"},
        {SENDENSE_STATUS_SECRET_KEY, "SECRET_KEY"},
        {SENDENSE_STATUS_COMMIT_UNKNOWN, "COMMIT_UNKNOWN"},
    };
    static const sendense_status unknown[] = {-1, 15, 99, INT32_MIN, INT32_MAX};
    size_t i;
    for (i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        /* The codes are dense and append-only: code i is the i-th entry. */
        CHECK(statuses[i].code == (sendense_status)i);
        CHECK_STR_EQ(sendense_status_name(statuses[i].code), statuses[i].name);
    }
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK_STR_EQ(sendense_status_name(unknown[i]), "UNKNOWN");
    }
}

static void test_error_objects(void) {
    sendense_error *err = NULL;
    sendense_store *store = SENTINEL_STORE;
    sendense_status s;

    /* NULL is a valid argument to every getter and _free. */
    CHECK(sendense_error_status(NULL) == SENDENSE_STATUS_OK);
    CHECK(sendense_error_message(NULL) != NULL);
    CHECK_STR_EQ(sendense_error_message(NULL), "");
    sendense_error_free(NULL);
    sendense_string_free(NULL);
    sendense_store_free(NULL);

    /* A real error object: status and "NAME: message" getters, stable until freed. */
    s = sendense_store_open(NULL, NULL, &store, &err);
    CHECK(s == SENDENSE_STATUS_INVALID_ARGUMENT);
    CHECK(store == SENTINEL_STORE);
    if (CHECK(err != NULL)) {
        const char *m1 = sendense_error_message(err);
        const char *m2 = sendense_error_message(err);
        CHECK(sendense_error_status(err) == SENDENSE_STATUS_INVALID_ARGUMENT);
        CHECK_STR_EQ(m1, "INVALID_ARGUMENT: path is NULL");
        CHECK(m1 == m2);
        sendense_error_free(err);
    }

    /* Each failed call gives its own object; two may be alive at once. */
    {
        sendense_error *a = NULL, *b = NULL;
        char p[PATH_BUF];
        sendense_open_options o = sendense_open_options_default();
        o.create_if_missing = 0;
        CHECK(sendense_store_open(NULL, NULL, &store, &a) == SENDENSE_STATUS_INVALID_ARGUMENT);
        CHECK(sendense_store_open(tmp_path(p, "missing-for-errors.db"), &o, &store, &b) == SENDENSE_STATUS_NOT_FOUND);
        CHECK(a != NULL && b != NULL && a != b);
        CHECK(sendense_error_status(a) == SENDENSE_STATUS_INVALID_ARGUMENT);
        CHECK(sendense_error_status(b) == SENDENSE_STATUS_NOT_FOUND);
        CHECK_CONTAINS(sendense_error_message(b), "NOT_FOUND: ");
        sendense_error_free(b);
        CHECK_STR_EQ(sendense_error_message(a), "INVALID_ARGUMENT: path is NULL");
        sendense_error_free(a);
        CHECK(store == SENTINEL_STORE);
    }
}

static void test_null_arguments(void) {
    char path[PATH_BUF], dest[PATH_BUF];
    sendense_store *store = SENTINEL_STORE;
    sendense_store *db;
    uint32_t v = SENTINEL_U32;
    char *json = SENTINEL_STRING;

    tmp_path(path, "null-args.db");
    EXPECT_FAIL(sendense_store_open(NULL, NULL, &store, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "path", "NULL");
    CHECK(store == SENTINEL_STORE);
    /* `out` is checked before anything is done: the file is not created. */
    EXPECT_FAIL(sendense_store_open(path, NULL, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "out", "NULL");
    CHECK(!file_exists(path));
    EXPECT_FAIL(sendense_store_open_in_memory(NULL, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "out", "NULL");

    EXPECT_FAIL(sendense_store_schema_version(NULL, &v, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store", "NULL");
    CHECK(v == SENTINEL_U32);
    EXPECT_FAIL(sendense_store_integrity_check(NULL, &json, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store", "NULL");
    CHECK(json == SENTINEL_STRING);
    EXPECT_FAIL(sendense_store_backup(NULL, tmp_path(dest, "null-args-copy.db"), errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "store", "NULL");
    CHECK(!file_exists(dest));

    db = open_ok(path, NULL);
    if (db != NULL) {
        EXPECT_FAIL(sendense_store_schema_version(db, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "out", "NULL");
        EXPECT_FAIL(sendense_store_integrity_check(db, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                    "report_json_out", "NULL");
        EXPECT_FAIL(sendense_store_backup(db, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "dest_path", "NULL");
        sendense_store_free(db);
    }
}

static void test_invalid_utf8(void) {
    char bad[PATH_BUF], good[PATH_BUF];
    sendense_store *store = SENTINEL_STORE;
    sendense_store *db;

    /* 0xff never occurs in UTF-8; 0xc3 0x28 is a truncated two-byte sequence. */
    tmp_path(bad, "bad-\xff-name.db");
    EXPECT_FAIL(sendense_store_open(bad, NULL, &store, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "path", "UTF-8");
    CHECK(store == SENTINEL_STORE);
    CHECK(!file_exists(bad));
    tmp_path(bad, "bad-\xc3\x28-name.db");
    EXPECT_FAIL(sendense_store_open(bad, NULL, &store, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "path", "UTF-8");
    CHECK(store == SENTINEL_STORE);
    CHECK(!file_exists(bad));

    /* Valid UTF-8 beyond ASCII is fine. */
    db = open_ok(tmp_path(good, "utf8-\xc3\xa9t\xc3\xa9-\xe2\x9c\x93.db"), NULL);
    if (db != NULL) {
        tmp_path(bad, "copy-\xff.db");
        EXPECT_FAIL(sendense_store_backup(db, bad, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "dest_path", "UTF-8");
        CHECK(!file_exists(bad));
        sendense_store_free(db);
    }
    CHECK(file_exists(good));
}

static void test_open_options(void) {
    sendense_open_options o = sendense_open_options_default();
    sendense_store *store = SENTINEL_STORE;
    sendense_store *db;
    char path[PATH_BUF], msg[128];
    static const uint32_t bad_sizes[] = {0, 1, SENDENSE_OPEN_OPTIONS_SIZE_V1 - 1};
    static const int32_t bad_sync[] = {-1, 2, 100};
    size_t i;

    CHECK(o.struct_size == sizeof(sendense_open_options));
    CHECK(o.synchronous == SENDENSE_SYNCHRONOUS_FULL);
    CHECK(o.busy_timeout_ms == 5000);
    CHECK(o.create_if_missing == 1);

    tmp_path(path, "options.db");
    for (i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        o = sendense_open_options_default();
        o.struct_size = bad_sizes[i];
        snprintf(msg, sizeof msg, "struct_size is %" PRIu32, bad_sizes[i]);
        EXPECT_FAIL(sendense_store_open(path, &o, &store, errp), SENDENSE_STATUS_INVALID_ARGUMENT, msg);
        EXPECT_FAIL(sendense_store_open_in_memory(&o, &store, errp), SENDENSE_STATUS_INVALID_ARGUMENT, msg);
        CHECK(store == SENTINEL_STORE);
        CHECK(!file_exists(path));
    }
    for (i = 0; i < sizeof bad_sync / sizeof bad_sync[0]; i++) {
        o = sendense_open_options_default();
        o.synchronous = bad_sync[i];
        snprintf(msg, sizeof msg, "synchronous is %" PRId32, bad_sync[i]);
        EXPECT_FAIL(sendense_store_open(path, &o, &store, errp), SENDENSE_STATUS_INVALID_ARGUMENT, msg);
        EXPECT_FAIL(sendense_store_open_in_memory(&o, &store, errp), SENDENSE_STATUS_INVALID_ARGUMENT, msg);
        CHECK(store == SENTINEL_STORE);
        CHECK(!file_exists(path));
    }

    /* create_if_missing = false: a missing file is NOT_FOUND, and is not created. */
    o = sendense_open_options_default();
    o.create_if_missing = 0;
    EXPECT_FAIL(sendense_store_open(path, &o, &store, errp), SENDENSE_STATUS_NOT_FOUND, path, "does not exist");
    CHECK(store == SENTINEL_STORE);
    CHECK(!file_exists(path));

    /* A busy timeout above INT32_MAX ms is refused (SQLite cannot wait that long). */
    {
        static const uint32_t too_long[] = {(uint32_t)INT32_MAX + 1u, UINT32_MAX};
        for (i = 0; i < sizeof too_long / sizeof too_long[0]; i++) {
            o = sendense_open_options_default();
            o.busy_timeout_ms = too_long[i];
            EXPECT_FAIL(sendense_store_open(path, &o, &store, errp), SENDENSE_STATUS_INVALID_ARGUMENT, path,
                        "busy timeout", "2147483647");
            EXPECT_FAIL(sendense_store_open_in_memory(&o, &store, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                        "busy timeout");
            CHECK(store == SENTINEL_STORE);
            CHECK(!file_exists(path));
        }
        o = sendense_open_options_default();
        o.busy_timeout_ms = INT32_MAX;
        db = NULL;
        CHECK(sendense_store_open_in_memory(&o, &db, NULL) == SENDENSE_STATUS_OK);
        sendense_store_free(db);
    }

    /* NULL options are the defaults: the file is created. */
    db = open_ok(path, NULL);
    sendense_store_free(db);
    CHECK(file_exists(path));

    /* Non-default valid values; create_if_missing = false on an existing file opens it. */
    o = sendense_open_options_default();
    o.synchronous = SENDENSE_SYNCHRONOUS_NORMAL;
    o.busy_timeout_ms = 0;
    o.create_if_missing = 0;
    db = open_ok(path, &o);
    if (db != NULL) {
        CHECK(schema_version_of(db) >= 1);
        sendense_store_free(db);
    }
    db = NULL;
    CHECK(sendense_store_open_in_memory(&o, &db, NULL) == SENDENSE_STATUS_OK);
    CHECK(db != NULL);
    sendense_store_free(db);
}

/* ABI 2: the options are read by their declared size. A size below the first layout's is
 * refused; exactly that size is accepted; a larger struct (a newer caller) is accepted and what
 * lies beyond the fields this library knows is ignored. Flags are integers, 0 or 1 only. */
static void test_open_options_by_size(void) {
    sendense_open_options o;
    sendense_store *store = SENTINEL_STORE;
    sendense_store *db = NULL;
    char path[PATH_BUF], msg[128];
    static const uint32_t bad_flags[] = {2, 255, UINT32_MAX};
    unsigned char *bigger;
    size_t i;

    CHECK(SENDENSE_OPEN_OPTIONS_SIZE_V1 <= sizeof(sendense_open_options));
    tmp_path(path, "options-by-size.db");
    /* Sizes below the first layout are refused (the "open options" group); exactly the first
     * layout is accepted. */
    o = sendense_open_options_default();
    o.struct_size = SENDENSE_OPEN_OPTIONS_SIZE_V1;
    CHECK_STATUS(sendense_store_open_in_memory(&o, &db, NULL), SENDENSE_STATUS_OK, NULL);
    sendense_store_free(db);

    /* A larger struct from a newer caller, whose unknown tail is garbage: accepted, the tail
     * ignored, the known fields honoured (create_if_missing 0 still refuses a missing file). */
    bigger = malloc(sizeof(sendense_open_options) + 64);
    if (CHECK(bigger != NULL)) {
        memset(bigger, 0xa5, sizeof(sendense_open_options) + 64);
        o = sendense_open_options_default();
        o.struct_size = (uint32_t)(sizeof(sendense_open_options) + 64);
        memcpy(bigger, &o, sizeof o);
        db = NULL;
        CHECK_STATUS(sendense_store_open_in_memory((const sendense_open_options *)(void *)bigger, &db, NULL),
                     SENDENSE_STATUS_OK, NULL);
        sendense_store_free(db);
        o.create_if_missing = 0;
        memcpy(bigger, &o, sizeof o);
        EXPECT_FAIL(sendense_store_open(path, (const sendense_open_options *)(void *)bigger, &store, errp),
                    SENDENSE_STATUS_NOT_FOUND, "does not exist");
        CHECK(!file_exists(path));
        free(bigger);
    }

    /* A flag is 0 or 1: any other value is refused by name, never read as true or false. */
    for (i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++) {
        o = sendense_open_options_default();
        o.create_if_missing = bad_flags[i];
        snprintf(msg, sizeof msg, "options.create_if_missing is %" PRIu32, bad_flags[i]);
        EXPECT_FAIL(sendense_store_open(path, &o, &store, errp), SENDENSE_STATUS_INVALID_ARGUMENT, msg, "0 or 1");
        EXPECT_FAIL(sendense_store_open_in_memory(&o, &store, errp), SENDENSE_STATUS_INVALID_ARGUMENT, msg);
        CHECK(store == SENTINEL_STORE);
        CHECK(!file_exists(path));
    }
}

/* A key length is checked before the key is read: a huge length with a short (or no) buffer is
 * INVALID_ARGUMENT, never a read past the buffer or an abort. */
static void test_key_length_checked_first(void) {
    unsigned char key[32];
    char path[PATH_BUF];
    sendense_store *store = SENTINEL_STORE;
    sendense_store *db = NULL;
    static const size_t bad_lengths[] = {SIZE_MAX, (size_t)PTRDIFF_MAX + 1, (size_t)PTRDIFF_MAX, 33, 0};
    size_t i;

    memset(key, 0x42, sizeof key);
    tmp_path(path, "key-length.db");
    for (i = 0; i < sizeof bad_lengths / sizeof bad_lengths[0]; i++) {
        EXPECT_FAIL(sendense_store_open_with_key(path, NULL, key, bad_lengths[i], &store, errp),
                    SENDENSE_STATUS_INVALID_ARGUMENT, "key", "32 bytes");
        EXPECT_FAIL(sendense_store_open_with_key(path, NULL, NULL, bad_lengths[i], &store, errp),
                    SENDENSE_STATUS_INVALID_ARGUMENT, "key");
        CHECK(store == SENTINEL_STORE);
        CHECK(!file_exists(path));
    }
    if (CHECK_STATUS(sendense_store_open_in_memory(NULL, &db, NULL), SENDENSE_STATUS_OK, NULL)) {
        EXPECT_FAIL(sendense_store_rotate_secret_key(db, key, SIZE_MAX, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                    "key", "32 bytes");
        EXPECT_FAIL(sendense_store_add_previous_secret_key(db, key, SIZE_MAX, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                    "key", "32 bytes");
        sendense_store_free(db);
    }
}

/* A non-NULL *err from an earlier failure passed into a failing call is freed before the new
 * error is written (the leak checkers of the sanitizer and valgrind runs see any leak); a
 * successful call leaves it alone. */
static void test_error_reused(void) {
    sendense_error *err = NULL;
    sendense_store *store = SENTINEL_STORE;
    sendense_store *db = NULL;
    uint32_t v = 0;

    CHECK(sendense_store_open(NULL, NULL, &store, &err) == SENDENSE_STATUS_INVALID_ARGUMENT);
    CHECK_STR_EQ(sendense_error_message(err), "INVALID_ARGUMENT: path is NULL");
    /* Not freed: the next failure replaces it. */
    CHECK(sendense_store_open_in_memory(NULL, NULL, &err) == SENDENSE_STATUS_INVALID_ARGUMENT);
    CHECK_STR_EQ(sendense_error_message(err), "INVALID_ARGUMENT: out is NULL");
    CHECK(sendense_store_schema_version(NULL, &v, &err) == SENDENSE_STATUS_INVALID_ARGUMENT);
    CHECK_STR_EQ(sendense_error_message(err), "INVALID_ARGUMENT: store is NULL");
    if (CHECK(sendense_store_open_in_memory(NULL, &db, &err) == SENDENSE_STATUS_OK)) {
        CHECK_STR_EQ(sendense_error_message(err), "INVALID_ARGUMENT: store is NULL");
        sendense_store_free(db);
    }
    CHECK(store == SENTINEL_STORE);
    sendense_error_free(err);
}

static void test_bad_files(void) {
    char path[PATH_BUF], dir[PATH_BUF];
    sendense_store *store = SENTINEL_STORE;
    snapshot before;
    uint32_t version;
    static const char text[] = "These are notes, not a database.\nThe library must not touch them.\n";
    static const char short_magic[] = "SQLite format";

    /* A directory. */
    tmp_path(dir, "a-directory");
    CHECK(mkdir(dir, 0755) == 0);
    EXPECT_FAIL(sendense_store_open(dir, NULL, &store, errp), SENDENSE_STATUS_INVALID_ARGUMENT, dir, "directory");
    CHECK(store == SENTINEL_STORE);

    /* An empty path. */
    EXPECT_FAIL(sendense_store_open("", NULL, &store, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "empty");
    CHECK(store == SENTINEL_STORE);

    /* A text file: refused, byte for byte untouched. */
    tmp_path(path, "notes.txt");
    CHECK(write_file(path, text, sizeof text - 1));
    before = take_snapshot(path);
    EXPECT_FAIL(sendense_store_open(path, NULL, &store, errp), SENDENSE_STATUS_NOT_A_DATABASE, path,
                "not a SQLite database");
    CHECK(store == SENTINEL_STORE);
    CHECK_UNCHANGED(path, before);

    /* A file shorter than the SQLite magic. */
    tmp_path(path, "short.bin");
    CHECK(write_file(path, short_magic, sizeof short_magic - 1));
    before = take_snapshot(path);
    EXPECT_FAIL(sendense_store_open(path, NULL, &store, errp), SENDENSE_STATUS_NOT_A_DATABASE, path,
                "not a SQLite database");
    CHECK(store == SENTINEL_STORE);
    CHECK_UNCHANGED(path, before);

    /* The SQLite magic followed by a header and pages of zeros. */
    tmp_path(path, "magic-then-zeros.db");
    {
        static unsigned char bytes[4096];
        memcpy(bytes, "SQLite format 3", 16); /* with its NUL: the 16-byte magic */
        CHECK(write_file(path, bytes, sizeof bytes));
    }
    before = take_snapshot(path);
    EXPECT_FAIL(sendense_store_open(path, NULL, &store, errp), SENDENSE_STATUS_NOT_A_DATABASE, path);
    CHECK(store == SENTINEL_STORE);
    CHECK_UNCHANGED(path, before);

    /* SQLite databases of another application: a libsendense file whose application_id was
     * changed (to another id, and to 0 with a schema present). */
    tmp_path(path, "other-app.db");
    version = make_database(path);
    CHECK(version >= 1);
    CHECK(patch_u32_be(path, SQLITE_HEADER_APPLICATION_ID, UINT32_C(0x0badf00d)));
    before = take_snapshot(path);
    EXPECT_FAIL(sendense_store_open(path, NULL, &store, errp), SENDENSE_STATUS_NOT_A_DATABASE, path,
                "another application", "0x0badf00d");
    CHECK(store == SENTINEL_STORE);
    CHECK_UNCHANGED(path, before);

    /* The same in rollback-journal mode (libsendense files are in WAL mode, many are not). */
    tmp_path(path, "other-app-rollback.db");
    make_database(path);
    CHECK(patch_u32_be(path, SQLITE_HEADER_APPLICATION_ID, UINT32_C(0x0badf00d)));
    {
        static const unsigned char rollback[2] = {1, 1};
        CHECK(patch_bytes(path, SQLITE_HEADER_FORMAT_VERSIONS, rollback, sizeof rollback));
    }
    before = take_snapshot(path);
    EXPECT_FAIL(sendense_store_open(path, NULL, &store, errp), SENDENSE_STATUS_NOT_A_DATABASE, path,
                "another application");
    CHECK(store == SENTINEL_STORE);
    CHECK_UNCHANGED(path, before);

    tmp_path(path, "no-app-id.db");
    make_database(path);
    CHECK(patch_u32_be(path, SQLITE_HEADER_APPLICATION_ID, 0));
    before = take_snapshot(path);
    EXPECT_FAIL(sendense_store_open(path, NULL, &store, errp), SENDENSE_STATUS_NOT_A_DATABASE, path,
                "another application");
    CHECK(store == SENTINEL_STORE);
    CHECK_UNCHANGED(path, before);

    /* A database written by a newer libsendense (a higher user_version). */
    tmp_path(path, "newer.db");
    make_database(path);
    CHECK(patch_u32_be(path, SQLITE_HEADER_USER_VERSION, version + 1000));
    before = take_snapshot(path);
    EXPECT_FAIL(sendense_store_open(path, NULL, &store, errp), SENDENSE_STATUS_SCHEMA_TOO_NEW, path, "newer",
                "untouched");
    CHECK(store == SENTINEL_STORE);
    CHECK_UNCHANGED(path, before);

    /* An empty file is a new database. */
    tmp_path(path, "empty.db");
    CHECK(write_file(path, "", 0));
    {
        sendense_store *db = open_ok(path, NULL);
        if (db != NULL) {
            CHECK(schema_version_of(db) == version);
            sendense_store_free(db);
        }
    }

    /* A location where nothing can be created (root ignores file modes, /proc does not). */
    EXPECT_FAIL(sendense_store_open("/proc/sendense-test.db", NULL, &store, errp), SENDENSE_STATUS_IO,
                "/proc/sendense-test.db");
    CHECK(store == SENTINEL_STORE);
    CHECK(!file_exists("/proc/sendense-test.db"));

    /* A directory that does not exist. */
    tmp_path(path, "no/such/dir/x.db");
    EXPECT_FAIL(sendense_store_open(path, NULL, &store, errp), SENDENSE_STATUS_IO, path);
    CHECK(store == SENTINEL_STORE);
}

/* A libsendense database turned into a foreign one: another application id, rollback journal. */
static void make_foreign_database(const char *path) {
    static const unsigned char rollback[2] = {1, 1};
    make_database(path);
    CHECK(patch_u32_be(path, SQLITE_HEADER_APPLICATION_ID, UINT32_C(0x0badf00d)));
    CHECK(patch_bytes(path, SQLITE_HEADER_FORMAT_VERSIONS, rollback, sizeof rollback));
}

/* Open `path` (relative to the working directory), which must create a new database of that
 * very name in it. */
static void check_created_literally(const char *path) {
    sendense_store *db = open_ok(path, NULL);
    sendense_store_free(db);
    if (!CHECK(file_exists(path))) {
        fprintf(stderr, "  (%s was not created under its own name)\n", path);
    }
}

/* Paths are plain file names: a "file:" name or a query string is not a SQLite URI, so a
 * foreign database it would point at as a URI is neither opened nor changed. */
static void test_plain_file_names(void) {
    char foreign[PATH_BUF], uri[PATH_BUF + 64], cwd[PATH_BUF];
    sendense_store *store = SENTINEL_STORE;
    snapshot before;
    static const char *const queries[] = {"", "?vfs=unix-excl", "?cache=shared", "?psow=0", "?mode=ro"};
    size_t i;

    make_foreign_database(tmp_path(foreign, "foreign.db"));
    before = take_snapshot(foreign);

    /* "file:/abs/foreign.db...": a file in a directory "file:" of the working directory, which
     * does not exist. */
    for (i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        snprintf(uri, sizeof uri, "file:%s%s", foreign, queries[i]);
        EXPECT_FAIL(sendense_store_open(uri, NULL, &store, errp), SENDENSE_STATUS_IO, uri);
        CHECK(store == SENTINEL_STORE);
    }
    CHECK(!file_exists("file:"));

    /* Relative to the directory of the foreign file, "file:foreign.db..." is a new file of that
     * literal name. */
    if (CHECK(getcwd(cwd, sizeof cwd) != NULL) && CHECK(chdir(tmpdir) == 0)) {
        for (i = 0; i < sizeof queries / sizeof queries[0]; i++) {
            snprintf(uri, sizeof uri, "file:foreign.db%s", queries[i]);
            check_created_literally(uri);
            snprintf(uri, sizeof uri, "foreign.db%s", queries[i]);
            if (queries[i][0] != '\0') {
                check_created_literally(uri);
            }
        }
        check_created_literally("file:a%20b#c.db");
        CHECK(!file_exists("a b"));
        CHECK(chdir(cwd) == 0);
    }
    CHECK_UNCHANGED(foreign, before);
}

/* The mode bits of `path`, or -1. */
static int mode_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* New files are private to their owner (under a umask of 022), and never created through a
 * symbolic link. */
static void test_file_modes_and_links(void) {
    char path[PATH_BUF], side[PATH_BUF], copy[PATH_BUF], target[PATH_BUF], link[PATH_BUF];
    sendense_store *db, *store = SENTINEL_STORE;
    sendense_open_options o = sendense_open_options_default();
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    size_t i;

    umask(022);
    db = open_ok(tmp_path(path, "private.db"), NULL);
    if (db == NULL) {
        return;
    }
    for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(side, sizeof side, "%s%s", path, suffixes[i]);
        if (!CHECK(mode_of(side) == 0600)) {
            fprintf(stderr, "  %s has mode %o\n", side, (unsigned)mode_of(side));
        }
    }
    CHECK(sendense_store_backup(db, tmp_path(copy, "private-copy.db"), NULL) == SENDENSE_STATUS_OK);
    CHECK(mode_of(copy) == 0600);

    /* A dangling link: no database and no copy is created through it. */
    tmp_path(target, "link-target.db");
    tmp_path(link, "link.db");
    CHECK(symlink(target, link) == 0);
    EXPECT_FAIL(sendense_store_open(link, NULL, &store, errp), SENDENSE_STATUS_INVALID_ARGUMENT, link, "symbolic link");
    CHECK(store == SENTINEL_STORE);
    o.create_if_missing = false;
    EXPECT_FAIL(sendense_store_open(link, &o, &store, errp), SENDENSE_STATUS_NOT_FOUND, link);
    EXPECT_FAIL(sendense_store_backup(db, link, errp), SENDENSE_STATUS_ALREADY_EXISTS, link);
    CHECK(!file_exists(target));
    sendense_store_free(db);

    /* A link to an existing database opens it. */
    make_database(target);
    db = open_ok(link, NULL);
    sendense_store_free(db);
}

/* Key files: sendense_secret_key_file_create writes a private one and never replaces one; a
 * key file others may read, a FIFO or a device is refused (promptly). */
static void test_key_files(void) {
    char key_path[PATH_BUF], db_path[PATH_BUF], fifo[PATH_BUF];
    char *key_id = SENTINEL_STRING, *opened_id = NULL;
    sendense_store *db = SENTINEL_STORE;
    sendense_error *err = NULL;
    snapshot before;

    umask(022);
    tmp_path(key_path, "store.key");
    tmp_path(db_path, "keyed.db");
    CHECK_STATUS(sendense_secret_key_file_create(key_path, &key_id, &err), SENDENSE_STATUS_OK, err);
    if (!CHECK(key_id != NULL && key_id != SENTINEL_STRING && strlen(key_id) == 16)) {
        return;
    }
    CHECK(mode_of(key_path) == 0600);
    CHECK_STATUS(sendense_store_open_with_key_file(db_path, NULL, key_path, &db, &err), SENDENSE_STATUS_OK, err);
    if (db != SENTINEL_STORE) {
        CHECK_STATUS(sendense_store_secret_key_id(db, &opened_id, &err), SENDENSE_STATUS_OK, err);
        CHECK(opened_id != NULL && strcmp(opened_id, key_id) == 0);
        sendense_string_free(opened_id);
        sendense_store_free(db);
    }
    sendense_string_free(key_id);

    /* Never replaced; the key id out-parameter may be NULL. */
    before = take_snapshot(key_path);
    key_id = SENTINEL_STRING;
    EXPECT_FAIL(sendense_secret_key_file_create(key_path, &key_id, errp), SENDENSE_STATUS_ALREADY_EXISTS, key_path);
    CHECK(key_id == SENTINEL_STRING);
    CHECK_UNCHANGED(key_path, before);
    EXPECT_FAIL(sendense_secret_key_file_create(NULL, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "key_path");
    tmp_path(fifo, "no/such/dir.key");
    EXPECT_FAIL(sendense_secret_key_file_create(fifo, NULL, errp), SENDENSE_STATUS_NOT_FOUND, fifo);
    CHECK(sendense_secret_key_file_create(tmp_path(fifo, "other.key"), NULL, NULL) == SENDENSE_STATUS_OK);

    /* Readable by group or others: refused, naming the mode. */
    db = SENTINEL_STORE;
    CHECK(chmod(key_path, 0644) == 0);
    EXPECT_FAIL(sendense_store_open_with_key_file(db_path, NULL, key_path, &db, errp), SENDENSE_STATUS_SECRET_KEY,
                key_path, "0644", "group or others");
    CHECK(chmod(key_path, 0400) == 0);
    CHECK_STATUS(sendense_store_open_with_key_file(db_path, NULL, key_path, &db, &err), SENDENSE_STATUS_OK, err);
    if (db != SENTINEL_STORE) {
        sendense_store_free(db);
    }

    /* Not regular files: not waited on, not read. */
    db = SENTINEL_STORE;
    tmp_path(fifo, "fifo.key");
    CHECK(mkfifo(fifo, 0600) == 0);
    EXPECT_FAIL(sendense_store_open_with_key_file(db_path, NULL, fifo, &db, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                fifo, "not a regular file");
    EXPECT_FAIL(sendense_store_open_with_key_file(db_path, NULL, "/dev/zero", &db, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "/dev/zero", "not a regular file");
    CHECK(db == SENTINEL_STORE);
}

static void test_open_and_reopen(void) {
    char path[PATH_BUF];
    sendense_store *a = SENTINEL_STORE, *b, *c;
    sendense_error *err = SENTINEL_ERROR;
    sendense_open_options o = sendense_open_options_default();
    uint32_t v = SENTINEL_U32;
    sendense_status s;

    /* Success: the out-parameter is written, *err is not touched. */
    tmp_path(path, "main.db");
    s = sendense_store_open(path, NULL, &a, &err);
    if (!CHECK_STATUS(s, SENDENSE_STATUS_OK, NULL)) {
        return; /* err is an object here; leaking it only matters when already failing */
    }
    CHECK(err == SENTINEL_ERROR);
    CHECK(a != NULL && a != SENTINEL_STORE);
    CHECK(file_exists(path));

    s = sendense_store_schema_version(a, &v, &err);
    CHECK(s == SENDENSE_STATUS_OK);
    CHECK(err == SENTINEL_ERROR);
    CHECK(v != SENTINEL_U32 && v >= 1);
    check_integrity_ok(a, v);

    /* Two more handles on the same file at the same time. */
    o.create_if_missing = 0;
    b = open_ok(path, &o);
    c = open_ok(path, NULL);
    if (b != NULL && c != NULL) {
        CHECK(schema_version_of(b) == v);
        CHECK(schema_version_of(c) == v);
        check_integrity_ok(b, v);
        check_integrity_ok(c, v);
        CHECK(schema_version_of(a) == v);
    }
    sendense_store_free(c);
    sendense_store_free(a);
    sendense_store_free(b);

    /* Closed and reopened. */
    a = open_ok(path, &o);
    if (a != NULL) {
        CHECK(schema_version_of(a) == v);
        check_integrity_ok(a, v);
        sendense_store_free(a);
    }

    /* In memory. */
    a = SENTINEL_STORE;
    err = SENTINEL_ERROR;
    CHECK(sendense_store_open_in_memory(NULL, &a, &err) == SENDENSE_STATUS_OK);
    CHECK(err == SENTINEL_ERROR);
    if (CHECK(a != NULL && a != SENTINEL_STORE)) {
        CHECK(schema_version_of(a) == v);
        check_integrity_ok(a, v);
        sendense_store_free(a);
    }
}

/* Whether the directory holds a left-over temporary file of a backup. */
static int partial_files_left(void) {
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    int found = 0;
    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (strstr(e->d_name, ".partial-") != NULL) {
            fprintf(stderr, "  left over: %s\n", e->d_name);
            found = 1;
        }
    }
    closedir(d);
    return found;
}

static void test_backup(void) {
    char path[PATH_BUF], copy[PATH_BUF], other[PATH_BUF], mem_copy[PATH_BUF];
    sendense_store *db, *copy_db, *mem;
    sendense_error *err = SENTINEL_ERROR;
    snapshot before;
    uint32_t v;

    db = open_ok(tmp_path(path, "backup-source.db"), NULL);
    if (db == NULL) {
        return;
    }
    v = schema_version_of(db);

    /* A copy at a new path opens with the same schema version. */
    CHECK(sendense_store_backup(db, tmp_path(copy, "backup-copy.db"), &err) == SENDENSE_STATUS_OK);
    CHECK(err == SENTINEL_ERROR);
    CHECK(file_exists(copy));
    copy_db = open_ok(copy, NULL);
    if (copy_db != NULL) {
        CHECK(schema_version_of(copy_db) == v);
        check_integrity_ok(copy_db, v);
        sendense_store_free(copy_db);
    }

    /* Never overwritten: an existing database, an existing text file, a directory. */
    before = take_snapshot(copy);
    EXPECT_FAIL(sendense_store_backup(db, copy, errp), SENDENSE_STATUS_ALREADY_EXISTS, copy, "exists");
    CHECK_UNCHANGED(copy, before);
    tmp_path(other, "backup-onto.txt");
    CHECK(write_file(other, "keep me\n", 8));
    before = take_snapshot(other);
    EXPECT_FAIL(sendense_store_backup(db, other, errp), SENDENSE_STATUS_ALREADY_EXISTS, other, "exists");
    CHECK_UNCHANGED(other, before);
    EXPECT_FAIL(sendense_store_backup(db, tmpdir, errp), SENDENSE_STATUS_ALREADY_EXISTS, "exists");

    /* Nowhere to write. */
    tmp_path(other, "no/such/dir/copy.db");
    EXPECT_FAIL(sendense_store_backup(db, other, errp), SENDENSE_STATUS_NOT_FOUND, other, "directory");
    CHECK(!file_exists(other));
    EXPECT_FAIL(sendense_store_backup(db, "", errp), SENDENSE_STATUS_INVALID_ARGUMENT, "destination");
    CHECK(partial_files_left() == 0);

    /* The source is still fine. */
    check_integrity_ok(db, v);
    sendense_store_free(db);

    /* An in-memory store backs up to a file too. */
    mem = NULL;
    CHECK(sendense_store_open_in_memory(NULL, &mem, NULL) == SENDENSE_STATUS_OK);
    if (mem != NULL) {
        CHECK(sendense_store_backup(mem, tmp_path(mem_copy, "backup-of-memory.db"), NULL) == SENDENSE_STATUS_OK);
        sendense_store_free(mem);
        copy_db = open_ok(mem_copy, NULL);
        if (copy_db != NULL) {
            CHECK(schema_version_of(copy_db) == v);
            check_integrity_ok(copy_db, v);
            sendense_store_free(copy_db);
        }
    }
}

typedef struct {
    sendense_store *store;
    int index;
    uint32_t version;
    const char *existing; /* a path that exists, for a backup that must be refused */
} thread_arg;

static void *thread_main(void *p) {
    const thread_arg *arg = p;
    char dest[PATH_BUF], name[64];
    int i, j;
    for (i = 0; i < THREAD_ITERATIONS; i++) {
        CHECK(schema_version_of(arg->store) == arg->version);
        check_integrity_ok(arg->store, arg->version);
        if (i % (THREAD_ITERATIONS / THREAD_BACKUPS) == 0) {
            j = i / (THREAD_ITERATIONS / THREAD_BACKUPS);
            snprintf(name, sizeof name, "thread-%d-backup-%d.db", arg->index, j);
            CHECK(sendense_store_backup(arg->store, tmp_path(dest, name), NULL) == SENDENSE_STATUS_OK);
            /* Errors are created and freed concurrently too. */
            EXPECT_FAIL(sendense_store_backup(arg->store, arg->existing, errp), SENDENSE_STATUS_ALREADY_EXISTS,
                        "exists");
        }
    }
    return NULL;
}

static void test_threads(void) {
    char path[PATH_BUF], dest[PATH_BUF], name[64];
    sendense_store *db, *copy;
    pthread_t threads[THREADS];
    thread_arg args[THREADS];
    int started[THREADS];
    uint32_t v;
    int i, j;

    db = open_ok(tmp_path(path, "threads.db"), NULL);
    if (db == NULL) {
        return;
    }
    v = schema_version_of(db);
    for (i = 0; i < THREADS; i++) {
        args[i].store = db;
        args[i].index = i;
        args[i].version = v;
        args[i].existing = path;
        started[i] = CHECK(pthread_create(&threads[i], NULL, thread_main, &args[i]) == 0);
    }
    for (i = 0; i < THREADS; i++) {
        if (started[i]) {
            CHECK(pthread_join(threads[i], NULL) == 0);
        }
    }
    check_integrity_ok(db, v);
    sendense_store_free(db);

    for (i = 0; i < THREADS; i++) {
        for (j = 0; j < THREAD_BACKUPS; j++) {
            snprintf(name, sizeof name, "thread-%d-backup-%d.db", i, j);
            copy = open_ok(tmp_path(dest, name), NULL);
            if (copy != NULL) {
                CHECK(schema_version_of(copy) == v);
                sendense_store_free(copy);
            }
        }
    }
    CHECK(partial_files_left() == 0);
}

static void run_group(const char *name, void (*group)(void)) {
    unsigned long failures_before = check_failures();
    group();
    check_group_end(name, failures_before);
}

int main(int argc, char **argv) {
    struct stat st;
    if (argc != 2 || stat(argv[1], &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "usage: %s TMPDIR (an existing writable directory)\n", argc > 0 ? argv[0] : "store_abi");
        return 2;
    }
    tmpdir = argv[1];

    run_group("versions", test_versions);
    run_group("status names", test_status_names);
    run_group("error objects", test_error_objects);
    run_group("NULL arguments", test_null_arguments);
    run_group("invalid UTF-8", test_invalid_utf8);
    run_group("open options", test_open_options);
    run_group("open options by size", test_open_options_by_size);
    run_group("key length checked first", test_key_length_checked_first);
    run_group("error reused", test_error_reused);
    run_group("bad files", test_bad_files);
    run_group("plain file names", test_plain_file_names);
    run_group("file modes and links", test_file_modes_and_links);
    run_group("key files", test_key_files);
    run_group("open and reopen", test_open_and_reopen);
    run_group("backup", test_backup);
    run_group("threads", test_threads);
    return check_summary();
}
