package sendense_test

import (
	"strings"
	"testing"

	"libsendense/bindings/go/sendense"
)

// walkFailover moves a started failover through every step to completed.
func walkFailover(t *testing.T, s *sendense.Store, id string) {
	t.Helper()
	for _, step := range []sendense.FailoverStatus{sendense.FailoverValidating, sendense.FailoverSnapshotting,
		sendense.FailoverCreatingVM, sendense.FailoverSwitchingVolume, sendense.FailoverPoweringOn, sendense.FailoverCompleted} {
		var r *sendense.FailoverStepResults
		if step == sendense.FailoverCreatingVM {
			r = &sendense.FailoverStepResults{DestinationVMID: "cs-vm-1", LinstorSnapshotName: "snap-1"}
		}
		ok(t, s.SetFailoverStatus(id, step, r))
	}
}

// readyContext is a context with a completed replication job and one oma device mapping.
func readyContext(t *testing.T, s *sendense.Store, name, volume string) string {
	t.Helper()
	ctx := must(s.CreateContext(newVM(name, "vm-"+name))).get(t)
	job := must(s.StartReplication(sendense.ReplicationStart{ContextID: ctx, Disks: twoDisks(name)})).get(t)
	ok(t, s.SetReplicationJobStatus(job, sendense.ReplicationJobCompleted, ""))
	must(s.AttachDevice(sendense.NewDeviceMapping{VMContextID: ctx, VolumeUUID: volume, VMID: "oma", DevicePath: "/dev/" + volume})).get(t)
	return ctx
}

func TestFailoverWalkRollbackAndCommit(t *testing.T) {
	s, _ := openTemp(t)
	web := readyContext(t, s, "web-01", "vol-web")
	id := must(s.StartFailover(sendense.FailoverStart{ContextID: web, JobType: sendense.FailoverTest, ID: "fo-web"})).get(t)
	if id != "fo-web" {
		t.Fatalf("id %q", id)
	}
	_, err := s.StartFailover(sendense.FailoverStart{ContextID: web, JobType: sendense.FailoverTest, ID: "fo-web"})
	wantErr(t, "a taken id", err, sendense.ErrAlreadyExists)
	_, err = s.StartFailover(sendense.FailoverStart{ContextID: web, JobType: sendense.FailoverLive})
	wantErr(t, "a second active failover", err, sendense.ErrConflict)
	_, err = s.StartReplication(sendense.ReplicationStart{ContextID: web, Disks: twoDisks("web-01")})
	wantErr(t, "a replication start beside a failover", err, sendense.ErrConflict)
	wantErr(t, "a skipped step", s.SetFailoverStatus(id, sendense.FailoverSnapshotting, nil), sendense.ErrInvalidState)
	wantErr(t, "commit of a test failover", s.CommitFailover(id), sendense.ErrInvalidState)
	walkFailover(t, s, id)
	if m := must(s.DeviceMapping("vol-web")).get(t); m.OperationMode != sendense.ModeFailover || m.DevicePath != nil {
		t.Fatalf("mapping after the failover: %+v", m)
	}
	c := must(s.Context(web)).get(t)
	if c.CurrentStatus != sendense.ContextFailedOverTest || !strings.Contains(string(c.LastOperationSummary), `"outcome":"completed"`) {
		t.Fatalf("context after the failover: %+v", c)
	}
	f := must(s.Failover(id)).get(t)
	if f.Status != sendense.FailoverCompleted || f.JobType != sendense.FailoverTest || f.DestinationVMID == nil || *f.DestinationVMID != "cs-vm-1" || f.SourceVMName != "web-01" {
		t.Fatalf("failover: %+v", f)
	}

	ok(t, s.RollbackFailover(id))
	ok(t, s.SetFailoverStatus(id, sendense.FailoverReverting, &sendense.FailoverStepResults{DevicePaths: map[string]string{"vol-web": "/dev/vdq"}}))
	ok(t, s.SetFailoverStatus(id, sendense.FailoverCompleted, nil))
	if m := must(s.DeviceMapping("vol-web")).get(t); m.OperationMode != sendense.ModeOMA || m.DevicePath == nil || *m.DevicePath != "/dev/vdq" {
		t.Fatalf("mapping after the rollback: %+v", m)
	}
	if c := must(s.Context(web)).get(t); c.CurrentStatus != sendense.ContextReadyForFailover {
		t.Fatalf("context after the rollback: %+v", c)
	}
	wantErr(t, "a second rollback", s.RollbackFailover(id), sendense.ErrInvalidState)

	// A live failover, failed once, then committed.
	failed := must(s.StartFailover(sendense.FailoverStart{ContextID: web, JobType: sendense.FailoverLive})).get(t)
	ok(t, s.FailFailover(failed, "no capacity"))
	wantErr(t, "an empty reason", s.FailFailover(failed, ""), sendense.ErrInvalidArgument)
	live := must(s.StartFailover(sendense.FailoverStart{ContextID: web, JobType: sendense.FailoverLive})).get(t)
	walkFailover(t, s, live)
	ok(t, s.CommitFailover(live))
	if c := must(s.Context(web)).get(t); c.CurrentStatus != sendense.ContextCompleted {
		t.Fatalf("context after the commit: %+v", c)
	}
	wantErr(t, "rollback of a committed failover", s.RollbackFailover(live), sendense.ErrInvalidState)

	list := must(s.ListFailovers(sendense.FailoverFilter{ContextID: web, JobType: sendense.FailoverLive})).get(t)
	if len(list) != 2 || list[0].JobID != live || list[1].JobID != failed || *list[1].ErrorMessage != "no capacity" {
		t.Fatalf("list: %+v", list)
	}
	_, err = s.Failover("nope")
	wantErr(t, "an unknown failover", err, sendense.ErrNotFound)
	wantErr(t, "a status outside the enum", s.SetFailoverStatus(live, "running", nil), sendense.ErrInvalidArgument)
}
