//! Several OS processes on one database file, and writers killed with SIGKILL.
//!
//! This test binary has its own `main` (harness = false): run without arguments it is the
//! parent and runs the scenarios; run with a child role as first argument it is one of the
//! processes a scenario starts:
//! - `child-writer <db> <writer> <ms>` commits one multi-row operation per transaction and
//!   prints `committed <id>` after each commit returns;
//! - `child-starter <db> <context> <unix ms>` waits until that instant, starts a job on the
//!   context and prints `started <job>` or `refused <STATUS>`;
//! - `child-completer <db> <context,...>` runs jobs to completion in a loop (start, record
//!   both disks' change ids, complete) and prints `completed <job>` after each completion;
//! - `child-claimer <db> <worker> <unix ms>` waits until that instant, then claims backup
//!   copies until none is pending, printing `claimed <copy>` after each claim and taking each
//!   copy through verifying to completed (with a short pause standing for the copy itself);
//! - `child-backuper <db> <context,...> <repository> <policy> <seed>` cancels the points a
//!   killed predecessor left active, then runs backup points to completion in a loop (start a
//!   full, incremental or differential of the next (context, disk), run, complete) and prints
//!   `completed <point>` after each completion.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod common;

use common::Rng;
use sendense::backup::{BackupFilter, BackupJob, BackupStatus, BackupType, StartBackup};
use sendense::backup::{CopyFilter, CopyStatus, VerificationStatus};
use sendense::backup::{NewCopyRule, NewPolicy, NewRepository, RepositoryType};
use sendense::replication::{DiskSpec, JobStatus, NewContext, StartJob};
use sendense::rusqlite::params;
use sendense::{OpenOptions, Status, Store};
use serde_json::json;

const DISKS_PER_OPERATION: i64 = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("child-writer") => {
            let ms = args[4].parse().expect("duration in ms");
            return child_writer(Path::new(&args[2]), &args[3], Duration::from_millis(ms));
        }
        Some("child-starter") => {
            return child_starter(Path::new(&args[2]), &args[3], args[4].parse().expect("unix ms"))
        }
        Some("child-completer") => return child_completer(Path::new(&args[2]), &args[3]),
        Some("child-claimer") => {
            return child_claimer(Path::new(&args[2]), &args[3], args[4].parse().expect("unix ms"))
        }
        Some("child-backuper") => {
            return child_backuper(Path::new(&args[2]), &args[3], &args[4], &args[5], args[6].parse().expect("seed"))
        }
        _ => {}
    }
    let scenarios: [(&str, fn()); 6] = [
        ("six_processes_racing_to_start_one_job_one_wins", six_processes_racing_to_start_one_job_one_wins),
        ("five_processes_claiming_copies_never_claim_one_twice", five_processes_claiming_copies_never_claim_one_twice),
        (
            "completer_killed_twenty_times_leaves_whole_completions",
            completer_killed_twenty_times_leaves_whole_completions,
        ),
        (
            "backuper_killed_twenty_times_leaves_whole_completions",
            backuper_killed_twenty_times_leaves_whole_completions,
        ),
        ("four_processes_write_one_new_file_and_lose_nothing", four_processes_write_one_new_file_and_lose_nothing),
        (
            "writer_killed_twenty_times_loses_no_committed_operation",
            writer_killed_twenty_times_loses_no_committed_operation,
        ),
    ];
    common::run_scenarios(&scenarios);
}

/// One operation = a context, a job, its disks and the context's pointer to the job, in one
/// transaction, so a half-applied operation is visible as a context without its job or disks.
/// At least this many operations per writer, however long the lock waits take on a loaded
/// machine (SQLite's lock waits are not fair, so one writer may wait for most of the run).
const MIN_OPERATIONS: u64 = 20;

fn child_writer(db: &Path, writer: &str, duration: Duration) {
    // A long busy timeout: this test is about losing nothing, not about lock latency.
    let options = OpenOptions::default().busy_timeout(Duration::from_secs(60));
    let store = Store::open(db, options).unwrap_or_else(|e| panic!("writer {writer}: {e}"));
    let stdout = std::io::stdout();
    let deadline = Instant::now() + duration;
    let mut seq = 0u64;
    while Instant::now() < deadline || seq < MIN_OPERATIONS {
        seq += 1;
        let id = format!("{writer}-{seq}");
        let now = store.now_ms();
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO vm_replication_contexts (context_id, vm_name, vmware_vm_id, vm_path, vcenter_host, \
                     datacenter, created_at, updated_at, last_status_change) VALUES (?1, ?1, ?1, '/dc/vm/' || ?1, \
                     'vc.example', 'dc', ?2, ?2, ?2)",
                    params![id, now],
                )?;
                let job = format!("job-{id}");
                tx.execute(
                    "INSERT INTO replication_jobs (id, vm_context_id, source_vm_id, source_vm_name, source_vm_path, \
                     v_center_host, datacenter, replication_type, status, created_at, updated_at) \
                     VALUES (?1, ?2, ?2, ?2, '/dc/vm/' || ?2, 'vc.example', 'dc', 'initial', 'replicating', ?3, ?3)",
                    params![job, id, now],
                )?;
                for disk in 0..DISKS_PER_OPERATION {
                    tx.execute(
                        "INSERT INTO vm_disks (vm_context_id, job_id, disk_id, vm_dk_path, size_gb, created_at, updated_at) \
                         VALUES (?1, ?2, ?3, '[ds] ' || ?1 || '.vmdk', 10, ?4, ?4)",
                        params![id, job, format!("disk-{}", 2000 + disk), now],
                    )?;
                }
                tx.execute(
                    "UPDATE vm_replication_contexts SET current_job_id = ?1, current_status = 'replicating', \
                     total_jobs_run = 1 WHERE context_id = ?2",
                    params![job, id],
                )?;
                Ok(())
            })
            .unwrap_or_else(|e| panic!("writer {writer}, operation {seq}: {e}"));
        let mut out = stdout.lock();
        writeln!(out, "committed {id}").and_then(|()| out.flush()).expect("reporting to the parent");
    }
}

fn spawn_child(args: &[&str]) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawning a child process")
}

fn spawn_writer(db: &Path, writer: &str, duration_ms: u64) -> Child {
    spawn_child(&["child-writer", db.to_str().unwrap(), writer, &duration_ms.to_string()])
}

/// The ids a writer reported as committed (reads until the pipe closes).
fn reported(child: &mut Child) -> Vec<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    BufReader::new(stdout)
        .lines()
        .map_while(|l| l.ok())
        .filter_map(|l| l.strip_prefix("committed ").map(str::to_string))
        .collect()
}

/// Open the file, check integrity, and check that every operation is whole; returns the ids
/// of the contexts present.
fn verify(db: &Path) -> BTreeSet<String> {
    let store = Store::open(db, OpenOptions::default()).expect("the database reopens");
    let report = store.integrity_check().unwrap();
    assert!(report.ok, "integrity check after the run: {report:?}");
    store
        .read(|tx| {
            let half_applied: i64 = tx.query_row(
                "SELECT count(*) FROM vm_replication_contexts c WHERE c.current_job_id IS NULL \
                 OR NOT EXISTS (SELECT 1 FROM replication_jobs j WHERE j.id = c.current_job_id AND j.vm_context_id = c.context_id) \
                 OR (SELECT count(*) FROM vm_disks d WHERE d.vm_context_id = c.context_id) <> ?1",
                [DISKS_PER_OPERATION],
                |r| r.get(0),
            )?;
            assert_eq!(half_applied, 0, "contexts without their whole operation");
            let mut stmt = tx.prepare("SELECT context_id FROM vm_replication_contexts")?;
            let ids = stmt.query_map([], |r| r.get(0))?.collect::<Result<BTreeSet<String>, _>>()?;
            Ok(ids)
        })
        .unwrap()
}

fn four_processes_write_one_new_file_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // The file does not exist yet: the four writers also race to create and migrate it.
    let db = dir.path().join("shared.db");
    let mut children: Vec<Child> = (0..4).map(|w| spawn_writer(&db, &format!("w{w}"), 3_000)).collect();
    let mut all_reported = BTreeSet::new();
    let mut per_writer = Vec::new();
    for child in &mut children {
        let ids = reported(child);
        per_writer.push(ids.len());
        all_reported.extend(ids);
    }
    for child in &mut children {
        let status = child.wait().unwrap();
        assert!(status.success(), "a writer failed: {status}");
    }
    assert!(per_writer.iter().all(|&n| n > 0), "every writer committed something: {per_writer:?}");
    let present = verify(&db);
    let lost: Vec<_> = all_reported.difference(&present).collect();
    assert!(lost.is_empty(), "operations reported committed but missing: {lost:?}");
    // Every writer exited normally, so every commit was reported: nothing extra either.
    assert_eq!(present, all_reported);
    println!("  4 writers committed {} operations ({per_writer:?})", all_reported.len());
}

fn writer_killed_twenty_times_loses_no_committed_operation() {
    let seed = std::env::var("SENDENSE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
    println!("  crash seed {seed} (set SENDENSE_CRASH_SEED to replay)");
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut committed = BTreeSet::new();
    for round in 0..20 {
        let mut child = spawn_writer(&db, &format!("r{round}"), 60_000);
        let reader = {
            let stdout = child.stdout.take().unwrap();
            std::thread::spawn(move || {
                BufReader::new(stdout)
                    .lines()
                    .map_while(|l| l.ok())
                    .filter_map(|l| l.strip_prefix("committed ").map(str::to_string))
                    .collect::<Vec<_>>()
            })
        };
        std::thread::sleep(Duration::from_millis(5 + rng.below(395)));
        child.kill().expect("SIGKILL the writer");
        let status = child.wait().unwrap();
        assert!(!status.success(), "round {round}: the writer must have been killed, not finished");
        committed.extend(reader.join().unwrap());
        let present = verify(&db);
        let lost: Vec<_> = committed.difference(&present).collect();
        assert!(lost.is_empty(), "round {round}: committed operations lost after SIGKILL: {lost:?}");
    }
    assert!(!committed.is_empty(), "the writers committed nothing in 20 rounds");
    println!("  20 kills, {} committed operations all present", committed.len());
}

fn unix_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn two_disks() -> Vec<DiskSpec> {
    vec![DiskSpec::new("disk-2000", "[ds] vm/a.vmdk", 10), DiskSpec::new("disk-2001", "[ds] vm/b.vmdk", 20)]
}

/// Open the store, wait for the agreed instant, start a job, report the outcome.
fn child_starter(db: &Path, context: &str, at_ms: i64) {
    let store = Store::open(db, OpenOptions::default()).expect("opening the shared store");
    while unix_ms() < at_ms {
        std::hint::spin_loop();
    }
    match store.replication_start(&StartJob::new(context, two_disks())) {
        Ok(job) => println!("started {job}"),
        Err(e) => println!("refused {} {}", e.status(), e.message()),
    }
}

fn six_processes_racing_to_start_one_job_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("race.db");
    let store = Store::open(&db, OpenOptions::default()).unwrap();
    let ctx = store.context_create(&NewContext::new("raced", "4210-raced", "/dc/vm/raced", "vc", "dc")).unwrap();
    for round in 0..4 {
        let at = (unix_ms() + 400).to_string();
        let mut children: Vec<Child> =
            (0..6).map(|_| spawn_child(&["child-starter", db.to_str().unwrap(), &ctx, &at])).collect();
        let outcomes: Vec<String> = children.iter_mut().flat_map(reported_lines).collect();
        for child in &mut children {
            assert!(child.wait().unwrap().success(), "round {round}: a starter crashed");
        }
        let winners: Vec<&str> = outcomes.iter().filter_map(|l| l.strip_prefix("started ")).collect();
        assert_eq!(winners.len(), 1, "round {round}: exactly one start wins: {outcomes:?}");
        let conflicts = outcomes.iter().filter(|l| l.starts_with(&format!("refused {}", Status::Conflict))).count();
        assert_eq!(conflicts, 5, "round {round}: every other start is CONFLICT: {outcomes:?}");
        let c = store.context_get(&ctx).unwrap();
        assert_eq!(c.current_job_id.as_deref(), Some(winners[0]), "round {round}");
        assert_eq!(c.total_jobs_run, round + 1, "round {round}: one job per round, nothing else");
        assert!(common::inconsistent_contexts(&store).is_empty(), "round {round}");
        store.replication_set_status(winners[0], JobStatus::Completed, None).unwrap();
    }
}

/// Every line a child printed (reads until its stdout closes).
fn reported_lines(child: &mut Child) -> Vec<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    BufReader::new(stdout).lines().map_while(|l| l.ok()).collect()
}

/// Run jobs to completion on the contexts in turn, forever (until killed). A job left active
/// by a killed predecessor is failed first, as an appliance recovering from a crash would.
fn child_completer(db: &Path, contexts: &str) {
    let store = Store::open(db, OpenOptions::default()).expect("opening the store");
    let contexts: Vec<&str> = contexts.split(',').collect();
    let stdout = std::io::stdout();
    for n in 0.. {
        let ctx = contexts[n % contexts.len()];
        if let Some(stale) = store.context_get(ctx).unwrap().current_job_id {
            store.replication_set_status(&stale, JobStatus::Failed, Some("owner process died")).unwrap();
        }
        let job = store.replication_start(&StartJob::new(ctx, two_disks())).unwrap();
        store.replication_set_status(&job, JobStatus::Replicating, None).unwrap();
        for (i, disk) in ["disk-2000", "disk-2001"].iter().enumerate() {
            store.cbt_record(&job, disk, &format!("epoch-{i}/{}", unix_ms() * 10 + i as i64), 100).unwrap();
        }
        store.replication_set_status(&job, JobStatus::Completed, None).unwrap();
        let mut out = stdout.lock();
        writeln!(out, "completed {job}").and_then(|()| out.flush()).expect("reporting to the parent");
    }
}

fn completer_killed_twenty_times_leaves_whole_completions() {
    let seed = common::time_seed();
    println!("  crash seed {seed}");
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("completions.db");
    let contexts: Vec<String> = {
        let store = Store::open(&db, OpenOptions::default()).unwrap();
        (0..3)
            .map(|i| {
                store.context_create(&NewContext::new(format!("vm-{i}"), format!("id-{i}"), "/p", "vc", "dc")).unwrap()
            })
            .collect()
    };
    let mut reported = Vec::new();
    for round in 0..20 {
        let mut child = spawn_child(&["child-completer", db.to_str().unwrap(), &contexts.join(",")]);
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(|l| l.ok())
                .filter_map(|l| l.strip_prefix("completed ").map(str::to_string))
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(20 + rng.below(300)));
        child.kill().expect("SIGKILL the completer");
        assert!(!child.wait().unwrap().success(), "round {round}: the completer must have been killed");
        reported.extend(reader.join().unwrap());

        let store = Store::open(&db, OpenOptions::default()).expect("the database reopens");
        assert!(store.integrity_check().unwrap().ok, "round {round}");
        assert!(common::inconsistent_contexts(&store).is_empty(), "round {round}: counters disagree with the jobs");
        for job in &reported {
            let j = store.replication_get(job).unwrap();
            assert_eq!(j.status, JobStatus::Completed, "round {round}: reported completion {job} is missing");
        }
        // Every completed job is whole: completed_at and both disks' CBT rows.
        for ctx in &contexts {
            let mut cbt_rows: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
            for e in store.cbt_history(ctx, None, None).unwrap() {
                *cbt_rows.entry(e.job_id.unwrap_or_default()).or_default() += 1;
            }
            let filter = sendense::replication::JobFilter {
                context_id: Some(ctx.clone()),
                limit: Some(100_000),
                ..Default::default()
            };
            for j in store.replication_list(&filter).unwrap() {
                if j.status == JobStatus::Completed {
                    assert!(j.completed_at.is_some(), "round {round}: {} has no completed_at", j.id);
                    let rows = cbt_rows.get(&j.id).copied().unwrap_or(0);
                    assert_eq!(rows, 2, "round {round}: completed job {} has {rows} CBT rows", j.id);
                }
            }
            let lineage = store.cbt_verify_lineage(ctx).unwrap();
            assert!(lineage.ok, "round {round}: {lineage:?}");
        }
    }
    assert!(!reported.is_empty(), "no completion in 20 rounds");
    println!("  20 kills, {} reported completions all whole", reported.len());
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
        let filter = BackupFilter { status: Some(status), limit: Some(100_000), ..Default::default() };
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
    let filter = BackupFilter { repository_id: Some(repo.to_string()), limit: Some(1_000_000), ..Default::default() };
    let points: HashMap<String, BackupJob> =
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
    fn root<'a>(points: &'a HashMap<String, BackupJob>, mut b: &'a BackupJob, round: usize) -> &'a str {
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
            let mine: Vec<&BackupJob> =
                points.values().filter(|b| &b.vm_context_id == ctx && b.disk_id == disk).collect();
            let active = mine.iter().filter(|b| !b.status.is_terminal()).count();
            assert!(active <= 1, "round {round}: {active} active points on {ctx} disk {disk}");
            let done: Vec<&BackupJob> = mine.iter().copied().filter(|b| b.status == BackupStatus::Completed).collect();
            for b in &done {
                let k = match b.backup_type {
                    BackupType::Full => 0,
                    BackupType::Incremental => 1,
                    BackupType::Differential => 2,
                };
                completed[k] += 1;
            }
            let newest =
                |set: &mut dyn Iterator<Item = &&BackupJob>| set.max_by_key(|b| order[&b.id]).map(|b| b.id.clone());
            let Some(full) = newest(&mut done.iter().filter(|b| b.backup_type == BackupType::Full)) else {
                let chain = store.chain_get(ctx, disk, repo);
                assert!(chain.is_err(), "round {round}: a chain without a completed full: {chain:?}");
                continue;
            };
            let generation: Vec<&BackupJob> =
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
        let mut child =
            spawn_child(&["child-backuper", db.to_str().unwrap(), &contexts.join(","), &repo, &policy, &child_seed]);
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(|l| l.ok())
                .filter_map(|l| l.strip_prefix("completed ").map(str::to_string))
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(20 + rng.below(200)));
        child.kill().expect("SIGKILL the backuper");
        assert!(!child.wait().unwrap().success(), "round {round}: the backuper must have been killed");
        reported.extend(reader.join().unwrap());
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
