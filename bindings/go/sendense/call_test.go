package sendense_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"libsendense/bindings/go/sendense"
)

// Every string argument is checked for a NUL byte (which C would silently cut the string at)
// before the call: the refusal names the argument, and nothing changes.
func TestArgumentsWithNULBytes(t *testing.T) {
	s, path := openTemp(t)
	web := must(s.CreateContext(newVM("web-01", "vm-101"))).get(t)
	job := must(s.StartReplication(sendense.ReplicationStart{ContextID: web, Disks: twoDisks("web-01")})).get(t)
	for what, err := range map[string]error{
		"context id":        func() error { _, err := s.Context("bad\x00id"); return err }(),
		"vCenter host":      func() error { _, err := s.FindContext("vm-101", "vcenter\x00"); return err }(),
		"job id":            s.ReplicationProgress("bad\x00id", sendense.ReplicationProgress{}),
		"current operation": s.ReplicationProgress(job, sendense.ReplicationProgress{Percent: 50, CurrentOperation: "copy\x00ing"}),
		"error message":     s.SetReplicationJobStatus(job, sendense.ReplicationJobFailed, "lost\x00"),
		"disk id":           s.ReplicationDiskProgress(job, "disk-2000\x00", 50, 1, sendense.DiskSyncing),
		"disk sync status":  s.ReplicationDiskProgress(job, "disk-2000", 50, 1, "syncing\x00"),
		"owner id":          func() error { _, err := s.AcquireLease(sendense.PoolBackupNBDPort, "job\x00", 0); return err }(),
		"volume id":         func() error { _, err := s.FindVolume("v\x00"); return err }(),
		"destination path":  s.CopyDatabaseTo(filepath.Join(t.TempDir(), "copy\x00.db")),
		"path":              func() error { _, err := sendense.Open(path+"\x00", nil); return err }(),
		"key path":          func() error { _, err := sendense.OpenWithKeyFile(path, nil, "key\x00"); return err }(),
	} {
		e := wantErr(t, what, err, sendense.ErrInvalidArgument)
		wantMessage(t, what, e, what+" contains a NUL byte")
	}
	j := must(s.ReplicationJob(job)).get(t)
	if j.Status != sendense.ReplicationJobPending || j.ProgressPercent != 0 || j.CurrentOperation != nil {
		t.Fatalf("refused calls changed the job: %+v", j)
	}
	for _, d := range must(s.Disks(web)).get(t) {
		if d.SyncStatus != sendense.DiskPending || d.SyncProgressPercent != 0 {
			t.Fatalf("refused calls changed the disk: %+v", d)
		}
	}
}

// Every shape of call (nothing answered, JSON, a record, an id, an integer, a typed snapshot)
// answers ErrClosed after Close; an argument that is refused is refused first.
func TestEveryCallShapeAfterClose(t *testing.T) {
	s, _ := openKeyed(t, testKey(t))
	ok(t, s.Close())
	for what, err := range map[string]error{
		"nothing":  s.DeleteContext("x"),
		"JSON":     func() error { _, err := s.ListContexts(sendense.ContextFilter{}); return err }(),
		"a record": func() error { _, err := s.Context("x"); return err }(),
		"an id":    func() error { _, err := s.CreateContext(newVM("web-01", "vm-101")); return err }(),
		"a row id": func() error {
			_, err := s.CreateVolume(sendense.NewVolume{VolumeID: "v", VolumeName: "v", SizeGB: 1})
			return err
		}(),
		"a count":  func() error { _, err := s.RotateSecretKey(testKey(t)); return err }(),
		"a key id": func() error { _, err := s.SecretKeyID(); return err }(),
		"schema":   func() error { _, err := s.SchemaVersion(); return err }(),
		"a chain":  func() error { _, err := s.Chain("x", 0, "y"); return err }(),
	} {
		if !errors.Is(err, sendense.ErrClosed) || !errors.Is(err, sendense.ErrInvalidArgument) {
			t.Fatalf("%s after Close: %v", what, err)
		}
	}
	_, err := s.Context("bad\x00id")
	if e := wantErr(t, "a NUL byte after Close", err, sendense.ErrInvalidArgument); errors.Is(e, sendense.ErrClosed) {
		t.Fatalf("a refused argument after Close: %v", e)
	}
}

// A call that answers nothing is not an error: no pending copy, no key, no active
// configuration.
func TestAbsentAnswers(t *testing.T) {
	s, _ := openTemp(t)
	if c, err := s.ClaimCopy("worker-1"); c != nil || err != nil {
		t.Fatalf("claim with nothing pending: %+v, %v", c, err)
	}
	if id, err := s.SecretKeyID(); id != "" || err != nil {
		t.Fatalf("key id without a key: %q, %v", id, err)
	}
	if c, err := s.ActiveCloudStackConfig(); c != nil || err != nil {
		t.Fatalf("active configuration without any: %+v, %v", c, err)
	}
}

// An input document that does not encode is refused before the call, naming the document;
// the refusals of the update types' MarshalJSON come back as they are.
func TestInputDocuments(t *testing.T) {
	s, _ := openTemp(t)
	_, err := s.CreateVolumeOperation(sendense.NewVolumeOperation{Type: sendense.VolumeOpAttach, VolumeID: "vol-1",
		Request: map[string]any{"callback": func() {}}})
	e := wantErr(t, "a request that does not encode", err, sendense.ErrInvalidArgument)
	wantMessage(t, "a request that does not encode", e, "encoding new volume operation")
	if list := must(s.ListVolumeOperations(sendense.VolumeOpFilter{})).get(t); len(list) != 0 {
		t.Fatalf("a refused document recorded an operation: %+v", list)
	}
	id := must(s.CreateVolumeOperation(sendense.NewVolumeOperation{Type: sendense.VolumeOpAttach, VolumeID: "vol-1",
		Request: map[string]string{"volume_id": "vol-1"}})).get(t)
	ok(t, s.SetVolumeOperationStatus(id, sendense.VolumeOpExecuting, nil, ""))
	e = wantErr(t, "a response that does not encode",
		s.SetVolumeOperationStatus(id, sendense.VolumeOpCompleted, make(chan int), ""), sendense.ErrInvalidArgument)
	wantMessage(t, "a response that does not encode", e, "encoding response")
	if op := must(s.VolumeOperation(id)).get(t); op.Status != sendense.VolumeOpExecuting {
		t.Fatalf("a refused response moved the operation: %+v", op)
	}

	web := must(s.CreateContext(newVM("web-01", "vm-101"))).get(t)
	_, err = s.UpdateContext(web, sendense.ContextUpdate{OSType: sendense.String("x"), Clear: []string{"os_type"}})
	e = wantErr(t, "set and cleared", err, sendense.ErrInvalidArgument)
	if !strings.HasPrefix(e.Message, "INVALID_ARGUMENT: context update: os_type is both set and cleared") {
		t.Fatalf("the refusal of MarshalJSON was rewrapped: %q", e.Message)
	}
}

// The pointer helpers point at copies.
func TestPointerHelpers(t *testing.T) {
	v := "web-01"
	p := sendense.String(v)
	v = "changed"
	if *p != "web-01" || *sendense.Int64(7) != 7 || *sendense.Float64(2.5) != 2.5 || !*sendense.Bool(true) {
		t.Fatal("a pointer helper does not point at its value")
	}
	if sendense.Int64(1) == sendense.Int64(1) {
		t.Fatal("two calls share a pointer")
	}
}
