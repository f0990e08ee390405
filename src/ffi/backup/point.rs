//! C ABI of backup points (`sendense_backup_*`): start, status transitions, read (JSON or a
//! typed snapshot), list, restore chains and delete. Chains are in `chain.rs`, copies in
//! `copy.rs`.

use std::ffi::{c_char, CString};

use crate::backup::{BackupPoint, BackupProgress, StartBackup};
use crate::error::Result;
use crate::ffi::{
    arg_json, arg_opt_str, arg_str, c_column, c_opt_column, field, field_ms, field_str, free_box, out_ptr,
    sendense_error, sendense_status, sendense_store, store_call, store_list_json, store_read_json,
};
use crate::store::Store;

/// A read-only snapshot of one backup point (a `backup_jobs` record), made by
/// `sendense_backup_get` and freed with `sendense_backup_free`. Its getters accept NULL (and
/// then answer NULL, 0 or false); the strings they return are borrowed from the snapshot and
/// valid until it is freed.
pub struct sendense_backup {
    record: BackupPoint,
    strings: BackupStrings,
}

/// The text columns a backup snapshot lends to C, converted once when the snapshot is made.
struct BackupStrings {
    id: CString,
    vm_context_id: CString,
    vm_name: CString,
    repository_id: CString,
    policy_id: Option<CString>,
    backup_type: CString,
    status: CString,
    repository_path: CString,
    parent_backup_id: Option<CString>,
    change_id: Option<CString>,
    error_message: Option<CString>,
    backup_group_id: Option<CString>,
}

impl BackupStrings {
    fn of(b: &BackupPoint) -> Result<BackupStrings> {
        Ok(BackupStrings {
            id: c_column("id", &b.id)?,
            vm_context_id: c_column("vm_context_id", &b.vm_context_id)?,
            vm_name: c_column("vm_name", &b.vm_name)?,
            repository_id: c_column("repository_id", &b.repository_id)?,
            policy_id: c_opt_column("policy_id", b.policy_id.as_deref())?,
            backup_type: c_column("backup_type", b.backup_type.as_str())?,
            status: c_column("status", b.status.as_str())?,
            repository_path: c_column("repository_path", &b.repository_path)?,
            parent_backup_id: c_opt_column("parent_backup_id", b.parent_backup_id.as_deref())?,
            change_id: c_opt_column("change_id", b.change_id.as_deref())?,
            error_message: c_opt_column("error_message", b.error_message.as_deref())?,
            backup_group_id: c_opt_column("backup_group_id", b.backup_group_id.as_deref())?,
        })
    }
}

impl sendense_backup {
    fn new(record: BackupPoint) -> Result<sendense_backup> {
        let strings = BackupStrings::of(&record).map_err(|e| e.context(format!("backup {}", record.id)))?;
        Ok(sendense_backup { record, strings })
    }
}

/// Start a backup point of one disk. `json`: `context_id`, `disk_id` (the disk's index in the
/// VM: 0, 1, ...), `repository_id`, `backup_type` (full, incremental or differential), and
/// optionally `id`, `policy_id`, `backup_group_id` (shared by the per-disk points of one VM
/// backup), `vm_name` and `repository_path` (where the point's file is written; not empty).
/// Without `repository_path` the location is derived from the repository as
/// `<root>/<context_id>/disk-<disk_id>/<id>.qcow2`, the root in the repository type's notation:
/// local `<path>`, nfs `<server>:<export_path>`, cifs/smb `//<server>/<share>`, s3
/// `s3://<bucket>[/<prefix>]`, azure `https://<account>.blob.core.windows.net/<container>[/<prefix>]`. The parent of an incremental (the chain's
/// latest completed point) or a differential (the chain's full) is found by the library; when
/// there is none the start is INVALID_STATE with the reason. `*backup_id_out` receives the id.
/// With an `id` it is safe to retry after SENDENSE_STATUS_COMMIT_UNKNOWN: when the first call
/// was applied, the retry is ALREADY_EXISTS naming the point.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_start(
    s: *mut sendense_store,
    json: *const c_char,
    backup_id_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let start: StartBackup = arg_json(json, "json")?;
        out_ptr(backup_id_out, "backup_id_out")?.write_string(store.backup_start(&start)?)
    })
}

/// Mark a pending point running (the transfer began; the first heartbeat).
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_set_running(
    s: *mut sendense_store,
    backup_id: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| store.backup_set_running(arg_str(backup_id, "backup_id")?))
}

/// Record the progress of an active (pending or running) point, the hot path: one single-row
/// update that stamps last_telemetry_at. `percent` is 0 to 100 (NaN is refused);
/// `bytes_transferred`, `total_bytes` (0 = unknown), `speed_bps` and `eta_seconds` are not
/// negative, and `bytes_transferred` is at most `total_bytes` when that is known; `phase` may
/// be NULL to keep the current phase label. A finished point is INVALID_STATE.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sendense_backup_progress(
    s: *mut sendense_store,
    backup_id: *const c_char,
    percent: f64,
    bytes_transferred: i64,
    total_bytes: i64,
    speed_bps: i64,
    eta_seconds: i64,
    phase: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let backup_id = arg_str(backup_id, "backup_id")?;
        let current_phase = arg_opt_str(phase, "phase")?.map(str::to_string);
        let progress =
            BackupProgress { percent, bytes_transferred, total_bytes, speed_bps, eta_seconds, current_phase };
        store.backup_progress(backup_id, &progress)
    })
}

/// Protect a point (retention never removes or counts it; a delete is refused) or lift the
/// protection. NOT_FOUND for an unknown point.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_set_protected(
    s: *mut sendense_store,
    backup_id: *const c_char,
    protected: bool,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| store.backup_set_protected(arg_str(backup_id, "backup_id")?, protected).map(|_| ()))
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
    store_call(s, err, |store| {
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
    store_call(s, err, |store| {
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
    store_call(s, err, |store| store.backup_cancel(arg_str(backup_id, "backup_id")?))
}

/// The point `backup_id` as a JSON object whose keys are the column names of `backup_jobs`.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_get_json(
    s: *mut sendense_store,
    backup_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, backup_id, "backup_id", json_out, err, Store::backup_get)
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
    store_list_json(s, filter_json, json_out, err, Store::backup_list)
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
    store_read_json(s, backup_id, "backup_id", json_out, err, Store::restore_chain)
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
    store_call(s, err, |store| store.backup_delete(arg_str(backup_id, "backup_id")?))
}

/// A typed, read-only snapshot of the backup point `backup_id`; `*out` receives a new object
/// that the caller frees with `sendense_backup_free`. NOT_FOUND naming the id when there is
/// none.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_get(
    s: *mut sendense_store,
    backup_id: *const c_char,
    out: *mut *mut sendense_backup,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let backup_id = arg_str(backup_id, "backup_id")?;
        out_ptr(out, "out")?.write_box(sendense_backup::new(store.backup_get(backup_id)?)?);
        Ok(())
    })
}

/// Free a backup snapshot (its borrowed strings become invalid). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_free(b: *mut sendense_backup) {
    free_box(b);
}

/// The point's id; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_id(b: *const sendense_backup) -> *const c_char {
    field_str(b, |b| Some(&b.strings.id))
}

/// The id of the point's context (`vm_context_id`); NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_context_id(b: *const sendense_backup) -> *const c_char {
    field_str(b, |b| Some(&b.strings.vm_context_id))
}

/// The VM's name when the point was started; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_vm_name(b: *const sendense_backup) -> *const c_char {
    field_str(b, |b| Some(&b.strings.vm_name))
}

/// The disk INDEX within the VM (0, 1, ...; not `vm_disks.disk_id`); -1 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_disk_id(b: *const sendense_backup) -> i64 {
    field(b, -1, |b| b.record.disk_id)
}

/// The repository the point is written to; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_repository_id(b: *const sendense_backup) -> *const c_char {
    field_str(b, |b| Some(&b.strings.repository_id))
}

/// The policy applied; NULL when none or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_policy_id(b: *const sendense_backup) -> *const c_char {
    field_str(b, |b| b.strings.policy_id.as_ref())
}

/// The point's kind (`backup_type`: full, incremental or differential); NULL for a NULL
/// snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_type(b: *const sendense_backup) -> *const c_char {
    field_str(b, |b| Some(&b.strings.backup_type))
}

/// The point's status (pending, running, completed, failed, cancelled); NULL for a NULL
/// snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_status(b: *const sendense_backup) -> *const c_char {
    field_str(b, |b| Some(&b.strings.status))
}

/// Where the point's file is written; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_repository_path(b: *const sendense_backup) -> *const c_char {
    field_str(b, |b| Some(&b.strings.repository_path))
}

/// The point it builds on (`parent_backup_id`); NULL for a full, when the parent was removed,
/// or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_parent_id(b: *const sendense_backup) -> *const c_char {
    field_str(b, |b| b.strings.parent_backup_id.as_ref())
}

/// The VMware change id recorded at completion; NULL when none or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_change_id(b: *const sendense_backup) -> *const c_char {
    field_str(b, |b| b.strings.change_id.as_ref())
}

/// The point's error message; NULL when there is none or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_error_message(b: *const sendense_backup) -> *const c_char {
    field_str(b, |b| b.strings.error_message.as_ref())
}

/// The VM backup the point belongs to (`backup_group_id`, shared by the per-disk points of one
/// VM backup); NULL when none or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_group_id(b: *const sendense_backup) -> *const c_char {
    field_str(b, |b| b.strings.backup_group_id.as_ref())
}

/// The bytes copied (the last progress report, or the count given at completion); 0 for a
/// NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_bytes_transferred(b: *const sendense_backup) -> i64 {
    field(b, 0, |b| b.record.bytes_transferred)
}

/// The bytes the transfer expected (telemetry; 0 when unknown); 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_total_bytes(b: *const sendense_backup) -> i64 {
    field(b, 0, |b| b.record.total_bytes)
}

/// The size of the point's file as written, recorded at completion (summed into its chain's
/// total); 0 before completion or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_size_bytes(b: *const sendense_backup) -> i64 {
    field(b, 0, |b| b.record.size_bytes)
}

/// The progress, 0 to 100; 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_progress_percent(b: *const sendense_backup) -> f64 {
    field(b, 0.0, |b| b.record.progress_percent)
}

/// Whether the point is protected (never removed by delete or retention); false for a NULL
/// snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_protected(b: *const sendense_backup) -> bool {
    field(b, false, |b| b.record.protected)
}

/// When the point was started, in milliseconds since the Unix epoch (UTC); 0 for a NULL
/// snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_created_at_ms(b: *const sendense_backup) -> i64 {
    field(b, 0, |b| b.record.created_at.millis())
}

/// When the point began running: true and `*out_ms` (milliseconds since the Unix epoch; not
/// written when `out_ms` is NULL) when it did, false (and `*out_ms` untouched) when not or
/// for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_started_at_ms(b: *const sendense_backup, out_ms: *mut i64) -> bool {
    field_ms(b, out_ms, |b| b.record.started_at)
}

/// When the point reached its terminal status (completed, failed or cancelled); as
/// `sendense_backup_started_at_ms`.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_completed_at_ms(b: *const sendense_backup, out_ms: *mut i64) -> bool {
    field_ms(b, out_ms, |b| b.record.completed_at)
}

/// When the point's lock window opens (completion plus the repository's grace period); false
/// when the point was never locked (not an immutable repository, or the config does not apply
/// to its type). A point an immutable point depends on carries the dependent's window too.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_immutable_from_ms(b: *const sendense_backup, out_ms: *mut i64) -> bool {
    field_ms(b, out_ms, |b| b.record.immutable_from)
}

/// When the point's lock window closes: it cannot be deleted before; as
/// `sendense_backup_immutable_from_ms`.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_immutable_until_ms(b: *const sendense_backup, out_ms: *mut i64) -> bool {
    field_ms(b, out_ms, |b| b.record.immutable_until)
}

/// Decide whether the next backup of disk `disk_id` (its index: 0, 1, ...) of a context into
/// a repository must be full or incremental, from a snapshot whose change id is
/// `snapshot_change_id`. The base is the change id of the chain's latest completed point (the
/// parent an incremental started now gets). `*decision_json_out` receives
/// `{"mode":"full"|"incremental","base_change_id":…|null,"reason":…}` as from
/// `sendense_cbt_decide`. NOT_FOUND for an unknown context or repository; an invalid change id
/// is INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn sendense_backup_cbt_decide(
    s: *mut sendense_store,
    context_id: *const c_char,
    disk_id: i64,
    repository_id: *const c_char,
    snapshot_change_id: *const c_char,
    decision_json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let context_id = arg_str(context_id, "context_id")?;
        let repository_id = arg_str(repository_id, "repository_id")?;
        let snapshot_change_id = arg_str(snapshot_change_id, "snapshot_change_id")?;
        let decision_json_out = out_ptr(decision_json_out, "decision_json_out")?;
        let decision = store.backup_cbt_decide(context_id, disk_id, repository_id, snapshot_change_id)?;
        decision_json_out.write_json(&decision)
    })
}
