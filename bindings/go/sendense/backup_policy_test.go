package sendense_test

import (
	"fmt"
	"strings"
	"testing"

	"libsendense/bindings/go/sendense"
)

// Refusals of policies: unknown ids, a copy rule onto the primary repository.
func TestPolicyRefusals(t *testing.T) {
	s, _ := openTemp(t)
	b := newBackupSetup(t, s, "bk-02")

	const missing = "no-such-id"
	for what, err := range map[string]error{
		"policy":        func() error { _, err := s.Policy(missing); return err }(),
		"delete policy": s.DeletePolicy(missing),
		"update policy": func() error { _, err := s.UpdatePolicy(missing, sendense.PolicyUpdate{}); return err }(),
	} {
		e := wantErr(t, what, err, sendense.ErrNotFound)
		if !strings.Contains(e.Message, missing) {
			t.Fatalf("%s: the message does not name the id: %v", what, e)
		}
	}

	_, err := s.CreatePolicy(sendense.NewPolicy{Name: "self-copy", PrimaryRepositoryID: b.primary,
		CopyRules: []sendense.NewCopyRule{{DestinationRepositoryID: b.primary, Priority: 1}}})
	wantErr(t, "a copy rule onto the primary", err, sendense.ErrInvalidArgument)
}

// Policies: created with their retention rules and copy rules (ordered by priority), listed by
// state and by the repositories they use, updated (a rule to a destination already copied to
// keeps its id), deleted with their rules.
func TestPolicies(t *testing.T) {
	s, _ := openTemp(t)
	b := newBackupSetup(t, s, "pol-01")
	archive := must(s.CreateRepository(sendense.NewRepository{Name: "archive", RepositoryType: sendense.RepositoryAzure,
		Config: sendense.RepositoryConfig{"account": "acct", "container": "archive"}})).get(t)
	id := must(s.CreatePolicy(sendense.NewPolicy{Name: "weekly", Enabled: sendense.Bool(false), PrimaryRepositoryID: b.primary,
		KeepDaily: sendense.Int64(7), KeepWeekly: sendense.Int64(4),
		CopyRules: []sendense.NewCopyRule{
			{DestinationRepositoryID: b.secondary, Priority: 2, CopyMode: sendense.CopyScheduled, VerifyAfterCopy: sendense.Bool(false)},
			{DestinationRepositoryID: archive, Priority: 1, CopyMode: sendense.CopyManual, Enabled: sendense.Bool(false)},
		}})).get(t)
	p := must(s.Policy(id)).get(t)
	if p.Name != "weekly" || p.Enabled || p.RetentionDays != 30 || p.KeepLast != nil || *p.KeepDaily != 7 || *p.KeepWeekly != 4 ||
		len(p.CopyRules) != 2 || p.CopyRules[0].DestinationRepositoryID != archive || p.CopyRules[0].Enabled ||
		p.CopyRules[0].CopyMode != sendense.CopyManual || p.CopyRules[1].CopyMode != sendense.CopyScheduled ||
		p.CopyRules[1].VerifyAfterCopy || !p.CopyRules[1].Enabled || p.CopyRules[1].PolicyID != id {
		t.Fatalf("created policy: %+v", p)
	}
	_, err := s.CreatePolicy(sendense.NewPolicy{Name: "weekly", PrimaryRepositoryID: b.primary})
	wantErr(t, "a taken name", err, sendense.ErrAlreadyExists)
	_, err = s.CreatePolicy(sendense.NewPolicy{Name: "twice", PrimaryRepositoryID: b.primary, CopyRules: []sendense.NewCopyRule{
		{DestinationRepositoryID: archive, Priority: 1}, {DestinationRepositoryID: archive, Priority: 2}}})
	wantErr(t, "two rules to one destination", err, sendense.ErrInvalidArgument)

	ids := func(f sendense.PolicyFilter) string {
		var out []string
		for _, p := range must(s.ListPolicies(f)).get(t) {
			out = append(out, p.Name)
		}
		return fmt.Sprint(out)
	}
	for _, c := range []struct {
		filter sendense.PolicyFilter
		want   string
	}{
		{sendense.PolicyFilter{}, "[pol-01-daily weekly]"},
		{sendense.PolicyFilter{Enabled: sendense.Bool(false)}, "[weekly]"},
		{sendense.PolicyFilter{RepositoryID: archive}, "[weekly]"},
		{sendense.PolicyFilter{RepositoryID: b.primary}, "[pol-01-daily weekly]"},
	} {
		if got := ids(c.filter); got != c.want {
			t.Fatalf("policies of %+v: %s, want %s", c.filter, got, c.want)
		}
	}

	// Replacing the rules: the rule to the secondary keeps its id, the one to the archive goes.
	secondaryRule := p.CopyRules[1].ID
	u := must(s.UpdatePolicy(id, sendense.PolicyUpdate{Name: sendense.String("weekly-2"), Enabled: sendense.Bool(true),
		Clear: []string{"keep_daily"}, CopyRules: []sendense.NewCopyRule{{DestinationRepositoryID: b.secondary, Priority: 5}}})).get(t)
	if u.Name != "weekly-2" || !u.Enabled || u.KeepDaily != nil || *u.KeepWeekly != 4 || len(u.CopyRules) != 1 ||
		u.CopyRules[0].ID != secondaryRule || u.CopyRules[0].Priority != 5 || u.CopyRules[0].CopyMode != sendense.CopyImmediate {
		t.Fatalf("updated policy: %+v", u)
	}
	// Without CopyRules the rules stay.
	if u := must(s.UpdatePolicy(id, sendense.PolicyUpdate{RetentionDays: sendense.Int64(60)})).get(t); u.RetentionDays != 60 ||
		len(u.CopyRules) != 1 || u.CopyRules[0].ID != secondaryRule {
		t.Fatalf("policy after a retention change: %+v", u)
	}
	_, err = s.UpdatePolicy(id, sendense.PolicyUpdate{Clear: []string{"name"}})
	wantErr(t, "clear a column that is not a keep_* count", err, sendense.ErrInvalidArgument)

	// No policy uses the archive any more: it can go; the deleted policy takes its rules along.
	ok(t, s.DeleteRepository(archive))
	ok(t, s.DeletePolicy(id))
	_, err = s.Policy(id)
	wantErr(t, "the deleted policy", err, sendense.ErrNotFound)
	if got := ids(sendense.PolicyFilter{RepositoryID: b.secondary}); got != "[pol-01-daily]" {
		t.Fatalf("policies copying to the secondary after the delete: %s", got)
	}
}
