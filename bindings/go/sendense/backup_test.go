package sendense_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"libsendense/bindings/go/sendense"
)

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

// The backup lifecycle of a 2-disk VM: repositories, a policy with a copy rule, a full and
// three incrementals per disk sharing a group per VM backup, chains, the restore chain of the
// newest point, a refused and an allowed delete, and the copies the policy queued.
func TestBackupLifecycle(t *testing.T) {
	s, _ := openTemp(t)
	b := newBackupSetup(t, s, "bk-01")

	repo := must(s.Repository(b.primary)).get(t)
	if repo.Name != "bk-01-primary" || repo.RepositoryType != sendense.RepositoryLocal || !repo.Enabled ||
		repo.Config["path"] != "/var/lib/sendense/bk-01" || repo.ImmutableConfig != nil || repo.CreatedAt.IsZero() {
		t.Fatalf("repository: %+v", repo)
	}
	if list := must(s.ListRepositories(sendense.RepositoryFilter{RepositoryType: sendense.RepositoryS3})).get(t); len(list) != 1 || list[0].ID != b.secondary {
		t.Fatalf("s3 repositories: %+v", list)
	}
	ok(t, s.RecordRepositoryCapacity(b.primary, 1<<40, 1<<30, 1<<39))
	renamed := must(s.UpdateRepository(b.primary, sendense.RepositoryUpdate{
		Name: sendense.String("bk-01-local"), MinRetentionDays: sendense.Int64(0),
	})).get(t)
	if renamed.Name != "bk-01-local" || renamed.TotalSizeBytes != 1<<40 || renamed.LastCheckAt == nil {
		t.Fatalf("updated repository: %+v", renamed)
	}
	policy := must(s.Policy(b.policy)).get(t)
	if policy.PrimaryRepositoryID != b.primary || policy.RetentionDays != 14 || len(policy.CopyRules) != 1 ||
		policy.CopyRules[0].DestinationRepositoryID != b.secondary || policy.CopyRules[0].CopyMode != sendense.CopyImmediate ||
		!policy.CopyRules[0].Enabled || !policy.CopyRules[0].VerifyAfterCopy {
		t.Fatalf("policy: %+v", policy)
	}
	if list := must(s.ListPolicies(sendense.PolicyFilter{RepositoryID: b.secondary})).get(t); len(list) != 1 || list[0].ID != b.policy {
		t.Fatalf("policies copying to the secondary: %+v", list)
	}

	// A full and three incrementals of each disk; each VM backup is one group.
	points := map[int64][]string{}
	var groups []string
	for round := 0; round < 4; round++ {
		typ := sendense.BackupIncremental
		if round == 0 {
			typ = sendense.BackupFull
		}
		group := fmt.Sprintf("vm-backup-%d", round)
		groups = append(groups, group)
		for disk := int64(0); disk < 2; disk++ {
			points[disk] = append(points[disk], b.backUp(t, s, disk, typ, group, 10*round+int(disk)+1))
		}
	}
	for disk, ids := range points {
		for i, id := range ids {
			p := must(s.BackupPoint(id)).get(t)
			if p.Status != sendense.BackupCompleted || p.DiskID != disk || p.VMContextID != b.ctx || p.VMName != "bk-01" ||
				str(p.BackupGroupID) != groups[i] || str(p.PolicyID) != b.policy || p.CompletedAt == nil || p.StartedAt == nil ||
				p.SizeBytes == 0 || p.ChangeID == nil {
				t.Fatalf("point %d of disk %d: %+v", i, disk, p)
			}
			if (i == 0) != (p.ParentBackupID == nil) || (i > 0 && *p.ParentBackupID != ids[i-1]) {
				t.Fatalf("point %d of disk %d has parent %s, want %v", i, disk, str(p.ParentBackupID), ids)
			}
		}
	}
	if group := must(s.ListBackupPoints(sendense.BackupPointFilter{BackupGroupID: groups[2]})).get(t); len(group) != 2 ||
		group[0].DiskID == group[1].DiskID {
		t.Fatalf("group %s: %+v", groups[2], group)
	}
	if all := must(s.ListBackupPoints(sendense.BackupPointFilter{ContextID: b.ctx, Status: sendense.BackupCompleted})).get(t); len(all) != 8 {
		t.Fatalf("%d completed points, want 8", len(all))
	}
	chains := must(s.Chains(b.ctx)).get(t)
	if len(chains) != 2 {
		t.Fatalf("chains: %+v", chains)
	}
	for _, c := range chains {
		ids := points[c.DiskID]
		if str(c.FullBackupID) != ids[0] || str(c.LatestBackupID) != ids[3] || c.TotalBackups != 4 || c.RepositoryID != b.primary {
			t.Fatalf("chain of disk %d: %+v", c.DiskID, c)
		}
	}

	// The restore chain of the newest point of disk 1: its full, then each incremental.
	newest := points[1][3]
	restore := must(s.RestoreChain(newest)).get(t)
	if len(restore) != 4 || restore[0].BackupType != sendense.BackupFull {
		t.Fatalf("restore chain: %+v", restore)
	}
	for i, p := range restore {
		if p.ID != points[1][i] {
			t.Fatalf("restore chain link %d is %s, want %s", i, p.ID, points[1][i])
		}
	}

	// The full is depended on: the refusal names the point building on it and changes nothing.
	e := wantErr(t, "deleting the full", s.DeleteBackupPoint(points[1][0]), sendense.ErrConflict)
	if !strings.Contains(e.Message, points[1][1]) || !strings.Contains(e.Message, "builds on it") {
		t.Fatalf("the refusal does not name the dependent: %v", e)
	}
	must(s.BackupPoint(points[1][0])).get(t)
	// The newest point can go; the chain then ends at its parent.
	ok(t, s.DeleteBackupPoint(newest))
	wantErr(t, "the deleted point", func() error { _, err := s.BackupPoint(newest); return err }(), sendense.ErrNotFound)
	for _, c := range must(s.Chains(b.ctx)).get(t) {
		if c.DiskID == 1 && (str(c.LatestBackupID) != points[1][2] || c.TotalBackups != 3) {
			t.Fatalf("chain of disk 1 after the delete: %+v", c)
		}
	}

	// Each completed point was owed one copy to the secondary; the deleted one took its copy
	// along. Claiming returns the oldest first, then nothing.
	var claimed []*sendense.BackupCopy
	for {
		c := must(s.ClaimCopy("worker-1")).get(t)
		if c == nil {
			break
		}
		if c.Status != sendense.CopyCopying || c.RepositoryID != b.secondary || c.CopyStartedAt == nil || str(c.CopyRuleID) != policy.CopyRules[0].ID ||
			!strings.HasPrefix(c.FilePath, b.secondary+"/"+b.ctx+"/disk-") {
			t.Fatalf("claimed copy: %+v", c)
		}
		claimed = append(claimed, c)
	}
	if len(claimed) != 7 || claimed[0].SourceBackupID != points[0][0] {
		t.Fatalf("claimed %d copies, want 7, the first of %s", len(claimed), points[0][0])
	}

	// The repositories hold backups and a policy writes to them: neither can go.
	wantErr(t, "deleting the primary", s.DeleteRepository(b.primary), sendense.ErrConflict)
	wantErr(t, "deleting the secondary", s.DeleteRepository(b.secondary), sendense.ErrConflict)
	updated := must(s.UpdatePolicy(b.policy, sendense.PolicyUpdate{CopyRules: []sendense.NewCopyRule{}})).get(t)
	if len(updated.CopyRules) != 0 {
		t.Fatalf("policy after removing its rules: %+v", updated)
	}
	ok(t, s.DeletePolicy(b.policy))
	if p := must(s.BackupPoint(points[0][0])).get(t); p.PolicyID != nil {
		t.Fatalf("a point keeps naming the deleted policy: %+v", p)
	}
	if r := must(s.IntegrityCheck()).get(t); !r.OK {
		t.Fatalf("integrity: %+v", r)
	}
}

// Refusals come back as *Error values matching the sentinels, and change nothing.
func TestBackupRefusals(t *testing.T) {
	s, _ := openTemp(t)
	b := newBackupSetup(t, s, "bk-02")
	start := func(disk int64, typ sendense.BackupType) (string, error) {
		return s.StartBackup(sendense.BackupStart{ContextID: b.ctx, DiskID: disk, RepositoryID: b.primary,
			BackupType: typ, RepositoryPath: "/var/lib/sendense/x.qcow2"})
	}

	// An incremental or differential without a full to build on.
	_, err := start(0, sendense.BackupIncremental)
	e := wantErr(t, "an incremental without a parent", err, sendense.ErrInvalidState)
	if !strings.Contains(e.Message, "no completed full backup") {
		t.Fatalf("the refusal does not say why: %v", e)
	}
	_, err = start(0, sendense.BackupDifferential)
	wantErr(t, "a differential without a parent", err, sendense.ErrInvalidState)
	if list := must(s.ListBackupPoints(sendense.BackupPointFilter{ContextID: b.ctx})).get(t); len(list) != 0 {
		t.Fatalf("a refused start left points: %+v", list)
	}

	// One active point per (context, disk, repository); the state machine.
	full := must(start(0, sendense.BackupFull)).get(t)
	_, err = start(0, sendense.BackupFull)
	wantErr(t, "a second active point", err, sendense.ErrConflict)
	wantErr(t, "completing a pending point", s.CompleteBackup(full, "", 1, 1), sendense.ErrInvalidState)
	wantErr(t, "deleting an active point", s.DeleteBackupPoint(full), sendense.ErrConflict)
	wantErr(t, "a restore chain through an active point", func() error { _, err := s.RestoreChain(full); return err }(), sendense.ErrInvalidState)
	wantErr(t, "a failure without a reason", s.FailBackup(full, " "), sendense.ErrInvalidArgument)
	ok(t, s.SetBackupRunning(full))
	wantErr(t, "a malformed change id", s.CompleteBackup(full, "not a change id", 1, 1), sendense.ErrInvalidArgument)
	ok(t, s.FailBackup(full, "NBD export vanished"))
	if p := must(s.BackupPoint(full)).get(t); p.Status != sendense.BackupFailed || str(p.ErrorMessage) != "NBD export vanished" {
		t.Fatalf("failed point: %+v", p)
	}
	wantErr(t, "cancelling a failed point", s.CancelBackup(full), sendense.ErrInvalidState)
	cancelled := must(start(1, sendense.BackupFull)).get(t)
	ok(t, s.CancelBackup(cancelled))
	ok(t, s.DeleteBackupPoint(cancelled))

	// A repository's minimum retention protects a completed point.
	ok(t, func() error {
		_, err := s.UpdateRepository(b.primary, sendense.RepositoryUpdate{MinRetentionDays: sendense.Int64(7)})
		return err
	}())
	kept := b.backUp(t, s, 0, sendense.BackupFull, "", 1)
	e = wantErr(t, "deleting inside the minimum retention", s.DeleteBackupPoint(kept), sendense.ErrInvalidState)
	if !strings.Contains(e.Message, "minimum retention") {
		t.Fatalf("the refusal does not say why: %v", e)
	}

	// A disabled repository takes no new backups.
	ok(t, s.SetRepositoryEnabled(b.primary, false))
	_, err = start(1, sendense.BackupFull)
	wantErr(t, "a backup to a disabled repository", err, sendense.ErrInvalidState)
	ok(t, s.SetRepositoryEnabled(b.primary, true))

	// Unknown ids.
	const missing = "no-such-id"
	for what, err := range map[string]error{
		"repository":        func() error { _, err := s.Repository(missing); return err }(),
		"policy":            func() error { _, err := s.Policy(missing); return err }(),
		"backup point":      func() error { _, err := s.BackupPoint(missing); return err }(),
		"restore chain":     func() error { _, err := s.RestoreChain(missing); return err }(),
		"chains":            func() error { _, err := s.Chains(missing); return err }(),
		"set running":       s.SetBackupRunning(missing),
		"complete":          s.CompleteBackup(missing, "", 0, 0),
		"fail":              s.FailBackup(missing, "gone"),
		"cancel":            s.CancelBackup(missing),
		"delete":            s.DeleteBackupPoint(missing),
		"delete repository": s.DeleteRepository(missing),
		"delete policy":     s.DeletePolicy(missing),
		"enable repository": s.SetRepositoryEnabled(missing, true),
		"update repository": func() error { _, err := s.UpdateRepository(missing, sendense.RepositoryUpdate{}); return err }(),
		"update policy":     func() error { _, err := s.UpdatePolicy(missing, sendense.PolicyUpdate{}); return err }(),
		"start (context)": func() error {
			_, err := s.StartBackup(sendense.BackupStart{ContextID: missing, RepositoryID: b.primary, BackupType: sendense.BackupFull, RepositoryPath: "/x"})
			return err
		}(),
		"start (repository)": func() error { _, err := start2(s, b.ctx, missing); return err }(),
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
	_, err = s.CreatePolicy(sendense.NewPolicy{Name: "self-copy", PrimaryRepositoryID: b.primary,
		CopyRules: []sendense.NewCopyRule{{DestinationRepositoryID: b.primary, Priority: 1}}})
	wantErr(t, "a copy rule onto the primary", err, sendense.ErrInvalidArgument)
	_, err = s.UpdateRepository(b.primary, sendense.RepositoryUpdate{ImmutableConfig: &sendense.ImmutableConfig{}, ClearImmutableConfig: true})
	wantErr(t, "set and clear", err, sendense.ErrInvalidArgument)
	_, err = s.ClaimCopy("")
	wantErr(t, "an empty worker id", err, sendense.ErrInvalidArgument)
	_, err = s.StartBackup(sendense.BackupStart{ContextID: b.ctx, DiskID: -1, RepositoryID: b.primary,
		BackupType: sendense.BackupFull, RepositoryPath: "/x"})
	wantErr(t, "a negative disk index", err, sendense.ErrInvalidArgument)
	if errors.Is(err, sendense.ErrNotFound) {
		t.Fatal("an *Error matches another status's sentinel")
	}
}

func start2(s *sendense.Store, ctx, repository string) (string, error) {
	return s.StartBackup(sendense.BackupStart{ContextID: ctx, RepositoryID: repository,
		BackupType: sendense.BackupFull, RepositoryPath: "/x"})
}

// 8 goroutines claim copies concurrently until none is pending: every copy is claimed
// exactly once.
func TestCopiesClaimedOnce(t *testing.T) {
	s, _ := openTemp(t)
	b := newBackupSetup(t, s, "bk-03")
	const rounds = 10
	for round := 0; round < rounds; round++ {
		typ := sendense.BackupIncremental
		if round == 0 {
			typ = sendense.BackupFull
		}
		for disk := int64(0); disk < 2; disk++ {
			b.backUp(t, s, disk, typ, fmt.Sprintf("g-%d", round), round+1)
		}
	}
	const workers = 8
	var mu sync.Mutex
	owner := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			<-start
			for {
				c, err := s.ClaimCopy(fmt.Sprintf("worker-%d", w))
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
				if c == nil {
					return
				}
				if c.Status != sendense.CopyCopying {
					t.Errorf("worker %d claimed a copy in %s", w, c.Status)
				}
				mu.Lock()
				if other, taken := owner[c.ID]; taken {
					t.Errorf("copy %s claimed by workers %d and %d", c.ID, other, w)
				}
				owner[c.ID] = w
				mu.Unlock()
			}
		}(w)
	}
	close(start)
	wg.Wait()
	if len(owner) != 2*rounds {
		t.Fatalf("%d copies claimed, want %d", len(owner), 2*rounds)
	}
	if c := must(s.ClaimCopy("late")).get(t); c != nil {
		t.Fatalf("a copy left after the workers: %+v", c)
	}
}
