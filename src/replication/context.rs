//! VM replication contexts: the master record of a protected VM (DOMAIN.md section 1).
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

use rusqlite::{params, Connection, OptionalExtension, Row, ToSql};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::replication::ACTIVE_STATUSES_SQL;
use crate::store::Tx;
use crate::store::{require_row, Select, Store};
use crate::string_enum;
use crate::value::{check_non_negative, json_column, new_id, present, Timestamp};

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

/// A `vm_replication_contexts` row. Fields and JSON keys are the column names (SCHEMA.md
/// documents each).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Context {
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
    pub last_operation_summary: Option<serde_json::Value>,
}

const COLUMNS: &str = "context_id, vm_name, vmware_vm_id, vm_path, vcenter_host, datacenter, current_status, \
    current_job_id, total_jobs_run, successful_jobs, failed_jobs, last_successful_job_id, cpu_count, memory_mb, \
    os_type, power_state, vm_tools_version, created_at, updated_at, first_job_at, last_job_at, last_status_change, \
    auto_added, last_scheduled_job_id, next_scheduled_at, scheduler_enabled, credential_id, ossea_config_id, \
    last_operation_summary";

impl Context {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Context> {
        Ok(Context {
            context_id: r.get("context_id")?,
            vm_name: r.get("vm_name")?,
            vmware_vm_id: r.get("vmware_vm_id")?,
            vm_path: r.get("vm_path")?,
            vcenter_host: r.get("vcenter_host")?,
            datacenter: r.get("datacenter")?,
            current_status: r.get("current_status")?,
            current_job_id: r.get("current_job_id")?,
            total_jobs_run: r.get("total_jobs_run")?,
            successful_jobs: r.get("successful_jobs")?,
            failed_jobs: r.get("failed_jobs")?,
            last_successful_job_id: r.get("last_successful_job_id")?,
            cpu_count: r.get("cpu_count")?,
            memory_mb: r.get("memory_mb")?,
            os_type: r.get("os_type")?,
            power_state: r.get("power_state")?,
            vm_tools_version: r.get("vm_tools_version")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
            first_job_at: r.get("first_job_at")?,
            last_job_at: r.get("last_job_at")?,
            last_status_change: r.get("last_status_change")?,
            auto_added: r.get("auto_added")?,
            last_scheduled_job_id: r.get("last_scheduled_job_id")?,
            next_scheduled_at: r.get("next_scheduled_at")?,
            scheduler_enabled: r.get("scheduler_enabled")?,
            credential_id: r.get("credential_id")?,
            ossea_config_id: r.get("ossea_config_id")?,
            last_operation_summary: json_column(r.get("last_operation_summary")?)?,
        })
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
    /// The `column = ?` assignments of this update, validated.
    fn assignments(&self) -> Result<Vec<(&'static str, Box<dyn ToSql + '_>)>> {
        let mut set: Vec<(&'static str, Box<dyn ToSql + '_>)> = Vec::new();
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
    tx.conn()
        .prepare_cached(&format!("SELECT {COLUMNS} FROM vm_replication_contexts WHERE context_id = ?1"))?
        .query_row([context_id], Context::from_row)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("context {context_id:?} does not exist")))
}

/// Move a context to `to` along the status machine, stamping last_status_change.
pub(crate) fn move_status(conn: &Connection, context: &Context, to: ContextStatus, now: i64) -> Result<()> {
    if context.current_status == to {
        return Ok(());
    }
    context.current_status.check_move(to).map_err(|e| e.context(format!("context {}", context.context_id)))?;
    conn.prepare_cached(
        "UPDATE vm_replication_contexts SET current_status = ?2, last_status_change = ?3, updated_at = ?3 \
         WHERE context_id = ?1",
    )?
    .execute(params![context.context_id, to, now])?;
    Ok(())
}

/// Recompute every counter and pointer of a context from its job rows (used where a job row
/// disappears; the job start and terminal transitions maintain them with the equivalent
/// single-row updates of the replication module).
pub(crate) fn recompute_counters(conn: &Connection, context_id: &str, now: i64) -> Result<()> {
    conn.prepare_cached(&format!(
        "UPDATE vm_replication_contexts SET \
           total_jobs_run = (SELECT count(*) FROM replication_jobs WHERE vm_context_id = ?1), \
           successful_jobs = (SELECT count(*) FROM replication_jobs WHERE vm_context_id = ?1 AND status = 'completed'), \
           failed_jobs = (SELECT count(*) FROM replication_jobs WHERE vm_context_id = ?1 AND status = 'failed'), \
           first_job_at = (SELECT min(created_at) FROM replication_jobs WHERE vm_context_id = ?1), \
           last_job_at = (SELECT max(created_at) FROM replication_jobs WHERE vm_context_id = ?1), \
           last_successful_job_id = (SELECT id FROM replication_jobs WHERE vm_context_id = ?1 AND status = 'completed' \
                                     ORDER BY completed_at DESC, created_at DESC, id DESC LIMIT 1), \
           current_job_id = (SELECT id FROM replication_jobs WHERE vm_context_id = ?1 AND status IN {ACTIVE_STATUSES_SQL}), \
           updated_at = ?2 \
         WHERE context_id = ?1"
    ))?
    .execute(params![context_id, now])?;
    Ok(())
}

impl Store {
    /// Create a context for a VM; returns its new id. A context with the same
    /// (vmware_vm_id, vcenter_host) or (vm_name, vcenter_host) is ALREADY_EXISTS naming it.
    pub fn context_create(&self, new: &NewContext) -> Result<String> {
        new.validate()?;
        self.write(|tx| {
            let now = self.now_ms();
            let existing: Option<(String, String)> = tx
                .prepare_cached(
                    "SELECT context_id, vmware_vm_id FROM vm_replication_contexts \
                     WHERE vcenter_host = ?1 AND (vmware_vm_id = ?2 OR vm_name = ?3) LIMIT 1",
                )?
                .query_row(params![new.vcenter_host, new.vmware_vm_id, new.vm_name], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((id, vm_id)) = existing {
                return Err(Error::already_exists(if vm_id == new.vmware_vm_id {
                    format!("VM {} on {} already has context {id}", new.vmware_vm_id, new.vcenter_host)
                } else {
                    format!("a VM named {:?} on {} already has context {id}", new.vm_name, new.vcenter_host)
                }));
            }
            check_references(tx, new.credential_id, new.ossea_config_id)?;
            let id = new_id();
            tx.prepare_cached(
                "INSERT INTO vm_replication_contexts (context_id, vm_name, vmware_vm_id, vm_path, vcenter_host, \
                 datacenter, cpu_count, memory_mb, os_type, power_state, vm_tools_version, created_at, updated_at, \
                 last_status_change, auto_added, scheduler_enabled, credential_id, ossea_config_id, \
                 last_operation_summary) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?12, ?13, ?14, ?15, ?16, ?17)",
            )?
            .execute(params![
                id,
                new.vm_name,
                new.vmware_vm_id,
                new.vm_path,
                new.vcenter_host,
                new.datacenter,
                new.cpu_count,
                new.memory_mb,
                new.os_type,
                new.power_state,
                new.vm_tools_version,
                now,
                new.auto_added,
                new.scheduler_enabled,
                new.credential_id,
                new.ossea_config_id,
                new.last_operation_summary.as_ref().map(|j| j.to_string()),
            ])?;
            Ok(id)
        })
    }

    /// The context with this id (NOT_FOUND when there is none).
    pub fn context_get(&self, context_id: &str) -> Result<Context> {
        self.read(|tx| load(&crate::store::Tx::new(tx), context_id))
    }

    /// The context of a VMware VM, by its identity; `None` when there is none.
    pub fn context_find(&self, vmware_vm_id: &str, vcenter_host: &str) -> Result<Option<Context>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM vm_replication_contexts WHERE vmware_vm_id = ?1 AND vcenter_host = ?2"
                ))?
                .query_row([vmware_vm_id, vcenter_host], Context::from_row)
                .optional()?)
        })
    }

    /// The contexts matching `filter`, ordered by vm_name, then context_id.
    pub fn context_list(&self, filter: &ContextFilter) -> Result<Vec<Context>> {
        let query = Select::new(COLUMNS, "vm_replication_contexts")
            .eq("current_status", filter.status)
            .eq("vcenter_host", filter.vcenter_host.as_ref())
            .when(filter.name_prefix.as_ref(), |n| format!("substr(vm_name, 1, length(?{n})) = ?{n}"))
            .eq("scheduler_enabled", filter.scheduler_enabled)
            .order("vm_name, context_id", Some((filter.limit.unwrap_or(1000), filter.offset.unwrap_or(0))));
        self.read(|tx| query.rows(tx, Context::from_row))
    }

    /// Change a context's mutable attributes; returns the updated context. A rename to a name
    /// another context of the same vCenter has is ALREADY_EXISTS naming it.
    pub fn context_update(&self, context_id: &str, update: &ContextUpdate) -> Result<Context> {
        let set = update.assignments()?;
        self.write(|tx| {
            let now = self.now_ms();
            let current = load(&crate::store::Tx::new(tx), context_id)?;
            if let Some(name) = &update.vm_name {
                let holder: Option<String> = tx
                    .prepare_cached(
                        "SELECT context_id FROM vm_replication_contexts \
                         WHERE vcenter_host = ?1 AND vm_name = ?2 AND context_id <> ?3",
                    )?
                    .query_row(params![current.vcenter_host, name, context_id], |r| r.get(0))
                    .optional()?;
                if let Some(holder) = holder {
                    return Err(Error::already_exists(format!(
                        "a VM named {name:?} on {} already has context {holder}",
                        current.vcenter_host
                    )));
                }
            }
            check_references(tx, update.credential_id.flatten(), update.ossea_config_id.flatten())?;
            if !set.is_empty() {
                let assignments: Vec<String> =
                    set.iter().enumerate().map(|(i, (col, _))| format!("{col} = ?{}", i + 3)).collect();
                let sql = format!(
                    "UPDATE vm_replication_contexts SET updated_at = ?2, {} WHERE context_id = ?1",
                    assignments.join(", ")
                );
                let mut args: Vec<&dyn ToSql> = vec![&context_id, &now];
                args.extend(set.iter().map(|(_, v)| v.as_ref() as &dyn ToSql));
                tx.prepare_cached(&sql)?.execute(args.as_slice())?;
            }
            load(&crate::store::Tx::new(tx), context_id)
        })
    }

    /// Move a context along an edge of its status machine that replication jobs do not drive
    /// (failover, rollback, commit, cleanup). Edges into or out of `replicating` belong to jobs
    /// and are INVALID_STATE here, like every edge the machine does not have.
    pub fn context_set_status(&self, context_id: &str, to: ContextStatus) -> Result<Context> {
        self.write(|tx| {
            let now = self.now_ms();
            let context = load(&crate::store::Tx::new(tx), context_id)?;
            let from = context.current_status;
            if from == to {
                return Ok(context);
            }
            if from.is_job_driven(to) {
                return Err(Error::invalid_state(format!(
                    "context {context_id}: the move from {from} to {to} is driven by replication jobs \
                     (start, complete, fail or cancel a job instead)"
                )));
            }
            move_status(tx, &context, to, now)?;
            load(&crate::store::Tx::new(tx), context_id)
        })
    }

    /// Delete a context and everything it owns (jobs, disks, CBT history, volumes, mappings,
    /// exports, failover jobs, network mappings, group memberships, backups and chains).
    pub fn context_delete(&self, context_id: &str) -> Result<()> {
        self.write(|tx| {
            let n = tx
                .prepare_cached("DELETE FROM vm_replication_contexts WHERE context_id = ?1")?
                .execute([context_id])?;
            if n == 0 {
                return Err(Error::not_found(format!("context {context_id:?} does not exist")));
            }
            Ok(())
        })
    }
}

/// The credential and target configuration a context refers to must exist.
fn check_references(conn: &Connection, credential_id: Option<i64>, ossea_config_id: Option<i64>) -> Result<()> {
    if let Some(id) = credential_id {
        require_row(conn, "vmware_credentials", "id", &id, &format!("credential {id}"))?;
    }
    if let Some(id) = ossea_config_id {
        require_row(conn, "ossea_configs", "id", &id, &format!("ossea config {id}"))?;
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
