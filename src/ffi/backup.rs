//! C ABI of backup points, their chains and copies (JSON read-outs; typed snapshots follow).

use std::ffi::c_char;

use super::{
    arg_json, arg_opt_json, arg_opt_str, arg_ref, arg_str, call, out_ptr, sendense_error, sendense_status,
    sendense_store,
};
use crate::backup::{BackupFilter, StartBackup};

/// Start a backup point of one disk. `json`: `context_id`, `disk_id` (the disk's index in the
/// VM: 0, 1, ...), `repository_id`, `backup_type` (full, incremental or differential),
/// `repository_path`, and optionally `id`, `policy_id`, `backup_group_id` (shared by the
/// per-disk points of one VM backup) and `vm_name`. The parent of an incremental (the chain's
/// latest completed point) or a differential (the chain's full) is found by the library; when
/// there is none the start is INVALID_STATE with the reason. `*backup_id_out` receives the id.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_start(
    s: *mut sendense_store,
    json: *const c_char,
    backup_id_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let start: StartBackup = arg_json(json, "json")?;
        let backup_id_out = out_ptr(backup_id_out, "backup_id_out")?;
        backup_id_out.write_string(store.backup_start(&start)?)
    })
}

/// Mark a pending point running (the transfer began; the first heartbeat).
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_set_running(
    s: *mut sendense_store,
    backup_id: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        store.backup_set_running(arg_str(backup_id, "backup_id")?)
    })
}

/// Complete a point: its change id (`<uuid part>/<sequence>`, or NULL), the bytes
/// transferred and the size of its file. In the same transaction its chain is created or
/// updated (a full starts a new generation; other points append) and its policy's enabled
/// copy rules fan out as pending copies.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_complete(
    s: *mut sendense_store,
    backup_id: *const c_char,
    change_id: *const c_char,
    bytes_transferred: i64,
    size_bytes: i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let backup_id = arg_str(backup_id, "backup_id")?;
        let change_id = arg_opt_str(change_id, "change_id")?;
        store.backup_complete(backup_id, change_id, bytes_transferred, size_bytes)
    })
}

/// Fail an active point with `error_message` (required).
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_fail(
    s: *mut sendense_store,
    backup_id: *const c_char,
    error_message: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let backup_id = arg_str(backup_id, "backup_id")?;
        store.backup_fail(backup_id, arg_str(error_message, "error_message")?)
    })
}

/// Cancel an active point.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_cancel(
    s: *mut sendense_store,
    backup_id: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        store.backup_cancel(arg_str(backup_id, "backup_id")?)
    })
}

/// The point `backup_id` as a JSON object whose keys are the column names of `backup_jobs`.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_get_json(
    s: *mut sendense_store,
    backup_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let backup_id = arg_str(backup_id, "backup_id")?;
        let json_out = out_ptr(json_out, "json_out")?;
        json_out.write_json(&store.backup_get(backup_id)?)
    })
}

/// The points matching `filter_json` (context, repository, status, group, paging; NULL for
/// all), newest first, as a JSON array.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_list_json(
    s: *mut sendense_store,
    filter_json: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let filter: BackupFilter = arg_opt_json(filter_json, "filter_json")?.unwrap_or_default();
        let json_out = out_ptr(json_out, "json_out")?;
        json_out.write_json(&store.backup_list(&filter)?)
    })
}

/// The restore chain of a point: a JSON array of the points from its full to itself, in
/// order. INVALID_STATE naming the link when one is missing or not completed.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_restore_chain_json(
    s: *mut sendense_store,
    backup_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let backup_id = arg_str(backup_id, "backup_id")?;
        let json_out = out_ptr(json_out, "json_out")?;
        json_out.write_json(&store.restore_chain(backup_id)?)
    })
}

/// Delete a point. Refused, changing nothing, while it is active (CONFLICT), protected
/// (INVALID_STATE), depended on by another point (CONFLICT naming it) or inside its
/// repository's min_retention_days (INVALID_STATE); otherwise its chain is updated with it.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_delete(
    s: *mut sendense_store,
    backup_id: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        store.backup_delete(arg_str(backup_id, "backup_id")?)
    })
}

/// The chains of a context (one per disk and repository) as a JSON array of
/// `backup_chains` rows.
#[no_mangle]
pub unsafe extern "C" fn sendense_chain_list_json(
    s: *mut sendense_store,
    context_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let context_id = arg_str(context_id, "context_id")?;
        let json_out = out_ptr(json_out, "json_out")?;
        json_out.write_json(&store.chain_list(context_id)?)
    })
}

/// Claim the oldest pending copy for worker `worker_id`, atomically (two workers or two
/// processes never get the same copy), moving it to copying. `*copy_json_out` receives the
/// copy as JSON, or NULL when no copy is pending.
#[no_mangle]
pub unsafe extern "C" fn sendense_copy_claim(
    s: *mut sendense_store,
    worker_id: *const c_char,
    copy_json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let worker_id = arg_str(worker_id, "worker_id")?;
        let copy_json_out = out_ptr(copy_json_out, "copy_json_out")?;
        match store.copy_claim(worker_id)? {
            Some(copy) => copy_json_out.write_json(&copy),
            None => {
                copy_json_out.write(std::ptr::null_mut());
                Ok(())
            }
        }
    })
}
