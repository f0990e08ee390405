package sendense

// #include "sendense.h"
import "C"

// ForeignKeyViolation is a row of PRAGMA foreign_key_check.
type ForeignKeyViolation struct {
	Table   string `json:"table"`
	RowID   *int64 `json:"rowid"`
	Parent  string `json:"parent"`
	FKIndex int64  `json:"fk_index"`
}

// IntegrityReport is the result of IntegrityCheck; OK when both lists are empty and the
// storage consistency check found nothing.
type IntegrityReport struct {
	OK                   bool                  `json:"ok"`
	SchemaVersion        uint32                `json:"schema_version"`
	IntegrityErrors      []string              `json:"integrity_errors"`
	ForeignKeyViolations []ForeignKeyViolation `json:"foreign_key_violations"`
	Storage              *StorageConsistency   `json:"storage"`
}

// IntegrityCheck runs SQLite's integrity and foreign-key checks and the storage consistency
// check (devices, exports and volumes; see StorageConsistency). Problems are reported in the
// report; an error means the check could not run.
func (s *Store) IntegrityCheck() (*IntegrityReport, error) {
	return getRecord[IntegrityReport](s, nil, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_store_integrity_check(h, out, e)
	})
}
