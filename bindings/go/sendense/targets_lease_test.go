package sendense_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"libsendense/bindings/go/sendense"
)

// Leases are handed out lowest first, one resource per lease, released by owner only; a full
// pool is refused; an expired lease's resource is taken over.
func TestLeases(t *testing.T) {
	s, _ := openTemp(t)
	pools := must(s.LeasePools()).get(t)
	byName := map[string]sendense.LeasePool{}
	for _, p := range pools {
		byName[p.Name] = p
	}
	ports, devices := byName[sendense.PoolBackupNBDPort], byName[sendense.PoolRestoreNBDDevice]
	if len(ports.Resources) != 101 || ports.Resources[0] != "10100" || ports.Resources[100] != "10200" ||
		len(devices.Resources) != 8 || devices.Resources[0] != "/dev/nbd0" || devices.Resources[7] != "/dev/nbd7" {
		t.Fatalf("built-in pools: %+v", pools)
	}

	a := must(s.AcquireLease(sendense.PoolBackupNBDPort, "job-a", time.Minute)).get(t)
	if a.Resource != "10100" || a.OwnerID != "job-a" || a.Pool != sendense.PoolBackupNBDPort || !a.ExpiresAt.After(a.AcquiredAt) {
		t.Fatalf("first lease %+v", a)
	}
	a2 := must(s.AcquireLease(sendense.PoolBackupNBDPort, "job-a", time.Minute)).get(t)
	b := must(s.AcquireLease(sendense.PoolBackupNBDPort, "job-b", time.Minute)).get(t)
	if a2.Resource != "10101" || b.Resource != "10102" {
		t.Fatalf("second and third leases: %s %s", a2.Resource, b.Resource)
	}
	if list := must(s.Leases(sendense.PoolBackupNBDPort, "job-a")).get(t); len(list) != 2 {
		t.Fatalf("job-a's leases: %+v", list)
	}
	if list := must(s.Leases(sendense.PoolBackupNBDPort, "")).get(t); len(list) != 3 {
		t.Fatalf("every lease: %+v", list)
	}
	renewed := must(s.RenewLeases(sendense.PoolBackupNBDPort, "job-a", time.Hour)).get(t)
	if len(renewed) != 2 || !renewed[0].ExpiresAt.After(a.ExpiresAt) {
		t.Fatalf("renewed: %+v", renewed)
	}
	// Released by owner id only: job-b's lease stays.
	ok(t, s.ReleaseLeases(sendense.PoolBackupNBDPort, "job-a"))
	ok(t, s.ReleaseLeases(sendense.PoolBackupNBDPort, "job-a")) // nothing left: fine
	if list := must(s.Leases(sendense.PoolBackupNBDPort, "")).get(t); len(list) != 1 || list[0].OwnerID != "job-b" {
		t.Fatalf("after job-a's release: %+v", list)
	}
	_, err := s.RenewLeases(sendense.PoolBackupNBDPort, "job-a", time.Hour)
	wantErr(t, "renew without a live lease", err, sendense.ErrNotFound)
	if c := must(s.AcquireLease(sendense.PoolBackupNBDPort, "job-c", time.Minute)).get(t); c.Resource != "10100" {
		t.Fatalf("the released port is not handed out first: %+v", c)
	}

	// A full pool; bad arguments.
	for i := 0; i < 8; i++ {
		must(s.AcquireLease(sendense.PoolRestoreNBDDevice, fmt.Sprintf("restore-%d", i), time.Minute)).get(t)
	}
	_, err = s.AcquireLease(sendense.PoolRestoreNBDDevice, "restore-9", time.Minute)
	wantErr(t, "a full pool", err, sendense.ErrConflict)
	_, err = s.AcquireLease("no-such-pool", "job-a", time.Minute)
	wantErr(t, "an unknown pool", err, sendense.ErrNotFound)
	wantErr(t, "release in an unknown pool", s.ReleaseLeases("no-such-pool", "job-a"), sendense.ErrNotFound)
	_, err = s.AcquireLease(sendense.PoolBackupNBDPort, "job-a", 0)
	wantErr(t, "a zero ttl", err, sendense.ErrInvalidArgument)
	_, err = s.AcquireLease(sendense.PoolBackupNBDPort, "job-a", 31*24*time.Hour)
	wantErr(t, "a ttl over 30 days", err, sendense.ErrInvalidArgument)

	// An expired lease is taken over by another owner.
	_, err = s.DefineLeasePool(sendense.NewLeasePool{Name: "one-port", Resources: []string{"20000"}})
	ok(t, err)
	must(s.AcquireLease("one-port", "dead-job", 30*time.Millisecond)).get(t)
	_, err = s.AcquireLease("one-port", "live-job", time.Minute)
	wantErr(t, "the only port, leased", err, sendense.ErrConflict)
	time.Sleep(60 * time.Millisecond)
	if l := must(s.AcquireLease("one-port", "live-job", time.Minute)).get(t); l.Resource != "20000" || l.OwnerID != "live-job" {
		t.Fatalf("the expired lease was not taken over: %+v", l)
	}
	_, err = s.RenewLeases("one-port", "dead-job", time.Minute)
	wantErr(t, "renew an expired lease", err, sendense.ErrNotFound)
}

// Pools: defined with resources in hand-out order; not redefined while leased.
func TestLeasePools(t *testing.T) {
	s, _ := openTemp(t)
	p := must(s.DefineLeasePool(sendense.NewLeasePool{Name: "migration-ports", Description: "NBD ports for migrations",
		Resources: []string{"10900", "10901", "10902"}})).get(t)
	if p.Name != "migration-ports" || str(p.Description) != "NBD ports for migrations" || len(p.Resources) != 3 || p.Leased != 0 {
		t.Fatalf("pool %+v", p)
	}
	if l := must(s.AcquireLease("migration-ports", "job-1", time.Minute)).get(t); l.Resource != "10900" {
		t.Fatalf("lease %+v", l)
	}
	_, err := s.DefineLeasePool(sendense.NewLeasePool{Name: "migration-ports", Resources: []string{"1"}})
	wantErr(t, "redefine a leased pool", err, sendense.ErrConflict)
	_, err = s.DefineLeasePool(sendense.NewLeasePool{Name: "empty"})
	wantErr(t, "a pool without resources", err, sendense.ErrInvalidArgument)
	_, err = s.DefineLeasePool(sendense.NewLeasePool{Name: "dup", Resources: []string{"a", "a"}})
	wantErr(t, "a duplicate resource", err, sendense.ErrInvalidArgument)
	for _, pool := range must(s.LeasePools()).get(t) {
		if pool.Name == "migration-ports" && (pool.Leased != 1 || len(pool.Resources) != 3) {
			t.Fatalf("listed pool %+v", pool)
		}
	}
	ok(t, s.ReleaseLeases("migration-ports", "job-1"))
	if p := must(s.DefineLeasePool(sendense.NewLeasePool{Name: "migration-ports", Resources: []string{"11000"}})).get(t); len(p.Resources) != 1 {
		t.Fatalf("redefined pool %+v", p)
	}
}

// 8 goroutines acquire, hold and release leases of one store at once, in a pool smaller than
// their number: no resource is ever held by two of them, and a full pool is a clean
// ErrConflict.
func TestConcurrentLeasesNeverShareAResource(t *testing.T) {
	s, _ := openTemp(t)
	must(s.DefineLeasePool(sendense.NewLeasePool{Name: "four", Resources: []string{"r0", "r1", "r2", "r3"}})).get(t)
	for _, pool := range []string{"four", sendense.PoolRestoreNBDDevice} {
		var mu sync.Mutex
		held := map[string]string{} // resource -> owner, as the goroutines believe
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		granted, full := 0, 0
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for round := 0; round < 25; round++ {
					owner := fmt.Sprintf("job-%d-%d", g, round)
					l, err := s.AcquireLease(pool, owner, time.Minute)
					if errors.Is(err, sendense.ErrConflict) {
						mu.Lock()
						full++
						mu.Unlock()
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					if other, taken := held[l.Resource]; taken {
						mu.Unlock()
						errs <- fmt.Errorf("%s %s leased to %s while %s holds it", pool, l.Resource, owner, other)
						return
					}
					held[l.Resource] = owner
					granted++
					mu.Unlock()
					time.Sleep(time.Millisecond)
					// Forget the resource before releasing it: a second holder would show.
					mu.Lock()
					delete(held, l.Resource)
					mu.Unlock()
					if err := s.ReleaseLeases(pool, owner); err != nil {
						errs <- err
						return
					}
				}
			}(g)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if list := must(s.Leases(pool, "")).get(t); len(list) != 0 {
			t.Fatalf("%s: leases left: %+v", pool, list)
		}
		t.Logf("%s: %d leases granted, %d refused as full", pool, granted, full)
		if granted == 0 || (pool == sendense.PoolRestoreNBDDevice && full != 0) {
			t.Fatalf("%s: %d granted, %d refused", pool, granted, full)
		}
	}
}
