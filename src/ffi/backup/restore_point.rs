//! C ABI of VM-level restore points: what a VM, or one of its disks, can be restored to (JSON
//! read-outs).

use std::ffi::c_char;

use crate::ffi::{arg_str, out_ptr, sendense_error, sendense_status, sendense_store, store_call, store_read_json};
use crate::store::Store;

/// The VM-level restore points of context `context_id`, newest first, as a JSON array. Each
/// object has `backup_group_id` (null for a completed point without a group, listed on its
/// own), `vm_context_id`, `repository_id`, `completed_at` (the latest completion of its
/// disks, RFC 3339 UTC), `disks` (by disk index: objects with `disk_id`, `backup_id`,
/// `backup_type`, `size_bytes`, `completed_at`) and `total_size_bytes`. A group is listed
/// only when every point of the group is completed (one per repository it was written to).
/// NOT_FOUND naming the context when it does not exist.
#[no_mangle]
pub unsafe extern "C" fn sendense_restore_points_json(
    s: *mut sendense_store,
    context_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, context_id, "context_id", json_out, err, Store::restore_points)
}

/// The completed points of disk `disk_id` (the disk index: 0, 1, ...) of context
/// `context_id`, in every repository and whatever the other disks of their groups did, newest
/// first, as a JSON array of objects with `backup_id`, `disk_id`, `repository_id`,
/// `backup_group_id`, `backup_type`, `parent_backup_id`, `change_id`, `size_bytes` and
/// `completed_at`. An unknown disk index gives `[]`; a negative one is INVALID_ARGUMENT;
/// NOT_FOUND naming the context when it does not exist.
#[no_mangle]
pub unsafe extern "C" fn sendense_disk_restore_points_json(
    s: *mut sendense_store,
    context_id: *const c_char,
    disk_id: i64,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let context_id = arg_str(context_id, "context_id")?;
        out_ptr(json_out, "json_out")?.write_json(&store.disk_restore_points(context_id, disk_id)?)
    })
}
