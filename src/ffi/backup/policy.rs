//! C ABI of backup policies (`sendense_policy_*`) with their retention settings and copy
//! rules.

use std::ffi::c_char;

use crate::backup::{NewPolicy, PolicyUpdate};
use crate::ffi::{
    arg_json, arg_str, out_opt_ptr, out_ptr, sendense_error, sendense_status, sendense_store, store_call,
    store_list_json, store_read_json,
};
use crate::store::Store;

/// Create a backup policy and its copy rules in one transaction. `json` holds the policy
/// columns (`name`, `primary_repository_id`, optional `id`, `enabled`, `retention_days`) plus
/// `"copy_rules": [{"destination_repository_id":…, "priority":…, "copy_mode"?:…, "enabled"?:…,
/// "verify_after_copy"?:…}]`: each destination must exist and differ from the primary, no
/// destination twice, priority >= 1. `*policy_id_out` receives the id.
/// A taken id or name is ALREADY_EXISTS naming it, so it is safe to retry after
/// SENDENSE_STATUS_COMMIT_UNKNOWN.
#[no_mangle]
pub unsafe extern "C" fn sendense_policy_create(
    s: *mut sendense_store,
    json: *const c_char,
    policy_id_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let new: NewPolicy = arg_json(json, "json")?;
        out_ptr(policy_id_out, "policy_id_out")?.write_string(store.policy_create(&new)?)
    })
}

/// The policy `policy_id` with its copy rules (`"copy_rules": [...]`, by priority) as JSON.
#[no_mangle]
pub unsafe extern "C" fn sendense_policy_get_json(
    s: *mut sendense_store,
    policy_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, policy_id, "policy_id", json_out, err, Store::policy_get)
}

/// The policies matching `filter_json` (`{"enabled"?:…, "repository_id"?:…}`; NULL for all)
/// as a JSON array, each with its copy rules.
#[no_mangle]
pub unsafe extern "C" fn sendense_policy_list_json(
    s: *mut sendense_store,
    filter_json: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_list_json(s, filter_json, json_out, err, Store::policy_list)
}

/// Change a policy (name, enabled, retention_days, primary repository) and, when `copy_rules`
/// is present, replace its copy rules, all in one transaction. When `json_out` is not NULL it
/// receives the updated policy as JSON.
#[no_mangle]
pub unsafe extern "C" fn sendense_policy_update(
    s: *mut sendense_store,
    policy_id: *const c_char,
    json: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let policy_id = arg_str(policy_id, "policy_id")?;
        let update: PolicyUpdate = arg_json(json, "json")?;
        let json_out = out_opt_ptr(json_out);
        let updated = store.policy_update(policy_id, &update)?;
        json_out.map_or(Ok(()), |out| out.write_json(&updated))
    })
}

/// Delete a policy and its copy rules; backups that named it keep existing without a policy.
#[no_mangle]
pub unsafe extern "C" fn sendense_policy_delete(
    s: *mut sendense_store,
    policy_id: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let policy_id = arg_str(policy_id, "policy_id")?;
        store.policy_delete(policy_id)
    })
}
