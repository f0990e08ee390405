//! Backup repositories (docs/DOMAIN.md section 4).
//!
//! Rules enforced here:
//! - a repository's `config` is validated against its type ([`validate_config`]): the
//!   required keys, the optional keys, their types; any other key is refused by name. Secrets
//!   are never stored: a cifs/smb repository names its password through `password_ref`;
//! - `is_immutable` requires an `immutable_config` ([`ImmutableConfig`]), and immutability
//!   cannot be switched off while the repository holds backups;
//! - a repository that holds backups (backup jobs stored in it, or backup copies placed in
//!   it) cannot be deleted (CONFLICT naming how many), nor one a policy uses as its primary
//!   repository or as a copy destination (CONFLICT naming the policy), nor one a backup chain
//!   lives in.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{echo, Error, Result};
use crate::store::query::{update_columns, Select};
use crate::store::{Param, Store, Tx};
use crate::value::{check_id, check_name, check_non_negative, new_id, present, Timestamp};
use crate::{params, record, string_enum};

string_enum! {
    /// The storage backend of a repository (`backup_repositories.repository_type`).
    pub enum RepositoryType: "repository type" {
        /// A directory on the appliance.
        Local = "local",
        /// An NFS export.
        Nfs = "nfs",
        /// A CIFS share.
        Cifs = "cifs",
        /// An SMB share.
        Smb = "smb",
        /// An S3 (or S3-compatible) bucket.
        S3 = "s3",
        /// An Azure Blob Storage container.
        Azure = "azure",
    }
}

/// The kind of value a config key holds.
#[derive(Clone, Copy)]
enum Kind {
    /// A non-empty string without control characters.
    Text,
    /// An absolute path (a `Text` starting with `/`).
    AbsolutePath,
    /// An `http://` or `https://` URL.
    Url,
}

/// (key, kind, required) of every key a config of this type may hold.
fn config_keys(repository_type: RepositoryType) -> &'static [(&'static str, Kind, bool)] {
    use Kind::*;
    match repository_type {
        RepositoryType::Local => &[("path", AbsolutePath, true)],
        RepositoryType::Nfs => {
            &[("server", Text, true), ("export_path", AbsolutePath, true), ("mount_options", Text, false)]
        }
        RepositoryType::Cifs | RepositoryType::Smb => &[
            ("server", Text, true),
            ("share", Text, true),
            ("username", Text, false),
            ("password_ref", Text, false),
            ("domain", Text, false),
            ("mount_options", Text, false),
        ],
        RepositoryType::S3 => {
            &[("region", Text, true), ("bucket", Text, true), ("endpoint", Url, false), ("prefix", Text, false)]
        }
        RepositoryType::Azure => &[("account", Text, true), ("container", Text, true), ("prefix", Text, false)],
    }
}

fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Validate a repository config against its type; INVALID_ARGUMENT naming the key otherwise.
///
/// The config is a JSON object with these keys (all values strings, never null; an optional
/// key is left out rather than set to null):
///
/// | type | required | optional |
/// |---|---|---|
/// | local | `path` (absolute) | |
/// | nfs | `server`, `export_path` (absolute) | `mount_options` |
/// | cifs, smb | `server`, `share` | `username`, `password_ref` (a reference to a secret held elsewhere, never the password), `domain`, `mount_options` |
/// | s3 | `region`, `bucket` | `endpoint` (`http://` or `https://` URL), `prefix` |
/// | azure | `account`, `container` | `prefix` |
///
/// Any other key is refused by name.
pub fn validate_config(repository_type: RepositoryType, config: &Value) -> Result<()> {
    let what = format!("{repository_type} repository config");
    let object = config.as_object().ok_or_else(|| {
        Error::invalid_argument(format!("{what} must be a JSON object (got {})", json_type_name(config)))
    })?;
    let keys = config_keys(repository_type);
    let allowed = || keys.iter().map(|(k, _, _)| *k).collect::<Vec<_>>().join(", ");
    for key in object.keys() {
        if !keys.iter().any(|(k, _, _)| k == key) {
            return Err(Error::invalid_argument(format!(
                "{what}: unknown key {:?} (allowed: {})",
                echo(key),
                allowed()
            )));
        }
    }
    for (key, kind, required) in keys {
        match object.get(*key) {
            None if *required => {
                return Err(Error::invalid_argument(format!("{what}: {key} is required")));
            }
            None => {}
            Some(value) => check_config_value(&what, key, *kind, value)?,
        }
    }
    Ok(())
}

fn check_config_value(what: &str, key: &str, kind: Kind, value: &Value) -> Result<()> {
    let s = value.as_str().ok_or_else(|| {
        Error::invalid_argument(format!("{what}: {key} must be a string (got {})", json_type_name(value)))
    })?;
    if s.trim().is_empty() {
        return Err(Error::invalid_argument(format!("{what}: {key} is empty")));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::invalid_argument(format!("{what}: {key} contains a control character")));
    }
    match kind {
        Kind::Text => Ok(()),
        Kind::AbsolutePath if s.starts_with('/') => Ok(()),
        Kind::AbsolutePath => {
            Err(Error::invalid_argument(format!("{what}: {key} must be an absolute path (got {:?})", echo(s))))
        }
        Kind::Url if s.starts_with("https://") || s.starts_with("http://") => Ok(()),
        Kind::Url => Err(Error::invalid_argument(format!(
            "{what}: {key} must be an http:// or https:// URL (got {:?})",
            echo(s)
        ))),
    }
}

/// The lock settings of an immutable repository (`backup_repositories.immutable_config`).
/// Every key is required; unknown keys are refused. A backup is locked from its completion
/// plus `grace_period_days` until its completion plus `min_retention_days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImmutableConfig {
    /// Days after completion before the lock starts (>= 0, at most `min_retention_days`).
    pub grace_period_days: i64,
    /// Whether full backups are locked.
    pub apply_to_fulls: bool,
    /// Whether incremental (and differential) backups are locked.
    pub apply_to_incrementals: bool,
    /// Days after completion until the lock ends (>= 0).
    pub min_retention_days: i64,
}

impl ImmutableConfig {
    /// Parse and validate an `immutable_config` JSON value.
    pub fn from_value(value: &Value) -> Result<ImmutableConfig> {
        let config: ImmutableConfig = serde_json::from_value(value.clone())
            .map_err(|e| Error::invalid_argument(format!("immutable_config: {}", echo(&e.to_string()))))?;
        config.validate()?;
        Ok(config)
    }

    /// Non-negative day counts, and a lock window that is not empty by construction.
    pub fn validate(&self) -> Result<()> {
        for (key, v) in [("grace_period_days", self.grace_period_days), ("min_retention_days", self.min_retention_days)]
        {
            if v < 0 {
                return Err(Error::invalid_argument(format!("immutable_config: {key} is negative ({v})")));
            }
        }
        if self.grace_period_days > self.min_retention_days {
            return Err(Error::invalid_argument(format!(
                "immutable_config: grace_period_days ({}) exceeds min_retention_days ({}), so nothing would ever be locked",
                self.grace_period_days, self.min_retention_days
            )));
        }
        Ok(())
    }

    fn to_json_text(self) -> String {
        serde_json::to_string(&self).expect("serialising an ImmutableConfig cannot fail")
    }
}

record! {
    /// A `backup_repositories` row. Fields and JSON keys are the column names; `config` and
    /// `immutable_config` are embedded JSON values.
    #[allow(missing_docs)]
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct Repository in "backup_repositories" {
        pub id: String,
        pub name: String,
        pub repository_type: RepositoryType,
        pub enabled: bool,
        pub config: Value as json,
        pub is_immutable: bool,
        pub immutable_config: Option<Value> as json,
        pub min_retention_days: i64,
        pub total_size_bytes: i64,
        pub used_size_bytes: i64,
        pub available_size_bytes: i64,
        pub last_check_at: Option<Timestamp>,
        pub created_at: Timestamp,
        pub updated_at: Timestamp,
    }
}

impl Repository {
    /// Where a point of disk `disk_id` of `context_id` with id `point_id` lives in this
    /// repository when its start names no path: `<root>/<context>/disk-<n>/<point>.qcow2`,
    /// the incumbent's layout, with the root written in the repository type's own notation:
    /// `local` its `path`; `nfs` `<server>:<export_path>`; `cifs`/`smb` `//<server>/<share>`;
    /// `s3` `s3://<bucket>[/<prefix>]`; `azure`
    /// `https://<account>.blob.core.windows.net/<container>[/<prefix>]`. A network share's
    /// mount point on the appliance is not part of its config, so a worker writing through a
    /// mount maps the remote root onto it (or the caller gives `repository_path`). A config
    /// without the key its type requires (only rows written around the library) is INTERNAL
    /// naming the repository and the key.
    pub fn point_location(&self, context_id: &str, disk_id: i64, point_id: &str) -> Result<String> {
        let key = |k: &str| {
            self.config.get(k).and_then(Value::as_str).ok_or_else(|| {
                Error::internal(format!("repository {} ({}) has no {k} in its config", self.id, self.repository_type))
            })
        };
        let trimmed = |k: &str| key(k).map(|v| v.trim_end_matches('/').to_string());
        let prefix = || match self.config.get("prefix").and_then(Value::as_str).map(|p| p.trim_matches('/')) {
            Some(p) if !p.is_empty() => format!("/{p}"),
            _ => String::new(),
        };
        let root = match self.repository_type {
            RepositoryType::Local => trimmed("path")?,
            RepositoryType::Nfs => format!("{}:{}", key("server")?, trimmed("export_path")?),
            RepositoryType::Cifs | RepositoryType::Smb => {
                format!("//{}/{}", key("server")?, key("share")?.trim_matches('/'))
            }
            RepositoryType::S3 => format!("s3://{}{}", key("bucket")?, prefix()),
            RepositoryType::Azure => {
                format!("https://{}.blob.core.windows.net/{}{}", key("account")?, key("container")?, prefix())
            }
        };
        Ok(format!("{root}/{context_id}/disk-{disk_id}/{point_id}.qcow2"))
    }

    /// The parsed lock settings, when the repository has them.
    pub fn immutable(&self) -> Result<Option<ImmutableConfig>> {
        self.immutable_config.as_ref().map(ImmutableConfig::from_value).transpose()
    }
}

/// A new repository (JSON input of `sendense_repository_create`): the columns of the same
/// name. `id` is generated (UUIDv7) unless given; `enabled` defaults to true, `is_immutable`
/// to false, `min_retention_days` to 0. Capacity figures are recorded separately.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRepository {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    pub repository_type: RepositoryType,
    #[serde(default = "default_true")]
    pub enabled: bool,
    pub config: Value,
    #[serde(default)]
    pub is_immutable: bool,
    #[serde(default)]
    pub immutable_config: Option<ImmutableConfig>,
    #[serde(default)]
    pub min_retention_days: i64,
}

pub(super) fn default_true() -> bool {
    true
}

impl NewRepository {
    /// A new enabled, mutable repository with a generated id.
    pub fn new(name: impl Into<String>, repository_type: RepositoryType, config: Value) -> NewRepository {
        NewRepository {
            id: None,
            name: name.into(),
            repository_type,
            enabled: true,
            config,
            is_immutable: false,
            immutable_config: None,
            min_retention_days: 0,
        }
    }

    fn validate(&self) -> Result<()> {
        if let Some(id) = &self.id {
            check_id("repository id", id)?;
        }
        check_name("repository name", &self.name)?;
        validate_config(self.repository_type, &self.config)?;
        check_immutable(self.is_immutable, self.immutable_config.as_ref())?;
        non_negative("min_retention_days", self.min_retention_days)
    }
}

/// A count or a size: >= 0, else INVALID_ARGUMENT naming it.
pub(super) fn non_negative(name: &str, value: i64) -> Result<()> {
    check_non_negative(&[(name, value)])
}

/// `is_immutable` needs lock settings, and the settings must be valid.
fn check_immutable(is_immutable: bool, config: Option<&ImmutableConfig>) -> Result<()> {
    if let Some(c) = config {
        c.validate()?;
    }
    if is_immutable && config.is_none() {
        return Err(Error::invalid_argument("is_immutable requires an immutable_config"));
    }
    Ok(())
}

/// A change of a repository (JSON input of `sendense_repository_update`). An absent key leaves
/// the column alone; `immutable_config: null` clears it (refused while `is_immutable`). The
/// type cannot change; a new `config` is validated against the repository's type. Enabling
/// and capacity have their own operations.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepositoryUpdate {
    #[serde(default, deserialize_with = "present")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub config: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub is_immutable: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub immutable_config: Option<Option<ImmutableConfig>>,
    #[serde(default, deserialize_with = "present")]
    pub min_retention_days: Option<i64>,
}

/// Which repositories [`Store::repository_list`] returns; ordered by name, then id.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepositoryFilter {
    #[serde(default)]
    pub repository_type: Option<RepositoryType>,
    #[serde(default, deserialize_with = "present")]
    pub enabled: Option<bool>,
}

/// Load a repository inside a transaction; NOT_FOUND naming the id.
pub(crate) fn load_repository(tx: &Tx<'_>, id: &str) -> Result<Repository> {
    tx.record("WHERE id = :id", params![id])?
        .ok_or_else(|| Error::not_found(format!("repository {:?} does not exist", echo(id))))
}

/// The number of backup jobs stored in a repository and of backup copies placed in it.
fn backups_held(tx: &Tx<'_>, id: &str) -> Result<(i64, i64)> {
    tx.one(
        "SELECT (SELECT count(*) FROM backup_jobs WHERE repository_id = :id), \
                (SELECT count(*) FROM backup_copies WHERE repository_id = :id)",
        params![id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

fn describe_backups(jobs: i64, copies: i64) -> String {
    format!("{} backups ({jobs} backup jobs, {copies} backup copies)", jobs + copies)
}

/// An id no row of `table` holds; ALREADY_EXISTS naming the holder's name otherwise. `what`
/// names the kind of row (`repository`, `policy`).
pub(super) fn check_id_free(tx: &Tx<'_>, table: &str, what: &str, id: &str) -> Result<()> {
    let holder: Option<String> =
        tx.optional(&format!("SELECT name FROM {table} WHERE id = :id"), params![id], |r| r.get(0))?;
    match holder {
        Some(name) => {
            Err(Error::already_exists(format!("{what} {:?} already exists (named {:?})", echo(id), echo(&name))))
        }
        None => Ok(()),
    }
}

/// A name no other row of `table` (but `except`) holds (NOCASE); ALREADY_EXISTS naming the
/// holder otherwise. `what` names the kind of row (`repository`, `policy`).
pub(super) fn check_name_free(tx: &Tx<'_>, table: &str, what: &str, name: &str, except: Option<&str>) -> Result<()> {
    let holder: Option<String> = tx.optional(
        &format!("SELECT id FROM {table} WHERE name = :name AND id IS NOT :except"),
        params![name, except],
        |r| r.get(0),
    )?;
    match holder {
        Some(h) => Err(Error::already_exists(format!("a {what} named {:?} already exists ({h})", echo(name)))),
        None => Ok(()),
    }
}

impl Store {
    /// Create a repository; returns its id (the given one, or a new UUIDv7). A duplicate id or
    /// name (case-insensitive) is ALREADY_EXISTS naming the holder.
    /// Safe to retry after [`crate::Status::CommitUnknown`]: when the first call was applied,
    /// the retry is ALREADY_EXISTS naming the id or name.
    pub fn repository_create(&self, new: &NewRepository) -> Result<String> {
        new.validate()?;
        self.writing(|tx| {
            let now = self.now_ms();
            if let Some(id) = &new.id {
                check_id_free(tx, "backup_repositories", "repository", id)?;
            }
            check_name_free(tx, "backup_repositories", "repository", &new.name, None)?;
            let id = new.id.clone().unwrap_or_else(new_id);
            tx.execute(
                "INSERT INTO backup_repositories (id, name, repository_type, enabled, config, is_immutable, \
                 immutable_config, min_retention_days, created_at, updated_at) \
                 VALUES (:id, :name, :repository_type, :enabled, :config, :is_immutable, :immutable_config, \
                 :min_retention_days, :now, :now)",
                params![
                    id,
                    name = new.name,
                    repository_type = new.repository_type,
                    enabled = new.enabled,
                    config = new.config.to_string(),
                    is_immutable = new.is_immutable,
                    immutable_config = new.immutable_config.map(ImmutableConfig::to_json_text),
                    min_retention_days = new.min_retention_days,
                    now
                ],
            )?;
            Ok(id)
        })
    }

    /// The repository with this id (NOT_FOUND when there is none).
    pub fn repository_get(&self, id: &str) -> Result<Repository> {
        self.reading(|tx| load_repository(tx, id))
    }

    /// The repositories matching `filter`, ordered by name, then id.
    pub fn repository_list(&self, filter: &RepositoryFilter) -> Result<Vec<Repository>> {
        let query = Select::records::<Repository>()
            .eq("repository_type", filter.repository_type)
            .eq("enabled", filter.enabled)
            .order("name, id", None);
        self.reading(|tx| query.records_in(tx))
    }

    /// Change a repository's name, config, immutability settings or min_retention_days;
    /// returns the updated repository. The config is validated against the repository's type;
    /// the result must keep `is_immutable` ⇒ `immutable_config`. Switching immutability off
    /// while the repository holds backups is CONFLICT naming how many.
    pub fn repository_update(&self, id: &str, update: &RepositoryUpdate) -> Result<Repository> {
        if let Some(name) = &update.name {
            check_name("repository name", name)?;
        }
        if let Some(days) = update.min_retention_days {
            non_negative("min_retention_days", days)?;
        }
        if let Some(Some(c)) = &update.immutable_config {
            c.validate()?;
        }
        self.writing(|tx| {
            let now = self.now_ms();
            let current = load_repository(tx, id)?;
            let mut set: Vec<(&'static str, Box<dyn Param>)> = Vec::new();
            if let Some(name) = &update.name {
                check_name_free(tx, "backup_repositories", "repository", name, Some(id))?;
                set.push(("name", Box::new(name.clone())));
            }
            if let Some(config) = &update.config {
                validate_config(current.repository_type, config)
                    .map_err(|e| e.context(format!("repository {}", echo(id))))?;
                set.push(("config", Box::new(config.to_string())));
            }
            let immutable_config = match &update.immutable_config {
                Some(c) => *c,
                None => current.immutable()?,
            };
            let is_immutable = update.is_immutable.unwrap_or(current.is_immutable);
            check_immutable(is_immutable, immutable_config.as_ref())
                .map_err(|e| e.context(format!("repository {}", echo(id))))?;
            if current.is_immutable && !is_immutable {
                let (jobs, copies) = backups_held(tx, id)?;
                if jobs + copies > 0 {
                    return Err(Error::conflict(format!(
                        "repository {} holds {}; its immutability cannot be switched off",
                        echo(id),
                        describe_backups(jobs, copies)
                    )));
                }
            }
            if let Some(v) = update.is_immutable {
                set.push(("is_immutable", Box::new(v)));
            }
            if let Some(c) = &update.immutable_config {
                set.push(("immutable_config", Box::new(c.map(ImmutableConfig::to_json_text))));
            }
            if let Some(days) = update.min_retention_days {
                set.push(("min_retention_days", Box::new(days)));
            }
            if !set.is_empty() {
                update_columns(tx, "backup_repositories", &id, now, &set)?;
            }
            load_repository(tx, id)
        })
    }

    /// Enable or disable a repository; returns it.
    pub fn repository_set_enabled(&self, id: &str, enabled: bool) -> Result<Repository> {
        self.writing(|tx| {
            let now = self.now_ms();
            load_repository(tx, id)?;
            tx.execute(
                "UPDATE backup_repositories SET enabled = :enabled, updated_at = :now WHERE id = :id",
                params![id, enabled, now],
            )?;
            load_repository(tx, id)
        })
    }

    /// Record a repository's capacity figures (bytes) and stamp `last_check_at`; returns the
    /// repository. Every figure is >= 0, and when `total` is known (> 0),
    /// `used + available <= total`.
    pub fn repository_record_capacity(&self, id: &str, total: i64, used: i64, available: i64) -> Result<Repository> {
        for (name, v) in [("total_size_bytes", total), ("used_size_bytes", used), ("available_size_bytes", available)] {
            non_negative(name, v)?;
        }
        if total > 0 && used.checked_add(available).is_none_or(|sum| sum > total) {
            return Err(Error::invalid_argument(format!(
                "used_size_bytes ({used}) + available_size_bytes ({available}) exceeds total_size_bytes ({total})"
            )));
        }
        self.writing(|tx| {
            let now = self.now_ms();
            load_repository(tx, id)?;
            tx.execute(
                "UPDATE backup_repositories SET total_size_bytes = :total, used_size_bytes = :used, \
                 available_size_bytes = :available, last_check_at = :now, updated_at = :now WHERE id = :id",
                params![id, total, used, available, now],
            )?;
            load_repository(tx, id)
        })
    }

    /// Delete a repository. CONFLICT while it holds backups (naming how many), while a policy
    /// uses it as primary repository or copy destination (naming the policy), or while a
    /// backup chain lives in it.
    pub fn repository_delete(&self, id: &str) -> Result<()> {
        self.writing(|tx| {
            load_repository(tx, id)?;
            let (jobs, copies) = backups_held(tx, id)?;
            if jobs + copies > 0 {
                return Err(Error::conflict(format!(
                    "repository {} holds {}; delete them first",
                    echo(id),
                    describe_backups(jobs, copies)
                )));
            }
            let user: Option<(String, String, bool)> = tx.optional(
                "SELECT p.id, p.name, p.primary_repository_id = :id FROM backup_policies p \
                 WHERE p.primary_repository_id = :id \
                    OR EXISTS (SELECT 1 FROM backup_copy_rules r \
                               WHERE r.policy_id = p.id AND r.destination_repository_id = :id) \
                 ORDER BY p.name, p.id LIMIT 1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            if let Some((pid, pname, primary)) = user {
                return Err(Error::conflict(format!(
                    "repository {} is the {} of policy {:?} ({pid})",
                    echo(id),
                    if primary { "primary repository" } else { "copy destination" },
                    echo(&pname)
                )));
            }
            let chains: i64 =
                tx.one("SELECT count(*) FROM backup_chains WHERE repository_id = :id", params![id], |r| r.get(0))?;
            if chains > 0 {
                return Err(Error::conflict(format!("repository {} holds {chains} backup chains", echo(id))));
            }
            tx.execute("DELETE FROM backup_repositories WHERE id = :id", params![id])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(r: Result<()>) -> String {
        r.unwrap_err().message().to_string()
    }

    #[test]
    fn every_type_accepts_its_minimal_and_full_config() {
        let ok = [
            (RepositoryType::Local, json!({"path": "/var/backups"})),
            (RepositoryType::Nfs, json!({"server": "nas", "export_path": "/exp"})),
            (RepositoryType::Nfs, json!({"server": "nas", "export_path": "/exp", "mount_options": "vers=4.1"})),
            (RepositoryType::Cifs, json!({"server": "fs", "share": "bk"})),
            (
                RepositoryType::Smb,
                json!({"server": "fs", "share": "bk", "username": "u", "password_ref": "vault:x", "domain": "D",
                       "mount_options": "vers=3.0"}),
            ),
            (RepositoryType::S3, json!({"region": "eu-west-1", "bucket": "b"})),
            (
                RepositoryType::S3,
                json!({"region": "us", "bucket": "b", "endpoint": "https://minio:9000", "prefix": "x/"}),
            ),
            (RepositoryType::Azure, json!({"account": "acct", "container": "c", "prefix": "p"})),
        ];
        for (t, c) in ok {
            validate_config(t, &c).unwrap_or_else(|e| panic!("{t} {c}: {e}"));
        }
    }

    #[test]
    fn required_keys_are_required_per_type() {
        assert_eq!(
            msg(validate_config(RepositoryType::Local, &json!({}))),
            "local repository config: path is required"
        );
        assert!(msg(validate_config(RepositoryType::Nfs, &json!({"server": "n"}))).contains("export_path is required"));
        assert!(msg(validate_config(RepositoryType::Cifs, &json!({"server": "n"}))).contains("share is required"));
        assert!(msg(validate_config(RepositoryType::Smb, &json!({"share": "n"}))).contains("server is required"));
        assert!(msg(validate_config(RepositoryType::S3, &json!({"bucket": "b"}))).contains("region is required"));
        assert!(msg(validate_config(RepositoryType::Azure, &json!({"account": "a"}))).contains("container is required"));
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let e = msg(validate_config(RepositoryType::Local, &json!({"path": "/x", "bucket": "b"})));
        assert_eq!(e, "local repository config: unknown key \"bucket\" (allowed: path)");
        let e = msg(validate_config(RepositoryType::Smb, &json!({"server": "s", "share": "x", "password": "pw"})));
        assert!(e.contains("unknown key \"password\""), "{e}");
        assert!(e.contains("password_ref"), "{e}");
        let e = msg(validate_config(RepositoryType::Azure, &json!({"account": "a", "container": "c", "region": "r"})));
        assert!(e.contains("unknown key \"region\""), "{e}");
    }

    #[test]
    fn wrong_types_and_bad_values_are_refused() {
        assert_eq!(
            msg(validate_config(RepositoryType::Local, &json!("/x"))),
            "local repository config must be a JSON object (got string)"
        );
        assert_eq!(
            msg(validate_config(RepositoryType::Local, &json!({"path": 7}))),
            "local repository config: path must be a string (got number)"
        );
        assert!(msg(validate_config(RepositoryType::S3, &json!({"region": "r", "bucket": null})))
            .contains("bucket must be a string (got null)"));
        assert!(msg(validate_config(RepositoryType::Local, &json!({"path": "rel/dir"})))
            .contains("path must be an absolute path (got \"rel/dir\")"));
        assert!(msg(validate_config(RepositoryType::Nfs, &json!({"server": "n", "export_path": "exp"})))
            .contains("export_path must be an absolute path"));
        assert!(msg(validate_config(RepositoryType::Nfs, &json!({"server": " ", "export_path": "/e"})))
            .contains("server is empty"));
        assert!(msg(validate_config(RepositoryType::Local, &json!({"path": "/a\nb"})))
            .contains("path contains a control character"));
        assert!(msg(validate_config(RepositoryType::S3, &json!({"region": "r", "bucket": "b", "endpoint": "minio"})))
            .contains("endpoint must be an http:// or https:// URL"));
    }

    #[test]
    fn immutable_config_is_complete_non_negative_and_strict() {
        let ok = json!({"grace_period_days": 1, "apply_to_fulls": true, "apply_to_incrementals": false,
                        "min_retention_days": 7});
        let c = ImmutableConfig::from_value(&ok).unwrap();
        assert_eq!(c.min_retention_days, 7);
        let e = ImmutableConfig::from_value(&json!({"grace_period_days": 1, "apply_to_fulls": true,
                                                     "apply_to_incrementals": true}))
        .unwrap_err();
        assert!(e.message().contains("missing field `min_retention_days`"), "{e}");
        let mut extra = ok.clone();
        extra["lock_mode"] = json!("compliance");
        let e = ImmutableConfig::from_value(&extra).unwrap_err();
        assert!(e.message().contains("unknown field `lock_mode`"), "{e}");
        let mut wrong = ok.clone();
        wrong["apply_to_fulls"] = json!("yes");
        assert!(ImmutableConfig::from_value(&wrong).unwrap_err().message().contains("invalid type"));
        let mut neg = ok.clone();
        neg["grace_period_days"] = json!(-1);
        assert_eq!(
            ImmutableConfig::from_value(&neg).unwrap_err().message(),
            "immutable_config: grace_period_days is negative (-1)"
        );
        let mut empty_window = ok;
        empty_window["grace_period_days"] = json!(8);
        assert!(ImmutableConfig::from_value(&empty_window).unwrap_err().message().contains("exceeds"));
    }

    #[test]
    fn is_immutable_requires_its_config() {
        let mut r = NewRepository::new("r", RepositoryType::Local, json!({"path": "/b"}));
        r.is_immutable = true;
        assert_eq!(r.validate().unwrap_err().message(), "is_immutable requires an immutable_config");
        r.immutable_config = Some(ImmutableConfig {
            grace_period_days: 0,
            apply_to_fulls: true,
            apply_to_incrementals: true,
            min_retention_days: 0,
        });
        r.validate().unwrap();
        r.min_retention_days = -2;
        assert_eq!(r.validate().unwrap_err().message(), "min_retention_days is negative (-2)");
    }

    #[test]
    fn inputs_refuse_unknown_keys() {
        let e = crate::value::from_json::<NewRepository>(
            "repository",
            r#"{"name":"r","repository_type":"tape","config":{}}"#,
        )
        .unwrap_err();
        assert!(e.message().contains("not a valid repository type"), "{e}");
        let u: RepositoryUpdate = serde_json::from_str(r#"{"immutable_config":null}"#).unwrap();
        assert_eq!(u.immutable_config, Some(None));
        assert_eq!(u.config, None);
    }
}
