//! C ABI of the targets area.

mod cloudstack;
mod consistency;
mod device;
mod lease;
mod linstor;
mod nbd_export;
mod volume_op;

pub use cloudstack::*;
pub use consistency::*;
pub use device::*;
pub use lease::*;
pub use linstor::*;
pub use nbd_export::*;
pub use volume_op::*;
