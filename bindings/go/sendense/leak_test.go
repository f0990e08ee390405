package sendense_test

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"libsendense/bindings/go/sendense"
)

// rss is the resident set size of the process in bytes (Linux).
func rss(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm:", err)
	}
	fields := bytes.Fields(data)
	pages, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// growth runs f n times after a warm-up and returns how much the process grew.
func growth(t *testing.T, n int, f func()) int64 {
	t.Helper()
	for i := 0; i < n/10; i++ {
		f()
	}
	runtime.GC()
	before := rss(t)
	for i := 0; i < n; i++ {
		f()
	}
	runtime.GC()
	return rss(t) - before
}

// Every path of the binding frees what the library returns (JSON and id strings, error
// objects) and the C strings it passes: the process does not grow over many calls. Each
// phase moves at least 8 MiB through the freed allocations, so a leak of any of them would
// show as more than the 6 MiB allowed (without a leak: 1-3 MiB).
func TestNoLeaks(t *testing.T) {
	if testing.Short() {
		t.Skip("slow; skipped with -short")
	}
	s := must(sendense.OpenInMemory(nil)).get(t)
	defer s.Close()
	ctx := must(s.CreateContext(newVM("leak-01", "vm-leak"))).get(t)
	job := must(s.StartReplication(sendense.ReplicationStart{ContextID: ctx, Disks: twoDisks("leak-01")})).get(t)
	missing := "no-such-context-" + strings.Repeat("x", 200)
	b := newBackupSetup(t, s, "leak-02")
	var chain []string
	for i, typ := range []sendense.BackupType{sendense.BackupFull, sendense.BackupIncremental, sendense.BackupIncremental} {
		chain = append(chain, b.backUp(t, s, 0, typ, "", i+1))
	}
	keyed, _ := openKeyed(t, testKey(t))
	cfg := must(keyed.CreateCloudStackConfig(cloudStack("leak-cloud", true))).get(t)
	vol := must(keyed.CreateVolume(sendense.NewVolume{VolumeID: "vol-leak", VolumeName: "leak", SizeGB: 1,
		OSSEAConfigID: sendense.Int64(cfg)})).get(t)
	devices := newDeviceSetup(t, keyed, "leak-03")
	phases := []struct {
		name string
		n    int
		f    func()
	}{
		{"error objects", 30000, func() {
			if _, err := s.Context(missing); err == nil {
				t.Fatal("no error")
			}
			if _, err := s.CreateContext(newVM("leak-01", "vm-leak")); err == nil {
				t.Fatal("no duplicate")
			}
		}},
		{"JSON strings", 2500, func() {
			must(s.Context(ctx)).get(t)
			must(s.ReplicationJob(job)).get(t)
			must(s.Disks(ctx)).get(t)
		}},
		{"backup read-outs and refusals", 2500, func() {
			must(s.RestoreChain(chain[2])).get(t)
			must(s.Policy(b.policy)).get(t)
			must(s.Repository(b.primary)).get(t)
			must(s.Chains(b.ctx)).get(t)
			if err := s.DeleteBackupPoint(chain[0]); err == nil {
				t.Fatal("deleted a depended-on point")
			}
			if c := must(s.ClaimCopy("leak-worker")).get(t); c != nil && len(c.ID) == 0 {
				t.Fatal("a claimed copy without an id")
			}
		}},
		{"secrets, volumes and their refusals", 6000, func() {
			must(keyed.CloudStackConfigSecrets(cfg)).get(t)
			must(keyed.ListCloudStackConfigs()).get(t)
			must(keyed.Volume(vol)).get(t)
			must(keyed.SecretKeyID()).get(t)
			if err := keyed.SetVolumeStatus(vol, sendense.VolumeAttached, "/dev/vdb"); err == nil {
				t.Fatal("creating -> attached accepted")
			}
			if err := keyed.DeleteCloudStackConfig(cfg); err == nil {
				t.Fatal("deleted a configuration in use")
			}
		}},
		{"devices, exports, leases and operations", 3000, func() {
			devices.attach(t, keyed, 0, "/dev/vdb", 10809)
			must(keyed.DeviceMapping(devices.volumes[0])).get(t)
			must(keyed.NBDExportsByContext(devices.ctx)).get(t)
			must(keyed.AcquireLease(sendense.PoolRestoreNBDDevice, "leak-owner", time.Minute)).get(t)
			must(keyed.Leases(sendense.PoolRestoreNBDDevice, "leak-owner")).get(t)
			ok(t, keyed.ReleaseLeases(sendense.PoolRestoreNBDDevice, "leak-owner"))
			op := must(keyed.CreateVolumeOperation(sendense.NewVolumeOperation{Type: sendense.VolumeOpDetach,
				VolumeID: devices.volumes[0], Request: map[string]string{"volume_id": devices.volumes[0]}})).get(t)
			ok(t, keyed.SetVolumeOperationStatus(op, sendense.VolumeOpExecuting, nil, ""))
			devices.detach(t, keyed, 0)
			ok(t, keyed.SetVolumeOperationStatus(op, sendense.VolumeOpCompleted, map[string]bool{"detached": true}, ""))
			must(keyed.VolumeOperationHistory(op)).get(t)
			if err := keyed.DetachDevice(devices.volumes[0]); err == nil {
				t.Fatal("detached twice")
			}
			if err := keyed.SetDeviceMode(devices.ctx, "sideways"); err == nil {
				t.Fatal("a mode not in the set")
			}
		}},
		{"C strings passed in", 30000, func() {
			ok(t, s.ReplicationProgress(job, sendense.ReplicationProgress{Percent: 50, CurrentOperation: strings.Repeat("copying ", 20)}))
			must(s.DecideCBT(ctx, "disk-2000", changeID(epochA, 1), false)).get(t)
		}},
	}
	for _, p := range phases {
		g := growth(t, p.n, p.f)
		t.Logf("%s: the process grew by %d KiB over %d rounds", p.name, g>>10, p.n)
		if g > 6<<20 {
			t.Errorf("%s: the process grew by %d KiB over %d rounds", p.name, g>>10, p.n)
		}
	}
}
