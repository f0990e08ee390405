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
//
// Names carry their area where a bare name would be ambiguous: a replication job is a
// ReplicationJob (ReplicationJobStatus, ListReplicationJobs, ReplicationProgress), a backup
// is a BackupPoint (ListBackupPoints, DeleteBackupPoint) and its copy to another repository a
// BackupCopy, while the online copy of the database file itself is Store.CopyDatabaseTo. The
// older names remain for one release as deprecated aliases.
//
// The sources follow the same areas: store*.go (opening, options, integrity, the online copy,
// secret keys), replication_*.go (contexts, jobs, disks, CBT), backup_*.go (repositories,
// policies, points, chains, copies, restore points, retention) and targets_*.go (CloudStack
// configurations and volumes, Linstor, device mappings, NBD exports, storage consistency,
// leases, volume operations and mounts). Each file holds one concept's types and methods, and
// its _test.go twin tests it; call.go is the one way every method calls the C ABI.
package sendense

// #cgo CFLAGS: -I${SRCDIR}/../../../include
// #include "sendense.h"
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"time"
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
	c.create_if_missing = 1 // a flag of the C ABI: uint32_t 0 or 1
	if o.MustExist {
		c.create_if_missing = 0
	}
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
	var a cargs
	p := a.str("path", path)
	return open(&a, opts, func(o *C.sendense_open_options, h **C.sendense_store, e cErr) cStatus {
		return C.sendense_store_open(p, o, h, e)
	})
}

// OpenInMemory opens a private in-memory database with the full schema; it lives until Close.
func OpenInMemory(opts *Options) (*Store, error) {
	return open(nil, opts, func(o *C.sendense_open_options, h **C.sendense_store, e cErr) cStatus {
		return C.sendense_store_open_in_memory(o, h, e)
	})
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

// SchemaVersion is the schema version of the open database.
func (s *Store) SchemaVersion() (uint32, error) {
	var v C.uint32_t
	err := s.run(nil, func(h cStore, e cErr) cStatus {
		return C.sendense_store_schema_version(h, &v, e)
	})
	return uint32(v), err
}
