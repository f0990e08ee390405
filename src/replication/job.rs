//! Replication jobs and the per-context disk rows (DOMAIN.md section 2).
//!
//! Rules enforced here:
//! - one active job per context: starting a job, pointing the context at it and moving the
//!   context to `replicating` is one transaction; a second start is CONFLICT (a partial unique
//!   index backs this up across processes);
//! - the job status machine ([`JobStatus::check_move`]): forward only, terminal states are
//!   final, and every terminal transition releases the context in the same transaction;
//! - progress is a single-row update that never touches a terminal job;
//! - disk rows belong to the context, keyed by (context, disk_id); a job start upserts them
//!   in place, keeping their change ids, and they survive the deletion of jobs.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::replication::cbt::ChangeId;
use crate::replication::context::{self, ContextStatus};
use crate::store::Tx;
use crate::store::{require_row, Select, Store};
use crate::string_enum;
use crate::value::{check_bytes_within, check_id, check_non_negative, check_percent, json_column, new_id, Timestamp};

string_enum! {
    /// Lifecycle state of a replication job (`replication_jobs.status`).
    #[allow(missing_docs)]
    pub enum JobStatus: "replication job status" {
        Pending = "pending",
        Initializing = "initializing",
        Analyzing = "analyzing",
        Provisioning = "provisioning",
        Attaching = "attaching",
        Configuring = "configuring",
        ReadyForSync = "ready_for_sync",
        Snapshotting = "snapshotting",
        Replicating = "replicating",
        Finalizing = "finalizing",
        Completed = "completed",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

/// The one "active" set: every non-terminal job status, as an SQL list. The schema's partial
/// unique index and the `vm_schedule_status` view carry the same list (a test compares them).
pub(crate) const ACTIVE_STATUSES_SQL: &str = "('pending', 'initializing', 'analyzing', 'provisioning', 'attaching', \
     'configuring', 'ready_for_sync', 'snapshotting', 'replicating', 'finalizing')";

/// The terminal statuses as an SQL list: `status NOT IN` this list is the active set in the
/// hot-path updates (three comparisons instead of ten; equivalent under the column's CHECK).
pub(crate) const TERMINAL_STATUSES_SQL: &str = "('completed', 'failed', 'cancelled')";

impl JobStatus {
    /// Every active (non-terminal) status, in lifecycle order.
    pub const ACTIVE: &'static [JobStatus] = &[
        JobStatus::Pending,
        JobStatus::Initializing,
        JobStatus::Analyzing,
        JobStatus::Provisioning,
        JobStatus::Attaching,
        JobStatus::Configuring,
        JobStatus::ReadyForSync,
        JobStatus::Snapshotting,
        JobStatus::Replicating,
        JobStatus::Finalizing,
    ];

    /// completed, failed and cancelled are terminal: final and releasing the context.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled)
    }

    /// Whether the machine has the edge `self -> to`: forward along the lifecycle (steps may
    /// be skipped, never repeated or reversed), or from any active status to failed or
    /// cancelled. Terminal statuses have no edges.
    pub fn can_move_to(self, to: JobStatus) -> bool {
        if self.is_terminal() {
            return false;
        }
        match to {
            JobStatus::Failed | JobStatus::Cancelled => true,
            _ => self.rank() < to.rank(),
        }
    }

    fn rank(self) -> usize {
        JobStatus::ALL.iter().position(|s| *s == self).expect("in ALL")
    }

    /// `Ok` when the machine has the edge, else INVALID_STATE naming from and to.
    pub fn check_move(self, to: JobStatus) -> Result<()> {
        if self.can_move_to(to) {
            Ok(())
        } else if self.is_terminal() {
            Err(Error::invalid_state(format!("a replication job cannot move from {self} to {to}: {self} is final")))
        } else {
            Err(Error::invalid_state(format!(
                "a replication job cannot move from {self} to {to}: jobs only move forward (or to failed or cancelled)"
            )))
        }
    }

    /// The context status a job's terminal status leads to. `had_success` tells whether the
    /// context has a completed job (so a cancelled job leaves the last good replica usable).
    pub fn context_after(self, had_success: bool) -> Option<ContextStatus> {
        match self {
            JobStatus::Completed => Some(ContextStatus::ReadyForFailover),
            JobStatus::Failed => Some(ContextStatus::Failed),
            JobStatus::Cancelled if had_success => Some(ContextStatus::ReadyForFailover),
            JobStatus::Cancelled => Some(ContextStatus::Discovered),
            _ => None,
        }
    }
}

string_enum! {
    /// The kind of a job (`replication_jobs.replication_type`).
    pub enum ReplicationType: "replication type" {
        /// A full copy of every disk.
        Initial = "initial",
        /// Changed blocks since each disk's recorded change id.
        Incremental = "incremental",
    }
}

string_enum! {
    /// The kind a caller asks for when starting a job; `auto` is resolved from the disks' CBT
    /// state before the job row is written.
    pub enum RequestedType: "replication type" {
        /// A full copy of every disk.
        Initial = "initial",
        /// Changed blocks; needs a recorded change id on at least one disk.
        Incremental = "incremental",
        /// Incremental when at least one disk has a usable recorded change id, else initial.
        Auto = "auto",
    }
}

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

/// A `replication_jobs` row. JSON keys are the column names (SCHEMA.md documents each).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplicationJob {
    pub id: String,
    pub vm_context_id: String,
    pub source_vm_id: String,
    pub source_vm_name: String,
    pub source_vm_path: String,
    pub v_center_host: String,
    pub datacenter: String,
    pub replication_type: ReplicationType,
    pub target_network: Option<String>,
    pub status: JobStatus,
    pub progress_percent: f64,
    pub current_operation: Option<String>,
    pub bytes_transferred: i64,
    pub total_bytes: i64,
    pub transfer_speed_bps: i64,
    pub error_message: Option<String>,
    pub change_id: Option<String>,
    pub previous_change_id: Option<String>,
    pub snapshot_id: Option<String>,
    pub nbd_port: Option<i64>,
    pub nbd_export_name: Option<String>,
    pub target_device: Option<String>,
    pub ossea_config_id: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub vma_sync_type: Option<String>,
    pub vma_current_phase: Option<String>,
    pub vma_throughput_mbps: f64,
    pub vma_eta_seconds: Option<i64>,
    pub vma_last_poll_at: Option<Timestamp>,
    pub vma_error_classification: Option<String>,
    pub vma_error_details: Option<String>,
    pub setup_progress_percent: f64,
    pub schedule_execution_id: Option<String>,
    pub scheduled_by: Option<String>,
    pub vm_group_id: Option<String>,
}

const JOB_COLUMNS: &str = "id, vm_context_id, source_vm_id, source_vm_name, source_vm_path, v_center_host, \
    datacenter, replication_type, target_network, status, progress_percent, current_operation, bytes_transferred, \
    total_bytes, transfer_speed_bps, error_message, change_id, previous_change_id, snapshot_id, nbd_port, \
    nbd_export_name, target_device, ossea_config_id, created_at, updated_at, started_at, completed_at, \
    vma_sync_type, vma_current_phase, vma_throughput_mbps, vma_eta_seconds, vma_last_poll_at, \
    vma_error_classification, vma_error_details, setup_progress_percent, schedule_execution_id, scheduled_by, \
    vm_group_id";

impl ReplicationJob {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<ReplicationJob> {
        Ok(ReplicationJob {
            id: r.get("id")?,
            vm_context_id: r.get("vm_context_id")?,
            source_vm_id: r.get("source_vm_id")?,
            source_vm_name: r.get("source_vm_name")?,
            source_vm_path: r.get("source_vm_path")?,
            v_center_host: r.get("v_center_host")?,
            datacenter: r.get("datacenter")?,
            replication_type: r.get("replication_type")?,
            target_network: r.get("target_network")?,
            status: r.get("status")?,
            progress_percent: r.get("progress_percent")?,
            current_operation: r.get("current_operation")?,
            bytes_transferred: r.get("bytes_transferred")?,
            total_bytes: r.get("total_bytes")?,
            transfer_speed_bps: r.get("transfer_speed_bps")?,
            error_message: r.get("error_message")?,
            change_id: r.get("change_id")?,
            previous_change_id: r.get("previous_change_id")?,
            snapshot_id: r.get("snapshot_id")?,
            nbd_port: r.get("nbd_port")?,
            nbd_export_name: r.get("nbd_export_name")?,
            target_device: r.get("target_device")?,
            ossea_config_id: r.get("ossea_config_id")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
            started_at: r.get("started_at")?,
            completed_at: r.get("completed_at")?,
            vma_sync_type: r.get("vma_sync_type")?,
            vma_current_phase: r.get("vma_current_phase")?,
            vma_throughput_mbps: r.get("vma_throughput_mbps")?,
            vma_eta_seconds: r.get("vma_eta_seconds")?,
            vma_last_poll_at: r.get("vma_last_poll_at")?,
            vma_error_classification: r.get("vma_error_classification")?,
            vma_error_details: r.get("vma_error_details")?,
            setup_progress_percent: r.get("setup_progress_percent")?,
            schedule_execution_id: r.get("schedule_execution_id")?,
            scheduled_by: r.get("scheduled_by")?,
            vm_group_id: r.get("vm_group_id")?,
        })
    }
}

/// A `vm_disks` row: one stable row per (context, VMware disk). JSON keys are the column names.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disk {
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
    pub network_config: Option<serde_json::Value>,
    pub display_name: Option<String>,
    pub annotation: Option<String>,
    pub power_state: Option<String>,
    pub vmware_uuid: Option<String>,
    pub bios_setup: Option<String>,
}

const DISK_COLUMNS: &str = "id, vm_context_id, job_id, disk_id, vm_dk_path, size_gb, datastore, unit_number, label, \
    capacity_bytes, provisioning_type, ossea_volume_id, disk_change_id, sync_status, sync_progress_percent, \
    bytes_synced, created_at, updated_at, cpu_count, memory_mb, os_type, vm_tools_version, network_config, \
    display_name, annotation, power_state, vmware_uuid, bios_setup";

impl Disk {
    pub(crate) fn from_row(r: &Row<'_>) -> rusqlite::Result<Disk> {
        Ok(Disk {
            id: r.get("id")?,
            vm_context_id: r.get("vm_context_id")?,
            job_id: r.get("job_id")?,
            disk_id: r.get("disk_id")?,
            vm_dk_path: r.get("vm_dk_path")?,
            size_gb: r.get("size_gb")?,
            datastore: r.get("datastore")?,
            unit_number: r.get("unit_number")?,
            label: r.get("label")?,
            capacity_bytes: r.get("capacity_bytes")?,
            provisioning_type: r.get("provisioning_type")?,
            ossea_volume_id: r.get("ossea_volume_id")?,
            disk_change_id: r.get("disk_change_id")?,
            sync_status: r.get("sync_status")?,
            sync_progress_percent: r.get("sync_progress_percent")?,
            bytes_synced: r.get("bytes_synced")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
            cpu_count: r.get("cpu_count")?,
            memory_mb: r.get("memory_mb")?,
            os_type: r.get("os_type")?,
            vm_tools_version: r.get("vm_tools_version")?,
            network_config: json_column(r.get("network_config")?)?,
            display_name: r.get("display_name")?,
            annotation: r.get("annotation")?,
            power_state: r.get("power_state")?,
            vmware_uuid: r.get("vmware_uuid")?,
            bios_setup: r.get("bios_setup")?,
        })
    }
}

/// A disk of the VM as the job sees it (part of [`StartJob`]).
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

    fn validate(&self) -> Result<()> {
        check_disk_id(&self.disk_id)?;
        if self.vm_dk_path.trim().is_empty() || self.vm_dk_path.contains('\0') {
            return Err(Error::invalid_argument(format!("{}: vm_dk_path is empty or contains a NUL", self.disk_id)));
        }
        if self.size_gb < 0 || self.capacity_bytes.is_some_and(|b| b < 0) {
            return Err(Error::invalid_argument(format!("{}: the disk size is negative", self.disk_id)));
        }
        Ok(())
    }
}

/// A disk id must be `disk-<VMware device key>`.
pub(crate) fn check_disk_id(disk_id: &str) -> Result<()> {
    match disk_id.strip_prefix("disk-") {
        Some(key) if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => Err(Error::invalid_argument(format!(
            "disk_id {disk_id:?} is not of the form disk-<VMware device key> (e.g. disk-2000)"
        ))),
    }
}

/// A job to start (JSON input of `sendense_replication_start`).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartJob {
    pub context_id: String,
    /// The job id; generated (UUIDv7) when absent. A duplicate is ALREADY_EXISTS.
    #[serde(default)]
    pub id: Option<String>,
    /// Default `auto`.
    #[serde(default)]
    pub replication_type: Option<RequestedType>,
    /// The VM's disks; at least one.
    pub disks: Vec<DiskSpec>,
    #[serde(default)]
    pub target_network: Option<String>,
    #[serde(default)]
    pub snapshot_id: Option<String>,
    #[serde(default)]
    pub nbd_port: Option<i64>,
    #[serde(default)]
    pub nbd_export_name: Option<String>,
    #[serde(default)]
    pub target_device: Option<String>,
    #[serde(default)]
    pub ossea_config_id: Option<i64>,
    #[serde(default)]
    pub schedule_execution_id: Option<String>,
    #[serde(default)]
    pub scheduled_by: Option<String>,
    #[serde(default)]
    pub vm_group_id: Option<String>,
}

impl StartJob {
    /// A job for `context_id` over `disks`, type `auto`, generated id.
    pub fn new(context_id: impl Into<String>, disks: Vec<DiskSpec>) -> StartJob {
        StartJob {
            context_id: context_id.into(),
            id: None,
            replication_type: None,
            disks,
            target_network: None,
            snapshot_id: None,
            nbd_port: None,
            nbd_export_name: None,
            target_device: None,
            ossea_config_id: None,
            schedule_execution_id: None,
            scheduled_by: None,
            vm_group_id: None,
        }
    }

    fn validate(&self) -> Result<()> {
        if let Some(id) = &self.id {
            check_id("job id", id)?;
        }
        if self.disks.is_empty() {
            return Err(Error::invalid_argument("a replication job needs at least one disk"));
        }
        for (i, d) in self.disks.iter().enumerate() {
            d.validate()?;
            if self.disks[..i].iter().any(|o| o.disk_id == d.disk_id) {
                return Err(Error::invalid_argument(format!("disk {} is listed twice", d.disk_id)));
            }
        }
        if let Some(port) = self.nbd_port {
            if !(1..=65535).contains(&port) {
                return Err(Error::invalid_argument(format!("nbd_port {port} is not a TCP port (1-65535)")));
            }
        }
        for (name, v) in [("schedule_execution_id", &self.schedule_execution_id), ("vm_group_id", &self.vm_group_id)] {
            if let Some(v) = v {
                check_id(name, v)?;
            }
        }
        Ok(())
    }
}

/// A progress report of a running job (the hot path): a single-row update.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    /// 0 to 100.
    pub percent: f64,
    /// Bytes copied so far; at most `total_bytes` when that is known (> 0).
    pub bytes_transferred: i64,
    /// Bytes expected; 0 when unknown.
    pub total_bytes: i64,
    /// Current throughput, bytes per second.
    pub speed_bps: i64,
    /// A readable label of the current step; `None` keeps the previous one.
    #[serde(default)]
    pub current_operation: Option<String>,
}

impl Progress {
    fn validate(&self) -> Result<()> {
        check_percent("percent", self.percent)?;
        check_bytes_within(self.bytes_transferred, self.total_bytes)?;
        check_non_negative(&[("speed_bps", self.speed_bps)])
    }
}

/// What the capture appliance (VMA) reported in a poll; every field is optional and an absent
/// one keeps its value. Stamps `vma_last_poll_at`.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmaProgress {
    #[serde(default)]
    pub vma_sync_type: Option<String>,
    #[serde(default)]
    pub vma_current_phase: Option<String>,
    #[serde(default)]
    pub vma_throughput_mbps: Option<f64>,
    #[serde(default)]
    pub vma_eta_seconds: Option<i64>,
    #[serde(default)]
    pub vma_error_classification: Option<String>,
    #[serde(default)]
    pub vma_error_details: Option<String>,
    /// Hub-side setup progress, 0-100.
    #[serde(default)]
    pub setup_progress_percent: Option<f64>,
}

impl VmaProgress {
    fn validate(&self) -> Result<()> {
        if let Some(t) = &self.vma_sync_type {
            if !["initial", "incremental", "full"].contains(&t.as_str()) {
                return Err(Error::invalid_argument(format!(
                    "{t:?} is not a valid vma_sync_type (expected one of: initial, incremental, full)"
                )));
            }
        }
        const CLASSES: [&str; 12] = [
            "connection",
            "authentication",
            "permission",
            "disk",
            "network",
            "system",
            "polling",
            "migration_error",
            "startup_recovery",
            "job_lost",
            "vma_reported_failure",
            "vma_unreachable_timeout",
        ];
        if let Some(c) = &self.vma_error_classification {
            if !CLASSES.contains(&c.as_str()) {
                return Err(Error::invalid_argument(format!(
                    "{c:?} is not a valid vma_error_classification (expected one of: {})",
                    CLASSES.join(", ")
                )));
            }
        }
        if self.vma_throughput_mbps.is_some_and(|t| !(t >= 0.0 && t.is_finite())) {
            return Err(Error::invalid_argument("vma_throughput_mbps must be a finite number >= 0"));
        }
        if self.vma_eta_seconds.is_some_and(|s| s < 0) {
            return Err(Error::invalid_argument("vma_eta_seconds is negative"));
        }
        if let Some(p) = self.setup_progress_percent {
            check_percent("setup_progress_percent", p)?;
        }
        Ok(())
    }
}

/// Which jobs [`Store::replication_list`] returns (JSON input of `sendense_replication_list_json`);
/// newest first (created_at, then id, descending).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobFilter {
    /// Only the jobs of this context.
    #[serde(default)]
    pub context_id: Option<String>,
    /// Only jobs in this status.
    #[serde(default)]
    pub status: Option<JobStatus>,
    /// At most this many (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Skip this many first.
    #[serde(default)]
    pub offset: Option<u32>,
}

/// Load a job inside a transaction; NOT_FOUND naming the id.
pub(crate) fn load_job(tx: &Tx<'_>, job_id: &str) -> Result<ReplicationJob> {
    tx.conn()
        .prepare_cached(&format!("SELECT {JOB_COLUMNS} FROM replication_jobs WHERE id = ?1"))?
        .query_row([job_id], ReplicationJob::from_row)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("replication job {job_id:?} does not exist")))
}

/// The disk row of a context, if any.
pub(crate) fn load_disk(conn: &Connection, context_id: &str, disk_id: &str) -> Result<Option<Disk>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {DISK_COLUMNS} FROM vm_disks WHERE vm_context_id = ?1 AND disk_id = ?2"))?
        .query_row([context_id, disk_id], Disk::from_row)
        .optional()?)
}

/// After a single-row update of an active job changed nothing: why (NOT_FOUND or the job is
/// final).
fn explain_inactive(conn: &Connection, job_id: &str, what: &str) -> Error {
    match load_job(&crate::store::Tx::new(conn), job_id) {
        Ok(job) => Error::invalid_state(format!(
            "replication job {job_id} is {}; a late {what} cannot change a finished job",
            job.status
        )),
        Err(e) => e,
    }
}

impl Store {
    /// Start a replication job: checks the context may replicate and has no active job,
    /// upserts its disk rows (keeping their change ids), resolves `auto`, inserts the job, and
    /// moves the context to `replicating` pointing at it, all in one transaction. Returns the
    /// job id. A second start while a job is active is CONFLICT naming that job.
    pub fn replication_start(&self, start: &StartJob) -> Result<String> {
        start.validate()?;
        self.write(|tx| {
            let now = self.now_ms();
            let ctx = context::load(&crate::store::Tx::new(tx), &start.context_id)?;
            if let Some(active) = &ctx.current_job_id {
                return Err(Error::conflict(format!(
                    "context {} already has an active replication job {active}",
                    ctx.context_id
                )));
            }
            if !ctx.current_status.can_move_to(ContextStatus::Replicating) {
                return Err(Error::invalid_state(format!(
                    "context {} cannot move from {} to replicating: a replication job can start only from \
                     discovered, ready_for_failover or failed",
                    ctx.context_id, ctx.current_status
                )));
            }
            if let Some(id) = start.ossea_config_id {
                require_row(tx, "ossea_configs", "id", &id, &format!("ossea config {id}"))?;
            }
            if let Some(id) = &start.schedule_execution_id {
                require_row(tx, "schedule_executions", "id", id, &format!("schedule execution {id:?}"))?;
            }
            if let Some(id) = &start.vm_group_id {
                require_row(tx, "vm_machine_groups", "id", id, &format!("machine group {id:?}"))?;
            }
            for id in start.disks.iter().filter_map(|d| d.ossea_volume_id) {
                require_row(tx, "ossea_volumes", "id", &id, &format!("ossea volume {id}"))?;
            }
            let job_id = match &start.id {
                Some(id) => {
                    let taken: Option<String> = tx
                        .prepare_cached("SELECT vm_context_id FROM replication_jobs WHERE id = ?1")?
                        .query_row([id], |r| r.get(0))
                        .optional()?;
                    if let Some(owner) = taken {
                        return Err(Error::already_exists(format!(
                            "replication job {id} already exists (context {owner})"
                        )));
                    }
                    id.clone()
                }
                None => new_id(),
            };
            let recorded: Vec<(String, Option<String>)> = tx
                .prepare_cached("SELECT disk_id, disk_change_id FROM vm_disks WHERE vm_context_id = ?1")?
                .query_map([&ctx.context_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut usable_bases = 0;
            let mut missing_base = None;
            for d in &start.disks {
                let base = recorded.iter().find(|(id, _)| *id == d.disk_id).and_then(|(_, c)| c.as_deref());
                if base.is_some_and(|b| ChangeId::parse(b).is_ok()) {
                    usable_bases += 1;
                } else if missing_base.is_none() {
                    missing_base = Some(d.disk_id.clone());
                }
            }
            let replication_type = match start.replication_type.unwrap_or(RequestedType::Auto) {
                RequestedType::Initial => ReplicationType::Initial,
                RequestedType::Incremental if usable_bases == 0 => {
                    return Err(Error::invalid_state(format!(
                        "an incremental job needs a recorded change id, and no disk of context {} has one \
                         (first without: {})",
                        ctx.context_id,
                        missing_base.unwrap_or_default()
                    )))
                }
                RequestedType::Incremental => ReplicationType::Incremental,
                RequestedType::Auto if usable_bases > 0 => ReplicationType::Incremental,
                RequestedType::Auto => ReplicationType::Initial,
            };
            tx.prepare_cached(
                "INSERT INTO replication_jobs (id, vm_context_id, source_vm_id, source_vm_name, source_vm_path, \
                 v_center_host, datacenter, replication_type, target_network, status, snapshot_id, nbd_port, \
                 nbd_export_name, target_device, ossea_config_id, created_at, updated_at, schedule_execution_id, \
                 scheduled_by, vm_group_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16, ?17, ?18)",
            )?
            .execute(params![
                job_id,
                ctx.context_id,
                ctx.vmware_vm_id,
                ctx.vm_name,
                ctx.vm_path,
                ctx.vcenter_host,
                ctx.datacenter,
                replication_type,
                start.target_network,
                start.snapshot_id,
                start.nbd_port,
                start.nbd_export_name,
                start.target_device,
                start.ossea_config_id,
                now,
                start.schedule_execution_id,
                start.scheduled_by,
                start.vm_group_id,
            ])
            ?;
            let mut upsert = tx.prepare_cached(
                "INSERT INTO vm_disks (vm_context_id, job_id, disk_id, vm_dk_path, size_gb, datastore, unit_number, \
                 label, capacity_bytes, provisioning_type, ossea_volume_id, network_config, sync_status, \
                 sync_progress_percent, bytes_synced, created_at, updated_at, cpu_count, memory_mb, os_type, \
                 vm_tools_version, display_name, power_state, vmware_uuid) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'pending', 0, 0, ?13, ?13, ?14, ?15, ?16, \
                 ?17, ?18, ?19, ?20) \
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
            )?;
            for d in &start.disks {
                upsert.execute(params![
                    ctx.context_id,
                    job_id,
                    d.disk_id,
                    d.vm_dk_path,
                    d.size_gb,
                    d.datastore,
                    d.unit_number,
                    d.label,
                    d.capacity_bytes,
                    d.provisioning_type,
                    d.ossea_volume_id,
                    d.network_config.as_ref().map(|j| j.to_string()),
                    now,
                    ctx.cpu_count.unwrap_or(0),
                    ctx.memory_mb.unwrap_or(0),
                    ctx.os_type,
                    ctx.vm_tools_version,
                    ctx.vm_name,
                    ctx.power_state,
                    ctx.vmware_vm_id,
                ])?;
            }
            // Into replicating (the edge was checked above), pointing at the job, with the
            // counters a recompute gives after inserting one job.
            tx.prepare_cached(
                "UPDATE vm_replication_contexts SET current_status = 'replicating', last_status_change = ?3, \
                 current_job_id = ?2, total_jobs_run = total_jobs_run + 1, \
                 first_job_at = CASE WHEN first_job_at IS NULL OR first_job_at > ?3 THEN ?3 ELSE first_job_at END, \
                 last_job_at = CASE WHEN last_job_at IS NULL OR last_job_at < ?3 THEN ?3 ELSE last_job_at END, \
                 updated_at = ?3 WHERE context_id = ?1",
            )?
            .execute(params![ctx.context_id, job_id, now])?;
            Ok(job_id)
        })
    }

    /// The job with this id.
    pub fn replication_get(&self, job_id: &str) -> Result<ReplicationJob> {
        self.read(|tx| load_job(&crate::store::Tx::new(tx), job_id))
    }

    /// Jobs matching `filter`, newest first.
    pub fn replication_list(&self, filter: &JobFilter) -> Result<Vec<ReplicationJob>> {
        let query = Select::new(JOB_COLUMNS, "replication_jobs")
            .eq("vm_context_id", filter.context_id.as_ref())
            .eq("status", filter.status)
            .order("created_at DESC, id DESC", Some((filter.limit.unwrap_or(100), filter.offset.unwrap_or(0))));
        self.read(|tx| query.rows(tx, ReplicationJob::from_row))
    }

    /// Move a job along its status machine. `error_message` is stored when given (and is the
    /// reason of a failure). `replicating` stamps started_at; a terminal status stamps
    /// completed_at and releases the context in the same transaction (completed ->
    /// ready_for_failover, failed -> failed, cancelled -> ready_for_failover when the context
    /// has a completed job, else discovered) with its counters. Setting the status a job
    /// already has changes nothing.
    pub fn replication_set_status(
        &self,
        job_id: &str,
        status: JobStatus,
        error_message: Option<&str>,
    ) -> Result<ReplicationJob> {
        self.write(|tx| {
            let now = self.now_ms();
            let job = load_job(&crate::store::Tx::new(tx), job_id)?;
            if job.status == status {
                return Ok(job);
            }
            job.status.check_move(status).map_err(|e| e.context(format!("job {job_id}")))?;
            tx.prepare_cached(
                "UPDATE replication_jobs SET status = ?2, error_message = COALESCE(?3, error_message), updated_at = ?4, \
                 started_at = CASE WHEN ?2 = 'replicating' AND started_at IS NULL THEN ?4 ELSE started_at END, \
                 completed_at = CASE WHEN ?5 THEN ?4 ELSE completed_at END WHERE id = ?1",
            )?
            .execute(params![job_id, status, error_message, now, status.is_terminal()])?;
            if status.is_terminal() {
                release_context(tx, &job, status, now)?;
            }
            load_job(&crate::store::Tx::new(tx), job_id)
        })
    }

    /// Record progress of an active job: one single-row update (the hot path). Refuses a
    /// finished job (INVALID_STATE: a late report never changes it) and out-of-range values.
    pub fn replication_progress(&self, job_id: &str, progress: &Progress) -> Result<()> {
        progress.validate()?;
        let now = self.now_ms();
        self.autocommit_raw(|conn| {
            let n = conn
                .prepare_cached(&format!(
                    "UPDATE replication_jobs SET progress_percent = ?2, bytes_transferred = ?3, total_bytes = ?4, \
                     transfer_speed_bps = ?5, current_operation = COALESCE(?6, current_operation), updated_at = ?7 \
                     WHERE id = ?1 AND status NOT IN {TERMINAL_STATUSES_SQL}"
                ))?
                .execute(params![
                    job_id,
                    progress.percent,
                    progress.bytes_transferred,
                    progress.total_bytes,
                    progress.speed_bps,
                    progress.current_operation,
                    now
                ])?;
            if n == 0 {
                return Err(explain_inactive(conn, job_id, "progress report"));
            }
            Ok(())
        })
    }

    /// Record what the capture appliance reported for an active job; stamps vma_last_poll_at.
    pub fn replication_vma_progress(&self, job_id: &str, vma: &VmaProgress) -> Result<()> {
        vma.validate()?;
        let now = self.now_ms();
        self.autocommit_raw(|conn| {
            let n = conn
                .prepare_cached(&format!(
                    "UPDATE replication_jobs SET vma_sync_type = COALESCE(?2, vma_sync_type), \
                     vma_current_phase = COALESCE(?3, vma_current_phase), \
                     vma_throughput_mbps = COALESCE(?4, vma_throughput_mbps), \
                     vma_eta_seconds = COALESCE(?5, vma_eta_seconds), \
                     vma_error_classification = COALESCE(?6, vma_error_classification), \
                     vma_error_details = COALESCE(?7, vma_error_details), \
                     setup_progress_percent = COALESCE(?8, setup_progress_percent), \
                     vma_last_poll_at = ?9, updated_at = ?9 \
                     WHERE id = ?1 AND status NOT IN {TERMINAL_STATUSES_SQL}"
                ))?
                .execute(params![
                    job_id,
                    vma.vma_sync_type,
                    vma.vma_current_phase,
                    vma.vma_throughput_mbps,
                    vma.vma_eta_seconds,
                    vma.vma_error_classification,
                    vma.vma_error_details,
                    vma.setup_progress_percent,
                    now
                ])?;
            if n == 0 {
                return Err(explain_inactive(conn, job_id, "VMA progress report"));
            }
            Ok(())
        })
    }

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
        self.autocommit_raw(|conn| {
            let n = conn
                .prepare_cached(&format!(
                    "UPDATE vm_disks SET sync_progress_percent = ?3, bytes_synced = ?4, \
                     sync_status = COALESCE(?5, sync_status), updated_at = ?6 \
                     WHERE job_id = ?1 AND disk_id = ?2 \
                     AND EXISTS (SELECT 1 FROM replication_jobs WHERE id = ?1 AND status NOT IN {TERMINAL_STATUSES_SQL})"
                ))?
                .execute(params![job_id, disk_id, percent, bytes_synced, sync_status, now])?;
            if n == 0 {
                let job = load_job(&crate::store::Tx::new(conn), job_id)?;
                if job.status.is_terminal() {
                    return Err(explain_inactive(conn, job_id, "disk progress report"));
                }
                return Err(Error::not_found(format!("replication job {job_id} has no disk {disk_id}")));
            }
            Ok(())
        })
    }

    /// The disk rows of a context, by disk_id.
    pub fn replication_disks(&self, context_id: &str) -> Result<Vec<Disk>> {
        self.read(|tx| {
            context::load(&crate::store::Tx::new(tx), context_id)?;
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {DISK_COLUMNS} FROM vm_disks WHERE vm_context_id = ?1 ORDER BY disk_id"
            ))?;
            let rows = stmt.query_map([context_id], Disk::from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Delete a finished job. Its disk rows and their change ids stay (they belong to the
    /// context), its CBT history stays (unlinked), and the context's counters are recomputed.
    /// An active job is CONFLICT: cancel or fail it first.
    pub fn replication_delete(&self, job_id: &str) -> Result<()> {
        self.write(|tx| {
            let now = self.now_ms();
            let job = load_job(&crate::store::Tx::new(tx), job_id)?;
            if !job.status.is_terminal() {
                return Err(Error::conflict(format!(
                    "replication job {job_id} is {} (active); cancel or fail it before deleting it",
                    job.status
                )));
            }
            tx.prepare_cached("DELETE FROM replication_jobs WHERE id = ?1")?.execute([job_id])?;
            context::recompute_counters(tx, &job.vm_context_id, now)
        })
    }

    /// Active jobs whose last update (progress, status) is older than `older_than_ms`
    /// milliseconds, oldest first; served by the (status, updated_at) index.
    pub fn replication_stale(&self, older_than_ms: i64) -> Result<Vec<ReplicationJob>> {
        check_non_negative(&[("older_than_ms", older_than_ms)])?;
        let cutoff = self.now_ms().saturating_sub(older_than_ms);
        self.read(|tx| stale_jobs(tx, cutoff))
    }

    /// Fail every stale job (see [`Store::replication_stale`]) with `reason`, releasing their
    /// contexts; one transaction. Returns the ids of the jobs failed.
    pub fn replication_fail_stale(&self, older_than_ms: i64, reason: &str) -> Result<Vec<String>> {
        check_non_negative(&[("older_than_ms", older_than_ms)])?;
        if reason.trim().is_empty() {
            return Err(Error::invalid_argument("the reason is empty: say why the jobs are failed"));
        }
        self.write(|tx| {
            let now = self.now_ms();
            let stale = stale_jobs(tx, now.saturating_sub(older_than_ms))?;
            for job in &stale {
                tx.prepare_cached(
                    "UPDATE replication_jobs SET status = 'failed', error_message = ?2, updated_at = ?3, \
                     completed_at = ?3 WHERE id = ?1",
                )?
                .execute(params![job.id, reason, now])?;
                release_context(tx, job, JobStatus::Failed, now)?;
            }
            Ok(stale.into_iter().map(|j| j.id).collect())
        })
    }
}

/// Active jobs last updated before `cutoff`, oldest first; served by the (status, updated_at)
/// index.
fn stale_jobs(conn: &Connection, cutoff: i64) -> Result<Vec<ReplicationJob>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {JOB_COLUMNS} FROM replication_jobs WHERE status IN {ACTIVE_STATUSES_SQL} AND updated_at < ?1 \
         ORDER BY updated_at, id"
    ))?;
    let rows = stmt.query_map([cutoff], ReplicationJob::from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// A job reached the terminal `status`: move its context out of `replicating` and update its
/// counters and pointers with what a recompute from the job rows gives.
fn release_context(conn: &Connection, job: &ReplicationJob, status: JobStatus, now: i64) -> Result<()> {
    let ctx = context::load(&crate::store::Tx::new(conn), &job.vm_context_id)?;
    let had_success = status == JobStatus::Completed || ctx.successful_jobs > 0;
    let to = status.context_after(had_success).expect("terminal status");
    if ctx.current_status == ContextStatus::Replicating {
        context::move_status(conn, &ctx, to, now)?;
    }
    // last_successful_job_id is the newest completed job by (completed_at, created_at, id),
    // the order the recompute uses; comparing with the current pointer keeps it so even when
    // two jobs complete in the same millisecond.
    conn.prepare_cached(
        "UPDATE vm_replication_contexts SET current_job_id = NULL, \
         successful_jobs = successful_jobs + (?2 = 'completed'), failed_jobs = failed_jobs + (?2 = 'failed'), \
         last_successful_job_id = CASE \
           WHEN ?2 <> 'completed' THEN last_successful_job_id \
           WHEN last_successful_job_id IS NULL THEN ?3 \
           WHEN (SELECT completed_at, created_at, id FROM replication_jobs WHERE id = last_successful_job_id) \
                > (?4, ?5, ?3) THEN last_successful_job_id \
           ELSE ?3 END, \
         updated_at = ?4 WHERE context_id = ?1",
    )?
    .execute(params![ctx.context_id, status, job.id, now, job.created_at])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use JobStatus::*;

    #[test]
    fn active_set_is_every_non_terminal_status_and_matches_the_sql_list() {
        let non_terminal: Vec<JobStatus> = JobStatus::ALL.iter().copied().filter(|s| !s.is_terminal()).collect();
        assert_eq!(non_terminal, JobStatus::ACTIVE);
        let terminal: Vec<String> =
            JobStatus::ALL.iter().filter(|s| s.is_terminal()).map(|s| format!("'{s}'")).collect();
        assert_eq!(TERMINAL_STATUSES_SQL.split_whitespace().collect::<String>(), format!("({})", terminal.join(",")));
        let sql: Vec<String> = JobStatus::ACTIVE.iter().map(|s| format!("'{s}'")).collect();
        assert_eq!(ACTIVE_STATUSES_SQL.split_whitespace().collect::<String>(), format!("({})", sql.join(",")));
        let schema = include_str!("../store/sql/v1.sql").split_whitespace().collect::<String>();
        let needle = format!("WHEREstatusIN({})", sql.join(","));
        assert_eq!(schema.matches(&needle).count(), 1, "the partial unique index uses the same active set");
    }

    #[test]
    fn jobs_move_forward_only_and_terminal_is_final() {
        assert!(Pending.can_move_to(Initializing));
        assert!(Pending.can_move_to(Replicating), "steps may be skipped");
        assert!(!Replicating.can_move_to(Snapshotting), "never backwards");
        assert!(!Replicating.can_move_to(Replicating));
        for active in JobStatus::ACTIVE {
            assert!(active.can_move_to(Failed) && active.can_move_to(Cancelled), "{active}");
        }
        for terminal in [Completed, Failed, Cancelled] {
            for to in JobStatus::ALL {
                assert!(!terminal.can_move_to(*to), "{terminal} -> {to}");
            }
        }
        let e = Completed.check_move(Replicating).unwrap_err();
        assert_eq!(e.message(), "a replication job cannot move from completed to replicating: completed is final");
        let e = Finalizing.check_move(Pending).unwrap_err();
        assert!(e.message().contains("from finalizing to pending"), "{e}");
    }

    #[test]
    fn terminal_statuses_release_the_context_to_the_documented_status() {
        assert_eq!(Completed.context_after(false), Some(ContextStatus::ReadyForFailover));
        assert_eq!(Failed.context_after(true), Some(ContextStatus::Failed));
        assert_eq!(Cancelled.context_after(false), Some(ContextStatus::Discovered));
        assert_eq!(Cancelled.context_after(true), Some(ContextStatus::ReadyForFailover));
        assert_eq!(Replicating.context_after(true), None);
        for s in [Completed, Failed, Cancelled] {
            for had in [false, true] {
                let to = s.context_after(had).unwrap();
                assert!(ContextStatus::Replicating.can_move_to(to), "{s} -> {to}");
            }
        }
    }

    #[test]
    fn progress_is_validated() {
        let ok =
            Progress { percent: 50.0, bytes_transferred: 5, total_bytes: 10, speed_bps: 1, current_operation: None };
        assert!(ok.validate().is_ok());
        let cases = [
            (Progress { percent: 100.5, ..ok.clone() }, "percent 100.5 is outside 0-100"),
            (Progress { percent: f64::NAN, ..ok.clone() }, "percent NaN is outside 0-100"),
            (Progress { bytes_transferred: 11, ..ok.clone() }, "bytes_transferred 11 exceeds total_bytes 10"),
            (Progress { speed_bps: -1, ..ok.clone() }, "speed_bps is negative (-1)"),
        ];
        for (p, msg) in cases {
            assert_eq!(p.validate().unwrap_err().message(), msg);
        }
        assert!(Progress { bytes_transferred: 11, total_bytes: 0, ..ok }.validate().is_ok(), "unknown total");
    }

    #[test]
    fn start_requests_are_validated() {
        let disk = DiskSpec::new("disk-2000", "[ds] a.vmdk", 10);
        let mut s = StartJob::new("ctx", vec![disk.clone(), disk.clone()]);
        assert_eq!(s.validate().unwrap_err().message(), "disk disk-2000 is listed twice");
        s.disks = vec![];
        assert_eq!(s.validate().unwrap_err().message(), "a replication job needs at least one disk");
        s.disks = vec![DiskSpec::new("2000", "[ds] a.vmdk", 10)];
        assert!(s.validate().unwrap_err().message().contains("disk-<VMware device key>"));
        s.disks = vec![disk];
        s.nbd_port = Some(70000);
        assert!(s.validate().unwrap_err().message().contains("nbd_port 70000"));
        let e = crate::value::from_json::<StartJob>("start", r#"{"context_id":"c","disks":[],"speed":1}"#).unwrap_err();
        assert!(e.message().contains("unknown field `speed`"), "{e}");
    }
}
