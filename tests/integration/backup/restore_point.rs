//! VM-level restore points through the Rust API on real database files: a group is listed
//! only when every one of its points completed, an ungrouped point is its own restore point,
//! ordering (newest first; disks by index), sizes, per-disk restore points, the JSON read-out
//! and the refusals.

use super::{local, web_01_and_main};
use crate::fixtures::{assert_refused, TempStore};

use serde_json::json;

use sendense::backup::{BackupType, StartBackup};
use sendense::backup::{DiskRestorePoint, RestorePoint};
use sendense::replication::NewContext;
use sendense::{Clock, ManualClock, Status, Store, Timestamp};

const T0: i64 = 1_764_306_589_000; // 2025-11-28T05:09:49Z

struct Fixture {
    store: Store,
    clock: ManualClock,
    ctx: String,
    repo: String,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let TempStore { store, clock, dir } = TempStore::new(T0);
    let (ctx, repo) = web_01_and_main(&store);
    Fixture { store, clock, ctx, repo, _dir: dir }
}

impl Fixture {
    /// Start point `id` of disk `disk` in `repo`, in `group` when given; one second later.
    fn start_in(&self, ctx: &str, repo: &str, disk: i64, t: BackupType, id: &str, group: Option<&str>) -> String {
        self.clock.advance(1000);
        let mut s = StartBackup::new(ctx, disk, repo, t, format!("/srv/{id}.qcow2"));
        s.id = Some(id.to_string());
        s.backup_group_id = group.map(String::from);
        self.store.backup_start(&s).unwrap_or_else(|e| panic!("start {id}: {e}"))
    }

    fn start(&self, disk: i64, t: BackupType, id: &str, group: Option<&str>) -> String {
        self.start_in(&self.ctx, &self.repo, disk, t, id, group)
    }

    /// Run and complete a started point with `size` bytes, one second later; returns the
    /// completion time.
    fn complete(&self, id: &str, size: i64) -> i64 {
        self.store.backup_set_running(id).unwrap();
        self.clock.advance(1000);
        self.store.backup_complete(id, Some("52 3c-aa bb/7"), size, size).unwrap();
        self.clock.now_ms()
    }

    /// Start and complete a point; returns its completion time.
    fn backup(&self, disk: i64, t: BackupType, id: &str, group: Option<&str>, size: i64) -> i64 {
        self.start(disk, t, id, group);
        self.complete(id, size)
    }

    fn points(&self) -> Vec<RestorePoint> {
        self.store.restore_points(&self.ctx).unwrap()
    }

    fn disk_points(&self, disk: i64) -> Vec<DiskRestorePoint> {
        self.store.disk_restore_points(&self.ctx, disk).unwrap()
    }
}

/// (group, [(disk, backup id, size)], total size) of each restore point, in order.
#[allow(clippy::type_complexity)]
fn shape(points: &[RestorePoint]) -> Vec<(Option<&str>, Vec<(i64, &str, i64)>, i64)> {
    points
        .iter()
        .map(|p| {
            (
                p.backup_group_id.as_deref(),
                p.disks.iter().map(|d| (d.disk_id, d.backup_id.as_str(), d.size_bytes)).collect(),
                p.total_size_bytes,
            )
        })
        .collect()
}

fn ids(points: &[DiskRestorePoint]) -> Vec<&str> {
    points.iter().map(|p| p.backup_id.as_str()).collect()
}

#[test]
fn a_two_disk_group_is_listed_only_after_both_disks_complete() {
    let f = fixture();
    f.start(0, BackupType::Full, "b1-d0", Some("vm-backup-1"));
    f.start(1, BackupType::Full, "b1-d1", Some("vm-backup-1"));
    assert!(f.points().is_empty(), "both pending");

    let d0_done = f.complete("b1-d0", 100);
    assert!(f.points().is_empty(), "disk 1 is still pending");
    assert_eq!(ids(&f.disk_points(0)), ["b1-d0"], "disk 0 alone is restorable from its own chain");
    assert!(f.disk_points(1).is_empty());

    f.store.backup_set_running("b1-d1").unwrap();
    assert!(f.points().is_empty(), "disk 1 is running");

    f.clock.advance(1000);
    f.store.backup_complete("b1-d1", None, 40, 40).unwrap();
    let d1_done = f.clock.now_ms();
    let points = f.points();
    assert_eq!(shape(&points), [(Some("vm-backup-1"), vec![(0, "b1-d0", 100), (1, "b1-d1", 40)], 140)]);
    let p = &points[0];
    assert_eq!((p.vm_context_id.as_str(), p.repository_id.as_str()), (f.ctx.as_str(), f.repo.as_str()));
    assert_eq!(p.completed_at, Timestamp(d1_done), "the group completed when its last disk did");
    assert_eq!(p.disks[0].completed_at, Timestamp(d0_done));
    assert_eq!(p.disks[1].completed_at, Timestamp(d1_done));
    assert!(p.disks.iter().all(|d| d.backup_type == BackupType::Full));
}

#[test]
fn a_failed_or_cancelled_disk_hides_its_group() {
    let f = fixture();
    f.backup(0, BackupType::Full, "g1-d0", Some("g1"), 100);
    f.start(1, BackupType::Full, "g1-d1", Some("g1"));
    f.store.backup_set_running("g1-d1").unwrap();
    f.store.backup_fail("g1-d1", "disk vanished").unwrap();
    assert!(f.points().is_empty(), "a group with a failed disk is no VM restore point");

    f.backup(0, BackupType::Incremental, "g2-d0", Some("g2"), 10);
    f.start(1, BackupType::Full, "g2-d1", Some("g2"));
    f.store.backup_cancel("g2-d1").unwrap();
    assert!(f.points().is_empty(), "nor one with a cancelled disk");

    // A retry in a new group completes the VM backup; the broken groups stay hidden.
    f.backup(0, BackupType::Incremental, "g3-d0", Some("g3"), 11);
    f.backup(1, BackupType::Full, "g3-d1", Some("g3"), 50);
    assert_eq!(shape(&f.points()), [(Some("g3"), vec![(0, "g3-d0", 11), (1, "g3-d1", 50)], 61)]);

    // Per disk, every completed point counts, whatever its siblings did.
    assert_eq!(ids(&f.disk_points(0)), ["g3-d0", "g2-d0", "g1-d0"]);
    assert_eq!(ids(&f.disk_points(1)), ["g3-d1"]);

    // A point added to a listed group later, still pending, hides it again.
    f.start(2, BackupType::Full, "g3-d2", Some("g3"));
    assert!(f.points().is_empty());
    f.complete("g3-d2", 5);
    assert_eq!(shape(&f.points())[0].2, 66);
}

#[test]
fn an_ungrouped_completed_point_is_its_own_restore_point() {
    let f = fixture();
    let done = f.backup(0, BackupType::Full, "lone", None, 77);
    f.start(1, BackupType::Full, "lone-pending", None);
    f.start(2, BackupType::Full, "lone-failed", None);
    f.store.backup_fail("lone-failed", "no space").unwrap();
    let points = f.points();
    assert_eq!(shape(&points), [(None, vec![(0, "lone", 77)], 77)], "only the completed one");
    assert_eq!(points[0].completed_at, Timestamp(done));
    assert_eq!(points[0].repository_id, f.repo);
}

#[test]
fn restore_points_are_newest_first_with_disks_by_index() {
    let f = fixture();
    // Group a: disks started in reverse order; completes first.
    f.start(2, BackupType::Full, "a-d2", Some("a"));
    f.start(0, BackupType::Full, "a-d0", Some("a"));
    f.start(1, BackupType::Full, "a-d1", Some("a"));
    f.complete("a-d1", 1);
    f.complete("a-d2", 2);
    let a_done = f.complete("a-d0", 3);
    // An ungrouped point in between.
    let lone_done = f.backup(3, BackupType::Full, "lone", None, 4);
    // Group b: started before c, completes after c.
    f.start(0, BackupType::Incremental, "b-d0", Some("b"));
    f.backup(1, BackupType::Incremental, "c-d1", Some("c"), 5);
    let c_done = f.clock.now_ms();
    let b_done = f.complete("b-d0", 6);

    let points = f.points();
    assert_eq!(
        shape(&points),
        [
            (Some("b"), vec![(0, "b-d0", 6)], 6),
            (Some("c"), vec![(1, "c-d1", 5)], 5),
            (None, vec![(3, "lone", 4)], 4),
            (Some("a"), vec![(0, "a-d0", 3), (1, "a-d1", 1), (2, "a-d2", 2)], 6),
        ]
    );
    assert_eq!(
        points.iter().map(|p| p.completed_at.0).collect::<Vec<_>>(),
        [b_done, c_done, lone_done, a_done],
        "ordered by completion, not by start"
    );
    assert_eq!(points[0].disks[0].backup_type, BackupType::Incremental);

    // Per disk: newest first by completion.
    assert_eq!(ids(&f.disk_points(0)), ["b-d0", "a-d0"]);
    assert_eq!(ids(&f.disk_points(1)), ["c-d1", "a-d1"]);
    assert!(f.disk_points(9).is_empty(), "an unknown disk index has no points");
}

#[test]
fn sizes_come_from_each_point_and_add_up() {
    let f = fixture();
    f.backup(0, BackupType::Full, "f0", Some("full-1"), 10_000_000_000);
    f.backup(1, BackupType::Full, "f1", Some("full-1"), 2_500_000_000);
    f.backup(0, BackupType::Incremental, "i0", Some("incr-1"), 300_000);
    f.backup(1, BackupType::Differential, "i1", Some("incr-1"), 700_000);
    let points = f.points();
    assert_eq!(
        shape(&points),
        [
            (Some("incr-1"), vec![(0, "i0", 300_000), (1, "i1", 700_000)], 1_000_000),
            (Some("full-1"), vec![(0, "f0", 10_000_000_000), (1, "f1", 2_500_000_000)], 12_500_000_000),
        ]
    );
    assert_eq!(
        points[0].disks.iter().map(|d| d.backup_type).collect::<Vec<_>>(),
        [BackupType::Incremental, BackupType::Differential]
    );

    let disk1 = f.disk_points(1);
    assert_eq!(
        disk1.iter().map(|p| (p.backup_id.as_str(), p.size_bytes)).collect::<Vec<_>>(),
        [("i1", 700_000), ("f1", 2_500_000_000)]
    );
    let d = &disk1[0];
    assert_eq!(d.disk_id, 1);
    assert_eq!(d.repository_id, f.repo);
    assert_eq!(d.backup_group_id.as_deref(), Some("incr-1"));
    assert_eq!(d.backup_type, BackupType::Differential);
    assert_eq!(d.parent_backup_id.as_deref(), Some("f1"));
    assert_eq!(d.change_id.as_deref(), Some("52 3c-aa bb/7"));
    assert_eq!(d.completed_at, f.store.backup_get("i1").unwrap().completed_at.unwrap());
}

#[test]
fn a_group_is_listed_per_repository_and_other_contexts_stay_out() {
    let f = fixture();
    let second = f.store.repository_create(&local("second")).unwrap();
    let other_ctx = f.store.context_create(&NewContext::new("db-01", "vm-2", "/dc/vm/db-01", "vc", "dc")).unwrap();
    f.backup(0, BackupType::Full, "m-d0", Some("mixed"), 1);
    f.start_in(&f.ctx, &second, 1, BackupType::Full, "m-d1", Some("mixed"));
    assert!(f.points().is_empty(), "completeness spans the whole group, in every repository");
    f.complete("m-d1", 2);
    let points = f.points();
    let mut per_repo: Vec<(&str, Vec<&str>)> = points
        .iter()
        .map(|p| (p.repository_id.as_str(), p.disks.iter().map(|d| d.backup_id.as_str()).collect()))
        .collect();
    per_repo.sort();
    let mut want = vec![(f.repo.as_str(), vec!["m-d0"]), (second.as_str(), vec!["m-d1"])];
    want.sort();
    assert_eq!(per_repo, want);
    assert!(points.iter().all(|p| p.backup_group_id.as_deref() == Some("mixed")));

    f.start_in(&other_ctx, &f.repo, 0, BackupType::Full, "other", Some("other-group"));
    f.complete("other", 9);
    assert_eq!(f.points().len(), 2, "another context's points are not this VM's");
    assert_eq!(shape(&f.store.restore_points(&other_ctx).unwrap()), [(Some("other-group"), vec![(0, "other", 9)], 9)]);
    assert_eq!(ids(&f.store.disk_restore_points(&other_ctx, 0).unwrap()), ["other"]);
}

#[test]
fn the_json_read_out_uses_snake_case_keys_and_rfc3339_times() {
    let f = fixture();
    let done = f.backup(0, BackupType::Full, "j0", Some("jg"), 5);
    let value: serde_json::Value = serde_json::from_str(&sendense::value::to_json(&f.points()).unwrap()).unwrap();
    assert_eq!(
        value,
        json!([{
            "backup_group_id": "jg",
            "vm_context_id": f.ctx,
            "repository_id": f.repo,
            "completed_at": Timestamp(done).to_string(),
            "disks": [{"disk_id": 0, "backup_id": "j0", "backup_type": "full", "size_bytes": 5,
                       "completed_at": Timestamp(done).to_string()}],
            "total_size_bytes": 5
        }])
    );
    assert!(Timestamp(done).to_string().ends_with('Z'));
    let value: serde_json::Value = serde_json::from_str(&sendense::value::to_json(&f.disk_points(0)).unwrap()).unwrap();
    assert_eq!(
        value,
        json!([{
            "backup_id": "j0", "disk_id": 0, "repository_id": f.repo, "backup_group_id": "jg",
            "backup_type": "full", "parent_backup_id": null, "change_id": "52 3c-aa bb/7",
            "size_bytes": 5, "completed_at": Timestamp(done).to_string()
        }])
    );
}

#[test]
fn unknown_contexts_and_negative_disks_are_refused() {
    let f = fixture();
    f.backup(0, BackupType::Full, "x", Some("g"), 1);
    assert_refused(&f.store, Status::NotFound, &["no-such-vm"], || f.store.restore_points("no-such-vm"));
    assert_refused(&f.store, Status::NotFound, &["no-such-vm"], || f.store.disk_restore_points("no-such-vm", 0));
    assert_refused(&f.store, Status::InvalidArgument, &["disk_id -1"], || f.store.disk_restore_points(&f.ctx, -1));
    // A context without backups has no restore points.
    let empty = f.store.context_create(&NewContext::new("idle", "vm-9", "/dc/vm/idle", "vc", "dc")).unwrap();
    assert!(f.store.restore_points(&empty).unwrap().is_empty());
    assert!(f.store.disk_restore_points(&empty, 0).unwrap().is_empty());
}
