package sendense_test

import (
	"errors"
	"fmt"
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

func TestStatusNames(t *testing.T) {
	if got := sendense.StatusConflict.String(); got != "CONFLICT" {
		t.Fatalf("status name %q", got)
	}
	for st, name := range map[sendense.Status]string{sendense.StatusOK: "OK", sendense.StatusNotFound: "NOT_FOUND",
		sendense.StatusSecretKey: "SECRET_KEY", sendense.StatusCommitUnknown: "COMMIT_UNKNOWN",
		sendense.Status(9999): "UNKNOWN"} {
		if got := st.String(); got != name {
			t.Fatalf("status %d is named %q, want %q", int32(st), got, name)
		}
	}
}

// Error text carries the status once, whether or not the message starts with it; a sentinel
// matches every *Error of its status and no other.
func TestErrorText(t *testing.T) {
	for _, c := range []struct {
		err  *sendense.Error
		want string
	}{
		{sendense.ErrNotFound, "sendense: NOT_FOUND"},
		{&sendense.Error{Status: sendense.StatusConflict, Message: "CONFLICT: job j-1 is active"}, "sendense: CONFLICT: job j-1 is active"},
		{&sendense.Error{Status: sendense.StatusConflict, Message: "job j-1 is active"}, "sendense: CONFLICT: job j-1 is active"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Fatalf("Error() = %q, want %q", got, c.want)
		}
	}
	wrapped := fmt.Errorf("starting: %w", &sendense.Error{Status: sendense.StatusBusy, Message: "BUSY: locked"})
	if !errors.Is(wrapped, sendense.ErrBusy) || errors.Is(wrapped, sendense.ErrConflict) {
		t.Fatal("a wrapped *Error does not match its sentinel only")
	}
	var e *sendense.Error
	if !errors.As(wrapped, &e) || e.Status != sendense.StatusBusy {
		t.Fatalf("errors.As: %#v", e)
	}
}
