//! Benchmark: a year-long retention plan. Contexts × 2 disks × 365 daily points (a full every
//! 7 days, incrementals between) under one policy (keep_last 3, keep_daily 7, keep_weekly 4,
//! keep_monthly 12, keep_yearly 1), planned through the Rust API (`Store::retention_plan`)
//! and serialised to the JSON the C ABI hands out (`sendense_retention_plan_json`), in a fresh
//! child process per measurement so its peak resident memory (VmHWM) belongs to the plan
//! alone. Two sizes show how the cost grows with the number of points; the floor is the same
//! rows read with rusqlite and kept in plain Rust values (what any planner has to load).
//!
//! `cargo bench --bench retention` runs both sizes (1,000 and 2,000 contexts, 0.73 and 1.46
//! million points); `cargo bench --bench retention -- 300` runs one size given in contexts.
//! The databases are built once under `target/bench-data/` and reused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sendense::backup::{NewPolicy, NewRepository, RepositoryType};
use sendense::rusqlite::{params, Connection};
use sendense::{OpenOptions, Store, Timestamp};

const DAY_MS: i64 = 86_400_000;
/// 2026-01-01T02:00:00Z: the first point's completion.
const FIRST: i64 = 1_767_232_800_000;
const DAYS: i64 = 365;
const DISKS: i64 = 2;
const CHILD: &str = "SENDENSE_RETENTION_BENCH_CHILD";

fn data_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Build (once) a database with `contexts` contexts' year of points; returns its path.
fn database(contexts: i64) -> PathBuf {
    let path = data_dir().join(format!("retention-{contexts}.db"));
    let done = path.with_extension("done");
    if done.exists() {
        return path;
    }
    for stale in [&path, &path.with_extension("db-wal"), &path.with_extension("db-shm")] {
        let _ = std::fs::remove_file(stale);
    }
    let started = Instant::now();
    let store = Store::open(&path, OpenOptions::default()).unwrap();
    let repo = store
        .repository_create(&NewRepository {
            id: Some("repo".into()),
            ..NewRepository::new("main", RepositoryType::Local, serde_json::json!({"path": "/srv/main"}))
        })
        .unwrap();
    store
        .policy_create(&NewPolicy {
            id: Some("policy".into()),
            retention_days: 0,
            keep_last: Some(3),
            keep_daily: Some(7),
            keep_weekly: Some(4),
            keep_monthly: Some(12),
            keep_yearly: Some(1),
            ..NewPolicy::new("year", &repo)
        })
        .unwrap();
    drop(store);

    let mut conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "synchronous", "OFF").unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut context = tx
            .prepare(
                "INSERT INTO vm_replication_contexts (context_id, vm_name, vmware_vm_id, vm_path, vcenter_host, \
                 datacenter) VALUES (?1, ?1, ?1, ?1, 'vc', 'dc')",
            )
            .unwrap();
        let mut point = tx
            .prepare(
                "INSERT INTO backup_jobs (id, vm_context_id, vm_name, disk_id, repository_id, policy_id, backup_type, \
                 status, repository_path, parent_backup_id, created_at, started_at, completed_at, size_bytes, \
                 progress_percent) VALUES (?1, ?2, ?2, ?3, 'repo', 'policy', ?4, 'completed', ?1, ?5, ?6, ?6, ?7, \
                 1048576, 100)",
            )
            .unwrap();
        for c in 0..contexts {
            let ctx = format!("ctx-{c:05}");
            context.execute([&ctx]).unwrap();
            for disk in 0..DISKS {
                let mut parent: Option<String> = None;
                for d in 0..DAYS {
                    // Ids sort in time order, like the library's UUIDv7 ids.
                    let id = format!("{:012x}-{c:05}-{disk}", d);
                    let full = d % 7 == 0;
                    let at = FIRST + d * DAY_MS + c * 1000 + disk * 100;
                    let kind = if full { "full" } else { "incremental" };
                    let parent_id = if full { None } else { parent.as_deref() };
                    point.execute(params![id, ctx, disk, kind, parent_id, at - 600_000, at]).unwrap();
                    parent = Some(id);
                }
            }
        }
    }
    tx.commit().unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;").unwrap();
    drop(conn);
    std::fs::write(&done, b"").unwrap();
    eprintln!(
        "built {} ({} points) in {:.1} s",
        path.display(),
        contexts * DISKS * DAYS,
        started.elapsed().as_secs_f64()
    );
    path
}

/// The process's peak resident set (VmHWM), in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kib / 1024.0
}

/// Child: measure one thing on `path` and print `key=value` pairs.
fn child(what: &str, path: &Path) {
    let now = Timestamp(FIRST + DAYS * DAY_MS);
    match what {
        "plan" => {
            let store = Store::open(path, OpenOptions::default()).unwrap();
            let base = peak_mib();
            let started = Instant::now();
            let plan = store.retention_plan("policy", now, "Europe/Berlin").unwrap();
            let plan_s = started.elapsed().as_secs_f64();
            let plan_peak = peak_mib();
            let started = Instant::now();
            let json = serde_json::to_string(&plan).unwrap();
            let json_s = started.elapsed().as_secs_f64();
            println!(
                "points={} kept={} plan_s={plan_s} plan_peak={plan_peak} base={base} json_s={json_s} json_peak={} \
                 json_mib={}",
                plan.len(),
                plan.kept_count(),
                peak_mib(),
                json.len() as f64 / 1048576.0
            );
        }
        "floor" => {
            let conn = Connection::open(path).unwrap();
            let base = peak_mib();
            let started = Instant::now();
            let mut stmt = conn
                .prepare(
                    "SELECT id, vm_context_id, disk_id, repository_id, parent_backup_id, completed_at, protected, \
                     immutable_until FROM backup_jobs WHERE policy_id = ?1 AND status = 'completed'",
                )
                .unwrap();
            type Point = (String, String, i64, String, Option<String>, i64, bool, Option<i64>);
            let rows: Vec<Point> = stmt
                .query_map(["policy"], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let floor_s = started.elapsed().as_secs_f64();
            println!("points={} floor_s={floor_s} floor_peak={} base={base}", rows.len(), peak_mib());
        }
        other => panic!("unknown child measurement {other}"),
    }
}

/// Run `what` in a fresh process and parse its `key=value` output.
fn measure(what: &str, path: &Path) -> std::collections::HashMap<String, f64> {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe).env(CHILD, format!("{what}:{}", path.display())).output().unwrap();
    assert!(out.status.success(), "child {what} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.parse().unwrap()))
        .collect()
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD) {
        let (what, path) = spec.split_once(':').unwrap();
        child(what, Path::new(path));
        return;
    }
    let sizes: Vec<i64> = match std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        Some(n) => vec![n.parse().expect("a number of contexts")],
        None => vec![1000, 2000],
    };
    println!(
        "{:<34} {:>10} {:>11} {:>10} {:>9} {:>10} {:>9} {:>10} {:>10}",
        "retention plan (one run each)",
        "points",
        "plan",
        "per 1M pts",
        "peak RSS",
        "+JSON",
        "JSON",
        "peak RSS",
        "read floor"
    );
    for contexts in sizes {
        let path = database(contexts);
        let plan = measure("plan", &path);
        let floor = measure("floor", &path);
        let points = plan["points"];
        println!(
            "{:<34} {:>10} {:>9.2} s {:>8.2} s {:>5.0} MiB {:>8.2} s {:>5.0} MiB {:>6.0} MiB {:>8.2} s",
            format!("{contexts} contexts x {DISKS} disks x {DAYS} days"),
            points,
            plan["plan_s"],
            plan["plan_s"] / points * 1e6,
            plan["plan_peak"],
            plan["json_s"],
            plan["json_mib"],
            plan["json_peak"],
            floor["floor_s"],
        );
        eprintln!(
            "  kept {} points; before planning the process held {:.0} MiB; the read floor peaked at {:.0} MiB",
            plan["kept"], plan["base"], floor["floor_peak"]
        );
    }
}
