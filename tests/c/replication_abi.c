/*
 * C ABI tests of the replication core: contexts, replication jobs, disks and CBT.
 *
 * Usage: replication_abi TMPDIR   (TMPDIR: an existing, writable, empty directory)
 *
 * Prints one line per group of checks and closes with "N passed, M failed"; exits non-zero
 * when any check failed. Run by tests/c_abi/main.rs plainly, under ASan/UBSan/LSan and under
 * valgrind, so every string, error and snapshot it gets is freed.
 *
 * Every refused call is checked with REFUSED: it must return the expected status (with err
 * NULL and with an error object whose message names the problem), leave its out-parameters
 * alone, and change nothing in the database (a JSON dump of every context, job, disk and CBT
 * history row is compared before and after).
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sendense.h"
#include "check.h"

#define PATH_BUF 4096
#define JSON_BUF 1024

/* Values an out-parameter is set to before a call; a failing call must leave them. Sentinel
 * pointers are only ever compared, never dereferenced or freed. */
#define SENTINEL_STRING ((char *)(uintptr_t)0x5e59)
#define SENTINEL_CONTEXT ((sendense_context *)(uintptr_t)0x5e5c)
#define SENTINEL_JOB ((sendense_replication_job *)(uintptr_t)0x5e5b)
#define SENTINEL_MS INT64_C(-4242)

/* A VMware CBT epoch and change ids in it. */
#define EPOCH "52 3c 1a 9e 6f 0b 4d 2a-8f 11 22 33 44 55 66 77"
#define OTHER_EPOCH "52 00 00 00 00 00 00 00-00 00 00 00 00 00 00 01"
#define CHANGE(seq) EPOCH "/" #seq

#define INVALID_ARGUMENT SENDENSE_STATUS_INVALID_ARGUMENT
#define NOT_FOUND SENDENSE_STATUS_NOT_FOUND
#define ALREADY_EXISTS SENDENSE_STATUS_ALREADY_EXISTS
#define CONFLICT SENDENSE_STATUS_CONFLICT
#define INVALID_STATE SENDENSE_STATUS_INVALID_STATE

static const char *tmpdir;
static sendense_store *db; /* the store of the running group */

/* ---- helpers ---------------------------------------------------------------------------- */

/* Open a new database file `name` in the scratch directory as the group's store. */
static sendense_store *open_fresh(const char *name) {
    char path[PATH_BUF];
    sendense_store *store = NULL;
    sendense_error *err = NULL;
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    if (!CHECK_STATUS(sendense_store_open(path, NULL, &store, &err), SENDENSE_STATUS_OK, err)) {
        sendense_error_free(err);
        return NULL;
    }
    return store;
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* A call that must succeed; `err` is a `sendense_error *` variable of the caller that the call
 * was given as `&err`. Returns whether it succeeded; frees and clears the error. */
#define OK(call, err) ok_at(__FILE__, __LINE__, #call, (call), &(err))
static int ok_at(const char *file, int line, const char *expr, sendense_status s, sendense_error **err) {
    int ok = check_status_at(file, line, expr, s, SENDENSE_STATUS_OK, *err);
    if (ok) {
        check_report(*err == NULL, file, line, "%s succeeded but wrote *err", expr);
    }
    sendense_error_free(*err);
    *err = NULL;
    return ok;
}

/* A growable string. */
typedef struct {
    char *data;
    size_t len, cap;
} strbuf;

static void sb_add(strbuf *b, const char *s) {
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *grown = realloc(b->data, cap);
        if (grown == NULL) {
            abort();
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n + 1);
    b->len += n;
}

/* The value of the `index`-th `"key":"value"` string member in `json` (malloc'd; NULL when
 * there are fewer). Enough for the ids and enum values these tests read; no escapes. */
static char *json_string(const char *json, const char *key, int index) {
    char pattern[128];
    const char *p = json, *end;
    char *value;
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    for (;;) {
        if (p == NULL || (p = strstr(p, pattern)) == NULL) {
            return NULL;
        }
        p += strlen(pattern);
        if (index-- == 0) {
            break;
        }
    }
    end = strchr(p, '"');
    if (end == NULL) {
        return NULL;
    }
    value = malloc((size_t)(end - p) + 1);
    if (value == NULL) {
        abort();
    }
    memcpy(value, p, (size_t)(end - p));
    value[end - p] = '\0';
    return value;
}

/* How many times `needle` occurs in `haystack`. */
static int count(const char *haystack, const char *needle) {
    int n = 0;
    const char *p = haystack;
    while (p != NULL && (p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

/* Everything the replication core stores, as one string: every context, every job, and each
 * context's disks and CBT history, as the library's JSON read-outs. NULL when a read failed. */
static char *state_of(sendense_store *store) {
    strbuf b = {NULL, 0, 0};
    char *json = NULL, *id;
    sendense_error *err = NULL;
    int i, ok = 1;
    char *contexts = NULL;

    sb_add(&b, "contexts ");
    if (!OK(sendense_context_list_json(store, "{\"limit\":100000}", &contexts, &err), err)) {
        free(b.data);
        return NULL;
    }
    sb_add(&b, contexts);
    sb_add(&b, "\njobs ");
    if (OK(sendense_replication_list_json(store, "{\"limit\":100000}", &json, &err), err)) {
        sb_add(&b, json);
        sendense_string_free(json);
    } else {
        ok = 0;
    }
    for (i = 0; (id = json_string(contexts, "context_id", i)) != NULL; i++) {
        sb_add(&b, "\ndisks ");
        if (OK(sendense_replication_disks_json(store, id, &json, &err), err)) {
            sb_add(&b, json);
            sendense_string_free(json);
        } else {
            ok = 0;
        }
        sb_add(&b, "\ncbt ");
        if (OK(sendense_cbt_history_json(store, id, NULL, &json, &err), err)) {
            sb_add(&b, json);
            sendense_string_free(json);
        } else {
            ok = 0;
        }
        free(id);
    }
    sendense_string_free(contexts);
    if (!ok) {
        free(b.data);
        return NULL;
    }
    return b.data;
}

static void check_same_state_at(const char *file, int line, const char *expr, char *before) {
    char *after = state_of(db);
    int same = before != NULL && after != NULL && strcmp(before, after) == 0;
    check_report(same, file, line, "the refused call %s changed the database:\nbefore: %s\nafter:  %s", expr,
                 before ? before : "(unreadable)", after ? after : "(unreadable)");
    free(before);
    free(after);
}

/* A call (using `errp` for its error parameter) that must fail with `want` and every needle
 * in its message, with err NULL and not NULL, and change nothing in `db`. */
#define REFUSED(call, want, ...)                                                                              \
    do {                                                                                                      \
        char *refused_before_ = state_of(db);                                                                 \
        EXPECT_FAIL(call, want, __VA_ARGS__);                                                                 \
        check_same_state_at(__FILE__, __LINE__, #call, refused_before_);                                      \
    } while (0)

/* JSON for a new context. */
static const char *context_json(char *buf, const char *name, const char *vm_id, const char *vcenter) {
    snprintf(buf, JSON_BUF,
             "{\"vm_name\":\"%s\",\"vmware_vm_id\":\"%s\",\"vm_path\":\"/DC1/vm/%s\",\"vcenter_host\":\"%s\","
             "\"datacenter\":\"DC1\",\"cpu_count\":4,\"memory_mb\":8192,\"os_type\":\"linux\"}",
             name, vm_id, name, vcenter);
    return buf;
}

/* JSON to start a job with two disks; `id` and `type` may be NULL (generated id, auto). */
static const char *start_json(char *buf, const char *context_id, const char *id, const char *type) {
    char id_member[300] = "", type_member[64] = "";
    if (id != NULL) {
        snprintf(id_member, sizeof id_member, "\"id\":\"%s\",", id);
    }
    if (type != NULL) {
        snprintf(type_member, sizeof type_member, "\"replication_type\":\"%s\",", type);
    }
    snprintf(buf, JSON_BUF,
             "{\"context_id\":\"%s\",%s%s\"disks\":["
             "{\"disk_id\":\"disk-2000\",\"vm_dk_path\":\"[ds1] vm/vm.vmdk\",\"size_gb\":40,"
             "\"capacity_bytes\":42949672960,\"unit_number\":0},"
             "{\"disk_id\":\"disk-2001\",\"vm_dk_path\":\"[ds1] vm/vm_1.vmdk\",\"size_gb\":100}]}",
             context_id, id_member, type_member);
    return buf;
}

/* Create a context; its id (free with sendense_string_free) or NULL. */
static char *add_context(const char *name, const char *vm_id, const char *vcenter) {
    char json[JSON_BUF];
    char *id = SENTINEL_STRING;
    sendense_error *err = NULL;
    if (!OK(sendense_context_create(db, context_json(json, name, vm_id, vcenter), &id, &err), err)) {
        return NULL;
    }
    CHECK(id != NULL && id != SENTINEL_STRING);
    return id;
}

/* Start a job; its id or NULL. */
static char *start(const char *context_id, const char *id, const char *type) {
    char json[JSON_BUF];
    char *job = SENTINEL_STRING;
    sendense_error *err = NULL;
    if (context_id == NULL || !OK(sendense_replication_start(db, start_json(json, context_id, id, type), &job, &err), err)) {
        return NULL;
    }
    CHECK(job != NULL && job != SENTINEL_STRING);
    return job;
}

/* Move a job to `status`. */
static int set_job(const char *job, const char *status, const char *message) {
    sendense_error *err = NULL;
    return job != NULL && OK(sendense_replication_set_status(db, job, status, message, &err), err);
}

/* The JSON of a context / job (free with sendense_string_free), or NULL. */
static char *context_json_of(const char *id) {
    char *json = NULL;
    sendense_error *err = NULL;
    if (id == NULL || !OK(sendense_context_get_json(db, id, &json, &err), err)) {
        return NULL;
    }
    return json;
}

static char *job_json_of(const char *id) {
    char *json = NULL;
    sendense_error *err = NULL;
    if (id == NULL || !OK(sendense_replication_get_json(db, id, &json, &err), err)) {
        return NULL;
    }
    return json;
}

/* The JSON of a context or job contains every fragment (NULL-terminated list). */
#define CONTEXT_HAS(id, ...) json_has_at(__FILE__, __LINE__, context_json_of(id), __VA_ARGS__, (const char *)NULL)
#define JOB_HAS(id, ...) json_has_at(__FILE__, __LINE__, job_json_of(id), __VA_ARGS__, (const char *)NULL)
static void json_has_at(const char *file, int line, char *json, ...) {
    const char *fragment;
    va_list ap;
    va_start(ap, json);
    while ((fragment = va_arg(ap, const char *)) != NULL) {
        check_report(json != NULL && strstr(json, fragment) != NULL, file, line, "%s does not contain %s",
                     json ? json : "(no JSON)", fragment);
    }
    va_end(ap);
    sendense_string_free(json);
}

/* Run a whole successful job on the two disks: start, replicating, progress, record the change
 * ids `change0` (disk-2000) and `change1` (disk-2001), completed. Returns the job id. */
static char *run_job(const char *context_id, const char *type, const char *change0, const char *change1) {
    sendense_error *err = NULL;
    char *job = start(context_id, NULL, type);
    if (job == NULL) {
        return NULL;
    }
    set_job(job, "replicating", NULL);
    OK(sendense_replication_progress(db, job, 100.0, 1000, 1000, 10, "copying", &err), err);
    OK(sendense_cbt_record(db, job, "disk-2000", change0, 600, &err), err);
    OK(sendense_cbt_record(db, job, "disk-2001", change1, 400, &err), err);
    set_job(job, "completed", NULL);
    return job;
}

/* ---- groups --------------------------------------------------------------------------- */

static void test_lifecycle(void) {
    sendense_error *err = NULL;
    char *a, *b, *job1, *job2, *job3, *jb, *json = NULL, *s;
    const char *disks[2] = {"disk-2000", "disk-2001"};
    int i, step;
    static const char *const setup[] = {"initializing", "analyzing",    "provisioning", "attaching",
                                        "configuring",  "ready_for_sync", "snapshotting", "replicating"};

    db = open_fresh("lifecycle.db");
    if (db == NULL) {
        return;
    }
    a = add_context("vm-alpha", "vm-101", "vc1.example.com");
    b = add_context("vm-beta", "vm-102", "vc1.example.com");
    CHECK(a != NULL && b != NULL && strcmp(a, b) != 0);
    CONTEXT_HAS(a, "\"vm_name\":\"vm-alpha\"", "\"current_status\":\"discovered\"", "\"total_jobs_run\":0",
                "\"current_job_id\":null", "\"cpu_count\":4");

    /* Initial replication of vm-alpha, with a caller-chosen job id. */
    job1 = start(a, "job-alpha-1", "initial");
    CHECK(job1 != NULL && strcmp(job1, "job-alpha-1") == 0);
    JOB_HAS(job1, "\"status\":\"pending\"", "\"replication_type\":\"initial\"", "\"source_vm_name\":\"vm-alpha\"",
            "\"started_at\":null");
    CONTEXT_HAS(a, "\"current_status\":\"replicating\"", "\"current_job_id\":\"job-alpha-1\"", "\"total_jobs_run\":1");
    for (step = 0; step < (int)(sizeof setup / sizeof setup[0]); step++) {
        set_job(job1, setup[step], NULL);
    }
    JOB_HAS(job1, "\"status\":\"replicating\"");
    for (i = 1; i <= 4; i++) {
        OK(sendense_replication_progress(db, job1, 25.0 * i, 250 * i, 1000, 4096, i == 1 ? "copying disk-2000" : NULL,
                                         &err),
           err);
        for (step = 0; step < 2; step++) {
            OK(sendense_replication_disk_progress(db, job1, disks[step], 25.0 * i, 100 * i, i == 4 ? "completed" : "syncing",
                                                  &err),
               err);
        }
    }
    JOB_HAS(job1, "\"progress_percent\":100.0", "\"bytes_transferred\":1000", "\"total_bytes\":1000",
            "\"transfer_speed_bps\":4096", "\"current_operation\":\"copying disk-2000\"");
    OK(sendense_replication_vma_progress(db, job1,
                                         "{\"vma_sync_type\":\"initial\",\"vma_current_phase\":\"transfer\","
                                         "\"vma_throughput_mbps\":112.5,\"vma_eta_seconds\":0}",
                                         &err),
       err);
    JOB_HAS(job1, "\"vma_sync_type\":\"initial\"", "\"vma_throughput_mbps\":112.5", "\"vma_current_phase\":\"transfer\"");
    OK(sendense_cbt_record(db, job1, "disk-2000", CHANGE(10), 40000, &err), err);
    OK(sendense_cbt_record(db, job1, "disk-2001", CHANGE(11), 90000, &err), err);
    /* Recording the same change id again is a no-op. */
    OK(sendense_cbt_record(db, job1, "disk-2000", CHANGE(10), 40000, &err), err);
    set_job(job1, "finalizing", NULL);
    set_job(job1, "completed", NULL);
    JOB_HAS(job1, "\"status\":\"completed\"", "\"change_id\":\"" CHANGE(11) "\"");
    CONTEXT_HAS(a, "\"current_status\":\"ready_for_failover\"", "\"current_job_id\":null", "\"total_jobs_run\":1",
                "\"successful_jobs\":1", "\"failed_jobs\":0", "\"last_successful_job_id\":\"job-alpha-1\"");
    if (OK(sendense_replication_disks_json(db, a, &json, &err), err)) {
        CHECK(count(json, "\"disk_id\":") == 2);
        CHECK_CONTAINS(json, "\"disk_change_id\":\"" CHANGE(10) "\"");
        CHECK_CONTAINS(json, "\"disk_change_id\":\"" CHANGE(11) "\"");
        CHECK_CONTAINS(json, "\"sync_status\":\"completed\"");
        sendense_string_free(json);
    }

    /* The next snapshot: decide per disk. */
    if (OK(sendense_cbt_decide(db, a, "disk-2000", CHANGE(20), false, &json, &err), err)) {
        CHECK_STR_EQ(json, "{\"mode\":\"incremental\",\"base_change_id\":\"" CHANGE(10) "\",\"reason\":\"base_recorded\"}");
        sendense_string_free(json);
    }
    if (OK(sendense_cbt_decide(db, a, "disk-2000", CHANGE(20), true, &json, &err), err)) {
        CHECK_STR_EQ(json, "{\"mode\":\"full\",\"base_change_id\":null,\"reason\":\"target_volume_new\"}");
        sendense_string_free(json);
    }
    if (OK(sendense_cbt_decide(db, a, "disk-2001", OTHER_EPOCH "/3", false, &json, &err), err)) {
        CHECK_STR_EQ(json, "{\"mode\":\"full\",\"base_change_id\":null,\"reason\":\"cbt_uuid_changed\"}");
        sendense_string_free(json);
    }
    if (OK(sendense_cbt_decide(db, a, "disk-2001", CHANGE(5), false, &json, &err), err)) {
        CHECK_CONTAINS(json, "\"reason\":\"base_ahead_of_snapshot\"");
        sendense_string_free(json);
    }
    if (OK(sendense_cbt_decide(db, a, "disk-3000", CHANGE(20), false, &json, &err), err)) {
        CHECK_STR_EQ(json, "{\"mode\":\"full\",\"base_change_id\":null,\"reason\":\"no_base\"}");
        sendense_string_free(json);
    }
    /* disk-2000 of another VM never inherits vm-alpha's base. */
    if (OK(sendense_cbt_decide(db, b, "disk-2000", CHANGE(20), false, &json, &err), err)) {
        CHECK_CONTAINS(json, "\"reason\":\"no_base\"");
        sendense_string_free(json);
    }

    /* The incremental. */
    job2 = start(a, NULL, "incremental");
    if (job2 != NULL) {
        JOB_HAS(job2, "\"replication_type\":\"incremental\"", "\"status\":\"pending\"");
        set_job(job2, "snapshotting", NULL);
        set_job(job2, "replicating", NULL);
        OK(sendense_replication_progress(db, job2, 50.0, 5000, 10000, 2048, "incremental copy", &err), err);
        /* disk-2000 as inferred (NULL: nothing stated). */
        OK(sendense_cbt_record_sync(db, job2, "disk-2000", CHANGE(20), 5000, NULL, &err), err);
        /* disk-2001 went to a new target volume: the decision's full copy is what is recorded. */
        EXPECT_FAIL(sendense_cbt_record_sync(db, job2, "disk-2001", CHANGE(21), 5000,
                                             "{\"mode\":\"incremental\"}", errp),
                    INVALID_ARGUMENT, "base_change_id");
        EXPECT_FAIL(sendense_cbt_record_sync(db, job2, "disk-2001", CHANGE(21), 5000, "{\"mode\":\"full\",\"x\":1}",
                                             errp),
                    INVALID_ARGUMENT, "x");
        if (OK(sendense_cbt_decide(db, a, "disk-2001", CHANGE(21), true, &json, &err), err)) {
            OK(sendense_cbt_record_sync(db, job2, "disk-2001", CHANGE(21), 5000, json, &err), err);
            sendense_string_free(json);
        }
        set_job(job2, "completed", NULL);
        JOB_HAS(job2, "\"previous_change_id\":null", "\"change_id\":\"" CHANGE(21) "\"");
    }
    if (OK(sendense_cbt_history_json(db, a, "disk-2001", &json, &err), err)) {
        CHECK_CONTAINS(json, "\"change_id\":\"" CHANGE(21) "\",\"previous_change_id\":null,\"sync_type\":\"full\"");
        sendense_string_free(json);
    }
    CONTEXT_HAS(a, "\"total_jobs_run\":2", "\"successful_jobs\":2", "\"current_status\":\"ready_for_failover\"");
    if (OK(sendense_cbt_history_json(db, a, "disk-2000", &json, &err), err)) {
        CHECK(count(json, "\"change_id\":") == 2);
        CHECK_CONTAINS(json, "\"change_id\":\"" CHANGE(20) "\",\"previous_change_id\":\"" CHANGE(10)
                             "\",\"sync_type\":\"incremental\"");
        CHECK_CONTAINS(json, "\"sync_type\":\"initial\"");
        CHECK(strstr(json, "disk-2001") == NULL);
        sendense_string_free(json);
    }
    if (OK(sendense_cbt_history_json(db, a, NULL, &json, &err), err)) {
        CHECK(count(json, "\"change_id\":") == 4);
        sendense_string_free(json);
    }
    if (OK(sendense_cbt_verify_lineage(db, a, &json, &err), err)) {
        CHECK_CONTAINS(json, "\"ok\":true");
        CHECK_CONTAINS(json, "\"disks_checked\":2");
        CHECK_CONTAINS(json, "\"entries_checked\":4");
        CHECK_CONTAINS(json, "\"breaks\":[]");
        sendense_string_free(json);
    }

    /* A third job (auto resolves to incremental) fails. */
    job3 = start(a, NULL, NULL);
    if (job3 != NULL) {
        JOB_HAS(job3, "\"replication_type\":\"incremental\"");
        set_job(job3, "replicating", NULL);
        set_job(job3, "failed", "VMA lost the snapshot");
        JOB_HAS(job3, "\"status\":\"failed\"", "\"error_message\":\"VMA lost the snapshot\"");
    }
    CONTEXT_HAS(a, "\"current_status\":\"failed\"", "\"total_jobs_run\":3", "\"successful_jobs\":2",
                "\"failed_jobs\":1", "\"current_job_id\":null");

    /* Deleting the failed job: counters recomputed, disks and their change ids stay. */
    if (job3 != NULL && OK(sendense_replication_delete(db, job3, &err), err)) {
        EXPECT_FAIL(sendense_replication_get_json(db, job3, &json, errp), NOT_FOUND, job3);
    }
    CONTEXT_HAS(a, "\"total_jobs_run\":2", "\"successful_jobs\":2", "\"failed_jobs\":0");
    if (OK(sendense_replication_disks_json(db, a, &json, &err), err)) {
        CHECK_CONTAINS(json, "\"disk_change_id\":\"" CHANGE(20) "\"");
        CHECK_CONTAINS(json, "\"disk_change_id\":\"" CHANGE(21) "\"");
        sendense_string_free(json);
    }
    /* Deleting the oldest completed job: the pointers follow the remaining rows, the CBT
     * history stays (unlinked from the job) and its lineage still holds. */
    if (job1 != NULL && job2 != NULL && OK(sendense_replication_delete(db, job1, &err), err)) {
        sendense_context *c = NULL;
        int64_t first = 0;
        sendense_replication_job *j = NULL;
        if (OK(sendense_context_get(db, a, &c, &err), err) && OK(sendense_replication_get(db, job2, &j, &err), err)) {
            CHECK(sendense_context_total_jobs_run(c) == 1);
            CHECK(sendense_context_successful_jobs(c) == 1);
            CHECK_STR_EQ(sendense_context_last_successful_job_id(c), job2);
            CHECK(sendense_context_first_job_at_ms(c, &first) && first == sendense_replication_job_created_at_ms(j));
        }
        sendense_context_free(c);
        sendense_replication_job_free(j);
    }
    if (OK(sendense_cbt_history_json(db, a, NULL, &json, &err), err)) {
        CHECK(count(json, "\"change_id\":") == 4);
        CHECK(count(json, "\"job_id\":null") == 2);
        sendense_string_free(json);
    }
    if (OK(sendense_cbt_verify_lineage(db, a, &json, &err), err)) {
        CHECK_CONTAINS(json, "\"ok\":true");
        CHECK_CONTAINS(json, "\"entries_checked\":4");
        sendense_string_free(json);
    }

    /* Explicit context transitions: cleanup after the failure; failed_over_* belongs to failovers. */
    OK(sendense_context_set_status(db, a, "cleanup_required", &err), err);
    OK(sendense_context_set_status(db, a, "ready_for_failover", &err), err);
    OK(sendense_context_set_status(db, a, "ready_for_failover", &err), err); /* the current status: no-op */
    REFUSED(sendense_context_set_status(db, a, "failed_over_test", errp), INVALID_STATE, "failover_start");
    CONTEXT_HAS(a, "\"current_status\":\"ready_for_failover\"");

    /* vm-beta: a job cancelled before any success returns it to discovered. */
    jb = start(b, NULL, NULL);
    if (jb != NULL) {
        JOB_HAS(jb, "\"replication_type\":\"initial\"");
        set_job(jb, "cancelled", NULL);
    }
    CONTEXT_HAS(b, "\"current_status\":\"discovered\"", "\"total_jobs_run\":1", "\"successful_jobs\":0",
                "\"failed_jobs\":0");

    /* Rename keeps the context; find by identity. */
    if (OK(sendense_context_update(db, a, "{\"vm_name\":\"vm-alpha-renamed\",\"memory_mb\":null}", &json, &err), err)) {
        CHECK_CONTAINS(json, "\"vm_name\":\"vm-alpha-renamed\"");
        CHECK_CONTAINS(json, "\"memory_mb\":null");
        s = json_string(json, "context_id", 0);
        CHECK(s != NULL && strcmp(s, a) == 0);
        free(s);
        sendense_string_free(json);
    }
    OK(sendense_context_update(db, a, "{\"scheduler_enabled\":false}", NULL, &err), err);
    if (OK(sendense_context_find_json(db, "vm-101", "vc1.example.com", &json, &err), err)) {
        CHECK_CONTAINS(json, "\"vm_name\":\"vm-alpha-renamed\"");
        CHECK_CONTAINS(json, "\"scheduler_enabled\":false");
        sendense_string_free(json);
    }

    /* Delete vm-beta: its jobs go with it. */
    if (b != NULL && OK(sendense_context_delete(db, b, &err), err)) {
        EXPECT_FAIL(sendense_context_get_json(db, b, &json, errp), NOT_FOUND, b);
        if (jb != NULL) {
            EXPECT_FAIL(sendense_replication_get_json(db, jb, &json, errp), NOT_FOUND, jb);
        }
        EXPECT_FAIL(sendense_context_find_json(db, "vm-102", "vc1.example.com", &json, errp), NOT_FOUND, "vm-102");
    }

    sendense_string_free(a);
    sendense_string_free(b);
    sendense_string_free(job1);
    sendense_string_free(job2);
    sendense_string_free(job3);
    sendense_string_free(jb);
    sendense_store_free(db);
    db = NULL;
}

static void test_typed_snapshots(void) {
    sendense_error *err = NULL;
    sendense_context *c = SENTINEL_CONTEXT;
    sendense_replication_job *j = SENTINEL_JOB;
    char *a, *job, *done;
    int64_t ms = SENTINEL_MS, before;

    db = open_fresh("snapshots.db");
    if (db == NULL) {
        return;
    }
    a = add_context("vm-snap", "vm-201", "vc2");
    if (OK(sendense_context_get(db, a, &c, &err), err)) {
        CHECK_STR_EQ(sendense_context_id(c), a);
        CHECK_STR_EQ(sendense_context_vm_name(c), "vm-snap");
        CHECK_STR_EQ(sendense_context_vmware_vm_id(c), "vm-201");
        CHECK_STR_EQ(sendense_context_vm_path(c), "/DC1/vm/vm-snap");
        CHECK_STR_EQ(sendense_context_vcenter_host(c), "vc2");
        CHECK_STR_EQ(sendense_context_datacenter(c), "DC1");
        CHECK_STR_EQ(sendense_context_status(c), "discovered");
        CHECK(sendense_context_current_job_id(c) == NULL);
        CHECK(sendense_context_last_successful_job_id(c) == NULL);
        CHECK(sendense_context_total_jobs_run(c) == 0);
        CHECK(sendense_context_successful_jobs(c) == 0);
        CHECK(sendense_context_failed_jobs(c) == 0);
        CHECK(sendense_context_created_at_ms(c) > INT64_C(1600000000000));
        CHECK(sendense_context_updated_at_ms(c) >= sendense_context_created_at_ms(c));
        CHECK(sendense_context_scheduler_enabled(c));
        CHECK(!sendense_context_first_job_at_ms(c, &ms) && ms == SENTINEL_MS);
        CHECK(!sendense_context_last_job_at_ms(c, &ms) && ms == SENTINEL_MS);
        CHECK(sendense_context_last_status_change_ms(c, &ms) && ms == sendense_context_created_at_ms(c));
        /* Strings are borrowed: the same pointer every time, until _free. */
        CHECK(sendense_context_vm_name(c) == sendense_context_vm_name(c));
        sendense_context_free(c);
    }

    job = start(a, "job-snap-1", NULL);
    set_job(job, "replicating", NULL);
    OK(sendense_replication_progress(db, job, 42.5, 425, 1000, 77, "copying", &err), err);
    j = SENTINEL_JOB;
    if (OK(sendense_replication_get(db, job, &j, &err), err)) {
        CHECK_STR_EQ(sendense_replication_job_id(j), "job-snap-1");
        CHECK_STR_EQ(sendense_replication_job_context_id(j), a);
        CHECK_STR_EQ(sendense_replication_job_status(j), "replicating");
        CHECK_STR_EQ(sendense_replication_job_replication_type(j), "initial");
        CHECK_STR_EQ(sendense_replication_job_current_operation(j), "copying");
        CHECK(sendense_replication_job_error_message(j) == NULL);
        CHECK(sendense_replication_job_progress_percent(j) == 42.5);
        CHECK(sendense_replication_job_bytes_transferred(j) == 425);
        CHECK(sendense_replication_job_total_bytes(j) == 1000);
        CHECK(sendense_replication_job_transfer_speed_bps(j) == 77);
        CHECK(sendense_replication_job_created_at_ms(j) > INT64_C(1600000000000));
        CHECK(sendense_replication_job_updated_at_ms(j) >= sendense_replication_job_created_at_ms(j));
        ms = SENTINEL_MS;
        CHECK(sendense_replication_job_started_at_ms(j, &ms) && ms >= sendense_replication_job_created_at_ms(j));
        CHECK(sendense_replication_job_started_at_ms(j, NULL));
        before = ms = SENTINEL_MS;
        CHECK(!sendense_replication_job_completed_at_ms(j, &ms) && ms == before);
        sendense_replication_job_free(j);
    }
    if (OK(sendense_context_get(db, a, &c, &err), err)) {
        CHECK_STR_EQ(sendense_context_status(c), "replicating");
        CHECK_STR_EQ(sendense_context_current_job_id(c), "job-snap-1");
        CHECK(sendense_context_total_jobs_run(c) == 1);
        ms = SENTINEL_MS;
        CHECK(sendense_context_first_job_at_ms(c, &ms) && ms > 0);
        CHECK(sendense_context_last_job_at_ms(c, &ms) && ms > 0);
        sendense_context_free(c);
    }
    set_job(job, "failed", "disk full on target");
    done = job;
    j = SENTINEL_JOB;
    if (OK(sendense_replication_get(db, done, &j, &err), err)) {
        CHECK_STR_EQ(sendense_replication_job_status(j), "failed");
        CHECK_STR_EQ(sendense_replication_job_error_message(j), "disk full on target");
        ms = SENTINEL_MS;
        CHECK(sendense_replication_job_completed_at_ms(j, &ms) && ms >= sendense_replication_job_created_at_ms(j));
        sendense_replication_job_free(j);
    }
    if (OK(sendense_context_get(db, a, &c, &err), err)) {
        CHECK_STR_EQ(sendense_context_status(c), "failed");
        CHECK(sendense_context_current_job_id(c) == NULL);
        CHECK(sendense_context_failed_jobs(c) == 1);
        sendense_context_free(c);
    }

    /* NULL snapshots: NULL / 0 / false, out_ms untouched; _free(NULL) is a no-op. */
    ms = SENTINEL_MS;
    CHECK(sendense_context_id(NULL) == NULL);
    CHECK(sendense_context_vm_name(NULL) == NULL);
    CHECK(sendense_context_vmware_vm_id(NULL) == NULL);
    CHECK(sendense_context_vm_path(NULL) == NULL);
    CHECK(sendense_context_vcenter_host(NULL) == NULL);
    CHECK(sendense_context_datacenter(NULL) == NULL);
    CHECK(sendense_context_status(NULL) == NULL);
    CHECK(sendense_context_current_job_id(NULL) == NULL);
    CHECK(sendense_context_last_successful_job_id(NULL) == NULL);
    CHECK(sendense_context_total_jobs_run(NULL) == 0);
    CHECK(sendense_context_successful_jobs(NULL) == 0);
    CHECK(sendense_context_failed_jobs(NULL) == 0);
    CHECK(sendense_context_created_at_ms(NULL) == 0);
    CHECK(sendense_context_updated_at_ms(NULL) == 0);
    CHECK(!sendense_context_scheduler_enabled(NULL));
    CHECK(!sendense_context_first_job_at_ms(NULL, &ms));
    CHECK(!sendense_context_last_job_at_ms(NULL, &ms));
    CHECK(!sendense_context_last_status_change_ms(NULL, &ms));
    CHECK(sendense_replication_job_id(NULL) == NULL);
    CHECK(sendense_replication_job_context_id(NULL) == NULL);
    CHECK(sendense_replication_job_status(NULL) == NULL);
    CHECK(sendense_replication_job_replication_type(NULL) == NULL);
    CHECK(sendense_replication_job_current_operation(NULL) == NULL);
    CHECK(sendense_replication_job_error_message(NULL) == NULL);
    CHECK(sendense_replication_job_progress_percent(NULL) == 0.0);
    CHECK(sendense_replication_job_bytes_transferred(NULL) == 0);
    CHECK(sendense_replication_job_total_bytes(NULL) == 0);
    CHECK(sendense_replication_job_transfer_speed_bps(NULL) == 0);
    CHECK(sendense_replication_job_created_at_ms(NULL) == 0);
    CHECK(sendense_replication_job_updated_at_ms(NULL) == 0);
    CHECK(!sendense_replication_job_started_at_ms(NULL, &ms));
    CHECK(!sendense_replication_job_completed_at_ms(NULL, &ms));
    CHECK(ms == SENTINEL_MS);
    sendense_context_free(NULL);
    sendense_replication_job_free(NULL);

    /* Unknown ids: NOT_FOUND, out untouched. */
    c = SENTINEL_CONTEXT;
    j = SENTINEL_JOB;
    REFUSED(sendense_context_get(db, "no-such-context", &c, errp), NOT_FOUND, "no-such-context");
    REFUSED(sendense_replication_get(db, "no-such-job", &j, errp), NOT_FOUND, "no-such-job");
    CHECK(c == SENTINEL_CONTEXT && j == SENTINEL_JOB);

    sendense_string_free(a);
    sendense_string_free(job);
    sendense_store_free(db);
    db = NULL;
}

static void test_lists(void) {
    sendense_error *err = NULL;
    char *a, *b, *c, *j1, *j2, *j3, *json = NULL, *first;

    db = open_fresh("lists.db");
    if (db == NULL) {
        return;
    }
    a = add_context("web-01", "vm-301", "vc1");
    b = add_context("web-02", "vm-302", "vc1");
    c = add_context("db-01", "vm-303", "vc2");
    if (OK(sendense_context_list_json(db, NULL, &json, &err), err)) {
        CHECK(count(json, "\"context_id\":") == 3);
        first = json_string(json, "vm_name", 0);
        CHECK(first != NULL && strcmp(first, "db-01") == 0); /* ordered by name */
        free(first);
        sendense_string_free(json);
    }
    if (OK(sendense_context_list_json(db, "{\"name_prefix\":\"web-\"}", &json, &err), err)) {
        CHECK(count(json, "\"context_id\":") == 2);
        CHECK(strstr(json, "db-01") == NULL);
        sendense_string_free(json);
    }
    if (OK(sendense_context_list_json(db, "{\"vcenter_host\":\"vc2\"}", &json, &err), err)) {
        CHECK(count(json, "\"context_id\":") == 1);
        CHECK_CONTAINS(json, "db-01");
        sendense_string_free(json);
    }
    if (OK(sendense_context_list_json(db, "{\"limit\":1,\"offset\":1}", &json, &err), err)) {
        CHECK(count(json, "\"context_id\":") == 1);
        CHECK_CONTAINS(json, "\"vm_name\":\"web-01\"");
        sendense_string_free(json);
    }
    if (OK(sendense_context_list_json(db, "{}", &json, &err), err)) {
        CHECK(count(json, "\"context_id\":") == 3);
        sendense_string_free(json);
    }

    j1 = run_job(a, "initial", CHANGE(1), CHANGE(2));
    sleep_ms(2);
    j2 = run_job(a, "incremental", CHANGE(3), CHANGE(4));
    sleep_ms(2);
    j3 = start(b, NULL, NULL);
    if (OK(sendense_context_list_json(db, "{\"status\":\"replicating\"}", &json, &err), err)) {
        CHECK(count(json, "\"context_id\":") == 1);
        CHECK_CONTAINS(json, "web-02");
        sendense_string_free(json);
    }
    if (OK(sendense_context_list_json(db, "{\"status\":\"ready_for_failover\",\"scheduler_enabled\":true}", &json, &err),
           err)) {
        CHECK(count(json, "\"context_id\":") == 1);
        CHECK_CONTAINS(json, "web-01");
        sendense_string_free(json);
    }
    if (OK(sendense_replication_list_json(db, NULL, &json, &err), err)) {
        CHECK(count(json, "\"id\":") == 3);
        first = json_string(json, "id", 0);
        CHECK(first != NULL && j3 != NULL && strcmp(first, j3) == 0); /* newest first */
        free(first);
        sendense_string_free(json);
    }
    if (a != NULL && j2 != NULL) {
        char filter[JSON_BUF];
        snprintf(filter, sizeof filter, "{\"context_id\":\"%s\"}", a);
        if (OK(sendense_replication_list_json(db, filter, &json, &err), err)) {
            CHECK(count(json, "\"id\":") == 2);
            first = json_string(json, "id", 0);
            CHECK(first != NULL && strcmp(first, j2) == 0);
            free(first);
            sendense_string_free(json);
        }
    }
    if (OK(sendense_replication_list_json(db, "{\"status\":\"pending\"}", &json, &err), err)) {
        CHECK(count(json, "\"id\":") == 1);
        sendense_string_free(json);
    }
    if (OK(sendense_replication_list_json(db, "{\"status\":\"completed\",\"limit\":1}", &json, &err), err)) {
        CHECK(count(json, "\"id\":") == 1);
        sendense_string_free(json);
    }
    if (OK(sendense_replication_list_json(db, "{\"context_id\":\"nobody\"}", &json, &err), err)) {
        CHECK_STR_EQ(json, "[]");
        sendense_string_free(json);
    }

    /* Stale jobs: the pending job of web-02 has not moved. */
    sleep_ms(5);
    if (OK(sendense_replication_stale_json(db, 0, &json, &err), err)) {
        CHECK(count(json, "\"id\":") == 1);
        if (j3 != NULL) {
            CHECK_CONTAINS(json, j3);
        }
        sendense_string_free(json);
    }
    if (OK(sendense_replication_stale_json(db, 3600 * 1000, &json, &err), err)) {
        CHECK_STR_EQ(json, "[]");
        sendense_string_free(json);
    }
    {
        char *out = SENTINEL_STRING;
        REFUSED(sendense_replication_stale_json(db, -1, &out, errp), INVALID_ARGUMENT, "older_than_ms", "-1");
        REFUSED(sendense_replication_fail_stale(db, -1, "stuck", &out, errp), INVALID_ARGUMENT, "older_than_ms");
        CHECK(out == SENTINEL_STRING);
    }
    if (OK(sendense_replication_fail_stale(db, 3600 * 1000, "no progress", &json, &err), err)) {
        CHECK_STR_EQ(json, "[]");
        sendense_string_free(json);
    }
    if (OK(sendense_replication_fail_stale(db, 0, "no progress for too long", &json, &err), err)) {
        if (j3 != NULL) {
            char want[512];
            snprintf(want, sizeof want, "[\"%s\"]", j3);
            CHECK_STR_EQ(json, want);
        }
        sendense_string_free(json);
    }
    JOB_HAS(j3, "\"status\":\"failed\"", "\"error_message\":\"no progress for too long\"");
    CONTEXT_HAS(b, "\"current_status\":\"failed\"", "\"failed_jobs\":1", "\"current_job_id\":null");

    sendense_string_free(a);
    sendense_string_free(b);
    sendense_string_free(c);
    sendense_string_free(j1);
    sendense_string_free(j2);
    sendense_string_free(j3);
    sendense_store_free(db);
    db = NULL;
}

/* A store with a context `ctx` that has an active job `job` (replicating, two disks) and a
 * context `done_ctx` whose job `done` completed; used by the refusal groups. */
typedef struct {
    char *ctx, *job, *done_ctx, *done;
} fixture;

static fixture make_fixture(const char *file) {
    fixture f = {NULL, NULL, NULL, NULL};
    db = open_fresh(file);
    if (db == NULL) {
        return f;
    }
    f.ctx = add_context("vm-active", "vm-401", "vc1");
    f.done_ctx = add_context("vm-done", "vm-402", "vc1");
    f.done = run_job(f.done_ctx, "initial", CHANGE(7), CHANGE(8));
    f.job = start(f.ctx, "job-active", NULL);
    set_job(f.job, "replicating", NULL);
    return f;
}

static void free_fixture(fixture *f) {
    sendense_string_free(f->ctx);
    sendense_string_free(f->job);
    sendense_string_free(f->done_ctx);
    sendense_string_free(f->done);
    sendense_store_free(db);
    db = NULL;
}

#define FRESH_CONTEXT "{\"vm_name\":\"new-vm\",\"vmware_vm_id\":\"vm-999\",\"vm_path\":\"/p\",\"vcenter_host\":\"vc1\",\"datacenter\":\"DC1\"}"

static void test_null_arguments(void) {
    fixture f = make_fixture("null.db");
    char start_done[JSON_BUF];
    char *out = SENTINEL_STRING;
    sendense_context *c = SENTINEL_CONTEXT;
    sendense_replication_job *j = SENTINEL_JOB;
    if (db == NULL || f.job == NULL || f.done == NULL) {
        free_fixture(&f);
        return;
    }
    /* A start that would succeed: the completed context may start again. */
    start_json(start_done, f.done_ctx, NULL, NULL);

    REFUSED(sendense_context_create(NULL, FRESH_CONTEXT, &out, errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_context_create(db, NULL, &out, errp), INVALID_ARGUMENT, "json is NULL");
    REFUSED(sendense_context_create(db, FRESH_CONTEXT, NULL, errp), INVALID_ARGUMENT, "context_id_out is NULL");
    REFUSED(sendense_context_get_json(NULL, f.ctx, &out, errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_context_get_json(db, NULL, &out, errp), INVALID_ARGUMENT, "context_id is NULL");
    REFUSED(sendense_context_get_json(db, f.ctx, NULL, errp), INVALID_ARGUMENT, "json_out is NULL");
    REFUSED(sendense_context_find_json(NULL, "vm-401", "vc1", &out, errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_context_find_json(db, NULL, "vc1", &out, errp), INVALID_ARGUMENT, "vmware_vm_id is NULL");
    REFUSED(sendense_context_find_json(db, "vm-401", NULL, &out, errp), INVALID_ARGUMENT, "vcenter_host is NULL");
    REFUSED(sendense_context_find_json(db, "vm-401", "vc1", NULL, errp), INVALID_ARGUMENT, "json_out is NULL");
    REFUSED(sendense_context_list_json(NULL, NULL, &out, errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_context_list_json(db, NULL, NULL, errp), INVALID_ARGUMENT, "json_out is NULL");
    REFUSED(sendense_context_update(NULL, f.ctx, "{\"vm_path\":\"/x\"}", &out, errp), INVALID_ARGUMENT,
            "store is NULL");
    REFUSED(sendense_context_update(db, NULL, "{\"vm_path\":\"/x\"}", &out, errp), INVALID_ARGUMENT,
            "context_id is NULL");
    REFUSED(sendense_context_update(db, f.ctx, NULL, &out, errp), INVALID_ARGUMENT, "json is NULL");
    REFUSED(sendense_context_set_status(NULL, f.done_ctx, "failed_over_test", errp), INVALID_ARGUMENT,
            "store is NULL");
    REFUSED(sendense_context_set_status(db, NULL, "failed_over_test", errp), INVALID_ARGUMENT, "context_id is NULL");
    REFUSED(sendense_context_set_status(db, f.done_ctx, NULL, errp), INVALID_ARGUMENT, "status is NULL");
    REFUSED(sendense_context_delete(NULL, f.ctx, errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_context_delete(db, NULL, errp), INVALID_ARGUMENT, "context_id is NULL");
    REFUSED(sendense_context_get(NULL, f.ctx, &c, errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_context_get(db, NULL, &c, errp), INVALID_ARGUMENT, "context_id is NULL");
    REFUSED(sendense_context_get(db, f.ctx, NULL, errp), INVALID_ARGUMENT, "out is NULL");

    REFUSED(sendense_replication_start(NULL, start_done, &out, errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_replication_start(db, NULL, &out, errp), INVALID_ARGUMENT, "json is NULL");
    REFUSED(sendense_replication_start(db, start_done, NULL, errp), INVALID_ARGUMENT, "job_id_out is NULL");
    REFUSED(sendense_replication_get_json(NULL, f.job, &out, errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_replication_get_json(db, NULL, &out, errp), INVALID_ARGUMENT, "job_id is NULL");
    REFUSED(sendense_replication_get_json(db, f.job, NULL, errp), INVALID_ARGUMENT, "json_out is NULL");
    REFUSED(sendense_replication_list_json(NULL, NULL, &out, errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_replication_list_json(db, NULL, NULL, errp), INVALID_ARGUMENT, "json_out is NULL");
    REFUSED(sendense_replication_set_status(NULL, f.job, "finalizing", NULL, errp), INVALID_ARGUMENT,
            "store is NULL");
    REFUSED(sendense_replication_set_status(db, NULL, "finalizing", NULL, errp), INVALID_ARGUMENT, "job_id is NULL");
    REFUSED(sendense_replication_set_status(db, f.job, NULL, NULL, errp), INVALID_ARGUMENT, "status is NULL");
    REFUSED(sendense_replication_progress(NULL, f.job, 10.0, 1, 10, 1, NULL, errp), INVALID_ARGUMENT,
            "store is NULL");
    REFUSED(sendense_replication_progress(db, NULL, 10.0, 1, 10, 1, NULL, errp), INVALID_ARGUMENT, "job_id is NULL");
    REFUSED(sendense_replication_vma_progress(NULL, f.job, "{}", errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_replication_vma_progress(db, NULL, "{}", errp), INVALID_ARGUMENT, "job_id is NULL");
    REFUSED(sendense_replication_vma_progress(db, f.job, NULL, errp), INVALID_ARGUMENT, "json is NULL");
    REFUSED(sendense_replication_disk_progress(NULL, f.job, "disk-2000", 5.0, 1, NULL, errp), INVALID_ARGUMENT,
            "store is NULL");
    REFUSED(sendense_replication_disk_progress(db, NULL, "disk-2000", 5.0, 1, NULL, errp), INVALID_ARGUMENT,
            "job_id is NULL");
    REFUSED(sendense_replication_disk_progress(db, f.job, NULL, 5.0, 1, NULL, errp), INVALID_ARGUMENT,
            "disk_id is NULL");
    REFUSED(sendense_replication_disks_json(NULL, f.ctx, &out, errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_replication_disks_json(db, NULL, &out, errp), INVALID_ARGUMENT, "context_id is NULL");
    REFUSED(sendense_replication_disks_json(db, f.ctx, NULL, errp), INVALID_ARGUMENT, "json_out is NULL");
    REFUSED(sendense_replication_delete(NULL, f.done, errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_replication_delete(db, NULL, errp), INVALID_ARGUMENT, "job_id is NULL");
    REFUSED(sendense_replication_stale_json(NULL, 0, &out, errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_replication_stale_json(db, 0, NULL, errp), INVALID_ARGUMENT, "json_out is NULL");
    sleep_ms(3); /* the active job is now stale for older_than_ms = 0 */
    REFUSED(sendense_replication_fail_stale(NULL, 0, "stuck", &out, errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_replication_fail_stale(db, 0, NULL, &out, errp), INVALID_ARGUMENT, "reason is NULL");
    REFUSED(sendense_replication_fail_stale(db, 0, "stuck", NULL, errp), INVALID_ARGUMENT, "job_ids_json_out is NULL");
    REFUSED(sendense_replication_get(NULL, f.job, &j, errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_replication_get(db, NULL, &j, errp), INVALID_ARGUMENT, "job_id is NULL");
    REFUSED(sendense_replication_get(db, f.job, NULL, errp), INVALID_ARGUMENT, "out is NULL");

    REFUSED(sendense_cbt_decide(NULL, f.ctx, "disk-2000", CHANGE(9), false, &out, errp), INVALID_ARGUMENT,
            "store is NULL");
    REFUSED(sendense_cbt_decide(db, NULL, "disk-2000", CHANGE(9), false, &out, errp), INVALID_ARGUMENT,
            "context_id is NULL");
    REFUSED(sendense_cbt_decide(db, f.ctx, NULL, CHANGE(9), false, &out, errp), INVALID_ARGUMENT, "disk_id is NULL");
    REFUSED(sendense_cbt_decide(db, f.ctx, "disk-2000", NULL, false, &out, errp), INVALID_ARGUMENT,
            "snapshot_change_id is NULL");
    REFUSED(sendense_cbt_decide(db, f.ctx, "disk-2000", CHANGE(9), false, NULL, errp), INVALID_ARGUMENT,
            "decision_json_out is NULL");
    REFUSED(sendense_cbt_record(NULL, f.job, "disk-2000", CHANGE(9), 1, errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_cbt_record(db, NULL, "disk-2000", CHANGE(9), 1, errp), INVALID_ARGUMENT, "job_id is NULL");
    REFUSED(sendense_cbt_record(db, f.job, NULL, CHANGE(9), 1, errp), INVALID_ARGUMENT, "disk_id is NULL");
    REFUSED(sendense_cbt_record(db, f.job, "disk-2000", NULL, 1, errp), INVALID_ARGUMENT, "change_id is NULL");
    REFUSED(sendense_cbt_history_json(NULL, f.ctx, NULL, &out, errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_cbt_history_json(db, NULL, NULL, &out, errp), INVALID_ARGUMENT, "context_id is NULL");
    REFUSED(sendense_cbt_history_json(db, f.ctx, NULL, NULL, errp), INVALID_ARGUMENT, "json_out is NULL");
    REFUSED(sendense_cbt_verify_lineage(NULL, f.ctx, &out, errp), INVALID_ARGUMENT, "store is NULL");
    REFUSED(sendense_cbt_verify_lineage(db, NULL, &out, errp), INVALID_ARGUMENT, "context_id is NULL");
    REFUSED(sendense_cbt_verify_lineage(db, f.ctx, NULL, errp), INVALID_ARGUMENT, "report_json_out is NULL");

    CHECK(out == SENTINEL_STRING && c == SENTINEL_CONTEXT && j == SENTINEL_JOB);
    free_fixture(&f);
}

static void test_invalid_utf8(void) {
    fixture f = make_fixture("utf8.db");
    const char *bad = "vm\xff";
    char *out = SENTINEL_STRING;
    sendense_context *c = SENTINEL_CONTEXT;
    sendense_replication_job *j = SENTINEL_JOB;
    if (db == NULL || f.job == NULL) {
        free_fixture(&f);
        return;
    }
    REFUSED(sendense_context_create(db, "{\"vm_name\":\"\xff\"}", &out, errp), INVALID_ARGUMENT,
            "json is not valid UTF-8");
    REFUSED(sendense_context_get_json(db, bad, &out, errp), INVALID_ARGUMENT, "context_id is not valid UTF-8");
    REFUSED(sendense_context_find_json(db, bad, "vc1", &out, errp), INVALID_ARGUMENT, "vmware_vm_id is not valid UTF-8");
    REFUSED(sendense_context_find_json(db, "vm-401", bad, &out, errp), INVALID_ARGUMENT,
            "vcenter_host is not valid UTF-8");
    REFUSED(sendense_context_list_json(db, "{\"name_prefix\":\"\xc3\"}", &out, errp), INVALID_ARGUMENT,
            "filter_json is not valid UTF-8");
    REFUSED(sendense_context_update(db, bad, "{}", &out, errp), INVALID_ARGUMENT, "context_id is not valid UTF-8");
    REFUSED(sendense_context_update(db, f.ctx, "{\"vm_path\":\"\xe2\x82\"}", &out, errp), INVALID_ARGUMENT,
            "json is not valid UTF-8");
    REFUSED(sendense_context_set_status(db, bad, "failed", errp), INVALID_ARGUMENT, "context_id is not valid UTF-8");
    REFUSED(sendense_context_set_status(db, f.done_ctx, "failed_over_test\xff", errp), INVALID_ARGUMENT,
            "status is not valid UTF-8");
    REFUSED(sendense_context_delete(db, bad, errp), INVALID_ARGUMENT, "context_id is not valid UTF-8");
    REFUSED(sendense_context_get(db, bad, &c, errp), INVALID_ARGUMENT, "context_id is not valid UTF-8");
    REFUSED(sendense_replication_start(db, "{\"context_id\":\"\xff\"}", &out, errp), INVALID_ARGUMENT,
            "json is not valid UTF-8");
    REFUSED(sendense_replication_get_json(db, bad, &out, errp), INVALID_ARGUMENT, "job_id is not valid UTF-8");
    REFUSED(sendense_replication_list_json(db, "{\"context_id\":\"\xff\"}", &out, errp), INVALID_ARGUMENT,
            "filter_json is not valid UTF-8");
    REFUSED(sendense_replication_set_status(db, bad, "failed", NULL, errp), INVALID_ARGUMENT,
            "job_id is not valid UTF-8");
    REFUSED(sendense_replication_set_status(db, f.job, bad, NULL, errp), INVALID_ARGUMENT, "status is not valid UTF-8");
    REFUSED(sendense_replication_set_status(db, f.job, "failed", bad, errp), INVALID_ARGUMENT,
            "error_message is not valid UTF-8");
    REFUSED(sendense_replication_progress(db, bad, 1.0, 1, 10, 1, NULL, errp), INVALID_ARGUMENT,
            "job_id is not valid UTF-8");
    REFUSED(sendense_replication_progress(db, f.job, 1.0, 1, 10, 1, bad, errp), INVALID_ARGUMENT,
            "operation is not valid UTF-8");
    REFUSED(sendense_replication_vma_progress(db, bad, "{}", errp), INVALID_ARGUMENT, "job_id is not valid UTF-8");
    REFUSED(sendense_replication_vma_progress(db, f.job, "{\"vma_current_phase\":\"\xff\"}", errp), INVALID_ARGUMENT,
            "json is not valid UTF-8");
    REFUSED(sendense_replication_disk_progress(db, bad, "disk-2000", 1.0, 1, NULL, errp), INVALID_ARGUMENT,
            "job_id is not valid UTF-8");
    REFUSED(sendense_replication_disk_progress(db, f.job, "disk-2000\xff", 1.0, 1, NULL, errp), INVALID_ARGUMENT,
            "disk_id is not valid UTF-8");
    REFUSED(sendense_replication_disk_progress(db, f.job, "disk-2000", 1.0, 1, "syncing\xff", errp),
            INVALID_ARGUMENT, "sync_status is not valid UTF-8");
    REFUSED(sendense_replication_disks_json(db, bad, &out, errp), INVALID_ARGUMENT, "context_id is not valid UTF-8");
    REFUSED(sendense_replication_delete(db, bad, errp), INVALID_ARGUMENT, "job_id is not valid UTF-8");
    REFUSED(sendense_replication_fail_stale(db, 0, bad, &out, errp), INVALID_ARGUMENT, "reason is not valid UTF-8");
    REFUSED(sendense_replication_get(db, bad, &j, errp), INVALID_ARGUMENT, "job_id is not valid UTF-8");
    REFUSED(sendense_cbt_decide(db, bad, "disk-2000", CHANGE(9), false, &out, errp), INVALID_ARGUMENT,
            "context_id is not valid UTF-8");
    REFUSED(sendense_cbt_decide(db, f.ctx, bad, CHANGE(9), false, &out, errp), INVALID_ARGUMENT,
            "disk_id is not valid UTF-8");
    REFUSED(sendense_cbt_decide(db, f.ctx, "disk-2000", EPOCH "\xff/9", false, &out, errp), INVALID_ARGUMENT,
            "snapshot_change_id is not valid UTF-8");
    REFUSED(sendense_cbt_record(db, bad, "disk-2000", CHANGE(9), 1, errp), INVALID_ARGUMENT,
            "job_id is not valid UTF-8");
    REFUSED(sendense_cbt_record(db, f.job, bad, CHANGE(9), 1, errp), INVALID_ARGUMENT, "disk_id is not valid UTF-8");
    REFUSED(sendense_cbt_record(db, f.job, "disk-2000", EPOCH "/9\xff", 1, errp), INVALID_ARGUMENT,
            "change_id is not valid UTF-8");
    REFUSED(sendense_cbt_history_json(db, bad, NULL, &out, errp), INVALID_ARGUMENT, "context_id is not valid UTF-8");
    REFUSED(sendense_cbt_history_json(db, f.ctx, bad, &out, errp), INVALID_ARGUMENT, "disk_id is not valid UTF-8");
    REFUSED(sendense_cbt_verify_lineage(db, bad, &out, errp), INVALID_ARGUMENT, "context_id is not valid UTF-8");
    CHECK(out == SENTINEL_STRING && c == SENTINEL_CONTEXT && j == SENTINEL_JOB);
    free_fixture(&f);
}

static void test_bad_json(void) {
    fixture f = make_fixture("json.db");
    char json[JSON_BUF];
    char *out = SENTINEL_STRING;
    if (db == NULL || f.job == NULL) {
        free_fixture(&f);
        return;
    }
    /* Malformed. */
    REFUSED(sendense_context_create(db, "{\"vm_name\":", &out, errp), INVALID_ARGUMENT, "json");
    REFUSED(sendense_context_create(db, "", &out, errp), INVALID_ARGUMENT, "json");
    REFUSED(sendense_context_create(db, "[]", &out, errp), INVALID_ARGUMENT, "json");
    REFUSED(sendense_context_update(db, f.ctx, "{\"vm_path\":\"/x\"} trailing", &out, errp), INVALID_ARGUMENT,
            "json", "trailing");
    REFUSED(sendense_context_list_json(db, "{status:1}", &out, errp), INVALID_ARGUMENT, "filter_json");
    REFUSED(sendense_replication_start(db, "{\"context_id\":", &out, errp), INVALID_ARGUMENT, "json");
    REFUSED(sendense_replication_list_json(db, "not json", &out, errp), INVALID_ARGUMENT, "filter_json");
    REFUSED(sendense_replication_vma_progress(db, f.job, "{", errp), INVALID_ARGUMENT, "json");

    /* Unknown keys are named. */
    REFUSED(sendense_context_create(db,
                                    "{\"vm_name\":\"n\",\"vmware_vm_id\":\"vm-9\",\"vm_path\":\"/p\",\"vcenter_host\":"
                                    "\"vc1\",\"datacenter\":\"DC1\",\"colour\":\"blue\"}",
                                    &out, errp),
            INVALID_ARGUMENT, "colour");
    REFUSED(sendense_context_update(db, f.ctx, "{\"vmware_vm_id\":\"vm-other\"}", &out, errp), INVALID_ARGUMENT,
            "vmware_vm_id");
    REFUSED(sendense_context_update(db, f.ctx, "{\"current_status\":\"completed\"}", NULL, errp), INVALID_ARGUMENT,
            "current_status");
    REFUSED(sendense_context_update(db, f.ctx, "{\"total_jobs_run\":0}", NULL, errp), INVALID_ARGUMENT,
            "total_jobs_run");
    REFUSED(sendense_context_list_json(db, "{\"sort\":\"name\"}", &out, errp), INVALID_ARGUMENT, "sort");
    snprintf(json, sizeof json, "{\"context_id\":\"%s\",\"priority\":1,\"disks\":[]}", f.done_ctx);
    REFUSED(sendense_replication_start(db, json, &out, errp), INVALID_ARGUMENT, "priority");
    snprintf(json, sizeof json,
             "{\"context_id\":\"%s\",\"disks\":[{\"disk_id\":\"disk-2000\",\"vm_dk_path\":\"[ds] a.vmdk\","
             "\"size_gb\":1,\"thin\":true}]}",
             f.done_ctx);
    REFUSED(sendense_replication_start(db, json, &out, errp), INVALID_ARGUMENT, "thin");
    REFUSED(sendense_replication_list_json(db, "{\"vm\":\"x\"}", &out, errp), INVALID_ARGUMENT, "vm");
    REFUSED(sendense_replication_vma_progress(db, f.job, "{\"vma_percent\":5}", errp), INVALID_ARGUMENT, "vma_percent");

    /* Wrong types. */
    REFUSED(sendense_context_create(db,
                                    "{\"vm_name\":\"n\",\"vmware_vm_id\":\"vm-9\",\"vm_path\":\"/p\",\"vcenter_host\":"
                                    "\"vc1\",\"datacenter\":\"DC1\",\"cpu_count\":\"four\"}",
                                    &out, errp),
            INVALID_ARGUMENT, "invalid type");
    REFUSED(sendense_context_create(db,
                                    "{\"vm_name\":7,\"vmware_vm_id\":\"vm-9\",\"vm_path\":\"/p\",\"vcenter_host\":"
                                    "\"vc1\",\"datacenter\":\"DC1\"}",
                                    &out, errp),
            INVALID_ARGUMENT, "invalid type");
    REFUSED(sendense_context_update(db, f.ctx, "{\"scheduler_enabled\":\"yes\"}", &out, errp), INVALID_ARGUMENT,
            "invalid type");
    REFUSED(sendense_context_list_json(db, "{\"limit\":-1}", &out, errp), INVALID_ARGUMENT, "filter_json");
    REFUSED(sendense_context_list_json(db, "{\"status\":\"sleeping\"}", &out, errp), INVALID_ARGUMENT, "sleeping",
            "context status");
    snprintf(json, sizeof json, "{\"context_id\":\"%s\",\"disks\":{}}", f.done_ctx);
    REFUSED(sendense_replication_start(db, json, &out, errp), INVALID_ARGUMENT, "invalid type");
    snprintf(json, sizeof json,
             "{\"context_id\":\"%s\",\"disks\":[{\"disk_id\":\"disk-2000\",\"vm_dk_path\":\"[ds] a.vmdk\","
             "\"size_gb\":\"40\"}]}",
             f.done_ctx);
    REFUSED(sendense_replication_start(db, json, &out, errp), INVALID_ARGUMENT, "invalid type");
    snprintf(json, sizeof json, "{\"context_id\":\"%s\",\"replication_type\":\"differential\",\"disks\":[]}", f.done_ctx);
    REFUSED(sendense_replication_start(db, json, &out, errp), INVALID_ARGUMENT, "differential");
    REFUSED(sendense_replication_list_json(db, "{\"status\":\"running\"}", &out, errp), INVALID_ARGUMENT, "running");
    REFUSED(sendense_replication_vma_progress(db, f.job, "{\"vma_eta_seconds\":\"soon\"}", errp), INVALID_ARGUMENT,
            "invalid type");

    /* Missing required keys and invalid values. */
    REFUSED(sendense_context_create(db, "{\"vm_name\":\"n\"}", &out, errp), INVALID_ARGUMENT, "missing field");
    REFUSED(sendense_context_create(db,
                                    "{\"vm_name\":\" \",\"vmware_vm_id\":\"vm-9\",\"vm_path\":\"/p\",\"vcenter_host\":"
                                    "\"vc1\",\"datacenter\":\"DC1\"}",
                                    &out, errp),
            INVALID_ARGUMENT, "vm_name is empty");
    REFUSED(sendense_context_update(db, f.ctx, "{\"memory_mb\":-1}", &out, errp), INVALID_ARGUMENT, "memory_mb");
    snprintf(json, sizeof json, "{\"context_id\":\"%s\",\"disks\":[]}", f.done_ctx);
    REFUSED(sendense_replication_start(db, json, &out, errp), INVALID_ARGUMENT, "at least one disk");
    snprintf(json, sizeof json,
             "{\"context_id\":\"%s\",\"disks\":[{\"disk_id\":\"scsi0:0\",\"vm_dk_path\":\"[ds] a.vmdk\",\"size_gb\":1}]}",
             f.done_ctx);
    REFUSED(sendense_replication_start(db, json, &out, errp), INVALID_ARGUMENT, "scsi0:0", "disk-<VMware device key>");
    REFUSED(sendense_replication_vma_progress(db, f.job, "{\"vma_error_classification\":\"gremlins\"}", errp),
            INVALID_ARGUMENT, "gremlins");
    REFUSED(sendense_replication_vma_progress(db, f.job, "{\"setup_progress_percent\":101}", errp), INVALID_ARGUMENT,
            "setup_progress_percent");
    CHECK(out == SENTINEL_STRING);
    free_fixture(&f);
}

static void test_unknown_ids(void) {
    fixture f = make_fixture("unknown.db");
    char json[JSON_BUF];
    char *out = SENTINEL_STRING;
    if (db == NULL || f.job == NULL) {
        free_fixture(&f);
        return;
    }
    REFUSED(sendense_context_get_json(db, "ctx-missing", &out, errp), NOT_FOUND, "ctx-missing");
    REFUSED(sendense_context_find_json(db, "vm-401", "vc-other", &out, errp), NOT_FOUND, "vm-401", "vc-other");
    REFUSED(sendense_context_find_json(db, "vm-missing", "vc1", &out, errp), NOT_FOUND, "vm-missing");
    REFUSED(sendense_context_update(db, "ctx-missing", "{\"vm_path\":\"/x\"}", &out, errp), NOT_FOUND, "ctx-missing");
    REFUSED(sendense_context_set_status(db, "ctx-missing", "discovered", errp), NOT_FOUND, "ctx-missing");
    REFUSED(sendense_context_delete(db, "ctx-missing", errp), NOT_FOUND, "ctx-missing");
    REFUSED(sendense_replication_start(db, start_json(json, "ctx-missing", NULL, NULL), &out, errp), NOT_FOUND,
            "ctx-missing");
    REFUSED(sendense_replication_get_json(db, "job-missing", &out, errp), NOT_FOUND, "job-missing");
    REFUSED(sendense_replication_set_status(db, "job-missing", "failed", "x", errp), NOT_FOUND, "job-missing");
    REFUSED(sendense_replication_progress(db, "job-missing", 5.0, 1, 10, 1, "x", errp), NOT_FOUND, "job-missing");
    REFUSED(sendense_replication_vma_progress(db, "job-missing", "{\"vma_current_phase\":\"x\"}", errp), NOT_FOUND,
            "job-missing");
    REFUSED(sendense_replication_disk_progress(db, "job-missing", "disk-2000", 5.0, 1, NULL, errp), NOT_FOUND,
            "job-missing");
    REFUSED(sendense_replication_disk_progress(db, f.job, "disk-7000", 5.0, 1, NULL, errp), NOT_FOUND, "disk-7000");
    REFUSED(sendense_replication_disks_json(db, "ctx-missing", &out, errp), NOT_FOUND, "ctx-missing");
    REFUSED(sendense_replication_delete(db, "job-missing", errp), NOT_FOUND, "job-missing");
    REFUSED(sendense_cbt_decide(db, "ctx-missing", "disk-2000", CHANGE(9), false, &out, errp), NOT_FOUND,
            "ctx-missing");
    REFUSED(sendense_cbt_record(db, "job-missing", "disk-2000", CHANGE(9), 1, errp), NOT_FOUND, "job-missing");
    REFUSED(sendense_cbt_record(db, f.job, "disk-7000", CHANGE(9), 1, errp), NOT_FOUND, "disk-7000");
    REFUSED(sendense_cbt_history_json(db, "ctx-missing", NULL, &out, errp), NOT_FOUND, "ctx-missing");
    REFUSED(sendense_cbt_verify_lineage(db, "ctx-missing", &out, errp), NOT_FOUND, "ctx-missing");
    CHECK(out == SENTINEL_STRING);
    free_fixture(&f);
}

static void test_invalid_status_strings(void) {
    fixture f = make_fixture("status.db");
    if (db == NULL || f.job == NULL) {
        free_fixture(&f);
        return;
    }
    REFUSED(sendense_context_set_status(db, f.done_ctx, "Failed_Over_Test", errp), INVALID_ARGUMENT,
            "\"Failed_Over_Test\" is not a valid context status", "ready_for_failover", "cleanup_required");
    REFUSED(sendense_context_set_status(db, f.done_ctx, "", errp), INVALID_ARGUMENT, "context status");
    REFUSED(sendense_replication_set_status(db, f.job, "done", NULL, errp), INVALID_ARGUMENT,
            "\"done\" is not a valid replication job status", "ready_for_sync", "cancelled");
    REFUSED(sendense_replication_set_status(db, f.job, "COMPLETED", "x", errp), INVALID_ARGUMENT, "COMPLETED");
    REFUSED(sendense_replication_disk_progress(db, f.job, "disk-2000", 5.0, 1, "copying", errp), INVALID_ARGUMENT,
            "\"copying\" is not a valid disk sync status", "pending, syncing, completed, failed");
    free_fixture(&f);
}

/* Echoed input is bounded: a 10 MiB status string and a percent of -1e-300 give messages of
 * less than 1 KiB that still name what was wrong. */
static void test_bounded_messages(void) {
    fixture f = make_fixture("bounded.db");
    const size_t len = (size_t)10 << 20;
    char *huge;
    sendense_error *err = NULL;
    if (db == NULL || f.job == NULL) {
        free_fixture(&f);
        return;
    }
    huge = malloc(len + 1);
    if (CHECK(huge != NULL)) {
        memset(huge, 'x', len);
        huge[len] = '\0';
        CHECK(sendense_replication_set_status(db, f.job, huge, NULL, &err) == SENDENSE_STATUS_INVALID_ARGUMENT);
        CHECK(strlen(sendense_error_message(err)) < 1024);
        CHECK_CONTAINS(sendense_error_message(err), "is not a valid replication job status");
        CHECK(sendense_context_get_json(db, huge, &(char *){NULL}, &err) == SENDENSE_STATUS_NOT_FOUND);
        CHECK(strlen(sendense_error_message(err)) < 1024);
        CHECK_CONTAINS(sendense_error_message(err), "does not exist");
        sendense_error_free(err);
        free(huge);
    }
    REFUSED(sendense_replication_progress(db, f.job, -1e-300, 1, 10, 1, NULL, errp), INVALID_ARGUMENT,
            "percent -1e-300 is outside 0-100");
    free_fixture(&f);
}

static void test_forbidden_transitions(void) {
    fixture f = make_fixture("transitions.db");
    char json[JSON_BUF];
    char *out = SENTINEL_STRING, *other, *failed = NULL;
    if (db == NULL || f.job == NULL || f.done == NULL) {
        free_fixture(&f);
        return;
    }
    /* Jobs: never backwards, terminal is final. */
    REFUSED(sendense_replication_set_status(db, f.job, "pending", NULL, errp), INVALID_STATE,
            "from replicating to pending");
    REFUSED(sendense_replication_set_status(db, f.job, "snapshotting", NULL, errp), INVALID_STATE,
            "from replicating to snapshotting");
    REFUSED(sendense_replication_set_status(db, f.done, "replicating", NULL, errp), INVALID_STATE,
            "from completed to replicating");
    REFUSED(sendense_replication_set_status(db, f.done, "failed", "late failure", errp), INVALID_STATE,
            "from completed to failed");
    /* Late reports never change a finished job. */
    REFUSED(sendense_replication_progress(db, f.done, 10.0, 1, 10, 1, "late", errp), INVALID_STATE, "completed");
    REFUSED(sendense_replication_vma_progress(db, f.done, "{\"vma_current_phase\":\"late\"}", errp), INVALID_STATE,
            "completed");
    REFUSED(sendense_replication_disk_progress(db, f.done, "disk-2000", 10.0, 1, "syncing", errp), INVALID_STATE,
            "completed");
    /* (A disk the finished job already recorded answers CONFLICT naming the recorded id.) */
    REFUSED(sendense_cbt_record(db, f.done, "disk-2000", CHANGE(99), 1, errp), CONFLICT, CHANGE(7));
    /* An active job cannot be deleted. */
    REFUSED(sendense_replication_delete(db, f.job, errp), CONFLICT, "job-active", "replicating");

    /* Contexts: edges of the machine only; replicating belongs to jobs. */
    REFUSED(sendense_context_set_status(db, f.done_ctx, "completed", errp), INVALID_STATE,
            "from ready_for_failover to completed");
    REFUSED(sendense_context_set_status(db, f.done_ctx, "discovered", errp), INVALID_STATE,
            "from ready_for_failover to discovered");
    REFUSED(sendense_context_set_status(db, f.done_ctx, "replicating", errp), INVALID_STATE,
            "from ready_for_failover to replicating");
    REFUSED(sendense_context_set_status(db, f.ctx, "ready_for_failover", errp), INVALID_STATE,
            "from replicating to ready_for_failover");
    REFUSED(sendense_context_set_status(db, f.ctx, "failed", errp), INVALID_STATE, "from replicating to failed");
    {
        static const char *const steps[] = {"validating",       "snapshotting", "creating_vm",
                                            "switching_volume", "powering_on",  "completed"};
        sendense_error *err = NULL;
        char *fo = NULL;
        char fjson[256];
        size_t k;
        int walked;
        REFUSED(sendense_context_set_status(db, f.done_ctx, "failed_over_live", errp), INVALID_STATE,
                "belongs to failovers");
        snprintf(fjson, sizeof fjson, "{\"context_id\":\"%s\",\"job_type\":\"live\"}", f.done_ctx);
        walked = OK(sendense_failover_start(db, fjson, &fo, &err), err);
        for (k = 0; walked && k < sizeof steps / sizeof steps[0]; k++) {
            walked = OK(sendense_failover_set_status(db, fo, steps[k], NULL, &err), err);
        }
        if (walked) {
            /* No replication over a live failover. */
            REFUSED(sendense_replication_start(db, start_json(json, f.done_ctx, NULL, NULL), &out, errp), INVALID_STATE,
                    "failed_over_live", "replicating");
            REFUSED(sendense_context_set_status(db, f.done_ctx, "failed_over_test", errp), INVALID_STATE,
                    "from failed_over_live to failed_over_test");
            REFUSED(sendense_context_set_status(db, f.done_ctx, "completed", errp), INVALID_STATE, "failover_commit");
            OK(sendense_failover_commit(db, fo, &err), err);
            REFUSED(sendense_context_set_status(db, f.done_ctx, "ready_for_failover", errp), INVALID_STATE,
                    "from completed to ready_for_failover", "none");
        }
        sendense_string_free(fo);
    }
    /* An incremental needs a recorded change id. */
    other = add_context("vm-fresh", "vm-403", "vc1");
    if (other != NULL) {
        REFUSED(sendense_replication_start(db, start_json(json, other, NULL, "incremental"), &out, errp), INVALID_STATE,
                "change id");
        /* Change ids are recorded only while the job runs. */
        failed = start(other, NULL, "initial");
        if (set_job(failed, "failed", "copy error")) {
            REFUSED(sendense_cbt_record(db, failed, "disk-2000", CHANGE(1), 1, errp), INVALID_STATE, "failed");
        }
    }
    CHECK(out == SENTINEL_STRING);
    sendense_string_free(other);
    sendense_string_free(failed);
    free_fixture(&f);
}

static void test_conflicts_and_duplicates(void) {
    fixture f = make_fixture("conflicts.db");
    char json[JSON_BUF], needle[256];
    char *out = SENTINEL_STRING, *job = NULL;
    sendense_error *err = NULL;
    if (db == NULL || f.job == NULL || f.done == NULL) {
        free_fixture(&f);
        return;
    }
    /* A second start while a job is active, with any id. */
    REFUSED(sendense_replication_start(db, start_json(json, f.ctx, NULL, NULL), &out, errp), CONFLICT, "job-active");
    REFUSED(sendense_replication_start(db, start_json(json, f.ctx, "job-second", "initial"), &out, errp), CONFLICT,
            "job-active");
    /* A taken job id, on another context. */
    REFUSED(sendense_replication_start(db, start_json(json, f.done_ctx, "job-active", NULL), &out, errp),
            ALREADY_EXISTS, "job-active");
    /* Duplicate context identity, and a duplicate name on the same vCenter; both name the id. */
    REFUSED(sendense_context_create(db, context_json(json, "another-name", "vm-401", "vc1"), &out, errp),
            ALREADY_EXISTS, f.ctx, "vm-401");
    REFUSED(sendense_context_create(db, context_json(json, "vm-active", "vm-499", "vc1"), &out, errp), ALREADY_EXISTS,
            f.ctx, "vm-active");
    snprintf(needle, sizeof needle, "context %s", f.done_ctx);
    REFUSED(sendense_context_update(db, f.ctx, "{\"vm_name\":\"vm-done\"}", &out, errp), ALREADY_EXISTS, needle);
    /* The same VM id on another vCenter is another VM. */
    if (OK(sendense_context_create(db, context_json(json, "vm-active", "vm-401", "vc9"), &out, &err), err)) {
        sendense_string_free(out);
        out = SENTINEL_STRING;
    }
    /* A different change id for a disk already recorded in the job. */
    if (OK(sendense_cbt_record(db, f.job, "disk-2000", CHANGE(30), 1, &err), err)) {
        REFUSED(sendense_cbt_record(db, f.job, "disk-2000", CHANGE(31), 1, errp), CONFLICT, CHANGE(30));
    }
    /* A second start after the job ended is fine. */
    if (set_job(f.job, "completed", NULL)) {
        job = start(f.ctx, NULL, NULL);
        CHECK(job != NULL);
    }
    CHECK(out == SENTINEL_STRING);
    sendense_string_free(job);
    free_fixture(&f);
}

static void test_ranges(void) {
    fixture f = make_fixture("ranges.db");
    char *out = SENTINEL_STRING;
    if (db == NULL || f.job == NULL) {
        free_fixture(&f);
        return;
    }
    REFUSED(sendense_replication_progress(db, f.job, 100.5, 1, 10, 1, NULL, errp), INVALID_ARGUMENT,
            "percent 100.5 is outside 0-100");
    REFUSED(sendense_replication_progress(db, f.job, -0.5, 1, 10, 1, NULL, errp), INVALID_ARGUMENT, "percent",
            "0-100");
    REFUSED(sendense_replication_progress(db, f.job, NAN, 1, 10, 1, NULL, errp), INVALID_ARGUMENT, "percent NaN");
    REFUSED(sendense_replication_progress(db, f.job, INFINITY, 1, 10, 1, NULL, errp), INVALID_ARGUMENT, "percent");
    REFUSED(sendense_replication_progress(db, f.job, 50.0, 11, 10, 1, NULL, errp), INVALID_ARGUMENT,
            "bytes_transferred 11 exceeds total_bytes 10");
    REFUSED(sendense_replication_progress(db, f.job, 50.0, -1, 10, 1, NULL, errp), INVALID_ARGUMENT,
            "bytes_transferred is negative");
    REFUSED(sendense_replication_progress(db, f.job, 50.0, 1, -10, 1, NULL, errp), INVALID_ARGUMENT,
            "total_bytes is negative");
    REFUSED(sendense_replication_progress(db, f.job, 50.0, 1, 10, -1, NULL, errp), INVALID_ARGUMENT,
            "speed_bps is negative");
    REFUSED(sendense_replication_disk_progress(db, f.job, "disk-2000", 101.0, 1, NULL, errp), INVALID_ARGUMENT,
            "percent 101 is outside 0-100");
    REFUSED(sendense_replication_disk_progress(db, f.job, "disk-2000", NAN, 1, NULL, errp), INVALID_ARGUMENT,
            "percent NaN");
    REFUSED(sendense_replication_disk_progress(db, f.job, "disk-2000", 10.0, -1, NULL, errp), INVALID_ARGUMENT,
            "bytes_synced is negative");
    REFUSED(sendense_replication_disk_progress(db, f.job, "2000", 10.0, 1, NULL, errp), INVALID_ARGUMENT, "\"2000\"",
            "disk-<VMware device key>");
    REFUSED(sendense_replication_vma_progress(db, f.job, "{\"vma_throughput_mbps\":-1}", errp), INVALID_ARGUMENT,
            "vma_throughput_mbps");
    /* Change ids. */
    REFUSED(sendense_cbt_record(db, f.job, "disk-2000", "not-a-change-id", 1, errp), INVALID_ARGUMENT,
            "change id \"not-a-change-id\" is invalid");
    REFUSED(sendense_cbt_record(db, f.job, "disk-2000", "*", 1, errp), INVALID_ARGUMENT, "no base");
    REFUSED(sendense_cbt_record(db, f.job, "disk-2000", "", 1, errp), INVALID_ARGUMENT, "change id");
    REFUSED(sendense_cbt_record(db, f.job, "disk-2000", EPOCH "/x1", 1, errp), INVALID_ARGUMENT, "sequence");
    REFUSED(sendense_cbt_record(db, f.job, "disk-2000", CHANGE(9), -1, errp), INVALID_ARGUMENT,
            "bytes_transferred is negative");
    REFUSED(sendense_cbt_record(db, f.job, "2000", CHANGE(9), 1, errp), INVALID_ARGUMENT, "disk-<VMware device key>");
    REFUSED(sendense_cbt_decide(db, f.ctx, "disk-2000", "garbage", false, &out, errp), INVALID_ARGUMENT,
            "snapshot's change id", "garbage");
    REFUSED(sendense_cbt_decide(db, f.ctx, "disk-2000", "*", false, &out, errp), INVALID_ARGUMENT, "change id");
    REFUSED(sendense_cbt_decide(db, f.ctx, "disk_2000", CHANGE(9), false, &out, errp), INVALID_ARGUMENT, "disk_2000");
    REFUSED(sendense_cbt_history_json(db, f.ctx, "disk2000", &out, errp), INVALID_ARGUMENT, "disk2000");
    CHECK(out == SENTINEL_STRING);
    free_fixture(&f);
}

/* A job start naming rows that do not exist must say which one, like a context create does
 * for its credential and ossea config. */
static void test_missing_references(void) {
    fixture f = make_fixture("references.db");
    char json[JSON_BUF];
    char *out = SENTINEL_STRING;
    static const char *const cases[][2] = {
        {"\"ossea_config_id\":999,", "999"},
        {"\"schedule_execution_id\":\"exec-missing\",", "exec-missing"},
        {"\"vm_group_id\":\"group-missing\",", "group-missing"},
    };
    size_t i;
    if (db == NULL || f.done_ctx == NULL) {
        free_fixture(&f);
        return;
    }
    REFUSED(sendense_context_create(db, "{\"vm_name\":\"n\",\"vmware_vm_id\":\"vm-9\",\"vm_path\":\"/p\",\"vcenter_host\":"
                                        "\"vc1\",\"datacenter\":\"DC1\",\"credential_id\":999}",
                                    &out, errp),
            NOT_FOUND, "credential 999");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(json, sizeof json,
                 "{\"context_id\":\"%s\",%s\"disks\":[{\"disk_id\":\"disk-2000\",\"vm_dk_path\":\"[ds] a.vmdk\","
                 "\"size_gb\":1}]}",
                 f.done_ctx, cases[i][0]);
        REFUSED(sendense_replication_start(db, json, &out, errp), NOT_FOUND, cases[i][1]);
    }
    snprintf(json, sizeof json,
             "{\"context_id\":\"%s\",\"disks\":[{\"disk_id\":\"disk-2000\",\"vm_dk_path\":\"[ds] a.vmdk\",\"size_gb\":1,"
             "\"ossea_volume_id\":777}]}",
             f.done_ctx);
    REFUSED(sendense_replication_start(db, json, &out, errp), NOT_FOUND, "777");
    CHECK(out == SENTINEL_STRING);
    free_fixture(&f);
}

/* Text that C cannot carry: a NUL byte sent inside JSON. The library must refuse it as an
 * identity, or else it stores a context that sendense_context_find_json can never find and
 * sendense_context_get cannot snapshot. */
static void test_nul_bytes_in_json(void) {
    char *out1 = SENTINEL_STRING, *out2 = SENTINEL_STRING;
    db = open_fresh("nul.db");
    if (db == NULL) {
        return;
    }
    REFUSED(sendense_context_create(db,
                                    "{\"vm_name\":\"vm\\u0000x\",\"vmware_vm_id\":\"vm-1\",\"vm_path\":\"/p\","
                                    "\"vcenter_host\":\"vc1\",\"datacenter\":\"DC1\"}",
                                    &out1, errp),
            INVALID_ARGUMENT, "vm_name");
    REFUSED(sendense_context_create(db,
                                    "{\"vm_name\":\"vm\",\"vmware_vm_id\":\"vm-1\\u0000\",\"vm_path\":\"/p\","
                                    "\"vcenter_host\":\"vc1\",\"datacenter\":\"DC1\"}",
                                    &out2, errp),
            INVALID_ARGUMENT, "vmware_vm_id");
    /* (Freed only if the library wrongly created the contexts, so that no leak adds noise.) */
    if (out1 != SENTINEL_STRING) {
        sendense_string_free(out1);
    }
    if (out2 != SENTINEL_STRING) {
        sendense_string_free(out2);
    }
    sendense_store_free(db);
    db = NULL;
}

/* ---- threads -------------------------------------------------------------------------- */

#define THREADS 4
#define THREAD_UPDATES 60
#define RACERS 6

typedef struct {
    const char *job;
    int index;
} progress_arg;

static void *progress_thread(void *p) {
    const progress_arg *arg = p;
    sendense_error *err = NULL;
    char *json = NULL;
    int i;
    for (i = 1; i <= THREAD_UPDATES; i++) {
        double percent = 100.0 * i / THREAD_UPDATES;
        OK(sendense_replication_progress(db, arg->job, percent, (int64_t)i * 1000, (int64_t)THREAD_UPDATES * 1000,
                                         1000 + arg->index, i % 10 == 0 ? "copying" : NULL, &err),
           err);
        OK(sendense_replication_disk_progress(db, arg->job, i % 2 ? "disk-2000" : "disk-2001", percent, (int64_t)i * 500,
                                              "syncing", &err),
           err);
        if (i % 10 == 0) {
            EXPECT_FAIL(sendense_replication_progress(db, arg->job, 101.0, 0, 0, 0, NULL, errp), INVALID_ARGUMENT,
                        "percent");
            if (OK(sendense_replication_get_json(db, arg->job, &json, &err), err)) {
                CHECK_CONTAINS(json, "\"status\":\"replicating\"");
                sendense_string_free(json);
            }
        }
    }
    return NULL;
}

typedef struct {
    const char *context_id;
    pthread_barrier_t *barrier;
    sendense_status status;
    char *job;
} racer_arg;

static void *racer_thread(void *p) {
    racer_arg *arg = p;
    char json[JSON_BUF];
    sendense_error *err = NULL;
    start_json(json, arg->context_id, NULL, NULL);
    pthread_barrier_wait(arg->barrier);
    arg->job = NULL;
    arg->status = sendense_replication_start(db, json, &arg->job, &err);
    if (arg->status != SENDENSE_STATUS_OK) {
        CHECK_STATUS(arg->status, CONFLICT, err);
        CHECK_CONTAINS(sendense_error_message(err), "already has an active replication job");
    }
    sendense_error_free(err);
    return NULL;
}

static void test_threads(void) {
    char *contexts[THREADS], *jobs[THREADS], *json = NULL, name[32], vm[32], want[128];
    pthread_t threads[RACERS];
    progress_arg args[THREADS];
    racer_arg racers[RACERS];
    pthread_barrier_t barrier;
    int started[RACERS], i, winners = 0;
    char *race_ctx;
    sendense_error *err = NULL;

    db = open_fresh("threads.db");
    if (db == NULL) {
        return;
    }
    for (i = 0; i < THREADS; i++) {
        snprintf(name, sizeof name, "vm-thread-%d", i);
        snprintf(vm, sizeof vm, "vm-50%d", i);
        contexts[i] = add_context(name, vm, "vc1");
        jobs[i] = start(contexts[i], NULL, "initial");
        set_job(jobs[i], "replicating", NULL);
    }
    for (i = 0; i < THREADS; i++) {
        args[i].job = jobs[i];
        args[i].index = i;
        started[i] = jobs[i] != NULL && CHECK(pthread_create(&threads[i], NULL, progress_thread, &args[i]) == 0);
    }
    for (i = 0; i < THREADS; i++) {
        if (started[i]) {
            CHECK(pthread_join(threads[i], NULL) == 0);
        }
    }
    for (i = 0; i < THREADS; i++) {
        snprintf(want, sizeof want, "\"transfer_speed_bps\":%d", 1000 + i);
        JOB_HAS(jobs[i], "\"progress_percent\":100.0", "\"bytes_transferred\":60000", "\"total_bytes\":60000", want,
                "\"current_operation\":\"copying\"");
        if (jobs[i] != NULL && OK(sendense_replication_disks_json(db, contexts[i], &json, &err), err)) {
            CHECK_CONTAINS(json, "\"sync_progress_percent\":100.0,\"bytes_synced\":30000");
            sendense_string_free(json);
        }
    }

    /* Racing starts on one context: exactly one wins, the others are CONFLICT. */
    race_ctx = add_context("vm-race", "vm-600", "vc1");
    if (race_ctx != NULL && CHECK(pthread_barrier_init(&barrier, NULL, RACERS) == 0)) {
        for (i = 0; i < RACERS; i++) {
            racers[i].context_id = race_ctx;
            racers[i].barrier = &barrier;
            racers[i].job = NULL;
            started[i] = CHECK(pthread_create(&threads[i], NULL, racer_thread, &racers[i]) == 0);
        }
        for (i = 0; i < RACERS; i++) {
            if (started[i]) {
                CHECK(pthread_join(threads[i], NULL) == 0);
                if (racers[i].status == SENDENSE_STATUS_OK) {
                    winners++;
                    CONTEXT_HAS(race_ctx, "\"total_jobs_run\":1", "\"current_status\":\"replicating\"");
                    sendense_string_free(racers[i].job);
                }
            }
        }
        CHECK(winners == 1);
        pthread_barrier_destroy(&barrier);
    }

    for (i = 0; i < THREADS; i++) {
        sendense_string_free(contexts[i]);
        sendense_string_free(jobs[i]);
    }
    sendense_string_free(race_ctx);
    sendense_store_free(db);
    db = NULL;
}

static void run_group(const char *name, void (*group)(void)) {
    unsigned long failures_before = check_failures();
    group();
    check_group_end(name, failures_before);
}

int main(int argc, char **argv) {
    struct stat st;
    if (argc != 2 || stat(argv[1], &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "usage: %s TMPDIR (an existing writable directory)\n", argc > 0 ? argv[0] : "replication_abi");
        return 2;
    }
    tmpdir = argv[1];

    run_group("lifecycle", test_lifecycle);
    run_group("typed snapshots", test_typed_snapshots);
    run_group("lists and stale jobs", test_lists);
    run_group("NULL arguments", test_null_arguments);
    run_group("invalid UTF-8", test_invalid_utf8);
    run_group("bad JSON", test_bad_json);
    run_group("unknown ids", test_unknown_ids);
    run_group("invalid status strings", test_invalid_status_strings);
    run_group("bounded messages", test_bounded_messages);
    run_group("forbidden transitions", test_forbidden_transitions);
    run_group("conflicts and duplicates", test_conflicts_and_duplicates);
    run_group("ranges and change ids", test_ranges);
    run_group("missing references in a start", test_missing_references);
    run_group("NUL bytes in JSON text", test_nul_bytes_in_json);
    run_group("threads", test_threads);
    return check_summary();
}
