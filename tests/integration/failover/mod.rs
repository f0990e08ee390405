//! The failover area (`src/failover/`): network mappings keyed by context.

mod network;
