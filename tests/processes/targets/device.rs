//! Device mappings across OS processes: racing attachers and detachers, and a writer killed
//! with SIGKILL in the middle of attach / detach / mode-switch streams.
//!
//! Child roles:
//! - `child-racer <db> <name> <seed> <unix ms> <duration ms>` waits until that instant, then
//!   attaches (with an export) and detaches volumes picked at random from a small set, on
//!   device paths picked from an even smaller set, printing `attached <volume> <path>`,
//!   `detached <volume>` or `refused <STATUS>` after each call;
//! - `child-streamer <db> <seed>` runs a stream of whole operations on two contexts (attach
//!   with export, detach, switch to failover, switch back to oma with paths and exports),
//!   printing `begin <op>` before and `committed <op>` after each one.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::common::Rng;
use crate::{crash_seed, kill_after, open, spawn_child, unix_ms, Scenario};
use sendense::replication::{DiskSpec, NewContext, StartJob};
use sendense::targets::{ModeSwitch, NewExport, NewMapping, OperationMode};
use sendense::{Status, Store};

pub const SCENARIOS: &[Scenario] = &[
    (
        "five_processes_attaching_and_detaching_never_share_a_device_path",
        five_processes_attaching_and_detaching_never_share_a_device_path,
    ),
    ("streamer_killed_twenty_times_leaves_whole_operations", streamer_killed_twenty_times_leaves_whole_operations),
];

/// Runs the child role `args[1]` when it is one of these; false when it is not.
pub fn child(args: &[String]) -> bool {
    match args[1].as_str() {
        "child-racer" => {
            let n = |i: usize| args[i].parse::<u64>().expect("a number");
            child_racer(Path::new(&args[2]), &args[3], n(4), n(5) as i64, Duration::from_millis(n(6)));
        }
        "child-streamer" => child_streamer(Path::new(&args[2]), args[3].parse().expect("seed")),
        _ => return false,
    }
    true
}

/// Create the contexts of VMs `vm-0`, `vm-1`, ... with a job over two disks each.
fn setup(db: &Path, contexts: usize) {
    let store = open(db);
    for n in 0..contexts {
        let c = NewContext::new(format!("vm-{n}"), format!("42-{n}"), format!("/dc/vm/{n}"), "vc", "dc");
        let ctx = store.context_create(&c).unwrap();
        let disks = vec![DiskSpec::new("disk-2000", "[ds] a.vmdk", 10), DiskSpec::new("disk-2001", "[ds] b.vmdk", 20)];
        store.replication_start(&StartJob::new(&ctx, disks)).unwrap();
    }
}

/// The (context, job, disk row ids) of `vm-0`, `vm-1`, ..., in that order.
fn contexts(store: &Store) -> Vec<(String, String, [i64; 2])> {
    let pairs: Vec<(String, String)> = store
        .read(|tx| {
            let mut stmt =
                tx.prepare("SELECT context_id, current_job_id FROM vm_replication_contexts ORDER BY vm_name")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .unwrap();
    pairs
        .into_iter()
        .map(|(ctx, job)| {
            let rows = store.replication_disks(&ctx).unwrap();
            (ctx, job, [rows[0].id, rows[1].id])
        })
        .collect()
}

fn say(line: &str) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{line}").and_then(|()| out.flush()).expect("reporting to the parent");
}

// ---------------------------------------------------------------------------------------------
// Racing attachers and detachers.

const RACE_VOLUMES: u64 = 12;
const RACE_PATHS: u64 = 5;

fn child_racer(db: &Path, name: &str, seed: u64, at_ms: i64, duration: Duration) {
    let store = open(db);
    let (ctx, job, disks) = contexts(&store).remove(0);
    let mut rng = Rng::new(seed);
    while unix_ms() < at_ms {
        std::thread::sleep(Duration::from_millis(1));
    }
    let deadline = Instant::now() + duration;
    while Instant::now() < deadline {
        let volume = format!("race-{}", rng.below(RACE_VOLUMES));
        let result = if rng.chance(60) {
            let path = format!("/dev/vd{}", (b'b' + rng.below(RACE_PATHS) as u8) as char);
            let mut m = NewMapping::oma(&volume, "oma-vm", &path);
            m.vm_context_id = Some(ctx.clone());
            m.export = Some(NewExport {
                volume_uuid: None,
                vm_disk_id: disks[rng.below(2) as usize],
                port: 10809,
                job_id: Some(job.clone()),
                config_path: None,
            });
            store.device_attach(&m).map(|_| format!("attached {volume} {path}"))
        } else {
            store.device_detach(&volume).map(|_| format!("detached {volume}"))
        };
        match result {
            Ok(line) => say(&line),
            Err(e) if matches!(e.status(), Status::Conflict | Status::AlreadyExists | Status::NotFound) => {
                say(&format!("refused {}", e.status()))
            }
            Err(e) => panic!("racer {name}: unexpected error {e}"),
        }
    }
}

fn five_processes_attaching_and_detaching_never_share_a_device_path() {
    let seed = crash_seed();
    println!("  seed {seed} (set SENDENSE_CRASH_SEED to replay)");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("race.db");
    setup(&db, 1);
    let at = (unix_ms() + 300).to_string();
    let mut children: Vec<Child> = (0..5)
        .map(|n| {
            let s = (seed.wrapping_add(n)).to_string();
            spawn_child(&["child-racer", db.to_str().unwrap(), &format!("r{n}"), &s, &at, "2500"])
        })
        .collect();
    let readers: Vec<_> = children
        .iter_mut()
        .map(|c| {
            let stdout = c.stdout.take().unwrap();
            std::thread::spawn(move || BufReader::new(stdout).lines().map_while(|l| l.ok()).collect::<Vec<_>>())
        })
        .collect();
    // Meanwhile, look at the file from this process: never two oma mappings on one path, never
    // a mapping without its export, never an export without its mapping.
    let store = open(&db);
    let mut looks = 0;
    while children.iter_mut().any(|c| c.try_wait().unwrap().is_none()) {
        let c = store.storage_consistency().unwrap();
        assert!(c.ok, "seen while the racers run: {c:?}");
        looks += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    for child in &mut children {
        assert!(child.wait().unwrap().success(), "a racer failed");
    }
    let lines: Vec<String> = readers.into_iter().flat_map(|r| r.join().unwrap()).collect();
    let count = |prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
    let (attached, detached, conflicts) = (count("attached "), count("detached "), count("refused CONFLICT"));
    println!(
        "  {} calls: {attached} attached, {detached} detached, {conflicts} path conflicts, {} other refusals; \
         {looks} looks",
        lines.len(),
        lines.len() - attached - detached - conflicts
    );
    assert!(attached > 0 && detached > 0 && conflicts > 0, "the race happened: {attached} {detached} {conflicts}");
    let report = store.integrity_check().unwrap();
    assert!(report.ok, "{report:?}");
    let paths: Vec<String> =
        store.device_list(&contexts(&store)[0].0).unwrap().into_iter().filter_map(|m| m.device_path).collect();
    let mut unique = paths.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), paths.len(), "two oma mappings on one path: {paths:?}");
}

// ---------------------------------------------------------------------------------------------
// A streamer killed mid-stream.

const STREAM_CONTEXTS: usize = 2;
const STREAM_VOLUMES: usize = 3;

/// What a volume looks like: (context, mode, device path, has an export).
type VolumeState = (String, OperationMode, Option<String>, bool);
type State = BTreeMap<String, VolumeState>;

fn volume_name(c: usize, n: usize) -> String {
    format!("vol-{c}-{n}")
}

fn path_of(volume: &str) -> String {
    format!("/dev/disk/by-id/virtio-{volume}")
}

fn read_state(store: &Store) -> State {
    store
        .read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT m.volume_uuid, m.vm_context_id, m.operation_mode, m.device_path, \
                 EXISTS (SELECT 1 FROM nbd_exports e WHERE e.volume_id = m.volume_uuid) FROM device_mappings m",
            )?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))))?;
            Ok(rows.collect::<Result<State, _>>()?)
        })
        .unwrap()
}

/// The effect of one operation on the state (the parent's model of the streamer).
/// Operations name a context by its index in `ctxs`.
fn apply(state: &mut State, ctxs: &[String], op: &str) {
    let (verb, arg) = op.split_once(' ').expect("an operation has a verb and an argument");
    match verb {
        "attach" => {
            let ctx = ctxs[arg[4..5].parse::<usize>().unwrap()].clone();
            state.insert(arg.to_string(), (ctx, OperationMode::Oma, Some(path_of(arg)), true));
        }
        "detach" => {
            state.remove(arg);
        }
        "failover" | "oma" => {
            let ctx = &ctxs[arg.parse::<usize>().unwrap()];
            for (volume, v) in state.iter_mut().filter(|(_, v)| &v.0 == ctx) {
                *v = if verb == "oma" {
                    (ctx.clone(), OperationMode::Oma, Some(path_of(volume)), true)
                } else {
                    (ctx.clone(), OperationMode::Failover, None, false)
                };
            }
        }
        _ => panic!("unknown operation {op}"),
    }
}

fn child_streamer(db: &Path, seed: u64) {
    let store = open(db);
    let mut rng = Rng::new(seed);
    let ctxs = contexts(&store);
    let export = |c: usize, volume: &str, with_volume: bool| NewExport {
        volume_uuid: with_volume.then(|| volume.to_string()),
        vm_disk_id: ctxs[c].2[volume.as_bytes()[volume.len() - 1] as usize % 2],
        port: 10809,
        job_id: Some(ctxs[c].1.clone()),
        config_path: None,
    };
    loop {
        let state = read_state(&store);
        let c = rng.below(STREAM_CONTEXTS as u64) as usize;
        let ctx = ctxs[c].0.clone();
        let ours: Vec<(&String, &VolumeState)> = state.iter().filter(|(_, v)| v.0 == ctx).collect();
        let in_failover = ours.iter().any(|(_, v)| v.1 == OperationMode::Failover);
        let free: Vec<String> =
            (0..STREAM_VOLUMES).map(|n| volume_name(c, n)).filter(|v| !state.contains_key(v)).collect();
        let roll = rng.below(100);
        let op = if in_failover {
            if roll < 60 {
                format!("oma {c}")
            } else {
                format!("detach {}", rng.pick(&ours).0)
            }
        } else if !free.is_empty() && (ours.is_empty() || roll < 50) {
            format!("attach {}", rng.pick(&free))
        } else if roll < 75 {
            format!("detach {}", rng.pick(&ours).0)
        } else {
            format!("failover {c}")
        };
        say(&format!("begin {op}"));
        let (verb, arg) = op.split_once(' ').unwrap();
        let result = match verb {
            "attach" => {
                let mut m = NewMapping::oma(arg, "oma-vm", path_of(arg));
                m.vm_context_id = Some(ctx.clone());
                m.export = Some(export(c, arg, false));
                store.device_attach(&m).map(drop)
            }
            "detach" => store.device_detach(arg).map(drop),
            "failover" => store.device_set_mode(&ctx, OperationMode::Failover).map(drop),
            _ => {
                let mut sw = ModeSwitch::new(&ctx, OperationMode::Oma);
                for (volume, _) in &ours {
                    sw.device_paths.insert(volume.to_string(), path_of(volume));
                    sw.exports.push(export(c, volume, true));
                }
                store.device_switch_mode(&sw).map(drop)
            }
        };
        result.unwrap_or_else(|e| panic!("streamer: {op}: {e}"));
        say(&format!("committed {op}"));
    }
}

fn streamer_killed_twenty_times_leaves_whole_operations() {
    let seed = crash_seed();
    println!("  crash seed {seed} (set SENDENSE_CRASH_SEED to replay)");
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    setup(&db, STREAM_CONTEXTS);
    let ctxs: Vec<String> = contexts(&open(&db)).into_iter().map(|c| c.0).collect();
    let mut model = State::new();
    let (mut committed, mut in_flight_applied) = (0, 0);
    for round in 0..20 {
        let child_seed = rng.next().to_string();
        let lines = kill_after(
            &["child-streamer", db.to_str().unwrap(), &child_seed],
            20 + rng.below(300),
            &format!("round {round}: the streamer"),
        );
        let mut in_flight = None;
        for line in lines {
            if let Some(op) = line.strip_prefix("begin ") {
                in_flight = Some(op.to_string());
            } else if let Some(op) = line.strip_prefix("committed ") {
                assert_eq!(in_flight.as_deref(), Some(op), "round {round}: reports out of order");
                apply(&mut model, &ctxs, op);
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
            apply(&mut with, &ctxs, &op);
            assert_eq!(actual, with, "round {round}: {op} is neither absent nor wholly applied");
            model = with;
            in_flight_applied += 1;
        }
        // Every mapping of a context is in one mode.
        for ctx in &ctxs {
            let modes: std::collections::HashSet<_> = actual.values().filter(|v| &v.0 == ctx).map(|v| v.1).collect();
            assert!(modes.len() <= 1, "round {round}: {ctx} has mixed modes {modes:?}");
        }
    }
    println!("  {committed} operations reported committed, {in_flight_applied} more committed while unreported");
    assert!(committed > 20, "the streams did some work: {committed}");
}
