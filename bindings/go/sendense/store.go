// Package sendense is the Go binding of libsendense, the embedded state engine of VM
// replication, migration and backup appliances: which VMs are protected (contexts), which
// replication job runs for each and how far it got, from which VMware change id each disk's
// next incremental starts (CBT), and where their backups are: repositories, policies with
// copy rules, backup points and their chains, and the copies owed to other repositories.
//
// It wraps the C ABI (include/sendense.h) with cgo and links the static library
// (libsendense.a) that `cargo build --lib` builds in the crate root; see link.go for linking
// another build. Every method of a Store is one transaction of the library, which enforces
// every rule (state machines, one active job per context, counters); a refused operation
// returns an *Error carrying the library's status, to be tested with errors.Is:
//
//	store, err := sendense.Open("/var/lib/appliance/state.db", nil)
//	if err != nil { ... }
//	defer store.Close()
//	id, err := store.CreateContext(sendense.NewContext{VMName: "web-01", ...})
//	if errors.Is(err, sendense.ErrAlreadyExists) { ... }
//
// A Store is safe for concurrent use by any number of goroutines. Records are decoded from
// the library's JSON read-outs (keys are the database column names, timestamps RFC 3339 UTC).
package sendense

// #cgo CFLAGS: -I${SRCDIR}/../../../include
// #include <stdlib.h>
// #include <string.h>
// #include "sendense.h"
import "C"

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// ABIVersion is the C ABI version of the header this package was compiled against.
const ABIVersion = C.SENDENSE_ABI_VERSION

// Version is the version of the linked library, "MAJOR.MINOR.PATCH".
func Version() string { return C.GoString(C.sendense_version()) }

// LibraryABIVersion is the C ABI version of the linked library; Open refuses to work when it
// differs from ABIVersion.
func LibraryABIVersion() uint32 { return uint32(C.sendense_abi_version()) }

// Synchronous is SQLite's durability level for commits.
type Synchronous int

const (
	// SynchronousFull puts every commit on stable storage before the call returns (default).
	SynchronousFull Synchronous = C.SENDENSE_SYNCHRONOUS_FULL
	// SynchronousNormal: commits survive a process crash, the last ones may be lost on power loss.
	SynchronousNormal Synchronous = C.SENDENSE_SYNCHRONOUS_NORMAL
)

// Options of Open and OpenInMemory. The zero value (and a nil *Options) means the library's
// defaults: synchronous FULL, a 5 s busy timeout, create the file when missing.
type Options struct {
	Synchronous Synchronous
	// How long a write waits for another connection's lock; 0 means the default (5 s).
	BusyTimeout time.Duration
	// Refuse a missing file (ErrNotFound) instead of creating it.
	MustExist bool
}

func (o *Options) toC() (*C.sendense_open_options, error) {
	if o == nil {
		return nil, nil
	}
	c := C.sendense_open_options_default()
	c.synchronous = C.int32_t(o.Synchronous)
	if o.BusyTimeout < 0 || o.BusyTimeout.Milliseconds() > int64(^uint32(0)) {
		return nil, invalidArgument("busy timeout %v is out of range", o.BusyTimeout)
	}
	if o.BusyTimeout > 0 {
		c.busy_timeout_ms = C.uint32_t(o.BusyTimeout.Milliseconds())
	}
	c.create_if_missing = C.bool(!o.MustExist)
	return &c, nil
}

// Store is an open libsendense database. It is safe for concurrent use; Close it when done
// (a finalizer closes a forgotten Store, but do not rely on it).
type Store struct {
	// mu guards h: every call holds it shared, Close holds it exclusively, so Close never
	// frees the handle under a running call.
	mu sync.RWMutex
	h  *C.sendense_store
}

func checkABI() error {
	if LibraryABIVersion() != ABIVersion {
		return &Error{Status: StatusInternal, Message: fmt.Sprintf(
			"INTERNAL: the linked libsendense has ABI version %d, this package was built for %d",
			LibraryABIVersion(), ABIVersion)}
	}
	return nil
}

// Open opens (creating or upgrading when needed) the database at path. A file that is not a
// libsendense database is refused (ErrNotADatabase), one from a newer library too
// (ErrSchemaTooNew); both are left untouched. opts may be nil.
func Open(path string, opts *Options) (*Store, error) {
	if err := checkABI(); err != nil {
		return nil, err
	}
	copts, err := opts.toC()
	if err != nil {
		return nil, err
	}
	var cs cstrings
	defer cs.free()
	cpath := cs.str("path", path)
	if cs.err != nil {
		return nil, cs.err
	}
	var h *C.sendense_store
	var cerr *C.sendense_error
	if st := C.sendense_store_open(cpath, copts, &h, &cerr); st != C.SENDENSE_STATUS_OK {
		return nil, takeError(st, cerr)
	}
	return newStore(h), nil
}

// OpenInMemory opens a private in-memory database with the full schema; it lives until Close.
func OpenInMemory(opts *Options) (*Store, error) {
	if err := checkABI(); err != nil {
		return nil, err
	}
	copts, err := opts.toC()
	if err != nil {
		return nil, err
	}
	var h *C.sendense_store
	var cerr *C.sendense_error
	if st := C.sendense_store_open_in_memory(copts, &h, &cerr); st != C.SENDENSE_STATUS_OK {
		return nil, takeError(st, cerr)
	}
	return newStore(h), nil
}

func newStore(h *C.sendense_store) *Store {
	s := &Store{h: h}
	runtime.SetFinalizer(s, func(s *Store) { s.close() })
	return s
}

// Close closes the database. It waits for running calls, is idempotent, and later calls of
// any method return ErrClosed.
func (s *Store) Close() error {
	s.close()
	runtime.SetFinalizer(s, nil)
	return nil
}

func (s *Store) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h != nil {
		C.sendense_store_free(s.h)
		s.h = nil
	}
}

// call runs one C function on the open handle and turns its status and error object into a
// Go error (freeing the object).
func (s *Store) call(f func(h *C.sendense_store, err **C.sendense_error) C.sendense_status) error {
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

// callJSON runs a C function returning an owned JSON string, frees it, and decodes it into v.
func (s *Store) callJSON(v any, f func(h *C.sendense_store, out **C.char, err **C.sendense_error) C.sendense_status) error {
	var out *C.char
	err := s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return f(h, &out, e)
	})
	if err != nil {
		return err
	}
	return decodeOwned(out, v)
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

// callString runs a C function returning an owned string (an id) and returns its Go copy.
func (s *Store) callString(f func(h *C.sendense_store, out **C.char, err **C.sendense_error) C.sendense_status) (string, error) {
	var out *C.char
	err := s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return f(h, &out, e)
	})
	if err != nil {
		return "", err
	}
	defer C.sendense_string_free(out)
	return C.GoString(out), nil
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

// SchemaVersion is the schema version of the open database.
func (s *Store) SchemaVersion() (uint32, error) {
	var v C.uint32_t
	err := s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_store_schema_version(h, &v, e)
	})
	return uint32(v), err
}

// ForeignKeyViolation is a row of PRAGMA foreign_key_check.
type ForeignKeyViolation struct {
	Table   string `json:"table"`
	RowID   *int64 `json:"rowid"`
	Parent  string `json:"parent"`
	FKIndex int64  `json:"fk_index"`
}

// IntegrityReport is the result of IntegrityCheck; OK when both lists are empty and the
// storage consistency check found nothing.
type IntegrityReport struct {
	OK                   bool                  `json:"ok"`
	SchemaVersion        uint32                `json:"schema_version"`
	IntegrityErrors      []string              `json:"integrity_errors"`
	ForeignKeyViolations []ForeignKeyViolation `json:"foreign_key_violations"`
	Storage              *StorageConsistency   `json:"storage"`
}

// IntegrityCheck runs SQLite's integrity and foreign-key checks and the storage consistency
// check (devices, exports and volumes; see StorageConsistency). Problems are reported in the
// report; an error means the check could not run.
func (s *Store) IntegrityCheck() (*IntegrityReport, error) {
	var r IntegrityReport
	err := s.callJSON(&r, func(h *C.sendense_store, out **C.char, e **C.sendense_error) C.sendense_status {
		return C.sendense_store_integrity_check(h, out, e)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// Backup writes a consistent copy of the database to dest while others keep writing. dest
// must not exist; nothing is ever overwritten.
func (s *Store) Backup(dest string) error {
	var cs cstrings
	defer cs.free()
	cdest := cs.str("destination path", dest)
	if cs.err != nil {
		return cs.err
	}
	return s.call(func(h *C.sendense_store, e **C.sendense_error) C.sendense_status {
		return C.sendense_store_backup(h, cdest, e)
	})
}
