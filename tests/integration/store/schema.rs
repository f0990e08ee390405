//! Schema v1 (src/store/sql/v1.sql): every table and view exists with the documented columns,
//! and the keys, CHECK constraints, foreign keys, ON DELETE rules and views behave as
//! docs/SCHEMA.md and docs/DOMAIN.md say.
//!
//! Pattern: `Store::open` creates the schema in a temp file; the tests then use a raw rusqlite
//! connection (foreign keys on) and plain SQL.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;

use sendense::rusqlite::types::Value;
use sendense::rusqlite::{self, Connection};
use sendense::{OpenOptions, Store};

// ------------------------------------------------------------------------------------------
// Expected shape (docs/SCHEMA.md, column order as documented; columns added by v1 at the end)
// ------------------------------------------------------------------------------------------

#[rustfmt::skip]
const TABLES: &[(&str, &[&str])] = &[
    (
        "vm_replication_contexts",
        &[
            "context_id", "vm_name", "vmware_vm_id", "vm_path", "vcenter_host", "datacenter", "current_status",
            "current_job_id", "total_jobs_run", "successful_jobs", "failed_jobs", "last_successful_job_id",
            "cpu_count", "memory_mb", "os_type", "power_state", "vm_tools_version", "created_at", "updated_at",
            "first_job_at", "last_job_at", "last_status_change", "auto_added", "last_scheduled_job_id",
            "next_scheduled_at", "scheduler_enabled", "credential_id", "ossea_config_id", "last_operation_summary",
        ],
    ),
    (
        "replication_jobs",
        &[
            "id", "vm_context_id", "source_vm_id", "source_vm_name", "source_vm_path", "v_center_host", "datacenter",
            "replication_type", "target_network", "status", "progress_percent", "current_operation",
            "bytes_transferred", "total_bytes", "transfer_speed_bps", "error_message", "change_id",
            "previous_change_id", "snapshot_id", "nbd_port", "nbd_export_name", "target_device", "ossea_config_id",
            "created_at", "updated_at", "started_at", "completed_at", "vma_sync_type", "vma_current_phase",
            "vma_throughput_mbps", "vma_eta_seconds", "vma_last_poll_at", "vma_error_classification",
            "vma_error_details", "setup_progress_percent", "schedule_execution_id", "scheduled_by", "vm_group_id",
        ],
    ),
    (
        "vm_disks",
        &[
            "id", "vm_context_id", "job_id", "disk_id", "vm_dk_path", "size_gb", "datastore", "unit_number", "label",
            "capacity_bytes", "provisioning_type", "ossea_volume_id", "disk_change_id", "sync_status",
            "sync_progress_percent", "bytes_synced", "created_at", "updated_at", "cpu_count", "memory_mb", "os_type",
            "vm_tools_version", "network_config", "display_name", "annotation", "power_state", "vmware_uuid",
            "bios_setup",
        ],
    ),
    (
        "failover_jobs",
        &[
            "id", "vm_context_id", "job_id", "vm_id", "replication_job_id", "job_type", "status", "source_vm_name",
            "source_vm_spec", "destination_vm_id", "ossea_snapshot_id", "linstor_snapshot_name", "linstor_config_id",
            "network_mappings", "error_message", "created_at", "updated_at", "started_at", "completed_at",
        ],
    ),
    (
        "network_mappings",
        &[
            "id", "vm_id", "source_network_name", "destination_network_id", "destination_network_name",
            "is_test_network", "created_at", "updated_at", "vm_context_id", "vmware_vm_id", "validation_status",
            "mapping_type", "network_strategy", "last_validated",
        ],
    ),
    (
        "ossea_configs",
        &[
            "id", "name", "api_url", "api_key", "secret_key", "domain", "zone", "template_id", "network_id",
            "service_offering_id", "disk_offering_id", "oma_vm_id", "created_at", "updated_at", "is_active",
        ],
    ),
    (
        "ossea_volumes",
        &[
            "id", "vm_context_id", "volume_id", "volume_name", "size_gb", "ossea_config_id", "volume_type",
            "device_path", "mount_point", "status", "created_at", "updated_at", "snapshot_id", "snapshot_created_at",
            "snapshot_status",
        ],
    ),
    (
        "device_mappings",
        &[
            "id", "vm_context_id", "volume_uuid", "volume_id_numeric", "vm_id", "operation_mode",
            "cloudstack_device_id", "requires_device_correlation", "device_path", "cloudstack_state", "linux_state",
            "size", "last_sync", "created_at", "updated_at", "ossea_snapshot_id", "snapshot_created_at",
            "snapshot_status", "persistent_device_name", "symlink_path",
        ],
    ),
    (
        "nbd_exports",
        &[
            "id", "vm_context_id", "job_id", "volume_id", "vm_disk_id", "device_mapping_uuid", "export_name", "port",
            "device_path", "config_path", "status", "created_at", "updated_at",
        ],
    ),
    (
        "cbt_history",
        &[
            "id", "vm_context_id", "job_id", "disk_id", "change_id", "previous_change_id", "sync_type",
            "blocks_changed", "bytes_transferred", "sync_duration_seconds", "sync_success", "created_at",
        ],
    ),
    (
        "replication_schedules",
        &[
            "id", "name", "description", "cron_expression", "schedule_type", "timezone", "chain_parent_schedule_id",
            "chain_delay_minutes", "replication_type", "max_concurrent_jobs", "retry_attempts", "retry_delay_minutes",
            "enabled", "skip_if_running", "created_at", "updated_at", "created_by", "next_run_at",
        ],
    ),
    (
        "schedule_executions",
        &[
            "id", "schedule_id", "group_id", "scheduled_at", "started_at", "completed_at", "status", "vms_eligible",
            "jobs_created", "jobs_completed", "jobs_failed", "jobs_skipped", "execution_details", "error_message",
            "error_details", "execution_duration_seconds", "created_at", "triggered_by",
        ],
    ),
    (
        "vm_machine_groups",
        &[
            "id", "name", "description", "schedule_id", "max_concurrent_vms", "priority", "created_at", "updated_at",
            "created_by",
        ],
    ),
    (
        "vm_group_memberships",
        &["id", "group_id", "vm_context_id", "enabled", "priority", "schedule_override_id", "added_at", "added_by"],
    ),
    (
        "job_tracking",
        &[
            "id", "parent_job_id", "job_type", "operation", "status", "cloudstack_job_id", "external_job_id",
            "metadata", "error_message", "started_at", "completed_at", "created_at", "updated_at", "percent_complete",
            "canceled_at", "owner", "context_id", "job_category",
        ],
    ),
    (
        "job_steps",
        &["id", "job_id", "name", "seq", "status", "started_at", "completed_at", "error_message", "metadata"],
    ),
    ("job_execution_log", &["id", "job_id", "log_level", "message", "details", "operation_phase", "created_at"]),
    ("log_events", &["id", "job_id", "step_id", "level", "message", "attrs", "ts", "external_job_id"]),
    (
        "vmware_credentials",
        &[
            "id", "credential_name", "vcenter_host", "username", "password_encrypted", "datacenter", "is_active",
            "is_default", "created_at", "updated_at", "created_by", "last_used", "usage_count",
        ],
    ),
    (
        "vma_enrollments",
        &[
            "id", "pairing_code", "vma_public_key", "vma_name", "vma_version", "vma_fingerprint", "vma_ip_address",
            "challenge_nonce", "status", "approved_by", "approved_at", "expires_at", "created_at", "updated_at",
        ],
    ),
    (
        "vma_pairing_codes",
        &["id", "pairing_code", "generated_by", "used_by_enrollment_id", "expires_at", "used_at", "created_at"],
    ),
    (
        "vma_active_connections",
        &[
            "id", "enrollment_id", "vma_name", "vma_fingerprint", "ssh_user", "connection_status", "last_seen_at",
            "connected_at", "revoked_at", "revoked_by", "created_at", "updated_at",
        ],
    ),
    (
        "vma_connection_audit",
        &[
            "id", "enrollment_id", "event_type", "vma_fingerprint", "source_ip", "user_agent", "approved_by",
            "event_details", "created_at",
        ],
    ),
    (
        "volume_operations",
        &[
            "id", "type", "status", "volume_id", "vm_id", "request", "response", "error", "created_at", "updated_at",
            "completed_at",
        ],
    ),
    ("volume_operation_history", &["id", "operation_id", "previous_status", "new_status", "changed_at", "details"]),
    (
        "volume_mounts",
        &[
            "id", "ossea_volume_id", "job_id", "device_path", "mount_point", "mount_status", "filesystem_type",
            "mount_options", "is_read_only", "mounted_at", "unmounted_at", "created_at", "updated_at",
        ],
    ),
    (
        "volume_daemon_metrics",
        &[
            "id", "timestamp", "total_operations", "pending_operations", "active_mappings", "operations_by_type",
            "operations_by_status", "average_response_time_ms", "error_rate_percent", "details",
        ],
    ),
    (
        "backup_repositories",
        &[
            "id", "name", "repository_type", "enabled", "config", "is_immutable", "immutable_config",
            "min_retention_days", "total_size_bytes", "used_size_bytes", "available_size_bytes", "last_check_at",
            "created_at", "updated_at",
        ],
    ),
    (
        "backup_policies",
        &[
            "id", "name", "enabled", "primary_repository_id", "retention_days", "created_at", "updated_at",
            "keep_last", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly",
        ],
    ),
    (
        "backup_copy_rules",
        &[
            "id", "policy_id", "destination_repository_id", "copy_mode", "priority", "enabled", "verify_after_copy",
            "created_at",
        ],
    ),
    (
        "backup_jobs",
        &[
            "id", "vm_backup_context_id", "vm_context_id", "vm_name", "disk_id", "repository_id", "policy_id",
            "backup_type", "status", "repository_path", "parent_backup_id", "change_id", "bytes_transferred",
            "total_bytes", "compression_enabled", "error_message", "created_at", "started_at", "completed_at",
            "current_phase", "transfer_speed_bps", "eta_seconds", "progress_percent", "last_telemetry_at",
            "backup_group_id", "protected", "size_bytes", "immutable_from", "immutable_until",
        ],
    ),
    (
        "backup_copies",
        &[
            "id", "source_backup_id", "repository_id", "copy_rule_id", "status", "file_path", "size_bytes",
            "copy_started_at", "copy_completed_at", "verified_at", "verification_status", "error_message",
            "created_at",
        ],
    ),
    (
        "backup_chains",
        &[
            "id", "vm_context_id", "disk_id", "full_backup_id", "latest_backup_id", "total_backups",
            "total_size_bytes", "created_at", "updated_at", "repository_id",
        ],
    ),
    ("store_clock", &["id", "high_water_ms", "updated_at"]),
    ("store_secret_key", &["id", "key_id", "updated_at"]),
    ("lease_pools", &["name", "description", "created_at"]),
    ("lease_resources", &["id", "pool", "resource", "ordinal"]),
    ("leases", &["resource_id", "owner_id", "acquired_at", "expires_at"]),
    (
        "linstor_configs",
        &[
            "id", "name", "api_url", "api_port", "api_protocol", "api_key", "api_secret",
            "connection_timeout_seconds", "retry_attempts", "description", "created_at", "updated_at", "is_active",
        ],
    ),
];

#[rustfmt::skip]
const VIEWS: &[(&str, &[&str])] = &[
    (
        "active_jobs",
        &["id", "job_type", "operation", "status", "parent_job_id", "started_at", "running_seconds", "error_count"],
    ),
    (
        "job_tracking_hierarchy",
        &[
            "id", "job_type", "operation", "status", "parent_job_id", "started_at", "completed_at", "job_level",
            "child_count", "duration_seconds",
        ],
    ),
    (
        "active_schedules",
        &[
            "id", "name", "description", "cron_expression", "schedule_type", "enabled", "max_concurrent_jobs",
            "group_count", "vm_count", "next_execution", "last_execution",
        ],
    ),
    (
        "schedule_execution_summary",
        &[
            "id", "schedule_id", "schedule_name", "status", "scheduled_at", "started_at", "completed_at",
            "execution_duration_seconds", "vms_eligible", "jobs_created", "jobs_completed", "jobs_failed",
            "jobs_skipped", "success_rate_percent", "error_message", "triggered_by",
        ],
    ),
    (
        "vm_schedule_status",
        &[
            "context_id", "vm_name", "vm_status", "next_scheduled_at", "scheduler_enabled", "group_name",
            "group_priority", "vm_priority", "membership_enabled", "schedule_name", "cron_expression",
            "schedule_enabled", "has_active_job", "active_job_id", "job_status", "progress_percent",
        ],
    ),
];

/// Every foreign key: (child table, child column, parent table, parent column, ON DELETE).
#[rustfmt::skip]
const FOREIGN_KEYS: &[(&str, &str, &str, &str, &str)] = &[
    ("vm_replication_contexts", "current_job_id", "replication_jobs", "id", "SET NULL"),
    ("vm_replication_contexts", "last_successful_job_id", "replication_jobs", "id", "SET NULL"),
    ("vm_replication_contexts", "credential_id", "vmware_credentials", "id", "SET NULL"),
    ("vm_replication_contexts", "ossea_config_id", "ossea_configs", "id", "SET NULL"),
    ("replication_jobs", "vm_context_id", "vm_replication_contexts", "context_id", "CASCADE"),
    ("replication_jobs", "ossea_config_id", "ossea_configs", "id", "RESTRICT"),
    ("replication_jobs", "schedule_execution_id", "schedule_executions", "id", "SET NULL"),
    ("replication_jobs", "vm_group_id", "vm_machine_groups", "id", "SET NULL"),
    ("vm_disks", "vm_context_id", "vm_replication_contexts", "context_id", "CASCADE"),
    ("vm_disks", "job_id", "replication_jobs", "id", "SET NULL"),
    ("vm_disks", "ossea_volume_id", "ossea_volumes", "id", "SET NULL"),
    ("failover_jobs", "vm_context_id", "vm_replication_contexts", "context_id", "CASCADE"),
    ("failover_jobs", "replication_job_id", "replication_jobs", "id", "SET NULL"),
    ("failover_jobs", "linstor_config_id", "linstor_configs", "id", "SET NULL"),
    ("network_mappings", "vm_context_id", "vm_replication_contexts", "context_id", "CASCADE"),
    ("ossea_volumes", "vm_context_id", "vm_replication_contexts", "context_id", "CASCADE"),
    ("ossea_volumes", "ossea_config_id", "ossea_configs", "id", "RESTRICT"),
    ("device_mappings", "vm_context_id", "vm_replication_contexts", "context_id", "CASCADE"),
    ("nbd_exports", "vm_context_id", "vm_replication_contexts", "context_id", "CASCADE"),
    ("nbd_exports", "job_id", "replication_jobs", "id", "SET NULL"),
    ("nbd_exports", "volume_id", "device_mappings", "volume_uuid", "CASCADE"),
    ("nbd_exports", "vm_disk_id", "vm_disks", "id", "SET NULL"),
    ("nbd_exports", "device_mapping_uuid", "device_mappings", "volume_uuid", "CASCADE"),
    ("cbt_history", "vm_context_id", "vm_replication_contexts", "context_id", "CASCADE"),
    ("cbt_history", "job_id", "replication_jobs", "id", "SET NULL"),
    ("replication_schedules", "chain_parent_schedule_id", "replication_schedules", "id", "RESTRICT"),
    ("schedule_executions", "schedule_id", "replication_schedules", "id", "CASCADE"),
    ("schedule_executions", "group_id", "vm_machine_groups", "id", "SET NULL"),
    ("vm_machine_groups", "schedule_id", "replication_schedules", "id", "SET NULL"),
    ("vm_group_memberships", "group_id", "vm_machine_groups", "id", "CASCADE"),
    ("vm_group_memberships", "vm_context_id", "vm_replication_contexts", "context_id", "CASCADE"),
    ("vm_group_memberships", "schedule_override_id", "replication_schedules", "id", "SET NULL"),
    ("job_tracking", "parent_job_id", "job_tracking", "id", "CASCADE"),
    ("job_steps", "job_id", "job_tracking", "id", "CASCADE"),
    ("job_execution_log", "job_id", "job_tracking", "id", "CASCADE"),
    ("log_events", "job_id", "job_tracking", "id", "SET NULL"),
    ("log_events", "step_id", "job_steps", "id", "SET NULL"),
    ("vma_enrollments", "pairing_code", "vma_pairing_codes", "pairing_code", "RESTRICT"),
    ("vma_pairing_codes", "used_by_enrollment_id", "vma_enrollments", "id", "SET NULL"),
    ("vma_active_connections", "enrollment_id", "vma_enrollments", "id", "CASCADE"),
    ("vma_connection_audit", "enrollment_id", "vma_enrollments", "id", "SET NULL"),
    ("volume_operation_history", "operation_id", "volume_operations", "id", "CASCADE"),
    ("volume_mounts", "ossea_volume_id", "ossea_volumes", "id", "CASCADE"),
    ("volume_mounts", "job_id", "replication_jobs", "id", "CASCADE"),
    ("backup_policies", "primary_repository_id", "backup_repositories", "id", "RESTRICT"),
    ("backup_copy_rules", "policy_id", "backup_policies", "id", "CASCADE"),
    ("backup_copy_rules", "destination_repository_id", "backup_repositories", "id", "RESTRICT"),
    ("backup_jobs", "vm_context_id", "vm_replication_contexts", "context_id", "CASCADE"),
    ("backup_jobs", "repository_id", "backup_repositories", "id", "RESTRICT"),
    ("backup_jobs", "policy_id", "backup_policies", "id", "SET NULL"),
    // NO ACTION, not RESTRICT: both sides are emptied by one context cascade.
    ("backup_jobs", "parent_backup_id", "backup_jobs", "id", "NO ACTION"),
    ("backup_copies", "source_backup_id", "backup_jobs", "id", "CASCADE"),
    ("backup_copies", "repository_id", "backup_repositories", "id", "RESTRICT"),
    ("backup_copies", "copy_rule_id", "backup_copy_rules", "id", "SET NULL"),
    ("backup_chains", "vm_context_id", "vm_replication_contexts", "context_id", "CASCADE"),
    ("backup_chains", "full_backup_id", "backup_jobs", "id", "NO ACTION"),
    ("backup_chains", "latest_backup_id", "backup_jobs", "id", "NO ACTION"),
    ("backup_chains", "repository_id", "backup_repositories", "id", "RESTRICT"),
    ("lease_resources", "pool", "lease_pools", "name", "CASCADE"),
    ("leases", "resource_id", "lease_resources", "id", "CASCADE"),
];

/// Tables whose rows hang off a context (directly or through another owned table).
#[rustfmt::skip]
const CONTEXT_OWNED: &[&str] = &[
    "vm_replication_contexts", "replication_jobs", "vm_disks", "cbt_history", "failover_jobs", "network_mappings",
    "ossea_volumes", "device_mappings", "nbd_exports", "volume_mounts", "vm_group_memberships", "backup_jobs",
    "backup_chains", "backup_copies",
];

/// The shared non-terminal replication job statuses (docs/SCHEMA.md replication_jobs note).
#[rustfmt::skip]
/// The active (non-terminal) replication job statuses: the library's one definition.
fn active_job_statuses() -> Vec<&'static str> {
    sendense::replication::JobStatus::ACTIVE.iter().map(|s| s.as_str()).collect()
}

const T0: i64 = 1_700_000_000_000;

// ------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------

/// A database created by `Store::open`, reopened with a raw connection (foreign keys on).
struct Db {
    conn: Connection,
    _dir: tempfile::TempDir,
}

impl Deref for Db {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

fn open_db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schema.db");
    let store = Store::open(&path, OpenOptions::default()).expect("Store::open creates the schema");
    assert_eq!(store.schema_version().unwrap(), sendense::SCHEMA_VERSION);
    drop(store);
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    Db { conn, _dir: dir }
}

/// Conversion of test literals into SQL values.
trait IntoValue {
    fn into_value(self) -> Value;
}
impl IntoValue for Value {
    fn into_value(self) -> Value {
        self
    }
}
impl IntoValue for &str {
    fn into_value(self) -> Value {
        Value::Text(self.to_owned())
    }
}
impl IntoValue for &String {
    fn into_value(self) -> Value {
        Value::Text(self.clone())
    }
}
impl IntoValue for String {
    fn into_value(self) -> Value {
        Value::Text(self)
    }
}
impl IntoValue for i32 {
    fn into_value(self) -> Value {
        Value::Integer(self.into())
    }
}
impl IntoValue for i64 {
    fn into_value(self) -> Value {
        Value::Integer(self)
    }
}
impl IntoValue for f64 {
    fn into_value(self) -> Value {
        Value::Real(self)
    }
}

const NULL: Value = Value::Null;

type Cols = Vec<(&'static str, Value)>;

/// `cols!{"a" => 1, "b" => "x"}`: a column list for [`add`] and [`try_add`].
macro_rules! cols {
    ($($k:literal => $v:expr),* $(,)?) => { vec![$(($k, IntoValue::into_value($v))),*] as Cols };
}

/// Sensible values for the required columns of `table`; `key` makes them unique.
fn defaults(table: &str, key: &str) -> Cols {
    match table {
        "vm_replication_contexts" => cols! {
            "context_id" => key, "vm_name" => format!("vm {key}"), "vmware_vm_id" => format!("uuid-{key}"),
            "vm_path" => format!("/DC1/vm/{key}"), "vcenter_host" => "vc.example", "datacenter" => "DC1",
        },
        "replication_jobs" => cols! {
            "id" => key, "source_vm_id" => "uuid", "source_vm_name" => "vm", "source_vm_path" => "/DC1/vm/vm",
            "v_center_host" => "vc.example", "datacenter" => "DC1", "replication_type" => "initial",
            "created_at" => T0, "updated_at" => T0,
        },
        "vm_disks" => cols! {
            "disk_id" => key, "vm_dk_path" => format!("[ds1] vm/{key}.vmdk"), "size_gb" => 10,
            "created_at" => T0, "updated_at" => T0,
        },
        "failover_jobs" => cols! { "job_id" => key, "vm_id" => "uuid", "job_type" => "test", "source_vm_name" => "vm" },
        "network_mappings" => cols! {
            "vm_id" => "uuid", "source_network_name" => key, "destination_network_id" => "net-1",
            "destination_network_name" => "Guest Net",
        },
        "ossea_configs" => cols! {
            "name" => key, "api_url" => "https://cloud.example/client/api", "api_key" => "enc:k", "secret_key" => "enc:s",
            "zone" => "zone-1", "created_at" => T0, "updated_at" => T0,
        },
        "ossea_volumes" => cols! {
            "volume_id" => key, "volume_name" => format!("migration-{key}"), "size_gb" => 10,
            "created_at" => T0, "updated_at" => T0,
        },
        "device_mappings" => cols! {
            "id" => key, "volume_uuid" => format!("vol-{key}"), "vm_id" => "oma-vm",
            "device_path" => format!("/dev/disk/by-id/virtio-{key}"), "cloudstack_state" => "attached",
            "linux_state" => "detected", "size" => 10_737_418_240_i64,
        },
        "nbd_exports" => cols! {
            "export_name" => format!("migration-vol-{key}"), "port" => 10809, "device_path" => "/dev/vdb",
            "created_at" => T0, "updated_at" => T0,
        },
        "cbt_history" => {
            cols! { "disk_id" => "disk-2000", "change_id" => key, "sync_type" => "incremental", "created_at" => T0 }
        }
        "replication_schedules" => {
            cols! { "id" => key, "name" => format!("schedule {key}"), "cron_expression" => "0 0 2 * * *" }
        }
        "schedule_executions" => cols! { "id" => key, "scheduled_at" => T0 },
        "vm_machine_groups" => cols! { "id" => key, "name" => format!("group {key}") },
        "vm_group_memberships" => cols! { "id" => key },
        "job_tracking" => cols! { "id" => key, "operation" => format!("op {key}") },
        "job_steps" => cols! { "name" => key, "seq" => 1 },
        "job_execution_log" => cols! { "log_level" => "INFO", "message" => key },
        "log_events" => cols! { "level" => "INFO", "message" => key },
        "vmware_credentials" => cols! {
            "credential_name" => format!("cred {key}"), "vcenter_host" => "vc.example", "username" => "admin",
            "password_encrypted" => "v1:AAAA", "datacenter" => "DC1",
        },
        "vma_enrollments" => {
            cols! { "id" => key, "vma_public_key" => "ssh-ed25519 AAAA", "expires_at" => T0 + 600_000 }
        }
        "vma_pairing_codes" => cols! {
            "id" => format!("pc-{key}"), "pairing_code" => key, "generated_by" => "admin", "expires_at" => T0 + 600_000,
        },
        "vma_active_connections" => cols! { "id" => key, "vma_name" => "vma-1", "vma_fingerprint" => "SHA256:abc" },
        "vma_connection_audit" => cols! { "event_type" => "enrollment", "vma_fingerprint" => key },
        "volume_operations" => cols! { "id" => key, "type" => "attach", "volume_id" => "vol-x", "request" => "{}" },
        "volume_operation_history" => cols! { "new_status" => "pending", "details" => format!("{{\"k\":\"{key}\"}}") },
        "volume_mounts" => cols! { "device_path" => format!("/dev/{key}"), "created_at" => T0, "updated_at" => T0 },
        "volume_daemon_metrics" => cols! { "total_operations" => 1 },
        "backup_repositories" => cols! {
            "id" => key, "name" => format!("repo {key}"), "repository_type" => "local",
            "config" => format!("{{\"path\":\"/backups/{key}\"}}"),
        },
        "backup_policies" => cols! { "id" => key, "name" => format!("policy {key}") },
        "backup_copy_rules" => cols! { "id" => key, "priority" => 1 },
        "backup_jobs" => cols! {
            "id" => key, "vm_name" => "vm", "backup_type" => "full", "repository_path" => format!("/backups/{key}.qcow2"),
        },
        "backup_copies" => cols! { "id" => key, "file_path" => format!("/copies/{key}.qcow2") },
        "backup_chains" => cols! { "id" => key, "disk_id" => 0 },
        "linstor_configs" => cols! { "name" => key, "api_url" => "linstor.example" },
        other => panic!("no defaults for table {other}"),
    }
}

/// Insert one row into `table`: its defaults for `key`, overridden or extended by `extra`.
/// Returns the rowid.
fn try_add(c: &Connection, table: &str, key: &str, extra: Cols) -> rusqlite::Result<i64> {
    let mut row = defaults(table, key);
    for (name, value) in extra {
        match row.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => row.push((name, value)),
        }
    }
    let names: Vec<String> = row.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    let marks: Vec<String> = (1..=row.len()).map(|i| format!("?{i}")).collect();
    let sql = format!("INSERT INTO {table} ({}) VALUES ({})", names.join(", "), marks.join(", "));
    c.execute(&sql, rusqlite::params_from_iter(row.into_iter().map(|(_, v)| v)))?;
    Ok(c.last_insert_rowid())
}

fn add(c: &Connection, table: &str, key: &str, extra: Cols) -> i64 {
    try_add(c, table, key, extra).unwrap_or_else(|e| panic!("insert into {table} ({key}): {e}"))
}

/// Assert that `result` failed with an error whose message contains every one of `needles`.
#[track_caller]
fn assert_fails<T: std::fmt::Debug>(result: rusqlite::Result<T>, needles: &[&str]) {
    match result {
        Ok(v) => panic!("expected an error containing {needles:?}, got Ok({v:?})"),
        Err(e) => {
            let msg = e.to_string();
            for needle in needles {
                assert!(msg.contains(needle), "error {msg:?} does not contain {needle:?}");
            }
        }
    }
}

/// Run `f` inside a savepoint that is rolled back afterwards, so each case starts clean.
fn isolated<T>(c: &Connection, f: impl FnOnce(&Connection) -> T) -> T {
    c.execute_batch("SAVEPOINT isolated").unwrap();
    let out = f(c);
    c.execute_batch("ROLLBACK TO isolated; RELEASE isolated").unwrap();
    out
}

fn strings(c: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = c.prepare(sql).unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

fn columns(c: &Connection, table: &str) -> Vec<String> {
    strings(c, &format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"))
}

fn user_tables(c: &Connection) -> Vec<String> {
    strings(c, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
}

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn value(c: &Connection, sql: &str) -> Value {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[track_caller]
fn assert_no_fk_violations(c: &Connection) {
    assert_eq!(count(c, "SELECT count(*) FROM pragma_foreign_key_check"), 0, "PRAGMA foreign_key_check reports rows");
}

/// Every row of every table, as rowid -> quoted column values.
fn snapshot(c: &Connection) -> BTreeMap<String, BTreeMap<i64, String>> {
    let mut all = BTreeMap::new();
    for table in user_tables(c) {
        let expr: Vec<String> = columns(c, &table).iter().map(|col| format!("quote(\"{col}\")")).collect();
        let sql = format!("SELECT rowid, {} FROM {table}", expr.join(" || '|' || "));
        let mut stmt = c.prepare(&sql).unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))).unwrap();
        all.insert(table, rows.map(Result::unwrap).collect());
    }
    all
}

// ------------------------------------------------------------------------------------------
// Fixtures
// ------------------------------------------------------------------------------------------

/// Rows that no context owns: configs, credentials, repositories, policies, schedules, groups,
/// the job log, enrollment and the volume daemon. Integer ids are 1.
fn add_shared(c: &Connection) {
    add(c, "ossea_configs", "main-cloud", cols! {});
    add(c, "linstor_configs", "linstor-a", cols! {});
    add(c, "vmware_credentials", "prod", cols! { "is_default" => 1 });
    add(c, "backup_repositories", "repo-1", cols! {});
    add(c, "backup_repositories", "repo-2", cols! { "repository_type" => "nfs" });
    add(c, "backup_policies", "pol-1", cols! { "primary_repository_id" => "repo-1" });
    add(c, "backup_copy_rules", "rule-1", cols! { "policy_id" => "pol-1", "destination_repository_id" => "repo-2" });
    add(c, "replication_schedules", "sch-1", cols! {});
    add(
        c,
        "replication_schedules",
        "sch-2",
        cols! { "schedule_type" => "chain", "chain_parent_schedule_id" => "sch-1" },
    );
    add(c, "vm_machine_groups", "grp-1", cols! { "schedule_id" => "sch-1" });
    add(c, "schedule_executions", "exec-1", cols! { "schedule_id" => "sch-1", "group_id" => "grp-1" });
    add(c, "job_tracking", "jt-root", cols! { "status" => "running" });
    add(c, "job_tracking", "jt-child", cols! { "parent_job_id" => "jt-root" });
    let step = add(c, "job_steps", "prepare", cols! { "job_id" => "jt-root" });
    add(c, "job_execution_log", "legacy line", cols! { "job_id" => "jt-root" });
    add(c, "log_events", "it broke", cols! { "job_id" => "jt-root", "step_id" => step, "level" => "ERROR" });
    add(c, "vma_pairing_codes", "ABCD-EFGH-JKLM", cols! {});
    add(c, "vma_enrollments", "enr-1", cols! { "pairing_code" => "ABCD-EFGH-JKLM" });
    c.execute("UPDATE vma_pairing_codes SET used_by_enrollment_id = 'enr-1', used_at = ?1", [T0]).unwrap();
    add(c, "vma_active_connections", "conn-1", cols! { "enrollment_id" => "enr-1" });
    add(c, "vma_connection_audit", "SHA256:abc", cols! { "enrollment_id" => "enr-1" });
    add(c, "volume_operations", "op-1", cols! {});
    add(c, "volume_operation_history", "h1", cols! { "operation_id" => "op-1" });
    add(c, "volume_daemon_metrics", "m1", cols! {});
}

/// One context `ctx-{x}` with rows in every table that hangs off a context. Needs [`add_shared`].
fn add_context(c: &Connection, x: &str) {
    let ctx = format!("ctx-{x}");
    let (job1, job2) = (format!("job-{x}-1"), format!("job-{x}-2"));
    add(c, "vm_replication_contexts", &ctx, cols! { "credential_id" => 1, "ossea_config_id" => 1 });
    add(
        c,
        "replication_jobs",
        &job1,
        cols! {
            "vm_context_id" => &ctx, "status" => "completed", "ossea_config_id" => 1,
            "schedule_execution_id" => "exec-1", "vm_group_id" => "grp-1",
        },
    );
    add(
        c,
        "replication_jobs",
        &job2,
        cols! {
            "vm_context_id" => &ctx, "replication_type" => "incremental", "status" => "replicating",
        },
    );
    c.execute(
        "UPDATE vm_replication_contexts SET current_job_id = ?1, last_successful_job_id = ?2, \
         total_jobs_run = 2, successful_jobs = 1, current_status = 'replicating' WHERE context_id = ?3",
        [&job2, &job1, &ctx],
    )
    .unwrap();
    let vol1 =
        add(c, "ossea_volumes", &format!("vol-{x}-1"), cols! { "vm_context_id" => &ctx, "ossea_config_id" => 1 });
    let vol2 = add(c, "ossea_volumes", &format!("vol-{x}-2"), cols! { "vm_context_id" => &ctx });
    let disk = add(
        c,
        "vm_disks",
        "disk-2000",
        cols! {
            "vm_context_id" => &ctx, "job_id" => &job2, "ossea_volume_id" => vol1, "disk_change_id" => "52 aa/11",
        },
    );
    add(c, "vm_disks", "disk-2001", cols! { "vm_context_id" => &ctx, "job_id" => &job2, "ossea_volume_id" => vol2 });
    add(
        c,
        "cbt_history",
        "52 aa/10",
        cols! {
            "vm_context_id" => &ctx, "job_id" => &job1, "sync_type" => "initial", "sync_success" => 1,
        },
    );
    add(
        c,
        "cbt_history",
        "52 aa/11",
        cols! {
            "vm_context_id" => &ctx, "job_id" => &job2, "previous_change_id" => "52 aa/10", "sync_success" => 1,
        },
    );
    let (dm_oma, dm_failover) = (format!("dm-{x}-1"), format!("dm-{x}-2"));
    add(c, "device_mappings", &dm_oma, cols! { "vm_context_id" => &ctx });
    add(
        c,
        "device_mappings",
        &dm_failover,
        cols! {
            "vm_context_id" => &ctx, "operation_mode" => "failover", "device_path" => NULL, "linux_state" => "n/a",
            "size" => 0,
        },
    );
    let vol_uuid = format!("vol-{dm_oma}");
    add(
        c,
        "nbd_exports",
        &vol_uuid,
        cols! {
            "vm_context_id" => &ctx, "job_id" => &job2, "volume_id" => &vol_uuid, "device_mapping_uuid" => &vol_uuid,
            "vm_disk_id" => disk,
        },
    );
    add(c, "volume_mounts", &format!("vdb-{x}"), cols! { "ossea_volume_id" => vol1, "job_id" => &job2 });
    add(
        c,
        "failover_jobs",
        &format!("fo-{x}"),
        cols! {
            "vm_context_id" => &ctx, "replication_job_id" => &job1, "linstor_config_id" => 1,
        },
    );
    add(c, "network_mappings", "VM Network", cols! { "vm_context_id" => &ctx });
    add(
        c,
        "network_mappings",
        "VM Network",
        cols! {
            "vm_context_id" => &ctx, "is_test_network" => 1, "mapping_type" => "test",
        },
    );
    add(c, "vm_group_memberships", &format!("mem-{x}"), cols! { "group_id" => "grp-1", "vm_context_id" => &ctx });
    let (full, incr) = (format!("bk-{x}-full"), format!("bk-{x}-incr"));
    add(
        c,
        "backup_jobs",
        &full,
        cols! {
            "vm_context_id" => &ctx, "repository_id" => "repo-1", "policy_id" => "pol-1", "status" => "completed",
        },
    );
    add(
        c,
        "backup_jobs",
        &incr,
        cols! {
            "vm_context_id" => &ctx, "repository_id" => "repo-1", "policy_id" => "pol-1", "status" => "completed",
            "backup_type" => "incremental", "parent_backup_id" => &full,
        },
    );
    add(
        c,
        "backup_chains",
        &format!("chain-{x}"),
        cols! {
            "vm_context_id" => &ctx, "repository_id" => "repo-1", "full_backup_id" => &full,
            "latest_backup_id" => &incr, "total_backups" => 2,
        },
    );
    add(
        c,
        "backup_copies",
        &format!("copy-{x}"),
        cols! {
            "source_backup_id" => &full, "repository_id" => "repo-2", "copy_rule_id" => "rule-1",
        },
    );
}

/// Shared rows plus contexts `ctx-a` and `ctx-b`: every table has rows.
fn world() -> Db {
    let db = open_db();
    add_shared(&db);
    add_context(&db, "a");
    add_context(&db, "b");
    // A lease on the first backup NBD port (the pools and resources are built in).
    db.execute(
        "INSERT INTO leases (resource_id, owner_id, acquired_at, expires_at) \
         SELECT id, 'job-a-1', 1, 2 FROM lease_resources WHERE pool = 'backup_nbd_port' AND ordinal = 10100",
        [],
    )
    .unwrap();
    assert_no_fk_violations(&db);
    db
}

// ------------------------------------------------------------------------------------------
// Shape
// ------------------------------------------------------------------------------------------

#[test]
fn tables_and_views_have_the_documented_columns() {
    let db = open_db();
    let expected: BTreeSet<String> = TABLES.iter().map(|(t, _)| t.to_string()).collect();
    assert_eq!(expected.len(), 39);
    let actual: BTreeSet<String> = user_tables(&db).into_iter().collect();
    assert_eq!(actual, expected, "tables");
    for (table, cols) in TABLES {
        assert_eq!(columns(&db, table), *cols, "columns of table {table}");
    }

    let views: BTreeSet<String> =
        strings(&db, "SELECT name FROM sqlite_schema WHERE type = 'view'").into_iter().collect();
    assert_eq!(views, VIEWS.iter().map(|(v, _)| v.to_string()).collect::<BTreeSet<_>>(), "views");
    for (view, cols) in VIEWS {
        assert_eq!(columns(&db, view), *cols, "columns of view {view}");
        // A view that compiles but fails at run time (a bad reference) is caught here.
        count(&db, &format!("SELECT count(*) FROM {view}"));
    }
}

#[test]
fn every_table_is_strict() {
    let db = open_db();
    let lax = strings(
        &db,
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND strict = 0",
    );
    assert!(lax.is_empty(), "tables that are not STRICT: {lax:?}");
    // STRICT bites: text in an INTEGER column.
    add_shared(&db);
    assert_fails(db.execute("UPDATE vm_machine_groups SET priority = 'high'", []), &["cannot store TEXT value"]);
}

#[test]
fn foreign_keys_have_the_documented_targets_and_on_delete_actions() {
    let db = open_db();
    let mut actual = BTreeSet::new();
    for table in user_tables(&db) {
        let mut stmt = db
            .prepare(&format!(
                r#"SELECT "from", "table", "to", on_delete, seq FROM pragma_foreign_key_list('{table}')"#
            ))
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .unwrap();
        for row in rows {
            let (from, parent, to, on_delete, seq) = row.unwrap();
            assert_eq!(seq, 0, "{table}.{from}: composite foreign keys are not expected");
            actual.insert((table.clone(), from, parent, to, on_delete));
        }
    }
    let expected: BTreeSet<_> = FOREIGN_KEYS
        .iter()
        .map(|(t, f, p, to, d)| (t.to_string(), f.to_string(), p.to_string(), to.to_string(), d.to_string()))
        .collect();
    let missing: Vec<_> = expected.difference(&actual).collect();
    let unexpected: Vec<_> = actual.difference(&expected).collect();
    assert!(missing.is_empty() && unexpected.is_empty(), "missing {missing:#?}\nunexpected {unexpected:#?}");
}

#[test]
fn every_foreign_key_column_leads_a_full_index() {
    let db = open_db();
    let mut checked = 0;
    let mut unindexed = Vec::new();
    for table in user_tables(&db) {
        let fk_columns = strings(&db, &format!(r#"SELECT "from" FROM pragma_foreign_key_list('{table}')"#));
        // First column of every non-partial index (UNIQUE autoindexes included), and an
        // INTEGER PRIMARY KEY (the rowid itself).
        let leading = strings(
            &db,
            &format!(
                "SELECT ii.name FROM pragma_index_list('{table}') il \
                 JOIN pragma_index_info(il.name) ii ON ii.seqno = 0 WHERE il.partial = 0 \
                 UNION SELECT name FROM pragma_table_info('{table}') WHERE pk = 1 AND type = 'INTEGER' \
                   AND (SELECT count(*) FROM pragma_table_info('{table}') WHERE pk > 0) = 1"
            ),
        );
        for col in fk_columns {
            checked += 1;
            if !leading.contains(&col) {
                unindexed.push(format!("{table}.{col}"));
            }
        }
    }
    assert_eq!(checked, FOREIGN_KEYS.len());
    assert!(unindexed.is_empty(), "foreign-key columns without an index: {unindexed:?}");
}

#[test]
fn named_indexes_follow_the_naming_rule() {
    let db = open_db();
    let bad = strings(
        &db,
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL \
         AND name NOT LIKE 'idx!_' || tbl_name || '!_%' ESCAPE '!'",
    );
    assert!(bad.is_empty(), "indexes not named idx_<table>_<columns>: {bad:?}");
    // The indexes the docs/SCHEMA.md notes ask for.
    for index in [
        "idx_replication_jobs_vm_context_id_created_at",
        "idx_cbt_history_vm_context_id_disk_id_created_at",
        "idx_backup_copies_status_created_at",
        "idx_log_events_job_id_level",
        "idx_volume_operations_status_updated_at",
        "idx_device_mappings_device_path_oma",
        "idx_vmware_credentials_is_default_one",
        "idx_ossea_configs_is_active_one",
    ] {
        assert_eq!(count(&db, &format!("SELECT count(*) FROM sqlite_schema WHERE name = '{index}'")), 1, "{index}");
    }
}

// ------------------------------------------------------------------------------------------
// Keys and CHECK constraints
// ------------------------------------------------------------------------------------------

/// Copy the row of `table` selected by `filter` with some columns replaced by SQL expressions.
fn duplicate(c: &Connection, table: &str, filter: &str, overrides: &[(&str, &str)]) -> rusqlite::Result<usize> {
    let cols = columns(c, table);
    let exprs: Vec<String> = cols
        .iter()
        .map(|col| match overrides.iter().find(|(name, _)| name == col) {
            Some((_, expr)) => expr.to_string(),
            None => format!("\"{col}\""),
        })
        .collect();
    let names: Vec<String> = cols.iter().map(|col| format!("\"{col}\"")).collect();
    let sql =
        format!("INSERT INTO {table} ({}) SELECT {} FROM {table} WHERE {filter}", names.join(", "), exprs.join(", "));
    c.execute(&sql, [])
}

const LAST_ROW: &str = "rowid = (SELECT max(rowid) FROM {t})";

#[test]
fn every_unique_key_rejects_a_duplicate() {
    let db = world();
    // (table, key columns, columns to change so that only this key collides). Names that
    // people type are compared without case: the copy upper-cases them.
    type Case<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("vm_replication_contexts", &["vmware_vm_id", "vcenter_host"], &[("context_id", "'ctx-dup'"), ("vm_name", "'other'")]),
        ("vm_replication_contexts", &["vm_name", "vcenter_host"], &[("context_id", "'ctx-dup'"), ("vmware_vm_id", "'other'")]),
        ("vm_disks", &["vm_context_id", "disk_id"], &[("id", "NULL")]),
        ("failover_jobs", &["job_id"], &[("id", "NULL")]),
        ("network_mappings", &["vm_context_id", "source_network_name", "is_test_network"], &[("id", "NULL")]),
        ("ossea_configs", &["name"], &[("id", "NULL"), ("name", "upper(name)"), ("is_active", "0")]),
        ("ossea_volumes", &["volume_id"], &[("id", "NULL")]),
        ("device_mappings", &["volume_uuid"], &[("id", "'dm-dup'")]),
        ("nbd_exports", &["volume_id"], &[("id", "NULL"), ("export_name", "'other'")]),
        ("nbd_exports", &["export_name"], &[("id", "NULL"), ("volume_id", "'vol-dm-b-2'"), ("device_mapping_uuid", "NULL")]),
        ("cbt_history", &["job_id", "disk_id", "change_id"], &[("id", "NULL")]),
        ("replication_schedules", &["name"], &[("id", "'sch-dup'"), ("name", "upper(name)")]),
        ("vm_machine_groups", &["name"], &[("id", "'grp-dup'"), ("name", "upper(name)")]),
        ("vm_group_memberships", &["group_id", "vm_context_id"], &[("id", "'mem-dup'")]),
        ("job_steps", &["job_id", "seq"], &[("id", "NULL")]),
        ("vmware_credentials", &["credential_name"], &[("id", "NULL"), ("credential_name", "upper(credential_name)"), ("is_default", "0")]),
        ("vma_enrollments", &["pairing_code"], &[("id", "'enr-dup'")]),
        ("vma_pairing_codes", &["pairing_code"], &[("id", "'pc-dup'")]),
        ("vma_active_connections", &["enrollment_id"], &[("id", "'conn-dup'")]),
        ("backup_repositories", &["name"], &[("id", "'repo-dup'"), ("name", "upper(name)")]),
        ("backup_policies", &["name"], &[("id", "'pol-dup'"), ("name", "upper(name)")]),
        ("backup_copy_rules", &["policy_id", "destination_repository_id"], &[("id", "'rule-dup'")]),
        ("backup_copies", &["source_backup_id", "repository_id"], &[("id", "'copy-dup'")]),
        ("backup_chains", &["vm_context_id", "disk_id", "repository_id"], &[("id", "'chain-dup'")]),
        ("linstor_configs", &["name"], &[("id", "NULL"), ("name", "upper(name)")]),
    ];
    for (table, key, overrides) in cases {
        let filter = LAST_ROW.replace("{t}", table);
        let expected = key.iter().map(|col| format!("{table}.{col}")).collect::<Vec<_>>().join(", ");
        let needle = format!("UNIQUE constraint failed: {expected}");
        isolated(&db, |c| assert_fails(duplicate(c, table, &filter, overrides), &[&needle]));
    }
    // And a text primary key: a plain copy of a whole row.
    isolated(&db, |c| {
        assert_fails(
            duplicate(c, "backup_jobs", "id = 'bk-a-full'", &[]),
            &["UNIQUE constraint failed: backup_jobs.id"],
        )
    });
}

#[test]
fn partial_unique_indexes_bite_only_where_they_apply() {
    let db = world();
    // Hub (oma) devices: device_path is unique.
    assert_fails(
        duplicate(&db, "device_mappings", "id = 'dm-a-1'", &[("id", "'dm-x'"), ("volume_uuid", "'vol-x'")]),
        &["UNIQUE constraint failed: device_mappings.device_path"],
    );
    // Failover volumes have no local device: several NULL device_paths are fine.
    for n in 0..3 {
        let (id, vol) = (format!("'dm-f{n}'"), format!("'vol-f{n}'"));
        duplicate(&db, "device_mappings", "id = 'dm-a-2'", &[("id", id.as_str()), ("volume_uuid", vol.as_str())])
            .unwrap();
    }
    assert_eq!(count(&db, "SELECT count(*) FROM device_mappings WHERE device_path IS NULL"), 5);

    // One default credential; non-default ones are unlimited.
    assert_fails(
        try_add(&db, "vmware_credentials", "second", cols! { "is_default" => 1 }),
        &["UNIQUE constraint failed: vmware_credentials.is_default"],
    );
    add(&db, "vmware_credentials", "third", cols! {});
    add(&db, "vmware_credentials", "fourth", cols! {});

    // One active CloudStack configuration.
    assert_fails(
        try_add(&db, "ossea_configs", "other", cols! {}),
        &["UNIQUE constraint failed: ossea_configs.is_active"],
    );
    add(&db, "ossea_configs", "standby-1", cols! { "is_active" => 0 });
    add(&db, "ossea_configs", "standby-2", cols! { "is_active" => 0 });

    // One active replication job per context, any number of finished ones.
    for status in &active_job_statuses() {
        isolated(&db, |c| {
            assert_fails(
                try_add(c, "replication_jobs", "job-a-3", cols! { "vm_context_id" => "ctx-a", "status" => *status }),
                &["UNIQUE constraint failed: replication_jobs.vm_context_id"],
            )
        });
    }
    for status in ["completed", "failed", "cancelled"] {
        add(
            &db,
            "replication_jobs",
            &format!("job-a-{status}"),
            cols! { "vm_context_id" => "ctx-a", "status" => status },
        );
    }
    assert_no_fk_violations(&db);
}

/// Every enum-like, boolean, range and JSON CHECK: (table, column, accepted, rejected).
fn check_cases() -> Vec<(&'static str, &'static str, Value, Value)> {
    let t = |s: &str| Value::Text(s.to_owned());
    let i = Value::Integer;
    let json_ok = || t(r#"{"ok":true}"#);
    let json_bad = || t("{not json");
    vec![
        ("vm_replication_contexts", "current_status", t("ready_for_failover"), t("migrated")),
        ("vm_replication_contexts", "auto_added", i(1), i(2)),
        ("vm_replication_contexts", "scheduler_enabled", i(0), i(-1)),
        ("vm_replication_contexts", "last_operation_summary", json_ok(), json_bad()),
        ("vm_replication_contexts", "successful_jobs", i(2), i(3)),
        ("replication_jobs", "replication_type", t("initial"), t("auto")),
        ("replication_jobs", "replication_type", t("incremental"), t("full")),
        ("replication_jobs", "status", t("failed"), t("replication_failed")),
        ("replication_jobs", "status", t("cancelled"), t("running")),
        ("replication_jobs", "vma_sync_type", t("full"), t("auto")),
        ("replication_jobs", "vma_error_classification", t("vma_unreachable_timeout"), t("oops")),
        ("replication_jobs", "progress_percent", Value::Real(100.0), Value::Real(100.5)),
        ("replication_jobs", "progress_percent", Value::Real(0.0), Value::Real(-1.0)),
        ("replication_jobs", "setup_progress_percent", Value::Real(85.0), Value::Real(101.0)),
        ("vm_disks", "sync_status", t("syncing"), t("done")),
        ("vm_disks", "sync_progress_percent", Value::Real(50.0), Value::Real(150.0)),
        ("vm_disks", "network_config", json_ok(), json_bad()),
        ("failover_jobs", "job_type", t("live"), t("both")),
        ("failover_jobs", "status", t("reverting"), t("executing")),
        ("failover_jobs", "status", t("cleanup"), t("running")),
        ("failover_jobs", "source_vm_spec", json_ok(), json_bad()),
        ("failover_jobs", "network_mappings", json_ok(), json_bad()),
        ("network_mappings", "validation_status", t("valid"), t("unknown")),
        ("network_mappings", "mapping_type", t("test"), t("both")),
        ("network_mappings", "is_test_network", i(1), i(2)),
        ("ossea_configs", "is_active", i(1), i(2)),
        ("ossea_volumes", "status", t("attached"), t("deleted")),
        ("ossea_volumes", "snapshot_status", t("rollback_complete"), t("done")),
        ("device_mappings", "operation_mode", t("failover"), t("hub")),
        ("device_mappings", "requires_device_correlation", i(0), i(2)),
        ("device_mappings", "snapshot_status", t("ready"), t("gone")),
        ("nbd_exports", "status", t("active"), t("stopped")),
        ("nbd_exports", "status", t("failed"), t("error")),
        ("cbt_history", "sync_type", t("full"), t("completed")),
        ("cbt_history", "sync_success", i(0), i(2)),
        ("replication_schedules", "schedule_type", t("chain"), t("interval")),
        ("replication_schedules", "replication_type", t("full"), t("initial")),
        ("replication_schedules", "enabled", i(0), i(2)),
        ("replication_schedules", "skip_if_running", i(0), i(2)),
        ("schedule_executions", "status", t("skipped"), t("done")),
        ("schedule_executions", "execution_details", json_ok(), json_bad()),
        ("schedule_executions", "error_details", json_ok(), json_bad()),
        ("vm_machine_groups", "max_concurrent_vms", i(100), i(101)),
        ("vm_machine_groups", "max_concurrent_vms", i(1), i(0)),
        ("vm_group_memberships", "enabled", i(0), i(2)),
        ("job_tracking", "status", t("cancelled"), t("stuck")),
        ("job_tracking", "percent_complete", i(100), i(101)),
        ("job_tracking", "metadata", json_ok(), json_bad()),
        ("job_steps", "status", t("skipped"), t("paused")),
        ("job_steps", "metadata", json_ok(), json_bad()),
        ("job_execution_log", "log_level", t("ERROR"), t("FATAL")),
        ("job_execution_log", "details", json_ok(), json_bad()),
        ("log_events", "level", t("WARN"), t("WARNING")),
        ("log_events", "level", t("DEBUG"), t("error")),
        ("log_events", "attrs", json_ok(), json_bad()),
        ("vmware_credentials", "is_active", i(0), i(2)),
        ("vmware_credentials", "is_default", i(1), i(2)),
        ("vma_enrollments", "status", t("expired"), t("pending")),
        ("vma_active_connections", "connection_status", t("revoked"), t("lost")),
        ("vma_connection_audit", "event_type", t("revocation"), t("login")),
        ("vma_connection_audit", "event_details", json_ok(), json_bad()),
        ("volume_operations", "type", t("cleanup"), t("resize")),
        ("volume_operations", "status", t("executing"), t("running")),
        ("volume_operations", "request", json_ok(), json_bad()),
        ("volume_operations", "response", json_ok(), json_bad()),
        ("volume_operation_history", "previous_status", t("pending"), t("queued")),
        ("volume_operation_history", "new_status", t("cancelled"), t("running")),
        ("volume_operation_history", "details", json_ok(), json_bad()),
        ("volume_mounts", "mount_status", t("unmount_pending"), t("busy")),
        ("volume_mounts", "is_read_only", i(1), i(2)),
        ("volume_daemon_metrics", "error_rate_percent", Value::Real(100.0), Value::Real(100.1)),
        ("volume_daemon_metrics", "operations_by_type", json_ok(), json_bad()),
        ("volume_daemon_metrics", "operations_by_status", json_ok(), json_bad()),
        ("volume_daemon_metrics", "details", json_ok(), json_bad()),
        ("backup_repositories", "repository_type", t("azure"), t("ftp")),
        ("backup_repositories", "enabled", i(0), i(2)),
        ("backup_repositories", "is_immutable", i(0), i(2)),
        ("backup_repositories", "config", json_ok(), json_bad()),
        ("backup_repositories", "immutable_config", json_ok(), json_bad()),
        ("backup_policies", "enabled", i(0), i(2)),
        ("backup_copy_rules", "copy_mode", t("manual"), t("weekly")),
        ("backup_copy_rules", "priority", i(1), i(0)),
        ("backup_copy_rules", "enabled", i(0), i(2)),
        ("backup_copy_rules", "verify_after_copy", i(0), i(2)),
        ("backup_jobs", "backup_type", t("differential"), t("synthetic")),
        ("backup_jobs", "status", t("cancelled"), t("queued")),
        ("backup_jobs", "compression_enabled", i(0), i(2)),
        ("backup_jobs", "progress_percent", Value::Real(99.5), Value::Real(100.5)),
        ("backup_copies", "status", t("verifying"), t("done")),
        ("backup_copies", "verification_status", t("passed"), t("skipped")),
        ("linstor_configs", "api_protocol", t("https"), t("ftp")),
        ("linstor_configs", "is_active", i(0), i(2)),
    ]
}

#[test]
fn every_check_constraint_rejects_a_bad_value() {
    let db = world();
    for (table, column, good, bad) in check_cases() {
        let sql = format!("UPDATE {table} SET \"{column}\" = ?1 WHERE {}", LAST_ROW.replace("{t}", table));
        isolated(&db, |c| {
            let changed = c.execute(&sql, [&good]).unwrap_or_else(|e| panic!("{table}.{column} = {good:?}: {e}"));
            assert_eq!(changed, 1, "{table} has a row to update");
            assert_fails(c.execute(&sql, [&bad]), &["CHECK constraint failed", column]);
        });
    }
}

#[test]
fn check_cases_cover_every_in_list_check_and_job_log_kinds_stay_open() {
    // Guard for the table above: every TEXT column whose CREATE TABLE gives it an IN (...)
    // list, and every BOOLEAN-like column, appears in check_cases, so the list cannot silently
    // miss a constraint; and the columns that must stay open have none.
    let db = open_db();
    let cases: BTreeSet<(String, String)> =
        check_cases().into_iter().map(|(t, c, _, _)| (t.to_string(), c.to_string())).collect();
    for table in user_tables(&db) {
        let sql: String =
            db.query_row("SELECT sql FROM sqlite_schema WHERE name = ?1", [&table], |r| r.get(0)).unwrap();
        for col in columns(&db, &table) {
            let constrained = sql.contains(&format!("CHECK ({col} IN ("));
            if constrained {
                assert!(cases.contains(&(table.clone(), col.clone())), "{table}.{col} has a CHECK that no case tests");
            }
        }
    }
    for (table, col) in [("job_tracking", "job_type"), ("job_tracking", "job_category")] {
        let sql: String = db.query_row("SELECT sql FROM sqlite_schema WHERE name = ?1", [table], |r| r.get(0)).unwrap();
        assert!(!sql.contains(&format!("CHECK ({col}")), "{table}.{col} must stay open (validated by the library)");
    }
    // job_type/job_category accept new values without a schema change.
    add(&db, "job_tracking", "jt-new", cols! { "job_type" => "protection_flow", "job_category" => "backup" });
}

#[test]
fn table_level_checks_bite() {
    let db = world();
    let cases: &[(&str, &str)] = &[
        // oma needs a device path; failover has none.
        ("UPDATE device_mappings SET device_path = NULL WHERE id = 'dm-a-1'", "device_path"),
        ("UPDATE device_mappings SET device_path = '/dev/vdz' WHERE id = 'dm-a-2'", "device_path"),
        ("UPDATE device_mappings SET operation_mode = 'failover' WHERE id = 'dm-a-1'", "device_path"),
        ("UPDATE network_mappings SET is_test_network = 1 WHERE mapping_type = 'live'", "is_test_network"),
        (
            "UPDATE replication_schedules SET chain_parent_schedule_id = NULL WHERE id = 'sch-2'",
            "chain_parent_schedule_id",
        ),
        (
            "UPDATE replication_schedules SET chain_parent_schedule_id = id WHERE id = 'sch-2'",
            "chain_parent_schedule_id",
        ),
        ("UPDATE backup_repositories SET is_immutable = 1 WHERE id = 'repo-1'", "immutable_config"),
        ("UPDATE backup_jobs SET parent_backup_id = 'bk-a-incr' WHERE id = 'bk-a-full'", "parent_backup_id"),
        ("UPDATE backup_jobs SET parent_backup_id = id WHERE id = 'bk-a-incr'", "parent_backup_id"),
        ("UPDATE backup_chains SET latest_backup_id = NULL WHERE id = 'chain-a'", "latest_backup_id"),
        (
            "UPDATE nbd_exports SET device_mapping_uuid = 'vol-dm-a-2' WHERE vm_context_id = 'ctx-a'",
            "device_mapping_uuid",
        ),
        ("UPDATE vm_replication_contexts SET failed_jobs = 2 WHERE context_id = 'ctx-a'", "failed_jobs"),
        ("UPDATE job_tracking SET parent_job_id = id WHERE id = 'jt-child'", "parent_job_id"),
    ];
    for (sql, needle) in cases {
        isolated(&db, |c| assert_fails(c.execute(sql, []), &["CHECK constraint failed", needle]));
    }
    // The accepted shapes: an immutable repository with its lock config; a chain with no
    // backup yet; a failover mapping switched back to oma with a device.
    db.execute(
        r#"UPDATE backup_repositories SET is_immutable = 1, immutable_config = '{"days":7}' WHERE id = 'repo-1'"#,
        [],
    )
    .unwrap();
    db.execute("UPDATE backup_chains SET full_backup_id = NULL, latest_backup_id = NULL WHERE id = 'chain-a'", [])
        .unwrap();
    db.execute("UPDATE device_mappings SET operation_mode = 'oma', device_path = '/dev/vdz' WHERE id = 'dm-a-2'", [])
        .unwrap();
}

#[test]
fn orphan_foreign_keys_are_rejected() {
    let db = world();
    for (table, column, _, _, _) in FOREIGN_KEYS {
        let integer: bool = db
            .query_row(
                &format!("SELECT type = 'INTEGER' FROM pragma_table_info('{table}') WHERE name = ?1"),
                [column],
                |r| r.get(0),
            )
            .unwrap();
        let orphan = if integer { Value::Integer(987_654) } else { Value::Text("no-such-row".into()) };
        // nbd_exports keeps device_mapping_uuid equal to volume_id: move both together.
        let partner = match (*table, *column) {
            ("nbd_exports", "volume_id") => ", device_mapping_uuid = ?1",
            ("nbd_exports", "device_mapping_uuid") => ", volume_id = ?1",
            _ => "",
        };
        let sql = format!("UPDATE {table} SET \"{column}\" = ?1{partner} WHERE {}", LAST_ROW.replace("{t}", table));
        isolated(&db, |c| assert_fails(c.execute(&sql, [&orphan]), &["FOREIGN KEY constraint failed"]));
    }
}

#[test]
fn empty_string_is_never_a_foreign_key() {
    let db = world();
    let mut nullable_checked = 0;
    for (table, column, _, _, _) in FOREIGN_KEYS {
        let (text, notnull): (bool, bool) = db
            .query_row(
                &format!("SELECT type = 'TEXT', \"notnull\" FROM pragma_table_info('{table}') WHERE name = ?1"),
                [column],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        if !text {
            continue;
        }
        let sql = format!("UPDATE {table} SET \"{column}\" = '' WHERE {}", LAST_ROW.replace("{t}", table));
        // Nullable: its own CHECK (col <> ''); NOT NULL: refused as well (CHECK or no parent).
        let needles: &[&str] = if notnull { &["constraint failed"] } else { &["CHECK constraint failed", column] };
        isolated(&db, |c| assert_fails(c.execute(&sql, []), needles));
        if !notnull {
            nullable_checked += 1;
        }
    }
    assert!(nullable_checked >= 25, "only {nullable_checked} nullable text foreign keys checked");
    // Text primary keys refuse '' too.
    assert_fails(
        try_add(&db, "backup_repositories", "", cols! { "name" => "blank" }),
        &["CHECK constraint failed", "id"],
    );
}

// ------------------------------------------------------------------------------------------
// ON DELETE behaviour
// ------------------------------------------------------------------------------------------

#[test]
fn deleting_a_replication_job_keeps_the_disks_and_their_change_ids() {
    let db = world();
    db.execute("DELETE FROM replication_jobs WHERE id = 'job-a-2'", []).unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM vm_disks WHERE vm_context_id = 'ctx-a' AND job_id IS NULL"), 2);
    assert_eq!(
        value(&db, "SELECT disk_change_id FROM vm_disks WHERE vm_context_id = 'ctx-a' AND disk_id = 'disk-2000'"),
        Value::Text("52 aa/11".into())
    );
    // The CBT lineage and the live export stay; the context lets go of the job; legacy mounts go.
    assert_eq!(count(&db, "SELECT count(*) FROM cbt_history WHERE vm_context_id = 'ctx-a'"), 2);
    assert_eq!(count(&db, "SELECT count(*) FROM cbt_history WHERE change_id = '52 aa/11' AND job_id IS NULL"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM nbd_exports WHERE vm_context_id = 'ctx-a' AND job_id IS NULL"), 1);
    assert_eq!(value(&db, "SELECT current_job_id FROM vm_replication_contexts WHERE context_id = 'ctx-a'"), NULL);
    assert_eq!(count(&db, "SELECT count(*) FROM volume_mounts WHERE job_id = 'job-a-2'"), 0);
    // ctx-b is untouched.
    assert_eq!(count(&db, "SELECT count(*) FROM vm_disks WHERE vm_context_id = 'ctx-b' AND job_id = 'job-b-2'"), 2);

    db.execute("DELETE FROM replication_jobs WHERE id = 'job-a-1'", []).unwrap();
    assert_eq!(value(&db, "SELECT replication_job_id FROM failover_jobs WHERE job_id = 'fo-a'"), NULL);
    assert_eq!(
        value(&db, "SELECT last_successful_job_id FROM vm_replication_contexts WHERE context_id = 'ctx-a'"),
        NULL
    );
    assert_eq!(count(&db, "SELECT count(*) FROM cbt_history WHERE vm_context_id = 'ctx-a' AND job_id IS NULL"), 2);
    assert_no_fk_violations(&db);
}

#[test]
fn a_backup_that_others_depend_on_cannot_be_deleted() {
    let db = world();
    let delete = |id: &str| db.execute("DELETE FROM backup_jobs WHERE id = ?1", [id]);
    // The full has a dependent incremental (and the chain points at both).
    assert_fails(delete("bk-a-full"), &["FOREIGN KEY constraint failed"]);
    assert_fails(delete("bk-a-incr"), &["FOREIGN KEY constraint failed"]);
    // Without the chain's pointers, the parent link alone still protects the full.
    db.execute("UPDATE backup_chains SET full_backup_id = NULL, latest_backup_id = NULL WHERE id = 'chain-a'", [])
        .unwrap();
    assert_fails(delete("bk-a-full"), &["FOREIGN KEY constraint failed"]);
    // Newest first is allowed; the full's copies go with it.
    delete("bk-a-incr").unwrap();
    delete("bk-a-full").unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM backup_copies WHERE id = 'copy-a'"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM backup_jobs WHERE vm_context_id = 'ctx-b'"), 2);
    // A repository that holds backups (or is a policy's primary) cannot be deleted.
    assert_fails(
        db.execute("DELETE FROM backup_repositories WHERE id = 'repo-1'", []),
        &["FOREIGN KEY constraint failed"],
    );
    assert_fails(
        db.execute("DELETE FROM backup_repositories WHERE id = 'repo-2'", []),
        &["FOREIGN KEY constraint failed"],
    );
    assert_no_fk_violations(&db);
}

#[test]
fn deleting_shared_parents_follows_the_documented_actions() {
    let db = world();
    let exec = |sql: &str| db.execute(sql, []);

    // RESTRICT: parents that children still need.
    for sql in [
        "DELETE FROM replication_schedules WHERE id = 'sch-1'", // sch-2 is chained after it
        "DELETE FROM ossea_configs WHERE id = 1",               // jobs and volumes use it
        "DELETE FROM vma_pairing_codes WHERE pairing_code = 'ABCD-EFGH-JKLM'", // an enrollment used it
        "DELETE FROM backup_policies WHERE id = 'pol-1'; DELETE FROM backup_repositories WHERE id = 'repo-2'",
    ] {
        isolated(&db, |c| assert_fails(c.execute_batch(sql), &["FOREIGN KEY constraint failed"]));
    }

    // Schedules: the chain child first, then the parent; its executions go, pointers clear.
    exec("DELETE FROM replication_schedules WHERE id = 'sch-2'").unwrap();
    exec("DELETE FROM replication_schedules WHERE id = 'sch-1'").unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM schedule_executions"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM replication_jobs WHERE schedule_execution_id IS NOT NULL"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM vm_machine_groups WHERE schedule_id IS NULL"), 1);

    // Groups: memberships go, jobs keep running without the group link.
    exec("DELETE FROM vm_machine_groups WHERE id = 'grp-1'").unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM vm_group_memberships"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM replication_jobs"), 4);
    assert_eq!(count(&db, "SELECT count(*) FROM replication_jobs WHERE vm_group_id IS NOT NULL"), 0);

    // Policies: rules go, backups and copies stay without the link.
    exec("DELETE FROM backup_policies WHERE id = 'pol-1'").unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM backup_copy_rules"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM backup_copies WHERE copy_rule_id IS NULL"), 2);
    assert_eq!(count(&db, "SELECT count(*) FROM backup_jobs WHERE policy_id IS NULL"), 4);

    // Enrollments: the tunnel goes, the audit trail stays, the code forgets its user.
    exec("DELETE FROM vma_enrollments WHERE id = 'enr-1'").unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM vma_active_connections"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM vma_connection_audit WHERE enrollment_id IS NULL"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM vma_pairing_codes WHERE used_by_enrollment_id IS NULL"), 1);
    exec("DELETE FROM vma_pairing_codes").unwrap();

    // Volume operations take their history along.
    exec("DELETE FROM volume_operations WHERE id = 'op-1'").unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM volume_operation_history"), 0);

    // A device mapping takes its export along; a disk row only un-links it.
    exec("DELETE FROM vm_disks WHERE vm_context_id = 'ctx-b' AND disk_id = 'disk-2000'").unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM nbd_exports WHERE vm_context_id = 'ctx-b' AND vm_disk_id IS NULL"), 1);
    exec("DELETE FROM device_mappings WHERE id = 'dm-a-1'").unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM nbd_exports WHERE vm_context_id = 'ctx-a'"), 0);

    // A volume: its disks forget it, its mounts go.
    exec("DELETE FROM ossea_volumes WHERE volume_id = 'vol-a-1'").unwrap();
    assert_eq!(
        count(&db, "SELECT count(*) FROM vm_disks WHERE vm_context_id = 'ctx-a' AND ossea_volume_id IS NULL"),
        1
    );
    assert_eq!(count(&db, "SELECT count(*) FROM volume_mounts WHERE job_id = 'job-a-2'"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM volume_mounts WHERE job_id = 'job-b-2'"), 1);

    // Linstor config and credentials: SET NULL.
    exec("DELETE FROM linstor_configs").unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM failover_jobs WHERE linstor_config_id IS NULL"), 2);
    exec("DELETE FROM vmware_credentials").unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM vm_replication_contexts WHERE credential_id IS NULL"), 2);

    // The job log: a root takes its subtree, steps and legacy log; log events stay unowned.
    exec("DELETE FROM job_tracking WHERE id = 'jt-root'").unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM job_tracking"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM job_steps"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM job_execution_log"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM log_events WHERE job_id IS NULL AND step_id IS NULL"), 1);

    assert_no_fk_violations(&db);
}

#[test]
fn deleting_a_context_removes_exactly_what_it_owns() {
    let db = open_db();
    add_shared(&db);
    let before_a = snapshot(&db);
    add_context(&db, "a");
    let with_a = snapshot(&db);
    add_context(&db, "b");
    let full = snapshot(&db);

    // Rows that context a added, per table; every owned table must have some.
    let owned_by_a: BTreeMap<&String, BTreeSet<i64>> = with_a
        .iter()
        .map(|(table, rows)| (table, rows.keys().filter(|id| !before_a[table].contains_key(id)).copied().collect()))
        .collect();
    for table in CONTEXT_OWNED {
        assert!(!owned_by_a[&table.to_string()].is_empty(), "fixture has no {table} row for ctx-a");
    }
    for (table, ids) in &owned_by_a {
        assert!(ids.is_empty() || CONTEXT_OWNED.contains(&table.as_str()), "fixture: ctx-a added a row to {table}");
    }

    let deleted = db.execute("DELETE FROM vm_replication_contexts WHERE context_id = 'ctx-a'", []).unwrap();
    assert_eq!(deleted, 1);
    let after = snapshot(&db);

    for (table, rows) in &full {
        let mut expected = rows.clone();
        expected.retain(|id, _| !owned_by_a[table].contains(id));
        // Same rowids AND same contents: nothing of ctx-b or the shared rows was touched.
        assert_eq!(after[table], expected, "rows of {table} after deleting ctx-a");
    }
    assert_eq!(count(&db, "SELECT count(*) FROM vm_replication_contexts"), 1);
    assert_no_fk_violations(&db);

    // Deleting the last one leaves exactly the shared rows, as they were before any context.
    db.execute("DELETE FROM vm_replication_contexts", []).unwrap();
    assert_eq!(snapshot(&db), before_a);
    assert_no_fk_violations(&db);
}

// ------------------------------------------------------------------------------------------
// Views
// ------------------------------------------------------------------------------------------

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[test]
fn active_jobs_counts_error_log_events() {
    let db = open_db();
    let now = now_ms();
    add(
        &db,
        "job_tracking",
        "j-run",
        cols! { "status" => "running", "started_at" => now - 5_000, "job_type" => "failover" },
    );
    add(&db, "job_tracking", "j-wait", cols! { "status" => "pending", "started_at" => NULL });
    add(&db, "job_tracking", "j-done", cols! { "status" => "completed" });
    for (job, level) in
        [("j-run", "ERROR"), ("j-run", "ERROR"), ("j-run", "INFO"), ("j-run", "WARN"), ("j-done", "ERROR")]
    {
        add(&db, "log_events", "line", cols! { "job_id" => job, "level" => level });
    }
    // The legacy table is not what is counted.
    add(&db, "job_execution_log", "legacy", cols! { "job_id" => "j-wait", "log_level" => "ERROR" });

    let rows: Vec<(String, Option<i64>, i64)> = {
        let mut stmt = db.prepare("SELECT id, running_seconds, error_count FROM active_jobs ORDER BY id").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (id, running, errors) = &rows[0];
    assert_eq!((id.as_str(), *errors), ("j-run", 2));
    let running = running.expect("running_seconds of a started job");
    assert!((4..=60).contains(&running), "running_seconds {running}");
    assert_eq!(rows[1], ("j-wait".to_string(), None, 0));
}

#[test]
fn job_tracking_hierarchy_levels_children_and_durations() {
    let db = open_db();
    add(
        &db,
        "job_tracking",
        "root",
        cols! { "started_at" => T0, "completed_at" => T0 + 90_999, "status" => "completed" },
    );
    add(&db, "job_tracking", "child-1", cols! { "parent_job_id" => "root", "started_at" => T0 });
    add(&db, "job_tracking", "child-2", cols! { "parent_job_id" => "root", "started_at" => T0 });
    add(&db, "job_tracking", "grandchild", cols! { "parent_job_id" => "child-1", "started_at" => T0 });
    let rows: Vec<(String, String, i64, Option<i64>)> = {
        let mut stmt = db
            .prepare("SELECT id, job_level, child_count, duration_seconds FROM job_tracking_hierarchy ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect()
    };
    let s = |x: &str| x.to_string();
    assert_eq!(
        rows,
        vec![
            (s("child-1"), s("child"), 1, None),
            (s("child-2"), s("child"), 0, None),
            (s("grandchild"), s("child"), 0, None),
            (s("root"), s("root"), 2, Some(90)),
        ]
    );
}

/// Schedules, groups and contexts for the scheduling views:
/// - s-cron (enabled, next_run_at set), s-chain (enabled, chained after s-cron), s-off (disabled);
/// - group g1 (schedule s-cron): c1 member, c2 member overriding to s-chain, c3 disabled
///   membership, c4 member whose context has scheduler_enabled = 0;
/// - group g2 (no schedule): c5 member overriding to s-cron; c6 is in no group.
fn add_scheduling(c: &Connection) {
    add(c, "replication_schedules", "s-cron", cols! { "name" => "Nightly", "next_run_at" => T0 + 3_600_000 });
    add(
        c,
        "replication_schedules",
        "s-chain",
        cols! {
            "name" => "After nightly", "schedule_type" => "chain", "chain_parent_schedule_id" => "s-cron",
            "next_run_at" => T0 + 7_200_000,
        },
    );
    add(c, "replication_schedules", "s-off", cols! { "name" => "Weekly", "enabled" => 0, "next_run_at" => T0 });
    add(c, "vm_machine_groups", "g1", cols! { "schedule_id" => "s-cron", "priority" => 3 });
    add(c, "vm_machine_groups", "g2", cols! {});
    for n in 1..=6 {
        let enabled = if n == 4 { 0 } else { 1 };
        add(c, "vm_replication_contexts", &format!("c{n}"), cols! { "scheduler_enabled" => enabled });
    }
    add(c, "vm_group_memberships", "m1", cols! { "group_id" => "g1", "vm_context_id" => "c1", "priority" => 7 });
    add(
        c,
        "vm_group_memberships",
        "m2",
        cols! { "group_id" => "g1", "vm_context_id" => "c2", "schedule_override_id" => "s-chain" },
    );
    add(c, "vm_group_memberships", "m3", cols! { "group_id" => "g1", "vm_context_id" => "c3", "enabled" => 0 });
    add(c, "vm_group_memberships", "m4", cols! { "group_id" => "g1", "vm_context_id" => "c4" });
    add(
        c,
        "vm_group_memberships",
        "m5",
        cols! { "group_id" => "g2", "vm_context_id" => "c5", "schedule_override_id" => "s-cron" },
    );
}

#[test]
fn active_schedules_counts_effective_members_and_exposes_next_run() {
    let db = open_db();
    add_scheduling(&db);
    add(&db, "schedule_executions", "e1", cols! { "schedule_id" => "s-cron", "started_at" => T0 + 10 });
    add(&db, "schedule_executions", "e2", cols! { "schedule_id" => "s-cron", "started_at" => T0 + 20 });
    type Row = (String, i64, i64, Option<i64>, Option<i64>);
    let rows: Vec<Row> = {
        let mut stmt = db
            .prepare(
                "SELECT id, group_count, vm_count, next_execution, last_execution FROM active_schedules ORDER BY id",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        rows,
        vec![
            // The chain schedule has no cron time; c2 overrides to it.
            ("s-chain".to_string(), 0, 1, None, None),
            // c1 through its group, c5 through its override; not c2 (override), c3 (membership
            // disabled) or c4 (context not scheduled).
            ("s-cron".to_string(), 1, 2, Some(T0 + 3_600_000), Some(T0 + 20)),
        ]
    );
}

#[test]
fn schedule_execution_summary_derives_outcomes_from_jobs() {
    let db = open_db();
    add_scheduling(&db);
    add(&db, "schedule_executions", "e1", cols! { "schedule_id" => "s-cron", "jobs_created" => 2 });
    add(&db, "schedule_executions", "e2", cols! { "schedule_id" => "s-cron", "jobs_created" => 0 });
    add(&db, "schedule_executions", "e3", cols! { "schedule_id" => "s-chain", "jobs_created" => 3 });
    for (job, ctx, exec, status) in [
        ("r1", "c1", "e1", "completed"),
        ("r2", "c2", "e1", "failed"),
        ("r3", "c3", "e3", "completed"),
        ("r4", "c4", "e3", "replicating"),
        ("r5", "c5", "e3", "cancelled"),
    ] {
        add(
            &db,
            "replication_jobs",
            job,
            cols! { "vm_context_id" => ctx, "schedule_execution_id" => exec, "status" => status },
        );
    }
    let rows: Vec<(String, String, i64, i64, f64)> = {
        let mut stmt = db
            .prepare(
                "SELECT id, schedule_name, jobs_completed, jobs_failed, success_rate_percent \
                 FROM schedule_execution_summary ORDER BY id",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let s = |x: &str| x.to_string();
    assert_eq!(
        rows,
        vec![
            (s("e1"), s("Nightly"), 1, 1, 50.0),
            (s("e2"), s("Nightly"), 0, 0, 0.0),
            (s("e3"), s("After nightly"), 1, 0, 33.33),
        ]
    );
}

#[test]
fn vm_schedule_status_gives_one_row_per_membership_with_the_effective_schedule() {
    let db = open_db();
    add_scheduling(&db);
    // c1 runs a job in a setup status; c5's current job already finished.
    add(
        &db,
        "replication_jobs",
        "r1",
        cols! { "vm_context_id" => "c1", "status" => "initializing", "progress_percent" => 12.5 },
    );
    add(&db, "replication_jobs", "r5", cols! { "vm_context_id" => "c5", "status" => "completed" });
    db.execute_batch(
        "UPDATE vm_replication_contexts SET current_job_id = 'r1' WHERE context_id = 'c1';
         UPDATE vm_replication_contexts SET current_job_id = 'r5' WHERE context_id = 'c5';",
    )
    .unwrap();

    type Row = (String, Option<String>, Option<String>, i64, Option<String>, Option<String>);
    let rows: Vec<Row> = {
        let mut stmt = db
            .prepare(
                "SELECT context_id, group_name, schedule_name, has_active_job, active_job_id, job_status \
                 FROM vm_schedule_status ORDER BY context_id, group_name",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        rows,
        vec![
            ("c1".into(), s("group g1"), s("Nightly"), 1, s("r1"), s("initializing")),
            // Group has a schedule AND the member overrides: one row, naming the override.
            ("c2".into(), s("group g1"), s("After nightly"), 0, None, None),
            ("c3".into(), s("group g1"), s("Nightly"), 0, None, None),
            ("c5".into(), s("group g2"), s("Nightly"), 0, None, None),
            // In no group: one row with NULL group and schedule columns. (c4 is not scheduled.)
            ("c6".into(), None, None, 0, None, None),
        ]
    );
    let (priority, progress, enabled): (i64, f64, i64) = db
        .query_row(
            "SELECT vm_priority, progress_percent, membership_enabled FROM vm_schedule_status WHERE context_id = 'c1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((priority, progress, enabled), (7, 12.5, 1));

    // Every status of the shared active set counts as an active job; terminal ones do not.
    let active = active_job_statuses();
    for status in active.iter().chain(&["completed", "failed", "cancelled"]) {
        db.execute("UPDATE replication_jobs SET status = ?1 WHERE id = 'r1'", [status]).unwrap();
        let active_count = count(&db, "SELECT has_active_job FROM vm_schedule_status WHERE context_id = 'c1'");
        assert_eq!(active_count == 1, active.contains(status), "status {status}");
    }
}
