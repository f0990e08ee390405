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

// MountStatus is the state of a volume mount: mounting -> mounted | error; mounted ->
// unmount_pending | unmounted | error; unmount_pending -> unmounted | error; error ->
// unmounted.
type MountStatus string

// Mount statuses.
const (
	MountUnmounted      MountStatus = "unmounted"
	MountMounting       MountStatus = "mounting"
	MountMounted        MountStatus = "mounted"
	MountUnmountPending MountStatus = "unmount_pending"
	MountError          MountStatus = "error"
)

// VolumeMount is a volume_mounts row: a volume mounted for a replication job.
type VolumeMount struct {
	ID             int64       `json:"id"`
	OSSEAVolumeID  int64       `json:"ossea_volume_id"`
	JobID          string      `json:"job_id"`
	DevicePath     string      `json:"device_path"`
	MountPoint     *string     `json:"mount_point"`
	MountStatus    MountStatus `json:"mount_status"`
	FilesystemType *string     `json:"filesystem_type"`
	MountOptions   *string     `json:"mount_options"`
	IsReadOnly     bool        `json:"is_read_only"`
	MountedAt      *time.Time  `json:"mounted_at"`
	UnmountedAt    *time.Time  `json:"unmounted_at"`
	CreatedAt      time.Time   `json:"created_at"`
	UpdatedAt      time.Time   `json:"updated_at"`
}

// NewVolumeMount is a mount to record, mounting: OSSEAVolumeID (a Volume's row id), JobID
// and DevicePath are required. A device path or mount point of a live mount is ErrConflict.
type NewVolumeMount struct {
	OSSEAVolumeID  int64  `json:"ossea_volume_id"`
	JobID          string `json:"job_id"`
	DevicePath     string `json:"device_path"`
	MountPoint     string `json:"mount_point,omitempty"`
	FilesystemType string `json:"filesystem_type,omitempty"`
	MountOptions   string `json:"mount_options,omitempty"`
	IsReadOnly     bool   `json:"is_read_only,omitempty"`
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
	return s.docString("new volume operation", op, func(h *C.sendense_store, doc *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_volume_op_create(h, doc, out, e)
	})
}

// SetVolumeOperationStatus moves an operation to status, appending its history row (and
// stamping CompletedAt on a final status) in one transaction. response (nil: none) is
// encoded as JSON and replaces the stored response; errorMessage is required for
// VolumeOpFailed and must be "" otherwise. A forbidden move is ErrInvalidState naming from
// and to.
func (s *Store) SetVolumeOperationStatus(operationID string, status VolumeOpStatus, response any, errorMessage string) error {
	var cs cstrings
	defer cs.free()
	cid := cs.str("operation id", operationID)
	cstatus := cs.str("status", string(status))
	var cresp *C.char
	if response != nil {
		text, err := marshalInput("response", response)
		if err != nil {
			return err
		}
		cresp = cs.str("response JSON", text)
	}
	cerrmsg := cs.opt("error", errorMessage)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_volume_op_set_status(h, cid, cstatus, cresp, cerrmsg, e)
	})
}

// VolumeOperation returns an operation (ErrNotFound naming the id when there is none).
func (s *Store) VolumeOperation(operationID string) (*VolumeOperation, error) {
	var op VolumeOperation
	err := s.idJSON(&op, "operation id", operationID, func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_volume_op_get_json(h, id, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &op, nil
}

// ListVolumeOperations returns the operations matching filter, oldest first.
func (s *Store) ListVolumeOperations(filter VolumeOpFilter) ([]VolumeOperation, error) {
	var list []VolumeOperation
	err := s.docJSON(&list, "volume operation filter", filter, func(h *C.sendense_store, doc *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_volume_op_list_json(h, doc, out, e)
	})
	return list, err
}

// VolumeOperationHistory returns the status changes of an operation, oldest first.
func (s *Store) VolumeOperationHistory(operationID string) ([]VolumeOpHistory, error) {
	var list []VolumeOpHistory
	err := s.idJSON(&list, "operation id", operationID, func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_volume_op_history_json(h, id, out, e)
	})
	return list, err
}

// StuckVolumeOperations returns the operations executing for longer than olderThan
// (not negative), longest-stuck first.
func (s *Store) StuckVolumeOperations(olderThan time.Duration) ([]VolumeOperation, error) {
	var list []VolumeOperation
	err := s.callJSON(&list, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_volume_op_stuck_json(h, C.int64_t(olderThan.Milliseconds()), out, e)
	})
	return list, err
}

// CreateVolumeMount records a mount, mounting, and returns its id.
func (s *Store) CreateVolumeMount(m NewVolumeMount) (int64, error) {
	return s.docInt64("new volume mount", m, func(h *C.sendense_store, doc *C.char, out *C.int64_t, e **C.sendense_error) C.sendense_status {
		return C.sendense_volume_mount_create(h, doc, out, e)
	})
}

// SetVolumeMountStatus moves a mount to status (ErrInvalidState naming from and to
// otherwise), stamping MountedAt and UnmountedAt on the way.
func (s *Store) SetVolumeMountStatus(mountID int64, status MountStatus) error {
	var cs cstrings
	defer cs.free()
	cstatus := cs.str("mount status", string(status))
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_volume_mount_set_status(h, C.int64_t(mountID), cstatus, e)
	})
}

// VolumeMount returns a mount (ErrNotFound naming the id when there is none).
func (s *Store) VolumeMount(mountID int64) (*VolumeMount, error) {
	var m VolumeMount
	err := s.int64JSON(&m, mountID, func(h *C.sendense_store, id C.int64_t, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_volume_mount_get_json(h, id, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// VolumeMounts returns the mounts of a replication job, oldest first.
func (s *Store) VolumeMounts(jobID string) ([]VolumeMount, error) {
	var list []VolumeMount
	err := s.idJSON(&list, "job id", jobID, func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_volume_mount_list_json(h, id, out, e)
	})
	return list, err
}

// VolumeMetrics computes the volume daemon's metrics now from the operations.
func (s *Store) VolumeMetrics() (*VolumeMetrics, error) {
	var m VolumeMetrics
	err := s.callJSON(&m, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_volume_metrics_json(h, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// RecordVolumeMetrics computes the metrics and stores them as a volume_daemon_metrics sample,
// returned with its ID.
func (s *Store) RecordVolumeMetrics() (*VolumeMetrics, error) {
	var m VolumeMetrics
	err := s.callJSON(&m, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_volume_metrics_record(h, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}
