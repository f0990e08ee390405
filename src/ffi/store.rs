//! C ABI of the store: open (with or without a secret key), free, key files, key rotation,
//! schema version, integrity check, online backup.

use std::ffi::c_char;
use std::mem::size_of;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::ffi::{
    arg_secret_key, arg_str, call, free_box, guard, out_opt_ptr, out_ptr, sendense_error, sendense_status, store_call,
};
use crate::store::secret::SecretKey;
use crate::store::{OpenOptions, Store, Synchronous};

/// An open libsendense database. Free it with `sendense_store_free` once no call uses it any
/// more.
///
/// Threads: one handle may be shared by any number of threads, but it is one SQLite connection
/// behind a mutex, so the calls made on one handle run one at a time (a long call makes the
/// others wait). For calls that run in parallel, open one handle per thread or per process on
/// the same file: every write is its own transaction, and a writer waits for another's lock
/// up to the busy timeout.
///
/// fork(): a handle must not cross a fork. After fork() the child must neither use nor free
/// the handles it inherited (their SQLite connection, locks and mutex state belong to the
/// parent; closing them in the child could release the parent's locks or write to the
/// parent's WAL): it leaves them alone and opens its own handle with `sendense_store_open`.
/// The parent keeps using its handles as before. A child that calls exec() right away needs
/// nothing special.
pub struct sendense_store {
    pub(crate) store: Store,
}

/// `synchronous=FULL`: every commit is on stable storage before the call returns (default).
pub const SENDENSE_SYNCHRONOUS_FULL: i32 = 0;
/// `synchronous=NORMAL`: commits survive a process crash but the last ones may be lost on
/// power loss.
pub const SENDENSE_SYNCHRONOUS_NORMAL: i32 = 1;

/// Options for `sendense_store_open`. Start from `sendense_open_options_default()` and change
/// the fields you need. The library reads `struct_size` first and then only that many bytes:
/// any size from `SENDENSE_OPEN_OPTIONS_SIZE_V1` up is accepted (fields a caller's struct does
/// not have take their defaults, bytes beyond the fields the library knows are ignored), so
/// later versions can append fields compatibly. Flags are `uint32_t` holding 0 or 1; any
/// other value is SENDENSE_STATUS_INVALID_ARGUMENT naming the field.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sendense_open_options {
    /// `sizeof(sendense_open_options)` as compiled by the caller.
    pub struct_size: u32,
    /// `SENDENSE_SYNCHRONOUS_FULL` (default) or `SENDENSE_SYNCHRONOUS_NORMAL`.
    pub synchronous: i32,
    /// How long a write waits for another connection's lock, in milliseconds (default 5000).
    pub busy_timeout_ms: u32,
    /// 1: create the file when it does not exist (default); 0: a missing file is
    /// `SENDENSE_STATUS_NOT_FOUND`.
    pub create_if_missing: u32,
}

/// The size of the first layout of `sendense_open_options` (ABI 2: `struct_size`,
/// `synchronous`, `busy_timeout_ms`, `create_if_missing`), the smallest `struct_size` accepted.
pub const SENDENSE_OPEN_OPTIONS_SIZE_V1: u32 = 16;

/// The default open options: synchronous FULL, 5000 ms busy timeout, create if missing.
/// (Should the library fail inside, the answer has `struct_size` 0, which every open refuses
/// as INVALID_ARGUMENT.)
#[no_mangle]
pub extern "C" fn sendense_open_options_default() -> sendense_open_options {
    guard(sendense_open_options::FAILED, sendense_open_options::defaults)
}

impl sendense_open_options {
    /// The answer of `sendense_open_options_default` should the library fail inside.
    const FAILED: sendense_open_options = sendense_open_options {
        struct_size: 0,
        synchronous: SENDENSE_SYNCHRONOUS_FULL,
        busy_timeout_ms: 0,
        create_if_missing: 0,
    };

    fn defaults() -> sendense_open_options {
        let d = OpenOptions::default();
        sendense_open_options {
            struct_size: size_of::<sendense_open_options>() as u32,
            synchronous: SENDENSE_SYNCHRONOUS_FULL,
            busy_timeout_ms: u32::try_from(d.busy_timeout.as_millis()).unwrap_or(u32::MAX),
            create_if_missing: u32::from(d.create_if_missing),
        }
    }

    /// The caller's options, read by their declared size: `struct_size` first (through the
    /// raw pointer, without reading the rest), then the first `min(struct_size, sizeof)`
    /// bytes over the defaults.
    ///
    /// # Safety
    /// `p` points to at least `SENDENSE_OPEN_OPTIONS_SIZE_V1` readable bytes whose first four
    /// are `struct_size`, and to `struct_size` readable bytes.
    unsafe fn read(p: *const sendense_open_options) -> Result<sendense_open_options> {
        const {
            let end_of_v1 = std::mem::offset_of!(sendense_open_options, create_if_missing) + size_of::<u32>();
            assert!(SENDENSE_OPEN_OPTIONS_SIZE_V1 as usize == end_of_v1);
        }
        let declared = std::ptr::addr_of!((*p).struct_size).read_unaligned();
        if declared < SENDENSE_OPEN_OPTIONS_SIZE_V1 {
            return Err(Error::invalid_argument(format!(
                "options.struct_size is {declared}, smaller than the first layout's {SENDENSE_OPEN_OPTIONS_SIZE_V1} \
                 (initialise the options with sendense_open_options_default())"
            )));
        }
        let mut options = sendense_open_options::defaults();
        let len = (declared as usize).min(size_of::<sendense_open_options>());
        // Every field is a plain integer: any bytes are a valid value, checked below.
        std::ptr::copy_nonoverlapping(p.cast::<u8>(), std::ptr::addr_of_mut!(options).cast::<u8>(), len);
        Ok(options)
    }

    fn to_options(self) -> Result<OpenOptions> {
        let synchronous = match self.synchronous {
            SENDENSE_SYNCHRONOUS_FULL => Synchronous::Full,
            SENDENSE_SYNCHRONOUS_NORMAL => Synchronous::Normal,
            other => {
                return Err(Error::invalid_argument(format!(
                    "options.synchronous is {other}; expected SENDENSE_SYNCHRONOUS_FULL (0) or \
                     SENDENSE_SYNCHRONOUS_NORMAL (1)"
                )))
            }
        };
        Ok(OpenOptions::default()
            .synchronous(synchronous)
            .busy_timeout(Duration::from_millis(u64::from(self.busy_timeout_ms)))
            .create_if_missing(flag(self.create_if_missing, "create_if_missing")?))
    }
}

/// A flag field of the options: 0 or 1, anything else is `INVALID_ARGUMENT` naming it.
fn flag(value: u32, name: &str) -> Result<bool> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(Error::invalid_argument(format!("options.{name} is {other}; expected 0 or 1"))),
    }
}

/// The options a caller passed; NULL means the defaults.
unsafe fn open_options(options: *const sendense_open_options) -> Result<OpenOptions> {
    if options.is_null() {
        Ok(OpenOptions::default())
    } else {
        sendense_open_options::read(options)?.to_options()
    }
}

/// Open (creating or upgrading when needed) the database at `path` (UTF-8). `options` may be
/// NULL for the defaults. On success `*out` receives a new handle (see `sendense_store` for
/// threads and fork()). A file that is not a libsendense database, or one written by a newer
/// library, is refused and left byte-for-byte untouched.
///
/// `path` is always a plain file name: `file:` names and `?` query strings are not SQLite URIs
/// here (`file:x.db` is a file of that name in the working directory). A new database is
/// created with mode 0600 (its -wal and -shm files get the same mode), never through a
/// symbolic link: a link to a missing file is SENDENSE_STATUS_INVALID_ARGUMENT; a link to an
/// existing database opens that database. A `busy_timeout_ms` above INT32_MAX is
/// SENDENSE_STATUS_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn sendense_store_open(
    path: *const c_char,
    options: *const sendense_open_options,
    out: *mut *mut sendense_store,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let path = arg_str(path, "path")?;
        let out = out_ptr(out, "out")?;
        let store = Store::open(path, open_options(options)?)?;
        out.write_box(sendense_store { store });
        Ok(())
    })
}

/// Open the database at `path` like `sendense_store_open`, with the secret key that seals and
/// opens the secret columns (CloudStack and Linstor API keys): `key_len` must be 32. The key
/// is never stored in the database; without it, secrets cannot be created or read
/// (SENDENSE_STATUS_SECRET_KEY).
#[no_mangle]
pub unsafe extern "C" fn sendense_store_open_with_key(
    path: *const c_char,
    options: *const sendense_open_options,
    key: *const u8,
    key_len: usize,
    out: *mut *mut sendense_store,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let path = arg_str(path, "path")?;
        let key = arg_secret_key(key, key_len, "key")?;
        let out = out_ptr(out, "out")?;
        let store = Store::open_with_key(path, open_options(options)?, key)?;
        out.write_box(sendense_store { store });
        Ok(())
    })
}

/// `sendense_store_open_with_key` with the key read from the file `key_path`: exactly 32
/// bytes, or 64 hexadecimal digits (surrounding white space ignored; at most 128 bytes), as
/// `sendense_secret_key_file_create` writes. The key file must be a regular file that group and
/// others may not access: a mode like 0644 is SENDENSE_STATUS_SECRET_KEY naming the mode; a
/// FIFO, device or directory (not waited on), a larger file or other contents are
/// SENDENSE_STATUS_INVALID_ARGUMENT; a missing or unreadable file is SENDENSE_STATUS_IO.
#[no_mangle]
pub unsafe extern "C" fn sendense_store_open_with_key_file(
    path: *const c_char,
    options: *const sendense_open_options,
    key_path: *const c_char,
    out: *mut *mut sendense_store,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let path = arg_str(path, "path")?;
        let key = SecretKey::from_file(arg_str(key_path, "key_path")?)?;
        let out = out_ptr(out, "out")?;
        let store = Store::open_with_key(path, open_options(options)?, key)?;
        out.write_box(sendense_store { store });
        Ok(())
    })
}

/// Create a new key file at `key_path` (UTF-8) holding a new random secret key, for
/// `sendense_store_open_with_key_file`: 64 hexadecimal digits and a newline, mode 0600,
/// written durably (a temporary file in the same directory, synced, linked into place, the
/// directory synced), so after a power cut the file holds the whole key or does not exist.
/// `*key_id_out` (NULL allowed) receives the new key's id, freed with `sendense_string_free`.
/// An existing file, directory or symbolic link at `key_path` is
/// SENDENSE_STATUS_ALREADY_EXISTS and left as it is (a key file is never replaced); a missing
/// directory is SENDENSE_STATUS_NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn sendense_secret_key_file_create(
    key_path: *const c_char,
    key_id_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let key_path = arg_str(key_path, "key_path")?;
        let key = SecretKey::create_file(key_path)?;
        match out_opt_ptr(key_id_out) {
            Some(out) => out.write_string(key.id().to_string()),
            None => Ok(()),
        }
    })
}

/// Re-seal every secret of the store under the new 32-byte `key`, in one transaction, and
/// seal with it from now on; `*resealed_out` (NULL allowed) receives how many values were
/// re-sealed. A secret that does not open with the handle's keys fails the rotation
/// (SENDENSE_STATUS_SECRET_KEY naming its row) and nothing changes. The database records the
/// new key as the store's current one: other handles and processes must reopen with it, and
/// until they do, their writes of secrets are refused (SENDENSE_STATUS_SECRET_KEY naming both
/// key ids).
#[no_mangle]
pub unsafe extern "C" fn sendense_store_rotate_secret_key(
    store: *mut sendense_store,
    key: *const u8,
    key_len: usize,
    resealed_out: *mut i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(store, err, |store| {
        let key = arg_secret_key(key, key_len, "key")?;
        let count = store.rotate_secret_key(key)?;
        if let Some(out) = out_opt_ptr(resealed_out) {
            out.write(count as i64);
        }
        Ok(())
    })
}

/// Let this handle also open secrets sealed with the older 32-byte `key` (to read them, or to
/// rotate away from it); new secrets stay sealed with the handle's current key.
#[no_mangle]
pub unsafe extern "C" fn sendense_store_add_previous_secret_key(
    store: *mut sendense_store,
    key: *const u8,
    key_len: usize,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(store, err, |store| {
        store.add_previous_secret_key(arg_secret_key(key, key_len, "key")?);
        Ok(())
    })
}

/// The id of the key that seals new secrets (16 hexadecimal digits, as named in the sealed
/// values); `*key_id_out` is NULL when the store was opened without a key.
#[no_mangle]
pub unsafe extern "C" fn sendense_store_secret_key_id(
    store: *mut sendense_store,
    key_id_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(store, err, |store| {
        let out = out_ptr(key_id_out, "key_id_out")?;
        match store.secret_key_id() {
            Some(id) => out.write_string(id),
            None => {
                out.write(std::ptr::null_mut());
                Ok(())
            }
        }
    })
}

/// Open a private in-memory database with the full schema; it lives until
/// `sendense_store_free`. `options` may be NULL.
#[no_mangle]
pub unsafe extern "C" fn sendense_store_open_in_memory(
    options: *const sendense_open_options,
    out: *mut *mut sendense_store,
    err: *mut *mut sendense_error,
) -> sendense_status {
    call(err, || {
        let out = out_ptr(out, "out")?;
        let store = Store::open_in_memory(open_options(options)?)?;
        out.write_box(sendense_store { store });
        Ok(())
    })
}

/// Close the database and free the handle. NULL is a no-op. No other call may use the handle
/// during or after this call.
#[no_mangle]
pub unsafe extern "C" fn sendense_store_free(store: *mut sendense_store) {
    free_box(store);
}

/// The schema version of the open database.
#[no_mangle]
pub unsafe extern "C" fn sendense_store_schema_version(
    store: *mut sendense_store,
    out: *mut u32,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(store, err, |store| {
        out_ptr(out, "out")?.write(store.schema_version()?);
        Ok(())
    })
}

/// Run SQLite's integrity and foreign-key checks and the storage consistency check. `*report_json_out`
/// receives a JSON object `{"ok":bool,"schema_version":n,"integrity_errors":[...],"foreign_key_violations":[...],
/// "storage":{...}}` (`storage` as from `sendense_storage_consistency_json`),
/// freed with `sendense_string_free`. Problems found are reported in the JSON with status OK;
/// an error status means the check itself could not run.
#[no_mangle]
pub unsafe extern "C" fn sendense_store_integrity_check(
    store: *mut sendense_store,
    report_json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(store, err, |store| out_ptr(report_json_out, "report_json_out")?.write_json(&store.integrity_check()?))
}

/// Write a consistent copy of the database to `dest_path` (UTF-8, a plain file name) while
/// other connections keep writing. The copy has mode 0600. `dest_path` must not exist (nor be
/// a symbolic link); nothing is ever overwritten.
#[no_mangle]
pub unsafe extern "C" fn sendense_store_backup(
    store: *mut sendense_store,
    dest_path: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(store, err, |store| {
        let dest_path = arg_str(dest_path, "dest_path")?;
        store.copy_database_to(dest_path)
    })
}
