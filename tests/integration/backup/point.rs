//! Backup points and chains through the Rust API on real database files: each rule and each
//! refusal (which must change nothing), chain counters after completions and deletions, and
//! restore chains across generations.

use super::{local, web_01_and_main};
use crate::fixtures::{assert_refused, TempStore};

use sendense::backup::NewPolicy;
use sendense::backup::{BackupPointFilter, BackupProgress, BackupStatus, BackupType, StartBackup};
use sendense::replication::NewContext;
use sendense::rusqlite::Connection;
use sendense::{ManualClock, OpenOptions, Status, Store, Timestamp};

const T0: i64 = 1_764_306_589_000; // 2025-11-28T05:09:49Z
const DAY: i64 = 86_400_000;

struct Fixture {
    store: Store,
    clock: ManualClock,
    ctx: String,
    repo: String,
    dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let TempStore { store, clock, dir } = TempStore::new(T0);
    let (ctx, repo) = web_01_and_main(&store);
    Fixture { store, clock, ctx, repo, dir }
}

impl Fixture {
    fn start(&self, disk: i64, t: BackupType, id: &str) -> String {
        let mut s = StartBackup::new(&self.ctx, disk, &self.repo, t, format!("/srv/main/{id}.qcow2"));
        s.id = Some(id.to_string());
        self.store.backup_start(&s).unwrap_or_else(|e| panic!("start {id}: {e}"))
    }

    /// Start, run and complete a point of `size` bytes, one second after the previous step.
    fn backup(&self, disk: i64, t: BackupType, id: &str, size: i64) -> String {
        self.clock.advance(1000);
        let id = self.start(disk, t, id);
        self.store.backup_set_running(&id).unwrap();
        self.clock.advance(1000);
        self.store.backup_complete(&id, Some("52 3c-aa bb/7"), size, size).unwrap();
        id
    }

    fn chain(&self, disk: i64) -> (Option<String>, Option<String>, i64, i64) {
        let c = self.store.chain_get(&self.ctx, disk, &self.repo).unwrap();
        (c.full_backup_id, c.latest_backup_id, c.total_backups, c.total_size_bytes)
    }

    fn restore(&self, id: &str) -> Vec<String> {
        self.store.restore_chain(id).unwrap().into_iter().map(|b| b.id).collect()
    }
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

#[test]
fn fulls_incrementals_and_differentials_build_the_chain() {
    let f = fixture();
    let s = &f.store;
    f.clock.advance(1000);
    let full = f.start(0, BackupType::Full, "f1");
    let b = s.backup_get(&full).unwrap();
    assert_eq!((b.status, b.backup_type, b.parent_backup_id.clone()), (BackupStatus::Pending, BackupType::Full, None));
    assert_eq!(b.vm_name, "web-01", "vm_name defaults to the context's");
    assert_eq!((b.disk_id, b.repository_id.as_str(), b.created_at), (0, f.repo.as_str(), Timestamp(T0 + 1000)));
    assert!(s.chain_list(&f.ctx).unwrap().is_empty(), "no chain before a completion");
    s.backup_set_running(&full).unwrap();
    let b = s.backup_get(&full).unwrap();
    assert_eq!(
        (b.status, b.started_at, b.last_telemetry_at),
        (BackupStatus::Running, Some(Timestamp(T0 + 1000)), b.started_at)
    );
    f.clock.advance(5000);
    s.backup_complete(&full, Some("52 3c-aa bb/7"), 90, 100).unwrap();
    let b = s.backup_get(&full).unwrap();
    assert_eq!(b.status, BackupStatus::Completed);
    assert_eq!(b.completed_at, Some(Timestamp(T0 + 6000)));
    assert_eq!((b.change_id.as_deref(), b.bytes_transferred, b.size_bytes), (Some("52 3c-aa bb/7"), 90, 100));
    assert_eq!(f.chain(0), (some("f1"), some("f1"), 1, 100));

    let i1 = f.backup(0, BackupType::Incremental, "i1", 10);
    assert_eq!(s.backup_get(&i1).unwrap().parent_backup_id, some("f1"));
    assert_eq!(f.chain(0), (some("f1"), some("i1"), 2, 110));
    let d1 = f.backup(0, BackupType::Differential, "d1", 20);
    assert_eq!(s.backup_get(&d1).unwrap().parent_backup_id, some("f1"), "a differential builds on the full");
    assert_eq!(f.chain(0), (some("f1"), some("d1"), 3, 130));
    let i2 = f.backup(0, BackupType::Incremental, "i2", 5);
    assert_eq!(s.backup_get(&i2).unwrap().parent_backup_id, some("d1"), "an incremental builds on the latest");
    assert_eq!(f.chain(0), (some("f1"), some("i2"), 4, 135));

    // Chains are per (context, disk, repository).
    f.backup(1, BackupType::Full, "disk1-f", 7);
    let other = s.repository_create(&local("second")).unwrap();
    let chains = s.chain_list(&f.ctx).unwrap();
    assert_eq!(chains.iter().map(|c| (c.disk_id, c.total_backups)).collect::<Vec<_>>(), [(0, 4), (1, 1)]);
    assert_refused(s, Status::InvalidState, &["no completed full backup of", "disk 0 in repository", &other], || {
        s.backup_start(&StartBackup::new(&f.ctx, 0, &other, BackupType::Incremental, "/x"))
    });
    assert_refused(s, Status::NotFound, &["no backup chain", "disk 5"], || s.chain_get(&f.ctx, 5, &f.repo));
    assert_refused(s, Status::NotFound, &["context \"nope\""], || s.chain_list("nope"));
}

#[test]
fn a_new_full_starts_a_new_generation_and_older_points_stay_restorable() {
    let f = fixture();
    let s = &f.store;
    f.backup(0, BackupType::Full, "f1", 100);
    f.backup(0, BackupType::Incremental, "i1", 10);
    f.backup(0, BackupType::Incremental, "i2", 10);
    f.backup(0, BackupType::Full, "f2", 200);
    assert_eq!(f.chain(0), (some("f2"), some("f2"), 1, 200));
    f.backup(0, BackupType::Incremental, "j1", 20);
    assert_eq!(s.backup_get("j1").unwrap().parent_backup_id, some("f2"));
    assert_eq!(f.chain(0), (some("f2"), some("j1"), 2, 220));
    assert_eq!(f.restore("i2"), ["f1", "i1", "i2"]);
    assert_eq!(f.restore("i1"), ["f1", "i1"]);
    assert_eq!(f.restore("f1"), ["f1"]);
    assert_eq!(f.restore("j1"), ["f2", "j1"]);
    for link in s.restore_chain("i2").unwrap() {
        assert_eq!(link, s.backup_get(&link.id).unwrap(), "a link reads like the point itself");
    }
    // Deleting the old generation's tip leaves the current chain alone.
    s.backup_delete("i2").unwrap();
    assert_eq!(f.chain(0), (some("f2"), some("j1"), 2, 220));
    let d = f.backup(0, BackupType::Differential, "d2", 30);
    assert_eq!(f.restore(&d), ["f2", "d2"]);
}

#[test]
fn restore_chain_refuses_missing_and_unfinished_links() {
    let f = fixture();
    let s = &f.store;
    f.backup(0, BackupType::Full, "f1", 100);
    f.backup(0, BackupType::Incremental, "i1", 10);
    f.backup(0, BackupType::Incremental, "i2", 10);
    let running = f.start(0, BackupType::Incremental, "i3");
    assert_refused(
        s,
        Status::InvalidState,
        &["backup i3 cannot be restored", "link i3 is pending, not completed"],
        || s.restore_chain(&running),
    );
    s.backup_cancel(&running).unwrap();
    assert_refused(s, Status::NotFound, &["backup \"nope\" does not exist"], || s.restore_chain("nope"));
    // A link that is not completed (made by hand).
    s.write(|tx| Ok(tx.execute("UPDATE backup_jobs SET status = 'failed' WHERE id = 'i1'", [])?)).unwrap();
    assert_refused(
        s,
        Status::InvalidState,
        &["backup i2 cannot be restored: link i1 is failed, not completed"],
        || s.restore_chain("i2"),
    );
    s.write(|tx| Ok(tx.execute("UPDATE backup_jobs SET status = 'completed' WHERE id = 'i1'", [])?)).unwrap();
    assert_eq!(f.restore("i2"), ["f1", "i1", "i2"]);
    // A missing link (removed behind the library's back, foreign keys off).
    let conn = Connection::open(f.dir.path().join(TempStore::FILE)).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF; DELETE FROM backup_jobs WHERE id = 'i1';").unwrap();
    assert_refused(
        s,
        Status::InvalidState,
        &["backup i2 cannot be restored: link i1 (parent of i2) does not exist"],
        || s.restore_chain("i2"),
    );
    // An incremental without a parent.
    conn.execute_batch("UPDATE backup_jobs SET parent_backup_id = NULL WHERE id = 'i2';").unwrap();
    assert_refused(s, Status::InvalidState, &["link i2 has no parent and is not a full backup"], || {
        s.restore_chain("i2")
    });
}

#[test]
fn restore_chain_refuses_a_loop_of_parent_links() {
    let f = fixture();
    let s = &f.store;
    f.backup(0, BackupType::Full, "f1", 100);
    f.backup(0, BackupType::Incremental, "i1", 10);
    f.backup(0, BackupType::Incremental, "i2", 10);
    f.backup(0, BackupType::Incremental, "i3", 10);
    assert_eq!(f.restore("i3"), ["f1", "i1", "i2", "i3"]);
    // i1 and i2 made each other's parent by hand: the walk from i3 enters the loop at i2.
    s.write(|tx| Ok(tx.execute("UPDATE backup_jobs SET parent_backup_id = 'i2' WHERE id = 'i1'", [])?)).unwrap();
    assert_refused(s, Status::InvalidState, &["backup i3 cannot be restored: its parent links loop at i2"], || {
        s.restore_chain("i3")
    });
    assert_refused(s, Status::InvalidState, &["backup i1 cannot be restored: its parent links loop at i1"], || {
        s.restore_chain("i1")
    });
    // A link of the loop that is not completed is named first, as the walk meets it.
    s.write(|tx| Ok(tx.execute("UPDATE backup_jobs SET status = 'failed' WHERE id = 'i1'", [])?)).unwrap();
    assert_refused(
        s,
        Status::InvalidState,
        &["backup i3 cannot be restored: link i1 is failed, not completed"],
        || s.restore_chain("i3"),
    );
    s.write(|tx| {
        Ok(tx.execute("UPDATE backup_jobs SET status = 'completed', parent_backup_id = 'f1' WHERE id = 'i1'", [])?)
    })
    .unwrap();
    assert_eq!(f.restore("i3"), ["f1", "i1", "i2", "i3"]);
}

#[test]
fn starting_refuses_with_a_clear_reason_and_changes_nothing() {
    let f = fixture();
    let s = &f.store;
    let start = |t| StartBackup::new(&f.ctx, 0, &f.repo, t, "/srv/main/x.qcow2");
    let msg = format!("no completed full backup of context {} disk 0 in repository {} to build on", f.ctx, f.repo);
    assert_refused(s, Status::InvalidState, &[&msg], || s.backup_start(&start(BackupType::Incremental)));
    assert_refused(s, Status::InvalidState, &[&msg], || s.backup_start(&start(BackupType::Differential)));
    // A full that is not completed is no base.
    let full = f.start(0, BackupType::Full, "f1");
    assert_refused(s, Status::Conflict, &["already has an active backup f1 (pending)"], || {
        s.backup_start(&start(BackupType::Full))
    });
    s.backup_set_running(&full).unwrap();
    assert_refused(s, Status::Conflict, &["already has an active backup f1 (running)"], || {
        s.backup_start(&start(BackupType::Full))
    });
    s.backup_fail(&full, "disk read error").unwrap();
    assert_eq!(s.backup_get(&full).unwrap().error_message.as_deref(), Some("disk read error"));
    assert_refused(s, Status::InvalidState, &[&msg], || s.backup_start(&start(BackupType::Incremental)));
    // Another disk and another repository are independent of the active point.
    f.start(1, BackupType::Full, "disk1");

    let mut bad = start(BackupType::Full);
    bad.context_id = "nope".into();
    assert_refused(s, Status::NotFound, &["context \"nope\" does not exist"], || s.backup_start(&bad));
    let mut bad = start(BackupType::Full);
    bad.repository_id = "nope".into();
    assert_refused(s, Status::NotFound, &["repository \"nope\" does not exist"], || s.backup_start(&bad));
    let mut bad = start(BackupType::Full);
    bad.policy_id = Some("nope".into());
    assert_refused(s, Status::NotFound, &["policy \"nope\" does not exist"], || s.backup_start(&bad));
    let mut bad = start(BackupType::Full);
    bad.id = Some("f1".into());
    assert_refused(s, Status::AlreadyExists, &["backup f1 already exists"], || s.backup_start(&bad));
    let mut bad = start(BackupType::Full);
    bad.disk_id = -1;
    assert_refused(s, Status::InvalidArgument, &["disk_id -1 is negative"], || s.backup_start(&bad));
    let mut bad = start(BackupType::Full);
    bad.repository_path = Some(String::new());
    assert_refused(s, Status::InvalidArgument, &["repository_path"], || s.backup_start(&bad));

    let off = s.repository_create(&local("off")).unwrap();
    s.repository_set_enabled(&off, false).unwrap();
    assert_refused(s, Status::InvalidState, &["repository", "is disabled"], || {
        s.backup_start(&StartBackup::new(&f.ctx, 0, &off, BackupType::Full, "/x"))
    });

    // A group belongs to one context.
    let mut grouped = start(BackupType::Full);
    grouped.backup_group_id = Some("vmb-1".into());
    s.backup_start(&grouped).unwrap();
    let ctx2 = s.context_create(&NewContext::new("db-01", "vm-2", "/dc/vm/db-01", "vc", "dc")).unwrap();
    let mut foreign = StartBackup::new(&ctx2, 0, &f.repo, BackupType::Full, "/x");
    foreign.backup_group_id = Some("vmb-1".into());
    assert_refused(s, Status::Conflict, &["backup group vmb-1 belongs to context"], || s.backup_start(&foreign));
}

#[test]
fn the_status_machine_and_progress_refuse_late_or_wrong_moves() {
    let f = fixture();
    let s = &f.store;
    let id = f.start(0, BackupType::Full, "f1");
    assert_refused(s, Status::InvalidState, &["backup f1", "from pending to completed"], || {
        s.backup_complete(&id, None, 1, 1)
    });
    let p = BackupProgress {
        percent: 40.0,
        bytes_transferred: 4,
        total_bytes: 10,
        speed_bps: 2,
        eta_seconds: 3,
        current_phase: Some("transferring".into()),
    };
    f.clock.advance(10);
    s.backup_progress(&id, &p).unwrap();
    let b = s.backup_get(&id).unwrap();
    assert_eq!((b.progress_percent, b.bytes_transferred, b.total_bytes), (40.0, 4, 10));
    assert_eq!((b.transfer_speed_bps, b.eta_seconds, b.current_phase.as_str()), (2, 3, "transferring"));
    assert_eq!(b.last_telemetry_at, Some(Timestamp(T0 + 10)));
    s.backup_set_running(&id).unwrap();
    assert_refused(s, Status::InvalidState, &["from running to running"], || s.backup_set_running(&id));
    assert_refused(s, Status::InvalidArgument, &["change id \"*\" is invalid"], || {
        s.backup_complete(&id, Some("*"), 1, 1)
    });
    assert_refused(s, Status::InvalidArgument, &["size_bytes is negative (-1)"], || {
        s.backup_complete(&id, None, 1, -1)
    });
    assert_refused(s, Status::InvalidArgument, &["percent 120 is outside 0-100"], || {
        s.backup_progress(&id, &BackupProgress { percent: 120.0, ..p.clone() })
    });
    s.backup_complete(&id, None, 10, 10).unwrap();
    assert_refused(s, Status::InvalidState, &["backup f1 is completed; a late progress report"], || {
        s.backup_progress(&id, &p)
    });
    assert_refused(s, Status::InvalidState, &["from completed to failed: completed is final"], || {
        s.backup_fail(&id, "late")
    });
    assert_refused(s, Status::InvalidState, &["completed is final"], || s.backup_cancel(&id));
    assert_refused(s, Status::InvalidArgument, &["error message is empty"], || s.backup_fail(&id, " "));
    assert_refused(s, Status::NotFound, &["backup \"nope\" does not exist"], || s.backup_progress("nope", &p));
    assert_refused(s, Status::NotFound, &["backup \"nope\" does not exist"], || s.backup_cancel("nope"));
    let c = f.start(0, BackupType::Incremental, "i1");
    f.clock.advance(10);
    s.backup_cancel(&c).unwrap();
    let b = s.backup_get(&c).unwrap();
    assert_eq!((b.status, b.completed_at), (BackupStatus::Cancelled, Some(Timestamp(T0 + 20))));
    assert_eq!(f.chain(0), (some("f1"), some("f1"), 1, 10), "a cancelled point is not in the chain");
}

#[test]
fn deleting_a_point_updates_the_chain_or_is_refused_with_its_reason() {
    let f = fixture();
    let s = &f.store;
    f.backup(0, BackupType::Full, "f1", 100);
    f.backup(0, BackupType::Incremental, "i1", 10);
    f.backup(0, BackupType::Incremental, "i2", 20);
    f.backup(0, BackupType::Differential, "d1", 40);
    assert_eq!(f.chain(0), (some("f1"), some("d1"), 4, 170));

    assert_refused(s, Status::Conflict, &["backup f1 cannot be deleted: backup d1 and 1 more builds on it"], || {
        s.backup_delete("f1")
    });
    assert_refused(s, Status::Conflict, &["backup i1 cannot be deleted: backup i2 builds on it"], || {
        s.backup_delete("i1")
    });
    s.backup_set_protected("i2", true).unwrap();
    assert!(s.backup_get("i2").unwrap().protected);
    assert_refused(s, Status::InvalidState, &["backup i2 is protected"], || s.backup_delete("i2"));
    s.backup_set_protected("i2", false).unwrap();
    assert_refused(s, Status::NotFound, &["backup \"nope\" does not exist"], || s.backup_delete("nope"));
    assert_refused(s, Status::NotFound, &["backup \"nope\" does not exist"], || s.backup_set_protected("nope", true));

    // The latest (a differential): latest becomes the newest remaining point of the generation.
    s.backup_delete("d1").unwrap();
    assert_eq!(f.chain(0), (some("f1"), some("i2"), 3, 130));
    // The tip incremental: latest becomes its parent.
    s.backup_delete("i2").unwrap();
    assert_eq!(f.chain(0), (some("f1"), some("i1"), 2, 110));
    let active = f.start(0, BackupType::Incremental, "i3");
    assert_refused(s, Status::Conflict, &["backup i3 is pending (active)"], || s.backup_delete(&active));
    assert_refused(s, Status::Conflict, &["backup i1 cannot be deleted: backup i3 builds on it"], || {
        s.backup_delete("i1")
    });
    s.backup_fail(&active, "boom").unwrap();
    s.backup_delete(&active).unwrap();
    s.backup_delete("i1").unwrap();
    assert_eq!(f.chain(0), (some("f1"), some("f1"), 1, 100));
    // The full, alone: the generation ends and the chain row goes.
    s.backup_delete("f1").unwrap();
    assert!(s.chain_list(&f.ctx).unwrap().is_empty());
    assert!(s.backup_list(&BackupPointFilter::default()).unwrap().is_empty());
    assert_refused(s, Status::InvalidState, &["no completed full backup"], || {
        s.backup_start(&StartBackup::new(&f.ctx, 0, &f.repo, BackupType::Incremental, "/x"))
    });
    let health = s.integrity_check().unwrap();
    assert!(health.ok, "{health:?}");
}

#[test]
fn min_retention_days_hold_a_point_from_its_completion() {
    let f = fixture();
    let s = &f.store;
    let mut kept = local("kept");
    kept.min_retention_days = 7;
    let repo = s.repository_create(&kept).unwrap();
    let mut start = StartBackup::new(&f.ctx, 0, &repo, BackupType::Full, "/srv/kept/f.qcow2");
    start.id = Some("f1".into());
    s.backup_start(&start).unwrap();
    s.backup_set_running("f1").unwrap();
    f.clock.advance(1000);
    s.backup_complete("f1", None, 1, 1).unwrap();
    let done = T0 + 1000;
    f.clock.set(done + 7 * DAY - 1);
    assert_refused(
        s,
        Status::InvalidState,
        &["inside the repository's minimum retention of 7 days", &Timestamp(done + 7 * DAY).to_string()],
        || s.backup_delete("f1"),
    );
    f.clock.set(done + 7 * DAY);
    s.backup_delete("f1").unwrap();
    // A failed point is no backup to retain.
    start.id = Some("f2".into());
    s.backup_start(&start).unwrap();
    s.backup_fail("f2", "no space").unwrap();
    s.backup_delete("f2").unwrap();
    assert!(s.chain_list(&f.ctx).unwrap().is_empty());
}

#[test]
fn listing_filters_and_pages_newest_first() {
    let f = fixture();
    let s = &f.store;
    let policy = s.policy_create(&NewPolicy::new("daily", &f.repo)).unwrap();
    for disk in 0..2 {
        f.clock.advance(1000);
        let mut st = StartBackup::new(&f.ctx, disk, &f.repo, BackupType::Full, format!("/srv/main/d{disk}.qcow2"));
        st.id = Some(format!("g1-d{disk}"));
        st.backup_group_id = Some("vmb-1".into());
        st.policy_id = Some(policy.clone());
        st.vm_name = Some("web-01-renamed".into());
        s.backup_start(&st).unwrap();
        s.backup_set_running(&format!("g1-d{disk}")).unwrap();
    }
    s.backup_complete("g1-d0", None, 1, 1).unwrap();
    f.backup(0, BackupType::Incremental, "i1", 1);
    let ids = |filter: BackupPointFilter| -> Vec<String> {
        s.backup_list(&filter).unwrap().into_iter().map(|b| b.id).collect()
    };
    assert_eq!(ids(BackupPointFilter::default()), ["i1", "g1-d1", "g1-d0"]);
    let group = BackupPointFilter { backup_group_id: Some("vmb-1".into()), ..Default::default() };
    assert_eq!(ids(group), ["g1-d1", "g1-d0"]);
    let running = BackupPointFilter { status: Some(BackupStatus::Running), ..Default::default() };
    assert_eq!(ids(running), ["g1-d1"]);
    let by_ctx =
        BackupPointFilter { context_id: Some(f.ctx.clone()), limit: Some(1), offset: Some(1), ..Default::default() };
    assert_eq!(ids(by_ctx), ["g1-d1"]);
    let by_repo = BackupPointFilter { repository_id: Some("other".into()), ..Default::default() };
    assert!(ids(by_repo).is_empty());
    let b = s.backup_get("g1-d0").unwrap();
    assert_eq!((b.vm_name.as_str(), b.policy_id.as_deref()), ("web-01-renamed", Some(policy.as_str())));
    let v = serde_json::to_value(&b).unwrap();
    assert_eq!((v["backup_group_id"].as_str(), v["protected"].as_bool()), (Some("vmb-1"), Some(false)));
    // The schema holds the flag to 0/1.
    let e = s.write(|tx| Ok(tx.execute("UPDATE backup_jobs SET protected = 2 WHERE id = 'i1'", [])?)).unwrap_err();
    assert!(e.message().contains("CHECK constraint failed"), "{e}");
}

#[test]
fn the_v2_fixture_reads_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    let sql = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v2.sql"))
        .unwrap();
    Connection::open(&path).unwrap().execute_batch(&sql).unwrap();
    let s = Store::open(&path, OpenOptions::default()).unwrap();
    assert_eq!(
        s.restore_chain("backup-2").unwrap().into_iter().map(|b| b.id).collect::<Vec<_>>(),
        ["backup-1", "backup-2"]
    );
    let b = s.backup_get("backup-1").unwrap();
    assert!(b.protected);
    assert_eq!((b.backup_group_id.as_deref(), b.size_bytes), (Some("vmbackup-1"), 900));
    let c = s.chain_get("ctx-1", 0, "repo-1").unwrap();
    assert_eq!((c.latest_backup_id.as_deref(), c.total_backups, c.total_size_bytes), (Some("backup-2"), 2, 990));
    // The running point completes onto the chain.
    s.backup_complete("backup-3", Some("52 3c/300"), 50, 60).unwrap();
    let c = s.chain_get("ctx-1", 0, "repo-1").unwrap();
    assert_eq!((c.latest_backup_id.as_deref(), c.total_backups, c.total_size_bytes), (Some("backup-3"), 3, 1050));
}

#[test]
fn the_cbt_decision_for_a_backup_is_scoped_to_context_disk_and_repository() {
    use sendense::replication::{Reason, SyncMode};
    let f = fixture();
    let s = &f.store;
    let decide = |disk: i64, repo: &str, snapshot: &str| s.backup_cbt_decide(&f.ctx, disk, repo, snapshot).unwrap();
    let d = decide(0, &f.repo, "52 3c-aa bb/9");
    assert_eq!((d.mode, d.reason, d.base_change_id), (SyncMode::Full, Reason::NoBase, None));

    f.backup(0, BackupType::Full, "f1", 100); // records "52 3c-aa bb/7"
    let d = decide(0, &f.repo, "52 3c-aa bb/9");
    assert_eq!(
        (d.mode, d.reason, d.base_change_id.as_deref()),
        (SyncMode::Incremental, Reason::BaseRecorded, Some("52 3c-aa bb/7"))
    );
    assert_eq!(decide(0, &f.repo, "99 00-aa bb/9").reason, Reason::CbtUuidChanged);
    assert_eq!(decide(0, &f.repo, "52 3c-aa bb/3").reason, Reason::BaseAheadOfSnapshot);
    assert_eq!(decide(1, &f.repo, "52 3c-aa bb/9").reason, Reason::NoBase, "another disk has its own base");
    let other = s.repository_create(&local("second")).unwrap();
    assert_eq!(decide(0, &other, "52 3c-aa bb/9").reason, Reason::NoBase, "another repository has its own base");

    // The base moves with the chain's latest completed point, the parent of the next incremental.
    f.clock.advance(1000);
    let i1 = f.start(0, BackupType::Incremental, "i1");
    s.backup_set_running(&i1).unwrap();
    s.backup_complete(&i1, Some("52 3c-aa bb/9"), 10, 10).unwrap();
    assert_eq!(decide(0, &f.repo, "52 3c-aa bb/12").base_change_id.as_deref(), Some("52 3c-aa bb/9"));
    assert_eq!(
        s.backup_get(&f.start(0, BackupType::Incremental, "i2")).unwrap().parent_backup_id.as_deref(),
        Some("i1")
    );

    let e = s.backup_cbt_decide("nope", 0, &f.repo, "52 3c-aa bb/9").unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    assert!(e.message().contains("nope"), "{e}");
    let e = s.backup_cbt_decide(&f.ctx, 3, "no-repo", "52 3c-aa bb/9").unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    assert!(e.message().contains("no-repo"), "{e}");
    let e = s.backup_cbt_decide(&f.ctx, 0, &f.repo, "garbage").unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("snapshot's change id"), "{e}");
    assert_eq!(
        s.backup_cbt_decide(&f.ctx, -1, &f.repo, "52 3c-aa bb/9").unwrap_err().status(),
        Status::InvalidArgument
    );
}

#[test]
fn a_backup_group_holds_one_point_per_disk_and_repository() {
    let f = fixture();
    let s = &f.store;
    let mut start = StartBackup::new(&f.ctx, 0, &f.repo, BackupType::Full, "/srv/main/g0.qcow2");
    start.backup_group_id = Some("vm-backup-1".into());
    let first = s.backup_start(&start).unwrap();
    s.backup_fail(&first, "snapshot failed").unwrap();
    assert_refused(s, Status::Conflict, &["vm-backup-1", &first, "disk 0", "new group"], || s.backup_start(&start));
    let other_disk = StartBackup { disk_id: 1, ..start.clone() };
    s.backup_start(&other_disk).unwrap();
    let retry = StartBackup { backup_group_id: Some("vm-backup-2".into()), ..start };
    s.backup_start(&retry).unwrap();
}

#[test]
fn a_start_without_repository_path_derives_the_points_location_from_its_repository() {
    use sendense::backup::{NewRepository, RepositoryType};
    use serde_json::json;
    let f = fixture();
    let s = &f.store;
    let repo = |name: &str, t: RepositoryType, config: serde_json::Value| {
        let mut r = NewRepository::new(name, t, config);
        r.id = Some(name.to_string());
        s.repository_create(&r).unwrap()
    };
    let ctx = &f.ctx;
    // Each type in its own notation: <root>/<context>/disk-<n>/<point>.qcow2.
    let cases = [
        (f.repo.clone(), format!("/srv/main/{ctx}/disk-1/p-main.qcow2")),
        (
            repo("slash", RepositoryType::Local, json!({"path": "/mnt/b/"})),
            format!("/mnt/b/{ctx}/disk-1/p-slash.qcow2"),
        ),
        (
            repo("nas", RepositoryType::Nfs, json!({"server": "nas.example", "export_path": "/exports/b"})),
            format!("nas.example:/exports/b/{ctx}/disk-1/p-nas.qcow2"),
        ),
        (
            repo("smb", RepositoryType::Smb, json!({"server": "fs1", "share": "backups"})),
            format!("//fs1/backups/{ctx}/disk-1/p-smb.qcow2"),
        ),
        (
            repo("s3", RepositoryType::S3, json!({"region": "eu-west-1", "bucket": "bk", "prefix": "/vms/"})),
            format!("s3://bk/vms/{ctx}/disk-1/p-s3.qcow2"),
        ),
        (
            repo("s3bare", RepositoryType::S3, json!({"region": "eu-west-1", "bucket": "bk2"})),
            format!("s3://bk2/{ctx}/disk-1/p-s3bare.qcow2"),
        ),
        (
            repo("az", RepositoryType::Azure, json!({"account": "acct", "container": "c1", "prefix": "p"})),
            format!("https://acct.blob.core.windows.net/c1/p/{ctx}/disk-1/p-az.qcow2"),
        ),
    ];
    for (repo_id, want) in cases {
        let name = if repo_id == f.repo { "main".to_string() } else { repo_id.clone() };
        let start: StartBackup = sendense::value::from_json(
            "start",
            &format!(
                r#"{{"id":"p-{name}","context_id":"{ctx}","disk_id":1,"repository_id":"{repo_id}","backup_type":"full"}}"#
            ),
        )
        .unwrap();
        let id = s.backup_start(&start).unwrap();
        assert_eq!(s.backup_get(&id).unwrap().repository_path, want);
    }
    // A generated id is the file name too; a given path is kept, and still validated.
    let start: StartBackup = sendense::value::from_json(
        "start",
        &format!(r#"{{"context_id":"{ctx}","disk_id":2,"repository_id":"{}","backup_type":"full"}}"#, f.repo),
    )
    .unwrap();
    let id = s.backup_start(&start).unwrap();
    assert_eq!(s.backup_get(&id).unwrap().repository_path, format!("/srv/main/{ctx}/disk-2/{id}.qcow2"));
    let id = f.start(3, BackupType::Full, "given");
    assert_eq!(s.backup_get(&id).unwrap().repository_path, "/srv/main/given.qcow2");
}
