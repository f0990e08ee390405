package sendense_test

import (
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
