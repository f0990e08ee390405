//! Failover jobs (docs/DOMAIN.md section 6; docs/SCHEMA.md section 2, `failover_jobs`).
//!
//! Rules enforced here (every refusal changes nothing):
//! - one id: a failover is created with the caller's id or a generated one (`job_id`), and
//!   every later call uses it; a taken id is ALREADY_EXISTS (checked first, so a start is safe
//!   to retry after COMMIT_UNKNOWN);
//! - start ([`Store::failover_start`]): the context must have no active replication job and no
//!   active failover (CONFLICT naming it), must be `ready_for_failover` (INVALID_STATE naming
//!   its status), must have the replication job whose data is used (default: its last
//!   successful one; refused when there is none), and every source network of the VM needs a
//!   mapping of the failover's kind that is not `invalid` (INVALID_STATE listing the networks).
//!   The VM name and spec and the network mappings of that kind are copied into the row;
//! - the status machine ([`FailoverStatus::check_move`], pure): pending -> validating ->
//!   snapshotting -> creating_vm -> switching_volume -> powering_on -> completed, one step at a
//!   time; any active status -> failed (through [`Store::failover_fail`], with the reason);
//!   the rollback path completed | failed -> cleanup ([`Store::failover_rollback`], see
//!   [`check_rollback`]) -> reverting -> completed. Terminal states are otherwise final;
//! - the context moves with its failover, in the same transaction: reaching completed moves it
//!   to `failed_over_test` / `failed_over_live`, completing a rollback moves it back to
//!   `ready_for_failover`, a commit ([`check_commit`]) moves a live failover's context to
//!   `completed`; a failure leaves the context's status alone;
//! - the devices move with their failover, in the same transaction: `switching_volume` switches
//!   every device mapping of the context to failover mode (paths cleared, exports removed, the
//!   port leases they held released), `reverting` switches them back to oma with the device
//!   paths (and exports) the caller gives ([`StepResults`]);
//! - every transition, failure, rollback and commit writes the context's
//!   `last_operation_summary` ([`Summary`]) in its transaction.
//!
//! Which rows say what: a completed failover whose context is `failed_over_<its type>` is in
//! place; one whose context has moved on was rolled back (or committed, context `completed`).
//! Only the context's newest failover can be rolled back, so an older row never pulls back the
//! devices a newer failover holds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{echo, Error, Result};
use crate::replication::context::{self, active_failover, Context, ContextStatus};
use crate::store::query::{require_row, Select};
use crate::store::{Store, Tx};
use crate::targets::device::{switch_mode, ModeSwitch, OperationMode};
use crate::targets::NewExport;
use crate::value::{check_id, new_id, Timestamp};
use crate::{params, record, string_enum};

string_enum! {
    /// The kind of a failover (`failover_jobs.job_type`).
    pub enum FailoverType: "failover type" {
        /// A test: the VM runs on CloudStack, then the failover is rolled back.
        Test = "test",
        /// The real migration: committed (final) or rolled back.
        Live = "live",
    }
}

impl FailoverType {
    /// The context status a completed failover of this kind puts its context in.
    pub fn context_status(self) -> ContextStatus {
        match self {
            FailoverType::Test => ContextStatus::FailedOverTest,
            FailoverType::Live => ContextStatus::FailedOverLive,
        }
    }
}

string_enum! {
    /// Lifecycle state of a failover (`failover_jobs.status`).
    #[allow(missing_docs)]
    pub enum FailoverStatus: "failover status" {
        Pending = "pending",
        Validating = "validating",
        Snapshotting = "snapshotting",
        CreatingVm = "creating_vm",
        SwitchingVolume = "switching_volume",
        PoweringOn = "powering_on",
        Completed = "completed",
        Failed = "failed",
        Cleanup = "cleanup",
        Reverting = "reverting",
    }
}

impl FailoverStatus {
    /// Every active status: all but completed and failed. The SQL condition the store uses
    /// (`replication::context::FAILOVER_ACTIVE_SQL`, shared with the replication area's start
    /// check) says the same; a test compares them.
    pub const ACTIVE: &'static [FailoverStatus] = &[
        FailoverStatus::Pending,
        FailoverStatus::Validating,
        FailoverStatus::Snapshotting,
        FailoverStatus::CreatingVm,
        FailoverStatus::SwitchingVolume,
        FailoverStatus::PoweringOn,
        FailoverStatus::Cleanup,
        FailoverStatus::Reverting,
    ];

    /// Whether the status is active (not completed or failed).
    pub fn is_active(self) -> bool {
        FailoverStatus::ACTIVE.contains(&self)
    }

    /// Whether the status belongs to the rollback path (cleanup, reverting).
    pub fn is_rollback(self) -> bool {
        matches!(self, FailoverStatus::Cleanup | FailoverStatus::Reverting)
    }

    /// The next step of the lifecycle, if the status has one.
    pub fn next(self) -> Option<FailoverStatus> {
        use FailoverStatus::*;
        match self {
            Pending => Some(Validating),
            Validating => Some(Snapshotting),
            Snapshotting => Some(CreatingVm),
            CreatingVm => Some(SwitchingVolume),
            SwitchingVolume => Some(PoweringOn),
            PoweringOn => Some(Completed),
            Cleanup => Some(Reverting),
            Reverting => Some(Completed),
            Completed | Failed => None,
        }
    }

    /// Whether the machine has the edge `self -> to` as a step: the next status, or failed from
    /// any active status. (completed | failed -> cleanup is a rollback, see [`check_rollback`].)
    pub fn can_move_to(self, to: FailoverStatus) -> bool {
        self.next() == Some(to) || (self.is_active() && to == FailoverStatus::Failed)
    }

    /// `Ok` when the machine has the step `self -> to`, else INVALID_STATE naming from and to
    /// and what is allowed.
    pub fn check_move(self, to: FailoverStatus) -> Result<()> {
        if self.can_move_to(to) {
            return Ok(());
        }
        let why = match (self, to) {
            (FailoverStatus::Completed | FailoverStatus::Failed, FailoverStatus::Cleanup) => {
                "a rollback starts with failover_rollback".to_string()
            }
            (FailoverStatus::Completed | FailoverStatus::Failed, _) => format!("{self} is final"),
            (_, _) => match self.next() {
                Some(next) => format!("the next step from {self} is {next} (or failed)"),
                None => format!("{self} is final"),
            },
        };
        Err(Error::invalid_state(format!("a failover cannot move from {self} to {to}: {why}")))
    }
}

/// `Ok` when a failover of `job_type` in `status`, whose context is in `context_status`, may be
/// rolled back (moved to cleanup), else INVALID_STATE saying why: only a completed or failed
/// failover, and a completed one only while its context is `failed_over_<type>` (after a
/// rollback the context is back in ready_for_failover: a second rollback is refused; after a
/// commit it is completed: the migration is final).
pub fn check_rollback(status: FailoverStatus, job_type: FailoverType, context_status: ContextStatus) -> Result<()> {
    match status {
        FailoverStatus::Failed => Ok(()),
        FailoverStatus::Completed if context_status == job_type.context_status() => Ok(()),
        FailoverStatus::Completed if context_status == ContextStatus::Completed => {
            Err(Error::invalid_state("the failover was committed: a committed live failover cannot be rolled back"))
        }
        FailoverStatus::Completed => Err(Error::invalid_state(format!(
            "the failover was already rolled back (its context is {context_status}, not {})",
            job_type.context_status()
        ))),
        _ => Err(Error::invalid_state(format!(
            "the failover is {status}: only a completed or failed failover can be rolled back"
        ))),
    }
}

/// `Ok` when a failover of `job_type` in `status`, whose context is in `context_status`, may be
/// committed, else INVALID_STATE saying why: only a completed live failover that is in place
/// (context `failed_over_live`).
pub fn check_commit(status: FailoverStatus, job_type: FailoverType, context_status: ContextStatus) -> Result<()> {
    if job_type != FailoverType::Live {
        return Err(Error::invalid_state("only a live failover can be committed (a test failover is rolled back)"));
    }
    if status != FailoverStatus::Completed {
        return Err(Error::invalid_state(format!("the failover is {status}: only a completed one can be committed")));
    }
    match context_status {
        ContextStatus::FailedOverLive => Ok(()),
        ContextStatus::Completed => Err(Error::invalid_state("the failover was already committed")),
        other => Err(Error::invalid_state(format!("the failover was rolled back (its context is {other})"))),
    }
}

record! {
    /// A `failover_jobs` row. JSON keys are the column names (docs/SCHEMA.md documents each).
    #[allow(missing_docs)]
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct FailoverJob in "failover_jobs" {
        pub id: i64,
        pub vm_context_id: String,
        pub job_id: String,
        pub vm_id: String,
        pub replication_job_id: Option<String>,
        pub job_type: FailoverType,
        pub status: FailoverStatus,
        pub source_vm_name: String,
        pub source_vm_spec: Option<serde_json::Value> as json,
        pub destination_vm_id: Option<String>,
        pub ossea_snapshot_id: Option<String>,
        pub linstor_snapshot_name: Option<String>,
        pub linstor_config_id: Option<i64>,
        pub network_mappings: Option<serde_json::Value> as json,
        pub error_message: Option<String>,
        pub created_at: Timestamp,
        pub updated_at: Timestamp,
        pub started_at: Option<Timestamp>,
        pub completed_at: Option<Timestamp>,
    }
}

/// A failover to start (JSON input of `sendense_failover_start`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartFailover {
    /// The context to fail over; must be `ready_for_failover`.
    pub context_id: String,
    /// test or live.
    pub job_type: FailoverType,
    /// The failover id (`job_id`); generated (UUIDv7) when absent. A taken id is ALREADY_EXISTS.
    #[serde(default)]
    pub id: Option<String>,
    /// The replication job whose data is used: a completed job of the context. Default: the
    /// context's last successful job.
    #[serde(default)]
    pub replication_job_id: Option<String>,
    /// The Linstor configuration used; must exist.
    #[serde(default)]
    pub linstor_config_id: Option<i64>,
}

impl StartFailover {
    /// A failover of `job_type` for `context_id`, generated id, default replication job.
    pub fn new(context_id: impl Into<String>, job_type: FailoverType) -> StartFailover {
        StartFailover {
            context_id: context_id.into(),
            job_type,
            id: None,
            replication_job_id: None,
            linstor_config_id: None,
        }
    }

    fn validate(&self) -> Result<()> {
        check_id("context_id", &self.context_id)?;
        if let Some(id) = &self.id {
            check_id("failover id", id)?;
        }
        if let Some(id) = &self.replication_job_id {
            check_id("replication_job_id", id)?;
        }
        Ok(())
    }
}

/// What a step produced (JSON input of `sendense_failover_set_status`): the columns of the same
/// name, each stored when given (absent keys keep the column). `device_paths` and `exports`
/// belong to the move to `reverting` only: the hub device path of every volume coming back
/// (volume_uuid -> path) and the NBD exports to re-create, with the rules of a mode switch to
/// oma (`targets::ModeSwitch`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepResults {
    /// The CloudStack VM created for the failover; at `switching_volume` the volumes are
    /// attached to it (it becomes their mappings' `vm_id`).
    #[serde(default)]
    pub destination_vm_id: Option<String>,
    /// The Linstor snapshot taken before the VM was created.
    #[serde(default)]
    pub linstor_snapshot_name: Option<String>,
    /// The CloudStack snapshot (legacy single snapshot).
    #[serde(default)]
    pub ossea_snapshot_id: Option<String>,
    /// The Linstor configuration used; must exist.
    #[serde(default)]
    pub linstor_config_id: Option<i64>,
    /// With `reverting`: the hub device path of each volume coming back.
    #[serde(default)]
    pub device_paths: BTreeMap<String, String>,
    /// With `reverting`: the exports to re-create once the volumes are back.
    #[serde(default)]
    pub exports: Vec<NewExport>,
}

impl StepResults {
    fn validate(&self, to: FailoverStatus) -> Result<()> {
        for (name, v) in [
            ("destination_vm_id", &self.destination_vm_id),
            ("linstor_snapshot_name", &self.linstor_snapshot_name),
            ("ossea_snapshot_id", &self.ossea_snapshot_id),
        ] {
            if let Some(v) = v {
                check_id(name, v)?;
            }
        }
        if to != FailoverStatus::Reverting && (!self.device_paths.is_empty() || !self.exports.is_empty()) {
            return Err(Error::invalid_argument(format!(
                "device_paths and exports are given only with the move to reverting, not to {to}"
            )));
        }
        Ok(())
    }
}

/// Which failovers [`Store::failover_list`] returns (JSON input of
/// `sendense_failover_list_json`); newest first (created_at, then id, descending).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailoverFilter {
    /// Only the failovers of this context.
    #[serde(default)]
    pub context_id: Option<String>,
    /// Only failovers in this status.
    #[serde(default)]
    pub status: Option<FailoverStatus>,
    /// Only failovers of this kind.
    #[serde(default)]
    pub job_type: Option<FailoverType>,
    /// At most this many (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Skip this many first.
    #[serde(default)]
    pub offset: Option<u32>,
}

/// The context's `last_operation_summary` after a failover operation: what the GUI shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// `failover`, `rollback` or `commit`.
    pub operation: &'static str,
    /// The failover's id (`job_id`).
    pub failover_id: String,
    /// test or live.
    pub job_type: FailoverType,
    /// `in_progress`, `completed` or `failed`.
    pub outcome: &'static str,
    /// The status the failover reached (for a failure: the step that failed).
    pub step: FailoverStatus,
    /// The failure's reason, if it failed.
    pub error: Option<String>,
    /// When (RFC 3339).
    pub at: Timestamp,
}

/// Load a failover by its id inside a transaction; NOT_FOUND naming it.
pub(crate) fn load_failover(tx: &Tx<'_>, failover_id: &str) -> Result<FailoverJob> {
    tx.record("WHERE job_id = :failover_id", params![failover_id])?
        .ok_or_else(|| Error::not_found(format!("failover {:?} does not exist", echo(failover_id))))
}

/// Write the context's last_operation_summary.
fn write_summary(tx: &Tx<'_>, context_id: &str, summary: &Summary) -> Result<()> {
    let text = serde_json::to_string(summary).map_err(|e| Error::internal(format!("summary: {e}")))?;
    tx.execute(
        "UPDATE vm_replication_contexts SET last_operation_summary = :text, updated_at = :now \
         WHERE context_id = :context_id",
        params![context_id, text, now = summary.at],
    )?;
    Ok(())
}

/// The summary of `job` reaching `step` (or failing at it, with `error`).
fn summary(job: &FailoverJob, operation: &'static str, step: FailoverStatus, error: Option<&str>, now: i64) -> Summary {
    let outcome = match (error, step) {
        (Some(_), _) => "failed",
        (None, FailoverStatus::Completed) => "completed",
        (None, _) => "in_progress",
    };
    Summary {
        operation,
        failover_id: job.job_id.clone(),
        job_type: job.job_type,
        outcome,
        step,
        error: error.map(str::to_string),
        at: Timestamp(now),
    }
}

/// The VMware networks of the context's VM: the `network_config` of its disk rows, an array
/// whose elements are network names or objects with a `network_name` (what the capture side
/// records); distinct, sorted. The schema keeps no other list of a VM's networks.
fn source_networks(tx: &Tx<'_>, context_id: &str) -> Result<Vec<String>> {
    tx.rows(
        "SELECT DISTINCT name FROM (SELECT CASE WHEN n.type = 'text' THEN n.value \
           ELSE json_extract(n.value, '$.network_name') END AS name \
         FROM vm_disks d, json_each(d.network_config) n \
         WHERE d.vm_context_id = :context_id AND json_type(d.network_config) = 'array') \
         WHERE name IS NOT NULL AND name <> '' ORDER BY name",
        params![context_id],
        |r| r.get(0),
    )
}

/// The context's network mappings of one kind as the JSON copied into the failover row.
fn mappings_of_kind(tx: &Tx<'_>, context_id: &str, kind: FailoverType) -> Result<Vec<serde_json::Value>> {
    tx.rows(
        "SELECT source_network_name, destination_network_id, destination_network_name, network_strategy, \
         validation_status FROM network_mappings WHERE vm_context_id = :context_id AND mapping_type = :kind \
         ORDER BY source_network_name",
        params![context_id, kind],
        |r| {
            Ok(serde_json::json!({
                "source_network_name": r.get::<String>(0)?,
                "destination_network_id": r.get::<String>(1)?,
                "destination_network_name": r.get::<String>(2)?,
                "network_strategy": r.get::<Option<String>>(3)?,
                "validation_status": r.get::<String>(4)?,
            }))
        },
    )
}

/// The VM spec copied into a failover row: the context's VM facts and networks.
fn vm_spec(ctx: &Context, networks: &[String]) -> serde_json::Value {
    serde_json::json!({
        "vm_name": ctx.vm_name,
        "vmware_vm_id": ctx.vmware_vm_id,
        "vm_path": ctx.vm_path,
        "vcenter_host": ctx.vcenter_host,
        "datacenter": ctx.datacenter,
        "cpu_count": ctx.cpu_count,
        "memory_mb": ctx.memory_mb,
        "os_type": ctx.os_type,
        "power_state": ctx.power_state,
        "vm_tools_version": ctx.vm_tools_version,
        "networks": networks,
    })
}

/// The replication job a failover uses: the one asked for (a completed job of the context),
/// or the context's last successful one.
fn replication_job_for(tx: &Tx<'_>, ctx: &Context, asked: Option<&str>) -> Result<String> {
    let Some(id) = asked else {
        return ctx.last_successful_job_id.clone().ok_or_else(|| {
            Error::invalid_state(format!(
                "context {} has no successful replication job to fail over from",
                ctx.context_id
            ))
        });
    };
    let found: Option<(String, String)> =
        tx.optional("SELECT vm_context_id, status FROM replication_jobs WHERE id = :id", params![id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    match found {
        None => Err(Error::not_found(format!("replication job {:?} does not exist", echo(id)))),
        Some((owner, _)) if owner != ctx.context_id => Err(Error::invalid_argument(format!(
            "replication job {} belongs to context {owner}, not to context {}",
            echo(id),
            ctx.context_id
        ))),
        Some((_, status)) if status != "completed" => Err(Error::invalid_state(format!(
            "replication job {} is {status}: a failover uses a completed job",
            echo(id)
        ))),
        Some(_) => Ok(id.to_string()),
    }
}

/// The `ORDER BY` of "newest first".
const NEWEST_FIRST: &str = "created_at DESC, id DESC";

impl Store {
    /// Start a failover (see [`StartFailover`] and the module docs for the rules); returns its
    /// id. One transaction: the row (status pending, with the VM name and spec and the network
    /// mappings of its kind copied in) and the context's last_operation_summary.
    pub fn failover_start(&self, start: &StartFailover) -> Result<String> {
        start.validate()?;
        self.writing(|tx| {
            let now = self.now_ms();
            let failover_id = match &start.id {
                Some(id) => {
                    if let Some(existing) = tx.record::<FailoverJob>("WHERE job_id = :id", params![id])? {
                        return Err(Error::already_exists(format!(
                            "failover {} already exists (context {})",
                            echo(id),
                            existing.vm_context_id
                        )));
                    }
                    id.clone()
                }
                None => new_id(),
            };
            let ctx = context::load(tx, &start.context_id)?;
            if let Some(job) = &ctx.current_job_id {
                return Err(Error::conflict(format!(
                    "context {} has an active replication job {job}: a failover cannot start until it ends",
                    ctx.context_id
                )));
            }
            if let Some((other, status)) = active_failover(tx, &ctx.context_id)? {
                return Err(Error::conflict(format!(
                    "context {} already has an active failover {other} ({status})",
                    ctx.context_id
                )));
            }
            if ctx.current_status != ContextStatus::ReadyForFailover {
                return Err(Error::invalid_state(format!(
                    "context {} is {}: a failover starts only from ready_for_failover",
                    ctx.context_id, ctx.current_status
                )));
            }
            let replication_job_id = replication_job_for(tx, &ctx, start.replication_job_id.as_deref())?;
            if let Some(id) = start.linstor_config_id {
                require_row(tx, "linstor_configs", "id", &id, &format!("linstor config {id}"))?;
            }
            let networks = source_networks(tx, &ctx.context_id)?;
            let mappings = mappings_of_kind(tx, &ctx.context_id, start.job_type)?;
            let status_of = |net: &str| {
                mappings
                    .iter()
                    .find(|m| m["source_network_name"] == net)
                    .map(|m| m["validation_status"].as_str().unwrap_or_default().to_string())
            };
            let unmapped: Vec<&str> = networks.iter().filter(|n| status_of(n).is_none()).map(|s| s.as_str()).collect();
            let invalid: Vec<&str> =
                networks.iter().filter(|n| status_of(n).as_deref() == Some("invalid")).map(|s| s.as_str()).collect();
            if !unmapped.is_empty() || !invalid.is_empty() {
                let mut problems = Vec::new();
                if !unmapped.is_empty() {
                    problems.push(format!("no {} mapping for network {}", start.job_type, unmapped.join(", ")));
                }
                if !invalid.is_empty() {
                    problems.push(format!(
                        "the {} mapping of network {} is invalid",
                        start.job_type,
                        invalid.join(", ")
                    ));
                }
                return Err(Error::invalid_state(format!(
                    "context {} cannot fail over ({}): {}",
                    ctx.context_id,
                    start.job_type,
                    problems.join("; ")
                )));
            }
            let spec = vm_spec(&ctx, &networks).to_string();
            let mappings = serde_json::Value::Array(mappings).to_string();
            tx.execute(
                "INSERT INTO failover_jobs (vm_context_id, job_id, vm_id, replication_job_id, job_type, status, \
                 source_vm_name, source_vm_spec, linstor_config_id, network_mappings, created_at, updated_at) \
                 VALUES (:context_id, :failover_id, :vm_id, :replication_job_id, :job_type, 'pending', :vm_name, \
                 :spec, :linstor_config_id, :mappings, :now, :now)",
                params![
                    context_id = ctx.context_id,
                    failover_id,
                    vm_id = ctx.vmware_vm_id,
                    replication_job_id,
                    job_type = start.job_type,
                    vm_name = ctx.vm_name,
                    spec,
                    linstor_config_id = start.linstor_config_id,
                    mappings,
                    now
                ],
            )?;
            let job = load_failover(tx, &failover_id)?;
            write_summary(tx, &ctx.context_id, &summary(&job, "failover", FailoverStatus::Pending, None, now))?;
            Ok(failover_id)
        })
    }

    /// Move a failover one step (see [`FailoverStatus::check_move`]), recording what the step
    /// produced (`results`, see [`StepResults`]), in one transaction with what the step moves:
    /// `switching_volume` switches every device mapping of the context to failover mode
    /// (exports removed, the port leases they held released: [`ModeSwitch`]),
    /// `reverting` switches them back to oma with the given device paths and exports,
    /// `completed` moves the context to `failed_over_<type>` (or, ending a rollback, back to
    /// `ready_for_failover`). Failing is [`Store::failover_fail`]; starting a rollback is
    /// [`Store::failover_rollback`]. Setting the status the failover already has (without
    /// results) changes nothing. Returns the failover after the move.
    pub fn failover_set_status(
        &self,
        failover_id: &str,
        status: FailoverStatus,
        results: Option<&StepResults>,
    ) -> Result<FailoverJob> {
        check_id("failover id", failover_id)?;
        let empty = StepResults::default();
        let results = results.unwrap_or(&empty);
        results.validate(status)?;
        if status == FailoverStatus::Failed {
            return Err(Error::invalid_argument("a failover fails through failover_fail, which records the reason"));
        }
        self.writing(|tx| {
            let now = self.now_ms();
            let job = load_failover(tx, failover_id)?;
            if job.status == status && *results == empty {
                return Ok(job);
            }
            job.status.check_move(status).map_err(|e| e.context(format!("failover {}", echo(failover_id))))?;
            if let Some(id) = results.linstor_config_id {
                require_row(tx, "linstor_configs", "id", &id, &format!("linstor config {id}"))?;
            }
            let ctx = context::load(tx, &job.vm_context_id)?;
            match status {
                FailoverStatus::SwitchingVolume => {
                    let mut switch = ModeSwitch::new(&ctx.context_id, OperationMode::Failover);
                    switch.vm_id = results.destination_vm_id.clone().or(job.destination_vm_id.clone());
                    switch_mode(tx, &switch, now)?;
                }
                FailoverStatus::Reverting => {
                    let mut switch = ModeSwitch::new(&ctx.context_id, OperationMode::Oma);
                    switch.device_paths = results.device_paths.clone();
                    switch.exports = results.exports.clone();
                    switch_mode(tx, &switch, now)?;
                }
                FailoverStatus::Completed if job.status == FailoverStatus::PoweringOn => {
                    context::move_status(tx, &ctx, job.job_type.context_status(), now)?;
                }
                FailoverStatus::Completed if ctx.current_status == job.job_type.context_status() => {
                    context::move_status(tx, &ctx, ContextStatus::ReadyForFailover, now)?;
                }
                _ => {}
            }
            tx.execute(
                "UPDATE failover_jobs SET status = :status, \
                 destination_vm_id = COALESCE(:destination_vm_id, destination_vm_id), \
                 linstor_snapshot_name = COALESCE(:linstor_snapshot_name, linstor_snapshot_name), \
                 ossea_snapshot_id = COALESCE(:ossea_snapshot_id, ossea_snapshot_id), \
                 linstor_config_id = COALESCE(:linstor_config_id, linstor_config_id), updated_at = :now, \
                 started_at = CASE WHEN started_at IS NULL THEN :now ELSE started_at END, \
                 completed_at = CASE WHEN :status = 'completed' THEN :now ELSE completed_at END \
                 WHERE job_id = :failover_id",
                params![
                    failover_id,
                    status,
                    destination_vm_id = results.destination_vm_id,
                    linstor_snapshot_name = results.linstor_snapshot_name,
                    ossea_snapshot_id = results.ossea_snapshot_id,
                    linstor_config_id = results.linstor_config_id,
                    now
                ],
            )?;
            let rollback = job.status.is_rollback() || status.is_rollback();
            let operation = if rollback { "rollback" } else { "failover" };
            write_summary(tx, &ctx.context_id, &summary(&job, operation, status, None, now))?;
            load_failover(tx, failover_id)
        })
    }

    /// Fail an active failover with its reason (`error_message`, required); the context's
    /// status stays where it is, and its last_operation_summary records the failure and the
    /// step it happened at. A finished failover is INVALID_STATE.
    pub fn failover_fail(&self, failover_id: &str, error_message: &str) -> Result<FailoverJob> {
        check_id("failover id", failover_id)?;
        if error_message.trim().is_empty() {
            return Err(Error::invalid_argument("the error message is empty: say why the failover failed"));
        }
        self.writing(|tx| {
            let now = self.now_ms();
            let job = load_failover(tx, failover_id)?;
            job.status
                .check_move(FailoverStatus::Failed)
                .map_err(|e| e.context(format!("failover {}", echo(failover_id))))?;
            tx.execute(
                "UPDATE failover_jobs SET status = 'failed', error_message = :error_message, updated_at = :now, \
                 completed_at = :now WHERE job_id = :failover_id",
                params![failover_id, error_message, now],
            )?;
            let operation = if job.status.is_rollback() { "rollback" } else { "failover" };
            write_summary(tx, &job.vm_context_id, &summary(&job, operation, job.status, Some(error_message), now))?;
            load_failover(tx, failover_id)
        })
    }

    /// Start rolling back a completed or failed failover: it moves to cleanup (then, through
    /// [`Store::failover_set_status`], reverting and completed). Refused: a failover that is
    /// not the context's newest (INVALID_STATE naming the newer one), a context with an active
    /// replication job (CONFLICT), and what [`check_rollback`] refuses (a second rollback, a
    /// committed failover, an active one).
    pub fn failover_rollback(&self, failover_id: &str) -> Result<FailoverJob> {
        check_id("failover id", failover_id)?;
        self.writing(|tx| {
            let now = self.now_ms();
            let job = load_failover(tx, failover_id)?;
            let ctx = context::load(tx, &job.vm_context_id)?;
            let here = |e: Error| e.context(format!("failover {}", echo(failover_id)));
            check_rollback(job.status, job.job_type, ctx.current_status).map_err(here)?;
            let newest: String = tx.one(
                &format!("SELECT job_id FROM failover_jobs WHERE vm_context_id = :context_id ORDER BY {NEWEST_FIRST}"),
                params![context_id = ctx.context_id],
                |r| r.get(0),
            )?;
            if newest != job.job_id {
                return Err(here(Error::invalid_state(format!(
                    "a newer failover {newest} of context {} exists; only the newest can be rolled back",
                    ctx.context_id
                ))));
            }
            if let Some(active) = &ctx.current_job_id {
                return Err(here(Error::conflict(format!(
                    "context {} has an active replication job {active}",
                    ctx.context_id
                ))));
            }
            tx.execute(
                "UPDATE failover_jobs SET status = 'cleanup', updated_at = :now WHERE job_id = :failover_id",
                params![failover_id, now],
            )?;
            write_summary(tx, &ctx.context_id, &summary(&job, "rollback", FailoverStatus::Cleanup, None, now))?;
            load_failover(tx, failover_id)
        })
    }

    /// Commit a completed live failover: its context moves to `completed` (the migration is
    /// final) and no rollback is possible afterwards. What [`check_commit`] refuses is
    /// INVALID_STATE.
    pub fn failover_commit(&self, failover_id: &str) -> Result<FailoverJob> {
        check_id("failover id", failover_id)?;
        self.writing(|tx| {
            let now = self.now_ms();
            let job = load_failover(tx, failover_id)?;
            let ctx = context::load(tx, &job.vm_context_id)?;
            check_commit(job.status, job.job_type, ctx.current_status)
                .map_err(|e| e.context(format!("failover {}", echo(failover_id))))?;
            context::move_status(tx, &ctx, ContextStatus::Completed, now)?;
            tx.execute(
                "UPDATE failover_jobs SET updated_at = :now WHERE job_id = :failover_id",
                params![failover_id, now],
            )?;
            write_summary(tx, &ctx.context_id, &summary(&job, "commit", FailoverStatus::Completed, None, now))?;
            load_failover(tx, failover_id)
        })
    }

    /// The failover with this id.
    pub fn failover_get(&self, failover_id: &str) -> Result<FailoverJob> {
        self.reading(|tx| load_failover(tx, failover_id))
    }

    /// Failovers matching `filter`, newest first.
    pub fn failover_list(&self, filter: &FailoverFilter) -> Result<Vec<FailoverJob>> {
        let query = Select::records::<FailoverJob>()
            .eq("vm_context_id", filter.context_id.as_ref())
            .eq("status", filter.status)
            .eq("job_type", filter.job_type)
            .order(NEWEST_FIRST, Some((filter.limit.unwrap_or(100), filter.offset.unwrap_or(0))));
        self.reading(|tx| query.records_in(tx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replication::context::FAILOVER_ACTIVE_SQL;
    use FailoverStatus::*;

    #[test]
    fn the_active_set_equals_the_shared_sql_condition() {
        let terminal: Vec<&str> = FailoverStatus::ALL.iter().filter(|s| !s.is_active()).map(|s| s.as_str()).collect();
        assert_eq!(terminal, ["completed", "failed"]);
        let listed: Vec<String> = terminal.iter().map(|s| format!("'{s}'")).collect();
        assert_eq!(FAILOVER_ACTIVE_SQL, format!("status NOT IN ({})", listed.join(", ")));
    }

    #[test]
    fn steps_move_forward_one_at_a_time_and_terminal_is_final() {
        let walk = [Pending, Validating, Snapshotting, CreatingVm, SwitchingVolume, PoweringOn, Completed];
        let rollback = [Cleanup, Reverting, Completed];
        for from in FailoverStatus::ALL {
            for to in FailoverStatus::ALL {
                let step = walk.windows(2).chain(rollback.windows(2)).any(|w| w == [*from, *to]);
                let fail = from.is_active() && *to == Failed;
                assert_eq!(from.can_move_to(*to), step || fail, "{from} -> {to}");
            }
        }
        assert!(!Pending.can_move_to(Snapshotting), "no step is skipped");
        let e = Pending.check_move(Snapshotting).unwrap_err();
        assert_eq!(e.status(), crate::Status::InvalidState);
        assert_eq!(
            e.message(),
            "a failover cannot move from pending to snapshotting: the next step from pending is validating (or failed)"
        );
        assert!(Completed.check_move(Cleanup).unwrap_err().message().contains("failover_rollback"));
        assert!(Failed.check_move(Validating).unwrap_err().message().contains("failed is final"));
        assert!(Completed.check_move(Failed).unwrap_err().message().contains("completed is final"));
    }

    #[test]
    fn rollback_and_commit_follow_the_context() {
        use ContextStatus as C;
        use FailoverType::*;
        assert!(check_rollback(Completed, Test, C::FailedOverTest).is_ok());
        assert!(check_rollback(Completed, Live, C::FailedOverLive).is_ok());
        assert!(check_rollback(Failed, Live, C::ReadyForFailover).is_ok());
        let second = check_rollback(Completed, Test, C::ReadyForFailover).unwrap_err();
        assert!(second.message().contains("already rolled back"), "{second}");
        assert!(check_rollback(Completed, Live, C::Completed).unwrap_err().message().contains("committed"));
        assert!(check_rollback(PoweringOn, Live, C::ReadyForFailover).unwrap_err().message().contains("powering_on"));
        assert!(check_commit(Completed, Live, C::FailedOverLive).is_ok());
        assert!(check_commit(Completed, Test, C::FailedOverTest).unwrap_err().message().contains("only a live"));
        assert!(check_commit(PoweringOn, Live, C::ReadyForFailover).is_err());
        assert!(check_commit(Completed, Live, C::Completed).unwrap_err().message().contains("already committed"));
        assert!(check_commit(Completed, Live, C::ReadyForFailover).unwrap_err().message().contains("rolled back"));
        for (status, ty) in [(Completed, Test), (Completed, Live)] {
            assert!(C::ReadyForFailover.can_move_to(ty.context_status()), "{status} {ty}");
            assert!(ty.context_status().can_move_to(C::ReadyForFailover));
        }
    }

    #[test]
    fn step_results_are_validated() {
        let mut r = StepResults::default();
        r.device_paths.insert("v".into(), "/dev/vdb".into());
        assert!(r.validate(Reverting).is_ok());
        assert!(r.validate(SwitchingVolume).unwrap_err().message().contains("only with the move to reverting"));
        let e = crate::value::from_json::<StepResults>("json", r#"{"destination_vm":"x"}"#).unwrap_err();
        assert!(e.message().contains("unknown field `destination_vm`"), "{e}");
        let e =
            crate::value::from_json::<StartFailover>("json", r#"{"context_id":"c","job_type":"both"}"#).unwrap_err();
        assert!(e.message().contains("failover type"), "{e}");
    }
}
