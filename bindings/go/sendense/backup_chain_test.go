package sendense_test

import (
	"strings"
	"testing"

	"libsendense/bindings/go/sendense"
)

// Chains through the typed snapshot agree with the listed ones, and the CBT decision of the
// next backup builds on the chain's latest point.
func TestChainAndBackupDecision(t *testing.T) {
	s, _ := openTemp(t)
	b := newBackupSetup(t, s, "cp-01")

	_, err := s.Chain(b.ctx, 0, b.primary)
	wantErr(t, "a chain before any backup", err, sendense.ErrNotFound)
	d := must(s.DecideBackupCBT(b.ctx, 0, b.primary, changeID(epochA, 1))).get(t)
	if d.Mode != sendense.SyncFull || d.BaseChangeID != nil || d.Reason != sendense.ReasonNoBase {
		t.Fatalf("first decision: %+v", d)
	}

	b.threeVMBackups(t, s)

	chain := must(s.Chain(b.ctx, 0, b.primary)).get(t)
	for _, c := range must(s.Chains(b.ctx)).get(t) {
		if c.DiskID == 0 && (c.ID != chain.ID || str(c.LatestBackupID) != str(chain.LatestBackupID) ||
			c.TotalBackups != chain.TotalBackups || c.TotalSizeBytes != chain.TotalSizeBytes ||
			!c.CreatedAt.Equal(chain.CreatedAt) || !c.UpdatedAt.Equal(chain.UpdatedAt)) {
			t.Fatalf("typed chain %+v differs from the listed one %+v", chain, c)
		}
	}
	if chain.TotalBackups != 3 || chain.VMContextID != b.ctx || chain.RepositoryID != b.primary || chain.DiskID != 0 {
		t.Fatalf("chain: %+v", chain)
	}
	d = must(s.DecideBackupCBT(b.ctx, 0, b.primary, changeID(epochA, 31))).get(t)
	if d.Mode != sendense.SyncIncremental || str(d.BaseChangeID) != changeID(epochA, 30) {
		t.Fatalf("decision after three points: %+v", d)
	}
	_, err = s.DecideBackupCBT(b.ctx, 0, b.primary, "garbage")
	wantErr(t, "a malformed change id", err, sendense.ErrInvalidArgument)
	_, err = s.DecideBackupCBT(b.ctx, 0, "no-such-repository", changeID(epochA, 31))
	wantErr(t, "an unknown repository", err, sendense.ErrNotFound)
}

// Refusals of chains: an unknown point or context, a restore chain through an active point.
func TestChainRefusals(t *testing.T) {
	s, _ := openTemp(t)
	b := newBackupSetup(t, s, "bk-02")
	full := must(s.StartBackup(sendense.BackupStart{ContextID: b.ctx, DiskID: 0, RepositoryID: b.primary,
		BackupType: sendense.BackupFull, RepositoryPath: "/var/lib/sendense/x.qcow2"})).get(t)
	wantErr(t, "a restore chain through an active point", func() error { _, err := s.RestoreChain(full); return err }(), sendense.ErrInvalidState)

	const missing = "no-such-id"
	for what, err := range map[string]error{
		"restore chain": func() error { _, err := s.RestoreChain(missing); return err }(),
		"chains":        func() error { _, err := s.Chains(missing); return err }(),
	} {
		e := wantErr(t, what, err, sendense.ErrNotFound)
		if !strings.Contains(e.Message, missing) {
			t.Fatalf("%s: the message does not name the id: %v", what, e)
		}
	}
}
