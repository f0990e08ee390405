package sendense

// #include "sendense.h"
import "C"

import "time"

// Chain is a backup_chains row: the current generation of one (context, disk, repository),
// from its full (FullBackupID) to its newest completed point (LatestBackupID).
type Chain struct {
	ID             string    `json:"id"`
	VMContextID    string    `json:"vm_context_id"`
	DiskID         int64     `json:"disk_id"`
	RepositoryID   string    `json:"repository_id"`
	FullBackupID   *string   `json:"full_backup_id"`
	LatestBackupID *string   `json:"latest_backup_id"`
	TotalBackups   int64     `json:"total_backups"`
	TotalSizeBytes int64     `json:"total_size_bytes"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Chains returns the chains of a context, one per disk and repository (ErrNotFound when the
// context does not exist).
func (s *Store) Chains(contextID string) ([]Chain, error) {
	var a cargs
	id := a.str("context id", contextID)
	return getJSON[[]Chain](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_chain_list_json(h, id, out, e)
	})
}

// Chain returns the chain of disk diskID (its index) of a context in a repository, from the
// library's typed snapshot. ErrNotFound when it has none (no point completed yet).
func (s *Store) Chain(contextID string, diskID int64, repositoryID string) (*Chain, error) {
	var a cargs
	ctx, repo := a.str("context id", contextID), a.str("repository id", repositoryID)
	var snap *C.sendense_chain
	err := s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_chain_get(h, ctx, C.int64_t(diskID), repo, &snap, e)
	})
	if err != nil {
		return nil, err
	}
	defer C.sendense_chain_free(snap)
	return &Chain{
		ID:             C.GoString(C.sendense_chain_id(snap)),
		VMContextID:    C.GoString(C.sendense_chain_context_id(snap)),
		DiskID:         int64(C.sendense_chain_disk_id(snap)),
		RepositoryID:   C.GoString(C.sendense_chain_repository_id(snap)),
		FullBackupID:   goStringOrNil(C.sendense_chain_full_backup_id(snap)),
		LatestBackupID: goStringOrNil(C.sendense_chain_latest_backup_id(snap)),
		TotalBackups:   int64(C.sendense_chain_total_backups(snap)),
		TotalSizeBytes: int64(C.sendense_chain_total_size_bytes(snap)),
		CreatedAt:      time.UnixMilli(int64(C.sendense_chain_created_at_ms(snap))).UTC(),
		UpdatedAt:      time.UnixMilli(int64(C.sendense_chain_updated_at_ms(snap))).UTC(),
	}, nil
}

// goStringOrNil is the Go copy of a borrowed C string, nil for NULL.
func goStringOrNil(p *C.char) *string {
	if p == nil {
		return nil
	}
	s := C.GoString(p)
	return &s
}

// RestoreChain returns what restoring a point needs: its full, then each point building on
// it, up to and including the point. ErrInvalidState naming the link when one is missing or
// not completed.
func (s *Store) RestoreChain(backupID string) ([]BackupPoint, error) {
	var a cargs
	id := a.str("backup id", backupID)
	return getJSON[[]BackupPoint](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_backup_restore_chain_json(h, id, out, e)
	})
}

// DecideBackupCBT decides whether the next backup of disk diskID (its index) of a context
// into a repository must be full or incremental, from a snapshot whose change id is
// snapshotChangeID. The base is the change id of the chain's latest completed point (the
// parent an incremental started now gets).
func (s *Store) DecideBackupCBT(contextID string, diskID int64, repositoryID, snapshotChangeID string) (Decision, error) {
	var a cargs
	ctx, repo, snap := a.str("context id", contextID), a.str("repository id", repositoryID), a.str("snapshot change id", snapshotChangeID)
	return getJSON[Decision](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_backup_cbt_decide(h, ctx, C.int64_t(diskID), repo, snap, out, e)
	})
}
