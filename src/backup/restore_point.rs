//! VM-level restore points (docs/DOMAIN.md section 4): what a VM, or one of its disks, can be
//! restored to.
//!
//! The per-disk points of one VM backup share `backup_jobs.backup_group_id` (schema v2), an
//! explicit link: never id parsing or time windows. Rules:
//! - a group is a restore point only when EVERY point of the group is completed: one pending,
//!   running, failed or cancelled point (of any disk, in any repository) hides the whole
//!   group, because restoring the VM from it would miss that disk. A retried disk therefore
//!   belongs in a new group;
//! - a restore point is read from one repository: the completed points of a group are listed
//!   per (group, repository), so a group written to two repositories gives two entries with
//!   the same group id (the library does not stop a group from spanning repositories);
//! - a completed point without a group id is its own single-disk restore point (group id
//!   `None`);
//! - a restore point completed when its last disk did (`completed_at` = the latest
//!   completion of its disks); restore points are listed newest first (completed_at, then the
//!   group id, or the point id of an ungrouped point, descending); their disks by disk index,
//!   then point id; `total_size_bytes` sums the disks' `size_bytes`.
//!
//! Per disk ([`Store::disk_restore_points`]), every completed point of the disk is listed,
//! whatever its siblings did: one disk can be restored from its own chain.
//!
//! Both reads are one context check and one SQL query each (no per-row queries); the grouping
//! is the pure function [`assemble`], unit-tested here.

use std::collections::HashMap;

use serde::Serialize;

use crate::backup::point::{check_disk_index, BackupType};
use crate::error::Result;
use crate::params;
use crate::replication::context;
use crate::store::{Row, Store};
use crate::value::Timestamp;

/// One disk of a VM-level restore point. JSON keys are these field names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestorePointDisk {
    /// The disk INDEX within the VM (0, 1, ...), as in `backup_jobs.disk_id`.
    pub disk_id: i64,
    /// The completed backup point of this disk.
    pub backup_id: String,
    /// full, incremental or differential: how much of its chain a restore reads.
    pub backup_type: BackupType,
    /// The size of the point's file.
    pub size_bytes: i64,
    /// When this disk's point completed.
    pub completed_at: Timestamp,
}

/// A VM-level restore point: the completed per-disk points of one VM backup (one group in one
/// repository), or one ungrouped completed point. JSON keys are these field names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestorePoint {
    /// The VM backup's group id; `None` for an ungrouped point listed on its own.
    pub backup_group_id: Option<String>,
    /// The context (VM) it restores.
    pub vm_context_id: String,
    /// The repository its points are read from.
    pub repository_id: String,
    /// When it became whole: the latest completion of its disks.
    pub completed_at: Timestamp,
    /// Its disks, by disk index, then point id.
    pub disks: Vec<RestorePointDisk>,
    /// The summed `size_bytes` of its disks.
    pub total_size_bytes: i64,
}

/// A completed point of one disk (see [`Store::disk_restore_points`]). JSON keys are these
/// field names (the `backup_jobs` column names, and `backup_id` for its id).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiskRestorePoint {
    pub backup_id: String,
    pub disk_id: i64,
    pub repository_id: String,
    pub backup_group_id: Option<String>,
    pub backup_type: BackupType,
    pub parent_backup_id: Option<String>,
    pub change_id: Option<String>,
    pub size_bytes: i64,
    pub completed_at: Timestamp,
}

/// A completed point as [`assemble`] takes it: its group and repository, and the disk entry.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletedPoint {
    /// `backup_jobs.backup_group_id`.
    pub backup_group_id: Option<String>,
    /// `backup_jobs.repository_id`.
    pub repository_id: String,
    /// The point as a disk of a restore point.
    pub disk: RestorePointDisk,
}

/// The restore points of context `context_id` made of `points`: the completed points of the
/// context whose groups have no unfinished or unsuccessful point (the caller's query filters
/// those). One entry per (group, repository), one per ungrouped point; ordered as the module
/// documentation says. Pure: no database.
pub fn assemble(context_id: &str, points: Vec<CompletedPoint>) -> Vec<RestorePoint> {
    let mut groups: HashMap<(String, String), usize> = HashMap::new();
    let mut out: Vec<RestorePoint> = Vec::new();
    for p in points {
        let slot = match &p.backup_group_id {
            Some(g) => *groups.entry((g.clone(), p.repository_id.clone())).or_insert_with(|| {
                out.push(empty(context_id, Some(g.clone()), &p.repository_id));
                out.len() - 1
            }),
            None => {
                out.push(empty(context_id, None, &p.repository_id));
                out.len() - 1
            }
        };
        let rp = &mut out[slot];
        rp.completed_at = rp.completed_at.max(p.disk.completed_at);
        rp.total_size_bytes = rp.total_size_bytes.saturating_add(p.disk.size_bytes);
        rp.disks.push(p.disk);
    }
    for rp in &mut out {
        rp.disks.sort_by(|a, b| (a.disk_id, &a.backup_id).cmp(&(b.disk_id, &b.backup_id)));
    }
    out.sort_by(|a, b| (b.completed_at, sort_key(b)).cmp(&(a.completed_at, sort_key(a))));
    out
}

fn empty(context_id: &str, group: Option<String>, repository_id: &str) -> RestorePoint {
    RestorePoint {
        backup_group_id: group,
        vm_context_id: context_id.to_string(),
        repository_id: repository_id.to_string(),
        completed_at: Timestamp(i64::MIN),
        disks: Vec::new(),
        total_size_bytes: 0,
    }
}

/// The tie-breaker after completed_at: the group id, or the point id of an ungrouped point,
/// then the repository.
fn sort_key(rp: &RestorePoint) -> (&str, &str) {
    let id = rp.backup_group_id.as_deref().or_else(|| rp.disks.first().map(|d| d.backup_id.as_str())).unwrap_or("");
    (id, rp.repository_id.as_str())
}

/// The completed points of a context whose group (if any) has only completed points. A
/// completed point always has completed_at; rows written by other means without one fall back
/// to created_at. `+status` keeps SQLite on the context index: the status index would visit
/// the completed points of every context.
const RESTORABLE_POINTS_SQL: &str = "SELECT b.backup_group_id, b.repository_id, b.disk_id, b.id, b.backup_type, \
     b.size_bytes, COALESCE(b.completed_at, b.created_at) AS completed_at \
     FROM backup_jobs b \
     WHERE b.vm_context_id = :context_id AND +b.status = 'completed' \
       AND NOT EXISTS (SELECT 1 FROM backup_jobs o \
                       WHERE o.backup_group_id = b.backup_group_id AND o.status <> 'completed')";

/// A row of [`RESTORABLE_POINTS_SQL`], by position.
fn completed_point(r: &Row<'_>) -> Result<CompletedPoint> {
    Ok(CompletedPoint {
        backup_group_id: r.get(0)?,
        repository_id: r.get(1)?,
        disk: RestorePointDisk {
            disk_id: r.get(2)?,
            backup_id: r.get(3)?,
            backup_type: r.get(4)?,
            size_bytes: r.get(5)?,
            completed_at: r.get(6)?,
        },
    })
}

/// The completed points of one disk of a context (on the context and disk index, as above).
const DISK_POINTS_SQL: &str = "SELECT id, disk_id, repository_id, backup_group_id, backup_type, parent_backup_id, \
     change_id, size_bytes, COALESCE(completed_at, created_at) AS completed_at \
     FROM backup_jobs WHERE vm_context_id = :context_id AND disk_id = :disk_id AND +status = 'completed' \
     ORDER BY COALESCE(completed_at, created_at) DESC, created_at DESC, id DESC";

/// A row of [`DISK_POINTS_SQL`], by position.
fn disk_point(r: &Row<'_>) -> Result<DiskRestorePoint> {
    Ok(DiskRestorePoint {
        backup_id: r.get(0)?,
        disk_id: r.get(1)?,
        repository_id: r.get(2)?,
        backup_group_id: r.get(3)?,
        backup_type: r.get(4)?,
        parent_backup_id: r.get(5)?,
        change_id: r.get(6)?,
        size_bytes: r.get(7)?,
        completed_at: r.get(8)?,
    })
}

impl Store {
    /// The VM-level restore points of a context, newest first (see the module documentation):
    /// one per backup group whose every point is completed (per repository), and one per
    /// completed ungrouped point. NOT_FOUND when the context does not exist.
    pub fn restore_points(&self, context_id: &str) -> Result<Vec<RestorePoint>> {
        self.reading(|tx| {
            context::load(tx, context_id)?;
            let points = tx.rows(RESTORABLE_POINTS_SQL, params![context_id], completed_point)?;
            Ok(assemble(context_id, points))
        })
    }

    /// The completed points of disk `disk_id` (the disk index) of a context, in every
    /// repository, newest first (completed_at, created_at, id descending), whatever the other
    /// disks of their groups did. An unknown disk index has none; NOT_FOUND when the context
    /// does not exist; a negative index is INVALID_ARGUMENT.
    pub fn disk_restore_points(&self, context_id: &str, disk_id: i64) -> Result<Vec<DiskRestorePoint>> {
        check_disk_index(disk_id)?;
        self.reading(|tx| {
            context::load(tx, context_id)?;
            tx.rows(DISK_POINTS_SQL, params![context_id, disk_id], disk_point)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(group: Option<&str>, repo: &str, disk: i64, id: &str, size: i64, at: i64) -> CompletedPoint {
        CompletedPoint {
            backup_group_id: group.map(String::from),
            repository_id: repo.to_string(),
            disk: RestorePointDisk {
                disk_id: disk,
                backup_id: id.to_string(),
                backup_type: BackupType::Full,
                size_bytes: size,
                completed_at: Timestamp(at),
            },
        }
    }

    /// (group, repository, completed_at, disk point ids, total size) of each restore point.
    type Summary<'a> = (Option<&'a str>, &'a str, i64, Vec<&'a str>, i64);

    fn summary(rps: &[RestorePoint]) -> Vec<Summary<'_>> {
        rps.iter()
            .map(|r| {
                (
                    r.backup_group_id.as_deref(),
                    r.repository_id.as_str(),
                    r.completed_at.0,
                    r.disks.iter().map(|d| d.backup_id.as_str()).collect(),
                    r.total_size_bytes,
                )
            })
            .collect()
    }

    #[test]
    fn groups_collect_their_disks_and_sum_their_sizes() {
        let rps = assemble(
            "ctx",
            vec![
                point(Some("g1"), "r", 1, "g1-d1", 20, 30),
                point(Some("g1"), "r", 0, "g1-d0", 100, 50),
                point(None, "r", 0, "lone", 7, 40),
                point(Some("g2"), "r", 0, "g2-d0", 5, 60),
            ],
        );
        assert_eq!(
            summary(&rps),
            [
                (Some("g2"), "r", 60, vec!["g2-d0"], 5),
                (Some("g1"), "r", 50, vec!["g1-d0", "g1-d1"], 120),
                (None, "r", 40, vec!["lone"], 7),
            ]
        );
        assert!(rps.iter().all(|r| r.vm_context_id == "ctx"));
        assert!(assemble("ctx", vec![]).is_empty());
    }

    #[test]
    fn ties_and_repositories_are_ordered_deterministically() {
        let rps = assemble(
            "ctx",
            vec![
                point(Some("g1"), "r2", 0, "a", 1, 10),
                point(Some("g1"), "r1", 0, "b", 1, 10),
                point(None, "r1", 0, "z", 1, 10),
                point(Some("h"), "r1", 1, "c", 1, 10),
                point(Some("h"), "r1", 0, "d", 1, 10),
            ],
        );
        assert_eq!(
            summary(&rps),
            [
                (None, "r1", 10, vec!["z"], 1),
                (Some("h"), "r1", 10, vec!["d", "c"], 2),
                (Some("g1"), "r2", 10, vec!["a"], 1),
                (Some("g1"), "r1", 10, vec!["b"], 1),
            ]
        );
    }

    #[test]
    fn a_negative_disk_index_is_refused() {
        assert!(check_disk_index(0).is_ok());
        let e = check_disk_index(-2).unwrap_err();
        assert_eq!(e.status(), crate::Status::InvalidArgument);
        assert!(e.message().contains("disk_id -2 is negative"), "{e}");
    }

    /// The plan of `sql`, one detail line per step.
    fn plan(store: &Store, sql: &str) -> Vec<String> {
        store.reading(|tx| tx.rows(&format!("EXPLAIN QUERY PLAN {sql}"), params![], |r| r.get::<String>(3))).unwrap()
    }

    /// Both reads stay on the context's rows (the context and disk index) and look groups up
    /// by the group index: no scan of every point.
    #[test]
    fn both_reads_use_indexes_and_never_scan_every_point() {
        let store = Store::open_in_memory(crate::OpenOptions::default()).unwrap();
        let sql = RESTORABLE_POINTS_SQL.replace(":context_id", "'ctx'");
        let steps = plan(&store, &sql);
        assert!(steps.iter().all(|s| !s.starts_with("SCAN")), "{steps:#?}");
        assert!(steps[0].contains("idx_backup_jobs_vm_context_id_disk_id_backup_type (vm_context_id=?)"), "{steps:#?}");
        assert!(steps.iter().any(|s| s.contains("idx_backup_jobs_backup_group_id (backup_group_id=?)")), "{steps:#?}");
        let sql = DISK_POINTS_SQL.replace(":context_id", "'ctx'").replace(":disk_id", "0");
        let steps = plan(&store, &sql);
        assert!(steps.iter().all(|s| !s.starts_with("SCAN")), "{steps:#?}");
        assert!(
            steps[0].contains("idx_backup_jobs_vm_context_id_disk_id_backup_type (vm_context_id=? AND disk_id=?)"),
            "{steps:#?}"
        );
    }
}
