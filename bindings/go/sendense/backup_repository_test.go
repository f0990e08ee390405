package sendense_test

import (
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
