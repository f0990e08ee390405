package sendense

// #include "sendense.h"
import "C"

// VolumeMismatch is a volume whose ossea_volumes status disagrees with its mapping.
type VolumeMismatch struct {
	VolumeID  string  `json:"volume_id"`
	Status    string  `json:"status"`
	MappingID *string `json:"mapping_id"`
}

// StorageConsistency is the storage consistency check (also part of IntegrityCheck): what
// the device and export rules prevent, found in data that raw SQL or older writers may have
// left behind. OK when every list is empty.
type StorageConsistency struct {
	OK                        bool             `json:"ok"`
	ExportsWithoutLiveMapping []string         `json:"exports_without_live_mapping"`
	OMAMappingsWithoutExport  []string         `json:"oma_mappings_without_export"`
	DuplicateDevicePaths      []string         `json:"duplicate_device_paths"`
	VolumeMismatches          []VolumeMismatch `json:"volume_mismatches"`
}

// StorageConsistency runs the storage consistency check. Problems are reported in the
// result; an error means the check could not run.
func (s *Store) StorageConsistency() (*StorageConsistency, error) {
	return getRecord[StorageConsistency](s, nil, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_storage_consistency_json(h, out, e)
	})
}
