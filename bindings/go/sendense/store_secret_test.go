package sendense_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"libsendense/bindings/go/sendense"
)

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
		if !bytes.Contains(files, []byte("cloud-main")) || !bytes.Contains(files, []byte("sndsec2:"+keyID+":")) {
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
			// Another key seals nothing: the store's current key is recorded in the database,
			// and the refusal names both keys.
			e := wantErr(t, name+": create", err, sendense.ErrSecretKey)
			otherID := must(o.SecretKeyID()).get(t)
			if otherID == keyID || !strings.Contains(e.Message, keyID) || !strings.Contains(e.Message, otherID) {
				t.Fatalf("%s: the refusal does not name both keys: %q", name, e.Message)
			}
			if after := must(o.ListCloudStackConfigs()).get(t); len(after) != len(before) {
				t.Fatalf("%s: a refused write changed the configurations: %+v", name, after)
			}
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

// CreateKeyFile writes a new private key file that OpenWithKeyFile reads, and never replaces
// one; a key file others may read is refused.
func TestCreateKeyFile(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "store.key")
	keyID := must(sendense.CreateKeyFile(keyPath)).get(t)
	if len(keyID) != 16 {
		t.Fatalf("key id %q", keyID)
	}
	info := must(os.Stat(keyPath)).get(t)
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("the key file has mode %v", info.Mode())
	}
	contents := must(os.ReadFile(keyPath)).get(t)
	s := must(sendense.OpenWithKeyFile(filepath.Join(dir, "store.db"), nil, keyPath)).get(t)
	if got := must(s.SecretKeyID()).get(t); got != keyID {
		t.Fatalf("opened with key %s, created %s", got, keyID)
	}
	ok(t, s.Close())

	_, err := sendense.CreateKeyFile(keyPath)
	wantErr(t, "an existing key file", err, sendense.ErrAlreadyExists)
	if again := must(os.ReadFile(keyPath)).get(t); !bytes.Equal(again, contents) {
		t.Fatal("a refused CreateKeyFile changed the key file")
	}
	_, err = sendense.CreateKeyFile(filepath.Join(dir, "no", "such.key"))
	wantErr(t, "a missing directory", err, sendense.ErrNotFound)
	_, err = sendense.CreateKeyFile("bad\x00.key")
	wantErr(t, "a NUL byte", err, sendense.ErrInvalidArgument)

	ok(t, os.Chmod(keyPath, 0o644))
	_, err = sendense.OpenWithKeyFile(filepath.Join(dir, "store.db"), nil, keyPath)
	if e := wantErr(t, "a key file readable by others", err, sendense.ErrSecretKey); !strings.Contains(e.Message, "0644") {
		t.Fatalf("the message does not name the mode: %q", e.Message)
	}
}

// A Store given the previous key as well opens what that key sealed; it writes new secrets
// only once it has rotated the store to its own key (until then the store's current key is
// the old one, and sealing with another is refused).
func TestAddPreviousSecretKey(t *testing.T) {
	oldKey, newKey := testKey(t), testKey(t)
	s, path := openKeyed(t, oldKey)
	a := must(s.CreateCloudStackConfig(cloudStack("cloud-a", true))).get(t)
	oldID := must(s.SecretKeyID()).get(t)
	ok(t, s.Close())

	s = reopen(t, path, newKey)
	_, err := s.CloudStackConfigSecrets(a)
	wantErr(t, "secrets sealed with another key", err, sendense.ErrSecretKey)
	wantErr(t, "a short previous key", s.AddPreviousSecretKey(make([]byte, 16)), sendense.ErrInvalidArgument)
	ok(t, s.AddPreviousSecretKey(oldKey))
	if sec := must(s.CloudStackConfigSecrets(a)).get(t); sec.APIKey != plainAPIKey || sec.SecretKey != plainSecretKey {
		t.Fatal("the previous key does not open the secrets")
	}
	if id := must(s.SecretKeyID()).get(t); id == oldID {
		t.Fatal("adding a previous key changed the sealing key")
	}
	_, err = s.CreateCloudStackConfig(cloudStack("cloud-b", false))
	wantErr(t, "a write before rotating to the new key", err, sendense.ErrSecretKey)
	if n := must(s.RotateSecretKey(newKey)).get(t); n != 2 {
		t.Fatalf("rotation re-sealed %d values, want 2", n)
	}
	b := must(s.CreateCloudStackConfig(cloudStack("cloud-b", false))).get(t)
	if c := must(s.CloudStackConfig(b)).get(t); str(c.SealedWithKey) != must(s.SecretKeyID()).get(t) {
		t.Fatalf("a new secret is sealed with %s", str(c.SealedWithKey))
	}
	ok(t, s.Close())
}
