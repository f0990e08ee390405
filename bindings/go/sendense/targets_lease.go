package sendense

// #include "sendense.h"
import "C"

import "time"

// The lease pools every store has.
const (
	// PoolBackupNBDPort hands out the backup NBD ports 10100 to 10200.
	PoolBackupNBDPort = "backup_nbd_port"
	// PoolRestoreNBDDevice hands out the restore NBD devices /dev/nbd0 to /dev/nbd7.
	PoolRestoreNBDDevice = "restore_nbd_device"
)

// Lease is a live lease: OwnerID (a job id) holds Resource ("10100", "/dev/nbd0") of Pool
// from AcquiredAt until ExpiresAt.
type Lease struct {
	Pool       string    `json:"pool"`
	Resource   string    `json:"resource"`
	OwnerID    string    `json:"owner_id"`
	AcquiredAt time.Time `json:"acquired_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// LeasePool is a pool with its resources, in hand-out order, and how many of them have a
// live lease.
type LeasePool struct {
	Name        string    `json:"name"`
	Description *string   `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	Resources   []string  `json:"resources"`
	Leased      int64     `json:"leased"`
}

// NewLeasePool defines a pool: Name and Resources (at least one, no duplicates, handed out
// in that order) are required.
type NewLeasePool struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Resources   []string `json:"resources"`
}

// ttlMillis is ttl in whole milliseconds; the library refuses less than 1 ms (and more than
// 30 days) with ErrInvalidArgument.
func ttlMillis(ttl time.Duration) C.int64_t {
	return C.int64_t(ttl.Milliseconds())
}

// AcquireLease leases the first resource of pool that has no live lease to ownerID for ttl,
// atomically, also across processes (an expired lease's resource is taken over). Asking
// again gives the owner another resource. A full pool is ErrConflict naming the pool; an
// unknown pool ErrNotFound; a ttl under 1 ms or over 30 days ErrInvalidArgument.
func (s *Store) AcquireLease(pool, ownerID string, ttl time.Duration) (*Lease, error) {
	var a cargs
	p, owner := a.str("pool", pool), a.str("owner id", ownerID)
	return getRecord[Lease](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_lease_acquire(h, p, owner, ttlMillis(ttl), out, e)
	})
}

// RenewLeases extends every live lease of ownerID in pool to now + ttl (never shortening
// one) and returns them. ErrNotFound when the owner holds no live lease there (an expired
// lease may have gone to another owner: acquire again).
func (s *Store) RenewLeases(pool, ownerID string, ttl time.Duration) ([]Lease, error) {
	var a cargs
	p, owner := a.str("pool", pool), a.str("owner id", ownerID)
	return getJSON[[]Lease](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_lease_renew(h, p, owner, ttlMillis(ttl), out, e)
	})
}

// ReleaseLeases releases every lease of ownerID in pool (live or expired); releasing nothing
// is not an error. ErrNotFound for an unknown pool.
func (s *Store) ReleaseLeases(pool, ownerID string) error {
	var a cargs
	p, owner := a.str("pool", pool), a.str("owner id", ownerID)
	return s.run(&a, func(h cStore, e cErr) cStatus {
		return C.sendense_lease_release(h, p, owner, e)
	})
}

// Leases returns the live leases of pool, first resource first; only ownerID's when it is
// not "".
func (s *Store) Leases(pool, ownerID string) ([]Lease, error) {
	var a cargs
	p, owner := a.str("pool", pool), a.opt("owner id", ownerID)
	return getJSON[[]Lease](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_lease_list_json(h, p, owner, out, e)
	})
}

// DefineLeasePool adds a pool, or replaces the resources of one that has no live lease
// (ErrConflict naming how many it has otherwise), and returns it.
func (s *Store) DefineLeasePool(p NewLeasePool) (*LeasePool, error) {
	var a cargs
	doc := a.doc("new lease pool", p)
	return getRecord[LeasePool](s, &a, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_lease_pool_define(h, doc, out, e)
	})
}

// LeasePools returns every pool, by name.
func (s *Store) LeasePools() ([]LeasePool, error) {
	return getJSON[[]LeasePool](s, nil, func(h cStore, out cOut, e cErr) cStatus {
		return C.sendense_lease_pools_json(h, out, e)
	})
}
