//! The integration tests of libsendense, in one test binary (one link of the library) with a
//! module per area of the sources:
//! - `store`: opening real files, migrations of the shipped fixtures (`tests/fixtures/`),
//!   integrity checks, online backups, and the schema itself (`store::schema`);
//! - `replication`: contexts, jobs, disks and CBT, and the property tests of the state
//!   machines (`replication::model`);
//! - `backup`: repositories and policies, backup points, restore points, copies, retention;
//! - `failover`: failover jobs (walk, rollback, commit, refusals, a property test);
//! - `targets`: CloudStack configurations and volumes, device mappings, leases, volume
//!   operations;
//! - `header`: the checked-in C header against the generated one and the library's symbols;
//! - `go_parity`: every C function has a Go wrapper (or a reasoned exception);
//! - `layering`: the layering rule on the sources.
//!
//! Run one area with `cargo test --test integration <area>::`, e.g. `cargo test --test
//! integration backup::`.

#[path = "../common/mod.rs"]
mod common;
mod fixtures;

mod backup;
mod failover;
mod go_parity;
mod header;
mod layering;
mod replication;
mod store;
mod targets;
