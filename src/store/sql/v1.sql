-- libsendense store schema, version 1 (data shape: docs/SCHEMA.md; rules: docs/DOMAIN.md).
--
-- Conventions
--  * Every table is STRICT. BOOLEAN = INTEGER CHECK (x IN (0,1)); ENUM = TEXT CHECK (x IN (...));
--    JSON = TEXT CHECK (x IS NULL OR json_valid(x)) (NULL passes); TIMESTAMP = INTEGER milliseconds since the
--    Unix epoch, UTC, normally supplied by the library's clock. "now" defaults use
--    NOW_MS = (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)).
--  * Original column names and order are kept (JSON read-out keys = column names). Columns added
--    here are appended at the end of their table and say so.
--  * Text ids: TEXT NOT NULL PRIMARY KEY CHECK (id <> ''). Unknown is NULL, never '': every
--    nullable TEXT foreign-key column carries CHECK (col <> ''), and the original '' defaults
--    are gone (default NULL).
--  * A column whose original default is a non-NULL value other than a timestamp (booleans,
--    counters, statuses, labels) is NOT NULL: NULL means nothing there. created_at/updated_at
--    are NOT NULL; other timestamps keep the original nullability.
--  * Every enum-like column has a CHECK, except job_tracking.job_type/job_category (validated by
--    the library against an extensible list, docs/DOMAIN.md section 0) and two telemetry labels
--    pushed by remote agents (commented where they are).
--  * Every foreign-key child column is the first column of a non-partial index (SQLite creates
--    none). Indexes are named idx_<table>_<columns>. An index docs/SCHEMA.md lists whose columns are
--    a leading prefix of a UNIQUE key or of a longer index here is left out: that one serves it.
--  * ON DELETE RESTRICT is checked at once, per row, even in the middle of a cascade. Where one
--    cascade (deleting a context) empties both sides of a reference, the reference uses the
--    default NO ACTION instead: checked at the end of the statement, it still refuses to delete
--    a parent that keeps a child. RESTRICT is used only where no common cascade exists.
--  * The active (non-terminal) replication job status set is written twice below
--    (idx_replication_jobs_vm_context_id_active, view vm_schedule_status); both copies must equal
--    the library's single constant.
--  * Circular references (contexts <-> replication_jobs, pairing codes <-> enrollments) are fine:
--    SQLite resolves foreign keys when rows change, not when tables are created.

-- =========================================================================================
-- 1. Core VM-centric tables
-- =========================================================================================

CREATE TABLE vm_replication_contexts (
    context_id             TEXT    NOT NULL PRIMARY KEY CHECK (context_id <> ''),
    vm_name                TEXT    NOT NULL,
    vmware_vm_id           TEXT    NOT NULL,
    vm_path                TEXT    NOT NULL,
    vcenter_host           TEXT    NOT NULL,
    datacenter             TEXT    NOT NULL,
    current_status         TEXT    NOT NULL DEFAULT 'discovered'
        CHECK (current_status IN ('discovered', 'replicating', 'ready_for_failover', 'failed_over_test',
                                  'failed_over_live', 'completed', 'failed', 'cleanup_required')),
    current_job_id         TEXT    CHECK (current_job_id <> '')
        REFERENCES replication_jobs (id) ON DELETE SET NULL,
    total_jobs_run         INTEGER NOT NULL DEFAULT 0 CHECK (total_jobs_run >= 0),
    successful_jobs        INTEGER NOT NULL DEFAULT 0 CHECK (successful_jobs >= 0),
    failed_jobs            INTEGER NOT NULL DEFAULT 0 CHECK (failed_jobs >= 0),
    last_successful_job_id TEXT    CHECK (last_successful_job_id <> '')
        REFERENCES replication_jobs (id) ON DELETE SET NULL,
    cpu_count              INTEGER,
    memory_mb              INTEGER,
    os_type                TEXT,
    power_state            TEXT,
    vm_tools_version       TEXT,
    created_at             INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    updated_at             INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    first_job_at           INTEGER,
    last_job_at            INTEGER,
    last_status_change     INTEGER DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    auto_added             INTEGER NOT NULL DEFAULT 0 CHECK (auto_added IN (0, 1)),
    -- No FK, as in the original: the column is never written (SCHEMA.md keeps it for compatibility).
    last_scheduled_job_id  TEXT    CHECK (last_scheduled_job_id <> ''),
    next_scheduled_at      INTEGER,
    scheduler_enabled      INTEGER NOT NULL DEFAULT 1 CHECK (scheduler_enabled IN (0, 1)),
    credential_id          INTEGER REFERENCES vmware_credentials (id) ON DELETE SET NULL,
    -- FK added (none in the dump), as SCHEMA.md recommends.
    ossea_config_id        INTEGER REFERENCES ossea_configs (id) ON DELETE SET NULL,
    last_operation_summary TEXT    CHECK (last_operation_summary IS NULL OR json_valid(last_operation_summary)),
    -- The counters are recomputed from replication_jobs, so they can never disagree like this.
    CHECK (successful_jobs + failed_jobs <= total_jobs_run),
    UNIQUE (vmware_vm_id, vcenter_host),
    UNIQUE (vm_name, vcenter_host)
) STRICT;

-- vm_name and vmware_vm_id lookups are served by the two UNIQUE keys.
CREATE INDEX idx_vm_replication_contexts_current_status ON vm_replication_contexts (current_status);
CREATE INDEX idx_vm_replication_contexts_current_job_id ON vm_replication_contexts (current_job_id);
CREATE INDEX idx_vm_replication_contexts_last_successful_job_id ON vm_replication_contexts (last_successful_job_id);
CREATE INDEX idx_vm_replication_contexts_vcenter_host ON vm_replication_contexts (vcenter_host);
CREATE INDEX idx_vm_replication_contexts_auto_added ON vm_replication_contexts (auto_added);
CREATE INDEX idx_vm_replication_contexts_next_scheduled_at ON vm_replication_contexts (next_scheduled_at);
CREATE INDEX idx_vm_replication_contexts_scheduler_enabled ON vm_replication_contexts (scheduler_enabled);
CREATE INDEX idx_vm_replication_contexts_credential_id ON vm_replication_contexts (credential_id);
CREATE INDEX idx_vm_replication_contexts_ossea_config_id ON vm_replication_contexts (ossea_config_id);

CREATE TABLE replication_jobs (
    id                       TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    -- NOT NULL (nullable and written as '' in the original): a job always belongs to a context.
    vm_context_id            TEXT    NOT NULL
        REFERENCES vm_replication_contexts (context_id) ON DELETE CASCADE,
    source_vm_id             TEXT    NOT NULL,
    source_vm_name           TEXT    NOT NULL,
    source_vm_path           TEXT    NOT NULL,
    v_center_host            TEXT    NOT NULL,
    datacenter               TEXT    NOT NULL,
    -- The scheduler's 'auto' is resolved before the insert; 'full' is an initial copy.
    replication_type         TEXT    NOT NULL CHECK (replication_type IN ('initial', 'incremental')),
    target_network           TEXT,
    -- Closed set of the original free text; 'replication_failed' is folded into 'failed'.
    status                   TEXT    NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'initializing', 'analyzing', 'provisioning', 'attaching', 'configuring',
                          'ready_for_sync', 'snapshotting', 'replicating', 'finalizing',
                          'completed', 'failed', 'cancelled')),
    progress_percent         REAL    NOT NULL DEFAULT 0 CHECK (progress_percent BETWEEN 0 AND 100),
    current_operation        TEXT,
    bytes_transferred        INTEGER NOT NULL DEFAULT 0 CHECK (bytes_transferred >= 0),
    total_bytes              INTEGER NOT NULL DEFAULT 0 CHECK (total_bytes >= 0),
    transfer_speed_bps       INTEGER NOT NULL DEFAULT 0 CHECK (transfer_speed_bps >= 0),
    error_message            TEXT,
    change_id                TEXT,
    previous_change_id       TEXT,
    snapshot_id              TEXT,
    nbd_port                 INTEGER CHECK (nbd_port BETWEEN 1 AND 65535),
    nbd_export_name          TEXT,
    target_device            TEXT,
    ossea_config_id          INTEGER REFERENCES ossea_configs (id) ON DELETE RESTRICT,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    started_at               INTEGER,
    completed_at             INTEGER,
    vma_sync_type            TEXT    CHECK (vma_sync_type IN ('initial', 'incremental', 'full')),
    -- No CHECK: a display label passed through from the capture appliance ('Initializing',
    -- 'Snapshot Creation', 'Copying Data', 'Cleanup', 'Completed', 'Error'); a newer appliance's
    -- label must not make the hottest write (progress) fail.
    vma_current_phase        TEXT,
    vma_throughput_mbps      REAL    NOT NULL DEFAULT 0 CHECK (vma_throughput_mbps >= 0),
    vma_eta_seconds          INTEGER,
    vma_last_poll_at         INTEGER,
    vma_error_classification TEXT
        CHECK (vma_error_classification IN ('connection', 'authentication', 'permission', 'disk', 'network',
                                            'system', 'polling', 'migration_error', 'startup_recovery',
                                            'job_lost', 'vma_reported_failure', 'vma_unreachable_timeout')),
    vma_error_details        TEXT,
    setup_progress_percent   REAL    NOT NULL DEFAULT 0 CHECK (setup_progress_percent BETWEEN 0 AND 100),
    schedule_execution_id    TEXT    CHECK (schedule_execution_id <> '')
        REFERENCES schedule_executions (id) ON DELETE SET NULL,
    scheduled_by             TEXT,
    vm_group_id              TEXT    CHECK (vm_group_id <> '')
        REFERENCES vm_machine_groups (id) ON DELETE SET NULL
) STRICT;

CREATE INDEX idx_replication_jobs_status_nbd_export_name ON replication_jobs (status, nbd_export_name);
CREATE INDEX idx_replication_jobs_status_updated_at ON replication_jobs (status, updated_at);
CREATE INDEX idx_replication_jobs_status_completed_at ON replication_jobs (status, completed_at);
-- Serves the vm_context_id FK, the counter recompute and the context detail page.
CREATE INDEX idx_replication_jobs_vm_context_id_created_at ON replication_jobs (vm_context_id, created_at);
CREATE INDEX idx_replication_jobs_schedule_execution_id ON replication_jobs (schedule_execution_id);
CREATE INDEX idx_replication_jobs_scheduled_by ON replication_jobs (scheduled_by);
CREATE INDEX idx_replication_jobs_vm_group_id ON replication_jobs (vm_group_id);
CREATE INDEX idx_replication_jobs_ossea_config_id ON replication_jobs (ossea_config_id);
-- At most one active (non-terminal) job per context (docs/DOMAIN.md section 1): a backstop for the
-- library's CONFLICT check, so that racing processes cannot both start a job.
CREATE UNIQUE INDEX idx_replication_jobs_vm_context_id_active ON replication_jobs (vm_context_id)
    WHERE status IN ('pending', 'initializing', 'analyzing', 'provisioning', 'attaching', 'configuring',
                     'ready_for_sync', 'snapshotting', 'replicating', 'finalizing');

CREATE TABLE vm_disks (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    -- NOT NULL: NULLs escaped UNIQUE (vm_context_id, disk_id).
    vm_context_id         TEXT    NOT NULL
        REFERENCES vm_replication_contexts (context_id) ON DELETE CASCADE,
    -- Nullable + SET NULL: disk rows (and their change ids) belong to the context and survive
    -- the deletion of the last job that touched them.
    job_id                TEXT    CHECK (job_id <> '')
        REFERENCES replication_jobs (id) ON DELETE SET NULL,
    disk_id               TEXT    NOT NULL,
    vm_dk_path            TEXT    NOT NULL,
    size_gb               INTEGER NOT NULL,
    datastore             TEXT,
    unit_number           INTEGER,
    label                 TEXT,
    capacity_bytes        INTEGER,
    provisioning_type     TEXT,
    -- FK added (none in the dump).
    ossea_volume_id       INTEGER REFERENCES ossea_volumes (id) ON DELETE SET NULL,
    disk_change_id        TEXT,
    sync_status           TEXT    NOT NULL DEFAULT 'pending'
        CHECK (sync_status IN ('pending', 'syncing', 'completed', 'failed')),
    sync_progress_percent REAL    NOT NULL DEFAULT 0 CHECK (sync_progress_percent BETWEEN 0 AND 100),
    bytes_synced          INTEGER NOT NULL DEFAULT 0 CHECK (bytes_synced >= 0),
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    cpu_count             INTEGER NOT NULL DEFAULT 0,
    memory_mb             INTEGER NOT NULL DEFAULT 0,
    os_type               TEXT,
    vm_tools_version      TEXT,
    network_config        TEXT    CHECK (network_config IS NULL OR json_valid(network_config)),
    display_name          TEXT,
    annotation            TEXT,
    power_state           TEXT,
    vmware_uuid           TEXT,
    bios_setup            TEXT,
    UNIQUE (vm_context_id, disk_id)
) STRICT;

CREATE INDEX idx_vm_disks_job_id ON vm_disks (job_id);
CREATE INDEX idx_vm_disks_ossea_volume_id ON vm_disks (ossea_volume_id);

-- =========================================================================================
-- 2. Failover and networking
-- =========================================================================================

CREATE TABLE failover_jobs (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    -- NOT NULL (nullable in the original): a failover is always of one context, and a row
    -- without one would escape the context cascade.
    vm_context_id         TEXT    NOT NULL
        REFERENCES vm_replication_contexts (context_id) ON DELETE CASCADE,
    job_id                TEXT    NOT NULL UNIQUE CHECK (job_id <> ''),
    vm_id                 TEXT    NOT NULL,
    -- FK added (none in the dump).
    replication_job_id    TEXT    CHECK (replication_job_id <> '')
        REFERENCES replication_jobs (id) ON DELETE SET NULL,
    job_type              TEXT    NOT NULL CHECK (job_type IN ('live', 'test')),
    status                TEXT    NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'validating', 'snapshotting', 'creating_vm', 'switching_volume',
                          'powering_on', 'completed', 'failed', 'cleanup', 'reverting')),
    source_vm_name        TEXT    NOT NULL,
    source_vm_spec        TEXT    CHECK (source_vm_spec IS NULL OR json_valid(source_vm_spec)),
    destination_vm_id     TEXT,
    ossea_snapshot_id     TEXT,
    linstor_snapshot_name TEXT,
    -- FK added (none in the dump).
    linstor_config_id     INTEGER REFERENCES linstor_configs (id) ON DELETE SET NULL,
    network_mappings      TEXT    CHECK (network_mappings IS NULL OR json_valid(network_mappings)),
    error_message         TEXT,
    created_at            INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    updated_at            INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    started_at            INTEGER,
    completed_at          INTEGER
) STRICT;

CREATE INDEX idx_failover_jobs_vm_id ON failover_jobs (vm_id);
CREATE INDEX idx_failover_jobs_job_type ON failover_jobs (job_type);
CREATE INDEX idx_failover_jobs_status ON failover_jobs (status);
CREATE INDEX idx_failover_jobs_linstor_snapshot_name ON failover_jobs (linstor_snapshot_name);
CREATE INDEX idx_failover_jobs_vm_context_id ON failover_jobs (vm_context_id);
CREATE INDEX idx_failover_jobs_replication_job_id ON failover_jobs (replication_job_id);
CREATE INDEX idx_failover_jobs_linstor_config_id ON failover_jobs (linstor_config_id);

CREATE TABLE network_mappings (
    id                       INTEGER PRIMARY KEY,
    -- Legacy column, filled with the VMware UUID; the key is vm_context_id.
    vm_id                    TEXT    NOT NULL,
    source_network_name      TEXT    NOT NULL,
    destination_network_id   TEXT    NOT NULL,
    destination_network_name TEXT    NOT NULL,
    is_test_network          INTEGER NOT NULL DEFAULT 0 CHECK (is_test_network IN (0, 1)),
    created_at               INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    updated_at               INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    -- NOT NULL: mappings are keyed by context (UNIQUE (vm_id, ...) of the original is dropped).
    vm_context_id            TEXT    NOT NULL
        REFERENCES vm_replication_contexts (context_id) ON DELETE CASCADE,
    vmware_vm_id             TEXT,
    validation_status        TEXT    NOT NULL DEFAULT 'pending'
        CHECK (validation_status IN ('pending', 'valid', 'invalid')),
    -- mapping_type is authoritative and one row serves one failover kind: a 'both' request is
    -- stored as one 'live' and one 'test' row, so 'both' is not a stored value, and
    -- is_test_network must agree with mapping_type (the unique key uses is_test_network).
    mapping_type             TEXT    NOT NULL DEFAULT 'live' CHECK (mapping_type IN ('live', 'test')),
    network_strategy         TEXT,
    last_validated           INTEGER,
    CHECK (is_test_network = (mapping_type = 'test')),
    UNIQUE (vm_context_id, source_network_name, is_test_network)
) STRICT;

-- vm_context_id is served by the UNIQUE key.
CREATE INDEX idx_network_mappings_vm_id ON network_mappings (vm_id);
CREATE INDEX idx_network_mappings_is_test_network ON network_mappings (is_test_network);
CREATE INDEX idx_network_mappings_vmware_vm_id ON network_mappings (vmware_vm_id);
CREATE INDEX idx_network_mappings_validation_status ON network_mappings (validation_status);
CREATE INDEX idx_network_mappings_mapping_type ON network_mappings (mapping_type);

-- =========================================================================================
-- 3. Storage and NBD
-- =========================================================================================

CREATE TABLE ossea_configs (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    api_url             TEXT    NOT NULL,
    api_key             TEXT    NOT NULL,
    secret_key          TEXT    NOT NULL,
    domain              TEXT,
    zone                TEXT    NOT NULL,
    template_id         TEXT,
    network_id          TEXT,
    service_offering_id TEXT,
    disk_offering_id    TEXT,
    oma_vm_id           TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    is_active           INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1))
) STRICT;

-- At most one active configuration.
CREATE UNIQUE INDEX idx_ossea_configs_is_active_one ON ossea_configs (is_active) WHERE is_active = 1;

CREATE TABLE ossea_volumes (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    vm_context_id       TEXT    CHECK (vm_context_id <> '')
        REFERENCES vm_replication_contexts (context_id) ON DELETE CASCADE,
    volume_id           TEXT    NOT NULL UNIQUE CHECK (volume_id <> ''),
    volume_name         TEXT    NOT NULL,
    size_gb             INTEGER NOT NULL,
    ossea_config_id     INTEGER REFERENCES ossea_configs (id) ON DELETE RESTRICT,
    -- No CHECK: CloudStack's own volume type string ('ROOT', 'DATADISK', ...), passed through.
    volume_type         TEXT,
    device_path         TEXT,
    mount_point         TEXT,
    status              TEXT    NOT NULL DEFAULT 'creating'
        CHECK (status IN ('creating', 'available', 'attached', 'detached', 'error')),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    snapshot_id         TEXT,
    snapshot_created_at INTEGER,
    snapshot_status     TEXT    NOT NULL DEFAULT 'none'
        CHECK (snapshot_status IN ('none', 'creating', 'ready', 'failed', 'rollback_complete'))
) STRICT;

CREATE INDEX idx_ossea_volumes_vm_context_id ON ossea_volumes (vm_context_id);
CREATE INDEX idx_ossea_volumes_ossea_config_id ON ossea_volumes (ossea_config_id);
CREATE INDEX idx_ossea_volumes_snapshot_id ON ossea_volumes (snapshot_id);
CREATE INDEX idx_ossea_volumes_snapshot_status ON ossea_volumes (snapshot_status);

CREATE TABLE device_mappings (
    id                          TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    vm_context_id               TEXT    CHECK (vm_context_id <> '')
        REFERENCES vm_replication_contexts (context_id) ON DELETE CASCADE,
    volume_uuid                 TEXT    NOT NULL UNIQUE CHECK (volume_uuid <> ''),
    volume_id_numeric           INTEGER,
    vm_id                       TEXT    NOT NULL,
    operation_mode              TEXT    NOT NULL DEFAULT 'oma' CHECK (operation_mode IN ('oma', 'failover')),
    cloudstack_device_id        INTEGER,
    requires_device_correlation INTEGER NOT NULL DEFAULT 1 CHECK (requires_device_correlation IN (0, 1)),
    -- Nullable: a volume attached to a failover VM has no hub device (no more remote-vm-{id}
    -- placeholders); an oma-mode volume always has one.
    device_path                 TEXT    CHECK (device_path <> ''),
    cloudstack_state            TEXT    NOT NULL,
    linux_state                 TEXT    NOT NULL,
    size                        INTEGER NOT NULL,
    last_sync                   INTEGER DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    created_at                  INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    updated_at                  INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    ossea_snapshot_id           TEXT,
    snapshot_created_at         INTEGER,
    snapshot_status             TEXT    NOT NULL DEFAULT 'none'
        CHECK (snapshot_status IN ('none', 'creating', 'ready', 'failed', 'rollback_complete')),
    persistent_device_name      TEXT,
    symlink_path                TEXT,
    CHECK ((device_path IS NOT NULL) = (operation_mode = 'oma'))
) STRICT;

-- device_path is unique among hub-attached (oma) devices only; the global UNIQUE is dropped.
CREATE UNIQUE INDEX idx_device_mappings_device_path_oma ON device_mappings (device_path)
    WHERE operation_mode = 'oma';
CREATE INDEX idx_device_mappings_device_path ON device_mappings (device_path);
CREATE INDEX idx_device_mappings_vm_id ON device_mappings (vm_id);
CREATE INDEX idx_device_mappings_last_sync ON device_mappings (last_sync);
CREATE INDEX idx_device_mappings_volume_id_numeric ON device_mappings (volume_id_numeric);
-- Serves the vm_context_id FK too.
CREATE INDEX idx_device_mappings_vm_context_id_snapshot_status ON device_mappings (vm_context_id, snapshot_status);
CREATE INDEX idx_device_mappings_ossea_snapshot_id ON device_mappings (ossea_snapshot_id);
CREATE INDEX idx_device_mappings_snapshot_status ON device_mappings (snapshot_status);
CREATE INDEX idx_device_mappings_persistent_device_name ON device_mappings (persistent_device_name);
CREATE INDEX idx_device_mappings_symlink_path ON device_mappings (symlink_path);

CREATE TABLE nbd_exports (
    id                  INTEGER PRIMARY KEY,
    vm_context_id       TEXT    CHECK (vm_context_id <> '')
        REFERENCES vm_replication_contexts (context_id) ON DELETE CASCADE,
    -- SET NULL (CASCADE in the original): deleting a job must not drop the row of a live export
    -- whose conf.d file stays behind.
    job_id              TEXT    CHECK (job_id <> '')
        REFERENCES replication_jobs (id) ON DELETE SET NULL,
    -- The export's mapping: NOT NULL, one export per volume, removed with its mapping.
    volume_id           TEXT    NOT NULL UNIQUE CHECK (volume_id <> '')
        REFERENCES device_mappings (volume_uuid) ON DELETE CASCADE,
    -- SET NULL (CASCADE in the original): the export's lifetime follows its mapping (volume_id),
    -- not the disk row; same reason as job_id.
    vm_disk_id          INTEGER REFERENCES vm_disks (id) ON DELETE SET NULL,
    -- Legacy duplicate of volume_id: NULL or equal to it.
    device_mapping_uuid TEXT    CHECK (device_mapping_uuid <> '')
        REFERENCES device_mappings (volume_uuid) ON DELETE CASCADE,
    export_name         TEXT    NOT NULL UNIQUE CHECK (export_name <> ''),
    port                INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    device_path         TEXT    NOT NULL,
    config_path         TEXT,
    status              TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'failed')),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    CHECK (device_mapping_uuid IS NULL OR device_mapping_uuid = volume_id)
) STRICT;

-- volume_id is served by its UNIQUE key.
CREATE INDEX idx_nbd_exports_job_id ON nbd_exports (job_id);
CREATE INDEX idx_nbd_exports_vm_disk_id ON nbd_exports (vm_disk_id);
CREATE INDEX idx_nbd_exports_device_mapping_uuid ON nbd_exports (device_mapping_uuid);
CREATE INDEX idx_nbd_exports_status ON nbd_exports (status);
CREATE INDEX idx_nbd_exports_vm_context_id ON nbd_exports (vm_context_id);

-- =========================================================================================
-- 4. CBT
-- =========================================================================================

CREATE TABLE cbt_history (
    id                    INTEGER PRIMARY KEY,
    -- NOT NULL: every lookup is scoped by (vm_context_id, disk_id).
    vm_context_id         TEXT    NOT NULL
        REFERENCES vm_replication_contexts (context_id) ON DELETE CASCADE,
    -- Nullable + SET NULL (NOT NULL + CASCADE in the original): deleting a job keeps the disk's
    -- change-id lineage, which the next incremental and the lineage check depend on.
    job_id                TEXT    CHECK (job_id <> '')
        REFERENCES replication_jobs (id) ON DELETE SET NULL,
    disk_id               TEXT    NOT NULL,
    change_id             TEXT    NOT NULL,
    previous_change_id    TEXT,
    -- Success is carried by sync_success, never by sync_type = 'completed'.
    sync_type             TEXT    NOT NULL CHECK (sync_type IN ('initial', 'incremental', 'full')),
    blocks_changed        INTEGER,
    bytes_transferred     INTEGER,
    sync_duration_seconds INTEGER,
    sync_success          INTEGER NOT NULL DEFAULT 0 CHECK (sync_success IN (0, 1)),
    created_at            INTEGER NOT NULL,
    -- Restored: retries upsert instead of duplicating.
    UNIQUE (job_id, disk_id, change_id)
) STRICT;

-- job_id is served by the UNIQUE key; this one serves the vm_context_id FK and the
-- latest-change-id-per-disk lookup.
CREATE INDEX idx_cbt_history_vm_context_id_disk_id_created_at ON cbt_history (vm_context_id, disk_id, created_at);

-- =========================================================================================
-- 5. Scheduling and groups
-- =========================================================================================

CREATE TABLE replication_schedules (
    id                       TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    name                     TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    description              TEXT,
    cron_expression          TEXT    NOT NULL,
    schedule_type            TEXT    NOT NULL DEFAULT 'cron' CHECK (schedule_type IN ('cron', 'chain')),
    timezone                 TEXT    NOT NULL DEFAULT 'UTC',
    -- RESTRICT (SET NULL in the original): SET NULL would break the chain CHECK below, so a
    -- schedule that another one follows cannot be deleted. Schedules are never deleted by a
    -- cascade, so RESTRICT is safe here.
    chain_parent_schedule_id TEXT    CHECK (chain_parent_schedule_id <> '')
        REFERENCES replication_schedules (id) ON DELETE RESTRICT,
    chain_delay_minutes      INTEGER NOT NULL DEFAULT 0 CHECK (chain_delay_minutes >= 0),
    replication_type         TEXT    NOT NULL DEFAULT 'auto' CHECK (replication_type IN ('full', 'incremental', 'auto')),
    max_concurrent_jobs      INTEGER NOT NULL DEFAULT 1 CHECK (max_concurrent_jobs >= 1),
    retry_attempts           INTEGER NOT NULL DEFAULT 3 CHECK (retry_attempts >= 0),
    retry_delay_minutes      INTEGER NOT NULL DEFAULT 30 CHECK (retry_delay_minutes >= 0),
    enabled                  INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    skip_if_running          INTEGER NOT NULL DEFAULT 1 CHECK (skip_if_running IN (0, 1)),
    created_at               INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    updated_at               INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    created_by               TEXT    NOT NULL DEFAULT 'system',
    -- Added column: the next fire time (TIMESTAMP) computed by the library from cron_expression
    -- and timezone (SQL cannot evaluate cron); NULL for disabled and chain schedules. Exposed as
    -- active_schedules.next_execution.
    next_run_at              INTEGER,
    CHECK (schedule_type = 'cron' OR chain_parent_schedule_id IS NOT NULL),
    CHECK (chain_parent_schedule_id <> id)
) STRICT;

-- name is served by its UNIQUE key; (enabled, next_run_at) finds due schedules.
CREATE INDEX idx_replication_schedules_enabled_next_run_at ON replication_schedules (enabled, next_run_at);
CREATE INDEX idx_replication_schedules_schedule_type ON replication_schedules (schedule_type);
CREATE INDEX idx_replication_schedules_chain_parent_schedule_id ON replication_schedules (chain_parent_schedule_id);

CREATE TABLE schedule_executions (
    id                         TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    schedule_id                TEXT    NOT NULL REFERENCES replication_schedules (id) ON DELETE CASCADE,
    group_id                   TEXT    CHECK (group_id <> '')
        REFERENCES vm_machine_groups (id) ON DELETE SET NULL,
    scheduled_at               INTEGER NOT NULL,
    started_at                 INTEGER,
    completed_at               INTEGER,
    status                     TEXT    NOT NULL DEFAULT 'scheduled'
        CHECK (status IN ('scheduled', 'running', 'completed', 'failed', 'skipped', 'cancelled')),
    vms_eligible               INTEGER NOT NULL DEFAULT 0 CHECK (vms_eligible >= 0),
    jobs_created               INTEGER NOT NULL DEFAULT 0 CHECK (jobs_created >= 0),
    -- The view schedule_execution_summary derives jobs_completed/jobs_failed from
    -- replication_jobs; these stored counters are kept for compatibility.
    jobs_completed             INTEGER NOT NULL DEFAULT 0 CHECK (jobs_completed >= 0),
    jobs_failed                INTEGER NOT NULL DEFAULT 0 CHECK (jobs_failed >= 0),
    jobs_skipped               INTEGER NOT NULL DEFAULT 0 CHECK (jobs_skipped >= 0),
    execution_details          TEXT    CHECK (execution_details IS NULL OR json_valid(execution_details)),
    error_message              TEXT,
    error_details              TEXT    CHECK (error_details IS NULL OR json_valid(error_details)),
    execution_duration_seconds INTEGER,
    created_at                 INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    triggered_by               TEXT    NOT NULL DEFAULT 'scheduler'
) STRICT;

CREATE INDEX idx_schedule_executions_schedule_id ON schedule_executions (schedule_id);
CREATE INDEX idx_schedule_executions_status ON schedule_executions (status);
CREATE INDEX idx_schedule_executions_scheduled_at ON schedule_executions (scheduled_at);
CREATE INDEX idx_schedule_executions_started_at ON schedule_executions (started_at);
CREATE INDEX idx_schedule_executions_group_id ON schedule_executions (group_id);

CREATE TABLE vm_machine_groups (
    id                 TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    name               TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    description        TEXT,
    schedule_id        TEXT    CHECK (schedule_id <> '')
        REFERENCES replication_schedules (id) ON DELETE SET NULL,
    -- Per-fire job cap only (not a membership cap).
    max_concurrent_vms INTEGER NOT NULL DEFAULT 5 CHECK (max_concurrent_vms BETWEEN 1 AND 100),
    priority           INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    updated_at         INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    created_by         TEXT    NOT NULL DEFAULT 'system'
) STRICT;

CREATE INDEX idx_vm_machine_groups_schedule_id ON vm_machine_groups (schedule_id);
CREATE INDEX idx_vm_machine_groups_priority ON vm_machine_groups (priority);

CREATE TABLE vm_group_memberships (
    id                   TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    group_id             TEXT    NOT NULL REFERENCES vm_machine_groups (id) ON DELETE CASCADE,
    vm_context_id        TEXT    NOT NULL REFERENCES vm_replication_contexts (context_id) ON DELETE CASCADE,
    enabled              INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    priority             INTEGER NOT NULL DEFAULT 0,
    schedule_override_id TEXT    CHECK (schedule_override_id <> '')
        REFERENCES replication_schedules (id) ON DELETE SET NULL,
    added_at             INTEGER DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    added_by             TEXT    NOT NULL DEFAULT 'system',
    UNIQUE (group_id, vm_context_id)
) STRICT;

-- group_id is served by the UNIQUE key.
CREATE INDEX idx_vm_group_memberships_schedule_override_id ON vm_group_memberships (schedule_override_id);
CREATE INDEX idx_vm_group_memberships_vm_context_id ON vm_group_memberships (vm_context_id);
CREATE INDEX idx_vm_group_memberships_enabled ON vm_group_memberships (enabled);
CREATE INDEX idx_vm_group_memberships_priority ON vm_group_memberships (priority);

-- =========================================================================================
-- 6. JobLog
-- =========================================================================================

CREATE TABLE job_tracking (
    id                TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    parent_job_id     TEXT    CHECK (parent_job_id <> '')
        REFERENCES job_tracking (id) ON DELETE CASCADE,
    -- No CHECK on purpose (DOMAIN.md section 0): validated by the library against an extensible
    -- list, so that a new kind of job needs no schema change.
    job_type          TEXT,
    operation         TEXT    NOT NULL,
    -- NOT NULL DEFAULT 'pending' (NULL by default in the original).
    status            TEXT    NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    cloudstack_job_id TEXT,
    external_job_id   TEXT,
    metadata          TEXT    CHECK (metadata IS NULL OR json_valid(metadata)),
    error_message     TEXT,
    started_at        INTEGER DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    completed_at      INTEGER,
    created_at        INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    updated_at        INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    percent_complete  INTEGER CHECK (percent_complete BETWEEN 0 AND 100),
    canceled_at       INTEGER,
    owner             TEXT,
    -- No FK on purpose (as in the original): the log outlives the context it mentions.
    context_id        TEXT,
    -- No CHECK on purpose, as job_type.
    job_category      TEXT    NOT NULL DEFAULT 'system',
    CHECK (parent_job_id <> id)
) STRICT;

-- job_category is served by the composite index.
CREATE INDEX idx_job_tracking_parent_job_id ON job_tracking (parent_job_id);
CREATE INDEX idx_job_tracking_status ON job_tracking (status);
CREATE INDEX idx_job_tracking_job_type ON job_tracking (job_type);
CREATE INDEX idx_job_tracking_cloudstack_job_id ON job_tracking (cloudstack_job_id);
CREATE INDEX idx_job_tracking_external_job_id ON job_tracking (external_job_id);
CREATE INDEX idx_job_tracking_started_at ON job_tracking (started_at);
CREATE INDEX idx_job_tracking_completed_at ON job_tracking (completed_at);
CREATE INDEX idx_job_tracking_context_id ON job_tracking (context_id);
CREATE INDEX idx_job_tracking_job_category_status_started_at ON job_tracking (job_category, status, started_at);

CREATE TABLE job_steps (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id        TEXT    NOT NULL REFERENCES job_tracking (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    seq           INTEGER NOT NULL CHECK (seq >= 1),
    status        TEXT    NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed', 'skipped')),
    started_at    INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    completed_at  INTEGER,
    error_message TEXT,
    metadata      TEXT    CHECK (metadata IS NULL OR json_valid(metadata)),
    UNIQUE (job_id, seq)
) STRICT;
-- job_id is served by the UNIQUE key.

CREATE TABLE job_execution_log (
    id              INTEGER PRIMARY KEY,
    job_id          TEXT    NOT NULL REFERENCES job_tracking (id) ON DELETE CASCADE,
    -- Same levels as log_events (free text in the original; legacy table without a writer).
    log_level       TEXT    NOT NULL CHECK (log_level IN ('DEBUG', 'INFO', 'WARN', 'ERROR')),
    message         TEXT    NOT NULL,
    details         TEXT    CHECK (details IS NULL OR json_valid(details)),
    operation_phase TEXT,
    created_at      INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
) STRICT;

CREATE INDEX idx_job_execution_log_job_id ON job_execution_log (job_id);
CREATE INDEX idx_job_execution_log_created_at ON job_execution_log (created_at);
CREATE INDEX idx_job_execution_log_log_level ON job_execution_log (log_level);
CREATE INDEX idx_job_execution_log_operation_phase ON job_execution_log (operation_phase);

CREATE TABLE log_events (
    id              INTEGER PRIMARY KEY,
    job_id          TEXT    CHECK (job_id <> '') REFERENCES job_tracking (id) ON DELETE SET NULL,
    step_id         INTEGER REFERENCES job_steps (id) ON DELETE SET NULL,
    level           TEXT    NOT NULL CHECK (level IN ('DEBUG', 'INFO', 'WARN', 'ERROR')),
    message         TEXT    NOT NULL,
    attrs           TEXT    CHECK (attrs IS NULL OR json_valid(attrs)),
    ts              INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    external_job_id TEXT
) STRICT;

-- (job_id, level) serves the job_id FK and active_jobs.error_count; ts serves time-based pruning.
CREATE INDEX idx_log_events_job_id_level ON log_events (job_id, level);
CREATE INDEX idx_log_events_step_id ON log_events (step_id);
CREATE INDEX idx_log_events_external_job_id ON log_events (external_job_id);
CREATE INDEX idx_log_events_ts ON log_events (ts);

-- =========================================================================================
-- 7. VMware credentials and VMA (SNA) enrollment
-- =========================================================================================

CREATE TABLE vmware_credentials (
    id                 INTEGER PRIMARY KEY,
    credential_name    TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    vcenter_host       TEXT    NOT NULL,
    username           TEXT    NOT NULL,
    password_encrypted TEXT    NOT NULL,
    datacenter         TEXT    NOT NULL,
    is_active          INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    is_default         INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at         INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    updated_at         INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    created_by         TEXT,
    last_used          INTEGER,
    usage_count        INTEGER NOT NULL DEFAULT 0 CHECK (usage_count >= 0)
) STRICT;

-- Exactly one default: this partial unique index also serves the "WHERE is_default = 1" lookup,
-- so the plain is_default index of the original is left out.
CREATE UNIQUE INDEX idx_vmware_credentials_is_default_one ON vmware_credentials (is_default) WHERE is_default = 1;
CREATE INDEX idx_vmware_credentials_is_active ON vmware_credentials (is_active);
CREATE INDEX idx_vmware_credentials_vcenter_host ON vmware_credentials (vcenter_host);
CREATE INDEX idx_vmware_credentials_last_used ON vmware_credentials (last_used);

CREATE TABLE vma_enrollments (
    id              TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    -- FK added: an enrollment names an issued code. RESTRICT: no cascade deletes codes.
    pairing_code    TEXT    NOT NULL UNIQUE
        REFERENCES vma_pairing_codes (pairing_code) ON DELETE RESTRICT,
    vma_public_key  TEXT    NOT NULL,
    vma_name        TEXT,
    vma_version     TEXT,
    vma_fingerprint TEXT,
    vma_ip_address  TEXT,
    challenge_nonce TEXT,
    status          TEXT    NOT NULL DEFAULT 'pending_verification'
        CHECK (status IN ('pending_verification', 'awaiting_approval', 'approved', 'rejected', 'expired')),
    approved_by     TEXT,
    approved_at     INTEGER,
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    updated_at      INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
) STRICT;

-- pairing_code is served by its UNIQUE key.
CREATE INDEX idx_vma_enrollments_status ON vma_enrollments (status);
CREATE INDEX idx_vma_enrollments_expires_at ON vma_enrollments (expires_at);
CREATE INDEX idx_vma_enrollments_created_at ON vma_enrollments (created_at);
CREATE INDEX idx_vma_enrollments_approved_by ON vma_enrollments (approved_by);

CREATE TABLE vma_pairing_codes (
    id                    TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    pairing_code          TEXT    NOT NULL UNIQUE CHECK (pairing_code <> ''),
    generated_by          TEXT    NOT NULL,
    used_by_enrollment_id TEXT    CHECK (used_by_enrollment_id <> '')
        REFERENCES vma_enrollments (id) ON DELETE SET NULL,
    expires_at            INTEGER NOT NULL,
    used_at               INTEGER,
    created_at            INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
) STRICT;

CREATE INDEX idx_vma_pairing_codes_expires_at ON vma_pairing_codes (expires_at);
CREATE INDEX idx_vma_pairing_codes_generated_by ON vma_pairing_codes (generated_by);
CREATE INDEX idx_vma_pairing_codes_used_at ON vma_pairing_codes (used_at);
CREATE INDEX idx_vma_pairing_codes_used_by_enrollment_id ON vma_pairing_codes (used_by_enrollment_id);

CREATE TABLE vma_active_connections (
    id                TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    enrollment_id     TEXT    NOT NULL UNIQUE REFERENCES vma_enrollments (id) ON DELETE CASCADE,
    vma_name          TEXT    NOT NULL,
    vma_fingerprint   TEXT    NOT NULL,
    ssh_user          TEXT    NOT NULL DEFAULT 'vma_tunnel',
    connection_status TEXT    NOT NULL DEFAULT 'connected'
        CHECK (connection_status IN ('connected', 'disconnected', 'revoked')),
    last_seen_at      INTEGER,
    connected_at      INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    revoked_at        INTEGER,
    revoked_by        TEXT,
    created_at        INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    updated_at        INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
) STRICT;

-- enrollment_id is served by its UNIQUE key.
CREATE INDEX idx_vma_active_connections_connection_status ON vma_active_connections (connection_status);
CREATE INDEX idx_vma_active_connections_last_seen_at ON vma_active_connections (last_seen_at);
CREATE INDEX idx_vma_active_connections_vma_fingerprint ON vma_active_connections (vma_fingerprint);

CREATE TABLE vma_connection_audit (
    id              INTEGER PRIMARY KEY,
    -- SET NULL (CASCADE in the original): purging enrollments must not erase the audit trail;
    -- vma_fingerprint keeps the correlation.
    enrollment_id   TEXT    CHECK (enrollment_id <> '')
        REFERENCES vma_enrollments (id) ON DELETE SET NULL,
    event_type      TEXT    NOT NULL
        CHECK (event_type IN ('enrollment', 'verification', 'approval', 'rejection', 'connection',
                              'disconnection', 'revocation')),
    vma_fingerprint TEXT,
    source_ip       TEXT,
    user_agent      TEXT,
    approved_by     TEXT,
    event_details   TEXT    CHECK (event_details IS NULL OR json_valid(event_details)),
    created_at      INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
) STRICT;

CREATE INDEX idx_vma_connection_audit_enrollment_id ON vma_connection_audit (enrollment_id);
CREATE INDEX idx_vma_connection_audit_event_type ON vma_connection_audit (event_type);
CREATE INDEX idx_vma_connection_audit_created_at ON vma_connection_audit (created_at);
CREATE INDEX idx_vma_connection_audit_vma_fingerprint ON vma_connection_audit (vma_fingerprint);
CREATE INDEX idx_vma_connection_audit_source_ip ON vma_connection_audit (source_ip);

-- =========================================================================================
-- 8. Volume daemon
-- =========================================================================================

CREATE TABLE volume_operations (
    id           TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    type         TEXT    NOT NULL CHECK (type IN ('create', 'attach', 'detach', 'delete', 'cleanup')),
    status       TEXT    NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'executing', 'completed', 'failed', 'cancelled')),
    volume_id    TEXT    NOT NULL,
    vm_id        TEXT,
    request      TEXT    NOT NULL CHECK (request IS NULL OR json_valid(request)),
    response     TEXT    CHECK (response IS NULL OR json_valid(response)),
    error        TEXT,
    created_at   INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    updated_at   INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    completed_at INTEGER
) STRICT;

-- (status, updated_at) serves status filters and the sweep of operations stuck in 'executing'.
CREATE INDEX idx_volume_operations_volume_id ON volume_operations (volume_id);
CREATE INDEX idx_volume_operations_vm_id ON volume_operations (vm_id);
CREATE INDEX idx_volume_operations_status_updated_at ON volume_operations (status, updated_at);
CREATE INDEX idx_volume_operations_type ON volume_operations (type);
CREATE INDEX idx_volume_operations_created_at ON volume_operations (created_at);

CREATE TABLE volume_operation_history (
    id              INTEGER PRIMARY KEY,
    -- FK added: one row per status change of a real operation (pseudo ids are dropped).
    operation_id    TEXT    NOT NULL REFERENCES volume_operations (id) ON DELETE CASCADE,
    previous_status TEXT    CHECK (previous_status IN ('pending', 'executing', 'completed', 'failed', 'cancelled')),
    new_status      TEXT    CHECK (new_status IN ('pending', 'executing', 'completed', 'failed', 'cancelled')),
    changed_at      INTEGER DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    details         TEXT    CHECK (details IS NULL OR json_valid(details))
) STRICT;

CREATE INDEX idx_volume_operation_history_operation_id ON volume_operation_history (operation_id);
CREATE INDEX idx_volume_operation_history_changed_at ON volume_operation_history (changed_at);

CREATE TABLE volume_mounts (
    id              INTEGER PRIMARY KEY,
    -- FKs restored from the initial migration (lost in production).
    ossea_volume_id INTEGER NOT NULL REFERENCES ossea_volumes (id) ON DELETE CASCADE,
    job_id          TEXT    NOT NULL REFERENCES replication_jobs (id) ON DELETE CASCADE,
    device_path     TEXT    NOT NULL,
    mount_point     TEXT,
    mount_status    TEXT    NOT NULL DEFAULT 'unmounted'
        CHECK (mount_status IN ('unmounted', 'mounting', 'mounted', 'unmount_pending', 'error')),
    filesystem_type TEXT,
    mount_options   TEXT,
    is_read_only    INTEGER NOT NULL DEFAULT 0 CHECK (is_read_only IN (0, 1)),
    mounted_at      INTEGER,
    unmounted_at    INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_volume_mounts_ossea_volume_id ON volume_mounts (ossea_volume_id);
CREATE INDEX idx_volume_mounts_job_id ON volume_mounts (job_id);
CREATE INDEX idx_volume_mounts_mount_status ON volume_mounts (mount_status);

CREATE TABLE volume_daemon_metrics (
    id                       INTEGER PRIMARY KEY,
    timestamp                INTEGER DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    total_operations         INTEGER NOT NULL DEFAULT 0 CHECK (total_operations >= 0),
    pending_operations       INTEGER NOT NULL DEFAULT 0 CHECK (pending_operations >= 0),
    active_mappings          INTEGER NOT NULL DEFAULT 0 CHECK (active_mappings >= 0),
    operations_by_type       TEXT    CHECK (operations_by_type IS NULL OR json_valid(operations_by_type)),
    operations_by_status     TEXT    CHECK (operations_by_status IS NULL OR json_valid(operations_by_status)),
    average_response_time_ms REAL    NOT NULL DEFAULT 0 CHECK (average_response_time_ms >= 0),
    error_rate_percent       REAL    NOT NULL DEFAULT 0 CHECK (error_rate_percent BETWEEN 0 AND 100),
    details                  TEXT    CHECK (details IS NULL OR json_valid(details))
) STRICT;

CREATE INDEX idx_volume_daemon_metrics_timestamp ON volume_daemon_metrics (timestamp);

-- =========================================================================================
-- 9. Backup repository system
-- =========================================================================================

CREATE TABLE backup_repositories (
    id                   TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    name                 TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    repository_type      TEXT    NOT NULL CHECK (repository_type IN ('local', 'nfs', 'cifs', 'smb', 's3', 'azure')),
    enabled              INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    config               TEXT    NOT NULL CHECK (config IS NULL OR json_valid(config)),
    is_immutable         INTEGER NOT NULL DEFAULT 0 CHECK (is_immutable IN (0, 1)),
    immutable_config     TEXT    CHECK (immutable_config IS NULL OR json_valid(immutable_config)),
    min_retention_days   INTEGER NOT NULL DEFAULT 0 CHECK (min_retention_days >= 0),
    total_size_bytes     INTEGER NOT NULL DEFAULT 0 CHECK (total_size_bytes >= 0),
    used_size_bytes      INTEGER NOT NULL DEFAULT 0 CHECK (used_size_bytes >= 0),
    available_size_bytes INTEGER NOT NULL DEFAULT 0 CHECK (available_size_bytes >= 0),
    last_check_at        INTEGER,
    created_at           INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    updated_at           INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    -- An immutable repository without its lock configuration would be silently unprotected.
    CHECK (is_immutable = 0 OR immutable_config IS NOT NULL)
) STRICT;

CREATE INDEX idx_backup_repositories_repository_type ON backup_repositories (repository_type);
CREATE INDEX idx_backup_repositories_enabled ON backup_repositories (enabled);
CREATE INDEX idx_backup_repositories_is_immutable ON backup_repositories (is_immutable);

CREATE TABLE backup_policies (
    id                    TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    name                  TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    enabled               INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    primary_repository_id TEXT    NOT NULL REFERENCES backup_repositories (id) ON DELETE RESTRICT,
    retention_days        INTEGER NOT NULL DEFAULT 30 CHECK (retention_days >= 0),
    created_at            INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    updated_at            INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
) STRICT;

CREATE INDEX idx_backup_policies_enabled ON backup_policies (enabled);
CREATE INDEX idx_backup_policies_primary_repository_id ON backup_policies (primary_repository_id);

CREATE TABLE backup_copy_rules (
    id                        TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    policy_id                 TEXT    NOT NULL REFERENCES backup_policies (id) ON DELETE CASCADE,
    destination_repository_id TEXT    NOT NULL REFERENCES backup_repositories (id) ON DELETE RESTRICT,
    copy_mode                 TEXT    NOT NULL DEFAULT 'immediate' CHECK (copy_mode IN ('immediate', 'scheduled', 'manual')),
    priority                  INTEGER NOT NULL CHECK (priority >= 1),
    enabled                   INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    verify_after_copy         INTEGER NOT NULL DEFAULT 1 CHECK (verify_after_copy IN (0, 1)),
    created_at                INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    -- No duplicate destination per policy. "destination <> primary" spans two tables and is
    -- checked by the library in the same transaction.
    UNIQUE (policy_id, destination_repository_id)
) STRICT;

-- policy_id is served by the UNIQUE key.
CREATE INDEX idx_backup_copy_rules_priority ON backup_copy_rules (priority);
CREATE INDEX idx_backup_copy_rules_destination_repository_id ON backup_copy_rules (destination_repository_id);

CREATE TABLE backup_jobs (
    id                   TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    -- No FK: vm_backup_contexts is outside this schema (SCHEMA.md "Out of scope").
    vm_backup_context_id TEXT    CHECK (vm_backup_context_id <> ''),
    vm_context_id        TEXT    NOT NULL REFERENCES vm_replication_contexts (context_id) ON DELETE CASCADE,
    vm_name              TEXT    NOT NULL,
    -- Disk INDEX within the VM (0, 1, ...), not vm_disks.disk_id ('disk-2000').
    disk_id              INTEGER NOT NULL DEFAULT 0 CHECK (disk_id >= 0),
    repository_id        TEXT    NOT NULL REFERENCES backup_repositories (id) ON DELETE RESTRICT,
    policy_id            TEXT    CHECK (policy_id <> '') REFERENCES backup_policies (id) ON DELETE SET NULL,
    backup_type          TEXT    NOT NULL CHECK (backup_type IN ('full', 'incremental', 'differential')),
    status               TEXT    NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    repository_path      TEXT    NOT NULL,
    -- NO ACTION (SET NULL in the original, RESTRICT recommended): a backup another one builds on
    -- cannot be deleted, yet deleting the context (which cascades to both) still works, because
    -- NO ACTION is checked at the end of the statement while RESTRICT fires mid-cascade.
    -- The explicit per-disk-row -> parent-row link and row kind are left to schema v2.
    parent_backup_id     TEXT    CHECK (parent_backup_id <> '') REFERENCES backup_jobs (id),
    change_id            TEXT,
    bytes_transferred    INTEGER NOT NULL DEFAULT 0 CHECK (bytes_transferred >= 0),
    total_bytes          INTEGER NOT NULL DEFAULT 0 CHECK (total_bytes >= 0),
    compression_enabled  INTEGER NOT NULL DEFAULT 1 CHECK (compression_enabled IN (0, 1)),
    error_message        TEXT,
    created_at           INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    started_at           INTEGER,
    completed_at         INTEGER,
    -- No CHECK: telemetry phase label pushed by the backup client ('pending', 'snapshot',
    -- 'transferring', 'finalizing', ...); an unknown label must not fail the telemetry write.
    current_phase        TEXT    NOT NULL DEFAULT 'pending',
    transfer_speed_bps   INTEGER NOT NULL DEFAULT 0 CHECK (transfer_speed_bps >= 0),
    eta_seconds          INTEGER NOT NULL DEFAULT 0,
    progress_percent     REAL    NOT NULL DEFAULT 0 CHECK (progress_percent BETWEEN 0 AND 100),
    last_telemetry_at    INTEGER,
    CHECK (parent_backup_id <> id),
    -- A full backup has no parent.
    CHECK (backup_type <> 'full' OR parent_backup_id IS NULL)
) STRICT;

-- (vm_context_id, disk_id, backup_type) also serves the vm_context_id FK and (vm_context_id,
-- disk_id); (status, last_telemetry_at) also serves status.
CREATE INDEX idx_backup_jobs_vm_context_id_disk_id_backup_type ON backup_jobs (vm_context_id, disk_id, backup_type);
CREATE INDEX idx_backup_jobs_repository_id ON backup_jobs (repository_id);
CREATE INDEX idx_backup_jobs_policy_id ON backup_jobs (policy_id);
CREATE INDEX idx_backup_jobs_status_last_telemetry_at ON backup_jobs (status, last_telemetry_at);
CREATE INDEX idx_backup_jobs_created_at ON backup_jobs (created_at);
CREATE INDEX idx_backup_jobs_parent_backup_id ON backup_jobs (parent_backup_id);
CREATE INDEX idx_backup_jobs_vm_backup_context_id ON backup_jobs (vm_backup_context_id);

CREATE TABLE backup_copies (
    id                  TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    source_backup_id    TEXT    NOT NULL REFERENCES backup_jobs (id) ON DELETE CASCADE,
    repository_id       TEXT    NOT NULL REFERENCES backup_repositories (id) ON DELETE RESTRICT,
    copy_rule_id        TEXT    CHECK (copy_rule_id <> '') REFERENCES backup_copy_rules (id) ON DELETE SET NULL,
    status              TEXT    NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'copying', 'verifying', 'completed', 'failed')),
    file_path           TEXT    NOT NULL,
    size_bytes          INTEGER NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
    copy_started_at     INTEGER,
    copy_completed_at   INTEGER,
    verified_at         INTEGER,
    verification_status TEXT    NOT NULL DEFAULT 'pending'
        CHECK (verification_status IN ('pending', 'passed', 'failed')),
    error_message       TEXT,
    created_at          INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    UNIQUE (source_backup_id, repository_id)
) STRICT;

-- source_backup_id is served by the UNIQUE key; (status, created_at) serves the worker claim.
CREATE INDEX idx_backup_copies_repository_id ON backup_copies (repository_id);
CREATE INDEX idx_backup_copies_copy_rule_id ON backup_copies (copy_rule_id);
CREATE INDEX idx_backup_copies_status_created_at ON backup_copies (status, created_at);

CREATE TABLE backup_chains (
    id               TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    vm_context_id    TEXT    NOT NULL REFERENCES vm_replication_contexts (context_id) ON DELETE CASCADE,
    disk_id          INTEGER NOT NULL CHECK (disk_id >= 0),
    -- Nullable (the '' sentinels are gone): NULL until the chain's first completed backup.
    -- NO ACTION rather than RESTRICT: deleting the context cascades to the chain and to its
    -- backups in one statement; a chain's backups cannot be deleted on their own while the chain
    -- points at them.
    full_backup_id   TEXT    CHECK (full_backup_id <> '') REFERENCES backup_jobs (id),
    latest_backup_id TEXT    CHECK (latest_backup_id <> '') REFERENCES backup_jobs (id),
    total_backups    INTEGER NOT NULL DEFAULT 0 CHECK (total_backups >= 0),
    total_size_bytes INTEGER NOT NULL DEFAULT 0 CHECK (total_size_bytes >= 0),
    created_at       INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    updated_at       INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    -- Added column: incrementals chain within one repository, so a chain is per
    -- (context, disk, repository).
    repository_id    TEXT    NOT NULL REFERENCES backup_repositories (id) ON DELETE RESTRICT,
    CHECK ((full_backup_id IS NULL) = (latest_backup_id IS NULL)),
    UNIQUE (vm_context_id, disk_id, repository_id)
) STRICT;

-- vm_context_id is served by the UNIQUE key.
CREATE INDEX idx_backup_chains_full_backup_id ON backup_chains (full_backup_id);
CREATE INDEX idx_backup_chains_latest_backup_id ON backup_chains (latest_backup_id);
CREATE INDEX idx_backup_chains_repository_id ON backup_chains (repository_id);

-- =========================================================================================
-- 10. linstor_configs (referenced by failover_jobs.linstor_config_id)
-- =========================================================================================

CREATE TABLE linstor_configs (
    id                         INTEGER PRIMARY KEY,
    name                       TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    api_url                    TEXT    NOT NULL,
    api_port                   INTEGER NOT NULL DEFAULT 3370 CHECK (api_port BETWEEN 1 AND 65535),
    api_protocol               TEXT    NOT NULL DEFAULT 'http' CHECK (api_protocol IN ('http', 'https')),
    api_key                    TEXT,
    api_secret                 TEXT,
    connection_timeout_seconds INTEGER NOT NULL DEFAULT 30 CHECK (connection_timeout_seconds >= 1),
    retry_attempts             INTEGER NOT NULL DEFAULT 3 CHECK (retry_attempts >= 0),
    description                TEXT,
    created_at                 INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    updated_at                 INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    is_active                  INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1))
) STRICT;

-- name is served by its UNIQUE key.
CREATE INDEX idx_linstor_configs_is_active ON linstor_configs (is_active);

-- =========================================================================================
-- 11. Views (column order as in the original views; no ORDER BY: order at the query)
-- =========================================================================================

-- error_count counts ERROR log_events (the original read job_execution_log, which has no writer).
CREATE VIEW active_jobs AS
SELECT j.id,
       j.job_type,
       j.operation,
       j.status,
       j.parent_job_id,
       j.started_at,
       (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - j.started_at) / 1000 AS running_seconds,
       (SELECT COUNT(*) FROM log_events e WHERE e.job_id = j.id AND e.level = 'ERROR') AS error_count
FROM job_tracking j
WHERE j.status IN ('pending', 'running');

-- job_level is 'child' at any depth; child_count counts direct children only.
CREATE VIEW job_tracking_hierarchy AS
SELECT j.id,
       j.job_type,
       j.operation,
       j.status,
       j.parent_job_id,
       j.started_at,
       j.completed_at,
       CASE WHEN j.parent_job_id IS NULL THEN 'root' ELSE 'child' END AS job_level,
       (SELECT COUNT(*) FROM job_tracking c WHERE c.parent_job_id = j.id) AS child_count,
       CASE WHEN j.completed_at IS NOT NULL THEN (j.completed_at - j.started_at) / 1000 END AS duration_seconds
FROM job_tracking j;

-- vm_count: enabled members whose effective schedule (override, else the group's) is this one,
-- and whose context takes part in scheduling. next_execution: the library-maintained
-- next_run_at, NULL for chain schedules (disabled ones are not listed at all).
CREATE VIEW active_schedules AS
SELECT s.id,
       s.name,
       s.description,
       s.cron_expression,
       s.schedule_type,
       s.enabled,
       s.max_concurrent_jobs,
       (SELECT COUNT(*) FROM vm_machine_groups g WHERE g.schedule_id = s.id) AS group_count,
       (SELECT COUNT(DISTINCT m.vm_context_id)
          FROM vm_group_memberships m
          JOIN vm_machine_groups g ON g.id = m.group_id
          JOIN vm_replication_contexts c ON c.context_id = m.vm_context_id
         WHERE m.enabled = 1
           AND c.scheduler_enabled = 1
           AND COALESCE(m.schedule_override_id, g.schedule_id) = s.id) AS vm_count,
       CASE WHEN s.schedule_type = 'cron' AND s.enabled = 1 THEN s.next_run_at END AS next_execution,
       (SELECT MAX(se.started_at) FROM schedule_executions se WHERE se.schedule_id = s.id) AS last_execution
FROM replication_schedules s
WHERE s.enabled = 1;

-- jobs_completed/jobs_failed are derived from the jobs the execution created (the stored
-- counters were never maintained); the rate uses 100.0 to avoid integer division.
CREATE VIEW schedule_execution_summary AS
SELECT x.id,
       x.schedule_id,
       x.schedule_name,
       x.status,
       x.scheduled_at,
       x.started_at,
       x.completed_at,
       x.execution_duration_seconds,
       x.vms_eligible,
       x.jobs_created,
       x.jobs_completed,
       x.jobs_failed,
       x.jobs_skipped,
       CASE WHEN x.jobs_created > 0 THEN ROUND(100.0 * x.jobs_completed / x.jobs_created, 2) ELSE 0.0 END
           AS success_rate_percent,
       x.error_message,
       x.triggered_by
FROM (SELECT se.id,
             se.schedule_id,
             rs.name AS schedule_name,
             se.status,
             se.scheduled_at,
             se.started_at,
             se.completed_at,
             se.execution_duration_seconds,
             se.vms_eligible,
             se.jobs_created,
             (SELECT COUNT(*) FROM replication_jobs rj
               WHERE rj.schedule_execution_id = se.id AND rj.status = 'completed') AS jobs_completed,
             (SELECT COUNT(*) FROM replication_jobs rj
               WHERE rj.schedule_execution_id = se.id AND rj.status = 'failed') AS jobs_failed,
             se.jobs_skipped,
             se.error_message,
             se.triggered_by
        FROM schedule_executions se
        JOIN replication_schedules rs ON rs.id = se.schedule_id) AS x;

-- One row per (context, membership), one row with NULL group columns for a VM in no group.
-- The schedule is the effective one (override, else the group's); the active job uses the
-- shared non-terminal status set.
CREATE VIEW vm_schedule_status AS
SELECT vrc.context_id,
       vrc.vm_name,
       vrc.current_status AS vm_status,
       vrc.next_scheduled_at,
       vrc.scheduler_enabled,
       vmg.name AS group_name,
       vmg.priority AS group_priority,
       vgm.priority AS vm_priority,
       vgm.enabled AS membership_enabled,
       rs.name AS schedule_name,
       rs.cron_expression,
       rs.enabled AS schedule_enabled,
       CASE WHEN rj.id IS NOT NULL THEN 1 ELSE 0 END AS has_active_job,
       rj.id AS active_job_id,
       rj.status AS job_status,
       rj.progress_percent
FROM vm_replication_contexts vrc
LEFT JOIN vm_group_memberships vgm ON vgm.vm_context_id = vrc.context_id
LEFT JOIN vm_machine_groups vmg ON vmg.id = vgm.group_id
LEFT JOIN replication_schedules rs ON rs.id = COALESCE(vgm.schedule_override_id, vmg.schedule_id)
LEFT JOIN replication_jobs rj
       ON rj.id = vrc.current_job_id
      AND rj.status IN ('pending', 'initializing', 'analyzing', 'provisioning', 'attaching', 'configuring',
                        'ready_for_sync', 'snapshotting', 'replicating', 'finalizing')
WHERE vrc.scheduler_enabled = 1;
