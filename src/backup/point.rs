//! Backup points (docs/DOMAIN.md section 4): starting them, their status, progress and
//! completion, and deleting them.
//!
//! A backup point is one `backup_jobs` row: one disk (by index) of one context written to one
//! repository. Points of one VM backup share a `backup_group_id`. The chain a point belongs to
//! (its parent when it starts, the chain update when it completes or is deleted) is `chain.rs`.
//!
//! Rules enforced here:
//! - the status machine ([`BackupStatus::check_move`]): pending -> running -> completed |
//!   failed | cancelled, pending -> failed | cancelled; terminal statuses are final;
//! - one active (pending or running) point per (context, disk, repository): a second start is
//!   CONFLICT (checked inside the start's immediate transaction, so it holds across processes;
//!   no partial unique index, because rows written by other areas' raw SQL may break it);
//! - a point is deleted only when it is finished, not protected, no other point builds on it
//!   and it is outside its repository's `min_retention_days`; the chain is updated in the same
//!   transaction (recomputed from the generation's remaining points, or removed when the
//!   generation becomes empty).
//!
//! Where a point's size lives: schema v2 adds `backup_jobs.size_bytes` (the size of the
//! written file, summed into `backup_chains.total_size_bytes`). `total_bytes` keeps its
//! docs/SCHEMA.md meaning, the telemetry's "bytes expected" that progress reports overwrite.

use serde::{Deserialize, Serialize};

use crate::backup::chain::{chain_name, load_chain, parent_for, record_completion};
use crate::backup::delete::{extend_lock_to_ancestors, lock_window, repository_lock, see_clock};
use crate::backup::repository::load_repository;
use crate::error::{echo, Error, Result};
use crate::replication::context;
use crate::replication::ChangeId;
use crate::store::query::{require_row, Select};
use crate::store::{Store, Tx};
use crate::value::{check_bytes_within, check_id, check_non_negative, check_percent, new_id, Timestamp};
use crate::{params, record, string_enum};

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

record! {
    /// A `backup_jobs` row (one point: one disk of one context in one repository). JSON keys are
    /// the column names (docs/SCHEMA.md; `backup_group_id`, `protected` and `size_bytes` from
    /// schema v2, the lock window `immutable_from` .. `immutable_until` from schema v3). Read by
    /// position, like every record: a lookup by name scans the column names on every get,
    /// which was most of the cost of a long restore walk.
    #[allow(missing_docs)]
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct BackupPoint in "backup_jobs" {
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
    /// Where the point's file is written; when absent, derived from the repository
    /// ([`crate::backup::Repository::point_location`]).
    #[serde(default)]
    pub repository_path: Option<String>,
    /// Default: the context's VM name.
    #[serde(default)]
    pub vm_name: Option<String>,
}

impl StartBackup {
    /// A point of `backup_type` for disk `disk_id` of `context_id` in `repository_id`, written
    /// to `repository_path` (set the field to `None` to derive it from the repository).
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
            repository_path: Some(repository_path.into()),
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
        if self.repository_path.as_deref().is_some_and(|p| p.trim().is_empty() || p.contains('\0')) {
            return Err(Error::invalid_argument(
                "repository_path is empty or contains a NUL (omit it to derive it from the repository)",
            ));
        }
        if self.vm_name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(Error::invalid_argument("vm_name is empty (omit it to use the context's)"));
        }
        Ok(())
    }
}

/// A disk index: >= 0, else INVALID_ARGUMENT.
pub(crate) fn check_disk_index(disk_id: i64) -> Result<()> {
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
pub struct BackupPointFilter {
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
/// Load a point inside a transaction; NOT_FOUND naming the id.
pub(crate) fn load_backup(tx: &Tx<'_>, id: &str) -> Result<BackupPoint> {
    tx.record("WHERE id = :id", params![id])?
        .ok_or_else(|| Error::not_found(format!("backup {:?} does not exist", echo(id))))
}

/// After a single-row update of an active point changed nothing: why.
fn explain_inactive(tx: &Tx<'_>, id: &str, what: &str) -> Error {
    match load_backup(tx, id) {
        Ok(b) => Error::invalid_state(format!(
            "backup {} is {}; a late {what} cannot change a finished backup",
            echo(id),
            b.status
        )),
        Err(e) => e,
    }
}

impl Store {
    /// Start a backup point (status pending) and return its id. Checks, in one transaction:
    /// the context, repository and policy exist (NOT_FOUND naming them), the repository is
    /// enabled, no other point of the same (context, disk, repository) is active (CONFLICT
    /// naming it), and finds the parent from the chain ([`parent_for`]). A taken `id` is
    /// ALREADY_EXISTS naming it (checked first), so a start with an id is safe to retry after
    /// [`crate::Status::CommitUnknown`]. Without a `repository_path` the point's location is
    /// derived from the repository ([`crate::backup::Repository::point_location`]).
    pub fn backup_start(&self, start: &StartBackup) -> Result<String> {
        start.validate()?;
        self.writing(|tx| {
            let now = self.now_ms();
            // A taken id first: a retry of a start that was applied (after COMMIT_UNKNOWN)
            // is ALREADY_EXISTS naming the point, not CONFLICT with itself as the active one.
            let id = match &start.id {
                Some(id) => {
                    let taken: Option<String> =
                        tx.optional("SELECT vm_context_id FROM backup_jobs WHERE id = :id", params![id], |r| r.get(0))?;
                    if let Some(owner) = taken {
                        return Err(Error::already_exists(format!(
                            "backup {} already exists (context {owner})",
                            echo(id)
                        )));
                    }
                    id.clone()
                }
                None => new_id(),
            };
            let ctx = context::load(tx, &start.context_id)?;
            let repo = load_repository(tx, &start.repository_id)?;
            if !repo.enabled {
                return Err(Error::invalid_state(format!(
                    "repository {} is disabled; enable it before backing up to it",
                    repo.id
                )));
            }
            if let Some(p) = &start.policy_id {
                require_row(tx, "backup_policies", "id", p, &format!("policy {:?}", echo(p)))?;
            }
            let name = chain_name(&ctx.context_id, start.disk_id, &repo.id);
            let active: Option<(String, BackupStatus)> = tx.optional(
                &format!(
                    "SELECT id, status FROM backup_jobs WHERE vm_context_id = :context_id AND disk_id = :disk_id \
                     AND repository_id = :repository_id AND status IN {ACTIVE_STATUSES_SQL} LIMIT 1"
                ),
                params![context_id = ctx.context_id, disk_id = start.disk_id, repository_id = repo.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if let Some((other, status)) = active {
                return Err(Error::conflict(format!("{name} already has an active backup {other} ({status})")));
            }
            if let Some(group) = &start.backup_group_id {
                let owner: Option<String> = tx.optional(
                    "SELECT vm_context_id FROM backup_jobs WHERE backup_group_id = :group LIMIT 1",
                    params![group],
                    |r| r.get(0),
                )?;
                if let Some(owner) = owner.filter(|o| *o != ctx.context_id) {
                    return Err(Error::conflict(format!(
                        "backup group {} belongs to context {owner}, not {}",
                        echo(group),
                        ctx.context_id
                    )));
                }
                let same_disk: Option<String> = tx.optional(
                    "SELECT id FROM backup_jobs WHERE backup_group_id = :group AND disk_id = :disk_id \
                     AND repository_id = :repository_id LIMIT 1",
                    params![group, disk_id = start.disk_id, repository_id = repo.id],
                    |r| r.get(0),
                )?;
                if let Some(other) = same_disk {
                    return Err(Error::conflict(format!(
                        "backup group {group} already has backup {other} for disk {} in repository {}; a VM backup \
                         holds one point per disk (start a retry in a new group)",
                        start.disk_id,
                        repo.id,
                        group = echo(group)
                    )));
                }
            }
            let chain = load_chain(tx, &ctx.context_id, start.disk_id, &repo.id)?;
            let parent = parent_for(start.backup_type, chain.as_ref(), &name)?;
            let path = match &start.repository_path {
                Some(path) => path.clone(),
                None => repo.point_location(&ctx.context_id, start.disk_id, &id)?,
            };
            tx.execute(
                "INSERT INTO backup_jobs (id, vm_context_id, vm_name, disk_id, repository_id, policy_id, backup_type, \
                 status, repository_path, parent_backup_id, created_at, backup_group_id) \
                 VALUES (:id, :vm_context_id, :vm_name, :disk_id, :repository_id, :policy_id, :backup_type, \
                 'pending', :repository_path, :parent, :now, :backup_group_id)",
                params![
                    id,
                    vm_context_id = ctx.context_id,
                    vm_name = start.vm_name.as_deref().unwrap_or(&ctx.vm_name),
                    disk_id = start.disk_id,
                    repository_id = repo.id,
                    policy_id = start.policy_id,
                    backup_type = start.backup_type,
                    repository_path = path,
                    parent,
                    now,
                    backup_group_id = start.backup_group_id,
                ],
            )?;
            Ok(id)
        })
    }

    /// Record progress of an active (pending or running) point: one single-row update (the
    /// hot path) that stamps last_telemetry_at. A finished point is INVALID_STATE.
    pub fn backup_progress(&self, id: &str, progress: &BackupProgress) -> Result<()> {
        progress.validate()?;
        let now = self.now_ms();
        self.autocommit(|tx| {
            let n = tx.execute(
                &format!(
                    "UPDATE backup_jobs SET progress_percent = :percent, bytes_transferred = :bytes_transferred, \
                     total_bytes = :total_bytes, transfer_speed_bps = :speed_bps, eta_seconds = :eta_seconds, \
                     current_phase = COALESCE(:current_phase, current_phase), last_telemetry_at = :now \
                     WHERE id = :id AND status IN {ACTIVE_STATUSES_SQL}"
                ),
                params![
                    id,
                    percent = progress.percent,
                    bytes_transferred = progress.bytes_transferred,
                    total_bytes = progress.total_bytes,
                    speed_bps = progress.speed_bps,
                    eta_seconds = progress.eta_seconds,
                    current_phase = progress.current_phase,
                    now
                ],
            )?;
            if n == 0 {
                return Err(explain_inactive(tx, id, "progress report"));
            }
            Ok(())
        })
    }

    /// pending -> running; stamps started_at, and last_telemetry_at as the first heartbeat.
    pub fn backup_set_running(&self, id: &str) -> Result<()> {
        self.writing(|tx| {
            let now = self.now_ms();
            let b = load_backup(tx, id)?;
            b.status.check_move(BackupStatus::Running).map_err(|e| e.context(format!("backup {}", echo(id))))?;
            tx.execute(
                "UPDATE backup_jobs SET status = 'running', started_at = :now, \
                 last_telemetry_at = COALESCE(last_telemetry_at, :now) WHERE id = :id",
                params![id, now],
            )?;
            Ok(())
        })
    }

    /// Complete a running point and update its chain, in one transaction: the point becomes
    /// completed with completed_at, its change id (validated as a VMware change id),
    /// bytes_transferred and size_bytes; the chain of its (context, disk, repository) is
    /// created or updated by [`crate::backup::chain_after_completion`].
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
        self.writing(|tx| {
            let now = self.now_ms();
            let b = load_backup(tx, id)?;
            b.status.check_move(BackupStatus::Completed).map_err(|e| e.context(format!("backup {}", echo(id))))?;
            let lock = repository_lock(tx, &b.repository_id)?;
            let window = lock_window(lock.as_ref(), b.backup_type, now);
            tx.execute(
                "UPDATE backup_jobs SET status = 'completed', completed_at = :now, change_id = :change_id, \
                 bytes_transferred = :bytes_transferred, size_bytes = :size_bytes, progress_percent = 100, \
                 immutable_from = :immutable_from, immutable_until = :immutable_until WHERE id = :id",
                params![
                    id,
                    now,
                    change_id,
                    bytes_transferred,
                    size_bytes,
                    immutable_from = window.map(|w| w.0),
                    immutable_until = window.map(|w| w.1)
                ],
            )?;
            if let Some((from, until)) = window {
                extend_lock_to_ancestors(tx, id, from, until)?;
                see_clock(tx, now)?;
            }
            record_completion(tx, &b, size_bytes, now)?;
            crate::backup::copy::fan_out(tx, &b, now)
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
        self.writing(|tx| {
            let now = self.now_ms();
            let b = load_backup(tx, id)?;
            b.status.check_move(status).map_err(|e| e.context(format!("backup {}", echo(id))))?;
            tx.execute(
                "UPDATE backup_jobs SET status = :status, error_message = COALESCE(:message, error_message), \
                 completed_at = :now WHERE id = :id",
                params![id, status, message, now],
            )?;
            Ok(())
        })
    }

    /// The point with this id.
    pub fn backup_get(&self, id: &str) -> Result<BackupPoint> {
        self.reading(|tx| load_backup(tx, id))
    }

    /// Points matching `filter`, newest first.
    pub fn backup_list(&self, filter: &BackupPointFilter) -> Result<Vec<BackupPoint>> {
        let query = Select::records::<BackupPoint>()
            .eq("vm_context_id", filter.context_id.as_ref())
            .eq("repository_id", filter.repository_id.as_ref())
            .eq("backup_group_id", filter.backup_group_id.as_ref())
            .eq("status", filter.status)
            .order("created_at DESC, id DESC", Some((filter.limit.unwrap_or(100), filter.offset.unwrap_or(0))));
        self.reading(|tx| query.records_in(tx))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::Record;
    use BackupStatus::*;

    /// A completed-looking point in `status`, for the rule tests of this area.
    pub(crate) fn point(status: BackupStatus) -> BackupPoint {
        BackupPoint {
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
    fn the_record_reads_every_column_of_the_table_into_its_field() {
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
            .reading(|tx| {
                // The record's columns are the table's, in the table's order, so the record
                // equals the row selected whole.
                let table: Vec<String> =
                    tx.rows("SELECT name FROM pragma_table_info('backup_jobs') ORDER BY cid", params![], |r| r.get(0))?;
                assert_eq!(BackupPoint::COLUMNS, table.join(", "));
                let whole = tx.one("SELECT * FROM backup_jobs WHERE id = :id", params![id], BackupPoint::from_row)?;
                let b = load_backup(tx, &id)?;
                assert_eq!(b, whole);
                assert_eq!(
                    (b.vm_context_id.as_str(), b.disk_id, b.repository_id.as_str(), b.repository_path.as_str()),
                    (ctx.as_str(), 1, repo.as_str(), "/r/f.qcow2")
                );
                assert_eq!(
                    (b.backup_group_id.as_deref(), b.change_id.as_deref()),
                    (Some("group-1"), Some("52 aa-bb/3"))
                );
                assert_eq!((b.bytes_transferred, b.size_bytes, b.total_bytes, b.progress_percent), (7, 5, 0, 100.0));
                assert_eq!(
                    (b.status, b.backup_type, b.protected, b.compression_enabled),
                    (Completed, BackupType::Full, false, true)
                );
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
    fn inputs_are_validated() {
        let ok = StartBackup::new("ctx", 0, "r", BackupType::Full, "/b/f.qcow2");
        assert!(ok.validate().is_ok());
        let e = StartBackup { disk_id: -1, ..ok.clone() }.validate().unwrap_err();
        assert!(e.message().contains("disk_id -1 is negative"), "{e}");
        let e = StartBackup { repository_path: Some(" ".into()), ..ok.clone() }.validate().unwrap_err();
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
