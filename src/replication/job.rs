//! Replication jobs (docs/DOMAIN.md section 2); their disk rows are the disk module's.
//!
//! Rules enforced here:
//! - one active job per context: starting a job, pointing the context at it and moving the
//!   context to `replicating` is one transaction; a second start is CONFLICT (a partial unique
//!   index backs this up across processes);
//! - the active set is [`JobStatus::ACTIVE`], defined once: the SQL lists the statements use
//!   are built from it, and the schema's copies (the partial unique index, the
//!   `vm_schedule_status` view) are checked against it by a test;
//! - the job status machine ([`JobStatus::check_move`]): forward only, terminal states are
//!   final, and every terminal transition releases the context in the same transaction;
//! - progress is a single-row update that never touches a terminal job;
//! - a stale job (active, not updated for a while) can be failed in bulk, releasing its
//!   context like any failure.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::error::{echo, Error, Result};
use crate::replication::context::{self, ContextStatus};
use crate::replication::{recorded_change_ids, upsert_disks, ChangeId, DiskSpec};
use crate::store::query::{require_row, Select};
use crate::store::{Params, Store, Tx};
use crate::value::{check_bytes_within, check_id, check_non_negative, check_percent, new_id, Timestamp};
use crate::{params, record, string_enum};

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

impl JobStatus {
    /// Every active (non-terminal) status, in lifecycle order: the library's one definition
    /// of the active set. `ACTIVE_STATUSES_SQL` and `TERMINAL_STATUSES_SQL` are built from
    /// it; the schema's partial unique index and `vm_schedule_status` view carry the same list
    /// (a test compares them).
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

    /// completed, failed and cancelled (every status not in [`JobStatus::ACTIVE`]) are
    /// terminal: final and releasing the context.
    pub fn is_terminal(self) -> bool {
        !JobStatus::ACTIVE.contains(&self)
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

/// The active set ([`JobStatus::ACTIVE`]) as an SQL list, `('pending', ..., 'finalizing')`,
/// built once.
pub(crate) static ACTIVE_STATUSES_SQL: LazyLock<String> = LazyLock::new(|| sql_list(JobStatus::ACTIVE));

/// The terminal statuses (the complement of the active set) as an SQL list, built once:
/// `status NOT IN` this list is the active set in the hot-path updates (three comparisons
/// instead of ten; equivalent under the column's CHECK).
pub(crate) static TERMINAL_STATUSES_SQL: LazyLock<String> = LazyLock::new(|| {
    let terminal: Vec<JobStatus> = JobStatus::ALL.iter().copied().filter(|s| s.is_terminal()).collect();
    sql_list(&terminal)
});

/// `('a', 'b', ...)`: statuses as an SQL list (their texts need no escaping).
fn sql_list(statuses: &[JobStatus]) -> String {
    let quoted: Vec<String> = statuses.iter().map(|s| format!("'{s}'")).collect();
    format!("({})", quoted.join(", "))
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

record! {
    /// A `replication_jobs` row. JSON keys are the column names (docs/SCHEMA.md documents each).
    #[allow(missing_docs)]
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct ReplicationJob in "replication_jobs" {
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
                return Err(Error::invalid_argument(format!("disk {} is listed twice", echo(&d.disk_id))));
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
                    "{:?} is not a valid vma_sync_type (expected one of: initial, incremental, full)",
                    echo(t)
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
                    "{:?} is not a valid vma_error_classification (expected one of: {})",
                    echo(c),
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
    tx.record("WHERE id = :job_id", params![job_id])?
        .ok_or_else(|| Error::not_found(format!("replication job {:?} does not exist", echo(job_id))))
}

/// After a single-row update of an active job changed nothing: why (NOT_FOUND or the job is
/// final).
pub(crate) fn explain_inactive(tx: &Tx<'_>, job_id: &str, what: &str) -> Error {
    match load_job(tx, job_id) {
        Ok(job) => Error::invalid_state(format!(
            "replication job {} is {}; a late {what} cannot change a finished job",
            echo(job_id),
            job.status
        )),
        Err(e) => e,
    }
}

/// The statement of [`Store::replication_progress`] (the hot path), built once.
static PROGRESS_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE replication_jobs SET progress_percent = :percent, bytes_transferred = :bytes_transferred, \
         total_bytes = :total_bytes, transfer_speed_bps = :speed_bps, \
         current_operation = COALESCE(:current_operation, current_operation), updated_at = :now \
         WHERE id = :job_id AND status NOT IN {}",
        *TERMINAL_STATUSES_SQL
    )
});

/// The statement of [`Store::replication_vma_progress`], built once.
static VMA_PROGRESS_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE replication_jobs SET vma_sync_type = COALESCE(:vma_sync_type, vma_sync_type), \
         vma_current_phase = COALESCE(:vma_current_phase, vma_current_phase), \
         vma_throughput_mbps = COALESCE(:vma_throughput_mbps, vma_throughput_mbps), \
         vma_eta_seconds = COALESCE(:vma_eta_seconds, vma_eta_seconds), \
         vma_error_classification = COALESCE(:vma_error_classification, vma_error_classification), \
         vma_error_details = COALESCE(:vma_error_details, vma_error_details), \
         setup_progress_percent = COALESCE(:setup_progress_percent, setup_progress_percent), \
         vma_last_poll_at = :now, updated_at = :now \
         WHERE id = :job_id AND status NOT IN {}",
        *TERMINAL_STATUSES_SQL
    )
});

/// The `WHERE` of [`stale_jobs`], built once.
static STALE_WHERE: LazyLock<String> = LazyLock::new(|| {
    format!("WHERE status IN {} AND updated_at < :cutoff ORDER BY updated_at, id", *ACTIVE_STATUSES_SQL)
});

impl Store {
    /// Start a replication job: checks the context may replicate and has no active job,
    /// upserts its disk rows (keeping their change ids), resolves `auto`, inserts the job, and
    /// moves the context to `replicating` pointing at it, all in one transaction. Returns the
    /// job id. A second start while a job is active is CONFLICT naming that job. A taken `id`
    /// is ALREADY_EXISTS naming it (checked first), so a start with an id is safe to retry
    /// after [`crate::Status::CommitUnknown`].
    pub fn replication_start(&self, start: &StartJob) -> Result<String> {
        start.validate()?;
        self.writing(|tx| {
            let now = self.now_ms();
            // A taken id first: a retry of a start that was applied (after COMMIT_UNKNOWN)
            // is ALREADY_EXISTS naming the job, not CONFLICT with itself as the active job.
            let job_id = match &start.id {
                Some(id) => {
                    let taken: Option<String> =
                        tx.optional("SELECT vm_context_id FROM replication_jobs WHERE id = :id", params![id], |r| {
                            r.get(0)
                        })?;
                    if let Some(owner) = taken {
                        return Err(Error::already_exists(format!(
                            "replication job {} already exists (context {owner})",
                            echo(id)
                        )));
                    }
                    id.clone()
                }
                None => new_id(),
            };
            let ctx = context::load(tx, &start.context_id)?;
            if let Some(active) = &ctx.current_job_id {
                return Err(Error::conflict(format!(
                    "context {} already has an active replication job {active}",
                    ctx.context_id
                )));
            }
            if let Some((failover, status)) = context::active_failover(tx, &ctx.context_id)? {
                return Err(Error::conflict(format!(
                    "context {} has an active failover {failover} ({status}): a replication job cannot start \
                     until it completes or fails",
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
                require_row(tx, "schedule_executions", "id", id, &format!("schedule execution {:?}", echo(id)))?;
            }
            if let Some(id) = &start.vm_group_id {
                require_row(tx, "vm_machine_groups", "id", id, &format!("machine group {:?}", echo(id)))?;
            }
            for id in start.disks.iter().filter_map(|d| d.ossea_volume_id) {
                require_row(tx, "ossea_volumes", "id", &id, &format!("ossea volume {id}"))?;
            }
            let recorded = recorded_change_ids(tx, &ctx.context_id)?;
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
            tx.execute(
                "INSERT INTO replication_jobs (id, vm_context_id, source_vm_id, source_vm_name, source_vm_path, \
                 v_center_host, datacenter, replication_type, target_network, status, snapshot_id, nbd_port, \
                 nbd_export_name, target_device, ossea_config_id, created_at, updated_at, schedule_execution_id, \
                 scheduled_by, vm_group_id) \
                 VALUES (:id, :vm_context_id, :source_vm_id, :source_vm_name, :source_vm_path, :v_center_host, \
                 :datacenter, :replication_type, :target_network, 'pending', :snapshot_id, :nbd_port, \
                 :nbd_export_name, :target_device, :ossea_config_id, :now, :now, :schedule_execution_id, \
                 :scheduled_by, :vm_group_id)",
                params![
                    id = job_id,
                    vm_context_id = ctx.context_id,
                    source_vm_id = ctx.vmware_vm_id,
                    source_vm_name = ctx.vm_name,
                    source_vm_path = ctx.vm_path,
                    v_center_host = ctx.vcenter_host,
                    datacenter = ctx.datacenter,
                    replication_type,
                    target_network = start.target_network,
                    snapshot_id = start.snapshot_id,
                    nbd_port = start.nbd_port,
                    nbd_export_name = start.nbd_export_name,
                    target_device = start.target_device,
                    ossea_config_id = start.ossea_config_id,
                    now,
                    schedule_execution_id = start.schedule_execution_id,
                    scheduled_by = start.scheduled_by,
                    vm_group_id = start.vm_group_id,
                ],
            )?;
            upsert_disks(tx, &ctx, &job_id, &start.disks, now)?;
            // Into replicating (the edge was checked above), pointing at the job, with the
            // counters a recompute gives after inserting one job.
            tx.execute(
                "UPDATE vm_replication_contexts SET current_status = 'replicating', last_status_change = :now, \
                 current_job_id = :job_id, total_jobs_run = total_jobs_run + 1, \
                 first_job_at = CASE WHEN first_job_at IS NULL OR first_job_at > :now THEN :now ELSE first_job_at END, \
                 last_job_at = CASE WHEN last_job_at IS NULL OR last_job_at < :now THEN :now ELSE last_job_at END, \
                 updated_at = :now WHERE context_id = :context_id",
                params![context_id = ctx.context_id, job_id, now],
            )?;
            Ok(job_id)
        })
    }

    /// The job with this id.
    pub fn replication_get(&self, job_id: &str) -> Result<ReplicationJob> {
        self.reading(|tx| load_job(tx, job_id))
    }

    /// Jobs matching `filter`, newest first.
    pub fn replication_list(&self, filter: &JobFilter) -> Result<Vec<ReplicationJob>> {
        let query = Select::records::<ReplicationJob>()
            .eq("vm_context_id", filter.context_id.as_ref())
            .eq("status", filter.status)
            .order("created_at DESC, id DESC", Some((filter.limit.unwrap_or(100), filter.offset.unwrap_or(0))));
        self.reading(|tx| query.records_in(tx))
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
        self.writing(|tx| {
            let now = self.now_ms();
            let job = load_job(tx, job_id)?;
            if job.status == status {
                return Ok(job);
            }
            job.status.check_move(status).map_err(|e| e.context(format!("job {}", echo(job_id))))?;
            tx.execute(
                "UPDATE replication_jobs SET status = :status, error_message = COALESCE(:error_message, error_message), \
                 updated_at = :now, \
                 started_at = CASE WHEN :status = 'replicating' AND started_at IS NULL THEN :now ELSE started_at END, \
                 completed_at = CASE WHEN :terminal THEN :now ELSE completed_at END WHERE id = :job_id",
                params![job_id, status, error_message, now, terminal = status.is_terminal()],
            )?;
            if status.is_terminal() {
                release_context(tx, &job, status, now)?;
            }
            load_job(tx, job_id)
        })
    }

    /// Record progress of an active job: one single-row update (the hot path). Refuses a
    /// finished job (INVALID_STATE: a late report never changes it) and out-of-range values.
    pub fn replication_progress(&self, job_id: &str, progress: &Progress) -> Result<()> {
        progress.validate()?;
        let now = self.now_ms();
        self.update_active_job(
            job_id,
            &PROGRESS_SQL,
            params![
                job_id,
                percent = progress.percent,
                bytes_transferred = progress.bytes_transferred,
                total_bytes = progress.total_bytes,
                speed_bps = progress.speed_bps,
                current_operation = progress.current_operation,
                now
            ],
            "progress report",
        )
    }

    /// Record what the capture appliance reported for an active job; stamps vma_last_poll_at.
    pub fn replication_vma_progress(&self, job_id: &str, vma: &VmaProgress) -> Result<()> {
        vma.validate()?;
        let now = self.now_ms();
        self.update_active_job(
            job_id,
            &VMA_PROGRESS_SQL,
            params![
                job_id,
                vma_sync_type = vma.vma_sync_type,
                vma_current_phase = vma.vma_current_phase,
                vma_throughput_mbps = vma.vma_throughput_mbps,
                vma_eta_seconds = vma.vma_eta_seconds,
                vma_error_classification = vma.vma_error_classification,
                vma_error_details = vma.vma_error_details,
                setup_progress_percent = vma.setup_progress_percent,
                now
            ],
            "VMA progress report",
        )
    }

    /// Run `sql`, a single-statement update of the active job `job_id` (a hot path), outside
    /// an explicit transaction; when it changes nothing, say why (see [`explain_inactive`]).
    fn update_active_job(&self, job_id: &str, sql: &str, params: Params<'_>, what: &str) -> Result<()> {
        self.autocommit(|tx| {
            if tx.execute(sql, params)? == 0 {
                return Err(explain_inactive(tx, job_id, what));
            }
            Ok(())
        })
    }

    /// Delete a finished job. Its disk rows and their change ids stay (they belong to the
    /// context), its CBT history stays (unlinked), and the context's counters are recomputed.
    /// An active job is CONFLICT: cancel or fail it first.
    pub fn replication_delete(&self, job_id: &str) -> Result<()> {
        self.writing(|tx| {
            let now = self.now_ms();
            let job = load_job(tx, job_id)?;
            if !job.status.is_terminal() {
                return Err(Error::conflict(format!(
                    "replication job {} is {} (active); cancel or fail it before deleting it",
                    echo(job_id),
                    job.status
                )));
            }
            tx.execute("DELETE FROM replication_jobs WHERE id = :job_id", params![job_id])?;
            context::recompute_counters(tx, &job.vm_context_id, now)
        })
    }

    /// Active jobs whose last update (progress, status) is older than `older_than_ms`
    /// milliseconds, oldest first; served by the (status, updated_at) index.
    pub fn replication_stale(&self, older_than_ms: i64) -> Result<Vec<ReplicationJob>> {
        check_non_negative(&[("older_than_ms", older_than_ms)])?;
        let cutoff = self.now_ms().saturating_sub(older_than_ms);
        self.reading(|tx| stale_jobs(tx, cutoff))
    }

    /// Fail every stale job (see [`Store::replication_stale`]) with `reason`, releasing their
    /// contexts; one transaction. Returns the ids of the jobs failed.
    pub fn replication_fail_stale(&self, older_than_ms: i64, reason: &str) -> Result<Vec<String>> {
        check_non_negative(&[("older_than_ms", older_than_ms)])?;
        if reason.trim().is_empty() {
            return Err(Error::invalid_argument("the reason is empty: say why the jobs are failed"));
        }
        self.writing(|tx| {
            let now = self.now_ms();
            let stale = stale_jobs(tx, now.saturating_sub(older_than_ms))?;
            for job in &stale {
                tx.execute(
                    "UPDATE replication_jobs SET status = 'failed', error_message = :reason, updated_at = :now, \
                     completed_at = :now WHERE id = :job_id",
                    params![job_id = job.id, reason, now],
                )?;
                release_context(tx, job, JobStatus::Failed, now)?;
            }
            Ok(stale.into_iter().map(|j| j.id).collect())
        })
    }
}

/// Active jobs last updated before `cutoff`, oldest first; served by the (status, updated_at)
/// index.
fn stale_jobs(tx: &Tx<'_>, cutoff: i64) -> Result<Vec<ReplicationJob>> {
    tx.records(&STALE_WHERE, params![cutoff])
}

/// A job reached the terminal `status`: move its context out of `replicating` and update its
/// counters and pointers with what a recompute from the job rows gives.
fn release_context(tx: &Tx<'_>, job: &ReplicationJob, status: JobStatus, now: i64) -> Result<()> {
    let ctx = context::load(tx, &job.vm_context_id)?;
    let had_success = status == JobStatus::Completed || ctx.successful_jobs > 0;
    let to = status.context_after(had_success).expect("terminal status");
    if ctx.current_status == ContextStatus::Replicating {
        context::move_status(tx, &ctx, to, now)?;
    }
    // last_successful_job_id is the newest completed job by (completed_at, created_at, id),
    // the order the recompute uses; comparing with the current pointer keeps it so even when
    // two jobs complete in the same millisecond.
    tx.execute(
        "UPDATE vm_replication_contexts SET current_job_id = NULL, \
         successful_jobs = successful_jobs + (:status = 'completed'), \
         failed_jobs = failed_jobs + (:status = 'failed'), \
         last_successful_job_id = CASE \
           WHEN :status <> 'completed' THEN last_successful_job_id \
           WHEN last_successful_job_id IS NULL THEN :job_id \
           WHEN (SELECT completed_at, created_at, id FROM replication_jobs WHERE id = last_successful_job_id) \
                > (:now, :created_at, :job_id) THEN last_successful_job_id \
           ELSE :job_id END, \
         updated_at = :now WHERE context_id = :context_id",
        params![context_id = ctx.context_id, status, job_id = job.id, now, created_at = job.created_at],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use JobStatus::*;

    /// The statuses of every `status IN (...)` list of `sql`, in order.
    fn status_lists(sql: &str) -> Vec<Vec<String>> {
        sql.split("status IN (")
            .skip(1)
            .map(|rest| {
                let list = &rest[..rest.find(')').expect("a closed list")];
                list.split(',').map(|s| s.trim().trim_matches('\'').to_string()).collect()
            })
            .collect()
    }

    fn active() -> Vec<String> {
        JobStatus::ACTIVE.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_sql_lists_are_built_from_the_active_set() {
        let terminal: Vec<JobStatus> = JobStatus::ALL.iter().copied().filter(|s| s.is_terminal()).collect();
        assert_eq!(terminal, [Completed, Failed, Cancelled]);
        assert_eq!(*TERMINAL_STATUSES_SQL, "('completed', 'failed', 'cancelled')");
        assert_eq!(status_lists(&format!("status IN {}", *ACTIVE_STATUSES_SQL)), [active()]);
    }

    #[test]
    fn the_schema_copies_of_the_active_set_equal_the_constant() {
        let store = Store::open_in_memory(crate::OpenOptions::default()).unwrap();
        for name in ["idx_replication_jobs_vm_context_id_active", "vm_schedule_status"] {
            let sql: String = store
                .reading(|tx| tx.one("SELECT sql FROM sqlite_schema WHERE name = :name", params![name], |r| r.get(0)))
                .unwrap();
            assert_eq!(status_lists(&sql), [active()], "{name}: {sql}");
        }
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
