//! C ABI of leases: acquire, renew and release by owner id, lists, and pool definitions.

use std::ffi::c_char;

use crate::ffi::{
    arg_json, arg_str, out_opt_ptr, out_ptr, sendense_error, sendense_status, sendense_store, store_call,
};
use crate::targets::NewLeasePool;

/// Lease the lowest-ordinal resource of `pool` that has no live lease to `owner_id` (a job
/// id) for `ttl_ms` milliseconds (1 ms to 30 days), atomically, also across processes; an
/// expired lease's resource is taken over. The same owner asking again gets another resource.
/// `*lease_json_out` receives the lease as JSON: `pool`, `resource` (e.g. "10100" or
/// "/dev/nbd0"), `owner_id`, `acquired_at`, `expires_at`. A full pool is CONFLICT naming the
/// pool and its number of resources; an unknown pool NOT_FOUND; a bad ttl INVALID_ARGUMENT.
/// Built-in pools: `backup_nbd_port` (ports 10100-10200) and `restore_nbd_device` (/dev/nbd0
/// to /dev/nbd7).
#[no_mangle]
pub unsafe extern "C" fn sendense_lease_acquire(
    s: *mut sendense_store,
    pool: *const c_char,
    owner_id: *const c_char,
    ttl_ms: i64,
    lease_json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let pool = arg_str(pool, "pool")?;
        let owner_id = arg_str(owner_id, "owner_id")?;
        out_ptr(lease_json_out, "lease_json_out")?.write_json(&store.lease_acquire(pool, owner_id, ttl_ms)?)
    })
}

/// Extend every live lease of `owner_id` in `pool` to now + `ttl_ms` (never shortening one).
/// `*leases_json_out` (when `leases_json_out` is not NULL) receives the renewed leases as a
/// JSON array. NOT_FOUND when the pool does not exist or the owner holds no live lease in it
/// (an expired lease must be acquired again); a bad ttl is INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn sendense_lease_renew(
    s: *mut sendense_store,
    pool: *const c_char,
    owner_id: *const c_char,
    ttl_ms: i64,
    leases_json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let pool = arg_str(pool, "pool")?;
        let owner_id = arg_str(owner_id, "owner_id")?;
        let leases = store.lease_renew(pool, owner_id, ttl_ms)?;
        match out_opt_ptr(leases_json_out) {
            Some(out) => out.write_json(&leases),
            None => Ok(()),
        }
    })
}

/// Release every lease of `owner_id` in `pool` (live or expired), by owner id only.
/// Releasing nothing is fine (OK). NOT_FOUND when the pool does not exist.
#[no_mangle]
pub unsafe extern "C" fn sendense_lease_release(
    s: *mut sendense_store,
    pool: *const c_char,
    owner_id: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let pool = arg_str(pool, "pool")?;
        let owner_id = arg_str(owner_id, "owner_id")?;
        store.lease_release(pool, owner_id)?;
        Ok(())
    })
}

/// The live leases of `pool` as a JSON array of lease objects, lowest ordinal first; with
/// `owner_id` not NULL, only that owner's. NOT_FOUND when the pool does not exist.
#[no_mangle]
pub unsafe extern "C" fn sendense_lease_list_json(
    s: *mut sendense_store,
    pool: *const c_char,
    owner_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let pool = arg_str(pool, "pool")?;
        let owner_id = crate::ffi::arg_opt_str(owner_id, "owner_id")?;
        let json_out = out_ptr(json_out, "json_out")?;
        let leases = match owner_id {
            Some(owner) => store.lease_list_owner(pool, owner)?,
            None => store.lease_list(pool)?,
        };
        json_out.write_json(&leases)
    })
}

/// Add a lease pool, or replace the resources of one that has no live lease (CONFLICT naming
/// how many it has otherwise). `json`: `name`, `resources` (an array of strings, handed out
/// in that order; at least one, no duplicates) and optionally `description`.
/// `*pool_json_out` (when `pool_json_out` is not NULL) receives the pool as JSON.
#[no_mangle]
pub unsafe extern "C" fn sendense_lease_pool_define(
    s: *mut sendense_store,
    json: *const c_char,
    pool_json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let new: NewLeasePool = arg_json(json, "json")?;
        let pool = store.lease_pool_define(&new)?;
        match out_opt_ptr(pool_json_out) {
            Some(out) => out.write_json(&pool),
            None => Ok(()),
        }
    })
}

/// Every lease pool as a JSON array, by name: `name`, `description`, `created_at`,
/// `resources` (in hand-out order) and `leased` (how many have a live lease).
#[no_mangle]
pub unsafe extern "C" fn sendense_lease_pools_json(
    s: *mut sendense_store,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| out_ptr(json_out, "json_out")?.write_json(&store.lease_pools()?))
}
