//! The backup area (`src/backup/`): repositories and policies, backup points and chains,
//! VM-level restore points, copies, and retention.

mod copy;
mod point;
mod repository;
mod restore_point;
mod retention;
