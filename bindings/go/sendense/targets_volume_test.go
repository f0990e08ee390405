package sendense_test

import (
	"fmt"
	"strings"
	"testing"

	"libsendense/bindings/go/sendense"
)

// Volumes move along their status and snapshot machines only; refusals change nothing.
func TestVolumeStateMachines(t *testing.T) {
	s, _ := openTemp(t) // volumes need no key
	ctx := must(s.CreateContext(newVM("web-01", "vm-101"))).get(t)
	id := must(s.CreateVolume(sendense.NewVolume{VMContextID: ctx, VolumeID: "vol-0001", VolumeName: "web-01-disk-0",
		SizeGB: 40, VolumeType: "DATADISK"})).get(t)
	v := must(s.Volume(id)).get(t)
	if v.Status != sendense.VolumeCreating || v.SnapshotStatus != sendense.SnapshotNone || str(v.VMContextID) != ctx || str(v.VolumeType) != "DATADISK" {
		t.Fatalf("new volume: %+v", v)
	}
	unchanged := func(what string) {
		t.Helper()
		if now := must(s.Volume(id)).get(t); now.Status != v.Status || now.SnapshotStatus != v.SnapshotStatus ||
			!now.UpdatedAt.Equal(v.UpdatedAt) || str(now.DevicePath) != str(v.DevicePath) || str(now.SnapshotID) != str(v.SnapshotID) {
			t.Fatalf("%s changed the volume: %+v, was %+v", what, now, v)
		}
	}
	step := func(to sendense.VolumeStatus, device string) {
		t.Helper()
		ok(t, s.SetVolumeStatus(id, to, device))
		v = must(s.Volume(id)).get(t)
		if v.Status != to || str(v.DevicePath) != map[bool]string{true: device, false: "<nil>"}[device != ""] {
			t.Fatalf("after %s: %+v", to, v)
		}
	}
	e := wantErr(t, "creating -> attached", s.SetVolumeStatus(id, sendense.VolumeAttached, "/dev/vdb"), sendense.ErrInvalidState)
	if !strings.Contains(e.Message, "creating") || !strings.Contains(e.Message, "attached") {
		t.Fatalf("the refusal does not name from and to: %q", e.Message)
	}
	unchanged("a refused move")
	step(sendense.VolumeAvailable, "")
	wantErr(t, "attached without a device", s.SetVolumeStatus(id, sendense.VolumeAttached, ""), sendense.ErrInvalidArgument)
	wantErr(t, "error with a device", s.SetVolumeStatus(id, sendense.VolumeError, "/dev/vdb"), sendense.ErrInvalidArgument)
	wantErr(t, "an unknown status", s.SetVolumeStatus(id, "mounted", ""), sendense.ErrInvalidArgument)
	unchanged("a refused argument")
	step(sendense.VolumeAttached, "/dev/vdb")
	wantErr(t, "attached -> available", s.SetVolumeStatus(id, sendense.VolumeAvailable, ""), sendense.ErrInvalidState)
	unchanged("a refused move")
	step(sendense.VolumeDetached, "")
	step(sendense.VolumeAttached, "/dev/vdc")
	step(sendense.VolumeError, "")
	wantErr(t, "error -> attached", s.SetVolumeStatus(id, sendense.VolumeAttached, "/dev/vdb"), sendense.ErrInvalidState)
	step(sendense.VolumeAvailable, "")
	wantErr(t, "a status of an unknown volume", s.SetVolumeStatus(9999, sendense.VolumeError, ""), sendense.ErrNotFound)

	snap := func(to sendense.SnapshotStatus, snapshotID string) {
		t.Helper()
		ok(t, s.SetVolumeSnapshot(id, to, snapshotID))
		v = must(s.Volume(id)).get(t)
		if v.SnapshotStatus != to {
			t.Fatalf("after snapshot %s: %+v", to, v)
		}
	}
	wantErr(t, "snapshot none -> ready", s.SetVolumeSnapshot(id, sendense.SnapshotReady, ""), sendense.ErrInvalidState)
	wantErr(t, "creating without an id", s.SetVolumeSnapshot(id, sendense.SnapshotCreating, ""), sendense.ErrInvalidArgument)
	unchanged("a refused snapshot move")
	snap(sendense.SnapshotCreating, "snap-0001")
	if str(v.SnapshotID) != "snap-0001" || v.SnapshotCreatedAt == nil {
		t.Fatalf("creating: %+v", v)
	}
	wantErr(t, "ready with an id", s.SetVolumeSnapshot(id, sendense.SnapshotReady, "snap-0002"), sendense.ErrInvalidArgument)
	wantErr(t, "creating -> rollback_complete", s.SetVolumeSnapshot(id, sendense.SnapshotRollbackComplete, ""), sendense.ErrInvalidState)
	unchanged("a refused snapshot move")
	snap(sendense.SnapshotReady, "")
	wantErr(t, "ready -> creating", s.SetVolumeSnapshot(id, sendense.SnapshotCreating, "snap-0002"), sendense.ErrInvalidState)
	snap(sendense.SnapshotRollbackComplete, "")
	if str(v.SnapshotID) != "snap-0001" {
		t.Fatalf("rollback_complete lost the snapshot id: %+v", v)
	}
	snap(sendense.SnapshotNone, "")
	if v.SnapshotID != nil || v.SnapshotCreatedAt != nil {
		t.Fatalf("none keeps the snapshot: %+v", v)
	}
	snap(sendense.SnapshotCreating, "snap-0002")
	snap(sendense.SnapshotFailed, "")
	snap(sendense.SnapshotNone, "")
}

// Volumes are recorded once, found by CloudStack id, listed per context and linked to the
// disk rows of their own context only.
func TestVolumesAndDiskLinks(t *testing.T) {
	s, _ := openTemp(t)
	web := must(s.CreateContext(newVM("web-01", "vm-101"))).get(t)
	db := must(s.CreateContext(newVM("db-01", "vm-102"))).get(t)
	for _, c := range []struct{ ctx, name string }{{web, "web-01"}, {db, "db-01"}} {
		job := must(s.StartReplication(sendense.ReplicationStart{ContextID: c.ctx, Disks: twoDisks(c.name)})).get(t)
		ok(t, s.SetReplicationJobStatus(job, sendense.ReplicationJobCompleted, ""))
	}
	var ids []int64
	for i, d := range twoDisks("web-01") {
		id := must(s.CreateVolume(sendense.NewVolume{VMContextID: web, VolumeID: fmt.Sprintf("vol-web-%d", i),
			VolumeName: "web-01-" + d.DiskID, SizeGB: d.SizeGB, Status: sendense.VolumeAvailable})).get(t)
		ok(t, s.LinkVolumeDisk(id, web, d.DiskID))
		ids = append(ids, id)
	}
	// A volume of no context takes the context of the disk it is linked to.
	loose := must(s.CreateVolume(sendense.NewVolume{VolumeID: "vol-db-0", VolumeName: "db-01-disk-2000", SizeGB: 40})).get(t)
	if v := must(s.Volume(loose)).get(t); v.VMContextID != nil || v.Status != sendense.VolumeCreating {
		t.Fatalf("a volume of no context: %+v", v)
	}
	ok(t, s.LinkVolumeDisk(loose, db, "disk-2000"))
	if v := must(s.FindVolume("vol-db-0")).get(t); str(v.VMContextID) != db || v.ID != loose {
		t.Fatalf("the linked volume: %+v", v)
	}

	disks := must(s.Disks(web)).get(t)
	for i, d := range disks {
		if d.OSSEAVolumeID == nil || *d.OSSEAVolumeID != ids[i] {
			t.Fatalf("disk %s links volume %v, want %d", d.DiskID, d.OSSEAVolumeID, ids[i])
		}
	}
	e := wantErr(t, "link a volume to another context's disk", s.LinkVolumeDisk(ids[0], db, "disk-2001"), sendense.ErrConflict)
	if !strings.Contains(e.Message, web) {
		t.Fatalf("the conflict does not name the owner: %q", e.Message)
	}
	for _, d := range must(s.Disks(db)).get(t) {
		if d.DiskID == "disk-2001" && d.OSSEAVolumeID != nil {
			t.Fatalf("a refused link linked %s", d.DiskID)
		}
	}
	wantErr(t, "link to an unknown disk", s.LinkVolumeDisk(ids[0], web, "disk-9999"), sendense.ErrNotFound)
	wantErr(t, "link to another context", s.LinkVolumeDisk(loose, web, "disk-2000"), sendense.ErrConflict)
	spare := must(s.CreateVolume(sendense.NewVolume{VolumeID: "vol-spare", VolumeName: "spare", SizeGB: 1})).get(t)
	wantErr(t, "link to an unknown context", s.LinkVolumeDisk(spare, "no-such-context", "disk-2000"), sendense.ErrNotFound)
	if v := must(s.Volume(spare)).get(t); v.VMContextID != nil {
		t.Fatalf("a refused link gave the volume a context: %+v", v)
	}
	wantErr(t, "link an unknown volume", s.LinkVolumeDisk(9999, web, "disk-2000"), sendense.ErrNotFound)

	if list := must(s.ListVolumes(web)).get(t); len(list) != 2 || list[0].ID != ids[0] || list[1].VolumeID != "vol-web-1" {
		t.Fatalf("volumes of web-01: %+v", list)
	}
	if list := must(s.ListVolumes("")).get(t); len(list) != 4 {
		t.Fatalf("every volume: %+v", list)
	}
	_, err := s.ListVolumes("no-such-context")
	wantErr(t, "volumes of an unknown context", err, sendense.ErrNotFound)
	_, err = s.CreateVolume(sendense.NewVolume{VMContextID: web, VolumeID: "vol-web-0", VolumeName: "again", SizeGB: 1})
	wantErr(t, "a volume recorded twice", err, sendense.ErrAlreadyExists)
	_, err = s.CreateVolume(sendense.NewVolume{VolumeID: "vol-x", VolumeName: "x", SizeGB: 0})
	wantErr(t, "a volume of 0 GB", err, sendense.ErrInvalidArgument)
	_, err = s.CreateVolume(sendense.NewVolume{VMContextID: "no-such-context", VolumeID: "vol-x", VolumeName: "x", SizeGB: 1})
	wantErr(t, "a volume of an unknown context", err, sendense.ErrNotFound)
	_, err = s.CreateVolume(sendense.NewVolume{VolumeID: "vol-x", VolumeName: "x", SizeGB: 1, OSSEAConfigID: sendense.Int64(77)})
	wantErr(t, "a volume of an unknown configuration", err, sendense.ErrNotFound)
	_, err = s.FindVolume("vol-x")
	wantErr(t, "an unrecorded volume", err, sendense.ErrNotFound)

	ok(t, s.DeleteVolume(ids[1]))
	for _, d := range must(s.Disks(web)).get(t) {
		if d.DiskID == "disk-2001" && d.OSSEAVolumeID != nil {
			t.Fatalf("the deleted volume is still linked: %+v", d)
		}
	}
	wantErr(t, "delete it again", s.DeleteVolume(ids[1]), sendense.ErrNotFound)
}
