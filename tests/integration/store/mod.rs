//! The store on real files: opening, refusing files it must not touch, migrations and
//! fixtures, integrity checks and online backups.

mod files;
mod key_files;
mod messages;
mod retry;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sendense::rusqlite::{params, Connection};
use sendense::{OpenOptions, Status, Store, Synchronous, APPLICATION_ID, SCHEMA_VERSION};

fn open(path: &Path) -> Store {
    Store::open(path, OpenOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn open_err(path: &Path, options: OpenOptions) -> sendense::Error {
    Store::open(path, options).expect_err("the open must fail")
}

fn add_group(store: &Store, id: &str) {
    store
        .write(|tx| {
            tx.execute("INSERT INTO vm_machine_groups (id, name, created_at, updated_at) VALUES (?1, ?1, 0, 0)", [id])?;
            Ok(())
        })
        .unwrap();
}

fn count_groups(store: &Store) -> i64 {
    store.read(|tx| Ok(tx.query_row("SELECT count(*) FROM vm_machine_groups", [], |r| r.get(0))?)).unwrap()
}

/// The schema objects of a database, for comparing two databases.
fn schema_of(path: &Path) -> Vec<(String, String, Option<String>)> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT type, name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

fn pragma_i64(path: &Path, pragma: &str) -> i64 {
    Connection::open(path).unwrap().query_row(&format!("PRAGMA {pragma}"), [], |r| r.get(0)).unwrap()
}

#[test]
fn a_new_file_gets_the_schema_wal_and_the_application_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let store = open(&path);
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.path(), Some(path.as_path()));
    let (mode, fk, sync): (String, i64, i64) = store
        .read(|tx| {
            Ok((
                tx.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
                tx.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?,
                tx.query_row("PRAGMA synchronous", [], |r| r.get(0))?,
            ))
        })
        .unwrap();
    assert_eq!((mode.as_str(), fk, sync), ("wal", 1, 2), "journal_mode, foreign_keys, synchronous=FULL");
    drop(store);
    assert_eq!(pragma_i64(&path, "application_id"), i64::from(APPLICATION_ID));
    assert_eq!(pragma_i64(&path, "user_version"), i64::from(SCHEMA_VERSION));
}

#[test]
fn synchronous_normal_and_busy_timeout_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    let options =
        OpenOptions::default().synchronous(Synchronous::Normal).busy_timeout(std::time::Duration::from_millis(1234));
    let store = Store::open(dir.path().join("n.db"), options).unwrap();
    let (sync, timeout): (i64, i64) = store
        .read(|tx| {
            Ok((
                tx.query_row("PRAGMA synchronous", [], |r| r.get(0))?,
                tx.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?,
            ))
        })
        .unwrap();
    assert_eq!((sync, timeout), (1, 1234));
}

#[test]
fn opening_twice_is_idempotent_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twice.db");
    let first = open(&path);
    add_group(&first, "g1");
    let schema = schema_of(&path);
    let second = open(&path);
    assert_eq!(count_groups(&second), 1);
    assert_eq!(schema_of(&path), schema, "a second open changed the schema");
    drop((first, second));
    let third = open(&path);
    assert_eq!(third.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(count_groups(&third), 1);
}

/// Run `refuse` on a file and check the error and that the file's bytes did not change.
fn assert_refused_untouched(path: &Path, status: Status, words: &[&str]) {
    let before = std::fs::read(path).unwrap();
    let err = open_err(path, OpenOptions::default());
    assert_eq!(err.status(), status, "{err}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "the message names the file: {message}");
    for w in words {
        assert!(message.contains(w), "the message mentions {w:?}: {message}");
    }
    assert_eq!(std::fs::read(path).unwrap(), before, "the refused file was modified");
    for sidecar in ["-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(sidecar);
        let p = PathBuf::from(p);
        assert!(!p.exists() || std::fs::metadata(&p).unwrap().len() == 0, "{} was written", p.display());
    }
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "this is not a database, and it is longer than one hundred bytes so that only the magic can tell it apart from one.\n").unwrap();
    assert_refused_untouched(&text, Status::NotADatabase, &["not a SQLite database"]);
    let short = dir.path().join("short.bin");
    std::fs::write(&short, b"SQLite").unwrap();
    assert_refused_untouched(&short, Status::NotADatabase, &["not a SQLite database"]);
}

#[test]
fn a_sqlite_database_of_another_application_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foreign.db");
    let conn = Connection::open(&foreign).unwrap();
    conn.execute_batch(
        "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers(name) VALUES ('a');",
    )
    .unwrap();
    drop(conn);
    assert_refused_untouched(&foreign, Status::NotADatabase, &["another application"]);

    let other_app = dir.path().join("other-app.db");
    let conn = Connection::open(&other_app).unwrap();
    conn.execute_batch("PRAGMA application_id = 42; PRAGMA journal_mode = WAL; CREATE TABLE t(x);").unwrap();
    drop(conn);
    assert_refused_untouched(&other_app, Status::NotADatabase, &["another application", "0x0000002a"]);
}

#[test]
fn a_database_from_a_newer_library_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.db");
    drop(open(&path));
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
    conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    drop(conn);
    assert_refused_untouched(
        &path,
        Status::SchemaTooNew,
        &["newer", &format!("schema version {}", SCHEMA_VERSION + 1)],
    );
}

#[test]
fn an_empty_file_is_initialised() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").unwrap();
    assert_eq!(open(&path).schema_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn bad_paths_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = open_err(dir.path(), OpenOptions::default());
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("is a directory"), "{err}");

    let err = open_err(Path::new(""), OpenOptions::default());
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("empty"), "{err}");

    let missing = dir.path().join("missing.db");
    let err = open_err(&missing, OpenOptions::default().create_if_missing(false));
    assert_eq!(err.status(), Status::NotFound, "{err}");
    assert!(!missing.exists(), "create_if_missing=false created the file");

    let err = open_err(&dir.path().join("no/such/dir/x.db"), OpenOptions::default());
    assert_eq!(err.status(), Status::Io, "{err}");

    // Root ignores permission bits, but nobody can create files in /proc.
    let err = open_err(Path::new("/proc/sendense-test.db"), OpenOptions::default());
    assert_eq!(err.status(), Status::Io, "{err}");
    assert!(err.message().contains("/proc/sendense-test.db"), "{err}");
}

/// Load a shipped fixture (SQL text of a database at that version, with sample rows).
fn load_fixture(name: &str, path: &Path) {
    let sql = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap();
    Connection::open(path).unwrap().execute_batch(&sql).unwrap();
}

#[test]
fn every_shipped_schema_version_upgrades_to_equal_a_fresh_database() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.db");
    drop(open(&fresh));
    let fixtures: Vec<_> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('v') && n.ends_with(".sql"))
        .collect();
    assert_eq!(fixtures.len() as u32, SCHEMA_VERSION, "one fixture per shipped schema version: {fixtures:?}");
    for fixture in fixtures {
        let path = dir.path().join(fixture.replace(".sql", ".db"));
        load_fixture(&fixture, &path);
        let rows_before = pragma_i64(&path, "page_count");
        let groups_before: i64 = Connection::open(&path)
            .unwrap()
            .query_row("SELECT count(*) FROM vm_machine_groups", [], |r| r.get(0))
            .unwrap();
        let store = open(&path);
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION, "{fixture}");
        assert!(store.integrity_check().unwrap().ok, "{fixture}");
        assert_eq!(count_groups(&store), groups_before, "{fixture}: rows survive the upgrade");
        assert!(rows_before > 0);
        drop(store);
        assert_eq!(schema_of(&path), schema_of(&fresh), "{fixture} upgraded differs from a fresh database");
    }
}

#[test]
fn integrity_check_reports_foreign_key_violations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fk.db");
    let store = open(&path);
    assert!(store.integrity_check().unwrap().ok);
    // Another tool writing with foreign keys off leaves an orphan behind.
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    conn.execute(
        "INSERT INTO vm_machine_groups (id, name, schedule_id, created_at, updated_at) VALUES ('g', 'g', 'no-such-schedule', 0, 0)",
        [],
    )
    .unwrap();
    let report = store.integrity_check().unwrap();
    assert!(!report.ok);
    assert_eq!(report.foreign_key_violations.len(), 1, "{report:?}");
    let v = &report.foreign_key_violations[0];
    assert_eq!((v.table.as_str(), v.parent.as_str()), ("vm_machine_groups", "replication_schedules"));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["foreign_key_violations"][0]["table"], "vm_machine_groups");
}

#[test]
fn a_damaged_file_is_reported_not_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.db");
    {
        let store = open(&path);
        for i in 0..200 {
            add_group(&store, &format!("group-{i:04}-{}", "x".repeat(100)));
        }
    }
    // Overwrite the middle of the file (table b-tree pages) with garbage.
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len();
    assert!(len > 16 * 4096, "the file is large enough to damage ({len} bytes)");
    for b in &mut bytes[len / 2..len / 2 + 8192] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    match Store::open(&path, OpenOptions::default()) {
        Ok(store) => {
            let outcome = store.integrity_check();
            match outcome {
                Ok(report) => assert!(!report.ok && !report.integrity_errors.is_empty(), "{report:?}"),
                Err(e) => assert_eq!(e.status(), Status::Corrupt, "{e}"),
            }
        }
        Err(e) => assert_eq!(e.status(), Status::Corrupt, "{e}"),
    }
    assert_eq!(std::fs::read(&path).unwrap().len(), len, "the damaged file was not rewritten");
}

#[test]
fn backup_while_other_connections_write_is_a_consistent_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.db");
    let store = Arc::new(open(&path));
    add_group(&store, "before");
    let stop = Arc::new(AtomicBool::new(false));
    // One writer on this handle, one on a second handle: both keep writing during the backups.
    // Both handles are opened before either writer starts, so no open competes with a writer.
    let handles = [Arc::clone(&store), Arc::new(open(&path))];
    let writers: Vec<_> = handles
        .into_iter()
        .enumerate()
        .map(|(w, own)| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    own.write(|tx| {
                        tx.execute(
                            "INSERT INTO vm_machine_groups (id, name, created_at, updated_at) VALUES (?1, ?1, 0, 0)",
                            params![format!("w{w}-{n}")],
                        )?;
                        tx.execute("UPDATE vm_machine_groups SET priority = priority + 1 WHERE id = 'before'", [])?;
                        Ok(())
                    })
                    .unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(100));
    for i in 0..3 {
        let copy = dir.path().join(format!("copy-{i}.db"));
        store.copy_database_to(&copy).unwrap();
        let copy_store = open(&copy);
        assert!(copy_store.integrity_check().unwrap().ok);
        // Consistency: the counter was bumped exactly once per inserted row.
        let (rows, bumps): (i64, i64) = copy_store
            .read(|tx| {
                Ok(tx.query_row(
                    "SELECT (SELECT count(*) FROM vm_machine_groups WHERE id <> 'before'), \
                     (SELECT priority FROM vm_machine_groups WHERE id = 'before')",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .unwrap();
        assert_eq!(rows, bumps, "copy {i} is not one consistent snapshot");
        assert!(rows > 0, "the writers wrote before copy {i}");
    }
    stop.store(true, Ordering::Relaxed);
    let written: i32 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(written > 0);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".partial-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
}

#[test]
fn backup_never_overwrites_and_names_bad_destinations() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("src.db"));
    let existing = dir.path().join("existing.db");
    std::fs::write(&existing, b"precious").unwrap();
    let err = store.copy_database_to(&existing).unwrap_err();
    assert_eq!(err.status(), Status::AlreadyExists, "{err}");
    assert!(err.message().contains("existing.db"), "{err}");
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");

    let err = store.copy_database_to(dir.path().join("missing-dir/copy.db")).unwrap_err();
    assert_eq!(err.status(), Status::NotFound, "{err}");

    let err = store.copy_database_to("/proc/sendense-backup.db").unwrap_err();
    assert_eq!(err.status(), Status::Io, "{err}");
}

#[test]
fn an_in_memory_store_can_be_backed_up_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_memory(OpenOptions::default()).unwrap();
    add_group(&store, "g");
    let copy = dir.path().join("mem-copy.db");
    store.copy_database_to(&copy).unwrap();
    let reopened = open(&copy);
    assert_eq!(count_groups(&reopened), 1);
    assert_eq!(reopened.schema_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn a_store_is_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir.path().join("threads.db")));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..50 {
                    add_group(&store, &format!("t{t}-{i}"));
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(count_groups(&store), 400);
}
