package sendense_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"libsendense/bindings/go/sendense"
)

// The online copy of the store file (not a backup point): a whole database that opens on its
// own, consistent while another goroutine keeps writing, unaffected by later changes of the
// original, and never written over an existing file.
func TestCopyDatabaseTo(t *testing.T) {
	s, _ := openTemp(t)
	web := must(s.CreateContext(newVM("web-01", "vm-101"))).get(t)
	db := must(s.CreateContext(newVM("db-01", "vm-102"))).get(t)
	done := must(s.StartReplication(sendense.ReplicationStart{ContextID: web, Disks: twoDisks("web-01")})).get(t)
	runReplicationJob(t, s, done, map[string]string{"disk-2000": changeID(epochA, 1), "disk-2001": changeID(epochB, 1)})
	busy := must(s.StartReplication(sendense.ReplicationStart{ContextID: db, Disks: twoDisks("db-01")})).get(t)
	ok(t, s.SetReplicationJobStatus(busy, sendense.ReplicationJobReplicating, ""))

	// A writer reports progress the whole time the copy runs.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.ReplicationProgress(busy, sendense.ReplicationProgress{Percent: float64(i % 100),
				CurrentOperation: fmt.Sprintf("round %d", i)}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	dest := filepath.Join(t.TempDir(), "copy.db")
	err := s.CopyDatabaseTo(dest)
	close(stop)
	wg.Wait()
	ok(t, err)
	e := wantErr(t, "a copy over an existing file", s.CopyDatabaseTo(dest), sendense.ErrAlreadyExists)
	wantMessage(t, "a copy over an existing file", e, dest)

	// The original changes after the copy; the copy does not.
	ok(t, s.DeleteContext(web))
	c := must(sendense.Open(dest, &sendense.Options{MustExist: true})).get(t)
	defer c.Close()
	if got := must(c.ListContexts(sendense.ContextFilter{})).get(t); len(got) != 2 {
		t.Fatalf("contexts in the copy: %d", len(got))
	}
	if j := must(c.ReplicationJob(done)).get(t); j.Status != sendense.ReplicationJobCompleted {
		t.Fatalf("the completed job in the copy: %+v", j)
	}
	if j := must(c.ReplicationJob(busy)).get(t); j.Status != sendense.ReplicationJobReplicating {
		t.Fatalf("the running job in the copy: %+v", j)
	}
	if r := must(c.IntegrityCheck()).get(t); !r.OK {
		t.Fatalf("integrity of the copy: %+v", r)
	}
}
