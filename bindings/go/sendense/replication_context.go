package sendense

// #include "sendense.h"
import "C"

import (
	"encoding/json"
	"time"
)

// ContextStatus is the lifecycle state of a protected VM (vm_replication_contexts.current_status).
type ContextStatus string

// Context statuses. The edges into and out of ContextReplicating are driven by replication
// jobs, those into and out of ContextFailedOverTest / ContextFailedOverLive by failovers; the
// others are taken with SetContextStatus.
const (
	ContextDiscovered       ContextStatus = "discovered"
	ContextReplicating      ContextStatus = "replicating"
	ContextReadyForFailover ContextStatus = "ready_for_failover"
	ContextFailedOverTest   ContextStatus = "failed_over_test"
	ContextFailedOverLive   ContextStatus = "failed_over_live"
	ContextCompleted        ContextStatus = "completed"
	ContextFailed           ContextStatus = "failed"
	ContextCleanupRequired  ContextStatus = "cleanup_required"
)

// Context is a vm_replication_contexts row: the master record of a protected VM. The
// counters and pointers (TotalJobsRun ... CurrentJobID, LastSuccessfulJobID) are maintained by
// the library from the job rows.
type Context struct {
	ContextID            string          `json:"context_id"`
	VMName               string          `json:"vm_name"`
	VMwareVMID           string          `json:"vmware_vm_id"`
	VMPath               string          `json:"vm_path"`
	VCenterHost          string          `json:"vcenter_host"`
	Datacenter           string          `json:"datacenter"`
	CurrentStatus        ContextStatus   `json:"current_status"`
	CurrentJobID         *string         `json:"current_job_id"`
	TotalJobsRun         int64           `json:"total_jobs_run"`
	SuccessfulJobs       int64           `json:"successful_jobs"`
	FailedJobs           int64           `json:"failed_jobs"`
	LastSuccessfulJobID  *string         `json:"last_successful_job_id"`
	CPUCount             *int64          `json:"cpu_count"`
	MemoryMB             *int64          `json:"memory_mb"`
	OSType               *string         `json:"os_type"`
	PowerState           *string         `json:"power_state"`
	VMToolsVersion       *string         `json:"vm_tools_version"`
	CreatedAt            time.Time       `json:"created_at"`
	UpdatedAt            time.Time       `json:"updated_at"`
	FirstJobAt           *time.Time      `json:"first_job_at"`
	LastJobAt            *time.Time      `json:"last_job_at"`
	LastStatusChange     *time.Time      `json:"last_status_change"`
	AutoAdded            bool            `json:"auto_added"`
	LastScheduledJobID   *string         `json:"last_scheduled_job_id"`
	NextScheduledAt      *time.Time      `json:"next_scheduled_at"`
	SchedulerEnabled     bool            `json:"scheduler_enabled"`
	CredentialID         *int64          `json:"credential_id"`
	OSSEAConfigID        *int64          `json:"ossea_config_id"`
	LastOperationSummary json.RawMessage `json:"last_operation_summary"` // nil when NULL
}

// NewContext is a context to create. VMName, VMwareVMID, VMPath, VCenterHost and Datacenter
// are required; nil pointers and zero values mean the column's default.
type NewContext struct {
	VMName               string          `json:"vm_name"`
	VMwareVMID           string          `json:"vmware_vm_id"`
	VMPath               string          `json:"vm_path"`
	VCenterHost          string          `json:"vcenter_host"`
	Datacenter           string          `json:"datacenter"`
	CPUCount             *int64          `json:"cpu_count,omitempty"`
	MemoryMB             *int64          `json:"memory_mb,omitempty"`
	OSType               *string         `json:"os_type,omitempty"`
	PowerState           *string         `json:"power_state,omitempty"`
	VMToolsVersion       *string         `json:"vm_tools_version,omitempty"`
	AutoAdded            bool            `json:"auto_added,omitempty"`
	SchedulerEnabled     *bool           `json:"scheduler_enabled,omitempty"` // nil: true
	CredentialID         *int64          `json:"credential_id,omitempty"`
	OSSEAConfigID        *int64          `json:"ossea_config_id,omitempty"`
	LastOperationSummary json.RawMessage `json:"last_operation_summary,omitempty"`
}

// ContextUpdate changes a context's mutable attributes. A nil field leaves its column alone;
// Clear lists nullable columns to set to NULL by their column names (e.g. "os_type",
// "cpu_count", "next_scheduled_at"). A column both set and cleared is refused; a name that is
// not an updatable column is refused by the library (ErrInvalidArgument naming it).
type ContextUpdate struct {
	VMName               *string
	VMPath               *string
	Datacenter           *string
	CPUCount             *int64
	MemoryMB             *int64
	OSType               *string
	PowerState           *string
	VMToolsVersion       *string
	AutoAdded            *bool
	SchedulerEnabled     *bool
	NextScheduledAt      *time.Time
	LastScheduledJobID   *string
	CredentialID         *int64
	OSSEAConfigID        *int64
	LastOperationSummary json.RawMessage
	Clear                []string
}

// MarshalJSON encodes the update as the library expects it: present keys only, null for the
// cleared columns.
func (u ContextUpdate) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	set := func(key string, isSet bool, v any) {
		if isSet {
			m[key] = v
		}
	}
	set("vm_name", u.VMName != nil, u.VMName)
	set("vm_path", u.VMPath != nil, u.VMPath)
	set("datacenter", u.Datacenter != nil, u.Datacenter)
	set("cpu_count", u.CPUCount != nil, u.CPUCount)
	set("memory_mb", u.MemoryMB != nil, u.MemoryMB)
	set("os_type", u.OSType != nil, u.OSType)
	set("power_state", u.PowerState != nil, u.PowerState)
	set("vm_tools_version", u.VMToolsVersion != nil, u.VMToolsVersion)
	set("auto_added", u.AutoAdded != nil, u.AutoAdded)
	set("scheduler_enabled", u.SchedulerEnabled != nil, u.SchedulerEnabled)
	if u.NextScheduledAt != nil {
		m["next_scheduled_at"] = u.NextScheduledAt.UTC().Format(time.RFC3339Nano)
	}
	set("last_scheduled_job_id", u.LastScheduledJobID != nil, u.LastScheduledJobID)
	set("credential_id", u.CredentialID != nil, u.CredentialID)
	set("ossea_config_id", u.OSSEAConfigID != nil, u.OSSEAConfigID)
	set("last_operation_summary", u.LastOperationSummary != nil, u.LastOperationSummary)
	for _, key := range u.Clear {
		if _, both := m[key]; both {
			return nil, invalidArgument("context update: %s is both set and cleared", key)
		}
		if notNull[key] {
			return nil, invalidArgument("context update: %s cannot be cleared (the column is NOT NULL)", key)
		}
		m[key] = nil
	}
	return json.Marshal(m)
}

// notNull are the updatable columns that cannot be NULL. (The library reads a null for them
// as "leave alone"; the binding refuses it so that Clear never silently does nothing.)
var notNull = map[string]bool{"vm_name": true, "vm_path": true, "datacenter": true, "auto_added": true, "scheduler_enabled": true}

// ContextFilter selects contexts for ListContexts; zero fields do not filter. Results are
// ordered by VM name, then context id.
type ContextFilter struct {
	Status           ContextStatus `json:"status,omitempty"`
	VCenterHost      string        `json:"vcenter_host,omitempty"`
	NamePrefix       string        `json:"name_prefix,omitempty"`
	SchedulerEnabled *bool         `json:"scheduler_enabled,omitempty"`
	Limit            uint32        `json:"limit,omitempty"` // 0: the library's default (1000)
	Offset           uint32        `json:"offset,omitempty"`
}

// CreateContext creates a context for a VM and returns its id. A context with the same
// (VMwareVMID, VCenterHost) or (VMName, VCenterHost) is ErrAlreadyExists naming it.
func (s *Store) CreateContext(c NewContext) (string, error) {
	var a cargs
	doc := a.doc("new context", c)
	return getString(s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_context_create(h, doc, out, e)
	})
}

// Context returns the context with this id (ErrNotFound when there is none).
func (s *Store) Context(contextID string) (*Context, error) {
	var a cargs
	id := a.str("context id", contextID)
	c, err := getRecord[Context](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_context_get_json(h, id, out, e)
	})
	return c.normalize(), err
}

// FindContext returns the context of a VMware VM by its identity (ErrNotFound when there is
// none).
func (s *Store) FindContext(vmwareVMID, vcenterHost string) (*Context, error) {
	var a cargs
	vm, host := a.str("VMware VM id", vmwareVMID), a.str("vCenter host", vcenterHost)
	c, err := getRecord[Context](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_context_find_json(h, vm, host, out, e)
	})
	return c.normalize(), err
}

// ListContexts returns the contexts matching filter, ordered by VM name, then context id.
func (s *Store) ListContexts(filter ContextFilter) ([]Context, error) {
	var a cargs
	doc := a.doc("context filter", filter)
	list, err := getJSON[[]Context](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_context_list_json(h, doc, out, e)
	})
	for i := range list {
		list[i].normalize()
	}
	return list, err
}

// UpdateContext changes a context's mutable attributes and returns the updated context. A
// rename to a name another context of the same vCenter has is ErrAlreadyExists.
func (s *Store) UpdateContext(contextID string, u ContextUpdate) (*Context, error) {
	var a cargs
	doc := a.doc("context update", u)
	id := a.str("context id", contextID)
	c, err := getRecord[Context](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_context_update(h, id, doc, out, e)
	})
	return c.normalize(), err
}

// SetContextStatus moves a context along an edge of its status machine that neither jobs nor
// failovers drive (cleanup). A forbidden edge, one into or out of ContextReplicating (jobs'),
// or one into or out of ContextFailedOverTest / ContextFailedOverLive (failovers': see
// StartFailover, RollbackFailover, CommitFailover) is ErrInvalidState naming from and to.
func (s *Store) SetContextStatus(contextID string, status ContextStatus) error {
	var a cargs
	id, st := a.str("context id", contextID), a.str("context status", string(status))
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_context_set_status(h, id, st, e)
	})
}

// DeleteContext deletes a context and everything it owns (jobs, disks, CBT history, backup
// points, ...). It is ErrConflict, changing nothing, while any of its backup points could not
// be deleted on its own (protected, locked, inside minimum retention, copy in flight, active).
func (s *Store) DeleteContext(contextID string) error {
	var a cargs
	id := a.str("context id", contextID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_context_delete(h, id, e)
	})
}

// normalize makes a NULL JSON column a nil RawMessage; a nil c stays nil.
func (c *Context) normalize() *Context {
	if c != nil {
		c.LastOperationSummary = nilIfNull(c.LastOperationSummary)
	}
	return c
}
