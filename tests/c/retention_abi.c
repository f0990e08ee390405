/*
 * C ABI test of retention: the CBT decision of a backup, a policy with keep rules, a plan with
 * its reasons, apply, a stale plan refused, and the refusals of bad arguments (NULLs, unknown policy, unknown time zone,
 * malformed plans), each leaving the out-parameters untouched. Usage: retention_abi TMPDIR
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "sendense.h"

#define SENTINEL ((char *)"untouched")

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Start, run and complete point `id` of `type` for disk 0 with change id `change`. */
static void backup(sendense_store *s, const char *ctx, const char *repo, const char *policy, const char *id,
                   const char *type, const char *change) {
    char json[1024];
    char *out = NULL;
    sendense_error *err = NULL;
    snprintf(json, sizeof json,
             "{\"id\":\"%s\",\"context_id\":\"%s\",\"disk_id\":0,\"repository_id\":\"%s\",\"policy_id\":\"%s\","
             "\"backup_type\":\"%s\",\"repository_path\":\"/srv/main/%s.qcow2\"}",
             id, ctx, repo, policy, type, id);
    CHECK_STATUS(sendense_backup_start(s, json, &out, &err), SENDENSE_STATUS_OK, err);
    sendense_string_free(out);
    CHECK_STATUS(sendense_backup_set_running(s, id, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_backup_complete(s, id, change, 10, 10, &err), SENDENSE_STATUS_OK, err);
}

/* A full in an immutable repository is locked from completion (no grace) for 30 days, and
 * its delete is refused with the reason. */
static void test_immutable(sendense_store *s, const char *ctx, const char *policy) {
    char *vault = NULL;
    sendense_backup *b = NULL;
    sendense_error *err = NULL;
    int64_t completed = 0, from = 0, until = 0;
    CHECK_STATUS(sendense_repository_create(s,
                                            "{\"name\":\"vault\",\"repository_type\":\"local\",\"config\":{\"path\":"
                                            "\"/srv/vault\"},\"is_immutable\":true,\"immutable_config\":{"
                                            "\"grace_period_days\":0,\"apply_to_fulls\":true,\"apply_to_incrementals\":true,"
                                            "\"min_retention_days\":30}}",
                                            &vault, &err),
                 SENDENSE_STATUS_OK, err);
    backup(s, ctx, vault, policy, "locked", "full", "52 3c-aa bb/5");
    CHECK_STATUS(sendense_backup_get(s, "locked", &b, &err), SENDENSE_STATUS_OK, err);
    CHECK(sendense_backup_completed_at_ms(b, &completed));
    CHECK(sendense_backup_immutable_from_ms(b, &from) && from == completed);
    CHECK(sendense_backup_immutable_until_ms(b, &until) && until == completed + INT64_C(30) * 86400000);
    sendense_backup_free(b);
    EXPECT_FAIL(sendense_backup_delete(s, "locked", errp), SENDENSE_STATUS_INVALID_STATE, "locked", "immutable from");
    sendense_string_free(vault);
}

/* Progress reports on an active point, and protection refusing a delete until lifted. */
static void test_progress_and_protection(sendense_store *s, const char *ctx, const char *repo) {
    char *out = SENTINEL, *json = NULL;
    sendense_error *err = NULL;
    char start[512];
    snprintf(start, sizeof start,
             "{\"id\":\"p1\",\"context_id\":\"%s\",\"disk_id\":1,\"repository_id\":\"%s\",\"backup_type\":\"full\","
             "\"repository_path\":\"/srv/main/p1.qcow2\"}",
             ctx, repo);
    CHECK_STATUS(sendense_backup_start(s, start, &json, &err), SENDENSE_STATUS_OK, err);
    sendense_string_free(json);
    CHECK_STATUS(sendense_backup_set_running(s, "p1", &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_backup_progress(s, "p1", 50.0, 500, 1000, 100, 5, "transferring", &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_backup_progress(s, "p1", 60.0, 600, 1000, 100, 4, NULL, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_backup_get_json(s, "p1", &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"progress_percent\":60.0");
    CHECK_CONTAINS(json, "\"current_phase\":\"transferring\"");
    CHECK_CONTAINS(json, "\"bytes_transferred\":600");
    sendense_string_free(json);
    EXPECT_FAIL(sendense_backup_progress(s, "p1", 101.0, 0, 0, 0, 0, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "percent");
    EXPECT_FAIL(sendense_backup_progress(s, "p1", 10.0, 2000, 1000, 0, 0, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "total_bytes");
    EXPECT_FAIL(sendense_backup_progress(s, "nope", 10.0, 0, 0, 0, 0, NULL, errp), SENDENSE_STATUS_NOT_FOUND, "nope");
    EXPECT_FAIL(sendense_backup_progress(s, NULL, 10.0, 0, 0, 0, 0, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "backup_id", "NULL");
    CHECK_STATUS(sendense_backup_complete(s, "p1", NULL, 1000, 900, &err), SENDENSE_STATUS_OK, err);
    EXPECT_FAIL(sendense_backup_progress(s, "p1", 10.0, 0, 0, 0, 0, NULL, errp), SENDENSE_STATUS_INVALID_STATE, "completed");

    CHECK_STATUS(sendense_backup_set_protected(s, "p1", true, &err), SENDENSE_STATUS_OK, err);
    EXPECT_FAIL(sendense_backup_delete(s, "p1", errp), SENDENSE_STATUS_INVALID_STATE, "p1", "protected");
    EXPECT_FAIL(sendense_backup_set_protected(s, "nope", true, errp), SENDENSE_STATUS_NOT_FOUND, "nope");
    CHECK_STATUS(sendense_backup_set_protected(s, "p1", false, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_backup_delete(s, "p1", &err), SENDENSE_STATUS_OK, err);
    CHECK(out == SENTINEL);
}

static void test_retention(sendense_store *s) {
    char json[1024];
    char *ctx = NULL, *repo = NULL, *policy = NULL, *plan = NULL, *plan2 = NULL, *out = SENTINEL;
    sendense_error *err = NULL;
    int64_t now;

    CHECK_STATUS(sendense_context_create(s,
                                         "{\"vm_name\":\"db-01\",\"vmware_vm_id\":\"vm-7\",\"vm_path\":\"/DC1/vm/db-01\","
                                         "\"vcenter_host\":\"vc\",\"datacenter\":\"DC1\"}",
                                         &ctx, &err),
                 SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_repository_create(
                     s, "{\"name\":\"main\",\"repository_type\":\"local\",\"config\":{\"path\":\"/srv/main\"}}", &repo, &err),
                 SENDENSE_STATUS_OK, err);
    snprintf(json, sizeof json,
             "{\"name\":\"nightly\",\"primary_repository_id\":\"%s\",\"retention_days\":0,\"keep_last\":1}", repo);
    CHECK_STATUS(sendense_policy_create(s, json, &policy, &err), SENDENSE_STATUS_OK, err);

    /* Two generations: f1 <- i1, f2 <- i2. Keeping the newest (i2) keeps f2. */
    CHECK_STATUS(sendense_backup_cbt_decide(s, ctx, 0, repo, "52 3c-aa bb/1", &plan, &err), SENDENSE_STATUS_OK, err);
    CHECK_STR_EQ(plan, "{\"mode\":\"full\",\"base_change_id\":null,\"reason\":\"no_base\"}");
    sendense_string_free(plan);
    backup(s, ctx, repo, policy, "f1", "full", "52 3c-aa bb/1");
    backup(s, ctx, repo, policy, "i1", "incremental", "52 3c-aa bb/2");
    backup(s, ctx, repo, policy, "f2", "full", "52 3c-aa bb/3");
    backup(s, ctx, repo, policy, "i2", "incremental", "52 3c-aa bb/4");

    /* The next backup of disk 0 builds on i2's change id. */
    CHECK_STATUS(sendense_backup_cbt_decide(s, ctx, 0, repo, "52 3c-aa bb/9", &plan, &err), SENDENSE_STATUS_OK, err);
    CHECK_STR_EQ(plan, "{\"mode\":\"incremental\",\"base_change_id\":\"52 3c-aa bb/4\",\"reason\":\"base_recorded\"}");
    sendense_string_free(plan);
    plan = NULL;
    EXPECT_FAIL(sendense_backup_cbt_decide(s, ctx, 0, "no-repo", "52 3c-aa bb/9", &out, errp), SENDENSE_STATUS_NOT_FOUND,
                "no-repo");
    EXPECT_FAIL(sendense_backup_cbt_decide(s, ctx, 0, repo, "bogus", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "change id");
    CHECK(out == SENTINEL);

    now = now_ms();
    CHECK_STATUS(sendense_retention_plan_json(s, policy, now, "Europe/Berlin", &plan, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(plan, "\"points\":4,\"kept\":2,\"removed\":2");
    CHECK_CONTAINS(plan, "{\"id\":\"i2\",\"reasons\":[\"keep-last 1\"]}");
    CHECK_CONTAINS(plan, "{\"id\":\"f2\",\"reasons\":[\"ancestor of i2\"]}");
    CHECK_CONTAINS(plan, "\"time_zone\":\"Europe/Berlin\"");
    CHECK_CONTAINS(plan, "\"keep_last\":1");
    CHECK(strstr(plan, "\"remove\":[\"f1\",\"i1\"]") != NULL || strstr(plan, "\"remove\":[\"i1\",\"f1\"]") != NULL);

    /* Nothing changed yet; apply removes f1 and i1. */
    CHECK_STATUS(sendense_backup_get_json(s, "f1", &out, &err), SENDENSE_STATUS_OK, err);
    sendense_string_free(out);
    out = SENTINEL;
    CHECK_STATUS(sendense_retention_apply(s, plan, &err), SENDENSE_STATUS_OK, err);
    EXPECT_FAIL(sendense_backup_get_json(s, "f1", &out, errp), SENDENSE_STATUS_NOT_FOUND, "f1");
    EXPECT_FAIL(sendense_backup_get_json(s, "i1", &out, errp), SENDENSE_STATUS_NOT_FOUND, "i1");
    CHECK(out == SENTINEL);

    /* The same plan again is stale; a new one removes nothing. */
    EXPECT_FAIL(sendense_retention_apply(s, plan, errp), SENDENSE_STATUS_CONFLICT, "stale", "4 planned, 2 now");
    CHECK_STATUS(sendense_retention_apply(s, plan, &err), SENDENSE_STATUS_CONFLICT, err);
    snprintf(json, sizeof json,
             "CONFLICT: the retention plan of policy %s is stale: its points changed since the plan was made "
             "(4 planned, 2 now); make a new plan",
             policy);
    CHECK_STR_EQ(sendense_error_message(err), json);
    sendense_error_free(err);
    err = NULL;
    CHECK_STATUS(sendense_retention_plan_json(s, policy, now, "UTC", &plan2, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(plan2, "\"removed\":0");
    CHECK_STATUS(sendense_retention_apply(s, plan2, &err), SENDENSE_STATUS_OK, err);

    /* Bad arguments. */
    EXPECT_FAIL(sendense_retention_plan_json(s, "no-such-policy", now, "UTC", &out, errp), SENDENSE_STATUS_NOT_FOUND,
                "no-such-policy");
    EXPECT_FAIL(sendense_retention_plan_json(s, policy, now, "Mars/Olympus", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "Mars/Olympus");
    EXPECT_FAIL(sendense_retention_plan_json(s, NULL, now, "UTC", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "policy_id", "NULL");
    EXPECT_FAIL(sendense_retention_plan_json(s, policy, now, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "time_zone", "NULL");
    EXPECT_FAIL(sendense_retention_plan_json(s, policy, now, "UTC", NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "plan_json_out", "NULL");
    EXPECT_FAIL(sendense_retention_plan_json(NULL, policy, now, "UTC", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "store", "NULL");
    CHECK(out == SENTINEL);
    EXPECT_FAIL(sendense_retention_apply(s, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "plan_json", "NULL");
    EXPECT_FAIL(sendense_retention_apply(s, "{\"policy_id\":", errp), SENDENSE_STATUS_INVALID_ARGUMENT, "retention plan");
    EXPECT_FAIL(sendense_retention_apply(s, "{}", errp), SENDENSE_STATUS_INVALID_ARGUMENT, "missing field");

    test_immutable(s, ctx, policy);
    test_progress_and_protection(s, ctx, repo);

    sendense_string_free(plan);
    sendense_string_free(plan2);
    sendense_string_free(policy);
    sendense_string_free(repo);
    sendense_string_free(ctx);
}

int main(int argc, char **argv) {
    char path[4096];
    sendense_store *store = NULL;
    sendense_error *err = NULL;
    unsigned long before;
    if (argc != 2) {
        fprintf(stderr, "usage: %s TMPDIR\n", argc > 0 ? argv[0] : "retention_abi");
        return 2;
    }
    snprintf(path, sizeof path, "%s/retention_abi.db", argv[1]);
    CHECK_STATUS(sendense_store_open(path, NULL, &store, &err), SENDENSE_STATUS_OK, err);
    before = check_failures();
    test_retention(store);
    check_group_end("retention", before);
    sendense_store_free(store);
    return check_summary();
}
