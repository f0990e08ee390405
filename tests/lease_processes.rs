//! Leases across OS processes on one database file, lease takers killed with SIGKILL, and
//! volume operations driven by several processes at once.
//!
//! This test binary has its own `main` (harness = false): run without arguments it is the
//! parent and runs the scenarios; run with a child role as first argument it is one of the
//! processes a scenario starts:
//! - `child-holder <db> <name> <unix ms start> <run ms>` waits until the start instant, then
//!   until the run time is over acquires one or two devices of `restore_nbd_device` under a
//!   fresh owner id, holds them a few milliseconds, and releases them, or, now and then,
//!   abandons them (never releases: a dead owner) so that they expire and others take them
//!   over. After each round it prints `held <resource> <owner> <from ns> <until ns>`: the
//!   time after the acquire returned, and the time before the release was called (or the
//!   lease's expiry, for an abandoned lease). A full pool is retried;
//! - `child-taker <db> <name>` acquires three `backup_nbd_port` leases under a fresh owner,
//!   printing `acquired <owner> <resource>` after each acquire returns, then releases them,
//!   printing `released <owner>` after the release returns, forever (until killed);
//! - `child-operator <db> <name> <unix ms start> <run ms>` drives volume operations shared
//!   with the other operators: creates some, and moves random pending or executing ones
//!   (often the same ones as the others, so they race) to a random next status, printing
//!   `created <id>` and `moved <id> <to>` after each accepted change.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod common;

use common::Rng;
use sendense::targets::{NewVolumeOp, VolumeOpFilter, VolumeOpStatus, VolumeOpType};
use sendense::{OpenOptions, Status, Store};

const DEVICES: &str = "restore_nbd_device";
const PORTS: &str = "backup_nbd_port";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("child-holder") => {
            return child_holder(
                Path::new(&args[2]),
                &args[3],
                args[4].parse().expect("unix ms"),
                args[5].parse().expect("run ms"),
            )
        }
        Some("child-taker") => return child_taker(Path::new(&args[2]), &args[3]),
        Some("child-operator") => {
            return child_operator(
                Path::new(&args[2]),
                &args[3],
                args[4].parse().expect("unix ms"),
                args[5].parse().expect("run ms"),
            )
        }
        _ => {}
    }
    let scenarios: [(&str, fn()); 4] = [
        ("six_processes_never_hold_one_device_at_once", six_processes_never_hold_one_device_at_once),
        ("taker_killed_twenty_times_leaves_only_whole_leases", taker_killed_twenty_times_leaves_only_whole_leases),
        (
            "four_processes_moving_volume_operations_leave_one_history_row_per_change",
            four_processes_moving_volume_operations_leave_one_history_row_per_change,
        ),
        ("operator_killed_twenty_times_leaves_whole_histories", operator_killed_twenty_times_leaves_whole_histories),
    ];
    common::run_scenarios(&scenarios);
}

fn unix_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn unix_ns() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as i128
}

fn open(db: &Path) -> Store {
    // A long busy timeout: these tests are about who holds what, not about lock latency.
    Store::open(db, OpenOptions::default().busy_timeout(Duration::from_secs(60))).expect("opening the shared store")
}

fn spawn_child(args: &[&str]) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawning a child process")
}

/// Every line a child printed (reads until its stdout closes).
fn reported_lines(child: &mut Child) -> Vec<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    BufReader::new(stdout).lines().map_while(|l| l.ok()).collect()
}

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
        let mut child = spawn_child(&["child-taker", db.to_str().unwrap(), &name]);
        let stdout = child.stdout.take().unwrap();
        let reader =
            std::thread::spawn(move || BufReader::new(stdout).lines().map_while(|l| l.ok()).collect::<Vec<_>>());
        std::thread::sleep(Duration::from_millis(20 + rng.below(300)));
        child.kill().expect("SIGKILL the taker");
        assert!(!child.wait().unwrap().success(), "round {round}: the taker must have been killed");
        let lines = reader.join().unwrap();

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

fn child_operator(db: &Path, name: &str, start_ms: i64, run_ms: u64) {
    let store = open(db);
    let mut rng = Rng::new(name.bytes().fold(unix_ns() as u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64)));
    while unix_ms() < start_ms {
        std::thread::sleep(Duration::from_millis(1));
    }
    let deadline = Instant::now() + Duration::from_millis(run_ms);
    let stdout = std::io::stdout();
    let mut created = 0;
    let mut refused = 0;
    while Instant::now() < deadline {
        if rng.chance(25) {
            created += 1;
            let mut new =
                NewVolumeOp::new(*rng.pick(VolumeOpType::ALL), format!("vol-{created}"), serde_json::json!({}));
            new.id = Some(format!("{name}-op-{created}"));
            let id = store.volume_op_create(&new).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut out = stdout.lock();
            writeln!(out, "created {id}").and_then(|()| out.flush()).expect("reporting");
            continue;
        }
        let open_ops: Vec<_> = [VolumeOpStatus::Pending, VolumeOpStatus::Executing]
            .into_iter()
            .flat_map(|status| {
                let filter = VolumeOpFilter { status: Some(status), limit: Some(20), ..Default::default() };
                store.volume_op_list(&filter).unwrap()
            })
            .collect();
        if open_ops.is_empty() {
            continue;
        }
        // What this process saw; another may move the operation first (then INVALID_STATE).
        let op = rng.pick(&open_ops);
        let nexts: Vec<VolumeOpStatus> =
            VolumeOpStatus::ALL.iter().copied().filter(|to| op.status.can_move_to(*to)).collect();
        let to = *rng.pick(&nexts);
        let error = (to == VolumeOpStatus::Failed).then_some("simulated failure");
        match store.volume_op_set_status(&op.id, to, None, error) {
            Ok(_) => {
                let mut out = stdout.lock();
                // Not the status this process saw: another may have moved the operation since
                // (pending -> executing), and the change from there was allowed too.
                writeln!(out, "moved {} {to}", op.id).and_then(|()| out.flush()).expect("reporting");
            }
            Err(e) if e.status() == Status::InvalidState => refused += 1,
            Err(e) => panic!("{name}: {e}"),
        }
    }
    println!("refused {refused}");
}

fn four_processes_moving_volume_operations_leave_one_history_row_per_change() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("operations.db");
    drop(open(&db));
    let at = (unix_ms() + 500).to_string();
    let mut children: Vec<Child> =
        (0..4).map(|p| spawn_child(&["child-operator", db.to_str().unwrap(), &format!("o{p}"), &at, "2000"])).collect();
    let lines: Vec<String> = children.iter_mut().flat_map(reported_lines).collect();
    for child in &mut children {
        assert!(child.wait().unwrap().success(), "an operator crashed");
    }
    // Every accepted change as (operation, new status).
    let mut reported: Vec<(String, String)> = Vec::new();
    let mut refused = 0;
    for line in &lines {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts[0] {
            "created" => reported.push((parts[1].to_string(), "pending".to_string())),
            "moved" => reported.push((parts[1].to_string(), parts[2].to_string())),
            "refused" => refused += parts[1].parse::<u64>().unwrap(),
            other => panic!("unexpected line {other:?}"),
        }
    }
    let store = open(&db);
    assert!(store.integrity_check().unwrap().ok);
    let filter = VolumeOpFilter { limit: Some(1_000_000), ..Default::default() };
    let ops = store.volume_op_list(&filter).unwrap();
    let in_history = check_histories(&store, &ops);
    reported.sort();
    let missing: Vec<_> = reported.iter().filter(|r| !in_history.contains(r)).collect();
    let extra: Vec<_> = in_history.iter().filter(|h| !reported.contains(h)).collect();
    assert!(missing.is_empty(), "accepted but not in the history: {missing:?}");
    assert!(extra.is_empty(), "in the history but never reported accepted: {extra:?}");
    assert_eq!(in_history, reported, "the history rows are exactly the changes the processes saw accepted");
    let moves = reported.iter().filter(|(_, to)| to != "pending").count();
    assert!(moves > 50, "too few changes to mean anything: {moves}");
    println!("  4 operators, {} operations, {moves} accepted changes, {refused} lost races", ops.len());
}

/// Every operation's history is a chain (NULL -> pending, each change starting where the
/// previous one ended and allowed by the machine, ending at the operation's status) and
/// completed_at is set exactly when that status is final. Returns every history row as
/// (operation, new status), sorted.
fn check_histories(store: &Store, ops: &[sendense::targets::VolumeOperation]) -> Vec<(String, String)> {
    let mut in_history: Vec<(String, String)> = Vec::new();
    for op in ops {
        let history = store.volume_op_history(&op.id).unwrap();
        // A chain: NULL -> pending, each change starting where the previous one ended, ending
        // at the operation's status; completed_at set exactly when that status is final.
        assert_eq!(history[0].previous_status, None, "{}", op.id);
        for pair in history.windows(2) {
            assert_eq!(pair[1].previous_status, Some(pair[0].new_status), "{}: {history:?}", op.id);
            assert!(pair[0].new_status.can_move_to(pair[1].new_status), "{}: {history:?}", op.id);
            assert!(pair[0].changed_at <= pair[1].changed_at, "{}: changes stamped out of order", op.id);
        }
        assert_eq!(history.last().unwrap().new_status, op.status, "{}", op.id);
        assert_eq!(op.completed_at.is_some(), op.status.is_terminal(), "{}", op.id);
        for h in history {
            in_history.push((h.operation_id, h.new_status.to_string()));
        }
    }
    in_history.sort();
    in_history
}

fn operator_killed_twenty_times_leaves_whole_histories() {
    let seed = common::time_seed();
    println!("  crash seed {seed}");
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("killed-operators.db");
    drop(open(&db));
    let mut reported = BTreeSet::new();
    for round in 0..20 {
        let mut child = spawn_child(&["child-operator", db.to_str().unwrap(), &format!("k{round}"), "0", "60000"]);
        let stdout = child.stdout.take().unwrap();
        let reader =
            std::thread::spawn(move || BufReader::new(stdout).lines().map_while(|l| l.ok()).collect::<Vec<_>>());
        std::thread::sleep(Duration::from_millis(20 + rng.below(300)));
        child.kill().expect("SIGKILL the operator");
        assert!(!child.wait().unwrap().success(), "round {round}: the operator must have been killed");
        for line in reader.join().unwrap() {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts[0] {
                "created" => reported.insert((parts[1].to_string(), "pending".to_string())),
                "moved" => reported.insert((parts[1].to_string(), parts[2].to_string())),
                other => panic!("round {round}: unexpected line {other:?}"),
            };
        }
        let store = open(&db);
        assert!(store.integrity_check().unwrap().ok, "round {round}");
        let ops = store.volume_op_list(&VolumeOpFilter { limit: Some(1_000_000), ..Default::default() }).unwrap();
        let in_history: BTreeSet<_> = check_histories(&store, &ops).into_iter().collect();
        let lost: Vec<_> = reported.difference(&in_history).collect();
        assert!(lost.is_empty(), "round {round}: reported changes missing from the history: {lost:?}");
        // At most the one change in flight when the kill came is in the history unreported.
        assert!(in_history.len() <= reported.len() + round + 1, "round {round}");
    }
    assert!(!reported.is_empty(), "the operators changed nothing in 20 rounds");
    println!("  20 kills, {} reported changes all in whole histories", reported.len());
}
