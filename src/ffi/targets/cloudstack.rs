//! C ABI of CloudStack ("OSSEA") configurations and volumes.
//! Configurations are identified by their integer ids; their secrets travel only through the
//! explicit `*_secrets_json` functions.

use std::ffi::c_char;

use crate::ffi::{
    arg_json, arg_opt_str, arg_str, out_opt_ptr, out_ptr, sendense_error, sendense_status, sendense_store, store_call,
    store_read_json,
};
use crate::store::Store;
use crate::targets::{NewOsseaConfig, NewOsseaVolume, OsseaConfigUpdate, SnapshotStatus, VolumeStatus};

/// Create a CloudStack configuration. `json`: the `ossea_configs` column names — `name`,
/// `api_url` (http:// or https://, without a user name or password: INVALID_ARGUMENT, the URL
/// not repeated), `api_key`, `secret_key`, `zone`, and optionally `domain`, `template_id`,
/// `network_id`, `service_offering_id`, `disk_offering_id`, `oma_vm_id`, `is_active` (true
/// makes it the one active configuration). `api_key` and `secret_key` are stored sealed with
/// the store's key, bound to the new row (SENDENSE_STATUS_SECRET_KEY when the handle has no
/// key, or a key other than the store's current one, e.g. after another handle rotated it:
/// the message names both key ids). A taken name is ALREADY_EXISTS. `*config_id_out` receives
/// the new id.
/// Safe to retry after SENDENSE_STATUS_COMMIT_UNKNOWN: when the first call was applied, the
/// retry is ALREADY_EXISTS naming the configuration.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_config_create(
    s: *mut sendense_store,
    json: *const c_char,
    config_id_out: *mut i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let new: NewOsseaConfig = arg_json(json, "json")?;
        out_ptr(config_id_out, "config_id_out")?.write(store.ossea_config_create(&new)?);
        Ok(())
    })
}

/// A CloudStack configuration as JSON, without its secrets (`sealed_with_key` names the key
/// that sealed them).
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_config_get_json(
    s: *mut sendense_store,
    config_id: i64,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| out_ptr(json_out, "json_out")?.write_json(&store.ossea_config_get(config_id)?))
}

/// The opened secrets of a CloudStack configuration: `{"api_key":…,"secret_key":…}`.
/// SENDENSE_STATUS_SECRET_KEY when the store has no key, another key, or the value was altered
/// or moved from another row or column (naming the row). `sendense_string_free` wipes the
/// string before freeing it, and no other copy is left in freed memory.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_config_secrets_json(
    s: *mut sendense_store,
    config_id: i64,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        out_ptr(json_out, "json_out")?.write_secret_json(&store.ossea_config_secrets(config_id)?)
    })
}

/// Every CloudStack configuration (without secrets) as a JSON array, by name.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_config_list_json(
    s: *mut sendense_store,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| out_ptr(json_out, "json_out")?.write_json(&store.ossea_config_list()?))
}

/// Change a CloudStack configuration: `json` holds the columns to change (absent keys stay;
/// `null` clears a nullable one; a new `api_key` or `secret_key` is sealed as on create; a new
/// `api_url` is checked as on create). `*json_out`
/// (NULL allowed) receives the changed configuration.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_config_update(
    s: *mut sendense_store,
    config_id: i64,
    json: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let update: OsseaConfigUpdate = arg_json(json, "json")?;
        let config = store.ossea_config_update(config_id, &update)?;
        match out_opt_ptr(json_out) {
            Some(out) => out.write_json(&config),
            None => Ok(()),
        }
    })
}

/// Make a configuration the active one; the others become inactive in the same transaction.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_config_activate(
    s: *mut sendense_store,
    config_id: i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| store.ossea_config_activate(config_id).map(|_| ()))
}

/// Delete a configuration; CONFLICT (naming how many) while volumes or replication jobs use it.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_config_delete(
    s: *mut sendense_store,
    config_id: i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| store.ossea_config_delete(config_id))
}

/// Record a CloudStack volume. `json`: `volume_id` (the CloudStack UUID, unique),
/// `volume_name`, `size_gb` (>= 1), and optionally `vm_context_id`, `ossea_config_id`,
/// `volume_type` and `status` (default creating). `*volume_row_id_out` receives its row id.
/// A taken `volume_id` is ALREADY_EXISTS naming it, so it is safe to retry after
/// SENDENSE_STATUS_COMMIT_UNKNOWN.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_volume_create(
    s: *mut sendense_store,
    json: *const c_char,
    volume_row_id_out: *mut i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let new: NewOsseaVolume = arg_json(json, "json")?;
        out_ptr(volume_row_id_out, "volume_row_id_out")?.write(store.ossea_volume_create(&new)?);
        Ok(())
    })
}

/// A volume (by row id) as JSON.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_volume_get_json(
    s: *mut sendense_store,
    volume_row_id: i64,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| out_ptr(json_out, "json_out")?.write_json(&store.ossea_volume_get(volume_row_id)?))
}

/// A volume found by its CloudStack id, as JSON.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_volume_find_json(
    s: *mut sendense_store,
    volume_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_read_json(s, volume_id, "volume_id", json_out, err, Store::ossea_volume_find)
}

/// The volumes of a context (`context_id`), or every volume (`context_id` NULL), as a JSON array.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_volume_list_json(
    s: *mut sendense_store,
    context_id: *const c_char,
    json_out: *mut *mut c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let context_id = arg_opt_str(context_id, "context_id")?;
        out_ptr(json_out, "json_out")?.write_json(&store.ossea_volume_list(context_id)?)
    })
}

/// Move a volume to `status` (creating, available, attached, detached, error) along its state
/// machine (INVALID_STATE otherwise). `device_path` is required for attached and must be NULL
/// otherwise. `sendense_device_attach`, `_detach`, `_update` and the mode switches already
/// move the volume's row in their transaction; repeating the status and path it has is a
/// no-op.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_volume_set_status(
    s: *mut sendense_store,
    volume_row_id: i64,
    status: *const c_char,
    device_path: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let status = VolumeStatus::parse(arg_str(status, "status")?)?;
        let device_path = arg_opt_str(device_path, "device_path")?;
        store.ossea_volume_set_status(volume_row_id, status, device_path).map(|_| ())
    })
}

/// Move a volume's snapshot tracking to `status` (none, creating, ready, failed,
/// rollback_complete) along its state machine. `snapshot_id` is required for creating and
/// must be NULL otherwise.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_volume_set_snapshot(
    s: *mut sendense_store,
    volume_row_id: i64,
    status: *const c_char,
    snapshot_id: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let status = SnapshotStatus::parse(arg_str(status, "status")?)?;
        let snapshot_id = arg_opt_str(snapshot_id, "snapshot_id")?;
        store.ossea_volume_set_snapshot(volume_row_id, status, snapshot_id).map(|_| ())
    })
}

/// Link a volume to the disk row `disk_id` (`disk-2000`) of context `context_id`. A volume of
/// another context is CONFLICT.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_volume_link_disk(
    s: *mut sendense_store,
    volume_row_id: i64,
    context_id: *const c_char,
    disk_id: *const c_char,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| {
        let context_id = arg_str(context_id, "context_id")?;
        let disk_id = arg_str(disk_id, "disk_id")?;
        store.ossea_volume_link_disk(volume_row_id, context_id, disk_id).map(|_| ())
    })
}

/// Forget a volume; CONFLICT while a device mapping holds it.
#[no_mangle]
pub unsafe extern "C" fn sendense_ossea_volume_delete(
    s: *mut sendense_store,
    volume_row_id: i64,
    err: *mut *mut sendense_error,
) -> sendense_status {
    store_call(s, err, |store| store.ossea_volume_delete(volume_row_id))
}

#[cfg(test)]
mod tests {
    //! The secret read-outs leave no plaintext in freed memory. The test binary's allocator
    //! looks into every block freed while it is armed (the memory is still valid then) for a
    //! marker that only the secrets of this test hold.

    use std::alloc::{GlobalAlloc, Layout, System};
    use std::ffi::{c_char, CString};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

    use super::*;
    use crate::ffi::{sendense_linstor_config_create, sendense_linstor_config_secrets_json, sendense_string_free};
    use crate::store::{OpenOptions, SecretKey};

    const MARKER: &[u8] = b"wipe-me-7c1e";

    static ARMED: AtomicBool = AtomicBool::new(false);
    static SEEN: AtomicUsize = AtomicUsize::new(0);

    struct Watching;

    // SAFETY: every call is passed on to the system allocator; `dealloc` only reads the block
    // it is about to free, which is still allocated and `layout.size()` bytes long.
    unsafe impl GlobalAlloc for Watching {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            System.alloc(layout)
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            System.alloc_zeroed(layout)
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if ARMED.load(SeqCst) {
                let block = std::slice::from_raw_parts(ptr, layout.size());
                if block.windows(MARKER.len()).any(|w| w == MARKER) {
                    SEEN.fetch_add(1, SeqCst);
                }
            }
            System.dealloc(ptr, layout)
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if !ARMED.load(SeqCst) {
                return System.realloc(ptr, layout, new_size);
            }
            // Armed: move the block, so that the old one goes through `dealloc` and is looked at.
            let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }

    #[global_allocator]
    static ALLOCATOR: Watching = Watching;

    /// How many blocks holding the marker `f` freed.
    fn marked_frees(f: impl FnOnce()) -> usize {
        let before = SEEN.load(SeqCst);
        ARMED.store(true, SeqCst);
        f();
        ARMED.store(false, SeqCst);
        SEEN.load(SeqCst) - before
    }

    #[test]
    fn secret_read_outs_leave_no_plaintext_in_freed_memory() {
        let store = Store::open_in_memory(OpenOptions::default().secret_key(SecretKey::generate())).unwrap();
        // Long secrets, so that a growing buffer would be moved and its old copy freed.
        let secret = String::from_utf8(MARKER.repeat(40)).unwrap();
        let s = Box::into_raw(Box::new(sendense_store { store }));
        let config = format!(
            r#"{{"name":"c","api_url":"https://cloud.example/api","api_key":"{secret}","secret_key":"{secret}","zone":"z"}}"#
        );
        let linstor =
            format!(r#"{{"name":"l","api_url":"linstor.local","api_key":"{secret}","api_secret":"{secret}"}}"#);
        let (config, linstor) = (CString::new(config).unwrap(), CString::new(linstor).unwrap());
        let (mut ossea_id, mut linstor_id) = (0, 0);
        let err = std::ptr::null_mut();
        unsafe {
            assert_eq!(sendense_ossea_config_create(s, config.as_ptr(), &mut ossea_id, err), 0);
            assert_eq!(sendense_linstor_config_create(s, linstor.as_ptr(), &mut linstor_id, err), 0);
        }
        type ReadOut =
            unsafe extern "C" fn(*mut sendense_store, i64, *mut *mut c_char, *mut *mut sendense_error) -> i32;
        for (read_out, id) in [
            (sendense_ossea_config_secrets_json as ReadOut, ossea_id),
            (sendense_linstor_config_secrets_json as ReadOut, linstor_id),
        ] {
            let mut json: *mut c_char = std::ptr::null_mut();
            let made = marked_frees(|| assert_eq!(unsafe { read_out(s, id, &mut json, err) }, 0));
            assert_eq!(made, 0, "making the read-out freed {made} block(s) still holding the secret");
            let text = unsafe { std::ffi::CStr::from_ptr(json) }.to_str().unwrap();
            assert!(text.contains(&secret), "the read-out carries the secret");
            let freed = marked_frees(|| unsafe { sendense_string_free(json) });
            assert_eq!(freed, 0, "sendense_string_free left the secret in freed memory");
        }
        unsafe { crate::ffi::sendense_store_free(s) };
    }
}
