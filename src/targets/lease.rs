//! Leases: ports and devices handed out to jobs (docs/DOMAIN.md section 5, "Ports and devices
//! handed out to jobs are persisted leases owned by a job id and released by that id").
//!
//! A pool (`lease_pools`) has resources (`lease_resources`, handed out lowest ordinal first);
//! a lease (`leases`, one row per resource at most) says which owner holds a resource until
//! when. Two pools exist in every store (schema v4): `backup_nbd_port` (ports 10100-10200)
//! and `restore_nbd_device` (`/dev/nbd0` to `/dev/nbd7`); more are added with
//! [`Store::lease_pool_define`].
//!
//! Rules enforced here:
//! - a lease is live while `expires_at > now`; at `expires_at <= now` it is expired and its
//!   resource is free again: anyone may take it over, and nothing else looks at it (an
//!   expired lease is never renewed and never listed);
//! - [`Store::lease_acquire`] hands out the lowest-ordinal resource of the pool that has no
//!   live lease, in one immediate transaction whose guarded upsert (`WHERE expires_at <= now`)
//!   must change exactly one row, so one resource is never held by two owners at once, also
//!   across processes (the `leases` primary key is the resource);
//! - the same owner asking again in the same pool gets ANOTHER resource (a job may need
//!   several ports): acquiring is never idempotent; renew and release then act on all of the
//!   owner's leases in the pool together;
//! - a pool whose resources are all leased is CONFLICT naming the pool, its number of
//!   resources and when the first lease expires; an unknown pool is NOT_FOUND; a ttl of 0 or
//!   less, or longer than [`MAX_TTL_MS`], is INVALID_ARGUMENT;
//! - [`Store::lease_renew`] extends every live lease of the owner in the pool to
//!   `now + ttl` (never shortening one); when the owner holds no live lease there it is
//!   NOT_FOUND, because an owner whose leases expired may have lost its resources to another
//!   owner and must acquire again rather than believe it still holds them;
//! - [`Store::lease_release`] releases every lease of the owner in the pool (live or expired),
//!   by owner id only, and returns how many it released; releasing nothing is fine (0): the
//!   end state the caller asks for already holds, so a cleanup may run twice;
//! - [`Store::lease_pool_define`] adds a pool, or replaces the resources of a pool that has no
//!   live lease (expired leases go with the old resources); a pool with live leases is
//!   CONFLICT naming how many. Resources are handed out in the order they are listed.
//!
//! Timestamps come from the store's clock, as everywhere: processes sharing one file must
//! share one notion of time (the system clock). Writes read "now" after their transaction has
//! the write lock, so a lease handed out after a wait for another process still lasts its
//! whole ttl from the moment it was handed out.

use serde::{Deserialize, Serialize};

use crate::error::{echo, Error, Result};
use crate::params;
use crate::store::query::require_row;
use crate::store::{Row, Store, Tx};
use crate::value::{check_id, Timestamp};

/// The longest lease: 30 days. Longer-running owners renew.
pub const MAX_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

/// The most resources one pool may have.
pub const MAX_POOL_RESOURCES: usize = 65_536;

/// A live lease: `owner_id` holds `resource` of `pool` from `acquired_at` until `expires_at`.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lease {
    pub pool: String,
    pub resource: String,
    pub owner_id: String,
    pub acquired_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Lease {
    /// Read a row selected by [`LEASE_SELECT`].
    fn from_row(r: &Row<'_>) -> Result<Lease> {
        Ok(Lease {
            pool: r.get(0)?,
            resource: r.get(1)?,
            owner_id: r.get(2)?,
            acquired_at: r.get(3)?,
            expires_at: r.get(4)?,
        })
    }
}

/// A pool with its resources (in hand-out order) and how many of them are leased now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeasePool {
    /// The pool's name.
    pub name: String,
    /// What the pool is for.
    pub description: Option<String>,
    /// When it was defined (the epoch for the built-in pools).
    pub created_at: Timestamp,
    /// Its resources, lowest ordinal (first handed out) first.
    pub resources: Vec<String>,
    /// How many of them have a live lease.
    pub leased: i64,
}

/// The definition of a pool for [`Store::lease_pool_define`] (JSON: `name`, `description`,
/// `resources`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLeasePool {
    /// The pool's name (an id: not empty, at most 255 bytes, no control characters).
    pub name: String,
    /// What the pool is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Its resources, in hand-out order: at least one, each an id, no duplicates.
    pub resources: Vec<String>,
}

impl NewLeasePool {
    /// A pool named `name` with `resources` and no description.
    pub fn new(name: impl Into<String>, resources: Vec<String>) -> NewLeasePool {
        NewLeasePool { name: name.into(), description: None, resources }
    }

    fn validate(&self) -> Result<()> {
        check_id("pool name", &self.name)?;
        if self.resources.is_empty() {
            return Err(Error::invalid_argument(format!(
                "pool {}: resources is empty: a pool needs one",
                echo(&self.name)
            )));
        }
        if self.resources.len() > MAX_POOL_RESOURCES {
            return Err(Error::invalid_argument(format!(
                "pool {}: {} resources is more than {MAX_POOL_RESOURCES}",
                echo(&self.name),
                self.resources.len()
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for r in &self.resources {
            check_id("resource", r).map_err(|e| e.context(format!("pool {}", echo(&self.name))))?;
            if !seen.insert(r.as_str()) {
                return Err(Error::invalid_argument(format!(
                    "pool {}: resource {:?} is listed twice",
                    echo(&self.name),
                    echo(r)
                )));
            }
        }
        Ok(())
    }
}

/// A ttl must be 1 ms to [`MAX_TTL_MS`]; returns the expiry.
fn expiry(now: i64, ttl_ms: i64) -> Result<i64> {
    if ttl_ms <= 0 || ttl_ms > MAX_TTL_MS {
        return Err(Error::invalid_argument(format!(
            "ttl_ms {ttl_ms} is out of range: a lease lasts 1 ms to {MAX_TTL_MS} ms (30 days)"
        )));
    }
    now.checked_add(ttl_ms).ok_or_else(|| Error::invalid_argument(format!("now + ttl_ms {ttl_ms} overflows")))
}

fn check_pool_and_owner(pool: &str, owner_id: &str) -> Result<()> {
    check_id("pool", pool)?;
    check_id("owner id", owner_id)
}

/// NOT_FOUND naming the pool when it does not exist.
fn require_pool(tx: &Tx<'_>, pool: &str) -> Result<()> {
    require_row(tx, "lease_pools", "name", &pool, &format!("lease pool {:?}", echo(pool)))
}

/// NOT_FOUND naming the pool when it does not exist; else its number of resources.
fn pool_size(tx: &Tx<'_>, pool: &str) -> Result<i64> {
    require_pool(tx, pool)?;
    tx.one("SELECT count(*) FROM lease_resources WHERE pool = :pool", params![pool], |r| r.get(0))
}

const LEASE_SELECT: &str = "SELECT r.pool, r.resource, l.owner_id, l.acquired_at, l.expires_at \
    FROM leases l JOIN lease_resources r ON r.id = l.resource_id";

/// The live leases of `pool` (of `owner_id` only, when given), lowest ordinal first.
fn live_leases(tx: &Tx<'_>, pool: &str, owner_id: Option<&str>, now: i64) -> Result<Vec<Lease>> {
    match owner_id {
        Some(owner_id) => tx.rows(
            &format!(
                "{LEASE_SELECT} WHERE r.pool = :pool AND l.owner_id = :owner_id AND l.expires_at > :now \
                 ORDER BY r.ordinal"
            ),
            params![pool, owner_id, now],
            Lease::from_row,
        ),
        None => tx.rows(
            &format!("{LEASE_SELECT} WHERE r.pool = :pool AND l.expires_at > :now ORDER BY r.ordinal"),
            params![pool, now],
            Lease::from_row,
        ),
    }
}

/// Release the lease of `owner_id` on `resource` (live or expired), in every pool holding that
/// resource, inside the caller's transaction; returns how many. The step that frees the port
/// of a job's last NBD export on it ([`crate::targets::nbd_export`]).
pub(super) fn release_resource(tx: &Tx<'_>, owner_id: &str, resource: &str) -> Result<usize> {
    tx.execute(
        "DELETE FROM leases WHERE owner_id = :owner_id \
         AND resource_id IN (SELECT id FROM lease_resources WHERE resource = :resource)",
        params![owner_id, resource],
    )
}

fn load_pool(tx: &Tx<'_>, name: &str, now: i64) -> Result<LeasePool> {
    let (description, created_at) = tx
        .optional("SELECT description, created_at FROM lease_pools WHERE name = :name", params![name], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .ok_or_else(|| Error::not_found(format!("lease pool {:?} does not exist", echo(name))))?;
    let resources =
        tx.rows("SELECT resource FROM lease_resources WHERE pool = :name ORDER BY ordinal", params![name], |r| {
            r.get(0)
        })?;
    let leased = live_count(tx, name, now)?;
    Ok(LeasePool { name: name.to_string(), description, created_at, resources, leased })
}

fn live_count(tx: &Tx<'_>, pool: &str, now: i64) -> Result<i64> {
    tx.one(
        "SELECT count(*) FROM leases l JOIN lease_resources r ON r.id = l.resource_id \
         WHERE r.pool = :pool AND l.expires_at > :now",
        params![pool, now],
        |r| r.get(0),
    )
}

impl Store {
    /// Lease the lowest-ordinal resource of `pool` that has no live lease to `owner_id` for
    /// `ttl_ms` milliseconds (1 ms to [`MAX_TTL_MS`]). An expired lease's resource is taken
    /// over. The same owner asking again gets another resource. A full pool is CONFLICT
    /// naming the pool and its size; an unknown pool NOT_FOUND.
    pub fn lease_acquire(&self, pool: &str, owner_id: &str, ttl_ms: i64) -> Result<Lease> {
        check_pool_and_owner(pool, owner_id)?;
        expiry(self.now_ms(), ttl_ms)?;
        self.writing(|tx| {
            // "Now" is read once the write lock is held: a lease's lifetime starts when it is
            // handed out, not before a wait for another process's transaction.
            let now = self.now_ms();
            let expires_at = expiry(now, ttl_ms)?;
            let free: Option<(i64, String)> = tx.optional(
                "SELECT r.id, r.resource FROM lease_resources r LEFT JOIN leases l ON l.resource_id = r.id \
                 WHERE r.pool = :pool AND (l.resource_id IS NULL OR l.expires_at <= :now) ORDER BY r.ordinal LIMIT 1",
                params![pool, now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let Some((resource_id, resource)) = free else {
                let size = pool_size(tx, pool)?;
                let next: Option<i64> = tx.one(
                    "SELECT min(l.expires_at) FROM leases l JOIN lease_resources r ON r.id = l.resource_id \
                     WHERE r.pool = :pool",
                    params![pool],
                    |r| r.get(0),
                )?;
                let when = next.map_or(String::new(), |t| format!("; the first lease expires at {}", Timestamp(t)));
                return Err(Error::conflict(format!(
                    "lease pool {pool} is full: all {size} of its resources are leased{when}",
                    pool = echo(pool)
                )));
            };
            let changed = tx.execute(
                "INSERT INTO leases (resource_id, owner_id, acquired_at, expires_at) \
                 VALUES (:resource_id, :owner_id, :now, :expires_at) \
                 ON CONFLICT (resource_id) DO UPDATE SET owner_id = excluded.owner_id, \
                 acquired_at = excluded.acquired_at, expires_at = excluded.expires_at \
                 WHERE leases.expires_at <= :now",
                params![resource_id, owner_id, now, expires_at],
            )?;
            if changed != 1 {
                // Cannot happen inside one immediate transaction; refuse rather than hand out
                // a resource someone else may hold.
                return Err(Error::internal(format!(
                    "lease pool {pool}: resource {resource} changed under the acquire ({changed} rows)",
                    pool = echo(pool)
                )));
            }
            Ok(Lease {
                pool: pool.to_string(),
                resource,
                owner_id: owner_id.to_string(),
                acquired_at: Timestamp(now),
                expires_at: Timestamp(expires_at),
            })
        })
    }

    /// Extend every live lease of `owner_id` in `pool` to now + `ttl_ms` (a lease that already
    /// runs longer keeps its expiry); returns them, lowest ordinal first. NOT_FOUND when the
    /// pool does not exist or the owner holds no live lease in it (an expired lease must be
    /// acquired again).
    pub fn lease_renew(&self, pool: &str, owner_id: &str, ttl_ms: i64) -> Result<Vec<Lease>> {
        check_pool_and_owner(pool, owner_id)?;
        expiry(self.now_ms(), ttl_ms)?;
        self.writing(|tx| {
            let now = self.now_ms(); // once the write lock is held, as in lease_acquire
            let expires_at = expiry(now, ttl_ms)?;
            let changed = tx.execute(
                "UPDATE leases SET expires_at = max(expires_at, :expires_at) \
                 WHERE owner_id = :owner_id AND expires_at > :now \
                 AND resource_id IN (SELECT id FROM lease_resources WHERE pool = :pool)",
                params![pool, owner_id, expires_at, now],
            )?;
            if changed == 0 {
                require_pool(tx, pool)?;
                return Err(Error::not_found(format!(
                    "owner {owner_id} holds no live lease in pool {pool} (an expired lease must be acquired again)",
                    owner_id = echo(owner_id),
                    pool = echo(pool)
                )));
            }
            live_leases(tx, pool, Some(owner_id), now)
        })
    }

    /// Release every lease of `owner_id` in `pool` (live or expired); returns how many.
    /// Releasing nothing is fine (0). NOT_FOUND when the pool does not exist.
    pub fn lease_release(&self, pool: &str, owner_id: &str) -> Result<usize> {
        check_pool_and_owner(pool, owner_id)?;
        self.writing(|tx| {
            let released = tx.execute(
                "DELETE FROM leases WHERE owner_id = :owner_id \
                 AND resource_id IN (SELECT id FROM lease_resources WHERE pool = :pool)",
                params![pool, owner_id],
            )?;
            if released == 0 {
                // Something released means the pool exists; nothing released may mean a typo.
                require_pool(tx, pool)?;
            }
            Ok(released)
        })
    }

    /// The live leases of `pool`, lowest ordinal first. NOT_FOUND when the pool does not exist.
    pub fn lease_list(&self, pool: &str) -> Result<Vec<Lease>> {
        check_id("pool", pool)?;
        let now = self.now_ms();
        self.reading(|tx| {
            require_pool(tx, pool)?;
            live_leases(tx, pool, None, now)
        })
    }

    /// The live leases of `owner_id` in `pool`, lowest ordinal first (empty when it holds
    /// none). NOT_FOUND when the pool does not exist.
    pub fn lease_list_owner(&self, pool: &str, owner_id: &str) -> Result<Vec<Lease>> {
        check_pool_and_owner(pool, owner_id)?;
        let now = self.now_ms();
        self.reading(|tx| {
            require_pool(tx, pool)?;
            live_leases(tx, pool, Some(owner_id), now)
        })
    }

    /// Add the pool `new.name`, or replace the description and resources of an existing pool
    /// that has no live lease (CONFLICT naming how many it has otherwise; its expired leases
    /// go with its old resources). Resources are handed out in the order listed.
    pub fn lease_pool_define(&self, new: &NewLeasePool) -> Result<LeasePool> {
        new.validate()?;
        self.writing(|tx| {
            let now = self.now_ms(); // once the write lock is held: live leases are judged now
            let name = &new.name;
            if tx.exists("SELECT 1 FROM lease_pools WHERE name = :name", params![name])? {
                let live = live_count(tx, &new.name, now)?;
                if live > 0 {
                    return Err(Error::conflict(format!(
                        "lease pool {} has {live} live lease(s): it is redefined only when none is live",
                        echo(&new.name)
                    )));
                }
                tx.execute("DELETE FROM lease_resources WHERE pool = :name", params![name])?;
                tx.execute(
                    "UPDATE lease_pools SET description = :description WHERE name = :name",
                    params![name, description = new.description],
                )?;
            } else {
                tx.execute(
                    "INSERT INTO lease_pools (name, description, created_at) VALUES (:name, :description, :now)",
                    params![name, description = new.description, now],
                )?;
            }
            for (ordinal, resource) in new.resources.iter().enumerate() {
                tx.execute(
                    "INSERT INTO lease_resources (pool, resource, ordinal) VALUES (:name, :resource, :ordinal)",
                    params![name, resource, ordinal = ordinal as i64],
                )?;
            }
            load_pool(tx, &new.name, now)
        })
    }

    /// Every pool, by name.
    pub fn lease_pools(&self) -> Result<Vec<LeasePool>> {
        let now = self.now_ms();
        self.reading(|tx| {
            let names: Vec<String> = tx.rows("SELECT name FROM lease_pools ORDER BY name", params![], |r| r.get(0))?;
            names.iter().map(|n| load_pool(tx, n, now)).collect()
        })
    }

    /// The pool `name`. NOT_FOUND when it does not exist.
    pub fn lease_pool_get(&self, name: &str) -> Result<LeasePool> {
        check_id("pool", name)?;
        let now = self.now_ms();
        self.reading(|tx| load_pool(tx, name, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_checked() {
        assert_eq!(expiry(1000, 1).unwrap(), 1001);
        assert_eq!(expiry(0, MAX_TTL_MS).unwrap(), MAX_TTL_MS);
        for bad in [0, -1, MAX_TTL_MS + 1, i64::MIN] {
            let e = expiry(1000, bad).unwrap_err();
            assert_eq!(e.status(), crate::Status::InvalidArgument);
            assert!(e.message().contains("ttl_ms"), "{e}");
        }
        assert!(expiry(i64::MAX - 5, 10).unwrap_err().message().contains("overflows"));
    }

    #[test]
    fn pool_definitions_are_checked() {
        assert!(NewLeasePool::new("p", vec!["a".into(), "b".into()]).validate().is_ok());
        let e = NewLeasePool::new("p", vec![]).validate().unwrap_err();
        assert!(e.message().contains("resources is empty"), "{e}");
        let e = NewLeasePool::new("p", vec!["a".into(), "a".into()]).validate().unwrap_err();
        assert!(e.message().contains("\"a\" is listed twice"), "{e}");
        assert!(NewLeasePool::new("", vec!["a".into()]).validate().is_err());
        assert!(NewLeasePool::new("p", vec!["".into()]).validate().is_err());
        let e =
            crate::value::from_json::<NewLeasePool>("json", r#"{"name":"p","resources":["a"],"size":1}"#).unwrap_err();
        assert!(e.message().contains("unknown field `size`"), "{e}");
    }
}
