package sendense

// #include "sendense.h"
import "C"

// The shapes of call shared by the backup wrappers: the C function gets one id, or one JSON
// document, and answers nothing, an id or a JSON read-out.

type (
	idFunc       func(h *C.sendense_store, id *C.char, e **C.sendense_error) C.sendense_status
	idOutFunc    func(h *C.sendense_store, id *C.char, out **C.char, e **C.sendense_error) C.sendense_status
	idDocOutFunc func(h *C.sendense_store, id, doc *C.char, out **C.char, e **C.sendense_error) C.sendense_status
)

// withID calls f with the C copy of id (what names it in errors).
func (s *Store) withID(what, id string, f idFunc) error {
	var cs cstrings
	defer cs.free()
	cid := cs.str(what, id)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return f(h, cid, e)
	})
}

// idJSON calls f with the C copy of id and decodes its JSON read-out into v.
func (s *Store) idJSON(v any, what, id string, f idOutFunc) error {
	var cs cstrings
	defer cs.free()
	cid := cs.str(what, id)
	if cs.err != nil {
		return cs.err
	}
	return s.callJSON(v, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return f(h, cid, out, e)
	})
}

// docString encodes doc as JSON, calls f with it and returns the id it answers.
func (s *Store) docString(what string, doc any, f idOutFunc) (string, error) {
	text, err := marshalInput(what, doc)
	if err != nil {
		return "", err
	}
	var cs cstrings
	defer cs.free()
	cdoc := cs.str(what+" JSON", text)
	if cs.err != nil {
		return "", cs.err
	}
	return s.callString(func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return f(h, cdoc, out, e)
	})
}

// docJSON encodes doc as JSON, calls f with it and decodes the JSON read-out into v.
func (s *Store) docJSON(v any, what string, doc any, f idOutFunc) error {
	text, err := marshalInput(what, doc)
	if err != nil {
		return err
	}
	var cs cstrings
	defer cs.free()
	cdoc := cs.str(what+" JSON", text)
	if cs.err != nil {
		return cs.err
	}
	return s.callJSON(v, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return f(h, cdoc, out, e)
	})
}

// idDocJSON calls f with the C copy of id and doc encoded as JSON, and decodes the JSON
// read-out into v.
func (s *Store) idDocJSON(v any, idWhat, id, docWhat string, doc any, f idDocOutFunc) error {
	text, err := marshalInput(docWhat, doc)
	if err != nil {
		return err
	}
	var cs cstrings
	defer cs.free()
	cid := cs.str(idWhat, id)
	cdoc := cs.str(docWhat+" JSON", text)
	if cs.err != nil {
		return cs.err
	}
	return s.callJSON(v, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return f(h, cid, cdoc, out, e)
	})
}
