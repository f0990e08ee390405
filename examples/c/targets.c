/*
 * The targets lifecycle of libsendense, from C: where a protected VM's disks land in
 * CloudStack.
 *
 * Opens a new database with a secret key read from a key file (created next to the database
 * from /dev/urandom when it does not exist; the key is never stored in the database), adds a
 * VM with two disks and starts its initial replication, records a CloudStack configuration
 * whose API key and secret are stored sealed (its read-out carries no secrets, only the id of
 * the key that sealed them; the secrets come back only when asked for, and not at all through
 * a handle opened without the key), records a CloudStack volume per disk, moves each to
 * available and links it to its disk row, shows that the configuration cannot be deleted
 * while the volumes use it, and tracks a snapshot of the first volume through a test
 * failover and its rollback.
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

#include <fcntl.h>
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

/* Create the key file `path` with 32 random bytes (mode 0600) unless it exists. */
static void ensure_key_file(const char *path) {
    unsigned char key[32];
    struct stat st;
    FILE *random;
    int fd;
    if (stat(path, &st) == 0) {
        printf("key file %s: reused\n", path);
        return;
    }
    random = fopen("/dev/urandom", "rb");
    if (random == NULL || fread(key, 1, sizeof key, random) != sizeof key) {
        fprintf(stderr, "cannot read /dev/urandom\n");
        exit(1);
    }
    fclose(random);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, key, sizeof key) != (ssize_t)sizeof key || close(fd) != 0) {
        fprintf(stderr, "cannot write the key file %s\n", path);
        exit(1);
    }
    memset(key, 0, sizeof key);
    printf("key file %s: created (32 random bytes)\n", path);
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

int main(int argc, char **argv) {
    static const char *const DISKS[2] = {"disk-2000", "disk-2001"};
    char json[1024], key_path[4096], field[2][128], *context_id = NULL, *job_id = NULL, *got = NULL, *key_id = NULL;
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
                 "{\"vm_context_id\":\"%s\",\"volume_id\":\"6f1c0c1e-0000-4000-8000-00000000000%d\","
                 "\"volume_name\":\"web-01-%s\",\"size_gb\":%d,\"ossea_config_id\":%lld,\"volume_type\":\"DATADISK\"}",
                 context_id, disk, DISKS[disk], disk == 0 ? 40 : 100, (long long)config);
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

    /* The hub attaches the volumes; a test failover snapshots the first one, and rolls back. */
    check(sendense_ossea_volume_set_status(store, volumes[0], "attached", "/dev/vdb", &err), &err, "attaching");
    check(sendense_ossea_volume_set_status(store, volumes[1], "attached", "/dev/vdc", &err), &err, "attaching");
    check(sendense_ossea_volume_set_snapshot(store, volumes[0], "creating", "snap-0001", &err), &err,
          "taking a snapshot");
    check(sendense_ossea_volume_set_snapshot(store, volumes[0], "ready", NULL, &err), &err, "snapshot ready");
    show_volume(volumes[0]);
    check(sendense_ossea_volume_set_snapshot(store, volumes[0], "rollback_complete", NULL, &err), &err,
          "rolling back");
    check(sendense_ossea_volume_set_snapshot(store, volumes[0], "none", NULL, &err), &err, "clearing the snapshot");
    show_volume(volumes[0]);
    show_volume(volumes[1]);

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
