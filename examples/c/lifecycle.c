/*
 * The replication lifecycle of libsendense, from C.
 *
 * Adds two VMs with two disks each, runs an initial replication of each with progress
 * updates, records the disks' VMware change ids, decides and runs an incremental, shows the
 * CBT lineage, fails a job and deletes it, and prints the contexts with their counters.
 *
 * Build and run by hand, from the crate directory:
 *
 *     cargo build --release
 *     cc -std=c99 -Wall -Wextra -Iinclude examples/c/lifecycle.c target/release/libsendense.a \
 *        -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o lifecycle
 *     ./lifecycle /tmp/lifecycle.db        (the path of a database file that does not exist yet)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sendense.h"

/* The CBT epoch (uuid part of the change ids) of each disk. */
#define WEB_2000 "52 3c 1a 9e 6f 0b 4d 2a-8f 11 22 33 44 55 66 77"
#define WEB_2001 "52 8e 40 11 2c 6a 47 09-b3 21 98 76 54 32 10 fe"
#define DB_2000 "52 77 0c 5a 11 de 4b 3f-90 aa bb cc dd ee ff 00"
#define DB_2001 "52 61 2f 8d 03 45 4e 1c-a7 10 20 30 40 50 60 70"

static sendense_store *store;

/* Stop on any error, printing the library's message ("STATUS: what went wrong"). */
static void check(sendense_status status, sendense_error **err, const char *what) {
    if (status != SENDENSE_STATUS_OK) {
        fprintf(stderr, "%s failed: %s\n", what, sendense_error_message(*err));
        sendense_error_free(*err);
        sendense_store_free(store);
        exit(1);
    }
}

/* Copy the string value of "key" from the JSON object starting at `object` into `out`
 * ("null" for a null value). Just enough for the flat records printed here. */
static void json_field(const char *object, const char *key, char *out, size_t size) {
    char pattern[64];
    const char *p, *end;
    size_t n;
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    p = strstr(object, pattern);
    if (p == NULL || strncmp(p + strlen(pattern), "null", 4) == 0) {
        snprintf(out, size, "null");
        return;
    }
    p += strlen(pattern) + 1; /* skip the opening quote */
    end = strchr(p, '"');
    n = end != NULL && (size_t)(end - p) < size ? (size_t)(end - p) : 0;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* A VM known to the appliance: its context id once added. */
typedef struct {
    const char *name;
    const char *vmware_vm_id;
    char *context_id;
} vm;

static void add_vm(vm *v) {
    char json[512];
    sendense_error *err = NULL;
    snprintf(json, sizeof json,
             "{\"vm_name\":\"%s\",\"vmware_vm_id\":\"%s\",\"vm_path\":\"/DC1/vm/%s\","
             "\"vcenter_host\":\"vcenter.example.com\",\"datacenter\":\"DC1\",\"cpu_count\":4,\"memory_mb\":8192}",
             v->name, v->vmware_vm_id, v->name);
    check(sendense_context_create(store, json, &v->context_id, &err), &err, "adding a VM");
    printf("added VM %s: context %s\n", v->name, v->context_id);
}

/* The JSON that starts a job on the VM's two disks; `type` is "initial", "incremental" or
 * "auto" (incremental when the disks have recorded change ids). */
static void start_json(char *json, size_t size, const vm *v, const char *type) {
    snprintf(json, size,
             "{\"context_id\":\"%s\",\"replication_type\":\"%s\",\"disks\":["
             "{\"disk_id\":\"disk-2000\",\"vm_dk_path\":\"[ds1] %s/%s.vmdk\",\"size_gb\":40},"
             "{\"disk_id\":\"disk-2001\",\"vm_dk_path\":\"[ds1] %s/%s_1.vmdk\",\"size_gb\":100}]}",
             v->context_id, type, v->name, v->name, v->name, v->name);
}

/* Start a job; returns its id (free with sendense_string_free). */
static char *start_job(const vm *v, const char *type) {
    char json[512], *job_id = NULL;
    sendense_error *err = NULL;
    start_json(json, sizeof json, v, type);
    check(sendense_replication_start(store, json, &job_id, &err), &err, "starting a job");
    printf("%s: %s job %s started\n", v->name, type, job_id);
    return job_id;
}

static void set_status(const char *job_id, const char *status, const char *error_message) {
    sendense_error *err = NULL;
    check(sendense_replication_set_status(store, job_id, status, error_message, &err), &err, status);
}

/* Copy the two disks with progress reports, as a data mover would, and record the change id
 * of each disk's snapshot once its copy succeeded. */
static void copy_disks(const char *job_id, const char *change_2000, const char *change_2001) {
    const long long total = 4LL << 30; /* 4 GiB of changed or used blocks */
    sendense_error *err = NULL;
    int percent;
    set_status(job_id, "snapshotting", NULL);
    set_status(job_id, "replicating", NULL);
    for (percent = 25; percent <= 100; percent += 25) {
        long long done = total / 100 * percent;
        check(sendense_replication_progress(store, job_id, percent, done, total, 350LL << 20, "copying blocks", &err),
              &err, "progress");
        check(sendense_replication_disk_progress(store, job_id, "disk-2000", percent, done / 2,
                                                 percent < 100 ? "syncing" : "completed", &err),
              &err, "disk progress");
        check(sendense_replication_disk_progress(store, job_id, "disk-2001", percent, done / 2,
                                                 percent < 100 ? "syncing" : "completed", &err),
              &err, "disk progress");
        printf("  progress %d%%\n", percent);
    }
    check(sendense_cbt_record(store, job_id, "disk-2000", change_2000, total / 2, &err), &err, "recording disk-2000");
    check(sendense_cbt_record(store, job_id, "disk-2001", change_2001, total / 2, &err), &err, "recording disk-2001");
    printf("  recorded change ids %s and %s\n", change_2000, change_2001);
}

/* What the next copy of a disk must be, given the change id of the new snapshot. */
static void decide(const vm *v, const char *disk_id, const char *snapshot_change_id) {
    char *decision = NULL;
    sendense_error *err = NULL;
    check(sendense_cbt_decide(store, v->context_id, disk_id, snapshot_change_id, false, &decision, &err), &err,
          "CBT decision");
    printf("%s %s: %s\n", v->name, disk_id, decision);
    sendense_string_free(decision);
}

/* Print a context's CBT history as chains of change ids, then the lineage check. */
static void show_lineage(const vm *v) {
    char *history = NULL, *report = NULL;
    char disk[32], type[32], change[128], previous[128];
    const char *entry;
    sendense_error *err = NULL;
    check(sendense_cbt_history_json(store, v->context_id, NULL, &history, &err), &err, "CBT history");
    printf("CBT lineage of %s:\n", v->name);
    for (entry = strstr(history, "{\"id\":"); entry != NULL; entry = strstr(entry + 1, "{\"id\":")) {
        json_field(entry, "disk_id", disk, sizeof disk);
        json_field(entry, "sync_type", type, sizeof type);
        json_field(entry, "change_id", change, sizeof change);
        json_field(entry, "previous_change_id", previous, sizeof previous);
        printf("  %s %-11s %s <- %s\n", disk, type, change, strcmp(previous, "null") ? previous : "(no base)");
    }
    sendense_string_free(history);
    check(sendense_cbt_verify_lineage(store, v->context_id, &report, &err), &err, "lineage check");
    printf("  lineage check: %s\n", report);
    sendense_string_free(report);
}

/* Print a context through its typed snapshot. */
static void show_context(const vm *v) {
    sendense_context *c = NULL;
    sendense_error *err = NULL;
    const char *last_good;
    check(sendense_context_get(store, v->context_id, &c, &err), &err, "reading a context");
    last_good = sendense_context_last_successful_job_id(c);
    printf("  %-7s %-19s jobs %lld (%lld completed, %lld failed), last good job %s\n", sendense_context_vm_name(c),
           sendense_context_status(c), (long long)sendense_context_total_jobs_run(c),
           (long long)sendense_context_successful_jobs(c), (long long)sendense_context_failed_jobs(c),
           last_good != NULL ? last_good : "none");
    sendense_context_free(c);
}

int main(int argc, char **argv) {
    vm web = {"web-01", "vm-1001", NULL};
    vm db = {"db-01", "vm-1002", NULL};
    char *job = NULL, *second = NULL, json[512];
    sendense_error *err = NULL;
    struct stat st;
    uint32_t version = 0;

    if (argc != 2 || stat(argv[1], &st) == 0) {
        fprintf(stderr, "usage: %s NEW_DATABASE_PATH (a file that does not exist yet)\n", argc > 0 ? argv[0] : "lifecycle");
        return 2;
    }
    if (sendense_abi_version() != SENDENSE_ABI_VERSION) {
        fprintf(stderr, "libsendense has ABI %u, the header ABI %u\n", sendense_abi_version(), SENDENSE_ABI_VERSION);
        return 1;
    }
    check(sendense_store_open(argv[1], NULL, &store, &err), &err, "opening the database");
    check(sendense_store_schema_version(store, &version, &err), &err, "reading the schema version");
    printf("opened %s (libsendense %s, schema version %u)\n", argv[1], sendense_version(), version);

    /* Two VMs with two disks each, and an initial replication of each. */
    add_vm(&web);
    add_vm(&db);
    job = start_job(&web, "initial");
    copy_disks(job, WEB_2000 "/10", WEB_2001 "/4");
    set_status(job, "completed", NULL);
    printf("%s: job completed\n", web.name);
    sendense_string_free(job);

    job = start_job(&db, "initial");
    copy_disks(job, DB_2000 "/7", DB_2001 "/2");
    set_status(job, "completed", NULL);
    printf("%s: job completed\n", db.name);
    sendense_string_free(job);

    /* The next snapshot of web-01: decide per disk, run the incremental, show the lineage. */
    decide(&web, "disk-2000", WEB_2000 "/25");
    decide(&web, "disk-2001", WEB_2001 "/9");
    job = start_job(&web, "incremental");
    copy_disks(job, WEB_2000 "/25", WEB_2001 "/9");
    set_status(job, "completed", NULL);
    printf("%s: job completed\n", web.name);
    sendense_string_free(job);
    show_lineage(&web);

    /* An incremental of db-01 ("auto" resolves to incremental: its disks have change ids).
     * While it runs, a second start is refused; then it fails. */
    job = start_job(&db, "auto");
    start_json(json, sizeof json, &db, "initial");
    if (sendense_replication_start(store, json, &second, &err) != SENDENSE_STATUS_OK) {
        printf("%s: a second start is refused: %s\n", db.name, sendense_error_message(err));
        sendense_error_free(err);
        err = NULL;
    }
    set_status(job, "replicating", NULL);
    check(sendense_replication_progress(store, job, 12.5, 1 << 20, 8 << 20, 1 << 20, "copying blocks", &err), &err,
          "progress");
    set_status(job, "failed", "VMA lost the snapshot");
    printf("%s: job %s failed: VMA lost the snapshot\n", db.name, job);
    printf("contexts:\n");
    show_context(&web);
    show_context(&db);

    /* The operator cleans up after the failure and deletes the failed job: the counters follow. */
    check(sendense_context_set_status(store, db.context_id, "cleanup_required", &err), &err, "cleanup_required");
    check(sendense_context_set_status(store, db.context_id, "ready_for_failover", &err), &err, "ready_for_failover");
    check(sendense_replication_delete(store, job, &err), &err, "deleting a job");
    printf("%s: cleaned up and deleted job %s\n", db.name, job);
    sendense_string_free(job);
    printf("contexts:\n");
    show_context(&web);
    show_context(&db);

    sendense_string_free(web.context_id);
    sendense_string_free(db.context_id);
    sendense_store_free(store);
    return 0;
}
