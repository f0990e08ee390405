//! C ABI of the failover area.

mod job;
mod network;

pub use job::*;
pub use network::*;
