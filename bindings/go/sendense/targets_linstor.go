package sendense

// #include "sendense.h"
import "C"

import "time"

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

// CreateLinstorConfig creates a Linstor configuration, its API key and secret (when set)
// sealed, and returns its id. A taken name is ErrAlreadyExists.
func (s *Store) CreateLinstorConfig(c NewLinstorConfig) (int64, error) {
	var a cargs
	doc := a.doc("new Linstor configuration", c)
	return getInt64(s, &a, func(h cStore, out *C.int64_t, e cErr) cStatus {
		return C.sendense_linstor_config_create(h, doc, out, e)
	})
}

// LinstorConfig returns a Linstor configuration without its secrets (ErrNotFound when there
// is none).
func (s *Store) LinstorConfig(configID int64) (*LinstorConfig, error) {
	return getRecord[LinstorConfig](s, nil, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_linstor_config_get_json(h, C.int64_t(configID), out, e)
	})
}

// LinstorConfigSecrets opens and returns the API key and secret of a Linstor configuration
// (ErrSecretKey when they cannot be opened).
func (s *Store) LinstorConfigSecrets(configID int64) (*LinstorSecrets, error) {
	return getRecord[LinstorSecrets](s, nil, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_linstor_config_secrets_json(h, C.int64_t(configID), out, e)
	})
}

// ListLinstorConfigs returns every Linstor configuration (without secrets), by name.
func (s *Store) ListLinstorConfigs() ([]LinstorConfig, error) {
	return getJSON[[]LinstorConfig](s, nil, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_linstor_config_list_json(h, out, e)
	})
}

// DeleteLinstorConfig deletes a Linstor configuration.
func (s *Store) DeleteLinstorConfig(configID int64) error {
	return s.run(nil, func(h cStore, e cErr) cStatus {
		return C.sendense_linstor_config_delete(h, C.int64_t(configID), e)
	})
}
