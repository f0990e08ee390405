package sendense_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"libsendense/bindings/go/sendense"
)

func TestVersions(t *testing.T) {
	if sendense.LibraryABIVersion() != sendense.ABIVersion {
		t.Fatalf("library ABI %d, header ABI %d", sendense.LibraryABIVersion(), sendense.ABIVersion)
	}
	if sendense.Version() == "" {
		t.Fatal("empty version")
	}
	s := must(sendense.OpenInMemory(nil)).get(t)
	defer s.Close()
	if v := must(s.SchemaVersion()).get(t); v < 1 {
		t.Fatalf("schema version %d", v)
	}
}

func TestInMemory(t *testing.T) {
	s := must(sendense.OpenInMemory(nil)).get(t)
	defer s.Close()
	id := must(s.CreateContext(newVM("mem-01", "vm-1"))).get(t)
	if c := must(s.Context(id)).get(t); c.VMName != "mem-01" {
		t.Fatalf("%+v", c)
	}
}

// Options: nil and the zero value are the defaults; a busy timeout out of range is refused
// before anything is opened; MustExist refuses a missing file and opens an existing one.
func TestOpenOptions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	for i, opts := range []*sendense.Options{nil, {}, {Synchronous: sendense.SynchronousFull, BusyTimeout: 250 * time.Millisecond}} {
		s := must(sendense.Open(path, opts)).get(t)
		must(s.CreateContext(newVM(fmt.Sprintf("vm-%d", i), fmt.Sprintf("vm-id-%d", i)))).get(t)
		ok(t, s.Close())
	}
	for _, d := range []time.Duration{-time.Second, time.Duration(1<<32) * time.Millisecond} {
		_, err := sendense.Open(filepath.Join(dir, "other.db"), &sendense.Options{BusyTimeout: d})
		wantErr(t, fmt.Sprintf("a busy timeout of %v", d), err, sendense.ErrInvalidArgument)
		_, err = sendense.OpenInMemory(&sendense.Options{BusyTimeout: d})
		wantErr(t, fmt.Sprintf("a busy timeout of %v in memory", d), err, sendense.ErrInvalidArgument)
	}
	if _, err := os.Stat(filepath.Join(dir, "other.db")); !os.IsNotExist(err) {
		t.Fatalf("a refused open created the file: %v", err)
	}
	s := must(sendense.Open(path, &sendense.Options{MustExist: true})).get(t)
	defer s.Close()
	if got := must(s.ListContexts(sendense.ContextFilter{})).get(t); len(got) != 3 {
		t.Fatalf("%d contexts after three opens, want 3", len(got))
	}
	_, err := sendense.Open(filepath.Join(dir, "bad\x00name.db"), nil)
	wantErr(t, "a path with a NUL byte", err, sendense.ErrInvalidArgument)
}

func TestNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	content := bytes.Repeat([]byte("these are not the droids you are looking for\n"), 200)
	ok(t, os.WriteFile(path, content, 0o644))
	_, err := sendense.Open(path, nil)
	e := wantErr(t, "open a text file", err, sendense.ErrNotADatabase)
	if !strings.Contains(e.Message, path) {
		t.Fatalf("the message does not name the file: %q", e.Message)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, content) {
		t.Fatal("the refused file was modified")
	}

	_, err = sendense.Open(filepath.Join(t.TempDir(), "missing.db"), &sendense.Options{MustExist: true})
	wantErr(t, "open a missing file with MustExist", err, sendense.ErrNotFound)
	_, err = sendense.Open(filepath.Join(t.TempDir(), "x.db"), &sendense.Options{Synchronous: 7})
	wantErr(t, "invalid synchronous", err, sendense.ErrInvalidArgument)
}

func TestCloseIsIdempotent(t *testing.T) {
	s, _ := openTemp(t)
	ok(t, s.Close())
	ok(t, s.Close())
	_, err := s.Context("x")
	if !errors.Is(err, sendense.ErrClosed) || !errors.Is(err, sendense.ErrInvalidArgument) {
		t.Fatalf("after Close: %v", err)
	}
	if err := s.ReplicationProgress("x", sendense.ReplicationProgress{}); !errors.Is(err, sendense.ErrClosed) {
		t.Fatalf("progress after Close: %v", err)
	}
	if _, err := s.SchemaVersion(); !errors.Is(err, sendense.ErrClosed) {
		t.Fatalf("schema version after Close: %v", err)
	}
}
