//! Read-only snapshot objects: a record copied once, its text columns as C strings, lent to
//! C through getters that answer NULL / 0 / false for a NULL object and never unwind.

use std::ffi::{c_char, CString};

use crate::error::{Error, Result};
use crate::ffi::call::{guard, out_opt_ptr};
use crate::value::Timestamp;

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
pub(crate) unsafe fn field<T, R: Copy>(obj: *const T, none: R, get: impl FnOnce(&T) -> R) -> R {
    guard(none, || obj.as_ref().map_or(none, get))
}

/// A string of a snapshot object, borrowed until the object is freed; NULL when the object or
/// the value is NULL.
///
/// # Safety
/// As [`field`].
pub(crate) unsafe fn field_str<T>(obj: *const T, get: impl FnOnce(&T) -> Option<&CString>) -> *const c_char {
    guard(std::ptr::null(), || obj.as_ref().and_then(get).map_or(std::ptr::null(), |s| s.as_ptr()))
}

/// A nullable value of a snapshot object: true, with the value stored in `*out` (when `out`
/// is not NULL), if the object and the value are not NULL; false otherwise, leaving `*out`
/// alone.
///
/// # Safety
/// As [`field`]; `out` is NULL or writable.
pub(crate) unsafe fn field_opt<T, V>(obj: *const T, out: *mut V, get: impl FnOnce(&T) -> Option<V>) -> bool {
    guard(false, || match obj.as_ref().and_then(get) {
        Some(v) => {
            if let Some(out) = out_opt_ptr(out) {
                out.write(v);
            }
            true
        }
        None => false,
    })
}

/// An optional timestamp of a snapshot object, as milliseconds since the Unix epoch (see
/// [`field_opt`]).
///
/// # Safety
/// As [`field_opt`].
pub(crate) unsafe fn field_ms<T>(obj: *const T, out_ms: *mut i64, get: impl FnOnce(&T) -> Option<Timestamp>) -> bool {
    field_opt(obj, out_ms, |o| get(o).map(Timestamp::millis))
}
