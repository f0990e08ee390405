//! The store: opening a database file (pragmas, ownership checks, migrations), the
//! transaction seam every domain operation runs through, integrity checks and online backups.
//!
//! One [`Store`] is one connection behind a mutex. It is `Send + Sync`: share it between
//! threads with an `Arc`. Several processes may open the same file at once; every write runs
//! in a `BEGIN IMMEDIATE` transaction, so a second writer waits (up to the busy timeout)
//! instead of failing halfway.

mod files;
mod migrations;
pub mod query;
pub mod secret;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use serde::Serialize;

use crate::clock::{Clock, SystemClock};
use crate::error::{echo, Error, Result, Status};
use migrations::Header;
pub use migrations::{APPLICATION_ID, SCHEMA_VERSION};
pub use query::{sql, Column, JsonColumn, Param, Params, Record, Row, Tx};
/// The rusqlite version this library is built on, for callers of [`Store::read`] and
/// [`Store::write`]: raw access to a local database file (the domain code never uses it; a
/// replicated backend would not offer it).
pub use rusqlite;
use secret::Keyring;
pub use secret::SecretKey;

/// How hard SQLite works to make a commit durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// `synchronous=FULL`: every commit is on stable storage before it returns. The default:
    /// backup metadata must survive power loss.
    #[default]
    Full,
    /// `synchronous=NORMAL`: commits survive a crash of the process; the last commits may be
    /// lost on power loss. Faster.
    Normal,
}

/// How to open a store. `OpenOptions::default()` is what most callers want.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Durability of commits. Default [`Synchronous::Full`].
    pub synchronous: Synchronous,
    /// How long a write waits for another connection's lock before failing with
    /// [`Status::Busy`]. Default 5 s. At most [`OpenOptions::MAX_BUSY_TIMEOUT`]; a longer one
    /// makes [`Store::open`] fail with [`Status::InvalidArgument`].
    pub busy_timeout: Duration,
    /// Create the file when it does not exist. Default `true`; with `false` a missing file is
    /// [`Status::NotFound`].
    pub create_if_missing: bool,
    /// Where "now" comes from. Default the system clock.
    pub clock: Arc<dyn Clock>,
    /// The key that seals and opens the secret columns ([`crate::store::secret`]). Default none:
    /// the store works, but creating or reading a secret is [`Status::SecretKey`].
    pub secret_key: Option<SecretKey>,
    /// Older keys, only to open secrets sealed before a rotation finished.
    pub previous_secret_keys: Vec<SecretKey>,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_millis(5_000),
            create_if_missing: true,
            clock: Arc::new(SystemClock),
            secret_key: None,
            previous_secret_keys: Vec::new(),
        }
    }
}

impl OpenOptions {
    /// The longest busy timeout SQLite can wait: `i32::MAX` milliseconds (about 24.8 days).
    pub const MAX_BUSY_TIMEOUT: Duration = Duration::from_millis(i32::MAX as u64);

    /// Set [`OpenOptions::synchronous`].
    pub fn synchronous(mut self, synchronous: Synchronous) -> OpenOptions {
        self.synchronous = synchronous;
        self
    }

    /// Set [`OpenOptions::busy_timeout`]. It is checked when the store is opened: above
    /// [`OpenOptions::MAX_BUSY_TIMEOUT`], [`Store::open`] fails with
    /// [`Status::InvalidArgument`].
    pub fn busy_timeout(mut self, timeout: Duration) -> OpenOptions {
        self.busy_timeout = timeout;
        self
    }

    /// Set [`OpenOptions::create_if_missing`].
    pub fn create_if_missing(mut self, create: bool) -> OpenOptions {
        self.create_if_missing = create;
        self
    }

    /// The options that cannot be checked when they are set: the busy timeout's limit.
    fn check(&self) -> Result<()> {
        if self.busy_timeout > OpenOptions::MAX_BUSY_TIMEOUT {
            return Err(Error::invalid_argument(format!(
                "the busy timeout is {} ms; at most {} ms (i32::MAX, about 24.8 days) is supported",
                self.busy_timeout.as_millis(),
                OpenOptions::MAX_BUSY_TIMEOUT.as_millis()
            )));
        }
        Ok(())
    }

    /// Set [`OpenOptions::clock`].
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> OpenOptions {
        self.clock = clock;
        self
    }

    /// Set [`OpenOptions::secret_key`].
    pub fn secret_key(mut self, key: SecretKey) -> OpenOptions {
        self.secret_key = Some(key);
        self
    }

    /// Add a key to [`OpenOptions::previous_secret_keys`].
    pub fn previous_secret_key(mut self, key: SecretKey) -> OpenOptions {
        self.previous_secret_keys.push(key);
        self
    }
}

/// An open libsendense database.
///
/// **Threads.** A `Store` is `Send + Sync` and may be shared between threads (in an `Arc`),
/// but it is one SQLite connection behind a mutex: the calls made on one `Store` run one at a
/// time, and a long call makes the others wait. For calls that run in parallel, open one
/// `Store` per thread or per process on the same file; every write is its own `BEGIN
/// IMMEDIATE` transaction, and a writer waits for another's lock up to the busy timeout.
///
/// **fork().** A `Store` must not cross a `fork()`: SQLite does not allow a connection to be
/// carried into a child process. The child must neither use nor drop (close) a `Store` it
/// inherited — its connection, locks and mutex state belong to the parent, and closing it in
/// the child could release the parent's locks or touch the parent's WAL — so it leaves it
/// alone (e.g. `std::mem::forget` when it owns it) and opens its own `Store`. The parent keeps
/// using its `Store` as before. A child that calls `exec` right away needs nothing special.
///
/// **Files.** The path is always a plain file name (never a SQLite URI: `file:` names and
/// query strings are names like any other). A new database file is created by the library
/// with mode 0600, so its `-wal` and `-shm` files get that mode too, and never through a
/// symbolic link (a link to a missing file is refused); a link to an existing database opens
/// that database.
pub struct Store {
    conn: Mutex<Connection>,
    path: Option<PathBuf>,
    options: OpenOptions,
    keys: parking_lot::RwLock<Keyring>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).field("options", &self.options).finish()
    }
}

/// Every table of the schema, grouped by area (the order of docs/SCHEMA.md).
pub const TABLE_GROUPS: &[(&str, &[&str])] = &[
    ("replication", &["vm_replication_contexts", "replication_jobs", "vm_disks", "cbt_history"]),
    ("failover", &["failover_jobs", "network_mappings"]),
    ("storage", &["ossea_configs", "ossea_volumes", "device_mappings", "nbd_exports", "linstor_configs"]),
    ("leases", &["lease_pools", "lease_resources", "leases"]),
    ("scheduling", &["replication_schedules", "schedule_executions", "vm_machine_groups", "vm_group_memberships"]),
    ("job log", &["job_tracking", "job_steps", "job_execution_log", "log_events"]),
    (
        "credentials and enrollment",
        &[
            "vmware_credentials",
            "vma_enrollments",
            "vma_pairing_codes",
            "vma_active_connections",
            "vma_connection_audit",
            "store_secret_key",
        ],
    ),
    ("volume daemon", &["volume_operations", "volume_operation_history", "volume_mounts", "volume_daemon_metrics"]),
    (
        "backup",
        &[
            "backup_repositories",
            "backup_policies",
            "backup_copy_rules",
            "backup_jobs",
            "backup_copies",
            "backup_chains",
            "store_clock",
        ],
    ),
];

/// The row count of one table, from [`Store::table_counts`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableCount {
    /// The area the table belongs to (see [`TABLE_GROUPS`]).
    pub group: &'static str,
    /// The table.
    pub table: &'static str,
    /// Its number of rows.
    pub rows: i64,
}

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

impl Store {
    /// Open (and, when needed, create or upgrade) the database file at `path`.
    ///
    /// Refuses, leaving the file byte-for-byte untouched: a file that is not a SQLite database
    /// ([`Status::NotADatabase`]), a SQLite database of another application (also
    /// `NotADatabase`), and a database written by a newer libsendense ([`Status::SchemaTooNew`]).
    /// A directory, an empty path, a symbolic link to a missing file (when creating) or an
    /// unwritable location is an error naming the path; a busy timeout above
    /// [`OpenOptions::MAX_BUSY_TIMEOUT`] is [`Status::InvalidArgument`]. See [`Store`] for how
    /// the path is read and how new files are created.
    pub fn open(path: impl AsRef<Path>, options: OpenOptions) -> Result<Store> {
        let path = path.as_ref();
        Store::open_file(path, options)
            .map_err(|e| e.context(format!("cannot open database {}", echo(&path.to_string_lossy()))))
    }

    /// Open a private in-memory database with the full schema (for tests and tools). It lives
    /// as long as the `Store`.
    pub fn open_in_memory(options: OpenOptions) -> Result<Store> {
        options.check().map_err(|e| e.context("cannot open in-memory database"))?;
        let conn = Connection::open_in_memory()?;
        Store::finish_open(conn, None, options).map_err(|e| e.context("cannot open in-memory database"))
    }

    fn open_file(path: &Path, options: OpenOptions) -> Result<Store> {
        options.check()?;
        if path.as_os_str().is_empty() {
            return Err(Error::invalid_argument("the path is empty"));
        }
        if options.create_if_missing {
            // The library creates a new file itself (0600, never through a link); SQLite
            // only ever opens an existing one. Anything already there is looked at below.
            match files::create_private(path) {
                Ok(_) => files::sync_dir(files::dir_of(path))?,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e.into()),
            }
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => return Err(Error::invalid_argument("the path is a directory")),
            Ok(meta) if meta.len() > 0 => probe_existing(path, &options)?,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && options.create_if_missing => {
                return Err(Error::invalid_argument(
                    "the path is a symbolic link to a file that does not exist; a new database is never created \
                     through a symbolic link",
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::not_found("the file does not exist (create_if_missing is off)"))
            }
            Err(e) => return Err(e.into()),
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = files::open_sqlite(path, flags, "")?;
        if conn.is_readonly(rusqlite::MAIN_DB)? {
            return Err(Error::io("the file is read-only"));
        }
        Store::finish_open(conn, Some(path.to_path_buf()), options)
    }

    /// Pragmas, then migrations in one immediate transaction.
    fn finish_open(mut conn: Connection, path: Option<PathBuf>, options: OpenOptions) -> Result<Store> {
        conn.busy_timeout(options.busy_timeout)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        let fk: bool = conn.pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
        if !fk {
            return Err(Error::internal("this SQLite build cannot enforce foreign keys"));
        }
        // Changing the journal mode and the first transactions on a file that other processes
        // are creating at the same moment can report SQLITE_BUSY without waiting in the busy
        // handler (the switch needs an exclusive lock; WAL recovery is not waited for), so
        // these steps are retried until the busy timeout runs out.
        let timeout = options.busy_timeout;
        if path.is_some() {
            let mode: String = retry_while_busy(timeout, || {
                Ok(conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?)
            })?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(Error::io(format!("could not switch to WAL journal mode (still {mode})")));
            }
        }
        let sync = match options.synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        conn.set_prepared_statement_cache_capacity(256);
        retry_while_busy(timeout, || {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            migrations::migrate(&tx)?;
            Ok(tx.commit()?)
        })?;
        let keys = parking_lot::RwLock::new(Keyring {
            current: options.secret_key.clone(),
            previous: options.previous_secret_keys.clone(),
        });
        Ok(Store { conn: Mutex::new(conn), path, options, keys })
    }

    /// The keys of the secret columns (see [`crate::store::secret`]).
    pub(crate) fn keys(&self) -> &parking_lot::RwLock<Keyring> {
        &self.keys
    }

    /// The file this store was opened on; `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &OpenOptions {
        &self.options
    }

    /// "Now" according to the store's clock, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.options.clock.now_ms()
    }

    /// Run `f` in one write (`BEGIN IMMEDIATE`) transaction: committed when `f` returns `Ok`,
    /// rolled back when it returns `Err` or panics. When the commit itself fails with an I/O
    /// error or a full disk, the error is [`Status::CommitUnknown`]: the change may have been
    /// applied (see [`Status::CommitUnknown`]); an I/O error before the commit stays
    /// [`Status::Io`] and nothing was changed.
    ///
    /// This is the seam every domain operation of the library is built on. Rust callers may
    /// use it for their own tables or for SQL the API does not offer; the schema's keys,
    /// foreign keys and CHECK constraints still apply, but the domain rules that the typed
    /// operations enforce (state machines, counters) are then the caller's responsibility.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.transaction(TransactionBehavior::Immediate, f)
    }

    /// Run `f` in one read transaction: it sees one consistent snapshot of the database while
    /// other connections keep writing.
    pub fn read<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.transaction(TransactionBehavior::Deferred, f)
    }

    /// Run `f` in one write (`BEGIN IMMEDIATE`) transaction through the query API: the seam
    /// every domain operation is built on (committed when `f` returns `Ok`, rolled back when
    /// it returns `Err` or panics; a failed commit is [`Status::CommitUnknown`], as for
    /// [`Store::write`]). Rust callers may use it for their own tables or SQL the API
    /// does not offer, like [`Store::write`] but without naming rusqlite, so their code keeps
    /// working on another backend; the domain rules the typed operations enforce are then
    /// the caller's.
    ///
    /// ```
    /// use sendense::{params, OpenOptions, Store};
    /// let store = Store::open_in_memory(OpenOptions::default()).unwrap();
    /// let name = "nightly";
    /// let n = store
    ///     .writing(|tx| {
    ///         tx.execute(
    ///             "INSERT INTO vm_machine_groups (id, name, created_at, updated_at) VALUES ('g1', :name, 0, 0)",
    ///             params![name],
    ///         )
    ///     })
    ///     .unwrap();
    /// assert_eq!(n, 1);
    /// let found: String = store
    ///     .reading(|tx| tx.one("SELECT name FROM vm_machine_groups WHERE id = 'g1'", params![], |r| r.get(0)))
    ///     .unwrap();
    /// assert_eq!(found, "nightly");
    /// ```
    pub fn writing<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        self.transaction(TransactionBehavior::Immediate, |tx| f(&Tx::new(tx)))
    }

    /// Run `f` in one read transaction through the query API: one consistent snapshot while
    /// other connections keep writing.
    pub fn reading<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        self.transaction(TransactionBehavior::Deferred, |tx| f(&Tx::new(tx)))
    }

    /// Run `f` on the connection outside an explicit transaction: for operations that are a
    /// single statement (atomic on its own, waiting on the busy timeout like a transaction),
    /// such as the progress hot paths, which then cost no more than the statement itself.
    /// A write commits as it runs, so an I/O failure of a write is [`Status::CommitUnknown`];
    /// one of a read (nothing to apply) stays IO.
    pub(crate) fn autocommit<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let conn = self.conn.lock();
        let tx = Tx::new(&conn);
        f(&tx).map_err(|e| {
            let e = self.busy_context(e);
            if tx.wrote() {
                commit_failed(e)
            } else {
                e
            }
        })
    }

    fn transaction<T>(
        &self,
        behavior: TransactionBehavior,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction_with_behavior(behavior).map_err(|e| self.busy_context(e.into()))?;
        let value = f(&tx)?;
        tx.commit().map_err(|e| commit_failed(self.busy_context(e.into())))?;
        Ok(value)
    }

    fn busy_context(&self, e: Error) -> Error {
        if e.status() == Status::Busy {
            e.context(format!(
                "another connection held the database lock for longer than the busy timeout ({} ms)",
                self.options.busy_timeout.as_millis()
            ))
        } else {
            e
        }
    }

    /// The schema version of the open database (equal to [`SCHEMA_VERSION`]).
    pub fn schema_version(&self) -> Result<u32> {
        self.read(|tx| Ok(Header::read(tx)?.user_version))
    }

    /// The number of rows of every table, in [`TABLE_GROUPS`] order, from one snapshot.
    pub fn table_counts(&self) -> Result<Vec<TableCount>> {
        self.read(|tx| {
            let mut counts = Vec::new();
            for (group, tables) in TABLE_GROUPS {
                for table in *tables {
                    let rows = tx.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
                    counts.push(TableCount { group, table, rows });
                }
            }
            Ok(counts)
        })
    }

    /// The database's path, or `:memory:`, for messages.
    pub(crate) fn describe(&self) -> String {
        self.path.as_ref().map_or_else(|| ":memory:".to_string(), |p| echo(&p.to_string_lossy()).to_string())
    }

    /// Write a consistent copy of the database file to `dest` through SQLite's online backup
    /// API, while other connections (threads of this process, other processes) keep writing.
    /// (A copy of the store itself, not a backup point: those are [`crate::backup`]'s.)
    ///
    /// The copy is written next to `dest` under a temporary name (mode 0600), checked with
    /// `PRAGMA quick_check`, synced, and only then linked into place; `dest` must not exist
    /// ([`Status::AlreadyExists`]: nothing is ever overwritten, nor written through a
    /// symbolic link).
    pub fn copy_database_to(&self, dest: impl AsRef<Path>) -> Result<()> {
        let dest = dest.as_ref();
        self.copy_database_inner(dest)
            .map_err(|e| e.context(format!("cannot back up to {}", echo(&dest.to_string_lossy()))))
    }

    /// The former name of [`Store::copy_database_to`].
    #[deprecated(note = "use copy_database_to: a copy of the store file is not a backup point")]
    pub fn backup_to(&self, dest: impl AsRef<Path>) -> Result<()> {
        self.copy_database_to(dest)
    }

    fn copy_database_inner(&self, dest: &Path) -> Result<()> {
        files::create_durably(dest, |tmp, _| self.copy_into(tmp))
    }

    fn copy_into(&self, tmp: &Path) -> Result<()> {
        let mut dst = files::open_sqlite(tmp, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX, "")?;
        match &self.path {
            // A separate read connection, so this store's own writers are not blocked.
            Some(path) => {
                let src =
                    files::open_sqlite(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX, "")?;
                src.busy_timeout(self.options.busy_timeout)?;
                run_backup(&src, &mut dst, self.options.busy_timeout)?;
            }
            None => run_backup(&self.conn.lock(), &mut dst, self.options.busy_timeout)?,
        }
        let check: String = dst.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(Error::new(Status::Corrupt, format!("the copy failed its quick_check: {check}")));
        }
        dst.close().map_err(|(_, e)| Error::from(e))
    }
}

/// The error of a failed commit: an I/O failure (or a full disk) while committing may come
/// after SQLite wrote the commit record to the WAL, and the next open of the file then replays
/// it, so it is [`Status::CommitUnknown`], not [`Status::Io`] (which promises that nothing was
/// changed). A single-statement operation (see [`Store::autocommit`]) commits as it runs, so
/// its I/O failures are failures of its commit too. Other errors are returned as they are.
fn commit_failed(e: Error) -> Error {
    if e.status() != Status::Io {
        return e;
    }
    Error::new(
        Status::CommitUnknown,
        format!(
            "{}; the commit failed, so the change may or may not have been applied: re-read before retrying",
            e.message()
        ),
    )
}

/// Run `f` again while it fails with [`Status::Busy`], until `timeout` has passed.
fn retry_while_busy<T>(timeout: Duration, mut f: impl FnMut() -> Result<T>) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        match f() {
            Err(e) if e.status() == Status::Busy && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(2))
            }
            other => return other,
        }
    }
}

/// Copy every page in one step, so the copy is one consistent snapshot; retry while the
/// source is locked, up to `timeout`.
fn run_backup(src: &Connection, dst: &mut Connection, timeout: Duration) -> Result<()> {
    use rusqlite::backup::{Backup, StepResult};
    let backup = Backup::new(src, dst)?;
    let deadline = Instant::now() + timeout;
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            _ if Instant::now() >= deadline => {
                return Err(Error::new(Status::Busy, "the source stayed locked for longer than the busy timeout"))
            }
            _ => thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Look at an existing, non-empty file without writing to it: it must be a SQLite database
/// that is blank or ours, and not newer than this library.
fn probe_existing(path: &Path, options: &OpenOptions) -> Result<()> {
    let mut magic = [0u8; 16];
    let mut file = File::open(path)?;
    let mut read = 0;
    while read < magic.len() {
        match file.read(&mut magic[read..])? {
            0 => break,
            n => read += n,
        }
    }
    if read < magic.len() || &magic != SQLITE_MAGIC {
        return Err(Error::new(
            Status::NotADatabase,
            "it is not a SQLite database (no SQLite header); refusing to touch it",
        ));
    }
    // Without a WAL next to it, the main file is the whole database: read it with
    // `immutable=1` (no locks, no -shm/-wal files created), so even a foreign database is
    // left exactly as it was. With a WAL, the main file alone may be mid-checkpoint and only
    // the WAL makes it consistent: probe through a normal read-only connection, which uses
    // the sidecar files that exist already.
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let has_wal = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0);
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let probe = files::open_sqlite(path, flags, if has_wal { "" } else { "?immutable=1" })?;
    probe.busy_timeout(options.busy_timeout)?;
    retry_while_busy(options.busy_timeout, || Header::read(&probe))?.check_ownership()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params;

    #[test]
    fn in_memory_store_has_the_current_schema_and_enforces_foreign_keys() {
        let store = Store::open_in_memory(OpenOptions::default()).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let report = store.integrity_check().unwrap();
        assert!(report.ok, "{report:?}");
        let err = store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO replication_jobs (id, vm_context_id, source_vm_id, source_vm_name, source_vm_path, \
                     v_center_host, datacenter, replication_type, created_at, updated_at) \
                     VALUES ('j1', 'no-such-context', 'vm', 'n', '/p', 'vc', 'dc', 'initial', 0, 0)",
                    [],
                )?;
                Ok(())
            })
            .unwrap_err();
        assert_eq!(err.status(), Status::Conflict, "{err}");
    }

    #[test]
    fn table_groups_name_every_table_of_the_schema_once() {
        let store = Store::open_in_memory(OpenOptions::default()).unwrap();
        let mut in_schema: Vec<String> = store
            .read(|tx| {
                let mut stmt = tx.prepare(
                    "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )?;
                let names = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
                Ok(names)
            })
            .unwrap();
        let mut grouped: Vec<String> = TABLE_GROUPS.iter().flat_map(|(_, t)| t.iter().map(|t| t.to_string())).collect();
        grouped.sort();
        in_schema.sort();
        assert_eq!(grouped, in_schema);
        let counts = store.table_counts().unwrap();
        assert_eq!(counts.len(), grouped.len());
        // A fresh store holds only the two built-in lease pools and their resources.
        let seeded = |t: &str| match t {
            "lease_pools" => 2,
            "lease_resources" => 101 + 8,
            _ => 0,
        };
        for c in &counts {
            assert_eq!(c.rows, seeded(c.table), "{}", c.table);
        }
    }

    #[test]
    fn a_failed_write_changes_nothing() {
        let store = Store::open_in_memory(OpenOptions::default()).unwrap();
        let count = |s: &Store| {
            s.read(|tx| Ok(tx.query_row("SELECT count(*) FROM vm_machine_groups", [], |r| r.get::<_, i64>(0))?))
                .unwrap()
        };
        let err = store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO vm_machine_groups (id, name, created_at, updated_at) VALUES ('g1', 'one', 0, 0)",
                    [],
                )?;
                Err::<(), _>(Error::invalid_argument("second step refused"))
            })
            .unwrap_err();
        assert_eq!(err.message(), "second step refused");
        assert_eq!(count(&store), 0);
    }

    #[test]
    fn an_io_failure_outside_a_transaction_is_commit_unknown_only_after_a_write() {
        let store = Store::open_in_memory(OpenOptions::default()).unwrap();
        let io = || Error::new(Status::Io, "disk I/O error");
        let read = store
            .autocommit(|tx| {
                tx.optional("SELECT name FROM vm_machine_groups WHERE id = 'g1'", params![], |r| r.get::<String>(0))?;
                Err::<(), _>(io())
            })
            .unwrap_err();
        assert_eq!(read.status(), Status::Io, "a read has nothing to apply: {read}");
        let write = store
            .autocommit(|tx| {
                tx.execute("UPDATE vm_machine_groups SET name = 'x' WHERE id = 'g1'", params![])?;
                Err::<(), _>(io())
            })
            .unwrap_err();
        assert_eq!(write.status(), Status::CommitUnknown, "a write commits as it runs: {write}");
    }
}
