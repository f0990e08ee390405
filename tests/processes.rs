//! Several OS processes on one database file, and writers killed with SIGKILL.
//!
//! This test binary has its own `main` (harness = false): run without arguments it is the
//! parent and runs the scenarios; run as `processes child-writer <db> <writer> <ms>` it is a
//! writer process that commits one multi-row operation per transaction and prints
//! `committed <id>` after each commit returns.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sendense::rusqlite::params;
use sendense::{OpenOptions, Store};

const DISKS_PER_OPERATION: i64 = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child-writer") {
        let ms = args[4].parse().expect("duration in ms");
        child_writer(Path::new(&args[2]), &args[3], Duration::from_millis(ms));
        return;
    }
    let scenarios: [(&str, fn()); 2] = [
        ("four_processes_write_one_new_file_and_lose_nothing", four_processes_write_one_new_file_and_lose_nothing),
        (
            "writer_killed_twenty_times_loses_no_committed_operation",
            writer_killed_twenty_times_loses_no_committed_operation,
        ),
    ];
    let mut failed = 0;
    for (name, scenario) in scenarios {
        let started = Instant::now();
        match std::panic::catch_unwind(scenario) {
            Ok(()) => println!("test {name} ... ok ({:.1} s)", started.elapsed().as_secs_f64()),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    println!("{} passed, {failed} failed", scenarios.len() - failed);
    if failed > 0 {
        std::process::exit(1);
    }
}

/// One operation = a context, a job, its disks and the context's pointer to the job, in one
/// transaction, so a half-applied operation is visible as a context without its job or disks.
fn child_writer(db: &Path, writer: &str, duration: Duration) {
    let store = Store::open(db, OpenOptions::default()).unwrap_or_else(|e| panic!("writer {writer}: {e}"));
    let stdout = std::io::stdout();
    let deadline = Instant::now() + duration;
    let mut seq = 0u64;
    while Instant::now() < deadline {
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
    Command::new(std::env::current_exe().unwrap())
        .args(["child-writer", db.to_str().unwrap(), writer, &duration_ms.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawning a writer process")
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

/// xorshift64*: enough randomness for kill timing without a dependency; the seed is printed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

fn writer_killed_twenty_times_loses_no_committed_operation() {
    let seed = std::env::var("SENDENSE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
    println!("  crash seed {seed} (set SENDENSE_CRASH_SEED to replay)");
    let mut rng = Rng(seed);
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
        std::thread::sleep(Duration::from_millis(rng.between(5, 400)));
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
