package sendense

// #include <stdlib.h>
// #include "sendense.h"
import "C"

import (
	"bytes"
	"runtime"
	"strings"
	"time"
	"unsafe"
)

// StartReplication starts a replication job and returns its id: it upserts the context's
// disk rows (keeping their change ids), resolves RequestAuto, and moves the context to
// ContextReplicating pointing at the job, in one transaction. A second start while a job is
// active is ErrConflict; an explicit ID already used is ErrAlreadyExists.
func (s *Store) StartReplication(j StartJob) (string, error) {
	doc, err := marshalInput("job", j)
	if err != nil {
		return "", err
	}
	var cs cstrings
	defer cs.free()
	cdoc := cs.str("job JSON", doc)
	if cs.err != nil {
		return "", cs.err
	}
	return s.callString(func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_replication_start(h, cdoc, out, e)
	})
}

// Job returns the replication job with this id (ErrNotFound when there is none).
func (s *Store) Job(jobID string) (*ReplicationJob, error) {
	var cs cstrings
	defer cs.free()
	cid := cs.str("job id", jobID)
	if cs.err != nil {
		return nil, cs.err
	}
	var j ReplicationJob
	err := s.callJSON(&j, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_replication_get_json(h, cid, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &j, nil
}

// ListJobs returns the jobs matching filter, newest first.
func (s *Store) ListJobs(filter JobFilter) ([]ReplicationJob, error) {
	doc, err := marshalInput("job filter", filter)
	if err != nil {
		return nil, err
	}
	var cs cstrings
	defer cs.free()
	cdoc := cs.str("job filter JSON", doc)
	if cs.err != nil {
		return nil, cs.err
	}
	var list []ReplicationJob
	err = s.callJSON(&list, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_replication_list_json(h, cdoc, out, e)
	})
	return list, err
}

// SetJobStatus moves a job along its status machine; errMsg ("" for none) is stored, and is
// the reason of a failure. A terminal status releases the context and updates its counters in
// the same transaction. A forbidden edge is ErrInvalidState.
func (s *Store) SetJobStatus(jobID string, status JobStatus, errMsg string) error {
	var cs cstrings
	defer cs.free()
	cid := cs.str("job id", jobID)
	cst := cs.str("job status", string(status))
	cmsg := cs.opt("error message", errMsg)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_replication_set_status(h, cid, cst, cmsg, e)
	})
}

// Progress records the progress of an active job: the hot path, a single-row update with no
// JSON on the way. A finished job is ErrInvalidState; out-of-range values ErrInvalidArgument.
func (s *Store) Progress(jobID string, p Progress) error {
	if strings.IndexByte(jobID, 0) >= 0 || strings.IndexByte(p.CurrentOperation, 0) >= 0 {
		return invalidArgument("the job id or the operation contains a NUL byte")
	}
	cid := C.CString(jobID)
	defer C.free(unsafe.Pointer(cid))
	var cop *C.char
	if p.CurrentOperation != "" {
		cop = C.CString(p.CurrentOperation)
		defer C.free(unsafe.Pointer(cop))
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.h == nil {
		return ErrClosed
	}
	var cerr *C.sendense_error
	st := C.sendense_replication_progress(s.h, cid, C.double(p.Percent), C.int64_t(p.BytesTransferred),
		C.int64_t(p.TotalBytes), C.int64_t(p.SpeedBps), cop, &cerr)
	runtime.KeepAlive(s)
	if st != C.SENDENSE_STATUS_OK {
		return takeError(st, cerr)
	}
	return nil
}

// VMAProgress records what the capture appliance reported for an active job; stamps
// vma_last_poll_at.
func (s *Store) VMAProgress(jobID string, p VMAProgress) error {
	doc, err := marshalInput("VMA progress", p)
	if err != nil {
		return err
	}
	var cs cstrings
	defer cs.free()
	cid := cs.str("job id", jobID)
	cdoc := cs.str("VMA progress JSON", doc)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_replication_vma_progress(h, cid, cdoc, e)
	})
}

// DiskProgress records a disk's progress within an active job; syncStatus "" leaves the
// disk's sync status unchanged.
func (s *Store) DiskProgress(jobID, diskID string, percent float64, bytesSynced int64, syncStatus DiskSyncStatus) error {
	var cs cstrings
	defer cs.free()
	cid := cs.str("job id", jobID)
	cdisk := cs.str("disk id", diskID)
	cst := cs.opt("disk sync status", string(syncStatus))
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_replication_disk_progress(h, cid, cdisk, C.double(percent), C.int64_t(bytesSynced), cst, e)
	})
}

// Disks returns the disk rows of a context, by disk id.
func (s *Store) Disks(contextID string) ([]Disk, error) {
	var cs cstrings
	defer cs.free()
	cid := cs.str("context id", contextID)
	if cs.err != nil {
		return nil, cs.err
	}
	var list []Disk
	err := s.callJSON(&list, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_replication_disks_json(h, cid, out, e)
	})
	if err != nil {
		return nil, err
	}
	for i := range list {
		if bytes.Equal(list[i].NetworkConfig, jsonNull) {
			list[i].NetworkConfig = nil
		}
	}
	return list, nil
}

// DeleteJob deletes a finished job; its disk rows, their change ids and its CBT history
// stay, and the context's counters are recomputed. An active job is ErrConflict.
func (s *Store) DeleteJob(jobID string) error {
	var cs cstrings
	defer cs.free()
	cid := cs.str("job id", jobID)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_replication_delete(h, cid, e)
	})
}

// StaleJobs returns the active jobs whose last update is older than olderThan, oldest first.
func (s *Store) StaleJobs(olderThan time.Duration) ([]ReplicationJob, error) {
	if olderThan < 0 {
		return nil, invalidArgument("the age %v is negative", olderThan)
	}
	var list []ReplicationJob
	err := s.callJSON(&list, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_replication_stale_json(h, C.int64_t(olderThan.Milliseconds()), out, e)
	})
	return list, err
}

// FailStaleJobs fails every stale job (see StaleJobs) with reason, releasing their contexts,
// in one transaction, and returns the ids of the jobs it failed.
func (s *Store) FailStaleJobs(olderThan time.Duration, reason string) ([]string, error) {
	if olderThan < 0 {
		return nil, invalidArgument("the age %v is negative", olderThan)
	}
	var cs cstrings
	defer cs.free()
	creason := cs.str("reason", reason)
	if cs.err != nil {
		return nil, cs.err
	}
	var ids []string
	err := s.callJSON(&ids, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_replication_fail_stale(h, C.int64_t(olderThan.Milliseconds()), creason, out, e)
	})
	return ids, err
}
