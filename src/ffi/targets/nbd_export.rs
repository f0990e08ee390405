//! C ABI of NBD exports (`sendense_nbd_export_*`): create, status and job, removal, reads
//! (JSON or typed snapshots) and lists by context or job.

use std::ffi::{c_char, CString};

use crate::error::Result;
use crate::ffi::{
    arg_json, arg_opt_str, arg_str, c_column, c_opt_column, field, field_opt, field_str, free_box, out_ptr,
    sendense_error, sendense_status, sendense_store, store_call, store_read_json,
};
use crate::store::Store;
use crate::targets::{ExportStatus, NbdExport, NewExport};

/// A read-only snapshot of one NBD export (an `nbd_exports` record), made by
/// `sendense_nbd_export_get` and freed with `sendense_nbd_export_free`. Its getters accept
/// NULL (and then answer NULL, 0 or false); the strings they return are borrowed from the
/// snapshot and valid until it is freed.
pub struct sendense_nbd_export {
    record: NbdExport,
    strings: ExportStrings,
}

/// The text columns an export snapshot lends to C, converted once when the snapshot is made.
struct ExportStrings {
    vm_context_id: Option<CString>,
    job_id: Option<CString>,
    volume_id: CString,
    export_name: CString,
    device_path: CString,
    config_path: Option<CString>,
    status: CString,
}

impl ExportStrings {
    fn of(e: &NbdExport) -> Result<ExportStrings> {
        Ok(ExportStrings {
            vm_context_id: c_opt_column("vm_context_id", e.vm_context_id.as_deref())?,
            job_id: c_opt_column("job_id", e.job_id.as_deref())?,
            volume_id: c_column("volume_id", &e.volume_id)?,
            export_name: c_column("export_name", &e.export_name)?,
            device_path: c_column("device_path", &e.device_path)?,
            config_path: c_opt_column("config_path", e.config_path.as_deref())?,
            status: c_column("status", e.status.as_str())?,
        })
    }
}

impl sendense_nbd_export {
    fn new(record: NbdExport) -> Result<sendense_nbd_export> {
        let strings =
            ExportStrings::of(&record).map_err(|e| e.context(format!("NBD export {}", record.export_name)))?;
        Ok(sendense_nbd_export { record, strings })
    }
}

/// Create the NBD export of an oma volume. `json`: `volume_uuid` (its mapping must exist and
/// be in oma mode), `vm_disk_id` (the `vm_disks` row served, of the mapping's context), `port`
/// (1 to 65535), optional `job_id` (the replication job using it, of the same context) and
/// `config_path`. The export serves the mapping's device path and starts "pending". A volume
/// already exported is ALREADY_EXISTS. `*export_name_out` receives the name,
/// `migration-vol-{volume_uuid}`.
/// Safe to retry after SENDENSE_STATUS_COMMIT_UNKNOWN: when the first call was applied, the
/// retry is ALREADY_EXISTS naming the export.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_create(
    s: *mut sendense_store,
    json: *const c_char,
    export_name_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let export: NewExport = arg_json(json, "json")?;
        out_ptr(export_name_out, "export_name_out")?.write_string(store.nbd_export_create(&export)?)
    })
}

/// Move an export along pending -> active | failed (`status` is "active" or "failed").
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_set_status(
    s: *mut sendense_store,
    export_name: *const c_char,
    status: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let export_name = arg_str(export_name, "export_name")?;
        let status = ExportStatus::parse(arg_str(status, "status")?)?;
        store.nbd_export_set_status(export_name, status).map(drop)
    })
}

/// Set the replication job using an export (a job of the export's context), or clear it with
/// NULL.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_set_job(
    s: *mut sendense_store,
    export_name: *const c_char,
    job_id: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let export_name = arg_str(export_name, "export_name")?;
        let job_id = arg_opt_str(job_id, "job_id")?;
        store.nbd_export_set_job(export_name, job_id).map(drop)
    })
}

/// Remove an export (its mapping stays). In the same transaction the lease of the export's job
/// on its port is released, unless another export of that job still uses the port (an export
/// without a job releases nothing). NOT_FOUND when there is none.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_remove(
    s: *mut sendense_store,
    export_name: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| store.nbd_export_remove(arg_str(export_name, "export_name")?))
}

/// The export `export_name` as a JSON object whose keys are the `nbd_exports` column names.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_get_json(
    s: *mut sendense_store,
    export_name: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, export_name, "export_name", json_out, err, Store::nbd_export_get)
}

/// The exports of a context, by name, as a JSON array. NOT_FOUND for an unknown context.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_list_by_context_json(
    s: *mut sendense_store,
    context_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, context_id, "context_id", json_out, err, Store::nbd_export_list_by_context)
}

/// The exports a replication job uses, by name, as a JSON array. NOT_FOUND for an unknown job.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_list_by_job_json(
    s: *mut sendense_store,
    job_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, job_id, "job_id", json_out, err, Store::nbd_export_list_by_job)
}

/// A typed, read-only snapshot of the export `export_name`; `*out` receives a new object that
/// the caller frees with `sendense_nbd_export_free`. NOT_FOUND when there is none.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_get(
    s: *mut sendense_store,
    export_name: *const c_char,
    out: *mut *mut sendense_nbd_export,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let export_name = arg_str(export_name, "export_name")?;
        out_ptr(out, "out")?.write_box(sendense_nbd_export::new(store.nbd_export_get(export_name)?)?);
        Ok(())
    })
}

/// Free an export snapshot (its borrowed strings become invalid). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_free(e: *mut sendense_nbd_export) {
    free_box(e);
}

/// The export's row id; 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_id(e: *const sendense_nbd_export) -> i64 {
    field(e, 0, |e| e.record.id)
}

/// The export name (`migration-vol-{volume_uuid}`); NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_name(e: *const sendense_nbd_export) -> *const c_char {
    field_str(e, |e| Some(&e.strings.export_name))
}

/// The owning context; NULL when none or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_context_id(e: *const sendense_nbd_export) -> *const c_char {
    field_str(e, |e| e.strings.vm_context_id.as_ref())
}

/// The replication job using the export; NULL when none or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_job_id(e: *const sendense_nbd_export) -> *const c_char {
    field_str(e, |e| e.strings.job_id.as_ref())
}

/// The exported volume (`volume_id`, its mapping's volume_uuid); NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_volume_id(e: *const sendense_nbd_export) -> *const c_char {
    field_str(e, |e| Some(&e.strings.volume_id))
}

/// The `vm_disks` row served: true and `*out` when set, false (and `*out` untouched) when the
/// disk row was deleted or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_vm_disk_id(e: *const sendense_nbd_export, out: *mut i64) -> bool {
    field_opt(e, out, |e| e.record.vm_disk_id)
}

/// The NBD server port; 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_port(e: *const sendense_nbd_export) -> i64 {
    field(e, 0, |e| e.record.port)
}

/// The exported block device; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_device_path(e: *const sendense_nbd_export) -> *const c_char {
    field_str(e, |e| Some(&e.strings.device_path))
}

/// The nbd-server conf.d file; NULL when none or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_config_path(e: *const sendense_nbd_export) -> *const c_char {
    field_str(e, |e| e.strings.config_path.as_ref())
}

/// "pending", "active" or "failed"; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_status(e: *const sendense_nbd_export) -> *const c_char {
    field_str(e, |e| Some(&e.strings.status))
}

/// When the export was created, in milliseconds since the Unix epoch; 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_created_at_ms(e: *const sendense_nbd_export) -> i64 {
    field(e, 0, |e| e.record.created_at.millis())
}

/// When the export last changed, in milliseconds since the Unix epoch; 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_updated_at_ms(e: *const sendense_nbd_export) -> i64 {
    field(e, 0, |e| e.record.updated_at.millis())
}
