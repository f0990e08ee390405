//! C ABI of the VM replication contexts: create, read (JSON or a typed snapshot), find, list,
//! update, explicit status transitions and delete.

use std::ffi::{c_char, CString};

use crate::error::{echo, Error, Result};
use crate::ffi::{
    arg_json, arg_str, c_column, c_opt_column, field, field_ms, field_str, free_box, out_opt_ptr, out_ptr,
    sendense_error, sendense_status, sendense_store, store_call, store_list_json, store_read_json,
};
use crate::replication::{Context, ContextStatus, ContextUpdate, NewContext};
use crate::store::Store;

/// A read-only snapshot of one context record, made by `sendense_context_get` and freed with
/// `sendense_context_free`. Its getters accept NULL (and then answer NULL, 0 or false); the
/// strings they return are borrowed from the snapshot and valid until it is freed.
pub struct sendense_context {
    record: Context,
    strings: ContextStrings,
}

/// The text columns a snapshot lends to C, converted once when the snapshot is made.
struct ContextStrings {
    context_id: CString,
    vm_name: CString,
    vmware_vm_id: CString,
    vm_path: CString,
    vcenter_host: CString,
    datacenter: CString,
    current_status: CString,
    current_job_id: Option<CString>,
    last_successful_job_id: Option<CString>,
}

impl ContextStrings {
    fn of(c: &Context) -> Result<ContextStrings> {
        Ok(ContextStrings {
            context_id: c_column("context_id", &c.context_id)?,
            vm_name: c_column("vm_name", &c.vm_name)?,
            vmware_vm_id: c_column("vmware_vm_id", &c.vmware_vm_id)?,
            vm_path: c_column("vm_path", &c.vm_path)?,
            vcenter_host: c_column("vcenter_host", &c.vcenter_host)?,
            datacenter: c_column("datacenter", &c.datacenter)?,
            current_status: c_column("current_status", c.current_status.as_str())?,
            current_job_id: c_opt_column("current_job_id", c.current_job_id.as_deref())?,
            last_successful_job_id: c_opt_column("last_successful_job_id", c.last_successful_job_id.as_deref())?,
        })
    }
}

impl sendense_context {
    fn new(record: Context) -> Result<sendense_context> {
        let strings = ContextStrings::of(&record).map_err(|e| e.context(format!("context {}", record.context_id)))?;
        Ok(sendense_context { record, strings })
    }
}

/// Create a context for a VM. `json` is an object with the columns of the same name:
/// `vm_name`, `vmware_vm_id`, `vm_path`, `vcenter_host` and `datacenter` are required;
/// `cpu_count`, `memory_mb`, `os_type`, `power_state`, `vm_tools_version`, `auto_added`,
/// `scheduler_enabled` (default true), `credential_id`, `ossea_config_id` and
/// `last_operation_summary` are optional; an unknown key is INVALID_ARGUMENT naming it.
/// `*context_id_out` receives the new id (free it with `sendense_string_free`). A context with
/// the same (vmware_vm_id, vcenter_host) or (vm_name, vcenter_host) is ALREADY_EXISTS naming
/// the existing context id.
/// Safe to retry after SENDENSE_STATUS_COMMIT_UNKNOWN: when the first call was applied, the
/// retry is ALREADY_EXISTS naming the context.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_create(
    s: *mut sendense_store,
    json: *const c_char,
    context_id_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let new: NewContext = arg_json(json, "json")?;
        let context_id_out = out_ptr(context_id_out, "context_id_out")?;
        let id = store.context_create(&new)?;
        context_id_out.write_string(id)
    })
}

/// The context `context_id` as a JSON object whose keys are the column names of
/// `vm_replication_contexts` (timestamps as RFC 3339 UTC strings). NOT_FOUND when there is none.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_get_json(
    s: *mut sendense_store,
    context_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, context_id, "context_id", json_out, err, Store::context_get)
}

/// The context of a VMware VM, found by its identity (vmware_vm_id, vcenter_host), as JSON (as
/// `sendense_context_get_json`). NOT_FOUND when the VM has no context.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_find_json(
    s: *mut sendense_store,
    vmware_vm_id: *const c_char,
    vcenter_host: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let vmware_vm_id = arg_str(vmware_vm_id, "vmware_vm_id")?;
        let vcenter_host = arg_str(vcenter_host, "vcenter_host")?;
        let json_out = out_ptr(json_out, "json_out")?;
        let context = store.context_find(vmware_vm_id, vcenter_host)?.ok_or_else(|| {
            Error::not_found(format!("VM {} on {} has no context", echo(vmware_vm_id), echo(vcenter_host)))
        })?;
        json_out.write_json(&context)
    })
}

/// The contexts matching `filter_json` as a JSON array of context objects, ordered by vm_name,
/// then context_id. `filter_json` may be NULL (every context, up to the default limit) or an
/// object with the optional keys `status`, `vcenter_host`, `name_prefix`, `scheduler_enabled`,
/// `limit` (default 1000) and `offset`.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_list_json(
    s: *mut sendense_store,
    filter_json: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_list_json(s, filter_json, json_out, err, Store::context_list)
}

/// Change a context's mutable attributes. `json` is an object with any of `vm_name` (a rename
/// keeps the context), `vm_path`, `datacenter`, `cpu_count`, `memory_mb`, `os_type`,
/// `power_state`, `vm_tools_version`, `auto_added`, `scheduler_enabled`, `next_scheduled_at`,
/// `last_scheduled_job_id`, `credential_id`, `ossea_config_id` and `last_operation_summary`; an
/// absent key leaves the column alone, `null` clears a nullable column. The identity, status,
/// counters and pointers are maintained by the library and are not accepted here. When
/// `json_out` is not NULL, `*json_out` receives the updated record as JSON.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_update(
    s: *mut sendense_store,
    context_id: *const c_char,
    json: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let context_id = arg_str(context_id, "context_id")?;
        let update: ContextUpdate = arg_json(json, "json")?;
        let json_out = out_opt_ptr(json_out);
        let updated = store.context_update(context_id, &update)?;
        match json_out {
            Some(out) => out.write_json(&updated),
            None => Ok(()),
        }
    })
}

/// Move a context along an edge of its status machine that replication jobs do not drive
/// (failover, rollback, commit, cleanup). `status` is one of discovered, replicating,
/// ready_for_failover, failed_over_test, failed_over_live, completed, failed,
/// cleanup_required; a forbidden edge, or one into or out of replicating, is INVALID_STATE
/// naming from and to. Setting the current status changes nothing.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_set_status(
    s: *mut sendense_store,
    context_id: *const c_char,
    status: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let context_id = arg_str(context_id, "context_id")?;
        let status = ContextStatus::parse(arg_str(status, "status")?)?;
        store.context_set_status(context_id, status)?;
        Ok(())
    })
}

/// Delete a context and everything it owns (jobs, disks, CBT history, backup points and the
/// rest that docs/SCHEMA.md cascades). Refused with CONFLICT, changing nothing, while any of
/// its backup points could not be deleted on its own by `sendense_backup_delete` (active,
/// protected, with a copy in flight, inside its repository's minimum retention or its lock
/// window; its points going together, they do not hold one another): the message names the
/// first few points with their rule and counts the rest. NOT_FOUND when there is none.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_delete(
    s: *mut sendense_store,
    context_id: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let context_id = arg_str(context_id, "context_id")?;
        store.context_delete(context_id)
    })
}

/// A typed, read-only snapshot of the context `context_id`; `*out` receives a new object that
/// the caller frees with `sendense_context_free`. NOT_FOUND when there is none.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_get(
    s: *mut sendense_store,
    context_id: *const c_char,
    out: *mut *mut sendense_context,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let context_id = arg_str(context_id, "context_id")?;
        out_ptr(out, "out")?.write_box(sendense_context::new(store.context_get(context_id)?)?);
        Ok(())
    })
}

/// Free a context snapshot (its borrowed strings become invalid). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_free(c: *mut sendense_context) {
    free_box(c);
}

/// The context id; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_id(c: *const sendense_context) -> *const c_char {
    field_str(c, |c| Some(&c.strings.context_id))
}

/// The VM's name in vCenter; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_vm_name(c: *const sendense_context) -> *const c_char {
    field_str(c, |c| Some(&c.strings.vm_name))
}

/// The VM's VMware id (with vcenter_host, the context's identity); NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_vmware_vm_id(c: *const sendense_context) -> *const c_char {
    field_str(c, |c| Some(&c.strings.vmware_vm_id))
}

/// The VM's inventory path; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_vm_path(c: *const sendense_context) -> *const c_char {
    field_str(c, |c| Some(&c.strings.vm_path))
}

/// The vCenter the VM belongs to; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_vcenter_host(c: *const sendense_context) -> *const c_char {
    field_str(c, |c| Some(&c.strings.vcenter_host))
}

/// The VM's datacenter; NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_datacenter(c: *const sendense_context) -> *const c_char {
    field_str(c, |c| Some(&c.strings.datacenter))
}

/// The context status (`current_status`: discovered, replicating, ready_for_failover, ...);
/// NULL for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_status(c: *const sendense_context) -> *const c_char {
    field_str(c, |c| Some(&c.strings.current_status))
}

/// The id of the active replication job; NULL when no job is active or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_current_job_id(c: *const sendense_context) -> *const c_char {
    field_str(c, |c| c.strings.current_job_id.as_ref())
}

/// The id of the last completed replication job; NULL when there is none or for a NULL
/// snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_last_successful_job_id(c: *const sendense_context) -> *const c_char {
    field_str(c, |c| c.strings.last_successful_job_id.as_ref())
}

/// The number of replication jobs of the context; 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_total_jobs_run(c: *const sendense_context) -> i64 {
    field(c, 0, |c| c.record.total_jobs_run)
}

/// The number of its completed jobs; 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_successful_jobs(c: *const sendense_context) -> i64 {
    field(c, 0, |c| c.record.successful_jobs)
}

/// The number of its failed jobs; 0 for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_failed_jobs(c: *const sendense_context) -> i64 {
    field(c, 0, |c| c.record.failed_jobs)
}

/// When the context was created, in milliseconds since the Unix epoch (UTC); 0 for a NULL
/// snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_created_at_ms(c: *const sendense_context) -> i64 {
    field(c, 0, |c| c.record.created_at.millis())
}

/// When the context was last changed, in milliseconds since the Unix epoch (UTC); 0 for a
/// NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_updated_at_ms(c: *const sendense_context) -> i64 {
    field(c, 0, |c| c.record.updated_at.millis())
}

/// Whether the scheduler may start jobs for this context; false for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_scheduler_enabled(c: *const sendense_context) -> bool {
    field(c, false, |c| c.record.scheduler_enabled)
}

/// When the context's first job was created: true and `*out_ms` (milliseconds since the Unix
/// epoch; not written when `out_ms` is NULL) when it has jobs, false (and `*out_ms` untouched)
/// when not or for a NULL snapshot.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_first_job_at_ms(c: *const sendense_context, out_ms: *mut i64) -> bool {
    field_ms(c, out_ms, |c| c.record.first_job_at)
}

/// When the context's latest job was created; as `sendense_context_first_job_at_ms`.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_last_job_at_ms(c: *const sendense_context, out_ms: *mut i64) -> bool {
    field_ms(c, out_ms, |c| c.record.last_job_at)
}

/// When the context status last changed; as `sendense_context_first_job_at_ms`.
#[no_mangle]
pub unsafe extern "C" fn sendense_context_last_status_change_ms(c: *const sendense_context, out_ms: *mut i64) -> bool {
    field_ms(c, out_ms, |c| c.record.last_status_change)
}
