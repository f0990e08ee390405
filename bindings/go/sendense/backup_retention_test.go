package sendense_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"libsendense/bindings/go/sendense"
)

// A retention plan keeps the newest points of each chain with their reasons, keeps what they
// build on, removes the rest; applying it removes exactly those, and a stale plan is refused.
func TestRetentionPlanAndApply(t *testing.T) {
	s, _ := openTemp(t)
	b := newBackupSetup(t, s, "rt-01")
	policy := must(s.UpdatePolicy(b.policy, sendense.PolicyUpdate{
		KeepLast: sendense.Int64(2), RetentionDays: sendense.Int64(0),
	})).get(t)
	if policy.KeepLast == nil || *policy.KeepLast != 2 || policy.KeepDaily != nil || policy.RetentionDays != 0 {
		t.Fatalf("policy: %+v", policy)
	}

	// Two generations per disk: a full and three incrementals, then a full and an incremental.
	gen := map[int64][][]string{}
	for g, types := range [][]sendense.BackupType{
		{sendense.BackupFull, sendense.BackupIncremental, sendense.BackupIncremental, sendense.BackupIncremental},
		{sendense.BackupFull, sendense.BackupIncremental},
	} {
		for disk := int64(0); disk < 2; disk++ {
			var ids []string
			for i, typ := range types {
				ids = append(ids, b.backUp(t, s, disk, typ, "", 10*g+i+1))
			}
			gen[disk] = append(gen[disk], ids)
		}
	}

	plan := must(s.PlanRetention(b.policy, time.Now(), "Europe/Berlin")).get(t)
	if plan.PolicyID != b.policy || plan.TimeZone != "Europe/Berlin" || plan.Points != 12 || plan.Kept != 4 ||
		plan.Removed != 8 || len(plan.Keep) != 4 || len(plan.Remove) != 8 || len(plan.Problems) != 0 ||
		plan.Rules.KeepLast == nil || *plan.Rules.KeepLast != 2 || plan.Rules.RetentionDays != nil || plan.Fingerprint == "" {
		t.Fatalf("plan: %+v", plan)
	}
	for disk := int64(0); disk < 2; disk++ {
		newest, full := gen[disk][1][1], gen[disk][1][0]
		if r, kept := plan.Reasons(newest); !kept || strings.Join(r, ", ") != "keep-last 1" {
			t.Fatalf("disk %d: reasons of the newest point: %v %v", disk, r, kept)
		}
		if r, kept := plan.Reasons(full); !kept || strings.Join(r, ", ") != "keep-last 2" {
			t.Fatalf("disk %d: reasons of the second full: %v %v", disk, r, kept)
		}
		for _, id := range gen[disk][0] {
			if _, kept := plan.Reasons(id); kept || !contains(plan.Remove, id) {
				t.Fatalf("disk %d: the first generation's %s is not removed: %+v", disk, id, plan)
			}
		}
	}

	// Planning changes nothing; a plan made before a new point completed is stale.
	if n := len(must(s.ListBackupPoints(sendense.BackupPointFilter{ContextID: b.ctx})).get(t)); n != 12 {
		t.Fatalf("%d points after planning, want 12", n)
	}
	b.backUp(t, s, 0, sendense.BackupIncremental, "", 99)
	e := wantErr(t, "applying a stale plan", s.ApplyRetention(plan), sendense.ErrConflict)
	if !strings.Contains(e.Message, "stale") {
		t.Fatalf("the refusal does not say why: %v", e)
	}
	if n := len(must(s.ListBackupPoints(sendense.BackupPointFilter{ContextID: b.ctx})).get(t)); n != 13 {
		t.Fatalf("%d points after a refused apply, want 13", n)
	}

	// A fresh plan applies: the first generations go, the chains stay whole (disk 0 now has
	// three points in its second generation, so its full is kept as an ancestor).
	plan = must(s.PlanRetention(b.policy, time.Now(), "UTC")).get(t)
	if plan.Removed != 8 || plan.Kept != 5 {
		t.Fatalf("fresh plan: %+v", plan)
	}
	if r, kept := plan.Reasons(gen[0][1][0]); !kept || !strings.HasPrefix(strings.Join(r, ", "), "ancestor of ") {
		t.Fatalf("the second full of disk 0 is kept for %v, want as an ancestor", r)
	}
	ok(t, s.ApplyRetention(plan))
	left := must(s.ListBackupPoints(sendense.BackupPointFilter{ContextID: b.ctx})).get(t)
	if len(left) != 5 {
		t.Fatalf("%d points after the apply, want 5: %+v", len(left), left)
	}
	for _, id := range plan.Remove {
		wantErr(t, "a removed point", func() error { _, err := s.BackupPoint(id); return err }(), sendense.ErrNotFound)
	}
	for _, c := range must(s.Chains(b.ctx)).get(t) {
		restore := must(s.RestoreChain(*c.LatestBackupID)).get(t)
		if restore[0].ID != gen[c.DiskID][1][0] {
			t.Fatalf("disk %d restores from %s, want the second full %s", c.DiskID, restore[0].ID, gen[c.DiskID][1][0])
		}
	}
	if again := must(s.PlanRetention(b.policy, time.Now(), "UTC")).get(t); again.Removed != 0 || again.Kept != 5 {
		t.Fatalf("planning again removes more: %+v", again)
	}

	// Refusals.
	_, err := s.PlanRetention("no-such-policy", time.Now(), "UTC")
	wantErr(t, "an unknown policy", err, sendense.ErrNotFound)
	_, err = s.PlanRetention(b.policy, time.Now(), "Mars/Olympus_Mons")
	wantErr(t, "an unknown time zone", err, sendense.ErrInvalidArgument)
	wantErr(t, "a nil plan", s.ApplyRetention(nil), sendense.ErrInvalidArgument)
	_, err = s.UpdatePolicy(b.policy, sendense.PolicyUpdate{KeepLast: sendense.Int64(1), Clear: []string{"keep_last"}})
	wantErr(t, "set and clear", err, sendense.ErrInvalidArgument)
	cleared := must(s.UpdatePolicy(b.policy, sendense.PolicyUpdate{Clear: []string{"keep_last"}})).get(t)
	if cleared.KeepLast != nil {
		t.Fatalf("keep_last not cleared: %+v", cleared)
	}
	// Without any rule, everything is kept.
	none := must(s.PlanRetention(b.policy, time.Now(), "UTC")).get(t)
	if r, _ := none.Reasons(left[0].ID); none.Removed != 0 || fmt.Sprint(r) != "[no retention rule]" {
		t.Fatalf("a plan without rules: %+v", none)
	}
}
