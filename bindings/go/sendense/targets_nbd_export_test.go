package sendense_test

import (
	"testing"

	"libsendense/bindings/go/sendense"
)

// An export created on its own after its mapping: one per volume, pending -> active, the
// replication job using it set and cleared, listed by job and by context; removing it leaves
// the mapping.
func TestNBDExports(t *testing.T) {
	s, _ := openTemp(t)
	d := newDeviceSetup(t, s, "web-01")
	d.attach(t, s, 0, "/dev/vdb", 10809)

	// An export created on its own, after the mapping.
	must(s.AttachDevice(sendense.NewDeviceMapping{VMContextID: d.ctx, VolumeUUID: d.volumes[1], VMID: "hub-vm", DevicePath: "/dev/vdc"})).get(t)
	name := must(s.CreateNBDExport(sendense.NewNBDExport{VolumeUUID: d.volumes[1], VMDiskID: d.disks[1].ID, Port: 10810})).get(t)
	if name != exportName(d.volumes[1]) {
		t.Fatalf("export name %q", name)
	}
	_, err := s.CreateNBDExport(sendense.NewNBDExport{VolumeUUID: d.volumes[1], VMDiskID: d.disks[1].ID, Port: 10811})
	wantErr(t, "a second export of a volume", err, sendense.ErrAlreadyExists)
	ok(t, s.SetNBDExportStatus(name, sendense.ExportActive))
	wantErr(t, "active -> pending", s.SetNBDExportStatus(name, sendense.ExportPending), sendense.ErrInvalidState)
	ok(t, s.SetNBDExportReplicationJob(name, d.job))
	if list := must(s.NBDExportsByReplicationJob(d.job)).get(t); len(list) != 2 || list[0].ExportName > list[1].ExportName {
		t.Fatalf("exports of the job: %+v", list)
	}
	ok(t, s.SetNBDExportReplicationJob(name, ""))
	if list := must(s.NBDExportsByReplicationJob(d.job)).get(t); len(list) != 1 {
		t.Fatalf("exports of the job after clearing one: %+v", list)
	}
	if list := must(s.NBDExportsByContext(d.ctx)).get(t); len(list) != 2 {
		t.Fatalf("exports of the context: %+v", list)
	}
	_, err = s.NBDExportsByContext("no-such-context")
	wantErr(t, "exports of an unknown context", err, sendense.ErrNotFound)
	consistent(t, s, "with two mappings")

	ok(t, s.RemoveNBDExport(name))
	wantErr(t, "remove twice", s.RemoveNBDExport(name), sendense.ErrNotFound)
	_, err = s.NBDExport(name)
	wantErr(t, "the removed export", err, sendense.ErrNotFound)
	if m := must(s.DeviceMapping(d.volumes[1])).get(t); str(m.DevicePath) != "/dev/vdc" {
		t.Fatalf("the mapping of the removed export: %+v", m)
	}
	d.detach(t, s, 1)
	d.detach(t, s, 0)
	consistent(t, s, "after detach")
}
