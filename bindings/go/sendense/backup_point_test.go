package sendense_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"libsendense/bindings/go/sendense"
)

// Refusals of the point lifecycle come back as *Error values matching the sentinels, and
// change nothing.
func TestBackupPointRefusals(t *testing.T) {
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

	// Unknown ids.
	const missing = "no-such-id"
	for what, err := range map[string]error{
		"backup point": func() error { _, err := s.BackupPoint(missing); return err }(),
		"set running":  s.SetBackupRunning(missing),
		"complete":     s.CompleteBackup(missing, "", 0, 0),
		"fail":         s.FailBackup(missing, "gone"),
		"cancel":       s.CancelBackup(missing),
		"delete":       s.DeleteBackupPoint(missing),
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

	// Invalid inputs.
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

// A backup point: started pending with what it was given (the VM name from its context), then
// running and completed with its change id and size; an incremental builds on the newest
// point, a differential on the full; points list by context, repository, status and group.
func TestBackupPoints(t *testing.T) {
	s, _ := openTemp(t)
	b := newBackupSetup(t, s, "pt-01")
	full := must(s.StartBackup(sendense.BackupStart{ID: "point-full", ContextID: b.ctx, DiskID: 0, RepositoryID: b.primary,
		BackupType: sendense.BackupFull, BackupGroupID: "g-0", RepositoryPath: "/srv/pt-01/full.qcow2"})).get(t)
	p := must(s.BackupPoint(full)).get(t)
	if full != "point-full" || p.Status != sendense.BackupPending || p.VMName != "pt-01" || p.RepositoryPath != "/srv/pt-01/full.qcow2" ||
		p.PolicyID != nil || str(p.BackupGroupID) != "g-0" || p.StartedAt != nil || p.CompletedAt != nil || p.Status.IsTerminal() {
		t.Fatalf("started point: %+v", p)
	}
	ok(t, s.SetBackupRunning(full))
	if p := must(s.BackupPoint(full)).get(t); p.Status != sendense.BackupRunning || p.StartedAt == nil {
		t.Fatalf("running point: %+v", p)
	}
	ok(t, s.CompleteBackup(full, changeID(epochA, 1), 3<<30, 2<<30))
	p = must(s.BackupPoint(full)).get(t)
	if p.Status != sendense.BackupCompleted || !p.Status.IsTerminal() || str(p.ChangeID) != changeID(epochA, 1) ||
		p.BytesTransferred != 3<<30 || p.SizeBytes != 2<<30 || p.CompletedAt == nil || p.ParentBackupID != nil {
		t.Fatalf("completed point: %+v", p)
	}

	incr := b.backUp(t, s, 0, sendense.BackupIncremental, "g-1", 2)
	diff := b.backUp(t, s, 0, sendense.BackupDifferential, "g-2", 3)
	if p := must(s.BackupPoint(incr)).get(t); str(p.ParentBackupID) != full || str(p.PolicyID) != b.policy {
		t.Fatalf("incremental: %+v", p)
	}
	if p := must(s.BackupPoint(diff)).get(t); str(p.ParentBackupID) != full || p.BackupType != sendense.BackupDifferential {
		t.Fatalf("differential: %+v", p)
	}
	// No RepositoryPath: the library derives the location from the repository.
	other := must(s.StartBackup(sendense.BackupStart{ContextID: b.ctx, DiskID: 1, RepositoryID: b.secondary,
		BackupType: sendense.BackupFull})).get(t)
	if p := must(s.BackupPoint(other)).get(t); p.RepositoryPath != "s3://offsite-pt-01/"+b.ctx+"/disk-1/"+other+".qcow2" {
		t.Fatalf("derived location: %q", p.RepositoryPath)
	}

	list := func(f sendense.BackupPointFilter) string {
		var out []string
		for _, p := range must(s.ListBackupPoints(f)).get(t) {
			out = append(out, p.ID)
		}
		return fmt.Sprint(out)
	}
	for _, c := range []struct {
		filter sendense.BackupPointFilter
		want   []string
	}{
		{sendense.BackupPointFilter{ContextID: b.ctx}, []string{other, diff, incr, full}},
		{sendense.BackupPointFilter{RepositoryID: b.secondary}, []string{other}},
		{sendense.BackupPointFilter{Status: sendense.BackupPending}, []string{other}},
		{sendense.BackupPointFilter{BackupGroupID: "g-1"}, []string{incr}},
		{sendense.BackupPointFilter{ContextID: b.ctx, Limit: 2, Offset: 1}, []string{diff, incr}},
	} {
		if got := list(c.filter); got != fmt.Sprint(c.want) {
			t.Fatalf("points of %+v: %s, want %v", c.filter, got, c.want)
		}
	}
	ok(t, s.CancelBackup(other))
	if p := must(s.BackupPoint(other)).get(t); p.Status != sendense.BackupCancelled || !p.Status.IsTerminal() {
		t.Fatalf("cancelled point: %+v", p)
	}
	ok(t, s.DeleteBackupPoint(diff))
	if got := list(sendense.BackupPointFilter{ContextID: b.ctx, Status: sendense.BackupCompleted}); got != fmt.Sprint([]string{incr, full}) {
		t.Fatalf("completed points after deleting the differential: %s", got)
	}
}

// Progress reports land on the active point; protection is set and lifted, and a protected
// point cannot be deleted.
func TestBackupProgressAndProtection(t *testing.T) {
	s, _ := openTemp(t)
	b := newBackupSetup(t, s, "pp-01")
	id := must(s.StartBackup(sendense.BackupStart{ContextID: b.ctx, DiskID: 0, RepositoryID: b.primary,
		BackupType: sendense.BackupFull, RepositoryPath: "/srv/pp-01/full.qcow2"})).get(t)
	ok(t, s.SetBackupRunning(id))
	ok(t, s.ReportBackupProgress(id, sendense.BackupProgress{Percent: 40, BytesTransferred: 4 << 20, TotalBytes: 10 << 20,
		SpeedBps: 1 << 20, ETASeconds: 6, Phase: "transferring"}))
	ok(t, s.ReportBackupProgress(id, sendense.BackupProgress{Percent: 50, BytesTransferred: 5 << 20, TotalBytes: 10 << 20}))
	p := must(s.BackupPoint(id)).get(t)
	if p.ProgressPercent != 50 || p.BytesTransferred != 5<<20 || p.TotalBytes != 10<<20 || p.CurrentPhase != "transferring" ||
		p.LastTelemetryAt == nil {
		t.Fatalf("after progress: %+v", p)
	}
	err := s.ReportBackupProgress(id, sendense.BackupProgress{Percent: 101})
	wantErr(t, "percent 101", err, sendense.ErrInvalidArgument)
	err = s.ReportBackupProgress("no-such-point", sendense.BackupProgress{Percent: 1})
	wantErr(t, "progress of an unknown point", err, sendense.ErrNotFound)

	ok(t, s.CompleteBackup(id, changeID(epochA, 1), 10<<20, 8<<20))
	err = s.ReportBackupProgress(id, sendense.BackupProgress{Percent: 100})
	wantErr(t, "progress of a completed point", err, sendense.ErrInvalidState)

	ok(t, s.SetBackupProtected(id, true))
	if p := must(s.BackupPoint(id)).get(t); !p.Protected {
		t.Fatalf("not protected: %+v", p)
	}
	wantErr(t, "deleting a protected point", s.DeleteBackupPoint(id), sendense.ErrInvalidState)
	ok(t, s.SetBackupProtected(id, false))
	if p := must(s.BackupPoint(id)).get(t); p.Protected {
		t.Fatalf("still protected: %+v", p)
	}
	wantErr(t, "protecting an unknown point", s.SetBackupProtected("no-such-point", true), sendense.ErrNotFound)
	ok(t, s.DeleteBackupPoint(id))
}
