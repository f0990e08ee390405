//! C ABI of the failover area.

mod job;

pub use job::*;
