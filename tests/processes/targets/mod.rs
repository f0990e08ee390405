//! The targets area across processes: leases, volume operations, device mappings, secret-key
//! rotation.

pub mod device;
pub mod lease;
pub mod secret;
pub mod volume_op;
