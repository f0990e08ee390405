//! C ABI of the backup area.

mod chain;
mod copy;
mod point;
mod policy;
mod repository;
mod restore_point;
mod retention;

pub use chain::*;
pub use copy::*;
pub use point::*;
pub use policy::*;
pub use repository::*;
pub use restore_point::*;
pub use retention::*;
