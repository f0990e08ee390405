package sendense

// #include "sendense.h"
import "C"

import "time"

// ExportStatus is the state of an NBD export (nbd_exports.status): pending -> active | failed.
type ExportStatus string

// Export statuses.
const (
	ExportPending ExportStatus = "pending"
	ExportActive  ExportStatus = "active"
	ExportFailed  ExportStatus = "failed"
)

// NewNBDExport is an NBD export to create for an oma volume. VolumeUUID (its mapping must
// exist and be oma; optional inside NewDeviceMapping), VMDiskID (the vm_disks row id served,
// of the mapping's context: Disk.ID) and Port (1 to 65535) are required; JobID, when set, is
// the replication job using it (of the same context).
type NewNBDExport struct {
	VolumeUUID string `json:"volume_uuid,omitempty"`
	VMDiskID   int64  `json:"vm_disk_id"`
	Port       int64  `json:"port"`
	JobID      string `json:"job_id,omitempty"`
	ConfigPath string `json:"config_path,omitempty"`
}

// NBDExport is an nbd_exports row. ExportName is "migration-vol-{volume_uuid}"; VolumeID is
// the exported volume's UUID; DevicePath is its mapping's device path.
type NBDExport struct {
	ID                int64        `json:"id"`
	VMContextID       *string      `json:"vm_context_id"`
	JobID             *string      `json:"job_id"`
	VolumeID          string       `json:"volume_id"`
	VMDiskID          *int64       `json:"vm_disk_id"`
	DeviceMappingUUID *string      `json:"device_mapping_uuid"`
	ExportName        string       `json:"export_name"`
	Port              int64        `json:"port"`
	DevicePath        string       `json:"device_path"`
	ConfigPath        *string      `json:"config_path"`
	Status            ExportStatus `json:"status"`
	CreatedAt         time.Time    `json:"created_at"`
	UpdatedAt         time.Time    `json:"updated_at"`
}

// CreateNBDExport creates the NBD export of an oma volume, pending, and returns its name
// ("migration-vol-{volume_uuid}"). A volume already exported is ErrAlreadyExists.
func (s *Store) CreateNBDExport(x NewNBDExport) (string, error) {
	var a cargs
	doc := a.doc("new NBD export", x)
	return getString(s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_nbd_export_create(h, doc, out, e)
	})
}

// SetNBDExportStatus moves an export from pending to ExportActive or ExportFailed.
func (s *Store) SetNBDExportStatus(exportName string, status ExportStatus) error {
	var a cargs
	name, st := a.str("export name", exportName), a.str("export status", string(status))
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_nbd_export_set_status(h, name, st, e)
	})
}

// SetNBDExportReplicationJob sets the replication job using an export (a job of its
// context), or clears it when jobID is "".
func (s *Store) SetNBDExportReplicationJob(exportName, jobID string) error {
	var a cargs
	name, job := a.str("export name", exportName), a.opt("job id", jobID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_nbd_export_set_job(h, name, job, e)
	})
}

// RemoveNBDExport removes an export; its mapping stays (ErrNotFound when there is none).
func (s *Store) RemoveNBDExport(exportName string) error {
	var a cargs
	name := a.str("export name", exportName)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_nbd_export_remove(h, name, e)
	})
}

// NBDExport returns the export with this name (ErrNotFound when there is none).
func (s *Store) NBDExport(exportName string) (*NBDExport, error) {
	var a cargs
	name := a.str("export name", exportName)
	return getRecord[NBDExport](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_nbd_export_get_json(h, name, out, e)
	})
}

// NBDExportsByContext returns the exports of a context, by name (ErrNotFound for an unknown
// context).
func (s *Store) NBDExportsByContext(contextID string) ([]NBDExport, error) {
	var a cargs
	ctx := a.str("context id", contextID)
	return getJSON[[]NBDExport](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_nbd_export_list_by_context_json(h, ctx, out, e)
	})
}

// NBDExportsByReplicationJob returns the exports a replication job uses, by name
// (ErrNotFound for an unknown job).
func (s *Store) NBDExportsByReplicationJob(jobID string) ([]NBDExport, error) {
	var a cargs
	job := a.str("job id", jobID)
	return getJSON[[]NBDExport](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_nbd_export_list_by_job_json(h, job, out, e)
	})
}
