//! Failover: starting a replicated VM on CloudStack from its replicated volumes, as a test
//! (then rolled back) or live (then committed, or rolled back), and the network mappings that
//! say where each VMware network of the VM lands (docs/DOMAIN.md section 6; docs/SCHEMA.md
//! section 2).
//!
//! - failover jobs (`job.rs`): the status machine, start, steps, failure, rollback and commit,
//!   with the context and the device mappings moving in the same transactions;
//! - network mappings (`network.rs`): keyed by context, one row per (context, source network,
//!   kind live or test); a request for both kinds writes one row per kind.
//!
//! The highest area so far: it imports the store, replication (the context it moves) and
//! targets (the device mappings and exports its steps switch); nothing imports it but the C
//! ABI and the integrity report. It is the only area that moves a context into or out of
//! `failed_over_test` / `failed_over_live`.

pub(crate) mod job;
pub(crate) mod network;

pub use job::*;
pub use network::*;
