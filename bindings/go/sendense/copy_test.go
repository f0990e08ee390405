package sendense_test

import (
	"fmt"
	"testing"

	"libsendense/bindings/go/sendense"
)

// Chains through the typed snapshot, the CBT decision of the next backup, VM-level and
// per-disk restore points, and the copy workflow after the claim.
func TestChainDecisionRestorePointsAndCopies(t *testing.T) {
	s, _ := openTemp(t)
	b := newBackupSetup(t, s, "cp-01")

	_, err := s.Chain(b.ctx, 0, b.primary)
	wantErr(t, "a chain before any backup", err, sendense.ErrNotFound)
	d := must(s.DecideBackupCBT(b.ctx, 0, b.primary, changeID(epochA, 1))).get(t)
	if d.Mode != sendense.SyncFull || d.BaseChangeID != nil || d.Reason != sendense.ReasonNoBase {
		t.Fatalf("first decision: %+v", d)
	}

	// Three VM backups; in the third, disk 1 fails, so that VM backup is no restore point.
	for g, typ := range []sendense.BackupType{sendense.BackupFull, sendense.BackupIncremental} {
		for disk := int64(0); disk < 2; disk++ {
			b.backUp(t, s, disk, typ, fmt.Sprintf("vm-backup-%d", g), 10*g+int(disk)+1)
		}
	}
	b.backUp(t, s, 0, sendense.BackupIncremental, "vm-backup-2", 30)
	failed := must(s.StartBackup(sendense.BackupStart{ContextID: b.ctx, DiskID: 1, RepositoryID: b.primary,
		BackupType: sendense.BackupIncremental, PolicyID: b.policy, BackupGroupID: "vm-backup-2", RepositoryPath: "/x"})).get(t)
	ok(t, s.FailBackup(failed, "snapshot removed under the backup"))

	chain := must(s.Chain(b.ctx, 0, b.primary)).get(t)
	for _, c := range must(s.Chains(b.ctx)).get(t) {
		if c.DiskID == 0 && (c.ID != chain.ID || str(c.LatestBackupID) != str(chain.LatestBackupID) ||
			c.TotalBackups != chain.TotalBackups || c.TotalSizeBytes != chain.TotalSizeBytes ||
			!c.CreatedAt.Equal(chain.CreatedAt) || !c.UpdatedAt.Equal(chain.UpdatedAt)) {
			t.Fatalf("typed chain %+v differs from the listed one %+v", chain, c)
		}
	}
	if chain.TotalBackups != 3 || chain.VMContextID != b.ctx || chain.RepositoryID != b.primary || chain.DiskID != 0 {
		t.Fatalf("chain: %+v", chain)
	}
	d = must(s.DecideBackupCBT(b.ctx, 0, b.primary, changeID(epochA, 31))).get(t)
	if d.Mode != sendense.SyncIncremental || str(d.BaseChangeID) != changeID(epochA, 30) {
		t.Fatalf("decision after three points: %+v", d)
	}
	_, err = s.DecideBackupCBT(b.ctx, 0, b.primary, "garbage")
	wantErr(t, "a malformed change id", err, sendense.ErrInvalidArgument)
	_, err = s.DecideBackupCBT(b.ctx, 0, "no-such-repository", changeID(epochA, 31))
	wantErr(t, "an unknown repository", err, sendense.ErrNotFound)

	points := must(s.RestorePoints(b.ctx)).get(t)
	if len(points) != 2 || str(points[0].BackupGroupID) != "vm-backup-1" || str(points[1].BackupGroupID) != "vm-backup-0" ||
		len(points[0].Disks) != 2 || points[0].Disks[0].DiskID != 0 || points[0].Disks[1].DiskID != 1 ||
		points[0].TotalSizeBytes != points[0].Disks[0].SizeBytes+points[0].Disks[1].SizeBytes || points[0].RepositoryID != b.primary {
		t.Fatalf("restore points: %+v", points)
	}
	disk0 := must(s.DiskRestorePoints(b.ctx, 0)).get(t)
	if len(disk0) != 3 || str(disk0[0].BackupGroupID) != "vm-backup-2" || str(disk0[0].ChangeID) != changeID(epochA, 30) ||
		disk0[2].BackupType != sendense.BackupFull || disk0[2].ParentBackupID != nil {
		t.Fatalf("restore points of disk 0: %+v", disk0)
	}
	_, err = s.RestorePoints("no-such-context")
	wantErr(t, "restore points of an unknown context", err, sendense.ErrNotFound)

	// The copy workflow: claim, written, verified (passed), and the failures.
	pending := must(s.ListBackupCopies(sendense.BackupCopyFilter{Status: sendense.CopyPending})).get(t)
	if len(pending) != 5 {
		t.Fatalf("%d pending copies, want 5 (one per completed point)", len(pending))
	}
	c := must(s.ClaimCopy("worker-a")).get(t)
	if c.ID != pending[0].ID {
		t.Fatalf("claimed %s, the oldest pending is %s", c.ID, pending[0].ID)
	}
	wantErr(t, "verifying a copy being copied", s.CompleteCopy(c.ID, sendense.VerificationPassed), sendense.ErrInvalidState)
	ok(t, s.SetCopyVerifying(c.ID, "offsite/"+c.SourceBackupID+".qcow2", 4<<20))
	wantErr(t, "pending is not a result", s.CompleteCopy(c.ID, sendense.VerificationPending), sendense.ErrInvalidArgument)
	ok(t, s.CompleteCopy(c.ID, sendense.VerificationPassed))
	done := must(s.BackupCopy(c.ID)).get(t)
	if done.Status != sendense.CopyCompleted || done.VerificationStatus != sendense.VerificationPassed || done.VerifiedAt == nil ||
		done.CopyCompletedAt == nil || done.FilePath != "offsite/"+c.SourceBackupID+".qcow2" || done.SizeBytes != 4<<20 {
		t.Fatalf("completed copy: %+v", done)
	}
	second := must(s.ClaimCopy("worker-b")).get(t)
	ok(t, s.FailCopy(second.ID, "bucket unreachable"))
	third := must(s.ClaimCopy("worker-c")).get(t)
	ok(t, s.SetCopyVerifying(third.ID, "offsite/third.qcow2", 1))
	ok(t, s.CompleteCopy(third.ID, sendense.VerificationFailed))
	failedCopies := must(s.ListBackupCopies(sendense.BackupCopyFilter{Status: sendense.CopyFailed})).get(t)
	if len(failedCopies) != 2 || str(failedCopies[0].ErrorMessage) == "" || str(failedCopies[1].ErrorMessage) == "" {
		t.Fatalf("failed copies: %+v", failedCopies)
	}
	if list := must(s.ListBackupCopies(sendense.BackupCopyFilter{BackupID: c.SourceBackupID})).get(t); len(list) != 1 || list[0].ID != c.ID {
		t.Fatalf("copies of %s: %+v", c.SourceBackupID, list)
	}
	wantErr(t, "failing a finished copy", s.FailCopy(c.ID, "late"), sendense.ErrInvalidState)
	wantErr(t, "an unknown copy", s.SetCopyVerifying("no-such-copy", "x", 0), sendense.ErrNotFound)
	_, err = s.BackupCopy("no-such-copy")
	wantErr(t, "reading an unknown copy", err, sendense.ErrNotFound)
}
