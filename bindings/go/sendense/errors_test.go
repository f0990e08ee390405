package sendense_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"libsendense/bindings/go/sendense"
)

func TestErrorStatuses(t *testing.T) {
	s, _ := openTemp(t)
	web := must(s.CreateContext(newVM("web-01", "vm-101"))).get(t)
	j := must(s.StartReplication(sendense.ReplicationStart{ContextID: web, ID: "job-web-1", Disks: twoDisks("web-01")})).get(t)
	if j != "job-web-1" {
		t.Fatalf("caller-chosen job id: %q", j)
	}

	// NOT_FOUND
	_, err := s.Context("no-such-context")
	e := wantErr(t, "unknown context", err, sendense.ErrNotFound)
	if !strings.Contains(e.Message, "no-such-context") || !strings.Contains(e.Error(), "NOT_FOUND") {
		t.Fatalf("message does not name the id: %q / %q", e.Message, e.Error())
	}
	_, err = s.ReplicationJob("no-such-job")
	wantErr(t, "unknown job", err, sendense.ErrNotFound)
	_, err = s.FindContext("vm-999", "vcenter.example.test")
	wantErr(t, "find an unknown VM", err, sendense.ErrNotFound)
	wantErr(t, "delete an unknown context", s.DeleteContext("no-such-context"), sendense.ErrNotFound)
	wantErr(t, "progress of an unknown job", s.ReplicationProgress("no-such-job", sendense.ReplicationProgress{Percent: 1}), sendense.ErrNotFound)
	_, err = s.DecideCBT("no-such-context", "disk-2000", changeID(epochA, 1), false)
	wantErr(t, "decide for an unknown context", err, sendense.ErrNotFound)
	_, err = s.Disks("no-such-context")
	wantErr(t, "disks of an unknown context", err, sendense.ErrNotFound)
	wantErr(t, "disk progress of a disk not in the job", s.ReplicationDiskProgress(j, "disk-9999", 1, 1, ""), sendense.ErrNotFound)

	// ALREADY_EXISTS
	_, err = s.CreateContext(newVM("web-01-other-name", "vm-101"))
	e = wantErr(t, "same VMware VM", err, sendense.ErrAlreadyExists)
	if !strings.Contains(e.Message, web) {
		t.Fatalf("the message does not name the existing context: %q", e.Message)
	}
	_, err = s.CreateContext(newVM("web-01", "vm-other"))
	wantErr(t, "same VM name", err, sendense.ErrAlreadyExists)
	other := must(s.CreateContext(newVM("app-01", "vm-103"))).get(t)
	_, err = s.StartReplication(sendense.ReplicationStart{ContextID: other, ID: "job-web-1", Disks: twoDisks("app-01")})
	wantErr(t, "reused job id", err, sendense.ErrAlreadyExists)
	_, err = s.UpdateContext(other, sendense.ContextUpdate{VMName: sendense.String("web-01")})
	wantErr(t, "rename onto another VM's name", err, sendense.ErrAlreadyExists)

	// CONFLICT
	_, err = s.StartReplication(sendense.ReplicationStart{ContextID: web, Disks: twoDisks("web-01")})
	e = wantErr(t, "second active job", err, sendense.ErrConflict)
	if !strings.Contains(e.Message, j) {
		t.Fatalf("the conflict does not name the active job: %q", e.Message)
	}
	wantErr(t, "delete an active job", s.DeleteReplicationJob(j), sendense.ErrConflict)
	ok(t, s.SetReplicationJobStatus(j, sendense.ReplicationJobReplicating, ""))
	ok(t, s.RecordCBT(j, "disk-2000", changeID(epochA, 5), 10))
	wantErr(t, "a different change id for the same disk and job", s.RecordCBT(j, "disk-2000", changeID(epochA, 6), 10), sendense.ErrConflict)

	// INVALID_STATE
	e = wantErr(t, "job moves backwards", s.SetReplicationJobStatus(j, sendense.ReplicationJobPending, ""), sendense.ErrInvalidState)
	if !strings.Contains(e.Message, "replicating") || !strings.Contains(e.Message, "pending") {
		t.Fatalf("the message does not name from and to: %q", e.Message)
	}
	wantErr(t, "context edge driven by jobs", s.SetContextStatus(web, sendense.ContextReadyForFailover), sendense.ErrInvalidState)
	wantErr(t, "context edge that does not exist", s.SetContextStatus(other, sendense.ContextCompleted), sendense.ErrInvalidState)
	ok(t, s.SetReplicationJobStatus(j, sendense.ReplicationJobCompleted, ""))
	wantErr(t, "completed job restarted", s.SetReplicationJobStatus(j, sendense.ReplicationJobReplicating, ""), sendense.ErrInvalidState)
	wantErr(t, "late progress", s.ReplicationProgress(j, sendense.ReplicationProgress{Percent: 50}), sendense.ErrInvalidState)
	_, err = s.StartReplication(sendense.ReplicationStart{ContextID: other, ReplicationType: sendense.ReplicationRequestIncremental, Disks: twoDisks("app-01")})
	wantErr(t, "incremental without a base", err, sendense.ErrInvalidState)

	// INVALID_ARGUMENT
	_, err = s.UpdateContext(web, sendense.ContextUpdate{Clear: []string{"colour"}})
	e = wantErr(t, "unknown JSON key", err, sendense.ErrInvalidArgument)
	if !strings.Contains(e.Message, "colour") {
		t.Fatalf("the message does not name the key: %q", e.Message)
	}
	_, err = s.UpdateContext(web, sendense.ContextUpdate{OSType: sendense.String("x"), Clear: []string{"os_type"}})
	wantErr(t, "set and cleared", err, sendense.ErrInvalidArgument)
	_, err = s.UpdateContext(web, sendense.ContextUpdate{Clear: []string{"vm_name"}})
	wantErr(t, "clear a required column", err, sendense.ErrInvalidArgument)
	wantErr(t, "invalid job status", s.SetReplicationJobStatus(j, sendense.ReplicationJobStatus("bogus"), ""), sendense.ErrInvalidArgument)
	wantErr(t, "invalid context status", s.SetContextStatus(web, sendense.ContextStatus("bogus")), sendense.ErrInvalidArgument)
	j2 := must(s.StartReplication(sendense.ReplicationStart{ContextID: web, Disks: twoDisks("web-01")})).get(t)
	wantErr(t, "percent > 100", s.ReplicationProgress(j2, sendense.ReplicationProgress{Percent: 150}), sendense.ErrInvalidArgument)
	wantErr(t, "bytes > total", s.ReplicationProgress(j2, sendense.ReplicationProgress{Percent: 1, BytesTransferred: 2, TotalBytes: 1}), sendense.ErrInvalidArgument)
	wantErr(t, "'*' as a change id", s.RecordCBT(j2, "disk-2000", "*", 1), sendense.ErrInvalidArgument)
	wantErr(t, "malformed change id", s.RecordCBT(j2, "disk-2000", "not-a-change-id", 1), sendense.ErrInvalidArgument)
	wantErr(t, "invalid disk sync status", s.ReplicationDiskProgress(j2, "disk-2000", 1, 1, "bogus"), sendense.ErrInvalidArgument)
	wantErr(t, "invalid VMA sync type", s.ReplicationVMAProgress(j2, sendense.ReplicationVMAProgress{SyncType: sendense.String("bogus")}), sendense.ErrInvalidArgument)
	_, err = s.DecideCBT(web, "disk-2000", "garbage", false)
	wantErr(t, "unparsable snapshot change id", err, sendense.ErrInvalidArgument)
	_, err = s.StartReplication(sendense.ReplicationStart{ContextID: other, Disks: []sendense.DiskSpec{{DiskID: "2000", VMDKPath: "[ds] x.vmdk", SizeGB: 1}}})
	wantErr(t, "malformed disk id", err, sendense.ErrInvalidArgument)
	_, err = s.StartReplication(sendense.ReplicationStart{ContextID: other})
	wantErr(t, "no disks", err, sendense.ErrInvalidArgument)
	_, err = s.CreateContext(sendense.NewContext{VMName: "x"})
	wantErr(t, "missing identity", err, sendense.ErrInvalidArgument)
	_, err = s.Context("bad\x00id")
	wantErr(t, "NUL inside a Go string", err, sendense.ErrInvalidArgument)
	wantErr(t, "NUL inside a Go string (hot path)", s.ReplicationProgress("bad\x00id", sendense.ReplicationProgress{}), sendense.ErrInvalidArgument)
	_, err = s.StaleReplicationJobs(-1)
	wantErr(t, "negative age", err, sendense.ErrInvalidArgument)
	_, err = s.FailStaleReplicationJobs(-time.Second, "x")
	wantErr(t, "negative age", err, sendense.ErrInvalidArgument)

	// A failed call changed nothing.
	if c := must(s.Context(web)).get(t); c.VMName != "web-01" || c.TotalJobsRun != 2 || str(c.CurrentJobID) != j2 {
		t.Fatalf("context after refused calls: %+v", c)
	}

	// Sentinels only match their own status; an *Error with a message is not a sentinel.
	if errors.Is(err, sendense.ErrNotFound) || errors.Is(sendense.ErrNotFound, sendense.ErrConflict) {
		t.Fatal("errors.Is matched another status")
	}
	if errors.Is(&sendense.Error{Status: sendense.StatusInvalidArgument, Message: "x"}, sendense.ErrClosed) {
		t.Fatal("any INVALID_ARGUMENT matched ErrClosed")
	}
}

func TestNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	content := bytes.Repeat([]byte("these are not the droids you are looking for\n"), 200)
	ok(t, os.WriteFile(path, content, 0o644))
	_, err := sendense.Open(path, nil)
	e := wantErr(t, "open a text file", err, sendense.ErrNotADatabase)
	if !strings.Contains(e.Message, path) {
		t.Fatalf("the message does not name the file: %q", e.Message)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, content) {
		t.Fatal("the refused file was modified")
	}

	_, err = sendense.Open(filepath.Join(t.TempDir(), "missing.db"), &sendense.Options{MustExist: true})
	wantErr(t, "open a missing file with MustExist", err, sendense.ErrNotFound)
	_, err = sendense.Open(filepath.Join(t.TempDir(), "x.db"), &sendense.Options{Synchronous: 7})
	wantErr(t, "invalid synchronous", err, sendense.ErrInvalidArgument)
}

func TestCloseIsIdempotent(t *testing.T) {
	s, _ := openTemp(t)
	ok(t, s.Close())
	ok(t, s.Close())
	_, err := s.Context("x")
	if !errors.Is(err, sendense.ErrClosed) || !errors.Is(err, sendense.ErrInvalidArgument) {
		t.Fatalf("after Close: %v", err)
	}
	if err := s.ReplicationProgress("x", sendense.ReplicationProgress{}); !errors.Is(err, sendense.ErrClosed) {
		t.Fatalf("progress after Close: %v", err)
	}
	if _, err := s.SchemaVersion(); !errors.Is(err, sendense.ErrClosed) {
		t.Fatalf("schema version after Close: %v", err)
	}
}
