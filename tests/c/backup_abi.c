/*
 * C ABI test of backups: repositories and policies (creation, JSON read-outs and lists,
 * updates, capacity, deletes), backup points and chains (JSON and typed snapshots), copies
 * (claim, verifying, verification result, failure, read-outs and lists) and VM-level restore
 * points, with the refusals (NULL arguments, malformed or unknown JSON, invalid configs,
 * duplicate names, rule violations, forbidden transitions, unknown ids), each leaving the
 * out-parameters untouched. Every string, error and snapshot is freed (the program also runs
 * under ASan/LSan and valgrind). Usage: backup_abi TMPDIR
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "sendense.h"

#define SENTINEL ((char *)"untouched")
/* Sentinel snapshot pointers and times: only ever compared, never dereferenced or freed. */
#define SENTINEL_BACKUP ((sendense_backup *)(uintptr_t)0x5e5d)
#define SENTINEL_CHAIN ((sendense_chain *)(uintptr_t)0x5e5e)
#define SENTINEL_MS INT64_C(-4242)

/* Copy the string value of the first `"key":"..."` in `json` into `buf` (no escapes in the
 * values this test reads); returns buf, or "" when the key is absent or the value too long. */
static const char *json_str(const char *json, const char *key, char *buf, size_t size) {
    char pattern[128];
    const char *start, *end;
    buf[0] = '\0';
    if (json == NULL) {
        return buf;
    }
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    start = strstr(json, pattern);
    if (start == NULL) {
        return buf;
    }
    start += strlen(pattern);
    end = strchr(start, '"');
    if (end != NULL && (size_t)(end - start) < size) {
        memcpy(buf, start, (size_t)(end - start));
        buf[end - start] = '\0';
    }
    return buf;
}

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

/* Create a context for VM `name` (vmware id "id-<name>"); returns its id. */
static char *add_context(sendense_store *s, const char *name) {
    char json[512];
    char *id = NULL;
    sendense_error *err = NULL;
    snprintf(json, sizeof json,
             "{\"vm_name\":\"%s\",\"vmware_vm_id\":\"id-%s\",\"vm_path\":\"/dc/vm/%s\",\"vcenter_host\":\"vc\","
             "\"datacenter\":\"dc\"}",
             name, name, name);
    CHECK_STATUS(sendense_context_create(s, json, &id, &err), SENDENSE_STATUS_OK, err);
    return id;
}

/* Start point `id` (`type`, disk index `disk`) of context `ctx` in `repo`, with `policy` and
 * `group` when not NULL; returns its id. */
static char *start_point(sendense_store *s, const char *ctx, int disk, const char *repo, const char *type,
                         const char *id, const char *policy, const char *group) {
    char json[1024], extra[512] = "";
    char *out = NULL;
    sendense_error *err = NULL;
    if (policy != NULL) {
        snprintf(extra, sizeof extra, ",\"policy_id\":\"%s\"", policy);
    }
    if (group != NULL) {
        size_t used = strlen(extra);
        snprintf(extra + used, sizeof extra - used, ",\"backup_group_id\":\"%s\"", group);
    }
    snprintf(json, sizeof json,
             "{\"id\":\"%s\",\"context_id\":\"%s\",\"disk_id\":%d,\"repository_id\":\"%s\",\"backup_type\":\"%s\","
             "\"repository_path\":\"/srv/%s.qcow2\"%s}",
             id, ctx, disk, repo, type, id, extra);
    CHECK_STATUS(sendense_backup_start(s, json, &out, &err), SENDENSE_STATUS_OK, err);
    return out;
}

/* Run and complete point `id` with `size` bytes. */
static void complete_point(sendense_store *s, const char *id, int64_t size) {
    sendense_error *err = NULL;
    CHECK_STATUS(sendense_backup_set_running(s, id, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_backup_complete(s, id, NULL, size, size, &err), SENDENSE_STATUS_OK, err);
}

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

    /* Without repository_path: the point's location is derived from the repository. */
    snprintf(start, sizeof start,
             "{\"context_id\":\"%s\",\"disk_id\":0,\"repository_id\":\"%s\",\"backup_type\":\"incremental\"}", ctx,
             repo);
    CHECK_STATUS(sendense_backup_start(s, start, &incr, &err), SENDENSE_STATUS_OK, err);
    if (incr != NULL) {
        char want[512];
        snprintf(want, sizeof want, "\"repository_path\":\"/srv/points/%s/disk-0/%s.qcow2\"", ctx, incr);
        CHECK_STATUS(sendense_backup_get_json(s, incr, &json, &err), SENDENSE_STATUS_OK, err);
        CHECK_CONTAINS(json, want);
        sendense_string_free(json);
        json = NULL;
    }
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

static void test_backup_snapshots(sendense_store *s) {
    sendense_error *err = NULL;
    sendense_backup *b = SENTINEL_BACKUP;
    sendense_chain *c = SENTINEL_CHAIN;
    char *repo = local_repository(s, "snap-repo");
    char *ctx = add_context(s, "snap-01");
    char *full, *incr, *failed;
    int64_t ms = SENTINEL_MS, started = 0, created = 0;

    full = start_point(s, ctx, 0, repo, "full", "snap-full", NULL, "snap-group-1");
    if (CHECK_STATUS(sendense_backup_get(s, full, &b, &err), SENDENSE_STATUS_OK, err)) {
        CHECK_STR_EQ(sendense_backup_id(b), "snap-full");
        CHECK_STR_EQ(sendense_backup_context_id(b), ctx);
        CHECK_STR_EQ(sendense_backup_vm_name(b), "snap-01");
        CHECK(sendense_backup_disk_id(b) == 0);
        CHECK_STR_EQ(sendense_backup_repository_id(b), repo);
        CHECK(sendense_backup_policy_id(b) == NULL);
        CHECK_STR_EQ(sendense_backup_type(b), "full");
        CHECK_STR_EQ(sendense_backup_status(b), "pending");
        CHECK_STR_EQ(sendense_backup_repository_path(b), "/srv/snap-full.qcow2");
        CHECK(sendense_backup_parent_id(b) == NULL);
        CHECK(sendense_backup_change_id(b) == NULL);
        CHECK(sendense_backup_error_message(b) == NULL);
        CHECK_STR_EQ(sendense_backup_group_id(b), "snap-group-1");
        CHECK(sendense_backup_bytes_transferred(b) == 0);
        CHECK(sendense_backup_total_bytes(b) == 0);
        CHECK(sendense_backup_size_bytes(b) == 0);
        CHECK(sendense_backup_progress_percent(b) == 0.0);
        CHECK(!sendense_backup_protected(b));
        created = sendense_backup_created_at_ms(b);
        CHECK(created > INT64_C(1600000000000));
        CHECK(!sendense_backup_started_at_ms(b, &ms) && ms == SENTINEL_MS);
        CHECK(!sendense_backup_completed_at_ms(b, &ms) && ms == SENTINEL_MS);
        /* Strings are borrowed: the same pointer every time, until _free. */
        CHECK(sendense_backup_id(b) == sendense_backup_id(b));
        sendense_backup_free(b);
    }

    CHECK_STATUS(sendense_backup_set_running(s, full, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_backup_complete(s, full, "52 aa-bb/9", 500, 400, &err), SENDENSE_STATUS_OK, err);
    b = SENTINEL_BACKUP;
    if (CHECK_STATUS(sendense_backup_get(s, full, &b, &err), SENDENSE_STATUS_OK, err)) {
        CHECK_STR_EQ(sendense_backup_status(b), "completed");
        CHECK_STR_EQ(sendense_backup_change_id(b), "52 aa-bb/9");
        CHECK(sendense_backup_bytes_transferred(b) == 500);
        CHECK(sendense_backup_size_bytes(b) == 400);
        CHECK(sendense_backup_progress_percent(b) == 100.0);
        CHECK(sendense_backup_started_at_ms(b, &started) && started >= created);
        CHECK(sendense_backup_started_at_ms(b, NULL));
        CHECK(sendense_backup_completed_at_ms(b, &ms) && ms >= started);
        ms = SENTINEL_MS;
        CHECK(!sendense_backup_immutable_from_ms(b, &ms) && ms == SENTINEL_MS);
        CHECK(!sendense_backup_immutable_until_ms(b, &ms) && ms == SENTINEL_MS);
        sendense_backup_free(b);
    }

    incr = start_point(s, ctx, 0, repo, "incremental", "snap-incr", NULL, "snap-group-2");
    complete_point(s, incr, 40);
    b = SENTINEL_BACKUP;
    if (CHECK_STATUS(sendense_backup_get(s, incr, &b, &err), SENDENSE_STATUS_OK, err)) {
        CHECK_STR_EQ(sendense_backup_type(b), "incremental");
        CHECK_STR_EQ(sendense_backup_parent_id(b), "snap-full");
        CHECK(sendense_backup_size_bytes(b) == 40);
        sendense_backup_free(b);
    }

    failed = start_point(s, ctx, 1, repo, "full", "snap-failed", NULL, NULL);
    CHECK_STATUS(sendense_backup_fail(s, failed, "disk vanished", &err), SENDENSE_STATUS_OK, err);
    b = SENTINEL_BACKUP;
    if (CHECK_STATUS(sendense_backup_get(s, failed, &b, &err), SENDENSE_STATUS_OK, err)) {
        CHECK_STR_EQ(sendense_backup_status(b), "failed");
        CHECK_STR_EQ(sendense_backup_error_message(b), "disk vanished");
        CHECK(sendense_backup_disk_id(b) == 1);
        CHECK(sendense_backup_group_id(b) == NULL);
        ms = SENTINEL_MS;
        CHECK(!sendense_backup_started_at_ms(b, &ms) && ms == SENTINEL_MS);
        CHECK(sendense_backup_completed_at_ms(b, &ms) && ms >= created);
        sendense_backup_free(b);
    }

    /* The chain of disk 0: the full and the incremental. */
    if (CHECK_STATUS(sendense_chain_get(s, ctx, 0, repo, &c, &err), SENDENSE_STATUS_OK, err)) {
        CHECK(sendense_chain_id(c) != NULL && sendense_chain_id(c)[0] != '\0');
        CHECK_STR_EQ(sendense_chain_context_id(c), ctx);
        CHECK(sendense_chain_disk_id(c) == 0);
        CHECK_STR_EQ(sendense_chain_repository_id(c), repo);
        CHECK_STR_EQ(sendense_chain_full_backup_id(c), "snap-full");
        CHECK_STR_EQ(sendense_chain_latest_backup_id(c), "snap-incr");
        CHECK(sendense_chain_total_backups(c) == 2);
        CHECK(sendense_chain_total_size_bytes(c) == 440);
        CHECK(sendense_chain_created_at_ms(c) >= created);
        CHECK(sendense_chain_updated_at_ms(c) >= sendense_chain_created_at_ms(c));
        CHECK(sendense_chain_id(c) == sendense_chain_id(c));
        sendense_chain_free(c);
    }

    /* Refusals: out untouched. */
    b = SENTINEL_BACKUP;
    c = SENTINEL_CHAIN;
    EXPECT_FAIL(sendense_backup_get(s, "no-such-point", &b, errp), SENDENSE_STATUS_NOT_FOUND, "no-such-point");
    EXPECT_FAIL(sendense_backup_get(NULL, full, &b, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store", "NULL");
    EXPECT_FAIL(sendense_backup_get(s, NULL, &b, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "backup_id", "NULL");
    EXPECT_FAIL(sendense_backup_get(s, full, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "out", "NULL");
    EXPECT_FAIL(sendense_backup_get(s, "bad\xff", &b, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "backup_id", "UTF-8");
    EXPECT_FAIL(sendense_chain_get(s, ctx, 1, repo, &c, errp), SENDENSE_STATUS_NOT_FOUND, "no backup chain", "disk 1");
    EXPECT_FAIL(sendense_chain_get(s, "no-such-context", 0, repo, &c, errp), SENDENSE_STATUS_NOT_FOUND,
                "no-such-context");
    EXPECT_FAIL(sendense_chain_get(s, ctx, 0, "no-such-repo", &c, errp), SENDENSE_STATUS_NOT_FOUND, "no-such-repo");
    EXPECT_FAIL(sendense_chain_get(s, ctx, -1, repo, &c, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "disk_id -1");
    EXPECT_FAIL(sendense_chain_get(NULL, ctx, 0, repo, &c, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store", "NULL");
    EXPECT_FAIL(sendense_chain_get(s, NULL, 0, repo, &c, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "context_id", "NULL");
    EXPECT_FAIL(sendense_chain_get(s, ctx, 0, NULL, &c, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "repository_id",
                "NULL");
    EXPECT_FAIL(sendense_chain_get(s, ctx, 0, repo, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "out", "NULL");
    CHECK(b == SENTINEL_BACKUP && c == SENTINEL_CHAIN);

    /* NULL snapshots: NULL / 0 / false (-1 for a disk index), out_ms untouched; _free(NULL)
     * is a no-op. */
    ms = SENTINEL_MS;
    CHECK(sendense_backup_id(NULL) == NULL);
    CHECK(sendense_backup_context_id(NULL) == NULL);
    CHECK(sendense_backup_vm_name(NULL) == NULL);
    CHECK(sendense_backup_disk_id(NULL) == -1);
    CHECK(sendense_backup_repository_id(NULL) == NULL);
    CHECK(sendense_backup_policy_id(NULL) == NULL);
    CHECK(sendense_backup_type(NULL) == NULL);
    CHECK(sendense_backup_status(NULL) == NULL);
    CHECK(sendense_backup_repository_path(NULL) == NULL);
    CHECK(sendense_backup_parent_id(NULL) == NULL);
    CHECK(sendense_backup_change_id(NULL) == NULL);
    CHECK(sendense_backup_error_message(NULL) == NULL);
    CHECK(sendense_backup_group_id(NULL) == NULL);
    CHECK(sendense_backup_bytes_transferred(NULL) == 0);
    CHECK(sendense_backup_total_bytes(NULL) == 0);
    CHECK(sendense_backup_size_bytes(NULL) == 0);
    CHECK(sendense_backup_progress_percent(NULL) == 0.0);
    CHECK(!sendense_backup_protected(NULL));
    CHECK(sendense_backup_created_at_ms(NULL) == 0);
    CHECK(!sendense_backup_started_at_ms(NULL, &ms));
    CHECK(!sendense_backup_completed_at_ms(NULL, &ms));
    CHECK(!sendense_backup_immutable_from_ms(NULL, &ms));
    CHECK(!sendense_backup_immutable_until_ms(NULL, &ms));
    CHECK(sendense_chain_id(NULL) == NULL);
    CHECK(sendense_chain_context_id(NULL) == NULL);
    CHECK(sendense_chain_disk_id(NULL) == -1);
    CHECK(sendense_chain_repository_id(NULL) == NULL);
    CHECK(sendense_chain_full_backup_id(NULL) == NULL);
    CHECK(sendense_chain_latest_backup_id(NULL) == NULL);
    CHECK(sendense_chain_total_backups(NULL) == 0);
    CHECK(sendense_chain_total_size_bytes(NULL) == 0);
    CHECK(sendense_chain_created_at_ms(NULL) == 0);
    CHECK(sendense_chain_updated_at_ms(NULL) == 0);
    CHECK(ms == SENTINEL_MS);
    sendense_backup_free(NULL);
    sendense_chain_free(NULL);

    sendense_string_free(full);
    sendense_string_free(incr);
    sendense_string_free(failed);
    sendense_string_free(ctx);
    sendense_string_free(repo);
}

/* Claim the next pending copy; its id goes into `id` ("" when none). */
static void claim(sendense_store *s, char *id, size_t size) {
    char *json = SENTINEL;
    sendense_error *err = NULL;
    id[0] = '\0';
    if (CHECK_STATUS(sendense_copy_claim(s, "worker-7", &json, &err), SENDENSE_STATUS_OK, err) && json != NULL) {
        CHECK_CONTAINS(json, "\"status\":\"copying\"");
        json_str(json, "id", id, size);
        sendense_string_free(json);
    }
}

static void test_copies(sendense_store *s) {
    char *out = SENTINEL;
    char *primary = local_repository(s, "copy-primary");
    char *offsite = local_repository(s, "copy-offsite");
    char *cloud = local_repository(s, "copy-cloud");
    char *ctx = add_context(s, "copy-01");
    char *policy = NULL, *full, *incr, *json = NULL;
    char c1[128], c2[128], c3[128], c4[128], filter[512], want[256];
    sendense_error *err = NULL;

    snprintf(filter, sizeof filter,
             "{\"name\":\"copied\",\"primary_repository_id\":\"%s\",\"copy_rules\":["
             "{\"destination_repository_id\":\"%s\",\"priority\":1},"
             "{\"destination_repository_id\":\"%s\",\"priority\":2}]}",
             primary, offsite, cloud);
    CHECK_STATUS(sendense_policy_create(s, filter, &policy, &err), SENDENSE_STATUS_OK, err);
    full = start_point(s, ctx, 0, primary, "full", "copy-full", policy, NULL);
    complete_point(s, full, 300);
    incr = start_point(s, ctx, 0, primary, "incremental", "copy-incr", policy, NULL);
    complete_point(s, incr, 30);

    /* Each completion fanned out to both rules: four pending copies, oldest first. */
    CHECK_STATUS(sendense_copy_list_json(s, NULL, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK(count_of(json, "\"source_backup_id\":") == 4);
    CHECK(count_of(json, "\"status\":\"pending\"") == 4);
    CHECK(json != NULL && strstr(json, "copy-full") < strstr(json, "copy-incr"));
    sendense_string_free(json);
    snprintf(filter, sizeof filter, "{\"backup_id\":\"%s\",\"repository_id\":\"%s\"}", full, cloud);
    CHECK_STATUS(sendense_copy_list_json(s, filter, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK(count_of(json, "\"source_backup_id\":") == 1);
    snprintf(want, sizeof want, "\"file_path\":\"%s/%s/disk-0/copy-full\"", cloud, ctx);
    CHECK_CONTAINS(json, want);
    sendense_string_free(json);
    CHECK_STATUS(sendense_copy_list_json(s, "{\"status\":\"completed\"}", &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_STR_EQ(json, "[]");
    sendense_string_free(json);
    CHECK_STATUS(sendense_copy_list_json(s, "{\"limit\":1,\"offset\":3}", &json, &err), SENDENSE_STATUS_OK, err);
    CHECK(count_of(json, "\"source_backup_id\":\"copy-incr\"") == 1);
    sendense_string_free(json);
    EXPECT_FAIL(sendense_copy_list_json(s, "{\"state\":\"pending\"}", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "state");
    EXPECT_FAIL(sendense_copy_list_json(s, "{\"status\":\"done\"}", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "done");
    EXPECT_FAIL(sendense_copy_list_json(s, "[", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "filter_json");
    EXPECT_FAIL(sendense_copy_list_json(NULL, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store", "NULL");
    EXPECT_FAIL(sendense_copy_list_json(s, NULL, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json_out", "NULL");
    CHECK(out == SENTINEL);

    /* First copy: written, verified, passed -> completed. */
    claim(s, c1, sizeof c1);
    CHECK(c1[0] != '\0');
    EXPECT_FAIL(sendense_copy_complete(s, c1, "passed", errp), SENDENSE_STATUS_INVALID_STATE, c1, "copying");
    CHECK_STATUS(sendense_copy_set_verifying(s, c1, "/srv/offsite/full.qcow2", 300, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_copy_get_json(s, c1, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"status\":\"verifying\"");
    CHECK_CONTAINS(json, "\"file_path\":\"/srv/offsite/full.qcow2\"");
    CHECK_CONTAINS(json, "\"size_bytes\":300");
    CHECK_CONTAINS(json, "\"verification_status\":\"pending\"");
    sendense_string_free(json);
    EXPECT_FAIL(sendense_copy_set_verifying(s, c1, "/srv/again", 1, errp), SENDENSE_STATUS_INVALID_STATE, c1,
                "verifying");
    EXPECT_FAIL(sendense_copy_complete(s, c1, "pending", errp), SENDENSE_STATUS_INVALID_ARGUMENT, "pending");
    EXPECT_FAIL(sendense_copy_complete(s, c1, "maybe", errp), SENDENSE_STATUS_INVALID_ARGUMENT, "maybe",
                "verification status");
    EXPECT_FAIL(sendense_copy_complete(s, c1, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "verification", "NULL");
    CHECK_STATUS(sendense_copy_complete(s, c1, "passed", &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_copy_get_json(s, c1, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"status\":\"completed\"");
    CHECK_CONTAINS(json, "\"verification_status\":\"passed\"");
    CHECK(strstr(json, "\"verified_at\":null") == NULL);
    sendense_string_free(json);
    EXPECT_FAIL(sendense_copy_fail(s, c1, "too late", errp), SENDENSE_STATUS_INVALID_STATE, c1, "final");
    EXPECT_FAIL(sendense_copy_complete(s, c1, "failed", errp), SENDENSE_STATUS_INVALID_STATE, c1, "final");

    /* Second copy: verification failed -> failed, saying so. */
    claim(s, c2, sizeof c2);
    CHECK_STATUS(sendense_copy_set_verifying(s, c2, "/srv/cloud/full.qcow2", 299, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_copy_complete(s, c2, "failed", &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_copy_get_json(s, c2, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"status\":\"failed\"");
    CHECK_CONTAINS(json, "\"verification_status\":\"failed\"");
    CHECK_CONTAINS(json, "verification failed");
    sendense_string_free(json);

    /* Third copy: the worker fails it while copying. */
    claim(s, c3, sizeof c3);
    EXPECT_FAIL(sendense_copy_fail(s, c3, "", errp), SENDENSE_STATUS_INVALID_ARGUMENT, "error message");
    EXPECT_FAIL(sendense_copy_fail(s, c3, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "error_message", "NULL");
    EXPECT_FAIL(sendense_copy_set_verifying(s, c3, " ", 1, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "file_path");
    EXPECT_FAIL(sendense_copy_set_verifying(s, c3, NULL, 1, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "file_path",
                "NULL");
    EXPECT_FAIL(sendense_copy_set_verifying(s, c3, "/srv/x", -1, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "size_bytes");
    CHECK_STATUS(sendense_copy_fail(s, c3, "target unreachable", &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_copy_get_json(s, c3, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"status\":\"failed\"");
    CHECK_CONTAINS(json, "\"error_message\":\"target unreachable\"");
    sendense_string_free(json);

    /* The fourth stays pending: nothing but a claim moves it. */
    CHECK_STATUS(sendense_copy_list_json(s, "{\"status\":\"pending\"}", &json, &err), SENDENSE_STATUS_OK, err);
    json_str(json, "id", c4, sizeof c4);
    CHECK(count_of(json, "\"id\":") == 1);
    sendense_string_free(json);
    EXPECT_FAIL(sendense_copy_set_verifying(s, c4, "/srv/y", 1, errp), SENDENSE_STATUS_INVALID_STATE, c4, "pending");
    EXPECT_FAIL(sendense_copy_complete(s, c4, "passed", errp), SENDENSE_STATUS_INVALID_STATE, c4, "pending");
    EXPECT_FAIL(sendense_copy_fail(s, c4, "no", errp), SENDENSE_STATUS_INVALID_STATE, c4, "pending");

    /* Unknown ids and NULL arguments. */
    EXPECT_FAIL(sendense_copy_set_verifying(s, "no-such-copy", "/srv/z", 1, errp), SENDENSE_STATUS_NOT_FOUND,
                "no-such-copy");
    EXPECT_FAIL(sendense_copy_complete(s, "no-such-copy", "passed", errp), SENDENSE_STATUS_NOT_FOUND, "no-such-copy");
    EXPECT_FAIL(sendense_copy_fail(s, "no-such-copy", "x", errp), SENDENSE_STATUS_NOT_FOUND, "no-such-copy");
    EXPECT_FAIL(sendense_copy_get_json(s, "no-such-copy", &out, errp), SENDENSE_STATUS_NOT_FOUND, "no-such-copy");
    EXPECT_FAIL(sendense_copy_get_json(s, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "copy_id", "NULL");
    EXPECT_FAIL(sendense_copy_get_json(s, c4, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json_out", "NULL");
    EXPECT_FAIL(sendense_copy_get_json(NULL, c4, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store", "NULL");
    EXPECT_FAIL(sendense_copy_set_verifying(NULL, c4, "/srv/z", 1, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store");
    EXPECT_FAIL(sendense_copy_set_verifying(s, NULL, "/srv/z", 1, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "copy_id",
                "NULL");
    EXPECT_FAIL(sendense_copy_complete(NULL, c4, "passed", errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store");
    EXPECT_FAIL(sendense_copy_complete(s, NULL, "passed", errp), SENDENSE_STATUS_INVALID_ARGUMENT, "copy_id", "NULL");
    EXPECT_FAIL(sendense_copy_fail(NULL, c4, "x", errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store");
    EXPECT_FAIL(sendense_copy_fail(s, NULL, "x", errp), SENDENSE_STATUS_INVALID_ARGUMENT, "copy_id", "NULL");
    EXPECT_FAIL(sendense_copy_claim(s, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "worker_id", "NULL");
    EXPECT_FAIL(sendense_copy_claim(s, "worker-7", NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "copy_json_out");
    CHECK(out == SENTINEL);

    /* The last pending copy is claimed; then nothing is pending: the claim answers NULL. */
    claim(s, c4, sizeof c4);
    CHECK(c4[0] != '\0');
    out = SENTINEL;
    CHECK_STATUS(sendense_copy_claim(s, "worker-7", &out, &err), SENDENSE_STATUS_OK, err);
    CHECK(out == NULL);

    /* A manual rule without verification: nothing is queued at completion, its copies are
     * queued when asked (once), and a written copy completes without verifying. */
    {
        char *manual = local_repository(s, "copy-manual");
        char *policy2 = NULL, *m1;
        char c5[128];
        snprintf(filter, sizeof filter,
                 "{\"name\":\"by-hand\",\"primary_repository_id\":\"%s\",\"copy_rules\":[{\"id\":\"rule-manual\","
                 "\"destination_repository_id\":\"%s\",\"priority\":1,\"copy_mode\":\"manual\","
                 "\"verify_after_copy\":false}]}",
                 primary, manual);
        CHECK_STATUS(sendense_policy_create(s, filter, &policy2, &err), SENDENSE_STATUS_OK, err);
        m1 = start_point(s, ctx, 1, primary, "full", "copy-m1", policy2, NULL);
        complete_point(s, m1, 70);
        out = SENTINEL;
        CHECK_STATUS(sendense_copy_claim(s, "worker-7", &out, &err), SENDENSE_STATUS_OK, err);
        CHECK(out == NULL);
        CHECK_STATUS(sendense_copy_queue(s, "rule-manual", &json, &err), SENDENSE_STATUS_OK, err);
        CHECK(count_of(json, "\"source_backup_id\":\"copy-m1\"") == 1 && count_of(json, "\"id\":") == 1);
        CHECK_CONTAINS(json, "\"copy_rule_id\":\"rule-manual\"");
        sendense_string_free(json);
        CHECK_STATUS(sendense_copy_queue(s, "rule-manual", &json, &err), SENDENSE_STATUS_OK, err);
        CHECK_STR_EQ(json, "[]");
        sendense_string_free(json);
        out = SENTINEL;
        EXPECT_FAIL(sendense_copy_queue(s, "no-such-rule", &out, errp), SENDENSE_STATUS_NOT_FOUND, "no-such-rule");
        EXPECT_FAIL(sendense_copy_queue(s, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "rule_id", "NULL");
        EXPECT_FAIL(sendense_copy_queue(s, "rule-manual", NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                    "copies_json_out");
        CHECK(out == SENTINEL);
        claim(s, c5, sizeof c5);
        CHECK_STATUS(sendense_copy_set_verifying(s, c5, "/srv/manual/m1.qcow2", 70, &err), SENDENSE_STATUS_OK, err);
        CHECK_STATUS(sendense_copy_get_json(s, c5, &json, &err), SENDENSE_STATUS_OK, err);
        CHECK_CONTAINS(json, "\"status\":\"completed\"");
        CHECK_CONTAINS(json, "\"verification_status\":\"pending\"");
        CHECK_CONTAINS(json, "\"verified_at\":null");
        sendense_string_free(json);
        sendense_string_free(m1);
        sendense_string_free(policy2);
        sendense_string_free(manual);
    }

    sendense_string_free(full);
    sendense_string_free(incr);
    sendense_string_free(policy);
    sendense_string_free(ctx);
    sendense_string_free(primary);
    sendense_string_free(offsite);
    sendense_string_free(cloud);
}

static void test_restore_points(sendense_store *s) {
    char *out = SENTINEL;
    char *repo = local_repository(s, "rp-repo");
    char *ctx = add_context(s, "rp-01");
    char *d0, *d1, *lone, *broken0, *broken1, *json = NULL;
    char want[512];
    sendense_error *err = NULL;

    CHECK_STATUS(sendense_restore_points_json(s, ctx, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_STR_EQ(json, "[]");
    sendense_string_free(json);

    /* A two-disk VM backup: listed only once both disks completed. */
    d0 = start_point(s, ctx, 0, repo, "full", "rp-d0", NULL, "rp-vm-1");
    d1 = start_point(s, ctx, 1, repo, "full", "rp-d1", NULL, "rp-vm-1");
    complete_point(s, d1, 20);
    CHECK_STATUS(sendense_restore_points_json(s, ctx, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_STR_EQ(json, "[]");
    sendense_string_free(json);
    CHECK_STATUS(sendense_disk_restore_points_json(s, ctx, 1, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"backup_id\":\"rp-d1\"");
    CHECK_CONTAINS(json, "\"size_bytes\":20");
    sendense_string_free(json);
    complete_point(s, d0, 100);
    CHECK_STATUS(sendense_restore_points_json(s, ctx, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK(count_of(json, "\"backup_group_id\":") == 1);
    CHECK_CONTAINS(json, "\"backup_group_id\":\"rp-vm-1\"");
    snprintf(want, sizeof want, "\"vm_context_id\":\"%s\",\"repository_id\":\"%s\"", ctx, repo);
    CHECK_CONTAINS(json, want);
    CHECK_CONTAINS(json, "\"disks\":[{\"disk_id\":0,\"backup_id\":\"rp-d0\",\"backup_type\":\"full\",\"size_bytes\":100,");
    CHECK_CONTAINS(json, "{\"disk_id\":1,\"backup_id\":\"rp-d1\",\"backup_type\":\"full\",\"size_bytes\":20,");
    CHECK_CONTAINS(json, "\"total_size_bytes\":120}");
    sendense_string_free(json);

    /* A failed disk hides its group; an ungrouped point is listed alone, newest first. */
    broken0 = start_point(s, ctx, 0, repo, "incremental", "rp-broken-d0", NULL, "rp-vm-2");
    broken1 = start_point(s, ctx, 1, repo, "incremental", "rp-broken-d1", NULL, "rp-vm-2");
    complete_point(s, broken0, 5);
    CHECK_STATUS(sendense_backup_fail(s, broken1, "snapshot lost", &err), SENDENSE_STATUS_OK, err);
    lone = start_point(s, ctx, 2, repo, "full", "rp-lone", NULL, NULL);
    complete_point(s, lone, 7);
    CHECK_STATUS(sendense_restore_points_json(s, ctx, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK(count_of(json, "\"backup_group_id\":") == 2);
    CHECK(strstr(json, "rp-vm-2") == NULL && strstr(json, "rp-broken") == NULL);
    CHECK(json != NULL && strstr(json, "\"backup_group_id\":null") != NULL &&
          strstr(json, "\"backup_group_id\":null") < strstr(json, "rp-vm-1"));
    CHECK_CONTAINS(json, "\"backup_id\":\"rp-lone\"");
    sendense_string_free(json);

    /* Per disk, the completed points whatever their siblings did, newest first. */
    CHECK_STATUS(sendense_disk_restore_points_json(s, ctx, 0, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK(count_of(json, "\"backup_id\":") == 2);
    CHECK(json != NULL && strstr(json, "\"backup_id\":\"rp-d0\"") != NULL &&
          strstr(json, "\"backup_id\":\"rp-broken-d0\"") < strstr(json, "\"backup_id\":\"rp-d0\""));
    CHECK_CONTAINS(json, "\"parent_backup_id\":\"rp-d0\"");
    sendense_string_free(json);
    CHECK_STATUS(sendense_disk_restore_points_json(s, ctx, 7, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_STR_EQ(json, "[]");
    sendense_string_free(json);

    /* Refusals: out untouched. */
    EXPECT_FAIL(sendense_restore_points_json(s, "no-such-vm", &out, errp), SENDENSE_STATUS_NOT_FOUND, "no-such-vm");
    EXPECT_FAIL(sendense_restore_points_json(NULL, ctx, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store", "NULL");
    EXPECT_FAIL(sendense_restore_points_json(s, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "context_id",
                "NULL");
    EXPECT_FAIL(sendense_restore_points_json(s, "bad\xff", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "context_id",
                "UTF-8");
    EXPECT_FAIL(sendense_restore_points_json(s, ctx, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json_out", "NULL");
    EXPECT_FAIL(sendense_disk_restore_points_json(s, "no-such-vm", 0, &out, errp), SENDENSE_STATUS_NOT_FOUND,
                "no-such-vm");
    EXPECT_FAIL(sendense_disk_restore_points_json(s, ctx, -1, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "disk_id -1");
    EXPECT_FAIL(sendense_disk_restore_points_json(NULL, ctx, 0, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "store",
                "NULL");
    EXPECT_FAIL(sendense_disk_restore_points_json(s, NULL, 0, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "context_id", "NULL");
    EXPECT_FAIL(sendense_disk_restore_points_json(s, ctx, 0, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json_out",
                "NULL");
    CHECK(out == SENTINEL);

    sendense_string_free(d0);
    sendense_string_free(d1);
    sendense_string_free(broken0);
    sendense_string_free(broken1);
    sendense_string_free(lone);
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
    before = check_failures();
    test_backup_snapshots(store);
    check_group_end("backup snapshots", before);
    before = check_failures();
    test_copies(store);
    check_group_end("copies", before);
    before = check_failures();
    test_restore_points(store);
    check_group_end("restore points", before);
    sendense_store_free(store);
    return check_summary();
}
