//! C ABI of network mappings (`sendense_network_mapping_*`): set, validate, list, delete.

use std::ffi::c_char;

use crate::failover::{MappingType, NewNetworkMapping};
use crate::ffi::{arg_json, arg_str, out_ptr, sendense_error, sendense_status, sendense_store, store_call};

/// Create or update the mapping of a VMware network of a context to a CloudStack network.
/// `json`: `vm_context_id`, `source_network_name`, `destination_network_id`,
/// `destination_network_name`, `mapping_type` (`live`, `test`, or `both`: one row per kind,
/// written in one transaction), optional `network_strategy` (replaced on every set; absent
/// clears it). A mapping is keyed by (context, source network name, kind): setting it again
/// updates it, and a changed destination makes its `validation_status` `pending` again.
/// `vm_id` is not an input: the row's legacy `vm_id` is always the context's VMware VM id.
/// An unknown context is NOT_FOUND; a blank name, another kind or an unknown key is
/// INVALID_ARGUMENT. Safe to retry after SENDENSE_STATUS_COMMIT_UNKNOWN.
#[no_mangle]
pub unsafe extern "C" fn sendense_network_mapping_set(
    s: *mut sendense_store,
    json: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| store.network_mapping_set(&arg_json::<NewNetworkMapping>(json, "json")?).map(|_| ()))
}

/// Record whether a mapping's destination network was found usable: `valid` true marks it
/// `valid`, false `invalid`, stamping `last_validated`. `kind`: `live`, `test` or `both` (both
/// rows). `valid` is a by-value C `bool` (the compiler converts the argument to 0 or 1 at the
/// call; unlike a struct field, no stray byte can reach the library). A missing mapping is
/// NOT_FOUND naming the network and kind, and changes nothing.
#[no_mangle]
pub unsafe extern "C" fn sendense_network_mapping_validate(
    s: *mut sendense_store,
    context_id: *const c_char,
    source_network_name: *const c_char,
    kind: *const c_char,
    valid: bool,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let (context_id, source) =
            (arg_str(context_id, "context_id")?, arg_str(source_network_name, "source_network_name")?);
        let kind = MappingType::parse(arg_str(kind, "kind")?)?;
        store.network_mapping_validate(context_id, source, kind, valid).map(|_| ())
    })
}

/// The network mappings of a context as a JSON array of `network_mappings` rows (keys are the
/// column names), by source network name, live before test. NOT_FOUND for an unknown context.
#[no_mangle]
pub unsafe extern "C" fn sendense_network_mapping_list_json(
    s: *mut sendense_store,
    context_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let rows = store.network_mapping_list(arg_str(context_id, "context_id")?, None)?;
        out_ptr(json_out, "json_out")?.write_json(&rows)
    })
}

/// Delete the mapping of a source network of a context for `kind` (`live`, `test`, or `both`:
/// both rows). A missing mapping (for `both`: either row) is NOT_FOUND and deletes nothing.
#[no_mangle]
pub unsafe extern "C" fn sendense_network_mapping_delete(
    s: *mut sendense_store,
    context_id: *const c_char,
    source_network_name: *const c_char,
    kind: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let (context_id, source) =
            (arg_str(context_id, "context_id")?, arg_str(source_network_name, "source_network_name")?);
        store.network_mapping_delete(context_id, source, MappingType::parse(arg_str(kind, "kind")?)?)
    })
}
