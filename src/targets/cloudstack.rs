//! CloudStack ("OSSEA") configurations and volumes, and Linstor configurations (DOMAIN.md
//! section 5; SCHEMA.md sections 3 and 10).
//!
//! Rules enforced here:
//! - the API keys and secrets of a configuration are stored only sealed ([`crate::store::secret`]):
//!   creating or changing one needs a store opened with a secret key, and the JSON read-outs
//!   never carry them ([`Store::ossea_config_secrets`] / [`Store::linstor_config_secrets`]
//!   hand them out explicitly);
//! - at most one CloudStack configuration is active: activating one deactivates the others in
//!   the same transaction (the partial unique index is the backstop);
//! - a configuration that volumes or replication jobs reference cannot be deleted (CONFLICT
//!   naming how many);
//! - volumes move through creating -> available -> attached -> detached (and error) only along
//!   [`VolumeStatus::can_move_to`], and their snapshot tracking along
//!   [`SnapshotStatus::can_move_to`]: none -> creating -> ready | failed; ready ->
//!   rollback_complete -> none; a failed or ready snapshot may also be cleared to none;
//! - a volume is linked to the disk row of its own context only.

use rusqlite::{params, Connection, OptionalExtension, Row, ToSql};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::replication::context;
use crate::store::secret::envelope_key_id;
use crate::store::{require_row, update_columns, Store};
use crate::string_enum;
use crate::value::{check_id, check_name, present, Timestamp};

// ------------------------------------------------------------------------------------------
// CloudStack configurations
// ------------------------------------------------------------------------------------------

/// An `ossea_configs` row without its secrets. JSON keys are the column names, plus
/// `sealed_with_key`: the id of the key that sealed its API key and secret.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OsseaConfig {
    pub id: i64,
    pub name: String,
    pub api_url: String,
    pub domain: Option<String>,
    pub zone: String,
    pub template_id: Option<String>,
    pub network_id: Option<String>,
    pub service_offering_id: Option<String>,
    pub disk_offering_id: Option<String>,
    pub oma_vm_id: Option<String>,
    pub is_active: bool,
    pub sealed_with_key: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const OSSEA_CONFIG_COLUMNS: &str = "id, name, api_url, domain, zone, template_id, network_id, service_offering_id, \
    disk_offering_id, oma_vm_id, is_active, api_key, created_at, updated_at";

impl OsseaConfig {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<OsseaConfig> {
        let sealed: String = r.get("api_key")?;
        Ok(OsseaConfig {
            id: r.get("id")?,
            name: r.get("name")?,
            api_url: r.get("api_url")?,
            domain: r.get("domain")?,
            zone: r.get("zone")?,
            template_id: r.get("template_id")?,
            network_id: r.get("network_id")?,
            service_offering_id: r.get("service_offering_id")?,
            disk_offering_id: r.get("disk_offering_id")?,
            oma_vm_id: r.get("oma_vm_id")?,
            is_active: r.get("is_active")?,
            sealed_with_key: envelope_key_id(&sealed).map(str::to_string),
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
        })
    }
}

/// The secrets of a CloudStack configuration, opened. Its `Debug` hides them.
#[derive(Clone, PartialEq, Serialize)]
pub struct OsseaSecrets {
    /// The CloudStack API key.
    pub api_key: Zeroizing<String>,
    /// The CloudStack API secret.
    pub secret_key: Zeroizing<String>,
}

impl std::fmt::Debug for OsseaSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OsseaSecrets { .. }")
    }
}

/// A new CloudStack configuration (JSON input of `sendense_ossea_config_create`): the column
/// names. `is_active: true` makes it the active configuration (the others are deactivated in
/// the same transaction); default false.
#[allow(missing_docs)]
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOsseaConfig {
    pub name: String,
    pub api_url: String,
    pub api_key: Zeroizing<String>,
    pub secret_key: Zeroizing<String>,
    #[serde(default)]
    pub domain: Option<String>,
    pub zone: String,
    #[serde(default)]
    pub template_id: Option<String>,
    #[serde(default)]
    pub network_id: Option<String>,
    #[serde(default)]
    pub service_offering_id: Option<String>,
    #[serde(default)]
    pub disk_offering_id: Option<String>,
    #[serde(default)]
    pub oma_vm_id: Option<String>,
    #[serde(default)]
    pub is_active: bool,
}

impl std::fmt::Debug for NewOsseaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOsseaConfig").field("name", &self.name).field("api_url", &self.api_url).finish()
    }
}

impl NewOsseaConfig {
    /// A configuration with the required fields; the rest unset.
    pub fn new(name: &str, api_url: &str, api_key: &str, secret_key: &str, zone: &str) -> NewOsseaConfig {
        NewOsseaConfig {
            name: name.to_string(),
            api_url: api_url.to_string(),
            api_key: Zeroizing::new(api_key.to_string()),
            secret_key: Zeroizing::new(secret_key.to_string()),
            domain: None,
            zone: zone.to_string(),
            template_id: None,
            network_id: None,
            service_offering_id: None,
            disk_offering_id: None,
            oma_vm_id: None,
            is_active: false,
        }
    }

    fn validate(&self) -> Result<()> {
        check_name("name", &self.name)?;
        check_url("api_url", &self.api_url)?;
        check_secret("api_key", &self.api_key)?;
        check_secret("secret_key", &self.secret_key)?;
        check_name("zone", &self.zone)
    }
}

/// A change of a CloudStack configuration (JSON input of `sendense_ossea_config_update`): an
/// absent key leaves the column alone; `null` clears a nullable one. Activation has its own
/// operation ([`Store::ossea_config_activate`]).
#[allow(missing_docs)]
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsseaConfigUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub api_key: Option<Zeroizing<String>>,
    #[serde(default)]
    pub secret_key: Option<Zeroizing<String>>,
    #[serde(default, deserialize_with = "present")]
    pub domain: Option<Option<String>>,
    #[serde(default)]
    pub zone: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub template_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub network_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub service_offering_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub disk_offering_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub oma_vm_id: Option<Option<String>>,
}

impl std::fmt::Debug for OsseaConfigUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OsseaConfigUpdate").field("name", &self.name).finish_non_exhaustive()
    }
}

fn check_url(what: &str, url: &str) -> Result<()> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !url.chars().any(char::is_whitespace) => Ok(()),
        _ => Err(Error::invalid_argument(format!("{what} {url:?} is not an http:// or https:// URL"))),
    }
}

fn check_secret(what: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid_argument(format!("{what} is empty")));
    }
    Ok(())
}

/// A UNIQUE violation on a configuration name as ALREADY_EXISTS naming it.
fn name_taken(conn: &Connection, table: &str, what: &str, name: &str, except: Option<i64>) -> Result<()> {
    let holder: Option<i64> = conn
        .prepare_cached(&format!("SELECT id FROM {table} WHERE name = ?1 AND id IS NOT ?2"))?
        .query_row(params![name, except], |r| r.get(0))
        .optional()?;
    match holder {
        Some(id) => Err(Error::already_exists(format!("{what} {id} is already named {name:?}"))),
        None => Ok(()),
    }
}

pub(crate) fn load_ossea_config(conn: &Connection, id: i64) -> Result<OsseaConfig> {
    conn.prepare_cached(&format!("SELECT {OSSEA_CONFIG_COLUMNS} FROM ossea_configs WHERE id = ?1"))?
        .query_row([id], OsseaConfig::from_row)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("CloudStack configuration {id} does not exist")))
}

impl Store {
    /// Create a CloudStack configuration, its API key and secret sealed with the store's key
    /// (SECRET_KEY when the store has none); returns its id. A taken name is ALREADY_EXISTS.
    pub fn ossea_config_create(&self, new: &NewOsseaConfig) -> Result<i64> {
        new.validate()?;
        let api_key = self.seal("ossea_configs.api_key", &new.api_key)?;
        let secret_key = self.seal("ossea_configs.secret_key", &new.secret_key)?;
        self.write(|tx| {
            let now = self.now_ms();
            name_taken(tx, "ossea_configs", "CloudStack configuration", &new.name, None)?;
            if new.is_active {
                tx.prepare_cached("UPDATE ossea_configs SET is_active = 0, updated_at = ?1 WHERE is_active = 1")?
                    .execute([now])?;
            }
            tx.prepare_cached(
                "INSERT INTO ossea_configs (name, api_url, api_key, secret_key, domain, zone, template_id, network_id, \
                 service_offering_id, disk_offering_id, oma_vm_id, created_at, updated_at, is_active) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13)",
            )?
            .execute(params![
                new.name,
                new.api_url,
                api_key,
                secret_key,
                new.domain,
                new.zone,
                new.template_id,
                new.network_id,
                new.service_offering_id,
                new.disk_offering_id,
                new.oma_vm_id,
                now,
                new.is_active
            ])?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// The configuration with this id, without its secrets.
    pub fn ossea_config_get(&self, id: i64) -> Result<OsseaConfig> {
        self.read(|tx| load_ossea_config(tx, id))
    }

    /// The opened API key and secret of a configuration (SECRET_KEY when they cannot be opened).
    pub fn ossea_config_secrets(&self, id: i64) -> Result<OsseaSecrets> {
        let (api_key, secret_key): (String, String) = self.read(|tx| {
            load_ossea_config(tx, id)?;
            Ok(tx
                .prepare_cached("SELECT api_key, secret_key FROM ossea_configs WHERE id = ?1")?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?)
        })?;
        Ok(OsseaSecrets {
            api_key: self.unseal("ossea_configs.api_key", &api_key)?,
            secret_key: self.unseal("ossea_configs.secret_key", &secret_key)?,
        })
    }

    /// Every configuration, by name.
    pub fn ossea_config_list(&self) -> Result<Vec<OsseaConfig>> {
        self.read(|tx| {
            let mut stmt =
                tx.prepare_cached(&format!("SELECT {OSSEA_CONFIG_COLUMNS} FROM ossea_configs ORDER BY name, id"))?;
            let rows = stmt.query_map([], OsseaConfig::from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The active configuration, if one is.
    pub fn ossea_config_active(&self) -> Result<Option<OsseaConfig>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached(&format!("SELECT {OSSEA_CONFIG_COLUMNS} FROM ossea_configs WHERE is_active = 1"))?
                .query_row([], OsseaConfig::from_row)
                .optional()?)
        })
    }

    /// Change a configuration (see [`OsseaConfigUpdate`]); a new API key or secret is sealed
    /// with the store's key. Returns the changed configuration.
    pub fn ossea_config_update(&self, id: i64, update: &OsseaConfigUpdate) -> Result<OsseaConfig> {
        if let Some(name) = &update.name {
            check_name("name", name)?;
        }
        if let Some(url) = &update.api_url {
            check_url("api_url", url)?;
        }
        if let Some(zone) = &update.zone {
            check_name("zone", zone)?;
        }
        let mut set: Vec<(&'static str, Box<dyn ToSql>)> = Vec::new();
        for (column, value) in [("api_key", &update.api_key), ("secret_key", &update.secret_key)] {
            if let Some(v) = value {
                check_secret(column, v)?;
                set.push((column, Box::new(self.seal(&format!("ossea_configs.{column}"), v)?)));
            }
        }
        for (column, value) in [("name", &update.name), ("api_url", &update.api_url), ("zone", &update.zone)] {
            if let Some(v) = value {
                set.push((column, Box::new(v.clone())));
            }
        }
        for (column, value) in [
            ("domain", &update.domain),
            ("template_id", &update.template_id),
            ("network_id", &update.network_id),
            ("service_offering_id", &update.service_offering_id),
            ("disk_offering_id", &update.disk_offering_id),
            ("oma_vm_id", &update.oma_vm_id),
        ] {
            if let Some(v) = value {
                set.push((column, Box::new(v.clone())));
            }
        }
        self.write(|tx| {
            let now = self.now_ms();
            load_ossea_config(tx, id)?;
            if let Some(name) = &update.name {
                name_taken(tx, "ossea_configs", "CloudStack configuration", name, Some(id))?;
            }
            update_columns(tx, "ossea_configs", &id, now, &set)?;
            load_ossea_config(tx, id)
        })
    }

    /// Make configuration `id` the active one and every other inactive, in one transaction.
    pub fn ossea_config_activate(&self, id: i64) -> Result<OsseaConfig> {
        self.write(|tx| {
            let now = self.now_ms();
            load_ossea_config(tx, id)?;
            tx.prepare_cached(
                "UPDATE ossea_configs SET is_active = 0, updated_at = ?2 WHERE is_active = 1 AND id <> ?1",
            )?
            .execute(params![id, now])?;
            tx.prepare_cached(
                "UPDATE ossea_configs SET is_active = 1, updated_at = ?2 WHERE id = ?1 AND is_active = 0",
            )?
            .execute(params![id, now])?;
            load_ossea_config(tx, id)
        })
    }

    /// Delete a configuration. Refused (CONFLICT naming how many) while volumes or replication
    /// jobs reference it; contexts that name it lose the reference.
    pub fn ossea_config_delete(&self, id: i64) -> Result<()> {
        self.write(|tx| {
            load_ossea_config(tx, id)?;
            let (volumes, jobs): (i64, i64) = tx
                .prepare_cached(
                    "SELECT (SELECT count(*) FROM ossea_volumes WHERE ossea_config_id = ?1), \
                            (SELECT count(*) FROM replication_jobs WHERE ossea_config_id = ?1)",
                )?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if volumes + jobs > 0 {
                return Err(Error::conflict(format!(
                    "CloudStack configuration {id} is used by {volumes} volume(s) and {jobs} replication job(s); \
                     move or delete them first"
                )));
            }
            tx.prepare_cached("DELETE FROM ossea_configs WHERE id = ?1")?.execute([id])?;
            Ok(())
        })
    }
}

// ------------------------------------------------------------------------------------------
// CloudStack volumes
// ------------------------------------------------------------------------------------------

string_enum! {
    /// State of a CloudStack volume (`ossea_volumes.status`).
    #[allow(missing_docs)]
    pub enum VolumeStatus: "volume status" {
        Creating = "creating",
        Available = "available",
        Attached = "attached",
        Detached = "detached",
        Error = "error",
    }
}

impl VolumeStatus {
    /// The allowed moves: creating -> available | error; available -> attached | error;
    /// attached -> detached | error; detached -> attached | available | error; error ->
    /// available (repaired).
    pub fn can_move_to(self, to: VolumeStatus) -> bool {
        use VolumeStatus::*;
        matches!(
            (self, to),
            (Creating, Available | Error)
                | (Available, Attached | Error)
                | (Attached, Detached | Error)
                | (Detached, Attached | Available | Error)
                | (Error, Available)
        )
    }
}

string_enum! {
    /// State of the snapshot protecting a test failover (`snapshot_status` of volumes and
    /// device mappings).
    #[allow(missing_docs)]
    pub enum SnapshotStatus: "snapshot status" {
        None = "none",
        Creating = "creating",
        Ready = "ready",
        Failed = "failed",
        RollbackComplete = "rollback_complete",
    }
}

impl SnapshotStatus {
    /// The allowed moves: none -> creating -> ready | failed; ready -> rollback_complete ->
    /// none; ready (the snapshot was deleted after a commit) and failed may be cleared to none.
    pub fn can_move_to(self, to: SnapshotStatus) -> bool {
        use SnapshotStatus::*;
        matches!(
            (self, to),
            (None, Creating)
                | (Creating, Ready | Failed)
                | (Ready, RollbackComplete | None)
                | (RollbackComplete, None)
                | (Failed, None)
        )
    }

    /// `Ok` when the machine has the edge, else INVALID_STATE naming from and to.
    pub fn check_move(self, to: SnapshotStatus) -> Result<()> {
        if self.can_move_to(to) {
            return Ok(());
        }
        Err(Error::invalid_state(format!(
            "a snapshot cannot move from {self} to {to}: none -> creating -> ready or failed, \
             ready -> rollback_complete -> none, and failed or ready -> none"
        )))
    }
}

/// An `ossea_volumes` row. JSON keys are the column names.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OsseaVolume {
    pub id: i64,
    pub vm_context_id: Option<String>,
    pub volume_id: String,
    pub volume_name: String,
    pub size_gb: i64,
    pub ossea_config_id: Option<i64>,
    pub volume_type: Option<String>,
    pub device_path: Option<String>,
    pub mount_point: Option<String>,
    pub status: VolumeStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub snapshot_id: Option<String>,
    pub snapshot_created_at: Option<Timestamp>,
    pub snapshot_status: SnapshotStatus,
}

const VOLUME_COLUMNS: &str = "id, vm_context_id, volume_id, volume_name, size_gb, ossea_config_id, volume_type, \
    device_path, mount_point, status, created_at, updated_at, snapshot_id, snapshot_created_at, snapshot_status";

impl OsseaVolume {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<OsseaVolume> {
        Ok(OsseaVolume {
            id: r.get(0)?,
            vm_context_id: r.get(1)?,
            volume_id: r.get(2)?,
            volume_name: r.get(3)?,
            size_gb: r.get(4)?,
            ossea_config_id: r.get(5)?,
            volume_type: r.get(6)?,
            device_path: r.get(7)?,
            mount_point: r.get(8)?,
            status: r.get(9)?,
            created_at: r.get(10)?,
            updated_at: r.get(11)?,
            snapshot_id: r.get(12)?,
            snapshot_created_at: r.get(13)?,
            snapshot_status: r.get(14)?,
        })
    }
}

/// A new volume (JSON input of `sendense_ossea_volume_create`): the column names; `status`
/// defaults to creating.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOsseaVolume {
    #[serde(default)]
    pub vm_context_id: Option<String>,
    pub volume_id: String,
    pub volume_name: String,
    pub size_gb: i64,
    #[serde(default)]
    pub ossea_config_id: Option<i64>,
    #[serde(default)]
    pub volume_type: Option<String>,
    #[serde(default)]
    pub status: Option<VolumeStatus>,
}

impl NewOsseaVolume {
    /// A volume `volume_id` named `volume_name` of `size_gb` GiB, creating.
    pub fn new(volume_id: &str, volume_name: &str, size_gb: i64) -> NewOsseaVolume {
        NewOsseaVolume {
            vm_context_id: None,
            volume_id: volume_id.to_string(),
            volume_name: volume_name.to_string(),
            size_gb,
            ossea_config_id: None,
            volume_type: None,
            status: None,
        }
    }

    fn validate(&self) -> Result<()> {
        check_id("volume_id", &self.volume_id)?;
        check_name("volume_name", &self.volume_name)?;
        if let Some(c) = &self.vm_context_id {
            check_id("vm_context_id", c)?;
        }
        if self.size_gb < 1 {
            return Err(Error::invalid_argument(format!("size_gb must be at least 1 (got {})", self.size_gb)));
        }
        Ok(())
    }
}

pub(crate) fn load_volume(conn: &Connection, id: i64) -> Result<OsseaVolume> {
    conn.prepare_cached(&format!("SELECT {VOLUME_COLUMNS} FROM ossea_volumes WHERE id = ?1"))?
        .query_row([id], OsseaVolume::from_row)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("volume {id} does not exist")))
}

impl Store {
    /// Record a CloudStack volume; returns its row id. The context and configuration, when
    /// given, must exist (NOT_FOUND); a volume_id already recorded is ALREADY_EXISTS.
    pub fn ossea_volume_create(&self, new: &NewOsseaVolume) -> Result<i64> {
        new.validate()?;
        self.write(|tx| {
            let now = self.now_ms();
            if let Some(c) = &new.vm_context_id {
                context::load(&crate::store::Tx::new(tx), c)?;
            }
            if let Some(c) = new.ossea_config_id {
                load_ossea_config(tx, c)?;
            }
            let taken: Option<i64> = tx
                .prepare_cached("SELECT id FROM ossea_volumes WHERE volume_id = ?1")?
                .query_row([&new.volume_id], |r| r.get(0))
                .optional()?;
            if let Some(row) = taken {
                return Err(Error::already_exists(format!("volume {} is already recorded as row {row}", new.volume_id)));
            }
            tx.prepare_cached(
                "INSERT INTO ossea_volumes (vm_context_id, volume_id, volume_name, size_gb, ossea_config_id, volume_type, \
                 status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            )?
            .execute(params![
                new.vm_context_id,
                new.volume_id,
                new.volume_name,
                new.size_gb,
                new.ossea_config_id,
                new.volume_type,
                new.status.unwrap_or(VolumeStatus::Creating),
                now
            ])?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// The volume with row id `id`.
    pub fn ossea_volume_get(&self, id: i64) -> Result<OsseaVolume> {
        self.read(|tx| load_volume(tx, id))
    }

    /// The volume with CloudStack id `volume_id`.
    pub fn ossea_volume_find(&self, volume_id: &str) -> Result<OsseaVolume> {
        self.read(|tx| {
            tx.prepare_cached(&format!("SELECT {VOLUME_COLUMNS} FROM ossea_volumes WHERE volume_id = ?1"))?
                .query_row([volume_id], OsseaVolume::from_row)
                .optional()?
                .ok_or_else(|| Error::not_found(format!("volume {volume_id:?} does not exist")))
        })
    }

    /// The volumes of a context (NOT_FOUND for an unknown one), or every volume; by row id.
    pub fn ossea_volume_list(&self, context_id: Option<&str>) -> Result<Vec<OsseaVolume>> {
        self.read(|tx| {
            let rows = match context_id {
                Some(c) => {
                    context::load(&crate::store::Tx::new(tx), c)?;
                    let mut stmt = tx.prepare_cached(&format!(
                        "SELECT {VOLUME_COLUMNS} FROM ossea_volumes WHERE vm_context_id = ?1 ORDER BY id"
                    ))?;
                    let rows = stmt.query_map([c], OsseaVolume::from_row)?;
                    rows.collect::<rusqlite::Result<Vec<_>>>()?
                }
                None => {
                    let mut stmt =
                        tx.prepare_cached(&format!("SELECT {VOLUME_COLUMNS} FROM ossea_volumes ORDER BY id"))?;
                    let rows = stmt.query_map([], OsseaVolume::from_row)?;
                    rows.collect::<rusqlite::Result<Vec<_>>>()?
                }
            };
            Ok(rows)
        })
    }

    /// Move a volume to `status` along [`VolumeStatus::can_move_to`] (INVALID_STATE otherwise).
    /// `device_path` is the hub device while attached (required for attached, refused for the
    /// other statuses, which clear it).
    pub fn ossea_volume_set_status(
        &self,
        id: i64,
        status: VolumeStatus,
        device_path: Option<&str>,
    ) -> Result<OsseaVolume> {
        match (status, device_path) {
            (VolumeStatus::Attached, None) => {
                return Err(Error::invalid_argument("an attached volume needs its device_path"))
            }
            (VolumeStatus::Attached, Some(p)) => check_id("device_path", p)?,
            (_, Some(_)) => {
                return Err(Error::invalid_argument(format!("a {status} volume has no device_path")));
            }
            _ => {}
        }
        self.write(|tx| {
            let now = self.now_ms();
            let volume = load_volume(tx, id)?;
            if !volume.status.can_move_to(status) {
                return Err(Error::invalid_state(format!(
                    "volume {id} ({}) cannot move from {} to {status}",
                    volume.volume_id, volume.status
                )));
            }
            tx.prepare_cached("UPDATE ossea_volumes SET status = ?2, device_path = ?3, updated_at = ?4 WHERE id = ?1")?
                .execute(params![id, status, device_path, now])?;
            load_volume(tx, id)
        })
    }

    /// Move a volume's snapshot tracking to `status` along [`SnapshotStatus::can_move_to`]
    /// (INVALID_STATE otherwise). Creating needs the CloudStack `snapshot_id` and stamps
    /// snapshot_created_at; moving to none clears both; other moves take no id.
    pub fn ossea_volume_set_snapshot(
        &self,
        id: i64,
        status: SnapshotStatus,
        snapshot_id: Option<&str>,
    ) -> Result<OsseaVolume> {
        match (status, snapshot_id) {
            (SnapshotStatus::Creating, None) => {
                return Err(Error::invalid_argument("creating a snapshot needs its snapshot_id"))
            }
            (SnapshotStatus::Creating, Some(s)) => check_id("snapshot_id", s)?,
            (_, Some(_)) => {
                return Err(Error::invalid_argument(format!("snapshot_id is only given when creating (not {status})")))
            }
            _ => {}
        }
        self.write(|tx| {
            let now = self.now_ms();
            let volume = load_volume(tx, id)?;
            volume
                .snapshot_status
                .check_move(status)
                .map_err(|e| e.context(format!("volume {id} ({})", volume.volume_id)))?;
            let sql = match status {
                SnapshotStatus::Creating => {
                    "UPDATE ossea_volumes SET snapshot_status = ?2, snapshot_id = ?3, snapshot_created_at = ?4, \
                     updated_at = ?4 WHERE id = ?1"
                }
                SnapshotStatus::None => {
                    "UPDATE ossea_volumes SET snapshot_status = ?2, snapshot_id = NULL, snapshot_created_at = NULL, \
                     updated_at = ?4 WHERE id = ?1 AND ?3 IS NULL"
                }
                _ => "UPDATE ossea_volumes SET snapshot_status = ?2, updated_at = ?4 WHERE id = ?1 AND ?3 IS NULL",
            };
            tx.prepare_cached(sql)?.execute(params![id, status, snapshot_id, now])?;
            load_volume(tx, id)
        })
    }

    /// Link volume `id` to the disk row `disk_id` (`disk-2000`) of context `context_id`
    /// (`vm_disks.ossea_volume_id`). A volume of another context is CONFLICT; a volume of no
    /// context takes this one. NOT_FOUND for an unknown volume or disk row.
    pub fn ossea_volume_link_disk(&self, id: i64, context_id: &str, disk_id: &str) -> Result<OsseaVolume> {
        self.write(|tx| {
            let now = self.now_ms();
            let volume = load_volume(tx, id)?;
            if let Some(owner) = volume.vm_context_id.as_deref().filter(|o| *o != context_id) {
                return Err(Error::conflict(format!(
                    "volume {id} ({}) belongs to context {owner}, not {context_id}",
                    volume.volume_id
                )));
            }
            let linked = tx
                .prepare_cached(
                    "UPDATE vm_disks SET ossea_volume_id = ?1, updated_at = ?4 WHERE vm_context_id = ?2 AND disk_id = ?3",
                )?
                .execute(params![id, context_id, disk_id, now])?;
            if linked == 0 {
                context::load(&crate::store::Tx::new(tx), context_id)?;
                return Err(Error::not_found(format!("context {context_id} has no disk {disk_id:?}")));
            }
            if volume.vm_context_id.is_none() {
                tx.prepare_cached("UPDATE ossea_volumes SET vm_context_id = ?2, updated_at = ?3 WHERE id = ?1")?
                    .execute(params![id, context_id, now])?;
            }
            load_volume(tx, id)
        })
    }

    /// Forget a volume (its disk rows lose the link). Refused (CONFLICT) while a device
    /// mapping holds it.
    pub fn ossea_volume_delete(&self, id: i64) -> Result<()> {
        self.write(|tx| {
            let volume = load_volume(tx, id)?;
            let mapping: Option<String> = tx
                .prepare_cached("SELECT id FROM device_mappings WHERE volume_uuid = ?1")?
                .query_row([&volume.volume_id], |r| r.get(0))
                .optional()?;
            if let Some(m) = mapping {
                return Err(Error::conflict(format!(
                    "volume {id} ({}) is still mapped (device mapping {m}); detach it first",
                    volume.volume_id
                )));
            }
            tx.prepare_cached("DELETE FROM ossea_volumes WHERE id = ?1")?.execute([id])?;
            Ok(())
        })
    }
}

// ------------------------------------------------------------------------------------------
// Linstor configurations
// ------------------------------------------------------------------------------------------

/// A `linstor_configs` row without its secrets. JSON keys are the column names, plus
/// `sealed_with_key` (the key that sealed its API key or secret, if it has one).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinstorConfig {
    pub id: i64,
    pub name: String,
    pub api_url: String,
    pub api_port: i64,
    pub api_protocol: String,
    pub connection_timeout_seconds: i64,
    pub retry_attempts: i64,
    pub description: Option<String>,
    pub is_active: bool,
    pub sealed_with_key: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const LINSTOR_COLUMNS: &str = "id, name, api_url, api_port, api_protocol, connection_timeout_seconds, retry_attempts, \
    description, is_active, coalesce(api_key, api_secret) AS sealed, created_at, updated_at";

impl LinstorConfig {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<LinstorConfig> {
        let sealed: Option<String> = r.get("sealed")?;
        Ok(LinstorConfig {
            id: r.get("id")?,
            name: r.get("name")?,
            api_url: r.get("api_url")?,
            api_port: r.get("api_port")?,
            api_protocol: r.get("api_protocol")?,
            connection_timeout_seconds: r.get("connection_timeout_seconds")?,
            retry_attempts: r.get("retry_attempts")?,
            description: r.get("description")?,
            is_active: r.get("is_active")?,
            sealed_with_key: sealed.as_deref().and_then(envelope_key_id).map(str::to_string),
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
        })
    }
}

/// The secrets of a Linstor configuration, opened. Its `Debug` hides them.
#[derive(Clone, PartialEq, Serialize)]
pub struct LinstorSecrets {
    /// The controller API key, if set.
    pub api_key: Option<Zeroizing<String>>,
    /// The controller API secret, if set.
    pub api_secret: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for LinstorSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinstorSecrets { .. }")
    }
}

fn default_api_port() -> i64 {
    3370
}

fn default_protocol() -> String {
    "http".to_string()
}

fn default_timeout() -> i64 {
    30
}

fn default_retries() -> i64 {
    3
}

fn default_active() -> bool {
    true
}

/// A new Linstor configuration (JSON input of `sendense_linstor_config_create`): the column
/// names, with the schema's defaults (port 3370, http, 30 s, 3 retries, active).
#[allow(missing_docs)]
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLinstorConfig {
    pub name: String,
    pub api_url: String,
    #[serde(default = "default_api_port")]
    pub api_port: i64,
    #[serde(default = "default_protocol")]
    pub api_protocol: String,
    #[serde(default)]
    pub api_key: Option<Zeroizing<String>>,
    #[serde(default)]
    pub api_secret: Option<Zeroizing<String>>,
    #[serde(default = "default_timeout")]
    pub connection_timeout_seconds: i64,
    #[serde(default = "default_retries")]
    pub retry_attempts: i64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default = "default_active")]
    pub is_active: bool,
}

impl std::fmt::Debug for NewLinstorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewLinstorConfig").field("name", &self.name).field("api_url", &self.api_url).finish()
    }
}

impl NewLinstorConfig {
    fn validate(&self) -> Result<()> {
        check_name("name", &self.name)?;
        check_name("api_url", &self.api_url)?;
        if !(1..=65535).contains(&self.api_port) {
            return Err(Error::invalid_argument(format!("api_port {} is not a port (1-65535)", self.api_port)));
        }
        if !matches!(self.api_protocol.as_str(), "http" | "https") {
            return Err(Error::invalid_argument(format!("api_protocol {:?} is not http or https", self.api_protocol)));
        }
        if self.connection_timeout_seconds < 1 {
            return Err(Error::invalid_argument("connection_timeout_seconds must be at least 1"));
        }
        if self.retry_attempts < 0 {
            return Err(Error::invalid_argument("retry_attempts is negative"));
        }
        for (what, v) in [("api_key", &self.api_key), ("api_secret", &self.api_secret)] {
            if let Some(v) = v {
                check_secret(what, v)?;
            }
        }
        Ok(())
    }
}

fn load_linstor(conn: &Connection, id: i64) -> Result<LinstorConfig> {
    conn.prepare_cached(&format!("SELECT {LINSTOR_COLUMNS} FROM linstor_configs WHERE id = ?1"))?
        .query_row([id], LinstorConfig::from_row)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("Linstor configuration {id} does not exist")))
}

impl Store {
    /// Create a Linstor configuration, its API key and secret (when given) sealed with the
    /// store's key; returns its id. A taken name is ALREADY_EXISTS.
    pub fn linstor_config_create(&self, new: &NewLinstorConfig) -> Result<i64> {
        new.validate()?;
        let seal = |column: &str, v: &Option<Zeroizing<String>>| -> Result<Option<String>> {
            v.as_ref().map(|v| self.seal(column, v)).transpose()
        };
        let api_key = seal("linstor_configs.api_key", &new.api_key)?;
        let api_secret = seal("linstor_configs.api_secret", &new.api_secret)?;
        self.write(|tx| {
            let now = self.now_ms();
            name_taken(tx, "linstor_configs", "Linstor configuration", &new.name, None)?;
            tx.prepare_cached(
                "INSERT INTO linstor_configs (name, api_url, api_port, api_protocol, api_key, api_secret, \
                 connection_timeout_seconds, retry_attempts, description, created_at, updated_at, is_active) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)",
            )?
            .execute(params![
                new.name,
                new.api_url,
                new.api_port,
                new.api_protocol,
                api_key,
                api_secret,
                new.connection_timeout_seconds,
                new.retry_attempts,
                new.description,
                now,
                new.is_active
            ])?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// The Linstor configuration with this id, without its secrets.
    pub fn linstor_config_get(&self, id: i64) -> Result<LinstorConfig> {
        self.read(|tx| load_linstor(tx, id))
    }

    /// The opened API key and secret of a Linstor configuration.
    pub fn linstor_config_secrets(&self, id: i64) -> Result<LinstorSecrets> {
        let (api_key, api_secret): (Option<String>, Option<String>) = self.read(|tx| {
            load_linstor(tx, id)?;
            Ok(tx
                .prepare_cached("SELECT api_key, api_secret FROM linstor_configs WHERE id = ?1")?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?)
        })?;
        Ok(LinstorSecrets {
            api_key: api_key.map(|v| self.unseal("linstor_configs.api_key", &v)).transpose()?,
            api_secret: api_secret.map(|v| self.unseal("linstor_configs.api_secret", &v)).transpose()?,
        })
    }

    /// Every Linstor configuration, by name.
    pub fn linstor_config_list(&self) -> Result<Vec<LinstorConfig>> {
        self.read(|tx| {
            let mut stmt =
                tx.prepare_cached(&format!("SELECT {LINSTOR_COLUMNS} FROM linstor_configs ORDER BY name, id"))?;
            let rows = stmt.query_map([], LinstorConfig::from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Delete a Linstor configuration (failover jobs naming it lose the reference).
    pub fn linstor_config_delete(&self, id: i64) -> Result<()> {
        self.write(|tx| {
            require_row(tx, "linstor_configs", "id", &id, &format!("Linstor configuration {id}"))?;
            tx.prepare_cached("DELETE FROM linstor_configs WHERE id = ?1")?.execute([id])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_and_snapshot_machines_have_exactly_the_documented_edges() {
        use VolumeStatus as V;
        let allowed = [
            (V::Creating, V::Available),
            (V::Creating, V::Error),
            (V::Available, V::Attached),
            (V::Available, V::Error),
            (V::Attached, V::Detached),
            (V::Attached, V::Error),
            (V::Detached, V::Attached),
            (V::Detached, V::Available),
            (V::Detached, V::Error),
            (V::Error, V::Available),
        ];
        for from in V::ALL {
            for to in V::ALL {
                assert_eq!(from.can_move_to(*to), allowed.contains(&(*from, *to)), "{from} -> {to}");
            }
        }
        use SnapshotStatus as S;
        let allowed = [
            (S::None, S::Creating),
            (S::Creating, S::Ready),
            (S::Creating, S::Failed),
            (S::Ready, S::RollbackComplete),
            (S::Ready, S::None),
            (S::RollbackComplete, S::None),
            (S::Failed, S::None),
        ];
        for from in S::ALL {
            for to in S::ALL {
                assert_eq!(from.can_move_to(*to), allowed.contains(&(*from, *to)), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn inputs_are_validated() {
        let ok = NewOsseaConfig::new("main", "https://cloud/api", "k", "s", "zone-1");
        assert!(ok.validate().is_ok());
        let e = NewOsseaConfig { api_url: "ftp://x".into(), ..ok.clone() }.validate().unwrap_err();
        assert!(e.message().contains("api_url"), "{e}");
        let e = NewOsseaConfig { api_key: Zeroizing::new(String::new()), ..ok.clone() }.validate().unwrap_err();
        assert_eq!(e.message(), "api_key is empty");
        let e = NewOsseaConfig { zone: " ".into(), ..ok.clone() }.validate().unwrap_err();
        assert!(e.message().contains("zone"), "{e}");
        assert!(!format!("{ok:?}").contains("\"k\""), "Debug hides the secrets");
        let v = NewOsseaVolume::new("vol-1", "migration-vm-disk-0", 0);
        assert!(v.validate().unwrap_err().message().contains("size_gb"));
    }
}
