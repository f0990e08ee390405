//! Targets: where replicated and backed-up data lands. CloudStack (OSSEA) configurations and
//! volumes, Linstor configurations, device mappings, NBD exports, leases of numbered
//! resources, and the volume daemon's operations (docs/DOMAIN.md sections 5 and 10).
//!
//! Imports the store and the replication area; nothing above.

pub(crate) mod cloudstack;
pub(crate) mod consistency;
pub(crate) mod export;
pub(crate) mod lease;
pub(crate) mod linstor;
pub(crate) mod mapping;
pub(crate) mod volume_op;

pub use cloudstack::*;
pub use consistency::*;
pub use export::*;
pub use lease::*;
pub use linstor::*;
pub use mapping::*;
pub use volume_op::*;

/// The paths of the former `device` module (now `mapping`, `export` and `consistency`) that
/// `src/ffi/targets/device.rs` still imports; they go once it imports from `crate::targets`.
pub(crate) mod device {
    pub(crate) use super::cloudstack::SnapshotStatus;
    pub(crate) use super::export::{ExportStatus, NbdExport, NewExport};
    pub(crate) use super::mapping::{DeviceMapping, DeviceUpdate, ModeSwitch, NewMapping, OperationMode};
}
