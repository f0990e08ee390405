/*
 * The targets lifecycle of libsendense, from C: where a protected VM's disks land in
 * CloudStack.
 *
 * Opens a new database with a secret key read from a key file (created next to the database
 * by sendense_secret_key_file_create when it does not exist; the key is never stored in the
 * database), adds a
 * VM with two disks and starts its initial replication, records a CloudStack configuration
 * whose API key and secret are stored sealed (its read-out carries no secrets, only the id of
 * the key that sealed them; the secrets come back only when asked for, and not at all through
 * a handle opened without the key), records a CloudStack volume per disk, moves each to
 * available and links it to its disk row, and shows that the configuration cannot be
 * deleted while the volumes use it. Then the hub side: a backup NBD port leased to the job,
 * each volume attached (a device mapping and its NBD export, in one transaction) as the
 * volume daemon's recorded operation with its status history, the typed snapshots of a
 * mapping and an export, a conflicting attach refused with the holder's name, a test
 * failover's snapshot tracked on the mapping, a mode switch of the VM's mappings to failover
 * (the exports go with it) and back to oma (with the hub device paths and the exports
 * re-created), detach, the lease released, the storage consistency check and the volume
 * daemon's metrics.
 *
 * Build and run by hand, from the crate directory:
 *
 *     cargo build --release
 *     cc -std=c99 -Wall -Wextra -Iinclude examples/c/targets.c target/release/libsendense.a \
 *        -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o targets
 *     ./targets /tmp/targets.db        (a database file that does not exist yet; the key file
 *                                       is /tmp/targets.db.key unless given as a second argument)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Expect a refusal with `want`; print it as "<what> refused with status N: <message>". */
static void expect_refusal(sendense_status status, sendense_error **err, sendense_status want, const char *what) {
    if (status != want) {
        fprintf(stderr, "%s: got status %d (%s), want %d\n", what, (int)status,
                status == SENDENSE_STATUS_OK ? "OK" : sendense_error_message(*err), (int)want);
        exit(1);
    }
    printf("%s refused with status %d: %s\n", what, (int)status, sendense_error_message(*err));
    sendense_error_free(*err);
    *err = NULL;
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

/* Create the key file `path` with a new random key unless it exists: the library writes it
 * durably (synced with its directory) with mode 0600, and never replaces an existing file. */
static void ensure_key_file(const char *path) {
    char *key_id = NULL;
    sendense_error *err = NULL;
    sendense_status status = sendense_secret_key_file_create(path, &key_id, &err);
    if (status == SENDENSE_STATUS_ALREADY_EXISTS) {
        sendense_error_free(err);
        printf("key file %s: reused\n", path);
        return;
    }
    check(status, &err, "creating the key file");
    printf("key file %s: created (key %s)\n", path, key_id);
    sendense_string_free(key_id);
}

/* Print a volume's status, device and snapshot tracking. */
static void show_volume(int64_t volume) {
    char *json = NULL, volume_id[64], status[32], device[64], snapshot[32], snapshot_id[64], disk_context[64];
    sendense_error *err = NULL;
    check(sendense_ossea_volume_get_json(store, volume, &json, &err), &err, "reading a volume");
    json_field(json, "volume_id", volume_id, sizeof volume_id);
    json_field(json, "status", status, sizeof status);
    json_field(json, "device_path", device, sizeof device);
    json_field(json, "snapshot_status", snapshot, sizeof snapshot);
    json_field(json, "snapshot_id", snapshot_id, sizeof snapshot_id);
    json_field(json, "vm_context_id", disk_context, sizeof disk_context);
    printf("  volume %lld %s: %s, device %s, snapshot %s (%s), context %s\n", (long long)volume, volume_id, status,
           device, snapshot, snapshot_id, disk_context);
    sendense_string_free(json);
}

/* Print the status history of a volume operation. */
static void show_history(const char *operation) {
    char *json = NULL, from[32], to[32];
    const char *p;
    sendense_error *err = NULL;
    check(sendense_volume_op_history_json(store, operation, &json, &err), &err, "reading the history");
    printf("  history of operation %s:\n", operation);
    for (p = strstr(json, "{\"id\":"); p != NULL; p = strstr(p + 1, "{\"id\":")) {
        json_field(p, "previous_status", from, sizeof from);
        json_field(p, "new_status", to, sizeof to);
        printf("    %s -> %s\n", from, to);
    }
    sendense_string_free(json);
}

/* Print a device mapping through its typed snapshot. */
static void show_mapping(const char *volume_uuid) {
    sendense_device_mapping *m = NULL;
    sendense_error *err = NULL;
    const char *path;
    int64_t slot = -1;
    check(sendense_device_get(store, volume_uuid, &m, &err), &err, "reading a mapping");
    path = sendense_device_mapping_device_path(m);
    sendense_device_mapping_cloudstack_device_id(m, &slot);
    printf("  mapping %s: volume %s, %s at %s (slot %lld, %s, %s), %lld bytes, snapshot %s\n",
           sendense_device_mapping_id(m), sendense_device_mapping_volume_uuid(m),
           sendense_device_mapping_operation_mode(m), path != NULL ? path : "-", (long long)slot,
           sendense_device_mapping_linux_state(m), sendense_device_mapping_symlink_path(m),
           (long long)sendense_device_mapping_size(m), sendense_device_mapping_snapshot_status(m));
    sendense_device_mapping_free(m);
}

/* Print an NBD export through its typed snapshot. */
static void show_export(const char *name) {
    sendense_nbd_export *x = NULL;
    sendense_error *err = NULL;
    int64_t disk_row = 0;
    check(sendense_nbd_export_get(store, name, &x, &err), &err, "reading an export");
    sendense_nbd_export_vm_disk_id(x, &disk_row);
    printf("  export %s: %s on port %lld, disk row %lld, job %s, %s\n", sendense_nbd_export_name(x),
           sendense_nbd_export_device_path(x), (long long)sendense_nbd_export_port(x), (long long)disk_row,
           sendense_nbd_export_job_id(x), sendense_nbd_export_status(x));
    sendense_nbd_export_free(x);
}

/* Print the mappings of a context and how many exports it has. */
static void show_mappings(const char *context_id) {
    char *json = NULL, *exports = NULL, uuid[64], mode[16], path[64];
    const char *p;
    int count = 0;
    sendense_error *err = NULL;
    check(sendense_device_list_json(store, context_id, &json, &err), &err, "listing the mappings");
    for (p = strstr(json, "{\"id\":"); p != NULL; p = strstr(p + 1, "{\"id\":")) {
        json_field(p, "volume_uuid", uuid, sizeof uuid);
        json_field(p, "operation_mode", mode, sizeof mode);
        json_field(p, "device_path", path, sizeof path);
        printf("  %s: %s, device %s\n", uuid, mode, path);
    }
    check(sendense_nbd_export_list_by_context_json(store, context_id, &exports, &err), &err, "listing the exports");
    for (p = strstr(exports, "\"export_name\":"); p != NULL; p = strstr(p + 1, "\"export_name\":")) {
        count++;
    }
    printf("  %d NBD export(s)\n", count);
    sendense_string_free(exports);
    sendense_string_free(json);
}

int main(int argc, char **argv) {
    static const char *const DISKS[2] = {"disk-2000", "disk-2001"};
    static const char *const VOLUME_UUID[2] = {"6f1c0c1e-0000-4000-8000-000000000000",
                                               "6f1c0c1e-0000-4000-8000-000000000001"};
    static const char *const DEVICE[2] = {"/dev/vdb", "/dev/vdc"};
    char json[2048], key_path[4096], field[2][128], port[16], disk_rows[2][32], export_name[128];
    char *context_id = NULL, *job_id = NULL, *got = NULL, *key_id = NULL;
    const char *record;
    sendense_store *keyless = NULL;
    sendense_error *err = NULL;
    struct stat st;
    uint32_t version = 0;
    int64_t config = 0, spare = 0, volumes[2] = {0, 0};
    int disk;

    if (argc < 2 || argc > 3 || stat(argv[1], &st) == 0) {
        fprintf(stderr, "usage: %s NEW_DATABASE_PATH [KEY_FILE] (a database file that does not exist yet)\n",
                argc > 0 ? argv[0] : "targets");
        return 2;
    }
    if (sendense_abi_version() != SENDENSE_ABI_VERSION) {
        fprintf(stderr, "libsendense has ABI %u, the header ABI %u\n", sendense_abi_version(), SENDENSE_ABI_VERSION);
        return 1;
    }

    /* The secret key lives in a file of its own, never in the database. */
    if (argc == 3) {
        snprintf(key_path, sizeof key_path, "%s", argv[2]);
    } else {
        snprintf(key_path, sizeof key_path, "%s.key", argv[1]);
    }
    ensure_key_file(key_path);
    check(sendense_store_open_with_key_file(argv[1], NULL, key_path, &store, &err), &err, "opening the database");
    check(sendense_store_schema_version(store, &version, &err), &err, "reading the schema version");
    check(sendense_store_secret_key_id(store, &key_id, &err), &err, "reading the key id");
    printf("opened %s with key %s (libsendense %s, schema version %u)\n", argv[1], key_id, sendense_version(), version);

    /* The VM and its initial replication: the job records the disk rows the volumes link to. */
    check(sendense_context_create(store,
                                  "{\"vm_name\":\"web-01\",\"vmware_vm_id\":\"vm-1001\",\"vm_path\":\"/DC1/vm/web-01\","
                                  "\"vcenter_host\":\"vcenter.example.com\",\"datacenter\":\"DC1\"}",
                                  &context_id, &err),
          &err, "adding a VM");
    printf("added VM web-01: context %s\n", context_id);
    snprintf(json, sizeof json,
             "{\"context_id\":\"%s\",\"disks\":["
             "{\"disk_id\":\"disk-2000\",\"vm_dk_path\":\"[ds1] web-01/web-01.vmdk\",\"size_gb\":40},"
             "{\"disk_id\":\"disk-2001\",\"vm_dk_path\":\"[ds1] web-01/web-01_1.vmdk\",\"size_gb\":100}]}",
             context_id);
    check(sendense_replication_start(store, json, &job_id, &err), &err, "starting a replication");
    printf("web-01: initial job %s\n", job_id);

    /* A CloudStack configuration: its API key and secret are stored sealed with the key. */
    check(sendense_ossea_config_create(store,
                                       "{\"name\":\"cloud-main\",\"api_url\":\"https://cloud.example.com/client/api\","
                                       "\"api_key\":\"AKEXAMPLE-0123456789\",\"secret_key\":\"SKEXAMPLE-abcdefghij\","
                                       "\"zone\":\"zone-1\",\"domain\":\"ROOT\",\"disk_offering_id\":\"do-ssd\","
                                       "\"oma_vm_id\":\"oma-vm-1\",\"is_active\":true}",
                                       &config, &err),
          &err, "creating a CloudStack configuration");
    check(sendense_ossea_config_get_json(store, config, &got, &err), &err, "reading the configuration");
    if (strstr(got, "EXAMPLE") != NULL) {
        fprintf(stderr, "the read-out carries a secret: %s\n", got);
        return 1;
    }
    json_field(got, "sealed_with_key", field[0], sizeof field[0]);
    printf("CloudStack configuration %lld: %s\n", (long long)config, got);
    printf("  secrets sealed with key %s (the handle's key: %s)\n", field[0], key_id);
    sendense_string_free(got);
    check(sendense_ossea_config_secrets_json(store, config, &got, &err), &err, "opening the secrets");
    json_field(got, "api_key", field[0], sizeof field[0]);
    json_field(got, "secret_key", field[1], sizeof field[1]);
    printf("  secrets opened on request: api key %.4s..., secret %zu characters\n", field[0], strlen(field[1]));
    sendense_string_free(got);

    /* Another handle on the same file, opened without the key, reads the configuration but
     * not its secrets. */
    check(sendense_store_open(argv[1], NULL, &keyless, &err), &err, "opening without the key");
    expect_refusal(sendense_ossea_config_secrets_json(keyless, config, &got, &err), &err, SENDENSE_STATUS_SECRET_KEY,
                   "opening the secrets without the key");
    sendense_store_free(keyless);

    /* A second configuration becomes the active one; the first is deactivated with it. */
    check(sendense_ossea_config_create(store,
                                       "{\"name\":\"cloud-spare\",\"api_url\":\"https://spare.example.com/client/api\","
                                       "\"api_key\":\"AKEXAMPLE-spare\",\"secret_key\":\"SKEXAMPLE-spare\","
                                       "\"zone\":\"zone-2\",\"is_active\":true}",
                                       &spare, &err),
          &err, "creating a second configuration");
    check(sendense_ossea_config_activate(store, config, &err), &err, "activating the first configuration");
    check(sendense_ossea_config_get_json(store, spare, &got, &err), &err, "reading the second configuration");
    json_field(got, "is_active", field[0], sizeof field[0]);
    printf("configuration %lld active again; configuration %lld is_active %s\n", (long long)config, (long long)spare,
           field[0]);
    sendense_string_free(got);
    check(sendense_ossea_config_delete(store, spare, &err), &err, "deleting the second configuration");

    /* A CloudStack volume per disk, available and linked to its disk row. */
    for (disk = 0; disk < 2; disk++) {
        snprintf(json, sizeof json,
                 "{\"vm_context_id\":\"%s\",\"volume_id\":\"%s\","
                 "\"volume_name\":\"web-01-%s\",\"size_gb\":%d,\"ossea_config_id\":%lld,\"volume_type\":\"DATADISK\"}",
                 context_id, VOLUME_UUID[disk], DISKS[disk], disk == 0 ? 40 : 100, (long long)config);
        check(sendense_ossea_volume_create(store, json, &volumes[disk], &err), &err, "recording a volume");
        check(sendense_ossea_volume_set_status(store, volumes[disk], "available", NULL, &err), &err,
              "making a volume available");
        check(sendense_ossea_volume_link_disk(store, volumes[disk], context_id, DISKS[disk], &err), &err,
              "linking a volume to its disk");
        printf("volume %lld for %s: created, available, linked\n", (long long)volumes[disk], DISKS[disk]);
    }
    check(sendense_replication_disks_json(store, context_id, &got, &err), &err, "reading the disk rows");
    for (record = strstr(got, "{\"id\":"); record != NULL; record = strstr(record + 1, "{\"id\":")) {
        json_field(record, "disk_id", field[0], sizeof field[0]);
        json_field(record, "ossea_volume_id", field[1], sizeof field[1]);
        printf("  disk row %s -> volume %s\n", field[0], field[1]);
    }
    sendense_string_free(got);

    /* The volumes use the configuration: the library refuses to delete it and says why. */
    expect_refusal(sendense_ossea_config_delete(store, config, &err), &err, SENDENSE_STATUS_CONFLICT,
                   "deleting the configuration");
    /* Volumes move along their state machine only: an available volume does not go back. */
    expect_refusal(sendense_ossea_volume_set_status(store, volumes[0], "creating", NULL, &err), &err,
                   SENDENSE_STATUS_INVALID_STATE, "moving an available volume back to creating");

    /* A backup NBD port for the job, leased: no other job gets it while the lease lives. */
    check(sendense_lease_acquire(store, "backup_nbd_port", job_id, 3600 * 1000, &got, &err), &err, "leasing a port");
    json_field(got, "resource", port, sizeof port);
    json_field(got, "expires_at", field[0], sizeof field[0]);
    printf("leased backup NBD port %s to job %s until %s\n", port, job_id, field[0]);
    sendense_string_free(got);

    /* Attach each volume to the hub: the device mapping and its NBD export in one transaction,
     * recorded as the volume daemon's operation with its status history. */
    check(sendense_replication_disks_json(store, context_id, &got, &err), &err, "reading the disk rows");
    for (disk = 0, record = strstr(got, "{\"id\":"); disk < 2 && record != NULL;
         disk++, record = strstr(record + 1, "{\"id\":")) {
        json_field(record, "id", disk_rows[disk], sizeof disk_rows[disk]);
    }
    sendense_string_free(got);
    for (disk = 0; disk < 2; disk++) {
        char *operation = NULL, *mapping = NULL;
        snprintf(json, sizeof json,
                 "{\"type\":\"attach\",\"volume_id\":\"%s\",\"vm_id\":\"oma-vm-1\","
                 "\"request\":{\"volume_id\":\"%s\",\"vm_id\":\"oma-vm-1\"}}",
                 VOLUME_UUID[disk], VOLUME_UUID[disk]);
        check(sendense_volume_op_create(store, json, &operation, &err), &err, "recording an operation");
        check(sendense_volume_op_set_status(store, operation, "executing", NULL, NULL, &err), &err, "executing");
        snprintf(json, sizeof json,
                 "{\"vm_context_id\":\"%s\",\"volume_uuid\":\"%s\",\"vm_id\":\"oma-vm-1\","
                 "\"device_path\":\"%s\",\"cloudstack_device_id\":%d,\"size\":%lld,"
                 "\"persistent_device_name\":\"sendense-web-01-%s\","
                 "\"symlink_path\":\"/dev/mapper/sendense-web-01-%s\","
                 "\"export\":{\"vm_disk_id\":%s,\"port\":%s,\"job_id\":\"%s\"}}",
                 context_id, VOLUME_UUID[disk], DEVICE[disk], disk + 1, (disk == 0 ? 40LL : 100LL) << 30, DISKS[disk],
                 DISKS[disk], disk_rows[disk], port, job_id);
        /* The volume's row becomes attached at the device path in the same transaction. */
        check(sendense_device_attach(store, json, &mapping, &err), &err, "attaching a volume");
        snprintf(json, sizeof json, "{\"device_path\":\"%s\",\"mapping_id\":\"%s\"}", DEVICE[disk], mapping);
        check(sendense_volume_op_set_status(store, operation, "completed", json, NULL, &err), &err, "completing");
        printf("attached volume %s at %s: mapping %s, operation %s\n", VOLUME_UUID[disk], DEVICE[disk], mapping,
               operation);
        if (disk == 0) {
            show_history(operation);
        }
        sendense_string_free(mapping);
        sendense_string_free(operation);
    }
    show_mapping(VOLUME_UUID[0]);
    snprintf(export_name, sizeof export_name, "migration-vol-%s", VOLUME_UUID[0]);
    check(sendense_nbd_export_set_status(store, export_name, "active", &err), &err, "activating an export");
    show_export(export_name);

    /* A second volume on a device path the hub already uses: refused, naming the holder. */
    snprintf(json, sizeof json,
             "{\"volume_uuid\":\"6f1c0c1e-0000-4000-8000-0000000000ff\",\"vm_id\":\"oma-vm-1\","
             "\"device_path\":\"%s\"}",
             DEVICE[0]);
    expect_refusal(sendense_device_attach(store, json, &got, &err), &err, SENDENSE_STATUS_CONFLICT,
                   "attaching another volume at /dev/vdb");

    /* A test failover protects the first volume with a CloudStack snapshot, tracked on its
     * mapping, and rolls back. */
    check(sendense_device_set_snapshot(store, VOLUME_UUID[0], "creating", "snap-0001", &err), &err, "snapshot");
    check(sendense_device_set_snapshot(store, VOLUME_UUID[0], "ready", NULL, &err), &err, "snapshot ready");
    show_mapping(VOLUME_UUID[0]);
    check(sendense_device_set_snapshot(store, VOLUME_UUID[0], "rollback_complete", NULL, &err), &err, "rollback");
    check(sendense_device_set_snapshot(store, VOLUME_UUID[0], "none", NULL, &err), &err, "clearing the snapshot");

    /* Failover: every mapping of the VM switches in one transaction; the exports go with it. */
    expect_refusal(sendense_device_set_mode(store, context_id, "sideways", &err), &err,
                   SENDENSE_STATUS_INVALID_ARGUMENT, "switching to mode \"sideways\"");
    check(sendense_device_set_mode(store, context_id, "failover", &err), &err, "switching to failover");
    printf("switched web-01 to failover:\n");
    show_mappings(context_id);
    /* Back to oma: the store does not know the hub paths the volumes come back at... */
    expect_refusal(sendense_device_set_mode(store, context_id, "oma", &err), &err, SENDENSE_STATUS_INVALID_ARGUMENT,
                   "switching back to oma without the device paths");
    /* ...so the switch back takes them, and the exports to re-create, in one transaction. */
    snprintf(json, sizeof json,
             "{\"context_id\":\"%s\",\"mode\":\"oma\",\"vm_id\":\"oma-vm-1\","
             "\"device_paths\":{\"%s\":\"%s\",\"%s\":\"%s\"},"
             "\"exports\":[{\"volume_uuid\":\"%s\",\"vm_disk_id\":%s,\"port\":%s,\"job_id\":\"%s\"},"
             "{\"volume_uuid\":\"%s\",\"vm_disk_id\":%s,\"port\":%s,\"job_id\":\"%s\"}]}",
             context_id, VOLUME_UUID[0], DEVICE[0], VOLUME_UUID[1], DEVICE[1], VOLUME_UUID[0], disk_rows[0], port,
             job_id, VOLUME_UUID[1], disk_rows[1], port, job_id);
    check(sendense_device_switch_mode(store, json, &err), &err, "switching back to oma");
    printf("switched web-01 back to oma:\n");
    show_mappings(context_id);

    /* Detach: each mapping goes with its export and its volume row becomes detached, in one
     * transaction; the lease is released by its owner. */
    for (disk = 0; disk < 2; disk++) {
        char *operation = NULL;
        snprintf(json, sizeof json,
                 "{\"type\":\"detach\",\"volume_id\":\"%s\",\"vm_id\":\"oma-vm-1\",\"request\":{}}",
                 VOLUME_UUID[disk]);
        check(sendense_volume_op_create(store, json, &operation, &err), &err, "recording an operation");
        check(sendense_volume_op_set_status(store, operation, "executing", NULL, NULL, &err), &err, "executing");
        check(sendense_device_detach(store, VOLUME_UUID[disk], &err), &err, "detaching a volume");
        check(sendense_volume_op_set_status(store, operation, "completed", NULL, NULL, &err), &err, "completing");
        sendense_string_free(operation);
    }
    printf("detached both volumes\n");
    show_mappings(context_id);
    show_volume(volumes[0]);
    show_volume(volumes[1]);
    check(sendense_lease_release(store, "backup_nbd_port", job_id, &err), &err, "releasing the port");
    check(sendense_lease_list_json(store, "backup_nbd_port", job_id, &got, &err), &err, "listing the leases");
    printf("released the port: leases of job %s: %s\n", job_id, got);
    sendense_string_free(got);
    check(sendense_storage_consistency_json(store, &got, &err), &err, "checking storage consistency");
    printf("storage consistency: %s\n", got);
    sendense_string_free(got);
    check(sendense_volume_metrics_json(store, &got, &err), &err, "reading the metrics");
    json_field(got, "total_operations", field[0], sizeof field[0]);
    json_field(got, "error_rate_percent", field[1], sizeof field[1]);
    printf("volume daemon metrics: %s operations, error rate %s%%, ", field[0], field[1]);
    json_field(got, "active_mappings", field[0], sizeof field[0]);
    json_field(got, "average_response_time_ms", field[1], sizeof field[1]);
    printf("%s active mappings, average response %s ms\n", field[0], field[1]);
    sendense_string_free(got);

    /* The replication completes. */
    check(sendense_replication_set_status(store, job_id, "replicating", NULL, &err), &err, "replicating");
    check(sendense_replication_set_status(store, job_id, "completed", NULL, &err), &err, "completing");
    check(sendense_context_get_json(store, context_id, &got, &err), &err, "reading the context");
    json_field(got, "current_status", field[0], sizeof field[0]);
    printf("web-01: job %s completed, context %s\n", job_id, field[0]);
    sendense_string_free(got);

    sendense_string_free(key_id);
    sendense_string_free(job_id);
    sendense_string_free(context_id);
    sendense_store_free(store);
    return 0;
}
