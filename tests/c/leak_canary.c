/*
 * Deliberately leaks a store handle (memory allocated inside the Rust library), so that
 * tests/c_abi/main.rs can check that LeakSanitizer and valgrind really detect leaks here: a leak
 * checker that silently does not run would make the other runs prove nothing.
 */
#include <stdio.h>

#include "sendense.h"

int main(void) {
    sendense_store *store = NULL;
    sendense_status s = sendense_store_open_in_memory(NULL, &store, NULL);
    if (s != SENDENSE_STATUS_OK) {
        fprintf(stderr, "open_in_memory failed: %s\n", sendense_status_name(s));
        return 2;
    }
    store = NULL; /* the only reference is gone: a definite leak */
    puts("leaked a store on purpose");
    return 0;
}
