package sendense

// #include "sendense.h"
import "C"

import "time"

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

// BackupCopyFilter selects copies for ListBackupCopies, oldest first (the claim order); zero
// fields do not filter.
type BackupCopyFilter struct {
	BackupID     string     `json:"backup_id,omitempty"`     // the source point
	Status       CopyStatus `json:"status,omitempty"`        // only copies in this status
	RepositoryID string     `json:"repository_id,omitempty"` // the destination repository
	Limit        uint32     `json:"limit,omitempty"`         // 0: the library's default (100)
	Offset       uint32     `json:"offset,omitempty"`
}

// ClaimCopy claims the oldest pending copy for workerID and moves it to CopyCopying,
// atomically: two workers, in one process or several, never get the same copy. It returns
// nil (and no error) when no copy is pending. The worker id is validated but not stored.
func (s *Store) ClaimCopy(workerID string) (*BackupCopy, error) {
	var a cargs
	worker := a.str("worker id", workerID)
	return getRecord[BackupCopy](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_copy_claim(h, worker, out, e)
	})
}

// SetCopyVerifying records that a claimed copy was written: the path actually written
// (relative to the destination repository's root) and its size. The copy moves to verifying
// when its rule verifies after copy, or straight to completed (never verified) when the rule's
// VerifyAfterCopy is false; read it back to see which.
func (s *Store) SetCopyVerifying(copyID, filePath string, sizeBytes int64) error {
	var a cargs
	id, path := a.str("copy id", copyID), a.str("file path", filePath)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_copy_set_verifying(h, id, path, C.int64_t(sizeBytes), e)
	})
}

// QueueCopies queues now the copies copy rule ruleID is owed (how scheduled and manual rules
// copy; only immediate rules queue copies when a point completes): one pending copy per
// completed point of the rule's policy with none in the rule's destination yet. It returns
// the copies queued (empty when nothing was owed). An unknown rule is ErrNotFound, a disabled
// one ErrInvalidState.
func (s *Store) QueueCopies(ruleID string) ([]BackupCopy, error) {
	var a cargs
	id := a.str("rule id", ruleID)
	return getJSON[[]BackupCopy](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_copy_queue(h, id, out, e)
	})
}

// CompleteCopy records the verification of a copy in verifying: VerificationPassed completes
// it, VerificationFailed fails it.
func (s *Store) CompleteCopy(copyID string, verification VerificationStatus) error {
	var a cargs
	id, ver := a.str("copy id", copyID), a.str("verification", string(verification))
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_copy_complete(h, id, ver, e)
	})
}

// FailCopy fails a copy in copying or verifying; message (required) says why.
func (s *Store) FailCopy(copyID, message string) error {
	var a cargs
	id, msg := a.str("copy id", copyID), a.str("error message", message)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_copy_fail(h, id, msg, e)
	})
}

// BackupCopy returns the copy with this id (ErrNotFound when there is none).
func (s *Store) BackupCopy(copyID string) (*BackupCopy, error) {
	var a cargs
	id := a.str("copy id", copyID)
	return getRecord[BackupCopy](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_copy_get_json(h, id, out, e)
	})
}

// ListBackupCopies returns the copies matching filter, oldest first.
func (s *Store) ListBackupCopies(filter BackupCopyFilter) ([]BackupCopy, error) {
	var a cargs
	doc := a.doc("copy filter", filter)
	return getJSON[[]BackupCopy](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_copy_list_json(h, doc, out, e)
	})
}
