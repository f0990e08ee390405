package sendense_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"libsendense/bindings/go/sendense"
)

// Attach records a mapping and its export together; refusals name the holder and change
// nothing; detach removes both.
func TestAttachAndDetach(t *testing.T) {
	s, _ := openTemp(t)
	d := newDeviceSetup(t, s, "web-01")
	id := d.attach(t, s, 0, "/dev/vdb", 10809)
	m := must(s.DeviceMapping(d.volumes[0])).get(t)
	if m.ID != id || m.OperationMode != sendense.ModeOMA || str(m.DevicePath) != "/dev/vdb" || str(m.VMContextID) != d.ctx ||
		m.LinuxState != "detected" || m.CloudStackState != "attached" || !m.RequiresDeviceCorrelation ||
		m.SnapshotStatus != sendense.SnapshotNone || m.Size != 40<<30 {
		t.Fatalf("mapping %+v", m)
	}
	x := must(s.NBDExport(exportName(d.volumes[0]))).get(t)
	if x.Status != sendense.ExportPending || x.DevicePath != "/dev/vdb" || x.Port != 10809 || str(x.JobID) != d.job ||
		x.VMDiskID == nil || *x.VMDiskID != d.disks[0].ID || x.VolumeID != d.volumes[0] {
		t.Fatalf("export %+v", x)
	}
	consistent(t, s, "after attach")

	before := must(s.DeviceMappings(d.ctx)).get(t)
	_, err := s.AttachDevice(sendense.NewDeviceMapping{VolumeUUID: d.volumes[0], VMID: "hub-vm", DevicePath: "/dev/vdz"})
	if e := wantErr(t, "attach a mapped volume", err, sendense.ErrAlreadyExists); !strings.Contains(e.Message, id) {
		t.Fatalf("the refusal does not name the mapping: %q", e.Message)
	}
	_, err = s.AttachDevice(sendense.NewDeviceMapping{VolumeUUID: d.volumes[1], VMID: "hub-vm", DevicePath: "/dev/vdb"})
	if e := wantErr(t, "attach on a held device path", err, sendense.ErrConflict); !strings.Contains(e.Message, d.volumes[0]) {
		t.Fatalf("the refusal does not name the holder: %q", e.Message)
	}
	_, err = s.AttachDevice(sendense.NewDeviceMapping{VolumeUUID: d.volumes[1], VMID: "hub-vm"})
	wantErr(t, "an oma mapping without a device", err, sendense.ErrInvalidArgument)
	_, err = s.AttachDevice(sendense.NewDeviceMapping{VolumeUUID: d.volumes[1], VMID: "vm-x", OperationMode: sendense.ModeFailover, DevicePath: "/dev/vdc"})
	wantErr(t, "a failover mapping with a device", err, sendense.ErrInvalidArgument)
	_, err = s.AttachDevice(sendense.NewDeviceMapping{VolumeUUID: d.volumes[1], VMID: "hub-vm", DevicePath: "vdc"})
	wantErr(t, "a relative device path", err, sendense.ErrInvalidArgument)
	_, err = s.AttachDevice(sendense.NewDeviceMapping{VolumeUUID: d.volumes[1], VMID: "hub-vm", DevicePath: "/dev/vdc", OperationMode: "both"})
	wantErr(t, "a mode not in the set", err, sendense.ErrInvalidArgument)
	// An attach whose export is refused leaves no mapping either.
	_, err = s.AttachDevice(sendense.NewDeviceMapping{VMContextID: d.ctx, VolumeUUID: d.volumes[1], VMID: "hub-vm", DevicePath: "/dev/vdc",
		Export: &sendense.NewNBDExport{VMDiskID: d.disks[1].ID, Port: 70000}})
	wantErr(t, "an export on port 70000", err, sendense.ErrInvalidArgument)
	_, err = s.AttachDevice(sendense.NewDeviceMapping{VMContextID: d.ctx, VolumeUUID: d.volumes[1], VMID: "hub-vm", DevicePath: "/dev/vdc",
		Export: &sendense.NewNBDExport{VMDiskID: 999999, Port: 10810}})
	if err == nil {
		t.Fatal("an export of an unknown disk row was accepted")
	}
	if after := must(s.DeviceMappings(d.ctx)).get(t); len(after) != len(before) {
		t.Fatalf("refused attaches left mappings: %+v", after)
	}
	_, err = s.DeviceMapping(d.volumes[1])
	wantErr(t, "the refused volume's mapping", err, sendense.ErrNotFound)

	// The second volume, mapped with its export.
	d.attach(t, s, 1, "/dev/vdc", 10810)
	consistent(t, s, "with two mappings")

	// A volume mapped is not forgotten.
	wantErr(t, "delete a mapped volume", s.DeleteVolume(d.rows[0]), sendense.ErrConflict)

	// The device facts learnt later; a new path is carried to the export.
	ok(t, s.UpdateDevice(d.volumes[0], sendense.DeviceUpdate{DevicePath: sendense.String("/dev/vdd"),
		PersistentDeviceName: sendense.String("sendense-web-01-0"), SymlinkPath: sendense.String("/dev/mapper/sendense-web-01-0"),
		RequiresDeviceCorrelation: sendense.Bool(false), CloudStackDeviceID: sendense.Int64(1)}))
	m = must(s.DeviceMapping(d.volumes[0])).get(t)
	if str(m.DevicePath) != "/dev/vdd" || str(m.PersistentDeviceName) != "sendense-web-01-0" || m.RequiresDeviceCorrelation ||
		m.LastSync == nil || m.CloudStackDeviceID == nil || *m.CloudStackDeviceID != 1 {
		t.Fatalf("updated mapping %+v", m)
	}
	if x := must(s.NBDExport(exportName(d.volumes[0]))).get(t); x.DevicePath != "/dev/vdd" {
		t.Fatalf("the export did not follow the path: %+v", x)
	}
	wantErr(t, "a path held by another mapping", s.UpdateDevice(d.volumes[0], sendense.DeviceUpdate{DevicePath: sendense.String("/dev/vdc")}),
		sendense.ErrConflict)
	ok(t, s.UpdateDevice(d.volumes[0], sendense.DeviceUpdate{Clear: []string{"symlink_path"}}))
	if m := must(s.DeviceMapping(d.volumes[0])).get(t); m.SymlinkPath != nil || str(m.PersistentDeviceName) != "sendense-web-01-0" {
		t.Fatalf("cleared symlink: %+v", m)
	}
	consistent(t, s, "after updates")

	d.detach(t, s, 0)
	_, err = s.DeviceMapping(d.volumes[0])
	wantErr(t, "the detached mapping", err, sendense.ErrNotFound)
	_, err = s.NBDExport(exportName(d.volumes[0]))
	wantErr(t, "the detached volume's export", err, sendense.ErrNotFound)
	wantErr(t, "detach twice", s.DetachDevice(d.volumes[0]), sendense.ErrNotFound)
	d.detach(t, s, 1)
	consistent(t, s, "after detach")
	ok(t, s.DeleteVolume(d.rows[0]))
}

// A mode switch moves every mapping of the context and its exports in one transaction, and
// comes back with the device paths.
func TestDeviceModeSwitch(t *testing.T) {
	s, _ := openTemp(t)
	d := newDeviceSetup(t, s, "web-01")
	other := newDeviceSetup(t, s, "db-01")
	d.attach(t, s, 0, "/dev/vdb", 10809)
	d.attach(t, s, 1, "/dev/vdc", 10810)
	other.attach(t, s, 0, "/dev/vdd", 10811)

	wantErr(t, "a mode not in the set", s.SetDeviceMode(d.ctx, "sideways"), sendense.ErrInvalidArgument)
	wantErr(t, "an unknown context", s.SetDeviceMode("no-such-context", sendense.ModeFailover), sendense.ErrNotFound)
	ok(t, s.SetDeviceMode(d.ctx, sendense.ModeOMA)) // already oma: nothing to do
	ok(t, s.SetDeviceMode(d.ctx, sendense.ModeFailover))
	for _, m := range must(s.DeviceMappings(d.ctx)).get(t) {
		if m.OperationMode != sendense.ModeFailover || m.DevicePath != nil || m.LinuxState != "n/a" {
			t.Fatalf("after the switch to failover: %+v", m)
		}
	}
	if list := must(s.NBDExportsByContext(d.ctx)).get(t); len(list) != 0 {
		t.Fatalf("exports left after the switch to failover: %+v", list)
	}
	if m := must(s.DeviceMapping(other.volumes[0])).get(t); m.OperationMode != sendense.ModeOMA {
		t.Fatalf("another context's mapping switched: %+v", m)
	}
	consistent(t, s, "in failover")

	// Back to oma: the plain form does not know the paths; the full form takes them.
	e := wantErr(t, "back to oma without paths", s.SetDeviceMode(d.ctx, sendense.ModeOMA), sendense.ErrInvalidArgument)
	if !strings.Contains(e.Message, d.volumes[0]) {
		t.Fatalf("the refusal does not name the volumes: %q", e.Message)
	}
	back := sendense.ModeSwitch{ContextID: d.ctx, Mode: sendense.ModeOMA, VMID: "hub-vm",
		DevicePaths: map[string]string{d.volumes[0]: "/dev/vdb", d.volumes[1]: "/dev/vdd"}}
	wantErr(t, "a path another context holds", s.SwitchDeviceMode(back), sendense.ErrConflict)
	back.DevicePaths = map[string]string{d.volumes[0]: "/dev/vdb"}
	wantErr(t, "a missing path", s.SwitchDeviceMode(back), sendense.ErrInvalidArgument)
	for _, m := range must(s.DeviceMappings(d.ctx)).get(t) {
		if m.OperationMode != sendense.ModeFailover {
			t.Fatalf("a refused switch changed %+v", m)
		}
	}
	back.DevicePaths = map[string]string{d.volumes[0]: "/dev/vdb", d.volumes[1]: "/dev/vdc"}
	back.Exports = []sendense.NewNBDExport{
		{VolumeUUID: d.volumes[0], VMDiskID: d.disks[0].ID, Port: 10809},
		{VolumeUUID: d.volumes[1], VMDiskID: d.disks[1].ID, Port: 10810},
	}
	ok(t, s.SwitchDeviceMode(back))
	for i, m := range must(s.DeviceMappings(d.ctx)).get(t) {
		if m.OperationMode != sendense.ModeOMA || str(m.DevicePath) != back.DevicePaths[m.VolumeUUID] || m.VMID != "hub-vm" {
			t.Fatalf("mapping %d after the switch back: %+v", i, m)
		}
	}
	if list := must(s.NBDExportsByContext(d.ctx)).get(t); len(list) != 2 {
		t.Fatalf("exports after the switch back: %+v", list)
	}
	consistent(t, s, "back in oma")
	wantErr(t, "failover with paths", s.SwitchDeviceMode(sendense.ModeSwitch{ContextID: d.ctx, Mode: sendense.ModeFailover,
		DevicePaths: map[string]string{d.volumes[0]: "/dev/vdb"}}), sendense.ErrInvalidArgument)
}

// Snapshot tracking on mappings follows its machine.
func TestDeviceSnapshot(t *testing.T) {
	s, _ := openTemp(t)
	d := newDeviceSetup(t, s, "web-01")
	d.attach(t, s, 0, "/dev/vdb", 10809)
	vol := d.volumes[0]
	wantErr(t, "none -> ready", s.SetDeviceSnapshot(vol, sendense.SnapshotReady, ""), sendense.ErrInvalidState)
	wantErr(t, "creating without an id", s.SetDeviceSnapshot(vol, sendense.SnapshotCreating, ""), sendense.ErrInvalidArgument)
	ok(t, s.SetDeviceSnapshot(vol, sendense.SnapshotCreating, "snap-1"))
	if m := must(s.DeviceMapping(vol)).get(t); m.SnapshotStatus != sendense.SnapshotCreating || str(m.OSSEASnapshotID) != "snap-1" || m.SnapshotCreatedAt == nil {
		t.Fatalf("creating: %+v", m)
	}
	ok(t, s.SetDeviceSnapshot(vol, sendense.SnapshotReady, ""))
	ok(t, s.SetDeviceSnapshot(vol, sendense.SnapshotRollbackComplete, ""))
	ok(t, s.SetDeviceSnapshot(vol, sendense.SnapshotNone, ""))
	if m := must(s.DeviceMapping(vol)).get(t); m.SnapshotStatus != sendense.SnapshotNone || m.OSSEASnapshotID != nil {
		t.Fatalf("none: %+v", m)
	}
	ok(t, s.SetDeviceSnapshot(vol, sendense.SnapshotCreating, "snap-2"))
	ok(t, s.SetDeviceSnapshot(vol, sendense.SnapshotFailed, ""))
	ok(t, s.SetDeviceSnapshot(vol, sendense.SnapshotNone, ""))
	wantErr(t, "an unmapped volume", s.SetDeviceSnapshot(d.volumes[1], sendense.SnapshotCreating, "snap-3"), sendense.ErrNotFound)
}

// 8 goroutines attach 16 volumes onto 4 device paths at once: each path has at most one
// live oma mapping at any time, and the losers are told who holds it.
func TestConcurrentAttachNeverSharesADevice(t *testing.T) {
	s, _ := openTemp(t)
	ctx := must(s.CreateContext(newVM("web-01", "vm-101"))).get(t)
	paths := []string{"/dev/vdb", "/dev/vdc", "/dev/vdd", "/dev/vde"}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for round := 0; round < 10; round++ {
				vol := fmt.Sprintf("vol-%d-%d", g, round)
				path := paths[(g+round)%len(paths)]
				_, err := s.AttachDevice(sendense.NewDeviceMapping{VMContextID: ctx, VolumeUUID: vol, VMID: "hub-vm", DevicePath: path})
				if errors.Is(err, sendense.ErrConflict) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				list, err := s.DeviceMappings(ctx)
				if err != nil {
					errs <- err
					return
				}
				seen := map[string]string{}
				for _, m := range list {
					if m.DevicePath == nil {
						continue
					}
					if holder, twice := seen[*m.DevicePath]; twice {
						errs <- fmt.Errorf("%s is mapped by %s and %s", *m.DevicePath, holder, m.VolumeUUID)
						return
					}
					seen[*m.DevicePath] = m.VolumeUUID
				}
				if err := s.DetachDevice(vol); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if list := must(s.DeviceMappings(ctx)).get(t); len(list) != 0 {
		t.Fatalf("mappings left: %+v", list)
	}
}
