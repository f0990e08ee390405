//! Backup chains (docs/DOMAIN.md section 4): the chain of each (context, disk, repository),
//! and the restore chain of a point.
//!
//! A chain is the one `backup_chains` row of a (context, disk, repository): it points at the
//! full of the current generation and at its newest point, with the number and summed size of
//! the generation's completed points.
//!
//! Rules enforced here:
//! - the parent of a new point is found by the library from the chain ([`parent_for`]): an
//!   incremental builds on the chain's latest completed point, a differential on its full, a
//!   full on nothing; without a chain an incremental or differential is INVALID_STATE;
//! - completing a point and updating its chain is one transaction ([`chain_after_completion`]):
//!   a full starts a new generation, an incremental or differential appends to it. Points of
//!   older generations keep their parent links, so they stay restorable;
//! - deleting points updates their chains in the delete's transaction: recomputed from the
//!   generation's remaining points, or removed when the generation becomes empty;
//! - `restore_chain(point)` is the point and its ancestors back to the full, oldest first, and
//!   refuses a missing or not-completed link by name.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use serde::Serialize;

use crate::backup::point::{check_disk_index, BackupPoint, BackupStatus, BackupType};
use crate::backup::repository::load_repository;
use crate::error::{echo, Error, Result};
use crate::replication::context;
use crate::replication::{ChangeId, Decision};
use crate::store::{Record, Store, Tx};
use crate::value::{new_id, Timestamp};
use crate::{params, record};

record! {
    /// A `backup_chains` row: the current generation of one (context, disk, repository). JSON
    /// keys are the column names.
    #[allow(missing_docs)]
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct Chain in "backup_chains" {
        pub id: String,
        pub vm_context_id: String,
        pub disk_id: i64,
        pub repository_id: String,
        pub full_backup_id: Option<String>,
        pub latest_backup_id: Option<String>,
        pub total_backups: i64,
        pub total_size_bytes: i64,
        pub created_at: Timestamp,
        pub updated_at: Timestamp,
    }
}

/// How a (context, disk, repository) is named in messages.
pub(super) fn chain_name(context_id: &str, disk_id: i64, repository_id: &str) -> String {
    format!("context {} disk {disk_id} in repository {}", echo(context_id), echo(repository_id))
}

/// The parent of a new point of `backup_type`, from the chain of its (context, disk,
/// repository) (`None`: no chain). A full has none; an incremental builds on the chain's
/// latest completed point, a differential on its full; without a chain they are
/// INVALID_STATE. `name` names the chain in the message.
pub fn parent_for(backup_type: BackupType, chain: Option<&Chain>, name: &str) -> Result<Option<String>> {
    if backup_type == BackupType::Full {
        return Ok(None);
    }
    let link = chain.and_then(|c| match backup_type {
        BackupType::Incremental => c.latest_backup_id.clone(),
        _ => c.full_backup_id.clone(),
    });
    match link {
        Some(parent) => Ok(Some(parent)),
        None => Err(Error::invalid_state(format!(
            "no completed full backup of {name} to build on; an {backup_type} backup needs one (start a full backup)"
        ))),
    }
}

/// The pointers and counters of a chain generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// The full at the root.
    pub full_backup_id: String,
    /// The newest completed point.
    pub latest_backup_id: String,
    /// Completed points in the generation.
    pub total_backups: i64,
    /// Their summed `size_bytes`.
    pub total_size_bytes: i64,
}

/// The generation after point `id` of `backup_type` and `size_bytes` completed on top of
/// `current`: a full starts a new one, an incremental or differential appends (latest = it,
/// one more point, its size added). Appending without a generation is INVALID_STATE.
pub fn chain_after_completion(
    current: Option<&Generation>,
    id: &str,
    backup_type: BackupType,
    size_bytes: i64,
) -> Result<Generation> {
    match (backup_type, current) {
        (BackupType::Full, _) => Ok(Generation {
            full_backup_id: id.to_string(),
            latest_backup_id: id.to_string(),
            total_backups: 1,
            total_size_bytes: size_bytes,
        }),
        (_, Some(g)) => Ok(Generation {
            full_backup_id: g.full_backup_id.clone(),
            latest_backup_id: id.to_string(),
            total_backups: g.total_backups + 1,
            total_size_bytes: g.total_size_bytes.saturating_add(size_bytes),
        }),
        (_, None) => Err(Error::invalid_state(format!(
            "{backup_type} backup {} cannot complete: its chain has no full backup any more",
            echo(id)
        ))),
    }
}

pub(super) fn load_chain(tx: &Tx<'_>, context_id: &str, disk_id: i64, repository_id: &str) -> Result<Option<Chain>> {
    tx.record(
        "WHERE vm_context_id = :context_id AND disk_id = :disk_id AND repository_id = :repository_id",
        params![context_id, disk_id, repository_id],
    )
}

fn generation_of(chain: &Chain) -> Option<Generation> {
    Some(Generation {
        full_backup_id: chain.full_backup_id.clone()?,
        latest_backup_id: chain.latest_backup_id.clone()?,
        total_backups: chain.total_backups,
        total_size_bytes: chain.total_size_bytes,
    })
}

/// The completed points of the generation rooted at `full_id`, newest first by (completed_at,
/// created_at, id), as (id, size_bytes).
fn generation_points(tx: &Tx<'_>, full_id: &str) -> Result<Vec<(String, i64)>> {
    tx.rows(
        "WITH RECURSIVE gen(id) AS ( \
           SELECT id FROM backup_jobs WHERE id = :full_id AND status = 'completed' \
           UNION \
           SELECT b.id FROM backup_jobs b JOIN gen ON b.parent_backup_id = gen.id WHERE b.status = 'completed') \
         SELECT j.id, j.size_bytes FROM gen JOIN backup_jobs j ON j.id = gen.id \
         ORDER BY j.completed_at DESC, j.created_at DESC, j.id DESC",
        params![full_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Point `b` (of `size_bytes`) completed: create or update the chain of its (context, disk,
/// repository) as [`chain_after_completion`] says. Runs inside the completion's transaction.
pub(super) fn record_completion(tx: &Tx<'_>, b: &BackupPoint, size_bytes: i64, now: i64) -> Result<()> {
    let chain = load_chain(tx, &b.vm_context_id, b.disk_id, &b.repository_id)?;
    let current = chain.as_ref().and_then(generation_of);
    let next = chain_after_completion(current.as_ref(), &b.id, b.backup_type, size_bytes)?;
    match chain {
        // An append keeps the full: leave its column (and index entry) alone.
        Some(c) if c.full_backup_id.as_deref() == Some(next.full_backup_id.as_str()) => {
            tx.execute(
                "UPDATE backup_chains SET latest_backup_id = :latest_backup_id, total_backups = :total_backups, \
                 total_size_bytes = :total_size_bytes, updated_at = :now WHERE id = :id",
                params![
                    id = c.id,
                    latest_backup_id = next.latest_backup_id,
                    total_backups = next.total_backups,
                    total_size_bytes = next.total_size_bytes,
                    now
                ],
            )?;
        }
        Some(c) => {
            tx.execute(
                "UPDATE backup_chains SET full_backup_id = :full_backup_id, latest_backup_id = :latest_backup_id, \
                 total_backups = :total_backups, total_size_bytes = :total_size_bytes, updated_at = :now \
                 WHERE id = :id",
                params![
                    id = c.id,
                    full_backup_id = next.full_backup_id,
                    latest_backup_id = next.latest_backup_id,
                    total_backups = next.total_backups,
                    total_size_bytes = next.total_size_bytes,
                    now
                ],
            )?;
        }
        None => {
            tx.execute(
                "INSERT INTO backup_chains (id, vm_context_id, disk_id, repository_id, full_backup_id, \
                 latest_backup_id, total_backups, total_size_bytes, created_at, updated_at) \
                 VALUES (:id, :vm_context_id, :disk_id, :repository_id, :full_backup_id, :latest_backup_id, \
                 :total_backups, :total_size_bytes, :now, :now)",
                params![
                    id = new_id(),
                    vm_context_id = b.vm_context_id,
                    disk_id = b.disk_id,
                    repository_id = b.repository_id,
                    full_backup_id = next.full_backup_id,
                    latest_backup_id = next.latest_backup_id,
                    total_backups = next.total_backups,
                    total_size_bytes = next.total_size_bytes,
                    now
                ],
            )?;
        }
    }
    Ok(())
}

/// Recompute a chain's pointers and counters from its generation's remaining completed
/// points, or remove the chain row when none remains.
pub(super) fn refresh_chain(tx: &Tx<'_>, context_id: &str, disk_id: i64, repository_id: &str, now: i64) -> Result<()> {
    let Some(chain) = load_chain(tx, context_id, disk_id, repository_id)? else {
        return Ok(());
    };
    let points = match &chain.full_backup_id {
        Some(full) => generation_points(tx, full)?,
        None => Vec::new(),
    };
    match points.first() {
        None => {
            tx.execute("DELETE FROM backup_chains WHERE id = :id", params![id = chain.id])?;
        }
        Some((latest, _)) => {
            let size: i64 = points.iter().map(|(_, s)| *s).sum();
            let total = points.len() as i64;
            if chain.latest_backup_id.as_deref() != Some(latest.as_str())
                || chain.total_backups != total
                || chain.total_size_bytes != size
            {
                tx.execute(
                    "UPDATE backup_chains SET latest_backup_id = :latest, total_backups = :total, \
                     total_size_bytes = :size, updated_at = :now WHERE id = :id",
                    params![id = chain.id, latest, total, size, now],
                )?;
            }
        }
    }
    Ok(())
}

impl Store {
    /// Decide full vs incremental for the next backup of disk `disk_id` (its index) of a
    /// context into a repository, from a snapshot whose change id is `snapshot_change_id` (the
    /// CBT rules of [`crate::replication::cbt::decide`], scoped to context, disk and repository). The base
    /// is the change id of the chain's latest completed point, which is exactly the parent an
    /// incremental started now gets, so the decision and [`Store::backup_start`] agree. A
    /// disk without a chain, or whose latest point recorded no change id, has no base.
    /// NOT_FOUND names an unknown context or repository; an invalid snapshot change id is
    /// INVALID_ARGUMENT.
    pub fn backup_cbt_decide(
        &self,
        context_id: &str,
        disk_id: i64,
        repository_id: &str,
        snapshot_change_id: &str,
    ) -> Result<Decision> {
        check_disk_index(disk_id)?;
        let snapshot = ChangeId::parse(snapshot_change_id).map_err(|e| e.context("the snapshot's change id"))?;
        self.reading(|tx| {
            let base: Option<Option<String>> = tx.optional(
                "SELECT j.change_id FROM backup_chains c JOIN backup_jobs j ON j.id = c.latest_backup_id \
                 WHERE c.vm_context_id = :context_id AND c.disk_id = :disk_id AND c.repository_id = :repository_id",
                params![context_id, disk_id, repository_id],
                |r| r.get(0),
            )?;
            if base.is_none() {
                context::load(tx, context_id)?;
                load_repository(tx, repository_id)?;
            }
            Ok(crate::replication::cbt::decide(base.flatten().as_deref(), &snapshot, false))
        })
    }

    /// The chain of (context, disk, repository); NOT_FOUND when it has none.
    pub fn chain_get(&self, context_id: &str, disk_id: i64, repository_id: &str) -> Result<Chain> {
        check_disk_index(disk_id)?;
        self.reading(|tx| {
            load_chain(tx, context_id, disk_id, repository_id)?.ok_or_else(|| {
                Error::not_found(format!(
                    "there is no backup chain of {}",
                    chain_name(context_id, disk_id, repository_id)
                ))
            })
        })
    }

    /// The chains of a context, by disk then repository; NOT_FOUND when the context does not exist.
    pub fn chain_list(&self, context_id: &str) -> Result<Vec<Chain>> {
        self.reading(|tx| {
            context::load(tx, context_id)?;
            tx.records("WHERE vm_context_id = :context_id ORDER BY disk_id, repository_id", params![context_id])
        })
    }

    /// What restoring `backup_id` needs: the full, then each point building on it, up to and
    /// including `backup_id`. INVALID_STATE naming the link when one is missing, not
    /// completed, has no parent while not a full, or when the parent links loop; NOT_FOUND
    /// when `backup_id` itself does not exist.
    ///
    /// One recursive query reads every link, from the point up its parent links while the
    /// link is completed, not a full and has a parent (UNION: a link read twice, where the
    /// links loop, ends the walk); the checks then run on the rows read, in walk order.
    pub fn restore_chain(&self, backup_id: &str) -> Result<Vec<BackupPoint>> {
        static WALK_SQL: OnceLock<String> = OnceLock::new();
        let sql = WALK_SQL.get_or_init(|| {
            format!(
                "WITH RECURSIVE walk(link) AS ( \
                   SELECT :backup_id \
                   UNION \
                   SELECT b.parent_backup_id FROM walk JOIN backup_jobs b ON b.id = walk.link \
                   WHERE b.status = 'completed' AND b.backup_type <> 'full' AND b.parent_backup_id IS NOT NULL) \
                 SELECT {} FROM walk CROSS JOIN backup_jobs ON backup_jobs.id = walk.link",
                BackupPoint::COLUMNS
            )
        });
        let mut links = self.reading(|tx| {
            let mut links = HashMap::new();
            tx.rows(sql, params![backup_id], |r| {
                let link = BackupPoint::from_row(r)?;
                links.insert(link.id.clone(), link);
                Ok(())
            })?;
            Ok(links)
        })?;
        let Some(mut point) = links.remove(backup_id) else {
            return Err(Error::not_found(format!("backup {:?} does not exist", echo(backup_id))));
        };
        let mut chain = Vec::with_capacity(links.len() + 1);
        let mut seen = HashSet::with_capacity(links.len() + 1);
        loop {
            if point.status != BackupStatus::Completed {
                return Err(Error::invalid_state(format!(
                    "backup {} cannot be restored: link {} is {}, not completed",
                    echo(backup_id),
                    point.id,
                    point.status
                )));
            }
            seen.insert(point.id.clone());
            if point.backup_type == BackupType::Full {
                chain.push(point);
                break;
            }
            let Some(parent) = point.parent_backup_id.clone() else {
                return Err(Error::invalid_state(format!(
                    "backup {} cannot be restored: link {} has no parent and is not a full backup",
                    echo(backup_id),
                    point.id
                )));
            };
            let child = point.id.clone();
            chain.push(point);
            point = match links.remove(&parent) {
                Some(next) => next,
                // Already walked (every link walked is completed): the links loop there.
                None if seen.contains(&parent) => {
                    return Err(Error::invalid_state(format!(
                        "backup {} cannot be restored: its parent links loop at {parent}",
                        echo(backup_id)
                    )))
                }
                None => {
                    return Err(Error::invalid_state(format!(
                        "backup {} cannot be restored: link {parent} (parent of {child}) does not exist",
                        echo(backup_id)
                    )))
                }
            };
        }
        chain.reverse();
        Ok(chain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(full: Option<&str>, latest: Option<&str>) -> Chain {
        Chain {
            id: "c".into(),
            vm_context_id: "ctx".into(),
            disk_id: 0,
            repository_id: "r".into(),
            full_backup_id: full.map(String::from),
            latest_backup_id: latest.map(String::from),
            total_backups: 2,
            total_size_bytes: 30,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn the_parent_comes_from_the_chain() {
        let c = chain(Some("full"), Some("latest"));
        assert_eq!(parent_for(BackupType::Full, Some(&c), "x").unwrap(), None);
        assert_eq!(parent_for(BackupType::Full, None, "x").unwrap(), None);
        assert_eq!(parent_for(BackupType::Incremental, Some(&c), "x").unwrap().as_deref(), Some("latest"));
        assert_eq!(parent_for(BackupType::Differential, Some(&c), "x").unwrap().as_deref(), Some("full"));
        for t in [BackupType::Incremental, BackupType::Differential] {
            for ch in [None, Some(chain(None, None))] {
                let e = parent_for(t, ch.as_ref(), "context c disk 1 in repository r").unwrap_err();
                assert_eq!(e.status(), crate::Status::InvalidState);
                assert!(
                    e.message().starts_with("no completed full backup of context c disk 1 in repository r to build on"),
                    "{e}"
                );
            }
        }
    }

    #[test]
    fn completion_starts_or_extends_a_generation() {
        let first = chain_after_completion(None, "f1", BackupType::Full, 100).unwrap();
        assert_eq!(
            first,
            Generation {
                full_backup_id: "f1".into(),
                latest_backup_id: "f1".into(),
                total_backups: 1,
                total_size_bytes: 100
            }
        );
        let second = chain_after_completion(Some(&first), "i1", BackupType::Incremental, 10).unwrap();
        assert_eq!((second.full_backup_id.as_str(), second.latest_backup_id.as_str()), ("f1", "i1"));
        assert_eq!((second.total_backups, second.total_size_bytes), (2, 110));
        let third = chain_after_completion(Some(&second), "d1", BackupType::Differential, 20).unwrap();
        assert_eq!((third.latest_backup_id.as_str(), third.total_backups, third.total_size_bytes), ("d1", 3, 130));
        let fresh = chain_after_completion(Some(&third), "f2", BackupType::Full, 50).unwrap();
        assert_eq!((fresh.full_backup_id.as_str(), fresh.total_backups, fresh.total_size_bytes), ("f2", 1, 50));
        let e = chain_after_completion(None, "i9", BackupType::Incremental, 1).unwrap_err();
        assert_eq!(e.status(), crate::Status::InvalidState);
    }
}
