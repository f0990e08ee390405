package sendense

// #include "sendense.h"
import "C"

import (
	"encoding/json"
	"time"
)

// OperationMode says where a mapped volume is attached (device_mappings.operation_mode).
type OperationMode string

// Operation modes.
const (
	// ModeOMA: attached to the hub appliance at a local device path, served by an NBD export.
	ModeOMA OperationMode = "oma"
	// ModeFailover: attached to a failover VM; no local device, no export.
	ModeFailover OperationMode = "failover"
)

// ExportStatus is the state of an NBD export (nbd_exports.status): pending -> active | failed.
type ExportStatus string

// Export statuses.
const (
	ExportPending ExportStatus = "pending"
	ExportActive  ExportStatus = "active"
	ExportFailed  ExportStatus = "failed"
)

// DeviceMapping is a device_mappings row: which CloudStack volume is attached where.
type DeviceMapping struct {
	ID                        string         `json:"id"`
	VMContextID               *string        `json:"vm_context_id"`
	VolumeUUID                string         `json:"volume_uuid"`
	VolumeIDNumeric           *int64         `json:"volume_id_numeric"`
	VMID                      string         `json:"vm_id"`
	OperationMode             OperationMode  `json:"operation_mode"`
	CloudStackDeviceID        *int64         `json:"cloudstack_device_id"`
	RequiresDeviceCorrelation bool           `json:"requires_device_correlation"`
	DevicePath                *string        `json:"device_path"` // nil in failover mode
	CloudStackState           string         `json:"cloudstack_state"`
	LinuxState                string         `json:"linux_state"`
	Size                      int64          `json:"size"`
	LastSync                  *time.Time     `json:"last_sync"`
	CreatedAt                 time.Time      `json:"created_at"`
	UpdatedAt                 time.Time      `json:"updated_at"`
	OSSEASnapshotID           *string        `json:"ossea_snapshot_id"`
	SnapshotCreatedAt         *time.Time     `json:"snapshot_created_at"`
	SnapshotStatus            SnapshotStatus `json:"snapshot_status"`
	PersistentDeviceName      *string        `json:"persistent_device_name"`
	SymlinkPath               *string        `json:"symlink_path"`
}

// NewDeviceMapping is a volume to attach. VolumeUUID (unique among mappings) and VMID (the
// CloudStack VM it is attached to) are required. OperationMode "" means ModeOMA, which needs
// DevicePath (an absolute path, unique among oma mappings); a ModeFailover mapping must have
// none. ID is generated when empty; VMContextID, when set, must exist;
// RequiresDeviceCorrelation nil means true; CloudStackState "" means "attached", LinuxState
// "" means "detected" (oma) or "n/a" (failover). Export, when set, is the volume's NBD export,
// created in the same transaction (its VolumeUUID may be left empty).
type NewDeviceMapping struct {
	ID                        string        `json:"id,omitempty"`
	VMContextID               string        `json:"vm_context_id,omitempty"`
	VolumeUUID                string        `json:"volume_uuid"`
	VolumeIDNumeric           *int64        `json:"volume_id_numeric,omitempty"`
	VMID                      string        `json:"vm_id"`
	OperationMode             OperationMode `json:"operation_mode,omitempty"`
	CloudStackDeviceID        *int64        `json:"cloudstack_device_id,omitempty"`
	RequiresDeviceCorrelation *bool         `json:"requires_device_correlation,omitempty"`
	DevicePath                string        `json:"device_path,omitempty"`
	CloudStackState           string        `json:"cloudstack_state,omitempty"`
	LinuxState                string        `json:"linux_state,omitempty"`
	Size                      int64         `json:"size,omitempty"`
	PersistentDeviceName      string        `json:"persistent_device_name,omitempty"`
	SymlinkPath               string        `json:"symlink_path,omitempty"`
	Export                    *NewNBDExport `json:"export,omitempty"`
}

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

// ModeSwitch switches every mapping of a context, in one transaction. To ModeFailover: the
// oma mappings lose their device paths and their volumes' exports (DevicePaths and Exports
// must be empty). To ModeOMA: every failover mapping needs its new hub device path in
// DevicePaths (volume UUID -> path; each free among oma mappings); Exports are created after
// the switch, each naming its VolumeUUID. VMID, when set, becomes the VM of every mapping.
type ModeSwitch struct {
	ContextID   string            `json:"context_id"`
	Mode        OperationMode     `json:"mode"`
	VMID        string            `json:"vm_id,omitempty"`
	DevicePaths map[string]string `json:"device_paths,omitempty"`
	Exports     []NewNBDExport    `json:"exports,omitempty"`
}

// DeviceUpdate changes a mapping's device facts as the volume daemon learns them; nil fields
// are left alone. A new DevicePath (oma mappings only, unique among them) is carried to the
// volume's export. Clear lists nullable columns to set to NULL ("cloudstack_device_id",
// "persistent_device_name", "symlink_path").
type DeviceUpdate struct {
	DevicePath                *string
	CloudStackState           *string
	LinuxState                *string
	Size                      *int64
	RequiresDeviceCorrelation *bool
	CloudStackDeviceID        *int64
	PersistentDeviceName      *string
	SymlinkPath               *string
	Clear                     []string
}

// MarshalJSON encodes the update as the library expects it: present keys only.
func (u DeviceUpdate) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	for key, v := range map[string]*string{"device_path": u.DevicePath, "cloudstack_state": u.CloudStackState,
		"linux_state": u.LinuxState, "persistent_device_name": u.PersistentDeviceName, "symlink_path": u.SymlinkPath} {
		if v != nil {
			m[key] = *v
		}
	}
	if u.Size != nil {
		m["size"] = *u.Size
	}
	if u.RequiresDeviceCorrelation != nil {
		m["requires_device_correlation"] = *u.RequiresDeviceCorrelation
	}
	if u.CloudStackDeviceID != nil {
		m["cloudstack_device_id"] = *u.CloudStackDeviceID
	}
	for _, key := range u.Clear {
		if _, both := m[key]; both {
			return nil, invalidArgument("device update: %s is both set and cleared", key)
		}
		switch key {
		case "cloudstack_device_id", "persistent_device_name", "symlink_path":
			m[key] = nil
		default:
			return nil, invalidArgument("device update: %s cannot be cleared", key)
		}
	}
	return json.Marshal(m)
}

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

// AttachDevice records an attached volume (and, with m.Export, its NBD export in the same
// transaction) and returns the mapping id. A volume already mapped is ErrAlreadyExists naming
// its mapping; a device path held by another oma mapping is ErrConflict naming that volume;
// an oma mapping without a device path, or a failover mapping with one, is
// ErrInvalidArgument. A refusal changes nothing.
func (s *Store) AttachDevice(m NewDeviceMapping) (string, error) {
	return s.docString("new device mapping", m, func(h *C.sendense_store, doc *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_device_attach(h, doc, out, e)
	})
}

// DetachDevice removes the mapping of a volume and its NBD export in one transaction
// (ErrNotFound when the volume has no mapping).
func (s *Store) DetachDevice(volumeUUID string) error {
	return s.withID("volume uuid", volumeUUID, func(h *C.sendense_store, id *C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_device_detach(h, id, e)
	})
}

// UpdateDevice changes the device facts of the mapping of a volume (see DeviceUpdate).
func (s *Store) UpdateDevice(volumeUUID string, u DeviceUpdate) error {
	text, err := marshalInput("device update", u)
	if err != nil {
		return err
	}
	var cs cstrings
	defer cs.free()
	cid := cs.str("volume uuid", volumeUUID)
	cdoc := cs.str("device update JSON", text)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_device_update(h, cid, cdoc, e)
	})
}

// SetDeviceMode switches every mapping of a context to mode in one transaction: to
// ModeFailover the device paths are cleared and the volumes' exports removed. To ModeOMA it
// succeeds only when every mapping is already oma (the store does not know a failover
// volume's new hub path): use SwitchDeviceMode with the paths to come back.
func (s *Store) SetDeviceMode(contextID string, mode OperationMode) error {
	var cs cstrings
	defer cs.free()
	cctx := cs.str("context id", contextID)
	cmode := cs.str("mode", string(mode))
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_device_set_mode(h, cctx, cmode, e)
	})
}

// SwitchDeviceMode switches every mapping of a context with what the switch needs (see
// ModeSwitch), in one transaction; any refusal changes nothing.
func (s *Store) SwitchDeviceMode(sw ModeSwitch) error {
	text, err := marshalInput("mode switch", sw)
	if err != nil {
		return err
	}
	var cs cstrings
	defer cs.free()
	cdoc := cs.str("mode switch JSON", text)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_device_switch_mode(h, cdoc, e)
	})
}

// SetDeviceSnapshot moves the snapshot tracking of the mapping of a volume to status (none ->
// creating -> ready | failed; ready -> rollback_complete -> none; failed -> none).
// snapshotID is required for SnapshotCreating and must be "" otherwise.
func (s *Store) SetDeviceSnapshot(volumeUUID string, status SnapshotStatus, snapshotID string) error {
	var cs cstrings
	defer cs.free()
	cid := cs.str("volume uuid", volumeUUID)
	cstatus := cs.str("snapshot status", string(status))
	csnap := cs.opt("snapshot id", snapshotID)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_device_set_snapshot(h, cid, cstatus, csnap, e)
	})
}

// DeviceMapping returns the mapping of a volume (ErrNotFound when it has none).
func (s *Store) DeviceMapping(volumeUUID string) (*DeviceMapping, error) {
	var m DeviceMapping
	err := s.idJSON(&m, "volume uuid", volumeUUID, func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_device_get_json(h, id, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// DeviceMappings returns the mappings of a context, oldest first (ErrNotFound for an unknown
// context).
func (s *Store) DeviceMappings(contextID string) ([]DeviceMapping, error) {
	var list []DeviceMapping
	err := s.idJSON(&list, "context id", contextID, func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_device_list_json(h, id, out, e)
	})
	return list, err
}

// CreateNBDExport creates the NBD export of an oma volume, pending, and returns its name
// ("migration-vol-{volume_uuid}"). A volume already exported is ErrAlreadyExists.
func (s *Store) CreateNBDExport(x NewNBDExport) (string, error) {
	return s.docString("new NBD export", x, func(h *C.sendense_store, doc *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_nbd_export_create(h, doc, out, e)
	})
}

// SetNBDExportStatus moves an export from pending to ExportActive or ExportFailed.
func (s *Store) SetNBDExportStatus(exportName string, status ExportStatus) error {
	var cs cstrings
	defer cs.free()
	cname := cs.str("export name", exportName)
	cstatus := cs.str("export status", string(status))
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_nbd_export_set_status(h, cname, cstatus, e)
	})
}

// SetNBDExportJob sets the replication job using an export (a job of its context), or clears
// it when jobID is "".
func (s *Store) SetNBDExportJob(exportName, jobID string) error {
	var cs cstrings
	defer cs.free()
	cname := cs.str("export name", exportName)
	cjob := cs.opt("job id", jobID)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_nbd_export_set_job(h, cname, cjob, e)
	})
}

// RemoveNBDExport removes an export; its mapping stays (ErrNotFound when there is none).
func (s *Store) RemoveNBDExport(exportName string) error {
	return s.withID("export name", exportName, func(h *C.sendense_store, id *C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_nbd_export_remove(h, id, e)
	})
}

// NBDExport returns the export with this name (ErrNotFound when there is none).
func (s *Store) NBDExport(exportName string) (*NBDExport, error) {
	var x NBDExport
	err := s.idJSON(&x, "export name", exportName, func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_nbd_export_get_json(h, id, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &x, nil
}

// NBDExportsByContext returns the exports of a context, by name (ErrNotFound for an unknown
// context).
func (s *Store) NBDExportsByContext(contextID string) ([]NBDExport, error) {
	var list []NBDExport
	err := s.idJSON(&list, "context id", contextID, func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_nbd_export_list_by_context_json(h, id, out, e)
	})
	return list, err
}

// NBDExportsByJob returns the exports a replication job uses, by name (ErrNotFound for an
// unknown job).
func (s *Store) NBDExportsByJob(jobID string) ([]NBDExport, error) {
	var list []NBDExport
	err := s.idJSON(&list, "job id", jobID, func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_nbd_export_list_by_job_json(h, id, out, e)
	})
	return list, err
}

// StorageConsistency runs the storage consistency check. Problems are reported in the
// result; an error means the check could not run.
func (s *Store) StorageConsistency() (*StorageConsistency, error) {
	var r StorageConsistency
	err := s.callJSON(&r, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_storage_consistency_json(h, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}
