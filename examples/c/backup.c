/*
 * The backup lifecycle of libsendense, from C.
 *
 * Adds a VM with two disks, a local repository and an S3 repository, and a policy writing to
 * the first with a copy rule to the second and a retention rule (keep the last 2 points of
 * each chain). Backs the VM up four times (a full, then three incrementals; the two per-disk
 * points of one VM backup share a group id), prints the chains and the restore chain of the
 * newest point, tries to delete a point that others build on (the library refuses and says
 * why), backs up a new generation (a full and two incrementals), prints the retention plan
 * with the reason for each point it keeps, applies it, and claims a copy as a copy worker
 * would.
 *
 * Build and run by hand, from the crate directory:
 *
 *     cargo build --release
 *     cc -std=c99 -Wall -Wextra -Iinclude examples/c/backup.c target/release/libsendense.a \
 *        -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o backup
 *     ./backup /tmp/backup.db        (the path of a database file that does not exist yet)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sendense.h"

/* The CBT epoch (uuid part of the change ids) of each disk. */
static const char *const EPOCH[2] = {"52 3c 1a 9e 6f 0b 4d 2a-8f 11 22 33 44 55 66 77",
                                     "52 8e 40 11 2c 6a 47 09-b3 21 98 76 54 32 10 fe"};

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

/* Copy the value of "key" in the JSON object starting at `object` into `out`: the text of a
 * string without its quotes, or a number, true, false or null as written. Just enough for the
 * flat records printed here (no escapes, no nested objects before the key). */
static void json_field(const char *object, const char *key, char *out, size_t size) {
    char pattern[64];
    const char *p;
    size_t n;
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    p = strstr(object, pattern);
    if (p == NULL) {
        snprintf(out, size, "?");
        return;
    }
    p += strlen(pattern);
    if (*p == '"') {
        p++;
        n = strcspn(p, "\"");
    } else {
        n = strcspn(p, ",}]");
    }
    if (n >= size) {
        n = size - 1;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

/* Copy the array value of "key" in the JSON object `object`, brackets included, into `out`
 * (no nested arrays). */
static void json_array(const char *object, const char *key, char *out, size_t size) {
    char pattern[64];
    const char *p;
    size_t n;
    snprintf(pattern, sizeof pattern, "\"%s\":[", key);
    p = strstr(object, pattern);
    if (p == NULL) {
        snprintf(out, size, "?");
        return;
    }
    p += strlen(pattern) - 1;
    n = strcspn(p, "]") + 1;
    if (n >= size) {
        n = size - 1;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

/* The next object of a JSON array of flat records whose first key is "id", or NULL. */
static const char *next_record(const char *from) {
    return strstr(from, "{\"id\":");
}

/* Create a record with `create` from `json`; returns its id (free with sendense_string_free). */
static char *create(sendense_status (*fn)(sendense_store *, const char *, char **, sendense_error **),
                    const char *json, const char *what) {
    char *id = NULL;
    sendense_error *err = NULL;
    check(fn(store, json, &id, &err), &err, what);
    return id;
}

/* One point of one disk: start (the library finds the parent of an incremental), run,
 * complete with the change id of its snapshot. Returns its id. */
static char *back_up_disk(const char *context_id, int disk, const char *repository_id, const char *policy_id,
                          const char *type, const char *group, int sequence) {
    char json[1024], change_id[128], *id;
    long long size = strcmp(type, "full") == 0 ? 40LL << 30 : 2LL << 30;
    sendense_error *err = NULL;
    snprintf(json, sizeof json,
             "{\"context_id\":\"%s\",\"disk_id\":%d,\"repository_id\":\"%s\",\"policy_id\":\"%s\","
             "\"backup_type\":\"%s\",\"backup_group_id\":\"%s\","
             "\"repository_path\":\"/srv/backups/web-01/disk-%d/%s.qcow2\"}",
             context_id, disk, repository_id, policy_id, type, group, disk, group);
    id = create(sendense_backup_start, json, "starting a backup");
    check(sendense_backup_set_running(store, id, &err), &err, "marking a backup running");
    snprintf(change_id, sizeof change_id, "%s/%d", EPOCH[disk], sequence);
    check(sendense_backup_complete(store, id, change_id, size, size, &err), &err, "completing a backup");
    return id;
}

/* Print the chains of a context: one per disk and repository. */
static void show_chains(const char *context_id) {
    char *chains = NULL, disk[16], total[32], size[32], full[64], latest[64];
    const char *c;
    sendense_error *err = NULL;
    check(sendense_chain_list_json(store, context_id, &chains, &err), &err, "listing chains");
    for (c = next_record(chains); c != NULL; c = next_record(c + 1)) {
        json_field(c, "disk_id", disk, sizeof disk);
        json_field(c, "total_backups", total, sizeof total);
        json_field(c, "total_size_bytes", size, sizeof size);
        json_field(c, "full_backup_id", full, sizeof full);
        json_field(c, "latest_backup_id", latest, sizeof latest);
        printf("  chain of disk %s: %s points, %s bytes, full %s, latest %s\n", disk, total, size, full, latest);
    }
    sendense_string_free(chains);
}

/* Plan retention for the policy now, print the plan (each kept point with its reasons, each
 * removed point), and apply it. */
static void plan_and_apply_retention(const char *policy_id) {
    char *plan = NULL, points[16], kept[16], removed[16], id[64], list[4096];
    const char *p, *end, *keep, *remove;
    sendense_error *err = NULL;
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    check(sendense_retention_plan_json(store, policy_id, now_ms, "Europe/Berlin", &plan, &err), &err,
          "planning retention");
    json_field(plan, "points", points, sizeof points);
    json_field(plan, "kept", kept, sizeof kept);
    json_field(plan, "removed", removed, sizeof removed);
    printf("retention plan: %s points, keep %s, remove %s\n", points, kept, removed);
    keep = strstr(plan, "\"keep\":[");
    remove = strstr(plan, "\"remove\":[");
    for (p = next_record(keep); p != NULL && p < remove; p = next_record(p + 1)) {
        json_field(p, "id", id, sizeof id);
        json_array(p, "reasons", list, sizeof list);
        printf("  keep   %s: %s\n", id, list);
    }
    json_array(remove, "remove", list, sizeof list);
    for (p = strchr(list, '"'); p != NULL && (end = strchr(p + 1, '"')) != NULL; p = strchr(end + 1, '"')) {
        printf("  remove %.*s\n", (int)(end - p - 1), p + 1);
    }
    /* The plan goes back as it came: the library plans again and refuses a stale plan. */
    check(sendense_retention_apply(store, plan, &err), &err, "applying retention");
    printf("retention applied: %s points removed\n", removed);
    sendense_string_free(plan);
}

/* Print what restoring a point needs, full first; returns the id of the full (free it). */
static char *show_restore_chain(const char *backup_id) {
    char *chain = NULL, *full = NULL, id[64], type[16], change[128];
    const char *p;
    sendense_error *err = NULL;
    check(sendense_backup_restore_chain_json(store, backup_id, &chain, &err), &err, "restore chain");
    printf("restore chain of %s:\n", backup_id);
    for (p = next_record(chain); p != NULL; p = next_record(p + 1)) {
        json_field(p, "id", id, sizeof id);
        json_field(p, "backup_type", type, sizeof type);
        json_field(p, "change_id", change, sizeof change);
        printf("  %-11s %s (change id %s)\n", type, id, change);
        if (full == NULL) {
            full = malloc(strlen(id) + 1);
            if (full == NULL) {
                abort();
            }
            strcpy(full, id);
        }
    }
    sendense_string_free(chain);
    return full;
}

int main(int argc, char **argv) {
    char json[1024], group[64], *context_id, *local, *offsite, *policy, *ids[7][2], *full, *copy = NULL;
    char field[3][256];
    sendense_error *err = NULL;
    sendense_status status;
    struct stat st;
    uint32_t version = 0;
    int round, disk;

    if (argc != 2 || stat(argv[1], &st) == 0) {
        fprintf(stderr, "usage: %s NEW_DATABASE_PATH (a file that does not exist yet)\n", argc > 0 ? argv[0] : "backup");
        return 2;
    }
    if (sendense_abi_version() != SENDENSE_ABI_VERSION) {
        fprintf(stderr, "libsendense has ABI %u, the header ABI %u\n", sendense_abi_version(), SENDENSE_ABI_VERSION);
        return 1;
    }
    check(sendense_store_open(argv[1], NULL, &store, &err), &err, "opening the database");
    check(sendense_store_schema_version(store, &version, &err), &err, "reading the schema version");
    printf("opened %s (libsendense %s, schema version %u)\n", argv[1], sendense_version(), version);

    /* The VM, two repositories, and a policy with a copy rule to the second repository. */
    context_id = create(sendense_context_create,
                        "{\"vm_name\":\"web-01\",\"vmware_vm_id\":\"vm-1001\",\"vm_path\":\"/DC1/vm/web-01\","
                        "\"vcenter_host\":\"vcenter.example.com\",\"datacenter\":\"DC1\"}",
                        "adding a VM");
    printf("added VM web-01: context %s\n", context_id);
    local = create(sendense_repository_create,
                   "{\"name\":\"local\",\"repository_type\":\"local\",\"config\":{\"path\":\"/srv/backups\"}}",
                   "creating a repository");
    offsite = create(sendense_repository_create,
                     "{\"name\":\"offsite\",\"repository_type\":\"s3\","
                     "\"config\":{\"region\":\"eu-central-1\",\"bucket\":\"sendense-offsite\"}}",
                     "creating a repository");
    printf("repositories: local %s, offsite %s\n", local, offsite);
    snprintf(json, sizeof json,
             "{\"name\":\"daily\",\"primary_repository_id\":\"%s\",\"retention_days\":0,\"keep_last\":2,"
             "\"copy_rules\":[{\"destination_repository_id\":\"%s\",\"priority\":1}]}",
             local, offsite);
    policy = create(sendense_policy_create, json, "creating a policy");
    {
        char *got = NULL;
        check(sendense_policy_get_json(store, policy, &got, &err), &err, "reading the policy");
        printf("policy: %s\n", got);
        sendense_string_free(got);
    }

    /* A full and three incrementals of each disk; the points of one VM backup share a group. */
    for (round = 0; round < 4; round++) {
        const char *type = round == 0 ? "full" : "incremental";
        snprintf(group, sizeof group, "web-01-backup-%d", round + 1);
        for (disk = 0; disk < 2; disk++) {
            ids[round][disk] = back_up_disk(context_id, disk, local, policy, type, group, 10 * (round + 1) + disk);
        }
        printf("%s backup %s: disk 0 %s, disk 1 %s\n", type, group, ids[round][0], ids[round][1]);
    }
    show_chains(context_id);

    /* Restoring disk 1 as of the newest backup takes its full and the three incrementals. */
    full = show_restore_chain(ids[3][1]);

    /* The full is what the incrementals build on: the library refuses to delete it, changing
     * nothing, and its message names the point that builds on it. */
    status = sendense_backup_delete(store, full, &err);
    if (status == SENDENSE_STATUS_OK) {
        fprintf(stderr, "the library deleted %s, which other points build on\n", full);
        return 1;
    }
    printf("delete %s refused with status %d: %s\n", full, (int)status, sendense_error_message(err));
    sendense_error_free(err);
    err = NULL;

    /* The next week: a new generation, a full and two incrementals. The retention plan keeps
     * the last 2 points of each chain and the full they build on, and removes the first
     * generation. */
    for (round = 4; round < 7; round++) {
        const char *type = round == 4 ? "full" : "incremental";
        snprintf(group, sizeof group, "web-01-backup-%d", round + 1);
        for (disk = 0; disk < 2; disk++) {
            ids[round][disk] = back_up_disk(context_id, disk, local, policy, type, group, 10 * (round + 1) + disk);
        }
        printf("%s backup %s: disk 0 %s, disk 1 %s\n", type, group, ids[round][0], ids[round][1]);
    }
    plan_and_apply_retention(policy);
    show_chains(context_id);

    /* The copy rule queued a copy of each completed point; a worker claims the oldest left. */
    check(sendense_copy_claim(store, "copy-worker-1", &copy, &err), &err, "claiming a copy");
    if (copy == NULL) {
        fprintf(stderr, "no copy was queued\n");
        return 1;
    }
    json_field(copy, "id", field[0], sizeof field[0]);
    json_field(copy, "source_backup_id", field[1], sizeof field[1]);
    json_field(copy, "status", field[2], sizeof field[2]);
    printf("claimed copy %s of backup %s: %s\n", field[0], field[1], field[2]);
    json_field(copy, "file_path", field[0], sizeof field[0]);
    json_field(copy, "repository_id", field[1], sizeof field[1]);
    printf("  to repository %s, file %s\n", field[1], field[0]);
    sendense_string_free(copy);

    free(full);
    for (round = 0; round < 7; round++) {
        for (disk = 0; disk < 2; disk++) {
            sendense_string_free(ids[round][disk]);
        }
    }
    sendense_string_free(policy);
    sendense_string_free(offsite);
    sendense_string_free(local);
    sendense_string_free(context_id);
    sendense_store_free(store);
    return 0;
}
