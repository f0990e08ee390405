package sendense

// #include "sendense.h"
import "C"

import (
	"encoding/json"
	"time"
)

// DiskSyncStatus is the per-disk sync state (vm_disks.sync_status).
type DiskSyncStatus string

// Disk sync statuses.
const (
	DiskPending   DiskSyncStatus = "pending"
	DiskSyncing   DiskSyncStatus = "syncing"
	DiskCompleted DiskSyncStatus = "completed"
	DiskFailed    DiskSyncStatus = "failed"
)

// Disk is a vm_disks row: one stable row per (context, VMware disk), keeping the disk's
// recorded change id (DiskChangeID) across jobs.
type Disk struct {
	ID                  int64           `json:"id"`
	VMContextID         string          `json:"vm_context_id"`
	JobID               *string         `json:"job_id"`
	DiskID              string          `json:"disk_id"`
	VMDKPath            string          `json:"vm_dk_path"`
	SizeGB              int64           `json:"size_gb"`
	Datastore           *string         `json:"datastore"`
	UnitNumber          *int64          `json:"unit_number"`
	Label               *string         `json:"label"`
	CapacityBytes       *int64          `json:"capacity_bytes"`
	ProvisioningType    *string         `json:"provisioning_type"`
	OSSEAVolumeID       *int64          `json:"ossea_volume_id"`
	DiskChangeID        *string         `json:"disk_change_id"`
	SyncStatus          DiskSyncStatus  `json:"sync_status"`
	SyncProgressPercent float64         `json:"sync_progress_percent"`
	BytesSynced         int64           `json:"bytes_synced"`
	CreatedAt           time.Time       `json:"created_at"`
	UpdatedAt           time.Time       `json:"updated_at"`
	CPUCount            int64           `json:"cpu_count"`
	MemoryMB            int64           `json:"memory_mb"`
	OSType              *string         `json:"os_type"`
	VMToolsVersion      *string         `json:"vm_tools_version"`
	NetworkConfig       json.RawMessage `json:"network_config"` // nil when NULL
	DisplayName         *string         `json:"display_name"`
	Annotation          *string         `json:"annotation"`
	PowerState          *string         `json:"power_state"`
	VMwareUUID          *string         `json:"vmware_uuid"`
	BIOSSetup           *string         `json:"bios_setup"`
}

// DiskSpec is a disk of the VM as a job sees it. DiskID ("disk-<VMware device key>", e.g.
// "disk-2000"), VMDKPath and SizeGB are required.
type DiskSpec struct {
	DiskID           string          `json:"disk_id"`
	VMDKPath         string          `json:"vm_dk_path"`
	SizeGB           int64           `json:"size_gb"`
	Datastore        string          `json:"datastore,omitempty"`
	UnitNumber       *int64          `json:"unit_number,omitempty"`
	Label            string          `json:"label,omitempty"`
	CapacityBytes    *int64          `json:"capacity_bytes,omitempty"`
	ProvisioningType string          `json:"provisioning_type,omitempty"`
	OSSEAVolumeID    *int64          `json:"ossea_volume_id,omitempty"`
	NetworkConfig    json.RawMessage `json:"network_config,omitempty"`
}

// Disks returns the disk rows of a context, by disk id.
func (s *Store) Disks(contextID string) ([]Disk, error) {
	var a cargs
	id := a.str("context id", contextID)
	list, err := getJSON[[]Disk](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_replication_disks_json(h, id, out, e)
	})
	for i := range list {
		list[i].NetworkConfig = nilIfNull(list[i].NetworkConfig)
	}
	return list, err
}

// ReplicationDiskProgress records a disk's progress within an active replication job;
// syncStatus "" leaves the disk's sync status unchanged.
func (s *Store) ReplicationDiskProgress(jobID, diskID string, percent float64, bytesSynced int64, syncStatus DiskSyncStatus) error {
	var a cargs
	id, disk, st := a.str("job id", jobID), a.str("disk id", diskID), a.opt("disk sync status", string(syncStatus))
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_replication_disk_progress(h, id, disk, C.double(percent), C.int64_t(bytesSynced), st, e)
	})
}
