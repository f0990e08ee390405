//! Backups: repositories, policies with their retention rules and copy rules, backup points
//! and the chains they form, copies to other repositories, restore points, and retention
//! (docs/DOMAIN.md section 4).
//!
//! Imports the store and the replication area; nothing above.

pub(crate) mod chain;
pub(crate) mod copy;
pub(crate) mod delete;
pub(crate) mod point;
pub(crate) mod policy;
pub(crate) mod repository;
pub(crate) mod restore_point;
pub(crate) mod retention;
pub(crate) mod retention_apply;

pub use chain::*;
pub use copy::*;
pub use delete::*;
pub use point::*;
pub use policy::*;
pub use repository::*;
pub use restore_point::*;
pub use retention::*;
pub use retention_apply::*;

/// The former name of [`BackupPoint`] (a `backup_jobs` row is a backup point).
#[deprecated(note = "use BackupPoint")]
pub type BackupJob = BackupPoint;

/// The former name of [`BackupPointFilter`].
#[deprecated(note = "use BackupPointFilter")]
pub type BackupFilter = BackupPointFilter;
