package sendense_test

import (
	"fmt"
	"sync"
	"testing"

	"libsendense/bindings/go/sendense"
)

// The copy workflow after the claim: written, verified (passed or failed), failed; the
// refusals of each step.
func TestBackupCopyWorkflow(t *testing.T) {
	s, _ := openTemp(t)
	b := newBackupSetup(t, s, "cp-01")
	b.threeVMBackups(t, s)

	// The copy workflow: claim, written, verified (passed), and the failures.
	pending := must(s.ListBackupCopies(sendense.BackupCopyFilter{Status: sendense.CopyPending})).get(t)
	if len(pending) != 5 {
		t.Fatalf("%d pending copies, want 5 (one per completed point)", len(pending))
	}
	c := must(s.ClaimCopy("worker-a")).get(t)
	if c.ID != pending[0].ID {
		t.Fatalf("claimed %s, the oldest pending is %s", c.ID, pending[0].ID)
	}
	wantErr(t, "verifying a copy being copied", s.CompleteCopy(c.ID, sendense.VerificationPassed), sendense.ErrInvalidState)
	ok(t, s.SetCopyVerifying(c.ID, "offsite/"+c.SourceBackupID+".qcow2", 4<<20))
	wantErr(t, "pending is not a result", s.CompleteCopy(c.ID, sendense.VerificationPending), sendense.ErrInvalidArgument)
	ok(t, s.CompleteCopy(c.ID, sendense.VerificationPassed))
	done := must(s.BackupCopy(c.ID)).get(t)
	if done.Status != sendense.CopyCompleted || done.VerificationStatus != sendense.VerificationPassed || done.VerifiedAt == nil ||
		done.CopyCompletedAt == nil || done.FilePath != "offsite/"+c.SourceBackupID+".qcow2" || done.SizeBytes != 4<<20 {
		t.Fatalf("completed copy: %+v", done)
	}
	second := must(s.ClaimCopy("worker-b")).get(t)
	ok(t, s.FailCopy(second.ID, "bucket unreachable"))
	third := must(s.ClaimCopy("worker-c")).get(t)
	ok(t, s.SetCopyVerifying(third.ID, "offsite/third.qcow2", 1))
	ok(t, s.CompleteCopy(third.ID, sendense.VerificationFailed))
	failedCopies := must(s.ListBackupCopies(sendense.BackupCopyFilter{Status: sendense.CopyFailed})).get(t)
	if len(failedCopies) != 2 || str(failedCopies[0].ErrorMessage) == "" || str(failedCopies[1].ErrorMessage) == "" {
		t.Fatalf("failed copies: %+v", failedCopies)
	}
	if list := must(s.ListBackupCopies(sendense.BackupCopyFilter{BackupID: c.SourceBackupID})).get(t); len(list) != 1 || list[0].ID != c.ID {
		t.Fatalf("copies of %s: %+v", c.SourceBackupID, list)
	}
	wantErr(t, "failing a finished copy", s.FailCopy(c.ID, "late"), sendense.ErrInvalidState)
	wantErr(t, "an unknown copy", s.SetCopyVerifying("no-such-copy", "x", 0), sendense.ErrNotFound)
	_, err := s.BackupCopy("no-such-copy")
	wantErr(t, "reading an unknown copy", err, sendense.ErrNotFound)
	_, err = s.ClaimCopy("")
	wantErr(t, "an empty worker id", err, sendense.ErrInvalidArgument)
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

// A manual rule without verification: completion queues nothing for it, QueueCopies queues
// its copies (once), and a written copy completes without verifying.
func TestQueueCopiesOfAManualRule(t *testing.T) {
	s, _ := openTemp(t)
	b := newBackupSetup(t, s, "cq-01")
	vault := must(s.CreateRepository(sendense.NewRepository{
		Name: "cq-vault", RepositoryType: sendense.RepositoryLocal, Config: sendense.RepositoryConfig{"path": "/vault"},
	})).get(t)
	no := false
	policy := must(s.CreatePolicy(sendense.NewPolicy{Name: "cq-manual", PrimaryRepositoryID: b.primary,
		CopyRules: []sendense.NewCopyRule{{ID: "rule-cq", DestinationRepositoryID: vault, Priority: 1,
			CopyMode: sendense.CopyManual, VerifyAfterCopy: &no}}})).get(t)
	point := must(s.StartBackup(sendense.BackupStart{ContextID: b.ctx, RepositoryID: b.primary,
		BackupType: sendense.BackupFull, PolicyID: policy})).get(t)
	ok(t, s.SetBackupRunning(point))
	ok(t, s.CompleteBackup(point, changeID(epochA, 1), 1, 1))
	if c := must(s.ClaimCopy("worker-a")).get(t); c != nil {
		t.Fatalf("a manual rule queued a copy at completion: %+v", c)
	}
	queued := must(s.QueueCopies("rule-cq")).get(t)
	if len(queued) != 1 || queued[0].SourceBackupID != point || queued[0].Status != sendense.CopyPending {
		t.Fatalf("queued: %+v", queued)
	}
	if again := must(s.QueueCopies("rule-cq")).get(t); len(again) != 0 {
		t.Fatalf("queued again: %+v", again)
	}
	_, err := s.QueueCopies("no-such-rule")
	wantErr(t, "an unknown rule", err, sendense.ErrNotFound)
	c := must(s.ClaimCopy("worker-a")).get(t)
	ok(t, s.SetCopyVerifying(c.ID, "/vault/x.qcow2", 1))
	if done := must(s.BackupCopy(c.ID)).get(t); done.Status != sendense.CopyCompleted || done.VerifiedAt != nil {
		t.Fatalf("a copy of a rule without verification: %+v", done)
	}
}
