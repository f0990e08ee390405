package sendense_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"libsendense/bindings/go/sendense"
)

const goroutines = 16

// 16 goroutines share one Store: each drives its own job with progress updates and disk
// progress while reading its own and the others' records, and finally completes its job.
func TestConcurrentGoroutinesShareOneStore(t *testing.T) {
	s, _ := openTemp(t)
	ctxs := make([]string, goroutines)
	jobs := make([]string, goroutines)
	for i := range ctxs {
		ctxs[i] = must(s.CreateContext(newVM(fmt.Sprintf("vm-%02d", i), fmt.Sprintf("vm-id-%02d", i)))).get(t)
		jobs[i] = must(s.StartReplication(sendense.ReplicationStart{ContextID: ctxs[i], Disks: twoDisks(fmt.Sprintf("vm-%02d", i))})).get(t)
		ok(t, s.SetReplicationJobStatus(jobs[i], sendense.ReplicationJobReplicating, ""))
	}
	const rounds = 40
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for i := 0; i < goroutines; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			fail := func(err error) { errs <- fmt.Errorf("goroutine %d: %w", i, err) }
			for r := 1; r <= rounds; r++ {
				pct := float64(r) * 100 / rounds
				if err := s.ReplicationProgress(jobs[i], sendense.ReplicationProgress{Percent: pct, BytesTransferred: int64(r) << 20,
					TotalBytes: rounds << 20, SpeedBps: 1 << 20, CurrentOperation: fmt.Sprintf("round %d", r)}); err != nil {
					fail(err)
					return
				}
				if err := s.ReplicationDiskProgress(jobs[i], "disk-2000", pct, int64(r)<<20, sendense.DiskSyncing); err != nil {
					fail(err)
					return
				}
				job, err := s.ReplicationJob(jobs[i])
				if err != nil {
					fail(err)
					return
				}
				if job.ProgressPercent != pct || job.Status != sendense.ReplicationJobReplicating {
					fail(fmt.Errorf("read back %v %s, wrote %v", job.ProgressPercent, job.Status, pct))
					return
				}
				if _, err := s.ReplicationJob(jobs[(i+r)%goroutines]); err != nil {
					fail(err)
					return
				}
				if r%8 == 0 {
					list, err := s.ListContexts(sendense.ContextFilter{})
					if err != nil || len(list) != goroutines {
						fail(fmt.Errorf("list: %d contexts, %v", len(list), err))
						return
					}
				}
			}
			if err := s.RecordCBT(jobs[i], "disk-2000", changeID(epochA, 10+i), 1<<20); err != nil {
				fail(err)
				return
			}
			if err := s.SetReplicationJobStatus(jobs[i], sendense.ReplicationJobCompleted, ""); err != nil {
				fail(err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range jobs {
		job := must(s.ReplicationJob(jobs[i])).get(t)
		c := must(s.Context(ctxs[i])).get(t)
		if job.Status != sendense.ReplicationJobCompleted || job.ProgressPercent != 100 || str(job.CurrentOperation) != fmt.Sprintf("round %d", rounds) ||
			c.CurrentStatus != sendense.ContextReadyForFailover || c.SuccessfulJobs != 1 || c.TotalJobsRun != 1 {
			t.Fatalf("after the run, %d: job %+v context %+v", i, job, c)
		}
	}
	if r := must(s.IntegrityCheck()).get(t); !r.OK {
		t.Fatalf("integrity: %+v", r)
	}
}

// 16 goroutines race to start a job on one context: exactly one wins, the others get
// ErrConflict, and the context counts one job.
func TestConcurrentStartsOneWins(t *testing.T) {
	s, _ := openTemp(t)
	ctx := must(s.CreateContext(newVM("race-01", "vm-race"))).get(t)
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < goroutines; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := s.StartReplication(sendense.ReplicationStart{ContextID: ctx, Disks: twoDisks("race-01")})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, sendense.ErrConflict):
				conflicts.Add(1)
			default:
				t.Errorf("start: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != goroutines-1 {
		t.Fatalf("%d wins, %d conflicts", wins.Load(), conflicts.Load())
	}
	if c := must(s.Context(ctx)).get(t); c.TotalJobsRun != 1 || c.CurrentJobID == nil {
		t.Fatalf("context: %+v", c)
	}
}

// Close waits for running calls; calls after it get ErrClosed, never a crash.
func TestCloseWhileInUse(t *testing.T) {
	s, _ := openTemp(t)
	ctx := must(s.CreateContext(newVM("close-01", "vm-close"))).get(t)
	var wg sync.WaitGroup
	for i := 0; i < goroutines; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, err := s.Context(ctx)
				if errors.Is(err, sendense.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("read: %v", err)
					return
				}
			}
		}()
	}
	runtime.Gosched()
	ok(t, s.Close())
	wg.Wait()
}

// A Store that is never closed is freed by its finalizer.
func TestFinalizerBackstop(t *testing.T) {
	for i := 0; i < 20; i++ {
		s := must(sendense.OpenInMemory(nil)).get(t)
		must(s.SchemaVersion()).get(t)
	}
	runtime.GC()
	runtime.GC()
}
