package sendense

// #include "sendense.h"
import "C"

import (
	"encoding/json"
	"time"
)

// VolumeOpType is what a volume operation does (volume_operations.type).
type VolumeOpType string

// Volume operation types.
const (
	VolumeOpCreate  VolumeOpType = "create"
	VolumeOpAttach  VolumeOpType = "attach"
	VolumeOpDetach  VolumeOpType = "detach"
	VolumeOpDelete  VolumeOpType = "delete"
	VolumeOpCleanup VolumeOpType = "cleanup"
)

// VolumeOpStatus is the state of a volume operation: pending -> executing -> completed |
// failed | cancelled, and pending -> failed | cancelled; the last three are final.
type VolumeOpStatus string

// Volume operation statuses.
const (
	VolumeOpPending   VolumeOpStatus = "pending"
	VolumeOpExecuting VolumeOpStatus = "executing"
	VolumeOpCompleted VolumeOpStatus = "completed"
	VolumeOpFailed    VolumeOpStatus = "failed"
	VolumeOpCancelled VolumeOpStatus = "cancelled"
)

// VolumeOperation is a volume_operations row. Request and Response are the JSON documents
// as stored (Response nil when none).
type VolumeOperation struct {
	ID          string          `json:"id"`
	Type        VolumeOpType    `json:"type"`
	Status      VolumeOpStatus  `json:"status"`
	VolumeID    string          `json:"volume_id"`
	VMID        *string         `json:"vm_id"`
	Request     json.RawMessage `json:"request"`
	Response    json.RawMessage `json:"response"`
	Error       *string         `json:"error"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	CompletedAt *time.Time      `json:"completed_at"`
}

// NewVolumeOperation is a volume operation to record, pending. Type, VolumeID and Request
// (encoded as a JSON object: a map or a struct) are required; ID is generated when empty.
type NewVolumeOperation struct {
	ID       string       `json:"id,omitempty"`
	Type     VolumeOpType `json:"type"`
	VolumeID string       `json:"volume_id"`
	VMID     string       `json:"vm_id,omitempty"`
	Request  any          `json:"request"`
}

// VolumeOpHistory is a volume_operation_history row: one accepted status change (the first
// is the creation, with a nil PreviousStatus). Details is {"error":…,"response":…} of the
// change, nil when it had neither.
type VolumeOpHistory struct {
	ID             int64           `json:"id"`
	OperationID    string          `json:"operation_id"`
	PreviousStatus *VolumeOpStatus `json:"previous_status"`
	NewStatus      VolumeOpStatus  `json:"new_status"`
	ChangedAt      time.Time       `json:"changed_at"`
	Details        json.RawMessage `json:"details"`
}

// VolumeOpFilter selects operations for ListVolumeOperations (oldest first); zero fields do
// not filter; Limit 0 means the library's default (100).
type VolumeOpFilter struct {
	VolumeID string         `json:"volume_id,omitempty"`
	VMID     string         `json:"vm_id,omitempty"`
	Status   VolumeOpStatus `json:"status,omitempty"`
	Type     VolumeOpType   `json:"type,omitempty"`
	Limit    uint32         `json:"limit,omitempty"`
	Offset   uint32         `json:"offset,omitempty"`
}

// VolumeMetrics are the volume daemon's metrics computed from the operations; ID is set for
// a recorded sample.
type VolumeMetrics struct {
	ID                    *int64           `json:"id"`
	Timestamp             time.Time        `json:"timestamp"`
	TotalOperations       int64            `json:"total_operations"`
	PendingOperations     int64            `json:"pending_operations"` // pending or executing
	ActiveMappings        int64            `json:"active_mappings"`
	OperationsByType      map[string]int64 `json:"operations_by_type"`
	OperationsByStatus    map[string]int64 `json:"operations_by_status"`
	AverageResponseTimeMs float64          `json:"average_response_time_ms"` // of completed operations
	ErrorRatePercent      float64          `json:"error_rate_percent"`       // failed among final operations
}

// CreateVolumeOperation records a volume operation, pending, with its first history row,
// and returns its id. A taken id is ErrAlreadyExists.
func (s *Store) CreateVolumeOperation(op NewVolumeOperation) (string, error) {
	var a cargs
	doc := a.doc("new volume operation", op)
	return getString(s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_volume_op_create(h, doc, out, e)
	})
}

// SetVolumeOperationStatus moves an operation to status, appending its history row (and
// stamping CompletedAt on a final status) in one transaction. response (nil: none) is
// encoded as JSON and replaces the stored response; errorMessage is required for
// VolumeOpFailed and must be "" otherwise. A forbidden move is ErrInvalidState naming from
// and to.
func (s *Store) SetVolumeOperationStatus(operationID string, status VolumeOpStatus, response any, errorMessage string) error {
	var a cargs
	resp := a.optDoc("response", response)
	id, st, msg := a.str("operation id", operationID), a.str("status", string(status)), a.opt("error", errorMessage)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_volume_op_set_status(h, id, st, resp, msg, e)
	})
}

// VolumeOperation returns an operation (ErrNotFound naming the id when there is none).
func (s *Store) VolumeOperation(operationID string) (*VolumeOperation, error) {
	var a cargs
	id := a.str("operation id", operationID)
	return getRecord[VolumeOperation](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_volume_op_get_json(h, id, out, e)
	})
}

// ListVolumeOperations returns the operations matching filter, oldest first.
func (s *Store) ListVolumeOperations(filter VolumeOpFilter) ([]VolumeOperation, error) {
	var a cargs
	doc := a.doc("volume operation filter", filter)
	return getJSON[[]VolumeOperation](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_volume_op_list_json(h, doc, out, e)
	})
}

// VolumeOperationHistory returns the status changes of an operation, oldest first.
func (s *Store) VolumeOperationHistory(operationID string) ([]VolumeOpHistory, error) {
	var a cargs
	id := a.str("operation id", operationID)
	return getJSON[[]VolumeOpHistory](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_volume_op_history_json(h, id, out, e)
	})
}

// StuckVolumeOperations returns the operations executing for longer than olderThan
// (not negative), longest-stuck first.
func (s *Store) StuckVolumeOperations(olderThan time.Duration) ([]VolumeOperation, error) {
	return getJSON[[]VolumeOperation](s, nil, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_volume_op_stuck_json(h, C.int64_t(olderThan.Milliseconds()), out, e)
	})
}

// VolumeMetrics computes the volume daemon's metrics now from the operations.
func (s *Store) VolumeMetrics() (*VolumeMetrics, error) {
	return getRecord[VolumeMetrics](s, nil, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_volume_metrics_json(h, out, e)
	})
}

// VolumeMetricsSamples returns the recorded metric samples (RecordVolumeMetrics), newest
// first, at most limit of them.
func (s *Store) VolumeMetricsSamples(limit uint32) ([]VolumeMetrics, error) {
	return getJSON[[]VolumeMetrics](s, nil, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_volume_metrics_samples_json(h, C.uint32_t(limit), out, e)
	})
}

// RecordVolumeMetrics computes the metrics and stores them as a volume_daemon_metrics sample,
// returned with its ID.
func (s *Store) RecordVolumeMetrics() (*VolumeMetrics, error) {
	return getRecord[VolumeMetrics](s, nil, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_volume_metrics_record(h, out, e)
	})
}
