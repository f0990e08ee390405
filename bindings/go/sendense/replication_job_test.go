package sendense_test

import (
	"fmt"
	"testing"
	"time"

	"libsendense/bindings/go/sendense"
)

// A replication job keeps what it was started with, lists by context and status (newest
// first, paged), moves forward only, and its terminal statuses are final.
func TestReplicationJobs(t *testing.T) {
	s, _ := openTemp(t)
	web := must(s.CreateContext(newVM("web-01", "vm-101"))).get(t)
	db := must(s.CreateContext(newVM("db-01", "vm-102"))).get(t)
	j1 := must(s.StartReplication(sendense.ReplicationStart{ContextID: web, ID: "job-web-1", Disks: twoDisks("web-01"),
		ReplicationType: sendense.ReplicationRequestInitial, TargetNetwork: "net-1", SnapshotID: "snap-1", NBDPort: 10809,
		NBDExportName: "export-1", TargetDevice: "/dev/vdb", ScheduledBy: "scheduler"})).get(t)
	job := must(s.ReplicationJob(j1)).get(t)
	if job.ID != "job-web-1" || job.VMContextID != web || job.SourceVMID != "vm-101" || job.SourceVMPath != "/DC1/vm/web-01" ||
		job.Datacenter != "DC1" || job.ReplicationType != sendense.ReplicationInitial || job.Status != sendense.ReplicationJobPending ||
		str(job.TargetNetwork) != "net-1" || str(job.SnapshotID) != "snap-1" || job.NBDPort == nil || *job.NBDPort != 10809 ||
		str(job.NBDExportName) != "export-1" || str(job.TargetDevice) != "/dev/vdb" || job.ScheduleExecutionID != nil ||
		str(job.ScheduledBy) != "scheduler" || job.VMGroupID != nil || job.StartedAt != nil || job.Status.IsTerminal() {
		t.Fatalf("started job: %+v", job)
	}

	// Forward only, steps may be skipped; the progress of each report stays.
	ok(t, s.SetReplicationJobStatus(j1, sendense.ReplicationJobAnalyzing, ""))
	ok(t, s.SetReplicationJobStatus(j1, sendense.ReplicationJobReplicating, ""))
	wantErr(t, "replicating -> analyzing", s.SetReplicationJobStatus(j1, sendense.ReplicationJobAnalyzing, ""), sendense.ErrInvalidState)
	ok(t, s.ReplicationProgress(j1, sendense.ReplicationProgress{Percent: 40, BytesTransferred: 4 << 30, TotalBytes: 10 << 30,
		SpeedBps: 100 << 20, CurrentOperation: "copying disk-2000"}))
	ok(t, s.ReplicationProgress(j1, sendense.ReplicationProgress{Percent: 60, BytesTransferred: 6 << 30, TotalBytes: 10 << 30}))
	ok(t, s.ReplicationVMAProgress(j1, sendense.ReplicationVMAProgress{CurrentPhase: sendense.String("transferring"),
		ETASeconds: sendense.Int64(90), SetupProgressPct: sendense.Float64(100)}))
	job = must(s.ReplicationJob(j1)).get(t)
	if job.ProgressPercent != 60 || job.BytesTransferred != 6<<30 || str(job.CurrentOperation) != "copying disk-2000" ||
		str(job.VMACurrentPhase) != "transferring" || job.VMAETASeconds == nil || *job.VMAETASeconds != 90 ||
		job.SetupProgressPercent != 100 || job.VMALastPollAt == nil || job.StartedAt == nil {
		t.Fatalf("job after progress: %+v", job)
	}
	ok(t, s.SetReplicationJobStatus(j1, sendense.ReplicationJobCancelled, ""))
	job = must(s.ReplicationJob(j1)).get(t)
	if !job.Status.IsTerminal() || job.CompletedAt == nil {
		t.Fatalf("cancelled job: %+v", job)
	}
	wantErr(t, "cancelled -> completed", s.SetReplicationJobStatus(j1, sendense.ReplicationJobCompleted, ""), sendense.ErrInvalidState)

	j2 := must(s.StartReplication(sendense.ReplicationStart{ContextID: web, Disks: twoDisks("web-01")})).get(t)
	runReplicationJob(t, s, j2, map[string]string{"disk-2000": changeID(epochA, 1), "disk-2001": changeID(epochB, 1)})
	j3 := must(s.StartReplication(sendense.ReplicationStart{ContextID: db, Disks: twoDisks("db-01")})).get(t)

	for _, c := range []struct {
		filter sendense.ReplicationJobFilter
		want   []string
	}{
		{sendense.ReplicationJobFilter{ContextID: web}, []string{j2, j1}},
		{sendense.ReplicationJobFilter{Status: sendense.ReplicationJobPending}, []string{j3}},
		{sendense.ReplicationJobFilter{Status: sendense.ReplicationJobCompleted}, []string{j2}},
		{sendense.ReplicationJobFilter{Limit: 2}, []string{j3, j2}},
		{sendense.ReplicationJobFilter{Limit: 2, Offset: 2}, []string{j1}},
	} {
		if got := jobIDs(must(s.ListReplicationJobs(c.filter)).get(t)); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Fatalf("jobs of %+v: %v, want %v", c.filter, got, c.want)
		}
	}
	for _, st := range []sendense.ReplicationJobStatus{sendense.ReplicationJobCompleted, sendense.ReplicationJobFailed, sendense.ReplicationJobCancelled} {
		if !st.IsTerminal() {
			t.Fatalf("%s is not terminal", st)
		}
	}
	for _, st := range []sendense.ReplicationJobStatus{sendense.ReplicationJobPending, sendense.ReplicationJobReadyForSync, sendense.ReplicationJobFinalizing} {
		if st.IsTerminal() {
			t.Fatalf("%s is terminal", st)
		}
	}

	// Deleting a finished job; an active one is refused.
	wantErr(t, "delete an active job", s.DeleteReplicationJob(j3), sendense.ErrConflict)
	ok(t, s.DeleteReplicationJob(j1))
	wantErr(t, "delete it again", s.DeleteReplicationJob(j1), sendense.ErrNotFound)
	if c := must(s.Context(web)).get(t); c.TotalJobsRun != 1 || c.SuccessfulJobs != 1 {
		t.Fatalf("counters after deleting the cancelled job: %+v", c)
	}
}

func TestStaleReplicationJobs(t *testing.T) {
	s, _ := openTemp(t)
	web := must(s.CreateContext(newVM("web-01", "vm-101"))).get(t)
	j := must(s.StartReplication(sendense.ReplicationStart{ContextID: web, Disks: twoDisks("web-01")})).get(t)
	ok(t, s.SetReplicationJobStatus(j, sendense.ReplicationJobReplicating, ""))
	if got := must(s.StaleReplicationJobs(time.Hour)).get(t); len(got) != 0 {
		t.Fatalf("stale after an hour: %v", jobIDs(got))
	}
	time.Sleep(30 * time.Millisecond)
	if got := must(s.StaleReplicationJobs(10 * time.Millisecond)).get(t); len(got) != 1 || got[0].ID != j {
		t.Fatalf("stale after 10ms: %v", jobIDs(got))
	}
	failed := must(s.FailStaleReplicationJobs(10*time.Millisecond, "no progress for 10ms")).get(t)
	if len(failed) != 1 || failed[0] != j {
		t.Fatalf("failed stale jobs: %v", failed)
	}
	job := must(s.ReplicationJob(j)).get(t)
	c := must(s.Context(web)).get(t)
	if job.Status != sendense.ReplicationJobFailed || str(job.ErrorMessage) != "no progress for 10ms" ||
		c.CurrentStatus != sendense.ContextFailed || c.FailedJobs != 1 || c.CurrentJobID != nil {
		t.Fatalf("after failing stale jobs: job %+v context %+v", job, c)
	}
	if got := must(s.FailStaleReplicationJobs(0, "again")).get(t); len(got) != 0 {
		t.Fatalf("nothing left to fail: %v", got)
	}
}
