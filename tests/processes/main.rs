//! Several OS processes on one database file, and processes killed with SIGKILL in the middle
//! of their writes: the multi-process and crash scenarios of every area, in one test binary.
//!
//! This binary has its own `main` (harness = false). Run with a child role as first argument
//! (`child-...`) it is one of the processes a scenario starts; the roles are listed in the
//! area modules: [`replication`] (writers, job starters, job completers), [`backup`] (copy
//! claimers, backup writers), [`targets::lease`] (lease holders and takers),
//! [`targets::volume_op`] (volume operators), [`targets::device`] (device mapping racers
//! and streams of mapping operations), [`targets::secret`] (sealers with a retired key) and
//! [`store`] (an operation under an injected disk fault) and [`failover`] (racing failover
//! and replication starters, streams of failover transitions). Otherwise it is the parent: it runs the scenarios one
//! after the other, prints `test <area>::<scenario> ... ok` or `... FAILED` for each and closes
//! with the line `N passed, N failed`, and exits 1 when one failed.
//!
//! Arguments, as for the other test binaries (`cargo test --test processes -- ARGS`):
//! - `FILTER`: run only the scenarios whose name contains it, e.g. `targets::` or
//!   `writer_killed`; with `--exact`, only the scenario of exactly that name, e.g.
//!   `cargo test --test processes -- --exact replication::writer_killed_twenty_times_loses_no_committed_operation`;
//! - `--skip FILTER`: leave out the scenarios whose name contains it;
//! - `--list`: list the scenarios (`<name>: test`) instead of running them;
//! - the other options of the standard test harness are accepted and ignored (there are no
//!   ignored scenarios: `--ignored` runs none).
//!
//! Scenarios print the seed of their random choices; `SENDENSE_CRASH_SEED=<n>` replays the
//! choices of those that say so.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sendense::{OpenOptions, Store};

#[path = "../common/mod.rs"]
mod common;

mod backup;
mod failover;
mod replication;
mod store;
mod targets;

/// The scenarios of each area, in the order they run; a scenario's name is
/// `<area>::<scenario>`.
const AREAS: &[(&str, &[Scenario])] = &[
    ("replication", replication::SCENARIOS),
    ("backup", backup::SCENARIOS),
    ("targets::lease", targets::lease::SCENARIOS),
    ("targets::volume_op", targets::volume_op::SCENARIOS),
    ("targets::device", targets::device::SCENARIOS),
    ("store", store::SCENARIOS),
    ("targets::secret", targets::secret::SCENARIOS),
    ("failover", failover::SCENARIOS),
];

/// A scenario: its name within its area, and the function that runs it (panics on failure).
type Scenario = (&'static str, fn());

/// Runs the child role named by `args[1]` with the arguments after it, when it is one of the
/// area's roles; false when it is not.
type ChildRoles = fn(&[String]) -> bool;

/// The child roles of each area.
const CHILD_ROLES: &[ChildRoles] = &[
    replication::child,
    backup::child,
    targets::lease::child,
    targets::volume_op::child,
    targets::device::child,
    store::child,
    targets::secret::child,
    failover::child,
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(role) = args.get(1).filter(|a| a.starts_with("child-")) {
        if !CHILD_ROLES.iter().any(|child| child(&args)) {
            panic!("unknown child role {role:?}");
        }
        return;
    }
    let selection = Selection::parse(&args[1..]);
    let scenarios: Vec<(String, fn())> = AREAS
        .iter()
        .flat_map(|(area, scenarios)| scenarios.iter().map(move |(name, run)| (format!("{area}::{name}"), *run)))
        .filter(|(name, _)| selection.selects(name))
        .collect();
    if selection.list {
        for (name, _) in &scenarios {
            println!("{name}: test");
        }
        println!("\n{} tests, 0 benchmarks", scenarios.len());
        return;
    }
    run_scenarios(&scenarios);
}

/// Which scenarios the command line asks for.
#[derive(Default)]
struct Selection {
    filters: Vec<String>,
    skip: Vec<String>,
    exact: bool,
    list: bool,
    ignored_only: bool,
}

impl Selection {
    fn parse(args: &[String]) -> Selection {
        let mut selection = Selection::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--list" => selection.list = true,
                "--exact" => selection.exact = true,
                "--ignored" => selection.ignored_only = true,
                "--skip" => selection.skip.extend(args.next().cloned()),
                // Options of the standard harness that take a value as the next argument.
                "--test-threads" | "--format" | "--color" | "--logfile" | "--shuffle-seed" | "-Z" => {
                    args.next();
                }
                other if other.starts_with('-') => {}
                filter => selection.filters.push(filter.to_string()),
            }
        }
        selection
    }

    fn selects(&self, name: &str) -> bool {
        let matches = |filter: &String| if self.exact { name == filter } else { name.contains(filter.as_str()) };
        !self.ignored_only
            && (self.filters.is_empty() || self.filters.iter().any(matches))
            && !self.skip.iter().any(matches)
    }
}

/// Run the scenarios one after the other, print a line per scenario and the closing
/// "N passed, N failed" line, and exit 1 when one failed.
fn run_scenarios(scenarios: &[(String, fn())]) {
    let mut failed = 0;
    for (name, scenario) in scenarios {
        let started = std::time::Instant::now();
        match std::panic::catch_unwind(*scenario) {
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

/// Open the shared database file with a long busy timeout: these scenarios are about
/// correctness, not lock latency.
fn open(db: &Path) -> Store {
    Store::open(db, OpenOptions::default().busy_timeout(Duration::from_secs(60))).expect("opening the shared store")
}

/// Start this binary as a child process with `args` (the role first), its stdout piped.
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

/// Start this binary as child `args` (the role first), let it work for `millis`, then kill it
/// with SIGKILL: every line it printed before it died. Fails the scenario when the child was
/// not killed (it finished or died by itself), naming it as `who`.
fn kill_after(args: &[&str], millis: u64, who: &str) -> Vec<String> {
    let mut child = spawn_child(args);
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || BufReader::new(stdout).lines().map_while(|l| l.ok()).collect::<Vec<_>>());
    std::thread::sleep(Duration::from_millis(millis));
    child.kill().unwrap_or_else(|e| panic!("SIGKILL {who}: {e}"));
    assert!(!child.wait().unwrap().success(), "{who} must have been killed, not finished");
    reader.join().unwrap()
}

fn unix_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn unix_ns() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as i128
}

/// `SENDENSE_CRASH_SEED` when set (to replay a run), else a seed from the clock.
fn crash_seed() -> u64 {
    std::env::var("SENDENSE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1)
}
