//! Benchmarks: each hot path through the store API next to the same SQL done directly with
//! rusqlite on the same schema and pragmas (the floor), in the same run, as a ratio.
//! The machines are noisy: read the ratios, not the absolute times.
//!
//! `cargo bench` runs everything; `cargo bench -- NAME` runs the benchmarks whose name
//! contains NAME.

use std::path::Path;
use std::time::{Duration, Instant};

use sendense::rusqlite::{params, Connection, TransactionBehavior};
use sendense::{OpenOptions, Store, Synchronous};

/// Median time per operation of `ours` and of `floor`, over `rounds` rounds of `per_round`
/// operations each. Rounds alternate between the two, so drift (WAL growth, checkpoints, other
/// load on the machine) hits both alike.
fn compare(
    rounds: usize,
    per_round: usize,
    mut ours: impl FnMut(usize),
    mut floor: impl FnMut(usize),
) -> (Duration, Duration) {
    let time = |op: &mut dyn FnMut(usize), round: usize| {
        let start = Instant::now();
        for i in 0..per_round {
            op(round * per_round + i);
        }
        start.elapsed() / per_round as u32
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which goes first too: the second connection to write after the other one
        // tends to be faster.
        if round % 2 == 0 {
            a.push(time(&mut ours, round));
            b.push(time(&mut floor, round));
        } else {
            b.push(time(&mut floor, round));
            a.push(time(&mut ours, round));
        }
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    (median(a), median(b))
}

struct Row {
    name: String,
    ours: Duration,
    floor: Duration,
}

fn fmt_duration(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns >= 1_000_000.0 {
        format!("{:.2} ms", ns / 1_000_000.0)
    } else {
        format!("{:.1} µs", ns / 1_000.0)
    }
}

/// Open a connection the way the store does (same pragmas), without the store.
fn direct_open(path: &Path, sync: &str) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_millis(5_000)).unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    let _: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).unwrap();
    conn.pragma_update(None, "synchronous", sync).unwrap();
    let _: (i64, i64) = conn
        .query_row(
            "SELECT (SELECT application_id FROM pragma_application_id), (SELECT user_version FROM pragma_user_version)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    conn
}

fn bench_open(dir: &Path) -> Row {
    let path = dir.join("open.db");
    drop(Store::open(&path, OpenOptions::default()).unwrap());
    let (ours, floor) = compare(
        15,
        20,
        |_| drop(Store::open(&path, OpenOptions::default()).unwrap()),
        |_| drop(direct_open(&path, "FULL")),
    );
    Row { name: "open an existing store".into(), ours, floor }
}

const GROUPS: usize = 1_000;
const UPDATE_SQL: &str = "UPDATE vm_machine_groups SET priority = ?1, updated_at = ?2 WHERE id = ?3";

fn bench_update(dir: &Path, sync: Synchronous) -> Row {
    let (label, pragma) = match sync {
        Synchronous::Full => ("FULL", "FULL"),
        Synchronous::Normal => ("NORMAL", "NORMAL"),
    };
    // Each side gets its own file with the same content, so neither pays for the other's
    // writes (page-cache invalidation, checkpoints).
    let seeded = |name: &str| {
        let path = dir.join(format!("update-{label}-{name}.db"));
        let store = Store::open(&path, OpenOptions::default().synchronous(sync)).unwrap();
        store
            .write(|tx| {
                let mut stmt = tx.prepare(
                    "INSERT INTO vm_machine_groups (id, name, created_at, updated_at) VALUES (?1, ?1, 0, 0)",
                )?;
                for i in 0..GROUPS {
                    stmt.execute([format!("group-{i}")])?;
                }
                Ok(())
            })
            .unwrap();
        (path, store)
    };
    let (_, store) = seeded("store");
    let (direct_path, seeding_store) = seeded("direct");
    drop(seeding_store);
    let ids: Vec<String> = (0..GROUPS).map(|i| format!("group-{i}")).collect();
    let mut conn = direct_open(&direct_path, pragma);
    let (rounds, per_round) = match sync {
        Synchronous::Full => (9, 100),
        Synchronous::Normal => (15, 500),
    };
    let (ours, floor) = compare(
        rounds,
        per_round,
        |i| {
            store
                .write(|tx| {
                    tx.prepare_cached(UPDATE_SQL)?.execute(params![i as i64, i as i64, ids[i % GROUPS]])?;
                    Ok(())
                })
                .unwrap();
        },
        |i| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
            tx.prepare_cached(UPDATE_SQL).unwrap().execute(params![i as i64, i as i64, ids[i % GROUPS]]).unwrap();
            tx.commit().unwrap();
        },
    );
    Row { name: format!("single-row update, synchronous={label}"), ours, floor }
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let dir = tempfile::tempdir().unwrap();
    type Bench = Box<dyn Fn(&Path) -> Row>;
    let benches: Vec<(&str, Bench)> = vec![
        ("open", Box::new(bench_open)),
        ("update_full", Box::new(|d: &Path| bench_update(d, Synchronous::Full))),
        ("update_normal", Box::new(|d: &Path| bench_update(d, Synchronous::Normal))),
    ];
    println!("{:<44} {:>12} {:>12} {:>7}", "benchmark (median per operation)", "store API", "rusqlite", "ratio");
    for (key, bench) in benches {
        if filter.as_deref().is_some_and(|f| !key.contains(f)) {
            continue;
        }
        let row = bench(dir.path());
        let ratio = row.ours.as_secs_f64() / row.floor.as_secs_f64();
        println!("{:<44} {:>12} {:>12} {:>7.2}", row.name, fmt_duration(row.ours), fmt_duration(row.floor), ratio);
    }
}
