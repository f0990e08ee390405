//! Secret-key rotation across processes on one database file: writers in other processes that
//! still seal with a key a rotation retired are refused (SECRET_KEY naming both keys) instead
//! of writing, reopen with the next key and go on; in the end every secret opens with the last
//! key alone.
//!
//! Child role:
//! - `child-sealer <db> <name> <run ms>` opens the store with key 1 (32 bytes of 1) and, until
//!   the run time is over, creates CloudStack configurations `<name>-<n>`. Refused with
//!   SECRET_KEY, it checks that the message names its key and the next one or a later one,
//!   prints `refused <key byte>`, and reopens with the next key (32 bytes of the next value).
//!   It prints `created <count>` at the end.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::{reported_lines, spawn_child, Scenario};
use sendense::store::secret::SecretKey;
use sendense::targets::NewOsseaConfig;
use sendense::{OpenOptions, Status, Store};

pub const SCENARIOS: &[Scenario] =
    &[("sealers_with_a_retired_key_are_refused_and_every_secret_opens_with_the_last_key", sealers_refused)];

/// Runs the child role `args[1]` when it is one of these; false when it is not.
pub fn child(args: &[String]) -> bool {
    match args[1].as_str() {
        "child-sealer" => child_sealer(Path::new(&args[2]), &args[3], args[4].parse().expect("run ms")),
        _ => return false,
    }
    true
}

const ROTATIONS: u8 = 5;

fn key(byte: u8) -> SecretKey {
    SecretKey::from_bytes(&[byte; 32]).unwrap()
}

fn open_with(db: &Path, byte: u8) -> Store {
    Store::open(db, OpenOptions::default().busy_timeout(Duration::from_secs(60)).secret_key(key(byte)))
        .expect("opening the shared store")
}

fn config(name: &str) -> NewOsseaConfig {
    NewOsseaConfig::new(name, "https://cloud.example/client/api", "api-key", "secret", "zone-1")
}

fn child_sealer(db: &Path, name: &str, run_ms: u64) {
    let mut byte = 1;
    let mut store = open_with(db, byte);
    let deadline = Instant::now() + Duration::from_millis(run_ms);
    let mut created = 0;
    while Instant::now() < deadline {
        match store.ossea_config_create(&config(&format!("{name}-{created}"))) {
            Ok(_) => created += 1,
            Err(e) if e.status() == Status::SecretKey => {
                let later = (byte + 1..=ROTATIONS + 1).any(|b| e.message().contains(key(b).id()));
                assert!(e.message().contains(key(byte).id()) && later, "{e}");
                println!("refused {byte}");
                byte += 1;
                store = open_with(db, byte);
            }
            Err(e) => panic!("{name}: {e}"),
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    println!("created {created}");
}

fn sealers_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("secrets.db");
    let rotator = open_with(&db, 1);
    rotator.ossea_config_create(&config("first")).unwrap();
    let db_arg = db.to_str().unwrap();
    let run_ms = (u64::from(ROTATIONS) + 2) * 300;
    let mut children: Vec<_> =
        (0..3).map(|i| spawn_child(&["child-sealer", db_arg, &format!("p{i}"), &run_ms.to_string()])).collect();
    for byte in 2..=ROTATIONS + 1 {
        std::thread::sleep(Duration::from_millis(300));
        rotator.rotate_secret_key(key(byte)).unwrap();
    }
    let mut refusals = 0;
    for child in &mut children {
        let lines = reported_lines(child);
        assert!(child.wait().unwrap().success(), "a sealer failed: {lines:?}");
        refusals += lines.iter().filter(|l| l.starts_with("refused")).count();
        assert!(lines.last().is_some_and(|l| l.starts_with("created")), "{lines:?}");
    }
    assert!(refusals >= 3, "every sealer was refused at least once ({refusals} refusals)");
    drop(rotator);

    let last = open_with(&db, ROTATIONS + 1);
    let configs = last.ossea_config_list().unwrap();
    for c in &configs {
        assert_eq!(c.sealed_with_key.as_deref(), Some(key(ROTATIONS + 1).id()), "{}", c.name);
        assert_eq!(last.ossea_config_secrets(c.id).unwrap().api_key.as_str(), "api-key", "{}", c.name);
    }
    println!("{} configurations, {refusals} refusals", configs.len());
}
