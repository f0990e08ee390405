/*
 * C ABI test of backup repositories and policies: creation, JSON read-outs and lists,
 * updates, capacity, deletes, and the refusals (NULL arguments, malformed or unknown JSON,
 * invalid configs, duplicate names, rule violations, unknown ids), each leaving the
 * out-parameters untouched. Usage: backup_abi TMPDIR
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "sendense.h"

#define SENTINEL ((char *)"untouched")

static sendense_store *open_store(const char *dir) {
    char path[4096];
    sendense_store *store = NULL;
    sendense_error *err = NULL;
    snprintf(path, sizeof path, "%s/backup_abi.db", dir);
    CHECK_STATUS(sendense_store_open(path, NULL, &store, &err), SENDENSE_STATUS_OK, err);
    return store;
}

/* Create a local repository named `name`; returns its id (free with sendense_string_free). */
static char *local_repository(sendense_store *s, const char *name) {
    char json[512];
    char *id = NULL;
    sendense_error *err = NULL;
    snprintf(json, sizeof json,
             "{\"name\":\"%s\",\"repository_type\":\"local\",\"config\":{\"path\":\"/srv/%s\"}}", name, name);
    CHECK_STATUS(sendense_repository_create(s, json, &id, &err), SENDENSE_STATUS_OK, err);
    return id;
}

static void test_repositories(sendense_store *s) {
    char *out = SENTINEL;
    char *main_repo = local_repository(s, "main");
    char *json = NULL;
    sendense_error *err = NULL;

    CHECK_STATUS(sendense_repository_get_json(s, main_repo, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"repository_type\":\"local\"");
    CHECK_CONTAINS(json, "\"config\":{\"path\":\"/srv/main\"}");
    sendense_string_free(json);

    EXPECT_FAIL(sendense_repository_create(s, "{\"name\":\"main\",\"repository_type\":\"local\",\"config\":{\"path\":\"/x\"}}",
                                           &out, errp),
                SENDENSE_STATUS_ALREADY_EXISTS, "main");
    EXPECT_FAIL(sendense_repository_create(s, "{\"name\":\"n1\",\"repository_type\":\"nfs\",\"config\":{\"server\":\"filer\"}}",
                                           &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "export_path");
    EXPECT_FAIL(sendense_repository_create(s, "{\"name\":\"n2\",\"repository_type\":\"tape\",\"config\":{}}", &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "tape");
    EXPECT_FAIL(sendense_repository_create(
                    s, "{\"name\":\"n3\",\"repository_type\":\"local\",\"config\":{\"path\":\"/x\",\"colour\":\"red\"}}",
                    &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "colour");
    EXPECT_FAIL(sendense_repository_create(s, "{\"name\":\"n4\",\"repository_type\":\"local\",\"config\":{\"path\":\"/x\"},"
                                              "\"is_immutable\":true}",
                                           &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "immutable_config");
    EXPECT_FAIL(sendense_repository_create(s, "{\"name\":", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json");
    EXPECT_FAIL(sendense_repository_create(s, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json", "NULL");
    EXPECT_FAIL(sendense_repository_create(NULL, "{}", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store", "NULL");
    EXPECT_FAIL(sendense_repository_create(s, "{\"name\":\"n5\",\"repository_type\":\"local\",\"config\":{\"path\":\"/x\"}}",
                                           NULL, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "repository_id_out", "NULL");
    CHECK(out == SENTINEL);

    EXPECT_FAIL(sendense_repository_get_json(s, "no-such-repo", &out, errp), SENDENSE_STATUS_NOT_FOUND, "no-such-repo");
    CHECK(out == SENTINEL);

    CHECK_STATUS(sendense_repository_record_capacity(s, main_repo, 1000, 400, 600, &err), SENDENSE_STATUS_OK, err);
    EXPECT_FAIL(sendense_repository_record_capacity(s, main_repo, 1000, 900, 600, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "exceeds total_size_bytes");
    CHECK_STATUS(sendense_repository_set_enabled(s, main_repo, false, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_repository_update(s, main_repo, "{\"name\":\"primary\"}", &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"name\":\"primary\"");
    CHECK_CONTAINS(json, "\"enabled\":false");
    CHECK_CONTAINS(json, "\"used_size_bytes\":400");
    sendense_string_free(json);
    CHECK_STATUS(sendense_repository_update(s, main_repo, "{\"enabled\":true}", NULL, &err),
                 SENDENSE_STATUS_INVALID_ARGUMENT, err);
    sendense_error_free(err);
    err = NULL;

    CHECK_STATUS(sendense_repository_list_json(s, "{\"repository_type\":\"local\"}", &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, main_repo);
    sendense_string_free(json);
    EXPECT_FAIL(sendense_repository_list_json(s, "{\"kind\":\"local\"}", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "kind");
    CHECK(out == SENTINEL);
    sendense_string_free(main_repo);
}

static void test_policies(sendense_store *s) {
    char *out = SENTINEL;
    char *primary = local_repository(s, "pol-primary");
    char *copy = local_repository(s, "pol-copy");
    char *policy = NULL;
    char json[1024];
    char *read = NULL;
    sendense_error *err = NULL;

    snprintf(json, sizeof json,
             "{\"name\":\"daily\",\"primary_repository_id\":\"%s\",\"retention_days\":14,"
             "\"copy_rules\":[{\"destination_repository_id\":\"%s\",\"priority\":1,\"copy_mode\":\"immediate\"}]}",
             primary, copy);
    CHECK_STATUS(sendense_policy_create(s, json, &policy, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_policy_get_json(s, policy, &read, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(read, "\"retention_days\":14");
    CHECK_CONTAINS(read, "\"copy_rules\":[{");
    CHECK_CONTAINS(read, copy);
    sendense_string_free(read);

    /* The rules of a policy: destination differs from the primary, exists, priority >= 1. */
    snprintf(json, sizeof json,
             "{\"name\":\"bad1\",\"primary_repository_id\":\"%s\","
             "\"copy_rules\":[{\"destination_repository_id\":\"%s\",\"priority\":1}]}",
             primary, primary);
    EXPECT_FAIL(sendense_policy_create(s, json, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "copy_rules[0]");
    snprintf(json, sizeof json,
             "{\"name\":\"bad2\",\"primary_repository_id\":\"%s\","
             "\"copy_rules\":[{\"destination_repository_id\":\"%s\",\"priority\":0}]}",
             primary, copy);
    EXPECT_FAIL(sendense_policy_create(s, json, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "priority");
    snprintf(json, sizeof json,
             "{\"name\":\"bad3\",\"primary_repository_id\":\"%s\","
             "\"copy_rules\":[{\"destination_repository_id\":\"nowhere\",\"priority\":1}]}",
             primary);
    EXPECT_FAIL(sendense_policy_create(s, json, &out, errp), SENDENSE_STATUS_NOT_FOUND, "nowhere");
    EXPECT_FAIL(sendense_policy_create(s, "{\"name\":\"bad4\",\"primary_repository_id\":\"nowhere\"}", &out, errp),
                SENDENSE_STATUS_NOT_FOUND, "nowhere");
    CHECK(out == SENTINEL);

    /* A repository a policy writes to cannot be deleted; after the policy goes, it can. */
    EXPECT_FAIL(sendense_repository_delete(s, copy, errp), SENDENSE_STATUS_CONFLICT, "daily");
    CHECK_STATUS(sendense_policy_update(s, policy, "{\"copy_rules\":[]}", &read, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(read, "\"copy_rules\":[]");
    sendense_string_free(read);
    CHECK_STATUS(sendense_repository_delete(s, copy, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_policy_list_json(s, NULL, &read, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(read, policy);
    sendense_string_free(read);
    CHECK_STATUS(sendense_policy_delete(s, policy, &err), SENDENSE_STATUS_OK, err);
    EXPECT_FAIL(sendense_policy_delete(s, policy, errp), SENDENSE_STATUS_NOT_FOUND, "does not exist");
    CHECK_STATUS(sendense_repository_delete(s, primary, &err), SENDENSE_STATUS_OK, err);
    EXPECT_FAIL(sendense_repository_delete(s, primary, errp), SENDENSE_STATUS_NOT_FOUND, "does not exist");
    CHECK_STR_EQ(sendense_status_name(SENDENSE_STATUS_CONFLICT), "CONFLICT");

    sendense_string_free(policy);
    sendense_string_free(primary);
    sendense_string_free(copy);
}

static void test_backups(sendense_store *s) {
    char *out = SENTINEL;
    char *repo = local_repository(s, "points");
    char *ctx = NULL, *full = NULL, *incr = NULL, *json = NULL;
    char start[1024];
    sendense_error *err = NULL;

    CHECK_STATUS(sendense_context_create(s,
                                         "{\"vm_name\":\"bk-01\",\"vmware_vm_id\":\"4210-bk\",\"vm_path\":\"/dc/vm/bk-01\","
                                         "\"vcenter_host\":\"vc\",\"datacenter\":\"dc\"}",
                                         &ctx, &err),
                 SENDENSE_STATUS_OK, err);
    snprintf(start, sizeof start,
             "{\"context_id\":\"%s\",\"disk_id\":1,\"repository_id\":\"%s\",\"backup_type\":\"incremental\","
             "\"repository_path\":\"/srv/points/x.qcow2\"}",
             ctx, repo);
    EXPECT_FAIL(sendense_backup_start(s, start, &out, errp), SENDENSE_STATUS_INVALID_STATE, "no completed full");
    CHECK(out == SENTINEL);

    snprintf(start, sizeof start,
             "{\"context_id\":\"%s\",\"disk_id\":0,\"repository_id\":\"%s\",\"backup_type\":\"full\","
             "\"repository_path\":\"/srv/points/full.qcow2\"}",
             ctx, repo);
    CHECK_STATUS(sendense_backup_start(s, start, &full, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_backup_set_running(s, full, &err), SENDENSE_STATUS_OK, err);
    EXPECT_FAIL(sendense_backup_complete(s, full, "not-a-change-id", 10, 10, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "change id");
    CHECK_STATUS(sendense_backup_complete(s, full, "52 aa-bb/7", 1000, 900, &err), SENDENSE_STATUS_OK, err);

    snprintf(start, sizeof start,
             "{\"context_id\":\"%s\",\"disk_id\":0,\"repository_id\":\"%s\",\"backup_type\":\"incremental\","
             "\"repository_path\":\"/srv/points/incr.qcow2\"}",
             ctx, repo);
    CHECK_STATUS(sendense_backup_start(s, start, &incr, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_backup_set_running(s, incr, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_backup_complete(s, incr, NULL, 100, 90, &err), SENDENSE_STATUS_OK, err);

    CHECK_STATUS(sendense_backup_restore_chain_json(s, incr, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK(json != NULL && strstr(json, full) != NULL && strstr(json, incr) != NULL && strstr(json, full) < strstr(json, incr));
    sendense_string_free(json);
    CHECK_STATUS(sendense_chain_list_json(s, ctx, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"total_backups\":2");
    CHECK_CONTAINS(json, "\"total_size_bytes\":990");
    sendense_string_free(json);
    CHECK_STATUS(sendense_backup_get_json(s, incr, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"status\":\"completed\"");
    sendense_string_free(json);

    EXPECT_FAIL(sendense_backup_delete(s, full, errp), SENDENSE_STATUS_CONFLICT, incr);
    EXPECT_FAIL(sendense_backup_fail(s, incr, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "error_message", "NULL");
    EXPECT_FAIL(sendense_backup_restore_chain_json(s, "no-such-point", &out, errp), SENDENSE_STATUS_NOT_FOUND,
                "no-such-point");
    CHECK(out == SENTINEL);

    /* No policy, so no copies: the claim answers NULL. */
    out = SENTINEL;
    CHECK_STATUS(sendense_copy_claim(s, "worker-1", &out, &err), SENDENSE_STATUS_OK, err);
    CHECK(out == NULL);
    EXPECT_FAIL(sendense_copy_claim(s, "", &json, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "worker id");

    CHECK_STATUS(sendense_backup_delete(s, incr, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_backup_delete(s, full, &err), SENDENSE_STATUS_OK, err);
    sendense_string_free(full);
    sendense_string_free(incr);
    sendense_string_free(ctx);
    sendense_string_free(repo);
}

int main(int argc, char **argv) {
    sendense_store *store;
    unsigned long before;
    if (argc != 2) {
        fprintf(stderr, "usage: %s TMPDIR\n", argc > 0 ? argv[0] : "backup_abi");
        return 2;
    }
    store = open_store(argv[1]);
    before = check_failures();
    test_repositories(store);
    check_group_end("repositories", before);
    before = check_failures();
    test_policies(store);
    check_group_end("policies", before);
    before = check_failures();
    test_backups(store);
    check_group_end("backups", before);
    sendense_store_free(store);
    return check_summary();
}
