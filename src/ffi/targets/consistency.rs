//! C ABI of the storage consistency check of device mappings, NBD exports and volumes.

use std::ffi::c_char;

use crate::ffi::{out_ptr, sendense_error, sendense_status, sendense_store, store_call};

/// The storage consistency check as a JSON object: `ok`, `exports_without_live_mapping`
/// (export names), `oma_mappings_without_export` (volume UUIDs), `duplicate_device_paths` and
/// `volume_mismatches` (`volume_id`, `status`, `mapping_id`). Also part of
/// `sendense_store_integrity_check`.
#[no_mangle]
pub unsafe extern "C" fn sendense_storage_consistency_json(
    s: *mut sendense_store,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| out_ptr(json_out, "json_out")?.write_json(&store.storage_consistency()?))
}
