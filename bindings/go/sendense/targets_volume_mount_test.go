package sendense_test

import (
	"testing"

	"libsendense/bindings/go/sendense"
)

// Mounts of volumes for a job: created mounting, along their machine, one live mount per
// device path.
func TestVolumeMounts(t *testing.T) {
	s, _ := openTemp(t)
	d := newDeviceSetup(t, s, "web-01")
	id := must(s.CreateVolumeMount(sendense.NewVolumeMount{OSSEAVolumeID: d.rows[0], JobID: d.job, DevicePath: "/dev/vdb",
		MountPoint: "/mnt/web-01-0", FilesystemType: "ext4"})).get(t)
	if m := must(s.VolumeMount(id)).get(t); m.MountStatus != sendense.MountMounting || str(m.MountPoint) != "/mnt/web-01-0" {
		t.Fatalf("new mount %+v", m)
	}
	_, err := s.CreateVolumeMount(sendense.NewVolumeMount{OSSEAVolumeID: d.rows[1], JobID: d.job, DevicePath: "/dev/vdb"})
	wantErr(t, "a device path of a live mount", err, sendense.ErrConflict)
	_, err = s.CreateVolumeMount(sendense.NewVolumeMount{OSSEAVolumeID: 9999, JobID: d.job, DevicePath: "/dev/vdc"})
	wantErr(t, "an unknown volume row", err, sendense.ErrNotFound)
	wantErr(t, "mounting -> unmounted", s.SetVolumeMountStatus(id, sendense.MountUnmounted), sendense.ErrInvalidState)
	ok(t, s.SetVolumeMountStatus(id, sendense.MountMounted))
	ok(t, s.SetVolumeMountStatus(id, sendense.MountUnmountPending))
	ok(t, s.SetVolumeMountStatus(id, sendense.MountUnmounted))
	m := must(s.VolumeMount(id)).get(t)
	if m.MountedAt == nil || m.UnmountedAt == nil {
		t.Fatalf("unmounted %+v", m)
	}
	must(s.CreateVolumeMount(sendense.NewVolumeMount{OSSEAVolumeID: d.rows[1], JobID: d.job, DevicePath: "/dev/vdb"})).get(t)
	if list := must(s.VolumeMounts(d.job)).get(t); len(list) != 2 || list[0].ID != id {
		t.Fatalf("mounts of the job: %+v", list)
	}
}
