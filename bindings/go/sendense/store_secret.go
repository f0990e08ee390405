package sendense

// #include "sendense.h"
import "C"

import (
	"crypto/rand"
	"unsafe"
)

// SecretKeyLen is the length of a secret key in bytes.
const SecretKeyLen = 32

// NewSecretKey returns a new random secret key (SecretKeyLen bytes from crypto/rand) for
// OpenWithKey and RotateSecretKey. Keep it outside the database: the library never stores it.
func NewSecretKey() ([]byte, error) {
	key := make([]byte, SecretKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, &Error{Status: StatusIO, Message: "IO: reading random bytes for a secret key: " + err.Error()}
	}
	return key, nil
}

// keyPtr is the C view of key for the duration of one call. The library copies the key; an
// empty key is passed as a zero-length buffer, which the library refuses by its length.
func keyPtr(key []byte) (*C.uint8_t, C.size_t) {
	if len(key) == 0 {
		var none [1]byte
		return (*C.uint8_t)(unsafe.Pointer(&none[0])), 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&key[0])), C.size_t(len(key))
}

// OpenWithKey opens the database at path like Open, with the secret key (SecretKeyLen bytes)
// that seals and opens the secret columns: the API keys and secrets of CloudStack and Linstor
// configurations. The key is never stored in the database. A store opened without a key (or
// with another key) cannot create or read secrets: ErrSecretKey.
func OpenWithKey(path string, opts *Options, key []byte) (*Store, error) {
	var a cargs
	p := a.str("path", path)
	return open(&a, opts, func(o *C.sendense_open_options, h **C.sendense_store, e cErr) cStatus {
		ckey, clen := keyPtr(key)
		return C.sendense_store_open_with_key(p, o, ckey, clen, h, e)
	})
}

// OpenWithKeyFile is OpenWithKey with the key read from the file keyPath: exactly 32 raw
// bytes, or 64 hexadecimal digits (surrounding white space ignored; at most 128 bytes), as
// CreateKeyFile writes. The file must be a regular file that group and others may not access:
// a mode like 0644 is ErrSecretKey naming the mode. A missing file is ErrIO; a FIFO, device or
// directory (not waited on), a larger file or other contents are ErrInvalidArgument.
func OpenWithKeyFile(path string, opts *Options, keyPath string) (*Store, error) {
	var a cargs
	p, kp := a.str("path", path), a.str("key path", keyPath)
	return open(&a, opts, func(o *C.sendense_open_options, h **C.sendense_store, e cErr) cStatus {
		return C.sendense_store_open_with_key_file(p, o, kp, h, e)
	})
}

// RotateSecretKey re-seals every secret of the store under key in one transaction and seals
// with it from now on; it returns how many values were re-sealed. A secret that does not open
// with this Store's keys fails the rotation (ErrSecretKey naming its row) and nothing
// changes. The old key stays with this Store to open what other processes may still seal
// with it; they must reopen with the new key.
func (s *Store) RotateSecretKey(key []byte) (int64, error) {
	return getInt64(s, nil, func(h cStore, out *C.int64_t, e cErr) cStatus {
		ckey, clen := keyPtr(key)
		return C.sendense_store_rotate_secret_key(h, ckey, clen, out, e)
	})
}

// AddPreviousSecretKey lets this Store also open secrets sealed with the older key (while
// another process still seals with it, or during a rotation); new secrets stay sealed with the
// Store's current key. A key of another length than SecretKeyLen is ErrInvalidArgument.
func (s *Store) AddPreviousSecretKey(key []byte) error {
	return s.run(nil, func(h cStore, e cErr) cStatus {
		ckey, clen := keyPtr(key)
		return C.sendense_store_add_previous_secret_key(h, ckey, clen, e)
	})
}

// SecretKeyID is the id of the key that seals new secrets (16 hexadecimal digits, as named in
// the sealed values and in the SealedWithKey of configurations); "" when the store was opened
// without a key.
func (s *Store) SecretKeyID() (string, error) {
	return getString(s, nil, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_store_secret_key_id(h, out, e)
	})
}

// CreateKeyFile creates a new key file at path holding a new random secret key, for
// OpenWithKeyFile, and returns the key's id (as SecretKeyID reports it). The file holds 64
// hexadecimal digits and a newline, with mode 0600, and is written durably (a temporary file
// in the same directory, synced, linked into place, the directory synced): after a power cut
// it holds the whole key or does not exist. An existing file, directory or symbolic link at
// path is ErrAlreadyExists and left as it is (a key file is never replaced); a missing
// directory is ErrNotFound.
func CreateKeyFile(path string) (string, error) {
	var a cargs
	defer a.free()
	p := a.str("key path", path)
	if err := a.failed(); err != nil {
		return "", err
	}
	var out *C.char
	var cerr *C.sendense_error
	if st := C.sendense_secret_key_file_create(p, &out, &cerr); st != C.SENDENSE_STATUS_OK {
		return "", takeError(st, cerr)
	}
	defer C.sendense_string_free(out)
	return C.GoString(out), nil
}
