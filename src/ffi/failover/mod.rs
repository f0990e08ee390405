//! C ABI of the failover area.

mod network;

pub use network::*;
