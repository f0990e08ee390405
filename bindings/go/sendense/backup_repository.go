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

// CreateRepository creates a backup repository and returns its id. Its Config is validated
// against its type (ErrInvalidArgument naming the key); a taken id or name is
// ErrAlreadyExists.
func (s *Store) CreateRepository(r NewRepository) (string, error) {
	var a cargs
	doc := a.doc("new repository", r)
	return getString(s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_repository_create(h, doc, out, e)
	})
}

// Repository returns the repository with this id (ErrNotFound when there is none).
func (s *Store) Repository(repositoryID string) (*Repository, error) {
	var a cargs
	id := a.str("repository id", repositoryID)
	return getRecord[Repository](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_repository_get_json(h, id, out, e)
	})
}

// ListRepositories returns the repositories matching filter.
func (s *Store) ListRepositories(filter RepositoryFilter) ([]Repository, error) {
	var a cargs
	doc := a.doc("repository filter", filter)
	return getJSON[[]Repository](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_repository_list_json(h, doc, out, e)
	})
}

// UpdateRepository changes a repository and returns the updated record. Switching
// immutability off while the repository holds backups is refused.
func (s *Store) UpdateRepository(repositoryID string, u RepositoryUpdate) (*Repository, error) {
	var a cargs
	doc := a.doc("repository update", u)
	id := a.str("repository id", repositoryID)
	return getRecord[Repository](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_repository_update(h, id, doc, out, e)
	})
}

// SetRepositoryEnabled enables or disables a repository; a disabled repository takes no new
// backups (StartBackup is ErrInvalidState).
func (s *Store) SetRepositoryEnabled(repositoryID string, enabled bool) error {
	var a cargs
	id := a.str("repository id", repositoryID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_repository_set_enabled(h, id, C.bool(enabled), e)
	})
}

// RecordRepositoryCapacity records a repository's capacity figures in bytes (all >= 0;
// used + available at most total when total > 0) and stamps LastCheckAt.
func (s *Store) RecordRepositoryCapacity(repositoryID string, total, used, available int64) error {
	var a cargs
	id := a.str("repository id", repositoryID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_repository_record_capacity(h, id, C.int64_t(total), C.int64_t(used), C.int64_t(available), e)
	})
}

// DeleteRepository deletes a repository. ErrConflict while it holds backups or copies (the
// message says how many), or while a policy writes to it (the message names the policy).
func (s *Store) DeleteRepository(repositoryID string) error {
	var a cargs
	id := a.str("repository id", repositoryID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_repository_delete(h, id, e)
	})
}
