/*
 * C ABI test of leases and of the volume daemon's records: lease acquire, renew, release by
 * owner, lists and pool definitions; volume operations (create, status changes with response
 * and error, JSON read-outs, lists, history, stuck operations), volume mounts and metrics
 * (computed and recorded). With the refusals: NULL arguments, malformed or unknown JSON, bad
 * ttl, unknown pools, operations, mounts and jobs (NOT_FOUND naming them), forbidden
 * transitions, a full pool; each leaving the out-parameters untouched. Every string and
 * error is freed (the program also runs under ASan/LSan and valgrind). Usage: lease_abi TMPDIR
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "sendense.h"

#define SENTINEL ((char *)"untouched")
#define SENTINEL_ID INT64_C(-4242)

/* How many times `needle` occurs in `haystack`. */
static int count_of(const char *haystack, const char *needle) {
    int n = 0;
    const char *p = haystack;
    while (p != NULL && (p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static sendense_store *open_store(const char *dir) {
    char path[4096];
    sendense_store *store = NULL;
    sendense_error *err = NULL;
    snprintf(path, sizeof path, "%s/lease_abi.db", dir);
    CHECK_STATUS(sendense_store_open(path, NULL, &store, &err), SENDENSE_STATUS_OK, err);
    return store;
}

static void test_leases(sendense_store *s) {
    char *json = NULL;
    char *out = SENTINEL;
    sendense_error *err = NULL;
    int i;

    CHECK_STATUS(sendense_lease_acquire(s, "backup_nbd_port", "job-a", 60000, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"resource\":\"10100\"");
    CHECK_CONTAINS(json, "\"owner_id\":\"job-a\"");
    CHECK_CONTAINS(json, "\"pool\":\"backup_nbd_port\"");
    CHECK_CONTAINS(json, "\"expires_at\":\"");
    sendense_string_free(json);
    /* The same owner asking again gets another port. */
    CHECK_STATUS(sendense_lease_acquire(s, "backup_nbd_port", "job-a", 60000, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"resource\":\"10101\"");
    sendense_string_free(json);
    CHECK_STATUS(sendense_lease_acquire(s, "backup_nbd_port", "job-b", 60000, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"resource\":\"10102\"");
    sendense_string_free(json);

    CHECK_STATUS(sendense_lease_list_json(s, "backup_nbd_port", NULL, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK(count_of(json, "\"owner_id\":") == 3);
    sendense_string_free(json);
    CHECK_STATUS(sendense_lease_list_json(s, "backup_nbd_port", "job-a", &json, &err), SENDENSE_STATUS_OK, err);
    CHECK(count_of(json, "\"owner_id\":\"job-a\"") == 2);
    CHECK(count_of(json, "job-b") == 0);
    sendense_string_free(json);

    /* Renew: with and without the out-parameter. */
    CHECK_STATUS(sendense_lease_renew(s, "backup_nbd_port", "job-a", 120000, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK(count_of(json, "\"owner_id\":\"job-a\"") == 2);
    sendense_string_free(json);
    CHECK_STATUS(sendense_lease_renew(s, "backup_nbd_port", "job-b", 120000, NULL, &err), SENDENSE_STATUS_OK, err);

    /* Release by owner id; releasing nothing is fine. */
    CHECK_STATUS(sendense_lease_release(s, "backup_nbd_port", "job-a", &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_lease_release(s, "backup_nbd_port", "job-a", &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_lease_list_json(s, "backup_nbd_port", NULL, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK(count_of(json, "\"owner_id\":") == 1);
    CHECK_CONTAINS(json, "job-b");
    sendense_string_free(json);
    EXPECT_FAIL(sendense_lease_renew(s, "backup_nbd_port", "job-a", 1000, &out, errp), SENDENSE_STATUS_NOT_FOUND,
                "owner job-a holds no live lease in pool backup_nbd_port");
    CHECK(out == SENTINEL);

    /* A full pool names the pool and its size. */
    for (i = 0; i < 8; i++) {
        char owner[32];
        snprintf(owner, sizeof owner, "restore-%d", i);
        CHECK_STATUS(sendense_lease_acquire(s, "restore_nbd_device", owner, 60000, &json, &err), SENDENSE_STATUS_OK,
                     err);
        sendense_string_free(json);
    }
    EXPECT_FAIL(sendense_lease_acquire(s, "restore_nbd_device", "restore-9", 1000, &out, errp),
                SENDENSE_STATUS_CONFLICT, "lease pool restore_nbd_device is full", "all 8 of its resources");
    CHECK(out == SENTINEL);
    CHECK_STATUS(sendense_lease_release(s, "restore_nbd_device", "restore-3", &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_lease_acquire(s, "restore_nbd_device", "restore-9", 1000, &json, &err), SENDENSE_STATUS_OK,
                 err);
    CHECK_CONTAINS(json, "\"resource\":\"/dev/nbd3\"");
    sendense_string_free(json);

    /* Bad inputs. */
    EXPECT_FAIL(sendense_lease_acquire(s, "backup_nbd_port", "job-c", 0, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "ttl_ms 0");
    EXPECT_FAIL(sendense_lease_acquire(s, "backup_nbd_port", "job-c", -1, &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "ttl_ms -1");
    EXPECT_FAIL(sendense_lease_acquire(s, "nbd_ports", "job-c", 1000, &out, errp), SENDENSE_STATUS_NOT_FOUND,
                "lease pool \"nbd_ports\" does not exist");
    EXPECT_FAIL(sendense_lease_acquire(NULL, "backup_nbd_port", "job-c", 1000, &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "store is NULL");
    EXPECT_FAIL(sendense_lease_acquire(s, NULL, "job-c", 1000, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "pool is NULL");
    EXPECT_FAIL(sendense_lease_acquire(s, "backup_nbd_port", NULL, 1000, &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "owner_id is NULL");
    EXPECT_FAIL(sendense_lease_acquire(s, "backup_nbd_port", "", 1000, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "owner id is empty");
    EXPECT_FAIL(sendense_lease_acquire(s, "backup_nbd_port", "job-c", 1000, NULL, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "lease_json_out is NULL");
    EXPECT_FAIL(sendense_lease_acquire(s, "backup_nbd_port", "\xff", 1000, &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "owner_id is not valid UTF-8");
    EXPECT_FAIL(sendense_lease_renew(s, "nbd_ports", "job-b", 1000, &out, errp), SENDENSE_STATUS_NOT_FOUND,
                "nbd_ports");
    EXPECT_FAIL(sendense_lease_renew(s, "backup_nbd_port", "job-b", 0, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "ttl_ms");
    EXPECT_FAIL(sendense_lease_renew(NULL, "backup_nbd_port", "job-b", 1000, &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "store is NULL");
    EXPECT_FAIL(sendense_lease_release(s, "nbd_ports", "job-b", errp), SENDENSE_STATUS_NOT_FOUND, "nbd_ports");
    EXPECT_FAIL(sendense_lease_release(s, "backup_nbd_port", NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "owner_id is NULL");
    EXPECT_FAIL(sendense_lease_release(s, NULL, "job-b", errp), SENDENSE_STATUS_INVALID_ARGUMENT, "pool is NULL");
    EXPECT_FAIL(sendense_lease_release(NULL, "backup_nbd_port", "job-b", errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "store is NULL");
    EXPECT_FAIL(sendense_lease_list_json(s, "nbd_ports", NULL, &out, errp), SENDENSE_STATUS_NOT_FOUND, "nbd_ports");
    EXPECT_FAIL(sendense_lease_list_json(s, "backup_nbd_port", NULL, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "json_out is NULL");
    EXPECT_FAIL(sendense_lease_list_json(s, NULL, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "pool is NULL");
    CHECK(out == SENTINEL);
}

static void test_pools(sendense_store *s) {
    char *json = NULL;
    char *out = SENTINEL;
    sendense_error *err = NULL;

    CHECK_STATUS(sendense_lease_pools_json(s, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"name\":\"backup_nbd_port\"");
    CHECK_CONTAINS(json, "\"name\":\"restore_nbd_device\"");
    CHECK_CONTAINS(json, "\"/dev/nbd7\"");
    sendense_string_free(json);

    CHECK_STATUS(sendense_lease_pool_define(s, "{\"name\":\"iscsi\",\"description\":\"targets\",\"resources\":[\"t2\","
                                              "\"t1\"]}",
                                           &json, &err),
                 SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"resources\":[\"t2\",\"t1\"]");
    CHECK_CONTAINS(json, "\"leased\":0");
    sendense_string_free(json);
    CHECK_STATUS(sendense_lease_acquire(s, "iscsi", "job-i", 60000, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"resource\":\"t2\"");
    sendense_string_free(json);
    EXPECT_FAIL(sendense_lease_pool_define(s, "{\"name\":\"iscsi\",\"resources\":[\"u\"]}", &out, errp),
                SENDENSE_STATUS_CONFLICT, "lease pool iscsi has 1 live lease(s)");
    CHECK_STATUS(sendense_lease_release(s, "iscsi", "job-i", &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_lease_pool_define(s, "{\"name\":\"iscsi\",\"resources\":[\"u\"]}", NULL, &err),
                 SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_lease_pools_json(s, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"resources\":[\"u\"]");
    sendense_string_free(json);

    EXPECT_FAIL(sendense_lease_pool_define(s, "{\"name\":\"p\",\"resources\":[]}", &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "resources is empty");
    EXPECT_FAIL(sendense_lease_pool_define(s, "{\"name\":\"p\",\"resources\":[\"a\",\"a\"]}", &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "listed twice");
    EXPECT_FAIL(sendense_lease_pool_define(s, "{\"name\":\"p\",\"resources\":[\"a\"],\"size\":1}", &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "unknown field `size`");
    EXPECT_FAIL(sendense_lease_pool_define(s, "{\"name\":", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json");
    EXPECT_FAIL(sendense_lease_pool_define(s, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json is NULL");
    EXPECT_FAIL(sendense_lease_pool_define(NULL, "{}", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store is NULL");
    EXPECT_FAIL(sendense_lease_pools_json(s, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json_out is NULL");
    EXPECT_FAIL(sendense_lease_pools_json(NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store is NULL");
    CHECK(out == SENTINEL);
}

static void test_volume_ops(sendense_store *s) {
    char *id = NULL;
    char *json = NULL;
    char *out = SENTINEL;
    sendense_error *err = NULL;

    CHECK_STATUS(sendense_volume_op_create(s, "{\"type\":\"attach\",\"volume_id\":\"vol-1\",\"vm_id\":\"vm-hub\","
                                             "\"request\":{\"device\":\"auto\"}}",
                                          &id, &err),
                 SENDENSE_STATUS_OK, err);
    CHECK(id != NULL && strlen(id) == 36);
    CHECK_STATUS(sendense_volume_op_create(s, "{\"id\":\"op-2\",\"type\":\"detach\",\"volume_id\":\"vol-2\","
                                             "\"request\":{}}",
                                          &json, &err),
                 SENDENSE_STATUS_OK, err);
    CHECK_STR_EQ(json, "op-2");
    sendense_string_free(json);

    CHECK_STATUS(sendense_volume_op_set_status(s, id, "executing", NULL, NULL, &err), SENDENSE_STATUS_OK, err);
    sleep_ms(5);
    CHECK_STATUS(sendense_volume_op_stuck_json(s, 0, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, id);
    CHECK(count_of(json, "\"status\":\"executing\"") == 1);
    sendense_string_free(json);
    CHECK_STATUS(sendense_volume_op_stuck_json(s, 3600000, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_STR_EQ(json, "[]");
    sendense_string_free(json);
    CHECK_STATUS(sendense_volume_op_set_status(s, id, "completed", "{\"device_path\":\"/dev/vdb\"}", NULL, &err),
                 SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_volume_op_get_json(s, id, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"status\":\"completed\"");
    CHECK_CONTAINS(json, "\"type\":\"attach\"");
    CHECK_CONTAINS(json, "\"request\":{\"device\":\"auto\"}");
    CHECK_CONTAINS(json, "\"response\":{\"device_path\":\"/dev/vdb\"}");
    CHECK(count_of(json, "\"completed_at\":\"") == 1);
    sendense_string_free(json);
    CHECK_STATUS(sendense_volume_op_history_json(s, id, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK(count_of(json, "\"new_status\":") == 3);
    CHECK_CONTAINS(json, "\"previous_status\":null,\"new_status\":\"pending\"");
    CHECK_CONTAINS(json, "\"previous_status\":\"executing\",\"new_status\":\"completed\"");
    sendense_string_free(json);

    CHECK_STATUS(sendense_volume_op_set_status(s, "op-2", "failed", NULL, "volume busy", &err), SENDENSE_STATUS_OK,
                 err);
    CHECK_STATUS(sendense_volume_op_get_json(s, "op-2", &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"error\":\"volume busy\"");
    sendense_string_free(json);
    CHECK_STATUS(sendense_volume_op_list_json(s, NULL, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK(count_of(json, "\"volume_id\":") == 2);
    sendense_string_free(json);
    CHECK_STATUS(sendense_volume_op_list_json(s, "{\"status\":\"failed\",\"type\":\"detach\"}", &json, &err),
                 SENDENSE_STATUS_OK, err);
    CHECK(count_of(json, "\"id\":\"op-2\"") == 1 && count_of(json, "\"volume_id\":") == 1);
    sendense_string_free(json);

    /* Metrics: 2 operations, 1 completed, 1 failed. */
    CHECK_STATUS(sendense_volume_metrics_json(s, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"total_operations\":2");
    CHECK_CONTAINS(json, "\"pending_operations\":0");
    CHECK_CONTAINS(json, "\"error_rate_percent\":50.0");
    CHECK_CONTAINS(json, "\"operations_by_type\":{\"attach\":1,\"cleanup\":0,\"create\":0,\"delete\":0,\"detach\":1}");
    CHECK(count_of(json, "\"id\":") == 0);
    sendense_string_free(json);
    CHECK_STATUS(sendense_volume_metrics_record(s, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"id\":1");
    CHECK_CONTAINS(json, "\"total_operations\":2");
    sendense_string_free(json);
    CHECK_STATUS(sendense_volume_metrics_record(s, NULL, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_volume_metrics_samples_json(s, 10, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK(count_of(json, "\"total_operations\":2") == 2);
    CHECK(strncmp(json, "[{\"id\":2,", 9) == 0);
    sendense_string_free(json);
    CHECK_STATUS(sendense_volume_metrics_samples_json(s, 0, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_STR_EQ(json, "[]");
    sendense_string_free(json);

    /* Refusals. */
    EXPECT_FAIL(sendense_volume_op_set_status(s, id, "executing", NULL, NULL, errp), SENDENSE_STATUS_INVALID_STATE,
                "completed is final");
    EXPECT_FAIL(sendense_volume_op_set_status(s, "op-404", "executing", NULL, NULL, errp), SENDENSE_STATUS_NOT_FOUND,
                "volume operation \"op-404\" does not exist");
    EXPECT_FAIL(sendense_volume_op_set_status(s, id, "done", NULL, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "\"done\" is not a valid volume operation status");
    EXPECT_FAIL(sendense_volume_op_set_status(s, id, "failed", NULL, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "error message");
    EXPECT_FAIL(sendense_volume_op_set_status(s, id, "completed", "{\"x\":", NULL, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "response_json");
    EXPECT_FAIL(sendense_volume_op_set_status(s, NULL, "completed", NULL, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "operation_id is NULL");
    EXPECT_FAIL(sendense_volume_op_set_status(s, id, NULL, NULL, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "status is NULL");
    EXPECT_FAIL(sendense_volume_op_set_status(NULL, id, "completed", NULL, NULL, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "store is NULL");
    EXPECT_FAIL(sendense_volume_op_create(s, "{\"id\":\"op-2\",\"type\":\"create\",\"volume_id\":\"v\",\"request\":{}}",
                                          &out, errp),
                SENDENSE_STATUS_ALREADY_EXISTS, "volume operation op-2 already exists");
    EXPECT_FAIL(sendense_volume_op_create(s, "{\"type\":\"resize\",\"volume_id\":\"v\",\"request\":{}}", &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "not a valid volume operation type");
    EXPECT_FAIL(sendense_volume_op_create(s, "{\"type\":\"create\",\"volume_id\":\"v\",\"request\":{},\"x\":1}", &out,
                                          errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "unknown field `x`");
    EXPECT_FAIL(sendense_volume_op_create(s, "{\"type\":\"create\",\"volume_id\":\"v\",\"request\":[]}", &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "request must be a JSON object");
    EXPECT_FAIL(sendense_volume_op_create(s, "{", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json");
    EXPECT_FAIL(sendense_volume_op_create(s, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json is NULL");
    EXPECT_FAIL(sendense_volume_op_create(s, "{\"type\":\"create\",\"volume_id\":\"v\",\"request\":{}}", NULL, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "operation_id_out is NULL");
    EXPECT_FAIL(sendense_volume_op_create(NULL, "{}", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store is NULL");
    EXPECT_FAIL(sendense_volume_op_get_json(s, "op-404", &out, errp), SENDENSE_STATUS_NOT_FOUND, "op-404");
    EXPECT_FAIL(sendense_volume_op_get_json(s, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "operation_id is NULL");
    EXPECT_FAIL(sendense_volume_op_get_json(s, id, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json_out is NULL");
    EXPECT_FAIL(sendense_volume_op_history_json(s, "op-404", &out, errp), SENDENSE_STATUS_NOT_FOUND, "op-404");
    EXPECT_FAIL(sendense_volume_op_history_json(s, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "operation_id is NULL");
    EXPECT_FAIL(sendense_volume_op_list_json(s, "{\"state\":\"failed\"}", &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "unknown field `state`");
    EXPECT_FAIL(sendense_volume_op_list_json(s, NULL, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "json_out is NULL");
    EXPECT_FAIL(sendense_volume_op_stuck_json(s, -1, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "older_than_ms is negative");
    EXPECT_FAIL(sendense_volume_op_stuck_json(NULL, 0, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store is NULL");
    EXPECT_FAIL(sendense_volume_metrics_json(s, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json_out is NULL");
    EXPECT_FAIL(sendense_volume_metrics_json(NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store is NULL");
    EXPECT_FAIL(sendense_volume_metrics_record(NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store is NULL");
    EXPECT_FAIL(sendense_volume_metrics_samples_json(s, 1, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "json_out is NULL");
    EXPECT_FAIL(sendense_volume_metrics_samples_json(NULL, 1, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "store is NULL");
    CHECK(out == SENTINEL);
    sendense_string_free(id);
}

static void test_mounts(sendense_store *s) {
    char *ctx = NULL;
    char *job = NULL;
    char *json = NULL;
    char *out = SENTINEL;
    int64_t mount_id = SENTINEL_ID;
    sendense_error *err = NULL;

    CHECK_STATUS(sendense_context_create(s, "{\"vm_name\":\"web-01\",\"vmware_vm_id\":\"id-web\",\"vm_path\":\"/dc/vm/"
                                            "web-01\",\"vcenter_host\":\"vc\",\"datacenter\":\"dc\"}",
                                         &ctx, &err),
                 SENDENSE_STATUS_OK, err);
    {
        char start[512];
        snprintf(start, sizeof start,
                 "{\"id\":\"job-m\",\"context_id\":\"%s\",\"disks\":[{\"disk_id\":\"disk-2000\",\"vm_dk_path\":\"[ds] "
                 "a.vmdk\",\"size_gb\":10}]}",
                 ctx);
        CHECK_STATUS(sendense_replication_start(s, start, &job, &err), SENDENSE_STATUS_OK, err);
    }
    CHECK_STATUS(sendense_volume_mount_list_json(s, "job-m", &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_STR_EQ(json, "[]");
    sendense_string_free(json);

    /* No ossea_volumes row exists here (volumes are another area's C ABI): the refusals. */
    EXPECT_FAIL(sendense_volume_mount_create(
                    s, "{\"ossea_volume_id\":99,\"job_id\":\"job-m\",\"device_path\":\"/dev/vdb\"}", &mount_id, errp),
                SENDENSE_STATUS_NOT_FOUND, "ossea volume 99 does not exist");
    EXPECT_FAIL(sendense_volume_mount_create(
                    s, "{\"ossea_volume_id\":99,\"job_id\":\"job-m\",\"device_path\":\"vdb\"}", &mount_id, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "not an absolute path");
    EXPECT_FAIL(sendense_volume_mount_create(
                    s, "{\"ossea_volume_id\":1,\"job_id\":\"job-m\",\"device_path\":\"/d\",\"mode\":1}", &mount_id,
                    errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "unknown field `mode`");
    EXPECT_FAIL(sendense_volume_mount_create(s, NULL, &mount_id, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "json is NULL");
    EXPECT_FAIL(sendense_volume_mount_create(
                    s, "{\"ossea_volume_id\":1,\"job_id\":\"job-m\",\"device_path\":\"/dev/vdb\"}", NULL, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "mount_id_out is NULL");
    EXPECT_FAIL(sendense_volume_mount_create(NULL, "{}", &mount_id, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "store is NULL");
    CHECK(mount_id == SENTINEL_ID);
    EXPECT_FAIL(sendense_volume_mount_set_status(s, 7, "mounted", errp), SENDENSE_STATUS_NOT_FOUND,
                "volume mount 7 does not exist");
    EXPECT_FAIL(sendense_volume_mount_set_status(s, 7, "up", errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "\"up\" is not a valid mount status");
    EXPECT_FAIL(sendense_volume_mount_set_status(s, 7, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "status is NULL");
    EXPECT_FAIL(sendense_volume_mount_set_status(NULL, 7, "mounted", errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "store is NULL");
    EXPECT_FAIL(sendense_volume_mount_get_json(s, 7, &out, errp), SENDENSE_STATUS_NOT_FOUND,
                "volume mount 7 does not exist");
    EXPECT_FAIL(sendense_volume_mount_get_json(s, 7, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json_out is NULL");
    EXPECT_FAIL(sendense_volume_mount_list_json(s, "job-404", &out, errp), SENDENSE_STATUS_NOT_FOUND,
                "replication job \"job-404\" does not exist");
    EXPECT_FAIL(sendense_volume_mount_list_json(s, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "job_id is NULL");
    CHECK(out == SENTINEL);
    sendense_string_free(job);
    sendense_string_free(ctx);
}

int main(int argc, char **argv) {
    sendense_store *store;
    unsigned long before;
    if (argc != 2) {
        fprintf(stderr, "usage: %s TMPDIR\n", argc > 0 ? argv[0] : "lease_abi");
        return 2;
    }
    store = open_store(argv[1]);
    before = check_failures();
    test_leases(store);
    check_group_end("leases", before);
    before = check_failures();
    test_pools(store);
    check_group_end("lease pools", before);
    before = check_failures();
    test_volume_ops(store);
    check_group_end("volume operations and metrics", before);
    before = check_failures();
    test_mounts(store);
    check_group_end("volume mounts", before);
    sendense_store_free(store);
    return check_summary();
}
