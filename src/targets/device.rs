//! Device mappings (docs/DOMAIN.md section 5; docs/SCHEMA.md section 3, `device_mappings`).
//!
//! A device mapping says which CloudStack volume is attached where: in `oma` mode to the hub
//! appliance at a local device path, in `failover` mode to a failover VM, with no local device.
//! The volume's NBD export (`nbd_export.rs`) and its `ossea_volumes` row (`cloudstack.rs`)
//! follow its mapping, in the mapping's transaction.
//!
//! Rules enforced here (every refusal changes nothing):
//! - attach ([`Store::device_attach`]): `volume_uuid` is unique (a second attach of the same
//!   volume is ALREADY_EXISTS naming the existing mapping); an oma mapping needs a device path,
//!   a failover mapping must not have one (INVALID_ARGUMENT: no more `remote-vm-{id}`
//!   placeholders); the device path is unique among oma mappings (CONFLICT naming the volume
//!   that holds it); the context, when given, must exist. An attach may create the volume's
//!   export in the same transaction (`export`), so a mapping and its export appear together;
//! - detach ([`Store::device_detach`]) removes the mapping and its export in one transaction;
//! - an export removed by a detach or a switch to failover takes with it the lease its job
//!   holds on its port, unless another export of that job still uses the port (the rule of
//!   `nbd_export.rs`);
//! - the volume's `ossea_volumes` row, when the volume is recorded, follows every change of its
//!   mapping in the same transaction: attached (at the hub path in oma mode, with no path in
//!   failover mode) on attach, path changes and mode switches, detached on detach; an attach
//!   of a volume still creating or in error is INVALID_STATE;
//! - a mapping switched to failover mode has size 0 (there is no local device to measure);
//! - an update of the device facts ([`Store::device_update`]) keeps the path rules, and the
//!   volume's export follows a new path in the same transaction;
//! - a mode switch ([`Store::device_switch_mode`], [`Store::device_set_mode`]) changes every
//!   mapping of a context, and the exports of the switched volumes, in one transaction. See
//!   [`ModeSwitch`] for how a switch back to oma learns the device paths;
//! - snapshot tracking on mappings ([`SnapshotStatus::check_move`], the machine of the
//!   volumes' snapshots): none -> creating -> ready | failed; ready -> rollback_complete ->
//!   none; failed -> none (clearing a failed attempt so a new one can start) and ready -> none
//!   (the snapshot was deleted after a committed test failover).
//!
//! [`Store::storage_consistency`] (`consistency.rs`) reports what these rules are meant to
//! prevent, in data that raw SQL or older writers may have left behind.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::{echo, Error, Result};
use crate::replication::context;
use crate::store::query::require_row;
use crate::store::{Store, Tx};
use crate::targets::cloudstack::{volume_follows_mapping, SnapshotStatus, VolumeLink};
use crate::targets::nbd_export::{insert_export, insert_export_of, move_export, remove_export, NewExport};
use crate::value::{check_id, new_id, Timestamp};
use crate::{params, record, string_enum};

string_enum! {
    /// Where a mapped volume is attached (`device_mappings.operation_mode`).
    pub enum OperationMode: "operation mode" {
        /// Attached to the hub appliance, at a local device path.
        Oma = "oma",
        /// Attached to a failover VM; no local device.
        Failover = "failover",
    }
}

record! {
    /// A `device_mappings` row. JSON keys are the column names.
    #[allow(missing_docs)]
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct DeviceMapping in "device_mappings" {
        pub id: String,
        pub vm_context_id: Option<String>,
        pub volume_uuid: String,
        pub volume_id_numeric: Option<i64>,
        pub vm_id: String,
        pub operation_mode: OperationMode,
        pub cloudstack_device_id: Option<i64>,
        pub requires_device_correlation: bool,
        pub device_path: Option<String>,
        pub cloudstack_state: String,
        pub linux_state: String,
        pub size: i64,
        pub last_sync: Option<Timestamp>,
        pub created_at: Timestamp,
        pub updated_at: Timestamp,
        pub ossea_snapshot_id: Option<String>,
        pub snapshot_created_at: Option<Timestamp>,
        pub snapshot_status: SnapshotStatus,
        pub persistent_device_name: Option<String>,
        pub symlink_path: Option<String>,
    }
}

/// A volume to attach (JSON input of `sendense_device_attach`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMapping {
    /// The mapping's id; generated (UUIDv7) when absent. A duplicate is ALREADY_EXISTS.
    #[serde(default)]
    pub id: Option<String>,
    /// The owning context; must exist when given.
    #[serde(default)]
    pub vm_context_id: Option<String>,
    /// The CloudStack volume UUID; unique among mappings.
    pub volume_uuid: String,
    /// CloudStack's numeric volume id.
    #[serde(default)]
    pub volume_id_numeric: Option<i64>,
    /// The CloudStack VM the volume is attached to (the hub in oma mode, the failover VM in
    /// failover mode).
    pub vm_id: String,
    /// oma (default) or failover.
    #[serde(default = "default_mode")]
    pub operation_mode: OperationMode,
    /// CloudStack device slot (0 = root).
    #[serde(default)]
    pub cloudstack_device_id: Option<i64>,
    /// Whether the Linux device still needs resolving (default true).
    #[serde(default = "default_true")]
    pub requires_device_correlation: bool,
    /// The hub device path: required in oma mode (an absolute path), refused in failover mode.
    #[serde(default)]
    pub device_path: Option<String>,
    /// CloudStack's attach state (default "attached").
    #[serde(default)]
    pub cloudstack_state: Option<String>,
    /// The Linux device state (default "detected" in oma mode, "n/a" in failover mode).
    #[serde(default)]
    pub linux_state: Option<String>,
    /// Device size in bytes (default 0), not negative.
    #[serde(default)]
    pub size: i64,
    /// Stable device-mapper name.
    #[serde(default)]
    pub persistent_device_name: Option<String>,
    /// /dev/mapper symlink path.
    #[serde(default)]
    pub symlink_path: Option<String>,
    /// The volume's NBD export, created in the same transaction (oma mode only). Its
    /// `volume_uuid` may be omitted (it is this mapping's).
    #[serde(default)]
    pub export: Option<NewExport>,
}

fn default_mode() -> OperationMode {
    OperationMode::Oma
}

fn default_true() -> bool {
    true
}

impl NewMapping {
    /// An oma mapping of `volume_uuid` attached to `vm_id` at `device_path`.
    pub fn oma(volume_uuid: impl Into<String>, vm_id: impl Into<String>, device_path: impl Into<String>) -> NewMapping {
        NewMapping {
            id: None,
            vm_context_id: None,
            volume_uuid: volume_uuid.into(),
            volume_id_numeric: None,
            vm_id: vm_id.into(),
            operation_mode: OperationMode::Oma,
            cloudstack_device_id: None,
            requires_device_correlation: true,
            device_path: Some(device_path.into()),
            cloudstack_state: None,
            linux_state: None,
            size: 0,
            persistent_device_name: None,
            symlink_path: None,
            export: None,
        }
    }

    /// A failover mapping of `volume_uuid` attached to the failover VM `vm_id`.
    pub fn failover(volume_uuid: impl Into<String>, vm_id: impl Into<String>) -> NewMapping {
        NewMapping {
            operation_mode: OperationMode::Failover,
            device_path: None,
            ..NewMapping::oma(volume_uuid, vm_id, "")
        }
    }

    fn validate(&self) -> Result<()> {
        if let Some(id) = &self.id {
            check_id("mapping id", id)?;
        }
        if let Some(c) = &self.vm_context_id {
            check_id("vm_context_id", c)?;
        }
        check_id("volume_uuid", &self.volume_uuid)?;
        check_id("vm_id", &self.vm_id)?;
        match (self.operation_mode, &self.device_path) {
            (OperationMode::Oma, None) => {
                return Err(Error::invalid_argument(format!(
                    "volume {}: an oma mapping needs its hub device_path",
                    echo(&self.volume_uuid)
                )))
            }
            (OperationMode::Oma, Some(p)) => check_device_path(p)?,
            (OperationMode::Failover, Some(p)) => {
                return Err(Error::invalid_argument(format!(
                    "volume {}: a failover mapping has no local device, but device_path {:?} was given",
                    echo(&self.volume_uuid),
                    echo(p)
                )))
            }
            (OperationMode::Failover, None) => {}
        }
        if self.size < 0 {
            return Err(Error::invalid_argument(format!("size {} is negative", self.size)));
        }
        for (name, v) in [
            ("cloudstack_state", &self.cloudstack_state),
            ("linux_state", &self.linux_state),
            ("persistent_device_name", &self.persistent_device_name),
            ("symlink_path", &self.symlink_path),
        ] {
            if v.as_deref().is_some_and(|v| v.trim().is_empty() || v.contains('\0')) {
                return Err(Error::invalid_argument(format!("{name} is empty or contains a NUL (omit it instead)")));
            }
        }
        if let Some(e) = &self.export {
            if self.operation_mode == OperationMode::Failover {
                return Err(Error::invalid_argument(format!(
                    "volume {}: a failover mapping has no local device to export",
                    echo(&self.volume_uuid)
                )));
            }
            if e.volume_uuid.as_deref().is_some_and(|v| v != self.volume_uuid) {
                return Err(Error::invalid_argument(format!(
                    "export.volume_uuid {:?} is not the attached volume {}",
                    echo(e.volume_uuid.as_deref().unwrap_or_default()),
                    echo(&self.volume_uuid)
                )));
            }
            e.validate_fields()?;
        }
        Ok(())
    }
}

/// A device path: absolute, without NUL or control characters.
fn check_device_path(p: &str) -> Result<()> {
    if !p.starts_with('/') || p.len() < 2 || p.chars().any(char::is_control) {
        return Err(Error::invalid_argument(format!(
            "device_path {:?} is not an absolute device path (e.g. /dev/disk/by-id/virtio-...)",
            echo(p)
        )));
    }
    Ok(())
}

/// A mode switch of every mapping of a context (JSON input of `sendense_device_switch_mode`).
///
/// The contract:
/// - to `failover`: every oma mapping of the context loses its device path, its linux_state
///   becomes `n/a`, and its volume's export is removed, releasing the lease the export's job
///   holds on its port once no other export of that job uses it; `device_paths` and `exports`
///   must be absent or empty (INVALID_ARGUMENT). Mappings already in failover mode stay as they
///   are.
/// - to `oma`: every failover mapping of the context needs its new hub device path in
///   `device_paths` (volume_uuid -> path); a missing one is INVALID_ARGUMENT naming the
///   volumes. The schema keeps no device path for a failover mapping, so the caller, which
///   has just re-attached the volumes to the hub, supplies them. Each path must be free among
///   oma mappings (CONFLICT naming the holder) and unique within the request. The switched
///   mappings get linux_state `detected`. An entry for a mapping that is already oma must
///   repeat its current path (so a retried switch succeeds); another path is INVALID_STATE.
///   An entry for a volume that is not a mapping of the context is INVALID_ARGUMENT.
///   `exports` (optional) are created in the same transaction, after the switch, with the
///   rules of [`Store::nbd_export_create`]; each must name the volume it exports.
/// - `vm_id`, when given, becomes the CloudStack VM of every mapping of the context (the
///   failover VM, or the hub on the way back).
/// - the whole switch is one transaction: any refusal changes nothing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeSwitch {
    /// The context whose mappings switch; must exist.
    pub context_id: String,
    /// The mode every mapping of the context ends in.
    pub mode: OperationMode,
    /// The CloudStack VM the volumes are attached to after the switch.
    #[serde(default)]
    pub vm_id: Option<String>,
    /// Hub device paths of the volumes switched to oma (volume_uuid -> device path).
    #[serde(default)]
    pub device_paths: BTreeMap<String, String>,
    /// Exports to create for oma volumes of the context after the switch.
    #[serde(default)]
    pub exports: Vec<NewExport>,
}

impl ModeSwitch {
    /// A switch of `context_id` to `mode` with no device paths, VM id or exports.
    pub fn new(context_id: impl Into<String>, mode: OperationMode) -> ModeSwitch {
        ModeSwitch { context_id: context_id.into(), mode, vm_id: None, device_paths: BTreeMap::new(), exports: vec![] }
    }

    fn validate(&self) -> Result<()> {
        check_id("context_id", &self.context_id)?;
        if let Some(v) = &self.vm_id {
            check_id("vm_id", v)?;
        }
        if self.mode == OperationMode::Failover && (!self.device_paths.is_empty() || !self.exports.is_empty()) {
            return Err(Error::invalid_argument(
                "a switch to failover takes no device_paths or exports (failover volumes have no local device)",
            ));
        }
        let mut seen = BTreeMap::new();
        for (volume, path) in &self.device_paths {
            check_id("device_paths key", volume)?;
            check_device_path(path).map_err(|e| e.context(format!("volume {}", echo(volume))))?;
            if let Some(other) = seen.insert(path.as_str(), volume.as_str()) {
                return Err(Error::invalid_argument(format!(
                    "device path {path} is given to both volume {other} and volume {volume}",
                    path = echo(path),
                    other = echo(other),
                    volume = echo(volume)
                )));
            }
        }
        for e in &self.exports {
            if e.volume_uuid.is_none() {
                return Err(Error::invalid_argument("each export of a mode switch names its volume_uuid"));
            }
            e.validate_fields()?;
        }
        Ok(())
    }
}

/// A change of a mapping's device facts, as the volume daemon learns them (JSON input of
/// `sendense_device_update`). Absent keys are left alone; a nullable column given as `null`
/// is cleared. Every update stamps `last_sync` (the last reconciliation) and `updated_at`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceUpdate {
    /// The new hub device path of an oma mapping (refused for a failover mapping): unique among
    /// oma mappings (CONFLICT naming the holder); the volume's export follows it.
    #[serde(default)]
    pub device_path: Option<String>,
    /// CloudStack's attach state.
    #[serde(default)]
    pub cloudstack_state: Option<String>,
    /// The Linux device state.
    #[serde(default)]
    pub linux_state: Option<String>,
    /// Device size in bytes, not negative.
    #[serde(default)]
    pub size: Option<i64>,
    /// Whether the Linux device still needs resolving.
    #[serde(default)]
    pub requires_device_correlation: Option<bool>,
    /// CloudStack device slot.
    #[serde(default, deserialize_with = "crate::value::present")]
    pub cloudstack_device_id: Option<Option<i64>>,
    /// Stable device-mapper name.
    #[serde(default, deserialize_with = "crate::value::present")]
    pub persistent_device_name: Option<Option<String>>,
    /// /dev/mapper symlink path.
    #[serde(default, deserialize_with = "crate::value::present")]
    pub symlink_path: Option<Option<String>>,
}

impl DeviceUpdate {
    fn validate(&self) -> Result<()> {
        if let Some(p) = &self.device_path {
            check_device_path(p)?;
        }
        if self.size.is_some_and(|s| s < 0) {
            return Err(Error::invalid_argument(format!("size {} is negative", self.size.unwrap_or_default())));
        }
        for (name, v) in [
            ("cloudstack_state", self.cloudstack_state.as_ref()),
            ("linux_state", self.linux_state.as_ref()),
            ("persistent_device_name", self.persistent_device_name.as_ref().and_then(Option::as_ref)),
            ("symlink_path", self.symlink_path.as_ref().and_then(Option::as_ref)),
        ] {
            if v.is_some_and(|v| v.trim().is_empty() || v.contains('\0')) {
                return Err(Error::invalid_argument(format!("{name} is empty or contains a NUL")));
            }
        }
        Ok(())
    }
}

/// Load a mapping by volume inside a transaction; NOT_FOUND naming the volume.
pub(crate) fn load_mapping(tx: &Tx<'_>, volume_uuid: &str) -> Result<DeviceMapping> {
    find_mapping(tx, volume_uuid)?
        .ok_or_else(|| Error::not_found(format!("no device mapping for volume {:?}", echo(volume_uuid))))
}

fn find_mapping(tx: &Tx<'_>, volume_uuid: &str) -> Result<Option<DeviceMapping>> {
    tx.record("WHERE volume_uuid = :volume_uuid", params![volume_uuid])
}

/// The volume of the oma mapping holding `device_path`, if any.
fn path_holder(tx: &Tx<'_>, device_path: &str) -> Result<Option<String>> {
    tx.optional(
        "SELECT volume_uuid FROM device_mappings WHERE device_path = :device_path AND operation_mode = 'oma' LIMIT 1",
        params![device_path],
        |r| r.get(0),
    )
}

fn conflict_path(device_path: &str, holder: &str, wanted_by: &str) -> Error {
    Error::conflict(format!(
        "device path {device_path} is held by the oma mapping of volume {holder}; volume {wanted_by} cannot take it",
        device_path = echo(device_path),
        wanted_by = echo(wanted_by)
    ))
}

fn insert_mapping(tx: &Tx<'_>, m: &NewMapping, now: i64) -> Result<String> {
    if let Some(c) = &m.vm_context_id {
        require_row(tx, "vm_replication_contexts", "context_id", c, &format!("context {:?}", echo(c)))?;
    }
    if let Some(existing) = find_mapping(tx, &m.volume_uuid)? {
        return Err(Error::already_exists(format!(
            "volume {} is already attached: mapping {} ({} mode{})",
            echo(&m.volume_uuid),
            existing.id,
            existing.operation_mode,
            existing.device_path.map(|p| format!(" at {}", echo(&p))).unwrap_or_default()
        )));
    }
    let id = m.id.clone().unwrap_or_else(new_id);
    if m.id.is_some() && tx.exists("SELECT 1 FROM device_mappings WHERE id = :id", params![id])? {
        return Err(Error::already_exists(format!("device mapping {} already exists", echo(&id))));
    }
    if let Some(path) = &m.device_path {
        if let Some(holder) = path_holder(tx, path)? {
            return Err(conflict_path(path, &holder, &m.volume_uuid));
        }
    }
    let linux_state = m.linux_state.clone().unwrap_or_else(|| {
        match m.operation_mode {
            OperationMode::Oma => "detected",
            OperationMode::Failover => "n/a",
        }
        .to_string()
    });
    tx.execute(
        "INSERT INTO device_mappings (id, vm_context_id, volume_uuid, volume_id_numeric, vm_id, operation_mode, \
         cloudstack_device_id, requires_device_correlation, device_path, cloudstack_state, linux_state, size, \
         last_sync, created_at, updated_at, snapshot_status, persistent_device_name, symlink_path) \
         VALUES (:id, :vm_context_id, :volume_uuid, :volume_id_numeric, :vm_id, :operation_mode, \
         :cloudstack_device_id, :requires_device_correlation, :device_path, :cloudstack_state, :linux_state, :size, \
         :now, :now, :now, 'none', :persistent_device_name, :symlink_path)",
        params![
            id,
            vm_context_id = m.vm_context_id,
            volume_uuid = m.volume_uuid,
            volume_id_numeric = m.volume_id_numeric,
            vm_id = m.vm_id,
            operation_mode = m.operation_mode,
            cloudstack_device_id = m.cloudstack_device_id,
            requires_device_correlation = m.requires_device_correlation,
            device_path = m.device_path,
            cloudstack_state = m.cloudstack_state.as_deref().unwrap_or("attached"),
            linux_state,
            size = m.size,
            now,
            persistent_device_name = m.persistent_device_name,
            symlink_path = m.symlink_path,
        ],
    )?;
    Ok(id)
}

fn list_mappings(tx: &Tx<'_>, context_id: &str) -> Result<Vec<DeviceMapping>> {
    tx.records("WHERE vm_context_id = :context_id ORDER BY created_at, id", params![context_id])
}

/// Switch every mapping of a context, and the exports of the switched volumes, inside the
/// caller's transaction (see [`ModeSwitch`] for the contract): the step of
/// [`Store::device_switch_mode`], also taken by a failover's `switching_volume` and `reverting`
/// steps in their own transactions. Returns the context's mappings after the switch.
pub(crate) fn switch_mode(tx: &Tx<'_>, switch: &ModeSwitch, now: i64) -> Result<Vec<DeviceMapping>> {
    switch.validate()?;
    context::load(tx, &switch.context_id)?;
    let mappings = list_mappings(tx, &switch.context_id)?;
    let ours: BTreeSet<&str> = mappings.iter().map(|m| m.volume_uuid.as_str()).collect();
    if let Some(stranger) = switch.device_paths.keys().find(|v| !ours.contains(v.as_str())) {
        return Err(Error::invalid_argument(format!(
            "device_paths names volume {stranger}, which is not a mapping of context {}",
            echo(&switch.context_id),
            stranger = echo(stranger)
        )));
    }
    match switch.mode {
        OperationMode::Failover => {
            for m in mappings.iter().filter(|m| m.operation_mode == OperationMode::Oma) {
                remove_export(tx, &m.volume_uuid)?;
                tx.execute(
                    "UPDATE device_mappings SET operation_mode = 'failover', device_path = NULL, \
                         linux_state = 'n/a', size = 0, updated_at = :now WHERE id = :id",
                    params![id = m.id, now],
                )?;
                volume_follows_mapping(tx, &m.volume_uuid, VolumeLink::Attached(None), now)?;
            }
        }
        OperationMode::Oma => {
            let missing: Vec<&str> = mappings
                .iter()
                .filter(|m| {
                    m.operation_mode == OperationMode::Failover && !switch.device_paths.contains_key(&m.volume_uuid)
                })
                .map(|m| m.volume_uuid.as_str())
                .collect();
            if !missing.is_empty() {
                return Err(Error::invalid_argument(format!(
                    "context {}: switching to oma needs the hub device path of volume {} \
                         (give them in device_paths: sendense_device_switch_mode)",
                    echo(&switch.context_id),
                    missing.join(", ")
                )));
            }
            for m in &mappings {
                let Some(path) = switch.device_paths.get(&m.volume_uuid) else { continue };
                if m.operation_mode == OperationMode::Oma {
                    if m.device_path.as_deref() != Some(path.as_str()) {
                        return Err(Error::invalid_state(format!(
                            "volume {} is already in oma mode at {}, not {path}",
                            m.volume_uuid,
                            echo(m.device_path.as_deref().unwrap_or("?")),
                            path = echo(path)
                        )));
                    }
                    continue;
                }
                if let Some(holder) = path_holder(tx, path)? {
                    return Err(conflict_path(path, &holder, &m.volume_uuid));
                }
                tx.execute(
                    "UPDATE device_mappings SET operation_mode = 'oma', device_path = :path, \
                         linux_state = 'detected', updated_at = :now WHERE id = :id",
                    params![id = m.id, path, now],
                )?;
                volume_follows_mapping(tx, &m.volume_uuid, VolumeLink::Attached(Some(path)), now)?;
            }
            for e in &switch.exports {
                let volume = e.volume_uuid.as_deref().unwrap_or_default();
                if !ours.contains(volume) {
                    return Err(Error::invalid_argument(format!(
                        "exports names volume {volume}, which is not a mapping of context {}",
                        echo(&switch.context_id),
                        volume = echo(volume)
                    )));
                }
                insert_export(tx, volume, e, now)?;
            }
        }
    }
    if let Some(vm_id) = &switch.vm_id {
        tx.execute(
            "UPDATE device_mappings SET vm_id = :vm_id, updated_at = :now WHERE vm_context_id = :context_id",
            params![context_id = switch.context_id, vm_id, now],
        )?;
    }
    list_mappings(tx, &switch.context_id)
}

impl Store {
    /// Record an attached volume (see [`NewMapping`]); returns the mapping id. With `export`,
    /// the volume's NBD export is created in the same transaction (rules of
    /// [`Store::nbd_export_create`]). Refusals: INVALID_ARGUMENT for bad input (an oma mapping
    /// without a device path, a failover mapping with one); NOT_FOUND for an unknown context;
    /// ALREADY_EXISTS naming the existing mapping when the volume is already mapped (or the id
    /// is taken); CONFLICT naming the holder's volume when another oma mapping holds the
    /// device path.
    /// Safe to retry after [`crate::Status::CommitUnknown`]: when the first call was applied
    /// (mapping and export), the retry is ALREADY_EXISTS naming the volume and its mapping.
    pub fn device_attach(&self, mapping: &NewMapping) -> Result<String> {
        mapping.validate()?;
        let now = self.now_ms();
        self.writing(|tx| {
            let id = insert_mapping(tx, mapping, now)?;
            volume_follows_mapping(
                tx,
                &mapping.volume_uuid,
                VolumeLink::Attached(mapping.device_path.as_deref()),
                now,
            )?;
            if let Some(e) = &mapping.export {
                let (context_id, path) = (mapping.vm_context_id.as_deref(), mapping.device_path.as_deref());
                insert_export_of(tx, &mapping.volume_uuid, context_id, mapping.operation_mode, path, e, now)?;
            }
            Ok(id)
        })
    }

    /// Remove the mapping of `volume_uuid` and its export in one transaction; returns the
    /// removed mapping. The lease the export's job holds on the export's port is released in
    /// the same transaction, unless another export of that job still uses the port (an export
    /// without a job releases nothing). NOT_FOUND when the volume has no mapping.
    pub fn device_detach(&self, volume_uuid: &str) -> Result<DeviceMapping> {
        check_id("volume_uuid", volume_uuid)?;
        let now = self.now_ms();
        self.writing(|tx| {
            let m = load_mapping(tx, volume_uuid)?;
            remove_export(tx, volume_uuid)?;
            tx.execute("DELETE FROM device_mappings WHERE id = :id", params![id = m.id])?;
            volume_follows_mapping(tx, volume_uuid, VolumeLink::Detached, now)?;
            Ok(m)
        })
    }

    /// Switch every mapping of `context_id` to `mode` with no further input: the plain form of
    /// [`Store::device_switch_mode`] (see [`ModeSwitch`] for the contract). To failover it
    /// always applies. To oma it applies only when no mapping of the context lacks a device
    /// path, i.e. when every mapping is already oma: a failover mapping's hub device path is
    /// not known to the store, so that switch is INVALID_ARGUMENT naming the volumes and
    /// pointing at `device_switch_mode` (which takes the paths). Returns the context's
    /// mappings after the switch.
    pub fn device_set_mode(&self, context_id: &str, mode: OperationMode) -> Result<Vec<DeviceMapping>> {
        self.device_switch_mode(&ModeSwitch::new(context_id, mode))
    }

    /// Switch every mapping of a context, and the exports of the switched volumes, in one
    /// transaction (see [`ModeSwitch`] for the contract); to failover, the leases the removed
    /// exports' jobs held on their ports are released with them. Returns the context's mappings
    /// after the switch, oldest first. NOT_FOUND for an unknown context.
    pub fn device_switch_mode(&self, switch: &ModeSwitch) -> Result<Vec<DeviceMapping>> {
        let now = self.now_ms();
        self.writing(|tx| switch_mode(tx, switch, now))
    }

    /// Update the device facts of the mapping of `volume_uuid` (see [`DeviceUpdate`]) in one
    /// transaction; a new device path is carried to the volume's export. NOT_FOUND when the
    /// volume has no mapping; INVALID_STATE for a device path on a failover mapping; CONFLICT
    /// naming the holder when another oma mapping has the path.
    pub fn device_update(&self, volume_uuid: &str, update: &DeviceUpdate) -> Result<DeviceMapping> {
        check_id("volume_uuid", volume_uuid)?;
        update.validate()?;
        let now = self.now_ms();
        self.writing(|tx| {
            let m = load_mapping(tx, volume_uuid)?;
            if let Some(path) = &update.device_path {
                if m.operation_mode == OperationMode::Failover {
                    return Err(Error::invalid_state(format!(
                        "volume {volume_uuid} is in failover mode and has no local device (switch the context to oma)",
                        volume_uuid = echo(volume_uuid)
                    )));
                }
                if m.device_path.as_deref() != Some(path.as_str()) {
                    if let Some(holder) = path_holder(tx, path)? {
                        return Err(conflict_path(path, &holder, volume_uuid));
                    }
                    move_export(tx, volume_uuid, path, now)?;
                    volume_follows_mapping(tx, volume_uuid, VolumeLink::Attached(Some(path)), now)?;
                }
            }
            let keep = |v: Option<Option<String>>, old: Option<String>| v.unwrap_or(old);
            tx.execute(
                "UPDATE device_mappings SET device_path = :device_path, cloudstack_state = :cloudstack_state, \
                 linux_state = :linux_state, size = :size, requires_device_correlation = :requires_device_correlation, \
                 cloudstack_device_id = :cloudstack_device_id, persistent_device_name = :persistent_device_name, \
                 symlink_path = :symlink_path, last_sync = :now, updated_at = :now WHERE id = :id",
                params![
                    id = m.id,
                    device_path = update.device_path.clone().or(m.device_path),
                    cloudstack_state = update.cloudstack_state.as_ref().unwrap_or(&m.cloudstack_state),
                    linux_state = update.linux_state.as_ref().unwrap_or(&m.linux_state),
                    size = update.size.unwrap_or(m.size),
                    requires_device_correlation =
                        update.requires_device_correlation.unwrap_or(m.requires_device_correlation),
                    cloudstack_device_id = update.cloudstack_device_id.unwrap_or(m.cloudstack_device_id),
                    persistent_device_name = keep(update.persistent_device_name.clone(), m.persistent_device_name),
                    symlink_path = keep(update.symlink_path.clone(), m.symlink_path),
                    now,
                ],
            )?;
            load_mapping(tx, volume_uuid)
        })
    }

    /// Move the snapshot tracking of the mapping of `volume_uuid` to `status` along
    /// [`SnapshotStatus::check_move`]. `snapshot_id` (the CloudStack snapshot) is required for
    /// the move to creating (which stamps snapshot_created_at) and refused for every other
    /// move; the move to none clears the snapshot id and time.
    pub fn device_set_snapshot(
        &self,
        volume_uuid: &str,
        status: SnapshotStatus,
        snapshot_id: Option<&str>,
    ) -> Result<DeviceMapping> {
        check_id("volume_uuid", volume_uuid)?;
        match (status, snapshot_id) {
            (SnapshotStatus::Creating, None) => {
                return Err(Error::invalid_argument("a snapshot moving to creating needs its snapshot id"))
            }
            (SnapshotStatus::Creating, Some(id)) => check_id("snapshot id", id)?,
            (_, Some(_)) => {
                return Err(Error::invalid_argument(format!(
                    "a snapshot id is given only with the move to creating, not to {status}"
                )))
            }
            (_, None) => {}
        }
        let now = self.now_ms();
        self.writing(|tx| {
            let m = load_mapping(tx, volume_uuid)?;
            m.snapshot_status.check_move(status).map_err(|e| e.context(format!("volume {}", echo(volume_uuid))))?;
            // The snapshot id and time: set by the move to creating, cleared by the move to
            // none, kept otherwise.
            let (id, at) = match status {
                SnapshotStatus::Creating => (snapshot_id.map(str::to_string), Some(Timestamp(now))),
                SnapshotStatus::None => (None, None),
                _ => (m.ossea_snapshot_id, m.snapshot_created_at),
            };
            tx.execute(
                "UPDATE device_mappings SET snapshot_status = :status, ossea_snapshot_id = :snapshot_id, \
                 snapshot_created_at = :at, updated_at = :now WHERE id = :id",
                params![id = m.id, status, snapshot_id = id, at, now],
            )?;
            load_mapping(tx, volume_uuid)
        })
    }

    /// The mapping of `volume_uuid`; NOT_FOUND when there is none.
    pub fn device_get(&self, volume_uuid: &str) -> Result<DeviceMapping> {
        self.reading(|tx| load_mapping(tx, volume_uuid))
    }

    /// The mappings of a context, oldest first; NOT_FOUND for an unknown context.
    pub fn device_list(&self, context_id: &str) -> Result<Vec<DeviceMapping>> {
        self.reading(|tx| {
            context::load(tx, context_id)?;
            list_mappings(tx, context_id)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_validated() {
        assert!(NewMapping::oma("v", "vm", "/dev/vdb").validate().is_ok());
        assert!(NewMapping::failover("v", "vm").validate().is_ok());
        let e = NewMapping { device_path: None, ..NewMapping::oma("v", "vm", "/dev/vdb") }.validate().unwrap_err();
        assert!(e.message().contains("needs its hub device_path"), "{e}");
        let e = NewMapping { device_path: Some("/dev/vdb".into()), ..NewMapping::failover("v", "vm") }
            .validate()
            .unwrap_err();
        assert!(e.message().contains("no local device"), "{e}");
        for bad in ["remote-vm-1", "/", "dev/vdb", "/dev/\nvdb"] {
            assert!(NewMapping::oma("v", "vm", bad).validate().is_err(), "{bad:?}");
        }
        assert!(NewMapping { size: -1, ..NewMapping::oma("v", "vm", "/dev/vdb") }.validate().is_err());
        let e = crate::value::from_json::<NewMapping>("json", r#"{"volume_uuid":"v","vm_id":"x","mode":"oma"}"#)
            .unwrap_err();
        assert!(e.message().contains("unknown field `mode`"), "{e}");
        let e = crate::value::from_json::<ModeSwitch>("json", r#"{"context_id":"c","mode":"hub"}"#).unwrap_err();
        assert!(e.message().contains("not a valid operation mode"), "{e}");
        let mut s = ModeSwitch::new("c", OperationMode::Oma);
        s.device_paths.insert("a".into(), "/dev/vdb".into());
        s.device_paths.insert("b".into(), "/dev/vdb".into());
        assert!(s.validate().unwrap_err().message().contains("given to both"));
        let mut s = ModeSwitch::new("c", OperationMode::Failover);
        s.device_paths.insert("a".into(), "/dev/vdb".into());
        assert!(s.validate().is_err());
    }
}
