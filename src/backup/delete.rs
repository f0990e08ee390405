//! Deleting backup points, and the immutability lock windows that can refuse it
//! (docs/DOMAIN.md section 4, "Deleting a point" and "Immutability").
//!
//! One delete path ([`remove_points`]) serves single deletes ([`Store::backup_delete`]) and
//! the retention apply. Its refusals, checked in this order by [`delete_refusal`], each naming
//! the reason and changing nothing: the point is active, protected, depended on by another
//! point, has a copy in flight, is inside its repository's minimum retention, inside its lock
//! window, or has a lock window while the clock reads more than [`CLOCK_TOLERANCE_MS`] behind
//! the highest time the store has seen. Foreign keys are deferred to the commit, and each
//! affected chain is recomputed once.
//!
//! A point completing in an immutable repository gets its lock window ([`lock_window`]) in
//! the completion's transaction, widened onto every ancestor it builds on.

use std::collections::{HashMap, HashSet};

use crate::backup::chain::refresh_chain;
use crate::backup::point::{load_backup, BackupPoint, BackupStatus, BackupType};
use crate::backup::repository::{load_repository, ImmutableConfig};
use crate::error::{echo, Error, Result};
use crate::params;
use crate::replication::context;
use crate::store::{Store, Tx};
use crate::value::Timestamp;

/// How far behind the highest wall-clock time the store has seen ([`Store::clock_watermark`])
/// the clock may read before deletes that depend on a lock window are refused: 5 minutes,
/// room for NTP steps and for clocks of several hosts sharing one file.
pub const CLOCK_TOLERANCE_MS: i64 = 5 * 60 * 1000;

const DAY_MS: i64 = 86_400_000;

/// The lock window `(from, until)` of a point of `backup_type` completed at `completed_at` in
/// a repository with `config` (`None`: not immutable): from its completion plus the grace
/// period until its completion plus the minimum retention. `None` when the repository is not
/// immutable, its config does not apply to the type (fulls; incrementals and differentials),
/// or the window is empty.
pub fn lock_window(config: Option<&ImmutableConfig>, backup_type: BackupType, completed_at: i64) -> Option<(i64, i64)> {
    let config = config?;
    let applies = match backup_type {
        BackupType::Full => config.apply_to_fulls,
        BackupType::Incremental | BackupType::Differential => config.apply_to_incrementals,
    };
    let from = completed_at.saturating_add(config.grace_period_days.saturating_mul(DAY_MS));
    let until = completed_at.saturating_add(config.min_retention_days.saturating_mul(DAY_MS));
    (applies && from < until).then_some((from, until))
}

/// What a delete must know besides the point: its first dependent (with how many there are),
/// its repository's minimum retention, the clock and the highest time the store has seen.
#[derive(Debug, Clone, Copy)]
pub struct DeleteContext<'a> {
    /// The first point building on this one and the number of them.
    pub dependents: Option<(&'a str, i64)>,
    /// A copy of the point in flight (copying or verifying): its id and status.
    pub copy_in_flight: Option<(&'a str, &'a str)>,
    /// `backup_repositories.min_retention_days` of the point's repository.
    pub min_retention_days: i64,
    /// The store clock now, ms since the Unix epoch.
    pub now_ms: i64,
    /// The store's clock watermark, ms since the Unix epoch.
    pub watermark_ms: i64,
}

/// Why a point may not be deleted now, or `None`. Pure. In this order: an active point
/// (CONFLICT), a protected one (INVALID_STATE), one another point builds on (CONFLICT naming
/// it), one a worker is copying or verifying (CONFLICT naming the copy), one inside its repository's minimum retention (INVALID_STATE), one inside its lock
/// window (INVALID_STATE), and one that had a lock window while the clock reads more than
/// [`CLOCK_TOLERANCE_MS`] behind the watermark (INVALID_STATE: the clock moved backwards, so
/// no lock decision can be trusted).
pub fn delete_refusal(point: &BackupPoint, at: &DeleteContext<'_>) -> Option<Error> {
    let id = &point.id;
    if !point.status.is_terminal() {
        return Some(Error::conflict(format!(
            "backup {id} is {} (active); cancel or fail it before deleting it",
            point.status
        )));
    }
    if point.protected {
        return Some(Error::invalid_state(format!("backup {id} is protected; unprotect it before deleting it")));
    }
    if let Some((first, n)) = at.dependents {
        let others = if n > 1 { format!(" and {} more", n - 1) } else { String::new() };
        return Some(Error::conflict(format!(
            "backup {id} cannot be deleted: backup {first}{others} builds on it (delete the dependents first)"
        )));
    }
    if let Some((copy, status)) = at.copy_in_flight {
        return Some(Error::conflict(format!(
            "backup {id} cannot be deleted: its copy {copy} is {status}; let the copy finish or fail first"
        )));
    }
    let days = at.min_retention_days;
    if let (BackupStatus::Completed, Some(done), true) = (point.status, point.completed_at, days > 0) {
        let until = done.0.saturating_add(days.saturating_mul(DAY_MS));
        if at.now_ms < until {
            return Some(Error::invalid_state(format!(
                "backup {id} completed at {done} is inside the repository's minimum retention of \
                 {days} days; it can be deleted from {}",
                Timestamp(until)
            )));
        }
    }
    if let (Some(from), Some(until)) = (point.immutable_from, point.immutable_until) {
        if from.0 <= at.now_ms && at.now_ms < until.0 {
            return Some(Error::invalid_state(format!(
                "backup {id} is immutable from {from} until {until}; it can be deleted from {until}"
            )));
        }
        if at.now_ms.saturating_add(CLOCK_TOLERANCE_MS) < at.watermark_ms {
            return Some(Error::invalid_state(format!(
                "backup {id} has a lock window and the clock reads {} while the store has already seen {}: \
                 the clock moved backwards by more than {} minutes, so deletes that depend on a lock are \
                 refused until it is corrected",
                Timestamp(at.now_ms),
                Timestamp(at.watermark_ms),
                CLOCK_TOLERANCE_MS / 60_000
            )));
        }
    }
    None
}

/// The store's clock watermark (ms since the Unix epoch; 0 before the first time was seen).
pub(crate) fn clock_watermark(tx: &Tx<'_>) -> Result<i64> {
    Ok(tx.optional("SELECT high_water_ms FROM store_clock WHERE id = 1", params![], |r| r.get(0))?.unwrap_or(0))
}

/// Raise the watermark to `now` when the clock is ahead of it.
pub(crate) fn see_clock(tx: &Tx<'_>, now: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO store_clock (id, high_water_ms, updated_at) VALUES (1, max(:now, 0), :now) \
         ON CONFLICT (id) DO UPDATE SET high_water_ms = excluded.high_water_ms, updated_at = excluded.updated_at \
         WHERE excluded.high_water_ms > store_clock.high_water_ms",
        params![now],
    )?;
    Ok(())
}

/// The immutable_config of a repository when it is immutable.
pub(crate) fn repository_lock(tx: &Tx<'_>, repository_id: &str) -> Result<Option<ImmutableConfig>> {
    let (is_immutable, config): (bool, Option<String>) = tx
        .optional(
            "SELECT is_immutable, immutable_config FROM backup_repositories WHERE id = :repository_id",
            params![repository_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .ok_or_else(|| Error::not_found(format!("repository {:?} does not exist", echo(repository_id))))?;
    match (is_immutable, config) {
        (true, Some(text)) => {
            let value: serde_json::Value = serde_json::from_str(&text)?;
            Ok(Some(ImmutableConfig::from_value(&value)?))
        }
        _ => Ok(None),
    }
}

/// Widen the lock window of every ancestor of `id` to cover `from .. until` (chain-aware
/// immutability: a point an immutable point depends on stays at least as long).
pub(crate) fn extend_lock_to_ancestors(tx: &Tx<'_>, id: &str, from: i64, until: i64) -> Result<()> {
    tx.execute(
        "WITH RECURSIVE anc(id) AS ( \
           SELECT parent_backup_id FROM backup_jobs WHERE id = :id AND parent_backup_id IS NOT NULL \
           UNION \
           SELECT b.parent_backup_id FROM backup_jobs b JOIN anc ON b.id = anc.id WHERE b.parent_backup_id IS NOT NULL) \
         UPDATE backup_jobs SET immutable_from = min(coalesce(immutable_from, :from), :from), \
                                immutable_until = max(coalesce(immutable_until, :until), :until) \
         WHERE id IN (SELECT id FROM anc)",
        params![id, from, until],
    )?;
    Ok(())
}

/// What [`refusals`] found for a set of points deleted together.
struct Refusals {
    /// The first refusals, in the order of the points (each names its point and rule).
    named: Vec<Error>,
    /// How many points were refused in all.
    total: usize,
    /// The chains (context, disk, repository) the points belong to.
    chains: Vec<(String, i64, String)>,
}

/// Why each of the points `ids`, deleted together, could not be deleted on its own
/// ([`delete_refusal`], with the points among `ids` not counting as one another's
/// dependents, so a point and everything built on it can go together): at most `limit`
/// refusals named, the rest counted.
fn refusals(tx: &Tx<'_>, ids: &[&str], now: i64, limit: usize) -> Result<Refusals> {
    let watermark = clock_watermark(tx)?;
    let removing: HashSet<&str> = ids.iter().copied().collect();
    let mut min_retention: HashMap<String, i64> = HashMap::new();
    let mut chains: Vec<(String, i64, String)> = Vec::new();
    let (mut named, mut total) = (Vec::new(), 0);
    for id in ids {
        let point = load_backup(tx, id)?;
        let staying: Vec<String> = tx
            .rows("SELECT id FROM backup_jobs WHERE parent_backup_id = :id ORDER BY id", params![id], |r| r.get(0))?
            .into_iter()
            .filter(|c: &String| !removing.contains(c.as_str()))
            .collect();
        let days = match min_retention.get(&point.repository_id) {
            Some(days) => *days,
            None => {
                let days = load_repository(tx, &point.repository_id)?.min_retention_days;
                min_retention.insert(point.repository_id.clone(), days);
                days
            }
        };
        let copy: Option<(String, String)> = tx.optional(
            "SELECT id, status FROM backup_copies WHERE source_backup_id = :id AND status IN ('copying', 'verifying') \
             ORDER BY id LIMIT 1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let at = DeleteContext {
            dependents: staying.first().map(|f| (f.as_str(), staying.len() as i64)),
            copy_in_flight: copy.as_ref().map(|(c, s)| (c.as_str(), s.as_str())),
            min_retention_days: days,
            now_ms: now,
            watermark_ms: watermark,
        };
        if let Some(refusal) = delete_refusal(&point, &at) {
            total += 1;
            if named.len() < limit {
                named.push(refusal);
            }
        }
        let key = (point.vm_context_id, point.disk_id, point.repository_id);
        if !chains.contains(&key) {
            chains.push(key);
        }
    }
    Ok(Refusals { named, total, chains })
}

/// Delete the points `ids` in one transaction (the caller's): each must pass
/// [`delete_refusal`] with the points among `ids` not counting as its dependents (so a point
/// and everything built on it can go together); then every chain they belonged to is
/// recomputed once. The copies of the points go with them (ON DELETE CASCADE).
pub(crate) fn remove_points(tx: &Tx<'_>, ids: &[&str], now: i64) -> Result<()> {
    let Refusals { named, chains, .. } = refusals(tx, ids, now, 1)?;
    if let Some(refusal) = named.into_iter().next() {
        return Err(refusal);
    }
    // Parents may go before their children inside this transaction; the foreign keys are
    // checked when it commits.
    tx.execute("PRAGMA defer_foreign_keys = ON", params![])?;
    for id in ids {
        tx.execute("DELETE FROM backup_jobs WHERE id = :id", params![id])?;
    }
    for (context_id, disk_id, repository_id) in &chains {
        refresh_chain(tx, context_id, *disk_id, repository_id, now)?;
    }
    see_clock(tx, now)
}

/// How many refused points a cascade's refusal names before it only counts the rest.
const NAMED_REFUSALS: usize = 3;

/// Refuse (CONFLICT) to delete `what` (e.g. "context X") while any of its points `ids` could
/// not be deleted on its own (all of them going together, [`refusals`]): the message names the
/// first [`NAMED_REFUSALS`] points with their rule and counts the rest.
pub(crate) fn check_cascade(tx: &Tx<'_>, what: &str, ids: &[&str], now: i64) -> Result<()> {
    let Refusals { named, total, .. } = refusals(tx, ids, now, NAMED_REFUSALS)?;
    if total == 0 {
        return Ok(());
    }
    let more = if total > named.len() { format!(" (and {} more)", total - named.len()) } else { String::new() };
    let named: Vec<&str> = named.iter().map(Error::message).collect();
    let points = if total == 1 { "point" } else { "points" };
    Err(Error::conflict(format!(
        "{what} cannot be deleted: it would take along {total} backup {points} that a single delete refuses: {}{more}",
        named.join("; ")
    )))
}

impl Store {
    /// Delete a point. Refused ([`delete_refusal`]) while it is active (CONFLICT), protected
    /// (INVALID_STATE), while another point builds on it (CONFLICT naming it), inside its
    /// repository's min_retention_days counted from completed_at with the store clock, inside
    /// its lock window, or when it has a lock window and the clock moved backwards
    /// (INVALID_STATE). In the same transaction its copies go with it and its chain is updated
    /// when the point belongs to the chain's generation: pointers and counters recomputed from
    /// the generation's remaining completed points (latest = the newest of them, which is the
    /// point's parent when it was an incremental at the tip), or the chain row removed when the
    /// generation becomes empty (its full was deleted; the next backup of the disk must then
    /// be a full).
    pub fn backup_delete(&self, id: &str) -> Result<()> {
        self.writing(|tx| remove_points(tx, &[id], self.now_ms()))
    }

    /// Delete a context and everything it owns (jobs, disks, CBT history, volumes, mappings,
    /// exports, failover jobs, network mappings, group memberships, backup points, their
    /// copies and chains). Refused (CONFLICT, changing nothing) while any of its backup points
    /// could not be deleted on its own ([`delete_refusal`]: active, protected, with a copy in
    /// flight, inside its repository's minimum retention or its lock window, or locked while
    /// the clock went back; its points going together, they do not hold one another), naming
    /// the first few points with their rule and counting the rest. NOT_FOUND when there is no
    /// such context. (It lives in the backup area, above replication, because the rule that
    /// can refuse it is the backups'; replication's context module does the cascade.)
    pub fn context_delete(&self, context_id: &str) -> Result<()> {
        self.writing(|tx| {
            let now = self.now_ms();
            context::load(tx, context_id)?;
            let points: Vec<String> = tx.rows(
                "SELECT id FROM backup_jobs WHERE vm_context_id = :context_id ORDER BY created_at, id",
                params![context_id],
                |r| r.get(0),
            )?;
            if !points.is_empty() {
                let ids: Vec<&str> = points.iter().map(String::as_str).collect();
                check_cascade(tx, &format!("context {}", echo(context_id)), &ids, now)?;
                see_clock(tx, now)?;
            }
            context::delete(tx, context_id)
        })
    }

    /// The highest wall-clock time the store has seen while locking points, deleting them or
    /// applying retention (the Unix epoch for a store that has seen none). A clock more than
    /// [`CLOCK_TOLERANCE_MS`] behind it has moved backwards: see [`delete_refusal`].
    pub fn clock_watermark(&self) -> Result<Timestamp> {
        self.reading(|tx| clock_watermark(tx).map(Timestamp))
    }

    /// Protect (never removed, never counted by retention) or unprotect a point.
    pub fn backup_set_protected(&self, id: &str, protected: bool) -> Result<BackupPoint> {
        self.writing(|tx| {
            load_backup(tx, id)?;
            tx.execute("UPDATE backup_jobs SET protected = :protected WHERE id = :id", params![id, protected])?;
            load_backup(tx, id)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::point::tests::point;
    use BackupStatus::*;

    fn at(dependents: Option<(&str, i64)>, min_retention_days: i64, now_ms: i64) -> DeleteContext<'_> {
        DeleteContext { dependents, copy_in_flight: None, min_retention_days, now_ms, watermark_ms: now_ms }
    }

    #[test]
    fn delete_refusals_name_their_reason() {
        let day = 86_400_000;
        let mut p = point(Completed);
        assert!(delete_refusal(&p, &at(None, 0, 0)).is_none());
        assert!(delete_refusal(&p, &at(None, 7, 7 * day)).is_none(), "retention ends exactly at completion + days");
        let e = delete_refusal(&p, &at(None, 7, 7 * day - 1)).unwrap();
        assert_eq!(e.status(), crate::Status::InvalidState);
        assert!(e.message().contains("minimum retention of 7 days") && e.message().contains("1970-01-08"), "{e}");
        let e = delete_refusal(&p, &at(Some(("b2", 3)), 0, 0)).unwrap();
        assert_eq!(e.status(), crate::Status::Conflict);
        assert!(e.message().contains("backup b2 and 2 more builds on it"), "{e}");
        p.protected = true;
        assert!(delete_refusal(&p, &at(None, 0, 0)).unwrap().message().contains("protected"));
        for s in [Pending, Running] {
            let e = delete_refusal(&point(s), &at(None, 0, 0)).unwrap();
            assert_eq!(e.status(), crate::Status::Conflict);
            assert!(e.message().contains("(active)"), "{e}");
        }
        assert!(delete_refusal(&point(Failed), &at(None, 30, 0)).is_none(), "a failed point is no backup to retain");
        let copying = DeleteContext { copy_in_flight: Some(("copy-1", "copying")), ..at(None, 0, 0) };
        let e = delete_refusal(&point(Completed), &copying).unwrap();
        assert_eq!(e.status(), crate::Status::Conflict);
        assert!(e.message().contains("copy copy-1 is copying"), "{e}");
    }

    #[test]
    fn a_point_is_locked_inside_its_window_and_never_on_a_clock_that_went_back() {
        let day = 86_400_000;
        let mut p = point(Completed);
        p.immutable_from = Some(Timestamp(2 * day));
        p.immutable_until = Some(Timestamp(30 * day));
        assert!(delete_refusal(&p, &at(None, 0, 2 * day - 1)).is_none(), "the grace period is open");
        for now in [2 * day, 29 * day, 30 * day - 1] {
            let e = delete_refusal(&p, &at(None, 0, now)).unwrap();
            assert_eq!(e.status(), crate::Status::InvalidState);
            assert!(
                e.message().contains("immutable from 1970-01-03") && e.message().contains("until 1970-01-31"),
                "{e}"
            );
        }
        assert!(delete_refusal(&p, &at(None, 0, 30 * day)).is_none());
        let back = DeleteContext { watermark_ms: 31 * day + CLOCK_TOLERANCE_MS, ..at(None, 0, 31 * day) };
        assert!(delete_refusal(&p, &back).is_none(), "within the tolerance");
        let back = DeleteContext { watermark_ms: 40 * day, ..at(None, 0, 31 * day) };
        let e = delete_refusal(&p, &back).unwrap();
        assert_eq!(e.status(), crate::Status::InvalidState);
        assert!(e.message().contains("moved backwards"), "{e}");
        assert!(
            delete_refusal(&point(Completed), &back).is_none(),
            "a point that never had a lock does not depend on the clock"
        );
    }

    #[test]
    fn lock_windows_follow_the_repository_config() {
        let day = 86_400_000;
        let config = ImmutableConfig {
            grace_period_days: 1,
            apply_to_fulls: true,
            apply_to_incrementals: false,
            min_retention_days: 30,
        };
        assert_eq!(lock_window(None, BackupType::Full, 0), None);
        assert_eq!(lock_window(Some(&config), BackupType::Full, 5), Some((5 + day, 5 + 30 * day)));
        assert_eq!(lock_window(Some(&config), BackupType::Incremental, 5), None);
        assert_eq!(lock_window(Some(&config), BackupType::Differential, 5), None);
        let all = ImmutableConfig { apply_to_incrementals: true, ..config };
        assert_eq!(lock_window(Some(&all), BackupType::Differential, 0), Some((day, 30 * day)));
        let empty = ImmutableConfig { grace_period_days: 30, ..all };
        assert_eq!(lock_window(Some(&empty), BackupType::Full, 0), None, "an empty window locks nothing");
    }
}
