//! The integrity report: SQLite's own checks (`integrity_check`, `foreign_key_check`) and
//! each area's consistency check, from one read snapshot.
//!
//! It sits above every area so that the store imports none of them: an area that gains a
//! consistency check adds it here.

use serde::Serialize;

use crate::error::Result;
use crate::params;
use crate::store::Store;
use crate::targets;

/// One problem found by `PRAGMA foreign_key_check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignKeyViolation {
    /// The child table holding the dangling reference.
    pub table: String,
    /// The rowid of the offending row, when the table has one.
    pub rowid: Option<i64>,
    /// The parent table the reference should point into.
    pub parent: String,
    /// Index of the foreign key within the child table's `pragma_foreign_key_list`.
    pub fk_index: i64,
}

/// The result of [`Store::integrity_check`]. `ok` is true when nothing was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegrityReport {
    /// Nothing was found.
    pub ok: bool,
    /// The database's schema version.
    pub schema_version: u32,
    /// Lines of `PRAGMA integrity_check` other than `ok`.
    pub integrity_errors: Vec<String>,
    /// Rows of `PRAGMA foreign_key_check`.
    pub foreign_key_violations: Vec<ForeignKeyViolation>,
    /// Device mappings, NBD exports and volumes that disagree (see
    /// [`Store::storage_consistency`]); `ok` is false when it is not ok.
    pub storage: targets::StorageConsistency,
}

impl Store {
    /// Run SQLite's `integrity_check` and `foreign_key_check`, and the storage consistency
    /// check of device mappings and NBD exports ([`Store::storage_consistency`]), and report
    /// what they find. A damaged file is reported, never repaired.
    pub fn integrity_check(&self) -> Result<IntegrityReport> {
        self.reading(|tx| {
            let mut integrity_errors: Vec<String> = tx.rows("PRAGMA integrity_check", params![], |r| r.get(0))?;
            integrity_errors.retain(|line| line != "ok");
            let foreign_key_violations = tx.rows("PRAGMA foreign_key_check", params![], |r| {
                Ok(ForeignKeyViolation { table: r.get(0)?, rowid: r.get(1)?, parent: r.get(2)?, fk_index: r.get(3)? })
            })?;
            let schema_version: i64 = tx.one("PRAGMA user_version", params![], |r| r.get(0))?;
            // Targets area (consistency.rs): mappings, exports and volumes that disagree.
            let storage = targets::consistency::check(tx)?;
            Ok(IntegrityReport {
                ok: integrity_errors.is_empty() && foreign_key_violations.is_empty() && storage.ok,
                schema_version: u32::try_from(schema_version).unwrap_or(u32::MAX),
                integrity_errors,
                foreign_key_violations,
                storage,
            })
        })
        .map_err(|e| e.context(format!("integrity check of {}", self.describe())))
    }
}
