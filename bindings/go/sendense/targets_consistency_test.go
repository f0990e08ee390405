package sendense_test

import (
	"testing"

	"libsendense/bindings/go/sendense"
)

// The storage consistency check finds what the device and export rules prevent when it
// happens anyway: an oma mapping whose export was removed, a mapped volume whose status says
// it is not attached. Each finding goes away with its cause.
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

	// The second volume is mapped, but its row still says available.
	mapping := must(s.AttachDevice(sendense.NewDeviceMapping{VMContextID: d.ctx, VolumeUUID: d.volumes[1], VMID: "hub-vm",
		DevicePath: "/dev/vdc", Export: &sendense.NewNBDExport{VMDiskID: d.disks[1].ID, Port: 10810}})).get(t)
	c = must(s.StorageConsistency()).get(t)
	if c.OK || len(c.VolumeMismatches) != 1 || c.VolumeMismatches[0].VolumeID != d.volumes[1] ||
		c.VolumeMismatches[0].Status != string(sendense.VolumeAvailable) || str(c.VolumeMismatches[0].MappingID) != mapping ||
		len(c.OMAMappingsWithoutExport) != 0 {
		t.Fatalf("a mapped volume that says available: %+v", c)
	}
	ok(t, s.SetVolumeStatus(d.rows[1], sendense.VolumeAttached, "/dev/vdc"))
	consistent(t, s, "the volume attached")
}
