//! The C ABI: the only module with `unsafe` and `extern "C"`.
//!
//! Every exported function is a thin, mechanical shell over the public Rust API, written with
//! the same few helpers of this file:
//! - `call` runs the body inside `catch_unwind` (a panic becomes `SENDENSE_STATUS_PANIC`),
//!   turns an [`Error`] into a status code and, when the caller passed a non-NULL `err`, a
//!   caller-owned `sendense_error` object;
//! - `arg_str`, `arg_json`, `arg_bytes`, `arg_ref` and `out_ptr` (and their `_opt` forms) check
//!   pointers, UTF-8 and JSON input before any work is done;
//! - `Out::write` (or `write_string`, `write_json`, `write_box`) is the last step of a body,
//!   so out-parameters are written only on success;
//! - read-only snapshot objects hand out borrowed fields through `field`, `field_str` and
//!   `field_ms`, which answer NULL / 0 / false for a NULL object.
#![allow(unsafe_code)]
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

mod backup;
mod replication;
mod store;
mod targets;
mod version;

pub use backup::*;
pub use replication::*;
pub use store::*;
pub use targets::*;
pub use version::*;

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result, Status};
use crate::value::{from_json, to_json, Timestamp};

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

/// Details of a failed call: a status and a message naming the problem. Owned by the caller,
/// who frees it with `sendense_error_free`.
pub struct sendense_error {
    status: sendense_status,
    message: CString,
}

impl sendense_error {
    fn from_error(e: &Error) -> sendense_error {
        sendense_error { status: e.status().code(), message: c_string_lossy(e.to_string()) }
    }
}

/// Run an exported function's body: panics are caught, errors become a status and, when
/// `err` is not NULL, a new `sendense_error` stored in `*err`. `*err` is left alone on success.
pub(crate) fn call(err: *mut *mut sendense_error, body: impl FnOnce() -> Result<()>) -> sendense_status {
    let error = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return SENDENSE_STATUS_OK,
        Ok(Err(e)) => e,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".to_string());
            Error::new(Status::Panic, format!("panic inside libsendense: {what}"))
        }
    };
    if !err.is_null() {
        // SAFETY: the caller passes either NULL or a valid `sendense_error **`.
        unsafe { err.write(Box::into_raw(Box::new(sendense_error::from_error(&error)))) };
    }
    error.status().code()
}

/// A borrowed input string: NULL and invalid UTF-8 are `INVALID_ARGUMENT` naming `name`.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives the call.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::invalid_argument(format!("{name} is NULL")));
    }
    CStr::from_ptr(p).to_str().map_err(|e| {
        Error::invalid_argument(format!("{name} is not valid UTF-8 (invalid byte at offset {})", e.valid_up_to()))
    })
}

/// An optional borrowed input string: NULL is `None`.
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn arg_opt_str<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        arg_str(p, name).map(Some)
    }
}

/// A JSON input document parsed into `T`: NULL, invalid UTF-8, malformed JSON, wrong types and
/// unknown keys are `INVALID_ARGUMENT` naming `name` and the problem.
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn arg_json<T: DeserializeOwned>(p: *const c_char, name: &str) -> Result<T> {
    from_json(name, arg_str(p, name)?)
}

/// An optional JSON input document: NULL is `None`.
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn arg_opt_json<T: DeserializeOwned>(p: *const c_char, name: &str) -> Result<Option<T>> {
    if p.is_null() {
        Ok(None)
    } else {
        arg_json(p, name).map(Some)
    }
}

/// A borrowed object handle: NULL is `INVALID_ARGUMENT` naming `name`.
///
/// # Safety
/// `p` is NULL or points to a live object of type `T`.
pub(crate) unsafe fn arg_ref<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    p.as_ref().ok_or_else(|| Error::invalid_argument(format!("{name} is NULL")))
}

/// A borrowed byte buffer of `len` bytes: NULL is `INVALID_ARGUMENT` naming `name`.
///
/// # Safety
/// `p` is NULL or points to `len` readable bytes.
pub(crate) unsafe fn arg_bytes<'a>(p: *const u8, len: usize, name: &str) -> Result<&'a [u8]> {
    if p.is_null() {
        return Err(Error::invalid_argument(format!("{name} is NULL")));
    }
    Ok(std::slice::from_raw_parts(p, len))
}

/// A checked, not-yet-written out-parameter.
pub(crate) struct Out<T>(*mut T);

/// Check an out-parameter before any work is done: NULL is `INVALID_ARGUMENT` naming `name`.
pub(crate) fn out_ptr<T>(p: *mut T, name: &str) -> Result<Out<T>> {
    if p.is_null() {
        Err(Error::invalid_argument(format!("{name} is NULL")))
    } else {
        Ok(Out(p))
    }
}

/// An optional out-parameter: NULL means the caller does not want the value.
pub(crate) fn out_opt_ptr<T>(p: *mut T) -> Option<Out<T>> {
    (!p.is_null()).then_some(Out(p))
}

impl<T> Out<T> {
    /// Store the result. Call it last, once nothing can fail any more.
    pub(crate) fn write(self, value: T) {
        // SAFETY: checked non-NULL by `out_ptr`; the caller guarantees it is writable.
        unsafe { self.0.write(value) }
    }
}

impl<T> Out<*mut T> {
    /// Store a new heap object owned by the caller, who frees it with its `_free` function
    /// (which calls [`free_box`]).
    pub(crate) fn write_box(self, value: T) {
        self.write(Box::into_raw(Box::new(value)));
    }
}

/// Free an object made by [`Out::write_box`]; NULL is a no-op. Dropping runs library code
/// (closing a connection, say), so a panic there is caught: it must not unwind into C.
///
/// # Safety
/// `p` is NULL or came from `write_box` and was not freed before.
pub(crate) unsafe fn free_box<T>(p: *mut T) {
    if !p.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(p))));
    }
}

impl Out<*mut c_char> {
    /// Store an owned copy of `s`, to be freed with `sendense_string_free`.
    pub(crate) fn write_string(self, s: String) -> Result<()> {
        let c = CString::new(s).map_err(|_| Error::internal("an output string contains a NUL byte"))?;
        self.write(c.into_raw());
        Ok(())
    }

    /// Store `value`'s JSON read-out (see [`crate::value::to_json`]) as an owned string.
    pub(crate) fn write_json<T: Serialize>(self, value: &T) -> Result<()> {
        self.write_string(to_json(value)?)
    }
}

/// A text column copied once into a snapshot object, so that its getter can lend it to C.
/// A value with a NUL byte cannot cross as a C string: `INTERNAL` naming the column (the
/// record's JSON read-out carries it).
pub(crate) fn c_column(column: &str, value: &str) -> Result<CString> {
    CString::new(value).map_err(|_| {
        Error::internal(format!("{column} contains a NUL byte, which a C string cannot carry (read the JSON instead)"))
    })
}

/// A nullable text column copied into a snapshot object (see [`c_column`]).
pub(crate) fn c_opt_column(column: &str, value: Option<&str>) -> Result<Option<CString>> {
    value.map(|v| c_column(column, v)).transpose()
}

/// A field of a borrowed snapshot object; `none` when the object is NULL.
///
/// # Safety
/// `obj` is NULL or points to a live object.
pub(crate) unsafe fn field<T, R>(obj: *const T, none: R, get: impl FnOnce(&T) -> R) -> R {
    obj.as_ref().map_or(none, get)
}

/// A string of a snapshot object, borrowed until the object is freed; NULL when the object or
/// the value is NULL.
///
/// # Safety
/// As [`field`].
pub(crate) unsafe fn field_str<T>(obj: *const T, get: impl FnOnce(&T) -> Option<&CString>) -> *const c_char {
    obj.as_ref().and_then(get).map_or(std::ptr::null(), |s| s.as_ptr())
}

/// An optional timestamp of a snapshot object: true, with the milliseconds since the Unix
/// epoch stored in `*out_ms` (when `out_ms` is not NULL), if the object and the value are
/// not NULL; false otherwise, leaving `*out_ms` alone.
///
/// # Safety
/// As [`field`]; `out_ms` is NULL or writable.
pub(crate) unsafe fn field_ms<T>(obj: *const T, out_ms: *mut i64, get: impl FnOnce(&T) -> Option<Timestamp>) -> bool {
    match obj.as_ref().and_then(get) {
        Some(t) => {
            if let Some(out) = out_opt_ptr(out_ms) {
                out.write(t.millis());
            }
            true
        }
        None => false,
    }
}

fn c_string_lossy(s: String) -> CString {
    CString::new(s).unwrap_or_else(|e| {
        let cleaned: Vec<u8> = e.into_vec().into_iter().filter(|b| *b != 0).collect();
        CString::new(cleaned).expect("NUL bytes were removed")
    })
}

/// The status code of an error object; `SENDENSE_STATUS_OK` for NULL.
#[no_mangle]
pub unsafe extern "C" fn sendense_error_status(error: *const sendense_error) -> sendense_status {
    error.as_ref().map_or(SENDENSE_STATUS_OK, |e| e.status)
}

/// The message of an error object ("STATUS_NAME: what went wrong"), borrowed from the object
/// and valid until `sendense_error_free`. An empty string for NULL.
#[no_mangle]
pub unsafe extern "C" fn sendense_error_message(error: *const sendense_error) -> *const c_char {
    match error.as_ref() {
        Some(e) => e.message.as_ptr(),
        None => c"".as_ptr(),
    }
}

/// Free an error object. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sendense_error_free(error: *mut sendense_error) {
    free_box(error);
}

/// Free a string returned by libsendense. NULL is a no-op. Never pass memory from another
/// allocator.
#[no_mangle]
pub unsafe extern "C" fn sendense_string_free(s: *mut c_char) {
    if !s.is_null() {
        drop(CString::from_raw(s));
    }
}

/// The name of a status code ("OK", "INVALID_ARGUMENT", ...), a static string; "UNKNOWN" for
/// a code this library does not know.
#[no_mangle]
pub extern "C" fn sendense_status_name(status: sendense_status) -> *const c_char {
    if status == SENDENSE_STATUS_OK {
        return c"OK".as_ptr();
    }
    match Status::from_code(status) {
        Some(Status::InvalidArgument) => c"INVALID_ARGUMENT",
        Some(Status::NotFound) => c"NOT_FOUND",
        Some(Status::AlreadyExists) => c"ALREADY_EXISTS",
        Some(Status::Conflict) => c"CONFLICT",
        Some(Status::InvalidState) => c"INVALID_STATE",
        Some(Status::Busy) => c"BUSY",
        Some(Status::Corrupt) => c"CORRUPT",
        Some(Status::SchemaTooNew) => c"SCHEMA_TOO_NEW",
        Some(Status::Io) => c"IO",
        Some(Status::Internal) => c"INTERNAL",
        Some(Status::Panic) => c"PANIC",
        Some(Status::NotADatabase) => c"NOT_A_DATABASE",
        Some(Status::SecretKey) => c"SECRET_KEY",
        None => c"UNKNOWN",
    }
    .as_ptr()
}

#[cfg(test)]
mod tests {
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
        ];
        assert_eq!(consts.len(), Status::ALL.len());
        for (status, code) in Status::ALL.iter().zip(consts) {
            assert_eq!(status.code(), code, "{status}");
            let name = unsafe { CStr::from_ptr(sendense_status_name(code)) };
            assert_eq!(name.to_str().unwrap(), status.name());
        }
    }

    #[test]
    fn a_panic_becomes_the_panic_status_with_its_message() {
        let mut err: *mut sendense_error = std::ptr::null_mut();
        let status = call(&mut err, || panic!("boom {}", 42));
        assert_eq!(status, SENDENSE_STATUS_PANIC);
        let msg = unsafe { CStr::from_ptr(sendense_error_message(err)) }.to_str().unwrap().to_string();
        assert_eq!(msg, "PANIC: panic inside libsendense: boom 42");
        assert_eq!(unsafe { sendense_error_status(err) }, SENDENSE_STATUS_PANIC);
        unsafe { sendense_error_free(err) };
    }

    #[test]
    fn err_is_untouched_on_success_and_optional_on_failure() {
        let sentinel = std::ptr::dangling_mut::<sendense_error>();
        let mut err = sentinel;
        assert_eq!(call(&mut err, || Ok(())), SENDENSE_STATUS_OK);
        assert_eq!(err, sentinel);
        let status = call(std::ptr::null_mut(), || Err(Error::not_found("x")));
        assert_eq!(status, SENDENSE_STATUS_NOT_FOUND);
    }

    #[test]
    fn strings_are_checked_for_null_and_utf8() {
        let e = unsafe { arg_str(std::ptr::null(), "path") }.unwrap_err();
        assert_eq!(e.message(), "path is NULL");
        let bad = b"ab\xffcd\0";
        let e = unsafe { arg_str(bad.as_ptr().cast(), "path") }.unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument);
        assert_eq!(e.message(), "path is not valid UTF-8 (invalid byte at offset 2)");
        assert_eq!(unsafe { arg_opt_str(std::ptr::null(), "x") }.unwrap(), None);
    }

    #[test]
    fn messages_with_nul_bytes_are_cleaned() {
        assert_eq!(c_string_lossy("a\0b".into()).to_str().unwrap(), "ab");
    }
}
