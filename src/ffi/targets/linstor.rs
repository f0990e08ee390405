//! C ABI of Linstor configurations (`sendense_linstor_config_*`): create, read (without
//! secrets), list, delete, and the secrets opened on request.

use std::ffi::c_char;

use crate::ffi::{arg_json, out_ptr, sendense_error, sendense_status, sendense_store, store_call};
use crate::targets::NewLinstorConfig;

/// Create a Linstor configuration. `json`: the `linstor_configs` column names — `name`,
/// `api_url` (without a user name or password: INVALID_ARGUMENT, the value not repeated), and
/// optionally `api_port` (3370), `api_protocol` (http), `api_key`,
/// `api_secret` (both sealed), `connection_timeout_seconds` (30), `retry_attempts` (3),
/// `description`, `is_active` (true). The secrets are sealed as those of
/// `sendense_ossea_config_create`. `*config_id_out` receives the new id.
/// A taken name is ALREADY_EXISTS naming it, so it is safe to retry after
/// SENDENSE_STATUS_COMMIT_UNKNOWN.
#[no_mangle]
pub unsafe extern "C" fn sendense_linstor_config_create(
    s: *mut sendense_store,
    json: *const c_char,
    config_id_out: *mut i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let new: NewLinstorConfig = arg_json(json, "json")?;
        out_ptr(config_id_out, "config_id_out")?.write(store.linstor_config_create(&new)?);
        Ok(())
    })
}

/// A Linstor configuration as JSON, without its secrets.
#[no_mangle]
pub unsafe extern "C" fn sendense_linstor_config_get_json(
    s: *mut sendense_store,
    config_id: i64,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| out_ptr(json_out, "json_out")?.write_json(&store.linstor_config_get(config_id)?))
}

/// The opened secrets of a Linstor configuration: `{"api_key":…|null,"api_secret":…|null}`,
/// with the errors and the wiping of `sendense_ossea_config_secrets_json`.
#[no_mangle]
pub unsafe extern "C" fn sendense_linstor_config_secrets_json(
    s: *mut sendense_store,
    config_id: i64,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        out_ptr(json_out, "json_out")?.write_secret_json(&store.linstor_config_secrets(config_id)?)
    })
}

/// Every Linstor configuration (without secrets) as a JSON array, by name.
#[no_mangle]
pub unsafe extern "C" fn sendense_linstor_config_list_json(
    s: *mut sendense_store,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| out_ptr(json_out, "json_out")?.write_json(&store.linstor_config_list()?))
}

/// Delete a Linstor configuration.
#[no_mangle]
pub unsafe extern "C" fn sendense_linstor_config_delete(
    s: *mut sendense_store,
    config_id: i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| store.linstor_config_delete(config_id))
}
