package sendense

// #include "sendense.h"
import "C"

import (
	"encoding/json"
	"time"
)

// FailoverType is the kind of a failover (failover_jobs.job_type).
type FailoverType string

// Failover kinds: a test is rolled back afterwards, a live failover is committed (or rolled
// back).
const (
	FailoverTest FailoverType = "test"
	FailoverLive FailoverType = "live"
)

// FailoverStatus is the lifecycle state of a failover (failover_jobs.status): one step at a
// time from pending to completed, failed from any active status, and the rollback path
// cleanup, reverting, completed.
type FailoverStatus string

// Failover statuses, in lifecycle order, then the rollback path.
const (
	FailoverPending         FailoverStatus = "pending"
	FailoverValidating      FailoverStatus = "validating"
	FailoverSnapshotting    FailoverStatus = "snapshotting"
	FailoverCreatingVM      FailoverStatus = "creating_vm"
	FailoverSwitchingVolume FailoverStatus = "switching_volume"
	FailoverPoweringOn      FailoverStatus = "powering_on"
	FailoverCompleted       FailoverStatus = "completed"
	FailoverFailed          FailoverStatus = "failed"
	FailoverCleanup         FailoverStatus = "cleanup"
	FailoverReverting       FailoverStatus = "reverting"
)

// IsActive reports whether the status is active (anything but completed and failed).
func (s FailoverStatus) IsActive() bool { return s != FailoverCompleted && s != FailoverFailed }

// FailoverJob is a failover_jobs row.
type FailoverJob struct {
	ID                  int64           `json:"id"`
	VMContextID         string          `json:"vm_context_id"`
	JobID               string          `json:"job_id"`
	VMID                string          `json:"vm_id"`
	ReplicationJobID    *string         `json:"replication_job_id"`
	JobType             FailoverType    `json:"job_type"`
	Status              FailoverStatus  `json:"status"`
	SourceVMName        string          `json:"source_vm_name"`
	SourceVMSpec        json.RawMessage `json:"source_vm_spec"`
	DestinationVMID     *string         `json:"destination_vm_id"`
	OSSEASnapshotID     *string         `json:"ossea_snapshot_id"`
	LinstorSnapshotName *string         `json:"linstor_snapshot_name"`
	LinstorConfigID     *int64          `json:"linstor_config_id"`
	NetworkMappings     json.RawMessage `json:"network_mappings"`
	ErrorMessage        *string         `json:"error_message"`
	CreatedAt           time.Time       `json:"created_at"`
	UpdatedAt           time.Time       `json:"updated_at"`
	StartedAt           *time.Time      `json:"started_at"`
	CompletedAt         *time.Time      `json:"completed_at"`
}

// FailoverStart is a failover to start (StartFailover). ContextID and JobType are required;
// ID is generated when empty; ReplicationJobID "" means the context's last successful job.
type FailoverStart struct {
	ContextID        string       `json:"context_id"`
	JobType          FailoverType `json:"job_type"`
	ID               string       `json:"id,omitempty"`
	ReplicationJobID string       `json:"replication_job_id,omitempty"`
	LinstorConfigID  *int64       `json:"linstor_config_id,omitempty"`
}

// FailoverStepResults is what a step produced (SetFailoverStatus); empty fields are not
// stored. DevicePaths (volume uuid -> hub device path) and Exports belong to the move to
// FailoverReverting only.
type FailoverStepResults struct {
	DestinationVMID     string            `json:"destination_vm_id,omitempty"`
	LinstorSnapshotName string            `json:"linstor_snapshot_name,omitempty"`
	OSSEASnapshotID     string            `json:"ossea_snapshot_id,omitempty"`
	LinstorConfigID     *int64            `json:"linstor_config_id,omitempty"`
	DevicePaths         map[string]string `json:"device_paths,omitempty"`
	Exports             []NewNBDExport    `json:"exports,omitempty"`
}

// FailoverFilter selects failovers for ListFailovers, newest first; zero fields do not filter.
type FailoverFilter struct {
	ContextID string         `json:"context_id,omitempty"`
	Status    FailoverStatus `json:"status,omitempty"`
	JobType   FailoverType   `json:"job_type,omitempty"`
	Limit     uint32         `json:"limit,omitempty"` // 0: the library's default (100)
	Offset    uint32         `json:"offset,omitempty"`
}

// StartFailover starts a failover and returns its id. The context must be
// ContextReadyForFailover (else ErrInvalidState), with no active replication job or failover
// (ErrConflict), and every source network of the VM needs a mapping of that kind that is not
// invalid (ErrInvalidState listing the networks). A taken ID is ErrAlreadyExists.
func (s *Store) StartFailover(f FailoverStart) (string, error) {
	var a cargs
	doc := a.doc("failover", f)
	return getString(s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_failover_start(h, doc, out, e)
	})
}

// SetFailoverStatus moves a failover one step, recording results (nil for none). In the same
// transaction FailoverSwitchingVolume switches the context's device mappings to failover mode,
// FailoverReverting switches them back to oma, and FailoverCompleted moves the context to
// failed_over_<type> (or, ending a rollback, back to ready_for_failover). A skipped step is
// ErrInvalidState; FailoverFailed (use FailFailover) is ErrInvalidArgument.
func (s *Store) SetFailoverStatus(failoverID string, status FailoverStatus, results *FailoverStepResults) error {
	var a cargs
	id, st := a.str("failover id", failoverID), a.str("failover status", string(status))
	var doc *C.char
	if results != nil {
		doc = a.doc("step results", results)
	}
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_failover_set_status(h, id, st, doc, e)
	})
}

// FailFailover fails an active failover with its reason; the context's status stays.
func (s *Store) FailFailover(failoverID, errMsg string) error {
	var a cargs
	id, msg := a.str("failover id", failoverID), a.str("error message", errMsg)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_failover_fail(h, id, msg, e)
	})
}

// RollbackFailover moves a completed or failed failover to FailoverCleanup. A second rollback,
// a committed failover or one that is not the context's newest is ErrInvalidState.
func (s *Store) RollbackFailover(failoverID string) error {
	var a cargs
	id := a.str("failover id", failoverID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_failover_rollback(h, id, e)
	})
}

// CommitFailover commits a completed live failover: the context becomes ContextCompleted and
// no rollback is possible afterwards. A test failover is ErrInvalidState.
func (s *Store) CommitFailover(failoverID string) error {
	var a cargs
	id := a.str("failover id", failoverID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_failover_commit(h, id, e)
	})
}

// Failover returns the failover with this id (ErrNotFound when there is none).
func (s *Store) Failover(failoverID string) (*FailoverJob, error) {
	var a cargs
	id := a.str("failover id", failoverID)
	return getRecord[FailoverJob](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_failover_get_json(h, id, out, e)
	})
}

// ListFailovers returns the failovers matching filter, newest first.
func (s *Store) ListFailovers(filter FailoverFilter) ([]FailoverJob, error) {
	var a cargs
	doc := a.doc("failover filter", filter)
	return getJSON[[]FailoverJob](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_failover_list_json(h, doc, out, e)
	})
}
