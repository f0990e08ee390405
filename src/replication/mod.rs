//! Replication: VM contexts (the master record of a protected VM), replication jobs and their
//! disks, changed block tracking and VMware change ids (docs/DOMAIN.md sections 1 to 3).
//!
//! The lowest area: it imports only the store. Every other area may use it.

pub(crate) mod cbt;
pub(crate) mod change_id;
pub(crate) mod context;
pub(crate) mod disk;
pub(crate) mod job;

pub use cbt::*;
pub use change_id::*;
pub use context::*;
pub use disk::*;
pub use job::*;
