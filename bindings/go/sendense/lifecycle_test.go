package sendense_test

// The lifecycle stories: each walks one area end to end through several concepts, the way a
// daemon uses them. The tests of each concept on its own are in its area's files.

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"libsendense/bindings/go/sendense"
)

// The replication lifecycle of two VMs with two disks each: an initial job with progress, change ids
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
	runReplicationJob(t, s, j2, map[string]string{"disk-2000": changeID(epochA, 150), "disk-2001": changeID(epochB, 9)})
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
	runReplicationJob(t, s, j3, map[string]string{"disk-2000": changeID(epochA, 3), "disk-2001": changeID(epochB, 3)})
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
		t.Fatalf("jobs of web-01, newest first: %v", jobIDs(jobs))
	}
	if got := must(s.ListReplicationJobs(sendense.ReplicationJobFilter{Status: sendense.ReplicationJobCompleted})).get(t); len(got) != 3 {
		t.Fatalf("completed jobs: %v", jobIDs(got))
	}
	if got := must(s.ListReplicationJobs(sendense.ReplicationJobFilter{Limit: 1, Offset: 1, ContextID: web})).get(t); len(got) != 1 || got[0].ID != j1 {
		t.Fatalf("paged jobs: %v", jobIDs(got))
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

	// Explicit context transitions (the edges neither jobs nor failovers drive).
	wantErr(t, "failed_over_test belongs to failovers", s.SetContextStatus(web, sendense.ContextFailedOverTest), sendense.ErrInvalidState)
	ok(t, s.SetContextStatus(db, sendense.ContextCleanupRequired))
	if c := must(s.Context(db)).get(t); c.CurrentStatus != sendense.ContextCleanupRequired {
		t.Fatalf("db after cleanup_required: %+v", c)
	}

	// The store: integrity, reopen (the online copy of the file: store_copy_test.go).
	if r := must(s.IntegrityCheck()).get(t); !r.OK || r.SchemaVersion < 1 || len(r.IntegrityErrors) != 0 || len(r.ForeignKeyViolations) != 0 {
		t.Fatalf("integrity: %+v", r)
	}

	ok(t, s.DeleteContext(db))
	wantErr(t, "get a deleted context", func() error { _, err := s.Context(db); return err }(), sendense.ErrNotFound)
	ok(t, s.Close())
	s2 := must(sendense.Open(path, nil)).get(t)
	defer s2.Close()
	if got := must(s2.ListContexts(sendense.ContextFilter{})).get(t); len(got) != 1 || got[0].SuccessfulJobs != 2 {
		t.Fatalf("after reopen: %+v", got)
	}
}

// The backup lifecycle of a 2-disk VM: repositories, a policy with a copy rule, a full and
// three incrementals per disk sharing a group per VM backup, chains, the restore chain of the
// newest point, a refused and an allowed delete, and the copies the policy queued.
func TestBackupLifecycle(t *testing.T) {
	s, _ := openTemp(t)
	b := newBackupSetup(t, s, "bk-01")

	repo := must(s.Repository(b.primary)).get(t)
	if repo.Name != "bk-01-primary" || repo.RepositoryType != sendense.RepositoryLocal || !repo.Enabled ||
		repo.Config["path"] != "/var/lib/sendense/bk-01" || repo.ImmutableConfig != nil || repo.CreatedAt.IsZero() {
		t.Fatalf("repository: %+v", repo)
	}
	if list := must(s.ListRepositories(sendense.RepositoryFilter{RepositoryType: sendense.RepositoryS3})).get(t); len(list) != 1 || list[0].ID != b.secondary {
		t.Fatalf("s3 repositories: %+v", list)
	}
	ok(t, s.RecordRepositoryCapacity(b.primary, 1<<40, 1<<30, 1<<39))
	renamed := must(s.UpdateRepository(b.primary, sendense.RepositoryUpdate{
		Name: sendense.String("bk-01-local"), MinRetentionDays: sendense.Int64(0),
	})).get(t)
	if renamed.Name != "bk-01-local" || renamed.TotalSizeBytes != 1<<40 || renamed.LastCheckAt == nil {
		t.Fatalf("updated repository: %+v", renamed)
	}
	policy := must(s.Policy(b.policy)).get(t)
	if policy.PrimaryRepositoryID != b.primary || policy.RetentionDays != 14 || len(policy.CopyRules) != 1 ||
		policy.CopyRules[0].DestinationRepositoryID != b.secondary || policy.CopyRules[0].CopyMode != sendense.CopyImmediate ||
		!policy.CopyRules[0].Enabled || !policy.CopyRules[0].VerifyAfterCopy {
		t.Fatalf("policy: %+v", policy)
	}
	if list := must(s.ListPolicies(sendense.PolicyFilter{RepositoryID: b.secondary})).get(t); len(list) != 1 || list[0].ID != b.policy {
		t.Fatalf("policies copying to the secondary: %+v", list)
	}

	// A full and three incrementals of each disk; each VM backup is one group.
	points := map[int64][]string{}
	var groups []string
	for round := 0; round < 4; round++ {
		typ := sendense.BackupIncremental
		if round == 0 {
			typ = sendense.BackupFull
		}
		group := fmt.Sprintf("vm-backup-%d", round)
		groups = append(groups, group)
		for disk := int64(0); disk < 2; disk++ {
			points[disk] = append(points[disk], b.backUp(t, s, disk, typ, group, 10*round+int(disk)+1))
		}
	}
	for disk, ids := range points {
		for i, id := range ids {
			p := must(s.BackupPoint(id)).get(t)
			if p.Status != sendense.BackupCompleted || p.DiskID != disk || p.VMContextID != b.ctx || p.VMName != "bk-01" ||
				str(p.BackupGroupID) != groups[i] || str(p.PolicyID) != b.policy || p.CompletedAt == nil || p.StartedAt == nil ||
				p.SizeBytes == 0 || p.ChangeID == nil {
				t.Fatalf("point %d of disk %d: %+v", i, disk, p)
			}
			if (i == 0) != (p.ParentBackupID == nil) || (i > 0 && *p.ParentBackupID != ids[i-1]) {
				t.Fatalf("point %d of disk %d has parent %s, want %v", i, disk, str(p.ParentBackupID), ids)
			}
		}
	}
	if group := must(s.ListBackupPoints(sendense.BackupPointFilter{BackupGroupID: groups[2]})).get(t); len(group) != 2 ||
		group[0].DiskID == group[1].DiskID {
		t.Fatalf("group %s: %+v", groups[2], group)
	}
	if all := must(s.ListBackupPoints(sendense.BackupPointFilter{ContextID: b.ctx, Status: sendense.BackupCompleted})).get(t); len(all) != 8 {
		t.Fatalf("%d completed points, want 8", len(all))
	}
	chains := must(s.Chains(b.ctx)).get(t)
	if len(chains) != 2 {
		t.Fatalf("chains: %+v", chains)
	}
	for _, c := range chains {
		ids := points[c.DiskID]
		if str(c.FullBackupID) != ids[0] || str(c.LatestBackupID) != ids[3] || c.TotalBackups != 4 || c.RepositoryID != b.primary {
			t.Fatalf("chain of disk %d: %+v", c.DiskID, c)
		}
	}

	// The restore chain of the newest point of disk 1: its full, then each incremental.
	newest := points[1][3]
	restore := must(s.RestoreChain(newest)).get(t)
	if len(restore) != 4 || restore[0].BackupType != sendense.BackupFull {
		t.Fatalf("restore chain: %+v", restore)
	}
	for i, p := range restore {
		if p.ID != points[1][i] {
			t.Fatalf("restore chain link %d is %s, want %s", i, p.ID, points[1][i])
		}
	}

	// The full is depended on: the refusal names the point building on it and changes nothing.
	e := wantErr(t, "deleting the full", s.DeleteBackupPoint(points[1][0]), sendense.ErrConflict)
	if !strings.Contains(e.Message, points[1][1]) || !strings.Contains(e.Message, "builds on it") {
		t.Fatalf("the refusal does not name the dependent: %v", e)
	}
	must(s.BackupPoint(points[1][0])).get(t)
	// The newest point can go; the chain then ends at its parent.
	ok(t, s.DeleteBackupPoint(newest))
	wantErr(t, "the deleted point", func() error { _, err := s.BackupPoint(newest); return err }(), sendense.ErrNotFound)
	for _, c := range must(s.Chains(b.ctx)).get(t) {
		if c.DiskID == 1 && (str(c.LatestBackupID) != points[1][2] || c.TotalBackups != 3) {
			t.Fatalf("chain of disk 1 after the delete: %+v", c)
		}
	}

	// Each completed point was owed one copy to the secondary; the deleted one took its copy
	// along. Claiming returns the oldest first, then nothing.
	var claimed []*sendense.BackupCopy
	for {
		c := must(s.ClaimCopy("worker-1")).get(t)
		if c == nil {
			break
		}
		if c.Status != sendense.CopyCopying || c.RepositoryID != b.secondary || c.CopyStartedAt == nil || str(c.CopyRuleID) != policy.CopyRules[0].ID ||
			!strings.HasPrefix(c.FilePath, b.secondary+"/"+b.ctx+"/disk-") {
			t.Fatalf("claimed copy: %+v", c)
		}
		claimed = append(claimed, c)
	}
	if len(claimed) != 7 || claimed[0].SourceBackupID != points[0][0] {
		t.Fatalf("claimed %d copies, want 7, the first of %s", len(claimed), points[0][0])
	}

	// The repositories hold backups and a policy writes to them: neither can go.
	wantErr(t, "deleting the primary", s.DeleteRepository(b.primary), sendense.ErrConflict)
	wantErr(t, "deleting the secondary", s.DeleteRepository(b.secondary), sendense.ErrConflict)
	updated := must(s.UpdatePolicy(b.policy, sendense.PolicyUpdate{CopyRules: []sendense.NewCopyRule{}})).get(t)
	if len(updated.CopyRules) != 0 {
		t.Fatalf("policy after removing its rules: %+v", updated)
	}
	ok(t, s.DeletePolicy(b.policy))
	if p := must(s.BackupPoint(points[0][0])).get(t); p.PolicyID != nil {
		t.Fatalf("a point keeps naming the deleted policy: %+v", p)
	}
	if r := must(s.IntegrityCheck()).get(t); !r.OK {
		t.Fatalf("integrity: %+v", r)
	}
}
