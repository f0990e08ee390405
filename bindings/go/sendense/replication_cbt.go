package sendense

// #include "sendense.h"
import "C"

import "time"

// SyncMode is how a disk must be copied.
type SyncMode string

// Sync modes of a Decision.
const (
	SyncFull        SyncMode = "full"
	SyncIncremental SyncMode = "incremental"
)

// DecisionReason is why a Decision chose its mode.
type DecisionReason string

// Decision reasons.
const (
	ReasonBaseRecorded        DecisionReason = "base_recorded"
	ReasonNoBase              DecisionReason = "no_base"
	ReasonUnparsableBase      DecisionReason = "unparsable_base"
	ReasonCBTUUIDChanged      DecisionReason = "cbt_uuid_changed"
	ReasonBaseAheadOfSnapshot DecisionReason = "base_ahead_of_snapshot"
	ReasonTargetVolumeNew     DecisionReason = "target_volume_new"
)

// Decision is the CBT decision for one disk: full or incremental, the base change id
// (incremental only), and why.
type Decision struct {
	Mode         SyncMode       `json:"mode"`
	BaseChangeID *string        `json:"base_change_id"`
	Reason       DecisionReason `json:"reason"`
}

// CBTEntry is a cbt_history row: one successful (or failed) sync of a disk.
type CBTEntry struct {
	ID                  int64     `json:"id"`
	VMContextID         string    `json:"vm_context_id"`
	JobID               *string   `json:"job_id"`
	DiskID              string    `json:"disk_id"`
	ChangeID            string    `json:"change_id"`
	PreviousChangeID    *string   `json:"previous_change_id"`
	SyncType            string    `json:"sync_type"`
	BlocksChanged       *int64    `json:"blocks_changed"`
	BytesTransferred    *int64    `json:"bytes_transferred"`
	SyncDurationSeconds *int64    `json:"sync_duration_seconds"`
	SyncSuccess         bool      `json:"sync_success"`
	CreatedAt           time.Time `json:"created_at"`
}

// LineageBreak is one place where a context's CBT lineage does not chain.
type LineageBreak struct {
	DiskID    string  `json:"disk_id"`
	HistoryID *int64  `json:"history_id"`
	JobID     *string `json:"job_id"`
	Expected  *string `json:"expected"`
	Found     *string `json:"found"`
	Problem   string  `json:"problem"`
}

// LineageReport is the result of VerifyLineage; OK when Breaks is empty.
type LineageReport struct {
	OK             bool           `json:"ok"`
	ContextID      string         `json:"context_id"`
	DisksChecked   int            `json:"disks_checked"`
	EntriesChecked int            `json:"entries_checked"`
	Breaks         []LineageBreak `json:"breaks"`
}

// DecideCBT decides full or incremental for a disk of a context about to be copied from a
// snapshot whose change id is snapshotChangeID; targetIsNew tells whether the target volume
// was just created. The base is the change id recorded by the last successful sync of that
// disk of that context.
func (s *Store) DecideCBT(contextID, diskID, snapshotChangeID string, targetIsNew bool) (Decision, error) {
	var a cargs
	ctx, disk, snap := a.str("context id", contextID), a.str("disk id", diskID), a.str("snapshot change id", snapshotChangeID)
	return getJSON[Decision](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_cbt_decide(h, ctx, disk, snap, C.bool(targetIsNew), out, e)
	})
}

// RecordCBT records the change id of a disk whose copy in an active job succeeded: it becomes
// the disk's base for the next incremental, and a CBT history row links it to the base the
// copy started from, in one transaction. Recording the same change id again is a no-op; a
// different one for the same disk and job is ErrConflict; a malformed one ErrInvalidArgument.
func (s *Store) RecordCBT(jobID, diskID, changeID string, bytesTransferred int64) error {
	var a cargs
	job, disk, change := a.str("job id", jobID), a.str("disk id", diskID), a.str("change id", changeID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_cbt_record(h, job, disk, change, C.int64_t(bytesTransferred), e)
	})
}

// RecordCBTSync is RecordCBT stating what the disk's copy actually was: the Decision it
// followed (DecideCBT's answer, passed back as it is). A disk the decision sent to a full copy
// (a new target volume, which only the caller knows) is recorded as a full with no previous
// change id; an incremental from the decision's base. A nil sync infers it, as RecordCBT does.
// A full with a base, or an incremental without one or from a base of another CBT epoch or
// ahead of changeID, is ErrInvalidArgument.
func (s *Store) RecordCBTSync(jobID, diskID, changeID string, bytesTransferred int64, sync *Decision) error {
	var a cargs
	job, disk, change := a.str("job id", jobID), a.str("disk id", diskID), a.str("change id", changeID)
	var doc *C.char
	if sync != nil {
		doc = a.doc("sync", struct {
			Mode         SyncMode       `json:"mode"`
			BaseChangeID *string        `json:"base_change_id,omitempty"`
			Reason       DecisionReason `json:"reason,omitempty"`
		}{sync.Mode, sync.BaseChangeID, sync.Reason})
	}
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_cbt_record_sync(h, job, disk, change, C.int64_t(bytesTransferred), doc, e)
	})
}

// CBTHistory returns the CBT history of a context, by disk then oldest first; diskID ""
// means every disk.
func (s *Store) CBTHistory(contextID, diskID string) ([]CBTEntry, error) {
	var a cargs
	ctx, disk := a.str("context id", contextID), a.opt("disk id", diskID)
	return getJSON[[]CBTEntry](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_cbt_history_json(h, ctx, disk, out, e)
	})
}

// VerifyLineage checks a context's CBT lineage: every successful incremental started from
// the disk's prior recorded change id, and each disk's recorded change id is the last of its
// history. Breaks are reported, not repaired.
func (s *Store) VerifyLineage(contextID string) (*LineageReport, error) {
	var a cargs
	ctx := a.str("context id", contextID)
	return getRecord[LineageReport](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_cbt_verify_lineage(h, ctx, out, e)
	})
}
