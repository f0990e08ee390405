package sendense

// #include "sendense.h"
import "C"

import (
	"encoding/json"
	"time"
)

// CloudStackConfig is an ossea_configs row without its secrets: a CloudStack (OSSEA)
// endpoint the appliance provisions volumes in. At most one configuration is active.
// SealedWithKey is the id of the key that sealed its API key and secret (see SecretKeyID).
type CloudStackConfig struct {
	ID                int64     `json:"id"`
	Name              string    `json:"name"`
	APIURL            string    `json:"api_url"`
	Domain            *string   `json:"domain"`
	Zone              string    `json:"zone"`
	TemplateID        *string   `json:"template_id"`
	NetworkID         *string   `json:"network_id"`
	ServiceOfferingID *string   `json:"service_offering_id"`
	DiskOfferingID    *string   `json:"disk_offering_id"`
	OMAVMID           *string   `json:"oma_vm_id"`
	IsActive          bool      `json:"is_active"`
	SealedWithKey     *string   `json:"sealed_with_key"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// CloudStackSecrets are the opened API key and secret of a CloudStack configuration, as
// CloudStackConfigSecrets hands them out. Its String method hides them.
type CloudStackSecrets struct {
	APIKey    string `json:"api_key"`
	SecretKey string `json:"secret_key"`
}

// String hides the secrets, so that printing the value does not leak them.
func (CloudStackSecrets) String() string { return "CloudStackSecrets{...}" }

// GoString hides the secrets from %#v too.
func (CloudStackSecrets) GoString() string { return "sendense.CloudStackSecrets{...}" }

// NewCloudStackConfig is a CloudStack configuration to create. Name, APIURL (http:// or
// https://), APIKey, SecretKey and Zone are required; the other strings are optional ("" is
// not set). APIKey and SecretKey are stored sealed with the store's key: creating one needs a
// store opened with OpenWithKey (ErrSecretKey otherwise). IsActive makes it the one active
// configuration (the others are deactivated in the same transaction).
type NewCloudStackConfig struct {
	Name              string `json:"name"`
	APIURL            string `json:"api_url"`
	APIKey            string `json:"api_key"`
	SecretKey         string `json:"secret_key"`
	Domain            string `json:"domain,omitempty"`
	Zone              string `json:"zone"`
	TemplateID        string `json:"template_id,omitempty"`
	NetworkID         string `json:"network_id,omitempty"`
	ServiceOfferingID string `json:"service_offering_id,omitempty"`
	DiskOfferingID    string `json:"disk_offering_id,omitempty"`
	OMAVMID           string `json:"oma_vm_id,omitempty"`
	IsActive          bool   `json:"is_active,omitempty"`
}

// String hides the secrets.
func (c NewCloudStackConfig) String() string {
	return "NewCloudStackConfig{Name: " + c.Name + ", APIURL: " + c.APIURL + ", ...}"
}

// GoString hides the secrets from %#v too.
func (c NewCloudStackConfig) GoString() string { return "sendense." + c.String() }

// CloudStackConfigUpdate changes a CloudStack configuration; nil fields leave their column
// alone. A new APIKey or SecretKey is sealed with the store's key. Clear lists nullable
// columns to set to NULL by their names ("domain", "template_id", "network_id",
// "service_offering_id", "disk_offering_id", "oma_vm_id"). Activation has its own method.
type CloudStackConfigUpdate struct {
	Name              *string
	APIURL            *string
	APIKey            *string
	SecretKey         *string
	Domain            *string
	Zone              *string
	TemplateID        *string
	NetworkID         *string
	ServiceOfferingID *string
	DiskOfferingID    *string
	OMAVMID           *string
	Clear             []string
}

// String hides the secrets.
func (u CloudStackConfigUpdate) String() string { return "CloudStackConfigUpdate{...}" }

// GoString hides the secrets from %#v too.
func (u CloudStackConfigUpdate) GoString() string { return "sendense.CloudStackConfigUpdate{...}" }

// MarshalJSON encodes the update as the library expects it: present keys only.
func (u CloudStackConfigUpdate) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	for key, v := range map[string]*string{
		"name": u.Name, "api_url": u.APIURL, "api_key": u.APIKey, "secret_key": u.SecretKey, "zone": u.Zone,
		"domain": u.Domain, "template_id": u.TemplateID, "network_id": u.NetworkID,
		"service_offering_id": u.ServiceOfferingID, "disk_offering_id": u.DiskOfferingID, "oma_vm_id": u.OMAVMID,
	} {
		if v != nil {
			m[key] = *v
		}
	}
	for _, key := range u.Clear {
		if _, both := m[key]; both {
			return nil, invalidArgument("CloudStack configuration update: %s is both set and cleared", key)
		}
		switch key {
		case "domain", "template_id", "network_id", "service_offering_id", "disk_offering_id", "oma_vm_id":
			m[key] = nil
		default:
			return nil, invalidArgument("CloudStack configuration update: %s cannot be cleared", key)
		}
	}
	return json.Marshal(m)
}

// VolumeStatus is the state of a CloudStack volume (ossea_volumes.status).
type VolumeStatus string

// Volume statuses. The moves: creating -> available | error; available -> attached | error;
// attached -> detached | error; detached -> attached | available | error; error -> available.
const (
	VolumeCreating  VolumeStatus = "creating"
	VolumeAvailable VolumeStatus = "available"
	VolumeAttached  VolumeStatus = "attached"
	VolumeDetached  VolumeStatus = "detached"
	VolumeError     VolumeStatus = "error"
)

// SnapshotStatus is the state of the snapshot protecting a test failover (snapshot_status of
// volumes and device mappings).
type SnapshotStatus string

// Snapshot statuses. The moves: none -> creating -> ready | failed; ready ->
// rollback_complete -> none; ready and failed may also be cleared to none.
const (
	SnapshotNone             SnapshotStatus = "none"
	SnapshotCreating         SnapshotStatus = "creating"
	SnapshotReady            SnapshotStatus = "ready"
	SnapshotFailed           SnapshotStatus = "failed"
	SnapshotRollbackComplete SnapshotStatus = "rollback_complete"
)

// Volume is an ossea_volumes row: a CloudStack volume the appliance writes a VM disk to. ID is
// the row id; VolumeID the CloudStack UUID.
type Volume struct {
	ID                int64          `json:"id"`
	VMContextID       *string        `json:"vm_context_id"`
	VolumeID          string         `json:"volume_id"`
	VolumeName        string         `json:"volume_name"`
	SizeGB            int64          `json:"size_gb"`
	OSSEAConfigID     *int64         `json:"ossea_config_id"`
	VolumeType        *string        `json:"volume_type"`
	DevicePath        *string        `json:"device_path"`
	MountPoint        *string        `json:"mount_point"`
	Status            VolumeStatus   `json:"status"`
	CreatedAt         time.Time      `json:"created_at"`
	UpdatedAt         time.Time      `json:"updated_at"`
	SnapshotID        *string        `json:"snapshot_id"`
	SnapshotCreatedAt *time.Time     `json:"snapshot_created_at"`
	SnapshotStatus    SnapshotStatus `json:"snapshot_status"`
}

// NewVolume is a CloudStack volume to record. VolumeID (the CloudStack UUID, unique),
// VolumeName and SizeGB (>= 1) are required; VMContextID and OSSEAConfigID, when set, must
// exist; Status "" means VolumeCreating.
type NewVolume struct {
	VMContextID   string       `json:"vm_context_id,omitempty"`
	VolumeID      string       `json:"volume_id"`
	VolumeName    string       `json:"volume_name"`
	SizeGB        int64        `json:"size_gb"`
	OSSEAConfigID *int64       `json:"ossea_config_id,omitempty"`
	VolumeType    string       `json:"volume_type,omitempty"`
	Status        VolumeStatus `json:"status,omitempty"`
}

// LinstorConfig is a linstor_configs row without its secrets. SealedWithKey is the id of the
// key that sealed its API key or secret, when it has one.
type LinstorConfig struct {
	ID                       int64     `json:"id"`
	Name                     string    `json:"name"`
	APIURL                   string    `json:"api_url"`
	APIPort                  int64     `json:"api_port"`
	APIProtocol              string    `json:"api_protocol"`
	ConnectionTimeoutSeconds int64     `json:"connection_timeout_seconds"`
	RetryAttempts            int64     `json:"retry_attempts"`
	Description              *string   `json:"description"`
	IsActive                 bool      `json:"is_active"`
	SealedWithKey            *string   `json:"sealed_with_key"`
	CreatedAt                time.Time `json:"created_at"`
	UpdatedAt                time.Time `json:"updated_at"`
}

// LinstorSecrets are the opened API key and secret of a Linstor configuration ("" when not
// set). Its String method hides them.
type LinstorSecrets struct {
	APIKey    string `json:"api_key"`
	APISecret string `json:"api_secret"`
}

// String hides the secrets.
func (LinstorSecrets) String() string { return "LinstorSecrets{...}" }

// GoString hides the secrets from %#v too.
func (LinstorSecrets) GoString() string { return "sendense.LinstorSecrets{...}" }

// NewLinstorConfig is a Linstor configuration to create. Name and APIURL are required; zero
// values take the schema's defaults: APIPort 3370, APIProtocol "http",
// ConnectionTimeoutSeconds 30, RetryAttempts 3 (set RetryAttempts to Int64(0) for none),
// IsActive true. APIKey and APISecret, when set, are stored sealed (ErrSecretKey on a store
// without a key).
type NewLinstorConfig struct {
	Name                     string `json:"name"`
	APIURL                   string `json:"api_url"`
	APIPort                  int64  `json:"api_port,omitempty"`
	APIProtocol              string `json:"api_protocol,omitempty"`
	APIKey                   string `json:"api_key,omitempty"`
	APISecret                string `json:"api_secret,omitempty"`
	ConnectionTimeoutSeconds int64  `json:"connection_timeout_seconds,omitempty"`
	RetryAttempts            *int64 `json:"retry_attempts,omitempty"`
	Description              string `json:"description,omitempty"`
	IsActive                 *bool  `json:"is_active,omitempty"`
}

// String hides the secrets.
func (c NewLinstorConfig) String() string {
	return "NewLinstorConfig{Name: " + c.Name + ", APIURL: " + c.APIURL + ", ...}"
}

// GoString hides the secrets from %#v too.
func (c NewLinstorConfig) GoString() string { return "sendense." + c.String() }

// int64JSON calls f with id and decodes its JSON read-out into v.
func (s *Store) int64JSON(v any, id int64, f func(h *C.sendense_store, id C.int64_t, out **C.char, e **C.sendense_error) C.sendense_status) error {
	return s.callJSON(v, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return f(h, C.int64_t(id), out, e)
	})
}

// docInt64 encodes doc as JSON, calls f with it and returns the integer id it answers.
func (s *Store) docInt64(what string, doc any, f func(h *C.sendense_store, doc *C.char, out *C.int64_t, e **C.sendense_error) C.sendense_status) (int64, error) {
	text, err := marshalInput(what, doc)
	if err != nil {
		return 0, err
	}
	var cs cstrings
	defer cs.free()
	cdoc := cs.str(what+" JSON", text)
	if cs.err != nil {
		return 0, cs.err
	}
	var id C.int64_t
	err = s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return f(h, cdoc, &id, e)
	})
	return int64(id), err
}

// CreateCloudStackConfig creates a CloudStack configuration with its API key and secret
// sealed, and returns its id. ErrSecretKey when the store has no key; a taken name is
// ErrAlreadyExists; a bad URL or an empty required field is ErrInvalidArgument.
func (s *Store) CreateCloudStackConfig(c NewCloudStackConfig) (int64, error) {
	return s.docInt64("new CloudStack configuration", c, func(h *C.sendense_store, doc *C.char, out *C.int64_t, e **C.sendense_error) C.sendense_status {
		return C.sendense_ossea_config_create(h, doc, out, e)
	})
}

// CloudStackConfig returns a CloudStack configuration without its secrets (ErrNotFound when
// there is none). Reading it needs no key.
func (s *Store) CloudStackConfig(configID int64) (*CloudStackConfig, error) {
	var c CloudStackConfig
	err := s.int64JSON(&c, configID, func(h *C.sendense_store, id C.int64_t, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_ossea_config_get_json(h, id, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// CloudStackConfigSecrets opens and returns the API key and secret of a configuration.
// ErrSecretKey when the store has no key, another key than the one that sealed them, or the
// sealed value was altered; the message says which.
func (s *Store) CloudStackConfigSecrets(configID int64) (*CloudStackSecrets, error) {
	var c CloudStackSecrets
	err := s.int64JSON(&c, configID, func(h *C.sendense_store, id C.int64_t, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_ossea_config_secrets_json(h, id, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ListCloudStackConfigs returns every CloudStack configuration (without secrets), by name.
func (s *Store) ListCloudStackConfigs() ([]CloudStackConfig, error) {
	var list []CloudStackConfig
	err := s.callJSON(&list, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_ossea_config_list_json(h, out, e)
	})
	return list, err
}

// ActiveCloudStackConfig returns the active CloudStack configuration, or nil when none is.
func (s *Store) ActiveCloudStackConfig() (*CloudStackConfig, error) {
	list, err := s.ListCloudStackConfigs()
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].IsActive {
			return &list[i], nil
		}
	}
	return nil, nil
}

// UpdateCloudStackConfig changes a CloudStack configuration and returns it. A new API key or
// secret needs a store opened with a key (ErrSecretKey otherwise); a taken name is
// ErrAlreadyExists.
func (s *Store) UpdateCloudStackConfig(configID int64, u CloudStackConfigUpdate) (*CloudStackConfig, error) {
	text, err := marshalInput("CloudStack configuration update", u)
	if err != nil {
		return nil, err
	}
	var cs cstrings
	defer cs.free()
	cdoc := cs.str("CloudStack configuration update JSON", text)
	if cs.err != nil {
		return nil, cs.err
	}
	var c CloudStackConfig
	err = s.callJSON(&c, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_ossea_config_update(h, C.int64_t(configID), cdoc, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ActivateCloudStackConfig makes a configuration the active one; the others become inactive
// in the same transaction.
func (s *Store) ActivateCloudStackConfig(configID int64) error {
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_ossea_config_activate(h, C.int64_t(configID), e)
	})
}

// DeleteCloudStackConfig deletes a configuration. ErrConflict (naming how many) while
// volumes or replication jobs use it; contexts that name it lose the reference.
func (s *Store) DeleteCloudStackConfig(configID int64) error {
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_ossea_config_delete(h, C.int64_t(configID), e)
	})
}

// CreateVolume records a CloudStack volume and returns its row id. A VolumeID already
// recorded is ErrAlreadyExists; an unknown context or configuration is ErrNotFound.
func (s *Store) CreateVolume(v NewVolume) (int64, error) {
	return s.docInt64("new volume", v, func(h *C.sendense_store, doc *C.char, out *C.int64_t, e **C.sendense_error) C.sendense_status {
		return C.sendense_ossea_volume_create(h, doc, out, e)
	})
}

// Volume returns the volume with this row id (ErrNotFound when there is none).
func (s *Store) Volume(rowID int64) (*Volume, error) {
	var v Volume
	err := s.int64JSON(&v, rowID, func(h *C.sendense_store, id C.int64_t, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_ossea_volume_get_json(h, id, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// FindVolume returns the volume with this CloudStack id (ErrNotFound when there is none).
func (s *Store) FindVolume(volumeID string) (*Volume, error) {
	var v Volume
	err := s.idJSON(&v, "volume id", volumeID, func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_ossea_volume_find_json(h, id, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// ListVolumes returns the volumes of a context (ErrNotFound for an unknown one), or every
// volume when contextID is "", by row id.
func (s *Store) ListVolumes(contextID string) ([]Volume, error) {
	var cs cstrings
	defer cs.free()
	cctx := cs.opt("context id", contextID)
	if cs.err != nil {
		return nil, cs.err
	}
	var list []Volume
	err := s.callJSON(&list, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_ossea_volume_list_json(h, cctx, out, e)
	})
	return list, err
}

// SetVolumeStatus moves a volume to status along its state machine (ErrInvalidState naming
// from and to otherwise). devicePath is required for VolumeAttached and must
// be "" for the other statuses, which clear it (ErrInvalidArgument otherwise).
func (s *Store) SetVolumeStatus(rowID int64, status VolumeStatus, devicePath string) error {
	var cs cstrings
	defer cs.free()
	cstatus := cs.str("volume status", string(status))
	cpath := cs.opt("device path", devicePath)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_ossea_volume_set_status(h, C.int64_t(rowID), cstatus, cpath, e)
	})
}

// SetVolumeSnapshot moves a volume's snapshot tracking to status along its state machine
// (ErrInvalidState otherwise). snapshotID is required for
// SnapshotCreating and must be "" otherwise; moving to SnapshotNone clears it.
func (s *Store) SetVolumeSnapshot(rowID int64, status SnapshotStatus, snapshotID string) error {
	var cs cstrings
	defer cs.free()
	cstatus := cs.str("snapshot status", string(status))
	cid := cs.opt("snapshot id", snapshotID)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_ossea_volume_set_snapshot(h, C.int64_t(rowID), cstatus, cid, e)
	})
}

// LinkVolumeDisk links a volume to the disk row diskID ("disk-2000") of a context
// (vm_disks.ossea_volume_id). A volume of another context is
// ErrConflict; a volume of no context takes this one; an unknown volume or disk row is
// ErrNotFound.
func (s *Store) LinkVolumeDisk(rowID int64, contextID, diskID string) error {
	var cs cstrings
	defer cs.free()
	cctx := cs.str("context id", contextID)
	cdisk := cs.str("disk id", diskID)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_ossea_volume_link_disk(h, C.int64_t(rowID), cctx, cdisk, e)
	})
}

// DeleteVolume forgets a volume (its disk rows lose the link). ErrConflict while a device
// mapping holds it.
func (s *Store) DeleteVolume(rowID int64) error {
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_ossea_volume_delete(h, C.int64_t(rowID), e)
	})
}

// CreateLinstorConfig creates a Linstor configuration, its API key and secret (when set)
// sealed, and returns its id. A taken name is ErrAlreadyExists.
func (s *Store) CreateLinstorConfig(c NewLinstorConfig) (int64, error) {
	return s.docInt64("new Linstor configuration", c, func(h *C.sendense_store, doc *C.char, out *C.int64_t, e **C.sendense_error) C.sendense_status {
		return C.sendense_linstor_config_create(h, doc, out, e)
	})
}

// LinstorConfig returns a Linstor configuration without its secrets (ErrNotFound when there
// is none).
func (s *Store) LinstorConfig(configID int64) (*LinstorConfig, error) {
	var c LinstorConfig
	err := s.int64JSON(&c, configID, func(h *C.sendense_store, id C.int64_t, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_linstor_config_get_json(h, id, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// LinstorConfigSecrets opens and returns the API key and secret of a Linstor configuration
// (ErrSecretKey when they cannot be opened).
func (s *Store) LinstorConfigSecrets(configID int64) (*LinstorSecrets, error) {
	var c LinstorSecrets
	err := s.int64JSON(&c, configID, func(h *C.sendense_store, id C.int64_t, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_linstor_config_secrets_json(h, id, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ListLinstorConfigs returns every Linstor configuration (without secrets), by name.
func (s *Store) ListLinstorConfigs() ([]LinstorConfig, error) {
	var list []LinstorConfig
	err := s.callJSON(&list, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_linstor_config_list_json(h, out, e)
	})
	return list, err
}

// DeleteLinstorConfig deletes a Linstor configuration.
func (s *Store) DeleteLinstorConfig(configID int64) error {
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_linstor_config_delete(h, C.int64_t(configID), e)
	})
}
