package sendense

// #include "sendense.h"
import "C"

import "time"

// NetworkMappingType is the failover kind a network mapping serves: MappingLive or
// MappingTest for one row, MappingBoth (in requests only) for one row per kind.
type NetworkMappingType string

// The network mapping kinds.
const (
	// MappingLive is the mapping used by live failovers.
	MappingLive NetworkMappingType = "live"
	// MappingTest is the mapping used by test failovers.
	MappingTest NetworkMappingType = "test"
	// MappingBoth addresses the live row and the test row together (never stored).
	MappingBoth NetworkMappingType = "both"
)

// NetworkMapping is a network_mappings row: where a VMware network of a context's VM lands on
// CloudStack for one failover kind. VMID is a legacy column holding the VMware VM id.
type NetworkMapping struct {
	ID                     int64              `json:"id"`
	VMID                   string             `json:"vm_id"`
	SourceNetworkName      string             `json:"source_network_name"`
	DestinationNetworkID   string             `json:"destination_network_id"`
	DestinationNetworkName string             `json:"destination_network_name"`
	IsTestNetwork          bool               `json:"is_test_network"`
	CreatedAt              time.Time          `json:"created_at"`
	UpdatedAt              time.Time          `json:"updated_at"`
	VMContextID            string             `json:"vm_context_id"`
	VMwareVMID             *string            `json:"vmware_vm_id"`
	ValidationStatus       string             `json:"validation_status"`
	MappingType            NetworkMappingType `json:"mapping_type"`
	NetworkStrategy        *string            `json:"network_strategy"`
	LastValidated          *time.Time         `json:"last_validated"`
}

// NewNetworkMapping is a mapping to create or update; every field but NetworkStrategy is
// required.
type NewNetworkMapping struct {
	VMContextID            string             `json:"vm_context_id"`
	SourceNetworkName      string             `json:"source_network_name"`
	DestinationNetworkID   string             `json:"destination_network_id"`
	DestinationNetworkName string             `json:"destination_network_name"`
	MappingType            NetworkMappingType `json:"mapping_type"`
	NetworkStrategy        string             `json:"network_strategy,omitempty"`
}

// SetNetworkMapping creates or updates the mapping of a source network of a context for one
// kind, or for MappingBoth one row per kind in one transaction. A changed destination makes
// the row pending again. An unknown context is ErrNotFound; a blank name or another kind
// ErrInvalidArgument.
func (s *Store) SetNetworkMapping(m NewNetworkMapping) error {
	var a cargs
	doc := a.doc("new network mapping", m)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_network_mapping_set(h, doc, e)
	})
}

// ValidateNetworkMapping marks a mapping valid or invalid, stamping its last validation; a
// missing one is ErrNotFound.
func (s *Store) ValidateNetworkMapping(contextID, sourceNetworkName string, kind NetworkMappingType, valid bool) error {
	var a cargs
	ctx, src, k := a.str("context id", contextID), a.str("source network name", sourceNetworkName), a.str("kind", string(kind))
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_network_mapping_validate(h, ctx, src, k, C.bool(valid), e)
	})
}

// NetworkMappings returns the mappings of a context, by source network name, live before
// test. An unknown context is ErrNotFound.
func (s *Store) NetworkMappings(contextID string) ([]NetworkMapping, error) {
	var a cargs
	ctx := a.str("context id", contextID)
	return getJSON[[]NetworkMapping](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_network_mapping_list_json(h, ctx, out, e)
	})
}

// DeleteNetworkMapping deletes the mapping of a source network of a context for one kind, or
// both; a missing one is ErrNotFound and deletes nothing.
func (s *Store) DeleteNetworkMapping(contextID, sourceNetworkName string, kind NetworkMappingType) error {
	var a cargs
	ctx, src, k := a.str("context id", contextID), a.str("source network name", sourceNetworkName), a.str("kind", string(kind))
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_network_mapping_delete(h, ctx, src, k, e)
	})
}
