package sendense_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"libsendense/bindings/go/sendense"
)

// Change ids as VMware writes them: <CBT epoch uuid>/<sequence>.
const (
	epochA = "52 3c 1a 9e 6f 0b 4d 2a-8f 11 22 33 44 55 66 77"
	epochB = "52 aa bb cc dd ee ff 00-11 22 33 44 55 66 77 88"
)

func changeID(epoch string, seq int) string { return fmt.Sprintf("%s/%d", epoch, seq) }

// openTemp opens a new store file in the test's temp dir, closed at the end of the test.
func openTemp(t *testing.T) (*sendense.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := sendense.Open(path, &sendense.Options{Synchronous: sendense.SynchronousNormal})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func newVM(name, vmID string) sendense.NewContext {
	return sendense.NewContext{
		VMName:      name,
		VMwareVMID:  vmID,
		VMPath:      "/DC1/vm/" + name,
		VCenterHost: "vcenter.example.test",
		Datacenter:  "DC1",
		CPUCount:    sendense.Int64(4),
		MemoryMB:    sendense.Int64(8192),
		OSType:      sendense.String("ubuntu64Guest"),
		PowerState:  sendense.String("poweredOn"),
	}
}

func twoDisks(vmName string) []sendense.DiskSpec {
	return []sendense.DiskSpec{
		{DiskID: "disk-2000", VMDKPath: "[ds1] " + vmName + "/" + vmName + ".vmdk", SizeGB: 40, UnitNumber: sendense.Int64(0), Datastore: "ds1"},
		{DiskID: "disk-2001", VMDKPath: "[ds1] " + vmName + "/" + vmName + "_1.vmdk", SizeGB: 100, UnitNumber: sendense.Int64(1), Datastore: "ds1"},
	}
}

// must(call()).get(t) is call's value, or the end of the test with call's error.
func must[T any](v T, err error) result[T] { return result[T]{v, err} }

type result[T any] struct {
	v   T
	err error
}

func (r result[T]) get(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr fails unless err matches sentinel (errors.Is) and is an *Error with that status.
func wantErr(t *testing.T, what string, err error, sentinel *sendense.Error) *sendense.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %v", what, sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("%s: got %v, want %v", what, err, sentinel)
	}
	var e *sendense.Error
	if !errors.As(err, &e) || e.Status != sentinel.Status || e.Message == "" {
		t.Fatalf("%s: got %#v, want an *Error with status %v and a message", what, err, sentinel.Status)
	}
	return e
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// runJob moves a job through replication to completion, reporting progress and recording
// one change id per disk.
func runJob(t *testing.T, s *sendense.Store, jobID string, changeIDs map[string]string) {
	t.Helper()
	ok(t, s.SetReplicationJobStatus(jobID, sendense.ReplicationJobSnapshotting, ""))
	ok(t, s.SetReplicationJobStatus(jobID, sendense.ReplicationJobReplicating, ""))
	const total = 140 << 30
	for pct := 0; pct <= 100; pct += 25 {
		ok(t, s.ReplicationProgress(jobID, sendense.ReplicationProgress{
			Percent: float64(pct), BytesTransferred: total / 100 * int64(pct), TotalBytes: total,
			SpeedBps: 250 << 20, CurrentOperation: fmt.Sprintf("copying (%d%%)", pct),
		}))
	}
	for disk, change := range changeIDs {
		ok(t, s.ReplicationDiskProgress(jobID, disk, 100, 1<<30, sendense.DiskSyncing))
		ok(t, s.RecordCBT(jobID, disk, change, 1<<30))
	}
	ok(t, s.SetReplicationJobStatus(jobID, sendense.ReplicationJobCompleted, ""))
}
