package sendense_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"libsendense/bindings/go/sendense"
)

// The helpers shared by the tests of every area: opening stores, the records most tests
// start from (VMs, disks, a backup setup, a device setup), and the assertions.

// Change ids as VMware writes them: <CBT epoch uuid>/<sequence>.
const (
	epochA = "52 3c 1a 9e 6f 0b 4d 2a-8f 11 22 33 44 55 66 77"
	epochB = "52 aa bb cc dd ee ff 00-11 22 33 44 55 66 77 88"
)

func changeID(epoch string, seq int) string { return fmt.Sprintf("%s/%d", epoch, seq) }

// openTemp opens a new store file in the test's temp dir, closed at the end of the test.
func openTemp(t *testing.T) (*sendense.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := sendense.Open(path, &sendense.Options{Synchronous: sendense.SynchronousNormal})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func newVM(name, vmID string) sendense.NewContext {
	return sendense.NewContext{
		VMName:      name,
		VMwareVMID:  vmID,
		VMPath:      "/DC1/vm/" + name,
		VCenterHost: "vcenter.example.test",
		Datacenter:  "DC1",
		CPUCount:    sendense.Int64(4),
		MemoryMB:    sendense.Int64(8192),
		OSType:      sendense.String("ubuntu64Guest"),
		PowerState:  sendense.String("poweredOn"),
	}
}

func twoDisks(vmName string) []sendense.DiskSpec {
	return []sendense.DiskSpec{
		{DiskID: "disk-2000", VMDKPath: "[ds1] " + vmName + "/" + vmName + ".vmdk", SizeGB: 40, UnitNumber: sendense.Int64(0), Datastore: "ds1"},
		{DiskID: "disk-2001", VMDKPath: "[ds1] " + vmName + "/" + vmName + "_1.vmdk", SizeGB: 100, UnitNumber: sendense.Int64(1), Datastore: "ds1"},
	}
}

// must(call()).get(t) is call's value, or the end of the test with call's error.
func must[T any](v T, err error) result[T] { return result[T]{v, err} }

type result[T any] struct {
	v   T
	err error
}

func (r result[T]) get(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr fails unless err matches sentinel (errors.Is) and is an *Error with that status.
func wantErr(t *testing.T, what string, err error, sentinel *sendense.Error) *sendense.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %v", what, sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("%s: got %v, want %v", what, err, sentinel)
	}
	var e *sendense.Error
	if !errors.As(err, &e) || e.Status != sentinel.Status || e.Message == "" {
		t.Fatalf("%s: got %#v, want an *Error with status %v and a message", what, err, sentinel.Status)
	}
	return e
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// runReplicationJob moves a replication job to completion, reporting progress and recording
// one change id per disk.
func runReplicationJob(t *testing.T, s *sendense.Store, jobID string, changeIDs map[string]string) {
	t.Helper()
	ok(t, s.SetReplicationJobStatus(jobID, sendense.ReplicationJobSnapshotting, ""))
	ok(t, s.SetReplicationJobStatus(jobID, sendense.ReplicationJobReplicating, ""))
	const total = 140 << 30
	for pct := 0; pct <= 100; pct += 25 {
		ok(t, s.ReplicationProgress(jobID, sendense.ReplicationProgress{
			Percent: float64(pct), BytesTransferred: total / 100 * int64(pct), TotalBytes: total,
			SpeedBps: 250 << 20, CurrentOperation: fmt.Sprintf("copying (%d%%)", pct),
		}))
	}
	for disk, change := range changeIDs {
		ok(t, s.ReplicationDiskProgress(jobID, disk, 100, 1<<30, sendense.DiskSyncing))
		ok(t, s.RecordCBT(jobID, disk, change, 1<<30))
	}
	ok(t, s.SetReplicationJobStatus(jobID, sendense.ReplicationJobCompleted, ""))
}

// jobIDs are the ids of jobs, in order.
func jobIDs(jobs []sendense.ReplicationJob) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Secrets distinctive enough to be found in the files if they were written there.
const (
	plainAPIKey     = "PLAINTEXT-API-KEY-6f1e2d3c4b5a"
	plainSecretKey  = "PLAINTEXT-SECRET-KEY-9a8b7c6d5e4f"
	plainNewSecret  = "PLAINTEXT-ROTATED-SECRET-0f1e2d"
	plainLinstorKey = "PLAINTEXT-LINSTOR-KEY-123abc"
	plainLinstorSec = "PLAINTEXT-LINSTOR-SECRET-456def"
)

func testKey(t *testing.T) []byte {
	t.Helper()
	return must(sendense.NewSecretKey()).get(t)
}

// openKeyed opens a new store file with key in the test's temp dir, closed at the end of the
// test.
func openKeyed(t *testing.T, key []byte) (*sendense.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	s := must(sendense.OpenWithKey(path, &sendense.Options{Synchronous: sendense.SynchronousNormal}, key)).get(t)
	t.Cleanup(func() { s.Close() })
	return s, path
}

// reopen opens path again with key (nil: without a key), closed at the end of the test.
func reopen(t *testing.T, path string, key []byte) *sendense.Store {
	t.Helper()
	var s *sendense.Store
	if key == nil {
		s = must(sendense.Open(path, &sendense.Options{MustExist: true})).get(t)
	} else {
		s = must(sendense.OpenWithKey(path, &sendense.Options{MustExist: true}, key)).get(t)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func cloudStack(name string, active bool) sendense.NewCloudStackConfig {
	return sendense.NewCloudStackConfig{
		Name: name, APIURL: "https://cloud.example.test/client/api", APIKey: plainAPIKey, SecretKey: plainSecretKey,
		Zone: "zone-1", Domain: "ROOT", TemplateID: "tmpl-1", NetworkID: "net-1", DiskOfferingID: "do-1",
		OMAVMID: "oma-vm-1", IsActive: active,
	}
}

// backupSetup is a context, a primary and a secondary repository, and a policy writing to the
// primary with a copy rule to the secondary.
type backupSetup struct {
	ctx, primary, secondary, policy string
}

func newBackupSetup(t *testing.T, s *sendense.Store, vmName string) backupSetup {
	t.Helper()
	var b backupSetup
	b.ctx = must(s.CreateContext(newVM(vmName, "vm-id-"+vmName))).get(t)
	b.primary = must(s.CreateRepository(sendense.NewRepository{
		Name: vmName + "-primary", RepositoryType: sendense.RepositoryLocal,
		Config: sendense.RepositoryConfig{"path": "/var/lib/sendense/" + vmName},
	})).get(t)
	b.secondary = must(s.CreateRepository(sendense.NewRepository{
		Name: vmName + "-offsite", RepositoryType: sendense.RepositoryS3,
		Config: sendense.RepositoryConfig{"region": "eu-central-1", "bucket": "offsite-" + vmName},
	})).get(t)
	b.policy = must(s.CreatePolicy(sendense.NewPolicy{
		Name: vmName + "-daily", PrimaryRepositoryID: b.primary, RetentionDays: sendense.Int64(14),
		CopyRules: []sendense.NewCopyRule{{DestinationRepositoryID: b.secondary, Priority: 1}},
	})).get(t)
	return b
}

// backUp runs one point of a disk to completion and returns its id.
func (b backupSetup) backUp(t *testing.T, s *sendense.Store, disk int64, typ sendense.BackupType, group string, seq int) string {
	t.Helper()
	id := must(s.StartBackup(sendense.BackupStart{
		ContextID: b.ctx, DiskID: disk, RepositoryID: b.primary, BackupType: typ, PolicyID: b.policy,
		BackupGroupID: group, RepositoryPath: fmt.Sprintf("/var/lib/sendense/disk-%d/%s-%d.qcow2", disk, typ, seq),
	})).get(t)
	ok(t, s.SetBackupRunning(id))
	ok(t, s.CompleteBackup(id, changeID(epochA, seq), int64(seq)<<20, int64(seq)<<21))
	return id
}

// threeVMBackups makes three VM backups of the 2-disk VM of b: groups vm-backup-0 (full) and
// vm-backup-1 (incremental) complete on both disks; in vm-backup-2 disk 0 completes (change id
// 30) and disk 1 fails, so that VM backup is no restore point. 5 points complete, each owed a
// copy to the secondary.
func (b backupSetup) threeVMBackups(t *testing.T, s *sendense.Store) {
	t.Helper()
	for g, typ := range []sendense.BackupType{sendense.BackupFull, sendense.BackupIncremental} {
		for disk := int64(0); disk < 2; disk++ {
			b.backUp(t, s, disk, typ, fmt.Sprintf("vm-backup-%d", g), 10*g+int(disk)+1)
		}
	}
	b.backUp(t, s, 0, sendense.BackupIncremental, "vm-backup-2", 30)
	failed := must(s.StartBackup(sendense.BackupStart{ContextID: b.ctx, DiskID: 1, RepositoryID: b.primary,
		BackupType: sendense.BackupIncremental, PolicyID: b.policy, BackupGroupID: "vm-backup-2", RepositoryPath: "/x"})).get(t)
	ok(t, s.FailBackup(failed, "snapshot removed under the backup"))
}

// deviceSetup is a context with a running replication of two disks, and a CloudStack volume
// per disk.
type deviceSetup struct {
	ctx, job string
	disks    []sendense.Disk
	volumes  []string // CloudStack volume UUIDs, one per disk
	rows     []int64  // their row ids
}

func newDeviceSetup(t *testing.T, s *sendense.Store, name string) deviceSetup {
	t.Helper()
	d := deviceSetup{ctx: must(s.CreateContext(newVM(name, "vm-"+name))).get(t)}
	d.job = must(s.StartReplication(sendense.ReplicationStart{ContextID: d.ctx, Disks: twoDisks(name)})).get(t)
	d.disks = must(s.Disks(d.ctx)).get(t)
	for _, disk := range d.disks {
		uuid := fmt.Sprintf("vol-%s-%s", name, disk.DiskID)
		row := must(s.CreateVolume(sendense.NewVolume{VMContextID: d.ctx, VolumeID: uuid, VolumeName: uuid, SizeGB: disk.SizeGB,
			Status: sendense.VolumeAvailable})).get(t)
		ok(t, s.LinkVolumeDisk(row, d.ctx, disk.DiskID))
		d.volumes = append(d.volumes, uuid)
		d.rows = append(d.rows, row)
	}
	return d
}

// attach maps volume i of d at device on the hub, with its export on port (the volume's row
// becomes attached in the same transaction).
func (d deviceSetup) attach(t *testing.T, s *sendense.Store, i int, device string, port int64) string {
	t.Helper()
	id := must(s.AttachDevice(sendense.NewDeviceMapping{VMContextID: d.ctx, VolumeUUID: d.volumes[i], VMID: "hub-vm",
		DevicePath: device, Size: d.disks[i].SizeGB << 30,
		Export: &sendense.NewNBDExport{VMDiskID: d.disks[i].ID, Port: port, JobID: d.job}})).get(t)
	return id
}

// detach removes the mapping of volume i of d (the volume's row becomes detached).
func (d deviceSetup) detach(t *testing.T, s *sendense.Store, i int) {
	t.Helper()
	ok(t, s.DetachDevice(d.volumes[i]))
}

func exportName(volumeUUID string) string { return "migration-vol-" + volumeUUID }

// consistent fails unless the storage consistency check and the integrity check find
// nothing.
func consistent(t *testing.T, s *sendense.Store, what string) {
	t.Helper()
	c := must(s.StorageConsistency()).get(t)
	r := must(s.IntegrityCheck()).get(t)
	if !c.OK || !r.OK || r.Storage == nil || !r.Storage.OK {
		t.Fatalf("%s: storage consistency %+v, integrity %+v", what, c, r)
	}
}

// wantMessage fails unless e's message contains every one of parts.
func wantMessage(t *testing.T, what string, e *sendense.Error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(e.Message, p) {
			t.Fatalf("%s: the message %q does not contain %q", what, e.Message, p)
		}
	}
}
