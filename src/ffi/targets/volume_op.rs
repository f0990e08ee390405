//! C ABI of the volume daemon's records: volume operations (create, status changes, reads,
//! lists, history, stuck operations), volume mounts, and metrics.

use std::ffi::c_char;

use serde_json::Value;

use crate::ffi::{
    arg_json, arg_opt_json, arg_opt_str, arg_str, out_opt_ptr, out_ptr, sendense_error, sendense_status,
    sendense_store, store_call, store_list_json, store_read_json,
};
use crate::store::Store;
use crate::targets::{MountStatus, NewVolumeMount, NewVolumeOp, VolumeOpStatus};

/// Record a new volume operation in pending, with its first history row (NULL -> pending).
/// `json`: `type` (create, attach, detach, delete or cleanup), `volume_id`, `request` (a JSON
/// object), and optionally `id` (the caller's id; a new UUID otherwise) and `vm_id`.
/// `*operation_id_out` receives the id. A duplicate id is ALREADY_EXISTS.
/// With an `id` it is safe to retry after SENDENSE_STATUS_COMMIT_UNKNOWN (the retry is
/// ALREADY_EXISTS naming it); without one, a retry records a second operation.
#[no_mangle]
pub unsafe extern "C" fn sendense_volume_op_create(
    s: *mut sendense_store,
    json: *const c_char,
    operation_id_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let new: NewVolumeOp = arg_json(json, "json")?;
        out_ptr(operation_id_out, "operation_id_out")?.write_string(store.volume_op_create(&new)?)
    })
}

/// Move an operation to `status` (pending -> executing -> completed, failed or cancelled;
/// pending -> failed or cancelled), appending its history row and stamping completed_at on a
/// final status, in one transaction. `response_json` (NULL allowed) is any JSON value and
/// replaces the stored response; `error` (NULL allowed) is required when the status is
/// "failed" and refused otherwise. A forbidden move is INVALID_STATE naming from and to;
/// NOT_FOUND naming the id when there is no such operation.
#[no_mangle]
pub unsafe extern "C" fn sendense_volume_op_set_status(
    s: *mut sendense_store,
    operation_id: *const c_char,
    status: *const c_char,
    response_json: *const c_char,
    error: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let operation_id = arg_str(operation_id, "operation_id")?;
        let status = VolumeOpStatus::parse(arg_str(status, "status")?)?;
        let response: Option<Value> = arg_opt_json(response_json, "response_json")?;
        let error = arg_opt_str(error, "error")?;
        store.volume_op_set_status(operation_id, status, response.as_ref(), error)?;
        Ok(())
    })
}

/// The operation `operation_id` as a JSON object whose keys are the column names of
/// `volume_operations` (`request` and `response` embedded as JSON). NOT_FOUND naming the id.
#[no_mangle]
pub unsafe extern "C" fn sendense_volume_op_get_json(
    s: *mut sendense_store,
    operation_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, operation_id, "operation_id", json_out, err, Store::volume_op_get)
}

/// The operations matching `filter_json` as a JSON array, oldest first. `filter_json` may be
/// NULL (every operation, up to the default limit) or an object with the optional keys
/// `volume_id`, `vm_id`, `status`, `type`, `limit` (default 100) and `offset`.
#[no_mangle]
pub unsafe extern "C" fn sendense_volume_op_list_json(
    s: *mut sendense_store,
    filter_json: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_list_json(s, filter_json, json_out, err, Store::volume_op_list)
}

/// The history of an operation as a JSON array of `volume_operation_history` rows (`id`,
/// `operation_id`, `previous_status`, `new_status`, `changed_at`, `details`), oldest first.
/// NOT_FOUND naming the id when there is no such operation.
#[no_mangle]
pub unsafe extern "C" fn sendense_volume_op_history_json(
    s: *mut sendense_store,
    operation_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, operation_id, "operation_id", json_out, err, Store::volume_op_history)
}

/// The operations executing for longer than `older_than_ms` (not negative), longest-stuck
/// first, as a JSON array.
#[no_mangle]
pub unsafe extern "C" fn sendense_volume_op_stuck_json(
    s: *mut sendense_store,
    older_than_ms: i64,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| out_ptr(json_out, "json_out")?.write_json(&store.volume_op_stuck(older_than_ms)?))
}

/// Record a mount of an `ossea_volumes` row for a replication job, in mounting. `json`:
/// `ossea_volume_id`, `job_id`, `device_path` and optionally `mount_point`,
/// `filesystem_type`, `mount_options`, `is_read_only`. `*mount_id_out` receives its id.
/// NOT_FOUND naming a missing volume row or job; CONFLICT naming the live mount that already
/// uses the device path or mount point.
#[no_mangle]
pub unsafe extern "C" fn sendense_volume_mount_create(
    s: *mut sendense_store,
    json: *const c_char,
    mount_id_out: *mut i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let new: NewVolumeMount = arg_json(json, "json")?;
        out_ptr(mount_id_out, "mount_id_out")?.write(store.volume_mount_create(&new)?);
        Ok(())
    })
}

/// Move a mount to `status`: mounting -> mounted | error; mounted -> unmount_pending |
/// unmounted | error; unmount_pending -> unmounted | error; error -> unmounted (mounted_at
/// and unmounted_at are stamped). INVALID_STATE naming from and to; NOT_FOUND naming the id.
#[no_mangle]
pub unsafe extern "C" fn sendense_volume_mount_set_status(
    s: *mut sendense_store,
    mount_id: i64,
    status: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let status = MountStatus::parse(arg_str(status, "status")?)?;
        store.volume_mount_set_status(mount_id, status)?;
        Ok(())
    })
}

/// The mount `mount_id` as a JSON object whose keys are the column names of `volume_mounts`.
/// NOT_FOUND naming the id.
#[no_mangle]
pub unsafe extern "C" fn sendense_volume_mount_get_json(
    s: *mut sendense_store,
    mount_id: i64,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| out_ptr(json_out, "json_out")?.write_json(&store.volume_mount_get(mount_id)?))
}

/// The mounts of replication job `job_id` as a JSON array, oldest first. NOT_FOUND naming
/// the job when it does not exist.
#[no_mangle]
pub unsafe extern "C" fn sendense_volume_mount_list_json(
    s: *mut sendense_store,
    job_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, job_id, "job_id", json_out, err, Store::volume_mount_list)
}

/// The volume daemon's metrics computed now from the operations, as a JSON object:
/// `timestamp`, `total_operations`, `pending_operations` (pending or executing),
/// `active_mappings` (device mappings), `operations_by_type`, `operations_by_status`,
/// `average_response_time_ms` (completed operations) and `error_rate_percent` (failed among
/// final operations).
#[no_mangle]
pub unsafe extern "C" fn sendense_volume_metrics_json(
    s: *mut sendense_store,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| out_ptr(json_out, "json_out")?.write_json(&store.volume_metrics()?))
}

/// Compute the metrics and store them as a `volume_daemon_metrics` sample. `*json_out` (when
/// `json_out` is not NULL) receives the sample as JSON, with its `id`.
#[no_mangle]
pub unsafe extern "C" fn sendense_volume_metrics_record(
    s: *mut sendense_store,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let sample = store.volume_metrics_record()?;
        match out_opt_ptr(json_out) {
            Some(out) => out.write_json(&sample),
            None => Ok(()),
        }
    })
}

/// The recorded metric samples (`volume_daemon_metrics` rows), newest first, at most `limit`,
/// as a JSON array of metric objects with their `id`.
#[no_mangle]
pub unsafe extern "C" fn sendense_volume_metrics_samples_json(
    s: *mut sendense_store,
    limit: u32,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| out_ptr(json_out, "json_out")?.write_json(&store.volume_metrics_samples(limit)?))
}
