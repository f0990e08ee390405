package sendense_test

import (
	"path/filepath"
	"testing"
	"time"

	"libsendense/bindings/go/sendense"
)

// The old names, kept for one release, are the new ones: the same types (aliases, no
// conversion needed), the same constants, and methods that do what the new ones do.
func TestDeprecatedNames(t *testing.T) {
	var (
		_ sendense.JobStatus     = sendense.ReplicationJobPending
		_ sendense.RequestedType = sendense.ReplicationRequestAuto
		_ sendense.StartJob      = sendense.ReplicationStart{}
		_ sendense.JobFilter     = sendense.ReplicationJobFilter{}
		_ sendense.Progress      = sendense.ReplicationProgress{}
		_ sendense.VMAProgress   = sendense.ReplicationVMAProgress{}
		_ sendense.BackupFilter  = sendense.BackupPointFilter{}
		_ sendense.CopyFilter    = sendense.BackupCopyFilter{}
	)
	for _, c := range []struct{ old, new sendense.ReplicationJobStatus }{
		{sendense.JobPending, "pending"}, {sendense.JobInitializing, "initializing"}, {sendense.JobAnalyzing, "analyzing"},
		{sendense.JobProvisioning, "provisioning"}, {sendense.JobAttaching, "attaching"}, {sendense.JobConfiguring, "configuring"},
		{sendense.JobReadyForSync, "ready_for_sync"}, {sendense.JobSnapshotting, "snapshotting"},
		{sendense.JobReplicating, "replicating"}, {sendense.JobFinalizing, "finalizing"}, {sendense.JobCompleted, "completed"},
		{sendense.JobFailed, "failed"}, {sendense.JobCancelled, "cancelled"},
		{sendense.JobPending, sendense.ReplicationJobPending}, {sendense.JobCancelled, sendense.ReplicationJobCancelled},
	} {
		if c.old != c.new {
			t.Fatalf("old status %q, new %q", c.old, c.new)
		}
	}
	if sendense.RequestInitial != "initial" || sendense.RequestIncremental != "incremental" || sendense.RequestAuto != "auto" {
		t.Fatal("the old requested types changed")
	}

	// Replication through the old names.
	s, _ := openTemp(t)
	web := must(s.CreateContext(newVM("web-01", "vm-101"))).get(t)
	j := must(s.StartReplication(sendense.StartJob{ContextID: web, ReplicationType: sendense.RequestInitial, Disks: twoDisks("web-01")})).get(t)
	ok(t, s.SetJobStatus(j, sendense.JobReplicating, ""))
	ok(t, s.Progress(j, sendense.Progress{Percent: 50, CurrentOperation: "copying"}))
	ok(t, s.VMAProgress(j, sendense.VMAProgress{CurrentPhase: sendense.String("transferring")}))
	ok(t, s.DiskProgress(j, "disk-2000", 50, 1<<20, sendense.DiskSyncing))
	job := must(s.Job(j)).get(t)
	if job.Status != sendense.JobReplicating || job.ProgressPercent != 50 || str(job.CurrentOperation) != "copying" ||
		str(job.VMACurrentPhase) != "transferring" || must(s.Disks(web)).get(t)[0].SyncStatus != sendense.DiskSyncing {
		t.Fatalf("job through the old names: %+v", job)
	}
	if got := must(s.ListJobs(sendense.JobFilter{ContextID: web})).get(t); len(got) != 1 || got[0].ID != j {
		t.Fatalf("ListJobs: %v", jobIDs(got))
	}
	if got := must(s.StaleJobs(time.Hour)).get(t); len(got) != 0 {
		t.Fatalf("StaleJobs: %v", jobIDs(got))
	}
	if got := must(s.FailStaleJobs(time.Hour, "x")).get(t); len(got) != 0 {
		t.Fatalf("FailStaleJobs: %v", got)
	}
	ok(t, s.SetJobStatus(j, sendense.JobFailed, "stopped"))
	ok(t, s.DeleteJob(j))
	_, err := s.Job(j)
	wantErr(t, "the deleted job", err, sendense.ErrNotFound)

	// Exports through the old names.
	d := newDeviceSetup(t, s, "db-01")
	d.attach(t, s, 0, "/dev/vdb", 10809)
	if got := must(s.NBDExportsByJob(d.job)).get(t); len(got) != 1 || got[0].ExportName != exportName(d.volumes[0]) {
		t.Fatalf("NBDExportsByJob: %+v", got)
	}
	ok(t, s.SetNBDExportJob(exportName(d.volumes[0]), ""))
	if got := must(s.NBDExportsByJob(d.job)).get(t); len(got) != 0 {
		t.Fatalf("NBDExportsByJob after clearing: %+v", got)
	}

	// Backup points and copies through the old names.
	b := newBackupSetup(t, s, "bk-01")
	p := b.backUp(t, s, 0, sendense.BackupFull, "", 1)
	if got := must(s.ListBackups(sendense.BackupFilter{ContextID: b.ctx})).get(t); len(got) != 1 || got[0].ID != p {
		t.Fatalf("ListBackups: %+v", got)
	}
	copies := must(s.ListCopies(sendense.CopyFilter{BackupID: p})).get(t)
	if len(copies) != 1 || must(s.Copy(copies[0].ID)).get(t).SourceBackupID != p {
		t.Fatalf("ListCopies and Copy: %+v", copies)
	}
	ok(t, s.DeleteBackup(p))
	_, err = s.BackupPoint(p)
	wantErr(t, "the deleted point", err, sendense.ErrNotFound)

	// The online copy of the store file through its old name.
	dest := filepath.Join(t.TempDir(), "copy.db")
	ok(t, s.Backup(dest))
	wantErr(t, "Backup over an existing file", s.Backup(dest), sendense.ErrAlreadyExists)
	c := must(sendense.Open(dest, &sendense.Options{MustExist: true})).get(t)
	defer c.Close()
	if got := must(c.ListContexts(sendense.ContextFilter{})).get(t); len(got) != 3 {
		t.Fatalf("contexts in the copy: %d", len(got))
	}
}
