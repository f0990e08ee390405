//! C ABI of backup copies: queueing a rule's copies, the atomic claim, the status transitions
//! a worker reports (written, the verification result, failure) and JSON read-outs and lists.

use std::ffi::c_char;

use crate::backup::VerificationStatus;
use crate::ffi::{
    arg_str, out_ptr, sendense_error, sendense_status, sendense_store, store_call, store_list_json, store_read_json,
};
use crate::store::Store;

/// Claim the oldest pending copy for worker `worker_id`, atomically (two workers or two
/// processes never get the same copy), moving it to copying. `*copy_json_out` receives the
/// copy as JSON, or NULL when no copy is pending.
#[no_mangle]
pub unsafe extern "C" fn sendense_copy_claim(
    s: *mut sendense_store,
    worker_id: *const c_char,
    copy_json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let worker_id = arg_str(worker_id, "worker_id")?;
        let copy_json_out = out_ptr(copy_json_out, "copy_json_out")?;
        match store.copy_claim(worker_id)? {
            Some(copy) => copy_json_out.write_json(&copy),
            None => {
                copy_json_out.write(std::ptr::null_mut());
                Ok(())
            }
        }
    })
}

/// A claimed copy was written: records the path actually written (`file_path`, replacing the
/// planned one; not empty), its size (`size_bytes`, not negative) and copy_completed_at, and
/// moves it copying -> verifying when its copy rule verifies after copy (or the rule is gone),
/// or straight to completed when the rule has `verify_after_copy` false (verification_status
/// then stays "pending" and verified_at null: never verified); read the copy back to see
/// which. NOT_FOUND naming the id when there is none; a copy in another status is
/// INVALID_STATE naming from and to.
#[no_mangle]
pub unsafe extern "C" fn sendense_copy_set_verifying(
    s: *mut sendense_store,
    copy_id: *const c_char,
    file_path: *const c_char,
    size_bytes: i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let copy_id = arg_str(copy_id, "copy_id")?;
        let file_path = arg_str(file_path, "file_path")?;
        store.copy_set_verifying(copy_id, file_path, size_bytes)?;
        Ok(())
    })
}

/// Queue now the copies that copy rule `rule_id` is owed: how a rule whose `copy_mode` is
/// "scheduled" or "manual" copies (only "immediate" rules queue copies when a point
/// completes). One pending copy per completed point of the rule's policy that does not live in
/// the rule's destination and has no copy there yet, oldest point first, in one transaction.
/// `*copies_json_out` receives the queued copies as a JSON array of copy objects (`[]` when
/// nothing was owed, e.g. when asked again). NOT_FOUND naming an unknown rule; a disabled rule
/// is INVALID_STATE.
#[no_mangle]
pub unsafe extern "C" fn sendense_copy_queue(
    s: *mut sendense_store,
    rule_id: *const c_char,
    copies_json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let rule_id = arg_str(rule_id, "rule_id")?;
        let copies_json_out = out_ptr(copies_json_out, "copies_json_out")?;
        copies_json_out.write_json(&store.copy_queue(rule_id)?)
    })
}

/// Record the verification result of a copy in verifying, stamping verified_at:
/// `verification` "passed" completes it; "failed" fails it with an error message saying so;
/// "pending" is not a result and any other value is INVALID_ARGUMENT. A copy in another status
/// is INVALID_STATE; NOT_FOUND naming the id when there is none.
#[no_mangle]
pub unsafe extern "C" fn sendense_copy_complete(
    s: *mut sendense_store,
    copy_id: *const c_char,
    verification: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let copy_id = arg_str(copy_id, "copy_id")?;
        let verification = VerificationStatus::parse(arg_str(verification, "verification")?)?;
        store.copy_complete(copy_id, verification)?;
        Ok(())
    })
}

/// Fail a copy in copying or verifying with `error_message` (required, not empty). A pending
/// or finished copy is INVALID_STATE; NOT_FOUND naming the id when there is none.
#[no_mangle]
pub unsafe extern "C" fn sendense_copy_fail(
    s: *mut sendense_store,
    copy_id: *const c_char,
    error_message: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let copy_id = arg_str(copy_id, "copy_id")?;
        let error_message = arg_str(error_message, "error_message")?;
        store.copy_fail(copy_id, error_message)?;
        Ok(())
    })
}

/// The copy `copy_id` as a JSON object whose keys are the column names of `backup_copies`
/// (timestamps as RFC 3339 UTC strings). NOT_FOUND naming the id when there is none.
#[no_mangle]
pub unsafe extern "C" fn sendense_copy_get_json(
    s: *mut sendense_store,
    copy_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, copy_id, "copy_id", json_out, err, Store::copy_get)
}

/// The copies matching `filter_json` as a JSON array of copy objects, oldest first (the claim
/// order). `filter_json` may be NULL (every copy, up to the default limit) or an object with
/// the optional keys `backup_id` (the source point), `status`, `repository_id` (the
/// destination), `limit` (default 100) and `offset`; an unknown key is INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn sendense_copy_list_json(
    s: *mut sendense_store,
    filter_json: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_list_json(s, filter_json, json_out, err, Store::copy_list)
}
