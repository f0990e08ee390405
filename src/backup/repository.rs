//! Backup repositories, backup policies and their copy rules (DOMAIN.md section 4).
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
//!   lives in;
//! - a policy and its copy rules are created and changed in one transaction; every rule's
//!   destination exists, differs from the policy's primary repository, appears once in the
//!   policy, and has priority >= 1. Rules are read back ordered by priority, then id.
//!
//! Deleting a policy is allowed: its copy rules go with it, backups that named it keep
//! existing with `policy_id` NULL and copies that named a rule keep existing with
//! `copy_rule_id` NULL (the schema's ON DELETE clauses).

use rusqlite::{params, Connection, OptionalExtension, Row, ToSql};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::backup::retention::RetentionRules;
use crate::error::{Error, Result};
use crate::store::{require_row, update_columns, Select, Store};
use crate::string_enum;
use crate::value::{check_id, check_name, check_non_negative, json_column, new_id, present, Timestamp};

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
            return Err(Error::invalid_argument(format!("{what}: unknown key {key:?} (allowed: {})", allowed())));
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
            Err(Error::invalid_argument(format!("{what}: {key} must be an absolute path (got {s:?})")))
        }
        Kind::Url if s.starts_with("https://") || s.starts_with("http://") => Ok(()),
        Kind::Url => {
            Err(Error::invalid_argument(format!("{what}: {key} must be an http:// or https:// URL (got {s:?})")))
        }
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
            .map_err(|e| Error::invalid_argument(format!("immutable_config: {e}")))?;
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

/// A `backup_repositories` row. Fields and JSON keys are the column names; `config` and
/// `immutable_config` are embedded JSON values.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Repository {
    pub id: String,
    pub name: String,
    pub repository_type: RepositoryType,
    pub enabled: bool,
    pub config: Value,
    pub is_immutable: bool,
    pub immutable_config: Option<Value>,
    pub min_retention_days: i64,
    pub total_size_bytes: i64,
    pub used_size_bytes: i64,
    pub available_size_bytes: i64,
    pub last_check_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const REPOSITORY_COLUMNS: &str = "id, name, repository_type, enabled, config, is_immutable, immutable_config, \
    min_retention_days, total_size_bytes, used_size_bytes, available_size_bytes, last_check_at, created_at, updated_at";

impl Repository {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Repository> {
        Ok(Repository {
            id: r.get("id")?,
            name: r.get("name")?,
            repository_type: r.get("repository_type")?,
            enabled: r.get("enabled")?,
            config: json_column(Some(r.get("config")?))?.unwrap_or(Value::Null),
            is_immutable: r.get("is_immutable")?,
            immutable_config: json_column(r.get("immutable_config")?)?,
            min_retention_days: r.get("min_retention_days")?,
            total_size_bytes: r.get("total_size_bytes")?,
            used_size_bytes: r.get("used_size_bytes")?,
            available_size_bytes: r.get("available_size_bytes")?,
            last_check_at: r.get("last_check_at")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
        })
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

fn default_true() -> bool {
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

/// A name: not empty, no control characters.
fn non_negative(name: &str, value: i64) -> Result<()> {
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

string_enum! {
    /// When a copy rule copies a completed backup (`backup_copy_rules.copy_mode`).
    pub enum CopyMode: "copy mode" {
        /// As soon as the backup completes.
        Immediate = "immediate",
        /// At the next scheduled copy window.
        Scheduled = "scheduled",
        /// Only when asked.
        Manual = "manual",
    }
}

/// A `backup_copy_rules` row. Fields and JSON keys are the column names.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CopyRule {
    pub id: String,
    pub policy_id: String,
    pub destination_repository_id: String,
    pub copy_mode: CopyMode,
    pub priority: i64,
    pub enabled: bool,
    pub verify_after_copy: bool,
    pub created_at: Timestamp,
}

const RULE_COLUMNS: &str =
    "id, policy_id, destination_repository_id, copy_mode, priority, enabled, verify_after_copy, created_at";

impl CopyRule {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<CopyRule> {
        Ok(CopyRule {
            id: r.get("id")?,
            policy_id: r.get("policy_id")?,
            destination_repository_id: r.get("destination_repository_id")?,
            copy_mode: r.get("copy_mode")?,
            priority: r.get("priority")?,
            enabled: r.get("enabled")?,
            verify_after_copy: r.get("verify_after_copy")?,
            created_at: r.get("created_at")?,
        })
    }
}

/// A `backup_policies` row with its copy rules (ordered by priority, then id). JSON keys are
/// the column names plus `copy_rules`.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub primary_repository_id: String,
    pub retention_days: i64,
    pub keep_last: Option<i64>,
    pub keep_daily: Option<i64>,
    pub keep_weekly: Option<i64>,
    pub keep_monthly: Option<i64>,
    pub keep_yearly: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub copy_rules: Vec<CopyRule>,
}

const POLICY_COLUMNS: &str = "id, name, enabled, primary_repository_id, retention_days, keep_last, keep_daily, \
    keep_weekly, keep_monthly, keep_yearly, created_at, updated_at";

/// The retention count columns of a policy, in the order the planner applies them.
const KEEP_COLUMNS: [&str; 5] = ["keep_last", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"];

impl Policy {
    /// The policy's retention settings for the planner ([`crate::backup::plan`]): the keep-* counts
    /// and retention_days (0 or NULL: the rule is not used).
    pub fn retention_rules(&self) -> RetentionRules {
        let rule = |v: Option<i64>| v.filter(|&n| n > 0).map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        RetentionRules {
            keep_last: rule(self.keep_last),
            keep_daily: rule(self.keep_daily),
            keep_weekly: rule(self.keep_weekly),
            keep_monthly: rule(self.keep_monthly),
            keep_yearly: rule(self.keep_yearly),
            retention_days: rule(Some(self.retention_days)),
        }
    }

    fn from_row(r: &Row<'_>) -> rusqlite::Result<Policy> {
        Ok(Policy {
            id: r.get("id")?,
            name: r.get("name")?,
            enabled: r.get("enabled")?,
            primary_repository_id: r.get("primary_repository_id")?,
            retention_days: r.get("retention_days")?,
            keep_last: r.get("keep_last")?,
            keep_daily: r.get("keep_daily")?,
            keep_weekly: r.get("keep_weekly")?,
            keep_monthly: r.get("keep_monthly")?,
            keep_yearly: r.get("keep_yearly")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
            copy_rules: Vec::new(),
        })
    }
}

/// A copy rule of a new or changed policy. `id` is generated unless given; `copy_mode`
/// defaults to immediate, `enabled` and `verify_after_copy` to true; `priority` is required
/// (>= 1, lower runs first).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCopyRule {
    #[serde(default)]
    pub id: Option<String>,
    pub destination_repository_id: String,
    #[serde(default = "default_copy_mode")]
    pub copy_mode: CopyMode,
    pub priority: i64,
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default = "default_true")]
    pub verify_after_copy: bool,
}

fn default_copy_mode() -> CopyMode {
    CopyMode::Immediate
}

impl NewCopyRule {
    /// An enabled, verified, immediate rule to `destination_repository_id`.
    pub fn new(destination_repository_id: impl Into<String>, priority: i64) -> NewCopyRule {
        NewCopyRule {
            id: None,
            destination_repository_id: destination_repository_id.into(),
            copy_mode: CopyMode::Immediate,
            priority,
            enabled: true,
            verify_after_copy: true,
        }
    }
}

/// A new policy (JSON input of `sendense_policy_create`): the policy columns plus its copy
/// rules. `id` is generated unless given; `enabled` defaults to true, `retention_days` to 30.
///
/// `retention_days` keeps every point of the last that many days on its own, next to the
/// `keep_*` counts (see [`crate::backup::plan`]): a policy meant to keep only, say, the last 7
/// points sets `retention_days` to 0 as well as `keep_last` to 7.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPolicy {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default = "default_true")]
    pub enabled: bool,
    pub primary_repository_id: String,
    #[serde(default = "default_retention_days")]
    pub retention_days: i64,
    #[serde(default)]
    pub keep_last: Option<i64>,
    #[serde(default)]
    pub keep_daily: Option<i64>,
    #[serde(default)]
    pub keep_weekly: Option<i64>,
    #[serde(default)]
    pub keep_monthly: Option<i64>,
    #[serde(default)]
    pub keep_yearly: Option<i64>,
    #[serde(default)]
    pub copy_rules: Vec<NewCopyRule>,
}

fn default_retention_days() -> i64 {
    30
}

impl NewPolicy {
    /// An enabled policy keeping 30 days, without copy rules.
    pub fn new(name: impl Into<String>, primary_repository_id: impl Into<String>) -> NewPolicy {
        NewPolicy {
            id: None,
            name: name.into(),
            enabled: true,
            primary_repository_id: primary_repository_id.into(),
            retention_days: default_retention_days(),
            keep_last: None,
            keep_daily: None,
            keep_weekly: None,
            keep_monthly: None,
            keep_yearly: None,
            copy_rules: Vec::new(),
        }
    }

    fn validate(&self) -> Result<()> {
        if let Some(id) = &self.id {
            check_id("policy id", id)?;
        }
        check_name("policy name", &self.name)?;
        check_id("primary_repository_id", &self.primary_repository_id)?;
        non_negative("retention_days", self.retention_days)?;
        check_keeps(&[self.keep_last, self.keep_daily, self.keep_weekly, self.keep_monthly, self.keep_yearly])?;
        validate_copy_rules(&self.primary_repository_id, &self.copy_rules)
    }
}

/// The keep-* counts, in [`KEEP_COLUMNS`] order: each absent or >= 0.
fn check_keeps(keeps: &[Option<i64>]) -> Result<()> {
    for (column, value) in KEEP_COLUMNS.iter().zip(keeps) {
        if let Some(v) = value {
            non_negative(column, *v)?;
        }
    }
    Ok(())
}

/// The rules of one policy, on their own: each rule's ids are well-formed, its priority is at
/// least 1, its destination differs from `primary_repository_id`, and no destination or rule id
/// appears twice. Each refusal is INVALID_ARGUMENT naming the rule (`copy_rules[i]`, 0-based).
pub fn validate_copy_rules(primary_repository_id: &str, rules: &[NewCopyRule]) -> Result<()> {
    for (i, rule) in rules.iter().enumerate() {
        let name = rule_name(i, rule);
        if let Some(id) = &rule.id {
            check_id("id", id).map_err(|e| e.context(&name))?;
        }
        check_id("destination_repository_id", &rule.destination_repository_id).map_err(|e| e.context(&name))?;
        if rule.priority < 1 {
            return Err(Error::invalid_argument(format!("{name}: priority must be >= 1 (got {})", rule.priority)));
        }
        if rule.destination_repository_id == primary_repository_id {
            return Err(Error::invalid_argument(format!(
                "{name}: the destination is the policy's primary repository; a copy must go elsewhere"
            )));
        }
        if let Some(j) = rules[..i].iter().position(|r| r.destination_repository_id == rule.destination_repository_id) {
            return Err(Error::invalid_argument(format!("{name}: copy_rules[{j}] already copies to that repository")));
        }
        if let Some(id) = &rule.id {
            if let Some(j) = rules[..i].iter().position(|r| r.id.as_deref() == Some(id.as_str())) {
                return Err(Error::invalid_argument(format!("{name}: copy_rules[{j}] already has id {id:?}")));
            }
        }
    }
    Ok(())
}

fn rule_name(i: usize, rule: &NewCopyRule) -> String {
    format!("copy_rules[{i}] (destination {:?})", rule.destination_repository_id)
}

/// A change of a policy (JSON input of `sendense_policy_update`). An absent key leaves the
/// column alone. `copy_rules`, when present, replaces the whole list atomically: a rule whose
/// destination the policy already copies to keeps its row and id (so copies made under it
/// keep their link) and takes the new mode, priority and flags; the other old rules are
/// deleted and the new destinations inserted. A new primary repository is checked against the
/// rules the policy ends up with.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyUpdate {
    #[serde(default, deserialize_with = "present")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub retention_days: Option<i64>,
    /// `Some(None)` (JSON `null`) clears the rule.
    #[serde(default, deserialize_with = "present")]
    pub keep_last: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub keep_daily: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub keep_weekly: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub keep_monthly: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub keep_yearly: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub primary_repository_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub copy_rules: Option<Vec<NewCopyRule>>,
}

impl PolicyUpdate {
    fn keeps(&self) -> [Option<Option<i64>>; 5] {
        [self.keep_last, self.keep_daily, self.keep_weekly, self.keep_monthly, self.keep_yearly]
    }
}

/// Which policies [`Store::policy_list`] returns; ordered by name, then id.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFilter {
    #[serde(default, deserialize_with = "present")]
    pub enabled: Option<bool>,
    /// Policies using this repository as primary or as a copy destination.
    #[serde(default)]
    pub repository_id: Option<String>,
}

/// Load a repository inside a transaction; NOT_FOUND naming the id.
pub(crate) fn load_repository(conn: &Connection, id: &str) -> Result<Repository> {
    conn.prepare_cached(&format!("SELECT {REPOSITORY_COLUMNS} FROM backup_repositories WHERE id = ?1"))?
        .query_row([id], Repository::from_row)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("repository {id:?} does not exist")))
}

/// Load a policy with its rules inside a transaction; NOT_FOUND naming the id.
pub(crate) fn load_policy(conn: &Connection, id: &str) -> Result<Policy> {
    let mut policy = conn
        .prepare_cached(&format!("SELECT {POLICY_COLUMNS} FROM backup_policies WHERE id = ?1"))?
        .query_row([id], Policy::from_row)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("policy {id:?} does not exist")))?;
    policy.copy_rules = load_rules(conn, id)?;
    Ok(policy)
}

fn load_rules(conn: &Connection, policy_id: &str) -> Result<Vec<CopyRule>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RULE_COLUMNS} FROM backup_copy_rules WHERE policy_id = ?1 ORDER BY priority, id"
    ))?;
    let rules = stmt.query_map([policy_id], CopyRule::from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rules)
}

/// The number of backup jobs stored in a repository and of backup copies placed in it.
fn backups_held(conn: &Connection, id: &str) -> Result<(i64, i64)> {
    Ok(conn
        .prepare_cached(
            "SELECT (SELECT count(*) FROM backup_jobs WHERE repository_id = ?1), \
                    (SELECT count(*) FROM backup_copies WHERE repository_id = ?1)",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

fn describe_backups(jobs: i64, copies: i64) -> String {
    format!("{} backups ({jobs} backup jobs, {copies} backup copies)", jobs + copies)
}

/// A repository name no other repository holds (NOCASE); ALREADY_EXISTS naming the holder.
fn check_repository_name_free(conn: &Connection, name: &str, except: Option<&str>) -> Result<()> {
    let holder: Option<String> = conn
        .prepare_cached("SELECT id FROM backup_repositories WHERE name = ?1 AND id IS NOT ?2")?
        .query_row(params![name, except], |r| r.get(0))
        .optional()?;
    match holder {
        Some(h) => Err(Error::already_exists(format!("a repository named {name:?} already exists ({h})"))),
        None => Ok(()),
    }
}

fn check_policy_name_free(conn: &Connection, name: &str, except: Option<&str>) -> Result<()> {
    let holder: Option<String> = conn
        .prepare_cached("SELECT id FROM backup_policies WHERE name = ?1 AND id IS NOT ?2")?
        .query_row(params![name, except], |r| r.get(0))
        .optional()?;
    match holder {
        Some(h) => Err(Error::already_exists(format!("a policy named {name:?} already exists ({h})"))),
        None => Ok(()),
    }
}

/// Check the rules against the database (destinations exist, supplied rule ids are free or,
/// for `existing`, belong to the rule kept for the same destination) and write them for
/// `policy_id`, keeping the rows of `existing` rules whose destination stays.
fn write_rules(
    conn: &Connection,
    policy_id: &str,
    rules: &[NewCopyRule],
    existing: &[CopyRule],
    now: i64,
) -> Result<()> {
    for (i, rule) in rules.iter().enumerate() {
        let name = rule_name(i, rule);
        require_row(
            conn,
            "backup_repositories",
            "id",
            &rule.destination_repository_id,
            &format!("destination repository {:?}", rule.destination_repository_id),
        )
        .map_err(|e| e.context(&name))?;
        let kept = existing.iter().find(|r| r.destination_repository_id == rule.destination_repository_id);
        if let Some(id) = &rule.id {
            match kept {
                Some(k) if &k.id == id => {}
                Some(k) => {
                    return Err(Error::invalid_argument(format!(
                        "{name}: the policy's rule for that destination is {:?}; a rule's id cannot change",
                        k.id
                    )))
                }
                None => {
                    let holder: Option<String> = conn
                        .prepare_cached("SELECT policy_id FROM backup_copy_rules WHERE id = ?1")?
                        .query_row([id], |r| r.get(0))
                        .optional()?;
                    if let Some(p) = holder {
                        return Err(Error::already_exists(format!(
                            "{name}: copy rule {id:?} already exists (in policy {p})"
                        )));
                    }
                }
            }
        }
    }
    for old in existing {
        if !rules.iter().any(|r| r.destination_repository_id == old.destination_repository_id) {
            conn.prepare_cached("DELETE FROM backup_copy_rules WHERE id = ?1")?.execute([&old.id])?;
        }
    }
    for rule in rules {
        match existing.iter().find(|r| r.destination_repository_id == rule.destination_repository_id) {
            Some(old) => {
                conn.prepare_cached(
                    "UPDATE backup_copy_rules SET copy_mode = ?2, priority = ?3, enabled = ?4, \
                     verify_after_copy = ?5 WHERE id = ?1",
                )?
                .execute(params![
                    old.id,
                    rule.copy_mode,
                    rule.priority,
                    rule.enabled,
                    rule.verify_after_copy
                ])?;
            }
            None => {
                let id = rule.id.clone().unwrap_or_else(new_id);
                conn.prepare_cached(
                    "INSERT INTO backup_copy_rules (id, policy_id, destination_repository_id, copy_mode, priority, \
                     enabled, verify_after_copy, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    id,
                    policy_id,
                    rule.destination_repository_id,
                    rule.copy_mode,
                    rule.priority,
                    rule.enabled,
                    rule.verify_after_copy,
                    now
                ])?;
            }
        }
    }
    Ok(())
}

impl Store {
    /// Create a repository; returns its id (the given one, or a new UUIDv7). A duplicate id or
    /// name (case-insensitive) is ALREADY_EXISTS naming the holder.
    pub fn repository_create(&self, new: &NewRepository) -> Result<String> {
        new.validate()?;
        self.write(|tx| {
            let now = self.now_ms();
            if let Some(id) = &new.id {
                let holder: Option<String> = tx
                    .prepare_cached("SELECT name FROM backup_repositories WHERE id = ?1")?
                    .query_row([id], |r| r.get(0))
                    .optional()?;
                if let Some(name) = holder {
                    return Err(Error::already_exists(format!("repository {id:?} already exists (named {name:?})")));
                }
            }
            check_repository_name_free(tx, &new.name, None)?;
            let id = new.id.clone().unwrap_or_else(new_id);
            tx.prepare_cached(
                "INSERT INTO backup_repositories (id, name, repository_type, enabled, config, is_immutable, \
                 immutable_config, min_retention_days, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
            )?
            .execute(params![
                id,
                new.name,
                new.repository_type,
                new.enabled,
                new.config.to_string(),
                new.is_immutable,
                new.immutable_config.map(ImmutableConfig::to_json_text),
                new.min_retention_days,
                now
            ])?;
            Ok(id)
        })
    }

    /// The repository with this id (NOT_FOUND when there is none).
    pub fn repository_get(&self, id: &str) -> Result<Repository> {
        self.read(|tx| load_repository(tx, id))
    }

    /// The repositories matching `filter`, ordered by name, then id.
    pub fn repository_list(&self, filter: &RepositoryFilter) -> Result<Vec<Repository>> {
        let query = Select::new(REPOSITORY_COLUMNS, "backup_repositories")
            .eq("repository_type", filter.repository_type)
            .eq("enabled", filter.enabled)
            .order("name, id", None);
        self.read(|tx| query.rows(tx, Repository::from_row))
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
        self.write(|tx| {
            let now = self.now_ms();
            let current = load_repository(tx, id)?;
            let mut set: Vec<(&'static str, Box<dyn ToSql>)> = Vec::new();
            if let Some(name) = &update.name {
                check_repository_name_free(tx, name, Some(id))?;
                set.push(("name", Box::new(name.clone())));
            }
            if let Some(config) = &update.config {
                validate_config(current.repository_type, config).map_err(|e| e.context(format!("repository {id}")))?;
                set.push(("config", Box::new(config.to_string())));
            }
            let immutable_config = match &update.immutable_config {
                Some(c) => *c,
                None => current.immutable()?,
            };
            let is_immutable = update.is_immutable.unwrap_or(current.is_immutable);
            check_immutable(is_immutable, immutable_config.as_ref())
                .map_err(|e| e.context(format!("repository {id}")))?;
            if current.is_immutable && !is_immutable {
                let (jobs, copies) = backups_held(tx, id)?;
                if jobs + copies > 0 {
                    return Err(Error::conflict(format!(
                        "repository {id} holds {}; its immutability cannot be switched off",
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
        self.write(|tx| {
            let now = self.now_ms();
            load_repository(tx, id)?;
            tx.prepare_cached("UPDATE backup_repositories SET enabled = ?2, updated_at = ?3 WHERE id = ?1")?
                .execute(params![id, enabled, now])?;
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
        self.write(|tx| {
            let now = self.now_ms();
            load_repository(tx, id)?;
            tx.prepare_cached(
                "UPDATE backup_repositories SET total_size_bytes = ?2, used_size_bytes = ?3, \
                 available_size_bytes = ?4, last_check_at = ?5, updated_at = ?5 WHERE id = ?1",
            )?
            .execute(params![id, total, used, available, now])?;
            load_repository(tx, id)
        })
    }

    /// Delete a repository. CONFLICT while it holds backups (naming how many), while a policy
    /// uses it as primary repository or copy destination (naming the policy), or while a
    /// backup chain lives in it.
    pub fn repository_delete(&self, id: &str) -> Result<()> {
        self.write(|tx| {
            load_repository(tx, id)?;
            let (jobs, copies) = backups_held(tx, id)?;
            if jobs + copies > 0 {
                return Err(Error::conflict(format!(
                    "repository {id} holds {}; delete them first",
                    describe_backups(jobs, copies)
                )));
            }
            let user: Option<(String, String, bool)> = tx
                .prepare_cached(
                    "SELECT p.id, p.name, p.primary_repository_id = ?1 FROM backup_policies p \
                     WHERE p.primary_repository_id = ?1 \
                        OR EXISTS (SELECT 1 FROM backup_copy_rules r \
                                   WHERE r.policy_id = p.id AND r.destination_repository_id = ?1) \
                     ORDER BY p.name, p.id LIMIT 1",
                )?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            if let Some((pid, pname, primary)) = user {
                return Err(Error::conflict(format!(
                    "repository {id} is the {} of policy {pname:?} ({pid})",
                    if primary { "primary repository" } else { "copy destination" }
                )));
            }
            let chains: i64 = tx
                .prepare_cached("SELECT count(*) FROM backup_chains WHERE repository_id = ?1")?
                .query_row([id], |r| r.get(0))?;
            if chains > 0 {
                return Err(Error::conflict(format!("repository {id} holds {chains} backup chains")));
            }
            tx.prepare_cached("DELETE FROM backup_repositories WHERE id = ?1")?.execute([id])?;
            Ok(())
        })
    }

    /// Create a policy and its copy rules in one transaction; returns the policy id (the given
    /// one, or a new UUIDv7). A duplicate id or name (case-insensitive) is ALREADY_EXISTS
    /// naming the holder; a missing primary or destination repository is NOT_FOUND naming it;
    /// a bad rule is INVALID_ARGUMENT naming it ([`validate_copy_rules`]).
    pub fn policy_create(&self, new: &NewPolicy) -> Result<String> {
        new.validate()?;
        self.write(|tx| {
            let now = self.now_ms();
            if let Some(id) = &new.id {
                let holder: Option<String> = tx
                    .prepare_cached("SELECT name FROM backup_policies WHERE id = ?1")?
                    .query_row([id], |r| r.get(0))
                    .optional()?;
                if let Some(name) = holder {
                    return Err(Error::already_exists(format!("policy {id:?} already exists (named {name:?})")));
                }
            }
            check_policy_name_free(tx, &new.name, None)?;
            require_row(
                tx,
                "backup_repositories",
                "id",
                &new.primary_repository_id,
                &format!("primary repository {:?}", new.primary_repository_id),
            )?;
            let id = new.id.clone().unwrap_or_else(new_id);
            tx.prepare_cached(
                "INSERT INTO backup_policies (id, name, enabled, primary_repository_id, retention_days, keep_last, \
                 keep_daily, keep_weekly, keep_monthly, keep_yearly, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
            )?
            .execute(params![
                id,
                new.name,
                new.enabled,
                new.primary_repository_id,
                new.retention_days,
                new.keep_last,
                new.keep_daily,
                new.keep_weekly,
                new.keep_monthly,
                new.keep_yearly,
                now
            ])?;
            write_rules(tx, &id, &new.copy_rules, &[], now)?;
            Ok(id)
        })
    }

    /// The policy with this id and its copy rules (NOT_FOUND when there is none).
    pub fn policy_get(&self, id: &str) -> Result<Policy> {
        self.read(|tx| load_policy(tx, id))
    }

    /// The policies matching `filter` with their copy rules, ordered by name, then id.
    pub fn policy_list(&self, filter: &PolicyFilter) -> Result<Vec<Policy>> {
        let query = Select::new(POLICY_COLUMNS, "backup_policies p")
            .eq("enabled", filter.enabled)
            .when(filter.repository_id.as_ref(), |n| {
                format!(
                    "(primary_repository_id = ?{n} OR EXISTS (SELECT 1 FROM backup_copy_rules r \
                     WHERE r.policy_id = p.id AND r.destination_repository_id = ?{n}))"
                )
            })
            .order("name, id", None);
        self.read(|tx| {
            let mut policies = query.rows(tx, Policy::from_row)?;
            for p in &mut policies {
                p.copy_rules = load_rules(tx, &p.id)?;
            }
            Ok(policies)
        })
    }

    /// Change a policy and, optionally, replace its copy rules, in one transaction; returns
    /// the updated policy (see [`PolicyUpdate`] for how rules are replaced). The same checks
    /// as [`Store::policy_create`] apply to the policy it would become.
    pub fn policy_update(&self, id: &str, update: &PolicyUpdate) -> Result<Policy> {
        if let Some(name) = &update.name {
            check_name("policy name", name)?;
        }
        if let Some(days) = update.retention_days {
            non_negative("retention_days", days)?;
        }
        let keeps = update.keeps();
        check_keeps(&keeps.map(Option::flatten))?;
        if let Some(primary) = &update.primary_repository_id {
            check_id("primary_repository_id", primary)?;
        }
        self.write(|tx| {
            let now = self.now_ms();
            let current = load_policy(tx, id)?;
            let primary = update.primary_repository_id.as_deref().unwrap_or(&current.primary_repository_id);
            match &update.copy_rules {
                Some(rules) => validate_copy_rules(primary, rules)?,
                None => {
                    if let Some(rule) = current.copy_rules.iter().find(|r| r.destination_repository_id == primary) {
                        return Err(Error::invalid_argument(format!(
                            "copy rule {} already copies to repository {primary:?}, so it cannot become the \
                             policy's primary repository",
                            rule.id
                        )));
                    }
                }
            }
            let mut set: Vec<(&'static str, Box<dyn ToSql>)> = Vec::new();
            if let Some(name) = &update.name {
                check_policy_name_free(tx, name, Some(id))?;
                set.push(("name", Box::new(name.clone())));
            }
            if let Some(p) = &update.primary_repository_id {
                require_row(tx, "backup_repositories", "id", p, &format!("primary repository {p:?}"))?;
                set.push(("primary_repository_id", Box::new(p.clone())));
            }
            if let Some(e) = update.enabled {
                set.push(("enabled", Box::new(e)));
            }
            if let Some(d) = update.retention_days {
                set.push(("retention_days", Box::new(d)));
            }
            for (column, keep) in KEEP_COLUMNS.iter().zip(keeps) {
                if let Some(value) = keep {
                    set.push((column, Box::new(value)));
                }
            }
            if let Some(rules) = &update.copy_rules {
                write_rules(tx, id, rules, &current.copy_rules, now)?;
            }
            if !set.is_empty() || update.copy_rules.is_some() {
                update_columns(tx, "backup_policies", &id, now, &set)?;
            }
            load_policy(tx, id)
        })
    }

    /// Delete a policy and its copy rules. Allowed while backups name it: they keep existing
    /// with `policy_id` NULL, and copies made under its rules keep existing with
    /// `copy_rule_id` NULL.
    pub fn policy_delete(&self, id: &str) -> Result<()> {
        self.write(|tx| {
            let n = tx.prepare_cached("DELETE FROM backup_policies WHERE id = ?1")?.execute([id])?;
            if n == 0 {
                return Err(Error::not_found(format!("policy {id:?} does not exist")));
            }
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
    fn copy_rules_are_validated_on_their_own_naming_the_rule() {
        let rules = vec![NewCopyRule::new("b", 1), NewCopyRule::new("c", 2)];
        validate_copy_rules("a", &rules).unwrap();
        let e = msg(validate_copy_rules("a", &[NewCopyRule::new("b", 1), NewCopyRule::new("c", 0)]));
        assert_eq!(e, "copy_rules[1] (destination \"c\"): priority must be >= 1 (got 0)");
        let e = msg(validate_copy_rules("a", &[NewCopyRule::new("a", 1)]));
        assert!(e.starts_with("copy_rules[0] (destination \"a\"): the destination is the policy's primary"), "{e}");
        let e = msg(validate_copy_rules("a", &[NewCopyRule::new("b", 1), NewCopyRule::new("b", 2)]));
        assert_eq!(e, "copy_rules[1] (destination \"b\"): copy_rules[0] already copies to that repository");
        let mut dup_id = vec![NewCopyRule::new("b", 1), NewCopyRule::new("c", 2)];
        dup_id[0].id = Some("r1".into());
        dup_id[1].id = Some("r1".into());
        assert!(msg(validate_copy_rules("a", &dup_id)).contains("copy_rules[0] already has id \"r1\""));
        let e = msg(validate_copy_rules("a", &[NewCopyRule::new("", 1)]));
        assert_eq!(e, "copy_rules[0] (destination \"\"): destination_repository_id is empty");
    }

    #[test]
    fn inputs_refuse_unknown_keys_and_take_defaults() {
        let p: NewPolicy = crate::value::from_json(
            "policy",
            r#"{"name":"p","primary_repository_id":"a","copy_rules":[{"destination_repository_id":"b","priority":1}]}"#,
        )
        .unwrap();
        assert!(p.enabled);
        assert_eq!(p.retention_days, 30);
        assert_eq!(p.copy_rules[0].copy_mode, CopyMode::Immediate);
        assert!(p.copy_rules[0].enabled && p.copy_rules[0].verify_after_copy);
        let e = crate::value::from_json::<NewPolicy>(
            "policy",
            r#"{"name":"p","primary_repository_id":"a","copy_rules":[{"destination_repository_id":"b","priority":1,"x":1}]}"#,
        )
        .unwrap_err();
        assert!(e.message().contains("unknown field `x`"), "{e}");
        let e = crate::value::from_json::<NewRepository>(
            "repository",
            r#"{"name":"r","repository_type":"tape","config":{}}"#,
        )
        .unwrap_err();
        assert!(e.message().contains("not a valid repository type"), "{e}");
        let u: RepositoryUpdate = serde_json::from_str(r#"{"immutable_config":null}"#).unwrap();
        assert_eq!(u.immutable_config, Some(None));
        assert_eq!(u.config, None);
        let e = serde_json::from_str::<PolicyUpdate>(r#"{"copy_rule":[]}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `copy_rule`"), "{e}");
    }
}
