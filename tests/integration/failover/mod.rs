//! The failover area (`src/failover/`): failover jobs through their walk, rollback and
//! commit, with the context and the device mappings moving in the same transactions, every
//! refusal, and a property test over random interleavings with replication; network mappings
//! keyed by context.

mod job;
mod network;
