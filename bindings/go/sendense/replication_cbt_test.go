package sendense_test

import (
	"testing"

	"libsendense/bindings/go/sendense"
)

// Change block tracking: the decision for the next copy of a disk, the change ids recorded
// by successful copies (once per disk and job), the history linking each to its base, and the
// lineage check.
func TestCBT(t *testing.T) {
	s, _ := openTemp(t)
	web := must(s.CreateContext(newVM("web-01", "vm-101"))).get(t)
	decide := func(snap string, targetIsNew bool) sendense.Decision {
		t.Helper()
		return must(s.DecideCBT(web, "disk-2000", snap, targetIsNew)).get(t)
	}
	if d := decide(changeID(epochA, 1), false); d.Mode != sendense.SyncFull || d.Reason != sendense.ReasonNoBase || d.BaseChangeID != nil {
		t.Fatalf("before any copy: %+v", d)
	}

	j1 := must(s.StartReplication(sendense.ReplicationStart{ContextID: web, Disks: twoDisks("web-01")})).get(t)
	ok(t, s.SetReplicationJobStatus(j1, sendense.ReplicationJobReplicating, ""))
	ok(t, s.RecordCBT(j1, "disk-2000", changeID(epochA, 10), 40<<30))
	ok(t, s.RecordCBT(j1, "disk-2000", changeID(epochA, 10), 40<<30)) // the same again: a no-op
	wantErr(t, "another change id for the same disk and job", s.RecordCBT(j1, "disk-2000", changeID(epochA, 11), 1), sendense.ErrConflict)
	wantErr(t, "a malformed change id", s.RecordCBT(j1, "disk-2001", "12", 1), sendense.ErrInvalidArgument)
	wantErr(t, "a disk not in the job", s.RecordCBT(j1, "disk-9999", changeID(epochA, 1), 1), sendense.ErrNotFound)
	ok(t, s.RecordCBT(j1, "disk-2001", changeID(epochB, 3), 100<<30))
	ok(t, s.SetReplicationJobStatus(j1, sendense.ReplicationJobCompleted, ""))

	for _, c := range []struct {
		snap        string
		targetIsNew bool
		mode        sendense.SyncMode
		reason      sendense.DecisionReason
	}{
		{changeID(epochA, 20), false, sendense.SyncIncremental, sendense.ReasonBaseRecorded},
		{changeID(epochA, 20), true, sendense.SyncFull, sendense.ReasonTargetVolumeNew},
		{changeID(epochA, 5), false, sendense.SyncFull, sendense.ReasonBaseAheadOfSnapshot},
		{changeID(epochB, 20), false, sendense.SyncFull, sendense.ReasonCBTUUIDChanged},
	} {
		d := decide(c.snap, c.targetIsNew)
		if d.Mode != c.mode || d.Reason != c.reason || (c.mode == sendense.SyncIncremental) != (str(d.BaseChangeID) == changeID(epochA, 10)) {
			t.Fatalf("decide %s new=%v: %+v (base %s), want %s %s", c.snap, c.targetIsNew, d, str(d.BaseChangeID), c.mode, c.reason)
		}
	}
	_, err := s.DecideCBT(web, "disk-2000", "garbage", false)
	wantErr(t, "an unparsable snapshot change id", err, sendense.ErrInvalidArgument)

	// The incremental links to the base it started from.
	j2 := must(s.StartReplication(sendense.ReplicationStart{ContextID: web, Disks: twoDisks("web-01")})).get(t)
	runReplicationJob(t, s, j2, map[string]string{"disk-2000": changeID(epochA, 20), "disk-2001": changeID(epochB, 8)})
	hist := must(s.CBTHistory(web, "disk-2001")).get(t)
	if len(hist) != 2 || hist[0].ChangeID != changeID(epochB, 3) || hist[0].PreviousChangeID != nil || str(hist[0].JobID) != j1 ||
		hist[1].ChangeID != changeID(epochB, 8) || str(hist[1].PreviousChangeID) != changeID(epochB, 3) || str(hist[1].JobID) != j2 ||
		hist[1].SyncType != "incremental" || !hist[1].SyncSuccess || hist[1].BytesTransferred == nil {
		t.Fatalf("history of disk-2001: %+v", hist)
	}
	all := must(s.CBTHistory(web, "")).get(t)
	if len(all) != 4 || all[0].DiskID != "disk-2000" || all[3].DiskID != "disk-2001" {
		t.Fatalf("history of every disk: %+v", all)
	}
	report := must(s.VerifyLineage(web)).get(t)
	if !report.OK || report.ContextID != web || report.DisksChecked != 2 || report.EntriesChecked != 4 || len(report.Breaks) != 0 {
		t.Fatalf("lineage: %+v", report)
	}
	_, err = s.VerifyLineage("no-such-context")
	wantErr(t, "the lineage of an unknown context", err, sendense.ErrNotFound)

	// A new target volume: the decision's full copy is what the history records.
	j3 := must(s.StartReplication(sendense.ReplicationStart{ContextID: web, Disks: twoDisks("web-01")})).get(t)
	ok(t, s.SetReplicationJobStatus(j3, sendense.ReplicationJobReplicating, ""))
	d := decide(changeID(epochA, 30), true)
	wantErr(t, "an incremental without its base", s.RecordCBTSync(j3, "disk-2000", changeID(epochA, 30), 1,
		&sendense.Decision{Mode: sendense.SyncIncremental}), sendense.ErrInvalidArgument)
	ok(t, s.RecordCBTSync(j3, "disk-2000", changeID(epochA, 30), 1, &d))
	ok(t, s.RecordCBTSync(j3, "disk-2001", changeID(epochB, 9), 1, nil))
	hist = must(s.CBTHistory(web, "")).get(t)
	if h := hist[2]; h.ChangeID != changeID(epochA, 30) || h.SyncType != "full" || h.PreviousChangeID != nil {
		t.Fatalf("the full copy of disk-2000: %+v", h)
	}
	if h := hist[5]; h.ChangeID != changeID(epochB, 9) || h.SyncType != "incremental" || str(h.PreviousChangeID) != changeID(epochB, 8) {
		t.Fatalf("the inferred incremental of disk-2001: %+v", h)
	}
}
