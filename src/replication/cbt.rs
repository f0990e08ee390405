//! Changed block tracking (docs/DOMAIN.md section 3): which change id each disk's next incremental
//! starts from, recorded only when a disk's copy succeeded, with its lineage in cbt_history.
//!
//! Every lookup is scoped by (context, disk_id): `disk-2000` exists on every VM, so a disk id
//! alone, a VM name or a VM path never identifies a base.

use serde::{Deserialize, Serialize};

use crate::error::{echo, Error, Result};
use crate::replication::context;
use crate::replication::{check_disk_id, load_disk, load_job, recorded_change_ids, ChangeId, ReplicationType};
use crate::store::{Store, Tx};
use crate::value::{check_non_negative, Timestamp};
use crate::{params, record, string_enum};

string_enum! {
    /// How a disk must be copied.
    pub enum SyncMode: "sync mode" {
        /// Every block.
        Full = "full",
        /// The blocks changed since the base change id.
        Incremental = "incremental",
    }
}

string_enum! {
    /// Why [`Decision`] chose its mode.
    pub enum Reason: "CBT decision reason" {
        /// The disk has a usable base in the same CBT epoch as the snapshot.
        BaseRecorded = "base_recorded",
        /// No successful sync of this disk of this context recorded a change id (or it is `*`).
        NoBase = "no_base",
        /// The recorded change id cannot be parsed.
        UnparsableBase = "unparsable_base",
        /// The snapshot's CBT uuid differs from the base's: CBT was reset.
        CbtUuidChanged = "cbt_uuid_changed",
        /// The recorded base is ahead of the snapshot, so it cannot be the snapshot's ancestor.
        BaseAheadOfSnapshot = "base_ahead_of_snapshot",
        /// The target volume was newly created and holds no data to apply changes to.
        TargetVolumeNew = "target_volume_new",
    }
}

/// The outcome of [`decide`]: JSON `{"mode":…,"base_change_id":…|null,"reason":…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Full or incremental.
    pub mode: SyncMode,
    /// The change id to copy changes since (incremental only).
    pub base_change_id: Option<String>,
    /// Why.
    pub reason: Reason,
}

/// Decide full vs incremental for a disk: `recorded` is the disk's recorded change id (the
/// last successful sync of this disk of this context), `snapshot` the current snapshot's
/// change id, `target_is_new` whether the target volume was just created.
pub fn decide(recorded: Option<&str>, snapshot: &ChangeId, target_is_new: bool) -> Decision {
    let full = |reason| Decision { mode: SyncMode::Full, base_change_id: None, reason };
    if target_is_new {
        return full(Reason::TargetVolumeNew);
    }
    let base = match recorded {
        None | Some("") | Some("*") => return full(Reason::NoBase),
        Some(b) => b,
    };
    let Ok(parsed) = ChangeId::parse(base) else {
        return full(Reason::UnparsableBase);
    };
    if parsed.uuid != snapshot.uuid {
        return full(Reason::CbtUuidChanged);
    }
    if parsed.sequence > snapshot.sequence {
        return full(Reason::BaseAheadOfSnapshot);
    }
    Decision { mode: SyncMode::Incremental, base_change_id: Some(base.to_string()), reason: Reason::BaseRecorded }
}

/// What a disk's copy actually was, as the caller states it when recording its change id
/// ([`Store::cbt_record_sync`]; JSON `{"mode":…,"base_change_id":…,"reason":…}`, so the
/// [`Decision`] JSON that `cbt_decide` gave may be passed back as it is). `reason` is optional
/// and only informative.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncDone {
    /// Full or incremental.
    pub mode: SyncMode,
    /// The change id the incremental copied changes since; none for a full copy.
    #[serde(default)]
    pub base_change_id: Option<String>,
    /// Why the decision chose the mode (not stored).
    #[serde(default)]
    pub reason: Option<Reason>,
}

impl From<&Decision> for SyncDone {
    fn from(d: &Decision) -> SyncDone {
        SyncDone { mode: d.mode, base_change_id: d.base_change_id.clone(), reason: Some(d.reason) }
    }
}

impl From<Decision> for SyncDone {
    fn from(d: Decision) -> SyncDone {
        SyncDone::from(&d)
    }
}

impl SyncDone {
    /// An incremental names its base (a valid change id of the recorded id's CBT epoch, not
    /// ahead of it); a full names none. INVALID_ARGUMENT otherwise.
    fn check(&self, change: &ChangeId) -> Result<()> {
        match (self.mode, self.base_change_id.as_deref()) {
            (SyncMode::Full, None) => Ok(()),
            (SyncMode::Full, Some(b)) => Err(Error::invalid_argument(format!(
                "a full copy has no base, but base_change_id {:?} was given",
                echo(b)
            ))),
            (SyncMode::Incremental, None) => {
                Err(Error::invalid_argument("an incremental copy needs its base_change_id"))
            }
            (SyncMode::Incremental, Some(b)) => {
                let base = ChangeId::parse(b).map_err(|e| e.context("base_change_id"))?;
                if base.uuid != change.uuid || base.sequence > change.sequence {
                    return Err(Error::invalid_argument(format!(
                        "an incremental from base {b:?} cannot end at a change id of another CBT epoch or \
                         before its base",
                        b = echo(b)
                    )));
                }
                Ok(())
            }
        }
    }
}

/// The history row's sync type and previous change id for a copy of a disk whose recorded
/// base was `recorded`, ending at `change`, in a job of type `job_type`: what the caller
/// stated (`done`) or else, in an incremental job, what [`decide`] gives for that base and the
/// snapshot the change id came from (the target volume taken as not new), and in an initial
/// job a full copy. An initial job's copies are `initial`, a
/// full copy in an incremental job is `full`; only an incremental has a previous change id.
pub fn sync_of(
    job_type: ReplicationType,
    recorded: Option<&str>,
    change: &ChangeId,
    done: Option<&SyncDone>,
) -> (&'static str, Option<String>) {
    let (mode, base) = match (done, job_type) {
        (Some(d), _) => (d.mode, d.base_change_id.clone()),
        (None, ReplicationType::Initial) => (SyncMode::Full, None),
        (None, ReplicationType::Incremental) => {
            let d = decide(recorded, change, false);
            (d.mode, d.base_change_id)
        }
    };
    match (mode, job_type) {
        (SyncMode::Incremental, _) => ("incremental", base),
        (SyncMode::Full, ReplicationType::Initial) => ("initial", None),
        (SyncMode::Full, ReplicationType::Incremental) => ("full", None),
    }
}

record! {
    /// A `cbt_history` row. JSON keys are the column names.
    #[allow(missing_docs)]
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct CbtEntry in "cbt_history" {
        pub id: i64,
        pub vm_context_id: String,
        pub job_id: Option<String>,
        pub disk_id: String,
        pub change_id: String,
        pub previous_change_id: Option<String>,
        pub sync_type: String,
        pub blocks_changed: Option<i64>,
        pub bytes_transferred: Option<i64>,
        pub sync_duration_seconds: Option<i64>,
        pub sync_success: bool,
        pub created_at: Timestamp,
    }
}

/// One place where a context's CBT lineage is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineageBreak {
    /// The disk.
    pub disk_id: String,
    /// The cbt_history row that does not chain (None for a disk-row mismatch).
    pub history_id: Option<i64>,
    /// Its job, when still present.
    pub job_id: Option<String>,
    /// The change id the chain says should have been the base.
    pub expected: Option<String>,
    /// What the row (or the disk row) says.
    pub found: Option<String>,
    /// What is wrong.
    pub problem: String,
}

/// The result of [`Store::cbt_verify_lineage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineageReport {
    /// No break found.
    pub ok: bool,
    /// The context checked.
    pub context_id: String,
    /// Disks with history or a recorded change id.
    pub disks_checked: usize,
    /// Successful history entries walked.
    pub entries_checked: usize,
    /// Every break, in disk then history order.
    pub breaks: Vec<LineageBreak>,
}

/// Check one disk's successful history (oldest first) against its recorded change id.
pub fn check_lineage(disk_id: &str, entries: &[CbtEntry], recorded: Option<&str>) -> Vec<LineageBreak> {
    let mut breaks = Vec::new();
    let mut prior: Option<&str> = None;
    for e in entries.iter().filter(|e| e.sync_success) {
        if e.sync_type == "incremental" && e.previous_change_id.as_deref() != prior {
            breaks.push(LineageBreak {
                disk_id: disk_id.to_string(),
                history_id: Some(e.id),
                job_id: e.job_id.clone(),
                expected: prior.map(str::to_string),
                found: e.previous_change_id.clone(),
                problem: "an incremental did not start from the disk's prior recorded change id".to_string(),
            });
        }
        prior = Some(&e.change_id);
    }
    if prior.is_some() && recorded != prior {
        breaks.push(LineageBreak {
            disk_id: disk_id.to_string(),
            history_id: None,
            job_id: None,
            expected: prior.map(str::to_string),
            found: recorded.map(str::to_string),
            problem: "the disk's recorded change id is not the last one in its history".to_string(),
        });
    }
    breaks
}

/// A context's history (optionally one disk's), by disk, then in the order it was recorded:
/// the rowid, not created_at, because the wall clock may step back between two records.
fn history(tx: &Tx<'_>, context_id: &str, disk_id: Option<&str>, limit: Option<u32>) -> Result<Vec<CbtEntry>> {
    let limit = limit.map_or(-1, i64::from);
    // Two statements rather than `:disk_id IS NULL OR disk_id = :disk_id`, whose plan depends on
    // the binding and would be re-prepared on every call.
    match disk_id {
        Some(disk_id) => tx.records(
            "WHERE vm_context_id = :context_id AND disk_id = :disk_id ORDER BY id LIMIT :limit",
            params![context_id, disk_id, limit],
        ),
        None => tx
            .records("WHERE vm_context_id = :context_id ORDER BY disk_id, id LIMIT :limit", params![context_id, limit]),
    }
}

impl Store {
    /// Decide full vs incremental for a disk of a context about to be copied from a snapshot
    /// whose change id is `snapshot_change_id`. The base is the change id recorded by the last
    /// successful sync of that disk of that context; a disk without a row has no base.
    pub fn cbt_decide(
        &self,
        context_id: &str,
        disk_id: &str,
        snapshot_change_id: &str,
        target_is_new: bool,
    ) -> Result<Decision> {
        check_disk_id(disk_id)?;
        let snapshot = ChangeId::parse(snapshot_change_id).map_err(|e| e.context("the snapshot's change id"))?;
        // One statement, so no explicit transaction: this read runs at every job start.
        self.autocommit(|tx| {
            let recorded: Option<Option<String>> = tx.optional(
                "SELECT disk_change_id FROM vm_disks WHERE vm_context_id = :context_id AND disk_id = :disk_id",
                params![context_id, disk_id],
                |r| r.get(0),
            )?;
            if recorded.is_none() {
                context::load(tx, context_id)?;
            }
            Ok(decide(recorded.flatten().as_deref(), &snapshot, target_is_new))
        })
    }

    /// Record the change id of a disk whose copy in `job_id` succeeded: stores it as the disk's
    /// base for the next incremental and appends a cbt_history row whose previous_change_id is
    /// the base the copy started from, in one transaction. The job must be active and the disk
    /// one of its disks. Recording the same change id again is a no-op; a different change id
    /// for a disk already recorded in this job is CONFLICT. What the copy was is inferred
    /// ([`sync_of`]); [`Store::cbt_record_sync`] takes it from the caller.
    pub fn cbt_record(&self, job_id: &str, disk_id: &str, change_id: &str, bytes_transferred: i64) -> Result<CbtEntry> {
        self.cbt_record_sync(job_id, disk_id, change_id, bytes_transferred, None)
    }

    /// [`Store::cbt_record`], with what the disk's copy actually was: the mode and base of the
    /// [`Decision`] it followed (`SyncDone::from(&decision)`). A full copy is recorded as
    /// `initial` (initial job) or `full` with no previous change id; an incremental as
    /// `incremental` from the stated base, which the lineage check then holds against the
    /// disk's prior recorded change id. `None` infers it as [`Store::cbt_record`] does; only a
    /// caller that stated `target_is_new` to the decision has something the library cannot
    /// infer. A full with a base, an incremental without one, or a base of another CBT epoch
    /// or ahead of the change id is INVALID_ARGUMENT.
    pub fn cbt_record_sync(
        &self,
        job_id: &str,
        disk_id: &str,
        change_id: &str,
        bytes_transferred: i64,
        sync: Option<&SyncDone>,
    ) -> Result<CbtEntry> {
        check_disk_id(disk_id)?;
        let parsed = ChangeId::parse(change_id)?;
        check_non_negative(&[("bytes_transferred", bytes_transferred)])?;
        if let Some(done) = sync {
            done.check(&parsed)?;
        }
        self.writing(|tx| {
            let now = self.now_ms();
            let job = load_job(tx, job_id)?;
            let existing: Option<CbtEntry> = tx.record(
                "WHERE job_id = :job_id AND disk_id = :disk_id AND sync_success = 1",
                params![job_id, disk_id],
            )?;
            if let Some(e) = existing {
                if e.change_id == change_id {
                    return Ok(e);
                }
                return Err(Error::conflict(format!(
                    "job {} already recorded change id {} for {}",
                    echo(job_id),
                    echo(&e.change_id),
                    echo(disk_id)
                )));
            }
            if job.status.is_terminal() {
                return Err(Error::invalid_state(format!(
                    "replication job {} is {}; change ids are recorded while the job runs",
                    echo(job_id),
                    job.status
                )));
            }
            let disk = load_disk(tx, &job.vm_context_id, disk_id)?
                .filter(|d| d.job_id.as_deref() == Some(job_id))
                .ok_or_else(|| {
                    Error::not_found(format!("replication job {} has no disk {}", echo(job_id), echo(disk_id)))
                })?;
            let (sync_type, previous) = sync_of(job.replication_type, disk.disk_change_id.as_deref(), &parsed, sync);
            let duration = job.started_at.map(|s| (now - s.0).max(0) / 1000);
            let context_id = &job.vm_context_id;
            tx.execute(
                "UPDATE vm_disks SET disk_change_id = :change_id, sync_status = 'completed', \
                 sync_progress_percent = 100, bytes_synced = :bytes_transferred, updated_at = :now \
                 WHERE vm_context_id = :context_id AND disk_id = :disk_id",
                params![context_id, disk_id, change_id, bytes_transferred, now],
            )?;
            tx.execute(
                "INSERT INTO cbt_history (vm_context_id, job_id, disk_id, change_id, previous_change_id, sync_type, \
                 bytes_transferred, sync_duration_seconds, sync_success, created_at) \
                 VALUES (:context_id, :job_id, :disk_id, :change_id, :previous, :sync_type, :bytes_transferred, \
                 :duration, 1, :now)",
                params![context_id, job_id, disk_id, change_id, previous, sync_type, bytes_transferred, duration, now],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "UPDATE replication_jobs SET change_id = :change_id, previous_change_id = :previous, \
                 updated_at = :now WHERE id = :job_id",
                params![job_id, change_id, previous, now],
            )?;
            tx.record("WHERE id = :id", params![id])?
                .ok_or_else(|| Error::internal(format!("cbt_history row {id} vanished after its insert")))
        })
    }

    /// The CBT history of a context (optionally one disk), by disk, then in recording order.
    pub fn cbt_history(&self, context_id: &str, disk_id: Option<&str>, limit: Option<u32>) -> Result<Vec<CbtEntry>> {
        if let Some(d) = disk_id {
            check_disk_id(d)?;
        }
        self.reading(|tx| {
            context::load(tx, context_id)?;
            history(tx, context_id, disk_id, limit)
        })
    }

    /// Verify a context's CBT lineage: for every disk, each successful incremental started
    /// from the disk's prior recorded change id, and the disk's recorded change id is the last
    /// one of its history. Breaks are reported, not repaired.
    pub fn cbt_verify_lineage(&self, context_id: &str) -> Result<LineageReport> {
        self.reading(|tx| {
            context::load(tx, context_id)?;
            let entries = history(tx, context_id, None, None)?;
            let recorded = recorded_change_ids(tx, context_id)?;
            let mut disks: Vec<&str> = recorded.iter().map(|(d, _)| d.as_str()).collect();
            disks.extend(entries.iter().map(|e| e.disk_id.as_str()));
            disks.sort_unstable();
            disks.dedup();
            let mut breaks = Vec::new();
            let mut disks_checked = 0;
            for disk in &disks {
                let of_disk: Vec<CbtEntry> = entries.iter().filter(|e| e.disk_id == *disk).cloned().collect();
                let rec = recorded.iter().find(|(d, _)| d == disk).and_then(|(_, c)| c.as_deref());
                if of_disk.is_empty() && rec.is_none() {
                    continue;
                }
                disks_checked += 1;
                breaks.extend(check_lineage(disk, &of_disk, rec));
            }
            Ok(LineageReport {
                ok: breaks.is_empty(),
                context_id: context_id.to_string(),
                disks_checked,
                entries_checked: entries.iter().filter(|e| e.sync_success).count(),
                breaks,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replication::change_id::tests::cid;

    #[test]
    fn decide_covers_every_reason() {
        let snap = ChangeId::parse(&cid(50)).unwrap();
        let d = |rec: Option<&str>, new| decide(rec, &snap, new);
        assert_eq!(
            d(Some(&cid(42)), false),
            Decision { mode: SyncMode::Incremental, base_change_id: Some(cid(42)), reason: Reason::BaseRecorded }
        );
        assert_eq!(d(Some(&cid(50)), false).mode, SyncMode::Incremental);
        assert_eq!(d(Some(&cid(42)), true).reason, Reason::TargetVolumeNew);
        assert_eq!(d(None, false).reason, Reason::NoBase);
        assert_eq!(d(Some("*"), false).reason, Reason::NoBase);
        assert_eq!(d(Some(""), false).reason, Reason::NoBase);
        assert_eq!(d(Some("garbage"), false).reason, Reason::UnparsableBase);
        assert_eq!(d(Some("other-uuid/42"), false).reason, Reason::CbtUuidChanged);
        assert_eq!(d(Some(&cid(51)), false).reason, Reason::BaseAheadOfSnapshot);
        for r in [None, Some("*"), Some("garbage"), Some("other/1")] {
            let x = d(r, false);
            assert_eq!((x.mode, x.base_change_id), (SyncMode::Full, None));
        }
        let json = serde_json::to_string(&d(None, false)).unwrap();
        assert_eq!(json, r#"{"mode":"full","base_change_id":null,"reason":"no_base"}"#);
    }

    fn entry(id: i64, change: &str, prev: Option<&str>, sync_type: &str) -> CbtEntry {
        CbtEntry {
            id,
            vm_context_id: "c".into(),
            job_id: Some(format!("j{id}")),
            disk_id: "disk-2000".into(),
            change_id: change.into(),
            previous_change_id: prev.map(str::to_string),
            sync_type: sync_type.into(),
            blocks_changed: None,
            bytes_transferred: None,
            sync_duration_seconds: None,
            sync_success: true,
            created_at: Timestamp(id),
        }
    }

    #[test]
    fn lineage_reports_breaks() {
        let good = [entry(1, &cid(1), None, "initial"), entry(2, &cid(5), Some(&cid(1)), "incremental")];
        assert!(check_lineage("disk-2000", &good, Some(&cid(5))).is_empty());
        let broken = [entry(1, &cid(1), None, "initial"), entry(2, &cid(5), Some(&cid(3)), "incremental")];
        let b = check_lineage("disk-2000", &broken, Some(&cid(5)));
        assert_eq!(b.len(), 1);
        assert_eq!((b[0].history_id, b[0].expected.clone(), b[0].found.clone()), (Some(2), Some(cid(1)), Some(cid(3))));
        let b = check_lineage("disk-2000", &good, Some(&cid(9)));
        assert_eq!(b.len(), 1);
        assert!(b[0].problem.contains("recorded change id"));
        let full_restart = [entry(1, &cid(1), None, "initial"), entry(2, "other/3", Some(&cid(1)), "full")];
        assert!(
            check_lineage("disk-2000", &full_restart, Some("other/3")).is_empty(),
            "a full copy starts a new chain"
        );
    }
}
