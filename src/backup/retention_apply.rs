//! Retention against the store (docs/DOMAIN.md section 4): the plan of one policy's completed
//! points, and its apply.
//!
//! [`Store::retention_plan`] plans the completed points of one policy with the policy's rules
//! and returns a [`PolicyPlan`]; [`Store::retention_apply`] (or
//! [`Store::retention_apply_json`] for a plan that went through JSON) removes the planned
//! points atomically. Apply plans again, inside its write transaction, with the plan's clock
//! and time zone and the policy's current rules, and refuses with CONFLICT, changing nothing,
//! a plan that is stale: the policy's rules changed, its points changed (the plan's
//! `fingerprint` covers every point's id, chain, parent, completion time, protection and lock),
//! or the decisions changed for another reason (a new point building on a planned removal).
//! The deletes themselves pass the same checks as a single delete, with the store's clock.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use serde::de::IgnoredAny;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};

use crate::backup::delete::remove_points;
use crate::backup::policy::load_policy;
use crate::backup::retention::{
    self, decide, instant, Builder, PointDecision, Points, RetentionRules, Why, DAY_MS, NEVER,
};
use crate::error::{echo, Error, Result};
use crate::params;
use crate::store::{Store, Tx};
use crate::value::{check_id, from_json, Timestamp};

/// A retention plan for the completed points of one policy, made by
/// [`Store::retention_plan`] and carried out by [`Store::retention_apply`].
///
/// It keeps the points compactly; [`PolicyPlan::decisions`] formats them one by one. Its JSON
/// (serde) is an object with `policy_id`, `now`, `time_zone`, `rules`, `fingerprint`,
/// `points` (how many it covers), `kept` and `removed` (how many), `keep` (`[{"id", "reasons"}]`,
/// in point order), `remove` (the ids) and `problems`; [`Store::retention_apply_json`] takes
/// that JSON back.
#[derive(Debug)]
pub struct PolicyPlan {
    policy_id: String,
    now: Timestamp,
    time_zone: String,
    rules: RetentionRules,
    fingerprint: String,
    points: Points,
    whys: Vec<Why>,
    problems: Vec<String>,
}

impl PolicyPlan {
    /// The policy planned.
    pub fn policy_id(&self) -> &str {
        &self.policy_id
    }

    /// The clock the plan was made with.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The time zone days, weeks, months and years were counted in.
    pub fn time_zone(&self) -> &str {
        &self.time_zone
    }

    /// The policy's rules when the plan was made.
    pub fn rules(&self) -> &RetentionRules {
        &self.rules
    }

    /// A digest of the points the plan covers; apply refuses the plan when it no longer matches.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Broken links found among the points; they never cause a removal.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// How many points the plan covers.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether the plan covers no point.
    pub fn is_empty(&self) -> bool {
        self.points.len() == 0
    }

    /// How many points it keeps.
    pub fn kept_count(&self) -> usize {
        self.whys.iter().filter(|w| w.keep()).count()
    }

    /// The ids of the points to remove.
    pub fn removed(&self) -> impl Iterator<Item = &str> + '_ {
        self.whys.iter().enumerate().filter(|(_, w)| !w.keep()).map(|(i, _)| self.points.ids.get(i))
    }

    /// Every decision with its reasons.
    pub fn decisions(&self) -> impl Iterator<Item = PointDecision> + '_ {
        self.whys.iter().enumerate().map(|(i, w)| PointDecision {
            id: self.points.ids.get(i).to_string(),
            keep: w.keep(),
            reasons: w.reasons(&self.points, i),
        })
    }

    /// The decision for the point `id`, if the plan covers it.
    pub fn decision(&self, id: &str) -> Option<PointDecision> {
        let i = self.points.find(id)? as usize;
        let w = &self.whys[i];
        Some(PointDecision { id: id.to_string(), keep: w.keep(), reasons: w.reasons(&self.points, i) })
    }
}

/// The kept points of a plan, serialised one by one as `{"id", "reasons"}`.
struct KeptList<'a>(&'a PolicyPlan);

impl Serialize for KeptList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Kept<'a> {
            id: &'a str,
            reasons: Vec<String>,
        }
        let plan = self.0;
        let mut seq = s.serialize_seq(None)?;
        for (i, w) in plan.whys.iter().enumerate().filter(|(_, w)| w.keep()) {
            seq.serialize_element(&Kept { id: plan.points.ids.get(i), reasons: w.reasons(&plan.points, i) })?;
        }
        seq.end()
    }
}

/// The removed ids of a plan.
struct RemovedList<'a>(&'a PolicyPlan);

impl Serialize for RemovedList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for id in self.0.removed() {
            seq.serialize_element(id)?;
        }
        seq.end()
    }
}

impl Serialize for PolicyPlan {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let kept = self.kept_count();
        let mut map = s.serialize_map(Some(11))?;
        map.serialize_entry("policy_id", &self.policy_id)?;
        map.serialize_entry("now", &self.now)?;
        map.serialize_entry("time_zone", &self.time_zone)?;
        map.serialize_entry("rules", &self.rules)?;
        map.serialize_entry("fingerprint", &self.fingerprint)?;
        map.serialize_entry("points", &self.len())?;
        map.serialize_entry("kept", &kept)?;
        map.serialize_entry("removed", &(self.len() - kept))?;
        map.serialize_entry("keep", &KeptList(self))?;
        map.serialize_entry("remove", &RemovedList(self))?;
        map.serialize_entry("problems", &self.problems)?;
        map.end()
    }
}

/// A plan as it comes back through JSON ([`Store::retention_apply_json`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanInput {
    policy_id: String,
    now: Timestamp,
    time_zone: String,
    rules: RetentionRules,
    fingerprint: String,
    points: usize,
    #[allow(dead_code)]
    kept: usize,
    removed: usize,
    #[allow(dead_code)]
    keep: IgnoredAny,
    remove: Vec<String>,
    #[allow(dead_code)]
    problems: IgnoredAny,
}

/// A 64-bit FNV-1a digest.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) -> &mut Fnv {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self
    }

    /// A field: its bytes and a separator no UTF-8 text contains.
    fn field(&mut self, bytes: &[u8]) -> &mut Fnv {
        self.bytes(bytes).bytes(&[0xff])
    }
}

/// The completed points of `policy_id`, with the minimum retention of their repositories and
/// the points outside the policy that build on them, and the fingerprint of the set (a sum of
/// per-point digests, so it does not depend on the order SQLite returns the rows in).
fn load_points(tx: &Tx<'_>, policy_id: &str) -> Result<(Points, String)> {
    let mut min_retention: HashMap<String, i64> = HashMap::new();
    tx.rows("SELECT id, min_retention_days FROM backup_repositories", params![], |r| {
        min_retention.insert(r.get(0)?, r.get(1)?);
        Ok(())
    })?;

    let n: i64 = tx.one(
        "SELECT count(*) FROM backup_jobs WHERE policy_id = :policy_id AND status = 'completed'",
        params![policy_id],
        |r| r.get(0),
    )?;
    let mut builder = Builder::with_capacity(n as usize);
    let mut key = String::new();
    let mut sum = 0u64;
    tx.rows(
        "SELECT id, vm_context_id, disk_id, repository_id, parent_backup_id, completed_at, protected, immutable_until \
         FROM backup_jobs WHERE policy_id = :policy_id AND status = 'completed'",
        params![policy_id],
        |r| {
            // Borrowed text: this runs once per point of the policy (millions on a big appliance).
            let id = r.str(0)?;
            let context = r.str(1)?;
            let disk: i64 = r.get(2)?;
            let repository = r.str(3)?;
            let parent = r.opt_str(4)?;
            let completed_at: i64 = r.get(5)?;
            let protected: bool = r.get(6)?;
            let immutable_until: Option<i64> = r.get(7)?;
            key.clear();
            let _ = write!(key, "{context}|{disk}|{repository}");
            let days = min_retention.get(repository).copied().unwrap_or(0);
            let min_until = (days > 0).then(|| completed_at.saturating_add(days.saturating_mul(DAY_MS)));
            builder.push(id, &key, parent, completed_at, protected, immutable_until, min_until)?;
            let mut digest = Fnv::new();
            digest
                .field(id.as_bytes())
                .field(key.as_bytes())
                .field(parent.unwrap_or("").as_bytes())
                .field(&completed_at.to_le_bytes())
                .field(&[u8::from(protected)])
                .field(&immutable_until.unwrap_or(NEVER).to_le_bytes());
            sum = sum.wrapping_add(digest.0);
            Ok(())
        },
    )?;

    // Holds from outside the plan: points (not completed, or of another policy) that build on
    // its points, and copies of its points in flight.
    let mut outside: Vec<(String, String)> = Vec::new();
    for sql in [
        "SELECT parent_backup_id, 'needed by ' || id || ' (outside the plan)' FROM backup_jobs \
         WHERE parent_backup_id IS NOT NULL AND NOT (status = 'completed' AND policy_id IS :policy_id)",
        "SELECT source_backup_id, 'copy ' || id || ' in flight' FROM backup_copies \
         WHERE status IN ('copying', 'verifying') AND :policy_id IS NOT NULL",
    ] {
        tx.rows(sql, params![policy_id], |r| {
            outside.push((r.get(0)?, r.get(1)?));
            Ok(())
        })?;
    }
    let mut points = builder.finish(Vec::new())?;
    let holds: Vec<(u32, String)> =
        outside.into_iter().filter_map(|(point, why)| Some((points.find(&point)?, why))).collect();
    points.hold(holds);
    Ok((points, format!("{sum:016x}")))
}

impl Store {
    /// Plan retention for the completed points of policy `policy_id` with its rules
    /// ([`crate::backup::Policy::retention_rules`]) at `now`, counting periods in the IANA
    /// time zone `time_zone`. Reads only; nothing changes until [`Store::retention_apply`].
    /// Each point also knows its repository's minimum retention, its lock window and the
    /// points outside the policy that build on it (see the module documentation).
    ///
    /// Errors: NOT_FOUND for an unknown policy, INVALID_ARGUMENT for an unknown time zone or a
    /// `now` outside the years -9999..=9999.
    pub fn retention_plan(&self, policy_id: &str, now: Timestamp, time_zone: &str) -> Result<PolicyPlan> {
        check_id("policy_id", policy_id)?;
        let zone = retention::time_zone(time_zone)?;
        instant(now.0, || "now".to_string())?;
        self.reading(|tx| {
            let rules = load_policy(tx, policy_id)?.retention_rules();
            let (points, fingerprint) = load_points(tx, policy_id)?;
            let (whys, problems) = decide(&rules, &points, now.0, &zone);
            Ok(PolicyPlan {
                policy_id: policy_id.to_string(),
                now,
                time_zone: time_zone.to_string(),
                rules,
                fingerprint,
                points,
                whys,
                problems,
            })
        })
    }

    /// Remove the points `plan` removes, atomically, and return how many. Refused with
    /// CONFLICT, changing nothing, when the plan is stale (see the module documentation), and
    /// with the refusal of [`Store::backup_delete`] when one of its points may not be deleted
    /// now by the store's clock (inside a lock window or a minimum retention).
    pub fn retention_apply(&self, plan: &PolicyPlan) -> Result<usize> {
        let remove: Vec<&str> = plan.removed().collect();
        self.apply_plan(&plan.policy_id, plan.now, &plan.time_zone, &plan.rules, &plan.fingerprint, plan.len(), remove)
    }

    /// [`Store::retention_apply`] for a plan in its JSON form. A malformed plan (not JSON,
    /// missing or unknown keys, a `remove` list that disagrees with `removed` or names a point
    /// twice) is INVALID_ARGUMENT.
    pub fn retention_apply_json(&self, plan_json: &str) -> Result<usize> {
        let plan: PlanInput = from_json("retention plan", plan_json)?;
        check_id("policy_id", &plan.policy_id).map_err(|e| e.context("retention plan"))?;
        if plan.remove.len() != plan.removed {
            return Err(Error::invalid_argument(format!(
                "retention plan: \"remove\" lists {} points but \"removed\" says {}",
                plan.remove.len(),
                plan.removed
            )));
        }
        let mut seen = HashSet::with_capacity(plan.remove.len());
        if let Some(twice) = plan.remove.iter().find(|id| !seen.insert(id.as_str())) {
            return Err(Error::invalid_argument(format!(
                "retention plan: point {:?} is listed twice in \"remove\"",
                echo(twice)
            )));
        }
        let remove: Vec<&str> = plan.remove.iter().map(String::as_str).collect();
        self.apply_plan(&plan.policy_id, plan.now, &plan.time_zone, &plan.rules, &plan.fingerprint, plan.points, remove)
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_plan(
        &self,
        policy_id: &str,
        now: Timestamp,
        time_zone: &str,
        rules: &RetentionRules,
        fingerprint: &str,
        points: usize,
        mut remove: Vec<&str>,
    ) -> Result<usize> {
        let zone = retention::time_zone(time_zone).map_err(|e| e.context("retention plan"))?;
        instant(now.0, || "retention plan: now".to_string())?;
        let stale = |why: String| {
            Error::conflict(format!(
                "the retention plan of policy {} is stale: {why}; make a new plan",
                echo(policy_id)
            ))
        };
        self.writing(|tx| {
            let current_rules = load_policy(tx, policy_id)?.retention_rules();
            if current_rules != *rules {
                return Err(stale(format!(
                    "its retention rules changed since the plan was made ({} then, {} now)",
                    serde_json::to_string(rules)?,
                    serde_json::to_string(&current_rules)?
                )));
            }
            let (current, current_fingerprint) = load_points(tx, policy_id)?;
            if current_fingerprint != fingerprint || current.len() != points {
                return Err(stale(format!(
                    "its points changed since the plan was made ({points} planned, {} now)",
                    current.len()
                )));
            }
            let (whys, _) = decide(rules, &current, now.0, &zone);
            let mut planned: Vec<&str> =
                whys.iter().enumerate().filter(|(_, w)| !w.keep()).map(|(i, _)| current.ids.get(i)).collect();
            planned.sort_unstable();
            remove.sort_unstable();
            if planned != remove {
                let kept = remove.iter().find(|id| planned.binary_search(id).is_err());
                let why = match kept {
                    Some(id) => match current.find(id) {
                        Some(i) => format!(
                            "it removes point {id}, which is now kept ({})",
                            whys[i as usize].reasons(&current, i as usize).join(", ")
                        ),
                        None => format!("it removes point {}, which the policy does not cover", echo(id)),
                    },
                    None => {
                        let id = planned.iter().find(|id| remove.binary_search(id).is_err()).expect("the lists differ");
                        format!("point {} is now removed but the plan keeps it", echo(id))
                    }
                };
                return Err(stale(why));
            }
            // The store's clock, read once the write lock is held.
            let clock = self.now_ms();
            remove_points(tx, &remove, clock).map_err(|e| e.context("applying the retention plan"))?;
            Ok(remove.len())
        })
    }
}
