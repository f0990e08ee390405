package sendense

// #include "sendense.h"
import "C"

import "time"

// ReplicationJobStatus is the lifecycle state of a replication job (replication_jobs.status).
// Jobs move forward only (steps may be skipped), or from any active status to failed or
// cancelled; completed, failed and cancelled are final.
type ReplicationJobStatus string

// Replication job statuses, in lifecycle order.
const (
	ReplicationJobPending      ReplicationJobStatus = "pending"
	ReplicationJobInitializing ReplicationJobStatus = "initializing"
	ReplicationJobAnalyzing    ReplicationJobStatus = "analyzing"
	ReplicationJobProvisioning ReplicationJobStatus = "provisioning"
	ReplicationJobAttaching    ReplicationJobStatus = "attaching"
	ReplicationJobConfiguring  ReplicationJobStatus = "configuring"
	ReplicationJobReadyForSync ReplicationJobStatus = "ready_for_sync"
	ReplicationJobSnapshotting ReplicationJobStatus = "snapshotting"
	ReplicationJobReplicating  ReplicationJobStatus = "replicating"
	ReplicationJobFinalizing   ReplicationJobStatus = "finalizing"
	ReplicationJobCompleted    ReplicationJobStatus = "completed"
	ReplicationJobFailed       ReplicationJobStatus = "failed"
	ReplicationJobCancelled    ReplicationJobStatus = "cancelled"
)

// IsTerminal reports whether the status is final (completed, failed, cancelled).
func (s ReplicationJobStatus) IsTerminal() bool {
	return s == ReplicationJobCompleted || s == ReplicationJobFailed || s == ReplicationJobCancelled
}

// ReplicationType is the kind of a job as stored (replication_jobs.replication_type).
type ReplicationType string

// Stored replication types.
const (
	ReplicationInitial     ReplicationType = "initial"
	ReplicationIncremental ReplicationType = "incremental"
)

// ReplicationRequestedType is the kind a caller asks for when starting a replication job.
type ReplicationRequestedType string

// Requested replication types; ReplicationRequestAuto (the default) becomes incremental when
// at least one disk has a usable recorded change id, else initial.
const (
	ReplicationRequestInitial     ReplicationRequestedType = "initial"
	ReplicationRequestIncremental ReplicationRequestedType = "incremental"
	ReplicationRequestAuto        ReplicationRequestedType = "auto"
)

// ReplicationJob is a replication_jobs row.
type ReplicationJob struct {
	ID                     string               `json:"id"`
	VMContextID            string               `json:"vm_context_id"`
	SourceVMID             string               `json:"source_vm_id"`
	SourceVMName           string               `json:"source_vm_name"`
	SourceVMPath           string               `json:"source_vm_path"`
	VCenterHost            string               `json:"v_center_host"`
	Datacenter             string               `json:"datacenter"`
	ReplicationType        ReplicationType      `json:"replication_type"`
	TargetNetwork          *string              `json:"target_network"`
	Status                 ReplicationJobStatus `json:"status"`
	ProgressPercent        float64              `json:"progress_percent"`
	CurrentOperation       *string              `json:"current_operation"`
	BytesTransferred       int64                `json:"bytes_transferred"`
	TotalBytes             int64                `json:"total_bytes"`
	TransferSpeedBps       int64                `json:"transfer_speed_bps"`
	ErrorMessage           *string              `json:"error_message"`
	ChangeID               *string              `json:"change_id"`
	PreviousChangeID       *string              `json:"previous_change_id"`
	SnapshotID             *string              `json:"snapshot_id"`
	NBDPort                *int64               `json:"nbd_port"`
	NBDExportName          *string              `json:"nbd_export_name"`
	TargetDevice           *string              `json:"target_device"`
	OSSEAConfigID          *int64               `json:"ossea_config_id"`
	CreatedAt              time.Time            `json:"created_at"`
	UpdatedAt              time.Time            `json:"updated_at"`
	StartedAt              *time.Time           `json:"started_at"`
	CompletedAt            *time.Time           `json:"completed_at"`
	VMASyncType            *string              `json:"vma_sync_type"`
	VMACurrentPhase        *string              `json:"vma_current_phase"`
	VMAThroughputMbps      float64              `json:"vma_throughput_mbps"`
	VMAETASeconds          *int64               `json:"vma_eta_seconds"`
	VMALastPollAt          *time.Time           `json:"vma_last_poll_at"`
	VMAErrorClassification *string              `json:"vma_error_classification"`
	VMAErrorDetails        *string              `json:"vma_error_details"`
	SetupProgressPercent   float64              `json:"setup_progress_percent"`
	ScheduleExecutionID    *string              `json:"schedule_execution_id"`
	ScheduledBy            *string              `json:"scheduled_by"`
	VMGroupID              *string              `json:"vm_group_id"`
}

// ReplicationStart is a replication job to start (StartReplication). ContextID and at least
// one disk are required; ID is generated when empty; ReplicationType "" means
// ReplicationRequestAuto.
type ReplicationStart struct {
	ContextID           string                   `json:"context_id"`
	ID                  string                   `json:"id,omitempty"`
	ReplicationType     ReplicationRequestedType `json:"replication_type,omitempty"`
	Disks               []DiskSpec               `json:"disks"`
	TargetNetwork       string                   `json:"target_network,omitempty"`
	SnapshotID          string                   `json:"snapshot_id,omitempty"`
	NBDPort             int64                    `json:"nbd_port,omitempty"`
	NBDExportName       string                   `json:"nbd_export_name,omitempty"`
	TargetDevice        string                   `json:"target_device,omitempty"`
	OSSEAConfigID       *int64                   `json:"ossea_config_id,omitempty"`
	ScheduleExecutionID string                   `json:"schedule_execution_id,omitempty"`
	ScheduledBy         string                   `json:"scheduled_by,omitempty"`
	VMGroupID           string                   `json:"vm_group_id,omitempty"`
}

// ReplicationJobFilter selects jobs for ListReplicationJobs, newest first; zero fields do not
// filter.
type ReplicationJobFilter struct {
	ContextID string               `json:"context_id,omitempty"`
	Status    ReplicationJobStatus `json:"status,omitempty"`
	Limit     uint32               `json:"limit,omitempty"` // 0: the library's default (100)
	Offset    uint32               `json:"offset,omitempty"`
}

// ReplicationProgress is a progress report of a running replication job (the hot path, one
// single-row update).
type ReplicationProgress struct {
	Percent          float64 // 0 to 100
	BytesTransferred int64   // at most TotalBytes when that is known
	TotalBytes       int64   // 0 when unknown
	SpeedBps         int64
	CurrentOperation string // "" keeps the previous one
}

// ReplicationVMAProgress is what the capture appliance (VMA) reported in a poll of a
// replication job; nil fields keep their value.
type ReplicationVMAProgress struct {
	SyncType            *string  `json:"vma_sync_type,omitempty"` // initial, incremental or full
	CurrentPhase        *string  `json:"vma_current_phase,omitempty"`
	ThroughputMbps      *float64 `json:"vma_throughput_mbps,omitempty"`
	ETASeconds          *int64   `json:"vma_eta_seconds,omitempty"`
	ErrorClassification *string  `json:"vma_error_classification,omitempty"`
	ErrorDetails        *string  `json:"vma_error_details,omitempty"`
	SetupProgressPct    *float64 `json:"setup_progress_percent,omitempty"` // 0-100
}

// StartReplication starts a replication job and returns its id: it upserts the context's
// disk rows (keeping their change ids), resolves ReplicationRequestAuto, and moves the context
// to ContextReplicating pointing at the job, in one transaction. A second start while a job
// is active is ErrConflict; an explicit ID already used is ErrAlreadyExists.
func (s *Store) StartReplication(j ReplicationStart) (string, error) {
	var a cargs
	doc := a.doc("job", j)
	return getString(s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_replication_start(h, doc, out, e)
	})
}

// ReplicationJob returns the replication job with this id (ErrNotFound when there is none).
func (s *Store) ReplicationJob(jobID string) (*ReplicationJob, error) {
	var a cargs
	id := a.str("job id", jobID)
	return getRecord[ReplicationJob](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_replication_get_json(h, id, out, e)
	})
}

// ListReplicationJobs returns the replication jobs matching filter, newest first.
func (s *Store) ListReplicationJobs(filter ReplicationJobFilter) ([]ReplicationJob, error) {
	var a cargs
	doc := a.doc("job filter", filter)
	return getJSON[[]ReplicationJob](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_replication_list_json(h, doc, out, e)
	})
}

// SetReplicationJobStatus moves a replication job along its status machine; errMsg ("" for
// none) is stored, and is the reason of a failure. A terminal status releases the context and
// updates its counters in the same transaction. A forbidden edge is ErrInvalidState.
func (s *Store) SetReplicationJobStatus(jobID string, status ReplicationJobStatus, errMsg string) error {
	var a cargs
	id, st, msg := a.str("job id", jobID), a.str("job status", string(status)), a.opt("error message", errMsg)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_replication_set_status(h, id, st, msg, e)
	})
}

// ReplicationProgress records the progress of an active replication job: the hot path, a
// single-row update with no JSON on the way. A finished job is ErrInvalidState; out-of-range
// values ErrInvalidArgument.
func (s *Store) ReplicationProgress(jobID string, p ReplicationProgress) error {
	var a cargs
	id, op := a.str("job id", jobID), a.opt("current operation", p.CurrentOperation)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_replication_progress(h, id, C.double(p.Percent), C.int64_t(p.BytesTransferred),
			C.int64_t(p.TotalBytes), C.int64_t(p.SpeedBps), op, e)
	})
}

// ReplicationVMAProgress records what the capture appliance reported for an active
// replication job; stamps vma_last_poll_at.
func (s *Store) ReplicationVMAProgress(jobID string, p ReplicationVMAProgress) error {
	var a cargs
	doc := a.doc("VMA progress", p)
	id := a.str("job id", jobID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_replication_vma_progress(h, id, doc, e)
	})
}

// DeleteReplicationJob deletes a finished replication job; its disk rows, their change ids
// and its CBT history stay, and the context's counters are recomputed. An active job is
// ErrConflict.
func (s *Store) DeleteReplicationJob(jobID string) error {
	var a cargs
	id := a.str("job id", jobID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_replication_delete(h, id, e)
	})
}

// StaleReplicationJobs returns the active replication jobs whose last update is older than
// olderThan, oldest first.
func (s *Store) StaleReplicationJobs(olderThan time.Duration) ([]ReplicationJob, error) {
	if olderThan < 0 {
		return nil, invalidArgument("the age %v is negative", olderThan)
	}
	return getJSON[[]ReplicationJob](s, nil, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_replication_stale_json(h, C.int64_t(olderThan.Milliseconds()), out, e)
	})
}

// FailStaleReplicationJobs fails every stale replication job (see StaleReplicationJobs) with
// reason, releasing their contexts, in one transaction, and returns the ids of the jobs it
// failed.
func (s *Store) FailStaleReplicationJobs(olderThan time.Duration, reason string) ([]string, error) {
	if olderThan < 0 {
		return nil, invalidArgument("the age %v is negative", olderThan)
	}
	var a cargs
	r := a.str("reason", reason)
	return getJSON[[]string](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_replication_fail_stale(h, C.int64_t(olderThan.Milliseconds()), r, out, e)
	})
}
