/*
 * Tiny check framework for the C ABI test programs (C99, header-only: include it from
 * exactly one .c file per program).
 *
 * Every CHECK counts one passed or failed check (thread-safe), a failure prints the file,
 * line and expression to stderr and the run goes on. check_summary() prints the closing line
 * "N passed, M failed" and returns the process exit code (0 only when nothing failed).
 *
 * EXPECT_FAIL(call, want, needle...) runs `call` twice: once with the identifier `errp`
 * bound to NULL (a NULL `err` must be allowed and the status still returned) and once bound to
 * the address of a fresh `sendense_error *`. Both statuses must equal `want`; the error object
 * must carry the same status, a message of the form "STATUS_NAME: ...", and every needle as a
 * substring. The error object is freed.
 */
#ifndef SENDENSE_TEST_CHECK_H
#define SENDENSE_TEST_CHECK_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sendense.h"

static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long check_passed_count;
static unsigned long check_failed_count;

/* Count one check; on failure print where and why (printf-style details). Returns ok. */
static int check_report(int ok, const char *file, int line, const char *fmt, ...) {
    pthread_mutex_lock(&check_lock);
    if (ok) {
        check_passed_count++;
    } else {
        va_list ap;
        check_failed_count++;
        fprintf(stderr, "FAILED %s:%d: ", file, line);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        fflush(stderr);
    }
    pthread_mutex_unlock(&check_lock);
    return ok;
}

/* The number of failed checks so far (for per-group summaries). */
static unsigned long check_failures(void) {
    unsigned long n;
    pthread_mutex_lock(&check_lock);
    n = check_failed_count;
    pthread_mutex_unlock(&check_lock);
    return n;
}

#define CHECK(cond) check_report((cond) ? 1 : 0, __FILE__, __LINE__, "%s", #cond)

#define CHECK_STR_EQ(got, want) check_str_eq_at(__FILE__, __LINE__, #got, (got), (want))
static int check_str_eq_at(const char *file, int line, const char *expr, const char *got, const char *want) {
    int ok = got != NULL && strcmp(got, want) == 0;
    return check_report(ok, file, line, "%s is \"%s\", expected \"%s\"", expr, got ? got : "(NULL)", want);
}

#define CHECK_CONTAINS(haystack, needle) check_contains_at(__FILE__, __LINE__, #haystack, (haystack), (needle))
static int check_contains_at(const char *file, int line, const char *expr, const char *haystack, const char *needle) {
    int ok = haystack != NULL && strstr(haystack, needle) != NULL;
    return check_report(ok, file, line, "%s is \"%s\", which does not contain \"%s\"", expr,
                        haystack ? haystack : "(NULL)", needle);
}

/* A status equals the expected one; on failure the error's message (when there is one) is shown. */
#define CHECK_STATUS(got, want, err) check_status_at(__FILE__, __LINE__, #got, (got), (want), (err))
static int check_status_at(const char *file, int line, const char *expr, sendense_status got, sendense_status want,
                           const sendense_error *err) {
    return check_report(got == want, file, line, "%s returned %s (%d), expected %s (%d); error message: \"%s\"", expr,
                        sendense_status_name(got), (int)got, sendense_status_name(want), (int)want,
                        got == want ? "" : sendense_error_message(err));
}

/* Checks an error object against the expected status and message needles (NULL-terminated),
 * then frees it. */
static void check_error_at(const char *file, int line, const char *expr, sendense_status got, sendense_error *err,
                           sendense_status want, ...) {
    char prefix[64];
    const char *message = sendense_error_message(err);
    const char *needle;
    va_list ap;

    check_status_at(file, line, expr, got, want, err);
    if (check_report(err != NULL, file, line, "%s failed but left *err NULL", expr)) {
        check_report(sendense_error_status(err) == want, file, line, "sendense_error_status after %s is %s, expected %s",
                     expr, sendense_status_name(sendense_error_status(err)), sendense_status_name(want));
        snprintf(prefix, sizeof prefix, "%s: ", sendense_status_name(want));
        check_report(strncmp(message, prefix, strlen(prefix)) == 0, file, line,
                     "message of %s is \"%s\", which does not start with \"%s\"", expr, message, prefix);
        va_start(ap, want);
        while ((needle = va_arg(ap, const char *)) != NULL) {
            check_report(strstr(message, needle) != NULL, file, line,
                         "message of %s is \"%s\", which does not contain \"%s\"", expr, message, needle);
        }
        va_end(ap);
    }
    sendense_error_free(err);
}

#define EXPECT_FAIL(call, want, ...)                                                                          \
    do {                                                                                                      \
        sendense_error *expect_err_ = NULL;                                                                   \
        sendense_error **errp = NULL;                                                                         \
        sendense_status expect_status_ = (call);                                                              \
        check_status_at(__FILE__, __LINE__, #call " with err NULL", expect_status_, (want), NULL);           \
        errp = &expect_err_;                                                                                  \
        expect_status_ = (call);                                                                              \
        check_error_at(__FILE__, __LINE__, #call, expect_status_, expect_err_, (want), __VA_ARGS__,           \
                       (const char *)NULL);                                                                   \
    } while (0)

/* Print "name: ok" or "name: FAILED (k failed checks)" for a group of checks. */
static void check_group_end(const char *name, unsigned long failures_before) {
    unsigned long failed = check_failures() - failures_before;
    if (failed == 0) {
        printf("%s: ok\n", name);
    } else {
        printf("%s: FAILED (%lu failed checks)\n", name, failed);
    }
    fflush(stdout);
}

/* Print the closing line and return the exit code. */
static int check_summary(void) {
    printf("%lu passed, %lu failed\n", check_passed_count, check_failed_count);
    fflush(stdout);
    return check_failed_count == 0 ? 0 : 1;
}

#endif /* SENDENSE_TEST_CHECK_H */
