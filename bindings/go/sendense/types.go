package sendense

import (
	"encoding/json"
	"time"
)

// ContextStatus is the lifecycle state of a protected VM (vm_replication_contexts.current_status).
type ContextStatus string

// Context statuses. The edges into and out of ContextReplicating are driven by replication
// jobs; the others are taken with SetContextStatus.
const (
	ContextDiscovered       ContextStatus = "discovered"
	ContextReplicating      ContextStatus = "replicating"
	ContextReadyForFailover ContextStatus = "ready_for_failover"
	ContextFailedOverTest   ContextStatus = "failed_over_test"
	ContextFailedOverLive   ContextStatus = "failed_over_live"
	ContextCompleted        ContextStatus = "completed"
	ContextFailed           ContextStatus = "failed"
	ContextCleanupRequired  ContextStatus = "cleanup_required"
)

// JobStatus is the lifecycle state of a replication job (replication_jobs.status). Jobs move
// forward only (steps may be skipped), or from any active status to failed or cancelled;
// completed, failed and cancelled are final.
type JobStatus string

// Job statuses, in lifecycle order.
const (
	JobPending      JobStatus = "pending"
	JobInitializing JobStatus = "initializing"
	JobAnalyzing    JobStatus = "analyzing"
	JobProvisioning JobStatus = "provisioning"
	JobAttaching    JobStatus = "attaching"
	JobConfiguring  JobStatus = "configuring"
	JobReadyForSync JobStatus = "ready_for_sync"
	JobSnapshotting JobStatus = "snapshotting"
	JobReplicating  JobStatus = "replicating"
	JobFinalizing   JobStatus = "finalizing"
	JobCompleted    JobStatus = "completed"
	JobFailed       JobStatus = "failed"
	JobCancelled    JobStatus = "cancelled"
)

// IsTerminal reports whether the status is final (completed, failed, cancelled).
func (s JobStatus) IsTerminal() bool {
	return s == JobCompleted || s == JobFailed || s == JobCancelled
}

// ReplicationType is the kind of a job as stored (replication_jobs.replication_type).
type ReplicationType string

// Stored replication types.
const (
	ReplicationInitial     ReplicationType = "initial"
	ReplicationIncremental ReplicationType = "incremental"
)

// RequestedType is the kind a caller asks for when starting a job.
type RequestedType string

// Requested replication types; RequestAuto (the default) becomes incremental when at least
// one disk has a usable recorded change id, else initial.
const (
	RequestInitial     RequestedType = "initial"
	RequestIncremental RequestedType = "incremental"
	RequestAuto        RequestedType = "auto"
)

// DiskSyncStatus is the per-disk sync state (vm_disks.sync_status).
type DiskSyncStatus string

// Disk sync statuses.
const (
	DiskPending   DiskSyncStatus = "pending"
	DiskSyncing   DiskSyncStatus = "syncing"
	DiskCompleted DiskSyncStatus = "completed"
	DiskFailed    DiskSyncStatus = "failed"
)

// SyncMode is how a disk must be copied.
type SyncMode string

// Sync modes of a Decision.
const (
	SyncFull        SyncMode = "full"
	SyncIncremental SyncMode = "incremental"
)

// DecisionReason is why a Decision chose its mode.
type DecisionReason string

// Decision reasons.
const (
	ReasonBaseRecorded        DecisionReason = "base_recorded"
	ReasonNoBase              DecisionReason = "no_base"
	ReasonUnparsableBase      DecisionReason = "unparsable_base"
	ReasonCBTUUIDChanged      DecisionReason = "cbt_uuid_changed"
	ReasonBaseAheadOfSnapshot DecisionReason = "base_ahead_of_snapshot"
	ReasonTargetVolumeNew     DecisionReason = "target_volume_new"
)

// Context is a vm_replication_contexts row: the master record of a protected VM. The
// counters and pointers (TotalJobsRun ... CurrentJobID, LastSuccessfulJobID) are maintained by
// the library from the job rows.
type Context struct {
	ContextID            string          `json:"context_id"`
	VMName               string          `json:"vm_name"`
	VMwareVMID           string          `json:"vmware_vm_id"`
	VMPath               string          `json:"vm_path"`
	VCenterHost          string          `json:"vcenter_host"`
	Datacenter           string          `json:"datacenter"`
	CurrentStatus        ContextStatus   `json:"current_status"`
	CurrentJobID         *string         `json:"current_job_id"`
	TotalJobsRun         int64           `json:"total_jobs_run"`
	SuccessfulJobs       int64           `json:"successful_jobs"`
	FailedJobs           int64           `json:"failed_jobs"`
	LastSuccessfulJobID  *string         `json:"last_successful_job_id"`
	CPUCount             *int64          `json:"cpu_count"`
	MemoryMB             *int64          `json:"memory_mb"`
	OSType               *string         `json:"os_type"`
	PowerState           *string         `json:"power_state"`
	VMToolsVersion       *string         `json:"vm_tools_version"`
	CreatedAt            time.Time       `json:"created_at"`
	UpdatedAt            time.Time       `json:"updated_at"`
	FirstJobAt           *time.Time      `json:"first_job_at"`
	LastJobAt            *time.Time      `json:"last_job_at"`
	LastStatusChange     *time.Time      `json:"last_status_change"`
	AutoAdded            bool            `json:"auto_added"`
	LastScheduledJobID   *string         `json:"last_scheduled_job_id"`
	NextScheduledAt      *time.Time      `json:"next_scheduled_at"`
	SchedulerEnabled     bool            `json:"scheduler_enabled"`
	CredentialID         *int64          `json:"credential_id"`
	OSSEAConfigID        *int64          `json:"ossea_config_id"`
	LastOperationSummary json.RawMessage `json:"last_operation_summary"` // nil when NULL
}

// NewContext is a context to create. VMName, VMwareVMID, VMPath, VCenterHost and Datacenter
// are required; nil pointers and zero values mean the column's default.
type NewContext struct {
	VMName               string          `json:"vm_name"`
	VMwareVMID           string          `json:"vmware_vm_id"`
	VMPath               string          `json:"vm_path"`
	VCenterHost          string          `json:"vcenter_host"`
	Datacenter           string          `json:"datacenter"`
	CPUCount             *int64          `json:"cpu_count,omitempty"`
	MemoryMB             *int64          `json:"memory_mb,omitempty"`
	OSType               *string         `json:"os_type,omitempty"`
	PowerState           *string         `json:"power_state,omitempty"`
	VMToolsVersion       *string         `json:"vm_tools_version,omitempty"`
	AutoAdded            bool            `json:"auto_added,omitempty"`
	SchedulerEnabled     *bool           `json:"scheduler_enabled,omitempty"` // nil: true
	CredentialID         *int64          `json:"credential_id,omitempty"`
	OSSEAConfigID        *int64          `json:"ossea_config_id,omitempty"`
	LastOperationSummary json.RawMessage `json:"last_operation_summary,omitempty"`
}

// ContextUpdate changes a context's mutable attributes. A nil field leaves its column alone;
// Clear lists nullable columns to set to NULL by their column names (e.g. "os_type",
// "cpu_count", "next_scheduled_at"). A column both set and cleared is refused; a name that is
// not an updatable column is refused by the library (ErrInvalidArgument naming it).
type ContextUpdate struct {
	VMName               *string
	VMPath               *string
	Datacenter           *string
	CPUCount             *int64
	MemoryMB             *int64
	OSType               *string
	PowerState           *string
	VMToolsVersion       *string
	AutoAdded            *bool
	SchedulerEnabled     *bool
	NextScheduledAt      *time.Time
	LastScheduledJobID   *string
	CredentialID         *int64
	OSSEAConfigID        *int64
	LastOperationSummary json.RawMessage
	Clear                []string
}

// MarshalJSON encodes the update as the library expects it: present keys only, null for the
// cleared columns.
func (u ContextUpdate) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	set := func(key string, isSet bool, v any) {
		if isSet {
			m[key] = v
		}
	}
	set("vm_name", u.VMName != nil, u.VMName)
	set("vm_path", u.VMPath != nil, u.VMPath)
	set("datacenter", u.Datacenter != nil, u.Datacenter)
	set("cpu_count", u.CPUCount != nil, u.CPUCount)
	set("memory_mb", u.MemoryMB != nil, u.MemoryMB)
	set("os_type", u.OSType != nil, u.OSType)
	set("power_state", u.PowerState != nil, u.PowerState)
	set("vm_tools_version", u.VMToolsVersion != nil, u.VMToolsVersion)
	set("auto_added", u.AutoAdded != nil, u.AutoAdded)
	set("scheduler_enabled", u.SchedulerEnabled != nil, u.SchedulerEnabled)
	if u.NextScheduledAt != nil {
		m["next_scheduled_at"] = u.NextScheduledAt.UTC().Format(time.RFC3339Nano)
	}
	set("last_scheduled_job_id", u.LastScheduledJobID != nil, u.LastScheduledJobID)
	set("credential_id", u.CredentialID != nil, u.CredentialID)
	set("ossea_config_id", u.OSSEAConfigID != nil, u.OSSEAConfigID)
	set("last_operation_summary", u.LastOperationSummary != nil, u.LastOperationSummary)
	for _, key := range u.Clear {
		if _, both := m[key]; both {
			return nil, invalidArgument("context update: %s is both set and cleared", key)
		}
		if notNull[key] {
			return nil, invalidArgument("context update: %s cannot be cleared (the column is NOT NULL)", key)
		}
		m[key] = nil
	}
	return json.Marshal(m)
}

// notNull are the updatable columns that cannot be NULL. (The library reads a null for them
// as "leave alone"; the binding refuses it so that Clear never silently does nothing.)
var notNull = map[string]bool{"vm_name": true, "vm_path": true, "datacenter": true, "auto_added": true, "scheduler_enabled": true}

// ContextFilter selects contexts for ListContexts; zero fields do not filter. Results are
// ordered by VM name, then context id.
type ContextFilter struct {
	Status           ContextStatus `json:"status,omitempty"`
	VCenterHost      string        `json:"vcenter_host,omitempty"`
	NamePrefix       string        `json:"name_prefix,omitempty"`
	SchedulerEnabled *bool         `json:"scheduler_enabled,omitempty"`
	Limit            uint32        `json:"limit,omitempty"` // 0: the library's default (1000)
	Offset           uint32        `json:"offset,omitempty"`
}

// ReplicationJob is a replication_jobs row.
type ReplicationJob struct {
	ID                     string          `json:"id"`
	VMContextID            string          `json:"vm_context_id"`
	SourceVMID             string          `json:"source_vm_id"`
	SourceVMName           string          `json:"source_vm_name"`
	SourceVMPath           string          `json:"source_vm_path"`
	VCenterHost            string          `json:"v_center_host"`
	Datacenter             string          `json:"datacenter"`
	ReplicationType        ReplicationType `json:"replication_type"`
	TargetNetwork          *string         `json:"target_network"`
	Status                 JobStatus       `json:"status"`
	ProgressPercent        float64         `json:"progress_percent"`
	CurrentOperation       *string         `json:"current_operation"`
	BytesTransferred       int64           `json:"bytes_transferred"`
	TotalBytes             int64           `json:"total_bytes"`
	TransferSpeedBps       int64           `json:"transfer_speed_bps"`
	ErrorMessage           *string         `json:"error_message"`
	ChangeID               *string         `json:"change_id"`
	PreviousChangeID       *string         `json:"previous_change_id"`
	SnapshotID             *string         `json:"snapshot_id"`
	NBDPort                *int64          `json:"nbd_port"`
	NBDExportName          *string         `json:"nbd_export_name"`
	TargetDevice           *string         `json:"target_device"`
	OSSEAConfigID          *int64          `json:"ossea_config_id"`
	CreatedAt              time.Time       `json:"created_at"`
	UpdatedAt              time.Time       `json:"updated_at"`
	StartedAt              *time.Time      `json:"started_at"`
	CompletedAt            *time.Time      `json:"completed_at"`
	VMASyncType            *string         `json:"vma_sync_type"`
	VMACurrentPhase        *string         `json:"vma_current_phase"`
	VMAThroughputMbps      float64         `json:"vma_throughput_mbps"`
	VMAETASeconds          *int64          `json:"vma_eta_seconds"`
	VMALastPollAt          *time.Time      `json:"vma_last_poll_at"`
	VMAErrorClassification *string         `json:"vma_error_classification"`
	VMAErrorDetails        *string         `json:"vma_error_details"`
	SetupProgressPercent   float64         `json:"setup_progress_percent"`
	ScheduleExecutionID    *string         `json:"schedule_execution_id"`
	ScheduledBy            *string         `json:"scheduled_by"`
	VMGroupID              *string         `json:"vm_group_id"`
}

// Disk is a vm_disks row: one stable row per (context, VMware disk), keeping the disk's
// recorded change id (DiskChangeID) across jobs.
type Disk struct {
	ID                  int64           `json:"id"`
	VMContextID         string          `json:"vm_context_id"`
	JobID               *string         `json:"job_id"`
	DiskID              string          `json:"disk_id"`
	VMDKPath            string          `json:"vm_dk_path"`
	SizeGB              int64           `json:"size_gb"`
	Datastore           *string         `json:"datastore"`
	UnitNumber          *int64          `json:"unit_number"`
	Label               *string         `json:"label"`
	CapacityBytes       *int64          `json:"capacity_bytes"`
	ProvisioningType    *string         `json:"provisioning_type"`
	OSSEAVolumeID       *int64          `json:"ossea_volume_id"`
	DiskChangeID        *string         `json:"disk_change_id"`
	SyncStatus          DiskSyncStatus  `json:"sync_status"`
	SyncProgressPercent float64         `json:"sync_progress_percent"`
	BytesSynced         int64           `json:"bytes_synced"`
	CreatedAt           time.Time       `json:"created_at"`
	UpdatedAt           time.Time       `json:"updated_at"`
	CPUCount            int64           `json:"cpu_count"`
	MemoryMB            int64           `json:"memory_mb"`
	OSType              *string         `json:"os_type"`
	VMToolsVersion      *string         `json:"vm_tools_version"`
	NetworkConfig       json.RawMessage `json:"network_config"` // nil when NULL
	DisplayName         *string         `json:"display_name"`
	Annotation          *string         `json:"annotation"`
	PowerState          *string         `json:"power_state"`
	VMwareUUID          *string         `json:"vmware_uuid"`
	BIOSSetup           *string         `json:"bios_setup"`
}

// DiskSpec is a disk of the VM as a job sees it. DiskID ("disk-<VMware device key>", e.g.
// "disk-2000"), VMDKPath and SizeGB are required.
type DiskSpec struct {
	DiskID           string          `json:"disk_id"`
	VMDKPath         string          `json:"vm_dk_path"`
	SizeGB           int64           `json:"size_gb"`
	Datastore        string          `json:"datastore,omitempty"`
	UnitNumber       *int64          `json:"unit_number,omitempty"`
	Label            string          `json:"label,omitempty"`
	CapacityBytes    *int64          `json:"capacity_bytes,omitempty"`
	ProvisioningType string          `json:"provisioning_type,omitempty"`
	OSSEAVolumeID    *int64          `json:"ossea_volume_id,omitempty"`
	NetworkConfig    json.RawMessage `json:"network_config,omitempty"`
}

// StartJob is a replication job to start. ContextID and at least one disk are required; ID
// is generated when empty; ReplicationType "" means RequestAuto.
type StartJob struct {
	ContextID           string        `json:"context_id"`
	ID                  string        `json:"id,omitempty"`
	ReplicationType     RequestedType `json:"replication_type,omitempty"`
	Disks               []DiskSpec    `json:"disks"`
	TargetNetwork       string        `json:"target_network,omitempty"`
	SnapshotID          string        `json:"snapshot_id,omitempty"`
	NBDPort             int64         `json:"nbd_port,omitempty"`
	NBDExportName       string        `json:"nbd_export_name,omitempty"`
	TargetDevice        string        `json:"target_device,omitempty"`
	OSSEAConfigID       *int64        `json:"ossea_config_id,omitempty"`
	ScheduleExecutionID string        `json:"schedule_execution_id,omitempty"`
	ScheduledBy         string        `json:"scheduled_by,omitempty"`
	VMGroupID           string        `json:"vm_group_id,omitempty"`
}

// JobFilter selects jobs for ListJobs, newest first; zero fields do not filter.
type JobFilter struct {
	ContextID string    `json:"context_id,omitempty"`
	Status    JobStatus `json:"status,omitempty"`
	Limit     uint32    `json:"limit,omitempty"` // 0: the library's default (100)
	Offset    uint32    `json:"offset,omitempty"`
}

// Progress is a progress report of a running job (the hot path, one single-row update).
type Progress struct {
	Percent          float64 // 0 to 100
	BytesTransferred int64   // at most TotalBytes when that is known
	TotalBytes       int64   // 0 when unknown
	SpeedBps         int64
	CurrentOperation string // "" keeps the previous one
}

// VMAProgress is what the capture appliance (VMA) reported in a poll; nil fields keep their
// value.
type VMAProgress struct {
	SyncType            *string  `json:"vma_sync_type,omitempty"` // initial, incremental or full
	CurrentPhase        *string  `json:"vma_current_phase,omitempty"`
	ThroughputMbps      *float64 `json:"vma_throughput_mbps,omitempty"`
	ETASeconds          *int64   `json:"vma_eta_seconds,omitempty"`
	ErrorClassification *string  `json:"vma_error_classification,omitempty"`
	ErrorDetails        *string  `json:"vma_error_details,omitempty"`
	SetupProgressPct    *float64 `json:"setup_progress_percent,omitempty"` // 0-100
}

// Decision is the CBT decision for one disk: full or incremental, the base change id
// (incremental only), and why.
type Decision struct {
	Mode         SyncMode       `json:"mode"`
	BaseChangeID *string        `json:"base_change_id"`
	Reason       DecisionReason `json:"reason"`
}

// CBTEntry is a cbt_history row: one successful (or failed) sync of a disk.
type CBTEntry struct {
	ID                  int64     `json:"id"`
	VMContextID         string    `json:"vm_context_id"`
	JobID               *string   `json:"job_id"`
	DiskID              string    `json:"disk_id"`
	ChangeID            string    `json:"change_id"`
	PreviousChangeID    *string   `json:"previous_change_id"`
	SyncType            string    `json:"sync_type"`
	BlocksChanged       *int64    `json:"blocks_changed"`
	BytesTransferred    *int64    `json:"bytes_transferred"`
	SyncDurationSeconds *int64    `json:"sync_duration_seconds"`
	SyncSuccess         bool      `json:"sync_success"`
	CreatedAt           time.Time `json:"created_at"`
}

// LineageBreak is one place where a context's CBT lineage does not chain.
type LineageBreak struct {
	DiskID    string  `json:"disk_id"`
	HistoryID *int64  `json:"history_id"`
	JobID     *string `json:"job_id"`
	Expected  *string `json:"expected"`
	Found     *string `json:"found"`
	Problem   string  `json:"problem"`
}

// LineageReport is the result of VerifyLineage; OK when Breaks is empty.
type LineageReport struct {
	OK             bool           `json:"ok"`
	ContextID      string         `json:"context_id"`
	DisksChecked   int            `json:"disks_checked"`
	EntriesChecked int            `json:"entries_checked"`
	Breaks         []LineageBreak `json:"breaks"`
}

// String returns a pointer to s, for the optional fields of the input types.
func String(s string) *string { return &s }

// Int64 returns a pointer to v, for the optional fields of the input types.
func Int64(v int64) *int64 { return &v }

// Float64 returns a pointer to v, for the optional fields of the input types.
func Float64(v float64) *float64 { return &v }

// Bool returns a pointer to v, for the optional fields of the input types.
func Bool(v bool) *bool { return &v }
