//! The disk rows of a context (`vm_disks`, docs/DOMAIN.md section 2): one stable row per
//! (context, VMware disk), which job last touched it, and the change id its next incremental
//! starts from.
//!
//! Rules enforced here:
//! - disk rows belong to the context, keyed by (context, disk_id); a job start upserts them
//!   in place ([`upsert_disks`]), keeping their change ids, and they survive the deletion of
//!   jobs;
//! - a disk id is `disk-<VMware device key>` ([`check_disk_id`]): `disk-2000` exists on every
//!   VM, so a disk is always named together with its context or its job;
//! - a disk's progress is a single-row update of a disk of an active job, never of a finished
//!   one.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::error::{echo, Error, Result};
use crate::replication::context::{self, Context};
use crate::replication::{explain_inactive, load_job, TERMINAL_STATUSES_SQL};
use crate::store::{Store, Tx};
use crate::value::{check_non_negative, check_percent, Timestamp};
use crate::{params, record, string_enum};

string_enum! {
    /// Per-disk sync state (`vm_disks.sync_status`).
    #[allow(missing_docs)]
    pub enum DiskSyncStatus: "disk sync status" {
        Pending = "pending",
        Syncing = "syncing",
        Completed = "completed",
        Failed = "failed",
    }
}

record! {
    /// A `vm_disks` row: one stable row per (context, VMware disk). JSON keys are the column
    /// names.
    #[allow(missing_docs)]
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct Disk in "vm_disks" {
        pub id: i64,
        pub vm_context_id: String,
        pub job_id: Option<String>,
        pub disk_id: String,
        pub vm_dk_path: String,
        pub size_gb: i64,
        pub datastore: Option<String>,
        pub unit_number: Option<i64>,
        pub label: Option<String>,
        pub capacity_bytes: Option<i64>,
        pub provisioning_type: Option<String>,
        pub ossea_volume_id: Option<i64>,
        pub disk_change_id: Option<String>,
        pub sync_status: DiskSyncStatus,
        pub sync_progress_percent: f64,
        pub bytes_synced: i64,
        pub created_at: Timestamp,
        pub updated_at: Timestamp,
        pub cpu_count: i64,
        pub memory_mb: i64,
        pub os_type: Option<String>,
        pub vm_tools_version: Option<String>,
        pub network_config: Option<serde_json::Value> as json,
        pub display_name: Option<String>,
        pub annotation: Option<String>,
        pub power_state: Option<String>,
        pub vmware_uuid: Option<String>,
        pub bios_setup: Option<String>,
    }
}

/// A disk of the VM as the job sees it (part of [`StartJob`](crate::replication::StartJob)).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiskSpec {
    /// `disk-<VMware device key>`, e.g. `disk-2000`.
    pub disk_id: String,
    pub vm_dk_path: String,
    pub size_gb: i64,
    #[serde(default)]
    pub datastore: Option<String>,
    #[serde(default)]
    pub unit_number: Option<i64>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub capacity_bytes: Option<i64>,
    #[serde(default)]
    pub provisioning_type: Option<String>,
    #[serde(default)]
    pub ossea_volume_id: Option<i64>,
    #[serde(default)]
    pub network_config: Option<serde_json::Value>,
}

impl DiskSpec {
    /// A disk with the required attributes.
    pub fn new(disk_id: impl Into<String>, vm_dk_path: impl Into<String>, size_gb: i64) -> DiskSpec {
        DiskSpec {
            disk_id: disk_id.into(),
            vm_dk_path: vm_dk_path.into(),
            size_gb,
            datastore: None,
            unit_number: None,
            label: None,
            capacity_bytes: None,
            provisioning_type: None,
            ossea_volume_id: None,
            network_config: None,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        check_disk_id(&self.disk_id)?;
        if self.vm_dk_path.trim().is_empty() || self.vm_dk_path.contains('\0') {
            return Err(Error::invalid_argument(format!(
                "{}: vm_dk_path is empty or contains a NUL",
                echo(&self.disk_id)
            )));
        }
        if self.size_gb < 0 || self.capacity_bytes.is_some_and(|b| b < 0) {
            return Err(Error::invalid_argument(format!("{}: the disk size is negative", echo(&self.disk_id))));
        }
        Ok(())
    }
}

/// A disk id must be `disk-<VMware device key>`.
pub(crate) fn check_disk_id(disk_id: &str) -> Result<()> {
    match disk_id.strip_prefix("disk-") {
        Some(key) if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => Err(Error::invalid_argument(format!(
            "disk_id {:?} is not of the form disk-<VMware device key> (e.g. disk-2000)",
            echo(disk_id)
        ))),
    }
}

/// The disk row of a context, if any.
pub(crate) fn load_disk(tx: &Tx<'_>, context_id: &str, disk_id: &str) -> Result<Option<Disk>> {
    tx.record("WHERE vm_context_id = :context_id AND disk_id = :disk_id", params![context_id, disk_id])
}

/// The change id recorded on each disk row of a context (NULL before its first successful
/// sync), by disk_id.
pub(crate) fn recorded_change_ids(tx: &Tx<'_>, context_id: &str) -> Result<Vec<(String, Option<String>)>> {
    tx.rows(
        "SELECT disk_id, disk_change_id FROM vm_disks WHERE vm_context_id = :context_id ORDER BY disk_id",
        params![context_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Upsert the disk rows of `context` for the job `job_id` starting at `now`: a new disk gets a
/// row, a known one is updated in place and keeps its change id (and its volume and network
/// configuration when the spec leaves them out); either way its sync restarts at pending, 0.
/// The VM attributes come from the context.
pub(crate) fn upsert_disks(tx: &Tx<'_>, context: &Context, job_id: &str, disks: &[DiskSpec], now: i64) -> Result<()> {
    for d in disks {
        tx.execute(
            "INSERT INTO vm_disks (vm_context_id, job_id, disk_id, vm_dk_path, size_gb, datastore, unit_number, \
             label, capacity_bytes, provisioning_type, ossea_volume_id, network_config, sync_status, \
             sync_progress_percent, bytes_synced, created_at, updated_at, cpu_count, memory_mb, os_type, \
             vm_tools_version, display_name, power_state, vmware_uuid) \
             VALUES (:context_id, :job_id, :disk_id, :vm_dk_path, :size_gb, :datastore, :unit_number, :label, \
             :capacity_bytes, :provisioning_type, :ossea_volume_id, :network_config, 'pending', 0, 0, :now, :now, \
             :cpu_count, :memory_mb, :os_type, :vm_tools_version, :display_name, :power_state, :vmware_uuid) \
             ON CONFLICT (vm_context_id, disk_id) DO UPDATE SET job_id = excluded.job_id, \
             vm_dk_path = excluded.vm_dk_path, size_gb = excluded.size_gb, datastore = excluded.datastore, \
             unit_number = excluded.unit_number, label = excluded.label, capacity_bytes = excluded.capacity_bytes, \
             provisioning_type = excluded.provisioning_type, \
             ossea_volume_id = COALESCE(excluded.ossea_volume_id, ossea_volume_id), \
             network_config = COALESCE(excluded.network_config, network_config), sync_status = 'pending', \
             sync_progress_percent = 0, bytes_synced = 0, updated_at = excluded.updated_at, \
             cpu_count = excluded.cpu_count, memory_mb = excluded.memory_mb, os_type = excluded.os_type, \
             vm_tools_version = excluded.vm_tools_version, display_name = excluded.display_name, \
             power_state = excluded.power_state, vmware_uuid = excluded.vmware_uuid",
            params![
                context_id = context.context_id,
                job_id,
                disk_id = d.disk_id,
                vm_dk_path = d.vm_dk_path,
                size_gb = d.size_gb,
                datastore = d.datastore,
                unit_number = d.unit_number,
                label = d.label,
                capacity_bytes = d.capacity_bytes,
                provisioning_type = d.provisioning_type,
                ossea_volume_id = d.ossea_volume_id,
                network_config = d.network_config.as_ref().map(|j| j.to_string()),
                now,
                cpu_count = context.cpu_count.unwrap_or(0),
                memory_mb = context.memory_mb.unwrap_or(0),
                os_type = context.os_type,
                vm_tools_version = context.vm_tools_version,
                display_name = context.vm_name,
                power_state = context.power_state,
                vmware_uuid = context.vmware_vm_id,
            ],
        )?;
    }
    Ok(())
}

/// The statement of [`Store::replication_disk_progress`], built once (it names the terminal
/// statuses).
static DISK_PROGRESS_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE vm_disks SET sync_progress_percent = :percent, bytes_synced = :bytes_synced, \
         sync_status = COALESCE(:sync_status, sync_status), updated_at = :now \
         WHERE job_id = :job_id AND disk_id = :disk_id \
         AND EXISTS (SELECT 1 FROM replication_jobs WHERE id = :job_id AND status NOT IN {})",
        *TERMINAL_STATUSES_SQL
    )
});

impl Store {
    /// Record a disk's progress within an active job (the disk must be one of the job's).
    pub fn replication_disk_progress(
        &self,
        job_id: &str,
        disk_id: &str,
        percent: f64,
        bytes_synced: i64,
        sync_status: Option<DiskSyncStatus>,
    ) -> Result<()> {
        check_disk_id(disk_id)?;
        check_percent("percent", percent)?;
        check_non_negative(&[("bytes_synced", bytes_synced)])?;
        let now = self.now_ms();
        self.autocommit(|tx| {
            let n =
                tx.execute(&DISK_PROGRESS_SQL, params![job_id, disk_id, percent, bytes_synced, sync_status, now])?;
            if n == 0 {
                let job = load_job(tx, job_id)?;
                if job.status.is_terminal() {
                    return Err(explain_inactive(tx, job_id, "disk progress report"));
                }
                return Err(Error::not_found(format!(
                    "replication job {} has no disk {}",
                    echo(job_id),
                    echo(disk_id)
                )));
            }
            Ok(())
        })
    }

    /// The disk rows of a context, by disk_id.
    pub fn replication_disks(&self, context_id: &str) -> Result<Vec<Disk>> {
        self.reading(|tx| {
            context::load(tx, context_id)?;
            tx.records("WHERE vm_context_id = :context_id ORDER BY disk_id", params![context_id])
        })
    }
}
