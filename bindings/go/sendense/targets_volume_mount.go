package sendense

// #include "sendense.h"
import "C"

import "time"

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

// CreateVolumeMount records a mount, mounting, and returns its id.
func (s *Store) CreateVolumeMount(m NewVolumeMount) (int64, error) {
	var a cargs
	doc := a.doc("new volume mount", m)
	return getInt64(s, &a, func(h cStore, out *C.int64_t, e cErr) cStatus {
		return C.sendense_volume_mount_create(h, doc, out, e)
	})
}

// SetVolumeMountStatus moves a mount to status (ErrInvalidState naming from and to
// otherwise), stamping MountedAt and UnmountedAt on the way.
func (s *Store) SetVolumeMountStatus(mountID int64, status MountStatus) error {
	var a cargs
	st := a.str("mount status", string(status))
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_volume_mount_set_status(h, C.int64_t(mountID), st, e)
	})
}

// VolumeMount returns a mount (ErrNotFound naming the id when there is none).
func (s *Store) VolumeMount(mountID int64) (*VolumeMount, error) {
	return getRecord[VolumeMount](s, nil, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_volume_mount_get_json(h, C.int64_t(mountID), out, e)
	})
}

// VolumeMounts returns the mounts of a replication job, oldest first.
func (s *Store) VolumeMounts(jobID string) ([]VolumeMount, error) {
	var a cargs
	job := a.str("job id", jobID)
	return getJSON[[]VolumeMount](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_volume_mount_list_json(h, job, out, e)
	})
}
