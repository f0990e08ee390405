//! Failover: starting a replicated VM on CloudStack, as a test (rolled back afterwards) or live
//! (committed, or rolled back), and the network mappings that say where each of the VM's
//! networks lands (docs/DOMAIN.md section 6; docs/SCHEMA.md section 2).
//!
//! - network mappings (`network.rs`): keyed by context, one row per (context, source network,
//!   kind live or test); a request for both kinds writes one row per kind.
//!
//! Imports the store, replication and targets areas; only `src/ffi` and `src/integrity.rs`
//! import it.

pub(crate) mod network;

pub use network::*;
