//! Backup points and their chains (DOMAIN.md section 4).
//!
//! A backup point is one `backup_jobs` row: one disk (by index) of one context written to one
//! repository. Points of one VM backup share a `backup_group_id`. A chain is the one
//! `backup_chains` row of a (context, disk, repository): it points at the full of the current
//! generation and at its newest point, with the number and summed size of the generation's
//! completed points.
//!
//! Rules enforced here:
//! - the status machine ([`BackupStatus::check_move`]): pending -> running -> completed |
//!   failed | cancelled, pending -> failed | cancelled; terminal statuses are final;
//! - one active (pending or running) point per (context, disk, repository): a second start is
//!   CONFLICT (checked inside the start's immediate transaction, so it holds across processes;
//!   no partial unique index, because rows written by other areas' raw SQL may break it);
//! - the parent of a new point is found by the library from the chain ([`parent_for`]): an
//!   incremental builds on the chain's latest completed point, a differential on its full, a
//!   full on nothing; without a chain an incremental or differential is INVALID_STATE;
//! - completing a point and updating its chain is one transaction ([`chain_after_completion`]):
//!   a full starts a new generation, an incremental or differential appends to it. Points of
//!   older generations keep their parent links, so they stay restorable;
//! - `restore_chain(point)` is the point and its ancestors back to the full, oldest first, and
//!   refuses a missing or not-completed link by name;
//! - a point is deleted only when it is finished, not protected, no other point builds on it
//!   and it is outside its repository's `min_retention_days`; the chain is updated in the same
//!   transaction (recomputed from the generation's remaining points, or removed when the
//!   generation becomes empty).
//!
//! Where a point's size lives: schema v2 adds `backup_jobs.size_bytes` (the size of the
//! written file, summed into `backup_chains.total_size_bytes`). `total_bytes` keeps its
//! SCHEMA.md meaning, the telemetry's "bytes expected" that progress reports overwrite.

use std::collections::HashSet;

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::backup::repository::{load_repository, ImmutableConfig};
use crate::error::{Error, Result};
use crate::replication::context;
use crate::replication::{ChangeId, Decision};
use crate::store::{require_row, Select, Store};
use crate::string_enum;
use crate::value::{check_bytes_within, check_id, check_non_negative, check_percent, new_id, Timestamp};

string_enum! {
    /// The kind of a backup point (`backup_jobs.backup_type`).
    pub enum BackupType: "backup type" {
        /// Every block of the disk; starts a new chain generation.
        Full = "full",
        /// The blocks changed since the chain's latest completed point.
        Incremental = "incremental",
        /// The blocks changed since the chain's full.
        Differential = "differential",
    }
}

string_enum! {
    /// Lifecycle state of a backup point (`backup_jobs.status`).
    #[allow(missing_docs)]
    pub enum BackupStatus: "backup status" {
        Pending = "pending",
        Running = "running",
        Completed = "completed",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

/// The active statuses as an SQL list.
const ACTIVE_STATUSES_SQL: &str = "('pending', 'running')";

impl BackupStatus {
    /// completed, failed and cancelled are terminal: final.
    pub fn is_terminal(self) -> bool {
        matches!(self, BackupStatus::Completed | BackupStatus::Failed | BackupStatus::Cancelled)
    }

    /// Whether the machine has the edge `self -> to`: pending -> running; running ->
    /// completed; pending or running -> failed or cancelled.
    pub fn can_move_to(self, to: BackupStatus) -> bool {
        use BackupStatus::*;
        matches!(
            (self, to),
            (Pending, Running) | (Running, Completed) | (Pending | Running, Failed) | (Pending | Running, Cancelled)
        )
    }

    /// `Ok` when the machine has the edge, else INVALID_STATE naming from and to.
    pub fn check_move(self, to: BackupStatus) -> Result<()> {
        if self.can_move_to(to) {
            Ok(())
        } else if self.is_terminal() {
            Err(Error::invalid_state(format!("a backup cannot move from {self} to {to}: {self} is final")))
        } else {
            Err(Error::invalid_state(format!(
                "a backup cannot move from {self} to {to}: pending -> running -> completed, \
                 and pending or running -> failed or cancelled"
            )))
        }
    }
}

/// A `backup_jobs` row (one point: one disk of one context in one repository). JSON keys are
/// the column names (SCHEMA.md; `backup_group_id`, `protected` and `size_bytes` from schema v2,
/// the lock window `immutable_from` .. `immutable_until` from schema v3).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupJob {
    pub id: String,
    pub vm_backup_context_id: Option<String>,
    pub vm_context_id: String,
    pub vm_name: String,
    pub disk_id: i64,
    pub repository_id: String,
    pub policy_id: Option<String>,
    pub backup_type: BackupType,
    pub status: BackupStatus,
    pub repository_path: String,
    pub parent_backup_id: Option<String>,
    pub change_id: Option<String>,
    pub bytes_transferred: i64,
    pub total_bytes: i64,
    pub compression_enabled: bool,
    pub error_message: Option<String>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub current_phase: String,
    pub transfer_speed_bps: i64,
    pub eta_seconds: i64,
    pub progress_percent: f64,
    pub last_telemetry_at: Option<Timestamp>,
    pub backup_group_id: Option<String>,
    pub protected: bool,
    pub size_bytes: i64,
    pub immutable_from: Option<Timestamp>,
    pub immutable_until: Option<Timestamp>,
}

const BACKUP_COLUMNS: &str = "id, vm_backup_context_id, vm_context_id, vm_name, disk_id, repository_id, policy_id, \
    backup_type, status, repository_path, parent_backup_id, change_id, bytes_transferred, total_bytes, \
    compression_enabled, error_message, created_at, started_at, completed_at, current_phase, transfer_speed_bps, \
    eta_seconds, progress_percent, last_telemetry_at, backup_group_id, protected, size_bytes, immutable_from, \
    immutable_until";

impl BackupJob {
    /// A row selected as [`BACKUP_COLUMNS`], read by position: a lookup by name scans the
    /// column names on every get, which was most of the cost of a long restore walk.
    fn from_row(r: &Row<'_>) -> rusqlite::Result<BackupJob> {
        Ok(BackupJob {
            id: r.get(0)?,
            vm_backup_context_id: r.get(1)?,
            vm_context_id: r.get(2)?,
            vm_name: r.get(3)?,
            disk_id: r.get(4)?,
            repository_id: r.get(5)?,
            policy_id: r.get(6)?,
            backup_type: r.get(7)?,
            status: r.get(8)?,
            repository_path: r.get(9)?,
            parent_backup_id: r.get(10)?,
            change_id: r.get(11)?,
            bytes_transferred: r.get(12)?,
            total_bytes: r.get(13)?,
            compression_enabled: r.get(14)?,
            error_message: r.get(15)?,
            created_at: r.get(16)?,
            started_at: r.get(17)?,
            completed_at: r.get(18)?,
            current_phase: r.get(19)?,
            transfer_speed_bps: r.get(20)?,
            eta_seconds: r.get(21)?,
            progress_percent: r.get(22)?,
            last_telemetry_at: r.get(23)?,
            backup_group_id: r.get(24)?,
            protected: r.get(25)?,
            size_bytes: r.get(26)?,
            immutable_from: r.get(27)?,
            immutable_until: r.get(28)?,
        })
    }
}

/// A `backup_chains` row: the current generation of one (context, disk, repository). JSON
/// keys are the column names.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chain {
    pub id: String,
    pub vm_context_id: String,
    pub disk_id: i64,
    pub repository_id: String,
    pub full_backup_id: Option<String>,
    pub latest_backup_id: Option<String>,
    pub total_backups: i64,
    pub total_size_bytes: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const CHAIN_COLUMNS: &str = "id, vm_context_id, disk_id, repository_id, full_backup_id, latest_backup_id, \
    total_backups, total_size_bytes, created_at, updated_at";

impl Chain {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Chain> {
        Ok(Chain {
            id: r.get("id")?,
            vm_context_id: r.get("vm_context_id")?,
            disk_id: r.get("disk_id")?,
            repository_id: r.get("repository_id")?,
            full_backup_id: r.get("full_backup_id")?,
            latest_backup_id: r.get("latest_backup_id")?,
            total_backups: r.get("total_backups")?,
            total_size_bytes: r.get("total_size_bytes")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
        })
    }
}

/// A backup point to start (JSON input of `sendense_backup_start`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartBackup {
    /// The point's id; generated (UUIDv7) when absent. A duplicate is ALREADY_EXISTS.
    #[serde(default)]
    pub id: Option<String>,
    /// The replication context of the VM.
    pub context_id: String,
    /// The disk INDEX within the VM (0, 1, ...), not `vm_disks.disk_id`.
    pub disk_id: i64,
    /// The repository written to; must exist and be enabled.
    pub repository_id: String,
    /// full, incremental or differential; the parent of the latter two is found from the chain.
    pub backup_type: BackupType,
    /// The policy applied, if any; must exist.
    #[serde(default)]
    pub policy_id: Option<String>,
    /// Shared by the per-disk points of one VM backup.
    #[serde(default)]
    pub backup_group_id: Option<String>,
    /// Where the point's file is written.
    pub repository_path: String,
    /// Default: the context's VM name.
    #[serde(default)]
    pub vm_name: Option<String>,
}

impl StartBackup {
    /// A point of `backup_type` for disk `disk_id` of `context_id` in `repository_id`.
    pub fn new(
        context_id: impl Into<String>,
        disk_id: i64,
        repository_id: impl Into<String>,
        backup_type: BackupType,
        repository_path: impl Into<String>,
    ) -> StartBackup {
        StartBackup {
            id: None,
            context_id: context_id.into(),
            disk_id,
            repository_id: repository_id.into(),
            backup_type,
            policy_id: None,
            backup_group_id: None,
            repository_path: repository_path.into(),
            vm_name: None,
        }
    }

    fn validate(&self) -> Result<()> {
        if let Some(id) = &self.id {
            check_id("backup id", id)?;
        }
        check_id("context_id", &self.context_id)?;
        check_id("repository_id", &self.repository_id)?;
        check_disk_index(self.disk_id)?;
        if let Some(p) = &self.policy_id {
            check_id("policy_id", p)?;
        }
        if let Some(g) = &self.backup_group_id {
            check_id("backup_group_id", g)?;
        }
        if self.repository_path.trim().is_empty() || self.repository_path.contains('\0') {
            return Err(Error::invalid_argument("repository_path is empty or contains a NUL"));
        }
        if self.vm_name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(Error::invalid_argument("vm_name is empty (omit it to use the context's)"));
        }
        Ok(())
    }
}

fn check_disk_index(disk_id: i64) -> Result<()> {
    if disk_id < 0 {
        return Err(Error::invalid_argument(format!(
            "disk_id {disk_id} is negative (it is the disk index: 0, 1, ...)"
        )));
    }
    Ok(())
}

/// A progress report of an active point (the hot path): one single-row update that also
/// stamps `last_telemetry_at`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupProgress {
    /// 0 to 100.
    pub percent: f64,
    /// Bytes copied so far; at most `total_bytes` when that is known (> 0).
    pub bytes_transferred: i64,
    /// Bytes expected; 0 when unknown.
    pub total_bytes: i64,
    /// Current throughput, bytes per second.
    pub speed_bps: i64,
    /// Estimated seconds left.
    #[serde(default)]
    pub eta_seconds: i64,
    /// The telemetry phase label (snapshot, transferring, finalizing, ...); `None` keeps it.
    #[serde(default)]
    pub current_phase: Option<String>,
}

impl BackupProgress {
    fn validate(&self) -> Result<()> {
        check_percent("percent", self.percent)?;
        check_bytes_within(self.bytes_transferred, self.total_bytes)?;
        check_non_negative(&[("speed_bps", self.speed_bps), ("eta_seconds", self.eta_seconds)])?;
        if self.current_phase.as_deref().is_some_and(|p| p.trim().is_empty()) {
            return Err(Error::invalid_argument("current_phase is empty (omit it to keep the current one)"));
        }
        Ok(())
    }
}

/// Which points [`Store::backup_list`] returns; newest first (created_at, then id, descending).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupFilter {
    /// Only the points of this context.
    #[serde(default)]
    pub context_id: Option<String>,
    /// Only the points in this repository.
    #[serde(default)]
    pub repository_id: Option<String>,
    /// Only points in this status.
    #[serde(default)]
    pub status: Option<BackupStatus>,
    /// Only the points of this VM backup group.
    #[serde(default)]
    pub backup_group_id: Option<String>,
    /// At most this many (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Skip this many first.
    #[serde(default)]
    pub offset: Option<u32>,
}

/// How a (context, disk, repository) is named in messages.
fn chain_name(context_id: &str, disk_id: i64, repository_id: &str) -> String {
    format!("context {context_id} disk {disk_id} in repository {repository_id}")
}

/// The parent of a new point of `backup_type`, from the chain of its (context, disk,
/// repository) (`None`: no chain). A full has none; an incremental builds on the chain's
/// latest completed point, a differential on its full; without a chain they are
/// INVALID_STATE. `name` names the chain in the message.
pub fn parent_for(backup_type: BackupType, chain: Option<&Chain>, name: &str) -> Result<Option<String>> {
    if backup_type == BackupType::Full {
        return Ok(None);
    }
    let link = chain.and_then(|c| match backup_type {
        BackupType::Incremental => c.latest_backup_id.clone(),
        _ => c.full_backup_id.clone(),
    });
    match link {
        Some(parent) => Ok(Some(parent)),
        None => Err(Error::invalid_state(format!(
            "no completed full backup of {name} to build on; an {backup_type} backup needs one (start a full backup)"
        ))),
    }
}

/// The pointers and counters of a chain generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// The full at the root.
    pub full_backup_id: String,
    /// The newest completed point.
    pub latest_backup_id: String,
    /// Completed points in the generation.
    pub total_backups: i64,
    /// Their summed `size_bytes`.
    pub total_size_bytes: i64,
}

/// The generation after point `id` of `backup_type` and `size_bytes` completed on top of
/// `current`: a full starts a new one, an incremental or differential appends (latest = it,
/// one more point, its size added). Appending without a generation is INVALID_STATE.
pub fn chain_after_completion(
    current: Option<&Generation>,
    id: &str,
    backup_type: BackupType,
    size_bytes: i64,
) -> Result<Generation> {
    match (backup_type, current) {
        (BackupType::Full, _) => Ok(Generation {
            full_backup_id: id.to_string(),
            latest_backup_id: id.to_string(),
            total_backups: 1,
            total_size_bytes: size_bytes,
        }),
        (_, Some(g)) => Ok(Generation {
            full_backup_id: g.full_backup_id.clone(),
            latest_backup_id: id.to_string(),
            total_backups: g.total_backups + 1,
            total_size_bytes: g.total_size_bytes.saturating_add(size_bytes),
        }),
        (_, None) => Err(Error::invalid_state(format!(
            "{backup_type} backup {id} cannot complete: its chain has no full backup any more"
        ))),
    }
}

/// How far behind the highest wall-clock time the store has seen ([`Store::clock_watermark`])
/// the clock may read before deletes that depend on a lock window are refused: 5 minutes,
/// room for NTP steps and for clocks of several hosts sharing one file.
pub const CLOCK_TOLERANCE_MS: i64 = 5 * 60 * 1000;

const DAY_MS: i64 = 86_400_000;

/// The lock window `(from, until)` of a point of `backup_type` completed at `completed_at` in
/// a repository with `config` (`None`: not immutable): from its completion plus the grace
/// period until its completion plus the minimum retention. `None` when the repository is not
/// immutable, its config does not apply to the type (fulls; incrementals and differentials),
/// or the window is empty.
pub fn lock_window(config: Option<&ImmutableConfig>, backup_type: BackupType, completed_at: i64) -> Option<(i64, i64)> {
    let config = config?;
    let applies = match backup_type {
        BackupType::Full => config.apply_to_fulls,
        BackupType::Incremental | BackupType::Differential => config.apply_to_incrementals,
    };
    let from = completed_at.saturating_add(config.grace_period_days.saturating_mul(DAY_MS));
    let until = completed_at.saturating_add(config.min_retention_days.saturating_mul(DAY_MS));
    (applies && from < until).then_some((from, until))
}

/// What a delete must know besides the point: its first dependent (with how many there are),
/// its repository's minimum retention, the clock and the highest time the store has seen.
#[derive(Debug, Clone, Copy)]
pub struct DeleteContext<'a> {
    /// The first point building on this one and the number of them.
    pub dependents: Option<(&'a str, i64)>,
    /// A copy of the point in flight (copying or verifying): its id and status.
    pub copy_in_flight: Option<(&'a str, &'a str)>,
    /// `backup_repositories.min_retention_days` of the point's repository.
    pub min_retention_days: i64,
    /// The store clock now, ms since the Unix epoch.
    pub now_ms: i64,
    /// The store's clock watermark, ms since the Unix epoch.
    pub watermark_ms: i64,
}

/// Why a point may not be deleted now, or `None`. Pure. In this order: an active point
/// (CONFLICT), a protected one (INVALID_STATE), one another point builds on (CONFLICT naming
/// it), one a worker is copying or verifying (CONFLICT naming the copy), one inside its repository's minimum retention (INVALID_STATE), one inside its lock
/// window (INVALID_STATE), and one that had a lock window while the clock reads more than
/// [`CLOCK_TOLERANCE_MS`] behind the watermark (INVALID_STATE: the clock moved backwards, so
/// no lock decision can be trusted).
pub fn delete_refusal(point: &BackupJob, at: &DeleteContext<'_>) -> Option<Error> {
    let id = &point.id;
    if !point.status.is_terminal() {
        return Some(Error::conflict(format!(
            "backup {id} is {} (active); cancel or fail it before deleting it",
            point.status
        )));
    }
    if point.protected {
        return Some(Error::invalid_state(format!("backup {id} is protected; unprotect it before deleting it")));
    }
    if let Some((first, n)) = at.dependents {
        let others = if n > 1 { format!(" and {} more", n - 1) } else { String::new() };
        return Some(Error::conflict(format!(
            "backup {id} cannot be deleted: backup {first}{others} builds on it (delete the dependents first)"
        )));
    }
    if let Some((copy, status)) = at.copy_in_flight {
        return Some(Error::conflict(format!(
            "backup {id} cannot be deleted: its copy {copy} is {status}; let the copy finish or fail first"
        )));
    }
    let days = at.min_retention_days;
    if let (BackupStatus::Completed, Some(done), true) = (point.status, point.completed_at, days > 0) {
        let until = done.0.saturating_add(days.saturating_mul(DAY_MS));
        if at.now_ms < until {
            return Some(Error::invalid_state(format!(
                "backup {id} completed at {done} is inside the repository's minimum retention of \
                 {days} days; it can be deleted from {}",
                Timestamp(until)
            )));
        }
    }
    if let (Some(from), Some(until)) = (point.immutable_from, point.immutable_until) {
        if from.0 <= at.now_ms && at.now_ms < until.0 {
            return Some(Error::invalid_state(format!(
                "backup {id} is immutable from {from} until {until}; it can be deleted from {until}"
            )));
        }
        if at.now_ms.saturating_add(CLOCK_TOLERANCE_MS) < at.watermark_ms {
            return Some(Error::invalid_state(format!(
                "backup {id} has a lock window and the clock reads {} while the store has already seen {}: \
                 the clock moved backwards by more than {} minutes, so deletes that depend on a lock are \
                 refused until it is corrected",
                Timestamp(at.now_ms),
                Timestamp(at.watermark_ms),
                CLOCK_TOLERANCE_MS / 60_000
            )));
        }
    }
    None
}

/// The store's clock watermark (ms since the Unix epoch; 0 before the first time was seen).
pub(crate) fn clock_watermark(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT high_water_ms FROM store_clock WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Raise the watermark to `now` when the clock is ahead of it.
pub(crate) fn see_clock(conn: &Connection, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO store_clock (id, high_water_ms, updated_at) VALUES (1, max(?1, 0), ?1) \
         ON CONFLICT (id) DO UPDATE SET high_water_ms = excluded.high_water_ms, updated_at = excluded.updated_at \
         WHERE excluded.high_water_ms > store_clock.high_water_ms",
    )?
    .execute([now])?;
    Ok(())
}

/// Load a point inside a transaction; NOT_FOUND naming the id.
pub(crate) fn load_backup(conn: &Connection, id: &str) -> Result<BackupJob> {
    conn.prepare_cached(&format!("SELECT {BACKUP_COLUMNS} FROM backup_jobs WHERE id = ?1"))?
        .query_row([id], BackupJob::from_row)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("backup {id:?} does not exist")))
}

fn load_chain(conn: &Connection, context_id: &str, disk_id: i64, repository_id: &str) -> Result<Option<Chain>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {CHAIN_COLUMNS} FROM backup_chains \
             WHERE vm_context_id = ?1 AND disk_id = ?2 AND repository_id = ?3"
        ))?
        .query_row(params![context_id, disk_id, repository_id], Chain::from_row)
        .optional()?)
}

fn generation_of(chain: &Chain) -> Option<Generation> {
    Some(Generation {
        full_backup_id: chain.full_backup_id.clone()?,
        latest_backup_id: chain.latest_backup_id.clone()?,
        total_backups: chain.total_backups,
        total_size_bytes: chain.total_size_bytes,
    })
}

/// The completed points of the generation rooted at `full_id`, newest first by (completed_at,
/// created_at, id), as (id, size_bytes).
fn generation_points(conn: &Connection, full_id: &str) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare_cached(
        "WITH RECURSIVE gen(id) AS ( \
           SELECT id FROM backup_jobs WHERE id = ?1 AND status = 'completed' \
           UNION \
           SELECT b.id FROM backup_jobs b JOIN gen ON b.parent_backup_id = gen.id WHERE b.status = 'completed') \
         SELECT j.id, j.size_bytes FROM gen JOIN backup_jobs j ON j.id = gen.id \
         ORDER BY j.completed_at DESC, j.created_at DESC, j.id DESC",
    )?;
    let rows = stmt.query_map([full_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The immutable_config of a repository when it is immutable.
fn repository_lock(conn: &Connection, repository_id: &str) -> Result<Option<ImmutableConfig>> {
    let (is_immutable, config): (bool, Option<String>) = conn
        .prepare_cached("SELECT is_immutable, immutable_config FROM backup_repositories WHERE id = ?1")?
        .query_row([repository_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or_else(|| Error::not_found(format!("repository {repository_id:?} does not exist")))?;
    match (is_immutable, config) {
        (true, Some(text)) => {
            let value: serde_json::Value = serde_json::from_str(&text)?;
            Ok(Some(ImmutableConfig::from_value(&value)?))
        }
        _ => Ok(None),
    }
}

/// Widen the lock window of every ancestor of `id` to cover `from .. until` (chain-aware
/// immutability: a point an immutable point depends on stays at least as long).
fn extend_lock_to_ancestors(conn: &Connection, id: &str, from: i64, until: i64) -> Result<()> {
    conn.prepare_cached(
        "WITH RECURSIVE anc(id) AS ( \
           SELECT parent_backup_id FROM backup_jobs WHERE id = ?1 AND parent_backup_id IS NOT NULL \
           UNION \
           SELECT b.parent_backup_id FROM backup_jobs b JOIN anc ON b.id = anc.id WHERE b.parent_backup_id IS NOT NULL) \
         UPDATE backup_jobs SET immutable_from = min(coalesce(immutable_from, ?2), ?2), \
                                immutable_until = max(coalesce(immutable_until, ?3), ?3) \
         WHERE id IN (SELECT id FROM anc)",
    )?
    .execute(params![id, from, until])?;
    Ok(())
}

/// Delete the points `ids` in one transaction (the caller's): each must pass
/// [`delete_refusal`] with the points among `ids` not counting as its dependents (so a point
/// and everything built on it can go together); then every chain they belonged to is
/// recomputed once. The copies of the points go with them (ON DELETE CASCADE).
pub(crate) fn remove_points(tx: &Connection, ids: &[&str], now: i64) -> Result<()> {
    let watermark = clock_watermark(tx)?;
    let removing: HashSet<&str> = ids.iter().copied().collect();
    let mut min_retention: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    let mut chains: Vec<(String, i64, String)> = Vec::new();
    let mut children = tx.prepare_cached("SELECT id FROM backup_jobs WHERE parent_backup_id = ?1 ORDER BY id")?;
    let mut in_flight = tx.prepare_cached(
        "SELECT id, status FROM backup_copies WHERE source_backup_id = ?1 AND status IN ('copying', 'verifying') \
         ORDER BY id LIMIT 1",
    )?;
    for id in ids {
        let point = load_backup(tx, id)?;
        let staying: Vec<String> = children
            .query_map([id], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .filter(|c| !removing.contains(c.as_str()))
            .collect();
        let days = match min_retention.get(&point.repository_id) {
            Some(days) => *days,
            None => {
                let days = load_repository(tx, &point.repository_id)?.min_retention_days;
                min_retention.insert(point.repository_id.clone(), days);
                days
            }
        };
        let copy: Option<(String, String)> = in_flight.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
        let at = DeleteContext {
            dependents: staying.first().map(|f| (f.as_str(), staying.len() as i64)),
            copy_in_flight: copy.as_ref().map(|(c, s)| (c.as_str(), s.as_str())),
            min_retention_days: days,
            now_ms: now,
            watermark_ms: watermark,
        };
        if let Some(refusal) = delete_refusal(&point, &at) {
            return Err(refusal);
        }
        let key = (point.vm_context_id, point.disk_id, point.repository_id);
        if !chains.contains(&key) {
            chains.push(key);
        }
    }
    // Parents may go before their children inside this transaction; the foreign keys are
    // checked when it commits.
    tx.pragma_update(None, "defer_foreign_keys", true)?;
    let mut delete = tx.prepare_cached("DELETE FROM backup_jobs WHERE id = ?1")?;
    for id in ids {
        delete.execute([id])?;
    }
    for (context_id, disk_id, repository_id) in &chains {
        refresh_chain(tx, context_id, *disk_id, repository_id, now)?;
    }
    see_clock(tx, now)
}

/// Recompute a chain's pointers and counters from its generation's remaining completed
/// points, or remove the chain row when none remains.
fn refresh_chain(conn: &Connection, context_id: &str, disk_id: i64, repository_id: &str, now: i64) -> Result<()> {
    let Some(chain) = load_chain(conn, context_id, disk_id, repository_id)? else {
        return Ok(());
    };
    let points = match &chain.full_backup_id {
        Some(full) => generation_points(conn, full)?,
        None => Vec::new(),
    };
    match points.first() {
        None => {
            conn.prepare_cached("DELETE FROM backup_chains WHERE id = ?1")?.execute([&chain.id])?;
        }
        Some((latest, _)) => {
            let size: i64 = points.iter().map(|(_, s)| *s).sum();
            let total = points.len() as i64;
            if chain.latest_backup_id.as_deref() != Some(latest.as_str())
                || chain.total_backups != total
                || chain.total_size_bytes != size
            {
                conn.prepare_cached(
                    "UPDATE backup_chains SET latest_backup_id = ?2, total_backups = ?3, total_size_bytes = ?4, \
                     updated_at = ?5 WHERE id = ?1",
                )?
                .execute(params![chain.id, latest, total, size, now])?;
            }
        }
    }
    Ok(())
}

/// After a single-row update of an active point changed nothing: why.
fn explain_inactive(conn: &Connection, id: &str, what: &str) -> Error {
    match load_backup(conn, id) {
        Ok(b) => {
            Error::invalid_state(format!("backup {id} is {}; a late {what} cannot change a finished backup", b.status))
        }
        Err(e) => e,
    }
}

impl Store {
    /// Start a backup point (status pending) and return its id. Checks, in one transaction:
    /// the context, repository and policy exist (NOT_FOUND naming them), the repository is
    /// enabled, no other point of the same (context, disk, repository) is active (CONFLICT
    /// naming it), and finds the parent from the chain ([`parent_for`]).
    pub fn backup_start(&self, start: &StartBackup) -> Result<String> {
        start.validate()?;
        self.write(|tx| {
            let now = self.now_ms();
            let ctx = context::load(&crate::store::Tx::new(tx), &start.context_id)?;
            let repo = load_repository(tx, &start.repository_id)?;
            if !repo.enabled {
                return Err(Error::invalid_state(format!(
                    "repository {} is disabled; enable it before backing up to it",
                    repo.id
                )));
            }
            if let Some(p) = &start.policy_id {
                require_row(tx, "backup_policies", "id", p, &format!("policy {p:?}"))?;
            }
            let name = chain_name(&ctx.context_id, start.disk_id, &repo.id);
            let active: Option<(String, BackupStatus)> = tx
                .prepare_cached(&format!(
                    "SELECT id, status FROM backup_jobs WHERE vm_context_id = ?1 AND disk_id = ?2 \
                     AND repository_id = ?3 AND status IN {ACTIVE_STATUSES_SQL} LIMIT 1"
                ))?
                .query_row(params![ctx.context_id, start.disk_id, repo.id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((other, status)) = active {
                return Err(Error::conflict(format!("{name} already has an active backup {other} ({status})")));
            }
            if let Some(group) = &start.backup_group_id {
                let owner: Option<String> = tx
                    .prepare_cached("SELECT vm_context_id FROM backup_jobs WHERE backup_group_id = ?1 LIMIT 1")?
                    .query_row([group], |r| r.get(0))
                    .optional()?;
                if let Some(owner) = owner.filter(|o| *o != ctx.context_id) {
                    return Err(Error::conflict(format!(
                        "backup group {group} belongs to context {owner}, not {}",
                        ctx.context_id
                    )));
                }
                let same_disk: Option<String> = tx
                    .prepare_cached(
                        "SELECT id FROM backup_jobs WHERE backup_group_id = ?1 AND disk_id = ?2 AND repository_id = ?3 \
                         LIMIT 1",
                    )?
                    .query_row(params![group, start.disk_id, repo.id], |r| r.get(0))
                    .optional()?;
                if let Some(other) = same_disk {
                    return Err(Error::conflict(format!(
                        "backup group {group} already has backup {other} for disk {} in repository {}; a VM backup \
                         holds one point per disk (start a retry in a new group)",
                        start.disk_id, repo.id
                    )));
                }
            }
            let id = match &start.id {
                Some(id) => {
                    let taken: Option<String> = tx
                        .prepare_cached("SELECT vm_context_id FROM backup_jobs WHERE id = ?1")?
                        .query_row([id], |r| r.get(0))
                        .optional()?;
                    if let Some(owner) = taken {
                        return Err(Error::already_exists(format!("backup {id} already exists (context {owner})")));
                    }
                    id.clone()
                }
                None => new_id(),
            };
            let chain = load_chain(tx, &ctx.context_id, start.disk_id, &repo.id)?;
            let parent = parent_for(start.backup_type, chain.as_ref(), &name)?;
            tx.prepare_cached(
                "INSERT INTO backup_jobs (id, vm_context_id, vm_name, disk_id, repository_id, policy_id, backup_type, \
                 status, repository_path, parent_backup_id, created_at, backup_group_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                id,
                ctx.context_id,
                start.vm_name.as_deref().unwrap_or(&ctx.vm_name),
                start.disk_id,
                repo.id,
                start.policy_id,
                start.backup_type,
                start.repository_path,
                parent,
                now,
                start.backup_group_id,
            ])?;
            Ok(id)
        })
    }

    /// Record progress of an active (pending or running) point: one single-row update (the
    /// hot path) that stamps last_telemetry_at. A finished point is INVALID_STATE.
    pub fn backup_progress(&self, id: &str, progress: &BackupProgress) -> Result<()> {
        progress.validate()?;
        let now = self.now_ms();
        self.autocommit_raw(|conn| {
            let n = conn
                .prepare_cached(&format!(
                    "UPDATE backup_jobs SET progress_percent = ?2, bytes_transferred = ?3, total_bytes = ?4, \
                     transfer_speed_bps = ?5, eta_seconds = ?6, current_phase = COALESCE(?7, current_phase), \
                     last_telemetry_at = ?8 WHERE id = ?1 AND status IN {ACTIVE_STATUSES_SQL}"
                ))?
                .execute(params![
                    id,
                    progress.percent,
                    progress.bytes_transferred,
                    progress.total_bytes,
                    progress.speed_bps,
                    progress.eta_seconds,
                    progress.current_phase,
                    now
                ])?;
            if n == 0 {
                return Err(explain_inactive(conn, id, "progress report"));
            }
            Ok(())
        })
    }

    /// pending -> running; stamps started_at, and last_telemetry_at as the first heartbeat.
    pub fn backup_set_running(&self, id: &str) -> Result<()> {
        self.write(|tx| {
            let now = self.now_ms();
            let b = load_backup(tx, id)?;
            b.status.check_move(BackupStatus::Running).map_err(|e| e.context(format!("backup {id}")))?;
            tx.prepare_cached(
                "UPDATE backup_jobs SET status = 'running', started_at = ?2, \
                 last_telemetry_at = COALESCE(last_telemetry_at, ?2) WHERE id = ?1",
            )?
            .execute(params![id, now])?;
            Ok(())
        })
    }

    /// Complete a running point and update its chain, in one transaction: the point becomes
    /// completed with completed_at, its change id (validated as a VMware change id),
    /// bytes_transferred and size_bytes; the chain of its (context, disk, repository) is
    /// created or updated by [`chain_after_completion`].
    pub fn backup_complete(
        &self,
        id: &str,
        change_id: Option<&str>,
        bytes_transferred: i64,
        size_bytes: i64,
    ) -> Result<()> {
        if let Some(c) = change_id {
            ChangeId::parse(c)?;
        }
        check_non_negative(&[("bytes_transferred", bytes_transferred), ("size_bytes", size_bytes)])?;
        self.write(|tx| {
            let now = self.now_ms();
            let b = load_backup(tx, id)?;
            b.status.check_move(BackupStatus::Completed).map_err(|e| e.context(format!("backup {id}")))?;
            let lock = repository_lock(tx, &b.repository_id)?;
            let window = lock_window(lock.as_ref(), b.backup_type, now);
            tx.prepare_cached(
                "UPDATE backup_jobs SET status = 'completed', completed_at = ?2, change_id = ?3, \
                 bytes_transferred = ?4, size_bytes = ?5, progress_percent = 100, immutable_from = ?6, \
                 immutable_until = ?7 WHERE id = ?1",
            )?
            .execute(params![
                id,
                now,
                change_id,
                bytes_transferred,
                size_bytes,
                window.map(|w| w.0),
                window.map(|w| w.1)
            ])?;
            if let Some((from, until)) = window {
                extend_lock_to_ancestors(tx, id, from, until)?;
                see_clock(tx, now)?;
            }
            let chain = load_chain(tx, &b.vm_context_id, b.disk_id, &b.repository_id)?;
            let current = chain.as_ref().and_then(generation_of);
            let next = chain_after_completion(current.as_ref(), id, b.backup_type, size_bytes)?;
            match chain {
                // An append keeps the full: leave its column (and index entry) alone.
                Some(c) if c.full_backup_id.as_deref() == Some(next.full_backup_id.as_str()) => {
                    tx.prepare_cached(
                        "UPDATE backup_chains SET latest_backup_id = ?2, total_backups = ?3, total_size_bytes = ?4, \
                         updated_at = ?5 WHERE id = ?1",
                    )?
                    .execute(params![
                        c.id,
                        next.latest_backup_id,
                        next.total_backups,
                        next.total_size_bytes,
                        now
                    ])?;
                }
                Some(c) => {
                    tx.prepare_cached(
                        "UPDATE backup_chains SET full_backup_id = ?2, latest_backup_id = ?3, total_backups = ?4, \
                         total_size_bytes = ?5, updated_at = ?6 WHERE id = ?1",
                    )?
                    .execute(params![
                        c.id,
                        next.full_backup_id,
                        next.latest_backup_id,
                        next.total_backups,
                        next.total_size_bytes,
                        now
                    ])?;
                }
                None => {
                    tx.prepare_cached(
                        "INSERT INTO backup_chains (id, vm_context_id, disk_id, repository_id, full_backup_id, \
                         latest_backup_id, total_backups, total_size_bytes, created_at, updated_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
                    )?
                    .execute(params![
                        new_id(),
                        b.vm_context_id,
                        b.disk_id,
                        b.repository_id,
                        next.full_backup_id,
                        next.latest_backup_id,
                        next.total_backups,
                        next.total_size_bytes,
                        now
                    ])?;
                }
            }
            crate::backup::copy::fan_out(&crate::store::Tx::new(tx), &b, now)
        })
    }

    /// Fail an active point with `message` (its reason); stamps completed_at.
    pub fn backup_fail(&self, id: &str, message: &str) -> Result<()> {
        if message.trim().is_empty() {
            return Err(Error::invalid_argument("the error message is empty: say why the backup failed"));
        }
        self.finish(id, BackupStatus::Failed, Some(message))
    }

    /// Cancel an active point; stamps completed_at.
    pub fn backup_cancel(&self, id: &str) -> Result<()> {
        self.finish(id, BackupStatus::Cancelled, None)
    }

    fn finish(&self, id: &str, status: BackupStatus, message: Option<&str>) -> Result<()> {
        self.write(|tx| {
            let now = self.now_ms();
            let b = load_backup(tx, id)?;
            b.status.check_move(status).map_err(|e| e.context(format!("backup {id}")))?;
            tx.prepare_cached(
                "UPDATE backup_jobs SET status = ?2, error_message = COALESCE(?3, error_message), completed_at = ?4 \
                 WHERE id = ?1",
            )?
            .execute(params![id, status, message, now])?;
            Ok(())
        })
    }

    /// The point with this id.
    pub fn backup_get(&self, id: &str) -> Result<BackupJob> {
        self.read(|tx| load_backup(tx, id))
    }

    /// Points matching `filter`, newest first.
    pub fn backup_list(&self, filter: &BackupFilter) -> Result<Vec<BackupJob>> {
        let query = Select::new(BACKUP_COLUMNS, "backup_jobs")
            .eq("vm_context_id", filter.context_id.as_ref())
            .eq("repository_id", filter.repository_id.as_ref())
            .eq("backup_group_id", filter.backup_group_id.as_ref())
            .eq("status", filter.status)
            .order("created_at DESC, id DESC", Some((filter.limit.unwrap_or(100), filter.offset.unwrap_or(0))));
        self.read(|tx| query.rows(tx, BackupJob::from_row))
    }

    /// Decide full vs incremental for the next backup of disk `disk_id` (its index) of a
    /// context into a repository, from a snapshot whose change id is `snapshot_change_id` (the
    /// CBT rules of [`crate::replication::cbt::decide`], scoped to context, disk and repository). The base
    /// is the change id of the chain's latest completed point, which is exactly the parent an
    /// incremental started now gets, so the decision and [`Store::backup_start`] agree. A
    /// disk without a chain, or whose latest point recorded no change id, has no base.
    /// NOT_FOUND names an unknown context or repository; an invalid snapshot change id is
    /// INVALID_ARGUMENT.
    pub fn backup_cbt_decide(
        &self,
        context_id: &str,
        disk_id: i64,
        repository_id: &str,
        snapshot_change_id: &str,
    ) -> Result<Decision> {
        check_disk_index(disk_id)?;
        let snapshot = ChangeId::parse(snapshot_change_id).map_err(|e| e.context("the snapshot's change id"))?;
        self.read(|tx| {
            let base: Option<Option<String>> = tx
                .prepare_cached(
                    "SELECT j.change_id FROM backup_chains c JOIN backup_jobs j ON j.id = c.latest_backup_id \
                     WHERE c.vm_context_id = ?1 AND c.disk_id = ?2 AND c.repository_id = ?3",
                )?
                .query_row(params![context_id, disk_id, repository_id], |r| r.get(0))
                .optional()?;
            if base.is_none() {
                context::load(&crate::store::Tx::new(tx), context_id)?;
                load_repository(tx, repository_id)?;
            }
            Ok(crate::replication::cbt::decide(base.flatten().as_deref(), &snapshot, false))
        })
    }

    /// The chain of (context, disk, repository); NOT_FOUND when it has none.
    pub fn chain_get(&self, context_id: &str, disk_id: i64, repository_id: &str) -> Result<Chain> {
        check_disk_index(disk_id)?;
        self.read(|tx| {
            load_chain(tx, context_id, disk_id, repository_id)?.ok_or_else(|| {
                Error::not_found(format!(
                    "there is no backup chain of {}",
                    chain_name(context_id, disk_id, repository_id)
                ))
            })
        })
    }

    /// The chains of a context, by disk then repository; NOT_FOUND when the context does not exist.
    pub fn chain_list(&self, context_id: &str) -> Result<Vec<Chain>> {
        self.read(|tx| {
            context::load(&crate::store::Tx::new(tx), context_id)?;
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {CHAIN_COLUMNS} FROM backup_chains WHERE vm_context_id = ?1 ORDER BY disk_id, repository_id"
            ))?;
            let rows = stmt.query_map([context_id], Chain::from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// What restoring `backup_id` needs: the full, then each point building on it, up to and
    /// including `backup_id`. INVALID_STATE naming the link when one is missing, not
    /// completed, has no parent while not a full, or when the parent links loop; NOT_FOUND
    /// when `backup_id` itself does not exist.
    ///
    /// One recursive query reads every link, from the point up its parent links while the
    /// link is completed, not a full and has a parent (UNION: a link read twice, where the
    /// links loop, ends the walk); the checks then run on the rows read, in walk order.
    pub fn restore_chain(&self, backup_id: &str) -> Result<Vec<BackupJob>> {
        static WALK_SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = WALK_SQL.get_or_init(|| {
            format!(
                "WITH RECURSIVE walk(link) AS ( \
                   SELECT ?1 \
                   UNION \
                   SELECT b.parent_backup_id FROM walk JOIN backup_jobs b ON b.id = walk.link \
                   WHERE b.status = 'completed' AND b.backup_type <> 'full' AND b.parent_backup_id IS NOT NULL) \
                 SELECT {BACKUP_COLUMNS} FROM walk CROSS JOIN backup_jobs ON backup_jobs.id = walk.link"
            )
        });
        let mut links = self.read(|tx| {
            let mut stmt = tx.prepare_cached(sql)?;
            debug_assert_eq!(
                stmt.column_names().collect::<Vec<_>>().join(", "),
                BACKUP_COLUMNS.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            let rows = stmt.query_map([backup_id], BackupJob::from_row)?;
            let mut links = std::collections::HashMap::new();
            for row in rows {
                let row = row?;
                links.insert(row.id.clone(), row);
            }
            Ok(links)
        })?;
        let Some(mut point) = links.remove(backup_id) else {
            return Err(Error::not_found(format!("backup {backup_id:?} does not exist")));
        };
        let mut chain = Vec::with_capacity(links.len() + 1);
        let mut seen = HashSet::with_capacity(links.len() + 1);
        loop {
            if point.status != BackupStatus::Completed {
                return Err(Error::invalid_state(format!(
                    "backup {backup_id} cannot be restored: link {} is {}, not completed",
                    point.id, point.status
                )));
            }
            seen.insert(point.id.clone());
            if point.backup_type == BackupType::Full {
                chain.push(point);
                break;
            }
            let Some(parent) = point.parent_backup_id.clone() else {
                return Err(Error::invalid_state(format!(
                    "backup {backup_id} cannot be restored: link {} has no parent and is not a full backup",
                    point.id
                )));
            };
            let child = point.id.clone();
            chain.push(point);
            point = match links.remove(&parent) {
                Some(next) => next,
                // Already walked (every link walked is completed): the links loop there.
                None if seen.contains(&parent) => {
                    return Err(Error::invalid_state(format!(
                        "backup {backup_id} cannot be restored: its parent links loop at {parent}"
                    )))
                }
                None => {
                    return Err(Error::invalid_state(format!(
                        "backup {backup_id} cannot be restored: link {parent} (parent of {child}) does not exist"
                    )))
                }
            };
        }
        chain.reverse();
        Ok(chain)
    }

    /// Delete a point. Refused ([`delete_refusal`]) while it is active (CONFLICT), protected
    /// (INVALID_STATE), while another point builds on it (CONFLICT naming it), inside its
    /// repository's min_retention_days counted from completed_at with the store clock, inside
    /// its lock window, or when it has a lock window and the clock moved backwards
    /// (INVALID_STATE). In the same transaction its copies go with it and its chain is updated
    /// when the point belongs to the chain's generation: pointers and counters recomputed from
    /// the generation's remaining completed points (latest = the newest of them, which is the
    /// point's parent when it was an incremental at the tip), or the chain row removed when the
    /// generation becomes empty (its full was deleted; the next backup of the disk must then
    /// be a full).
    pub fn backup_delete(&self, id: &str) -> Result<()> {
        self.write(|tx| remove_points(tx, &[id], self.now_ms()))
    }

    /// The highest wall-clock time the store has seen while locking points, deleting them or
    /// applying retention (the Unix epoch for a store that has seen none). A clock more than
    /// [`CLOCK_TOLERANCE_MS`] behind it has moved backwards: see [`delete_refusal`].
    pub fn clock_watermark(&self) -> Result<Timestamp> {
        self.read(|tx| clock_watermark(tx).map(Timestamp))
    }

    /// Protect (never removed, never counted by retention) or unprotect a point.
    pub fn backup_set_protected(&self, id: &str, protected: bool) -> Result<BackupJob> {
        self.write(|tx| {
            load_backup(tx, id)?;
            tx.prepare_cached("UPDATE backup_jobs SET protected = ?2 WHERE id = ?1")?
                .execute(params![id, protected])?;
            load_backup(tx, id)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BackupStatus::*;

    fn chain(full: Option<&str>, latest: Option<&str>) -> Chain {
        Chain {
            id: "c".into(),
            vm_context_id: "ctx".into(),
            disk_id: 0,
            repository_id: "r".into(),
            full_backup_id: full.map(String::from),
            latest_backup_id: latest.map(String::from),
            total_backups: 2,
            total_size_bytes: 30,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    fn point(status: BackupStatus) -> BackupJob {
        BackupJob {
            id: "b1".into(),
            vm_backup_context_id: None,
            vm_context_id: "ctx".into(),
            vm_name: "vm".into(),
            disk_id: 0,
            repository_id: "r".into(),
            policy_id: None,
            backup_type: BackupType::Full,
            status,
            repository_path: "/p".into(),
            parent_backup_id: None,
            change_id: None,
            bytes_transferred: 0,
            total_bytes: 0,
            compression_enabled: true,
            error_message: None,
            created_at: Timestamp(0),
            started_at: None,
            completed_at: Some(Timestamp(0)),
            current_phase: "pending".into(),
            transfer_speed_bps: 0,
            eta_seconds: 0,
            progress_percent: 0.0,
            last_telemetry_at: None,
            backup_group_id: None,
            protected: false,
            size_bytes: 0,
            immutable_from: None,
            immutable_until: None,
        }
    }

    #[test]
    fn rows_read_by_position_equal_rows_read_by_name() {
        use crate::backup::repository::{NewRepository, RepositoryType};
        let store = Store::open_in_memory(crate::OpenOptions::default()).unwrap();
        let ctx =
            store.context_create(&crate::replication::NewContext::new("vm", "vm-1", "/dc/vm", "vc", "dc")).unwrap();
        let repo = store
            .repository_create(&NewRepository::new("r", RepositoryType::Local, serde_json::json!({"path": "/r"})))
            .unwrap();
        let mut start = StartBackup::new(&ctx, 1, &repo, BackupType::Full, "/r/f.qcow2");
        start.backup_group_id = Some("group-1".into());
        let id = store.backup_start(&start).unwrap();
        store.backup_set_running(&id).unwrap();
        store.backup_complete(&id, Some("52 aa-bb/3"), 7, 5).unwrap();
        store
            .read(|tx| {
                let sql = format!("SELECT {BACKUP_COLUMNS} FROM backup_jobs WHERE id = ?1");
                let by_position = tx.query_row(&sql, [&id], BackupJob::from_row)?;
                let by_name = tx.query_row(&sql, [&id], |r| {
                    Ok(BackupJob {
                        id: r.get("id")?,
                        vm_backup_context_id: r.get("vm_backup_context_id")?,
                        vm_context_id: r.get("vm_context_id")?,
                        vm_name: r.get("vm_name")?,
                        disk_id: r.get("disk_id")?,
                        repository_id: r.get("repository_id")?,
                        policy_id: r.get("policy_id")?,
                        backup_type: r.get("backup_type")?,
                        status: r.get("status")?,
                        repository_path: r.get("repository_path")?,
                        parent_backup_id: r.get("parent_backup_id")?,
                        change_id: r.get("change_id")?,
                        bytes_transferred: r.get("bytes_transferred")?,
                        total_bytes: r.get("total_bytes")?,
                        compression_enabled: r.get("compression_enabled")?,
                        error_message: r.get("error_message")?,
                        created_at: r.get("created_at")?,
                        started_at: r.get("started_at")?,
                        completed_at: r.get("completed_at")?,
                        current_phase: r.get("current_phase")?,
                        transfer_speed_bps: r.get("transfer_speed_bps")?,
                        eta_seconds: r.get("eta_seconds")?,
                        progress_percent: r.get("progress_percent")?,
                        last_telemetry_at: r.get("last_telemetry_at")?,
                        backup_group_id: r.get("backup_group_id")?,
                        protected: r.get("protected")?,
                        size_bytes: r.get("size_bytes")?,
                        immutable_from: r.get("immutable_from")?,
                        immutable_until: r.get("immutable_until")?,
                    })
                })?;
                assert_eq!(by_position, by_name);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn status_machine_edges_are_exactly_the_documented_ones() {
        let allowed = [
            (Pending, Running),
            (Pending, Failed),
            (Pending, Cancelled),
            (Running, Completed),
            (Running, Failed),
            (Running, Cancelled),
        ];
        for from in BackupStatus::ALL {
            for to in BackupStatus::ALL {
                assert_eq!(from.can_move_to(*to), allowed.contains(&(*from, *to)), "{from} -> {to}");
            }
        }
        assert_eq!(
            Completed.check_move(Running).unwrap_err().message(),
            "a backup cannot move from completed to running: completed is final"
        );
        assert!(Pending.check_move(Completed).unwrap_err().message().contains("from pending to completed"));
        assert_eq!(
            BackupStatus::ALL
                .iter()
                .filter(|s| !s.is_terminal())
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", "),
            ACTIVE_STATUSES_SQL.trim_matches(|c| c == '(' || c == ')')
        );
    }

    #[test]
    fn the_parent_comes_from_the_chain() {
        let c = chain(Some("full"), Some("latest"));
        assert_eq!(parent_for(BackupType::Full, Some(&c), "x").unwrap(), None);
        assert_eq!(parent_for(BackupType::Full, None, "x").unwrap(), None);
        assert_eq!(parent_for(BackupType::Incremental, Some(&c), "x").unwrap().as_deref(), Some("latest"));
        assert_eq!(parent_for(BackupType::Differential, Some(&c), "x").unwrap().as_deref(), Some("full"));
        for t in [BackupType::Incremental, BackupType::Differential] {
            for ch in [None, Some(chain(None, None))] {
                let e = parent_for(t, ch.as_ref(), "context c disk 1 in repository r").unwrap_err();
                assert_eq!(e.status(), crate::Status::InvalidState);
                assert!(
                    e.message().starts_with("no completed full backup of context c disk 1 in repository r to build on"),
                    "{e}"
                );
            }
        }
    }

    #[test]
    fn completion_starts_or_extends_a_generation() {
        let first = chain_after_completion(None, "f1", BackupType::Full, 100).unwrap();
        assert_eq!(
            first,
            Generation {
                full_backup_id: "f1".into(),
                latest_backup_id: "f1".into(),
                total_backups: 1,
                total_size_bytes: 100
            }
        );
        let second = chain_after_completion(Some(&first), "i1", BackupType::Incremental, 10).unwrap();
        assert_eq!((second.full_backup_id.as_str(), second.latest_backup_id.as_str()), ("f1", "i1"));
        assert_eq!((second.total_backups, second.total_size_bytes), (2, 110));
        let third = chain_after_completion(Some(&second), "d1", BackupType::Differential, 20).unwrap();
        assert_eq!((third.latest_backup_id.as_str(), third.total_backups, third.total_size_bytes), ("d1", 3, 130));
        let fresh = chain_after_completion(Some(&third), "f2", BackupType::Full, 50).unwrap();
        assert_eq!((fresh.full_backup_id.as_str(), fresh.total_backups, fresh.total_size_bytes), ("f2", 1, 50));
        let e = chain_after_completion(None, "i9", BackupType::Incremental, 1).unwrap_err();
        assert_eq!(e.status(), crate::Status::InvalidState);
    }

    fn at(dependents: Option<(&str, i64)>, min_retention_days: i64, now_ms: i64) -> DeleteContext<'_> {
        DeleteContext { dependents, copy_in_flight: None, min_retention_days, now_ms, watermark_ms: now_ms }
    }

    #[test]
    fn delete_refusals_name_their_reason() {
        let day = 86_400_000;
        let mut p = point(Completed);
        assert!(delete_refusal(&p, &at(None, 0, 0)).is_none());
        assert!(delete_refusal(&p, &at(None, 7, 7 * day)).is_none(), "retention ends exactly at completion + days");
        let e = delete_refusal(&p, &at(None, 7, 7 * day - 1)).unwrap();
        assert_eq!(e.status(), crate::Status::InvalidState);
        assert!(e.message().contains("minimum retention of 7 days") && e.message().contains("1970-01-08"), "{e}");
        let e = delete_refusal(&p, &at(Some(("b2", 3)), 0, 0)).unwrap();
        assert_eq!(e.status(), crate::Status::Conflict);
        assert!(e.message().contains("backup b2 and 2 more builds on it"), "{e}");
        p.protected = true;
        assert!(delete_refusal(&p, &at(None, 0, 0)).unwrap().message().contains("protected"));
        for s in [Pending, Running] {
            let e = delete_refusal(&point(s), &at(None, 0, 0)).unwrap();
            assert_eq!(e.status(), crate::Status::Conflict);
            assert!(e.message().contains("(active)"), "{e}");
        }
        assert!(delete_refusal(&point(Failed), &at(None, 30, 0)).is_none(), "a failed point is no backup to retain");
        let copying = DeleteContext { copy_in_flight: Some(("copy-1", "copying")), ..at(None, 0, 0) };
        let e = delete_refusal(&point(Completed), &copying).unwrap();
        assert_eq!(e.status(), crate::Status::Conflict);
        assert!(e.message().contains("copy copy-1 is copying"), "{e}");
    }

    #[test]
    fn a_point_is_locked_inside_its_window_and_never_on_a_clock_that_went_back() {
        let day = 86_400_000;
        let mut p = point(Completed);
        p.immutable_from = Some(Timestamp(2 * day));
        p.immutable_until = Some(Timestamp(30 * day));
        assert!(delete_refusal(&p, &at(None, 0, 2 * day - 1)).is_none(), "the grace period is open");
        for now in [2 * day, 29 * day, 30 * day - 1] {
            let e = delete_refusal(&p, &at(None, 0, now)).unwrap();
            assert_eq!(e.status(), crate::Status::InvalidState);
            assert!(
                e.message().contains("immutable from 1970-01-03") && e.message().contains("until 1970-01-31"),
                "{e}"
            );
        }
        assert!(delete_refusal(&p, &at(None, 0, 30 * day)).is_none());
        let back = DeleteContext { watermark_ms: 31 * day + CLOCK_TOLERANCE_MS, ..at(None, 0, 31 * day) };
        assert!(delete_refusal(&p, &back).is_none(), "within the tolerance");
        let back = DeleteContext { watermark_ms: 40 * day, ..at(None, 0, 31 * day) };
        let e = delete_refusal(&p, &back).unwrap();
        assert_eq!(e.status(), crate::Status::InvalidState);
        assert!(e.message().contains("moved backwards"), "{e}");
        assert!(
            delete_refusal(&point(Completed), &back).is_none(),
            "a point that never had a lock does not depend on the clock"
        );
    }

    #[test]
    fn lock_windows_follow_the_repository_config() {
        let day = 86_400_000;
        let config = ImmutableConfig {
            grace_period_days: 1,
            apply_to_fulls: true,
            apply_to_incrementals: false,
            min_retention_days: 30,
        };
        assert_eq!(lock_window(None, BackupType::Full, 0), None);
        assert_eq!(lock_window(Some(&config), BackupType::Full, 5), Some((5 + day, 5 + 30 * day)));
        assert_eq!(lock_window(Some(&config), BackupType::Incremental, 5), None);
        assert_eq!(lock_window(Some(&config), BackupType::Differential, 5), None);
        let all = ImmutableConfig { apply_to_incrementals: true, ..config };
        assert_eq!(lock_window(Some(&all), BackupType::Differential, 0), Some((day, 30 * day)));
        let empty = ImmutableConfig { grace_period_days: 30, ..all };
        assert_eq!(lock_window(Some(&empty), BackupType::Full, 0), None, "an empty window locks nothing");
    }

    #[test]
    fn inputs_are_validated() {
        let ok = StartBackup::new("ctx", 0, "r", BackupType::Full, "/b/f.qcow2");
        assert!(ok.validate().is_ok());
        let e = StartBackup { disk_id: -1, ..ok.clone() }.validate().unwrap_err();
        assert!(e.message().contains("disk_id -1 is negative"), "{e}");
        let e = StartBackup { repository_path: " ".into(), ..ok.clone() }.validate().unwrap_err();
        assert!(e.message().contains("repository_path"), "{e}");
        let e = StartBackup { backup_group_id: Some(String::new()), ..ok.clone() }.validate().unwrap_err();
        assert_eq!(e.message(), "backup_group_id is empty");
        let e = crate::value::from_json::<StartBackup>(
            "start",
            r#"{"context_id":"c","disk_id":0,"repository_id":"r","backup_type":"full","repository_path":"/p","x":1}"#,
        )
        .unwrap_err();
        assert!(e.message().contains("unknown field `x`"), "{e}");
        let e = crate::value::from_json::<StartBackup>(
            "start",
            r#"{"context_id":"c","disk_id":0,"repository_id":"r","backup_type":"synthetic","repository_path":"/p"}"#,
        )
        .unwrap_err();
        assert!(e.message().contains("not a valid backup type"), "{e}");
        let p = BackupProgress { percent: 10.0, bytes_transferred: 5, total_bytes: 10, ..Default::default() };
        assert!(p.validate().is_ok());
        assert!(BackupProgress { percent: 101.0, ..p.clone() }.validate().is_err());
        assert!(BackupProgress { bytes_transferred: 11, ..p.clone() }.validate().is_err());
        assert!(BackupProgress { eta_seconds: -1, ..p }.validate().is_err());
    }
}
