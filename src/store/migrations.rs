//! Numbered schema migrations, applied in order through `user_version` inside the one
//! `BEGIN IMMEDIATE` transaction that opening a store runs.
//!
//! Migration `n` (1-based) moves a database from `user_version = n - 1` to `n`. A shipped
//! migration is never edited: a schema change is a new entry at the end, and every shipped
//! version is kept as a test fixture under `tests/fixtures/` that the tests upgrade and compare
//! with a fresh database.

use rusqlite::Transaction;

use crate::error::{Error, Result};

/// The `application_id` stamped into every libsendense database file ("SNDS").
pub const APPLICATION_ID: i32 = 0x534E_4453;

/// The SQL of each migration, in order; index 0 is version 1.
const MIGRATIONS: &[&str] = &[
    include_str!("sql/v1.sql"),
    include_str!("sql/v2.sql"),
    include_str!("sql/v3.sql"),
    include_str!("sql/v4.sql"),
    include_str!("sql/v5.sql"),
];

/// The schema version this library writes and understands.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// What the header of a database says about who owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub application_id: i32,
    pub user_version: u32,
    /// Number of objects in `sqlite_schema`; 0 for a brand-new file.
    pub objects: i64,
}

impl Header {
    pub(crate) fn read(conn: &rusqlite::Connection) -> Result<Header> {
        let application_id = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let user_version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let objects = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
        Ok(Header { application_id, user_version: u32::try_from(user_version).unwrap_or(u32::MAX), objects })
    }

    /// Whether the file is empty (no schema, no owner), so we may initialise it.
    fn is_blank(&self) -> bool {
        self.application_id == 0 && self.user_version == 0 && self.objects == 0
    }

    /// Refuse a database we must not touch; `Ok` means it is ours (or blank) and not newer
    /// than this library.
    pub(crate) fn check_ownership(&self) -> Result<()> {
        if self.is_blank() {
            return Ok(());
        }
        if self.application_id != APPLICATION_ID {
            return Err(Error::new(
                crate::Status::NotADatabase,
                format!(
                    "it is a SQLite database of another application (application_id {:#010x}, \
                     {} schema objects); refusing to touch it",
                    self.application_id, self.objects
                ),
            ));
        }
        if self.user_version > SCHEMA_VERSION {
            return Err(Error::new(
                crate::Status::SchemaTooNew,
                format!(
                    "it has schema version {}, newer than the {} this libsendense {} understands; \
                     upgrade the library (the file was left untouched)",
                    self.user_version,
                    SCHEMA_VERSION,
                    env!("CARGO_PKG_VERSION")
                ),
            ));
        }
        Ok(())
    }
}

/// Bring the database inside `tx` (an immediate transaction) up to [`SCHEMA_VERSION`].
/// Re-reads the header inside the transaction, so a concurrent opener that migrated first
/// is seen and nothing is applied twice.
pub(crate) fn migrate(tx: &Transaction<'_>) -> Result<()> {
    let header = Header::read(tx)?;
    header.check_ownership()?;
    for version in header.user_version..SCHEMA_VERSION {
        tx.execute_batch(MIGRATIONS[version as usize])
            .map_err(|e| Error::from(e).context(format!("applying schema migration {}", version + 1)))?;
    }
    if header.user_version < SCHEMA_VERSION {
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    Ok(())
}
