package sendense

// #include "sendense.h"
import "C"

import "bytes"

// CreateContext creates a context for a VM and returns its id. A context with the same
// (VMwareVMID, VCenterHost) or (VMName, VCenterHost) is ErrAlreadyExists naming it.
func (s *Store) CreateContext(c NewContext) (string, error) {
	doc, err := marshalInput("new context", c)
	if err != nil {
		return "", err
	}
	var cs cstrings
	defer cs.free()
	cdoc := cs.str("context JSON", doc)
	if cs.err != nil {
		return "", cs.err
	}
	return s.callString(func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_context_create(h, cdoc, out, e)
	})
}

// Context returns the context with this id (ErrNotFound when there is none).
func (s *Store) Context(contextID string) (*Context, error) {
	var cs cstrings
	defer cs.free()
	cid := cs.str("context id", contextID)
	if cs.err != nil {
		return nil, cs.err
	}
	var c Context
	err := s.callJSON(&c, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_context_get_json(h, cid, out, e)
	})
	if err != nil {
		return nil, err
	}
	return c.normalize(), nil
}

// FindContext returns the context of a VMware VM by its identity (ErrNotFound when there is
// none).
func (s *Store) FindContext(vmwareVMID, vcenterHost string) (*Context, error) {
	var cs cstrings
	defer cs.free()
	cvm := cs.str("VMware VM id", vmwareVMID)
	chost := cs.str("vCenter host", vcenterHost)
	if cs.err != nil {
		return nil, cs.err
	}
	var c Context
	err := s.callJSON(&c, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_context_find_json(h, cvm, chost, out, e)
	})
	if err != nil {
		return nil, err
	}
	return c.normalize(), nil
}

// ListContexts returns the contexts matching filter, ordered by VM name, then context id.
func (s *Store) ListContexts(filter ContextFilter) ([]Context, error) {
	doc, err := marshalInput("context filter", filter)
	if err != nil {
		return nil, err
	}
	var cs cstrings
	defer cs.free()
	cdoc := cs.str("context filter JSON", doc)
	if cs.err != nil {
		return nil, cs.err
	}
	var list []Context
	err = s.callJSON(&list, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_context_list_json(h, cdoc, out, e)
	})
	if err != nil {
		return nil, err
	}
	for i := range list {
		list[i].normalize()
	}
	return list, nil
}

// UpdateContext changes a context's mutable attributes and returns the updated context. A
// rename to a name another context of the same vCenter has is ErrAlreadyExists.
func (s *Store) UpdateContext(contextID string, u ContextUpdate) (*Context, error) {
	doc, err := marshalInput("context update", u)
	if err != nil {
		return nil, err
	}
	var cs cstrings
	defer cs.free()
	cid := cs.str("context id", contextID)
	cdoc := cs.str("context update JSON", doc)
	if cs.err != nil {
		return nil, cs.err
	}
	var c Context
	err = s.callJSON(&c, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_context_update(h, cid, cdoc, out, e)
	})
	if err != nil {
		return nil, err
	}
	return c.normalize(), nil
}

// SetContextStatus moves a context along an edge of its status machine that jobs do not
// drive (failover, rollback, commit, cleanup). A forbidden edge, or one into or out of
// ContextReplicating, is ErrInvalidState naming from and to.
func (s *Store) SetContextStatus(contextID string, status ContextStatus) error {
	var cs cstrings
	defer cs.free()
	cid := cs.str("context id", contextID)
	cst := cs.str("context status", string(status))
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_context_set_status(h, cid, cst, e)
	})
}

// DeleteContext deletes a context and everything it owns (jobs, disks, CBT history, ...).
func (s *Store) DeleteContext(contextID string) error {
	var cs cstrings
	defer cs.free()
	cid := cs.str("context id", contextID)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_context_delete(h, cid, e)
	})
}

var jsonNull = []byte("null")

// normalize makes a NULL JSON column a nil RawMessage.
func (c *Context) normalize() *Context {
	if bytes.Equal(c.LastOperationSummary, jsonNull) {
		c.LastOperationSummary = nil
	}
	return c
}
