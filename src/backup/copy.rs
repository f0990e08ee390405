//! Copies of completed backup points to other repositories (docs/DOMAIN.md section 4, "Copies").
//!
//! Rules enforced here:
//! - fan-out (`fan_out`): when a point completes, in the same transaction as its
//!   completion, every ENABLED copy rule of the point's policy (when it names one) gets a
//!   pending `backup_copies` row, unique per (backup, destination repository): the insert is
//!   `ON CONFLICT DO NOTHING`, so running the fan-out again never duplicates a copy. A rule
//!   whose destination is the repository the point already lives in is skipped (a copy onto
//!   itself protects nothing). Only `immediate` rules fan out at completion; `scheduled` and
//!   `manual` rules queue their copies when asked ([`Store::copy_queue`], the same insert).
//!   The policy's own `enabled` flag is not consulted: it decides when backups are scheduled;
//! - the copy status machine ([`CopyStatus::check_move`]): pending -> copying -> verifying ->
//!   completed | failed, and copying -> failed; a copy whose rule has `verify_after_copy` off
//!   goes copying -> completed instead of through verifying; completed and failed are final;
//! - a worker claims the oldest pending copy (by created_at, then id) atomically
//!   ([`Store::copy_claim`]): one immediate transaction whose guarded update
//!   (`WHERE id = ? AND status = 'pending'`) must change exactly one row, so two workers, in
//!   one process or several, never get the same copy. The worker id is validated and named in
//!   messages but NOT persisted: the schema has no column for it, and the library adds none
//!   (callers log it next to the returned copy id);
//! - every refusal (unknown id, forbidden transition, bad value) changes nothing.
//!
//! The destination path: a new copy's `file_path` is [`destination_path`], i.e.
//! `{destination repository id}/{context id}/disk-{disk index}/{backup id}`, relative to the
//! destination repository's root. It is deterministic (the same point and destination always
//! give the same path) and is replaced by the path the worker actually wrote when it reports
//! the copy done ([`Store::copy_set_verifying`]).

use serde::{Deserialize, Serialize};

use crate::backup::BackupPoint;
use crate::error::{echo, Error, Result};
use crate::store::query::Select;
use crate::store::{Store, Tx};
use crate::value::{check_id, check_non_negative, new_id, Timestamp};
use crate::{params, record, string_enum};

string_enum! {
    /// Lifecycle state of a backup copy (`backup_copies.status`).
    #[allow(missing_docs)]
    pub enum CopyStatus: "copy status" {
        Pending = "pending",
        Copying = "copying",
        Verifying = "verifying",
        Completed = "completed",
        Failed = "failed",
    }
}

impl CopyStatus {
    /// completed and failed are terminal: final.
    pub fn is_terminal(self) -> bool {
        matches!(self, CopyStatus::Completed | CopyStatus::Failed)
    }

    /// Whether the machine has the edge `self -> to`: pending -> copying -> verifying ->
    /// completed | failed, copying -> failed, and copying -> completed, which only a copy whose
    /// rule does not verify after copy takes ([`Store::copy_set_verifying`]).
    pub fn can_move_to(self, to: CopyStatus) -> bool {
        use CopyStatus::*;
        matches!(
            (self, to),
            (Pending, Copying)
                | (Copying, Verifying | Completed)
                | (Verifying, Completed)
                | (Copying | Verifying, Failed)
        )
    }

    /// `Ok` when the machine has the edge, else INVALID_STATE naming from and to.
    pub fn check_move(self, to: CopyStatus) -> Result<()> {
        if self.can_move_to(to) {
            Ok(())
        } else if self.is_terminal() {
            Err(Error::invalid_state(format!("a backup copy cannot move from {self} to {to}: {self} is final")))
        } else {
            Err(Error::invalid_state(format!(
                "a backup copy cannot move from {self} to {to}: pending -> copying -> verifying -> completed or \
                 failed, copying -> failed, and copying -> completed for a rule without verification"
            )))
        }
    }
}

string_enum! {
    /// Result of the checksum verification of a copy (`backup_copies.verification_status`).
    #[allow(missing_docs)]
    pub enum VerificationStatus: "verification status" {
        Pending = "pending",
        Passed = "passed",
        Failed = "failed",
    }
}

record! {
    /// A `backup_copies` row. JSON keys are the column names (docs/SCHEMA.md section 9).
    #[allow(missing_docs)]
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct BackupCopy in "backup_copies" {
        pub id: String,
        pub source_backup_id: String,
        pub repository_id: String,
        pub copy_rule_id: Option<String>,
        pub status: CopyStatus,
        pub file_path: String,
        pub size_bytes: i64,
        pub copy_started_at: Option<Timestamp>,
        pub copy_completed_at: Option<Timestamp>,
        pub verified_at: Option<Timestamp>,
        pub verification_status: VerificationStatus,
        pub error_message: Option<String>,
        pub created_at: Timestamp,
    }
}

/// Which copies [`Store::copy_list`] returns; oldest first (created_at, then id), the claim
/// order.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopyFilter {
    /// Only the copies of this backup point.
    #[serde(default)]
    pub backup_id: Option<String>,
    /// Only copies in this status.
    #[serde(default)]
    pub status: Option<CopyStatus>,
    /// Only copies to this destination repository.
    #[serde(default)]
    pub repository_id: Option<String>,
    /// At most this many (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Skip this many first.
    #[serde(default)]
    pub offset: Option<u32>,
}

/// The destination path of a new copy of `backup` in `destination_repository_id`, relative to
/// that repository's root: `{repository}/{context}/disk-{disk index}/{backup id}`.
pub fn destination_path(destination_repository_id: &str, backup: &BackupPoint) -> String {
    format!("{destination_repository_id}/{}/disk-{}/{}", backup.vm_context_id, backup.disk_id, backup.id)
}

/// Queue the copies a completed point is owed now: one pending row per enabled `immediate`
/// copy rule of its policy (none without a policy), skipping a destination that already has a
/// copy of the point and the point's own repository. Runs inside the completion's
/// transaction. `scheduled` and `manual` rules queue theirs when asked ([`Store::copy_queue`]).
pub(crate) fn fan_out(tx: &Tx<'_>, backup: &BackupPoint, now: i64) -> Result<()> {
    let Some(policy_id) = &backup.policy_id else {
        return Ok(());
    };
    // Filtered and ordered here rather than in SQL: with a parameter in the ordering query the
    // bundled SQLite re-prepared the statement on every completion (the chain-append hot path).
    let mut rules: Vec<(i64, String, String)> = tx.rows(
        "SELECT priority, id, destination_repository_id FROM backup_copy_rules \
         WHERE policy_id = :policy_id AND enabled = 1 AND copy_mode = 'immediate'",
        params![policy_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    rules.retain(|(_, _, destination)| *destination != backup.repository_id);
    rules.sort();
    let rules = rules.into_iter().map(|(_, id, destination)| (id, destination));
    for (rule_id, destination) in rules {
        queue_copy(tx, backup, &rule_id, &destination, now)?;
    }
    Ok(())
}

/// Insert the pending copy of `backup` to `destination` under `rule_id`; returns its id, or
/// `None` when the point has a copy there already (which is left as it is).
fn queue_copy(tx: &Tx<'_>, backup: &BackupPoint, rule_id: &str, destination: &str, now: i64) -> Result<Option<String>> {
    let id = new_id();
    let inserted = tx.execute(
        "INSERT INTO backup_copies (id, source_backup_id, repository_id, copy_rule_id, status, file_path, \
         size_bytes, verification_status, created_at) \
         VALUES (:id, :source_backup_id, :repository_id, :copy_rule_id, 'pending', :file_path, 0, 'pending', \
         :now) ON CONFLICT (source_backup_id, repository_id) DO NOTHING",
        params![
            id,
            source_backup_id = backup.id,
            repository_id = destination,
            copy_rule_id = rule_id,
            file_path = destination_path(destination, backup),
            now
        ],
    )?;
    Ok((inserted == 1).then_some(id))
}

/// Load a copy inside a transaction; NOT_FOUND naming the id.
pub(crate) fn load_copy(tx: &Tx<'_>, id: &str) -> Result<BackupCopy> {
    tx.record("WHERE id = :id", params![id])?
        .ok_or_else(|| Error::not_found(format!("backup copy {:?} does not exist", echo(id))))
}

/// Whether `copy` goes through verifying: its rule's `verify_after_copy`, and yes for a copy
/// whose rule is gone (its policy was deleted): the safe default.
fn verifies(tx: &Tx<'_>, copy: &BackupCopy) -> Result<bool> {
    let Some(rule) = &copy.copy_rule_id else {
        return Ok(true);
    };
    let verify: Option<bool> =
        tx.optional("SELECT verify_after_copy FROM backup_copy_rules WHERE id = :rule", params![rule], |r| r.get(0))?;
    Ok(verify.unwrap_or(true))
}

fn check_file_path(file_path: &str) -> Result<()> {
    if file_path.trim().is_empty() || file_path.contains('\0') {
        return Err(Error::invalid_argument("file_path is empty or contains a NUL"));
    }
    Ok(())
}

impl Store {
    /// Claim the oldest pending copy (by created_at, then id) for `worker_id`: it moves to
    /// copying with copy_started_at, in one immediate transaction whose guarded update must
    /// change exactly that row, so no two workers (or processes) ever get the same copy.
    /// `None` when nothing is pending. The worker id must be a valid id; it is not stored (the
    /// schema has no column for it).
    pub fn copy_claim(&self, worker_id: &str) -> Result<Option<BackupCopy>> {
        check_id("worker id", worker_id)?;
        self.writing(|tx| {
            let now = self.now_ms();
            let oldest: Option<String> = tx.optional(
                "SELECT id FROM backup_copies WHERE status = 'pending' ORDER BY created_at, id LIMIT 1",
                params![],
                |r| r.get(0),
            )?;
            let Some(id) = oldest else {
                return Ok(None);
            };
            let changed = tx.execute(
                "UPDATE backup_copies SET status = 'copying', copy_started_at = :now \
                 WHERE id = :id AND status = 'pending'",
                params![id, now],
            )?;
            if changed != 1 {
                // Cannot happen inside one immediate transaction; refuse rather than hand out
                // a copy someone else may hold.
                return Err(Error::internal(format!(
                    "worker {}: backup copy {id} changed under the claim ({changed} rows)",
                    echo(worker_id)
                )));
            }
            load_copy(tx, &id).map(Some)
        })
    }

    /// A claimed copy was written: records the path actually written (replacing the planned
    /// one), its size and copy_completed_at, and moves it on: copying -> verifying when its
    /// rule verifies after copy (or it has no rule any more), copying -> completed when the
    /// rule does not (its verification_status stays pending and verified_at empty: it was
    /// never verified). The returned copy says which.
    pub fn copy_set_verifying(&self, id: &str, file_path: &str, size_bytes: i64) -> Result<BackupCopy> {
        check_file_path(file_path)?;
        check_non_negative(&[("size_bytes", size_bytes)])?;
        self.writing(|tx| {
            let now = self.now_ms();
            let c = load_copy(tx, id)?;
            let to = if verifies(tx, &c)? { CopyStatus::Verifying } else { CopyStatus::Completed };
            c.status.check_move(to).map_err(|e| e.context(format!("backup copy {}", echo(id))))?;
            tx.execute(
                "UPDATE backup_copies SET status = :status, file_path = :file_path, size_bytes = :size_bytes, \
                 copy_completed_at = :now WHERE id = :id",
                params![id, status = to, file_path, size_bytes, now],
            )?;
            load_copy(tx, id)
        })
    }

    /// Record the verification of a copy in verifying, stamping verified_at: `passed` ->
    /// completed; `failed` -> failed with an error message saying so. `pending` is not a
    /// result (INVALID_ARGUMENT).
    pub fn copy_complete(&self, id: &str, verification: VerificationStatus) -> Result<BackupCopy> {
        let to = match verification {
            VerificationStatus::Passed => CopyStatus::Completed,
            VerificationStatus::Failed => CopyStatus::Failed,
            VerificationStatus::Pending => {
                return Err(Error::invalid_argument(
                    "verification pending is not a result: a copy completes with passed or failed",
                ))
            }
        };
        self.writing(|tx| {
            let now = self.now_ms();
            let c = load_copy(tx, id)?;
            if c.status != CopyStatus::Verifying {
                // Only verifying records a verification (copying -> failed is copy_fail).
                let reason = if c.status.is_terminal() {
                    format!("{} is final", c.status)
                } else {
                    "a verification result is recorded only for a copy in verifying".to_string()
                };
                return Err(Error::invalid_state(format!(
                    "backup copy {}: a backup copy cannot move from {} to {to}: {reason}",
                    echo(id),
                    c.status
                )));
            }
            let message =
                (to == CopyStatus::Failed).then_some("verification failed: the copy does not match its source");
            tx.execute(
                "UPDATE backup_copies SET status = :status, verification_status = :verification, \
                 verified_at = :now, error_message = COALESCE(:message, error_message) WHERE id = :id",
                params![id, status = to, verification, now, message],
            )?;
            load_copy(tx, id)
        })
    }

    /// Fail a copy in copying or verifying with `message` (its reason).
    pub fn copy_fail(&self, id: &str, message: &str) -> Result<BackupCopy> {
        if message.trim().is_empty() {
            return Err(Error::invalid_argument("the error message is empty: say why the copy failed"));
        }
        self.writing(|tx| {
            let c = load_copy(tx, id)?;
            c.status.check_move(CopyStatus::Failed).map_err(|e| e.context(format!("backup copy {}", echo(id))))?;
            tx.execute(
                "UPDATE backup_copies SET status = 'failed', error_message = :message WHERE id = :id",
                params![id, message],
            )?;
            load_copy(tx, id)
        })
    }

    /// Queue the copies copy rule `rule_id` is owed, now (how `scheduled` and `manual` rules
    /// copy; an `immediate` rule's copies are queued at completion, and asking for them again
    /// queues only what is missing, e.g. for points completed before the rule existed): one
    /// pending copy per completed point of the rule's policy that does not live in the rule's
    /// destination and has no copy there yet, oldest point first, in one transaction. Returns
    /// the copies it queued (none when nothing was owed). NOT_FOUND naming an unknown rule; a
    /// disabled rule is INVALID_STATE.
    pub fn copy_queue(&self, rule_id: &str) -> Result<Vec<BackupCopy>> {
        check_id("copy rule id", rule_id)?;
        self.writing(|tx| {
            let now = self.now_ms();
            let (policy_id, destination, enabled): (String, String, bool) = tx
                .optional(
                    "SELECT policy_id, destination_repository_id, enabled FROM backup_copy_rules WHERE id = :rule_id",
                    params![rule_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?
                .ok_or_else(|| Error::not_found(format!("copy rule {:?} does not exist", echo(rule_id))))?;
            if !enabled {
                return Err(Error::invalid_state(format!(
                    "copy rule {} is disabled; enable it to queue its copies",
                    echo(rule_id)
                )));
            }
            let owed: Vec<BackupPoint> = tx.records(
                "WHERE policy_id = :policy_id AND status = 'completed' AND repository_id <> :destination \
                 AND NOT EXISTS (SELECT 1 FROM backup_copies c WHERE c.source_backup_id = backup_jobs.id \
                                 AND c.repository_id = :destination) \
                 ORDER BY completed_at, id",
                params![policy_id, destination],
            )?;
            let mut queued = Vec::with_capacity(owed.len());
            for point in &owed {
                if let Some(id) = queue_copy(tx, point, rule_id, &destination, now)? {
                    queued.push(load_copy(tx, &id)?);
                }
            }
            Ok(queued)
        })
    }

    /// The copy with this id.
    pub fn copy_get(&self, id: &str) -> Result<BackupCopy> {
        self.reading(|tx| load_copy(tx, id))
    }

    /// Copies matching `filter`, oldest first (created_at, then id).
    pub fn copy_list(&self, filter: &CopyFilter) -> Result<Vec<BackupCopy>> {
        let query = Select::records::<BackupCopy>()
            .eq("source_backup_id", filter.backup_id.as_ref())
            .eq("repository_id", filter.repository_id.as_ref())
            .eq("status", filter.status)
            .order("created_at, id", Some((filter.limit.unwrap_or(100), filter.offset.unwrap_or(0))));
        self.reading(|tx| query.records_in(tx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CopyStatus::*;

    #[test]
    fn status_machine_edges_are_exactly_the_documented_ones() {
        let allowed = [
            (Pending, Copying),
            (Copying, Verifying),
            (Copying, Completed),
            (Verifying, Completed),
            (Verifying, Failed),
            (Copying, Failed),
        ];
        for from in CopyStatus::ALL {
            for to in CopyStatus::ALL {
                assert_eq!(from.can_move_to(*to), allowed.contains(&(*from, *to)), "{from} -> {to}");
            }
        }
        for terminal in [Completed, Failed] {
            assert!(terminal.is_terminal());
            assert!(CopyStatus::ALL.iter().all(|to| !terminal.can_move_to(*to)), "{terminal} is final");
        }
        assert!(!Pending.is_terminal() && !Copying.is_terminal() && !Verifying.is_terminal());
        let e = Completed.check_move(Copying).unwrap_err();
        assert_eq!(e.status(), crate::Status::InvalidState);
        assert_eq!(e.message(), "a backup copy cannot move from completed to copying: completed is final");
        let e = Pending.check_move(Failed).unwrap_err();
        assert!(e.message().starts_with("a backup copy cannot move from pending to failed: "), "{e}");
        assert!(Pending.check_move(Copying).is_ok());
    }

    #[test]
    fn values_parse_from_their_column_text() {
        assert_eq!(CopyStatus::parse("verifying").unwrap(), Verifying);
        assert!(CopyStatus::parse("done").unwrap_err().message().contains("not a valid copy status"));
        assert_eq!(VerificationStatus::parse("passed").unwrap(), VerificationStatus::Passed);
        let f: CopyFilter = crate::value::from_json("filter", r#"{"status":"pending","backup_id":"b"}"#).unwrap();
        assert_eq!((f.status, f.backup_id.as_deref()), (Some(Pending), Some("b")));
        let e = crate::value::from_json::<CopyFilter>("filter", r#"{"state":"pending"}"#).unwrap_err();
        assert!(e.message().contains("unknown field `state`"), "{e}");
    }

    #[test]
    fn running_the_fan_out_again_queues_nothing_more() {
        use crate::backup::{BackupType, StartBackup};
        use crate::backup::{NewCopyRule, NewPolicy, NewRepository, RepositoryType};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("f.db"), crate::OpenOptions::default()).unwrap();
        let ctx = store.context_create(&crate::replication::NewContext::new("vm", "id", "/p", "vc", "dc")).unwrap();
        let repo = |n: &str| {
            let config = serde_json::json!({"path": format!("/srv/{n}")});
            store.repository_create(&NewRepository::new(n, RepositoryType::Local, config)).unwrap()
        };
        let (primary, offsite) = (repo("primary"), repo("offsite"));
        let mut policy = NewPolicy::new("p", &primary);
        policy.copy_rules = vec![NewCopyRule::new(&offsite, 1)];
        let policy = store.policy_create(&policy).unwrap();
        let mut start = StartBackup::new(&ctx, 3, &primary, BackupType::Full, "/x");
        start.policy_id = Some(policy);
        let id = store.backup_start(&start).unwrap();
        store.backup_set_running(&id).unwrap();
        store.backup_complete(&id, None, 1, 1).unwrap();
        let before = store.copy_list(&CopyFilter::default()).unwrap();
        assert_eq!(before.len(), 1);
        assert_eq!(before[0].file_path, format!("{offsite}/{ctx}/disk-3/{id}"));
        store
            .writing(|tx| {
                let b = crate::backup::load_backup(tx, &id)?;
                assert_eq!(destination_path(&offsite, &b), before[0].file_path, "deterministic");
                fan_out(tx, &b, 42)?;
                fan_out(tx, &b, 43)
            })
            .unwrap();
        assert_eq!(store.copy_list(&CopyFilter::default()).unwrap(), before, "nothing duplicated or changed");
    }

    #[test]
    fn file_paths_are_checked() {
        assert!(check_file_path("/srv/copy/a.qcow2").is_ok());
        assert!(check_file_path(" ").is_err());
        assert!(check_file_path("a\0b").is_err());
    }
}
