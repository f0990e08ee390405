//! How every exported function is written: the panic boundary ([`call`], [`store_call`],
//! [`guard`]), the checks of arguments before any work ([`arg_str`], [`arg_json`], ...), and
//! out-parameters written last, only on success ([`Out`]).

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::de::DeserializeOwned;
use serde::Serialize;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result, Status};
use crate::ffi::{sendense_error, sendense_status, sendense_store, SENDENSE_STATUS_OK};
use crate::store::secret::SecretKey;
use crate::store::Store;
use crate::value::{from_json, to_json};

/// Run an exported function's body: panics are caught, errors become a status and, when
/// `err` is not NULL, a new `sendense_error` stored in `*err`; an error object already in
/// `*err` (from an earlier failed call) is freed first, so reusing one variable never leaks.
/// `*err` is left alone on success.
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
        // SAFETY: the caller passes either NULL or a valid `sendense_error **` whose target is
        // NULL or an error object of this library that it has not freed (the header says so).
        unsafe {
            free_box(err.read());
            err.write(Box::into_raw(Box::new(sendense_error::from_error(&error))));
        }
    }
    error.status().code()
}

/// [`call`] for the functions on a store handle: `s` is checked (NULL is `INVALID_ARGUMENT`
/// "store is NULL") before anything else, and the body gets the store.
///
/// # Safety
/// `s` is NULL or points to a live `sendense_store`.
pub(crate) unsafe fn store_call(
    s: *const sendense_store,
    err: *mut *mut sendense_error,
    body: impl FnOnce(&Store) -> Result<()>,
) -> sendense_status {
    call(err, || body(&arg_ref(s, "store")?.store))
}

/// [`store_call`] for the read-out of one record by its text id as JSON: `id` is checked
/// (NULL and invalid UTF-8 are `INVALID_ARGUMENT` naming `id_name`), then `json_out`, then
/// `read`'s answer is written to `*json_out`: the order every read-out checks its arguments in.
///
/// # Safety
/// As [`store_call`]; `id` is NULL or a NUL-terminated string; `json_out` is NULL or writable.
pub(crate) unsafe fn store_read_json<T: Serialize>(
    s: *const sendense_store,
    id: *const c_char,
    id_name: &str,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
    read: impl FnOnce(&Store, &str) -> Result<T>,
) -> sendense_status {
    store_call(s, err, |store| {
        let id = arg_str(id, id_name)?;
        out_ptr(json_out, "json_out")?.write_json(&read(store, id)?)
    })
}

/// [`store_call`] for the lists filtered by an optional JSON document: `filter_json` is parsed
/// (NULL is the default filter; malformed JSON, wrong types and unknown keys are
/// `INVALID_ARGUMENT`), then `json_out` is checked, then `list`'s answer is written to it.
///
/// # Safety
/// As [`store_call`]; `filter_json` is NULL or a NUL-terminated string; `json_out` is NULL or
/// writable.
pub(crate) unsafe fn store_list_json<F: DeserializeOwned + Default, T: Serialize>(
    s: *const sendense_store,
    filter_json: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
    list: impl FnOnce(&Store, &F) -> Result<T>,
) -> sendense_status {
    store_call(s, err, |store| {
        let filter: F = arg_opt_json(filter_json, "filter_json")?.unwrap_or_default();
        out_ptr(json_out, "json_out")?.write_json(&list(store, &filter)?)
    })
}

/// Run the body of an exported function that cannot report an error (a getter, a
/// destructor, a version query) inside the panic boundary: a panic answers `fallback`
/// instead of unwinding into C.
pub(crate) fn guard<R>(fallback: R, body: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
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

/// A borrowed byte buffer of `len` bytes: NULL and a length above `isize::MAX` (no buffer is
/// that large) are `INVALID_ARGUMENT` naming `name`, checked before the slice is formed.
///
/// # Safety
/// `p` is NULL or points to `len` readable bytes.
pub(crate) unsafe fn arg_bytes<'a>(p: *const u8, len: usize, name: &str) -> Result<&'a [u8]> {
    if p.is_null() {
        return Err(Error::invalid_argument(format!("{name} is NULL")));
    }
    if isize::try_from(len).is_err() {
        return Err(Error::invalid_argument(format!("{name}_len is {len}, larger than any buffer")));
    }
    Ok(std::slice::from_raw_parts(p, len))
}

/// A secret key of `len` bytes at `p`: a length other than [`SecretKey::LEN`] is
/// `INVALID_ARGUMENT` before the buffer is touched, then as [`arg_bytes`].
///
/// # Safety
/// As [`arg_bytes`].
pub(crate) unsafe fn arg_secret_key(p: *const u8, len: usize, name: &str) -> Result<SecretKey> {
    if len != SecretKey::LEN {
        return Err(Error::invalid_argument(format!("{name}: a secret key is {} bytes, not {len}", SecretKey::LEN)));
    }
    SecretKey::from_bytes(arg_bytes(p, len, name)?)
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

    /// [`Out::write_json`] for a read-out that carries secrets: the JSON is written once into
    /// a buffer of its exact size (measured first), which becomes the caller's string, so no
    /// growing buffer leaves a copy behind in freed memory; the caller's
    /// `sendense_string_free` wipes it.
    pub(crate) fn write_secret_json<T: Serialize>(self, value: &T) -> Result<()> {
        let failed = |e: serde_json::Error| Error::internal(format!("serialising to JSON: {e}"));
        let mut len = Counter(0);
        serde_json::to_writer(&mut len, value).map_err(failed)?;
        let mut bytes = Zeroizing::new(Vec::with_capacity(len.0 + 1));
        serde_json::to_writer(&mut *bytes, value).map_err(failed)?;
        bytes.push(0);
        debug_assert_eq!(bytes.len(), bytes.capacity(), "the secret JSON was measured exactly");
        let c = CString::from_vec_with_nul(std::mem::take(&mut *bytes))
            .map_err(|_| Error::internal("an output string contains a NUL byte"))?;
        self.write(c.into_raw());
        Ok(())
    }
}

/// An `io::Write` that only counts the bytes written to it.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Free a string returned by libsendense, after overwriting its bytes with zeros (so that no
/// secret read-out, such as `sendense_ossea_config_secrets_json`, stays in freed memory).
/// NULL is a no-op. Never pass memory from another allocator.
#[no_mangle]
pub unsafe extern "C" fn sendense_string_free(s: *mut c_char) {
    guard((), || {
        if !s.is_null() {
            CString::from_raw(s).into_bytes_with_nul().zeroize();
        }
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;
    use crate::ffi::{
        sendense_error_free, sendense_error_message, sendense_error_status, SENDENSE_STATUS_INVALID_ARGUMENT,
        SENDENSE_STATUS_NOT_FOUND, SENDENSE_STATUS_PANIC,
    };

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
    fn a_failure_replaces_an_earlier_error_object() {
        let mut err: *mut sendense_error = std::ptr::null_mut();
        call(&mut err, || Err(Error::not_found("first")));
        // The first object is freed here (the C tests run this under valgrind and LeakSanitizer).
        assert_eq!(call(&mut err, || Err(Error::invalid_argument("second"))), SENDENSE_STATUS_INVALID_ARGUMENT);
        let msg = unsafe { CStr::from_ptr(sendense_error_message(err)) }.to_str().unwrap().to_string();
        assert_eq!(msg, "INVALID_ARGUMENT: second");
        unsafe { sendense_error_free(err) };
    }

    #[test]
    fn byte_lengths_are_checked_before_the_slice_is_formed() {
        let buf = [7u8; 4];
        let e = unsafe { arg_bytes(buf.as_ptr(), usize::MAX, "key") }.unwrap_err();
        assert_eq!(e.message(), format!("key_len is {}, larger than any buffer", usize::MAX));
        let e = unsafe { arg_secret_key(buf.as_ptr(), usize::MAX, "key") }.unwrap_err();
        assert_eq!(e.message(), format!("key: a secret key is 32 bytes, not {}", usize::MAX));
        let e = unsafe { arg_secret_key(std::ptr::null(), 32, "key") }.unwrap_err();
        assert_eq!(e.message(), "key is NULL");
        assert_eq!(unsafe { arg_bytes(buf.as_ptr(), 4, "b") }.unwrap(), &[7; 4]);
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
}
