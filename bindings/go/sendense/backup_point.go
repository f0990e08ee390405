package sendense

// #include "sendense.h"
import "C"

import "time"

// BackupType is the kind of a backup point (backup_jobs.backup_type).
type BackupType string

// Backup types. A full starts a new chain generation; an incremental builds on the chain's
// latest completed point, a differential on its full (the library finds the parent).
const (
	BackupFull         BackupType = "full"
	BackupIncremental  BackupType = "incremental"
	BackupDifferential BackupType = "differential"
)

// BackupStatus is the lifecycle state of a backup point (backup_jobs.status): pending ->
// running -> completed, and pending or running -> failed or cancelled; the last three are
// final.
type BackupStatus string

// Backup statuses.
const (
	BackupPending   BackupStatus = "pending"
	BackupRunning   BackupStatus = "running"
	BackupCompleted BackupStatus = "completed"
	BackupFailed    BackupStatus = "failed"
	BackupCancelled BackupStatus = "cancelled"
)

// IsTerminal reports whether the status is final (completed, failed, cancelled).
func (s BackupStatus) IsTerminal() bool {
	return s == BackupCompleted || s == BackupFailed || s == BackupCancelled
}

// BackupPoint is a backup_jobs row: one disk (by index) of one context written to one
// repository. The per-disk points of one VM backup share a BackupGroupID.
type BackupPoint struct {
	ID                 string       `json:"id"`
	VMBackupContextID  *string      `json:"vm_backup_context_id"`
	VMContextID        string       `json:"vm_context_id"`
	VMName             string       `json:"vm_name"`
	DiskID             int64        `json:"disk_id"`
	RepositoryID       string       `json:"repository_id"`
	PolicyID           *string      `json:"policy_id"`
	BackupType         BackupType   `json:"backup_type"`
	Status             BackupStatus `json:"status"`
	RepositoryPath     string       `json:"repository_path"`
	ParentBackupID     *string      `json:"parent_backup_id"`
	ChangeID           *string      `json:"change_id"`
	BytesTransferred   int64        `json:"bytes_transferred"`
	TotalBytes         int64        `json:"total_bytes"`
	CompressionEnabled bool         `json:"compression_enabled"`
	ErrorMessage       *string      `json:"error_message"`
	CreatedAt          time.Time    `json:"created_at"`
	StartedAt          *time.Time   `json:"started_at"`
	CompletedAt        *time.Time   `json:"completed_at"`
	CurrentPhase       string       `json:"current_phase"`
	TransferSpeedBps   int64        `json:"transfer_speed_bps"`
	ETASeconds         int64        `json:"eta_seconds"`
	ProgressPercent    float64      `json:"progress_percent"`
	LastTelemetryAt    *time.Time   `json:"last_telemetry_at"`
	BackupGroupID      *string      `json:"backup_group_id"`
	Protected          bool         `json:"protected"`
	SizeBytes          int64        `json:"size_bytes"`
	// The lock window of a point completed in an immutable repository (and of the points it
	// depends on): it cannot be deleted while ImmutableFrom <= now < ImmutableUntil. nil when
	// the point was never locked.
	ImmutableFrom  *time.Time `json:"immutable_from"`
	ImmutableUntil *time.Time `json:"immutable_until"`
}

// BackupStart is a backup point to start. ContextID, RepositoryID and BackupType are
// required; DiskID is the disk's index in the VM (0, 1, ...), not the replication disk id. ID
// is generated when empty; VMName "" means the context's; RepositoryPath "" means the library
// derives the point's location from the repository (<root>/<context>/disk-<n>/<id>.qcow2, the
// root in the repository type's notation: a local repository's path, s3://<bucket>/<prefix>, ...).
type BackupStart struct {
	ID             string     `json:"id,omitempty"`
	ContextID      string     `json:"context_id"`
	DiskID         int64      `json:"disk_id"`
	RepositoryID   string     `json:"repository_id"`
	BackupType     BackupType `json:"backup_type"`
	PolicyID       string     `json:"policy_id,omitempty"`
	BackupGroupID  string     `json:"backup_group_id,omitempty"`
	RepositoryPath string     `json:"repository_path,omitempty"`
	VMName         string     `json:"vm_name,omitempty"`
}

// BackupPointFilter selects points for ListBackupPoints, newest first; zero fields do not
// filter.
type BackupPointFilter struct {
	ContextID     string       `json:"context_id,omitempty"`
	RepositoryID  string       `json:"repository_id,omitempty"`
	Status        BackupStatus `json:"status,omitempty"`
	BackupGroupID string       `json:"backup_group_id,omitempty"`
	Limit         uint32       `json:"limit,omitempty"` // 0: the library's default (100)
	Offset        uint32       `json:"offset,omitempty"`
}

// StartBackup starts a backup point (pending) and returns its id. The library finds the
// parent of an incremental or differential from the chain; without one the start is
// ErrInvalidState with the reason. A second active point of the same (context, disk,
// repository) is ErrConflict; a disabled repository ErrInvalidState; an unknown context,
// repository or policy ErrNotFound.
func (s *Store) StartBackup(b BackupStart) (string, error) {
	var a cargs
	doc := a.doc("backup start", b)
	return getString(s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_backup_start(h, doc, out, e)
	})
}

// SetBackupRunning marks a pending point running (the transfer began).
func (s *Store) SetBackupRunning(backupID string) error {
	var a cargs
	id := a.str("backup id", backupID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_backup_set_running(h, id, e)
	})
}

// BackupProgress is what a backup writer reports while a point is active.
type BackupProgress struct {
	Percent          float64 // 0 to 100
	BytesTransferred int64   // at most TotalBytes when that is known
	TotalBytes       int64   // 0 when unknown
	SpeedBps         int64
	ETASeconds       int64
	Phase            string // "" keeps the previous phase label
}

// ReportBackupProgress records the progress of an active (pending or running) point: the
// hot path, a single-row update that stamps last_telemetry_at. A finished point is
// ErrInvalidState; out-of-range values ErrInvalidArgument.
func (s *Store) ReportBackupProgress(backupID string, p BackupProgress) error {
	var a cargs
	id, phase := a.str("backup id", backupID), a.opt("phase", p.Phase)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_backup_progress(h, id, C.double(p.Percent), C.int64_t(p.BytesTransferred),
			C.int64_t(p.TotalBytes), C.int64_t(p.SpeedBps), C.int64_t(p.ETASeconds), phase, e)
	})
}

// SetBackupProtected protects a point (retention never removes or counts it, and a delete is
// refused) or lifts the protection. An unknown point is ErrNotFound.
func (s *Store) SetBackupProtected(backupID string, protected bool) error {
	var a cargs
	id := a.str("backup id", backupID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_backup_set_protected(h, id, C.bool(protected), e)
	})
}

// CompleteBackup completes a running point with its VMware change id ("" for none), the
// bytes transferred and the size of its file. In the same transaction its chain is created or
// updated and its policy's enabled copy rules queue pending copies.
func (s *Store) CompleteBackup(backupID, changeID string, bytesTransferred, sizeBytes int64) error {
	var a cargs
	id, change := a.str("backup id", backupID), a.opt("change id", changeID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_backup_complete(h, id, change, C.int64_t(bytesTransferred), C.int64_t(sizeBytes), e)
	})
}

// FailBackup fails an active point; message (required) says why.
func (s *Store) FailBackup(backupID, message string) error {
	var a cargs
	id, msg := a.str("backup id", backupID), a.str("error message", message)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_backup_fail(h, id, msg, e)
	})
}

// CancelBackup cancels an active point.
func (s *Store) CancelBackup(backupID string) error {
	var a cargs
	id := a.str("backup id", backupID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_backup_cancel(h, id, e)
	})
}

// BackupPoint returns the point with this id (ErrNotFound when there is none).
func (s *Store) BackupPoint(backupID string) (*BackupPoint, error) {
	var a cargs
	id := a.str("backup id", backupID)
	return getRecord[BackupPoint](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_backup_get_json(h, id, out, e)
	})
}

// ListBackupPoints returns the points matching filter, newest first.
func (s *Store) ListBackupPoints(filter BackupPointFilter) ([]BackupPoint, error) {
	var a cargs
	doc := a.doc("backup filter", filter)
	return getJSON[[]BackupPoint](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_backup_list_json(h, doc, out, e)
	})
}

// DeleteBackupPoint deletes a point and updates its chain. Refused, changing nothing, while
// it is active (ErrConflict), protected (ErrInvalidState), depended on by another point
// (ErrConflict; the message names the dependent) or inside its repository's minimum retention
// (ErrInvalidState; the message says from when it may be deleted).
func (s *Store) DeleteBackupPoint(backupID string) error {
	var a cargs
	id := a.str("backup id", backupID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_backup_delete(h, id, e)
	})
}
