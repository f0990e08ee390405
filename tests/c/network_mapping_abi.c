/*
 * C ABI test of network mappings: set for one kind and for both (one row per kind), set again
 * (an update in place), validate (valid and invalid, stamping last_validated), list as JSON,
 * delete one kind; with the refusals: NULL arguments, malformed or unknown JSON, a kind outside
 * live/test/both, blank names, an unknown context, a missing mapping (NOT_FOUND), each leaving
 * the out-parameters and the mappings untouched. Usage: network_mapping_abi TMPDIR
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "sendense.h"

#define SENTINEL ((char *)"untouched")

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

/* The mappings of `ctx` as JSON (caller frees). */
static char *list(sendense_store *s, const char *ctx) {
    char *json = NULL;
    sendense_error *err = NULL;
    CHECK_STATUS(sendense_network_mapping_list_json(s, ctx, &json, &err), SENDENSE_STATUS_OK, err);
    sendense_error_free(err);
    return json;
}

static void test_network_mappings(sendense_store *s, const char *ctx) {
    char json[1024];
    char *out = NULL, *before = NULL, *after = NULL;
    sendense_error *err = NULL;

    snprintf(json, sizeof json,
             "{\"vm_context_id\":\"%s\",\"source_network_name\":\"VM Network\",\"destination_network_id\":\"net-1\","
             "\"destination_network_name\":\"prod\",\"mapping_type\":\"both\",\"network_strategy\":\"l2\"}",
             ctx);
    CHECK_STATUS(sendense_network_mapping_set(s, json, &err), SENDENSE_STATUS_OK, err);
    snprintf(json, sizeof json,
             "{\"vm_context_id\":\"%s\",\"source_network_name\":\"VM Network\",\"destination_network_id\":\"net-iso\","
             "\"destination_network_name\":\"isolated\",\"mapping_type\":\"test\"}",
             ctx);
    CHECK_STATUS(sendense_network_mapping_set(s, json, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_network_mapping_validate(s, ctx, "VM Network", "live", true, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_network_mapping_validate(s, ctx, "VM Network", "test", false, &err), SENDENSE_STATUS_OK,
                 err);
    out = list(s, ctx);
    CHECK(count_of(out, "\"source_network_name\":\"VM Network\"") == 2);
    CHECK_CONTAINS(out, "\"mapping_type\":\"live\",\"network_strategy\":\"l2\"");
    CHECK_CONTAINS(out, "\"destination_network_id\":\"net-iso\",\"destination_network_name\":\"isolated\","
                        "\"is_test_network\":true");
    CHECK_CONTAINS(out, "\"validation_status\":\"valid\",\"mapping_type\":\"live\"");
    CHECK_CONTAINS(out, "\"validation_status\":\"invalid\",\"mapping_type\":\"test\"");
    CHECK_CONTAINS(out, "\"vm_id\":\"4210-net\"");
    CHECK(count_of(out, "\"last_validated\":\"") == 2);
    sendense_string_free(out);

    /* Refusals: each changes nothing and leaves the out-parameter alone. */
    before = list(s, ctx);
    out = SENTINEL;
    EXPECT_FAIL(sendense_network_mapping_set(s, "{not json", errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json");
    EXPECT_FAIL(sendense_network_mapping_set(s, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json");
    snprintf(json, sizeof json,
             "{\"vm_context_id\":\"%s\",\"source_network_name\":\"A\",\"destination_network_id\":\"n\","
             "\"destination_network_name\":\"N\",\"mapping_type\":\"all\"}",
             ctx);
    EXPECT_FAIL(sendense_network_mapping_set(s, json, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "\"all\"",
                "live, test, both");
    snprintf(json, sizeof json,
             "{\"vm_context_id\":\"%s\",\"source_network_name\":\" \",\"destination_network_id\":\"n\","
             "\"destination_network_name\":\"N\",\"mapping_type\":\"live\"}",
             ctx);
    EXPECT_FAIL(sendense_network_mapping_set(s, json, errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "source_network_name");
    snprintf(json, sizeof json,
             "{\"vm_context_id\":\"%s\",\"vm_id\":\"web\",\"source_network_name\":\"A\","
             "\"destination_network_id\":\"n\",\"destination_network_name\":\"N\",\"mapping_type\":\"live\"}",
             ctx);
    EXPECT_FAIL(sendense_network_mapping_set(s, json, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "vm_id");
    EXPECT_FAIL(sendense_network_mapping_set(s,
                                             "{\"vm_context_id\":\"nope\",\"source_network_name\":\"A\","
                                             "\"destination_network_id\":\"n\",\"destination_network_name\":\"N\","
                                             "\"mapping_type\":\"live\"}",
                                             errp),
                SENDENSE_STATUS_NOT_FOUND, "nope");
    EXPECT_FAIL(sendense_network_mapping_validate(s, ctx, "VM Network", "staging", true, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "staging");
    EXPECT_FAIL(sendense_network_mapping_validate(s, ctx, "Other", "live", true, errp), SENDENSE_STATUS_NOT_FOUND,
                "Other", "live");
    EXPECT_FAIL(sendense_network_mapping_validate(s, NULL, "VM Network", "live", true, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "context_id");
    EXPECT_FAIL(sendense_network_mapping_validate(s, ctx, "VM Network", NULL, true, errp),
                SENDENSE_STATUS_INVALID_ARGUMENT, "kind");
    EXPECT_FAIL(sendense_network_mapping_list_json(s, "nope", &out, errp), SENDENSE_STATUS_NOT_FOUND, "nope");
    EXPECT_FAIL(sendense_network_mapping_list_json(s, ctx, NULL, errp), SENDENSE_STATUS_INVALID_ARGUMENT, "json_out");
    EXPECT_FAIL(sendense_network_mapping_delete(s, ctx, "Other", "both", errp), SENDENSE_STATUS_NOT_FOUND, "Other");
    EXPECT_FAIL(sendense_network_mapping_delete(s, ctx, NULL, "live", errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "source_network_name");
    EXPECT_FAIL(sendense_network_mapping_delete(s, ctx, "VM Network", "", errp), SENDENSE_STATUS_INVALID_ARGUMENT,
                "live, test, both");
    CHECK(out == SENTINEL);
    after = list(s, ctx);
    CHECK_STR_EQ(after, before);
    sendense_string_free(before);
    sendense_string_free(after);

    CHECK_STATUS(sendense_network_mapping_delete(s, ctx, "VM Network", "test", &err), SENDENSE_STATUS_OK, err);
    out = list(s, ctx);
    CHECK(count_of(out, "\"mapping_type\":\"test\"") == 0);
    CHECK(count_of(out, "\"mapping_type\":\"live\"") == 1);
    sendense_string_free(out);
    CHECK_STATUS(sendense_network_mapping_delete(s, ctx, "VM Network", "live", &err), SENDENSE_STATUS_OK, err);
    out = list(s, ctx);
    CHECK_STR_EQ(out, "[]");
    sendense_string_free(out);
}

int main(int argc, char **argv) {
    char path[4096];
    sendense_store *store = NULL;
    sendense_error *err = NULL;
    char *ctx = NULL;
    unsigned long before;
    if (argc != 2) {
        fprintf(stderr, "usage: %s TMPDIR\n", argc > 0 ? argv[0] : "network_mapping_abi");
        return 2;
    }
    snprintf(path, sizeof path, "%s/network_mapping_abi.db", argv[1]);
    CHECK_STATUS(sendense_store_open(path, NULL, &store, &err), SENDENSE_STATUS_OK, err);
    CHECK_STATUS(sendense_context_create(store,
                                         "{\"vm_name\":\"web-01\",\"vmware_vm_id\":\"4210-net\",\"vm_path\":\"/dc/vm/web-01\","
                                         "\"vcenter_host\":\"vc\",\"datacenter\":\"dc\"}",
                                         &ctx, &err),
                 SENDENSE_STATUS_OK, err);
    before = check_failures();
    test_network_mappings(store, ctx);
    check_group_end("network mappings", before);
    sendense_string_free(ctx);
    sendense_store_free(store);
    return check_summary();
}
