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

// BackupStart is a backup point to start. ContextID, RepositoryID, BackupType and
// RepositoryPath are required; DiskID is the disk's index in the VM (0, 1, ...), not the
// replication disk id. ID is generated when empty; VMName "" means the context's.
type BackupStart struct {
	ID             string     `json:"id,omitempty"`
	ContextID      string     `json:"context_id"`
	DiskID         int64      `json:"disk_id"`
	RepositoryID   string     `json:"repository_id"`
	BackupType     BackupType `json:"backup_type"`
	PolicyID       string     `json:"policy_id,omitempty"`
	BackupGroupID  string     `json:"backup_group_id,omitempty"`
	RepositoryPath string     `json:"repository_path"`
	VMName         string     `json:"vm_name,omitempty"`
}

// BackupFilter selects points for ListBackups, newest first; zero fields do not filter.
type BackupFilter struct {
	ContextID     string       `json:"context_id,omitempty"`
	RepositoryID  string       `json:"repository_id,omitempty"`
	Status        BackupStatus `json:"status,omitempty"`
	BackupGroupID string       `json:"backup_group_id,omitempty"`
	Limit         uint32       `json:"limit,omitempty"` // 0: the library's default (100)
	Offset        uint32       `json:"offset,omitempty"`
}

// Chain is a backup_chains row: the current generation of one (context, disk, repository),
// from its full (FullBackupID) to its newest completed point (LatestBackupID).
type Chain struct {
	ID             string    `json:"id"`
	VMContextID    string    `json:"vm_context_id"`
	DiskID         int64     `json:"disk_id"`
	RepositoryID   string    `json:"repository_id"`
	FullBackupID   *string   `json:"full_backup_id"`
	LatestBackupID *string   `json:"latest_backup_id"`
	TotalBackups   int64     `json:"total_backups"`
	TotalSizeBytes int64     `json:"total_size_bytes"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// CopyStatus is the lifecycle state of a backup copy (backup_copies.status): pending ->
// copying -> verifying -> completed or failed, and copying -> failed.
type CopyStatus string

// Copy statuses.
const (
	CopyPending   CopyStatus = "pending"
	CopyCopying   CopyStatus = "copying"
	CopyVerifying CopyStatus = "verifying"
	CopyCompleted CopyStatus = "completed"
	CopyFailed    CopyStatus = "failed"
)

// VerificationStatus is the checksum verification of a copy (backup_copies.verification_status).
type VerificationStatus string

// Verification statuses.
const (
	VerificationPending VerificationStatus = "pending"
	VerificationPassed  VerificationStatus = "passed"
	VerificationFailed  VerificationStatus = "failed"
)

// BackupCopy is a backup_copies row: a completed point copied to another repository.
// FilePath is relative to the destination repository's root.
type BackupCopy struct {
	ID                 string             `json:"id"`
	SourceBackupID     string             `json:"source_backup_id"`
	RepositoryID       string             `json:"repository_id"`
	CopyRuleID         *string            `json:"copy_rule_id"`
	Status             CopyStatus         `json:"status"`
	FilePath           string             `json:"file_path"`
	SizeBytes          int64              `json:"size_bytes"`
	CopyStartedAt      *time.Time         `json:"copy_started_at"`
	CopyCompletedAt    *time.Time         `json:"copy_completed_at"`
	VerifiedAt         *time.Time         `json:"verified_at"`
	VerificationStatus VerificationStatus `json:"verification_status"`
	ErrorMessage       *string            `json:"error_message"`
	CreatedAt          time.Time          `json:"created_at"`
}

// StartBackup starts a backup point (pending) and returns its id. The library finds the
// parent of an incremental or differential from the chain; without one the start is
// ErrInvalidState with the reason. A second active point of the same (context, disk,
// repository) is ErrConflict; a disabled repository ErrInvalidState; an unknown context,
// repository or policy ErrNotFound.
func (s *Store) StartBackup(b BackupStart) (string, error) {
	return s.docString("backup start", b, func(h *C.sendense_store, doc *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_backup_start(h, doc, out, e)
	})
}

// SetBackupRunning marks a pending point running (the transfer began).
func (s *Store) SetBackupRunning(backupID string) error {
	return s.withID("backup id", backupID, func(h *C.sendense_store, id *C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_backup_set_running(h, id, e)
	})
}

// CompleteBackup completes a running point with its VMware change id ("" for none), the
// bytes transferred and the size of its file. In the same transaction its chain is created or
// updated and its policy's enabled copy rules queue pending copies.
func (s *Store) CompleteBackup(backupID, changeID string, bytesTransferred, sizeBytes int64) error {
	var cs cstrings
	defer cs.free()
	cid := cs.str("backup id", backupID)
	cchange := cs.opt("change id", changeID)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_backup_complete(h, cid, cchange, C.int64_t(bytesTransferred), C.int64_t(sizeBytes), e)
	})
}

// FailBackup fails an active point; message (required) says why.
func (s *Store) FailBackup(backupID, message string) error {
	var cs cstrings
	defer cs.free()
	cid := cs.str("backup id", backupID)
	cmsg := cs.str("error message", message)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_backup_fail(h, cid, cmsg, e)
	})
}

// CancelBackup cancels an active point.
func (s *Store) CancelBackup(backupID string) error {
	return s.withID("backup id", backupID, func(h *C.sendense_store, id *C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_backup_cancel(h, id, e)
	})
}

// BackupPoint returns the point with this id (ErrNotFound when there is none).
func (s *Store) BackupPoint(backupID string) (*BackupPoint, error) {
	var b BackupPoint
	err := s.idJSON(&b, "backup id", backupID, func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_backup_get_json(h, id, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// ListBackups returns the points matching filter, newest first.
func (s *Store) ListBackups(filter BackupFilter) ([]BackupPoint, error) {
	var list []BackupPoint
	err := s.docJSON(&list, "backup filter", filter, func(h *C.sendense_store, doc *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_backup_list_json(h, doc, out, e)
	})
	return list, err
}

// RestoreChain returns what restoring a point needs: its full, then each point building on
// it, up to and including the point. ErrInvalidState naming the link when one is missing or
// not completed.
func (s *Store) RestoreChain(backupID string) ([]BackupPoint, error) {
	var list []BackupPoint
	err := s.idJSON(&list, "backup id", backupID, func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_backup_restore_chain_json(h, id, out, e)
	})
	return list, err
}

// DeleteBackup deletes a point and updates its chain. Refused, changing nothing, while it is
// active (ErrConflict), protected (ErrInvalidState), depended on by another point
// (ErrConflict; the message names the dependent) or inside its repository's minimum retention
// (ErrInvalidState; the message says from when it may be deleted).
func (s *Store) DeleteBackup(backupID string) error {
	return s.withID("backup id", backupID, func(h *C.sendense_store, id *C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_backup_delete(h, id, e)
	})
}

// Chains returns the chains of a context, one per disk and repository (ErrNotFound when the
// context does not exist).
func (s *Store) Chains(contextID string) ([]Chain, error) {
	var list []Chain
	err := s.idJSON(&list, "context id", contextID, func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_chain_list_json(h, id, out, e)
	})
	return list, err
}

// ClaimCopy claims the oldest pending copy for workerID and moves it to CopyCopying,
// atomically: two workers, in one process or several, never get the same copy. It returns
// nil (and no error) when no copy is pending. The worker id is validated but not stored.
func (s *Store) ClaimCopy(workerID string) (*BackupCopy, error) {
	var cs cstrings
	defer cs.free()
	cworker := cs.str("worker id", workerID)
	if cs.err != nil {
		return nil, cs.err
	}
	var out *C.char
	err := s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_copy_claim(h, cworker, &out, e)
	})
	if err != nil || out == nil {
		return nil, err
	}
	var c BackupCopy
	if err := decodeOwned(out, &c); err != nil {
		return nil, err
	}
	return &c, nil
}
