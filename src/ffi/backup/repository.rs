//! C ABI of backup repositories (`sendense_repository_*`). Policies are in `policy.rs`.

use std::ffi::c_char;

use crate::backup::{NewRepository, RepositoryUpdate};
use crate::ffi::{
    arg_json, arg_str, out_opt_ptr, out_ptr, sendense_error, sendense_status, sendense_store, store_call,
    store_list_json, store_read_json,
};
use crate::store::Store;

/// Create a backup repository. `json` is an object with `name`, `repository_type` (local, nfs,
/// cifs, smb, s3 or azure) and `config` (validated per type: local needs an absolute `path`;
/// nfs `server` and `export_path`; cifs/smb `server` and `share`; s3 `region` and `bucket`;
/// azure `account` and `container`; unknown keys are refused), and optionally `id`,
/// `enabled`, `is_immutable` with `immutable_config` (`grace_period_days`, `apply_to_fulls`,
/// `apply_to_incrementals`, `min_retention_days`) and `min_retention_days`.
/// `*repository_id_out` receives the id. A taken id or name is ALREADY_EXISTS naming it.
/// Safe to retry after SENDENSE_STATUS_COMMIT_UNKNOWN: when the first call was applied, the
/// retry is ALREADY_EXISTS naming the id or name.
#[no_mangle]
pub unsafe extern "C" fn sendense_repository_create(
    s: *mut sendense_store,
    json: *const c_char,
    repository_id_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let new: NewRepository = arg_json(json, "json")?;
        out_ptr(repository_id_out, "repository_id_out")?.write_string(store.repository_create(&new)?)
    })
}

/// The repository `repository_id` as a JSON object whose keys are the column names of
/// `backup_repositories` (`config` and `immutable_config` embedded as JSON). NOT_FOUND when
/// there is none.
#[no_mangle]
pub unsafe extern "C" fn sendense_repository_get_json(
    s: *mut sendense_store,
    repository_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, repository_id, "repository_id", json_out, err, Store::repository_get)
}

/// The repositories matching `filter_json` (`{"repository_type"?:…, "enabled"?:…}`; NULL
/// for all) as a JSON array.
#[no_mangle]
pub unsafe extern "C" fn sendense_repository_list_json(
    s: *mut sendense_store,
    filter_json: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_list_json(s, filter_json, json_out, err, Store::repository_list)
}

/// Change a repository's name, config (re-validated against its type), immutable settings or
/// min_retention_days; an absent key leaves the column alone. When `json_out` is not NULL it
/// receives the updated record as JSON.
#[no_mangle]
pub unsafe extern "C" fn sendense_repository_update(
    s: *mut sendense_store,
    repository_id: *const c_char,
    json: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let repository_id = arg_str(repository_id, "repository_id")?;
        let update: RepositoryUpdate = arg_json(json, "json")?;
        let json_out = out_opt_ptr(json_out);
        let updated = store.repository_update(repository_id, &update)?;
        json_out.map_or(Ok(()), |out| out.write_json(&updated))
    })
}

/// Enable or disable a repository (a disabled repository takes no new backups).
#[no_mangle]
pub unsafe extern "C" fn sendense_repository_set_enabled(
    s: *mut sendense_store,
    repository_id: *const c_char,
    enabled: bool,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let repository_id = arg_str(repository_id, "repository_id")?;
        store.repository_set_enabled(repository_id, enabled).map(drop)
    })
}

/// Record a repository's capacity figures in bytes (all >= 0; used + available at most total
/// when total > 0); stamps last_check_at.
#[no_mangle]
pub unsafe extern "C" fn sendense_repository_record_capacity(
    s: *mut sendense_store,
    repository_id: *const c_char,
    total_bytes: i64,
    used_bytes: i64,
    available_bytes: i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let repository_id = arg_str(repository_id, "repository_id")?;
        store.repository_record_capacity(repository_id, total_bytes, used_bytes, available_bytes).map(drop)
    })
}

/// Delete a repository. CONFLICT, naming how many, while it holds backups or copies, and
/// naming the policy while a policy writes to it.
#[no_mangle]
pub unsafe extern "C" fn sendense_repository_delete(
    s: *mut sendense_store,
    repository_id: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let repository_id = arg_str(repository_id, "repository_id")?;
        store.repository_delete(repository_id)
    })
}
