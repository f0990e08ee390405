//! C ABI of backup chains (`sendense_chain_*`): the chains of a context as JSON, and typed
//! snapshots of one chain.

use std::ffi::{c_char, CString};

use crate::backup::Chain;
use crate::error::Result;
use crate::ffi::{
    arg_str, c_column, c_opt_column, field, field_str, free_box, out_ptr, sendense_error, sendense_status,
    sendense_store, store_call, store_read_json,
};
use crate::store::Store;

/// A read-only snapshot of one backup chain (a `backup_chains` record: the current generation
/// of one context, disk and repository), made by `sendense_chain_get` and freed with
/// `sendense_chain_free`. Its getters accept NULL (and then answer NULL, 0, or -1 for the disk
/// index, where 0 is a real disk); the strings they return are borrowed from the snapshot and valid until it is freed.
pub struct sendense_chain {
    record: Chain,
    strings: ChainStrings,
}

/// The text columns a chain snapshot lends to C, converted once when the snapshot is made.
struct ChainStrings {
    id: CString,
    vm_context_id: CString,
    repository_id: CString,
    full_backup_id: Option<CString>,
    latest_backup_id: Option<CString>,
}

impl ChainStrings {
    fn of(c: &Chain) -> Result<ChainStrings> {
        Ok(ChainStrings {
            id: c_column("id", &c.id)?,
            vm_context_id: c_column("vm_context_id", &c.vm_context_id)?,
            repository_id: c_column("repository_id", &c.repository_id)?,
            full_backup_id: c_opt_column("full_backup_id", c.full_backup_id.as_deref())?,
            latest_backup_id: c_opt_column("latest_backup_id", c.latest_backup_id.as_deref())?,
        })
    }
}

impl sendense_chain {
    fn new(record: Chain) -> Result<sendense_chain> {
        let strings = ChainStrings::of(&record).map_err(|e| e.context(format!("backup chain {}", record.id)))?;
        Ok(sendense_chain { record, strings })
    }
}

/// The chains of a context (one per disk and repository) as a JSON array of
/// `backup_chains` rows.
#[no_mangle]
pub unsafe extern "C" fn sendense_chain_list_json(
    s: *mut sendense_store,
    context_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, context_id, "context_id", json_out, err, Store::chain_list)
}

/// A typed, read-only snapshot of the chain of disk `disk_id` (the disk index: 0, 1, ...) of
/// context `context_id` in repository `repository_id`; `*out` receives a new object that the
/// caller frees with `sendense_chain_free`. NOT_FOUND naming the context, disk and repository
/// when it has no chain (no point completed yet); a negative disk index is INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn sendense_chain_get(
    s: *mut sendense_store,
    context_id: *const c_char,
    disk_id: i64,
    repository_id: *const c_char,
    out: *mut *mut sendense_chain,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let context_id = arg_str(context_id, "context_id")?;
        let repository_id = arg_str(repository_id, "repository_id")?;
        out_ptr(out, "out")?.write_box(sendense_chain::new(store.chain_get(context_id, disk_id, repository_id)?)?);
        Ok(())
    })
}

/// Free a chain snapshot (its borrowed strings become invalid). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sendense_chain_free(c: *mut sendense_chain) {
    free_box(c);
}

/// The chain's id; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_chain_id(c: *const sendense_chain) -> *const c_char {
    field_str(c, |c| Some(&c.strings.id))
}

/// The id of the chain's context (`vm_context_id`); NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_chain_context_id(c: *const sendense_chain) -> *const c_char {
    field_str(c, |c| Some(&c.strings.vm_context_id))
}

/// The disk index of the chain; -1 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_chain_disk_id(c: *const sendense_chain) -> i64 {
    field(c, -1, |c| c.record.disk_id)
}

/// The repository of the chain; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_chain_repository_id(c: *const sendense_chain) -> *const c_char {
    field_str(c, |c| Some(&c.strings.repository_id))
}

/// The full at the root of the current generation; NULL when there is none or for a NULL
/// snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_chain_full_backup_id(c: *const sendense_chain) -> *const c_char {
    field_str(c, |c| c.strings.full_backup_id.as_ref())
}

/// The newest completed point of the current generation; NULL when there is none or for a
/// NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_chain_latest_backup_id(c: *const sendense_chain) -> *const c_char {
    field_str(c, |c| c.strings.latest_backup_id.as_ref())
}

/// The number of completed points in the current generation; 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_chain_total_backups(c: *const sendense_chain) -> i64 {
    field(c, 0, |c| c.record.total_backups)
}

/// Their summed size in bytes (`size_bytes` of each point); 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_chain_total_size_bytes(c: *const sendense_chain) -> i64 {
    field(c, 0, |c| c.record.total_size_bytes)
}

/// When the chain was created, in milliseconds since the Unix epoch (UTC); 0 for a NULL
/// snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_chain_created_at_ms(c: *const sendense_chain) -> i64 {
    field(c, 0, |c| c.record.created_at.millis())
}

/// When the chain last changed, in milliseconds since the Unix epoch (UTC); 0 for a NULL
/// snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_chain_updated_at_ms(c: *const sendense_chain) -> i64 {
    field(c, 0, |c| c.record.updated_at.millis())
}
