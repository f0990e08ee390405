//! Leases across processes on one database file: holders that never hold one device at once
//! (with abandoned leases expiring and taken over), and a lease taker killed with SIGKILL
//! twenty times.
//!
//! Child roles:
//! - `child-holder <db> <name> <unix ms start> <run ms>` waits until the start instant, then
//!   until the run time is over acquires one or two devices of `restore_nbd_device` under a
//!   fresh owner id, holds them a few milliseconds, and releases them, or, now and then,
//!   abandons them (never releases: a dead owner) so that they expire and others take them
//!   over. After each round it prints `held <resource> <owner> <from ns> <until ns>`: the
//!   time after the acquire returned, and the time before the release was called (or the
//!   lease's expiry, for an abandoned lease). A full pool is retried;
//! - `child-taker <db> <name>` acquires three `backup_nbd_port` leases under a fresh owner,
//!   printing `acquired <owner> <resource>` after each acquire returns, then releases them,
//!   printing `released <owner>` after the release returns, forever (until killed).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::common::{self, Rng};
use crate::{kill_after, open, reported_lines, spawn_child, unix_ms, unix_ns, Scenario};
use sendense::Status;

pub const SCENARIOS: &[Scenario] = &[
    ("six_processes_never_hold_one_device_at_once", six_processes_never_hold_one_device_at_once),
    ("taker_killed_twenty_times_leaves_only_whole_leases", taker_killed_twenty_times_leaves_only_whole_leases),
];

/// Runs the child role `args[1]` when it is one of these; false when it is not.
pub fn child(args: &[String]) -> bool {
    match args[1].as_str() {
        "child-holder" => child_holder(
            Path::new(&args[2]),
            &args[3],
            args[4].parse().expect("unix ms"),
            args[5].parse().expect("run ms"),
        ),
        "child-taker" => child_taker(Path::new(&args[2]), &args[3]),
        _ => return false,
    }
    true
}

const DEVICES: &str = "restore_nbd_device";
const PORTS: &str = "backup_nbd_port";

fn child_holder(db: &Path, name: &str, start_ms: i64, run_ms: u64) {
    let store = open(db);
    let mut rng = Rng::new(name.bytes().fold(unix_ns() as u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64)));
    while unix_ms() < start_ms {
        std::thread::sleep(Duration::from_millis(1));
    }
    let deadline = Instant::now() + Duration::from_millis(run_ms);
    let stdout = std::io::stdout();
    let mut round = 0;
    let mut full = 0;
    while Instant::now() < deadline {
        round += 1;
        let owner = format!("{name}-job-{round}");
        let wanted = 1 + rng.below(2);
        // Abandoned leases expire quickly; held ones outlive their hold by far.
        let abandon = rng.chance(8);
        let ttl = if abandon { 100 + rng.below(100) as i64 } else { 30_000 };
        let mut held = Vec::new();
        while held.len() < wanted as usize && Instant::now() < deadline {
            match store.lease_acquire(DEVICES, &owner, ttl) {
                Ok(lease) => held.push((lease, unix_ns())),
                Err(e) if e.status() == Status::Conflict => {
                    assert!(e.message().contains("all 8 of its resources"), "{e}");
                    full += 1;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("{owner}: {e}"),
            }
        }
        std::thread::sleep(Duration::from_micros(rng.below(3_000)));
        let until = if abandon {
            None
        } else {
            let t = unix_ns();
            assert_eq!(store.lease_release(DEVICES, &owner).unwrap_or_else(|e| panic!("{owner}: {e}")), held.len());
            Some(t)
        };
        let mut out = stdout.lock();
        for (lease, from) in &held {
            let until = until.unwrap_or(lease.expires_at.millis() as i128 * 1_000_000);
            // A short lease may expire before its holder learns of it (a slow commit): then the
            // holder never held it.
            if *from < until {
                let how = if abandon { "expired" } else { "released" };
                writeln!(out, "held {} {owner} {from} {until} {how}", lease.resource).expect("reporting");
            }
        }
        out.flush().expect("reporting");
    }
    println!("full {full}");
}

fn six_processes_never_hold_one_device_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leases.db");
    drop(open(&db));
    let at = (unix_ms() + 500).to_string();
    let mut children: Vec<Child> =
        (0..6).map(|p| spawn_child(&["child-holder", db.to_str().unwrap(), &format!("p{p}"), &at, "2500"])).collect();
    let lines: Vec<Vec<String>> = children.iter_mut().map(reported_lines).collect();
    for child in &mut children {
        assert!(child.wait().unwrap().success(), "a holder crashed");
    }
    // resource -> (from, until, owner, ended by expiry)
    let mut by_resource: BTreeMap<String, Vec<(i128, i128, String, bool)>> = BTreeMap::new();
    let mut full = 0;
    let mut abandoned = 0;
    for line in lines.iter().flatten() {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts[0] {
            "held" => {
                let (from, until): (i128, i128) = (parts[3].parse().unwrap(), parts[4].parse().unwrap());
                assert!(from <= until, "{line}");
                let expired = parts[5] == "expired";
                by_resource.entry(parts[1].to_string()).or_default().push((from, until, parts[2].to_string(), expired));
            }
            "full" => full += parts[1].parse::<u64>().unwrap(),
            other => panic!("unexpected line {other:?}"),
        }
    }
    let mut holds = 0;
    let mut taken_over = 0;
    for (resource, intervals) in &mut by_resource {
        intervals.sort();
        holds += intervals.len();
        for pair in intervals.windows(2) {
            let ((_, until, a, expired), (from, _, b, _)) = (&pair[0], &pair[1]);
            taken_over += usize::from(*expired);
            assert!(
                from >= until,
                "{resource} was held by {a} until {until} and by {b} from {from}: two owners at once"
            );
        }
    }
    // What is still live at the end is an abandoned lease that some holder reported.
    let store = open(&db);
    for lease in store.lease_list(DEVICES).unwrap() {
        let ours =
            by_resource[&lease.resource].iter().any(|(_, _, owner, expired)| *expired && *owner == lease.owner_id);
        assert!(ours, "a live lease no holder reported abandoning: {lease:?}");
        abandoned += 1;
    }
    assert!(store.integrity_check().unwrap().ok);
    let per_process: Vec<usize> = lines.iter().map(|l| l.iter().filter(|l| l.starts_with("held ")).count()).collect();
    assert!(per_process.iter().all(|&n| n > 0), "every holder held something: {per_process:?}");
    assert!(holds > 100, "too few holds to mean anything: {holds}");
    assert!(taken_over > 0, "no expired lease was taken over: the run did not exercise expiry");
    println!(
        "  6 holders, {holds} holds of {} devices {per_process:?}, no overlap; {taken_over} expired leases taken \
         over; {full} full-pool refusals; {abandoned} abandoned leases live at the end",
        by_resource.len()
    );
}

fn child_taker(db: &Path, name: &str) {
    let store = open(db);
    let stdout = std::io::stdout();
    for n in 0.. {
        let owner = format!("{name}-job-{n}");
        for _ in 0..3 {
            let lease = store.lease_acquire(PORTS, &owner, 2_000).unwrap_or_else(|e| panic!("{owner}: {e}"));
            let mut out = stdout.lock();
            writeln!(out, "acquired {owner} {}", lease.resource).and_then(|()| out.flush()).expect("reporting");
        }
        store.lease_release(PORTS, &owner).unwrap_or_else(|e| panic!("{owner}: {e}"));
        let mut out = stdout.lock();
        writeln!(out, "released {owner}").and_then(|()| out.flush()).expect("reporting");
    }
}

fn taker_killed_twenty_times_leaves_only_whole_leases() {
    let seed = common::time_seed();
    println!("  crash seed {seed}");
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("takers.db");
    drop(open(&db));
    let mut total_acquired = 0;
    for round in 0..20 {
        let name = format!("r{round}");
        let lines = kill_after(
            &["child-taker", db.to_str().unwrap(), &name],
            20 + rng.below(300),
            &format!("round {round}: the taker"),
        );

        // What the child reported, per owner.
        let mut acquired: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut released = BTreeSet::new();
        for line in &lines {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts[0] {
                "acquired" => {
                    acquired.entry(parts[1].to_string()).or_default().insert(parts[2].to_string());
                    total_acquired += 1;
                }
                "released" => {
                    released.insert(parts[1].to_string());
                }
                other => panic!("round {round}: unexpected line {other:?}"),
            }
        }
        let store = open(&db);
        let report = store.integrity_check().unwrap();
        assert!(report.ok, "round {round}: {report:?}");
        // Every lease row is whole: it names a resource of a pool, an owner and a lifetime.
        let rows: Vec<(String, String, String, i64, i64)> = store
            .read(|tx| {
                let mut stmt = tx.prepare(
                    "SELECT r.pool, r.resource, l.owner_id, l.acquired_at, l.expires_at FROM leases l \
                     LEFT JOIN lease_resources r ON r.id = l.resource_id ORDER BY r.ordinal",
                )?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .unwrap();
        let mut in_db: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (pool, resource, owner, acquired_at, expires_at) in rows {
            assert_eq!(pool, PORTS, "round {round}");
            assert_eq!(expires_at - acquired_at, 2_000, "round {round}: {owner} {resource}");
            in_db.entry(owner).or_default().insert(resource);
        }
        let this_round: Vec<&String> = in_db.keys().filter(|o| o.starts_with(&format!("{name}-"))).collect();
        assert!(this_round.len() <= 1, "round {round}: only the owner in flight may hold leases: {this_round:?}");
        for owner in &released {
            assert!(!in_db.contains_key(owner), "round {round}: {owner} was released but holds {:?}", in_db[owner]);
        }
        for (owner, reported) in &acquired {
            if released.contains(owner) {
                continue;
            }
            // In flight when killed: either its release committed (nothing left) or every
            // reported lease is there, plus at most one acquired but not yet reported.
            if let Some(held) = in_db.get(owner) {
                assert!(held.is_superset(reported), "round {round}: {owner} reported {reported:?}, holds {held:?}");
                assert!(held.len() <= reported.len() + 1, "round {round}: {owner} holds {held:?}");
            }
        }
    }
    assert!(total_acquired > 0, "the takers acquired nothing in 20 rounds");
    println!("  20 kills, {total_acquired} reported acquires, every lease whole");
}
