//! C ABI of the replication area.

mod cbt;
mod context;
mod job;

pub use cbt::*;
pub use context::*;
pub use job::*;
