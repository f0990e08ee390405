//! Volume operations driven by several processes at once, and a volume operator killed with
//! SIGKILL twenty times: the history rows are exactly the changes the processes saw accepted.
//!
//! Child roles:
//! - `child-operator <db> <name> <unix ms start> <run ms>` drives volume operations shared
//!   with the other operators: creates some, and moves random pending or executing ones
//!   (often the same ones as the others, so they race) to a random next status, printing
//!   `created <id>` and `moved <id> <to>` after each accepted change.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::common::{self, Rng};
use crate::{kill_after, open, reported_lines, spawn_child, unix_ms, unix_ns, Scenario};
use sendense::targets::{NewVolumeOp, VolumeOpFilter, VolumeOpStatus, VolumeOpType};
use sendense::{Status, Store};

pub const SCENARIOS: &[Scenario] = &[
    (
        "four_processes_moving_volume_operations_leave_one_history_row_per_change",
        four_processes_moving_volume_operations_leave_one_history_row_per_change,
    ),
    ("operator_killed_twenty_times_leaves_whole_histories", operator_killed_twenty_times_leaves_whole_histories),
];

/// Runs the child role `args[1]` when it is one of these; false when it is not.
pub fn child(args: &[String]) -> bool {
    match args[1].as_str() {
        "child-operator" => child_operator(
            Path::new(&args[2]),
            &args[3],
            args[4].parse().expect("unix ms"),
            args[5].parse().expect("run ms"),
        ),
        _ => return false,
    }
    true
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
        let lines = kill_after(
            &["child-operator", db.to_str().unwrap(), &format!("k{round}"), "0", "60000"],
            20 + rng.below(300),
            &format!("round {round}: the operator"),
        );
        for line in lines {
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
