package sendense_test

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"libsendense/bindings/go/sendense"
)

func TestVersions(t *testing.T) {
	if sendense.LibraryABIVersion() != sendense.ABIVersion {
		t.Fatalf("library ABI %d, header ABI %d", sendense.LibraryABIVersion(), sendense.ABIVersion)
	}
	if sendense.Version() == "" {
		t.Fatal("empty version")
	}
	if got := sendense.StatusConflict.String(); got != "CONFLICT" {
		t.Fatalf("status name %q", got)
	}
}

// The lifecycle of two VMs with two disks each: an initial job with progress, change ids
// recorded, the CBT decision, an incremental from the right base, a failed job, a deleted
// job, and the counters after each step.
func TestLifecycle(t *testing.T) {
	s, path := openTemp(t)
	before := time.Now().Add(-time.Second)

	if v := must(s.SchemaVersion()).get(t); v < 1 {
		t.Fatalf("schema version %d", v)
	}
	web := must(s.CreateContext(newVM("web-01", "vm-101"))).get(t)
	db := must(s.CreateContext(newVM("db-01", "vm-102"))).get(t)

	c := must(s.Context(web)).get(t)
	if c.ContextID != web || c.VMName != "web-01" || c.CurrentStatus != sendense.ContextDiscovered ||
		c.TotalJobsRun != 0 || c.CurrentJobID != nil || *c.CPUCount != 4 || !c.SchedulerEnabled ||
		c.CreatedAt.Before(before) || c.FirstJobAt != nil || c.LastOperationSummary != nil {
		t.Fatalf("new context: %+v", c)
	}

	// Initial replication of web-01 (auto resolves to initial: no change id recorded yet).
	j1 := must(s.StartReplication(sendense.ReplicationStart{ContextID: web, Disks: twoDisks("web-01"), SnapshotID: "snap-1"})).get(t)
	job := must(s.ReplicationJob(j1)).get(t)
	if job.ReplicationType != sendense.ReplicationInitial || job.Status != sendense.ReplicationJobPending ||
		job.VMContextID != web || job.SourceVMName != "web-01" || job.VCenterHost != "vcenter.example.test" ||
		str(job.SnapshotID) != "snap-1" {
		t.Fatalf("started job: %+v", job)
	}
	c = must(s.Context(web)).get(t)
	if c.CurrentStatus != sendense.ContextReplicating || str(c.CurrentJobID) != j1 || c.TotalJobsRun != 1 ||
		c.FirstJobAt == nil || c.LastStatusChange == nil {
		t.Fatalf("context during the job: %+v", c)
	}

	ok(t, s.SetReplicationJobStatus(j1, sendense.ReplicationJobReplicating, ""))
	const total = 140 << 30
	for pct := 0; pct <= 100; pct += 10 {
		ok(t, s.ReplicationProgress(j1, sendense.ReplicationProgress{Percent: float64(pct), BytesTransferred: total / 100 * int64(pct),
			TotalBytes: total, SpeedBps: 300 << 20, CurrentOperation: "copying disk-2000"}))
	}
	ok(t, s.ReplicationProgress(j1, sendense.ReplicationProgress{Percent: 100, BytesTransferred: total, TotalBytes: total}))
	ok(t, s.ReplicationVMAProgress(j1, sendense.ReplicationVMAProgress{SyncType: sendense.String("initial"),
		CurrentPhase: sendense.String("transferring"), ThroughputMbps: sendense.Float64(812.5), ETASeconds: sendense.Int64(0)}))
	ok(t, s.ReplicationDiskProgress(j1, "disk-2000", 100, 40<<30, sendense.DiskSyncing))
	ok(t, s.ReplicationDiskProgress(j1, "disk-2001", 55.5, 55<<30, ""))
	job = must(s.ReplicationJob(j1)).get(t)
	if job.ProgressPercent != 100 || job.BytesTransferred != total || job.TotalBytes != total ||
		str(job.CurrentOperation) != "copying disk-2000" || job.StartedAt == nil ||
		str(job.VMASyncType) != "initial" || job.VMAThroughputMbps != 812.5 || job.VMALastPollAt == nil {
		t.Fatalf("job after progress: %+v", job)
	}
	disks := must(s.Disks(web)).get(t)
	if len(disks) != 2 || disks[0].DiskID != "disk-2000" || disks[0].SyncStatus != sendense.DiskSyncing ||
		disks[1].SyncStatus != sendense.DiskPending || disks[1].SyncProgressPercent != 55.5 || str(disks[0].JobID) != j1 {
		t.Fatalf("disks during the job: %+v", disks)
	}

	ok(t, s.RecordCBT(j1, "disk-2000", changeID(epochA, 100), 40<<30))
	ok(t, s.RecordCBT(j1, "disk-2001", changeID(epochB, 7), 100<<30))
	ok(t, s.RecordCBT(j1, "disk-2000", changeID(epochA, 100), 40<<30)) // the same again: a no-op
	ok(t, s.SetReplicationJobStatus(j1, sendense.ReplicationJobFinalizing, ""))
	ok(t, s.SetReplicationJobStatus(j1, sendense.ReplicationJobCompleted, ""))

	c = must(s.Context(web)).get(t)
	if c.CurrentStatus != sendense.ContextReadyForFailover || c.CurrentJobID != nil || c.TotalJobsRun != 1 ||
		c.SuccessfulJobs != 1 || c.FailedJobs != 0 || str(c.LastSuccessfulJobID) != j1 {
		t.Fatalf("context after the initial job: %+v", c)
	}
	job = must(s.ReplicationJob(j1)).get(t)
	if job.Status != sendense.ReplicationJobCompleted || job.CompletedAt == nil || job.CompletedAt.Before(job.CreatedAt) {
		t.Fatalf("completed job: %+v", job)
	}
	disks = must(s.Disks(web)).get(t)
	if str(disks[0].DiskChangeID) != changeID(epochA, 100) || str(disks[1].DiskChangeID) != changeID(epochB, 7) ||
		disks[0].SyncStatus != sendense.DiskCompleted {
		t.Fatalf("disks after the initial job: %+v", disks)
	}

	// The CBT decisions for the next snapshot.
	decide := func(disk, snap string, targetIsNew bool, mode sendense.SyncMode, base string, reason sendense.DecisionReason) {
		t.Helper()
		d := must(s.DecideCBT(web, disk, snap, targetIsNew)).get(t)
		if d.Mode != mode || d.Reason != reason || (base == "") != (d.BaseChangeID == nil) || (base != "" && *d.BaseChangeID != base) {
			t.Fatalf("decide %s %s new=%v: %+v (base %s), want %s %q %s", disk, snap, targetIsNew, d, str(d.BaseChangeID), mode, base, reason)
		}
	}
	decide("disk-2000", changeID(epochA, 150), false, sendense.SyncIncremental, changeID(epochA, 100), sendense.ReasonBaseRecorded)
	decide("disk-2000", changeID(epochA, 150), true, sendense.SyncFull, "", sendense.ReasonTargetVolumeNew)
	decide("disk-2000", changeID(epochA, 50), false, sendense.SyncFull, "", sendense.ReasonBaseAheadOfSnapshot)
	decide("disk-2001", changeID(epochA, 8), false, sendense.SyncFull, "", sendense.ReasonCBTUUIDChanged)
	decide("disk-3000", changeID(epochA, 1), false, sendense.SyncFull, "", sendense.ReasonNoBase)

	// The incremental (auto resolves to incremental from the recorded bases).
	j2 := must(s.StartReplication(sendense.ReplicationStart{ContextID: web, Disks: twoDisks("web-01")})).get(t)
	if job := must(s.ReplicationJob(j2)).get(t); job.ReplicationType != sendense.ReplicationIncremental {
		t.Fatalf("second job: %+v", job)
	}
	runJob(t, s, j2, map[string]string{"disk-2000": changeID(epochA, 150), "disk-2001": changeID(epochB, 9)})
	hist := must(s.CBTHistory(web, "disk-2000")).get(t)
	if len(hist) != 2 || hist[0].SyncType != "initial" || hist[1].SyncType != "incremental" ||
		str(hist[1].PreviousChangeID) != changeID(epochA, 100) || hist[1].ChangeID != changeID(epochA, 150) ||
		str(hist[1].JobID) != j2 || !hist[1].SyncSuccess {
		t.Fatalf("history of disk-2000: %+v", hist)
	}
	if all := must(s.CBTHistory(web, "")).get(t); len(all) != 4 {
		t.Fatalf("history of web-01: %d entries", len(all))
	}
	report := must(s.VerifyLineage(web)).get(t)
	if !report.OK || report.ContextID != web || report.DisksChecked != 2 || report.EntriesChecked != 4 || len(report.Breaks) != 0 {
		t.Fatalf("lineage: %+v", report)
	}
	c = must(s.Context(web)).get(t)
	if c.TotalJobsRun != 2 || c.SuccessfulJobs != 2 || str(c.LastSuccessfulJobID) != j2 ||
		c.CurrentStatus != sendense.ContextReadyForFailover || !c.LastJobAt.After(*c.FirstJobAt) && !c.LastJobAt.Equal(*c.FirstJobAt) {
		t.Fatalf("context after the incremental: %+v", c)
	}

	// db-01: an initial job, then a failed one, which is deleted.
	j3 := must(s.StartReplication(sendense.ReplicationStart{ContextID: db, ReplicationType: sendense.ReplicationRequestInitial, Disks: twoDisks("db-01")})).get(t)
	runJob(t, s, j3, map[string]string{"disk-2000": changeID(epochA, 3), "disk-2001": changeID(epochB, 3)})
	j4 := must(s.StartReplication(sendense.ReplicationStart{ContextID: db, ReplicationType: sendense.ReplicationRequestIncremental, Disks: twoDisks("db-01")})).get(t)
	ok(t, s.SetReplicationJobStatus(j4, sendense.ReplicationJobReplicating, ""))
	ok(t, s.ReplicationProgress(j4, sendense.ReplicationProgress{Percent: 12.5, BytesTransferred: 1 << 30, TotalBytes: 8 << 30, SpeedBps: 1 << 20}))
	ok(t, s.SetReplicationJobStatus(j4, sendense.ReplicationJobFailed, "VMA unreachable: connection refused"))
	job = must(s.ReplicationJob(j4)).get(t)
	if job.Status != sendense.ReplicationJobFailed || str(job.ErrorMessage) != "VMA unreachable: connection refused" || job.CompletedAt == nil {
		t.Fatalf("failed job: %+v", job)
	}
	c = must(s.Context(db)).get(t)
	if c.CurrentStatus != sendense.ContextFailed || c.TotalJobsRun != 2 || c.SuccessfulJobs != 1 || c.FailedJobs != 1 ||
		str(c.LastSuccessfulJobID) != j3 || c.CurrentJobID != nil {
		t.Fatalf("context after the failed job: %+v", c)
	}
	ok(t, s.DeleteReplicationJob(j4))
	wantErr(t, "get a deleted job", func() error { _, err := s.ReplicationJob(j4); return err }(), sendense.ErrNotFound)
	c = must(s.Context(db)).get(t)
	if c.TotalJobsRun != 1 || c.SuccessfulJobs != 1 || c.FailedJobs != 0 || str(c.LastSuccessfulJobID) != j3 {
		t.Fatalf("context after deleting the failed job: %+v", c)
	}
	disks = must(s.Disks(db)).get(t)
	if len(disks) != 2 || str(disks[0].DiskChangeID) != changeID(epochA, 3) {
		t.Fatalf("disks survive a job deletion: %+v", disks)
	}

	// Lists and lookups.
	jobs := must(s.ListReplicationJobs(sendense.ReplicationJobFilter{ContextID: web})).get(t)
	if len(jobs) != 2 || jobs[0].ID != j2 || jobs[1].ID != j1 {
		t.Fatalf("jobs of web-01, newest first: %v", ids(jobs))
	}
	if got := must(s.ListReplicationJobs(sendense.ReplicationJobFilter{Status: sendense.ReplicationJobCompleted})).get(t); len(got) != 3 {
		t.Fatalf("completed jobs: %v", ids(got))
	}
	if got := must(s.ListReplicationJobs(sendense.ReplicationJobFilter{Limit: 1, Offset: 1, ContextID: web})).get(t); len(got) != 1 || got[0].ID != j1 {
		t.Fatalf("paged jobs: %v", ids(got))
	}
	all := must(s.ListContexts(sendense.ContextFilter{})).get(t)
	if len(all) != 2 || all[0].VMName != "db-01" || all[1].VMName != "web-01" {
		t.Fatalf("contexts: %+v", all)
	}
	if got := must(s.ListContexts(sendense.ContextFilter{NamePrefix: "web"})).get(t); len(got) != 1 || got[0].ContextID != web {
		t.Fatalf("contexts named web*: %+v", got)
	}
	if got := must(s.ListContexts(sendense.ContextFilter{Status: sendense.ContextFailed})).get(t); len(got) != 1 || got[0].ContextID != db {
		t.Fatalf("failed contexts: %+v", got)
	}
	if got := must(s.ListContexts(sendense.ContextFilter{SchedulerEnabled: sendense.Bool(false)})).get(t); len(got) != 0 {
		t.Fatalf("contexts without scheduler: %+v", got)
	}
	if got := must(s.FindContext("vm-101", "vcenter.example.test")).get(t); got.ContextID != web {
		t.Fatalf("find: %+v", got)
	}

	// Updates: set, clear (null) and leave alone are three different things.
	next := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	u := must(s.UpdateContext(web, sendense.ContextUpdate{
		VMName: sendense.String("web-01-renamed"), CPUCount: sendense.Int64(8), SchedulerEnabled: sendense.Bool(false),
		NextScheduledAt: &next, LastOperationSummary: json.RawMessage(`{"op":"rename"}`), Clear: []string{"os_type"},
	})).get(t)
	if u.VMName != "web-01-renamed" || *u.CPUCount != 8 || u.OSType != nil || *u.MemoryMB != 8192 || u.SchedulerEnabled ||
		!u.NextScheduledAt.Equal(next) || string(u.LastOperationSummary) != `{"op":"rename"}` || u.ContextID != web {
		t.Fatalf("updated context: %+v", u)
	}
	u = must(s.UpdateContext(web, sendense.ContextUpdate{Clear: []string{"cpu_count", "last_operation_summary", "next_scheduled_at"}})).get(t)
	if u.CPUCount != nil || u.LastOperationSummary != nil || u.NextScheduledAt != nil || u.VMName != "web-01-renamed" {
		t.Fatalf("cleared context: %+v", u)
	}

	// Explicit context transitions (the edges jobs do not drive).
	ok(t, s.SetContextStatus(web, sendense.ContextFailedOverTest))
	ok(t, s.SetContextStatus(web, sendense.ContextReadyForFailover))
	ok(t, s.SetContextStatus(db, sendense.ContextCleanupRequired))
	if c := must(s.Context(db)).get(t); c.CurrentStatus != sendense.ContextCleanupRequired {
		t.Fatalf("db after cleanup_required: %+v", c)
	}

	// The store: integrity, backup, reopen.
	if r := must(s.IntegrityCheck()).get(t); !r.OK || r.SchemaVersion < 1 || len(r.IntegrityErrors) != 0 || len(r.ForeignKeyViolations) != 0 {
		t.Fatalf("integrity: %+v", r)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	ok(t, s.CopyDatabaseTo(backup))
	wantErr(t, "backup over an existing file", s.CopyDatabaseTo(backup), sendense.ErrAlreadyExists)
	b := must(sendense.Open(backup, &sendense.Options{MustExist: true})).get(t)
	if got := must(b.ListContexts(sendense.ContextFilter{})).get(t); len(got) != 2 {
		t.Fatalf("contexts in the backup: %d", len(got))
	}
	ok(t, b.Close())

	ok(t, s.DeleteContext(db))
	wantErr(t, "get a deleted context", func() error { _, err := s.Context(db); return err }(), sendense.ErrNotFound)
	ok(t, s.Close())
	s2 := must(sendense.Open(path, nil)).get(t)
	defer s2.Close()
	if got := must(s2.ListContexts(sendense.ContextFilter{})).get(t); len(got) != 1 || got[0].SuccessfulJobs != 2 {
		t.Fatalf("after reopen: %+v", got)
	}
}

func TestStaleJobs(t *testing.T) {
	s, _ := openTemp(t)
	web := must(s.CreateContext(newVM("web-01", "vm-101"))).get(t)
	j := must(s.StartReplication(sendense.ReplicationStart{ContextID: web, Disks: twoDisks("web-01")})).get(t)
	ok(t, s.SetReplicationJobStatus(j, sendense.ReplicationJobReplicating, ""))
	if got := must(s.StaleReplicationJobs(time.Hour)).get(t); len(got) != 0 {
		t.Fatalf("stale after an hour: %v", ids(got))
	}
	time.Sleep(30 * time.Millisecond)
	if got := must(s.StaleReplicationJobs(10 * time.Millisecond)).get(t); len(got) != 1 || got[0].ID != j {
		t.Fatalf("stale after 10ms: %v", ids(got))
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

func TestInMemory(t *testing.T) {
	s := must(sendense.OpenInMemory(nil)).get(t)
	defer s.Close()
	id := must(s.CreateContext(newVM("mem-01", "vm-1"))).get(t)
	if c := must(s.Context(id)).get(t); c.VMName != "mem-01" {
		t.Fatalf("%+v", c)
	}
}

func ids(jobs []sendense.ReplicationJob) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}
