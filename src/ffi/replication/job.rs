//! C ABI of the replication jobs and their disks: start, read (JSON or a typed snapshot),
//! list, status transitions, progress, per-disk progress, delete and stale jobs.

use std::ffi::{c_char, CString};

use crate::error::Result;
use crate::ffi::{
    arg_json, arg_opt_str, arg_str, c_column, c_opt_column, field, field_ms, field_str, free_box, out_ptr,
    sendense_error, sendense_status, sendense_store, store_call, store_list_json, store_read_json,
};
use crate::replication::{DiskSyncStatus, JobStatus, Progress, ReplicationJob, StartJob, VmaProgress};
use crate::store::Store;

/// A read-only snapshot of one replication job record, made by `sendense_replication_get` and
/// freed with `sendense_replication_job_free`. Its getters accept NULL (and then answer NULL,
/// 0 or false); the strings they return are borrowed from the snapshot and valid until it is
/// freed.
pub struct sendense_replication_job {
    record: ReplicationJob,
    strings: JobStrings,
}

/// The text columns a snapshot lends to C, converted once when the snapshot is made.
struct JobStrings {
    id: CString,
    vm_context_id: CString,
    status: CString,
    replication_type: CString,
    current_operation: Option<CString>,
    error_message: Option<CString>,
}

impl JobStrings {
    fn of(j: &ReplicationJob) -> Result<JobStrings> {
        Ok(JobStrings {
            id: c_column("id", &j.id)?,
            vm_context_id: c_column("vm_context_id", &j.vm_context_id)?,
            status: c_column("status", j.status.as_str())?,
            replication_type: c_column("replication_type", j.replication_type.as_str())?,
            current_operation: c_opt_column("current_operation", j.current_operation.as_deref())?,
            error_message: c_opt_column("error_message", j.error_message.as_deref())?,
        })
    }
}

impl sendense_replication_job {
    fn new(record: ReplicationJob) -> Result<sendense_replication_job> {
        let strings = JobStrings::of(&record).map_err(|e| e.context(format!("replication job {}", record.id)))?;
        Ok(sendense_replication_job { record, strings })
    }
}

/// Start a replication job. `json` is an object: `context_id` and `disks` (at least one, each
/// `{"disk_id":"disk-<device key>","vm_dk_path":…,"size_gb":…}` with the optional `datastore`,
/// `unit_number`, `label`, `capacity_bytes`, `provisioning_type`, `ossea_volume_id`,
/// `network_config`) are required; `id` (generated when absent), `replication_type` (initial,
/// incremental or auto, the default: incremental when a disk has a recorded change id),
/// `target_network`, `snapshot_id`, `nbd_port`, `nbd_export_name`, `target_device`,
/// `ossea_config_id`, `schedule_execution_id`, `scheduled_by` and `vm_group_id` are optional.
/// In one transaction the disk rows are upserted (keeping their change ids), the job is
/// inserted as pending and the context moves to replicating pointing at it. `*job_id_out`
/// receives the job id. A context that already has an active job is CONFLICT naming it; a
/// taken job id is ALREADY_EXISTS.
/// With an `id` it is safe to retry after SENDENSE_STATUS_COMMIT_UNKNOWN: when the first call
/// was applied, the retry is ALREADY_EXISTS naming the job.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_start(
    s: *mut sendense_store,
    json: *const c_char,
    job_id_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let start: StartJob = arg_json(json, "json")?;
        out_ptr(job_id_out, "job_id_out")?.write_string(store.replication_start(&start)?)
    })
}

/// The job `job_id` as a JSON object whose keys are the column names of `replication_jobs`
/// (timestamps as RFC 3339 UTC strings). NOT_FOUND when there is none.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_get_json(
    s: *mut sendense_store,
    job_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, job_id, "job_id", json_out, err, Store::replication_get)
}

/// The jobs matching `filter_json` as a JSON array of job objects, newest first.
/// `filter_json` may be NULL (every job, up to the default limit) or an object with the
/// optional keys `context_id`, `status`, `limit` (default 100) and `offset`.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_list_json(
    s: *mut sendense_store,
    filter_json: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_list_json(s, filter_json, json_out, err, Store::replication_list)
}

/// Move a job along its status machine: pending, initializing, analyzing, provisioning,
/// attaching, configuring, ready_for_sync, snapshotting, replicating, finalizing, completed
/// (forward only; steps may be skipped), or from any active status to failed or cancelled.
/// Terminal statuses are final; a forbidden edge is INVALID_STATE naming from and to.
/// `error_message` may be NULL; when given it is stored (the reason of a failure). A terminal
/// status releases the context in the same transaction and updates its counters. Setting the
/// status the job already has changes nothing.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_set_status(
    s: *mut sendense_store,
    job_id: *const c_char,
    status: *const c_char,
    error_message: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let job_id = arg_str(job_id, "job_id")?;
        let status = JobStatus::parse(arg_str(status, "status")?)?;
        let error_message = arg_opt_str(error_message, "error_message")?;
        store.replication_set_status(job_id, status, error_message)?;
        Ok(())
    })
}

/// Record the progress of an active job (the hot path: one single-row update). `percent` is
/// 0 to 100 (NaN is refused); `bytes_transferred`, `total_bytes` (0 = unknown) and `speed_bps`
/// are not negative, and `bytes_transferred` is at most `total_bytes` when that is known.
/// `operation` may be NULL to keep the current operation label. A finished job is
/// INVALID_STATE: a late report never changes it.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_progress(
    s: *mut sendense_store,
    job_id: *const c_char,
    percent: f64,
    bytes_transferred: i64,
    total_bytes: i64,
    speed_bps: i64,
    operation: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let job_id = arg_str(job_id, "job_id")?;
        let current_operation = arg_opt_str(operation, "operation")?.map(str::to_string);
        let progress = Progress { percent, bytes_transferred, total_bytes, speed_bps, current_operation };
        store.replication_progress(job_id, &progress)
    })
}

/// Record what the capture appliance (VMA) reported for an active job. `json` is an object
/// with any of `vma_sync_type` (initial, incremental, full), `vma_current_phase`,
/// `vma_throughput_mbps`, `vma_eta_seconds`, `vma_error_classification`,
/// `vma_error_details` and `setup_progress_percent` (0-100); absent keys keep their values.
/// Stamps vma_last_poll_at. A finished job is INVALID_STATE.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_vma_progress(
    s: *mut sendense_store,
    job_id: *const c_char,
    json: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let job_id = arg_str(job_id, "job_id")?;
        let vma: VmaProgress = arg_json(json, "json")?;
        store.replication_vma_progress(job_id, &vma)
    })
}

/// Record the progress of one disk (`disk-<device key>`) of an active job: `percent` 0 to 100,
/// `bytes_synced` not negative, `sync_status` one of pending, syncing, completed, failed, or
/// NULL to leave it unchanged. NOT_FOUND when the job does not exist or has no such disk.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_disk_progress(
    s: *mut sendense_store,
    job_id: *const c_char,
    disk_id: *const c_char,
    percent: f64,
    bytes_synced: i64,
    sync_status: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let job_id = arg_str(job_id, "job_id")?;
        let disk_id = arg_str(disk_id, "disk_id")?;
        let sync_status = arg_opt_str(sync_status, "sync_status")?.map(DiskSyncStatus::parse).transpose()?;
        store.replication_disk_progress(job_id, disk_id, percent, bytes_synced, sync_status)
    })
}

/// The disk rows of a context (they belong to the context and survive job deletion), ordered
/// by disk_id, as a JSON array of objects whose keys are the column names of `vm_disks`.
/// NOT_FOUND when the context does not exist.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_disks_json(
    s: *mut sendense_store,
    context_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, context_id, "context_id", json_out, err, Store::replication_disks)
}

/// Delete a finished job. Its disk rows and their change ids stay, its CBT history stays
/// (unlinked), and the context's counters and pointers are recomputed. An active job is
/// CONFLICT (fail or cancel it first); NOT_FOUND when there is none.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_delete(
    s: *mut sendense_store,
    job_id: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let job_id = arg_str(job_id, "job_id")?;
        store.replication_delete(job_id)
    })
}

/// The active jobs whose last update (progress or status) is more than `older_than_ms`
/// milliseconds old, oldest first, as a JSON array of job objects. A negative age is
/// INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_stale_json(
    s: *mut sendense_store,
    older_than_ms: i64,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| out_ptr(json_out, "json_out")?.write_json(&store.replication_stale(older_than_ms)?))
}

/// Fail every stale job (as `sendense_replication_stale_json` finds them) with `reason` as its
/// error message, releasing their contexts, in one transaction. `*job_ids_json_out` receives a
/// JSON array of the ids of the jobs failed.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_fail_stale(
    s: *mut sendense_store,
    older_than_ms: i64,
    reason: *const c_char,
    job_ids_json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let reason = arg_str(reason, "reason")?;
        out_ptr(job_ids_json_out, "job_ids_json_out")?.write_json(&store.replication_fail_stale(older_than_ms, reason)?)
    })
}

/// A typed, read-only snapshot of the job `job_id`; `*out` receives a new object that the
/// caller frees with `sendense_replication_job_free`. NOT_FOUND when there is none.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_get(
    s: *mut sendense_store,
    job_id: *const c_char,
    out: *mut *mut sendense_replication_job,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let job_id = arg_str(job_id, "job_id")?;
        out_ptr(out, "out")?.write_box(sendense_replication_job::new(store.replication_get(job_id)?)?);
        Ok(())
    })
}

/// Free a job snapshot (its borrowed strings become invalid). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_job_free(j: *mut sendense_replication_job) {
    free_box(j);
}

/// The job id; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_job_id(j: *const sendense_replication_job) -> *const c_char {
    field_str(j, |j| Some(&j.strings.id))
}

/// The id of the job's context (`vm_context_id`); NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_job_context_id(j: *const sendense_replication_job) -> *const c_char {
    field_str(j, |j| Some(&j.strings.vm_context_id))
}

/// The job status (pending, ..., completed, failed, cancelled); NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_job_status(j: *const sendense_replication_job) -> *const c_char {
    field_str(j, |j| Some(&j.strings.status))
}

/// The job type, initial or incremental (`auto` is resolved at start); NULL for a NULL
/// snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_job_replication_type(
    j: *const sendense_replication_job,
) -> *const c_char {
    field_str(j, |j| Some(&j.strings.replication_type))
}

/// The label of the job's current step; NULL when none was reported or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_job_current_operation(
    j: *const sendense_replication_job,
) -> *const c_char {
    field_str(j, |j| j.strings.current_operation.as_ref())
}

/// The job's error message; NULL when there is none or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_job_error_message(j: *const sendense_replication_job) -> *const c_char {
    field_str(j, |j| j.strings.error_message.as_ref())
}

/// The progress, 0 to 100; 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_job_progress_percent(j: *const sendense_replication_job) -> f64 {
    field(j, 0.0, |j| j.record.progress_percent)
}

/// The bytes copied so far; 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_job_bytes_transferred(j: *const sendense_replication_job) -> i64 {
    field(j, 0, |j| j.record.bytes_transferred)
}

/// The bytes expected (0 when unknown); 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_job_total_bytes(j: *const sendense_replication_job) -> i64 {
    field(j, 0, |j| j.record.total_bytes)
}

/// The last reported throughput, bytes per second; 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_job_transfer_speed_bps(j: *const sendense_replication_job) -> i64 {
    field(j, 0, |j| j.record.transfer_speed_bps)
}

/// When the job was created, in milliseconds since the Unix epoch (UTC); 0 for a NULL
/// snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_job_created_at_ms(j: *const sendense_replication_job) -> i64 {
    field(j, 0, |j| j.record.created_at.millis())
}

/// When the job was last changed (status or progress), in milliseconds since the Unix epoch
/// (UTC); 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_job_updated_at_ms(j: *const sendense_replication_job) -> i64 {
    field(j, 0, |j| j.record.updated_at.millis())
}

/// When the job entered replicating: true and `*out_ms` (milliseconds since the Unix epoch;
/// not written when `out_ms` is NULL) when it did, false (and `*out_ms` untouched) when not or
/// for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_job_started_at_ms(
    j: *const sendense_replication_job,
    out_ms: *mut i64,
) -> bool {
    field_ms(j, out_ms, |j| j.record.started_at)
}

/// When the job reached its terminal status; as `sendense_replication_job_started_at_ms`.
#[no_mangle]
pub unsafe extern "C" fn sendense_replication_job_completed_at_ms(
    j: *const sendense_replication_job,
    out_ms: *mut i64,
) -> bool {
    field_ms(j, out_ms, |j| j.record.completed_at)
}
