package sendense_test

import (
	"testing"

	"libsendense/bindings/go/sendense"
)

// The storage consistency check finds what the device and export rules prevent when it
// happens anyway (an oma mapping whose export was removed; the finding goes away with its
// cause), and a volume's row follows its mapping, so an attach leaves nothing to report.
func TestStorageConsistency(t *testing.T) {
	s, _ := openTemp(t)
	d := newDeviceSetup(t, s, "web-01")
	consistent(t, s, "before any mapping")
	d.attach(t, s, 0, "/dev/vdb", 10809)
	consistent(t, s, "attached")

	ok(t, s.RemoveNBDExport(exportName(d.volumes[0])))
	c := must(s.StorageConsistency()).get(t)
	if c.OK || len(c.OMAMappingsWithoutExport) != 1 || c.OMAMappingsWithoutExport[0] != d.volumes[0] ||
		len(c.ExportsWithoutLiveMapping) != 0 || len(c.DuplicateDevicePaths) != 0 || len(c.VolumeMismatches) != 0 {
		t.Fatalf("an oma mapping without export: %+v", c)
	}
	must(s.CreateNBDExport(sendense.NewNBDExport{VolumeUUID: d.volumes[0], VMDiskID: d.disks[0].ID, Port: 10809})).get(t)
	consistent(t, s, "the export recreated")

	// The second volume's row follows its mapping in the attach itself: nothing to report
	// between the attach and a later call, and marking it by hand repeats what it is.
	must(s.AttachDevice(sendense.NewDeviceMapping{VMContextID: d.ctx, VolumeUUID: d.volumes[1], VMID: "hub-vm",
		DevicePath: "/dev/vdc", Export: &sendense.NewNBDExport{VMDiskID: d.disks[1].ID, Port: 10810}})).get(t)
	consistent(t, s, "the second volume attached")
	if v := must(s.Volume(d.rows[1])).get(t); v.Status != sendense.VolumeAttached || str(v.DevicePath) != "/dev/vdc" {
		t.Fatalf("the attached volume's row: %+v", v)
	}
	ok(t, s.SetVolumeStatus(d.rows[1], sendense.VolumeAttached, "/dev/vdc"))
	d.detach(t, s, 1)
	if v := must(s.Volume(d.rows[1])).get(t); v.Status != sendense.VolumeDetached || v.DevicePath != nil {
		t.Fatalf("the detached volume's row: %+v", v)
	}
	consistent(t, s, "the second volume detached")
}
