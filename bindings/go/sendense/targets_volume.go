package sendense

// #include "sendense.h"
import "C"

import "time"

// VolumeStatus is the state of a CloudStack volume (ossea_volumes.status).
type VolumeStatus string

// Volume statuses. The moves: creating -> available | error; available -> attached | error;
// attached -> detached | error; detached -> attached | available | error; error -> available.
const (
	VolumeCreating  VolumeStatus = "creating"
	VolumeAvailable VolumeStatus = "available"
	VolumeAttached  VolumeStatus = "attached"
	VolumeDetached  VolumeStatus = "detached"
	VolumeError     VolumeStatus = "error"
)

// SnapshotStatus is the state of the snapshot protecting a test failover (snapshot_status of
// volumes and device mappings).
type SnapshotStatus string

// Snapshot statuses. The moves: none -> creating -> ready | failed; ready ->
// rollback_complete -> none; ready and failed may also be cleared to none.
const (
	SnapshotNone             SnapshotStatus = "none"
	SnapshotCreating         SnapshotStatus = "creating"
	SnapshotReady            SnapshotStatus = "ready"
	SnapshotFailed           SnapshotStatus = "failed"
	SnapshotRollbackComplete SnapshotStatus = "rollback_complete"
)

// Volume is an ossea_volumes row: a CloudStack volume the appliance writes a VM disk to. ID is
// the row id; VolumeID the CloudStack UUID.
type Volume struct {
	ID                int64          `json:"id"`
	VMContextID       *string        `json:"vm_context_id"`
	VolumeID          string         `json:"volume_id"`
	VolumeName        string         `json:"volume_name"`
	SizeGB            int64          `json:"size_gb"`
	OSSEAConfigID     *int64         `json:"ossea_config_id"`
	VolumeType        *string        `json:"volume_type"`
	DevicePath        *string        `json:"device_path"`
	MountPoint        *string        `json:"mount_point"`
	Status            VolumeStatus   `json:"status"`
	CreatedAt         time.Time      `json:"created_at"`
	UpdatedAt         time.Time      `json:"updated_at"`
	SnapshotID        *string        `json:"snapshot_id"`
	SnapshotCreatedAt *time.Time     `json:"snapshot_created_at"`
	SnapshotStatus    SnapshotStatus `json:"snapshot_status"`
}

// NewVolume is a CloudStack volume to record. VolumeID (the CloudStack UUID, unique),
// VolumeName and SizeGB (>= 1) are required; VMContextID and OSSEAConfigID, when set, must
// exist; Status "" means VolumeCreating.
type NewVolume struct {
	VMContextID   string       `json:"vm_context_id,omitempty"`
	VolumeID      string       `json:"volume_id"`
	VolumeName    string       `json:"volume_name"`
	SizeGB        int64        `json:"size_gb"`
	OSSEAConfigID *int64       `json:"ossea_config_id,omitempty"`
	VolumeType    string       `json:"volume_type,omitempty"`
	Status        VolumeStatus `json:"status,omitempty"`
}

// CreateVolume records a CloudStack volume and returns its row id. A VolumeID already
// recorded is ErrAlreadyExists; an unknown context or configuration is ErrNotFound.
func (s *Store) CreateVolume(v NewVolume) (int64, error) {
	var a cargs
	doc := a.doc("new volume", v)
	return getInt64(s, &a, func(h cStore, out *C.int64_t, e cErr) cStatus {
		return C.sendense_ossea_volume_create(h, doc, out, e)
	})
}

// Volume returns the volume with this row id (ErrNotFound when there is none).
func (s *Store) Volume(rowID int64) (*Volume, error) {
	return getRecord[Volume](s, nil, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_ossea_volume_get_json(h, C.int64_t(rowID), out, e)
	})
}

// FindVolume returns the volume with this CloudStack id (ErrNotFound when there is none).
func (s *Store) FindVolume(volumeID string) (*Volume, error) {
	var a cargs
	id := a.str("volume id", volumeID)
	return getRecord[Volume](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_ossea_volume_find_json(h, id, out, e)
	})
}

// ListVolumes returns the volumes of a context (ErrNotFound for an unknown one), or every
// volume when contextID is "", by row id.
func (s *Store) ListVolumes(contextID string) ([]Volume, error) {
	var a cargs
	ctx := a.opt("context id", contextID)
	return getJSON[[]Volume](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_ossea_volume_list_json(h, ctx, out, e)
	})
}

// SetVolumeStatus moves a volume to status along its state machine (ErrInvalidState naming
// from and to otherwise). devicePath is required for VolumeAttached and must
// be "" for the other statuses, which clear it (ErrInvalidArgument otherwise). AttachDevice,
// DetachDevice, UpdateDevice and the mode switches already move the volume's row; repeating
// the status and path it has is a no-op.
func (s *Store) SetVolumeStatus(rowID int64, status VolumeStatus, devicePath string) error {
	var a cargs
	st, path := a.str("volume status", string(status)), a.opt("device path", devicePath)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_ossea_volume_set_status(h, C.int64_t(rowID), st, path, e)
	})
}

// SetVolumeSnapshot moves a volume's snapshot tracking to status along its state machine
// (ErrInvalidState otherwise). snapshotID is required for
// SnapshotCreating and must be "" otherwise; moving to SnapshotNone clears it.
func (s *Store) SetVolumeSnapshot(rowID int64, status SnapshotStatus, snapshotID string) error {
	var a cargs
	st, snap := a.str("snapshot status", string(status)), a.opt("snapshot id", snapshotID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_ossea_volume_set_snapshot(h, C.int64_t(rowID), st, snap, e)
	})
}

// LinkVolumeDisk links a volume to the disk row diskID ("disk-2000") of a context
// (vm_disks.ossea_volume_id). A volume of another context is
// ErrConflict; a volume of no context takes this one; an unknown volume or disk row is
// ErrNotFound.
func (s *Store) LinkVolumeDisk(rowID int64, contextID, diskID string) error {
	var a cargs
	ctx, disk := a.str("context id", contextID), a.str("disk id", diskID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_ossea_volume_link_disk(h, C.int64_t(rowID), ctx, disk, e)
	})
}

// DeleteVolume forgets a volume (its disk rows lose the link). ErrConflict while a device
// mapping holds it.
func (s *Store) DeleteVolume(rowID int64) error {
	return s.run(nil, func(h cStore, e cErr) cStatus {
		return C.sendense_ossea_volume_delete(h, C.int64_t(rowID), e)
	})
}
