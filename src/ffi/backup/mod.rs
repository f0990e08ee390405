//! C ABI of the backup area.

mod copy;
mod point;
mod repository;
mod restore_point;
mod retention;

pub use copy::*;
pub use point::*;
pub use repository::*;
pub use restore_point::*;
pub use retention::*;
