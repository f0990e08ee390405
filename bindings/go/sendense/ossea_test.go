package sendense_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"libsendense/bindings/go/sendense"
)

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

// fileContents is the database file and its WAL (when there is one), concatenated.
func fileContents(t *testing.T, path string) []byte {
	t.Helper()
	var all []byte
	for _, p := range []string{path, path + "-wal", path + "-journal"} {
		data, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, data...)
	}
	return all
}

// A store opened with a key writes only sealed envelopes: the plaintext of no secret is in
// the database file or its WAL, while the records themselves are (so the search looks where
// the data went), and the secrets open again with the key.
func TestSecretsAreSealedInTheFiles(t *testing.T) {
	key := testKey(t)
	s, path := openKeyed(t, key)
	keyID := must(s.SecretKeyID()).get(t)
	if len(keyID) != 16 {
		t.Fatalf("key id %q", keyID)
	}
	id := must(s.CreateCloudStackConfig(cloudStack("cloud-main", true))).get(t)
	must(s.UpdateCloudStackConfig(id, sendense.CloudStackConfigUpdate{SecretKey: sendense.String(plainNewSecret)})).get(t)
	lin := must(s.CreateLinstorConfig(sendense.NewLinstorConfig{Name: "linstor-main", APIURL: "linstor.example.test",
		APIKey: plainLinstorKey, APISecret: plainLinstorSec})).get(t)

	check := func(when string) {
		t.Helper()
		files := fileContents(t, path)
		if !bytes.Contains(files, []byte("cloud-main")) || !bytes.Contains(files, []byte("sndsec1:"+keyID+":")) {
			t.Fatalf("%s: the records are not in the files (%d bytes)", when, len(files))
		}
		for _, secret := range []string{plainAPIKey, plainSecretKey, plainNewSecret, plainLinstorKey, plainLinstorSec} {
			for _, form := range []string{secret, hex.EncodeToString([]byte(secret))} {
				if bytes.Contains(files, []byte(form)) {
					t.Fatalf("%s: %q is in the database files", when, form)
				}
			}
		}
	}
	check("open")

	c := must(s.CloudStackConfig(id)).get(t)
	if c.SealedWithKey == nil || *c.SealedWithKey != keyID || c.Name != "cloud-main" || !c.IsActive || str(c.Domain) != "ROOT" {
		t.Fatalf("read-out %+v", c)
	}
	sec := must(s.CloudStackConfigSecrets(id)).get(t)
	if sec.APIKey != plainAPIKey || sec.SecretKey != plainNewSecret {
		t.Fatal("the secrets do not open to what was written")
	}
	if strings.Contains(fmt.Sprintf("%v %+v %#v", sec, *sec, sec), "PLAINTEXT") {
		t.Fatal("printing the secrets shows them")
	}
	lsec := must(s.LinstorConfigSecrets(lin)).get(t)
	if lsec.APIKey != plainLinstorKey || lsec.APISecret != plainLinstorSec {
		t.Fatal("the Linstor secrets do not open to what was written")
	}
	// The JSON read-outs carry no secrets: decode them loosely and look.
	for _, v := range []any{must(s.ListCloudStackConfigs()).get(t), must(s.ListLinstorConfigs()).get(t), c} {
		if strings.Contains(fmt.Sprintf("%+v", v), "PLAINTEXT") {
			t.Fatalf("a read-out carries a secret: %+v", v)
		}
	}

	ok(t, s.Close())
	check("closed")
	s = reopen(t, path, key)
	if got := must(s.CloudStackConfigSecrets(id)).get(t); got.SecretKey != plainNewSecret {
		t.Fatal("the secrets do not open after reopening with the key")
	}
}

// Without the key, or with another key, the records read but the secrets do not, and nothing
// that needs sealing is written; bad keys and key files are refused.
func TestSecretKeyErrors(t *testing.T) {
	key := testKey(t)
	s, path := openKeyed(t, key)
	id := must(s.CreateCloudStackConfig(cloudStack("cloud-main", true))).get(t)
	keyID := must(s.SecretKeyID()).get(t)
	ok(t, s.Close())

	for name, k := range map[string][]byte{"without a key": nil, "with another key": testKey(t)} {
		o := reopen(t, path, k)
		c := must(o.CloudStackConfig(id)).get(t)
		if str(c.SealedWithKey) != keyID {
			t.Fatalf("%s: sealed with %s, want %s", name, str(c.SealedWithKey), keyID)
		}
		_, err := o.CloudStackConfigSecrets(id)
		e := wantErr(t, name+": open the secrets", err, sendense.ErrSecretKey)
		if !strings.Contains(e.Message, keyID) {
			t.Fatalf("%s: the message does not name the sealing key: %q", name, e.Message)
		}
		before := must(o.ListCloudStackConfigs()).get(t)
		_, err = o.CreateCloudStackConfig(cloudStack("cloud-other", true))
		if k == nil {
			wantErr(t, name+": create", err, sendense.ErrSecretKey)
			_, err = o.UpdateCloudStackConfig(id, sendense.CloudStackConfigUpdate{APIKey: sendense.String("new")})
			wantErr(t, name+": update a secret", err, sendense.ErrSecretKey)
			_, err = o.CreateLinstorConfig(sendense.NewLinstorConfig{Name: "l", APIURL: "l.example.test", APIKey: "k"})
			wantErr(t, name+": a Linstor secret", err, sendense.ErrSecretKey)
			if after := must(o.ListCloudStackConfigs()).get(t); len(after) != len(before) || !after[0].UpdatedAt.Equal(before[0].UpdatedAt) {
				t.Fatalf("%s: a refused write changed the configurations: %+v", name, after)
			}
			if got := must(o.SecretKeyID()).get(t); got != "" {
				t.Fatalf("key id without a key: %q", got)
			}
			// Settings without secrets change without a key.
			c := must(o.UpdateCloudStackConfig(id, sendense.CloudStackConfigUpdate{Zone: sendense.String("zone-2")})).get(t)
			if c.Zone != "zone-2" || str(c.SealedWithKey) != keyID {
				t.Fatalf("zone update: %+v", c)
			}
		} else {
			// Another key seals new secrets with itself; the old ones stay unreadable.
			ok(t, err)
			otherID := must(o.SecretKeyID()).get(t)
			for _, cfg := range must(o.ListCloudStackConfigs()).get(t) {
				want := map[string]string{"cloud-main": keyID, "cloud-other": otherID}[cfg.Name]
				if str(cfg.SealedWithKey) != want || otherID == keyID {
					t.Fatalf("%s: %s is sealed with %s, want %s", name, cfg.Name, str(cfg.SealedWithKey), want)
				}
			}
			ok(t, o.DeleteCloudStackConfig(must(o.ActiveCloudStackConfig()).get(t).ID))
		}
		ok(t, o.Close())
	}

	// Keys of the wrong length and bad key files.
	for _, k := range [][]byte{{}, make([]byte, 31), make([]byte, 33)} {
		_, err := sendense.OpenWithKey(path, nil, k)
		wantErr(t, fmt.Sprintf("a %d-byte key", len(k)), err, sendense.ErrInvalidArgument)
	}
	dir := t.TempDir()
	hexFile := filepath.Join(dir, "hex.key")
	ok(t, os.WriteFile(hexFile, []byte(hex.EncodeToString(key)+"\n"), 0o600))
	rawFile := filepath.Join(dir, "raw.key")
	ok(t, os.WriteFile(rawFile, key, 0o600))
	for _, f := range []string{hexFile, rawFile} {
		o := must(sendense.OpenWithKeyFile(path, nil, f)).get(t)
		if must(o.SecretKeyID()).get(t) != keyID || must(o.CloudStackConfigSecrets(id)).get(t).APIKey != plainAPIKey {
			t.Fatalf("the key file %s does not hold the key", f)
		}
		ok(t, o.Close())
	}
	_, err := sendense.OpenWithKeyFile(path, nil, filepath.Join(dir, "missing.key"))
	wantErr(t, "a missing key file", err, sendense.ErrIO)
	short := filepath.Join(dir, "short.key")
	ok(t, os.WriteFile(short, []byte("abcd"), 0o600))
	_, err = sendense.OpenWithKeyFile(path, nil, short)
	wantErr(t, "a key file of 4 bytes", err, sendense.ErrInvalidArgument)
}

// Rotation re-seals every secret under the new key in one transaction: the old key no
// longer opens them, the new one does; a rotation that cannot open a secret changes nothing.
func TestRotateSecretKey(t *testing.T) {
	oldKey, newKey := testKey(t), testKey(t)
	s, path := openKeyed(t, oldKey)
	oldID := must(s.SecretKeyID()).get(t)
	a := must(s.CreateCloudStackConfig(cloudStack("cloud-a", true))).get(t)
	b := must(s.CreateCloudStackConfig(cloudStack("cloud-b", false))).get(t)
	lin := must(s.CreateLinstorConfig(sendense.NewLinstorConfig{Name: "linstor", APIURL: "linstor.example.test",
		APIKey: plainLinstorKey, APISecret: plainLinstorSec})).get(t)
	bare := must(s.CreateLinstorConfig(sendense.NewLinstorConfig{Name: "linstor-bare", APIURL: "linstor2.example.test"})).get(t)

	n := must(s.RotateSecretKey(newKey)).get(t)
	if n != 6 {
		t.Fatalf("re-sealed %d values, want 6 (2 per configuration with secrets)", n)
	}
	newID := must(s.SecretKeyID()).get(t)
	if newID == oldID || len(newID) != 16 {
		t.Fatalf("key id after rotation: %q (was %q)", newID, oldID)
	}
	for _, id := range []int64{a, b} {
		if c := must(s.CloudStackConfig(id)).get(t); str(c.SealedWithKey) != newID {
			t.Fatalf("configuration %d sealed with %s after rotation", id, str(c.SealedWithKey))
		}
		if sec := must(s.CloudStackConfigSecrets(id)).get(t); sec.APIKey != plainAPIKey || sec.SecretKey != plainSecretKey {
			t.Fatal("the rotated secrets do not open to what was written")
		}
	}
	if l := must(s.LinstorConfig(lin)).get(t); str(l.SealedWithKey) != newID {
		t.Fatalf("the Linstor configuration is sealed with %s", str(l.SealedWithKey))
	}
	if l := must(s.LinstorConfig(bare)).get(t); l.SealedWithKey != nil {
		t.Fatalf("a configuration without secrets names a key: %s", *l.SealedWithKey)
	}
	ok(t, s.Close())

	// The old key no longer opens anything; the new one opens everything.
	old := reopen(t, path, oldKey)
	_, err := old.CloudStackConfigSecrets(a)
	wantErr(t, "the old key after rotation", err, sendense.ErrSecretKey)
	_, err = old.LinstorConfigSecrets(lin)
	wantErr(t, "the old key after rotation (Linstor)", err, sendense.ErrSecretKey)
	// A handle that cannot open the secrets cannot rotate them: nothing changes.
	_, err = old.RotateSecretKey(testKey(t))
	wantErr(t, "rotating with the wrong key", err, sendense.ErrSecretKey)
	ok(t, old.Close())
	noKey := reopen(t, path, nil)
	_, err = noKey.RotateSecretKey(testKey(t))
	wantErr(t, "rotating without a key", err, sendense.ErrSecretKey)
	_, err = noKey.RotateSecretKey(make([]byte, 16))
	wantErr(t, "rotating to a short key", err, sendense.ErrInvalidArgument)
	ok(t, noKey.Close())

	fresh := reopen(t, path, newKey)
	for _, id := range []int64{a, b} {
		if c := must(fresh.CloudStackConfig(id)).get(t); str(c.SealedWithKey) != newID {
			t.Fatalf("a refused rotation changed configuration %d: sealed with %s", id, str(c.SealedWithKey))
		}
		if sec := must(fresh.CloudStackConfigSecrets(id)).get(t); sec.SecretKey != plainSecretKey {
			t.Fatal("the new key does not open the secrets")
		}
	}
	if sec := must(fresh.LinstorConfigSecrets(lin)).get(t); sec.APIKey != plainLinstorKey || sec.APISecret != plainLinstorSec {
		t.Fatal("the new key does not open the Linstor secrets")
	}
	if sec := must(fresh.LinstorConfigSecrets(bare)).get(t); sec.APIKey != "" || sec.APISecret != "" {
		t.Fatal("a configuration without secrets has secrets")
	}
	// Rotating to the key in use re-seals (new nonces) and keeps the key id.
	if n := must(fresh.RotateSecretKey(newKey)).get(t); n != 6 || must(fresh.SecretKeyID()).get(t) != newID {
		t.Fatalf("rotating to the same key: %d values", n)
	}
}

// One configuration is active at a time; names are unique; updates set and clear columns.
func TestCloudStackConfigs(t *testing.T) {
	s, _ := openKeyed(t, testKey(t))
	a := must(s.CreateCloudStackConfig(cloudStack("cloud-a", true))).get(t)
	b := must(s.CreateCloudStackConfig(cloudStack("cloud-b", true))).get(t)
	c := must(s.CreateCloudStackConfig(cloudStack("cloud-c", false))).get(t)
	active := func() int64 {
		t.Helper()
		var ids []int64
		for _, cfg := range must(s.ListCloudStackConfigs()).get(t) {
			if cfg.IsActive {
				ids = append(ids, cfg.ID)
			}
		}
		if len(ids) != 1 {
			t.Fatalf("active configurations: %v, want exactly one", ids)
		}
		if got := must(s.ActiveCloudStackConfig()).get(t); got == nil || got.ID != ids[0] {
			t.Fatalf("ActiveCloudStackConfig: %+v, want %d", got, ids[0])
		}
		return ids[0]
	}
	if got := active(); got != b {
		t.Fatalf("active %d after creating b active, want %d", got, b)
	}
	ok(t, s.ActivateCloudStackConfig(a))
	if got := active(); got != a {
		t.Fatalf("active %d, want %d", got, a)
	}
	ok(t, s.ActivateCloudStackConfig(a)) // already active: stays the one
	ok(t, s.ActivateCloudStackConfig(c))
	if got := active(); got != c {
		t.Fatalf("active %d, want %d", got, c)
	}
	wantErr(t, "activate an unknown configuration", s.ActivateCloudStackConfig(9999), sendense.ErrNotFound)
	if got := active(); got != c {
		t.Fatalf("a refused activation moved the active configuration to %d", got)
	}

	// Goroutines activating configurations at once leave exactly one active.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 15; i++ {
				if err := s.ActivateCloudStackConfig([]int64{a, b, c}[(g+i)%3]); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	active()
	ok(t, s.ActivateCloudStackConfig(c))

	list := must(s.ListCloudStackConfigs()).get(t)
	if len(list) != 3 || list[0].Name != "cloud-a" || list[2].Name != "cloud-c" {
		t.Fatalf("list by name: %+v", list)
	}
	_, err := s.CreateCloudStackConfig(cloudStack("cloud-a", false))
	wantErr(t, "a taken name", err, sendense.ErrAlreadyExists)
	bad := cloudStack("cloud-d", false)
	bad.APIURL = "ftp://cloud.example.test"
	_, err = s.CreateCloudStackConfig(bad)
	wantErr(t, "an ftp URL", err, sendense.ErrInvalidArgument)
	bad = cloudStack("cloud-d", false)
	bad.SecretKey = ""
	_, err = s.CreateCloudStackConfig(bad)
	wantErr(t, "an empty secret", err, sendense.ErrInvalidArgument)
	_, err = s.CloudStackConfig(9999)
	wantErr(t, "an unknown configuration", err, sendense.ErrNotFound)
	_, err = s.CloudStackConfigSecrets(9999)
	wantErr(t, "the secrets of an unknown configuration", err, sendense.ErrNotFound)

	got := must(s.UpdateCloudStackConfig(b, sendense.CloudStackConfigUpdate{
		Name: sendense.String("cloud-b2"), NetworkID: sendense.String("net-2"), Clear: []string{"domain", "oma_vm_id"},
	})).get(t)
	if got.Name != "cloud-b2" || str(got.NetworkID) != "net-2" || got.Domain != nil || got.OMAVMID != nil || str(got.TemplateID) != "tmpl-1" {
		t.Fatalf("updated: %+v", got)
	}
	_, err = s.UpdateCloudStackConfig(b, sendense.CloudStackConfigUpdate{Name: sendense.String("cloud-a")})
	wantErr(t, "rename onto a taken name", err, sendense.ErrAlreadyExists)
	_, err = s.UpdateCloudStackConfig(b, sendense.CloudStackConfigUpdate{Clear: []string{"zone"}})
	wantErr(t, "clear a required column", err, sendense.ErrInvalidArgument)
	_, err = s.UpdateCloudStackConfig(b, sendense.CloudStackConfigUpdate{Domain: sendense.String("x"), Clear: []string{"domain"}})
	wantErr(t, "set and clear", err, sendense.ErrInvalidArgument)
	_, err = s.UpdateCloudStackConfig(9999, sendense.CloudStackConfigUpdate{Zone: sendense.String("z")})
	wantErr(t, "update an unknown configuration", err, sendense.ErrNotFound)
	if again := must(s.CloudStackConfig(b)).get(t); again.Name != "cloud-b2" || !again.UpdatedAt.Equal(got.UpdatedAt) {
		t.Fatalf("a refused update changed the configuration: %+v", again)
	}
	ok(t, s.DeleteCloudStackConfig(a))
	wantErr(t, "delete it again", s.DeleteCloudStackConfig(a), sendense.ErrNotFound)
}

// A configuration is not deletable while a volume or a replication job uses it.
func TestCloudStackConfigDeleteRefusedWhileUsed(t *testing.T) {
	s, _ := openKeyed(t, testKey(t))
	cfg := must(s.CreateCloudStackConfig(cloudStack("cloud-main", true))).get(t)
	vol := must(s.CreateVolume(sendense.NewVolume{VolumeID: "vol-0001", VolumeName: "web-01-disk-0", SizeGB: 40,
		OSSEAConfigID: sendense.Int64(cfg)})).get(t)
	e := wantErr(t, "delete a configuration a volume uses", s.DeleteCloudStackConfig(cfg), sendense.ErrConflict)
	if !strings.Contains(e.Message, "1 volume") {
		t.Fatalf("the refusal does not say how many volumes: %q", e.Message)
	}
	must(s.CloudStackConfig(cfg)).get(t)
	ok(t, s.DeleteVolume(vol))

	ctx := must(s.CreateContext(newVM("web-01", "vm-101"))).get(t)
	job := must(s.StartReplication(sendense.ReplicationStart{ContextID: ctx, Disks: twoDisks("web-01"), OSSEAConfigID: sendense.Int64(cfg)})).get(t)
	e = wantErr(t, "delete a configuration a job uses", s.DeleteCloudStackConfig(cfg), sendense.ErrConflict)
	if !strings.Contains(e.Message, "1 replication job") {
		t.Fatalf("the refusal does not say how many jobs: %q", e.Message)
	}
	ok(t, s.SetReplicationJobStatus(job, sendense.ReplicationJobFailed, "test"))
	ok(t, s.DeleteReplicationJob(job))
	ok(t, s.DeleteCloudStackConfig(cfg))
	_, err := s.CloudStackConfig(cfg)
	wantErr(t, "the deleted configuration", err, sendense.ErrNotFound)
}

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

// Linstor configurations: the schema's defaults, secrets optional and sealed, delete.
func TestLinstorConfigs(t *testing.T) {
	s, _ := openKeyed(t, testKey(t))
	id := must(s.CreateLinstorConfig(sendense.NewLinstorConfig{Name: "linstor-a", APIURL: "linstor.example.test"})).get(t)
	c := must(s.LinstorConfig(id)).get(t)
	if c.APIPort != 3370 || c.APIProtocol != "http" || c.ConnectionTimeoutSeconds != 30 || c.RetryAttempts != 3 ||
		!c.IsActive || c.SealedWithKey != nil || c.Description != nil {
		t.Fatalf("defaults: %+v", c)
	}
	other := must(s.CreateLinstorConfig(sendense.NewLinstorConfig{Name: "linstor-b", APIURL: "linstor2.example.test",
		APIPort: 3371, APIProtocol: "https", APIKey: "k", ConnectionTimeoutSeconds: 5, RetryAttempts: sendense.Int64(0),
		Description: "second", IsActive: sendense.Bool(false)})).get(t)
	c = must(s.LinstorConfig(other)).get(t)
	if c.APIPort != 3371 || c.APIProtocol != "https" || c.ConnectionTimeoutSeconds != 5 || c.RetryAttempts != 0 ||
		c.IsActive || str(c.Description) != "second" || str(c.SealedWithKey) != must(s.SecretKeyID()).get(t) {
		t.Fatalf("settings: %+v", c)
	}
	if sec := must(s.LinstorConfigSecrets(other)).get(t); sec.APIKey != "k" || sec.APISecret != "" {
		t.Fatal("the Linstor key does not open to what was written")
	}
	if list := must(s.ListLinstorConfigs()).get(t); len(list) != 2 || list[0].ID != id || list[1].ID != other {
		t.Fatalf("list: %+v", list)
	}
	_, err := s.CreateLinstorConfig(sendense.NewLinstorConfig{Name: "linstor-a", APIURL: "x"})
	wantErr(t, "a taken name", err, sendense.ErrAlreadyExists)
	_, err = s.CreateLinstorConfig(sendense.NewLinstorConfig{Name: "linstor-c", APIURL: "x", APIProtocol: "ftp"})
	wantErr(t, "an ftp protocol", err, sendense.ErrInvalidArgument)
	_, err = s.CreateLinstorConfig(sendense.NewLinstorConfig{Name: "linstor-c", APIURL: "x", APIPort: 70000})
	wantErr(t, "a port out of range", err, sendense.ErrInvalidArgument)
	ok(t, s.DeleteLinstorConfig(id))
	_, err = s.LinstorConfig(id)
	wantErr(t, "the deleted configuration", err, sendense.ErrNotFound)
	wantErr(t, "delete it again", s.DeleteLinstorConfig(id), sendense.ErrNotFound)
}
