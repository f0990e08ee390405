//! Targets: where replicated and backed-up data lands. CloudStack (OSSEA) configurations and
//! volumes, Linstor configurations, device mappings, NBD exports, leases of numbered
//! resources, and the volume daemon's operations (docs/DOMAIN.md sections 5 and 10).
//!
//! Imports the store and the replication area; nothing above.

pub(crate) mod cloudstack;
pub(crate) mod consistency;
pub(crate) mod device;
pub(crate) mod lease;
pub(crate) mod linstor;
pub(crate) mod nbd_export;
pub(crate) mod volume_op;

pub use cloudstack::*;
pub use consistency::*;
pub use device::*;
pub use lease::*;
pub use linstor::*;
pub use nbd_export::*;
pub use volume_op::*;
