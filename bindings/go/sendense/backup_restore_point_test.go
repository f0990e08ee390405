package sendense_test

import (
	"testing"

	"libsendense/bindings/go/sendense"
)

// VM-level restore points list only the VM backups whose every disk completed; per-disk
// restore points list every completed point of the disk.
func TestRestorePoints(t *testing.T) {
	s, _ := openTemp(t)
	b := newBackupSetup(t, s, "cp-01")
	b.threeVMBackups(t, s)

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
	_, err := s.RestorePoints("no-such-context")
	wantErr(t, "restore points of an unknown context", err, sendense.ErrNotFound)
}
