package sendense

// #include "sendense.h"
import "C"

import (
	"encoding/json"
	"time"
)

// RepositoryType is the storage backend of a repository (backup_repositories.repository_type).
type RepositoryType string

// Repository types. Each has its own Config keys (see NewRepository).
const (
	RepositoryLocal RepositoryType = "local"
	RepositoryNFS   RepositoryType = "nfs"
	RepositoryCIFS  RepositoryType = "cifs"
	RepositorySMB   RepositoryType = "smb"
	RepositoryS3    RepositoryType = "s3"
	RepositoryAzure RepositoryType = "azure"
)

// RepositoryConfig is the type-specific configuration of a repository, every value a
// non-empty string: local needs an absolute "path"; nfs "server" and "export_path" (optional
// "mount_options"); cifs and smb "server" and "share" (optional "username", "password_ref" — a
// reference to a secret kept elsewhere, never the password —, "domain", "mount_options"); s3
// "region" and "bucket" (optional "endpoint", "prefix"); azure "account" and "container"
// (optional "prefix"). Any other key is refused by name (ErrInvalidArgument).
type RepositoryConfig map[string]string

// ImmutableConfig is the lock of an immutable repository: a backup is locked from its
// completion plus GracePeriodDays until its completion plus MinRetentionDays.
type ImmutableConfig struct {
	GracePeriodDays     int64 `json:"grace_period_days"`
	ApplyToFulls        bool  `json:"apply_to_fulls"`
	ApplyToIncrementals bool  `json:"apply_to_incrementals"`
	MinRetentionDays    int64 `json:"min_retention_days"`
}

// Repository is a backup_repositories row.
type Repository struct {
	ID                 string           `json:"id"`
	Name               string           `json:"name"`
	RepositoryType     RepositoryType   `json:"repository_type"`
	Enabled            bool             `json:"enabled"`
	Config             RepositoryConfig `json:"config"`
	IsImmutable        bool             `json:"is_immutable"`
	ImmutableConfig    *ImmutableConfig `json:"immutable_config"`
	MinRetentionDays   int64            `json:"min_retention_days"`
	TotalSizeBytes     int64            `json:"total_size_bytes"`
	UsedSizeBytes      int64            `json:"used_size_bytes"`
	AvailableSizeBytes int64            `json:"available_size_bytes"`
	LastCheckAt        *time.Time       `json:"last_check_at"`
	CreatedAt          time.Time        `json:"created_at"`
	UpdatedAt          time.Time        `json:"updated_at"`
}

// NewRepository is a repository to create. Name, RepositoryType and Config are required; ID
// is generated when empty; Enabled nil means true. IsImmutable requires an ImmutableConfig.
// MinRetentionDays refuses the deletion of a backup completed less than that many days ago.
type NewRepository struct {
	ID               string           `json:"id,omitempty"`
	Name             string           `json:"name"`
	RepositoryType   RepositoryType   `json:"repository_type"`
	Enabled          *bool            `json:"enabled,omitempty"`
	Config           RepositoryConfig `json:"config"`
	IsImmutable      bool             `json:"is_immutable,omitempty"`
	ImmutableConfig  *ImmutableConfig `json:"immutable_config,omitempty"`
	MinRetentionDays int64            `json:"min_retention_days,omitempty"`
}

// RepositoryUpdate changes a repository; nil fields leave their column alone. Config is
// re-validated against the repository's type (which cannot change). ClearImmutableConfig sets
// immutable_config to NULL (refused while the repository is immutable). Enabling and capacity
// have their own methods.
type RepositoryUpdate struct {
	Name                 *string
	Config               RepositoryConfig
	IsImmutable          *bool
	ImmutableConfig      *ImmutableConfig
	ClearImmutableConfig bool
	MinRetentionDays     *int64
}

// MarshalJSON encodes the update as the library expects it: present keys only.
func (u RepositoryUpdate) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	if u.Name != nil {
		m["name"] = *u.Name
	}
	if u.Config != nil {
		m["config"] = u.Config
	}
	if u.IsImmutable != nil {
		m["is_immutable"] = *u.IsImmutable
	}
	if u.ImmutableConfig != nil && u.ClearImmutableConfig {
		return nil, invalidArgument("repository update: immutable_config is both set and cleared")
	}
	if u.ImmutableConfig != nil {
		m["immutable_config"] = u.ImmutableConfig
	}
	if u.ClearImmutableConfig {
		m["immutable_config"] = nil
	}
	if u.MinRetentionDays != nil {
		m["min_retention_days"] = *u.MinRetentionDays
	}
	return json.Marshal(m)
}

// RepositoryFilter selects repositories for ListRepositories; zero fields do not filter.
type RepositoryFilter struct {
	RepositoryType RepositoryType `json:"repository_type,omitempty"`
	Enabled        *bool          `json:"enabled,omitempty"`
}

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

// CreateRepository creates a backup repository and returns its id. Its Config is validated
// against its type (ErrInvalidArgument naming the key); a taken id or name is
// ErrAlreadyExists.
func (s *Store) CreateRepository(r NewRepository) (string, error) {
	return s.docString("new repository", r, func(h *C.sendense_store, doc *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_repository_create(h, doc, out, e)
	})
}

// Repository returns the repository with this id (ErrNotFound when there is none).
func (s *Store) Repository(repositoryID string) (*Repository, error) {
	var r Repository
	err := s.idJSON(&r, "repository id", repositoryID, func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_repository_get_json(h, id, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// ListRepositories returns the repositories matching filter.
func (s *Store) ListRepositories(filter RepositoryFilter) ([]Repository, error) {
	var list []Repository
	err := s.docJSON(&list, "repository filter", filter, func(h *C.sendense_store, doc *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_repository_list_json(h, doc, out, e)
	})
	return list, err
}

// UpdateRepository changes a repository and returns the updated record. Switching
// immutability off while the repository holds backups is refused.
func (s *Store) UpdateRepository(repositoryID string, u RepositoryUpdate) (*Repository, error) {
	var r Repository
	err := s.idDocJSON(&r, "repository id", repositoryID, "repository update", u,
		func(h *C.sendense_store, id, doc *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
			return C.sendense_repository_update(h, id, doc, out, e)
		})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// SetRepositoryEnabled enables or disables a repository; a disabled repository takes no new
// backups (StartBackup is ErrInvalidState).
func (s *Store) SetRepositoryEnabled(repositoryID string, enabled bool) error {
	return s.withID("repository id", repositoryID, func(h *C.sendense_store, id *C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_repository_set_enabled(h, id, C.bool(enabled), e)
	})
}

// RecordRepositoryCapacity records a repository's capacity figures in bytes (all >= 0;
// used + available at most total when total > 0) and stamps LastCheckAt.
func (s *Store) RecordRepositoryCapacity(repositoryID string, total, used, available int64) error {
	return s.withID("repository id", repositoryID, func(h *C.sendense_store, id *C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_repository_record_capacity(h, id, C.int64_t(total), C.int64_t(used), C.int64_t(available), e)
	})
}

// DeleteRepository deletes a repository. ErrConflict while it holds backups or copies (the
// message says how many), or while a policy writes to it (the message names the policy).
func (s *Store) DeleteRepository(repositoryID string) error {
	return s.withID("repository id", repositoryID, func(h *C.sendense_store, id *C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_repository_delete(h, id, e)
	})
}

// CreatePolicy creates a backup policy and its copy rules in one transaction and returns its
// id.
func (s *Store) CreatePolicy(p NewPolicy) (string, error) {
	return s.docString("new policy", p, func(h *C.sendense_store, doc *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_policy_create(h, doc, out, e)
	})
}

// Policy returns the policy with this id and its copy rules (ErrNotFound when there is none).
func (s *Store) Policy(policyID string) (*Policy, error) {
	var p Policy
	err := s.idJSON(&p, "policy id", policyID, func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_policy_get_json(h, id, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// ListPolicies returns the policies matching filter, each with its copy rules.
func (s *Store) ListPolicies(filter PolicyFilter) ([]Policy, error) {
	var list []Policy
	err := s.docJSON(&list, "policy filter", filter, func(h *C.sendense_store, doc *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_policy_list_json(h, doc, out, e)
	})
	return list, err
}

// UpdatePolicy changes a policy (and, when u.CopyRules is not nil, replaces its copy rules) in
// one transaction and returns the updated policy.
func (s *Store) UpdatePolicy(policyID string, u PolicyUpdate) (*Policy, error) {
	var p Policy
	err := s.idDocJSON(&p, "policy id", policyID, "policy update", u,
		func(h *C.sendense_store, id, doc *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
			return C.sendense_policy_update(h, id, doc, out, e)
		})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// DeletePolicy deletes a policy and its copy rules; backups that named it keep existing
// without a policy.
func (s *Store) DeletePolicy(policyID string) error {
	return s.withID("policy id", policyID, func(h *C.sendense_store, id *C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_policy_delete(h, id, e)
	})
}
