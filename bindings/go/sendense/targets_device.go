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

// AttachDevice records an attached volume (and, with m.Export, its NBD export in the same
// transaction) and returns the mapping id. A volume already mapped is ErrAlreadyExists naming
// its mapping; a device path held by another oma mapping is ErrConflict naming that volume;
// an oma mapping without a device path, or a failover mapping with one, is
// ErrInvalidArgument. A refusal changes nothing.
func (s *Store) AttachDevice(m NewDeviceMapping) (string, error) {
	var a cargs
	doc := a.doc("new device mapping", m)
	return getString(s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_device_attach(h, doc, out, e)
	})
}

// DetachDevice removes the mapping of a volume and its NBD export in one transaction
// (ErrNotFound when the volume has no mapping).
func (s *Store) DetachDevice(volumeUUID string) error {
	var a cargs
	vol := a.str("volume uuid", volumeUUID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_device_detach(h, vol, e)
	})
}

// UpdateDevice changes the device facts of the mapping of a volume (see DeviceUpdate).
func (s *Store) UpdateDevice(volumeUUID string, u DeviceUpdate) error {
	var a cargs
	doc := a.doc("device update", u)
	vol := a.str("volume uuid", volumeUUID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_device_update(h, vol, doc, e)
	})
}

// SetDeviceMode switches every mapping of a context to mode in one transaction: to
// ModeFailover the device paths are cleared and the volumes' exports removed. To ModeOMA it
// succeeds only when every mapping is already oma (the store does not know a failover
// volume's new hub path): use SwitchDeviceMode with the paths to come back.
func (s *Store) SetDeviceMode(contextID string, mode OperationMode) error {
	var a cargs
	ctx, m := a.str("context id", contextID), a.str("mode", string(mode))
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_device_set_mode(h, ctx, m, e)
	})
}

// SwitchDeviceMode switches every mapping of a context with what the switch needs (see
// ModeSwitch), in one transaction; any refusal changes nothing.
func (s *Store) SwitchDeviceMode(sw ModeSwitch) error {
	var a cargs
	doc := a.doc("mode switch", sw)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_device_switch_mode(h, doc, e)
	})
}

// SetDeviceSnapshot moves the snapshot tracking of the mapping of a volume to status (none ->
// creating -> ready | failed; ready -> rollback_complete -> none; failed -> none).
// snapshotID is required for SnapshotCreating and must be "" otherwise.
func (s *Store) SetDeviceSnapshot(volumeUUID string, status SnapshotStatus, snapshotID string) error {
	var a cargs
	vol, st, snap := a.str("volume uuid", volumeUUID), a.str("snapshot status", string(status)), a.opt("snapshot id", snapshotID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_device_set_snapshot(h, vol, st, snap, e)
	})
}

// DeviceMapping returns the mapping of a volume (ErrNotFound when it has none).
func (s *Store) DeviceMapping(volumeUUID string) (*DeviceMapping, error) {
	var a cargs
	vol := a.str("volume uuid", volumeUUID)
	return getRecord[DeviceMapping](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_device_get_json(h, vol, out, e)
	})
}

// DeviceMappings returns the mappings of a context, oldest first (ErrNotFound for an unknown
// context).
func (s *Store) DeviceMappings(contextID string) ([]DeviceMapping, error) {
	var a cargs
	ctx := a.str("context id", contextID)
	return getJSON[[]DeviceMapping](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_device_list_json(h, ctx, out, e)
	})
}
