//! Backups across processes: copy workers racing to claim the copies of one queue, and a
//! backup writer killed with SIGKILL twenty times.
//!
//! Child roles:
//! - `child-claimer <db> <worker> <unix ms>` waits until that instant, then claims backup
//!   copies until none is pending, printing `claimed <copy>` after each claim and taking each
//!   copy through verifying to completed (with a short pause standing for the copy itself);
//! - `child-backuper <db> <context,...> <repository> <policy> <seed>` cancels the points a
//!   killed predecessor left active, then runs backup points to completion in a loop (start a
//!   full, incremental or differential of the next (context, disk), run, complete) and prints
//!   `completed <point>` after each completion.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;
use std::process::Child;
use std::time::Duration;

use crate::common::{self, Rng};
use crate::{kill_after, reported_lines, spawn_child, unix_ms, Scenario};
use sendense::backup::{BackupPoint, BackupPointFilter, BackupStatus, BackupType, StartBackup};
use sendense::backup::{CopyFilter, CopyStatus, VerificationStatus};
use sendense::backup::{NewCopyRule, NewPolicy, NewRepository, RepositoryType};
use sendense::replication::NewContext;
use sendense::{OpenOptions, Store};
use serde_json::json;

pub const SCENARIOS: &[Scenario] = &[
    ("five_processes_claiming_copies_never_claim_one_twice", five_processes_claiming_copies_never_claim_one_twice),
    ("backuper_killed_twenty_times_leaves_whole_completions", backuper_killed_twenty_times_leaves_whole_completions),
];

/// Runs the child role `args[1]` when it is one of these; false when it is not.
pub fn child(args: &[String]) -> bool {
    match args[1].as_str() {
        "child-claimer" => child_claimer(Path::new(&args[2]), &args[3], args[4].parse().expect("unix ms")),
        "child-backuper" => {
            child_backuper(Path::new(&args[2]), &args[3], &args[4], &args[5], args[6].parse().expect("seed"))
        }
        _ => return false,
    }
    true
}

/// Claim copies until none is pending, reporting each claim as soon as it is committed, and
/// take each through verifying to completed (so claims race with other writes).
fn child_claimer(db: &Path, worker: &str, at_ms: i64) {
    let store = Store::open(db, OpenOptions::default()).expect("opening the shared store");
    let stdout = std::io::stdout();
    while unix_ms() < at_ms {
        std::hint::spin_loop();
    }
    while let Some(copy) = store.copy_claim(worker).unwrap_or_else(|e| panic!("worker {worker}: {e}")) {
        assert_eq!(copy.status, CopyStatus::Copying, "worker {worker}");
        {
            let mut out = stdout.lock();
            writeln!(out, "claimed {}", copy.id).and_then(|()| out.flush()).expect("reporting to the parent");
        }
        // The copy itself, outside any transaction: the other workers claim meanwhile.
        std::thread::sleep(Duration::from_millis(2));
        let path = format!("/mnt/copies/{worker}/{}", copy.id);
        store.copy_set_verifying(&copy.id, &path, 1).unwrap_or_else(|e| panic!("worker {worker}: {e}"));
        store.copy_complete(&copy.id, VerificationStatus::Passed).unwrap_or_else(|e| panic!("worker {worker}: {e}"));
    }
}

fn five_processes_claiming_copies_never_claim_one_twice() {
    const POINTS: usize = 100; // x 2 copy rules = 200 pending copies
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("copies.db");
    let store = Store::open(&db, OpenOptions::default()).unwrap();
    let ctx = store.context_create(&NewContext::new("copied", "4210-copied", "/dc/vm/copied", "vc", "dc")).unwrap();
    let repo = |name: &str| {
        store.repository_create(&NewRepository::new(
            name,
            RepositoryType::Local,
            json!({"path": format!("/srv/{name}")}),
        ))
    };
    let primary = repo("primary").unwrap();
    let mut policy = NewPolicy::new("copied", &primary);
    policy.copy_rules = vec![NewCopyRule::new(repo("offsite").unwrap(), 1), NewCopyRule::new(repo("tape").unwrap(), 2)];
    let policy = store.policy_create(&policy).unwrap();
    for i in 0..POINTS {
        let mut start = StartBackup::new(&ctx, 0, &primary, BackupType::Full, format!("/srv/primary/{i}"));
        start.policy_id = Some(policy.clone());
        let id = store.backup_start(&start).unwrap();
        store.backup_set_running(&id).unwrap();
        store.backup_complete(&id, None, 1, 1).unwrap();
    }
    let all_pending = |s: &Store| -> BTreeSet<String> {
        let filter = CopyFilter { status: Some(CopyStatus::Pending), limit: Some(100_000), ..Default::default() };
        s.copy_list(&filter).unwrap().into_iter().map(|c| c.id).collect()
    };
    let expected = all_pending(&store);
    assert_eq!(expected.len(), 2 * POINTS, "the fan-out queued one copy per point and rule");

    let at = (unix_ms() + 400).to_string();
    let mut children: Vec<Child> =
        (0..5).map(|w| spawn_child(&["child-claimer", db.to_str().unwrap(), &format!("worker-{w}"), &at])).collect();
    let per_worker: Vec<Vec<String>> = children
        .iter_mut()
        .map(|c| reported_lines(c).into_iter().filter_map(|l| l.strip_prefix("claimed ").map(str::to_string)).collect())
        .collect();
    let statuses: Vec<_> = children.iter_mut().map(|c| c.wait().unwrap()).collect();
    let mut seen = BTreeSet::new();
    let mut twice = Vec::new();
    for id in per_worker.iter().flatten() {
        if !seen.insert(id.clone()) {
            twice.push(id.clone());
        }
    }
    assert!(twice.is_empty(), "copies claimed more than once: {twice:?}");
    assert!(statuses.iter().all(|s| s.success()), "a claimer crashed: {statuses:?}");
    assert_eq!(seen, expected, "every pending copy was claimed exactly once");
    assert!(all_pending(&store).is_empty());
    let filter = CopyFilter { status: Some(CopyStatus::Completed), limit: Some(100_000), ..Default::default() };
    assert_eq!(store.copy_list(&filter).unwrap().len(), 2 * POINTS, "every claimed copy completed");
    let counts: Vec<usize> = per_worker.iter().map(Vec::len).collect();
    assert!(counts.iter().filter(|&&n| n > 0).count() >= 2, "the claimers did not actually race: {counts:?}");
    println!("  5 claimers took {} copies {counts:?}", seen.len());
}

/// Disks per context in the backup crash test; each (context, disk) has one chain.
const BACKUP_DISKS: i64 = 2;

/// Cancel what a killed predecessor left active, then complete backup points on the
/// (context, disk) pairs in turn, forever (until killed): a full when the pair has no chain
/// yet and now and then otherwise, else mostly incrementals and some differentials. Every
/// point carries `policy` (one copy rule: each completion also queues one copy).
fn child_backuper(db: &Path, contexts: &str, repo: &str, policy: &str, seed: u64) {
    let store = Store::open(db, OpenOptions::default()).expect("opening the store");
    for status in [BackupStatus::Pending, BackupStatus::Running] {
        let filter = BackupPointFilter { status: Some(status), limit: Some(100_000), ..Default::default() };
        for stale in store.backup_list(&filter).unwrap() {
            store.backup_cancel(&stale.id).unwrap();
        }
    }
    let contexts: Vec<&str> = contexts.split(',').collect();
    let mut rng = Rng::new(seed);
    let stdout = std::io::stdout();
    for n in 0.. {
        let ctx = contexts[n % contexts.len()];
        let disk = (n / contexts.len()) as i64 % BACKUP_DISKS;
        let backup_type = if store.chain_get(ctx, disk, repo).is_err() || rng.chance(15) {
            BackupType::Full
        } else if rng.chance(20) {
            BackupType::Differential
        } else {
            BackupType::Incremental
        };
        let mut start = StartBackup::new(ctx, disk, repo, backup_type, format!("/srv/crash/{ctx}/{disk}/{n}.qcow2"));
        start.policy_id = Some(policy.to_string());
        let id = store.backup_start(&start).unwrap();
        store.backup_set_running(&id).unwrap();
        let size = 1 + rng.below(1 << 40) as i64;
        store.backup_complete(&id, Some(&format!("52 3c 1a 9e-8f 11 22 33/{n}")), size, size).unwrap();
        let mut out = stdout.lock();
        writeln!(out, "completed {id}").and_then(|()| out.flush()).expect("reporting to the parent");
    }
}

/// After a kill: the file opens and passes its checks, every reported completion is there,
/// and every completion is whole: the point's completion fields, its one queued copy, and
/// its chain's pointers and counters, which must equal a recomputation from the points
/// (the chain's full is the newest completed full of its (context, disk); its generation is
/// the completed points whose parent links lead to that full; latest is the newest of them
/// by insertion order, total_backups their number, total_size_bytes their summed size).
/// Returns how many points are completed, by type (full, incremental, differential).
fn verify_backups(db: &Path, round: usize, reported: &[String], contexts: &[String], repo: &str) -> [usize; 3] {
    let store = Store::open(db, OpenOptions::default()).expect("the database reopens");
    let report = store.integrity_check().unwrap();
    assert!(report.ok, "round {round}: integrity check: {report:?}");
    let filter =
        BackupPointFilter { repository_id: Some(repo.to_string()), limit: Some(1_000_000), ..Default::default() };
    let points: HashMap<String, BackupPoint> =
        store.backup_list(&filter).unwrap().into_iter().map(|b| (b.id.clone(), b)).collect();
    let (order, copies) = store
        .read(|tx| {
            let mut stmt = tx.prepare("SELECT id, rowid FROM backup_jobs")?;
            let order =
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<HashMap<String, i64>, _>>()?;
            let mut stmt =
                tx.prepare("SELECT source_backup_id, count(*) FROM backup_copies GROUP BY source_backup_id")?;
            let copies =
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<HashMap<String, i64>, _>>()?;
            Ok((order, copies))
        })
        .unwrap();
    assert_eq!(order.len(), points.len(), "round {round}: points outside the repository");
    for id in reported {
        let status = points.get(id).map(|b| b.status);
        assert_eq!(status, Some(BackupStatus::Completed), "round {round}: reported completion {id} is not whole");
    }
    for b in points.values() {
        let n_copies = copies.get(&b.id).copied().unwrap_or(0);
        if b.status == BackupStatus::Completed {
            let whole = b.completed_at.is_some()
                && b.change_id.is_some()
                && b.size_bytes > 0
                && b.bytes_transferred == b.size_bytes
                && b.progress_percent == 100.0
                && n_copies == 1;
            assert!(whole, "round {round}: completed point half-written ({n_copies} copies): {b:?}");
        } else {
            assert_eq!(n_copies, 0, "round {round}: {} ({}) has a copy queued", b.id, b.status);
            assert_eq!(b.size_bytes, 0, "round {round}: {} ({}) has a size", b.id, b.status);
            if !b.status.is_terminal() {
                assert!(b.completed_at.is_none(), "round {round}: active {} has completed_at", b.id);
            }
        }
    }
    // The full each completed point's parent links lead to.
    fn root<'a>(points: &'a HashMap<String, BackupPoint>, mut b: &'a BackupPoint, round: usize) -> &'a str {
        while b.backup_type != BackupType::Full {
            let parent = b.parent_backup_id.as_ref().unwrap_or_else(|| panic!("round {round}: {} has no parent", b.id));
            b = &points[parent];
            assert_eq!(b.status, BackupStatus::Completed, "round {round}: {} builds on an unfinished point", b.id);
        }
        &b.id
    }
    let mut completed = [0; 3];
    for ctx in contexts {
        for disk in 0..BACKUP_DISKS {
            let mine: Vec<&BackupPoint> =
                points.values().filter(|b| &b.vm_context_id == ctx && b.disk_id == disk).collect();
            let active = mine.iter().filter(|b| !b.status.is_terminal()).count();
            assert!(active <= 1, "round {round}: {active} active points on {ctx} disk {disk}");
            let done: Vec<&BackupPoint> =
                mine.iter().copied().filter(|b| b.status == BackupStatus::Completed).collect();
            for b in &done {
                let k = match b.backup_type {
                    BackupType::Full => 0,
                    BackupType::Incremental => 1,
                    BackupType::Differential => 2,
                };
                completed[k] += 1;
            }
            let newest =
                |set: &mut dyn Iterator<Item = &&BackupPoint>| set.max_by_key(|b| order[&b.id]).map(|b| b.id.clone());
            let Some(full) = newest(&mut done.iter().filter(|b| b.backup_type == BackupType::Full)) else {
                let chain = store.chain_get(ctx, disk, repo);
                assert!(chain.is_err(), "round {round}: a chain without a completed full: {chain:?}");
                continue;
            };
            let generation: Vec<&BackupPoint> =
                done.iter().copied().filter(|b| root(&points, b, round) == full).collect();
            let chain = store
                .chain_get(ctx, disk, repo)
                .unwrap_or_else(|e| panic!("round {round}: {ctx} disk {disk} has completed points but no chain: {e}"));
            let latest = newest(&mut generation.iter());
            let size: i64 = generation.iter().map(|b| b.size_bytes).sum();
            assert_eq!(
                (chain.full_backup_id.as_ref(), chain.latest_backup_id, chain.total_backups, chain.total_size_bytes),
                (Some(&full), latest.clone(), generation.len() as i64, size),
                "round {round}: the chain of {ctx} disk {disk} disagrees with its points"
            );
            let restore = store.restore_chain(latest.as_ref().unwrap()).unwrap();
            assert_eq!(restore.first().map(|b| &b.id), Some(&full), "round {round}");
        }
    }
    completed
}

fn backuper_killed_twenty_times_leaves_whole_completions() {
    let seed = common::time_seed();
    println!("  crash seed {seed}");
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("backups.db");
    let (contexts, repo, policy) = {
        let store = Store::open(&db, OpenOptions::default()).unwrap();
        let contexts: Vec<String> = (0..2)
            .map(|i| {
                store.context_create(&NewContext::new(format!("vm-{i}"), format!("id-{i}"), "/p", "vc", "dc")).unwrap()
            })
            .collect();
        let repo = |name: &str| {
            store
                .repository_create(&NewRepository::new(
                    name,
                    RepositoryType::Local,
                    json!({"path": format!("/srv/{name}")}),
                ))
                .unwrap()
        };
        let primary = repo("primary");
        let mut policy = NewPolicy::new("crash", &primary);
        policy.copy_rules = vec![NewCopyRule::new(repo("offsite"), 1)];
        let policy = store.policy_create(&policy).unwrap();
        (contexts, primary, policy)
    };
    let mut reported = Vec::new();
    let mut completed = [0; 3];
    for round in 0..20 {
        let child_seed = (seed ^ (round as u64) << 32).to_string();
        let lines = kill_after(
            &["child-backuper", db.to_str().unwrap(), &contexts.join(","), &repo, &policy, &child_seed],
            20 + rng.below(200),
            &format!("round {round}: the backuper"),
        );
        reported.extend(lines.iter().filter_map(|l| l.strip_prefix("completed ").map(str::to_string)));
        completed = verify_backups(&db, round, &reported, &contexts, &repo);
    }
    assert!(!reported.is_empty(), "no completion in 20 rounds");
    let [full, incremental, differential] = completed;
    assert!(incremental > 0, "no incremental completed in 20 rounds: {completed:?}");
    println!(
        "  20 kills, {} reported completions; {full} fulls, {incremental} incrementals and {differential} \
         differentials completed, all whole",
        reported.len()
    );
}
