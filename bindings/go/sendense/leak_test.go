package sendense_test

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"libsendense/bindings/go/sendense"
)

// rss is the resident set size of the process in bytes (Linux).
func rss(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm:", err)
	}
	fields := bytes.Fields(data)
	pages, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// growth runs f n times after a warm-up and returns how much the process grew.
func growth(t *testing.T, n int, f func()) int64 {
	t.Helper()
	for i := 0; i < n/10; i++ {
		f()
	}
	runtime.GC()
	before := rss(t)
	for i := 0; i < n; i++ {
		f()
	}
	runtime.GC()
	return rss(t) - before
}

// Every path of the binding frees what the library returns (JSON and id strings, error
// objects) and the C strings it passes: the process does not grow over many calls. Each
// phase moves at least 8 MiB through the freed allocations, so a leak of any of them would
// show as more than the 6 MiB allowed (without a leak: 1-3 MiB).
func TestNoLeaks(t *testing.T) {
	if testing.Short() {
		t.Skip("slow; skipped with -short")
	}
	s := must(sendense.OpenInMemory(nil)).get(t)
	defer s.Close()
	ctx := must(s.CreateContext(newVM("leak-01", "vm-leak"))).get(t)
	job := must(s.StartReplication(sendense.StartJob{ContextID: ctx, Disks: twoDisks("leak-01")})).get(t)
	missing := "no-such-context-" + strings.Repeat("x", 200)
	b := newBackupSetup(t, s, "leak-02")
	var chain []string
	for i, typ := range []sendense.BackupType{sendense.BackupFull, sendense.BackupIncremental, sendense.BackupIncremental} {
		chain = append(chain, b.backUp(t, s, 0, typ, "", i+1))
	}
	phases := []struct {
		name string
		n    int
		f    func()
	}{
		{"error objects", 30000, func() {
			if _, err := s.Context(missing); err == nil {
				t.Fatal("no error")
			}
			if _, err := s.CreateContext(newVM("leak-01", "vm-leak")); err == nil {
				t.Fatal("no duplicate")
			}
		}},
		{"JSON strings", 2500, func() {
			must(s.Context(ctx)).get(t)
			must(s.Job(job)).get(t)
			must(s.Disks(ctx)).get(t)
		}},
		{"backup read-outs and refusals", 2500, func() {
			must(s.RestoreChain(chain[2])).get(t)
			must(s.Policy(b.policy)).get(t)
			must(s.Repository(b.primary)).get(t)
			must(s.Chains(b.ctx)).get(t)
			if err := s.DeleteBackup(chain[0]); err == nil {
				t.Fatal("deleted a depended-on point")
			}
			if c := must(s.ClaimCopy("leak-worker")).get(t); c != nil && len(c.ID) == 0 {
				t.Fatal("a claimed copy without an id")
			}
		}},
		{"C strings passed in", 30000, func() {
			ok(t, s.Progress(job, sendense.Progress{Percent: 50, CurrentOperation: strings.Repeat("copying ", 20)}))
			must(s.DecideCBT(ctx, "disk-2000", changeID(epochA, 1), false)).get(t)
		}},
	}
	for _, p := range phases {
		g := growth(t, p.n, p.f)
		t.Logf("%s: the process grew by %d KiB over %d rounds", p.name, g>>10, p.n)
		if g > 6<<20 {
			t.Errorf("%s: the process grew by %d KiB over %d rounds", p.name, g>>10, p.n)
		}
	}
}
