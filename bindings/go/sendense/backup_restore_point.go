package sendense

// #include "sendense.h"
import "C"

import "time"

// RestorePointDisk is one disk of a VM-level restore point.
type RestorePointDisk struct {
	DiskID      int64      `json:"disk_id"` // the disk index
	BackupID    string     `json:"backup_id"`
	BackupType  BackupType `json:"backup_type"`
	SizeBytes   int64      `json:"size_bytes"`
	CompletedAt time.Time  `json:"completed_at"`
}

// RestorePoint is a VM-level restore point: the completed per-disk points of one VM backup
// (one group in one repository), or one completed point without a group.
type RestorePoint struct {
	BackupGroupID  *string            `json:"backup_group_id"` // nil for a point without a group
	VMContextID    string             `json:"vm_context_id"`
	RepositoryID   string             `json:"repository_id"`
	CompletedAt    time.Time          `json:"completed_at"` // the latest completion of its disks
	Disks          []RestorePointDisk `json:"disks"`        // by disk index
	TotalSizeBytes int64              `json:"total_size_bytes"`
}

// DiskRestorePoint is a completed point of one disk, in any repository.
type DiskRestorePoint struct {
	BackupID       string     `json:"backup_id"`
	DiskID         int64      `json:"disk_id"`
	RepositoryID   string     `json:"repository_id"`
	BackupGroupID  *string    `json:"backup_group_id"`
	BackupType     BackupType `json:"backup_type"`
	ParentBackupID *string    `json:"parent_backup_id"`
	ChangeID       *string    `json:"change_id"`
	SizeBytes      int64      `json:"size_bytes"`
	CompletedAt    time.Time  `json:"completed_at"`
}

// RestorePoints returns the VM-level restore points of a context, newest first: a group is
// listed only when every point of it completed (once per repository it was written to).
func (s *Store) RestorePoints(contextID string) ([]RestorePoint, error) {
	var a cargs
	id := a.str("context id", contextID)
	return getJSON[[]RestorePoint](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_restore_points_json(h, id, out, e)
	})
}

// DiskRestorePoints returns the completed points of disk diskID (its index) of a context, in
// every repository, newest first.
func (s *Store) DiskRestorePoints(contextID string, diskID int64) ([]DiskRestorePoint, error) {
	var a cargs
	id := a.str("context id", contextID)
	return getJSON[[]DiskRestorePoint](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_disk_restore_points_json(h, id, C.int64_t(diskID), out, e)
	})
}
