//! C ABI of retention: plan a policy's points, apply a plan.

use std::ffi::c_char;

use crate::ffi::{arg_str, out_ptr, sendense_error, sendense_status, sendense_store, store_call};
use crate::value::Timestamp;

/// Plan retention for the completed points of policy `policy_id` with its rules (keep_last,
/// keep_daily, keep_weekly, keep_monthly, keep_yearly, retention_days) at `now_unix_ms`,
/// counting days, ISO weeks, months and years in the IANA time zone `time_zone` ("UTC",
/// "Europe/Berlin"). Changes nothing. `*plan_json_out` receives the plan: an object with
/// `policy_id`, `now`, `time_zone`, `rules`, `fingerprint`, `points`, `kept`, `removed`,
/// `keep` (`[{"id", "reasons": [..]}]`), `remove` (ids) and `problems`. Reasons read like
/// `keep-last 1`, `keep-weekly 2026-W48`, `retention-days`, `protected`,
/// `immutable until <time>`, `min-retention until <time>`, `needed by <id> (outside the plan)`
/// and `ancestor of <id>`. NOT_FOUND for an unknown policy; INVALID_ARGUMENT for an unknown
/// time zone.
#[no_mangle]
pub unsafe extern "C" fn sendense_retention_plan_json(
    s: *mut sendense_store,
    policy_id: *const c_char,
    now_unix_ms: i64,
    time_zone: *const c_char,
    plan_json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let policy_id = arg_str(policy_id, "policy_id")?;
        let time_zone = arg_str(time_zone, "time_zone")?;
        out_ptr(plan_json_out, "plan_json_out")?.write_json(&store.retention_plan(
            policy_id,
            Timestamp(now_unix_ms),
            time_zone,
        )?)
    })
}

/// Remove the points a plan from `sendense_retention_plan_json` removes, atomically. The plan
/// is made again inside the transaction: a stale plan (the policy's rules or its points
/// changed since, or a point outside the policy now builds on a planned removal) is CONFLICT
/// naming why, and a point that may not be deleted by the store's clock (inside a lock window
/// or its repository's minimum retention) fails the whole apply with that refusal. A malformed
/// plan is INVALID_ARGUMENT. On any error nothing changes.
#[no_mangle]
pub unsafe extern "C" fn sendense_retention_apply(
    s: *mut sendense_store,
    plan_json: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| store.retention_apply_json(arg_str(plan_json, "plan_json")?).map(|_| ()))
}
