/*
 * The failover lifecycle of libsendense, from C.
 *
 * Adds a VM with two disks on two VMware networks, replicates it and attaches its two volumes
 * at the hub. Maps its first network for both failover kinds (one row per kind) and validates
 * it; a test failover is then refused, naming the network still unmapped. Maps that one too,
 * then runs a test failover through every step (the devices switch to failover mode at
 * switching_volume, in the same transaction) and rolls it back (the devices come back at their
 * hub paths at reverting). Finally a live failover, committed: the migration is final. The
 * context's status and last operation summary are printed after each.
 *
 * Build and run by hand, from the crate directory:
 *
 *     cargo build --release
 *     cc -std=c99 -Wall -Wextra -Iinclude examples/c/failover.c target/release/libsendense.a \
 *        -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o failover
 *     ./failover /tmp/failover.db        (the path of a database file that does not exist yet)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sendense.h"

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
 * string without its quotes, a flat object with its braces, or a number, true, false or null
 * as written. Just enough for the records printed here (no escapes). */
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
    } else if (*p == '{') {
        n = strcspn(p, "}") + 1;
    } else {
        n = strcspn(p, ",}]");
    }
    if (n >= size) {
        n = size - 1;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

/* Print the context's status and last operation summary (the failover area writes it). */
static void show_context(const char *context_id) {
    char *json = NULL, status[32], summary[512];
    sendense_error *err = NULL;
    check(sendense_context_get_json(store, context_id, &json, &err), &err, "reading the context");
    json_field(json, "current_status", status, sizeof status);
    json_field(json, "last_operation_summary", summary, sizeof summary);
    printf("  context: %s, last operation %s\n", status, summary);
    sendense_string_free(json);
}

/* Print the context's device mappings: their mode and hub device path. */
static void show_devices(const char *context_id) {
    char *json = NULL, uuid[64], mode[16], path[64];
    const char *p;
    sendense_error *err = NULL;
    check(sendense_device_list_json(store, context_id, &json, &err), &err, "listing the devices");
    for (p = strstr(json, "{\"id\":"); p != NULL; p = strstr(p + 1, "{\"id\":")) {
        json_field(p, "volume_uuid", uuid, sizeof uuid);
        json_field(p, "operation_mode", mode, sizeof mode);
        json_field(p, "device_path", path, sizeof path);
        printf("  device %s: %s, at %s\n", uuid, mode, path);
    }
    sendense_string_free(json);
}

/* Map a VMware network of the VM to a CloudStack network for both failover kinds, mark both
 * rows valid, and print them. */
static void map_network(const char *context_id, const char *source, const char *destination) {
    char json[512], *list = NULL, name[64], kind[16], dest[64], validation[16];
    const char *p;
    sendense_error *err = NULL;
    snprintf(json, sizeof json,
             "{\"vm_context_id\":\"%s\",\"source_network_name\":\"%s\",\"destination_network_id\":\"%s\","
             "\"destination_network_name\":\"%s\",\"mapping_type\":\"both\"}",
             context_id, source, destination, destination);
    check(sendense_network_mapping_set(store, json, &err), &err, "mapping a network");
    check(sendense_network_mapping_validate(store, context_id, source, "both", true, &err), &err, "validating");
    check(sendense_network_mapping_list_json(store, context_id, &list, &err), &err, "listing the mappings");
    for (p = strstr(list, "{\"id\":"); p != NULL; p = strstr(p + 1, "{\"id\":")) {
        json_field(p, "source_network_name", name, sizeof name);
        json_field(p, "mapping_type", kind, sizeof kind);
        json_field(p, "destination_network_name", dest, sizeof dest);
        json_field(p, "validation_status", validation, sizeof validation);
        if (strcmp(name, source) == 0) {
            printf("  network %s (%s) -> %s: %s\n", name, kind, dest, validation);
        }
    }
    sendense_string_free(list);
}

/* Start a failover of `type` ("test" or "live") and walk it through every step; the
 * CloudStack VM is recorded at creating_vm. Returns its id (free with sendense_string_free). */
static char *fail_over(const char *context_id, const char *type) {
    static const char *const STEPS[] = {"validating",       "snapshotting", "creating_vm",
                                        "switching_volume", "powering_on",  "completed"};
    char json[256], *id = NULL;
    sendense_failover_job *job = NULL;
    sendense_error *err = NULL;
    size_t i;
    snprintf(json, sizeof json, "{\"context_id\":\"%s\",\"job_type\":\"%s\"}", context_id, type);
    check(sendense_failover_start(store, json, &id, &err), &err, "starting a failover");
    printf("%s failover %s:", type, id);
    for (i = 0; i < sizeof STEPS / sizeof STEPS[0]; i++) {
        const char *results = strcmp(STEPS[i], "creating_vm") == 0 ? "{\"destination_vm_id\":\"cs-vm-web-01\"}" : NULL;
        check(sendense_failover_set_status(store, id, STEPS[i], results, &err), &err, STEPS[i]);
        printf(" %s", STEPS[i]);
    }
    check(sendense_failover_get(store, id, &job, &err), &err, "reading the failover");
    printf("\n  %s failover %s, destination VM %s\n", sendense_failover_job_type(job), sendense_failover_job_status(job),
           sendense_failover_job_destination_vm_id(job));
    sendense_failover_job_free(job);
    return id;
}

int main(int argc, char **argv) {
    static const char *const VOLUME[2] = {"6f1c0c1e-0000-4000-8000-00000000f000", "6f1c0c1e-0000-4000-8000-00000000f001"};
    static const char *const DEVICE[2] = {"/dev/vdb", "/dev/vdc"};
    char *context_id = NULL, *job_id = NULL, *failover = NULL, *mapping = NULL, json[1024], *refused = NULL;
    sendense_error *err = NULL;
    sendense_status status;
    struct stat st;
    int disk;

    if (argc != 2 || stat(argv[1], &st) == 0) {
        fprintf(stderr, "usage: %s NEW_DATABASE_PATH (a file that does not exist yet)\n", argc > 0 ? argv[0] : "failover");
        return 2;
    }
    check(sendense_store_open(argv[1], NULL, &store, &err), &err, "opening the database");
    printf("opened %s (libsendense %s)\n", argv[1], sendense_version());

    /* A VM with two disks on the networks "VM Network" and "backend" (the disks'
     * network_config: what a failover maps), replicated once. */
    check(sendense_context_create(store,
                                  "{\"vm_name\":\"web-01\",\"vmware_vm_id\":\"vm-1001\",\"vm_path\":\"/DC1/vm/web-01\","
                                  "\"vcenter_host\":\"vcenter.example.com\",\"datacenter\":\"DC1\"}",
                                  &context_id, &err),
          &err, "adding a VM");
    snprintf(json, sizeof json,
             "{\"context_id\":\"%s\",\"replication_type\":\"initial\",\"disks\":["
             "{\"disk_id\":\"disk-2000\",\"vm_dk_path\":\"[ds1] web-01/web-01.vmdk\",\"size_gb\":40,"
             "\"network_config\":[\"VM Network\",\"backend\"]},"
             "{\"disk_id\":\"disk-2001\",\"vm_dk_path\":\"[ds1] web-01/web-01_1.vmdk\",\"size_gb\":100,"
             "\"network_config\":[\"VM Network\",\"backend\"]}]}",
             context_id);
    check(sendense_replication_start(store, json, &job_id, &err), &err, "starting a job");
    check(sendense_replication_set_status(store, job_id, "replicating", NULL, &err), &err, "replicating");
    check(sendense_replication_set_status(store, job_id, "completed", NULL, &err), &err, "completing");
    printf("web-01: context %s, replication job %s completed\n", context_id, job_id);

    /* Its volumes, attached at the hub. */
    for (disk = 0; disk < 2; disk++) {
        snprintf(json, sizeof json,
                 "{\"volume_uuid\":\"%s\",\"vm_id\":\"oma-hub\",\"vm_context_id\":\"%s\",\"device_path\":\"%s\"}",
                 VOLUME[disk], context_id, DEVICE[disk]);
        check(sendense_device_attach(store, json, &mapping, &err), &err, "attaching a volume");
        sendense_string_free(mapping);
    }
    show_devices(context_id);

    /* One network mapped: a failover is refused, naming the other. */
    printf("network mappings:\n");
    map_network(context_id, "VM Network", "cs-guest-net");
    snprintf(json, sizeof json, "{\"context_id\":\"%s\",\"job_type\":\"test\"}", context_id);
    status = sendense_failover_start(store, json, &refused, &err);
    if (status != SENDENSE_STATUS_INVALID_STATE) {
        fprintf(stderr, "a failover with an unmapped network: status %d, want INVALID_STATE\n", (int)status);
        return 1;
    }
    printf("test failover refused with status %d: %s\n", (int)status, sendense_error_message(err));
    sendense_error_free(err);
    err = NULL;
    map_network(context_id, "backend", "cs-backend-net");

    /* A test failover through every step, then its rollback: the devices come back at their
     * hub paths (the JSON of the move to reverting). */
    failover = fail_over(context_id, "test");
    show_devices(context_id);
    show_context(context_id);
    check(sendense_failover_rollback(store, failover, &err), &err, "rolling back");
    snprintf(json, sizeof json, "{\"device_paths\":{\"%s\":\"%s\",\"%s\":\"%s\"}}", VOLUME[0], DEVICE[0], VOLUME[1],
             DEVICE[1]);
    check(sendense_failover_set_status(store, failover, "reverting", json, &err), &err, "reverting");
    check(sendense_failover_set_status(store, failover, "completed", NULL, &err), &err, "completing the rollback");
    printf("rolled back test failover %s\n", failover);
    show_devices(context_id);
    show_context(context_id);
    sendense_string_free(failover);

    /* The live failover, committed: the migration is final. */
    failover = fail_over(context_id, "live");
    show_devices(context_id);
    show_context(context_id);
    check(sendense_failover_commit(store, failover, &err), &err, "committing");
    printf("committed live failover %s\n", failover);
    show_context(context_id);

    sendense_string_free(failover);
    sendense_string_free(job_id);
    sendense_string_free(context_id);
    sendense_store_free(store);
    return 0;
}
