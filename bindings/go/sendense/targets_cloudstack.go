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

// CreateCloudStackConfig creates a CloudStack configuration with its API key and secret
// sealed, and returns its id. ErrSecretKey when the store has no key; a taken name is
// ErrAlreadyExists; a bad URL or an empty required field is ErrInvalidArgument.
func (s *Store) CreateCloudStackConfig(c NewCloudStackConfig) (int64, error) {
	var a cargs
	doc := a.doc("new CloudStack configuration", c)
	return getInt64(s, &a, func(h cStore, out *C.int64_t, e cErr) cStatus {
		return C.sendense_ossea_config_create(h, doc, out, e)
	})
}

// CloudStackConfig returns a CloudStack configuration without its secrets (ErrNotFound when
// there is none). Reading it needs no key.
func (s *Store) CloudStackConfig(configID int64) (*CloudStackConfig, error) {
	return getRecord[CloudStackConfig](s, nil, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_ossea_config_get_json(h, C.int64_t(configID), out, e)
	})
}

// CloudStackConfigSecrets opens and returns the API key and secret of a configuration.
// ErrSecretKey when the store has no key, another key than the one that sealed them, or the
// sealed value was altered; the message says which.
func (s *Store) CloudStackConfigSecrets(configID int64) (*CloudStackSecrets, error) {
	return getRecord[CloudStackSecrets](s, nil, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_ossea_config_secrets_json(h, C.int64_t(configID), out, e)
	})
}

// ListCloudStackConfigs returns every CloudStack configuration (without secrets), by name.
func (s *Store) ListCloudStackConfigs() ([]CloudStackConfig, error) {
	return getJSON[[]CloudStackConfig](s, nil, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_ossea_config_list_json(h, out, e)
	})
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
	var a cargs
	doc := a.doc("CloudStack configuration update", u)
	return getRecord[CloudStackConfig](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_ossea_config_update(h, C.int64_t(configID), doc, out, e)
	})
}

// ActivateCloudStackConfig makes a configuration the active one; the others become inactive
// in the same transaction.
func (s *Store) ActivateCloudStackConfig(configID int64) error {
	return s.run(nil, func(h cStore, e cErr) cStatus {
		return C.sendense_ossea_config_activate(h, C.int64_t(configID), e)
	})
}

// DeleteCloudStackConfig deletes a configuration. ErrConflict (naming how many) while
// volumes or replication jobs use it; contexts that name it lose the reference.
func (s *Store) DeleteCloudStackConfig(configID int64) error {
	return s.run(nil, func(h cStore, e cErr) cStatus {
		return C.sendense_ossea_config_delete(h, C.int64_t(configID), e)
	})
}
