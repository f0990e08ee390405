package sendense

// #include "sendense.h"
import "C"

import (
	"encoding/json"
	"time"
)

// CopyMode is when a copy rule copies a completed backup (backup_copy_rules.copy_mode).
type CopyMode string

// Copy modes. Every completed backup of a policy is owed a copy per enabled rule, whatever
// the mode; the mode tells a scheduler when to run it.
const (
	CopyImmediate CopyMode = "immediate"
	CopyScheduled CopyMode = "scheduled"
	CopyManual    CopyMode = "manual"
)

// CopyRule is a backup_copy_rules row: a policy's backups are copied to its destination.
type CopyRule struct {
	ID                      string    `json:"id"`
	PolicyID                string    `json:"policy_id"`
	DestinationRepositoryID string    `json:"destination_repository_id"`
	CopyMode                CopyMode  `json:"copy_mode"`
	Priority                int64     `json:"priority"`
	Enabled                 bool      `json:"enabled"`
	VerifyAfterCopy         bool      `json:"verify_after_copy"`
	CreatedAt               time.Time `json:"created_at"`
}

// Policy is a backup_policies row with its copy rules, ordered by priority, then id. Its
// retention rules (RetentionDays and the Keep* counts; nil or 0 means the rule is not used)
// are what PlanRetention applies.
type Policy struct {
	ID                  string     `json:"id"`
	Name                string     `json:"name"`
	Enabled             bool       `json:"enabled"`
	PrimaryRepositoryID string     `json:"primary_repository_id"`
	RetentionDays       int64      `json:"retention_days"`
	KeepLast            *int64     `json:"keep_last"`
	KeepDaily           *int64     `json:"keep_daily"`
	KeepWeekly          *int64     `json:"keep_weekly"`
	KeepMonthly         *int64     `json:"keep_monthly"`
	KeepYearly          *int64     `json:"keep_yearly"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
	CopyRules           []CopyRule `json:"copy_rules"`
}

// NewCopyRule is a copy rule of a new or changed policy. DestinationRepositoryID and
// Priority (>= 1, lower runs first) are required; ID is generated when empty; CopyMode ""
// means CopyImmediate; Enabled and VerifyAfterCopy nil mean true.
type NewCopyRule struct {
	ID                      string   `json:"id,omitempty"`
	DestinationRepositoryID string   `json:"destination_repository_id"`
	CopyMode                CopyMode `json:"copy_mode,omitempty"`
	Priority                int64    `json:"priority"`
	Enabled                 *bool    `json:"enabled,omitempty"`
	VerifyAfterCopy         *bool    `json:"verify_after_copy,omitempty"`
}

// NewPolicy is a policy to create with its copy rules. Name and PrimaryRepositoryID are
// required; ID is generated when empty; Enabled nil means true; RetentionDays nil means the
// library's default (30). The Keep* counts (nil: not used) are the retention rules of
// PlanRetention: the newest KeepLast points of each chain, and the newest point of each of the
// last KeepDaily days, KeepWeekly ISO weeks, KeepMonthly months and KeepYearly years. Every
// rule's destination must exist, differ from the primary repository and appear once.
type NewPolicy struct {
	ID                  string        `json:"id,omitempty"`
	Name                string        `json:"name"`
	Enabled             *bool         `json:"enabled,omitempty"`
	PrimaryRepositoryID string        `json:"primary_repository_id"`
	RetentionDays       *int64        `json:"retention_days,omitempty"`
	KeepLast            *int64        `json:"keep_last,omitempty"`
	KeepDaily           *int64        `json:"keep_daily,omitempty"`
	KeepWeekly          *int64        `json:"keep_weekly,omitempty"`
	KeepMonthly         *int64        `json:"keep_monthly,omitempty"`
	KeepYearly          *int64        `json:"keep_yearly,omitempty"`
	CopyRules           []NewCopyRule `json:"copy_rules,omitempty"`
}

// PolicyUpdate changes a policy; nil fields leave their column alone. Clear lists retention
// counts to set to NULL by their column names ("keep_last", "keep_daily", "keep_weekly",
// "keep_monthly", "keep_yearly"). A non-nil CopyRules (also an empty one) replaces the
// policy's rules atomically: a rule whose destination the policy already copies to keeps its
// id and takes the new settings.
type PolicyUpdate struct {
	Name                *string
	Enabled             *bool
	RetentionDays       *int64
	KeepLast            *int64
	KeepDaily           *int64
	KeepWeekly          *int64
	KeepMonthly         *int64
	KeepYearly          *int64
	PrimaryRepositoryID *string
	CopyRules           []NewCopyRule
	Clear               []string
}

// MarshalJSON encodes the update as the library expects it: present keys only.
func (u PolicyUpdate) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	if u.Name != nil {
		m["name"] = *u.Name
	}
	if u.Enabled != nil {
		m["enabled"] = *u.Enabled
	}
	if u.RetentionDays != nil {
		m["retention_days"] = *u.RetentionDays
	}
	if u.PrimaryRepositoryID != nil {
		m["primary_repository_id"] = *u.PrimaryRepositoryID
	}
	if u.CopyRules != nil {
		m["copy_rules"] = u.CopyRules
	}
	for key, v := range map[string]*int64{"keep_last": u.KeepLast, "keep_daily": u.KeepDaily,
		"keep_weekly": u.KeepWeekly, "keep_monthly": u.KeepMonthly, "keep_yearly": u.KeepYearly} {
		if v != nil {
			m[key] = *v
		}
	}
	for _, key := range u.Clear {
		if _, both := m[key]; both {
			return nil, invalidArgument("policy update: %s is both set and cleared", key)
		}
		switch key {
		case "keep_last", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly":
			m[key] = nil
		default:
			return nil, invalidArgument("policy update: %s cannot be cleared (only the keep_* counts can)", key)
		}
	}
	return json.Marshal(m)
}

// PolicyFilter selects policies for ListPolicies (ordered by name, then id); zero fields do
// not filter. RepositoryID selects the policies using that repository as their primary or as
// a copy destination.
type PolicyFilter struct {
	Enabled      *bool  `json:"enabled,omitempty"`
	RepositoryID string `json:"repository_id,omitempty"`
}

// CreatePolicy creates a backup policy and its copy rules in one transaction and returns its
// id.
func (s *Store) CreatePolicy(p NewPolicy) (string, error) {
	var a cargs
	doc := a.doc("new policy", p)
	return getString(s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_policy_create(h, doc, out, e)
	})
}

// Policy returns the policy with this id and its copy rules (ErrNotFound when there is none).
func (s *Store) Policy(policyID string) (*Policy, error) {
	var a cargs
	id := a.str("policy id", policyID)
	return getRecord[Policy](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_policy_get_json(h, id, out, e)
	})
}

// ListPolicies returns the policies matching filter, each with its copy rules.
func (s *Store) ListPolicies(filter PolicyFilter) ([]Policy, error) {
	var a cargs
	doc := a.doc("policy filter", filter)
	return getJSON[[]Policy](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_policy_list_json(h, doc, out, e)
	})
}

// UpdatePolicy changes a policy (and, when u.CopyRules is not nil, replaces its copy rules) in
// one transaction and returns the updated policy.
func (s *Store) UpdatePolicy(policyID string, u PolicyUpdate) (*Policy, error) {
	var a cargs
	doc := a.doc("policy update", u)
	id := a.str("policy id", policyID)
	return getRecord[Policy](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_policy_update(h, id, doc, out, e)
	})
}

// DeletePolicy deletes a policy and its copy rules; backups that named it keep existing
// without a policy.
func (s *Store) DeletePolicy(policyID string) error {
	var a cargs
	id := a.str("policy id", policyID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_policy_delete(h, id, e)
	})
}
