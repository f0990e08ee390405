//! The targets area (`src/targets/`): CloudStack and Linstor configurations and volumes with
//! their sealed secrets, device mappings and NBD exports, leases, and the volume daemon's
//! operations, mounts and metrics.

mod cloudstack;
mod device;
mod lease;
mod volume_op;
