//! C ABI of device mappings and NBD exports: attach, detach, mode switches, snapshot tracking,
//! exports, reads (JSON or typed snapshots), lists and the storage consistency check.

use std::ffi::{c_char, CString};

use crate::error::Result;
use crate::ffi::{
    arg_json, arg_opt_str, arg_ref, arg_str, c_column, c_opt_column, call, field, field_ms, field_str, free_box,
    out_opt_ptr, out_ptr, sendense_error, sendense_status, sendense_store,
};
use crate::targets::device::{
    DeviceMapping, DeviceUpdate, ExportStatus, ModeSwitch, NbdExport, NewExport, NewMapping, OperationMode,
    SnapshotStatus,
};

/// A read-only snapshot of one device mapping (a `device_mappings` record), made by
/// `sendense_device_get` and freed with `sendense_device_mapping_free`. Its getters accept NULL
/// (and then answer NULL, 0 or false); the strings they return are borrowed from the snapshot
/// and valid until it is freed.
pub struct sendense_device_mapping {
    record: DeviceMapping,
    strings: MappingStrings,
}

/// The text columns a mapping snapshot lends to C, converted once when the snapshot is made.
struct MappingStrings {
    id: CString,
    vm_context_id: Option<CString>,
    volume_uuid: CString,
    vm_id: CString,
    operation_mode: CString,
    device_path: Option<CString>,
    cloudstack_state: CString,
    linux_state: CString,
    ossea_snapshot_id: Option<CString>,
    snapshot_status: CString,
    persistent_device_name: Option<CString>,
    symlink_path: Option<CString>,
}

impl MappingStrings {
    fn of(m: &DeviceMapping) -> Result<MappingStrings> {
        Ok(MappingStrings {
            id: c_column("id", &m.id)?,
            vm_context_id: c_opt_column("vm_context_id", m.vm_context_id.as_deref())?,
            volume_uuid: c_column("volume_uuid", &m.volume_uuid)?,
            vm_id: c_column("vm_id", &m.vm_id)?,
            operation_mode: c_column("operation_mode", m.operation_mode.as_str())?,
            device_path: c_opt_column("device_path", m.device_path.as_deref())?,
            cloudstack_state: c_column("cloudstack_state", &m.cloudstack_state)?,
            linux_state: c_column("linux_state", &m.linux_state)?,
            ossea_snapshot_id: c_opt_column("ossea_snapshot_id", m.ossea_snapshot_id.as_deref())?,
            snapshot_status: c_column("snapshot_status", m.snapshot_status.as_str())?,
            persistent_device_name: c_opt_column("persistent_device_name", m.persistent_device_name.as_deref())?,
            symlink_path: c_opt_column("symlink_path", m.symlink_path.as_deref())?,
        })
    }
}

impl sendense_device_mapping {
    fn new(record: DeviceMapping) -> Result<sendense_device_mapping> {
        let strings = MappingStrings::of(&record).map_err(|e| e.context(format!("device mapping {}", record.id)))?;
        Ok(sendense_device_mapping { record, strings })
    }
}

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

/// A nullable integer of a snapshot: true with the value in `*out` (when `out` is not NULL)
/// if the object and the value are not NULL; false otherwise, leaving `*out` alone.
unsafe fn field_opt_i64<T>(obj: *const T, out: *mut i64, get: impl FnOnce(&T) -> Option<i64>) -> bool {
    match obj.as_ref().and_then(get) {
        Some(v) => {
            if let Some(out) = out_opt_ptr(out) {
                out.write(v);
            }
            true
        }
        None => false,
    }
}

/// Record an attached volume. `json` has the `device_mappings` columns of the same name:
/// `volume_uuid` and `vm_id` are required; `operation_mode` is "oma" (default) or "failover";
/// `device_path` is required in oma mode (an absolute path, unique among oma mappings) and
/// refused in failover mode; optional `id` (generated when absent), `vm_context_id` (must
/// exist), `volume_id_numeric`, `cloudstack_device_id`, `requires_device_correlation`
/// (default true), `cloudstack_state` (default "attached"), `linux_state` (default "detected",
/// or "n/a" in failover mode), `size` (bytes, default 0), `persistent_device_name`,
/// `symlink_path`, and `export` (an object as for `sendense_nbd_export_create`, without
/// `volume_uuid`: the volume's export, created in the same transaction). A volume that is
/// already mapped is ALREADY_EXISTS naming its mapping; a device path held by another oma
/// mapping is CONFLICT naming that volume. `*mapping_id_out` receives the mapping id.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_attach(
    s: *mut sendense_store,
    json: *const c_char,
    mapping_id_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let mapping: NewMapping = arg_json(json, "json")?;
        let mapping_id_out = out_ptr(mapping_id_out, "mapping_id_out")?;
        mapping_id_out.write_string(store.device_attach(&mapping)?)
    })
}

/// Remove the mapping of `volume_uuid` and its NBD export, in one transaction. NOT_FOUND when
/// the volume has no mapping.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_detach(
    s: *mut sendense_store,
    volume_uuid: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        store.device_detach(arg_str(volume_uuid, "volume_uuid")?).map(drop)
    })
}

/// Update the device facts of the mapping of `volume_uuid` as the volume daemon learns them.
/// `json` (keys = column names, all optional; absent keys are left alone): `device_path` (oma
/// mappings only; unique among oma mappings; the volume's export follows it),
/// `cloudstack_state`, `linux_state`, `size`, `requires_device_correlation`, and the nullable
/// `cloudstack_device_id`, `persistent_device_name`, `symlink_path` (`null` clears them).
/// Stamps `last_sync`. NOT_FOUND when the volume has no mapping.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_update(
    s: *mut sendense_store,
    volume_uuid: *const c_char,
    json: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let volume_uuid = arg_str(volume_uuid, "volume_uuid")?;
        let update: DeviceUpdate = arg_json(json, "json")?;
        store.device_update(volume_uuid, &update).map(drop)
    })
}

/// Switch every mapping of the context to `mode` ("oma" or "failover") in one transaction.
/// To failover: device paths are cleared, linux_state becomes "n/a" and the volumes' NBD
/// exports are removed. To oma: the store does not know a failover volume's new hub device
/// path, so this form succeeds only when every mapping of the context is already oma (a
/// no-op); otherwise it is INVALID_ARGUMENT naming the volumes, and
/// `sendense_device_switch_mode` (which takes the paths and the exports to re-create) is the
/// way back. NOT_FOUND for an unknown context; any refusal changes nothing.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_set_mode(
    s: *mut sendense_store,
    context_id: *const c_char,
    mode: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let context_id = arg_str(context_id, "context_id")?;
        let mode = OperationMode::parse(arg_str(mode, "mode")?)?;
        store.device_set_mode(context_id, mode).map(drop)
    })
}

/// Switch every mapping of a context, with what the switch needs, in one transaction. `json`:
/// `context_id`, `mode` ("oma" or "failover"), optional `vm_id` (the CloudStack VM of every
/// mapping afterwards), `device_paths` (an object volume_uuid -> hub device path: required
/// for every failover mapping when switching to oma, refused when switching to failover) and
/// `exports` (an array of export objects as for `sendense_nbd_export_create`, each naming its
/// `volume_uuid`, created after a switch to oma). A path held by another oma mapping is
/// CONFLICT naming it; any refusal changes nothing.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_switch_mode(
    s: *mut sendense_store,
    json: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let switch: ModeSwitch = arg_json(json, "json")?;
        store.device_switch_mode(&switch).map(drop)
    })
}

/// Move the snapshot tracking of the mapping of `volume_uuid` to `status`: none -> creating
/// -> ready | failed; ready -> rollback_complete -> none; failed -> none. `snapshot_id` (the
/// CloudStack snapshot) is required for the move to "creating" and must be NULL otherwise; the
/// move to "none" clears it.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_set_snapshot(
    s: *mut sendense_store,
    volume_uuid: *const c_char,
    status: *const c_char,
    snapshot_id: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let volume_uuid = arg_str(volume_uuid, "volume_uuid")?;
        let status = SnapshotStatus::parse(arg_str(status, "status")?)?;
        let snapshot_id = arg_opt_str(snapshot_id, "snapshot_id")?;
        store.device_set_snapshot(volume_uuid, status, snapshot_id).map(drop)
    })
}

/// The mapping of `volume_uuid` as a JSON object whose keys are the `device_mappings` column
/// names.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_get_json(
    s: *mut sendense_store,
    volume_uuid: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let volume_uuid = arg_str(volume_uuid, "volume_uuid")?;
        let json_out = out_ptr(json_out, "json_out")?;
        json_out.write_json(&store.device_get(volume_uuid)?)
    })
}

/// The mappings of a context, oldest first, as a JSON array. NOT_FOUND for an unknown context.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_list_json(
    s: *mut sendense_store,
    context_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let context_id = arg_str(context_id, "context_id")?;
        let json_out = out_ptr(json_out, "json_out")?;
        json_out.write_json(&store.device_list(context_id)?)
    })
}

/// A typed, read-only snapshot of the mapping of `volume_uuid`; `*out` receives a new object
/// that the caller frees with `sendense_device_mapping_free`. NOT_FOUND when there is none.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_get(
    s: *mut sendense_store,
    volume_uuid: *const c_char,
    out: *mut *mut sendense_device_mapping,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let volume_uuid = arg_str(volume_uuid, "volume_uuid")?;
        let out = out_ptr(out, "out")?;
        out.write_box(sendense_device_mapping::new(store.device_get(volume_uuid)?)?);
        Ok(())
    })
}

/// Free a mapping snapshot (its borrowed strings become invalid). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_free(m: *mut sendense_device_mapping) {
    free_box(m);
}

/// The mapping's id; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_id(m: *const sendense_device_mapping) -> *const c_char {
    field_str(m, |m| Some(&m.strings.id))
}

/// The owning context (`vm_context_id`); NULL when none or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_context_id(m: *const sendense_device_mapping) -> *const c_char {
    field_str(m, |m| m.strings.vm_context_id.as_ref())
}

/// The CloudStack volume UUID; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_volume_uuid(m: *const sendense_device_mapping) -> *const c_char {
    field_str(m, |m| Some(&m.strings.volume_uuid))
}

/// CloudStack's numeric volume id: true and `*out` when known, false (and `*out` untouched)
/// when not or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_volume_id_numeric(
    m: *const sendense_device_mapping,
    out: *mut i64,
) -> bool {
    field_opt_i64(m, out, |m| m.record.volume_id_numeric)
}

/// The CloudStack VM the volume is attached to; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_vm_id(m: *const sendense_device_mapping) -> *const c_char {
    field_str(m, |m| Some(&m.strings.vm_id))
}

/// "oma" or "failover"; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_operation_mode(m: *const sendense_device_mapping) -> *const c_char {
    field_str(m, |m| Some(&m.strings.operation_mode))
}

/// The hub device path; NULL in failover mode or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_device_path(m: *const sendense_device_mapping) -> *const c_char {
    field_str(m, |m| m.strings.device_path.as_ref())
}

/// The CloudStack device slot: true and `*out` when known, false (and `*out` untouched) when
/// not or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_cloudstack_device_id(
    m: *const sendense_device_mapping,
    out: *mut i64,
) -> bool {
    field_opt_i64(m, out, |m| m.record.cloudstack_device_id)
}

/// Whether the Linux device still needs resolving; false for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_requires_device_correlation(
    m: *const sendense_device_mapping,
) -> bool {
    field(m, false, |m| m.record.requires_device_correlation)
}

/// CloudStack's attach state; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_cloudstack_state(m: *const sendense_device_mapping) -> *const c_char {
    field_str(m, |m| Some(&m.strings.cloudstack_state))
}

/// The Linux device state; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_linux_state(m: *const sendense_device_mapping) -> *const c_char {
    field_str(m, |m| Some(&m.strings.linux_state))
}

/// The device size in bytes; 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_size(m: *const sendense_device_mapping) -> i64 {
    field(m, 0, |m| m.record.size)
}

/// The CloudStack snapshot kept for rollback; NULL when none or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_ossea_snapshot_id(m: *const sendense_device_mapping) -> *const c_char {
    field_str(m, |m| m.strings.ossea_snapshot_id.as_ref())
}

/// The snapshot state ("none", "creating", "ready", "failed", "rollback_complete"); NULL for a
/// NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_snapshot_status(m: *const sendense_device_mapping) -> *const c_char {
    field_str(m, |m| Some(&m.strings.snapshot_status))
}

/// When the CloudStack snapshot was taken: true and `*out_ms` (milliseconds since the Unix
/// epoch) when there is one, false (and `*out_ms` untouched) otherwise.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_snapshot_created_at_ms(
    m: *const sendense_device_mapping,
    out_ms: *mut i64,
) -> bool {
    field_ms(m, out_ms, |m| m.record.snapshot_created_at)
}

/// The stable device-mapper name; NULL when none or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_persistent_device_name(
    m: *const sendense_device_mapping,
) -> *const c_char {
    field_str(m, |m| m.strings.persistent_device_name.as_ref())
}

/// The /dev/mapper symlink path; NULL when none or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_symlink_path(m: *const sendense_device_mapping) -> *const c_char {
    field_str(m, |m| m.strings.symlink_path.as_ref())
}

/// When the mapping was recorded, in milliseconds since the Unix epoch; 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_created_at_ms(m: *const sendense_device_mapping) -> i64 {
    field(m, 0, |m| m.record.created_at.millis())
}

/// When the mapping last changed, in milliseconds since the Unix epoch; 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_mapping_updated_at_ms(m: *const sendense_device_mapping) -> i64 {
    field(m, 0, |m| m.record.updated_at.millis())
}

/// Create the NBD export of an oma volume. `json`: `volume_uuid` (its mapping must exist and
/// be in oma mode), `vm_disk_id` (the `vm_disks` row served, of the mapping's context), `port`
/// (1 to 65535), optional `job_id` (the replication job using it, of the same context) and
/// `config_path`. The export serves the mapping's device path and starts "pending". A volume
/// already exported is ALREADY_EXISTS. `*export_name_out` receives the name,
/// `migration-vol-{volume_uuid}`.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_create(
    s: *mut sendense_store,
    json: *const c_char,
    export_name_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let export: NewExport = arg_json(json, "json")?;
        let export_name_out = out_ptr(export_name_out, "export_name_out")?;
        export_name_out.write_string(store.nbd_export_create(&export)?)
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
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
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
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let export_name = arg_str(export_name, "export_name")?;
        let job_id = arg_opt_str(job_id, "job_id")?;
        store.nbd_export_set_job(export_name, job_id).map(drop)
    })
}

/// Remove an export (its mapping stays). NOT_FOUND when there is none.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_remove(
    s: *mut sendense_store,
    export_name: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        store.nbd_export_remove(arg_str(export_name, "export_name")?)
    })
}

/// The export `export_name` as a JSON object whose keys are the `nbd_exports` column names.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_get_json(
    s: *mut sendense_store,
    export_name: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let export_name = arg_str(export_name, "export_name")?;
        let json_out = out_ptr(json_out, "json_out")?;
        json_out.write_json(&store.nbd_export_get(export_name)?)
    })
}

/// The exports of a context, by name, as a JSON array. NOT_FOUND for an unknown context.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_list_by_context_json(
    s: *mut sendense_store,
    context_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let context_id = arg_str(context_id, "context_id")?;
        let json_out = out_ptr(json_out, "json_out")?;
        json_out.write_json(&store.nbd_export_list_by_context(context_id)?)
    })
}

/// The exports a replication job uses, by name, as a JSON array. NOT_FOUND for an unknown job.
#[no_mangle]
pub unsafe extern "C" fn sendense_nbd_export_list_by_job_json(
    s: *mut sendense_store,
    job_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let job_id = arg_str(job_id, "job_id")?;
        let json_out = out_ptr(json_out, "json_out")?;
        json_out.write_json(&store.nbd_export_list_by_job(job_id)?)
    })
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
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let export_name = arg_str(export_name, "export_name")?;
        let out = out_ptr(out, "out")?;
        out.write_box(sendense_nbd_export::new(store.nbd_export_get(export_name)?)?);
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
    field_opt_i64(e, out, |e| e.record.vm_disk_id)
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
    call(err, || {
        let store = &arg_ref(s, "store")?.store;
        let json_out = out_ptr(json_out, "json_out")?;
        json_out.write_json(&store.storage_consistency()?)
    })
}
