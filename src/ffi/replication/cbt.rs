//! C ABI of changed block tracking: the full/incremental decision per disk, recording a
//! disk's change id, the history and the lineage check.

use std::ffi::c_char;

use crate::ffi::{
    arg_opt_json, arg_opt_str, arg_str, out_ptr, sendense_error, sendense_status, sendense_store, store_call,
};
use crate::replication::SyncDone;

/// Decide whether a disk (`disk-<device key>`) of a context must be copied in full or
/// incrementally from a snapshot whose change id is `snapshot_change_id`
/// (`<uuid part>/<sequence>`; an invalid one is INVALID_ARGUMENT). `target_is_new` tells that
/// the target volume was just created. `*decision_json_out` receives
/// `{"mode":"full"|"incremental","base_change_id":…|null,"reason":…}` with reason one of
/// base_recorded, no_base, unparsable_base, cbt_uuid_changed, base_ahead_of_snapshot,
/// target_volume_new. The base is the change id recorded by the last successful sync of that
/// disk of that context. NOT_FOUND when the context does not exist.
#[no_mangle]
pub unsafe extern "C" fn sendense_cbt_decide(
    s: *mut sendense_store,
    context_id: *const c_char,
    disk_id: *const c_char,
    snapshot_change_id: *const c_char,
    target_is_new: bool,
    decision_json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let context_id = arg_str(context_id, "context_id")?;
        let disk_id = arg_str(disk_id, "disk_id")?;
        let snapshot_change_id = arg_str(snapshot_change_id, "snapshot_change_id")?;
        let decision_json_out = out_ptr(decision_json_out, "decision_json_out")?;
        let decision = store.cbt_decide(context_id, disk_id, snapshot_change_id, target_is_new)?;
        decision_json_out.write_json(&decision)
    })
}

/// Record the change id of a disk whose copy in the active job `job_id` succeeded: in one
/// transaction it becomes the disk's base for the next incremental and a cbt_history row is
/// appended whose previous_change_id is the base the copy started from. An invalid change id
/// is INVALID_ARGUMENT; a disk that is not one of the job's is NOT_FOUND; a finished job is
/// INVALID_STATE. Recording the same change id again is a no-op; a different one for a disk
/// already recorded in this job is CONFLICT.
#[no_mangle]
pub unsafe extern "C" fn sendense_cbt_record(
    s: *mut sendense_store,
    job_id: *const c_char,
    disk_id: *const c_char,
    change_id: *const c_char,
    bytes_transferred: i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let job_id = arg_str(job_id, "job_id")?;
        let disk_id = arg_str(disk_id, "disk_id")?;
        let change_id = arg_str(change_id, "change_id")?;
        store.cbt_record(job_id, disk_id, change_id, bytes_transferred)?;
        Ok(())
    })
}

/// `sendense_cbt_record` stating what the disk's copy actually was. `sync_json` may be NULL
/// (inferred, exactly as `sendense_cbt_record`: in an incremental job, incremental from the
/// disk's base when the change id continues it, else full) or `{"mode":"full"|"incremental",
/// "base_change_id":…}` with an optional `reason`, so the JSON `sendense_cbt_decide` gave may
/// be passed back as it is. Only the caller knows that the target volume was new: a disk that
/// the decision sent to a full copy is recorded as `full` (or `initial` in an initial job) with
/// no previous change id; a stated incremental is recorded from its base, which
/// `sendense_cbt_verify_lineage` holds against the disk's prior change id. A full with a base,
/// an incremental without one or with a base of another CBT epoch or ahead of `change_id`, or
/// an unknown key is INVALID_ARGUMENT; otherwise as `sendense_cbt_record`.
#[no_mangle]
pub unsafe extern "C" fn sendense_cbt_record_sync(
    s: *mut sendense_store,
    job_id: *const c_char,
    disk_id: *const c_char,
    change_id: *const c_char,
    bytes_transferred: i64,
    sync_json: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let job_id = arg_str(job_id, "job_id")?;
        let disk_id = arg_str(disk_id, "disk_id")?;
        let change_id = arg_str(change_id, "change_id")?;
        let sync: Option<SyncDone> = arg_opt_json(sync_json, "sync_json")?;
        store.cbt_record_sync(job_id, disk_id, change_id, bytes_transferred, sync.as_ref())?;
        Ok(())
    })
}

/// The CBT history of a context, of one disk or (`disk_id` NULL) of all its disks, by disk
/// then oldest first, as a JSON array of objects whose keys are the column names of
/// `cbt_history`. NOT_FOUND when the context does not exist.
#[no_mangle]
pub unsafe extern "C" fn sendense_cbt_history_json(
    s: *mut sendense_store,
    context_id: *const c_char,
    disk_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let context_id = arg_str(context_id, "context_id")?;
        let disk_id = arg_opt_str(disk_id, "disk_id")?;
        out_ptr(json_out, "json_out")?.write_json(&store.cbt_history(context_id, disk_id, None)?)
    })
}

/// Verify a context's CBT lineage: every successful incremental started from its disk's prior
/// recorded change id, and every disk's recorded change id is the last one of its history.
/// `*report_json_out` receives `{"ok":bool,"context_id":…,"disks_checked":n,
/// "entries_checked":n,"breaks":[{"disk_id":…,"history_id":…,"job_id":…,"expected":…,
/// "found":…,"problem":…}]}`; breaks are reported with status OK, never repaired. NOT_FOUND
/// when the context does not exist.
#[no_mangle]
pub unsafe extern "C" fn sendense_cbt_verify_lineage(
    s: *mut sendense_store,
    context_id: *const c_char,
    report_json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let context_id = arg_str(context_id, "context_id")?;
        out_ptr(report_json_out, "report_json_out")?.write_json(&store.cbt_verify_lineage(context_id)?)
    })
}
