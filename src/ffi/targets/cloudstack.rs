//! C ABI of CloudStack ("OSSEA") configurations and volumes.
//! Configurations are identified by their integer ids; their secrets travel only through the
//! explicit `*_secrets_json` functions.

use std::ffi::c_char;

use crate::ffi::{
    arg_json, arg_opt_str, arg_str, out_opt_ptr, out_ptr, sendense_error, sendense_status, sendense_store, store_call,
    store_read_json,
};
use crate::store::Store;
use crate::targets::{NewOsseaConfig, NewOsseaVolume, OsseaConfigUpdate, SnapshotStatus, VolumeStatus};

/// Create a CloudStack configuration. `json`: the `ossea_configs` column names — `name`,
/// `api_url` (http:// or https://), `api_key`, `secret_key`, `zone`, and optionally `domain`,
/// `template_id`, `network_id`, `service_offering_id`, `disk_offering_id`, `oma_vm_id`,
/// `is_active` (true makes it the one active configuration). `api_key` and `secret_key` are
/// stored sealed with the store's key (SENDENSE_STATUS_SECRET_KEY when it has none). A taken
/// name is ALREADY_EXISTS. `*config_id_out` receives the new id.
/// Safe to retry after SENDENSE_STATUS_COMMIT_UNKNOWN: when the first call was applied, the
/// retry is ALREADY_EXISTS naming the configuration.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_config_create(
    s: *mut sendense_store,
    json: *const c_char,
    config_id_out: *mut i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let new: NewOsseaConfig = arg_json(json, "json")?;
        out_ptr(config_id_out, "config_id_out")?.write(store.ossea_config_create(&new)?);
        Ok(())
    })
}

/// A CloudStack configuration as JSON, without its secrets (`sealed_with_key` names the key
/// that sealed them).
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_config_get_json(
    s: *mut sendense_store,
    config_id: i64,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| out_ptr(json_out, "json_out")?.write_json(&store.ossea_config_get(config_id)?))
}

/// The opened secrets of a CloudStack configuration: `{"api_key":…,"secret_key":…}`.
/// SENDENSE_STATUS_SECRET_KEY when the store has no key, another key, or the value was altered.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_config_secrets_json(
    s: *mut sendense_store,
    config_id: i64,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| out_ptr(json_out, "json_out")?.write_json(&store.ossea_config_secrets(config_id)?))
}

/// Every CloudStack configuration (without secrets) as a JSON array, by name.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_config_list_json(
    s: *mut sendense_store,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| out_ptr(json_out, "json_out")?.write_json(&store.ossea_config_list()?))
}

/// Change a CloudStack configuration: `json` holds the columns to change (absent keys stay;
/// `null` clears a nullable one; a new `api_key` or `secret_key` is sealed). `*json_out`
/// (NULL allowed) receives the changed configuration.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_config_update(
    s: *mut sendense_store,
    config_id: i64,
    json: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let update: OsseaConfigUpdate = arg_json(json, "json")?;
        let config = store.ossea_config_update(config_id, &update)?;
        match out_opt_ptr(json_out) {
            Some(out) => out.write_json(&config),
            None => Ok(()),
        }
    })
}

/// Make a configuration the active one; the others become inactive in the same transaction.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_config_activate(
    s: *mut sendense_store,
    config_id: i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| store.ossea_config_activate(config_id).map(|_| ()))
}

/// Delete a configuration; CONFLICT (naming how many) while volumes or replication jobs use it.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_config_delete(
    s: *mut sendense_store,
    config_id: i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| store.ossea_config_delete(config_id))
}

/// Record a CloudStack volume. `json`: `volume_id` (the CloudStack UUID, unique),
/// `volume_name`, `size_gb` (>= 1), and optionally `vm_context_id`, `ossea_config_id`,
/// `volume_type` and `status` (default creating). `*volume_row_id_out` receives its row id.
/// A taken `volume_id` is ALREADY_EXISTS naming it, so it is safe to retry after
/// SENDENSE_STATUS_COMMIT_UNKNOWN.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_volume_create(
    s: *mut sendense_store,
    json: *const c_char,
    volume_row_id_out: *mut i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let new: NewOsseaVolume = arg_json(json, "json")?;
        out_ptr(volume_row_id_out, "volume_row_id_out")?.write(store.ossea_volume_create(&new)?);
        Ok(())
    })
}

/// A volume (by row id) as JSON.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_volume_get_json(
    s: *mut sendense_store,
    volume_row_id: i64,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| out_ptr(json_out, "json_out")?.write_json(&store.ossea_volume_get(volume_row_id)?))
}

/// A volume found by its CloudStack id, as JSON.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_volume_find_json(
    s: *mut sendense_store,
    volume_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, volume_id, "volume_id", json_out, err, Store::ossea_volume_find)
}

/// The volumes of a context (`context_id`), or every volume (`context_id` NULL), as a JSON array.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_volume_list_json(
    s: *mut sendense_store,
    context_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let context_id = arg_opt_str(context_id, "context_id")?;
        out_ptr(json_out, "json_out")?.write_json(&store.ossea_volume_list(context_id)?)
    })
}

/// Move a volume to `status` (creating, available, attached, detached, error) along its state
/// machine (INVALID_STATE otherwise). `device_path` is required for attached and must be NULL
/// otherwise.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_volume_set_status(
    s: *mut sendense_store,
    volume_row_id: i64,
    status: *const c_char,
    device_path: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let status = VolumeStatus::parse(arg_str(status, "status")?)?;
        let device_path = arg_opt_str(device_path, "device_path")?;
        store.ossea_volume_set_status(volume_row_id, status, device_path).map(|_| ())
    })
}

/// Move a volume's snapshot tracking to `status` (none, creating, ready, failed,
/// rollback_complete) along its state machine. `snapshot_id` is required for creating and
/// must be NULL otherwise.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_volume_set_snapshot(
    s: *mut sendense_store,
    volume_row_id: i64,
    status: *const c_char,
    snapshot_id: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let status = SnapshotStatus::parse(arg_str(status, "status")?)?;
        let snapshot_id = arg_opt_str(snapshot_id, "snapshot_id")?;
        store.ossea_volume_set_snapshot(volume_row_id, status, snapshot_id).map(|_| ())
    })
}

/// Link a volume to the disk row `disk_id` (`disk-2000`) of context `context_id`. A volume of
/// another context is CONFLICT.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_volume_link_disk(
    s: *mut sendense_store,
    volume_row_id: i64,
    context_id: *const c_char,
    disk_id: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let context_id = arg_str(context_id, "context_id")?;
        let disk_id = arg_str(disk_id, "disk_id")?;
        store.ossea_volume_link_disk(volume_row_id, context_id, disk_id).map(|_| ())
    })
}

/// Forget a volume; CONFLICT while a device mapping holds it.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_volume_delete(
    s: *mut sendense_store,
    volume_row_id: i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| store.ossea_volume_delete(volume_row_id))
}
