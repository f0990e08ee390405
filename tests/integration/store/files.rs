//! How the store names, creates and protects its files: every path is a plain file name (no
//! SQLite URI), the busy timeout's limit, the modes of the database, its WAL and SHM and of
//! copies, and symbolic links.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sendense::rusqlite::Connection;
use sendense::{OpenOptions, Status, Store};

/// A SQLite database of another application (rollback journal, no application id).
fn foreign_database(path: &Path) -> Vec<u8> {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers(name) VALUES ('a');",
    )
    .unwrap();
    drop(conn);
    std::fs::read(path).unwrap()
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

fn assert_untouched(path: &Path, before: &[u8]) {
    assert_eq!(std::fs::read(path).unwrap(), before, "{} was modified", path.display());
    for sidecar in ["-wal", "-shm", "-journal"] {
        assert!(!with_suffix(path, sidecar).exists(), "{sidecar} was created next to {}", path.display());
    }
}

#[test]
fn a_file_uri_is_not_interpreted_and_the_foreign_file_stays_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foreign.db");
    let before = foreign_database(&foreign);

    // "file:/abs/foreign.db" names a file in a directory "file:" of the working directory,
    // which does not exist: nothing is opened, created or changed.
    for query in ["", "?vfs=unix-excl", "?cache=shared", "?psow=0", "?mode=ro"] {
        let uri = format!("file:{}{query}", foreign.display());
        let err = Store::open(&uri, OpenOptions::default()).expect_err("a file: path is a plain (missing) name");
        assert_eq!(err.status(), Status::Io, "{err}");
        assert!(err.message().contains(&uri), "{err}");
        assert_untouched(&foreign, &before);
    }
    assert!(!Path::new("file:").exists(), "a directory file: was created");

    // A query string is part of the file name: a new file of that literal name is created.
    for query in ["?vfs=unix-excl", "?cache=shared", "?psow=0", "?mode=memory", "?immutable=1"] {
        let literal = with_suffix(&foreign, query);
        let store = Store::open(&literal, OpenOptions::default()).unwrap_or_else(|e| panic!("{query}: {e}"));
        assert_eq!(store.path(), Some(literal.as_path()));
        drop(store);
        assert!(literal.is_file(), "{} was not created", literal.display());
        assert_untouched(&foreign, &before);
        // It is a libsendense database of its own, and opens again.
        assert_eq!(
            Store::open(&literal, OpenOptions::default()).unwrap().schema_version().unwrap(),
            sendense::SCHEMA_VERSION
        );
    }

    // Characters a URI would decode stay as they are.
    let odd = dir.path().join("a%20b#c?d.db");
    drop(Store::open(&odd, OpenOptions::default()).unwrap());
    assert!(odd.is_file());
    assert!(!dir.path().join("a b").exists());
}

#[test]
fn a_busy_timeout_above_the_limit_is_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timeout.db");
    let limit = u64::try_from(i32::MAX).unwrap();
    for timeout in [Duration::from_millis(limit + 1), Duration::from_secs(u64::MAX), Duration::MAX] {
        let err = Store::open(&path, OpenOptions::default().busy_timeout(timeout)).unwrap_err();
        assert_eq!(err.status(), Status::InvalidArgument, "{err}");
        assert!(err.message().contains("busy timeout") && err.message().contains("2147483647"), "{err}");
        assert!(!path.exists(), "the refused open created the file");
        let err = Store::open_in_memory(OpenOptions::default().busy_timeout(timeout)).unwrap_err();
        assert_eq!(err.status(), Status::InvalidArgument, "{err}");
    }
    // The limit itself is accepted.
    let store = Store::open(&path, OpenOptions::default().busy_timeout(Duration::from_millis(limit))).unwrap();
    let ms: i64 = store.read(|tx| Ok(tx.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?)).unwrap();
    assert_eq!(ms, i64::from(i32::MAX));
}

/// Set the process umask to 022 (the usual default), whatever the environment set.
fn umask_022() {
    // SAFETY: umask only changes the process's file mode creation mask.
    unsafe {
        libc::umask(0o022);
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[test]
fn the_database_its_wal_and_shm_and_copies_are_private_to_the_owner() {
    umask_022();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("private.db");
    let store = Store::open(&path, OpenOptions::default()).unwrap();
    store
        .write(|tx| {
            Ok(tx.execute(
                "INSERT INTO vm_machine_groups (id, name, created_at, updated_at) VALUES ('g', 'g', 0, 0)",
                [],
            )?)
        })
        .unwrap();
    for p in [path.clone(), with_suffix(&path, "-wal"), with_suffix(&path, "-shm")] {
        assert_eq!(mode(&p), 0o600, "{} has mode {:o}", p.display(), mode(&p));
    }
    let copy = dir.path().join("copy.db");
    store.copy_database_to(&copy).unwrap();
    assert_eq!(mode(&copy), 0o600, "the copy has mode {:o}", mode(&copy));
    let memory = Store::open_in_memory(OpenOptions::default()).unwrap();
    let memory_copy = dir.path().join("memory-copy.db");
    memory.copy_database_to(&memory_copy).unwrap();
    assert_eq!(mode(&memory_copy), 0o600);

    // An existing file keeps the mode its owner gave it.
    drop(store);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    drop(Store::open(&path, OpenOptions::default()).unwrap());
    assert_eq!(mode(&path), 0o640);
}

#[test]
fn a_new_database_is_never_created_through_a_symbolic_link() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere.db");
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let err = Store::open(&link, OpenOptions::default()).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument, "{err}");
    assert!(err.message().contains("symbolic link") && err.message().contains("link.db"), "{err}");
    assert!(!target.exists(), "the dangling link's target was created");
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    let err = Store::open(&link, OpenOptions::default().create_if_missing(false)).unwrap_err();
    assert_eq!(err.status(), Status::NotFound, "{err}");

    // A copy is not written through a dangling link either.
    let store = Store::open_in_memory(OpenOptions::default()).unwrap();
    let err = store.copy_database_to(&link).unwrap_err();
    assert_eq!(err.status(), Status::AlreadyExists, "{err}");
    assert!(!target.exists());

    // A link to an existing store opens that store.
    drop(Store::open(&target, OpenOptions::default()).unwrap());
    let store = Store::open(&link, OpenOptions::default()).unwrap();
    assert_eq!(store.schema_version().unwrap(), sendense::SCHEMA_VERSION);
}
