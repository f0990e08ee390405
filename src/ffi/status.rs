//! The status codes and the caller-owned error object of the C ABI.
//!
//! The codes are the ones of the one status table ([`crate::error::Status`]); the constants
//! below are spelled out because cbindgen reads literals, and a unit test checks each against
//! the table.

use std::ffi::{c_char, CString};

use crate::error::{Error, Status};
use crate::ffi::call::guard;
use crate::ffi::free_box;

/// Result code of every fallible function: `SENDENSE_STATUS_OK` (0) or one of the
/// `SENDENSE_STATUS_*` error codes. The set is append-only.
pub type sendense_status = i32;

/// Success.
pub const SENDENSE_STATUS_OK: sendense_status = 0;
/// An argument is NULL, not valid UTF-8, malformed or out of range.
pub const SENDENSE_STATUS_INVALID_ARGUMENT: sendense_status = 1;
/// The addressed record or file does not exist.
pub const SENDENSE_STATUS_NOT_FOUND: sendense_status = 2;
/// A record with the same identity already exists.
pub const SENDENSE_STATUS_ALREADY_EXISTS: sendense_status = 3;
/// The operation collides with the current state of another record.
pub const SENDENSE_STATUS_CONFLICT: sendense_status = 4;
/// The record's state machine forbids the requested transition.
pub const SENDENSE_STATUS_INVALID_STATE: sendense_status = 5;
/// Another connection held the database lock for longer than the busy timeout.
pub const SENDENSE_STATUS_BUSY: sendense_status = 6;
/// The database file is damaged.
pub const SENDENSE_STATUS_CORRUPT: sendense_status = 7;
/// The database was written by a newer libsendense; it was left untouched.
pub const SENDENSE_STATUS_SCHEMA_TOO_NEW: sendense_status = 8;
/// Operating-system failure: cannot open, read-only location, disk full, I/O error.
pub const SENDENSE_STATUS_IO: sendense_status = 9;
/// Unexpected condition inside the library.
pub const SENDENSE_STATUS_INTERNAL: sendense_status = 10;
/// A panic inside the library was caught at the boundary; the host process keeps running.
pub const SENDENSE_STATUS_PANIC: sendense_status = 11;
/// The file is not a SQLite database, or belongs to another application; it was left untouched.
pub const SENDENSE_STATUS_NOT_A_DATABASE: sendense_status = 12;
/// A secret cannot be sealed or read: the store was opened without a secret key, with another
/// key than the one that sealed it, or the sealed text was altered.
pub const SENDENSE_STATUS_SECRET_KEY: sendense_status = 13;
/// The write failed while committing (an I/O error or a full disk during the commit itself):
/// whether its change was applied is unknown, since the commit record may have reached the
/// file first (the change is then there, at the latest when the file is next opened). Re-read
/// what the call would have changed, then retry only what is safe: a create with a
/// caller-chosen id or identity answers SENDENSE_STATUS_ALREADY_EXISTS naming the row when it
/// was applied. SENDENSE_STATUS_IO means the failure came before the commit: nothing changed.
pub const SENDENSE_STATUS_COMMIT_UNKNOWN: sendense_status = 14;

/// Details of a failed call: a status and a message naming the problem. Owned by the caller,
/// who frees it with `sendense_error_free`.
pub struct sendense_error {
    status: sendense_status,
    message: CString,
}

impl sendense_error {
    pub(crate) fn from_error(e: &Error) -> sendense_error {
        sendense_error { status: e.status().code(), message: c_string_lossy(e.to_string()) }
    }
}

pub(crate) fn c_string_lossy(s: String) -> CString {
    CString::new(s).unwrap_or_else(|e| {
        let cleaned: Vec<u8> = e.into_vec().into_iter().filter(|b| *b != 0).collect();
        CString::new(cleaned).expect("NUL bytes were removed")
    })
}

/// The status code of an error object; `SENDENSE_STATUS_OK` for NULL.
#[no_mangle]
pub unsafe extern "C" fn sendense_error_status(error: *const sendense_error) -> sendense_status {
    guard(SENDENSE_STATUS_INTERNAL, || error.as_ref().map_or(SENDENSE_STATUS_OK, |e| e.status))
}

/// The message of an error object ("STATUS_NAME: what went wrong"), borrowed from the object
/// and valid until `sendense_error_free`. An empty string for NULL.
#[no_mangle]
pub unsafe extern "C" fn sendense_error_message(error: *const sendense_error) -> *const c_char {
    guard(c"".as_ptr(), || match error.as_ref() {
        Some(e) => e.message.as_ptr(),
        None => c"".as_ptr(),
    })
}

/// Free an error object. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sendense_error_free(error: *mut sendense_error) {
    free_box(error);
}

/// The name of a status code ("OK", "INVALID_ARGUMENT", ...), a static string; "UNKNOWN" for
/// a code this library does not know.
#[no_mangle]
pub extern "C" fn sendense_status_name(status: sendense_status) -> *const c_char {
    guard(c"UNKNOWN".as_ptr(), || {
        if status == SENDENSE_STATUS_OK {
            return c"OK".as_ptr();
        }
        Status::from_code(status).map_or(c"UNKNOWN", Status::c_name).as_ptr()
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;

    #[test]
    fn header_constants_match_the_rust_statuses() {
        let consts = [
            SENDENSE_STATUS_INVALID_ARGUMENT,
            SENDENSE_STATUS_NOT_FOUND,
            SENDENSE_STATUS_ALREADY_EXISTS,
            SENDENSE_STATUS_CONFLICT,
            SENDENSE_STATUS_INVALID_STATE,
            SENDENSE_STATUS_BUSY,
            SENDENSE_STATUS_CORRUPT,
            SENDENSE_STATUS_SCHEMA_TOO_NEW,
            SENDENSE_STATUS_IO,
            SENDENSE_STATUS_INTERNAL,
            SENDENSE_STATUS_PANIC,
            SENDENSE_STATUS_NOT_A_DATABASE,
            SENDENSE_STATUS_SECRET_KEY,
            SENDENSE_STATUS_COMMIT_UNKNOWN,
        ];
        assert_eq!(consts.len(), Status::ALL.len());
        for (status, code) in Status::ALL.iter().zip(consts) {
            assert_eq!(status.code(), code, "{status}");
            let name = unsafe { CStr::from_ptr(sendense_status_name(code)) };
            assert_eq!(name.to_str().unwrap(), status.name());
        }
    }

    #[test]
    fn messages_with_nul_bytes_are_cleaned() {
        assert_eq!(c_string_lossy("a\0b".into()).to_str().unwrap(), "ab");
    }

    #[test]
    fn unknown_codes_have_a_name_too() {
        let name = |code| unsafe { CStr::from_ptr(sendense_status_name(code)) }.to_str().unwrap();
        assert_eq!(name(SENDENSE_STATUS_OK), "OK");
        assert_eq!(name(-1), "UNKNOWN");
        assert_eq!(name(Status::ALL.len() as i32 + 1), "UNKNOWN");
    }
}
