package sendense

// #include <stdlib.h>
// #include <string.h>
// #include "sendense.h"
import "C"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"
)

// Every wrapper has the same shape: it collects its arguments as C values in a cargs (C
// copies of strings, JSON documents), then runs one C function on the open handle through one
// of the helpers below, which checks the arguments, calls under the Store's lock, frees the
// arguments, turns a failure into an *Error and decodes what the function answered:
//
//	func (s *Store) BackupPoint(backupID string) (*BackupPoint, error) {
//		var a cargs
//		id := a.str("backup id", backupID)
//		return getRecord[BackupPoint](s, &a, func(h cStore, out cOut, e cErr) cStatus {
//			return C.sendense_backup_get_json(h, id, out, e)
//		})
//	}
//
// The helpers own the arguments from then on (they free them), so a wrapper validates its
// Go-side inputs before it starts collecting. A nil *cargs means a call without arguments.

// Short names for the C types that the closures of the wrappers spell out.
type (
	cStore  = *C.sendense_store  // the open handle
	cErr    = **C.sendense_error // where a failed call puts its error object
	cStatus = C.sendense_status
	cOut    = **C.char // where a call puts an owned string: a JSON read-out or an id
)

// The shapes of C call: answering nothing, an owned string (JSON or an id), or an integer.
type (
	plainFunc func(h cStore, e cErr) cStatus
	outFunc   func(h cStore, out cOut, e cErr) cStatus
	int64Func func(h cStore, out *C.int64_t, e cErr) cStatus
)

// run calls f with the arguments a and frees them.
func (s *Store) run(a *cargs, f plainFunc) error {
	defer a.free()
	if err := a.failed(); err != nil {
		return err
	}
	return s.call(f)
}

// getJSON calls f and decodes its JSON read-out into a T; the zero T when f answers NULL.
func getJSON[T any](s *Store, a *cargs, f outFunc) (T, error) {
	var v T
	out, err := s.runOut(a, f)
	if err != nil || out == nil {
		return v, err
	}
	if err := decodeOwned(out, &v); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// getRecord is getJSON for one record: a pointer to it, nil when f answers NULL.
func getRecord[T any](s *Store, a *cargs, f outFunc) (*T, error) {
	out, err := s.runOut(a, f)
	if err != nil || out == nil {
		return nil, err
	}
	v := new(T)
	if err := decodeOwned(out, v); err != nil {
		return nil, err
	}
	return v, nil
}

// getString calls f and returns the Go copy of the owned string it answers (an id); "" when
// f answers NULL.
func getString(s *Store, a *cargs, f outFunc) (string, error) {
	out, err := s.runOut(a, f)
	if err != nil || out == nil {
		return "", err
	}
	defer C.sendense_string_free(out)
	return C.GoString(out), nil
}

// getInt64 calls f and returns the integer it answers (a row id, a count).
func getInt64(s *Store, a *cargs, f int64Func) (int64, error) {
	var n C.int64_t
	err := s.run(a, func(h cStore, e cErr) cStatus { return f(h, &n, e) })
	return int64(n), err
}

// runOut calls f and returns the owned string it answers, for the caller to free.
func (s *Store) runOut(a *cargs, f outFunc) (*C.char, error) {
	var out *C.char
	err := s.run(a, func(h cStore, e cErr) cStatus { return f(h, &out, e) })
	return out, err
}

// call runs one C function on the open handle and turns its status and error object into a
// Go error (freeing the object). It holds the Store's lock shared, so Close never frees the
// handle under a running call.
func (s *Store) call(f plainFunc) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.h == nil {
		return ErrClosed
	}
	var cerr *C.sendense_error
	st := f(s.h, &cerr)
	runtime.KeepAlive(s)
	if st != C.SENDENSE_STATUS_OK {
		return takeError(st, cerr)
	}
	return nil
}

// open opens a Store with f, one of the C open functions, given the options and the
// arguments a (which it frees).
func open(a *cargs, opts *Options, f func(o *C.sendense_open_options, h **C.sendense_store, e cErr) cStatus) (*Store, error) {
	defer a.free()
	if err := checkABI(); err != nil {
		return nil, err
	}
	copts, err := opts.toC()
	if err != nil {
		return nil, err
	}
	if err := a.failed(); err != nil {
		return nil, err
	}
	var h *C.sendense_store
	var cerr *C.sendense_error
	if st := f(copts, &h, &cerr); st != C.SENDENSE_STATUS_OK {
		return nil, takeError(st, cerr)
	}
	return newStore(h), nil
}

// cargs are the C arguments of one call, freed together by the call helper. The first
// problem with an argument (a NUL byte, a document that does not encode) is kept, and the
// helper returns it instead of calling.
type cargs struct {
	ptrs []*C.char
	err  error
}

// str copies v to C memory. A NUL byte inside v (which C would silently truncate at) is an
// INVALID_ARGUMENT error naming the argument.
func (a *cargs) str(name, v string) *C.char {
	if a.err == nil && strings.IndexByte(v, 0) >= 0 {
		a.err = invalidArgument("%s contains a NUL byte", name)
	}
	p := C.CString(v)
	a.ptrs = append(a.ptrs, p)
	return p
}

// opt is str, with "" passed as NULL.
func (a *cargs) opt(name, v string) *C.char {
	if v == "" {
		return nil
	}
	return a.str(name, v)
}

// doc encodes v as JSON (what names it in errors) and returns its C copy.
func (a *cargs) doc(what string, v any) *C.char {
	text, err := marshalInput(what, v)
	if err != nil {
		if a.err == nil {
			a.err = err
		}
		return nil
	}
	return a.str(what+" JSON", text)
}

// optDoc is doc, with a nil v passed as NULL.
func (a *cargs) optDoc(what string, v any) *C.char {
	if v == nil {
		return nil
	}
	return a.doc(what, v)
}

func (a *cargs) failed() error {
	if a == nil {
		return nil
	}
	return a.err
}

func (a *cargs) free() {
	if a == nil {
		return
	}
	for _, p := range a.ptrs {
		C.free(unsafe.Pointer(p))
	}
	a.ptrs = nil
}

// decodeOwned decodes a JSON string the library returned into v and frees the string.
func decodeOwned(out *C.char, v any) error {
	defer C.sendense_string_free(out)
	data := C.GoBytes(unsafe.Pointer(out), C.int(C.strlen(out)))
	if err := json.Unmarshal(data, v); err != nil {
		return &Error{Status: StatusInternal, Message: fmt.Sprintf("INTERNAL: decoding the library's JSON into %T: %v", v, err)}
	}
	return nil
}

// marshalInput encodes an input document for the C ABI.
func marshalInput(what string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return "", e
		}
		return "", invalidArgument("encoding %s: %v", what, err)
	}
	return string(b), nil
}

var jsonNull = []byte("null")

// nilIfNull makes a NULL JSON column a nil RawMessage.
func nilIfNull(m json.RawMessage) json.RawMessage {
	if bytes.Equal(m, jsonNull) {
		return nil
	}
	return m
}

// String returns a pointer to s, for the optional fields of the input types.
func String(s string) *string { return &s }

// Int64 returns a pointer to v, for the optional fields of the input types.
func Int64(v int64) *int64 { return &v }

// Float64 returns a pointer to v, for the optional fields of the input types.
func Float64(v float64) *float64 { return &v }

// Bool returns a pointer to v, for the optional fields of the input types.
func Bool(v bool) *bool { return &v }
