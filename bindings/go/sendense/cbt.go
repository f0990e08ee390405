package sendense

// #include "sendense.h"
import "C"

// DecideCBT decides full or incremental for a disk of a context about to be copied from a
// snapshot whose change id is snapshotChangeID; targetIsNew tells whether the target volume
// was just created. The base is the change id recorded by the last successful sync of that
// disk of that context.
func (s *Store) DecideCBT(contextID, diskID, snapshotChangeID string, targetIsNew bool) (Decision, error) {
	var cs cstrings
	defer cs.free()
	cctx := cs.str("context id", contextID)
	cdisk := cs.str("disk id", diskID)
	csnap := cs.str("snapshot change id", snapshotChangeID)
	if cs.err != nil {
		return Decision{}, cs.err
	}
	var d Decision
	err := s.callJSON(&d, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_cbt_decide(h, cctx, cdisk, csnap, C.bool(targetIsNew), out, e)
	})
	if err != nil {
		return Decision{}, err
	}
	return d, nil
}

// RecordCBT records the change id of a disk whose copy in an active job succeeded: it becomes
// the disk's base for the next incremental, and a CBT history row links it to the base the
// copy started from, in one transaction. Recording the same change id again is a no-op; a
// different one for the same disk and job is ErrConflict; a malformed one ErrInvalidArgument.
func (s *Store) RecordCBT(jobID, diskID, changeID string, bytesTransferred int64) error {
	var cs cstrings
	defer cs.free()
	cjob := cs.str("job id", jobID)
	cdisk := cs.str("disk id", diskID)
	cchange := cs.str("change id", changeID)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_cbt_record(h, cjob, cdisk, cchange, C.int64_t(bytesTransferred), e)
	})
}

// CBTHistory returns the CBT history of a context, by disk then oldest first; diskID ""
// means every disk.
func (s *Store) CBTHistory(contextID, diskID string) ([]CBTEntry, error) {
	var cs cstrings
	defer cs.free()
	cctx := cs.str("context id", contextID)
	cdisk := cs.opt("disk id", diskID)
	if cs.err != nil {
		return nil, cs.err
	}
	var list []CBTEntry
	err := s.callJSON(&list, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_cbt_history_json(h, cctx, cdisk, out, e)
	})
	return list, err
}

// VerifyLineage checks a context's CBT lineage: every successful incremental started from
// the disk's prior recorded change id, and each disk's recorded change id is the last of its
// history. Breaks are reported, not repaired.
func (s *Store) VerifyLineage(contextID string) (*LineageReport, error) {
	var cs cstrings
	defer cs.free()
	cctx := cs.str("context id", contextID)
	if cs.err != nil {
		return nil, cs.err
	}
	var r LineageReport
	err := s.callJSON(&r, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_cbt_verify_lineage(h, cctx, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}
