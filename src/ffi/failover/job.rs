//! C ABI of the failover jobs: start, steps, failure, rollback, commit, read (JSON or a typed
//! snapshot) and list.

use std::ffi::{c_char, CString};

use crate::error::Result;
use crate::failover::{FailoverJob, FailoverStatus, StartFailover, StepResults};
use crate::ffi::{
    arg_json, arg_opt_json, arg_str, c_column, c_opt_column, field, field_ms, field_str, free_box, out_ptr,
    sendense_error, sendense_status, sendense_store, store_call, store_list_json, store_read_json,
};
use crate::store::Store;

/// A read-only snapshot of one failover record, made by `sendense_failover_get` and freed with
/// `sendense_failover_job_free`. Its getters accept NULL (and then answer NULL, 0 or false);
/// the strings they return are borrowed from the snapshot and valid until it is freed.
pub struct sendense_failover_job {
    record: FailoverJob,
    strings: FailoverStrings,
}

/// The text columns a snapshot lends to C, converted once when the snapshot is made.
struct FailoverStrings {
    job_id: CString,
    vm_context_id: CString,
    job_type: CString,
    status: CString,
    replication_job_id: Option<CString>,
    destination_vm_id: Option<CString>,
    error_message: Option<CString>,
}

impl sendense_failover_job {
    fn new(record: FailoverJob) -> Result<sendense_failover_job> {
        let j = &record;
        let strings = (|| {
            Ok(FailoverStrings {
                job_id: c_column("job_id", &j.job_id)?,
                vm_context_id: c_column("vm_context_id", &j.vm_context_id)?,
                job_type: c_column("job_type", j.job_type.as_str())?,
                status: c_column("status", j.status.as_str())?,
                replication_job_id: c_opt_column("replication_job_id", j.replication_job_id.as_deref())?,
                destination_vm_id: c_opt_column("destination_vm_id", j.destination_vm_id.as_deref())?,
                error_message: c_opt_column("error_message", j.error_message.as_deref())?,
            })
        })()
        .map_err(|e: crate::Error| e.context(format!("failover {}", j.job_id)))?;
        Ok(sendense_failover_job { record, strings })
    }
}

/// Start a failover. `json` is an object: `context_id` and `job_type` (test or live) are
/// required; `id` (the failover id, generated when absent), `replication_job_id` (a completed
/// job of the context; default: its last successful one) and `linstor_config_id` are optional.
/// The context must be ready_for_failover (else INVALID_STATE naming its status) with no active
/// replication job or failover (CONFLICT naming it), and every source network of the VM (the
/// `network_config` of its disk rows) needs a network mapping of that kind that is not invalid
/// (INVALID_STATE listing the networks). The row is inserted as pending with the VM name and
/// spec and the network mappings of its kind copied in. `*failover_id_out` receives the id. A
/// taken id is ALREADY_EXISTS, so a start with an `id` is safe to retry after
/// SENDENSE_STATUS_COMMIT_UNKNOWN.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_start(
    s: *mut sendense_store,
    json: *const c_char,
    failover_id_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let start: StartFailover = arg_json(json, "json")?;
        out_ptr(failover_id_out, "failover_id_out")?.write_string(store.failover_start(&start)?)
    })
}

/// Move a failover one step: pending, validating, snapshotting, creating_vm, switching_volume,
/// powering_on, completed, one at a time (a skipped step is INVALID_STATE naming from and to),
/// and on the rollback path cleanup, reverting, completed. `json` is NULL or the step's
/// results: `destination_vm_id`, `linstor_snapshot_name`, `ossea_snapshot_id`,
/// `linstor_config_id` (stored when given), and with `reverting` only `device_paths`
/// (`{"<volume_uuid>": "<hub device path>"}`, every volume coming back) and `exports` (the NBD
/// exports to re-create, as for `sendense_device_switch_mode`). In the same transaction:
/// `switching_volume` switches every device mapping of the context to failover mode (paths
/// cleared, exports removed, the port leases those exports' jobs held released, as
/// `sendense_device_detach`), `reverting` switches them back to oma, `completed` moves the
/// context to failed_over_test / failed_over_live (or, ending a rollback, back to
/// ready_for_failover), and the context's last_operation_summary is written. `failed` is
/// refused here (use `sendense_failover_fail`), and so is `cleanup` (use
/// `sendense_failover_rollback`). Setting the current status without results changes nothing.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_set_status(
    s: *mut sendense_store,
    failover_id: *const c_char,
    status: *const c_char,
    json: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let failover_id = arg_str(failover_id, "failover_id")?;
        let status = FailoverStatus::parse(arg_str(status, "status")?)?;
        let results: Option<StepResults> = arg_opt_json(json, "json")?;
        store.failover_set_status(failover_id, status, results.as_ref())?;
        Ok(())
    })
}

/// Fail an active failover with `error_message` (required, not empty). The context's status
/// stays where it is; its last_operation_summary records the failure and the step it happened
/// at. A finished failover is INVALID_STATE.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_fail(
    s: *mut sendense_store,
    failover_id: *const c_char,
    error_message: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let failover_id = arg_str(failover_id, "failover_id")?;
        let error_message = arg_str(error_message, "error_message")?;
        store.failover_fail(failover_id, error_message)?;
        Ok(())
    })
}

/// Start the rollback of a completed or failed failover: it moves to cleanup (then, through
/// `sendense_failover_set_status`, reverting and completed, which returns the context to
/// ready_for_failover). INVALID_STATE for an active failover, a second rollback, a committed
/// failover, or a failover that is not the context's newest; CONFLICT while a replication job
/// of the context is active.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_rollback(
    s: *mut sendense_store,
    failover_id: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        store.failover_rollback(arg_str(failover_id, "failover_id")?)?;
        Ok(())
    })
}

/// Commit a completed live failover: its context moves to completed (the migration is final)
/// and it can no longer be rolled back. A test failover, one not completed, or one already
/// rolled back or committed is INVALID_STATE.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_commit(
    s: *mut sendense_store,
    failover_id: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        store.failover_commit(arg_str(failover_id, "failover_id")?)?;
        Ok(())
    })
}

/// The failover `failover_id` as a JSON object whose keys are the column names of
/// `failover_jobs` (timestamps as RFC 3339 UTC strings; `source_vm_spec` and
/// `network_mappings` embedded as JSON). NOT_FOUND when there is none.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_get_json(
    s: *mut sendense_store,
    failover_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, failover_id, "failover_id", json_out, err, Store::failover_get)
}

/// The failovers matching `filter_json` as a JSON array of failover objects, newest first.
/// `filter_json` may be NULL or an object with the optional keys `context_id`, `status`,
/// `job_type`, `limit` (default 100) and `offset`.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_list_json(
    s: *mut sendense_store,
    filter_json: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_list_json(s, filter_json, json_out, err, Store::failover_list)
}

/// A typed, read-only snapshot of the failover `failover_id`; `*out` receives a new object that
/// the caller frees with `sendense_failover_job_free`. NOT_FOUND when there is none.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_get(
    s: *mut sendense_store,
    failover_id: *const c_char,
    out: *mut *mut sendense_failover_job,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let failover_id = arg_str(failover_id, "failover_id")?;
        out_ptr(out, "out")?.write_box(sendense_failover_job::new(store.failover_get(failover_id)?)?);
        Ok(())
    })
}

/// Free a failover snapshot (its borrowed strings become invalid). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_job_free(j: *mut sendense_failover_job) {
    free_box(j);
}

/// The failover id (`job_id`); NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_job_id(j: *const sendense_failover_job) -> *const c_char {
    field_str(j, |j| Some(&j.strings.job_id))
}

/// The id of the failover's context (`vm_context_id`); NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_job_context_id(j: *const sendense_failover_job) -> *const c_char {
    field_str(j, |j| Some(&j.strings.vm_context_id))
}

/// test or live; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_job_type(j: *const sendense_failover_job) -> *const c_char {
    field_str(j, |j| Some(&j.strings.job_type))
}

/// The status (pending, ..., completed, failed, cleanup, reverting); NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_job_status(j: *const sendense_failover_job) -> *const c_char {
    field_str(j, |j| Some(&j.strings.status))
}

/// The replication job whose data is used; NULL when unset (its job was deleted) or for a NULL
/// snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_job_replication_job_id(j: *const sendense_failover_job) -> *const c_char {
    field_str(j, |j| j.strings.replication_job_id.as_ref())
}

/// The CloudStack VM created for the failover; NULL when not recorded yet or for a NULL
/// snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_job_destination_vm_id(j: *const sendense_failover_job) -> *const c_char {
    field_str(j, |j| j.strings.destination_vm_id.as_ref())
}

/// The reason of the last failure; NULL when none or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_job_error_message(j: *const sendense_failover_job) -> *const c_char {
    field_str(j, |j| j.strings.error_message.as_ref())
}

/// When the failover was created, in milliseconds since the Unix epoch; 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_job_created_at_ms(j: *const sendense_failover_job) -> i64 {
    field(j, 0, |j| j.record.created_at.millis())
}

/// When the failover last reached completed or failed: true with the time (milliseconds since
/// the Unix epoch) in `*out_ms` (when not NULL); false when it has not, or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_failover_job_completed_at_ms(
    j: *const sendense_failover_job,
    out_ms: *mut i64,
) -> bool {
    field_ms(j, out_ms, |j| j.record.completed_at)
}
