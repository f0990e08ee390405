package sendense_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"libsendense/bindings/go/sendense"
)

// Refusals of repositories: unknown ids, invalid configurations, taken names; a disabled
// repository takes no new backups.
func TestRepositoryRefusals(t *testing.T) {
	s, _ := openTemp(t)
	b := newBackupSetup(t, s, "bk-02")

	// A disabled repository takes no new backups.
	ok(t, s.SetRepositoryEnabled(b.primary, false))
	_, err := s.StartBackup(sendense.BackupStart{ContextID: b.ctx, DiskID: 1, RepositoryID: b.primary,
		BackupType: sendense.BackupFull, RepositoryPath: "/var/lib/sendense/x.qcow2"})
	wantErr(t, "a backup to a disabled repository", err, sendense.ErrInvalidState)
	ok(t, s.SetRepositoryEnabled(b.primary, true))

	// Unknown ids.
	const missing = "no-such-id"
	for what, err := range map[string]error{
		"repository":        func() error { _, err := s.Repository(missing); return err }(),
		"delete repository": s.DeleteRepository(missing),
		"enable repository": s.SetRepositoryEnabled(missing, true),
		"update repository": func() error { _, err := s.UpdateRepository(missing, sendense.RepositoryUpdate{}); return err }(),
	} {
		e := wantErr(t, what, err, sendense.ErrNotFound)
		if !strings.Contains(e.Message, missing) {
			t.Fatalf("%s: the message does not name the id: %v", what, e)
		}
	}

	// Invalid inputs and duplicates.
	_, err = s.CreateRepository(sendense.NewRepository{Name: "bad", RepositoryType: sendense.RepositoryLocal,
		Config: sendense.RepositoryConfig{"path": "relative/path"}})
	wantErr(t, "a relative local path", err, sendense.ErrInvalidArgument)
	_, err = s.CreateRepository(sendense.NewRepository{Name: "bad", RepositoryType: sendense.RepositoryNFS,
		Config: sendense.RepositoryConfig{"server": "nas", "export_path": "/e", "password": "secret"}})
	if e := wantErr(t, "an unknown config key", err, sendense.ErrInvalidArgument); !strings.Contains(e.Message, "password") {
		t.Fatalf("the refusal does not name the key: %v", e)
	}
	_, err = s.CreateRepository(sendense.NewRepository{Name: "bk-02-primary", RepositoryType: sendense.RepositoryLocal,
		Config: sendense.RepositoryConfig{"path": "/srv/other"}})
	wantErr(t, "a taken repository name", err, sendense.ErrAlreadyExists)
	_, err = s.UpdateRepository(b.primary, sendense.RepositoryUpdate{ImmutableConfig: &sendense.ImmutableConfig{}, ClearImmutableConfig: true})
	wantErr(t, "set and clear", err, sendense.ErrInvalidArgument)
}

// Repositories: created with their type's configuration (and an immutable lock), read,
// listed by type and state, updated, enabled and disabled, their capacity recorded, and
// deleted when nothing uses them.
func TestRepositories(t *testing.T) {
	s, _ := openTemp(t)
	local := must(s.CreateRepository(sendense.NewRepository{ID: "repo-local", Name: "local", RepositoryType: sendense.RepositoryLocal,
		Config: sendense.RepositoryConfig{"path": "/srv/backups"}, MinRetentionDays: 3})).get(t)
	lock := &sendense.ImmutableConfig{GracePeriodDays: 1, ApplyToFulls: true, ApplyToIncrementals: false, MinRetentionDays: 30}
	vault := must(s.CreateRepository(sendense.NewRepository{Name: "vault", RepositoryType: sendense.RepositoryAzure,
		Config: sendense.RepositoryConfig{"account": "acct", "container": "vault"}, IsImmutable: true, ImmutableConfig: lock})).get(t)
	nas := must(s.CreateRepository(sendense.NewRepository{Name: "nas", RepositoryType: sendense.RepositoryNFS, Enabled: sendense.Bool(false),
		Config: sendense.RepositoryConfig{"server": "nas.example.test", "export_path": "/exports/backups"}})).get(t)
	if local != "repo-local" {
		t.Fatalf("caller-chosen repository id: %q", local)
	}
	r := must(s.Repository(local)).get(t)
	if r.Name != "local" || !r.Enabled || r.IsImmutable || r.ImmutableConfig != nil || r.MinRetentionDays != 3 ||
		r.Config["path"] != "/srv/backups" || r.LastCheckAt != nil || r.TotalSizeBytes != 0 {
		t.Fatalf("local repository: %+v", r)
	}
	if v := must(s.Repository(vault)).get(t); !v.IsImmutable || v.ImmutableConfig == nil || *v.ImmutableConfig != *lock {
		t.Fatalf("immutable repository: %+v", v)
	}
	_, err := s.CreateRepository(sendense.NewRepository{Name: "no-lock", RepositoryType: sendense.RepositoryLocal,
		Config: sendense.RepositoryConfig{"path": "/srv/x"}, IsImmutable: true})
	wantErr(t, "immutable without a lock", err, sendense.ErrInvalidArgument)

	names := func(f sendense.RepositoryFilter) string {
		var out []string
		for _, r := range must(s.ListRepositories(f)).get(t) {
			out = append(out, r.Name)
		}
		sort.Strings(out)
		return fmt.Sprint(out)
	}
	for _, c := range []struct {
		filter sendense.RepositoryFilter
		want   string
	}{
		{sendense.RepositoryFilter{}, "[local nas vault]"},
		{sendense.RepositoryFilter{Enabled: sendense.Bool(false)}, "[nas]"},
		{sendense.RepositoryFilter{RepositoryType: sendense.RepositoryAzure}, "[vault]"},
		{sendense.RepositoryFilter{RepositoryType: sendense.RepositoryS3}, "[]"},
	} {
		if got := names(c.filter); got != c.want {
			t.Fatalf("repositories of %+v: %s, want %s", c.filter, got, c.want)
		}
	}

	ok(t, s.SetRepositoryEnabled(nas, true))
	ok(t, s.RecordRepositoryCapacity(nas, 1000, 400, 600))
	wantErr(t, "more used and available than total", s.RecordRepositoryCapacity(nas, 1000, 600, 600), sendense.ErrInvalidArgument)
	n := must(s.Repository(nas)).get(t)
	if !n.Enabled || n.TotalSizeBytes != 1000 || n.UsedSizeBytes != 400 || n.AvailableSizeBytes != 600 || n.LastCheckAt == nil {
		t.Fatalf("nas after enabling and its capacity: %+v", n)
	}
	u := must(s.UpdateRepository(nas, sendense.RepositoryUpdate{Config: sendense.RepositoryConfig{"server": "nas2.example.test",
		"export_path": "/exports/b", "mount_options": "vers=4.1"}, MinRetentionDays: sendense.Int64(1)})).get(t)
	if u.Config["server"] != "nas2.example.test" || u.Config["mount_options"] != "vers=4.1" || u.MinRetentionDays != 1 || u.Name != "nas" {
		t.Fatalf("updated nas: %+v", u)
	}
	_, err = s.UpdateRepository(nas, sendense.RepositoryUpdate{Config: sendense.RepositoryConfig{"path": "/srv"}})
	wantErr(t, "a configuration of another type", err, sendense.ErrInvalidArgument)
	if again := must(s.Repository(nas)).get(t); again.Config["server"] != "nas2.example.test" {
		t.Fatalf("a refused update changed the configuration: %+v", again)
	}

	// Unused, a repository can go.
	ok(t, s.DeleteRepository(nas))
	_, err = s.Repository(nas)
	wantErr(t, "the deleted repository", err, sendense.ErrNotFound)
}
