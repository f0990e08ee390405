package sendense_test

import (
	"encoding/json"
	"testing"

	"libsendense/bindings/go/sendense"
)

// A disk row is stable per (context, VMware disk): each job upserts it, keeping its id and its
// recorded change id; the per-disk progress of a job sets its sync status and percentage.
func TestDisks(t *testing.T) {
	s, _ := openTemp(t)
	web := must(s.CreateContext(newVM("web-01", "vm-101"))).get(t)
	specs := twoDisks("web-01")
	specs[1].NetworkConfig = json.RawMessage(`{"nic":"VM Network"}`)
	j1 := must(s.StartReplication(sendense.ReplicationStart{ContextID: web, Disks: specs})).get(t)
	disks := must(s.Disks(web)).get(t)
	if len(disks) != 2 || disks[0].DiskID != "disk-2000" || disks[0].VMDKPath != specs[0].VMDKPath || disks[0].SizeGB != 40 ||
		str(disks[0].Datastore) != "ds1" || disks[0].UnitNumber == nil || *disks[0].UnitNumber != 0 || str(disks[0].JobID) != j1 ||
		disks[0].SyncStatus != sendense.DiskPending || disks[0].NetworkConfig != nil || disks[0].DiskChangeID != nil {
		t.Fatalf("disks of the first job: %+v", disks)
	}
	var nic map[string]string
	if err := json.Unmarshal(disks[1].NetworkConfig, &nic); err != nil || nic["nic"] != "VM Network" {
		t.Fatalf("network config %s: %v", disks[1].NetworkConfig, err)
	}

	ok(t, s.SetReplicationJobStatus(j1, sendense.ReplicationJobReplicating, ""))
	ok(t, s.ReplicationDiskProgress(j1, "disk-2000", 30, 12<<30, sendense.DiskSyncing))
	ok(t, s.ReplicationDiskProgress(j1, "disk-2000", 75, 30<<30, "")) // the sync status stays
	if d := must(s.Disks(web)).get(t)[0]; d.SyncStatus != sendense.DiskSyncing || d.SyncProgressPercent != 75 || d.BytesSynced != 30<<30 {
		t.Fatalf("disk-2000 during the job: %+v", d)
	}
	wantErr(t, "a disk not in the job", s.ReplicationDiskProgress(j1, "disk-3000", 1, 1, ""), sendense.ErrNotFound)
	wantErr(t, "a sync status not in the set", s.ReplicationDiskProgress(j1, "disk-2000", 1, 1, "copying"), sendense.ErrInvalidArgument)
	ok(t, s.RecordCBT(j1, "disk-2000", changeID(epochA, 5), 40<<30))
	ok(t, s.RecordCBT(j1, "disk-2001", changeID(epochB, 5), 100<<30))
	ok(t, s.SetReplicationJobStatus(j1, sendense.ReplicationJobCompleted, ""))

	// The second job sees a third disk: the two rows stay (ids, change ids), one is added.
	specs = append(twoDisks("web-01"), sendense.DiskSpec{DiskID: "disk-2002", VMDKPath: "[ds1] web-01/web-01_2.vmdk", SizeGB: 10})
	j2 := must(s.StartReplication(sendense.ReplicationStart{ContextID: web, Disks: specs})).get(t)
	again := must(s.Disks(web)).get(t)
	if len(again) != 3 || again[2].DiskID != "disk-2002" || again[2].DiskChangeID != nil || str(again[2].JobID) != j2 {
		t.Fatalf("disks of the second job: %+v", again)
	}
	for i := range disks {
		if again[i].ID != disks[i].ID || str(again[i].JobID) != j2 || again[i].DiskChangeID == nil {
			t.Fatalf("disk %s after the second start: %+v, was %+v", disks[i].DiskID, again[i], disks[i])
		}
	}
	if str(again[0].DiskChangeID) != changeID(epochA, 5) || str(again[1].DiskChangeID) != changeID(epochB, 5) {
		t.Fatalf("the recorded change ids did not stay: %+v", again)
	}
	_, err := s.Disks("no-such-context")
	wantErr(t, "the disks of an unknown context", err, sendense.ErrNotFound)
}
