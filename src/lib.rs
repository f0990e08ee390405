//! # libsendense
//!
//! The embedded state engine of a VM replication, migration and backup appliance: which VMs
//! are protected, which job runs for each and how far it got, from which VMware change id each
//! disk's next incremental starts, which backups form which chain, which cloud volume sits on
//! which device behind which NBD export, and who changed what.
//!
//! State lives in one SQLite file ([`Store`]). Every domain operation is one transaction that
//! checks its rules and updates everything it affects, or changes nothing; several processes
//! may share one database file.
//!
//! The same API is exported to C through `include/sendense.h` (see the `ffi` module and the
//! README). The library links its own SQLite (rusqlite's `bundled` build): a process must not
//! load a second SQLite copy that opens the same files.
//!
//! ```
//! use sendense::{OpenOptions, Store};
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path().join("state.db"), OpenOptions::default()).unwrap();
//! assert_eq!(store.schema_version().unwrap(), sendense::SCHEMA_VERSION);
//! assert!(store.integrity_check().unwrap().ok);
//! ```
#![warn(missing_docs)]
// `unsafe` is allowed only in the C ABI (src/ffi/), which opts back in.
#![deny(unsafe_code)]

pub mod backup;
pub mod clock;
pub mod error;
pub mod failover;
pub mod ffi;
pub mod integrity;
pub mod replication;
pub mod store;
pub mod targets;
pub mod value;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Result, Status};
pub use integrity::IntegrityReport;
pub use store::{OpenOptions, Store, Synchronous, TableCount, APPLICATION_ID, SCHEMA_VERSION, TABLE_GROUPS};
pub use value::Timestamp;

/// The rusqlite version this library is built on, for callers of [`Store::read`] and
/// [`Store::write`] (see [`store::rusqlite`]).
pub use store::rusqlite;
