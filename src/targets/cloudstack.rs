//! CloudStack ("OSSEA") configurations and volumes (docs/DOMAIN.md section 5; docs/SCHEMA.md
//! section 3). Linstor configurations, which share the configuration rules on secrets and
//! names, are in `linstor.rs`.
//!
//! Rules enforced here:
//! - the API keys and secrets of a configuration are stored only sealed ([`crate::store::secret`]):
//!   creating or changing one needs a store opened with a secret key, and the JSON read-outs
//!   never carry them ([`Store::ossea_config_secrets`] hands them out explicitly); they are
//!   sealed inside the write transaction, bound to their row, with the store's current key;
//! - `api_url` carries no user name or password (INVALID_ARGUMENT, without repeating it);
//! - a configuration name is unique: a taken one is ALREADY_EXISTS naming the holder;
//! - at most one CloudStack configuration is active: activating one deactivates the others in
//!   the same transaction (the partial unique index is the backstop);
//! - a configuration that volumes or replication jobs reference cannot be deleted (CONFLICT
//!   naming how many);
//! - volumes move through creating -> available -> attached -> detached (and error) only along
//!   [`VolumeStatus::can_move_to`], and their snapshot tracking along
//!   [`SnapshotStatus::can_move_to`]: none -> creating -> ready | failed; ready ->
//!   rollback_complete -> none; a failed or ready snapshot may also be cleared to none;
//! - a volume is linked to the disk row of its own context only;
//! - a volume's row follows its device mapping ([`volume_follows_mapping`], called by
//!   `device.rs` inside the mapping's transaction): an attach makes it attached (only from
//!   available, detached or attached: a creating or error volume is INVALID_STATE), with the
//!   hub device path in oma mode and none in failover mode (attached to the failover VM);
//!   a path change or mode switch carries the path; a detach makes it detached.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{echo, Error, Result};
use crate::replication::context;
use crate::store::query::update_columns;
use crate::store::secret::{envelope_key_id, Slot};
use crate::store::{Param, Record, Row, Store, Tx};
use crate::value::{check_id, check_name, present, Timestamp};
use crate::{params, record, string_enum};

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

/// The columns in field order, the sealed `api_key` standing for `sealed_with_key` (the key id
/// is read from its envelope; the secret itself never leaves the row reader).
impl Record for OsseaConfig {
    const TABLE: &'static str = "ossea_configs";
    const COLUMNS: &'static str = "id, name, api_url, domain, zone, template_id, network_id, \
        service_offering_id, disk_offering_id, oma_vm_id, is_active, api_key, created_at, updated_at";

    fn from_row(r: &Row<'_>) -> Result<OsseaConfig> {
        let sealed: String = r.get(11)?;
        Ok(OsseaConfig {
            id: r.get(0)?,
            name: r.get(1)?,
            api_url: r.get(2)?,
            domain: r.get(3)?,
            zone: r.get(4)?,
            template_id: r.get(5)?,
            network_id: r.get(6)?,
            service_offering_id: r.get(7)?,
            disk_offering_id: r.get(8)?,
            oma_vm_id: r.get(9)?,
            is_active: r.get(10)?,
            sealed_with_key: envelope_key_id(&sealed).map(str::to_string),
            created_at: r.get(12)?,
            updated_at: r.get(13)?,
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
    check_no_userinfo(what, url)?;
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !url.chars().any(char::is_whitespace) => Ok(()),
        _ => Err(Error::invalid_argument(format!("{what} {:?} is not an http:// or https:// URL", echo(url)))),
    }
}

/// Refuse a URL (or a `host[:port]`) that carries a user name or password (`user:password@host`
/// before the path): credentials belong in the sealed columns. The message does not repeat the
/// URL, which would echo them.
pub(super) fn check_no_userinfo(what: &str, url: &str) -> Result<()> {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(Error::invalid_argument(format!(
            "{what} must not carry a user name or password (user:password@host): give the credentials in \
             the secret fields, which are sealed (the value is not repeated here)"
        )));
    }
    Ok(())
}

/// The secret `columns` of row `id` of `table` that are given a value, sealed (bound to the
/// row) inside the write transaction `tx`, as assignments for `update_columns`.
pub(super) fn sealed_columns(
    store: &Store,
    tx: &Tx<'_>,
    table: &'static str,
    id: i64,
    columns: [(&'static str, Option<&Zeroizing<String>>); 2],
) -> Result<Vec<(&'static str, Box<dyn Param>)>> {
    let mut set: Vec<(&'static str, Box<dyn Param>)> = Vec::new();
    for (column, value) in columns {
        if let Some(plain) = value {
            set.push((column, Box::new(store.seal_in(tx, Slot { table, column, row: id }, plain)?)));
        }
    }
    Ok(set)
}

pub(super) fn check_secret(what: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid_argument(format!("{what} is empty")));
    }
    Ok(())
}

/// A UNIQUE violation on a configuration name (of `table`, other than row `except`) as
/// ALREADY_EXISTS naming the holder.
pub(super) fn name_taken(tx: &Tx<'_>, table: &str, what: &str, name: &str, except: Option<i64>) -> Result<()> {
    let holder: Option<i64> = tx.optional(
        &format!("SELECT id FROM {table} WHERE name = :name AND id IS NOT :except"),
        params![name, except],
        |r| r.get(0),
    )?;
    match holder {
        Some(id) => Err(Error::already_exists(format!("{what} {id} is already named {:?}", echo(name)))),
        None => Ok(()),
    }
}

pub(crate) fn load_ossea_config(tx: &Tx<'_>, id: i64) -> Result<OsseaConfig> {
    tx.record("WHERE id = :id", params![id])?
        .ok_or_else(|| Error::not_found(format!("CloudStack configuration {id} does not exist")))
}

impl Store {
    /// Create a CloudStack configuration, its API key and secret sealed with the store's key
    /// (SECRET_KEY when the store has none, or when it is not the store's current key); returns
    /// its id. A taken name is ALREADY_EXISTS.
    /// Safe to retry after [`crate::Status::CommitUnknown`]: when the first call was applied,
    /// the retry is ALREADY_EXISTS naming the configuration.
    pub fn ossea_config_create(&self, new: &NewOsseaConfig) -> Result<i64> {
        new.validate()?;
        self.writing(|tx| {
            let now = self.now_ms();
            name_taken(tx, "ossea_configs", "CloudStack configuration", &new.name, None)?;
            if new.is_active {
                tx.execute(
                    "UPDATE ossea_configs SET is_active = 0, updated_at = :now WHERE is_active = 1",
                    params![now],
                )?;
            }
            tx.execute(
                "INSERT INTO ossea_configs (name, api_url, api_key, secret_key, domain, zone, template_id, network_id, \
                 service_offering_id, disk_offering_id, oma_vm_id, created_at, updated_at, is_active) \
                 VALUES (:name, :api_url, '', '', :domain, :zone, :template_id, :network_id, \
                 :service_offering_id, :disk_offering_id, :oma_vm_id, :now, :now, :is_active)",
                params![
                    name = new.name,
                    api_url = new.api_url,
                    domain = new.domain,
                    zone = new.zone,
                    template_id = new.template_id,
                    network_id = new.network_id,
                    service_offering_id = new.service_offering_id,
                    disk_offering_id = new.disk_offering_id,
                    oma_vm_id = new.oma_vm_id,
                    now,
                    is_active = new.is_active
                ],
            )?;
            let id = tx.last_insert_rowid();
            let secrets = [("api_key", Some(&new.api_key)), ("secret_key", Some(&new.secret_key))];
            update_columns(tx, "ossea_configs", &id, now, &sealed_columns(self, tx, "ossea_configs", id, secrets)?)?;
            Ok(id)
        })
    }

    /// The configuration with this id, without its secrets.
    pub fn ossea_config_get(&self, id: i64) -> Result<OsseaConfig> {
        self.reading(|tx| load_ossea_config(tx, id))
    }

    /// The opened API key and secret of a configuration (SECRET_KEY when they cannot be opened).
    pub fn ossea_config_secrets(&self, id: i64) -> Result<OsseaSecrets> {
        let (api_key, secret_key): (String, String) = self.reading(|tx| {
            load_ossea_config(tx, id)?;
            tx.one("SELECT api_key, secret_key FROM ossea_configs WHERE id = :id", params![id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })?;
        Ok(OsseaSecrets {
            api_key: self.unseal(Slot { table: "ossea_configs", column: "api_key", row: id }, &api_key)?,
            secret_key: self.unseal(Slot { table: "ossea_configs", column: "secret_key", row: id }, &secret_key)?,
        })
    }

    /// Every configuration, by name.
    pub fn ossea_config_list(&self) -> Result<Vec<OsseaConfig>> {
        self.reading(|tx| tx.records("ORDER BY name, id", params![]))
    }

    /// The active configuration, if one is.
    pub fn ossea_config_active(&self) -> Result<Option<OsseaConfig>> {
        self.reading(|tx| tx.record("WHERE is_active = 1", params![]))
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
        let secrets = [("api_key", update.api_key.as_ref()), ("secret_key", update.secret_key.as_ref())];
        for (column, value) in secrets {
            if let Some(v) = value {
                check_secret(column, v)?;
            }
        }
        let mut set: Vec<(&'static str, Box<dyn Param>)> = Vec::new();
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
        self.writing(|tx| {
            let now = self.now_ms();
            load_ossea_config(tx, id)?;
            if let Some(name) = &update.name {
                name_taken(tx, "ossea_configs", "CloudStack configuration", name, Some(id))?;
            }
            set.extend(sealed_columns(self, tx, "ossea_configs", id, secrets)?);
            update_columns(tx, "ossea_configs", &id, now, &set)?;
            load_ossea_config(tx, id)
        })
    }

    /// Make configuration `id` the active one and every other inactive, in one transaction.
    pub fn ossea_config_activate(&self, id: i64) -> Result<OsseaConfig> {
        self.writing(|tx| {
            let now = self.now_ms();
            load_ossea_config(tx, id)?;
            tx.execute(
                "UPDATE ossea_configs SET is_active = 0, updated_at = :now WHERE is_active = 1 AND id <> :id",
                params![id, now],
            )?;
            tx.execute(
                "UPDATE ossea_configs SET is_active = 1, updated_at = :now WHERE id = :id AND is_active = 0",
                params![id, now],
            )?;
            load_ossea_config(tx, id)
        })
    }

    /// Delete a configuration. Refused (CONFLICT naming how many) while volumes or replication
    /// jobs reference it; contexts that name it lose the reference.
    pub fn ossea_config_delete(&self, id: i64) -> Result<()> {
        self.writing(|tx| {
            load_ossea_config(tx, id)?;
            let (volumes, jobs): (i64, i64) = tx.one(
                "SELECT (SELECT count(*) FROM ossea_volumes WHERE ossea_config_id = :id), \
                        (SELECT count(*) FROM replication_jobs WHERE ossea_config_id = :id)",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if volumes + jobs > 0 {
                return Err(Error::conflict(format!(
                    "CloudStack configuration {id} is used by {volumes} volume(s) and {jobs} replication job(s); \
                     move or delete them first"
                )));
            }
            tx.execute("DELETE FROM ossea_configs WHERE id = :id", params![id])?;
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

record! {
    /// An `ossea_volumes` row. JSON keys are the column names.
    #[allow(missing_docs)]
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct OsseaVolume in "ossea_volumes" {
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

pub(crate) fn load_volume(tx: &Tx<'_>, id: i64) -> Result<OsseaVolume> {
    tx.record("WHERE id = :id", params![id])?.ok_or_else(|| Error::not_found(format!("volume {id} does not exist")))
}

/// Where a mapping change leaves its volume ([`volume_follows_mapping`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VolumeLink<'a> {
    /// Mapped: to the hub at this device path (oma mode), or to a failover VM (`None`).
    Attached(Option<&'a str>),
    /// The mapping was removed.
    Detached,
}

/// Bring the `ossea_volumes` row of `volume_uuid` (if the volume is recorded) in line with a
/// change of its mapping, inside the mapping's transaction: see the module's rules.
pub(crate) fn volume_follows_mapping(tx: &Tx<'_>, volume_uuid: &str, link: VolumeLink<'_>, now: i64) -> Result<()> {
    let Some(volume) = tx.record::<OsseaVolume>("WHERE volume_id = :volume_uuid", params![volume_uuid])? else {
        return Ok(());
    };
    let (status, device_path) = match link {
        VolumeLink::Attached(path) => {
            if volume.status != VolumeStatus::Attached && !volume.status.can_move_to(VolumeStatus::Attached) {
                return Err(Error::invalid_state(format!(
                    "volume {} (row {}) is {}: it cannot be attached until it is available",
                    echo(volume_uuid),
                    volume.id,
                    volume.status
                )));
            }
            (VolumeStatus::Attached, path)
        }
        VolumeLink::Detached if volume.status == VolumeStatus::Attached => (VolumeStatus::Detached, None),
        VolumeLink::Detached => return Ok(()),
    };
    tx.execute(
        "UPDATE ossea_volumes SET status = :status, device_path = :device_path, updated_at = :now WHERE id = :id",
        params![id = volume.id, status, device_path, now],
    )?;
    Ok(())
}

impl Store {
    /// Record a CloudStack volume; returns its row id. The context and configuration, when
    /// given, must exist (NOT_FOUND); a volume_id already recorded is ALREADY_EXISTS.
    /// A taken `volume_id` is ALREADY_EXISTS naming it, so it is safe to retry after
    /// [`crate::Status::CommitUnknown`].
    pub fn ossea_volume_create(&self, new: &NewOsseaVolume) -> Result<i64> {
        new.validate()?;
        self.writing(|tx| {
            let now = self.now_ms();
            if let Some(c) = &new.vm_context_id {
                context::load(tx, c)?;
            }
            if let Some(c) = new.ossea_config_id {
                load_ossea_config(tx, c)?;
            }
            let volume_id = &new.volume_id;
            let taken: Option<i64> =
                tx.optional("SELECT id FROM ossea_volumes WHERE volume_id = :volume_id", params![volume_id], |r| {
                    r.get(0)
                })?;
            if let Some(row) = taken {
                return Err(Error::already_exists(format!("volume {} is already recorded as row {row}", echo(&new.volume_id))));
            }
            tx.execute(
                "INSERT INTO ossea_volumes (vm_context_id, volume_id, volume_name, size_gb, ossea_config_id, volume_type, \
                 status, created_at, updated_at) VALUES (:vm_context_id, :volume_id, :volume_name, :size_gb, \
                 :ossea_config_id, :volume_type, :status, :now, :now)",
                params![
                    vm_context_id = new.vm_context_id,
                    volume_id,
                    volume_name = new.volume_name,
                    size_gb = new.size_gb,
                    ossea_config_id = new.ossea_config_id,
                    volume_type = new.volume_type,
                    status = new.status.unwrap_or(VolumeStatus::Creating),
                    now
                ],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// The volume with row id `id`.
    pub fn ossea_volume_get(&self, id: i64) -> Result<OsseaVolume> {
        self.reading(|tx| load_volume(tx, id))
    }

    /// The volume with CloudStack id `volume_id`.
    pub fn ossea_volume_find(&self, volume_id: &str) -> Result<OsseaVolume> {
        self.reading(|tx| {
            tx.record("WHERE volume_id = :volume_id", params![volume_id])?
                .ok_or_else(|| Error::not_found(format!("volume {:?} does not exist", echo(volume_id))))
        })
    }

    /// The volumes of a context (NOT_FOUND for an unknown one), or every volume; by row id.
    pub fn ossea_volume_list(&self, context_id: Option<&str>) -> Result<Vec<OsseaVolume>> {
        self.reading(|tx| match context_id {
            Some(context_id) => {
                context::load(tx, context_id)?;
                tx.records("WHERE vm_context_id = :context_id ORDER BY id", params![context_id])
            }
            None => tx.records("ORDER BY id", params![]),
        })
    }

    /// Move a volume to `status` along [`VolumeStatus::can_move_to`] (INVALID_STATE otherwise).
    /// `device_path` is the hub device while attached (required for attached, refused for the
    /// other statuses, which clear it). Attach, detach and mode switches of the volume's device
    /// mapping already move its row; repeating the status and path it has is a no-op.
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
        self.writing(|tx| {
            let now = self.now_ms();
            let volume = load_volume(tx, id)?;
            // A repeat of the current status and path (a caller that still marks the volume
            // after an attach or detach, or a retry) changes nothing.
            if volume.status == status && volume.device_path.as_deref() == device_path {
                return Ok(volume);
            }
            if !volume.status.can_move_to(status) {
                return Err(Error::invalid_state(format!(
                    "volume {id} ({}) cannot move from {} to {status}",
                    volume.volume_id, volume.status
                )));
            }
            tx.execute(
                "UPDATE ossea_volumes SET status = :status, device_path = :device_path, updated_at = :now WHERE id = :id",
                params![id, status, device_path, now],
            )?;
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
        self.writing(|tx| {
            let now = self.now_ms();
            let volume = load_volume(tx, id)?;
            volume
                .snapshot_status
                .check_move(status)
                .map_err(|e| e.context(format!("volume {id} ({})", volume.volume_id)))?;
            let sql = match status {
                SnapshotStatus::Creating => {
                    "UPDATE ossea_volumes SET snapshot_status = :status, snapshot_id = :snapshot_id, \
                     snapshot_created_at = :now, updated_at = :now WHERE id = :id"
                }
                SnapshotStatus::None => {
                    "UPDATE ossea_volumes SET snapshot_status = :status, snapshot_id = NULL, snapshot_created_at = NULL, \
                     updated_at = :now WHERE id = :id AND :snapshot_id IS NULL"
                }
                _ => {
                    "UPDATE ossea_volumes SET snapshot_status = :status, updated_at = :now \
                     WHERE id = :id AND :snapshot_id IS NULL"
                }
            };
            tx.execute(sql, params![id, status, snapshot_id, now])?;
            load_volume(tx, id)
        })
    }

    /// Link volume `id` to the disk row `disk_id` (`disk-2000`) of context `context_id`
    /// (`vm_disks.ossea_volume_id`). A volume of another context is CONFLICT; a volume of no
    /// context takes this one. NOT_FOUND for an unknown volume or disk row.
    pub fn ossea_volume_link_disk(&self, id: i64, context_id: &str, disk_id: &str) -> Result<OsseaVolume> {
        self.writing(|tx| {
            let now = self.now_ms();
            let volume = load_volume(tx, id)?;
            if let Some(owner) = volume.vm_context_id.as_deref().filter(|o| *o != context_id) {
                return Err(Error::conflict(format!(
                    "volume {id} ({}) belongs to context {owner}, not {context_id}",
                    volume.volume_id,
                    context_id = echo(context_id)
                )));
            }
            let linked = tx.execute(
                "UPDATE vm_disks SET ossea_volume_id = :id, updated_at = :now \
                 WHERE vm_context_id = :context_id AND disk_id = :disk_id",
                params![id, context_id, disk_id, now],
            )?;
            if linked == 0 {
                context::load(tx, context_id)?;
                return Err(Error::not_found(format!("context {context_id} has no disk {:?}", echo(disk_id))));
            }
            if volume.vm_context_id.is_none() {
                tx.execute(
                    "UPDATE ossea_volumes SET vm_context_id = :context_id, updated_at = :now WHERE id = :id",
                    params![id, context_id, now],
                )?;
            }
            load_volume(tx, id)
        })
    }

    /// Forget a volume (its disk rows lose the link). Refused (CONFLICT) while a device
    /// mapping holds it.
    pub fn ossea_volume_delete(&self, id: i64) -> Result<()> {
        self.writing(|tx| {
            let volume = load_volume(tx, id)?;
            let mapping: Option<String> = tx.optional(
                "SELECT id FROM device_mappings WHERE volume_uuid = :volume_id",
                params![volume_id = volume.volume_id],
                |r| r.get(0),
            )?;
            if let Some(m) = mapping {
                return Err(Error::conflict(format!(
                    "volume {id} ({}) is still mapped (device mapping {m}); detach it first",
                    volume.volume_id
                )));
            }
            tx.execute("DELETE FROM ossea_volumes WHERE id = :id", params![id])?;
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
