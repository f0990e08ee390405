//! Replication across processes: writers filling one new file (each operation a context, its
//! job and disks in one transaction) and a writer killed with SIGKILL twenty times, processes
//! racing to start a job on one context, and a job completer killed twenty times.
//!
//! Child roles:
//! - `child-writer <db> <writer> <ms>` commits one multi-row operation per transaction and
//!   prints `committed <id>` after each commit returns;
//! - `child-starter <db> <context> <unix ms>` waits until that instant, starts a job on the
//!   context and prints `started <job>` or `refused <STATUS>`;
//! - `child-completer <db> <context,...>` runs jobs to completion in a loop (start, record
//!   both disks' change ids, complete) and prints `completed <job>` after each completion.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::common::{self, Rng};
use crate::{crash_seed, kill_after, reported_lines, spawn_child, unix_ms, Scenario};
use sendense::replication::{DiskSpec, JobStatus, NewContext, StartJob};
use sendense::rusqlite::params;
use sendense::{OpenOptions, Status, Store};

pub const SCENARIOS: &[Scenario] = &[
    ("six_processes_racing_to_start_one_job_one_wins", six_processes_racing_to_start_one_job_one_wins),
    ("completer_killed_twenty_times_leaves_whole_completions", completer_killed_twenty_times_leaves_whole_completions),
    ("four_processes_write_one_new_file_and_lose_nothing", four_processes_write_one_new_file_and_lose_nothing),
    (
        "writer_killed_twenty_times_loses_no_committed_operation",
        writer_killed_twenty_times_loses_no_committed_operation,
    ),
];

/// Runs the child role `args[1]` when it is one of these; false when it is not.
pub fn child(args: &[String]) -> bool {
    match args[1].as_str() {
        "child-writer" => {
            let ms = args[4].parse().expect("duration in ms");
            child_writer(Path::new(&args[2]), &args[3], Duration::from_millis(ms));
        }
        "child-starter" => child_starter(Path::new(&args[2]), &args[3], args[4].parse().expect("unix ms")),
        "child-completer" => child_completer(Path::new(&args[2]), &args[3]),
        _ => return false,
    }
    true
}

const DISKS_PER_OPERATION: i64 = 3;

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
    let seed = crash_seed();
    println!("  crash seed {seed} (set SENDENSE_CRASH_SEED to replay)");
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut committed = BTreeSet::new();
    for round in 0..20 {
        let writer = format!("r{round}");
        let lines = kill_after(
            &["child-writer", db.to_str().unwrap(), &writer, "60000"],
            5 + rng.below(395),
            &format!("round {round}: the writer"),
        );
        committed.extend(lines.iter().filter_map(|l| l.strip_prefix("committed ").map(str::to_string)));
        let present = verify(&db);
        let lost: Vec<_> = committed.difference(&present).collect();
        assert!(lost.is_empty(), "round {round}: committed operations lost after SIGKILL: {lost:?}");
    }
    assert!(!committed.is_empty(), "the writers committed nothing in 20 rounds");
    println!("  20 kills, {} committed operations all present", committed.len());
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
        assert!(inconsistent_contexts(&store).is_empty(), "round {round}");
        store.replication_set_status(winners[0], JobStatus::Completed, None).unwrap();
    }
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
        let lines = kill_after(
            &["child-completer", db.to_str().unwrap(), &contexts.join(",")],
            20 + rng.below(300),
            &format!("round {round}: the completer"),
        );
        reported.extend(lines.iter().filter_map(|l| l.strip_prefix("completed ").map(str::to_string)));

        let store = Store::open(&db, OpenOptions::default()).expect("the database reopens");
        assert!(store.integrity_check().unwrap().ok, "round {round}");
        assert!(inconsistent_contexts(&store).is_empty(), "round {round}: counters disagree with the jobs");
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

/// Contexts whose counters, pointers or status disagree with a recomputation from their job
/// rows (docs/DOMAIN.md section 1); empty when every invariant holds.
fn inconsistent_contexts(store: &Store) -> Vec<String> {
    store
        .read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT c.context_id FROM vm_replication_contexts c WHERE \
                   c.total_jobs_run IS NOT (SELECT count(*) FROM replication_jobs j WHERE j.vm_context_id = c.context_id) \
                OR c.successful_jobs IS NOT (SELECT count(*) FROM replication_jobs j WHERE j.vm_context_id = c.context_id AND j.status = 'completed') \
                OR c.failed_jobs IS NOT (SELECT count(*) FROM replication_jobs j WHERE j.vm_context_id = c.context_id AND j.status = 'failed') \
                OR c.first_job_at IS NOT (SELECT min(created_at) FROM replication_jobs j WHERE j.vm_context_id = c.context_id) \
                OR c.last_job_at IS NOT (SELECT max(created_at) FROM replication_jobs j WHERE j.vm_context_id = c.context_id) \
                OR c.last_successful_job_id IS NOT (SELECT id FROM replication_jobs j WHERE j.vm_context_id = c.context_id \
                     AND j.status = 'completed' ORDER BY completed_at DESC, created_at DESC, id DESC LIMIT 1) \
                OR c.current_job_id IS NOT (SELECT id FROM replication_jobs j WHERE j.vm_context_id = c.context_id \
                     AND j.status NOT IN ('completed', 'failed', 'cancelled')) \
                OR (SELECT count(*) FROM replication_jobs j WHERE j.vm_context_id = c.context_id \
                     AND j.status NOT IN ('completed', 'failed', 'cancelled')) > 1 \
                OR (c.current_status = 'replicating') <> (c.current_job_id IS NOT NULL)",
            )?;
            let ids = stmt.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
            Ok(ids)
        })
        .unwrap()
}
