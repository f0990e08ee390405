/*
 * C ABI test of device mappings and NBD exports: attach (with and without an export),
 * detach, the mode switches (plain and with device paths), snapshot tracking, export create /
 * status / job / remove, JSON read-outs and lists, the typed snapshots of a mapping and an
 * export, and the storage consistency check, with the refusals (NULL arguments, invalid
 * UTF-8, malformed or unknown JSON, duplicate volumes, taken device paths, mode strings
 * outside the set, unknown ids), each leaving the out-parameters untouched. Every string,
 * error and snapshot is freed (the program also runs under ASan/LSan and valgrind).
 * Usage: device_abi TMPDIR
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sendense.h"

#define SENTINEL ((char *)"untouched")
#define SENTINEL_MAPPING ((sendense_device_mapping *)(uintptr_t)0x5e5d)
#define SENTINEL_EXPORT ((sendense_nbd_export *)(uintptr_t)0x5e5e)
#define SENTINEL_I64 INT64_C(-4242)

static int ok(sendense_status st, sendense_error *err, const char *what) {
    int good = check_report(st == SENDENSE_STATUS_OK, __FILE__, __LINE__, "%s returned %s: %s", what,
                            sendense_status_name(st), sendense_error_message(err));
    sendense_error_free(err);
    return good;
}
#define OK(call)                                                                                                       \
    do {                                                                                                               \
        sendense_error *ok_err_ = NULL;                                                                                \
        sendense_error **errp_ = &ok_err_;                                                                             \
        sendense_status ok_status_ = (call);                                                                           \
        ok(ok_status_, ok_err_, #call);                                                                                \
        (void)errp_;                                                                                                   \
    } while (0)

struct fixture {
    char *ctx;
    char *other_ctx;
    char *job;
    long long disk0, disk1, other_disk;
};

/* The integer after the first `"key":` in `json`; -1 when absent. */
static long long json_int(const char *json, const char *key) {
    char pattern[128];
    const char *p;
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    p = json ? strstr(json, pattern) : NULL;
    return p ? strtoll(p + strlen(pattern), NULL, 10) : -1;
}

static char *add_context(sendense_store *s, const char *name) {
    char json[512];
    char *id = NULL;
    sendense_error *err = NULL;
    snprintf(json, sizeof json,
             "{\"vm_name\":\"%s\",\"vmware_vm_id\":\"id-%s\",\"vm_path\":\"/dc/vm/%s\",\"vcenter_host\":\"vc\","
             "\"datacenter\":\"dc\"}",
             name, name, name);
    CHECK_STATUS(sendense_context_create(s, json, &id, &err), SENDENSE_STATUS_OK, err);
    sendense_error_free(err);
    return id;
}

/* Start a job with two disks on `ctx`; store the disk row ids in d0/d1; returns the job id. */
static char *start_job(sendense_store *s, const char *ctx, long long *d0, long long *d1) {
    char json[1024];
    char *job = NULL, *disks = NULL;
    sendense_error *err = NULL;
    const char *second;
    snprintf(json, sizeof json,
             "{\"context_id\":\"%s\",\"disks\":[{\"disk_id\":\"disk-2000\",\"vm_dk_path\":\"[ds] a.vmdk\","
             "\"size_gb\":10},{\"disk_id\":\"disk-2001\",\"vm_dk_path\":\"[ds] b.vmdk\",\"size_gb\":20}]}",
             ctx);
    CHECK_STATUS(sendense_replication_start(s, json, &job, &err), SENDENSE_STATUS_OK, err);
    sendense_error_free(err);
    err = NULL;
    CHECK_STATUS(sendense_replication_disks_json(s, ctx, &disks, &err), SENDENSE_STATUS_OK, err);
    sendense_error_free(err);
    *d0 = json_int(disks, "id");
    second = disks ? strstr(disks, "},{") : NULL;
    *d1 = second ? json_int(second, "id") : -1;
    CHECK(*d0 > 0 && *d1 > 0);
    sendense_string_free(disks);
    return job;
}

static void test_mappings(sendense_store *s, struct fixture *f) {
    char json[2048];
    char *out = SENTINEL;
    sendense_device_mapping *m = SENTINEL_MAPPING;
    int64_t v = SENTINEL_I64;
    char bad_utf8[] = {'v', (char)0xff, 0};

    snprintf(json, sizeof json,
             "{\"id\":\"map-a\",\"vm_context_id\":\"%s\",\"volume_uuid\":\"vol-a\",\"vm_id\":\"oma-vm\","
             "\"device_path\":\"/dev/vdb\",\"size\":1073741824,\"cloudstack_device_id\":1,\"volume_id_numeric\":77,"
             "\"persistent_device_name\":\"vol-a-dm\",\"symlink_path\":\"/dev/mapper/vol-a-dm\","
             "\"export\":{\"vm_disk_id\":%lld,\"port\":10809,\"job_id\":\"%s\"}}",
             f->ctx, f->disk0, f->job);
    OK(sendense_device_attach(s, json, &out, errp_));
    CHECK_STR_EQ(out, "map-a");
    if (out != SENTINEL) {
        sendense_string_free(out);
    }

    /* Refusals leave the out-parameter alone. */
    out = SENTINEL;
    EXPECT_FAIL(sendense_device_attach(s, json, &out, errp), SENDENSE_STATUS_ALREADY_EXISTS, "vol-a", "map-a");
    snprintf(json, sizeof json,
             "{\"vm_context_id\":\"%s\",\"volume_uuid\":\"vol-b\",\"vm_id\":\"oma-vm\",\"device_path\":\"/dev/vdb\"}",
             f->ctx);
    EXPECT_FAIL(sendense_device_attach(s, json, &out, errp), SENDENSE_STATUS_CONFLICT, "/dev/vdb", "vol-a");
    EXPECT_FAIL(sendense_device_attach(s,
                                       "{\"volume_uuid\":\"vol-f\",\"vm_id\":\"vm\",\"operation_mode\":\"failover\","
                                       "\"device_path\":\"/dev/vdz\"}",
                                       &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "failover");
    EXPECT_FAIL(sendense_device_attach(s, "{\"volume_uuid\":\"vol-f\",\"vm_id\":\"vm\",\"operation_mode\":\"hub\"}",
                                       &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "not a valid operation mode");
    EXPECT_FAIL(sendense_device_attach(s, "{\"volume_uuid\":\"vol-f\",\"vm_id\":\"vm\",\"colour\":1}", &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "unknown field `colour`");
    EXPECT_FAIL(sendense_device_attach(s, "{", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json");
    EXPECT_FAIL(sendense_device_attach(s,
                                       "{\"vm_context_id\":\"nope\",\"volume_uuid\":\"vol-f\",\"vm_id\":\"vm\","
                                       "\"operation_mode\":\"failover\"}",
                                       &out, errp),
                SENDENSE_STATUS_NOT_FOUND, "nope");
    EXPECT_FAIL(sendense_device_attach(NULL, json, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store is NULL");
    EXPECT_FAIL(sendense_device_attach(s, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json is NULL");
    EXPECT_FAIL(sendense_device_attach(s, json, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "mapping_id_out");
    CHECK(out == SENTINEL);

    /* A failover mapping (no device path) in the other context, generated id. */
    snprintf(json, sizeof json,
             "{\"vm_context_id\":\"%s\",\"volume_uuid\":\"vol-f\",\"vm_id\":\"failover-vm\","
             "\"operation_mode\":\"failover\"}",
             f->other_ctx);
    OK(sendense_device_attach(s, json, &out, errp_));
    CHECK(out != SENTINEL && strlen(out) == 36);
    if (out != SENTINEL) {
        sendense_string_free(out);
    }

    /* JSON read-outs. */
    out = SENTINEL;
    OK(sendense_device_get_json(s, "vol-a", &out, errp_));
    CHECK_CONTAINS(out, "\"device_path\":\"/dev/vdb\"");
    CHECK_CONTAINS(out, "\"operation_mode\":\"oma\"");
    sendense_string_free(out);
    out = SENTINEL;
    OK(sendense_device_list_json(s, f->ctx, &out, errp_));
    CHECK_CONTAINS(out, "\"volume_uuid\":\"vol-a\"");
    sendense_string_free(out);
    out = SENTINEL;
    EXPECT_FAIL(sendense_device_get_json(s, "vol-zz", &out, errp), SENDENSE_STATUS_NOT_FOUND, "vol-zz");
    EXPECT_FAIL(sendense_device_get_json(s, bad_utf8, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "UTF-8");
    EXPECT_FAIL(sendense_device_get_json(s, "vol-a", NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json_out");
    EXPECT_FAIL(sendense_device_list_json(s, "nope", &out, errp), SENDENSE_STATUS_NOT_FOUND, "nope");
    EXPECT_FAIL(sendense_device_list_json(s, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "context_id");
    CHECK(out == SENTINEL);

    /* The typed snapshot. */
    OK(sendense_device_get(s, "vol-a", &m, errp_));
    CHECK(m != SENTINEL_MAPPING && m != NULL);
    CHECK_STR_EQ(sendense_device_mapping_id(m), "map-a");
    CHECK_STR_EQ(sendense_device_mapping_context_id(m), f->ctx);
    CHECK_STR_EQ(sendense_device_mapping_volume_uuid(m), "vol-a");
    CHECK_STR_EQ(sendense_device_mapping_vm_id(m), "oma-vm");
    CHECK_STR_EQ(sendense_device_mapping_operation_mode(m), "oma");
    CHECK_STR_EQ(sendense_device_mapping_device_path(m), "/dev/vdb");
    CHECK_STR_EQ(sendense_device_mapping_cloudstack_state(m), "attached");
    CHECK_STR_EQ(sendense_device_mapping_linux_state(m), "detected");
    CHECK_STR_EQ(sendense_device_mapping_snapshot_status(m), "none");
    CHECK_STR_EQ(sendense_device_mapping_persistent_device_name(m), "vol-a-dm");
    CHECK_STR_EQ(sendense_device_mapping_symlink_path(m), "/dev/mapper/vol-a-dm");
    CHECK(sendense_device_mapping_ossea_snapshot_id(m) == NULL);
    CHECK(sendense_device_mapping_size(m) == 1073741824);
    CHECK(sendense_device_mapping_requires_device_correlation(m));
    CHECK(sendense_device_mapping_volume_id_numeric(m, &v) && v == 77);
    CHECK(sendense_device_mapping_cloudstack_device_id(m, &v) && v == 1);
    CHECK(sendense_device_mapping_cloudstack_device_id(m, NULL));
    v = SENTINEL_I64;
    CHECK(!sendense_device_mapping_snapshot_created_at_ms(m, &v) && v == SENTINEL_I64);
    CHECK(sendense_device_mapping_created_at_ms(m) > 0);
    CHECK(sendense_device_mapping_updated_at_ms(m) >= sendense_device_mapping_created_at_ms(m));
    sendense_device_mapping_free(m);
    /* NULL snapshots answer NULL / 0 / false. */
    CHECK(sendense_device_mapping_id(NULL) == NULL && sendense_device_mapping_context_id(NULL) == NULL);
    CHECK(sendense_device_mapping_volume_uuid(NULL) == NULL && sendense_device_mapping_vm_id(NULL) == NULL);
    CHECK(sendense_device_mapping_operation_mode(NULL) == NULL && sendense_device_mapping_device_path(NULL) == NULL);
    CHECK(sendense_device_mapping_cloudstack_state(NULL) == NULL && sendense_device_mapping_linux_state(NULL) == NULL);
    CHECK(sendense_device_mapping_snapshot_status(NULL) == NULL);
    CHECK(sendense_device_mapping_ossea_snapshot_id(NULL) == NULL);
    CHECK(sendense_device_mapping_persistent_device_name(NULL) == NULL);
    CHECK(sendense_device_mapping_symlink_path(NULL) == NULL);
    CHECK(sendense_device_mapping_size(NULL) == 0 && !sendense_device_mapping_requires_device_correlation(NULL));
    CHECK(!sendense_device_mapping_volume_id_numeric(NULL, &v) && !sendense_device_mapping_cloudstack_device_id(NULL, &v));
    CHECK(!sendense_device_mapping_snapshot_created_at_ms(NULL, &v) && v == SENTINEL_I64);
    CHECK(sendense_device_mapping_created_at_ms(NULL) == 0 && sendense_device_mapping_updated_at_ms(NULL) == 0);
    sendense_device_mapping_free(NULL);
    m = SENTINEL_MAPPING;
    EXPECT_FAIL(sendense_device_get(s, "vol-zz", &m, errp), SENDENSE_STATUS_NOT_FOUND, "vol-zz");
    EXPECT_FAIL(sendense_device_get(s, "vol-a", NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "out is NULL");
    CHECK(m == SENTINEL_MAPPING);

    /* The failover mapping's snapshot has no device path. */
    OK(sendense_device_get(s, "vol-f", &m, errp_));
    CHECK(sendense_device_mapping_device_path(m) == NULL);
    CHECK_STR_EQ(sendense_device_mapping_linux_state(m), "n/a");
    CHECK(!sendense_device_mapping_cloudstack_device_id(m, &v) && v == SENTINEL_I64);
    sendense_device_mapping_free(m);

    /* Device facts learnt later. */
    OK(sendense_device_update(s, "vol-a", "{\"linux_state\":\"resolved\",\"symlink_path\":null,\"size\":5}", errp_));
    OK(sendense_device_get(s, "vol-a", &m, errp_));
    CHECK_STR_EQ(sendense_device_mapping_linux_state(m), "resolved");
    CHECK(sendense_device_mapping_symlink_path(m) == NULL);
    CHECK(sendense_device_mapping_size(m) == 5);
    sendense_device_mapping_free(m);
    EXPECT_FAIL(sendense_device_update(s, "vol-f", "{\"device_path\":\"/dev/vdx\"}", errp),
                SENDENSE_STATUS_INVALID_STATE, "failover");
    EXPECT_FAIL(sendense_device_update(s, "vol-zz", "{}", errp), SENDENSE_STATUS_NOT_FOUND, "vol-zz");
    EXPECT_FAIL(sendense_device_update(s, "vol-a", "{\"mode\":1}", errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "unknown field `mode`");
    EXPECT_FAIL(sendense_device_update(s, "vol-a", NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json is NULL");

    /* Snapshot tracking. */
    EXPECT_FAIL(sendense_device_set_snapshot(s, "vol-a", "creating", NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "snapshot id");
    EXPECT_FAIL(sendense_device_set_snapshot(s, "vol-a", "ready", NULL, errp), SENDENSE_STATUS_INVALID_STATE,
                "from none to ready");
    EXPECT_FAIL(sendense_device_set_snapshot(s, "vol-a", "done", NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "not a valid snapshot status");
    EXPECT_FAIL(sendense_device_set_snapshot(s, "vol-a", NULL, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "status is NULL");
    OK(sendense_device_set_snapshot(s, "vol-a", "creating", "snap-1", errp_));
    OK(sendense_device_get(s, "vol-a", &m, errp_));
    CHECK_STR_EQ(sendense_device_mapping_snapshot_status(m), "creating");
    CHECK_STR_EQ(sendense_device_mapping_ossea_snapshot_id(m), "snap-1");
    CHECK(sendense_device_mapping_snapshot_created_at_ms(m, &v) && v > 0);
    sendense_device_mapping_free(m);
    OK(sendense_device_set_snapshot(s, "vol-a", "ready", NULL, errp_));
    OK(sendense_device_set_snapshot(s, "vol-a", "rollback_complete", NULL, errp_));
    OK(sendense_device_set_snapshot(s, "vol-a", "none", NULL, errp_));
}

static void test_exports(sendense_store *s, struct fixture *f) {
    char json[1024];
    char *out = SENTINEL;
    sendense_nbd_export *e = SENTINEL_EXPORT;
    int64_t v = SENTINEL_I64;

    /* vol-a's export came with its attach. */
    OK(sendense_nbd_export_get(s, "migration-vol-vol-a", &e, errp_));
    CHECK(e != SENTINEL_EXPORT && e != NULL);
    CHECK(sendense_nbd_export_id(e) > 0);
    CHECK_STR_EQ(sendense_nbd_export_name(e), "migration-vol-vol-a");
    CHECK_STR_EQ(sendense_nbd_export_context_id(e), f->ctx);
    CHECK_STR_EQ(sendense_nbd_export_job_id(e), f->job);
    CHECK_STR_EQ(sendense_nbd_export_volume_id(e), "vol-a");
    CHECK(sendense_nbd_export_vm_disk_id(e, &v) && v == f->disk0);
    CHECK(sendense_nbd_export_port(e) == 10809);
    CHECK_STR_EQ(sendense_nbd_export_device_path(e), "/dev/vdb");
    CHECK(sendense_nbd_export_config_path(e) == NULL);
    CHECK_STR_EQ(sendense_nbd_export_status(e), "pending");
    CHECK(sendense_nbd_export_created_at_ms(e) > 0 && sendense_nbd_export_updated_at_ms(e) > 0);
    sendense_nbd_export_free(e);
    v = SENTINEL_I64;
    CHECK(sendense_nbd_export_id(NULL) == 0 && sendense_nbd_export_name(NULL) == NULL);
    CHECK(sendense_nbd_export_context_id(NULL) == NULL && sendense_nbd_export_job_id(NULL) == NULL);
    CHECK(sendense_nbd_export_volume_id(NULL) == NULL && !sendense_nbd_export_vm_disk_id(NULL, &v));
    CHECK(v == SENTINEL_I64 && sendense_nbd_export_port(NULL) == 0);
    CHECK(sendense_nbd_export_device_path(NULL) == NULL && sendense_nbd_export_config_path(NULL) == NULL);
    CHECK(sendense_nbd_export_status(NULL) == NULL);
    CHECK(sendense_nbd_export_created_at_ms(NULL) == 0 && sendense_nbd_export_updated_at_ms(NULL) == 0);
    sendense_nbd_export_free(NULL);
    e = SENTINEL_EXPORT;
    EXPECT_FAIL(sendense_nbd_export_get(s, "migration-vol-x", &e, errp), SENDENSE_STATUS_NOT_FOUND, "migration-vol-x");
    EXPECT_FAIL(sendense_nbd_export_get(s, NULL, &e, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "export_name");
    CHECK(e == SENTINEL_EXPORT);

    /* A second oma volume without an export, then its export through nbd_export_create. */
    snprintf(json, sizeof json,
             "{\"vm_context_id\":\"%s\",\"volume_uuid\":\"vol-b\",\"vm_id\":\"oma-vm\",\"device_path\":\"/dev/vdc\"}",
             f->ctx);
    OK(sendense_device_attach(s, json, &out, errp_));
    sendense_string_free(out);
    out = SENTINEL;
    OK(sendense_storage_consistency_json(s, &out, errp_));
    CHECK_CONTAINS(out, "\"ok\":false");
    CHECK_CONTAINS(out, "\"oma_mappings_without_export\":[\"vol-b\"]");
    sendense_string_free(out);
    out = SENTINEL;
    snprintf(json, sizeof json, "{\"volume_uuid\":\"vol-b\",\"vm_disk_id\":%lld,\"port\":10809,\"config_path\":\"/c\"}",
             f->disk1);
    OK(sendense_nbd_export_create(s, json, &out, errp_));
    CHECK_STR_EQ(out, "migration-vol-vol-b");
    if (out != SENTINEL) {
        sendense_string_free(out);
    }
    out = SENTINEL;
    EXPECT_FAIL(sendense_nbd_export_create(s, json, &out, errp), SENDENSE_STATUS_ALREADY_EXISTS, "vol-b");
    snprintf(json, sizeof json, "{\"volume_uuid\":\"vol-f\",\"vm_disk_id\":%lld,\"port\":10809}", f->other_disk);
    EXPECT_FAIL(sendense_nbd_export_create(s, json, &out, errp), SENDENSE_STATUS_INVALID_STATE, "failover");
    snprintf(json, sizeof json, "{\"volume_uuid\":\"vol-b\",\"vm_disk_id\":%lld,\"port\":0}", f->disk1);
    EXPECT_FAIL(sendense_nbd_export_create(s, json, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "port 0");
    EXPECT_FAIL(sendense_nbd_export_create(s, "{\"volume_uuid\":\"vol-zz\",\"vm_disk_id\":1,\"port\":1}", &out, errp),
                SENDENSE_STATUS_NOT_FOUND, "vol-zz");
    EXPECT_FAIL(sendense_nbd_export_create(s, "{\"volume_uuid\":\"v\",\"port\":1}", &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "vm_disk_id");
    EXPECT_FAIL(sendense_nbd_export_create(s, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json is NULL");
    EXPECT_FAIL(sendense_nbd_export_create(s, json, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "export_name_out");
    CHECK(out == SENTINEL);

    /* Status, job, lists, removal. */
    OK(sendense_nbd_export_set_status(s, "migration-vol-vol-b", "active", errp_));
    EXPECT_FAIL(sendense_nbd_export_set_status(s, "migration-vol-vol-b", "failed", errp),
                SENDENSE_STATUS_INVALID_STATE, "from active to failed");
    EXPECT_FAIL(sendense_nbd_export_set_status(s, "migration-vol-vol-b", "stopped", errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "not a valid export status");
    EXPECT_FAIL(sendense_nbd_export_set_status(s, "migration-vol-x", "active", errp), SENDENSE_STATUS_NOT_FOUND,
                "migration-vol-x");
    OK(sendense_nbd_export_set_job(s, "migration-vol-vol-b", f->job, errp_));
    EXPECT_FAIL(sendense_nbd_export_set_job(s, "migration-vol-vol-b", "nope", errp), SENDENSE_STATUS_NOT_FOUND, "nope");
    OK(sendense_nbd_export_list_by_job_json(s, f->job, &out, errp_));
    CHECK_CONTAINS(out, "migration-vol-vol-a");
    CHECK_CONTAINS(out, "migration-vol-vol-b");
    sendense_string_free(out);
    OK(sendense_nbd_export_set_job(s, "migration-vol-vol-b", NULL, errp_));
    OK(sendense_nbd_export_list_by_job_json(s, f->job, &out, errp_));
    CHECK(out != NULL && strstr(out, "migration-vol-vol-b") == NULL);
    sendense_string_free(out);
    OK(sendense_nbd_export_list_by_context_json(s, f->ctx, &out, errp_));
    CHECK_CONTAINS(out, "\"config_path\":\"/c\"");
    sendense_string_free(out);
    out = SENTINEL;
    EXPECT_FAIL(sendense_nbd_export_list_by_context_json(s, "nope", &out, errp), SENDENSE_STATUS_NOT_FOUND, "nope");
    EXPECT_FAIL(sendense_nbd_export_list_by_job_json(s, "nope", &out, errp), SENDENSE_STATUS_NOT_FOUND, "nope");
    OK(sendense_nbd_export_get_json(s, "migration-vol-vol-b", &out, errp_));
    CHECK_CONTAINS(out, "\"status\":\"active\"");
    sendense_string_free(out);
    out = SENTINEL;
    EXPECT_FAIL(sendense_nbd_export_get_json(s, "migration-vol-x", &out, errp), SENDENSE_STATUS_NOT_FOUND, "x");
    CHECK(out == SENTINEL);
    OK(sendense_nbd_export_remove(s, "migration-vol-vol-b", errp_));
    EXPECT_FAIL(sendense_nbd_export_remove(s, "migration-vol-vol-b", errp), SENDENSE_STATUS_NOT_FOUND, "vol-b");
    snprintf(json, sizeof json, "{\"volume_uuid\":\"vol-b\",\"vm_disk_id\":%lld,\"port\":10809}", f->disk1);
    OK(sendense_nbd_export_create(s, json, &out, errp_));
    sendense_string_free(out);
}

static void test_modes(sendense_store *s, struct fixture *f) {
    char json[1024];
    char *out = NULL;
    sendense_device_mapping *m = NULL;

    OK(sendense_storage_consistency_json(s, &out, errp_));
    CHECK_CONTAINS(out, "\"ok\":true");
    sendense_string_free(out);
    EXPECT_FAIL(sendense_device_set_mode(s, f->ctx, "hub", errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "not a valid operation mode");
    EXPECT_FAIL(sendense_device_set_mode(s, f->ctx, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "mode is NULL");
    EXPECT_FAIL(sendense_device_set_mode(s, "nope", "failover", errp), SENDENSE_STATUS_NOT_FOUND, "nope");
    OK(sendense_device_set_mode(s, f->ctx, "oma", errp_)); /* already oma: nothing to do */
    OK(sendense_device_set_mode(s, f->ctx, "failover", errp_));
    OK(sendense_device_get(s, "vol-a", &m, errp_));
    CHECK_STR_EQ(sendense_device_mapping_operation_mode(m), "failover");
    CHECK(sendense_device_mapping_device_path(m) == NULL);
    sendense_device_mapping_free(m);
    out = NULL;
    OK(sendense_nbd_export_list_by_context_json(s, f->ctx, &out, errp_));
    CHECK_STR_EQ(out, "[]");
    sendense_string_free(out);
    EXPECT_FAIL(sendense_device_set_mode(s, f->ctx, "oma", errp), SENDENSE_STATUS_INVALID_ARGUMENT, "vol-a", "vol-b",
                "device_paths");
    snprintf(json, sizeof json, "{\"context_id\":\"%s\",\"mode\":\"oma\",\"device_paths\":{\"vol-a\":\"/dev/vde\"}}",
             f->ctx);
    EXPECT_FAIL(sendense_device_switch_mode(s, json, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "vol-b");
    EXPECT_FAIL(sendense_device_switch_mode(s, "{\"context_id\":\"x\",\"mode\":\"oma\",\"paths\":{}}", errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "unknown field `paths`");
    EXPECT_FAIL(sendense_device_switch_mode(s, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json is NULL");
    snprintf(json, sizeof json,
             "{\"context_id\":\"%s\",\"mode\":\"oma\",\"vm_id\":\"oma-vm\",\"device_paths\":{\"vol-a\":\"/dev/vde\","
             "\"vol-b\":\"/dev/vdf\"},\"exports\":[{\"volume_uuid\":\"vol-a\",\"vm_disk_id\":%lld,\"port\":10809},"
             "{\"volume_uuid\":\"vol-b\",\"vm_disk_id\":%lld,\"port\":10809}]}",
             f->ctx, f->disk0, f->disk1);
    OK(sendense_device_switch_mode(s, json, errp_));
    out = NULL;
    OK(sendense_nbd_export_get_json(s, "migration-vol-vol-a", &out, errp_));
    CHECK_CONTAINS(out, "\"device_path\":\"/dev/vde\"");
    sendense_string_free(out);
    out = NULL;
    OK(sendense_store_integrity_check(s, &out, errp_));
    CHECK_CONTAINS(out, "\"ok\":true");
    CHECK_CONTAINS(out, "\"storage\":{");
    sendense_string_free(out);

    /* Detach. */
    OK(sendense_device_detach(s, "vol-a", errp_));
    EXPECT_FAIL(sendense_device_detach(s, "vol-a", errp), SENDENSE_STATUS_NOT_FOUND, "vol-a");
    EXPECT_FAIL(sendense_device_detach(s, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "volume_uuid is NULL");
    EXPECT_FAIL(sendense_device_detach(NULL, "vol-b", errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store is NULL");
    out = SENTINEL;
    EXPECT_FAIL(sendense_nbd_export_get_json(s, "migration-vol-vol-a", &out, errp), SENDENSE_STATUS_NOT_FOUND, "vol-a");
    EXPECT_FAIL(sendense_storage_consistency_json(s, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json_out");
    CHECK(out == SENTINEL);
}

int main(int argc, char **argv) {
    char path[4096];
    sendense_store *store = NULL;
    sendense_error *err = NULL;
    struct fixture f;
    long long unused;
    unsigned long before;
    if (argc != 2) {
        fprintf(stderr, "usage: %s TMPDIR\n", argc > 0 ? argv[0] : "device_abi");
        return 2;
    }
    snprintf(path, sizeof path, "%s/device_abi.db", argv[1]);
    CHECK_STATUS(sendense_store_open(path, NULL, &store, &err), SENDENSE_STATUS_OK, err);
    sendense_error_free(err);
    f.ctx = add_context(store, "web-01");
    f.other_ctx = add_context(store, "web-02");
    f.job = start_job(store, f.ctx, &f.disk0, &f.disk1);
    {
        char *other_job = start_job(store, f.other_ctx, &f.other_disk, &unused);
        sendense_string_free(other_job);
    }
    before = check_failures();
    test_mappings(store, &f);
    check_group_end("device mappings", before);
    before = check_failures();
    test_exports(store, &f);
    check_group_end("nbd exports", before);
    before = check_failures();
    test_modes(store, &f);
    check_group_end("mode switches and detach", before);
    sendense_string_free(f.ctx);
    sendense_string_free(f.other_ctx);
    sendense_string_free(f.job);
    sendense_store_free(store);
    return check_summary();
}
