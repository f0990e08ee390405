//! C ABI of the targets area.

mod cloudstack;
mod device;
mod lease;
mod nbd_export;
mod volume_op;

pub use cloudstack::*;
pub use device::*;
pub use lease::*;
pub use nbd_export::*;
pub use volume_op::*;
