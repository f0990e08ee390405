//! The volume daemon's records (docs/DOMAIN.md section 10; docs/SCHEMA.md section 8): volume
//! operations with their status history, per-job volume mounts, and metrics derived from the
//! operations.
//!
//! Rules enforced here:
//! - operation status machine ([`VolumeOpStatus::check_move`]): pending -> executing ->
//!   completed | failed | cancelled, and pending -> failed | cancelled; completed, failed and
//!   cancelled are final, and a status never "moves" to itself;
//! - every status change, including the creation (NULL -> pending), appends one
//!   `volume_operation_history` row in the same transaction, so the history of an operation
//!   is exactly the sequence of its accepted changes; `completed_at` is stamped when an
//!   operation reaches a final status; `updated_at` changes only with the status, so
//!   [`Store::volume_op_stuck`] (executing with `updated_at` older than an age) reads the
//!   `(status, updated_at)` index;
//! - a failure carries its reason: moving to failed needs an error message, and an error
//!   message is refused with any other status; a response (any JSON value) may come with any
//!   change and replaces the stored one; a change's error and response are also the
//!   history row's `details` (`{"error": ..., "response": ...}`, NULL when neither);
//! - operation ids are the caller's (the daemon's UUIDs) or a new UUIDv7; a duplicate is
//!   ALREADY_EXISTS; the request is a JSON object;
//! - volume mounts: created mounting (the `ossea_volumes` row and the replication job must
//!   exist: NOT_FOUND naming them; a device path or mount point already used by a live mount
//!   — mounting, mounted or unmount_pending — is CONFLICT naming that mount); then mounting ->
//!   mounted | error, mounted -> unmount_pending | unmounted | error, unmount_pending ->
//!   unmounted | error, error -> unmounted; unmounted is final; mounted_at and unmounted_at
//!   are stamped on the way;
//! - metrics ([`Store::volume_metrics`]) are computed from the operations in one snapshot:
//!   `total_operations` (all), `pending_operations` (not yet done: pending or executing, the
//!   docs/SCHEMA.md meaning), `active_mappings` (the `device_mappings` rows), counts per type and
//!   per status (every value present, 0 included), `average_response_time_ms` (mean of
//!   completed_at - created_at over completed operations; 0 without one) and
//!   `error_rate_percent` (failed / (completed + failed + cancelled) x 100; 0 without a final
//!   operation). [`Store::volume_metrics_record`] stores them as a `volume_daemon_metrics`
//!   sample.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{echo, Error, Result};
use crate::store::query::{require_row, Select};
use crate::store::{Record, Row, Store, Tx};
use crate::value::{check_id, new_id, Timestamp};
use crate::{params, record, string_enum};

string_enum! {
    /// What a volume operation does (`volume_operations.type`).
    #[allow(missing_docs)]
    pub enum VolumeOpType: "volume operation type" {
        Create = "create",
        Attach = "attach",
        Detach = "detach",
        Delete = "delete",
        Cleanup = "cleanup",
    }
}

string_enum! {
    /// Lifecycle state of a volume operation (`volume_operations.status`).
    #[allow(missing_docs)]
    pub enum VolumeOpStatus: "volume operation status" {
        Pending = "pending",
        Executing = "executing",
        Completed = "completed",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

impl VolumeOpStatus {
    /// completed, failed and cancelled are terminal: final.
    pub fn is_terminal(self) -> bool {
        matches!(self, VolumeOpStatus::Completed | VolumeOpStatus::Failed | VolumeOpStatus::Cancelled)
    }

    /// Whether the machine has the edge `self -> to`: pending -> executing -> completed |
    /// failed | cancelled, and pending -> failed | cancelled.
    pub fn can_move_to(self, to: VolumeOpStatus) -> bool {
        use VolumeOpStatus::*;
        matches!(
            (self, to),
            (Pending, Executing)
                | (Executing, Completed)
                | (Pending | Executing, Failed)
                | (Pending | Executing, Cancelled)
        )
    }

    /// `Ok` when the machine has the edge, else INVALID_STATE naming from and to.
    pub fn check_move(self, to: VolumeOpStatus) -> Result<()> {
        if self.can_move_to(to) {
            Ok(())
        } else if self.is_terminal() {
            Err(Error::invalid_state(format!("a volume operation cannot move from {self} to {to}: {self} is final")))
        } else {
            Err(Error::invalid_state(format!(
                "a volume operation cannot move from {self} to {to}: pending -> executing -> completed, failed or \
                 cancelled, and pending -> failed or cancelled"
            )))
        }
    }
}

string_enum! {
    /// State of a volume mount (`volume_mounts.mount_status`).
    #[allow(missing_docs)]
    pub enum MountStatus: "mount status" {
        Unmounted = "unmounted",
        Mounting = "mounting",
        Mounted = "mounted",
        UnmountPending = "unmount_pending",
        Error = "error",
    }
}

impl MountStatus {
    /// A live mount holds its device path and mount point: mounting, mounted, unmount_pending.
    pub fn is_live(self) -> bool {
        matches!(self, MountStatus::Mounting | MountStatus::Mounted | MountStatus::UnmountPending)
    }

    /// Whether the machine has the edge `self -> to`: mounting -> mounted | error; mounted ->
    /// unmount_pending | unmounted | error; unmount_pending -> unmounted | error; error ->
    /// unmounted.
    pub fn can_move_to(self, to: MountStatus) -> bool {
        use MountStatus::*;
        matches!(
            (self, to),
            (Mounting, Mounted)
                | (Mounting | Mounted | UnmountPending, Error)
                | (Mounted, UnmountPending)
                | (Mounted | UnmountPending | Error, Unmounted)
        )
    }

    /// `Ok` when the machine has the edge, else INVALID_STATE naming from and to.
    pub fn check_move(self, to: MountStatus) -> Result<()> {
        if self.can_move_to(to) {
            Ok(())
        } else if self == MountStatus::Unmounted {
            Err(Error::invalid_state(format!("a volume mount cannot move from {self} to {to}: {self} is final")))
        } else {
            Err(Error::invalid_state(format!(
                "a volume mount cannot move from {self} to {to}: mounting -> mounted -> unmount_pending -> \
                 unmounted, mounted -> unmounted, any live status -> error, error -> unmounted"
            )))
        }
    }
}

record! {
    /// A `volume_operations` row. JSON keys are the column names; `request` and `response` are
    /// embedded JSON values.
    #[allow(missing_docs)]
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct VolumeOperation in "volume_operations" {
        pub id: String,
        #[serde(rename = "type")]
        pub op_type: VolumeOpType = "type",
        pub status: VolumeOpStatus,
        pub volume_id: String,
        pub vm_id: Option<String>,
        pub request: Value as json,
        pub response: Option<Value> as json,
        pub error: Option<String>,
        pub created_at: Timestamp,
        pub updated_at: Timestamp,
        pub completed_at: Option<Timestamp>,
    }
}

record! {
    /// A `volume_operation_history` row: one accepted status change (the creation has
    /// `previous_status` NULL).
    #[allow(missing_docs)]
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct VolumeOpHistory in "volume_operation_history" {
        pub id: i64,
        pub operation_id: String,
        pub previous_status: Option<VolumeOpStatus>,
        pub new_status: VolumeOpStatus,
        pub changed_at: Timestamp,
        pub details: Option<Value> as json,
    }
}

/// A new volume operation for [`Store::volume_op_create`] (JSON keys: `id` (optional),
/// `type`, `volume_id`, `vm_id` (optional), `request` (a JSON object)).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewVolumeOp {
    /// The caller's id (the daemon's UUID); a new UUIDv7 when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// What the operation does.
    #[serde(rename = "type")]
    pub op_type: VolumeOpType,
    /// The CloudStack volume UUID.
    pub volume_id: String,
    /// The CloudStack VM involved.
    #[serde(default)]
    pub vm_id: Option<String>,
    /// The request parameters: a JSON object.
    pub request: Value,
}

impl NewVolumeOp {
    /// An operation of `op_type` on `volume_id` with `request` (a JSON object).
    pub fn new(op_type: VolumeOpType, volume_id: impl Into<String>, request: Value) -> NewVolumeOp {
        NewVolumeOp { id: None, op_type, volume_id: volume_id.into(), vm_id: None, request }
    }

    fn validate(&self) -> Result<()> {
        if let Some(id) = &self.id {
            check_id("operation id", id)?;
        }
        check_id("volume_id", &self.volume_id)?;
        if let Some(vm) = &self.vm_id {
            check_id("vm_id", vm)?;
        }
        if !self.request.is_object() {
            return Err(Error::invalid_argument("request must be a JSON object (the operation's parameters)"));
        }
        Ok(())
    }
}

/// Which operations [`Store::volume_op_list`] returns; oldest first (created_at, then id).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeOpFilter {
    /// Only operations on this volume.
    #[serde(default)]
    pub volume_id: Option<String>,
    /// Only operations involving this VM.
    #[serde(default)]
    pub vm_id: Option<String>,
    /// Only operations in this status.
    #[serde(default)]
    pub status: Option<VolumeOpStatus>,
    /// Only operations of this type.
    #[serde(default, rename = "type")]
    pub op_type: Option<VolumeOpType>,
    /// At most this many (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Skip this many first.
    #[serde(default)]
    pub offset: Option<u32>,
}

record! {
    /// A `volume_mounts` row. JSON keys are the column names.
    #[allow(missing_docs)]
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct VolumeMount in "volume_mounts" {
        pub id: i64,
        pub ossea_volume_id: i64,
        pub job_id: String,
        pub device_path: String,
        pub mount_point: Option<String>,
        pub mount_status: MountStatus,
        pub filesystem_type: Option<String>,
        pub mount_options: Option<String>,
        pub is_read_only: bool,
        pub mounted_at: Option<Timestamp>,
        pub unmounted_at: Option<Timestamp>,
        pub created_at: Timestamp,
        pub updated_at: Timestamp,
    }
}

/// A new mount for [`Store::volume_mount_create`] (JSON keys = column names: `ossea_volume_id`,
/// `job_id`, `device_path`, and optionally `mount_point`, `filesystem_type`, `mount_options`,
/// `is_read_only`).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewVolumeMount {
    pub ossea_volume_id: i64,
    pub job_id: String,
    pub device_path: String,
    #[serde(default)]
    pub mount_point: Option<String>,
    #[serde(default)]
    pub filesystem_type: Option<String>,
    #[serde(default)]
    pub mount_options: Option<String>,
    #[serde(default)]
    pub is_read_only: bool,
}

impl NewVolumeMount {
    /// A mount of volume row `ossea_volume_id` for `job_id` from `device_path`.
    pub fn new(ossea_volume_id: i64, job_id: impl Into<String>, device_path: impl Into<String>) -> NewVolumeMount {
        NewVolumeMount {
            ossea_volume_id,
            job_id: job_id.into(),
            device_path: device_path.into(),
            mount_point: None,
            filesystem_type: None,
            mount_options: None,
            is_read_only: false,
        }
    }

    fn validate(&self) -> Result<()> {
        check_id("job_id", &self.job_id)?;
        check_path("device_path", &self.device_path)?;
        if let Some(p) = &self.mount_point {
            check_path("mount_point", p)?;
        }
        for (name, v) in [("filesystem_type", &self.filesystem_type), ("mount_options", &self.mount_options)] {
            if let Some(v) = v {
                if v.trim().is_empty() || v.contains('\0') {
                    return Err(Error::invalid_argument(format!("{name} is empty or contains a NUL (omit it)")));
                }
            }
        }
        Ok(())
    }
}

fn check_path(name: &str, path: &str) -> Result<()> {
    if !path.starts_with('/') || path.contains('\0') || path.chars().any(char::is_control) {
        return Err(Error::invalid_argument(format!("{name} {:?} is not an absolute path", echo(path))));
    }
    Ok(())
}

/// Volume daemon metrics computed from the operations (a `volume_daemon_metrics` row when
/// recorded; `id` is then set).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeMetrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub timestamp: Timestamp,
    pub total_operations: i64,
    pub pending_operations: i64,
    pub active_mappings: i64,
    pub operations_by_type: BTreeMap<String, i64>,
    pub operations_by_status: BTreeMap<String, i64>,
    pub average_response_time_ms: f64,
    pub error_rate_percent: f64,
}

impl VolumeMetrics {
    /// Read a recorded sample: id, timestamp (a missing one reads as the epoch), the counts,
    /// the two JSON maps (an unreadable one reads as empty), the average and the error rate.
    fn from_row(r: &Row<'_>) -> Result<VolumeMetrics> {
        let map = |i: usize| -> Result<BTreeMap<String, i64>> {
            let text: Option<String> = r.get(i)?;
            Ok(text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default())
        };
        Ok(VolumeMetrics {
            id: Some(r.get(0)?),
            timestamp: r.get::<Option<Timestamp>>(1)?.unwrap_or(Timestamp(0)),
            total_operations: r.get(2)?,
            pending_operations: r.get(3)?,
            active_mappings: r.get(4)?,
            operations_by_type: map(5)?,
            operations_by_status: map(6)?,
            average_response_time_ms: r.get(7)?,
            error_rate_percent: r.get(8)?,
        })
    }
}

fn load_op(tx: &Tx<'_>, id: &str) -> Result<VolumeOperation> {
    tx.record("WHERE id = :id", params![id])?
        .ok_or_else(|| Error::not_found(format!("volume operation {:?} does not exist", echo(id))))
}

fn load_mount(tx: &Tx<'_>, id: i64) -> Result<VolumeMount> {
    tx.record("WHERE id = :id", params![id])?
        .ok_or_else(|| Error::not_found(format!("volume mount {id} does not exist")))
}

fn append_history(
    tx: &Tx<'_>,
    id: &str,
    from: Option<VolumeOpStatus>,
    to: VolumeOpStatus,
    now: i64,
    details: Option<&Value>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO volume_operation_history (operation_id, previous_status, new_status, changed_at, details) \
         VALUES (:id, :from, :to, :now, :details)",
        params![id, from, to, now, details = details.map(Value::to_string)],
    )?;
    Ok(())
}

fn compute_metrics(tx: &Tx<'_>, now: i64) -> Result<VolumeMetrics> {
    let mut by_type: BTreeMap<String, i64> = VolumeOpType::ALL.iter().map(|t| (t.to_string(), 0)).collect();
    let mut by_status: BTreeMap<String, i64> = VolumeOpStatus::ALL.iter().map(|s| (s.to_string(), 0)).collect();
    let mut total = 0;
    let counts: Vec<(VolumeOpType, VolumeOpStatus, i64)> =
        tx.rows("SELECT type, status, count(*) FROM volume_operations GROUP BY type, status", params![], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    for (t, s, n) in counts {
        *by_type.entry(t.to_string()).or_default() += n;
        *by_status.entry(s.to_string()).or_default() += n;
        total += n;
    }
    let count = |s: VolumeOpStatus| by_status[s.as_str()];
    let pending = count(VolumeOpStatus::Pending) + count(VolumeOpStatus::Executing);
    let failed = count(VolumeOpStatus::Failed);
    let terminal = count(VolumeOpStatus::Completed) + failed + count(VolumeOpStatus::Cancelled);
    let average: Option<f64> = tx.one(
        "SELECT avg(completed_at - created_at) FROM volume_operations \
         WHERE status = 'completed' AND completed_at IS NOT NULL",
        params![],
        |r| r.get(0),
    )?;
    let active_mappings: i64 = tx.one("SELECT count(*) FROM device_mappings", params![], |r| r.get(0))?;
    Ok(VolumeMetrics {
        id: None,
        timestamp: Timestamp(now),
        total_operations: total,
        pending_operations: pending,
        active_mappings,
        operations_by_type: by_type,
        operations_by_status: by_status,
        // A clock that stepped back may make a difference negative; the column refuses that.
        average_response_time_ms: average.unwrap_or(0.0).max(0.0),
        error_rate_percent: if terminal == 0 { 0.0 } else { 100.0 * failed as f64 / terminal as f64 },
    })
}

impl Store {
    /// Record a new operation in pending, with its first history row (NULL -> pending), in one
    /// transaction. Returns its id (the caller's, or a new UUIDv7). A duplicate id is
    /// ALREADY_EXISTS.
    /// With an `id` it is safe to retry after [`crate::Status::CommitUnknown`] (the retry is
    /// ALREADY_EXISTS naming it); without one, a retry records a second operation.
    pub fn volume_op_create(&self, new: &NewVolumeOp) -> Result<String> {
        new.validate()?;
        let id = new.id.clone().unwrap_or_else(new_id);
        self.writing(|tx| {
            let now = self.now_ms(); // once the write lock is held: changes stamp in commit order
            if tx.exists("SELECT 1 FROM volume_operations WHERE id = :id", params![id])? {
                return Err(Error::already_exists(format!("volume operation {} already exists", echo(&id))));
            }
            tx.execute(
                "INSERT INTO volume_operations (id, type, status, volume_id, vm_id, request, created_at, updated_at) \
                 VALUES (:id, :type, 'pending', :volume_id, :vm_id, :request, :now, :now)",
                params![
                    id,
                    type = new.op_type,
                    volume_id = new.volume_id,
                    vm_id = new.vm_id,
                    request = new.request.to_string(),
                    now
                ],
            )?;
            append_history(tx, &id, None, VolumeOpStatus::Pending, now, None)?;
            Ok(id.clone())
        })
    }

    /// Move an operation to `status`, with an optional `response` (replaces the stored one)
    /// and `error` (required for failed, refused otherwise), appending the history row and
    /// stamping completed_at on a final status, in one transaction.
    pub fn volume_op_set_status(
        &self,
        id: &str,
        status: VolumeOpStatus,
        response: Option<&Value>,
        error: Option<&str>,
    ) -> Result<VolumeOperation> {
        match (status, error) {
            (VolumeOpStatus::Failed, None) => {
                return Err(Error::invalid_argument("an operation fails with an error message: say why"))
            }
            (VolumeOpStatus::Failed, Some(e)) if e.trim().is_empty() => {
                return Err(Error::invalid_argument("the error message is empty: say why the operation failed"))
            }
            (s, Some(_)) if s != VolumeOpStatus::Failed => {
                return Err(Error::invalid_argument(format!(
                    "an error message is recorded only when an operation fails, not when it moves to {s}"
                )))
            }
            _ => {}
        }
        self.writing(|tx| {
            let now = self.now_ms(); // once the write lock is held: changes stamp in commit order
            let op = load_op(tx, id)?;
            op.status.check_move(status).map_err(|e| e.context(format!("volume operation {}", echo(id))))?;
            let completed_at = status.is_terminal().then_some(now);
            tx.execute(
                "UPDATE volume_operations SET status = :status, response = COALESCE(:response, response), \
                 error = COALESCE(:error, error), updated_at = :now, completed_at = COALESCE(:completed_at, completed_at) \
                 WHERE id = :id",
                params![id, status, response = response.map(Value::to_string), error, now, completed_at],
            )?;
            let mut details = serde_json::Map::new();
            if let Some(e) = error {
                details.insert("error".into(), Value::String(e.to_string()));
            }
            if let Some(r) = response {
                details.insert("response".into(), r.clone());
            }
            let details = (!details.is_empty()).then_some(Value::Object(details));
            append_history(tx, id, Some(op.status), status, now, details.as_ref())?;
            load_op(tx, id)
        })
    }

    /// The operation with this id.
    pub fn volume_op_get(&self, id: &str) -> Result<VolumeOperation> {
        self.reading(|tx| load_op(tx, id))
    }

    /// Operations matching `filter`, oldest first (created_at, then id).
    pub fn volume_op_list(&self, filter: &VolumeOpFilter) -> Result<Vec<VolumeOperation>> {
        let query = Select::records::<VolumeOperation>()
            .eq("volume_id", filter.volume_id.as_ref())
            .eq("vm_id", filter.vm_id.as_ref())
            .eq("status", filter.status)
            .eq("type", filter.op_type)
            .order("created_at, id", Some((filter.limit.unwrap_or(100), filter.offset.unwrap_or(0))));
        self.reading(|tx| query.records_in(tx))
    }

    /// The history of an operation, oldest change first. NOT_FOUND naming the id when the
    /// operation does not exist.
    pub fn volume_op_history(&self, id: &str) -> Result<Vec<VolumeOpHistory>> {
        self.reading(|tx| {
            require_row(tx, "volume_operations", "id", &id, &format!("volume operation {:?}", echo(id)))?;
            tx.records("WHERE operation_id = :id ORDER BY id", params![id])
        })
    }

    /// Operations executing for longer than `older_than_ms` (their last status change is older
    /// than now - `older_than_ms`), longest-stuck first; an indexed query on
    /// (status, updated_at). A negative age is INVALID_ARGUMENT.
    pub fn volume_op_stuck(&self, older_than_ms: i64) -> Result<Vec<VolumeOperation>> {
        if older_than_ms < 0 {
            return Err(Error::invalid_argument(format!("older_than_ms is negative ({older_than_ms})")));
        }
        let cutoff = self.now_ms().saturating_sub(older_than_ms);
        self.reading(|tx| tx.rows(STUCK_SQL, params![cutoff], VolumeOperation::from_row))
    }

    /// Record a mount of a volume for a job, in mounting. NOT_FOUND naming the volume row or
    /// the job when missing; CONFLICT naming the live mount that already uses the device path
    /// or the mount point. Returns the mount's id.
    pub fn volume_mount_create(&self, new: &NewVolumeMount) -> Result<i64> {
        new.validate()?;
        self.writing(|tx| {
            let now = self.now_ms(); // once the write lock is held: changes stamp in commit order
            require_row(
                tx,
                "ossea_volumes",
                "id",
                &new.ossea_volume_id,
                &format!("ossea volume {}", new.ossea_volume_id),
            )?;
            require_row(
                tx,
                "replication_jobs",
                "id",
                &new.job_id,
                &format!("replication job {:?}", echo(&new.job_id)),
            )?;
            for (column, value) in [("device_path", Some(&new.device_path)), ("mount_point", new.mount_point.as_ref())]
            {
                let Some(value) = value else { continue };
                let holder: Option<(i64, String)> = tx.optional(
                    &format!(
                        "SELECT id, job_id FROM volume_mounts WHERE {column} = :value \
                         AND mount_status IN ('mounting', 'mounted', 'unmount_pending') ORDER BY id LIMIT 1"
                    ),
                    params![value],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                if let Some((mount, job)) = holder {
                    return Err(Error::conflict(format!(
                        "{column} {value} is used by live volume mount {mount} of job {job}",
                        value = echo(value)
                    )));
                }
            }
            tx.execute(
                "INSERT INTO volume_mounts (ossea_volume_id, job_id, device_path, mount_point, mount_status, \
                 filesystem_type, mount_options, is_read_only, created_at, updated_at) \
                 VALUES (:ossea_volume_id, :job_id, :device_path, :mount_point, 'mounting', :filesystem_type, \
                 :mount_options, :is_read_only, :now, :now)",
                params![
                    ossea_volume_id = new.ossea_volume_id,
                    job_id = new.job_id,
                    device_path = new.device_path,
                    mount_point = new.mount_point,
                    filesystem_type = new.filesystem_type,
                    mount_options = new.mount_options,
                    is_read_only = new.is_read_only,
                    now
                ],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// Move a mount to `status` (stamping mounted_at on mounted, unmounted_at on unmounted).
    pub fn volume_mount_set_status(&self, id: i64, status: MountStatus) -> Result<VolumeMount> {
        self.writing(|tx| {
            let now = self.now_ms(); // once the write lock is held: changes stamp in commit order
            let m = load_mount(tx, id)?;
            m.mount_status.check_move(status).map_err(|e| e.context(format!("volume mount {id}")))?;
            tx.execute(
                "UPDATE volume_mounts SET mount_status = :status, updated_at = :now, \
                 mounted_at = CASE WHEN :status = 'mounted' THEN :now ELSE mounted_at END, \
                 unmounted_at = CASE WHEN :status = 'unmounted' THEN :now ELSE unmounted_at END WHERE id = :id",
                params![id, status, now],
            )?;
            load_mount(tx, id)
        })
    }

    /// The mount with this id.
    pub fn volume_mount_get(&self, id: i64) -> Result<VolumeMount> {
        self.reading(|tx| load_mount(tx, id))
    }

    /// The mounts of a job, oldest first (empty for a job without mounts). NOT_FOUND when the
    /// job does not exist.
    pub fn volume_mount_list(&self, job_id: &str) -> Result<Vec<VolumeMount>> {
        self.reading(|tx| {
            require_row(tx, "replication_jobs", "id", &job_id, &format!("replication job {:?}", echo(job_id)))?;
            tx.records("WHERE job_id = :job_id ORDER BY id", params![job_id])
        })
    }

    /// The volume daemon's metrics now, computed from the operations in one snapshot.
    pub fn volume_metrics(&self) -> Result<VolumeMetrics> {
        let now = self.now_ms();
        self.reading(|tx| compute_metrics(tx, now))
    }

    /// Compute the metrics and store them as a `volume_daemon_metrics` sample, in one
    /// transaction; returns the sample (with its id).
    pub fn volume_metrics_record(&self) -> Result<VolumeMetrics> {
        self.writing(|tx| {
            let now = self.now_ms(); // once the write lock is held: changes stamp in commit order
            let mut m = compute_metrics(tx, now)?;
            let text =
                |map: &BTreeMap<String, i64>| serde_json::to_string(map).map_err(|e| Error::internal(e.to_string()));
            tx.execute(
                "INSERT INTO volume_daemon_metrics (timestamp, total_operations, pending_operations, active_mappings, \
                 operations_by_type, operations_by_status, average_response_time_ms, error_rate_percent) \
                 VALUES (:now, :total_operations, :pending_operations, :active_mappings, :operations_by_type, \
                 :operations_by_status, :average_response_time_ms, :error_rate_percent)",
                params![
                    now,
                    total_operations = m.total_operations,
                    pending_operations = m.pending_operations,
                    active_mappings = m.active_mappings,
                    operations_by_type = text(&m.operations_by_type)?,
                    operations_by_status = text(&m.operations_by_status)?,
                    average_response_time_ms = m.average_response_time_ms,
                    error_rate_percent = m.error_rate_percent
                ],
            )?;
            m.id = Some(tx.last_insert_rowid());
            Ok(m)
        })
    }

    /// The recorded metric samples, newest first, at most `limit`.
    pub fn volume_metrics_samples(&self, limit: u32) -> Result<Vec<VolumeMetrics>> {
        self.reading(|tx| {
            tx.rows(
                "SELECT id, timestamp, total_operations, pending_operations, active_mappings, operations_by_type, \
                 operations_by_status, average_response_time_ms, error_rate_percent FROM volume_daemon_metrics \
                 ORDER BY timestamp DESC, id DESC LIMIT :limit",
                params![limit],
                VolumeMetrics::from_row,
            )
        })
    }
}

/// The stuck-operations query (the columns of [`VolumeOperation`]; parameter `:cutoff`);
/// `tests/integration/targets/volume_op.rs` checks its plan uses the (status, updated_at) index.
pub const STUCK_SQL: &str = "SELECT id, type, status, volume_id, vm_id, request, response, error, created_at, \
    updated_at, completed_at FROM volume_operations WHERE status = 'executing' AND updated_at < :cutoff \
    ORDER BY updated_at, rowid";

#[cfg(test)]
mod tests {
    use super::*;
    use VolumeOpStatus::*;

    #[test]
    fn status_machine_edges_are_exactly_the_documented_ones() {
        let allowed = [
            (Pending, Executing),
            (Executing, Completed),
            (Executing, Failed),
            (Executing, Cancelled),
            (Pending, Failed),
            (Pending, Cancelled),
        ];
        for from in VolumeOpStatus::ALL {
            for to in VolumeOpStatus::ALL {
                assert_eq!(from.can_move_to(*to), allowed.contains(&(*from, *to)), "{from} -> {to}");
            }
        }
        for t in [Completed, Failed, Cancelled] {
            assert!(t.is_terminal());
            let e = t.check_move(Executing).unwrap_err();
            assert_eq!(e.message(), format!("a volume operation cannot move from {t} to executing: {t} is final"));
        }
        let e = Pending.check_move(Completed).unwrap_err();
        assert_eq!(e.status(), crate::Status::InvalidState);
        assert!(e.message().starts_with("a volume operation cannot move from pending to completed: "), "{e}");
    }

    #[test]
    fn mount_machine_edges_are_exactly_the_documented_ones() {
        use MountStatus::*;
        let allowed = [
            (Mounting, Mounted),
            (Mounting, Error),
            (Mounted, UnmountPending),
            (Mounted, Unmounted),
            (Mounted, Error),
            (UnmountPending, Unmounted),
            (UnmountPending, Error),
            (Error, Unmounted),
        ];
        for from in MountStatus::ALL {
            for to in MountStatus::ALL {
                assert_eq!(from.can_move_to(*to), allowed.contains(&(*from, *to)), "{from} -> {to}");
            }
        }
        assert!(Unmounted.check_move(Mounted).unwrap_err().message().ends_with("unmounted is final"));
        assert!(Mounting.is_live() && Mounted.is_live() && UnmountPending.is_live());
        assert!(!Unmounted.is_live() && !Error.is_live());
    }

    #[test]
    fn inputs_are_checked() {
        let op: NewVolumeOp = crate::value::from_json(
            "json",
            r#"{"type":"attach","volume_id":"vol-1","vm_id":"vm-1","request":{"device":"auto"}}"#,
        )
        .unwrap();
        assert_eq!(op.op_type, VolumeOpType::Attach);
        assert!(op.validate().is_ok());
        let e = crate::value::from_json::<NewVolumeOp>("json", r#"{"type":"move","volume_id":"v","request":{}}"#)
            .unwrap_err();
        assert!(e.message().contains("not a valid volume operation type"), "{e}");
        let mut bad = op.clone();
        bad.request = Value::Array(vec![]);
        assert!(bad.validate().unwrap_err().message().contains("JSON object"));
        assert!(check_path("device_path", "/dev/vdb").is_ok());
        assert!(check_path("device_path", "vdb").is_err());
        let f: VolumeOpFilter = crate::value::from_json("filter", r#"{"type":"detach","status":"failed"}"#).unwrap();
        assert_eq!((f.op_type, f.status), (Some(VolumeOpType::Detach), Some(Failed)));
    }
}
