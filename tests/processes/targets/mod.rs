//! The targets area across processes: leases, volume operations, device mappings.

pub mod device;
pub mod lease;
pub mod volume_op;
