package sendense

// #include "sendense.h"
import "C"

import (
	"fmt"
	"strings"
)

// Status is the category of a failure: the C ABI's sendense_status code. The set is
// append-only; a code never changes meaning.
type Status int32

// The status codes of the C ABI (SENDENSE_STATUS_*).
const (
	StatusOK              Status = C.SENDENSE_STATUS_OK
	StatusInvalidArgument Status = C.SENDENSE_STATUS_INVALID_ARGUMENT
	StatusNotFound        Status = C.SENDENSE_STATUS_NOT_FOUND
	StatusAlreadyExists   Status = C.SENDENSE_STATUS_ALREADY_EXISTS
	StatusConflict        Status = C.SENDENSE_STATUS_CONFLICT
	StatusInvalidState    Status = C.SENDENSE_STATUS_INVALID_STATE
	StatusBusy            Status = C.SENDENSE_STATUS_BUSY
	StatusCorrupt         Status = C.SENDENSE_STATUS_CORRUPT
	StatusSchemaTooNew    Status = C.SENDENSE_STATUS_SCHEMA_TOO_NEW
	StatusIO              Status = C.SENDENSE_STATUS_IO
	StatusInternal        Status = C.SENDENSE_STATUS_INTERNAL
	StatusPanic           Status = C.SENDENSE_STATUS_PANIC
	StatusNotADatabase    Status = C.SENDENSE_STATUS_NOT_A_DATABASE
	StatusSecretKey       Status = C.SENDENSE_STATUS_SECRET_KEY
	// StatusCommitUnknown: the write failed while committing, so whether its change was
	// applied is unknown (the commit record may have reached the file first). Re-read what
	// the call would have changed, then retry only what is safe: a create with a
	// caller-chosen id or identity answers ErrAlreadyExists naming the row when it was
	// applied. StatusIO means the failure came before the commit and nothing changed.
	StatusCommitUnknown Status = C.SENDENSE_STATUS_COMMIT_UNKNOWN
)

// String is the status name of the C header ("NOT_FOUND", ...); "UNKNOWN" for a code this
// library does not know.
func (s Status) String() string {
	return C.GoString(C.sendense_status_name(C.sendense_status(s)))
}

// Error is a failed call: the status the library returned and its message, which names the
// problem ("NOT_FOUND: context \"x\" does not exist").
//
// Compare with the sentinel values using errors.Is: errors.Is(err, sendense.ErrNotFound) is
// true for every *Error whose Status is StatusNotFound.
type Error struct {
	Status  Status
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "sendense: " + e.Status.String()
	}
	if strings.HasPrefix(e.Message, e.Status.String()+":") {
		return "sendense: " + e.Message
	}
	return "sendense: " + e.Status.String() + ": " + e.Message
}

// Is reports whether target is a sentinel (an *Error without a message) of the same status,
// so that errors.Is(err, ErrConflict) works for every error the library returns.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Status == e.Status
}

// Sentinels, one per status, for errors.Is. They carry no message.
var (
	ErrInvalidArgument = &Error{Status: StatusInvalidArgument}
	ErrNotFound        = &Error{Status: StatusNotFound}
	ErrAlreadyExists   = &Error{Status: StatusAlreadyExists}
	ErrConflict        = &Error{Status: StatusConflict}
	ErrInvalidState    = &Error{Status: StatusInvalidState}
	ErrBusy            = &Error{Status: StatusBusy}
	ErrCorrupt         = &Error{Status: StatusCorrupt}
	ErrSchemaTooNew    = &Error{Status: StatusSchemaTooNew}
	ErrIO              = &Error{Status: StatusIO}
	ErrInternal        = &Error{Status: StatusInternal}
	ErrPanic           = &Error{Status: StatusPanic}
	ErrNotADatabase    = &Error{Status: StatusNotADatabase}
	ErrSecretKey       = &Error{Status: StatusSecretKey}
	ErrCommitUnknown   = &Error{Status: StatusCommitUnknown}
)

// ErrClosed is returned by every method of a Store after Close. Its status is
// StatusInvalidArgument (what the C ABI says for a NULL handle), so it also matches
// ErrInvalidArgument.
var ErrClosed = &Error{Status: StatusInvalidArgument, Message: "INVALID_ARGUMENT: the store is closed"}

// takeError turns a failed call into an *Error and frees the C error object.
func takeError(status C.sendense_status, cerr *C.sendense_error) error {
	e := &Error{Status: Status(status)}
	if cerr != nil {
		e.Message = C.GoString(C.sendense_error_message(cerr))
		C.sendense_error_free(cerr)
	}
	return e
}

func invalidArgument(format string, args ...any) error {
	return &Error{Status: StatusInvalidArgument, Message: "INVALID_ARGUMENT: " + fmt.Sprintf(format, args...)}
}
