//! NBD exports (docs/DOMAIN.md section 5; docs/SCHEMA.md section 3, `nbd_exports`): an export
//! serves an oma volume's hub device to the capture side.
//!
//! Rules enforced here (every refusal changes nothing):
//! - an export ([`Store::nbd_export_create`]) is named `migration-vol-{volume_uuid}`
//!   ([`export_name`]), one per volume; it references its mapping (which must be oma with a
//!   device path; the export serves that path), its `vm_disks` row (which must belong to the
//!   mapping's context) and, while a job uses it, the job (which must exist and belong to the
//!   same context). Status: pending -> active | failed;
//! - an export follows its mapping (`device.rs`), in the mapping's transaction: it may be
//!   created with an attach or a switch back to oma, it takes a new device path of the mapping
//!   ([`move_export`]), and it goes with a detach or a switch to failover ([`remove_export`]);
//! - every removal of an export (detach, switch to failover, [`Store::nbd_export_remove`])
//!   releases, in the same transaction, the lease its job holds on its port, once no other
//!   export of that job uses the port ([`delete_export`]); an export without a job releases
//!   nothing.

use serde::{Deserialize, Serialize};

use crate::error::{echo, Error, Result};
use crate::replication;
use crate::replication::context;
use crate::store::{Store, Tx};
use crate::targets::device::{load_mapping, OperationMode};
use crate::targets::lease::release_resource;
use crate::value::{check_id, Timestamp};
use crate::{params, record, string_enum};

string_enum! {
    /// State of an NBD export (`nbd_exports.status`).
    #[allow(missing_docs)]
    pub enum ExportStatus: "export status" {
        Pending = "pending",
        Active = "active",
        Failed = "failed",
    }
}

impl ExportStatus {
    /// Whether the machine has the edge `self -> to`: pending -> active | failed.
    pub fn can_move_to(self, to: ExportStatus) -> bool {
        matches!((self, to), (ExportStatus::Pending, ExportStatus::Active | ExportStatus::Failed))
    }

    /// `Ok` when the machine has the edge, else INVALID_STATE naming from and to.
    pub fn check_move(self, to: ExportStatus) -> Result<()> {
        if self.can_move_to(to) {
            Ok(())
        } else {
            Err(Error::invalid_state(format!(
                "an export cannot move from {self} to {to}: pending -> active or failed (remove a finished export)"
            )))
        }
    }
}

/// The export name of a volume: `migration-vol-{volume_uuid}`.
pub fn export_name(volume_uuid: &str) -> String {
    format!("migration-vol-{volume_uuid}")
}

record! {
    /// An `nbd_exports` row. JSON keys are the column names.
    #[allow(missing_docs)]
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct NbdExport in "nbd_exports" {
        pub id: i64,
        pub vm_context_id: Option<String>,
        pub job_id: Option<String>,
        pub volume_id: String,
        pub vm_disk_id: Option<i64>,
        pub device_mapping_uuid: Option<String>,
        pub export_name: String,
        pub port: i64,
        pub device_path: String,
        pub config_path: Option<String>,
        pub status: ExportStatus,
        pub created_at: Timestamp,
        pub updated_at: Timestamp,
    }
}

/// An NBD export to create (JSON input of `sendense_nbd_export_create`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewExport {
    /// The exported volume; its mapping must exist and be oma. Required, except inside an
    /// attach (where it defaults to the attached volume).
    #[serde(default)]
    pub volume_uuid: Option<String>,
    /// The `vm_disks` row served; must exist and belong to the mapping's context.
    pub vm_disk_id: i64,
    /// The NBD server port, 1 to 65535.
    pub port: i64,
    /// The replication job using the export; must exist and belong to the mapping's context.
    #[serde(default)]
    pub job_id: Option<String>,
    /// The nbd-server conf.d file of this export.
    #[serde(default)]
    pub config_path: Option<String>,
}

impl NewExport {
    /// An export of `volume_uuid` serving the disk row `vm_disk_id` on `port`.
    pub fn new(volume_uuid: impl Into<String>, vm_disk_id: i64, port: i64) -> NewExport {
        NewExport { volume_uuid: Some(volume_uuid.into()), vm_disk_id, port, job_id: None, config_path: None }
    }

    pub(super) fn validate_fields(&self) -> Result<()> {
        if let Some(v) = &self.volume_uuid {
            check_id("volume_uuid", v)?;
        }
        if !(1..=65535).contains(&self.port) {
            return Err(Error::invalid_argument(format!("port {} is not between 1 and 65535", self.port)));
        }
        if let Some(j) = &self.job_id {
            check_id("job_id", j)?;
        }
        if self.config_path.as_deref().is_some_and(|p| p.trim().is_empty() || p.contains('\0')) {
            return Err(Error::invalid_argument("config_path is empty or contains a NUL (omit it instead)"));
        }
        Ok(())
    }
}

/// Load an export by name inside a transaction; NOT_FOUND naming it.
pub(crate) fn load_export(tx: &Tx<'_>, name: &str) -> Result<NbdExport> {
    tx.record("WHERE export_name = :name", params![name])?
        .ok_or_else(|| Error::not_found(format!("NBD export {:?} does not exist", echo(name))))
}

/// The export of `volume_uuid`, if it has one, now serves `device_path` (its mapping's new
/// path), inside the mapping's transaction.
pub(super) fn move_export(tx: &Tx<'_>, volume_uuid: &str, device_path: &str, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE nbd_exports SET device_path = :device_path, updated_at = :now WHERE volume_id = :volume_uuid",
        params![volume_uuid, device_path, now],
    )?;
    Ok(())
}

/// Remove the export of `volume_uuid`, if it has one, inside the transaction that removes or
/// switches its mapping; the lease its job held on its port goes with it ([`delete_export`]).
pub(super) fn remove_export(tx: &Tx<'_>, volume_uuid: &str) -> Result<()> {
    match tx.record::<NbdExport>("WHERE volume_id = :volume_uuid", params![volume_uuid])? {
        Some(e) => delete_export(tx, &e),
        None => Ok(()),
    }
}

/// Delete an export inside the caller's transaction: the one way an export is removed. When
/// the export has a job and no other export of that job uses its port (NBD serves many exports
/// on one port), the job's lease on the port (the resource named by the port number, in any
/// pool) is released in the same transaction. An export without a job releases nothing.
fn delete_export(tx: &Tx<'_>, e: &NbdExport) -> Result<()> {
    tx.execute("DELETE FROM nbd_exports WHERE id = :id", params![id = e.id])?;
    let Some(job_id) = &e.job_id else { return Ok(()) };
    if !tx
        .exists("SELECT 1 FROM nbd_exports WHERE job_id = :job_id AND port = :port", params![job_id, port = e.port])?
    {
        release_resource(tx, job_id, &e.port.to_string())?;
    }
    Ok(())
}

/// Create the export of an oma mapping inside a transaction; returns its name.
pub(super) fn insert_export(tx: &Tx<'_>, volume_uuid: &str, e: &NewExport, now: i64) -> Result<String> {
    let m = load_mapping(tx, volume_uuid)?;
    let context_id = m.vm_context_id.as_deref();
    insert_export_of(tx, volume_uuid, context_id, m.operation_mode, m.device_path.as_deref(), e, now)
}

/// Create the export of the mapping of `volume_uuid`, whose context, mode and device path the
/// caller knows (an attach has just written them).
pub(super) fn insert_export_of(
    tx: &Tx<'_>,
    volume_uuid: &str,
    context_id: Option<&str>,
    mode: OperationMode,
    device_path: Option<&str>,
    e: &NewExport,
    now: i64,
) -> Result<String> {
    let Some(device_path) = device_path.filter(|_| mode == OperationMode::Oma) else {
        return Err(Error::invalid_state(format!(
            "volume {volume_uuid} is in {mode} mode: only an oma mapping (with a hub device) can be exported",
            volume_uuid = echo(volume_uuid)
        )));
    };
    let name = export_name(volume_uuid);
    if tx.exists(
        "SELECT 1 FROM nbd_exports WHERE volume_id = :volume_uuid OR export_name = :name",
        params![volume_uuid, name],
    )? {
        return Err(Error::already_exists(format!(
            "volume {} is already exported as {}",
            echo(volume_uuid),
            echo(&name)
        )));
    }
    let Some(context_id) = context_id else {
        return Err(Error::invalid_state(format!(
            "the mapping of volume {volume_uuid} has no context, so it serves no disk row of one",
            volume_uuid = echo(volume_uuid)
        )));
    };
    let disk_context: Option<String> =
        tx.optional("SELECT vm_context_id FROM vm_disks WHERE id = :id", params![id = e.vm_disk_id], |r| r.get(0))?;
    match disk_context {
        None => return Err(Error::not_found(format!("vm disk {} does not exist", e.vm_disk_id))),
        Some(c) if c != context_id => {
            return Err(Error::invalid_argument(format!(
                "vm disk {} belongs to context {c}, not to context {context_id} of volume {volume_uuid}",
                e.vm_disk_id,
                context_id = echo(context_id),
                volume_uuid = echo(volume_uuid)
            )))
        }
        Some(_) => {}
    }
    if let Some(job_id) = &e.job_id {
        let job_context = job_context(tx, job_id)?;
        if job_context != context_id {
            return Err(Error::invalid_argument(format!(
                "replication job {job_id} belongs to context {job_context}, not to context {context_id} of volume \
                 {volume_uuid}",
                job_id = echo(job_id),
                context_id = echo(context_id),
                volume_uuid = echo(volume_uuid)
            )));
        }
    }
    tx.execute(
        "INSERT INTO nbd_exports (vm_context_id, job_id, volume_id, vm_disk_id, device_mapping_uuid, export_name, \
         port, device_path, config_path, status, created_at, updated_at) \
         VALUES (:context_id, :job_id, :volume_uuid, :vm_disk_id, :volume_uuid, :name, :port, :device_path, \
         :config_path, 'pending', :now, :now)",
        params![
            context_id,
            job_id = e.job_id,
            volume_uuid,
            vm_disk_id = e.vm_disk_id,
            name,
            port = e.port,
            device_path,
            config_path = e.config_path,
            now
        ],
    )?;
    Ok(name)
}

/// The context of a replication job; NOT_FOUND naming the job.
fn job_context(tx: &Tx<'_>, job_id: &str) -> Result<String> {
    tx.optional("SELECT vm_context_id FROM replication_jobs WHERE id = :job_id", params![job_id], |r| r.get(0))?
        .ok_or_else(|| Error::not_found(format!("replication job {:?} does not exist", echo(job_id))))
}

impl Store {
    /// Create the NBD export of an oma volume (see [`NewExport`]); returns its name,
    /// `migration-vol-{volume_uuid}`. It serves the mapping's device path and starts pending.
    /// Refusals: INVALID_ARGUMENT for bad input, a disk row or job of another context;
    /// NOT_FOUND for an unknown volume mapping, disk row or job; INVALID_STATE when the
    /// mapping is in failover mode or has no context; ALREADY_EXISTS when the volume is
    /// already exported.
    /// Safe to retry after [`crate::Status::CommitUnknown`]: when the first call was applied,
    /// the retry is ALREADY_EXISTS naming the export.
    pub fn nbd_export_create(&self, export: &NewExport) -> Result<String> {
        export.validate_fields()?;
        let Some(volume) = export.volume_uuid.as_deref() else {
            return Err(Error::invalid_argument("volume_uuid is missing: name the exported volume"));
        };
        let now = self.now_ms();
        self.writing(|tx| insert_export(tx, volume, export, now))
    }

    /// Move an export along pending -> active | failed.
    pub fn nbd_export_set_status(&self, export_name: &str, status: ExportStatus) -> Result<NbdExport> {
        let now = self.now_ms();
        self.writing(|tx| {
            let e = load_export(tx, export_name)?;
            e.status.check_move(status).map_err(|err| err.context(format!("NBD export {}", echo(export_name))))?;
            tx.execute(
                "UPDATE nbd_exports SET status = :status, updated_at = :now WHERE id = :id",
                params![id = e.id, status, now],
            )?;
            load_export(tx, export_name)
        })
    }

    /// Set (a job of the export's context, which must exist) or clear (`None`) the job using
    /// an export.
    pub fn nbd_export_set_job(&self, export_name: &str, job_id: Option<&str>) -> Result<NbdExport> {
        if let Some(j) = job_id {
            check_id("job_id", j)?;
        }
        let now = self.now_ms();
        self.writing(|tx| {
            let e = load_export(tx, export_name)?;
            if let Some(j) = job_id {
                let job = replication::load_job(tx, j)?;
                if e.vm_context_id.as_deref() != Some(job.vm_context_id.as_str()) {
                    return Err(Error::invalid_argument(format!(
                        "replication job {j} belongs to context {}, not to the context of export {export_name}",
                        job.vm_context_id,
                        j = echo(j),
                        export_name = echo(export_name)
                    )));
                }
            }
            tx.execute(
                "UPDATE nbd_exports SET job_id = :job_id, updated_at = :now WHERE id = :id",
                params![id = e.id, job_id, now],
            )?;
            load_export(tx, export_name)
        })
    }

    /// Remove an export (its mapping stays); NOT_FOUND when there is none. In the same
    /// transaction the lease of the export's job on its port is released, unless another
    /// export of that job still uses the port (see `delete_export`).
    pub fn nbd_export_remove(&self, export_name: &str) -> Result<()> {
        self.writing(|tx| delete_export(tx, &load_export(tx, export_name)?))
    }

    /// The export named `export_name`; NOT_FOUND when there is none.
    pub fn nbd_export_get(&self, export_name: &str) -> Result<NbdExport> {
        self.reading(|tx| load_export(tx, export_name))
    }

    /// The exports of a context, by name; NOT_FOUND for an unknown context.
    pub fn nbd_export_list_by_context(&self, context_id: &str) -> Result<Vec<NbdExport>> {
        self.reading(|tx| {
            context::load(tx, context_id)?;
            tx.records("WHERE vm_context_id = :context_id ORDER BY export_name", params![context_id])
        })
    }

    /// The exports a job uses, by name; NOT_FOUND for an unknown job.
    pub fn nbd_export_list_by_job(&self, job_id: &str) -> Result<Vec<NbdExport>> {
        self.reading(|tx| {
            replication::load_job(tx, job_id)?;
            tx.records("WHERE job_id = :job_id ORDER BY export_name", params![job_id])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_machine_edges_are_exactly_the_documented_ones() {
        use ExportStatus::*;
        for from in ExportStatus::ALL {
            for to in ExportStatus::ALL {
                assert_eq!(from.can_move_to(*to), *from == Pending && *to != Pending, "{from} -> {to}");
            }
        }
        assert!(Active.check_move(Failed).unwrap_err().message().contains("from active to failed"));
    }

    #[test]
    fn inputs_are_validated() {
        assert_eq!(export_name("v-1"), "migration-vol-v-1");
        assert!(NewExport::new("v", 1, 0).validate_fields().is_err());
        assert!(NewExport::new("v", 1, 65536).validate_fields().is_err());
        assert!(NewExport::new("v", 1, 10809).validate_fields().is_ok());
    }
}
