//! Failovers across processes: two processes starting a failover on one context, a replication
//! start racing a failover start, and a streamer of failover transitions killed with SIGKILL
//! twenty times.
//!
//! Child roles:
//! - `child-fo-racer <db> <context> <what>` (what: `test`, `live` or `replication`) reads
//!   instants (unix ms) from stdin, one a line; at each it starts a failover of that kind (or a
//!   replication job) on the context and prints `started <id>` or `refused <STATUS> <message>`.
//!   The parent resets the context between rounds;
//! - `child-fo-streamer <db> <seed>` runs streams of whole failover transitions on two contexts
//!   of four volumes each (start, every step including switching_volume and reverting, failures,
//!   rollbacks), printing `begin <op>` before and `committed <op>` after each one.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::time::Instant;

use crate::common::Rng;
use crate::{crash_seed, kill_after, open, unix_ms, Scenario};
use sendense::failover::{FailoverFilter, FailoverStatus, FailoverType, StartFailover, StepResults};
use sendense::replication::{DiskSpec, JobStatus, NewContext, StartJob};
use sendense::targets::{NewExport, NewMapping, NewOsseaVolume, VolumeStatus};
use sendense::{Status, Store};

pub const SCENARIOS: &[Scenario] = &[
    ("two_processes_starting_a_failover_one_wins_every_round", two_processes_starting_a_failover_one_wins_every_round),
    (
        "replication_start_racing_a_failover_start_one_wins_every_round",
        replication_start_racing_a_failover_start_one_wins_every_round,
    ),
    (
        "streamer_killed_twenty_times_leaves_whole_failover_transitions",
        streamer_killed_twenty_times_leaves_whole_failover_transitions,
    ),
];

/// Runs the child role `args[1]` when it is one of these; false when it is not.
pub fn child(args: &[String]) -> bool {
    match args[1].as_str() {
        "child-fo-racer" => child_racer(Path::new(&args[2]), &args[3], &args[4]),
        "child-fo-streamer" => child_streamer(Path::new(&args[2]), args[3].parse().expect("seed")),
        _ => return false,
    }
    true
}

const VOLUMES: usize = 4;

fn disks() -> Vec<DiskSpec> {
    (0..VOLUMES).map(|d| DiskSpec::new(format!("disk-{}", 2000 + d), format!("[ds] d{d}.vmdk"), 10)).collect()
}

fn volume_name(c: usize, n: usize) -> String {
    format!("vol-{c}-{n}")
}

fn hub_path(volume: &str, generation: &str) -> String {
    format!("/dev/disk/by-id/virtio-{volume}-{generation}")
}

/// Create the contexts `vm-0`, `vm-1`, ..., each ready for failover (a completed replication
/// job over four disks, no networks), with four oma mappings, their exports and their
/// CloudStack volume rows; returns the context ids in that order.
fn setup(db: &Path, contexts: usize) -> Vec<String> {
    let store = open(db);
    (0..contexts)
        .map(|c| {
            let ctx = store
                .context_create(&NewContext::new(
                    format!("vm-{c}"),
                    format!("42-{c}"),
                    format!("/dc/vm/{c}"),
                    "vc",
                    "dc",
                ))
                .unwrap();
            let job = store.replication_start(&StartJob::new(&ctx, disks())).unwrap();
            store.replication_set_status(&job, JobStatus::Completed, None).unwrap();
            let rows = store.replication_disks(&ctx).unwrap();
            for (n, disk) in rows.iter().enumerate() {
                let volume = volume_name(c, n);
                let mut v = NewOsseaVolume::new(&volume, &format!("{volume}-name"), 10);
                v.vm_context_id = Some(ctx.clone());
                v.status = Some(VolumeStatus::Available);
                store.ossea_volume_create(&v).unwrap();
                let mut m = NewMapping::oma(&volume, "oma-vm", hub_path(&volume, "g0"));
                m.vm_context_id = Some(ctx.clone());
                m.size = 10 << 30;
                m.export = Some(NewExport::new(&volume, disk.id, 10809));
                store.device_attach(&m).unwrap();
            }
            ctx
        })
        .collect()
}

fn say(line: &str) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{line}").and_then(|()| out.flush()).expect("reporting to the parent");
}

// ---------------------------------------------------------------------------------------------
// Racing starts.

fn child_racer(db: &Path, ctx: &str, what: &str) {
    let store = open(db);
    for line in std::io::stdin().lock().lines() {
        let at: i64 = line.expect("an instant from the parent").parse().expect("unix ms");
        while unix_ms() < at {
            std::hint::spin_loop();
        }
        let result = match what {
            "replication" => store.replication_start(&StartJob::new(ctx, disks())),
            kind => store.failover_start(&StartFailover::new(ctx, FailoverType::parse(kind).unwrap())),
        };
        match result {
            Ok(id) => say(&format!("started {id}")),
            Err(e) => say(&format!("refused {} {}", e.status(), e.message())),
        }
    }
}

/// A racer process, its stdin (the instants) and its stdout (the outcomes).
struct Racer {
    child: Child,
    stdin: ChildStdin,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

fn spawn_racer(db: &Path, ctx: &str, what: &str) -> Racer {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["child-fo-racer", db.to_str().unwrap(), ctx, what])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawning a racer");
    let stdin = child.stdin.take().unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    Racer { child, stdin, lines }
}

const RACE_ROUNDS: usize = 30;

/// Run `RACE_ROUNDS` rounds of the racers `whats` on one fresh ready context: in each, every
/// racer starts at the same instant, exactly one wins and every other is CONFLICT; `reset`
/// ends the winner's work (given the winner's index and id) before the next round.
fn race(whats: &[&str], reset: impl Fn(&Store, &str, usize, &str)) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("race.db");
    let ctx = setup(&db, 1).remove(0);
    let store = open(&db);
    let mut racers: Vec<Racer> = whats.iter().map(|w| spawn_racer(&db, &ctx, w)).collect();
    let mut wins = vec![0; whats.len()];
    let started = Instant::now();
    for round in 0..RACE_ROUNDS {
        let at = unix_ms() + 40;
        for r in &mut racers {
            writeln!(r.stdin, "{at}").and_then(|()| r.stdin.flush()).expect("telling a racer when");
        }
        let outcomes: Vec<String> =
            racers.iter_mut().map(|r| r.lines.next().expect("a racer's outcome").unwrap()).collect();
        let winners: Vec<usize> = (0..outcomes.len()).filter(|&i| outcomes[i].starts_with("started ")).collect();
        assert_eq!(winners.len(), 1, "round {round}: exactly one start wins: {outcomes:?}");
        for (i, o) in outcomes.iter().enumerate().filter(|(i, _)| *i != winners[0]) {
            assert!(o.starts_with(&format!("refused {} ", Status::Conflict)), "round {round}: racer {i}: {o}");
        }
        let winner = winners[0];
        wins[winner] += 1;
        reset(&store, &ctx, winner, &outcomes[winner]["started ".len()..]);
        assert!(store.integrity_check().unwrap().ok, "round {round}");
    }
    for mut r in racers {
        drop(r.stdin);
        assert!(r.child.wait().unwrap().success(), "a racer failed");
    }
    println!("  {RACE_ROUNDS} rounds in {:.1} s, wins per racer {whats:?}: {wins:?}", started.elapsed().as_secs_f64());
}

fn two_processes_starting_a_failover_one_wins_every_round() {
    race(&["test", "live"], |store, ctx, _, id| {
        let failovers = store.failover_list(&FailoverFilter { context_id: Some(ctx.into()), ..Default::default() });
        let active: Vec<_> = failovers.unwrap().into_iter().filter(|f| f.status.is_active()).collect();
        assert_eq!(active.len(), 1, "one active failover: {active:?}");
        assert_eq!(active[0].job_id, id);
        store.failover_fail(id, "the round is over").unwrap();
    });
}

fn replication_start_racing_a_failover_start_one_wins_every_round() {
    race(&["replication", "test"], |store, ctx, winner, id| {
        let c = store.context_get(ctx).unwrap();
        if winner == 0 {
            assert_eq!(c.current_job_id.as_deref(), Some(id));
            store.replication_set_status(id, JobStatus::Completed, None).unwrap();
        } else {
            assert_eq!(c.current_job_id, None, "a failover won: no replication job may be active");
            store.failover_fail(id, "the round is over").unwrap();
        }
    });
}

// ---------------------------------------------------------------------------------------------
// A streamer of failover transitions killed mid-stream.

const STREAM_CONTEXTS: usize = 2;

/// A failover row as the scenario follows it.
#[derive(Debug, Clone, PartialEq)]
struct Failover {
    job_type: String,
    status: String,
    destination_vm_id: Option<String>,
    error_message: Option<String>,
}

/// A volume: its mapping (mode, device path, size, vm_id), whether it has an export, and its
/// CloudStack volume row (status, device path).
#[derive(Debug, Clone, PartialEq)]
struct Volume {
    mode: String,
    path: Option<String>,
    size: i64,
    vm_id: String,
    exported: bool,
    ossea_status: String,
    ossea_path: Option<String>,
}

/// A context: its status, its last_operation_summary (without the time), its failovers and
/// its volumes.
#[derive(Debug, Clone, PartialEq)]
struct Ctx {
    status: String,
    summary: Option<serde_json::Value>,
    failovers: BTreeMap<String, Failover>,
    volumes: BTreeMap<String, Volume>,
}

type State = BTreeMap<String, Ctx>;

fn read_state(store: &Store) -> State {
    store
        .read(|tx| {
            let mut state = State::new();
            let mut stmt =
                tx.prepare("SELECT context_id, current_status, last_operation_summary FROM vm_replication_contexts")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let summary = r.get::<_, Option<String>>(2)?.map(|s| {
                    let mut v: serde_json::Value = serde_json::from_str(&s).unwrap();
                    v.as_object_mut().unwrap().remove("at");
                    v
                });
                let ctx = Ctx { status: r.get(1)?, summary, failovers: BTreeMap::new(), volumes: BTreeMap::new() };
                state.insert(r.get(0)?, ctx);
            }
            let mut stmt = tx.prepare(
                "SELECT vm_context_id, job_id, job_type, status, destination_vm_id, error_message FROM failover_jobs",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let f = Failover {
                    job_type: r.get(2)?,
                    status: r.get(3)?,
                    destination_vm_id: r.get(4)?,
                    error_message: r.get(5)?,
                };
                state.get_mut(&r.get::<_, String>(0)?).unwrap().failovers.insert(r.get(1)?, f);
            }
            let mut stmt = tx.prepare(
                "SELECT m.vm_context_id, m.volume_uuid, m.operation_mode, m.device_path, m.size, m.vm_id, \
                 EXISTS (SELECT 1 FROM nbd_exports e WHERE e.volume_id = m.volume_uuid), v.status, v.device_path \
                 FROM device_mappings m LEFT JOIN ossea_volumes v ON v.volume_id = m.volume_uuid",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let v = Volume {
                    mode: r.get(2)?,
                    path: r.get(3)?,
                    size: r.get(4)?,
                    vm_id: r.get(5)?,
                    exported: r.get(6)?,
                    ossea_status: r.get(7)?,
                    ossea_path: r.get(8)?,
                };
                state.get_mut(&r.get::<_, String>(0)?).unwrap().volumes.insert(r.get(1)?, v);
            }
            Ok(state)
        })
        .unwrap()
}

fn summary(
    operation: &str,
    id: &str,
    f: &Failover,
    outcome: &str,
    step: &str,
    error: Option<&str>,
) -> serde_json::Value {
    serde_json::json!({
        "operation": operation, "failover_id": id, "job_type": f.job_type, "outcome": outcome, "step": step,
        "error": error,
    })
}

fn is_rollback(status: &str) -> bool {
    matches!(status, "cleanup" | "reverting")
}

/// The effect of one operation on the state (the parent's model of the library):
/// `start <ctx> <id> <type>`, `step <ctx> <id> <to> <generation>`, `fail <ctx> <id>`,
/// `rollback <ctx> <id>`.
fn apply(state: &mut State, op: &str) {
    let words: Vec<&str> = op.split(' ').collect();
    let (verb, ctx, id) = (words[0], state.get_mut(words[1]).unwrap(), words[2]);
    match verb {
        "start" => {
            let f = Failover {
                job_type: words[3].into(),
                status: "pending".into(),
                destination_vm_id: None,
                error_message: None,
            };
            ctx.summary = Some(summary("failover", id, &f, "in_progress", "pending", None));
            ctx.failovers.insert(id.into(), f);
        }
        "step" => {
            let (to, generation) = (words[3], words[4]);
            let f = ctx.failovers.get_mut(id).unwrap();
            let from = std::mem::replace(&mut f.status, to.into());
            let context_status = format!("failed_over_{}", f.job_type);
            match to {
                "creating_vm" => f.destination_vm_id = Some(format!("cs-{id}")),
                "switching_volume" => {
                    for v in ctx.volumes.values_mut() {
                        if v.mode == "oma" {
                            *v = Volume { mode: "failover".into(), path: None, size: 0, exported: false, ..v.clone() };
                            v.ossea_path = None;
                        }
                        v.vm_id = f.destination_vm_id.clone().unwrap();
                    }
                }
                "reverting" => {
                    for (name, v) in ctx.volumes.iter_mut().filter(|(_, v)| v.mode == "failover") {
                        let path = Some(hub_path(name, generation));
                        *v = Volume {
                            mode: "oma".into(),
                            path: path.clone(),
                            exported: true,
                            ossea_path: path,
                            ..v.clone()
                        };
                    }
                }
                "completed" if from == "powering_on" => ctx.status = context_status,
                "completed" if ctx.status == context_status => ctx.status = "ready_for_failover".into(),
                _ => {}
            }
            let operation = if is_rollback(&from) || is_rollback(to) { "rollback" } else { "failover" };
            let outcome = if to == "completed" { "completed" } else { "in_progress" };
            ctx.summary = Some(summary(operation, id, f, outcome, to, None));
        }
        "fail" => {
            let f = ctx.failovers.get_mut(id).unwrap();
            let from = std::mem::replace(&mut f.status, "failed".into());
            f.error_message = Some(FAILURE.into());
            let operation = if is_rollback(&from) { "rollback" } else { "failover" };
            ctx.summary = Some(summary(operation, id, f, "failed", &from, Some(FAILURE)));
        }
        "rollback" => {
            let f = ctx.failovers.get_mut(id).unwrap();
            f.status = "cleanup".into();
            ctx.summary = Some(summary("rollback", id, f, "in_progress", "cleanup", None));
        }
        _ => panic!("unknown operation {op}"),
    }
}

const FAILURE: &str = "injected failure";

/// The next operation on context `ctx` (see [`apply`]): start when nothing is active and the
/// context is ready (and the devices are back), step (or sometimes fail) an active failover,
/// roll back a completed failover in place or a failed one.
fn next_op(rng: &mut Rng, state: &State, ctx: &str, seed: u64, n: u64) -> String {
    let c = &state[ctx];
    // Ids are fo-<seed, 8 digits>-<n, 6 digits> and seeds grow with the rounds: the greatest
    // id is the newest failover.
    let newest = c.failovers.iter().next_back();
    let devices_home = c.volumes.values().all(|v| v.mode == "oma");
    let start = || format!("start {ctx} fo-{seed:08}-{n:06} {}", if n.is_multiple_of(3) { "live" } else { "test" });
    let Some((id, f)) = newest else { return start() };
    match f.status.as_str() {
        "completed" if c.status == "ready_for_failover" => start(),
        "completed" => format!("rollback {ctx} {id}"),
        "failed" if c.status == "ready_for_failover" && devices_home && rng.chance(50) => start(),
        "failed" => format!("rollback {ctx} {id}"),
        _ if rng.chance(15) => format!("fail {ctx} {id}"),
        active => {
            let next = FailoverStatus::parse(active).unwrap().next().unwrap();
            format!("step {ctx} {id} {next} g{n}")
        }
    }
}

fn child_streamer(db: &Path, seed: u64) {
    let store = open(db);
    let mut rng = Rng::new(seed);
    // A global sequence: ids sort by it, so the newest failover is the one with the highest.
    let mut n = 0u64;
    loop {
        n += 1;
        let state = read_state(&store);
        let ctxs: Vec<&String> = state.keys().collect();
        let ctx = ctxs[rng.below(ctxs.len() as u64) as usize].clone();
        let op = next_op(&mut rng, &state, &ctx, seed, n);
        say(&format!("begin {op}"));
        let words: Vec<&str> = op.split(' ').collect();
        let id = words[2];
        let result = match words[0] {
            "start" => {
                let mut s = StartFailover::new(&ctx, FailoverType::parse(words[3]).unwrap());
                s.id = Some(id.into());
                store.failover_start(&s).map(drop)
            }
            "step" => {
                let to = FailoverStatus::parse(words[3]).unwrap();
                let mut r = StepResults::default();
                if to == FailoverStatus::CreatingVm {
                    r.destination_vm_id = Some(format!("cs-{id}"));
                }
                if to == FailoverStatus::Reverting {
                    let disks = store.replication_disks(&ctx).unwrap();
                    for (i, (name, v)) in state[&ctx].volumes.iter().enumerate() {
                        if v.mode == "failover" {
                            r.device_paths.insert(name.clone(), hub_path(name, words[4]));
                            r.exports.push(NewExport::new(name, disks[i].id, 10809));
                        }
                    }
                }
                store.failover_set_status(id, to, Some(&r)).map(drop)
            }
            "fail" => store.failover_fail(id, FAILURE).map(drop),
            _ => store.failover_rollback(id).map(drop),
        };
        result.unwrap_or_else(|e| panic!("streamer: {op}: {e}"));
        say(&format!("committed {op}"));
    }
}

fn streamer_killed_twenty_times_leaves_whole_failover_transitions() {
    let seed = crash_seed();
    println!("  crash seed {seed} (set SENDENSE_CRASH_SEED to replay)");
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    setup(&db, STREAM_CONTEXTS);
    let mut model = read_state(&open(&db));
    let (mut committed, mut in_flight_applied) = (0, 0);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for round in 0..20 {
        // Child seeds grow with the round, so failover ids (fo-<seed>-<n>) sort by age.
        let child_seed = (round + 1) * 1_000_000 + rng.below(1_000_000);
        let lines = kill_after(
            &["child-fo-streamer", db.to_str().unwrap(), &format!("{child_seed:08}")],
            30 + rng.below(300),
            &format!("round {round}: the streamer"),
        );
        let mut in_flight = None;
        for line in lines {
            if let Some(op) = line.strip_prefix("begin ") {
                in_flight = Some(op.to_string());
            } else if let Some(op) = line.strip_prefix("committed ") {
                assert_eq!(in_flight.as_deref(), Some(op), "round {round}: reports out of order");
                apply(&mut model, op);
                let kind = op.split(' ').map(str::to_string).collect::<Vec<_>>();
                *seen.entry(if kind[0] == "step" { kind[3].clone() } else { kind[0].clone() }).or_default() += 1;
                in_flight = None;
                committed += 1;
            }
        }
        let store = open(&db);
        let report = store.integrity_check().unwrap();
        assert!(report.ok, "round {round}: {report:?}");
        let actual = read_state(&store);
        if actual != model {
            let op = in_flight.unwrap_or_else(|| panic!("round {round}: state differs with nothing in flight"));
            let mut with = model.clone();
            apply(&mut with, &op);
            assert_eq!(actual, with, "round {round}: {op} is neither absent nor wholly applied");
            model = with;
            in_flight_applied += 1;
        }
    }
    println!("  {committed} transitions reported committed, {in_flight_applied} more committed while unreported");
    println!("  committed by kind: {seen:?}");
    assert!(committed > 20, "the streams did some work: {committed}");
    for kind in ["switching_volume", "reverting", "rollback", "fail"] {
        assert!(seen.get(kind).copied().unwrap_or(0) > 0, "the streams never committed a {kind}: {seen:?}");
    }
}
