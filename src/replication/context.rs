//! VM replication contexts: the master record of a protected VM (docs/DOMAIN.md section 1).
//!
//! Rules enforced here:
//! - identity: (vmware_vm_id, vcenter_host) and (vm_name, vcenter_host) are unique; a rename
//!   keeps the context;
//! - the status machine ([`ContextStatus::can_move_to`]); the edges into and out of
//!   `replicating` are driven by replication jobs only, the others are explicit;
//! - the counters and pointers (`total_jobs_run`, `successful_jobs`, `failed_jobs`,
//!   `first_job_at`, `last_job_at`, `last_successful_job_id`, `current_job_id`) always equal
//!   what the job rows say: they are maintained in the same transaction as every job insert,
//!   terminal transition and delete (see the replication module), never by callers.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::error::{echo, Error, Result};
use crate::replication::ACTIVE_STATUSES_SQL;
use crate::store::query::{require_row, Select};
use crate::store::{Param, Store, Tx};
use crate::value::{check_non_negative, new_id, present, Timestamp};
use crate::{params, record, string_enum};

string_enum! {
    /// Lifecycle state of a protected VM (`vm_replication_contexts.current_status`).
    pub enum ContextStatus: "context status" {
        /// Known, never successfully replicated (or cleaned up).
        Discovered = "discovered",
        /// A replication job is active.
        Replicating = "replicating",
        /// The last replication completed; a failover may start.
        ReadyForFailover = "ready_for_failover",
        /// Running as a test failover.
        FailedOverTest = "failed_over_test",
        /// Running as a live failover.
        FailedOverLive = "failed_over_live",
        /// Migration committed.
        Completed = "completed",
        /// The last replication failed.
        Failed = "failed",
        /// Leftovers of a failure must be cleaned up.
        CleanupRequired = "cleanup_required",
    }
}

impl ContextStatus {
    /// Whether the status machine has the edge `self -> to`.
    pub fn can_move_to(self, to: ContextStatus) -> bool {
        use ContextStatus::*;
        matches!(
            (self, to),
            (Discovered, Replicating)
                | (Replicating, ReadyForFailover | Failed | Discovered)
                | (ReadyForFailover, Replicating | FailedOverTest | FailedOverLive)
                | (Failed, Replicating | CleanupRequired)
                | (FailedOverTest, ReadyForFailover)
                | (FailedOverLive, Completed | ReadyForFailover)
                | (CleanupRequired, ReadyForFailover | Discovered)
        )
    }

    /// Whether the edge `self -> to` belongs to replication jobs (a job start enters
    /// `replicating`, a job's end leaves it), so that an explicit transition may not take it.
    pub fn is_job_driven(self, to: ContextStatus) -> bool {
        self == ContextStatus::Replicating || to == ContextStatus::Replicating
    }

    /// Whether the edge `self -> to` belongs to the failover area (into or out of
    /// `failed_over_test` / `failed_over_live`): only a failover reaching completed, its
    /// rollback and its commit take it, so an explicit transition may not.
    pub fn is_failover_driven(self, to: ContextStatus) -> bool {
        use ContextStatus::*;
        [self, to].iter().any(|s| matches!(s, FailedOverTest | FailedOverLive))
    }

    /// The statuses reachable from `self`.
    pub fn successors(self) -> Vec<ContextStatus> {
        ContextStatus::ALL.iter().copied().filter(|to| self.can_move_to(*to)).collect()
    }

    /// `Ok` when the machine has the edge, else INVALID_STATE naming from and to.
    pub fn check_move(self, to: ContextStatus) -> Result<()> {
        if self.can_move_to(to) {
            return Ok(());
        }
        let allowed: Vec<&str> = self.successors().iter().map(|s| s.as_str()).collect();
        Err(Error::invalid_state(format!(
            "a context cannot move from {self} to {to} (allowed from {self}: {})",
            if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") }
        )))
    }
}

record! {
    /// A `vm_replication_contexts` row. Fields and JSON keys are the column names (docs/SCHEMA.md
    /// documents each).
    #[allow(missing_docs)]
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct Context in "vm_replication_contexts" {
        pub context_id: String,
        pub vm_name: String,
        pub vmware_vm_id: String,
        pub vm_path: String,
        pub vcenter_host: String,
        pub datacenter: String,
        pub current_status: ContextStatus,
        pub current_job_id: Option<String>,
        pub total_jobs_run: i64,
        pub successful_jobs: i64,
        pub failed_jobs: i64,
        pub last_successful_job_id: Option<String>,
        pub cpu_count: Option<i64>,
        pub memory_mb: Option<i64>,
        pub os_type: Option<String>,
        pub power_state: Option<String>,
        pub vm_tools_version: Option<String>,
        pub created_at: Timestamp,
        pub updated_at: Timestamp,
        pub first_job_at: Option<Timestamp>,
        pub last_job_at: Option<Timestamp>,
        pub last_status_change: Option<Timestamp>,
        pub auto_added: bool,
        pub last_scheduled_job_id: Option<String>,
        pub next_scheduled_at: Option<Timestamp>,
        pub scheduler_enabled: bool,
        pub credential_id: Option<i64>,
        pub ossea_config_id: Option<i64>,
        pub last_operation_summary: Option<serde_json::Value> as json,
    }
}

/// A new context (JSON input of `sendense_context_create`): the columns of the same name. The
/// id is generated; vm_name, vmware_vm_id, vm_path, vcenter_host and datacenter are required.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewContext {
    pub vm_name: String,
    pub vmware_vm_id: String,
    pub vm_path: String,
    pub vcenter_host: String,
    pub datacenter: String,
    #[serde(default)]
    pub cpu_count: Option<i64>,
    #[serde(default)]
    pub memory_mb: Option<i64>,
    #[serde(default)]
    pub os_type: Option<String>,
    #[serde(default)]
    pub power_state: Option<String>,
    #[serde(default)]
    pub vm_tools_version: Option<String>,
    #[serde(default)]
    pub auto_added: bool,
    #[serde(default = "default_true")]
    pub scheduler_enabled: bool,
    #[serde(default)]
    pub credential_id: Option<i64>,
    #[serde(default)]
    pub ossea_config_id: Option<i64>,
    #[serde(default)]
    pub last_operation_summary: Option<serde_json::Value>,
}

fn default_true() -> bool {
    true
}

impl NewContext {
    /// A new context with the required attributes and defaults for the rest.
    pub fn new(
        vm_name: impl Into<String>,
        vmware_vm_id: impl Into<String>,
        vm_path: impl Into<String>,
        vcenter_host: impl Into<String>,
        datacenter: impl Into<String>,
    ) -> NewContext {
        NewContext {
            vm_name: vm_name.into(),
            vmware_vm_id: vmware_vm_id.into(),
            vm_path: vm_path.into(),
            vcenter_host: vcenter_host.into(),
            datacenter: datacenter.into(),
            cpu_count: None,
            memory_mb: None,
            os_type: None,
            power_state: None,
            vm_tools_version: None,
            auto_added: false,
            scheduler_enabled: true,
            credential_id: None,
            ossea_config_id: None,
            last_operation_summary: None,
        }
    }

    fn validate(&self) -> Result<()> {
        for (name, value) in [
            ("vm_name", &self.vm_name),
            ("vmware_vm_id", &self.vmware_vm_id),
            ("vm_path", &self.vm_path),
            ("vcenter_host", &self.vcenter_host),
            ("datacenter", &self.datacenter),
        ] {
            non_empty(name, value)?;
        }
        optional_text("os_type", self.os_type.as_deref())?;
        optional_text("power_state", self.power_state.as_deref())?;
        optional_text("vm_tools_version", self.vm_tools_version.as_deref())?;
        non_negative("cpu_count", self.cpu_count)?;
        non_negative("memory_mb", self.memory_mb)
    }
}

/// A text attribute: not empty (unknown is NULL, never ''), no control characters (a NUL
/// would make two identities look alike to C callers).
fn non_empty(name: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(Error::invalid_argument(format!("{name} is empty (use null for unknown)")))
    } else if value.chars().any(char::is_control) {
        Err(Error::invalid_argument(format!("{name} contains a control character")))
    } else {
        Ok(())
    }
}

fn optional_text(name: &str, value: Option<&str>) -> Result<()> {
    value.map_or(Ok(()), |v| non_empty(name, v))
}

fn non_negative(name: &str, value: Option<i64>) -> Result<()> {
    value.map_or(Ok(()), |v| check_non_negative(&[(name, v)]))
}

/// A change of a context's mutable attributes (JSON input of `sendense_context_update`).
/// An absent key leaves the column alone; for nullable columns, `null` clears it. The identity
/// (vmware_vm_id, vcenter_host), the status, the counters and the pointers are not here: the
/// library maintains them.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextUpdate {
    #[serde(default, deserialize_with = "present")]
    pub vm_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub vm_path: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub datacenter: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub cpu_count: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub memory_mb: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub os_type: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub power_state: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub vm_tools_version: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub auto_added: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub scheduler_enabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub next_scheduled_at: Option<Option<Timestamp>>,
    #[serde(default, deserialize_with = "present")]
    pub last_scheduled_job_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub credential_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub ossea_config_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub last_operation_summary: Option<Option<serde_json::Value>>,
}

impl ContextUpdate {
    /// The `column = :column` assignments of this update, validated.
    fn assignments(&self) -> Result<Vec<(&'static str, Box<dyn Param + '_>)>> {
        let mut set: Vec<(&'static str, Box<dyn Param + '_>)> = Vec::new();
        for (name, value) in [("vm_name", &self.vm_name), ("vm_path", &self.vm_path), ("datacenter", &self.datacenter)]
        {
            if let Some(v) = value {
                non_empty(name, v)?;
                set.push((name, Box::new(v)));
            }
        }
        for (name, value) in [("cpu_count", &self.cpu_count), ("memory_mb", &self.memory_mb)] {
            if let Some(v) = value {
                non_negative(name, *v)?;
                set.push((name, Box::new(v)));
            }
        }
        for (name, value) in [
            ("os_type", &self.os_type),
            ("power_state", &self.power_state),
            ("vm_tools_version", &self.vm_tools_version),
        ] {
            if let Some(v) = value {
                optional_text(name, v.as_deref())?;
                set.push((name, Box::new(v)));
            }
        }
        if let Some(Some(job)) = &self.last_scheduled_job_id {
            non_empty("last_scheduled_job_id", job)?;
        }
        if let Some(v) = &self.last_scheduled_job_id {
            set.push(("last_scheduled_job_id", Box::new(v)));
        }
        for (name, value) in [("auto_added", self.auto_added), ("scheduler_enabled", self.scheduler_enabled)] {
            if let Some(v) = value {
                set.push((name, Box::new(v)));
            }
        }
        if let Some(v) = self.next_scheduled_at {
            set.push(("next_scheduled_at", Box::new(v)));
        }
        for (name, value) in [("credential_id", self.credential_id), ("ossea_config_id", self.ossea_config_id)] {
            if let Some(v) = value {
                set.push((name, Box::new(v)));
            }
        }
        if let Some(v) = &self.last_operation_summary {
            set.push(("last_operation_summary", Box::new(v.as_ref().map(|j| j.to_string()))));
        }
        Ok(set)
    }
}

/// Which contexts [`Store::context_list`] returns (JSON input of `sendense_context_list_json`).
/// Every field is optional; results are ordered by vm_name, then context_id.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextFilter {
    #[serde(default)]
    pub status: Option<ContextStatus>,
    #[serde(default)]
    pub vcenter_host: Option<String>,
    #[serde(default)]
    pub name_prefix: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub scheduler_enabled: Option<bool>,
    /// At most this many (default 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Skip this many first.
    #[serde(default)]
    pub offset: Option<u32>,
}

/// Load a context inside a transaction; NOT_FOUND naming the id.
pub(crate) fn load(tx: &Tx<'_>, context_id: &str) -> Result<Context> {
    tx.record("WHERE context_id = :context_id", params![context_id])?
        .ok_or_else(|| Error::not_found(format!("context {:?} does not exist", echo(context_id))))
}

/// Move a context to `to` along the status machine, stamping last_status_change.
pub(crate) fn move_status(tx: &Tx<'_>, context: &Context, to: ContextStatus, now: i64) -> Result<()> {
    if context.current_status == to {
        return Ok(());
    }
    context.current_status.check_move(to).map_err(|e| e.context(format!("context {}", context.context_id)))?;
    tx.execute(
        "UPDATE vm_replication_contexts SET current_status = :to, last_status_change = :now, updated_at = :now \
         WHERE context_id = :context_id",
        params![context_id = context.context_id, to, now],
    )?;
    Ok(())
}

/// The active failover jobs, as a `WHERE` condition on `failover_jobs.status`: every status
/// but `completed` and `failed`. The failover area defines the statuses
/// (`failover::FailoverStatus::ACTIVE`, which a test there compares with this text); the
/// condition lives here, in the lower area, because replication must refuse a job start while a
/// failover of the context is active and may not import the failover area. Both areas use this
/// one text.
pub(crate) const FAILOVER_ACTIVE_SQL: &str = "status NOT IN ('completed', 'failed')";

/// The job id and status of the active failover of a context, if any (see
/// [`FAILOVER_ACTIVE_SQL`]).
pub(crate) fn active_failover(tx: &Tx<'_>, context_id: &str) -> Result<Option<(String, String)>> {
    tx.optional(
        &format!(
            "SELECT job_id, status FROM failover_jobs WHERE vm_context_id = :context_id AND {FAILOVER_ACTIVE_SQL} \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        ),
        params![context_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// The statement of [`recompute_counters`], built once (it names the active status set).
static RECOMPUTE_COUNTERS_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE vm_replication_contexts SET \
           total_jobs_run = (SELECT count(*) FROM replication_jobs WHERE vm_context_id = :context_id), \
           successful_jobs = (SELECT count(*) FROM replication_jobs \
                              WHERE vm_context_id = :context_id AND status = 'completed'), \
           failed_jobs = (SELECT count(*) FROM replication_jobs WHERE vm_context_id = :context_id AND status = 'failed'), \
           first_job_at = (SELECT min(created_at) FROM replication_jobs WHERE vm_context_id = :context_id), \
           last_job_at = (SELECT max(created_at) FROM replication_jobs WHERE vm_context_id = :context_id), \
           last_successful_job_id = (SELECT id FROM replication_jobs \
                                     WHERE vm_context_id = :context_id AND status = 'completed' \
                                     ORDER BY completed_at DESC, created_at DESC, id DESC LIMIT 1), \
           current_job_id = (SELECT id FROM replication_jobs \
                             WHERE vm_context_id = :context_id AND status IN {}), \
           updated_at = :now \
         WHERE context_id = :context_id",
        *ACTIVE_STATUSES_SQL
    )
});

/// Recompute every counter and pointer of a context from its job rows (used where a job row
/// disappears; the job start and terminal transitions maintain them with the equivalent
/// single-row updates of the replication module).
pub(crate) fn recompute_counters(tx: &Tx<'_>, context_id: &str, now: i64) -> Result<()> {
    tx.execute(&RECOMPUTE_COUNTERS_SQL, params![context_id, now])?;
    Ok(())
}

impl Store {
    /// Create a context for a VM; returns its new id. A context with the same
    /// (vmware_vm_id, vcenter_host) or (vm_name, vcenter_host) is ALREADY_EXISTS naming it.
    /// Safe to retry after [`crate::Status::CommitUnknown`]: when the first call was applied,
    /// the retry is ALREADY_EXISTS naming the context.
    pub fn context_create(&self, new: &NewContext) -> Result<String> {
        new.validate()?;
        self.writing(|tx| {
            let now = self.now_ms();
            let existing: Option<(String, String)> = tx.optional(
                "SELECT context_id, vmware_vm_id FROM vm_replication_contexts \
                 WHERE vcenter_host = :vcenter_host AND (vmware_vm_id = :vmware_vm_id OR vm_name = :vm_name) LIMIT 1",
                params![vcenter_host = new.vcenter_host, vmware_vm_id = new.vmware_vm_id, vm_name = new.vm_name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if let Some((id, vm_id)) = existing {
                return Err(Error::already_exists(if vm_id == new.vmware_vm_id {
                    format!("VM {} on {} already has context {id}", echo(&new.vmware_vm_id), echo(&new.vcenter_host))
                } else {
                    format!(
                        "a VM named {:?} on {} already has context {id}",
                        echo(&new.vm_name),
                        echo(&new.vcenter_host)
                    )
                }));
            }
            check_references(tx, new.credential_id, new.ossea_config_id)?;
            let id = new_id();
            tx.execute(
                "INSERT INTO vm_replication_contexts (context_id, vm_name, vmware_vm_id, vm_path, vcenter_host, \
                 datacenter, cpu_count, memory_mb, os_type, power_state, vm_tools_version, created_at, updated_at, \
                 last_status_change, auto_added, scheduler_enabled, credential_id, ossea_config_id, \
                 last_operation_summary) \
                 VALUES (:context_id, :vm_name, :vmware_vm_id, :vm_path, :vcenter_host, :datacenter, :cpu_count, \
                 :memory_mb, :os_type, :power_state, :vm_tools_version, :now, :now, :now, :auto_added, \
                 :scheduler_enabled, :credential_id, :ossea_config_id, :last_operation_summary)",
                params![
                    context_id = id,
                    vm_name = new.vm_name,
                    vmware_vm_id = new.vmware_vm_id,
                    vm_path = new.vm_path,
                    vcenter_host = new.vcenter_host,
                    datacenter = new.datacenter,
                    cpu_count = new.cpu_count,
                    memory_mb = new.memory_mb,
                    os_type = new.os_type,
                    power_state = new.power_state,
                    vm_tools_version = new.vm_tools_version,
                    now,
                    auto_added = new.auto_added,
                    scheduler_enabled = new.scheduler_enabled,
                    credential_id = new.credential_id,
                    ossea_config_id = new.ossea_config_id,
                    last_operation_summary = new.last_operation_summary.as_ref().map(|j| j.to_string()),
                ],
            )?;
            Ok(id)
        })
    }

    /// The context with this id (NOT_FOUND when there is none).
    pub fn context_get(&self, context_id: &str) -> Result<Context> {
        self.reading(|tx| load(tx, context_id))
    }

    /// The context of a VMware VM, by its identity; `None` when there is none.
    pub fn context_find(&self, vmware_vm_id: &str, vcenter_host: &str) -> Result<Option<Context>> {
        self.reading(|tx| {
            tx.record(
                "WHERE vmware_vm_id = :vmware_vm_id AND vcenter_host = :vcenter_host",
                params![vmware_vm_id, vcenter_host],
            )
        })
    }

    /// The contexts matching `filter`, ordered by vm_name, then context_id.
    pub fn context_list(&self, filter: &ContextFilter) -> Result<Vec<Context>> {
        let query = Select::records::<Context>()
            .eq("current_status", filter.status)
            .eq("vcenter_host", filter.vcenter_host.as_ref())
            .when(filter.name_prefix.as_ref(), |p| format!("substr(vm_name, 1, length({p})) = {p}"))
            .eq("scheduler_enabled", filter.scheduler_enabled)
            .order("vm_name, context_id", Some((filter.limit.unwrap_or(1000), filter.offset.unwrap_or(0))));
        self.reading(|tx| query.records_in(tx))
    }

    /// Change a context's mutable attributes; returns the updated context. A rename to a name
    /// another context of the same vCenter has is ALREADY_EXISTS naming it.
    pub fn context_update(&self, context_id: &str, update: &ContextUpdate) -> Result<Context> {
        let set = update.assignments()?;
        self.writing(|tx| {
            let now = self.now_ms();
            let current = load(tx, context_id)?;
            if let Some(name) = &update.vm_name {
                let holder: Option<String> = tx.optional(
                    "SELECT context_id FROM vm_replication_contexts \
                     WHERE vcenter_host = :vcenter_host AND vm_name = :name AND context_id <> :context_id",
                    params![vcenter_host = current.vcenter_host, name, context_id],
                    |r| r.get(0),
                )?;
                if let Some(holder) = holder {
                    return Err(Error::already_exists(format!(
                        "a VM named {:?} on {} already has context {holder}",
                        echo(name),
                        echo(&current.vcenter_host)
                    )));
                }
            }
            check_references(tx, update.credential_id.flatten(), update.ossea_config_id.flatten())?;
            if !set.is_empty() {
                let assignments: Vec<String> = set.iter().map(|(col, _)| format!("{col} = :{col}")).collect();
                let sql = format!(
                    "UPDATE vm_replication_contexts SET updated_at = :now, {} WHERE context_id = :context_id",
                    assignments.join(", ")
                );
                let names: Vec<String> = set.iter().map(|(col, _)| format!(":{col}")).collect();
                let mut args: Vec<(&str, &dyn Param)> = vec![(":context_id", &context_id), (":now", &now)];
                args.extend(names.iter().zip(&set).map(|(name, (_, v))| (name.as_str(), v.as_ref())));
                tx.execute(&sql, &args)?;
            }
            load(tx, context_id)
        })
    }

    /// Move a context along an edge of its status machine that neither replication jobs nor
    /// failovers drive (today: cleanup). Edges into or out of `replicating` belong to jobs, edges
    /// into or out of `failed_over_test` / `failed_over_live` belong to failovers (start a
    /// failover and complete it, roll it back, or commit it); both are INVALID_STATE here, like
    /// every edge the machine does not have.
    pub fn context_set_status(&self, context_id: &str, to: ContextStatus) -> Result<Context> {
        self.writing(|tx| {
            let now = self.now_ms();
            let context = load(tx, context_id)?;
            let from = context.current_status;
            if from == to {
                return Ok(context);
            }
            if from.is_job_driven(to) {
                return Err(Error::invalid_state(format!(
                    "context {context_id}: the move from {from} to {to} is driven by replication jobs \
                     (start, complete, fail or cancel a job instead)",
                    context_id = echo(context_id)
                )));
            }
            if from.is_failover_driven(to) && from.can_move_to(to) {
                return Err(Error::invalid_state(format!(
                    "context {context_id}: the move from {from} to {to} belongs to failovers \
                     (use failover_start and failover_set_status to completed, failover_rollback or failover_commit)",
                    context_id = echo(context_id)
                )));
            }
            move_status(tx, &context, to, now)?;
            load(tx, context_id)
        })
    }
}

/// Delete a context and, through the schema's cascades, everything it owns (jobs, disks, CBT
/// history, volumes, mappings, exports, failover jobs, network mappings, group memberships,
/// backup points, their copies and chains), inside the caller's transaction; NOT_FOUND when
/// there is none. The public delete is `Store::context_delete` in the backup area, which
/// first checks that none of the context's backup points would be lost against its rules
/// (an area above replication, so the check does not import upward).
pub(crate) fn delete(tx: &Tx<'_>, context_id: &str) -> Result<()> {
    let n = tx.execute("DELETE FROM vm_replication_contexts WHERE context_id = :context_id", params![context_id])?;
    if n == 0 {
        return Err(Error::not_found(format!("context {:?} does not exist", echo(context_id))));
    }
    Ok(())
}

/// The credential and target configuration a context refers to must exist.
fn check_references(tx: &Tx<'_>, credential_id: Option<i64>, ossea_config_id: Option<i64>) -> Result<()> {
    if let Some(id) = credential_id {
        require_row(tx, "vmware_credentials", "id", &id, &format!("credential {id}"))?;
    }
    if let Some(id) = ossea_config_id {
        require_row(tx, "ossea_configs", "id", &id, &format!("ossea config {id}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ContextStatus::*;

    #[test]
    fn the_status_machine_has_exactly_the_documented_edges() {
        let edges = [
            (Discovered, Replicating),
            (Replicating, ReadyForFailover),
            (Replicating, Failed),
            (Replicating, Discovered),
            (ReadyForFailover, Replicating),
            (ReadyForFailover, FailedOverTest),
            (ReadyForFailover, FailedOverLive),
            (Failed, Replicating),
            (Failed, CleanupRequired),
            (FailedOverTest, ReadyForFailover),
            (FailedOverLive, Completed),
            (FailedOverLive, ReadyForFailover),
            (CleanupRequired, ReadyForFailover),
            (CleanupRequired, Discovered),
        ];
        for from in ContextStatus::ALL {
            for to in ContextStatus::ALL {
                assert_eq!(from.can_move_to(*to), edges.contains(&(*from, *to)), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn a_forbidden_edge_names_from_and_to() {
        let e = FailedOverLive.check_move(Replicating).unwrap_err();
        assert_eq!(e.status(), crate::Status::InvalidState);
        assert_eq!(
            e.message(),
            "a context cannot move from failed_over_live to replicating (allowed from failed_over_live: \
             ready_for_failover, completed)"
        );
        assert!(Completed.check_move(Discovered).unwrap_err().message().contains("allowed from completed: none"));
    }

    #[test]
    fn job_driven_edges_are_those_touching_replicating() {
        assert!(Discovered.is_job_driven(Replicating));
        assert!(Replicating.is_job_driven(Failed));
        assert!(!ReadyForFailover.is_job_driven(FailedOverTest));
        assert!(!CleanupRequired.is_job_driven(Discovered));
    }

    #[test]
    fn new_context_json_refuses_unknown_keys_and_empty_identity() {
        let e = crate::value::from_json::<NewContext>(
            "context",
            r#"{"vm_name":"a","vmware_vm_id":"b","vm_path":"/p","vcenter_host":"vc","datacenter":"dc","colour":1}"#,
        )
        .unwrap_err();
        assert!(e.message().contains("unknown field `colour`"), "{e}");
        let c: NewContext = crate::value::from_json(
            "context",
            r#"{"vm_name":" ","vmware_vm_id":"b","vm_path":"/p","vcenter_host":"vc","datacenter":"dc"}"#,
        )
        .unwrap();
        assert!(c.scheduler_enabled);
        assert_eq!(c.validate().unwrap_err().message(), "vm_name is empty (use null for unknown)");
        let mut nul = NewContext::new("a", "vm-1\0", "/p", "vc", "dc");
        assert_eq!(nul.validate().unwrap_err().message(), "vmware_vm_id contains a control character");
        nul.vmware_vm_id = "vm-1".into();
        nul.os_type = Some(String::new());
        assert_eq!(nul.validate().unwrap_err().message(), "os_type is empty (use null for unknown)");
    }

    #[test]
    fn updates_tell_null_from_absent() {
        let u: ContextUpdate = serde_json::from_str(r#"{"cpu_count":null,"vm_name":"x"}"#).unwrap();
        assert_eq!(u.cpu_count, Some(None));
        assert_eq!(u.memory_mb, None);
        let cols: Vec<&str> = u.assignments().unwrap().into_iter().map(|(c, _)| c).collect();
        assert_eq!(cols, ["vm_name", "cpu_count"]);
        let e = serde_json::from_str::<ContextUpdate>(r#"{"vm_name":null}"#).unwrap_err();
        assert!(e.to_string().contains("invalid type: null"), "{e}");
        let u: ContextUpdate = serde_json::from_str(r#"{"memory_mb":-1}"#).unwrap();
        assert_eq!(u.assignments().err().unwrap().message(), "memory_mb is negative (-1)");
    }
}
