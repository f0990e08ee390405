//! Device mappings and NBD exports (DOMAIN.md section 5; SCHEMA.md section 3,
//! `device_mappings` and `nbd_exports`).
//!
//! A device mapping says which CloudStack volume is attached where: in `oma` mode to the hub
//! appliance at a local device path, in `failover` mode to a failover VM, with no local device.
//! An NBD export serves an oma volume's device to the capture side.
//!
//! Rules enforced here (every refusal changes nothing):
//! - attach ([`Store::device_attach`]): `volume_uuid` is unique (a second attach of the same
//!   volume is ALREADY_EXISTS naming the existing mapping); an oma mapping needs a device path,
//!   a failover mapping must not have one (INVALID_ARGUMENT: no more `remote-vm-{id}`
//!   placeholders); the device path is unique among oma mappings (CONFLICT naming the volume
//!   that holds it); the context, when given, must exist. An attach may create the volume's
//!   export in the same transaction (`export`), so a mapping and its export appear together;
//! - detach ([`Store::device_detach`]) removes the mapping and its export in one transaction;
//! - an update of the device facts ([`Store::device_update`]) keeps the path rules, and the
//!   volume's export follows a new path in the same transaction;
//! - a mode switch ([`Store::device_switch_mode`], [`Store::device_set_mode`]) changes every
//!   mapping of a context, and the exports of the switched volumes, in one transaction. See
//!   [`ModeSwitch`] for how a switch back to oma learns the device paths;
//! - snapshot tracking on mappings ([`SnapshotStatus::check_move`], the machine of the
//!   volumes' snapshots): none -> creating -> ready | failed; ready -> rollback_complete ->
//!   none; failed -> none (clearing a failed attempt so a new one can start) and ready -> none
//!   (the snapshot was deleted after a committed test failover);
//! - an export ([`Store::nbd_export_create`]) is named `migration-vol-{volume_uuid}`
//!   ([`export_name`]), one per volume; it references its mapping (which must be oma with a
//!   device path; the export serves that path), its `vm_disks` row (which must belong to the
//!   mapping's context) and, while a job uses it, the job (which must exist and belong to the
//!   same context). Status: pending -> active | failed.
//!
//! [`Store::storage_consistency`] reports what these rules are meant to prevent, in data that
//! raw SQL or older writers may have left behind; it is part of [`Store::integrity_check`].

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::replication;
use crate::replication::context;
use crate::store::{require_row, Store};
use crate::string_enum;
use crate::value::{check_id, new_id, Timestamp};

string_enum! {
    /// Where a mapped volume is attached (`device_mappings.operation_mode`).
    pub enum OperationMode: "operation mode" {
        /// Attached to the hub appliance, at a local device path.
        Oma = "oma",
        /// Attached to a failover VM; no local device.
        Failover = "failover",
    }
}

/// The snapshot tracking of mappings shares the machine of the volumes' (`snapshot_status`).
pub use crate::targets::cloudstack::SnapshotStatus;

string_enum! {
    /// State of an NBD export (`nbd_exports.status`).
    #[allow(missing_docs)]
    pub enum ExportStatus: "export status" {
        Pending = "pending",
        Active = "active",
        Failed = "failed",
    }
}

impl ExportStatus {
    /// Whether the machine has the edge `self -> to`: pending -> active | failed.
    pub fn can_move_to(self, to: ExportStatus) -> bool {
        matches!((self, to), (ExportStatus::Pending, ExportStatus::Active | ExportStatus::Failed))
    }

    /// `Ok` when the machine has the edge, else INVALID_STATE naming from and to.
    pub fn check_move(self, to: ExportStatus) -> Result<()> {
        if self.can_move_to(to) {
            Ok(())
        } else {
            Err(Error::invalid_state(format!(
                "an export cannot move from {self} to {to}: pending -> active or failed (remove a finished export)"
            )))
        }
    }
}

/// The export name of a volume: `migration-vol-{volume_uuid}`.
pub fn export_name(volume_uuid: &str) -> String {
    format!("migration-vol-{volume_uuid}")
}

/// A `device_mappings` row. JSON keys are the column names.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceMapping {
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

const MAPPING_COLUMNS: &str = "id, vm_context_id, volume_uuid, volume_id_numeric, vm_id, operation_mode, \
    cloudstack_device_id, requires_device_correlation, device_path, cloudstack_state, linux_state, size, last_sync, \
    created_at, updated_at, ossea_snapshot_id, snapshot_created_at, snapshot_status, persistent_device_name, \
    symlink_path";

impl DeviceMapping {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<DeviceMapping> {
        Ok(DeviceMapping {
            id: r.get("id")?,
            vm_context_id: r.get("vm_context_id")?,
            volume_uuid: r.get("volume_uuid")?,
            volume_id_numeric: r.get("volume_id_numeric")?,
            vm_id: r.get("vm_id")?,
            operation_mode: r.get("operation_mode")?,
            cloudstack_device_id: r.get("cloudstack_device_id")?,
            requires_device_correlation: r.get("requires_device_correlation")?,
            device_path: r.get("device_path")?,
            cloudstack_state: r.get("cloudstack_state")?,
            linux_state: r.get("linux_state")?,
            size: r.get("size")?,
            last_sync: r.get("last_sync")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
            ossea_snapshot_id: r.get("ossea_snapshot_id")?,
            snapshot_created_at: r.get("snapshot_created_at")?,
            snapshot_status: r.get("snapshot_status")?,
            persistent_device_name: r.get("persistent_device_name")?,
            symlink_path: r.get("symlink_path")?,
        })
    }
}

/// An `nbd_exports` row. JSON keys are the column names.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NbdExport {
    pub id: i64,
    pub vm_context_id: Option<String>,
    pub job_id: Option<String>,
    pub volume_id: String,
    pub vm_disk_id: Option<i64>,
    pub device_mapping_uuid: Option<String>,
    pub export_name: String,
    pub port: i64,
    pub device_path: String,
    pub config_path: Option<String>,
    pub status: ExportStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const EXPORT_COLUMNS: &str = "id, vm_context_id, job_id, volume_id, vm_disk_id, device_mapping_uuid, export_name, \
    port, device_path, config_path, status, created_at, updated_at";

impl NbdExport {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<NbdExport> {
        Ok(NbdExport {
            id: r.get("id")?,
            vm_context_id: r.get("vm_context_id")?,
            job_id: r.get("job_id")?,
            volume_id: r.get("volume_id")?,
            vm_disk_id: r.get("vm_disk_id")?,
            device_mapping_uuid: r.get("device_mapping_uuid")?,
            export_name: r.get("export_name")?,
            port: r.get("port")?,
            device_path: r.get("device_path")?,
            config_path: r.get("config_path")?,
            status: r.get("status")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
        })
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
                    self.volume_uuid
                )))
            }
            (OperationMode::Oma, Some(p)) => check_device_path(p)?,
            (OperationMode::Failover, Some(p)) => {
                return Err(Error::invalid_argument(format!(
                    "volume {}: a failover mapping has no local device, but device_path {p:?} was given",
                    self.volume_uuid
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
                    self.volume_uuid
                )));
            }
            if e.volume_uuid.as_deref().is_some_and(|v| v != self.volume_uuid) {
                return Err(Error::invalid_argument(format!(
                    "export.volume_uuid {:?} is not the attached volume {}",
                    e.volume_uuid.as_deref().unwrap_or_default(),
                    self.volume_uuid
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
            "device_path {p:?} is not an absolute device path (e.g. /dev/disk/by-id/virtio-...)"
        )));
    }
    Ok(())
}

/// An NBD export to create (JSON input of `sendense_nbd_export_create`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewExport {
    /// The exported volume; its mapping must exist and be oma. Required, except inside an
    /// attach (where it defaults to the attached volume).
    #[serde(default)]
    pub volume_uuid: Option<String>,
    /// The `vm_disks` row served; must exist and belong to the mapping's context.
    pub vm_disk_id: i64,
    /// The NBD server port, 1 to 65535.
    pub port: i64,
    /// The replication job using the export; must exist and belong to the mapping's context.
    #[serde(default)]
    pub job_id: Option<String>,
    /// The nbd-server conf.d file of this export.
    #[serde(default)]
    pub config_path: Option<String>,
}

impl NewExport {
    /// An export of `volume_uuid` serving the disk row `vm_disk_id` on `port`.
    pub fn new(volume_uuid: impl Into<String>, vm_disk_id: i64, port: i64) -> NewExport {
        NewExport { volume_uuid: Some(volume_uuid.into()), vm_disk_id, port, job_id: None, config_path: None }
    }

    fn validate_fields(&self) -> Result<()> {
        if let Some(v) = &self.volume_uuid {
            check_id("volume_uuid", v)?;
        }
        if !(1..=65535).contains(&self.port) {
            return Err(Error::invalid_argument(format!("port {} is not between 1 and 65535", self.port)));
        }
        if let Some(j) = &self.job_id {
            check_id("job_id", j)?;
        }
        if self.config_path.as_deref().is_some_and(|p| p.trim().is_empty() || p.contains('\0')) {
            return Err(Error::invalid_argument("config_path is empty or contains a NUL (omit it instead)"));
        }
        Ok(())
    }
}

/// A mode switch of every mapping of a context (JSON input of `sendense_device_switch_mode`).
///
/// The contract:
/// - to `failover`: every oma mapping of the context loses its device path, its linux_state
///   becomes `n/a`, and its volume's export is removed; `device_paths` and `exports` must be
///   absent or empty (INVALID_ARGUMENT). Mappings already in failover mode stay as they are.
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
            check_device_path(path).map_err(|e| e.context(format!("volume {volume}")))?;
            if let Some(other) = seen.insert(path.as_str(), volume.as_str()) {
                return Err(Error::invalid_argument(format!(
                    "device path {path} is given to both volume {other} and volume {volume}"
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

/// One volume whose `ossea_volumes` status disagrees with its mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeMismatch {
    /// `ossea_volumes.volume_id` (the CloudStack volume UUID).
    pub volume_id: String,
    /// `ossea_volumes.status`.
    pub status: String,
    /// The mapping of the volume, if any.
    pub mapping_id: Option<String>,
}

/// The storage consistency report ([`Store::storage_consistency`]). `ok` when every list is
/// empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageConsistency {
    /// Nothing was found.
    pub ok: bool,
    /// Export names whose volume has no mapping, whose mapping is not in oma mode, or whose
    /// device path is not the mapping's.
    pub exports_without_live_mapping: Vec<String>,
    /// Volume UUIDs of oma mappings of a context that have no export. (A mapping without a
    /// context serves no disk row of one, so it cannot have an export and is not listed.)
    pub oma_mappings_without_export: Vec<String>,
    /// Device paths held by more than one oma mapping.
    pub duplicate_device_paths: Vec<String>,
    /// Volumes attached without a mapping, or with a mapping while detached or available.
    pub volume_mismatches: Vec<VolumeMismatch>,
}

/// Run the storage consistency queries inside a transaction.
pub(crate) fn consistency(conn: &Connection) -> Result<StorageConsistency> {
    let strings = |sql: &str| -> Result<Vec<String>> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
    };
    let exports_without_live_mapping = strings(
        "SELECT e.export_name FROM nbd_exports e LEFT JOIN device_mappings m ON m.volume_uuid = e.volume_id \
         WHERE m.id IS NULL OR m.operation_mode <> 'oma' OR m.device_path IS NOT e.device_path \
         ORDER BY e.export_name",
    )?;
    let oma_mappings_without_export = strings(
        "SELECT m.volume_uuid FROM device_mappings m WHERE m.operation_mode = 'oma' \
         AND m.vm_context_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM nbd_exports e WHERE e.volume_id = m.volume_uuid) ORDER BY m.volume_uuid",
    )?;
    let duplicate_device_paths = strings(
        "SELECT device_path FROM device_mappings WHERE operation_mode = 'oma' AND device_path IS NOT NULL \
         GROUP BY device_path HAVING count(*) > 1 ORDER BY device_path",
    )?;
    let mut stmt = conn.prepare(
        "SELECT v.volume_id, v.status, m.id FROM ossea_volumes v LEFT JOIN device_mappings m \
         ON m.volume_uuid = v.volume_id \
         WHERE (v.status = 'attached' AND m.id IS NULL) OR (v.status IN ('detached', 'available') AND m.id IS NOT NULL) \
         ORDER BY v.volume_id",
    )?;
    let volume_mismatches = stmt
        .query_map([], |r| Ok(VolumeMismatch { volume_id: r.get(0)?, status: r.get(1)?, mapping_id: r.get(2)? }))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(StorageConsistency {
        ok: exports_without_live_mapping.is_empty()
            && oma_mappings_without_export.is_empty()
            && duplicate_device_paths.is_empty()
            && volume_mismatches.is_empty(),
        exports_without_live_mapping,
        oma_mappings_without_export,
        duplicate_device_paths,
        volume_mismatches,
    })
}

/// Load a mapping by volume inside a transaction; NOT_FOUND naming the volume.
pub(crate) fn load_mapping(conn: &Connection, volume_uuid: &str) -> Result<DeviceMapping> {
    find_mapping(conn, volume_uuid)?
        .ok_or_else(|| Error::not_found(format!("no device mapping for volume {volume_uuid:?}")))
}

fn find_mapping(conn: &Connection, volume_uuid: &str) -> Result<Option<DeviceMapping>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {MAPPING_COLUMNS} FROM device_mappings WHERE volume_uuid = ?1"))?
        .query_row([volume_uuid], DeviceMapping::from_row)
        .optional()?)
}

/// Load an export by name inside a transaction; NOT_FOUND naming it.
pub(crate) fn load_export(conn: &Connection, name: &str) -> Result<NbdExport> {
    conn.prepare_cached(&format!("SELECT {EXPORT_COLUMNS} FROM nbd_exports WHERE export_name = ?1"))?
        .query_row([name], NbdExport::from_row)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("NBD export {name:?} does not exist")))
}

/// The volume of the oma mapping holding `device_path`, if any.
fn path_holder(conn: &Connection, device_path: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT volume_uuid FROM device_mappings WHERE device_path = ?1 AND operation_mode = 'oma' LIMIT 1",
        )?
        .query_row([device_path], |r| r.get(0))
        .optional()?)
}

fn conflict_path(device_path: &str, holder: &str, wanted_by: &str) -> Error {
    Error::conflict(format!(
        "device path {device_path} is held by the oma mapping of volume {holder}; volume {wanted_by} cannot take it"
    ))
}

/// Create the export of an oma mapping inside a transaction; returns its name.
fn insert_export(conn: &Connection, volume_uuid: &str, e: &NewExport, now: i64) -> Result<String> {
    let m = load_mapping(conn, volume_uuid)?;
    let context_id = m.vm_context_id.as_deref();
    insert_export_of(conn, volume_uuid, context_id, m.operation_mode, m.device_path.as_deref(), e, now)
}

/// Create the export of the mapping of `volume_uuid`, whose context, mode and device path the
/// caller knows (an attach has just written them).
fn insert_export_of(
    conn: &Connection,
    volume_uuid: &str,
    context_id: Option<&str>,
    mode: OperationMode,
    device_path: Option<&str>,
    e: &NewExport,
    now: i64,
) -> Result<String> {
    let Some(device_path) = device_path.filter(|_| mode == OperationMode::Oma) else {
        return Err(Error::invalid_state(format!(
            "volume {volume_uuid} is in {mode} mode: only an oma mapping (with a hub device) can be exported"
        )));
    };
    let name = export_name(volume_uuid);
    if conn
        .prepare_cached("SELECT 1 FROM nbd_exports WHERE volume_id = ?1 OR export_name = ?2")?
        .query_row([volume_uuid, &name], |_| Ok(()))
        .optional()?
        .is_some()
    {
        return Err(Error::already_exists(format!("volume {volume_uuid} is already exported as {name}")));
    }
    let Some(context_id) = context_id else {
        return Err(Error::invalid_state(format!(
            "the mapping of volume {volume_uuid} has no context, so it serves no disk row of one"
        )));
    };
    let disk_context: Option<String> = conn
        .prepare_cached("SELECT vm_context_id FROM vm_disks WHERE id = ?1")?
        .query_row([e.vm_disk_id], |r| r.get(0))
        .optional()?;
    match disk_context {
        None => return Err(Error::not_found(format!("vm disk {} does not exist", e.vm_disk_id))),
        Some(c) if c != context_id => {
            return Err(Error::invalid_argument(format!(
                "vm disk {} belongs to context {c}, not to context {context_id} of volume {volume_uuid}",
                e.vm_disk_id
            )))
        }
        Some(_) => {}
    }
    if let Some(job_id) = &e.job_id {
        let job_context = job_context(conn, job_id)?;
        if job_context != context_id {
            return Err(Error::invalid_argument(format!(
                "replication job {job_id} belongs to context {job_context}, not to context {context_id} of volume \
                 {volume_uuid}"
            )));
        }
    }
    conn.prepare_cached(
        "INSERT INTO nbd_exports (vm_context_id, job_id, volume_id, vm_disk_id, device_mapping_uuid, export_name, \
         port, device_path, config_path, status, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?3, ?5, ?6, ?7, ?8, 'pending', ?9, ?9)",
    )?
    .execute(params![
        context_id,
        e.job_id,
        volume_uuid,
        e.vm_disk_id,
        name,
        e.port,
        device_path,
        e.config_path,
        now
    ])?;
    Ok(name)
}

/// The context of a replication job; NOT_FOUND naming the job.
fn job_context(conn: &Connection, job_id: &str) -> Result<String> {
    conn.prepare_cached("SELECT vm_context_id FROM replication_jobs WHERE id = ?1")?
        .query_row([job_id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::not_found(format!("replication job {job_id:?} does not exist")))
}

fn insert_mapping(conn: &Connection, m: &NewMapping, now: i64) -> Result<String> {
    if let Some(c) = &m.vm_context_id {
        require_row(conn, "vm_replication_contexts", "context_id", c, &format!("context {c:?}"))?;
    }
    if let Some(existing) = find_mapping(conn, &m.volume_uuid)? {
        return Err(Error::already_exists(format!(
            "volume {} is already attached: mapping {} ({} mode{})",
            m.volume_uuid,
            existing.id,
            existing.operation_mode,
            existing.device_path.map(|p| format!(" at {p}")).unwrap_or_default()
        )));
    }
    let id = m.id.clone().unwrap_or_else(new_id);
    if m.id.is_some()
        && conn
            .prepare_cached("SELECT 1 FROM device_mappings WHERE id = ?1")?
            .query_row([&id], |_| Ok(()))
            .optional()?
            .is_some()
    {
        return Err(Error::already_exists(format!("device mapping {id} already exists")));
    }
    if let Some(path) = &m.device_path {
        if let Some(holder) = path_holder(conn, path)? {
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
    conn.prepare_cached(
        "INSERT INTO device_mappings (id, vm_context_id, volume_uuid, volume_id_numeric, vm_id, operation_mode, \
         cloudstack_device_id, requires_device_correlation, device_path, cloudstack_state, linux_state, size, \
         last_sync, created_at, updated_at, snapshot_status, persistent_device_name, symlink_path) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?13, 'none', ?14, ?15)",
    )?
    .execute(params![
        id,
        m.vm_context_id,
        m.volume_uuid,
        m.volume_id_numeric,
        m.vm_id,
        m.operation_mode,
        m.cloudstack_device_id,
        m.requires_device_correlation,
        m.device_path,
        m.cloudstack_state.as_deref().unwrap_or("attached"),
        linux_state,
        m.size,
        now,
        m.persistent_device_name,
        m.symlink_path,
    ])?;
    Ok(id)
}

fn list_mappings(conn: &Connection, context_id: &str) -> Result<Vec<DeviceMapping>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MAPPING_COLUMNS} FROM device_mappings WHERE vm_context_id = ?1 ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([context_id], DeviceMapping::from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

impl Store {
    /// Record an attached volume (see [`NewMapping`]); returns the mapping id. With `export`,
    /// the volume's NBD export is created in the same transaction (rules of
    /// [`Store::nbd_export_create`]). Refusals: INVALID_ARGUMENT for bad input (an oma mapping
    /// without a device path, a failover mapping with one); NOT_FOUND for an unknown context;
    /// ALREADY_EXISTS naming the existing mapping when the volume is already mapped (or the id
    /// is taken); CONFLICT naming the holder's volume when another oma mapping holds the
    /// device path.
    pub fn device_attach(&self, mapping: &NewMapping) -> Result<String> {
        mapping.validate()?;
        let now = self.now_ms();
        self.write(|tx| {
            let id = insert_mapping(tx, mapping, now)?;
            if let Some(e) = &mapping.export {
                let (context_id, path) = (mapping.vm_context_id.as_deref(), mapping.device_path.as_deref());
                insert_export_of(tx, &mapping.volume_uuid, context_id, mapping.operation_mode, path, e, now)?;
            }
            Ok(id)
        })
    }

    /// Remove the mapping of `volume_uuid` and its export in one transaction; returns the
    /// removed mapping. NOT_FOUND when the volume has no mapping.
    pub fn device_detach(&self, volume_uuid: &str) -> Result<DeviceMapping> {
        check_id("volume_uuid", volume_uuid)?;
        self.write(|tx| {
            let m = load_mapping(tx, volume_uuid)?;
            tx.prepare_cached("DELETE FROM nbd_exports WHERE volume_id = ?1")?.execute([volume_uuid])?;
            tx.prepare_cached("DELETE FROM device_mappings WHERE id = ?1")?.execute([&m.id])?;
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
    /// transaction (see [`ModeSwitch`] for the contract). Returns the context's mappings after
    /// the switch, oldest first. NOT_FOUND for an unknown context.
    pub fn device_switch_mode(&self, switch: &ModeSwitch) -> Result<Vec<DeviceMapping>> {
        switch.validate()?;
        let now = self.now_ms();
        self.write(|tx| {
            context::load(&crate::store::Tx::new(tx), &switch.context_id)?;
            let mappings = list_mappings(tx, &switch.context_id)?;
            let ours: BTreeSet<&str> = mappings.iter().map(|m| m.volume_uuid.as_str()).collect();
            if let Some(stranger) = switch.device_paths.keys().find(|v| !ours.contains(v.as_str())) {
                return Err(Error::invalid_argument(format!(
                    "device_paths names volume {stranger}, which is not a mapping of context {}",
                    switch.context_id
                )));
            }
            match switch.mode {
                OperationMode::Failover => {
                    for m in mappings.iter().filter(|m| m.operation_mode == OperationMode::Oma) {
                        tx.prepare_cached("DELETE FROM nbd_exports WHERE volume_id = ?1")?.execute([&m.volume_uuid])?;
                        tx.prepare_cached(
                            "UPDATE device_mappings SET operation_mode = 'failover', device_path = NULL, \
                             linux_state = 'n/a', updated_at = ?2 WHERE id = ?1",
                        )?
                        .execute(params![m.id, now])?;
                    }
                }
                OperationMode::Oma => {
                    let missing: Vec<&str> = mappings
                        .iter()
                        .filter(|m| {
                            m.operation_mode == OperationMode::Failover
                                && !switch.device_paths.contains_key(&m.volume_uuid)
                        })
                        .map(|m| m.volume_uuid.as_str())
                        .collect();
                    if !missing.is_empty() {
                        return Err(Error::invalid_argument(format!(
                            "context {}: switching to oma needs the hub device path of volume {} \
                             (give them in device_paths: sendense_device_switch_mode)",
                            switch.context_id,
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
                                    m.device_path.as_deref().unwrap_or("?")
                                )));
                            }
                            continue;
                        }
                        if let Some(holder) = path_holder(tx, path)? {
                            return Err(conflict_path(path, &holder, &m.volume_uuid));
                        }
                        tx.prepare_cached(
                            "UPDATE device_mappings SET operation_mode = 'oma', device_path = ?2, \
                             linux_state = 'detected', updated_at = ?3 WHERE id = ?1",
                        )?
                        .execute(params![m.id, path, now])?;
                    }
                    for e in &switch.exports {
                        let volume = e.volume_uuid.as_deref().unwrap_or_default();
                        if !ours.contains(volume) {
                            return Err(Error::invalid_argument(format!(
                                "exports names volume {volume}, which is not a mapping of context {}",
                                switch.context_id
                            )));
                        }
                        insert_export(tx, volume, e, now)?;
                    }
                }
            }
            if let Some(vm_id) = &switch.vm_id {
                tx.prepare_cached("UPDATE device_mappings SET vm_id = ?2, updated_at = ?3 WHERE vm_context_id = ?1")?
                    .execute(params![switch.context_id, vm_id, now])?;
            }
            list_mappings(tx, &switch.context_id)
        })
    }

    /// Update the device facts of the mapping of `volume_uuid` (see [`DeviceUpdate`]) in one
    /// transaction; a new device path is carried to the volume's export. NOT_FOUND when the
    /// volume has no mapping; INVALID_STATE for a device path on a failover mapping; CONFLICT
    /// naming the holder when another oma mapping has the path.
    pub fn device_update(&self, volume_uuid: &str, update: &DeviceUpdate) -> Result<DeviceMapping> {
        check_id("volume_uuid", volume_uuid)?;
        update.validate()?;
        let now = self.now_ms();
        self.write(|tx| {
            let m = load_mapping(tx, volume_uuid)?;
            if let Some(path) = &update.device_path {
                if m.operation_mode == OperationMode::Failover {
                    return Err(Error::invalid_state(format!(
                        "volume {volume_uuid} is in failover mode and has no local device (switch the context to oma)"
                    )));
                }
                if m.device_path.as_deref() != Some(path.as_str()) {
                    if let Some(holder) = path_holder(tx, path)? {
                        return Err(conflict_path(path, &holder, volume_uuid));
                    }
                    tx.prepare_cached("UPDATE nbd_exports SET device_path = ?2, updated_at = ?3 WHERE volume_id = ?1")?
                        .execute(params![volume_uuid, path, now])?;
                }
            }
            let keep = |v: Option<Option<String>>, old: Option<String>| v.unwrap_or(old);
            tx.prepare_cached(
                "UPDATE device_mappings SET device_path = ?2, cloudstack_state = ?3, linux_state = ?4, size = ?5, \
                 requires_device_correlation = ?6, cloudstack_device_id = ?7, persistent_device_name = ?8, \
                 symlink_path = ?9, last_sync = ?10, updated_at = ?10 WHERE id = ?1",
            )?
            .execute(params![
                m.id,
                update.device_path.clone().or(m.device_path),
                update.cloudstack_state.as_ref().unwrap_or(&m.cloudstack_state),
                update.linux_state.as_ref().unwrap_or(&m.linux_state),
                update.size.unwrap_or(m.size),
                update.requires_device_correlation.unwrap_or(m.requires_device_correlation),
                update.cloudstack_device_id.unwrap_or(m.cloudstack_device_id),
                keep(update.persistent_device_name.clone(), m.persistent_device_name),
                keep(update.symlink_path.clone(), m.symlink_path),
                now,
            ])?;
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
        self.write(|tx| {
            let m = load_mapping(tx, volume_uuid)?;
            m.snapshot_status.check_move(status).map_err(|e| e.context(format!("volume {volume_uuid}")))?;
            // The snapshot id and time: set by the move to creating, cleared by the move to
            // none, kept otherwise.
            let (id, at) = match status {
                SnapshotStatus::Creating => (snapshot_id.map(str::to_string), Some(Timestamp(now))),
                SnapshotStatus::None => (None, None),
                _ => (m.ossea_snapshot_id, m.snapshot_created_at),
            };
            tx.prepare_cached(
                "UPDATE device_mappings SET snapshot_status = ?2, ossea_snapshot_id = ?3, snapshot_created_at = ?4, \
                 updated_at = ?5 WHERE id = ?1",
            )?
            .execute(params![m.id, status, id, at, now])?;
            load_mapping(tx, volume_uuid)
        })
    }

    /// The mapping of `volume_uuid`; NOT_FOUND when there is none.
    pub fn device_get(&self, volume_uuid: &str) -> Result<DeviceMapping> {
        self.read(|tx| load_mapping(tx, volume_uuid))
    }

    /// The mappings of a context, oldest first; NOT_FOUND for an unknown context.
    pub fn device_list(&self, context_id: &str) -> Result<Vec<DeviceMapping>> {
        self.read(|tx| {
            context::load(&crate::store::Tx::new(tx), context_id)?;
            list_mappings(tx, context_id)
        })
    }

    /// Create the NBD export of an oma volume (see [`NewExport`]); returns its name,
    /// `migration-vol-{volume_uuid}`. It serves the mapping's device path and starts pending.
    /// Refusals: INVALID_ARGUMENT for bad input, a disk row or job of another context;
    /// NOT_FOUND for an unknown volume mapping, disk row or job; INVALID_STATE when the
    /// mapping is in failover mode or has no context; ALREADY_EXISTS when the volume is
    /// already exported.
    pub fn nbd_export_create(&self, export: &NewExport) -> Result<String> {
        export.validate_fields()?;
        let Some(volume) = export.volume_uuid.as_deref() else {
            return Err(Error::invalid_argument("volume_uuid is missing: name the exported volume"));
        };
        let now = self.now_ms();
        self.write(|tx| insert_export(tx, volume, export, now))
    }

    /// Move an export along pending -> active | failed.
    pub fn nbd_export_set_status(&self, export_name: &str, status: ExportStatus) -> Result<NbdExport> {
        let now = self.now_ms();
        self.write(|tx| {
            let e = load_export(tx, export_name)?;
            e.status.check_move(status).map_err(|err| err.context(format!("NBD export {export_name}")))?;
            tx.prepare_cached("UPDATE nbd_exports SET status = ?2, updated_at = ?3 WHERE id = ?1")?
                .execute(params![e.id, status, now])?;
            load_export(tx, export_name)
        })
    }

    /// Set (a job of the export's context, which must exist) or clear (`None`) the job using
    /// an export.
    pub fn nbd_export_set_job(&self, export_name: &str, job_id: Option<&str>) -> Result<NbdExport> {
        if let Some(j) = job_id {
            check_id("job_id", j)?;
        }
        let now = self.now_ms();
        self.write(|tx| {
            let e = load_export(tx, export_name)?;
            if let Some(j) = job_id {
                let job = replication::load_job(&crate::store::Tx::new(tx), j)?;
                if e.vm_context_id.as_deref() != Some(job.vm_context_id.as_str()) {
                    return Err(Error::invalid_argument(format!(
                        "replication job {j} belongs to context {}, not to the context of export {export_name}",
                        job.vm_context_id
                    )));
                }
            }
            tx.prepare_cached("UPDATE nbd_exports SET job_id = ?2, updated_at = ?3 WHERE id = ?1")?
                .execute(params![e.id, job_id, now])?;
            load_export(tx, export_name)
        })
    }

    /// Remove an export (its mapping stays); NOT_FOUND when there is none.
    pub fn nbd_export_remove(&self, export_name: &str) -> Result<()> {
        self.write(|tx| {
            let e = load_export(tx, export_name)?;
            tx.prepare_cached("DELETE FROM nbd_exports WHERE id = ?1")?.execute([e.id])?;
            Ok(())
        })
    }

    /// The export named `export_name`; NOT_FOUND when there is none.
    pub fn nbd_export_get(&self, export_name: &str) -> Result<NbdExport> {
        self.read(|tx| load_export(tx, export_name))
    }

    /// The exports of a context, by name; NOT_FOUND for an unknown context.
    pub fn nbd_export_list_by_context(&self, context_id: &str) -> Result<Vec<NbdExport>> {
        self.read(|tx| {
            context::load(&crate::store::Tx::new(tx), context_id)?;
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {EXPORT_COLUMNS} FROM nbd_exports WHERE vm_context_id = ?1 ORDER BY export_name"
            ))?;
            let rows = stmt.query_map([context_id], NbdExport::from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The exports a job uses, by name; NOT_FOUND for an unknown job.
    pub fn nbd_export_list_by_job(&self, job_id: &str) -> Result<Vec<NbdExport>> {
        self.read(|tx| {
            replication::load_job(&crate::store::Tx::new(tx), job_id)?;
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {EXPORT_COLUMNS} FROM nbd_exports WHERE job_id = ?1 ORDER BY export_name"
            ))?;
            let rows = stmt.query_map([job_id], NbdExport::from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// What the storage rules are meant to prevent, found in the data (see
    /// [`StorageConsistency`]); also part of [`Store::integrity_check`].
    pub fn storage_consistency(&self) -> Result<StorageConsistency> {
        self.read(|tx| consistency(tx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_machine_edges_are_exactly_the_documented_ones() {
        use ExportStatus::*;
        for from in ExportStatus::ALL {
            for to in ExportStatus::ALL {
                assert_eq!(from.can_move_to(*to), *from == Pending && *to != Pending, "{from} -> {to}");
            }
        }
        assert!(Active.check_move(Failed).unwrap_err().message().contains("from active to failed"));
    }

    #[test]
    fn inputs_are_validated() {
        assert_eq!(export_name("v-1"), "migration-vol-v-1");
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
        assert!(NewExport::new("v", 1, 0).validate_fields().is_err());
        assert!(NewExport::new("v", 1, 65536).validate_fields().is_err());
        assert!(NewExport::new("v", 1, 10809).validate_fields().is_ok());
    }
}
