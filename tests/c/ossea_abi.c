/*
 * C ABI test of secret keys and the CloudStack/Linstor configurations and volumes: opening with
 * a key or a key file, sealed secrets read back only explicitly, a wrong or missing key, key
 * rotation (a handle with the retired key refused), credentials in URLs refused, one active configuration, volume and snapshot state machines, and the refusals of
 * bad arguments, each leaving the out-parameters untouched. Usage: ossea_abi TMPDIR
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "sendense.h"

#define SENTINEL ((char *)"untouched")
#define SENTINEL_ID INT64_C(-77)

static const uint8_t KEY_A[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t KEY_B[32] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
                                  9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};

#define CONFIG_JSON(name, active)                                                                                    \
    "{\"name\":\"" name "\",\"api_url\":\"https://cloud.example/client/api\",\"api_key\":\"plain-api-key\","       \
    "\"secret_key\":\"plain-secret\",\"zone\":\"zone-1\",\"is_active\":" active "}"

static void test_keys_and_configs(const char *dir) {
    char path[4096], key_path[4096];
    sendense_store *s = NULL, *keyless = NULL, *wrong = NULL, *reopened = NULL, *out_store = NULL, *stale = NULL;
    sendense_error *err = NULL;
    char *json = NULL, *out = SENTINEL, *key_id = NULL, *new_key_id = NULL;
    int64_t a = 0, b = 0, id = SENTINEL_ID, resealed = 0;
    FILE *f;

    snprintf(path, sizeof path, "%s/ossea_abi.db", dir);
    EXPECT_FAIL(sendense_store_open_with_key(path, NULL, KEY_A, 31, &out_store, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "32 bytes, not 31");
    EXPECT_FAIL(sendense_store_open_with_key(path, NULL, NULL, 32, &out_store, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "key", "NULL");
    CHECK(out_store == NULL);
    CHECK_STATUS(sendense_store_open_with_key(path, NULL, KEY_A, sizeof KEY_A, &s, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_store_secret_key_id(s, &key_id, &err), SENDENSE_STATUS_OK, err);
    CHECK(key_id != NULL && strlen(key_id) == 16);

    CHECK_STATUS(sendense_ossea_config_create(s, CONFIG_JSON("main", "true"), &a, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_ossea_config_create(s, CONFIG_JSON("spare", "false"), &b, &err), SENDENSE_STATUS_OK, err);
    CHECK(a > 0 && b > a);
    EXPECT_FAIL(sendense_ossea_config_create(s, CONFIG_JSON("MAIN", "false"), &id, errp), SENDENSE_STATUS_ALREADY_EXISTS,
                "MAIN");
    EXPECT_FAIL(sendense_ossea_config_create(s, "{\"name\":\"x\"}", &id, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "missing field");
    EXPECT_FAIL(sendense_ossea_config_create(s, CONFIG_JSON("y", "false"), NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "config_id_out", "NULL");
    CHECK(id == SENTINEL_ID);
    /* Credentials in a URL are refused, and the message does not repeat them. */
    CHECK_STATUS(sendense_ossea_config_create(s,
                                              "{\"name\":\"creds\",\"api_url\":\"https://admin:hunter2@cloud.example/api\","
                                              "\"api_key\":\"k\",\"secret_key\":\"s\",\"zone\":\"z\"}",
                                              &id, &err),
                 SENDENSE_STATUS_INVALID_ARGUMENT, err);
    CHECK_CONTAINS(sendense_error_message(err), "user name or password");
    CHECK(strstr(sendense_error_message(err), "hunter2") == NULL && strstr(sendense_error_message(err), "admin") == NULL);
    sendense_error_free(err);
    err = NULL;
    EXPECT_FAIL(sendense_ossea_config_update(s, a, "{\"api_url\":\"http://admin:hunter2@cloud.example\"}", &out, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "api_url", "user name or password");
    EXPECT_FAIL(sendense_linstor_config_create(s, "{\"name\":\"l\",\"api_url\":\"admin:hunter2@linstor.local\"}", &id, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "api_url", "user name or password");
    CHECK(id == SENTINEL_ID && out == SENTINEL);

    CHECK_STATUS(sendense_ossea_config_get_json(s, a, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"is_active\":true");
    CHECK_CONTAINS(json, key_id);
    CHECK(strstr(json, "plain-") == NULL);
    sendense_string_free(json);
    CHECK_STATUS(sendense_ossea_config_list_json(s, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK(strstr(json, "plain-") == NULL && strstr(json, "sndsec") == NULL);
    sendense_string_free(json);
    CHECK_STATUS(sendense_ossea_config_secrets_json(s, a, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_STR_EQ(json, "{\"api_key\":\"plain-api-key\",\"secret_key\":\"plain-secret\"}");
    sendense_string_free(json);

    CHECK_STATUS(sendense_ossea_config_activate(s, b, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_ossea_config_get_json(s, a, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"is_active\":false");
    sendense_string_free(json);
    CHECK_STATUS(sendense_ossea_config_update(s, a, "{\"zone\":\"zone-2\",\"domain\":\"ROOT\"}", &json, &err),
                 SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"zone\":\"zone-2\"");
    sendense_string_free(json);
    CHECK_STATUS(sendense_ossea_config_update(s, a, "{\"domain\":null}", NULL, &err), SENDENSE_STATUS_OK, err);
    EXPECT_FAIL(sendense_ossea_config_update(s, a, "{\"is_active\":true}", &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "is_active");
    EXPECT_FAIL(sendense_ossea_config_get_json(s, 999, &out, errp), SENDENSE_STATUS_NOT_FOUND, "999");
    EXPECT_FAIL(sendense_ossea_config_activate(s, 999, errp), SENDENSE_STATUS_NOT_FOUND, "999");
    CHECK(out == SENTINEL);

    /* Linstor: the secret is sealed too. */
    CHECK_STATUS(sendense_linstor_config_create(s, "{\"name\":\"drbd\",\"api_url\":\"linstor.local\",\"api_secret\":\"lin-pw\"}",
                                                &id, &err),
                 SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_linstor_config_get_json(s, id, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"api_port\":3370");
    CHECK(strstr(json, "lin-pw") == NULL);
    sendense_string_free(json);
    CHECK_STATUS(sendense_linstor_config_secrets_json(s, id, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_STR_EQ(json, "{\"api_key\":null,\"api_secret\":\"lin-pw\"}");
    sendense_string_free(json);
    CHECK_STATUS(sendense_linstor_config_list_json(s, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"name\":\"drbd\"");
    sendense_string_free(json);
    EXPECT_FAIL(sendense_linstor_config_create(s, "{\"name\":\"bad\",\"api_url\":\"x\",\"api_port\":0}", &id, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "api_port");
    CHECK_STATUS(sendense_linstor_config_delete(s, id, &err), SENDENSE_STATUS_OK, err);
    EXPECT_FAIL(sendense_linstor_config_delete(s, id, errp), SENDENSE_STATUS_NOT_FOUND, "Linstor");

    /* Without a key, and with another key. */
    CHECK_STATUS(sendense_store_open(path, NULL, &keyless, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_store_secret_key_id(keyless, &out, &err), SENDENSE_STATUS_OK, err);
    CHECK(out == NULL);
    out = SENTINEL;
    EXPECT_FAIL(sendense_ossea_config_secrets_json(keyless, a, &out, errp), SENDENSE_STATUS_SECRET_KEY,
                "without a secret key");
    EXPECT_FAIL(sendense_ossea_config_create(keyless, CONFIG_JSON("z", "false"), &id, errp), SENDENSE_STATUS_SECRET_KEY,
                "ossea_configs.api_key");
    CHECK_STATUS(sendense_store_open_with_key(path, NULL, KEY_B, sizeof KEY_B, &wrong, &err), SENDENSE_STATUS_OK, err);
    EXPECT_FAIL(sendense_ossea_config_secrets_json(wrong, a, &out, errp), SENDENSE_STATUS_SECRET_KEY, key_id);
    CHECK(out == SENTINEL);
    /* Given the old key as a previous one, the handle reads what it sealed. */
    EXPECT_FAIL(sendense_store_add_previous_secret_key(wrong, KEY_A, 16, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "32 bytes");
    CHECK_STATUS(sendense_store_add_previous_secret_key(wrong, KEY_A, sizeof KEY_A, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_ossea_config_secrets_json(wrong, a, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "plain-api-key");
    sendense_string_free(json);
    CHECK_STR_EQ(sendense_status_name(SENDENSE_STATUS_SECRET_KEY), "SECRET_KEY");
    sendense_store_free(keyless);
    sendense_store_free(wrong);

    /* Rotation to KEY_B; a handle still holding KEY_A may no longer seal (both key ids named);
     * then a key file holding KEY_B in hex opens the secrets. */
    CHECK_STATUS(sendense_store_open_with_key(path, NULL, KEY_A, sizeof KEY_A, &stale, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_store_rotate_secret_key(s, KEY_B, sizeof KEY_B, &resealed, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_store_secret_key_id(s, &new_key_id, &err), SENDENSE_STATUS_OK, err);
    id = SENTINEL_ID;
    EXPECT_FAIL(sendense_ossea_config_create(stale, CONFIG_JSON("stale", "false"), &id, errp), SENDENSE_STATUS_SECRET_KEY,
                key_id, new_key_id, "current secret key");
    CHECK(id == SENTINEL_ID);
    sendense_string_free(new_key_id);
    sendense_store_free(stale);
    CHECK(resealed == 4);
    CHECK_STATUS(sendense_store_rotate_secret_key(s, KEY_B, sizeof KEY_B, NULL, &err), SENDENSE_STATUS_OK, err);
    EXPECT_FAIL(sendense_store_rotate_secret_key(s, KEY_B, 3, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "32 bytes");
    snprintf(key_path, sizeof key_path, "%s/b.key", dir);
    f = fopen(key_path, "w");
    CHECK(f != NULL);
    if (f != NULL) {
        fputs("0909090909090909090909090909090909090909090909090909090909090909\n", f);
        fclose(f);
    }
    CHECK(chmod(key_path, 0600) == 0); /* a key file must be private to its owner */
    CHECK_STATUS(sendense_store_open_with_key_file(path, NULL, key_path, &reopened, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_ossea_config_secrets_json(reopened, b, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "plain-secret");
    sendense_string_free(json);
    sendense_store_free(reopened);
    EXPECT_FAIL(sendense_store_open_with_key_file(path, NULL, "/no/such/key", &out_store, errp), SENDENSE_STATUS_IO,
                "/no/such/key");
    CHECK(out_store == NULL);

    CHECK_STATUS(sendense_ossea_config_delete(s, a, &err), SENDENSE_STATUS_OK, err);
    EXPECT_FAIL(sendense_ossea_config_delete(s, a, errp), SENDENSE_STATUS_NOT_FOUND, "CloudStack configuration");
    sendense_string_free(key_id);
    sendense_store_free(s);
}

static void test_volumes(const char *dir) {
    char path[4096], json_in[512];
    sendense_store *s = NULL;
    sendense_error *err = NULL;
    char *json = NULL, *out = SENTINEL, *ctx = NULL;
    int64_t cfg = 0, vol = 0, id = SENTINEL_ID;

    snprintf(path, sizeof path, "%s/ossea_volumes.db", dir);
    CHECK_STATUS(sendense_store_open_with_key(path, NULL, KEY_A, sizeof KEY_A, &s, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_context_create(s,
                                         "{\"vm_name\":\"db-01\",\"vmware_vm_id\":\"vm-7\",\"vm_path\":\"/DC1/vm/db-01\","
                                         "\"vcenter_host\":\"vc\",\"datacenter\":\"DC1\"}",
                                         &ctx, &err),
                 SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_ossea_config_create(s, CONFIG_JSON("main", "true"), &cfg, &err), SENDENSE_STATUS_OK, err);
    snprintf(json_in, sizeof json_in,
             "{\"vm_context_id\":\"%s\",\"volume_id\":\"vol-1\",\"volume_name\":\"migration-db-01-disk-0\","
             "\"size_gb\":10,\"ossea_config_id\":%lld}",
             ctx, (long long)cfg);
    CHECK_STATUS(sendense_ossea_volume_create(s, json_in, &vol, &err), SENDENSE_STATUS_OK, err);
    EXPECT_FAIL(sendense_ossea_volume_create(s, json_in, &id, errp), SENDENSE_STATUS_ALREADY_EXISTS, "vol-1");
    EXPECT_FAIL(sendense_ossea_volume_create(s, "{\"volume_id\":\"v\",\"volume_name\":\"n\",\"size_gb\":0}", &id, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "size_gb");
    CHECK(id == SENTINEL_ID);
    EXPECT_FAIL(sendense_ossea_config_delete(s, cfg, errp), SENDENSE_STATUS_CONFLICT, "1 volume(s)");

    CHECK_STATUS(sendense_ossea_volume_get_json(s, vol, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"status\":\"creating\"");
    sendense_string_free(json);
    CHECK_STATUS(sendense_ossea_volume_find_json(s, "vol-1", &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"volume_name\":\"migration-db-01-disk-0\"");
    sendense_string_free(json);
    CHECK_STATUS(sendense_ossea_volume_list_json(s, ctx, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"volume_id\":\"vol-1\"");
    sendense_string_free(json);
    CHECK_STATUS(sendense_ossea_volume_list_json(s, NULL, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"volume_id\":\"vol-1\"");
    sendense_string_free(json);

    EXPECT_FAIL(sendense_ossea_volume_set_status(s, vol, "attached", "/dev/vdb", errp), SENDENSE_STATUS_INVALID_STATE,
                "from creating to attached");
    CHECK_STATUS(sendense_ossea_volume_set_status(s, vol, "available", NULL, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_ossea_volume_set_status(s, vol, "attached", "/dev/vdb", &err), SENDENSE_STATUS_OK, err);
    EXPECT_FAIL(sendense_ossea_volume_set_status(s, vol, "gone", NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "gone");
    CHECK_STATUS(sendense_ossea_volume_set_snapshot(s, vol, "creating", "snap-1", &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_ossea_volume_set_snapshot(s, vol, "ready", NULL, &err), SENDENSE_STATUS_OK, err);
    EXPECT_FAIL(sendense_ossea_volume_set_snapshot(s, vol, "creating", "snap-2", errp), SENDENSE_STATUS_INVALID_STATE,
                "from ready to creating");
    CHECK_STATUS(sendense_ossea_volume_get_json(s, vol, &json, &err), SENDENSE_STATUS_OK, err);
    CHECK_CONTAINS(json, "\"device_path\":\"/dev/vdb\"");
    CHECK_CONTAINS(json, "\"snapshot_status\":\"ready\"");
    sendense_string_free(json);
    EXPECT_FAIL(sendense_ossea_volume_link_disk(s, vol, ctx, "disk-2000", errp), SENDENSE_STATUS_NOT_FOUND, "disk-2000");
    EXPECT_FAIL(sendense_ossea_volume_get_json(s, 4242, &out, errp), SENDENSE_STATUS_NOT_FOUND, "4242");
    EXPECT_FAIL(sendense_ossea_volume_find_json(s, NULL, &out, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "volume_id", "NULL");
    CHECK(out == SENTINEL);
    CHECK_STATUS(sendense_ossea_volume_delete(s, vol, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_ossea_config_delete(s, cfg, &err), SENDENSE_STATUS_OK, err);
    sendense_string_free(ctx);
    sendense_store_free(s);
}

int main(int argc, char **argv) {
    unsigned long before;
    if (argc != 2) {
        fprintf(stderr, "usage: %s TMPDIR\n", argc > 0 ? argv[0] : "ossea_abi");
        return 2;
    }
    before = check_failures();
    test_keys_and_configs(argv[1]);
    check_group_end("keys and configurations", before);
    before = check_failures();
    test_volumes(argv[1]);
    check_group_end("volumes", before);
    return check_summary();
}
