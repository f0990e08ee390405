//! C ABI of device mappings (`sendense_device_*`): attach, detach, mode switches, snapshot
//! tracking, reads (JSON or typed snapshots) and lists.

use std::ffi::{c_char, CString};

use crate::error::Result;
use crate::ffi::{
    arg_json, arg_opt_str, arg_str, c_column, c_opt_column, field, field_ms, field_opt, field_str, free_box, out_ptr,
    sendense_error, sendense_status, sendense_store, store_call, store_read_json,
};
use crate::store::Store;
use crate::targets::{DeviceMapping, DeviceUpdate, ModeSwitch, NewMapping, OperationMode, SnapshotStatus};

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
/// Safe to retry after SENDENSE_STATUS_COMMIT_UNKNOWN: when the first call was applied
/// (mapping and export), the retry is ALREADY_EXISTS naming the volume and its mapping.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_attach(
    s: *mut sendense_store,
    json: *const c_char,
    mapping_id_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let mapping: NewMapping = arg_json(json, "json")?;
        out_ptr(mapping_id_out, "mapping_id_out")?.write_string(store.device_attach(&mapping)?)
    })
}

/// Remove the mapping of `volume_uuid` and its NBD export, in one transaction. When the export
/// has a job and no other export of that job uses its port, the job's lease on that port (the
/// resource named by the port number, in any pool) is released in the same transaction; an
/// export without a job releases nothing. NOT_FOUND when the volume has no mapping.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_detach(
    s: *mut sendense_store,
    volume_uuid: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| store.device_detach(arg_str(volume_uuid, "volume_uuid")?).map(drop))
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
    store_call(s, err, |store| {
        let volume_uuid = arg_str(volume_uuid, "volume_uuid")?;
        let update: DeviceUpdate = arg_json(json, "json")?;
        store.device_update(volume_uuid, &update).map(drop)
    })
}

/// Switch every mapping of the context to `mode` ("oma" or "failover") in one transaction. To
/// failover: device paths are cleared, linux_state becomes "n/a" and the volumes' NBD exports
/// are removed, each releasing its job's lease on its port once no other export of that job
/// uses the port (as `sendense_device_detach`). To oma: the store does not know a failover
/// volume's new hub device path, so this form succeeds only when every mapping of the context
/// is already oma (a no-op); otherwise it is INVALID_ARGUMENT naming the volumes, and
/// `sendense_device_switch_mode` (which takes the paths and the exports to re-create) is the
/// way back. NOT_FOUND for an unknown context; any refusal changes nothing.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_set_mode(
    s: *mut sendense_store,
    context_id: *const c_char,
    mode: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let context_id = arg_str(context_id, "context_id")?;
        let mode = OperationMode::parse(arg_str(mode, "mode")?)?;
        store.device_set_mode(context_id, mode).map(drop)
    })
}

/// Switch every mapping of a context, with what the switch needs, in one transaction. `json`:
/// `context_id`, `mode` ("oma" or "failover"), optional `vm_id` (the CloudStack VM of every
/// mapping afterwards), `device_paths` (an object volume_uuid -> hub device path: required for
/// every failover mapping when switching to oma, refused when switching to failover) and
/// `exports` (an array of export objects as for `sendense_nbd_export_create`, each naming its
/// `volume_uuid`, created after a switch to oma). A switch to failover removes the exports and
/// releases the port leases they held, as `sendense_device_set_mode`. A path held by another
/// oma mapping is CONFLICT naming it; any refusal changes nothing.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_switch_mode(
    s: *mut sendense_store,
    json: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
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
    store_call(s, err, |store| {
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
    store_read_json(s, volume_uuid, "volume_uuid", json_out, err, Store::device_get)
}

/// The mappings of a context, oldest first, as a JSON array. NOT_FOUND for an unknown context.
#[no_mangle]
pub unsafe extern "C" fn sendense_device_list_json(
    s: *mut sendense_store,
    context_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, context_id, "context_id", json_out, err, Store::device_list)
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
    store_call(s, err, |store| {
        let volume_uuid = arg_str(volume_uuid, "volume_uuid")?;
        out_ptr(out, "out")?.write_box(sendense_device_mapping::new(store.device_get(volume_uuid)?)?);
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
    field_opt(m, out, |m| m.record.volume_id_numeric)
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
    field_opt(m, out, |m| m.record.cloudstack_device_id)
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
