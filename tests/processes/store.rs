//! The store under failing disks: a child process whose n-th fsync or n-th write of the
//! database files fails (the LD_PRELOAD shim `fault_shim.c`, compiled here with the system C
//! compiler) runs one domain operation and dies at once, as a crash right after the failure;
//! the parent reopens the file (which replays every whole commit the WAL holds) and holds the
//! call to what it answered.
//!
//! For each operation (replication start, job completion, chain append, attach with export,
//! retention apply) and each n until the fault is no longer reached: the reopened file
//! passes its integrity check and equals either the state before the operation or the state
//! after it (a reference run without faults, same clock), never a mix; OK means applied, IO
//! means not applied, COMMIT_UNKNOWN may be either; no other status.
//!
//! Child role: `child-commit-fault <db> <operation> <kind> <n> <ids...>` arms the shim for
//! the n-th call of `kind` (`sync` or `write`), runs the operation, prints
//! `outcome <OK|STATUS> fired <true|false>` and exits without closing the store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use crate::Scenario;
use sendense::backup::{BackupType, NewCopyRule, NewPolicy, NewRepository, RepositoryType, StartBackup};
use sendense::replication::{DiskSpec, JobStatus, NewContext, StartJob};
use sendense::rusqlite::types::Value;
use sendense::targets::{NewExport, NewMapping};
use sendense::{ManualClock, OpenOptions, Result, Store, Timestamp};
use serde_json::json;

pub const SCENARIOS: &[Scenario] =
    &[("failed_commits_are_not_applied_or_say_the_outcome_is_unknown", failed_commits_are_not_applied_or_unknown)];

/// Runs the child role `args[1]` when it is this area's; false when it is not.
pub fn child(args: &[String]) -> bool {
    if args[1] != "child-commit-fault" {
        return false;
    }
    let (db, op, kind, n, ids) = (Path::new(&args[2]), &args[3], &args[4], &args[5], &args[6..]);
    let op = OPERATIONS.iter().find(|o| o.name == op.as_str()).expect("a known operation");
    let store = open(db, AFTER);
    std::env::set_var("SENDENSE_FAULT", format!("{kind}:{n}"));
    let result = (op.run)(&store, ids);
    std::env::remove_var("SENDENSE_FAULT");
    let fired = std::env::var_os("SENDENSE_FAULT_FIRED").is_some();
    let outcome = result.map_or_else(|e| e.status().name().to_string(), |()| "OK".to_string());
    println!("outcome {outcome} fired {fired}");
    // As if the process died here: no close, so no checkpoint and the WAL stays as it is.
    std::mem::forget(store);
    std::process::exit(0);
}

/// When the seeds run (2026-01-01T00:00:00Z) and when the operations run, ten days later.
const BEFORE: i64 = 1_767_225_600_000;
const DAY: i64 = 86_400_000;
const AFTER: i64 = BEFORE + 10 * DAY;

/// A store whose clock stands at `now_ms`, so that two runs of an operation write the same
/// timestamps.
fn open(db: &Path, now_ms: i64) -> Store {
    Store::open(db, OpenOptions::default().clock(Arc::new(ManualClock::new(now_ms)))).expect("opening the store")
}

/// An operation under test: `seed` makes the state it starts from (with the clock at
/// [`BEFORE`], which it may move) and returns the ids `run` needs.
struct Operation {
    name: &'static str,
    seed: fn(&Store, &ManualClock) -> Vec<String>,
    run: fn(&Store, &[String]) -> Result<()>,
}

const OPERATIONS: &[Operation] = &[
    Operation { name: "replication-start", seed: seed_context, run: run_replication_start },
    Operation { name: "job-completion", seed: seed_running_job, run: run_job_completion },
    Operation { name: "chain-append", seed: seed_running_incremental, run: run_chain_append },
    Operation { name: "attach-with-export", seed: seed_running_job, run: run_attach_with_export },
    Operation { name: "retention-apply", seed: seed_three_fulls, run: run_retention_apply },
];

fn two_disks() -> Vec<DiskSpec> {
    (0..2).map(|d| DiskSpec::new(format!("disk-{}", 2000 + d), format!("[ds] vm/disk{d}.vmdk"), 40)).collect()
}

fn seed_context(store: &Store, _: &ManualClock) -> Vec<String> {
    vec![store.context_create(&NewContext::new("faulted", "4210-fault", "/dc/vm/faulted", "vc", "dc")).unwrap()]
}

fn run_replication_start(store: &Store, ids: &[String]) -> Result<()> {
    let mut start = StartJob::new(ids[0].as_str(), two_disks());
    start.id = Some("job-faulted".into());
    store.replication_start(&start).map(drop)
}

/// A context with a replicating job over two disks, one disk's change id recorded; the ids
/// are the context, the job and the first disk row.
fn seed_running_job(store: &Store, clock: &ManualClock) -> Vec<String> {
    let ctx = seed_context(store, clock).remove(0);
    let mut start = StartJob::new(ctx.as_str(), two_disks());
    start.id = Some("job-running".into());
    let job = store.replication_start(&start).unwrap();
    store.replication_set_status(&job, JobStatus::Replicating, None).unwrap();
    store.cbt_record(&job, "disk-2000", "52 3c 1a 9e-8f 11 22 33/42", 40 << 30).unwrap();
    let disk = store.replication_disks(&ctx).unwrap()[0].id;
    vec![ctx, job, disk.to_string()]
}

fn run_job_completion(store: &Store, ids: &[String]) -> Result<()> {
    store.replication_set_status(&ids[1], JobStatus::Completed, None).map(drop)
}

fn run_attach_with_export(store: &Store, ids: &[String]) -> Result<()> {
    let mut mapping = NewMapping::oma("vol-faulted", "oma-vm", "/dev/vdb");
    mapping.vm_context_id = Some(ids[0].clone());
    mapping.size = 40 << 30;
    mapping.export = Some(NewExport {
        volume_uuid: None,
        vm_disk_id: ids[2].parse().unwrap(),
        port: 10809,
        job_id: Some(ids[1].clone()),
        config_path: None,
    });
    store.device_attach(&mapping).map(drop)
}

/// A context, a primary and an offsite repository, a policy keeping the last point with a
/// copy rule to the offsite one, and `fulls` completed full points of disk 0, a day apart;
/// returns the context, the primary repository and the policy.
fn seed_backups(store: &Store, clock: &ManualClock, fulls: usize, keep_last: Option<i64>) -> Vec<String> {
    let ctx = seed_context(store, clock).remove(0);
    let repo = |name: &str| {
        let config = json!({ "path": format!("/srv/{name}") });
        store.repository_create(&NewRepository::new(name, RepositoryType::Local, config)).unwrap()
    };
    let primary = repo("primary");
    let mut policy = NewPolicy { keep_last, retention_days: 0, ..NewPolicy::new("nightly", &primary) };
    policy.copy_rules = vec![NewCopyRule::new(repo("offsite"), 1)];
    let policy = store.policy_create(&policy).unwrap();
    for k in 0..fulls {
        clock.set(BEFORE + k as i64 * DAY);
        start_point(store, &ctx, &primary, &policy, BackupType::Full, &format!("full-{k}"), true);
    }
    vec![ctx, primary, policy]
}

fn start_point(store: &Store, ctx: &str, repo: &str, policy: &str, t: BackupType, id: &str, complete: bool) {
    let mut start = StartBackup::new(ctx, 0, repo, t, format!("/srv/primary/{id}.qcow2"));
    start.id = Some(id.to_string());
    start.policy_id = Some(policy.to_string());
    store.backup_start(&start).unwrap();
    store.backup_set_running(id).unwrap();
    if complete {
        store.backup_complete(id, Some("52 3c 1a 9e-8f 11 22 33/1"), 1 << 30, 1 << 30).unwrap();
    }
}

/// A completed full and a running incremental on it (its completion appends to the chain and
/// queues a copy).
fn seed_running_incremental(store: &Store, clock: &ManualClock) -> Vec<String> {
    let ids = seed_backups(store, clock, 1, None);
    start_point(store, &ids[0], &ids[1], &ids[2], BackupType::Incremental, "incremental-1", false);
    ids
}

fn run_chain_append(store: &Store, _: &[String]) -> Result<()> {
    store.backup_complete("incremental-1", Some("52 3c 1a 9e-8f 11 22 33/2"), 1 << 20, 1 << 20)
}

/// Three completed fulls under a policy keeping the last one: applying its plan removes two.
fn seed_three_fulls(store: &Store, clock: &ManualClock) -> Vec<String> {
    seed_backups(store, clock, 3, Some(1))
}

fn run_retention_apply(store: &Store, ids: &[String]) -> Result<()> {
    let plan = store.retention_plan(&ids[2], Timestamp(AFTER), "UTC")?;
    assert_eq!(plan.removed().count(), 2, "the plan removes the two older fulls");
    store.retention_apply(&plan).map(drop)
}

/// Every row of every table, rendered, with generated UUIDs (which differ between two runs of
/// one operation) blanked.
fn dump(db: &Path) -> BTreeMap<&'static str, Vec<String>> {
    let store = open(db, AFTER);
    let report = store.integrity_check().unwrap();
    assert!(report.ok, "{}: integrity check failed: {report:?}", db.display());
    let tables = sendense::store::TABLE_GROUPS.iter().flat_map(|(_, tables)| tables.iter().copied());
    tables
        .map(|table| {
            let mut rows = store
                .read(|tx| {
                    let mut stmt = tx.prepare(&format!("SELECT * FROM {table}"))?;
                    let columns = stmt.column_count();
                    let rows = stmt.query_map([], |r| {
                        (0..columns).map(|i| r.get::<_, Value>(i)).collect::<sendense::rusqlite::Result<Vec<_>>>()
                    })?;
                    Ok(rows
                        .map(|r| r.map(|values| blank_uuids(&format!("{values:?}"))))
                        .collect::<Result<Vec<_>, _>>()?)
                })
                .unwrap();
            rows.sort();
            (table, rows)
        })
        .collect()
}

/// `text` with every UUID-shaped substring replaced by `<uuid>`.
fn blank_uuids(text: &str) -> String {
    let is_uuid = |s: &[u8]| {
        s.len() == 36
            && s.iter()
                .enumerate()
                .all(|(i, b)| if [8, 13, 18, 23].contains(&i) { *b == b'-' } else { b.is_ascii_hexdigit() })
    };
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if i + 36 <= bytes.len() && is_uuid(&bytes[i..i + 36]) {
            out.push_str("<uuid>");
            i += 36;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Compile the shim into `dir`.
fn build_shim(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/processes/fault_shim.c");
    let shim = dir.join("fault_shim.so");
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o"])
        .arg(&shim)
        .arg(&source)
        .arg("-ldl")
        .output()
        .unwrap_or_else(|e| panic!("cannot run cc to build the fault shim (apt-get install gcc): {e}"));
    assert!(out.status.success(), "building the fault shim failed:\n{}", String::from_utf8_lossy(&out.stderr));
    shim
}

/// Copy the (closed, checkpointed) database `from` to a new file `to`.
fn copy_db(from: &Path, to: &Path) {
    assert!(!Path::new(&format!("{}-wal", from.display())).exists(), "{} was not closed", from.display());
    std::fs::copy(from, to).unwrap();
}

/// Run `op` in a child armed to fail the `n`-th call of `kind`: its outcome and whether the
/// fault was reached.
fn faulted_run(shim: &Path, db: &Path, op: &Operation, kind: &str, n: usize, ids: &[String]) -> (String, bool) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["child-commit-fault", db.to_str().unwrap(), op.name, kind, &n.to_string()])
        .args(ids)
        .env("LD_PRELOAD", shim)
        .env_remove("SENDENSE_FAULT")
        .env_remove("SENDENSE_FAULT_FIRED")
        .stderr(Stdio::inherit())
        .output()
        .expect("running a faulted child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{} {kind} {n}: the child failed ({}): {stdout}", op.name, out.status);
    let line = stdout.lines().find_map(|l| l.strip_prefix("outcome ")).expect("an outcome line");
    let (outcome, fired) = line.split_once(" fired ").expect("outcome <status> fired <bool>");
    (outcome.to_string(), fired == "true")
}

fn failed_commits_are_not_applied_or_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let shim = build_shim(dir.path());
    let mut wrong = Vec::new();
    let mut unknown_applied = 0;
    for op in OPERATIONS {
        let template = dir.path().join(format!("{}.db", op.name));
        let ids = {
            let clock = ManualClock::new(BEFORE);
            let store = Store::open(&template, OpenOptions::default().clock(Arc::new(clock.clone()))).unwrap();
            (op.seed)(&store, &clock)
        };
        let before = dump(&copy_of(&template, dir.path(), op.name, "before"));
        let reference = copy_of(&template, dir.path(), op.name, "after");
        (op.run)(&open(&reference, AFTER), &ids).unwrap_or_else(|e| panic!("{} without faults: {e}", op.name));
        let after = dump(&reference);
        assert_ne!(before, after, "{} changes the database", op.name);
        let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
        for kind in ["sync", "write"] {
            for n in 1.. {
                assert!(n <= 100, "{} {kind}: the fault is still reached after 100 calls", op.name);
                let run = dir.path().join(format!("{}-{kind}-{n}.db", op.name));
                copy_db(&template, &run);
                let (outcome, fired) = faulted_run(&shim, &run, op, kind, n, &ids);
                let state = dump(&run);
                let applied = if state == after {
                    true
                } else if state == before {
                    false
                } else {
                    panic!("{} with {kind} fault {n} ({outcome}): half applied: {state:#?}", op.name)
                };
                let what = format!(
                    "{} with {kind} fault {n}: {outcome}, {}",
                    op.name,
                    if applied { "applied" } else { "not applied" }
                );
                match outcome.as_str() {
                    "OK" if applied => {}
                    "IO" if !applied => {}
                    "COMMIT_UNKNOWN" => unknown_applied += usize::from(applied),
                    _ => wrong.push(what),
                }
                *outcomes
                    .entry(format!("{kind} {outcome} {}", if applied { "applied" } else { "not applied" }))
                    .or_default() += 1;
                if !fired {
                    assert_eq!(outcome, "OK", "{} {kind} {n}: failed without a fault", op.name);
                    break;
                }
            }
        }
        println!("  {}: {outcomes:?}", op.name);
    }
    assert!(wrong.is_empty(), "calls whose answer does not hold after reopening:\n{}", wrong.join("\n"));
    assert!(unknown_applied > 0, "no run failed the commit after its record was written: the faults miss the commit");
}

fn copy_of(template: &Path, dir: &Path, op: &str, which: &str) -> PathBuf {
    let path = dir.join(format!("{op}-{which}.db"));
    copy_db(template, &path);
    path
}
