/*
 * C ABI test of failover jobs: a test failover walked through every step with its devices
 * switched to failover mode and back by its rollback, a live failover committed, the typed
 * snapshot and the JSON read-outs; with the refusals: NULL arguments, malformed or unknown
 * JSON, a status outside the enum, a skipped step, unknown ids, a second rollback, the commit
 * of a test failover, an unmapped network, a second active failover and a replication start
 * beside one, the context status edges that belong to failovers; each leaving the
 * out-parameters untouched. Every string and error is freed (the program also runs under
 * ASan/LSan and valgrind). Usage: failover_abi TMPDIR
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "sendense.h"

#define SENTINEL ((char *)"untouched")
#define OK(call) CHECK_STATUS((call), SENDENSE_STATUS_OK, err)

static const char *const STEPS[] = {"validating", "snapshotting", "creating_vm",
                                    "switching_volume", "powering_on", "completed"};

static sendense_store *open_store(const char *dir) {
    char path[4096];
    sendense_store *store = NULL;
    sendense_error *err = NULL;
    snprintf(path, sizeof path, "%s/failover_abi.db", dir);
    CHECK_STATUS(sendense_store_open(path, NULL, &store, &err), SENDENSE_STATUS_OK, err);
    return store;
}

/* A context named `name` with one replicated disk (on network `network` when not NULL) and,
 * when `volume` is not NULL, an oma device mapping of that volume; returns the context id. */
static char *ready_context(sendense_store *s, const char *name, const char *network, const char *volume) {
    char json[1024];
    char *ctx = NULL, *job = NULL, *map = NULL;
    sendense_error *err = NULL;
    snprintf(json, sizeof json,
             "{\"vm_name\":\"%s\",\"vmware_vm_id\":\"id-%s\",\"vm_path\":\"/dc/vm/%s\",\"vcenter_host\":\"vc\","
             "\"datacenter\":\"dc\"}",
             name, name, name);
    OK(sendense_context_create(s, json, &ctx, &err));
    if (network != NULL) {
        snprintf(json, sizeof json,
                 "{\"context_id\":\"%s\",\"disks\":[{\"disk_id\":\"disk-2000\",\"vm_dk_path\":\"[ds] a.vmdk\","
                 "\"size_gb\":10,\"network_config\":[{\"network_name\":\"%s\"}]}]}",
                 ctx, network);
    } else {
        snprintf(json, sizeof json,
                 "{\"context_id\":\"%s\",\"disks\":[{\"disk_id\":\"disk-2000\",\"vm_dk_path\":\"[ds] a.vmdk\","
                 "\"size_gb\":10}]}",
                 ctx);
    }
    OK(sendense_replication_start(s, json, &job, &err));
    OK(sendense_replication_set_status(s, job, "completed", NULL, &err));
    if (volume != NULL) {
        snprintf(json, sizeof json,
                 "{\"vm_context_id\":\"%s\",\"volume_uuid\":\"%s\",\"vm_id\":\"oma\",\"device_path\":\"/dev/%s\"}",
                 ctx, volume, volume);
        OK(sendense_device_attach(s, json, &map, &err));
    }
    sendense_string_free(job);
    sendense_string_free(map);
    sendense_error_free(err);
    return ctx;
}

/* Whether the JSON read-out of the context contains `needle`. */
static void check_context(sendense_store *s, const char *ctx, const char *needle) {
    char *json = NULL;
    sendense_error *err = NULL;
    OK(sendense_context_get_json(s, ctx, &json, &err));
    CHECK_CONTAINS(json, needle);
    sendense_string_free(json);
    sendense_error_free(err);
}

static void check_device(sendense_store *s, const char *volume, const char *needle) {
    char *json = NULL;
    sendense_error *err = NULL;
    OK(sendense_device_get_json(s, volume, &json, &err));
    CHECK_CONTAINS(json, needle);
    sendense_string_free(json);
    sendense_error_free(err);
}

static void test_walk_and_rollback(sendense_store *s) {
    sendense_error *err = NULL;
    sendense_failover_job *job = NULL;
    char *ctx = ready_context(s, "web", NULL, "vol-w");
    char *id = NULL, *json = NULL;
    char start[512];
    int64_t ms = -1;
    size_t i;

    snprintf(start, sizeof start, "{\"context_id\":\"%s\",\"job_type\":\"test\",\"id\":\"fo-web\"}", ctx);
    OK(sendense_failover_start(s, start, &id, &err));
    CHECK_STR_EQ(id, "fo-web");
    EXPECT_FAIL(sendense_failover_start(s, start, &json, errp), SENDENSE_STATUS_ALREADY_EXISTS, "fo-web");
    CHECK(json == NULL);
    for (i = 0; i < sizeof STEPS / sizeof STEPS[0]; i++) {
        const char *results = strcmp(STEPS[i], "creating_vm") == 0 ? "{\"destination_vm_id\":\"cs-vm-1\"}" : NULL;
        OK(sendense_failover_set_status(s, "fo-web", STEPS[i], results, &err));
        if (strcmp(STEPS[i], "switching_volume") == 0) {
            check_device(s, "vol-w", "\"operation_mode\":\"failover\"");
            check_device(s, "vol-w", "\"device_path\":null");
            check_context(s, ctx, "\"current_status\":\"ready_for_failover\"");
        }
    }
    check_context(s, ctx, "\"current_status\":\"failed_over_test\"");
    check_context(s, ctx, "\"operation\":\"failover\"");
    check_context(s, ctx, "\"outcome\":\"completed\"");

    OK(sendense_failover_get(s, "fo-web", &job, &err));
    CHECK_STR_EQ(sendense_failover_job_id(job), "fo-web");
    CHECK_STR_EQ(sendense_failover_job_context_id(job), ctx);
    CHECK_STR_EQ(sendense_failover_job_type(job), "test");
    CHECK_STR_EQ(sendense_failover_job_status(job), "completed");
    CHECK_STR_EQ(sendense_failover_job_destination_vm_id(job), "cs-vm-1");
    CHECK(sendense_failover_job_replication_job_id(job) != NULL);
    CHECK(sendense_failover_job_error_message(job) == NULL);
    CHECK(sendense_failover_job_created_at_ms(job) > 0);
    CHECK(sendense_failover_job_completed_at_ms(job, &ms) && ms > 0);
    sendense_failover_job_free(job);
    /* Getters on NULL. */
    CHECK(sendense_failover_job_id(NULL) == NULL);
    CHECK(sendense_failover_job_status(NULL) == NULL);
    CHECK(sendense_failover_job_created_at_ms(NULL) == 0);
    CHECK(!sendense_failover_job_completed_at_ms(NULL, &ms));
    sendense_failover_job_free(NULL);

    /* Rollback: cleanup, reverting with the new device path, completed. */
    OK(sendense_failover_rollback(s, "fo-web", &err));
    EXPECT_FAIL(sendense_failover_set_status(s, "fo-web", "reverting", NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "vol-w");
    OK(sendense_failover_set_status(s, "fo-web", "reverting", "{\"device_paths\":{\"vol-w\":\"/dev/vdq\"}}", &err));
    check_device(s, "vol-w", "\"device_path\":\"/dev/vdq\"");
    OK(sendense_failover_set_status(s, "fo-web", "completed", NULL, &err));
    check_context(s, ctx, "\"current_status\":\"ready_for_failover\"");
    check_context(s, ctx, "\"operation\":\"rollback\"");
    EXPECT_FAIL(sendense_failover_rollback(s, "fo-web", errp), SENDENSE_STATUS_INVALID_STATE, "already rolled back");

    OK(sendense_failover_get_json(s, "fo-web", &json, &err));
    CHECK_CONTAINS(json, "\"job_id\":\"fo-web\"");
    CHECK_CONTAINS(json, "\"source_vm_name\":\"web\"");
    CHECK_CONTAINS(json, "\"network_mappings\":[]");
    sendense_string_free(json);
    json = NULL;
    OK(sendense_failover_list_json(s, "{\"job_type\":\"test\",\"status\":\"completed\"}", &json, &err));
    CHECK_CONTAINS(json, "\"fo-web\"");
    sendense_string_free(json);
    json = NULL;
    OK(sendense_failover_list_json(s, NULL, &json, &err));
    CHECK_CONTAINS(json, "\"fo-web\"");
    sendense_string_free(json);

    sendense_string_free(id);
    sendense_string_free(ctx);
    sendense_error_free(err);
}

static void test_live_commit(sendense_store *s) {
    sendense_error *err = NULL;
    char *ctx = ready_context(s, "db", NULL, NULL);
    char *id = NULL;
    char start[512];
    size_t i;

    snprintf(start, sizeof start, "{\"context_id\":\"%s\",\"job_type\":\"live\"}", ctx);
    OK(sendense_failover_start(s, start, &id, &err));
    EXPECT_FAIL(sendense_failover_commit(s, id, errp), SENDENSE_STATUS_INVALID_STATE, "only a completed");
    for (i = 0; i < sizeof STEPS / sizeof STEPS[0]; i++) {
        OK(sendense_failover_set_status(s, id, STEPS[i], NULL, &err));
    }
    check_context(s, ctx, "\"current_status\":\"failed_over_live\"");
    EXPECT_FAIL(sendense_context_set_status(s, ctx, "completed", errp), SENDENSE_STATUS_INVALID_STATE,
                "failover_commit");
    OK(sendense_failover_commit(s, id, &err));
    check_context(s, ctx, "\"current_status\":\"completed\"");
    check_context(s, ctx, "\"operation\":\"commit\"");
    EXPECT_FAIL(sendense_failover_rollback(s, id, errp), SENDENSE_STATUS_INVALID_STATE, "committed");
    EXPECT_FAIL(sendense_failover_commit(s, id, errp), SENDENSE_STATUS_INVALID_STATE, "already committed");
    sendense_string_free(id);
    sendense_string_free(ctx);
    sendense_error_free(err);
}

static void test_refusals(sendense_store *s) {
    sendense_error *err = NULL;
    sendense_failover_job *job = (sendense_failover_job *)SENTINEL;
    char *ctx = ready_context(s, "app", NULL, NULL);
    char *netted = ready_context(s, "mail", "Prod LAN", NULL);
    char *id = NULL, *out = SENTINEL;
    char json[512];

    /* NULLs and malformed input. */
    EXPECT_FAIL(sendense_failover_start(NULL, "{}", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store is NULL");
    EXPECT_FAIL(sendense_failover_start(s, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json is NULL");
    EXPECT_FAIL(sendense_failover_start(s, "{\"context_id\":", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json");
    snprintf(json, sizeof json, "{\"context_id\":\"%s\",\"job_type\":\"both\"}", ctx);
    EXPECT_FAIL(sendense_failover_start(s, json, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "failover type");
    snprintf(json, sizeof json, "{\"context_id\":\"%s\",\"job_type\":\"test\",\"colour\":1}", ctx);
    EXPECT_FAIL(sendense_failover_start(s, json, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "colour");
    snprintf(json, sizeof json, "{\"context_id\":\"%s\",\"job_type\":\"test\"}", ctx);
    EXPECT_FAIL(sendense_failover_start(s, json, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "failover_id_out");
    EXPECT_FAIL(sendense_failover_start(s, "{\"context_id\":\"nope\",\"job_type\":\"test\"}", &out, errp),
                SENDENSE_STATUS_NOT_FOUND, "nope");
    /* An unmapped network, named. */
    snprintf(json, sizeof json, "{\"context_id\":\"%s\",\"job_type\":\"live\"}", netted);
    EXPECT_FAIL(sendense_failover_start(s, json, &out, errp), SENDENSE_STATUS_INVALID_STATE, "Prod LAN");
    CHECK(out == SENTINEL);

    snprintf(json, sizeof json, "{\"context_id\":\"%s\",\"job_type\":\"test\"}", ctx);
    OK(sendense_failover_start(s, json, &id, &err));
    EXPECT_FAIL(sendense_failover_start(s, json, &out, errp), SENDENSE_STATUS_CONFLICT, "active failover", id);
    snprintf(json, sizeof json,
             "{\"context_id\":\"%s\",\"disks\":[{\"disk_id\":\"disk-2000\",\"vm_dk_path\":\"[ds] a.vmdk\","
             "\"size_gb\":10}]}",
             ctx);
    EXPECT_FAIL(sendense_replication_start(s, json, &out, errp), SENDENSE_STATUS_CONFLICT, "active failover");
    CHECK(out == SENTINEL);

    EXPECT_FAIL(sendense_failover_set_status(s, id, "snapshotting", NULL, errp), SENDENSE_STATUS_INVALID_STATE,
                "from pending to snapshotting");
    EXPECT_FAIL(sendense_failover_set_status(s, id, "running", NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "failover status");
    EXPECT_FAIL(sendense_failover_set_status(s, id, "failed", NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "failover_fail");
    EXPECT_FAIL(sendense_failover_set_status(s, id, "validating", "{\"destination\":1}", errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "destination");
    EXPECT_FAIL(sendense_failover_set_status(s, id, "validating", "[", errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json");
    EXPECT_FAIL(sendense_failover_set_status(s, NULL, "validating", NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "failover_id is NULL");
    EXPECT_FAIL(sendense_failover_set_status(s, id, NULL, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "status is NULL");
    EXPECT_FAIL(sendense_failover_set_status(s, "nope", "validating", NULL, errp), SENDENSE_STATUS_NOT_FOUND, "nope");
    EXPECT_FAIL(sendense_failover_rollback(s, id, errp), SENDENSE_STATUS_INVALID_STATE, "pending");
    EXPECT_FAIL(sendense_failover_rollback(s, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "failover_id is NULL");
    EXPECT_FAIL(sendense_failover_commit(s, id, errp), SENDENSE_STATUS_INVALID_STATE, "only a live");
    EXPECT_FAIL(sendense_failover_commit(s, "nope", errp), SENDENSE_STATUS_NOT_FOUND, "nope");
    EXPECT_FAIL(sendense_failover_fail(s, id, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "error_message is NULL");
    EXPECT_FAIL(sendense_failover_fail(s, id, "", errp), SENDENSE_STATUS_INVALID_ARGUMENT, "empty");
    EXPECT_FAIL(sendense_failover_get_json(s, "nope", &out, errp), SENDENSE_STATUS_NOT_FOUND, "nope");
    EXPECT_FAIL(sendense_failover_get_json(s, id, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json_out");
    EXPECT_FAIL(sendense_failover_list_json(s, "{\"kind\":\"x\"}", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "kind");
    EXPECT_FAIL(sendense_failover_get(s, "nope", &job, errp), SENDENSE_STATUS_NOT_FOUND, "nope");
    CHECK(out == SENTINEL && job == (sendense_failover_job *)SENTINEL);

    /* A failure keeps the context where it is. */
    OK(sendense_failover_fail(s, id, "no capacity", &err));
    check_context(s, ctx, "\"current_status\":\"ready_for_failover\"");
    check_context(s, ctx, "\"error\":\"no capacity\"");
    EXPECT_FAIL(sendense_failover_fail(s, id, "again", errp), SENDENSE_STATUS_INVALID_STATE, "failed is final");
    /* The edges into failed_over_* belong to failovers. */
    EXPECT_FAIL(sendense_context_set_status(s, ctx, "failed_over_test", errp), SENDENSE_STATUS_INVALID_STATE,
                "failover_start");

    sendense_string_free(id);
    sendense_string_free(ctx);
    sendense_string_free(netted);
    sendense_error_free(err);
}

int main(int argc, char **argv) {
    sendense_store *store;
    unsigned long before;
    if (argc != 2) {
        fprintf(stderr, "usage: %s TMPDIR\n", argc > 0 ? argv[0] : "failover_abi");
        return 2;
    }
    store = open_store(argv[1]);
    before = check_failures();
    test_walk_and_rollback(store);
    check_group_end("test failover and rollback", before);
    before = check_failures();
    test_live_commit(store);
    check_group_end("live failover and commit", before);
    before = check_failures();
    test_refusals(store);
    check_group_end("refusals", before);
    sendense_store_free(store);
    return check_summary();
}
