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

// CopyFilter selects copies for ListCopies, oldest first (the claim order); zero fields do
// not filter.
type CopyFilter struct {
	BackupID     string     `json:"backup_id,omitempty"`     // the source point
	Status       CopyStatus `json:"status,omitempty"`        // only copies in this status
	RepositoryID string     `json:"repository_id,omitempty"` // the destination repository
	Limit        uint32     `json:"limit,omitempty"`         // 0: the library's default (100)
	Offset       uint32     `json:"offset,omitempty"`
}

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

// Chain returns the chain of disk diskID (its index) of a context in a repository, from the
// library's typed snapshot. ErrNotFound when it has none (no point completed yet).
func (s *Store) Chain(contextID string, diskID int64, repositoryID string) (*Chain, error) {
	var cs cstrings
	defer cs.free()
	cctx := cs.str("context id", contextID)
	crepo := cs.str("repository id", repositoryID)
	if cs.err != nil {
		return nil, cs.err
	}
	var c Chain
	err := s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		var snap *C.sendense_chain
		st := C.sendense_chain_get(h, cctx, C.int64_t(diskID), crepo, &snap, e)
		if st != C.SENDENSE_STATUS_OK {
			return st
		}
		defer C.sendense_chain_free(snap)
		c = Chain{
			ID:             C.GoString(C.sendense_chain_id(snap)),
			VMContextID:    C.GoString(C.sendense_chain_context_id(snap)),
			DiskID:         int64(C.sendense_chain_disk_id(snap)),
			RepositoryID:   C.GoString(C.sendense_chain_repository_id(snap)),
			FullBackupID:   goStringOrNil(C.sendense_chain_full_backup_id(snap)),
			LatestBackupID: goStringOrNil(C.sendense_chain_latest_backup_id(snap)),
			TotalBackups:   int64(C.sendense_chain_total_backups(snap)),
			TotalSizeBytes: int64(C.sendense_chain_total_size_bytes(snap)),
			CreatedAt:      time.UnixMilli(int64(C.sendense_chain_created_at_ms(snap))).UTC(),
			UpdatedAt:      time.UnixMilli(int64(C.sendense_chain_updated_at_ms(snap))).UTC(),
		}
		return st
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func goStringOrNil(p *C.char) *string {
	if p == nil {
		return nil
	}
	s := C.GoString(p)
	return &s
}

// DecideBackupCBT decides whether the next backup of disk diskID (its index) of a context
// into a repository must be full or incremental, from a snapshot whose change id is
// snapshotChangeID. The base is the change id of the chain's latest completed point (the
// parent an incremental started now gets).
func (s *Store) DecideBackupCBT(contextID string, diskID int64, repositoryID, snapshotChangeID string) (Decision, error) {
	var cs cstrings
	defer cs.free()
	cctx := cs.str("context id", contextID)
	crepo := cs.str("repository id", repositoryID)
	csnap := cs.str("snapshot change id", snapshotChangeID)
	if cs.err != nil {
		return Decision{}, cs.err
	}
	var d Decision
	err := s.callJSON(&d, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_backup_cbt_decide(h, cctx, C.int64_t(diskID), crepo, csnap, out, e)
	})
	if err != nil {
		return Decision{}, err
	}
	return d, nil
}

// SetCopyVerifying records that a claimed copy was written (copying -> verifying): the path
// actually written (relative to the destination repository's root) and its size.
func (s *Store) SetCopyVerifying(copyID, filePath string, sizeBytes int64) error {
	var cs cstrings
	defer cs.free()
	cid := cs.str("copy id", copyID)
	cpath := cs.str("file path", filePath)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_copy_set_verifying(h, cid, cpath, C.int64_t(sizeBytes), e)
	})
}

// CompleteCopy records the verification of a copy in verifying: VerificationPassed completes
// it, VerificationFailed fails it.
func (s *Store) CompleteCopy(copyID string, verification VerificationStatus) error {
	var cs cstrings
	defer cs.free()
	cid := cs.str("copy id", copyID)
	cver := cs.str("verification", string(verification))
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_copy_complete(h, cid, cver, e)
	})
}

// FailCopy fails a copy in copying or verifying; message (required) says why.
func (s *Store) FailCopy(copyID, message string) error {
	var cs cstrings
	defer cs.free()
	cid := cs.str("copy id", copyID)
	cmsg := cs.str("error message", message)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_copy_fail(h, cid, cmsg, e)
	})
}

// Copy returns the copy with this id (ErrNotFound when there is none).
func (s *Store) Copy(copyID string) (*BackupCopy, error) {
	var c BackupCopy
	err := s.idJSON(&c, "copy id", copyID, func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_copy_get_json(h, id, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ListCopies returns the copies matching filter, oldest first.
func (s *Store) ListCopies(filter CopyFilter) ([]BackupCopy, error) {
	var list []BackupCopy
	err := s.docJSON(&list, "copy filter", filter, func(h *C.sendense_store, doc *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_copy_list_json(h, doc, out, e)
	})
	return list, err
}

// RestorePoints returns the VM-level restore points of a context, newest first: a group is
// listed only when every point of it completed (once per repository it was written to).
func (s *Store) RestorePoints(contextID string) ([]RestorePoint, error) {
	var list []RestorePoint
	err := s.idJSON(&list, "context id", contextID, func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_restore_points_json(h, id, out, e)
	})
	return list, err
}

// DiskRestorePoints returns the completed points of disk diskID (its index) of a context, in
// every repository, newest first.
func (s *Store) DiskRestorePoints(contextID string, diskID int64) ([]DiskRestorePoint, error) {
	var list []DiskRestorePoint
	err := s.idJSON(&list, "context id", contextID, func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_disk_restore_points_json(h, id, C.int64_t(diskID), out, e)
	})
	return list, err
}
