//! The retention planner (docs/DOMAIN.md section 4): which backup points a policy keeps, and why.
//!
//! [`plan`] is pure and deterministic: it reads no database and no clock. Given the
//! [`RetentionRules`] of a policy, the points they govern ([`PointInfo`]), the current time and
//! an IANA time zone, it returns a [`RetentionPlan`] with one [`PointDecision`] per point, in
//! the order of the input, each saying keep or remove and every reason for keeping.
//!
//! # Semantics
//!
//! - **Per chain.** The count rules apply separately to each chain, i.e. to the points sharing
//!   a `chain_key` (context, disk and repository): `keep_last: 3` keeps three points of every
//!   disk in every repository.
//! - **Order.** Within a chain, points are considered newest first (by `completed_at`; points
//!   completed in the same millisecond are ordered by id, the greater id first, which for the
//!   time-ordered UUIDv7 ids of the library is the later one).
//! - **Count rules, in this order:** `keep_last`, `keep_daily`, `keep_weekly`,
//!   `keep_monthly`, `keep_yearly`. `keep_last: n` keeps the `n` newest points (reason
//!   `keep-last <rank>`, rank 1 being the newest). Each period rule keeps the newest point of
//!   each period (calendar day, ISO 8601 week of the ISO week-year, calendar month, calendar
//!   year, all counted in the given time zone), going back until its count is used up (reasons
//!   `keep-daily 2026-11-28`, `keep-weekly 2026-W48`, `keep-monthly 2026-11`,
//!   `keep-yearly 2026`). The rules are disjoint: a period that already holds a point kept by
//!   an earlier count rule is skipped and does not use up the later rule's count. The current,
//!   unfinished period counts like any other.
//! - **`retention_days: d`** keeps every point completed at or after `now - d × 24 h`
//!   (reason `retention-days`). It is independent of the count rules: those still count the
//!   points it keeps.
//! - **Protected points** are always kept (reason `protected`) and never counted: they use up
//!   no count and cover no period.
//! - **Immutable points** (`immutable_until > now`) are always kept (reason
//!   `immutable until <RFC 3339 time>`) and, like protected points, never counted.
//! - **Points inside their repository's minimum retention** (`min_retention_until > now`)
//!   are kept (reason `min-retention until <RFC 3339 time>`) and counted like any point.
//! - **Points another point builds on from outside the plan** (`held_by`, e.g. a failed or
//!   running incremental, or a point of another policy) are kept (reason
//!   `needed by <id> (outside the plan)`) and counted like any point; so are **points being
//!   copied** (`copy_in_flight`, reason `copy <id> in flight`), which cannot be deleted until
//!   the copy ends.
//! - **Chains are never broken.** Keeping a point keeps all its ancestors, followed through
//!   `parent_id` among the given points; an ancestor kept for no other reason gets the reason
//!   `ancestor of <id>`, naming the first kept descendant (newest first, chains in `chain_key`
//!   order) whose chain reaches it. A parent id that is not among the points, or a cycle of
//!   parent ids, is reported in [`RetentionPlan::problems`]; it never causes a removal — the
//!   ancestors that are present are kept all the same.
//! - **Everything else is removed.**
//! - **Never delete by default.** When no rule keeps anything (every rule absent or 0), every
//!   point is kept with the reason `no retention rule`.
//!
//! Planning again with the same clock over the kept points removes nothing more, and the
//! decisions and reasons do not depend on the order of the input (only the order of the
//! decisions and of the problems follows it). The cost is O(n log n) in the number of points.
//!
//! The planner works on a compact, column-wise copy of the points (ids in one string arena,
//! links as indexes, decisions as small fixed records whose reasons are formatted only when
//! read), so a year of daily points of 4,000 disks (1.46 million points) plans in a few
//! seconds within a bounded memory (see the README's benchmarks).
//!
//! Planning the points of a policy held in the store, and applying the plan, is
//! `retention_apply.rs`.

use std::collections::{HashMap, HashSet};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::error::{echo, Error, Result};
use crate::value::Timestamp;

pub(super) const DAY_MS: i64 = 86_400_000;
/// No index: a point without a (known) parent, a kept point that is no ancestor.
const NONE: u32 = u32::MAX;
/// No time: a point without a lock or a minimum retention.
pub(super) const NEVER: i64 = i64::MIN;

/// The retention settings of a policy. An absent rule and a rule of 0 keep nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionRules {
    /// Keep the newest `n` points of each chain.
    pub keep_last: Option<u32>,
    /// Keep the newest point of each of the last `n` days that have points.
    pub keep_daily: Option<u32>,
    /// Keep the newest point of each of the last `n` ISO weeks that have points.
    pub keep_weekly: Option<u32>,
    /// Keep the newest point of each of the last `n` months that have points.
    pub keep_monthly: Option<u32>,
    /// Keep the newest point of each of the last `n` years that have points.
    pub keep_yearly: Option<u32>,
    /// Keep every point completed within the last `n` days.
    pub retention_days: Option<u32>,
}

impl RetentionRules {
    /// Whether any rule would keep a point; when none does, [`plan`] keeps everything.
    pub fn keeps_something(&self) -> bool {
        [self.keep_last, self.keep_daily, self.keep_weekly, self.keep_monthly, self.keep_yearly, self.retention_days]
            .iter()
            .any(|r| r.unwrap_or(0) > 0)
    }
}

/// What the planner needs to know about one completed backup point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointInfo {
    /// The backup id; unique among the points of a plan.
    pub id: String,
    /// The chain the point belongs to: `context|disk|repository`.
    pub chain_key: String,
    /// The point this one depends on (`None` for a full).
    #[serde(default)]
    pub parent_id: Option<String>,
    /// When the point completed.
    pub completed_at: Timestamp,
    /// A protected point is never removed and never counted.
    #[serde(default)]
    pub protected: bool,
    /// The point is immutable (never removed, never counted) while this is after `now`.
    #[serde(default)]
    pub immutable_until: Option<Timestamp>,
    /// The point is inside its repository's minimum retention (kept, counted) while this is
    /// after `now`.
    #[serde(default)]
    pub min_retention_until: Option<Timestamp>,
    /// A point outside the plan that builds on this one, which is therefore kept (and counted).
    #[serde(default)]
    pub held_by: Option<String>,
    /// A copy of this point being made or verified, which keeps it (counted) until it ends.
    #[serde(default)]
    pub copy_in_flight: Option<String>,
}

/// Keep or remove one point, with every reason for keeping it (empty when removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointDecision {
    /// The backup id.
    pub id: String,
    /// Whether the point stays.
    pub keep: bool,
    /// Why it stays, e.g. `keep-daily 2026-11-28`, `protected`, `ancestor of <id>`.
    pub reasons: Vec<String>,
}

/// The outcome of [`plan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionPlan {
    /// One decision per point, in the order the points were given.
    pub decisions: Vec<PointDecision>,
    /// Broken links found among the points (missing parents, cycles); they never cause a removal.
    pub problems: Vec<String>,
}

impl RetentionPlan {
    /// The ids of the points to keep, in input order.
    pub fn kept(&self) -> impl Iterator<Item = &str> {
        self.decisions.iter().filter(|d| d.keep).map(|d| d.id.as_str())
    }

    /// The ids of the points to remove, in input order.
    pub fn removed(&self) -> impl Iterator<Item = &str> {
        self.decisions.iter().filter(|d| !d.keep).map(|d| d.id.as_str())
    }
}

/// Look up an IANA time zone (`Europe/Berlin`, `UTC`) in the time zone database bundled with
/// the library; an unknown name is `INVALID_ARGUMENT` naming it.
pub fn time_zone(name: &str) -> Result<TimeZone> {
    TimeZone::get(name)
        .map_err(|_| Error::invalid_argument(format!("time zone {:?} is not a known IANA time zone name", echo(name))))
}

/// A point in time the calendar arithmetic supports (years -9999..=9999).
pub(super) fn instant(ms: i64, what: impl FnOnce() -> String) -> Result<jiff::Timestamp> {
    jiff::Timestamp::from_millisecond(ms).map_err(|_| {
        Error::invalid_argument(format!("{}: {ms} ms is outside the supported years -9999..=9999", what()))
    })
}

/// The period rules, in the order they apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Period {
    const ALL: [Period; 4] = [Period::Daily, Period::Weekly, Period::Monthly, Period::Yearly];

    fn rule_name(self) -> &'static str {
        match self {
            Period::Daily => "keep-daily",
            Period::Weekly => "keep-weekly",
            Period::Monthly => "keep-monthly",
            Period::Yearly => "keep-yearly",
        }
    }

    /// The period of `date`, packed as `year << 16 | a << 8 | b` (month and day, the ISO week,
    /// the month): unique within one kind of period, and decodable by [`Period::label`].
    fn key(self, date: Date) -> i32 {
        let (year, a, b) = match self {
            Period::Daily => (date.year(), date.month(), date.day()),
            Period::Weekly => {
                let w = date.iso_week_date();
                (w.year(), 0, w.week())
            }
            Period::Monthly => (date.year(), date.month(), 0),
            Period::Yearly => (date.year(), 0, 0),
        };
        (i32::from(year) << 16) | (i32::from(a) << 8) | i32::from(b)
    }

    fn label(self, key: i32) -> String {
        let (year, a, b) = (key >> 16, (key >> 8) & 0xff, key & 0xff);
        match self {
            Period::Daily => format!("{year:04}-{a:02}-{b:02}"),
            Period::Weekly => format!("{year:04}-W{b:02}"),
            Period::Monthly => format!("{year:04}-{a:02}"),
            Period::Yearly => format!("{year:04}"),
        }
    }
}

/// Point ids, stored end to end in one string (one allocation for a million ids).
#[derive(Debug, Clone, Default)]
pub(super) struct Ids {
    text: String,
    ends: Vec<u32>,
}

impl Ids {
    fn with_capacity(n: usize, bytes: usize) -> Ids {
        Ids { text: String::with_capacity(bytes), ends: Vec::with_capacity(n) }
    }

    fn push(&mut self, id: &str) -> Result<()> {
        self.text.push_str(id);
        let end = u32::try_from(self.text.len())
            .map_err(|_| Error::invalid_argument("the ids of the points exceed 4 GiB together"))?;
        self.ends.push(end);
        Ok(())
    }

    pub(super) fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    fn len(&self) -> usize {
        self.ends.len()
    }
}

/// The planner's working set: the points column by column, links as indexes.
#[derive(Debug, Default)]
pub(super) struct Points {
    pub(super) ids: Ids,
    /// Point indexes sorted by id, for lookups by id.
    by_id: Vec<u32>,
    /// The rank of the point's chain key among the chain keys.
    chain: Vec<u32>,
    parent: Vec<u32>,
    completed_at: Vec<i64>,
    protected: Vec<bool>,
    immutable_until: Vec<i64>,
    min_retention_until: Vec<i64>,
    /// (point, why something outside the plan holds it), sorted.
    holds: Vec<(u32, String)>,
    /// Broken links found while resolving parents, in input order.
    problems: Vec<String>,
}

impl Points {
    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }

    pub(super) fn find(&self, id: &str) -> Option<u32> {
        self.by_id.binary_search_by(|&j| self.ids.get(j as usize).cmp(id)).ok().map(|k| self.by_id[k])
    }

    /// Why point `i` is held from outside the plan (empty when it is not).
    fn holds_of(&self, i: usize) -> impl Iterator<Item = &str> {
        let start = self.holds.partition_point(|(p, _)| (*p as usize) < i);
        self.holds[start..].iter().take_while(move |(p, _)| *p as usize == i).map(|(_, why)| why.as_str())
    }

    /// Record holds (point, reason) and keep them sorted and unique.
    pub(super) fn hold(&mut self, holds: impl IntoIterator<Item = (u32, String)>) {
        self.holds.extend(holds);
        self.holds.sort_unstable();
        self.holds.dedup();
    }

    /// Protected and immutable points are never counted by the count rules.
    fn countable(&self, i: usize, now: i64) -> bool {
        !self.protected[i] && self.immutable_until[i] <= now
    }
}

/// Collects points one by one, then resolves their chains and parents ([`Builder::finish`]).
pub(super) struct Builder {
    points: Points,
    /// The parent id of each point, "" for none.
    parents: Ids,
    /// Chain key -> number in order of first appearance.
    chains: HashMap<Box<str>, u32>,
}

impl Builder {
    pub(super) fn with_capacity(n: usize) -> Builder {
        let mut points = Points { ids: Ids::with_capacity(n, n * 36), ..Points::default() };
        for v in [&mut points.chain, &mut points.parent] {
            v.reserve_exact(n);
        }
        for v in [&mut points.completed_at, &mut points.immutable_until, &mut points.min_retention_until] {
            v.reserve_exact(n);
        }
        points.protected.reserve_exact(n);
        Builder { points, parents: Ids::with_capacity(n, n * 36), chains: HashMap::new() }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn push(
        &mut self,
        id: &str,
        chain_key: &str,
        parent: Option<&str>,
        completed_at: i64,
        protected: bool,
        immutable_until: Option<i64>,
        min_retention_until: Option<i64>,
    ) -> Result<()> {
        instant(completed_at, || format!("point {:?}: completion time", echo(id)))?;
        let next = self.chains.len() as u32;
        let chain = match self.chains.get(chain_key) {
            Some(&c) => c,
            None => *self.chains.entry(chain_key.into()).or_insert(next),
        };
        let p = &mut self.points;
        p.ids.push(id)?;
        self.parents.push(parent.unwrap_or(""))?;
        p.chain.push(chain);
        p.parent.push(NONE);
        p.completed_at.push(completed_at);
        p.protected.push(protected);
        p.immutable_until.push(immutable_until.unwrap_or(NEVER));
        p.min_retention_until.push(min_retention_until.unwrap_or(NEVER));
        Ok(())
    }

    /// Number the chains in key order, refuse duplicate ids, resolve the parents (reporting
    /// the missing ones) and sort the holds.
    pub(super) fn finish(self, holds: Vec<(u32, String)>) -> Result<Points> {
        let Builder { mut points, parents, chains } = self;
        let mut keys: Vec<(&str, u32)> = chains.iter().map(|(k, &n)| (&**k, n)).collect();
        keys.sort_unstable();
        let mut rank = vec![0u32; keys.len()];
        for (r, (_, n)) in keys.iter().enumerate() {
            rank[*n as usize] = r as u32;
        }
        for c in &mut points.chain {
            *c = rank[*c as usize];
        }

        let n = points.len();
        let mut by_id: Vec<u32> = (0..n as u32).collect();
        by_id.sort_unstable_by(|&a, &b| points.ids.get(a as usize).cmp(points.ids.get(b as usize)));
        if let Some(w) = by_id.windows(2).find(|w| points.ids.get(w[0] as usize) == points.ids.get(w[1] as usize)) {
            return Err(Error::invalid_argument(format!(
                "point {:?} is given more than once",
                echo(points.ids.get(w[0] as usize))
            )));
        }
        points.by_id = by_id;
        for i in 0..n {
            let parent = parents.get(i);
            if parent.is_empty() {
                continue;
            }
            match points.find(parent) {
                Some(j) => points.parent[i] = j,
                None => points.problems.push(format!(
                    "point {:?}: its parent {:?} is not among the points; the chain is broken there",
                    echo(points.ids.get(i)),
                    echo(parent)
                )),
            }
        }
        points.hold(holds);
        Ok(points)
    }
}

/// Why a point is kept: a fixed record, formatted into reasons only when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Why {
    flags: u8,
    /// 0: no count rule; 1: keep-last (arg = rank); 2 + n: the period rule `Period::ALL[n]`
    /// (arg = period key).
    rule: u8,
    arg: i32,
    /// The kept descendant this point is an ancestor of, or NONE.
    ancestor_of: u32,
}

const PROTECTED: u8 = 1;
const IMMUTABLE: u8 = 2;
const NO_RULE: u8 = 4;
const RETENTION_DAYS: u8 = 8;
const MIN_RETENTION: u8 = 16;
const HELD: u8 = 32;

impl Why {
    const REMOVE: Why = Why { flags: 0, rule: 0, arg: 0, ancestor_of: NONE };

    pub(super) fn keep(&self) -> bool {
        self.flags != 0 || self.rule != 0 || self.ancestor_of != NONE
    }

    fn has_reason_besides_ancestry(&self) -> bool {
        self.flags != 0 || self.rule != 0
    }

    pub(super) fn reasons(&self, points: &Points, i: usize) -> Vec<String> {
        let mut out = Vec::new();
        if self.flags & PROTECTED != 0 {
            out.push("protected".to_string());
        }
        if self.flags & IMMUTABLE != 0 {
            out.push(format!("immutable until {}", Timestamp(points.immutable_until[i])));
        }
        if self.flags & NO_RULE != 0 {
            out.push("no retention rule".to_string());
        }
        if self.flags & RETENTION_DAYS != 0 {
            out.push("retention-days".to_string());
        }
        match self.rule {
            0 => {}
            1 => out.push(format!("keep-last {}", self.arg)),
            r => {
                let period = Period::ALL[usize::from(r - 2)];
                out.push(format!("{} {}", period.rule_name(), period.label(self.arg)));
            }
        }
        if self.flags & MIN_RETENTION != 0 {
            out.push(format!("min-retention until {}", Timestamp(points.min_retention_until[i])));
        }
        if self.flags & HELD != 0 {
            out.extend(points.holds_of(i).map(str::to_string));
        }
        if out.is_empty() && self.ancestor_of != NONE {
            out.push(format!("ancestor of {}", points.ids.get(self.ancestor_of as usize)));
        }
        out
    }
}

/// Plan which of `points` the `rules` keep at `now`, counting days, ISO weeks, months and years
/// in the IANA time zone `time_zone` (see the module documentation for the rules).
///
/// Errors (`INVALID_ARGUMENT`): an unknown time zone, an id given twice, a completion time
/// or `now` outside the years -9999..=9999.
pub fn plan(rules: &RetentionRules, points: &[PointInfo], now: Timestamp, time_zone: &str) -> Result<RetentionPlan> {
    let zone = self::time_zone(time_zone)?;
    instant(now.0, || "now".to_string())?;
    let mut builder = Builder::with_capacity(points.len());
    let mut held_by = Vec::new();
    for (i, p) in points.iter().enumerate() {
        builder.push(
            &p.id,
            &p.chain_key,
            p.parent_id.as_deref(),
            p.completed_at.0,
            p.protected,
            p.immutable_until.map(|t| t.0),
            p.min_retention_until.map(|t| t.0),
        )?;
        if let Some(h) = &p.held_by {
            held_by.push((i as u32, format!("needed by {h} (outside the plan)")));
        }
        if let Some(c) = &p.copy_in_flight {
            held_by.push((i as u32, format!("copy {c} in flight")));
        }
    }
    let points = builder.finish(held_by)?;
    let (whys, problems) = decide(rules, &points, now.0, &zone);
    let decisions = whys
        .iter()
        .enumerate()
        .map(|(i, w)| PointDecision {
            id: points.ids.get(i).to_string(),
            keep: w.keep(),
            reasons: w.reasons(&points, i),
        })
        .collect();
    Ok(RetentionPlan { decisions, problems })
}

/// The decision for every point, and the problems (the builder's, then the loops found).
pub(super) fn decide(rules: &RetentionRules, points: &Points, now: i64, zone: &TimeZone) -> (Vec<Why>, Vec<String>) {
    let n = points.len();
    let mut whys = vec![Why::REMOVE; n];
    for (i, why) in whys.iter_mut().enumerate() {
        if points.protected[i] {
            why.flags |= PROTECTED;
        }
        if points.immutable_until[i] > now {
            why.flags |= IMMUTABLE;
        }
        if points.min_retention_until[i] > now {
            why.flags |= MIN_RETENTION;
        }
    }
    for (p, _) in &points.holds {
        whys[*p as usize].flags |= HELD;
    }

    let (order, chains) = chain_order(points);
    if rules.keeps_something() {
        if let Some(days) = rules.retention_days.filter(|&d| d > 0) {
            let cutoff = now.saturating_sub(i64::from(days) * DAY_MS);
            for (i, why) in whys.iter_mut().enumerate() {
                if points.completed_at[i] >= cutoff {
                    why.flags |= RETENTION_DAYS;
                }
            }
        }
        apply_count_rules(rules, points, now, zone, &order, &chains, &mut whys);
    } else {
        for why in &mut whys {
            why.flags |= NO_RULE;
        }
    }
    let mut problems = points.problems.clone();
    keep_ancestors(points, &order, &mut whys, &mut problems);
    (whys, problems)
}

/// Point indexes grouped by chain (chains in key order), newest first within a chain (ties:
/// the greater id first). Returns the order and the group boundaries.
fn chain_order(points: &Points) -> (Vec<u32>, Vec<std::ops::Range<usize>>) {
    let mut order: Vec<u32> = (0..points.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| {
        let (a, b) = (a as usize, b as usize);
        points.chain[a]
            .cmp(&points.chain[b])
            .then_with(|| points.completed_at[b].cmp(&points.completed_at[a]))
            .then_with(|| points.ids.get(b).cmp(points.ids.get(a)))
    });
    let mut ranges = Vec::new();
    let mut start = 0;
    for end in 1..=order.len() {
        if end == order.len() || points.chain[order[end] as usize] != points.chain[order[start] as usize] {
            ranges.push(start..end);
            start = end;
        }
    }
    (order, ranges)
}

fn apply_count_rules(
    rules: &RetentionRules,
    points: &Points,
    now: i64,
    zone: &TimeZone,
    order: &[u32],
    chains: &[std::ops::Range<usize>],
    whys: &mut [Why],
) {
    let count = |r: Option<u32>| r.unwrap_or(0) as usize;
    let periods: Vec<(u8, Period, usize)> =
        [rules.keep_daily, rules.keep_weekly, rules.keep_monthly, rules.keep_yearly]
            .into_iter()
            .zip(Period::ALL)
            .enumerate()
            .map(|(n, (rule, period))| (n as u8 + 2, period, count(rule)))
            .filter(|&(_, _, c)| c > 0)
            .collect();
    let keep_last = count(rules.keep_last);
    if keep_last == 0 && periods.is_empty() {
        return;
    }
    // Completion times were checked when the points were collected.
    let date = |i: usize| {
        let at = jiff::Timestamp::from_millisecond(points.completed_at[i]).expect("completion times are checked");
        zone.to_datetime(at).date()
    };

    let mut kept_here: Vec<usize> = Vec::new();
    let mut covered: HashSet<i32> = HashSet::new();
    let mut selected: HashSet<i32> = HashSet::new();
    for chain in chains {
        let chain = &order[chain.clone()];
        kept_here.clear();
        let countable = chain.iter().map(|&i| i as usize).filter(|&i| points.countable(i, now));
        for (rank, i) in countable.take(keep_last).enumerate() {
            whys[i].rule = 1;
            whys[i].arg = rank as i32 + 1;
            kept_here.push(i);
        }

        for &(rule, period, limit) in &periods {
            covered.clear();
            covered.extend(kept_here.iter().map(|&i| period.key(date(i))));
            selected.clear();
            let first_new = kept_here.len();
            for i in chain.iter().map(|&i| i as usize) {
                if selected.len() >= limit {
                    break;
                }
                if !points.countable(i, now) || whys[i].rule != 0 {
                    continue;
                }
                let key = period.key(date(i));
                if covered.contains(&key) || !selected.insert(key) {
                    continue;
                }
                whys[i].rule = rule;
                whys[i].arg = key;
                kept_here.push(i);
            }
            debug_assert!(kept_here.len() - first_new <= limit);
        }
    }
}

/// Keep every ancestor of a kept point; appends the loops found to `problems`.
fn keep_ancestors(points: &Points, order: &[u32], whys: &mut [Why], problems: &mut Vec<String>) {
    let mut walked = vec![NONE; points.len()];
    let mut stamp = 0u32;
    for start in order.iter().map(|&i| i as usize) {
        if !whys[start].has_reason_besides_ancestry() || walked[start] != NONE {
            continue;
        }
        walked[start] = stamp;
        let mut current = start;
        while points.parent[current] != NONE {
            let parent = points.parent[current] as usize;
            if walked[parent] == stamp {
                problems.push(format!(
                    "point {:?}: its chain of parents loops back to {:?}",
                    echo(points.ids.get(start)),
                    echo(points.ids.get(parent))
                ));
                break;
            }
            if walked[parent] != NONE {
                break;
            }
            walked[parent] = stamp;
            if !whys[parent].keep() {
                whys[parent].ancestor_of = start as u32;
            }
            current = parent;
        }
        stamp += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;

    const CHAIN: &str = "ctx-1|disk-2000|repo-1";

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    fn point(id: &str, at: &str) -> PointInfo {
        PointInfo {
            id: id.to_string(),
            chain_key: CHAIN.to_string(),
            parent_id: None,
            completed_at: ts(at),
            protected: false,
            immutable_until: None,
            min_retention_until: None,
            held_by: None,
            copy_in_flight: None,
        }
    }

    /// One full point per day at 12:00 UTC from `first` to `last` (inclusive), oldest first,
    /// each with its date as id.
    fn daily(first: &str, last: &str) -> Vec<PointInfo> {
        let (start, end) = (ts(&format!("{first}T12:00:00Z")).0, ts(&format!("{last}T12:00:00Z")).0);
        (0..=(end - start) / DAY_MS)
            .map(|d| {
                let at = Timestamp(start + d * DAY_MS);
                PointInfo { id: at.to_string()[..10].to_string(), ..point("", &at.to_string()) }
            })
            .collect()
    }

    /// 2019-12-01 (a Sunday of 2019-W48) to 2021-03-31 (a Wednesday of 2021-W13): 487 days,
    /// across 2019-W52, 2020-W01 (which starts on 2019-12-30), 2020-W53 (2020-12-28 to
    /// 2021-01-03), 2021-W01, the leap February 2020 and the short February 2021.
    fn year_and_more() -> Vec<PointInfo> {
        daily("2019-12-01", "2021-03-31")
    }

    const NOW: &str = "2021-04-01T00:00:00Z";

    fn run(rules: RetentionRules, points: &[PointInfo]) -> RetentionPlan {
        plan(&rules, points, ts(NOW), "UTC").unwrap()
    }

    /// Kept ids, newest first (the fixtures are oldest first).
    fn kept(plan: &RetentionPlan) -> Vec<&str> {
        let mut k: Vec<&str> = plan.kept().collect();
        k.reverse();
        k
    }

    fn reasons<'a>(plan: &'a RetentionPlan, id: &str) -> &'a [String] {
        &plan.decisions.iter().find(|d| d.id == id).unwrap().reasons
    }

    #[test]
    fn the_fixture_is_what_the_expectations_assume() {
        let points = year_and_more();
        assert_eq!(points.len(), 487);
        assert_eq!(points[0].id, "2019-12-01");
        assert_eq!(points[486].id, "2021-03-31");
    }

    #[test]
    fn keep_last_alone_keeps_the_newest_points() {
        let p = run(RetentionRules { keep_last: Some(3), ..Default::default() }, &year_and_more());
        assert_eq!(kept(&p), ["2021-03-31", "2021-03-30", "2021-03-29"]);
        assert_eq!(reasons(&p, "2021-03-31"), ["keep-last 1"]);
        assert_eq!(reasons(&p, "2021-03-29"), ["keep-last 3"]);
        assert!(reasons(&p, "2021-03-28").is_empty());
        assert_eq!(p.removed().count(), 484);
        assert!(p.problems.is_empty());
    }

    #[test]
    fn keep_daily_alone_keeps_one_point_per_day() {
        let mut points = year_and_more();
        // A second, earlier point on the newest day: the day's newest point represents it.
        points.push(point("early-31st", "2021-03-31T01:00:00Z"));
        let p = run(RetentionRules { keep_daily: Some(3), ..Default::default() }, &points);
        let mut k: Vec<&str> = p.kept().collect();
        k.sort_unstable();
        assert_eq!(k, ["2021-03-29", "2021-03-30", "2021-03-31"]);
        assert_eq!(reasons(&p, "2021-03-31"), ["keep-daily 2021-03-31"]);
        assert!(reasons(&p, "early-31st").is_empty());
    }

    #[test]
    fn keep_weekly_alone_uses_iso_weeks_across_the_year_boundary() {
        let p = run(RetentionRules { keep_weekly: Some(4), ..Default::default() }, &year_and_more());
        // 2021-03-29 is the Monday of 2021-W13; earlier weeks end on Sundays.
        assert_eq!(kept(&p), ["2021-03-31", "2021-03-28", "2021-03-21", "2021-03-14"]);
        assert_eq!(reasons(&p, "2021-03-28"), ["keep-weekly 2021-W12"]);

        let p = run(RetentionRules { keep_weekly: Some(1000), ..Default::default() }, &year_and_more());
        // 2019-W48..W52 (5 weeks) + 53 weeks of 2020 + 2021-W01..W13.
        assert_eq!(p.kept().count(), 5 + 53 + 13);
        assert_eq!(reasons(&p, "2019-12-01"), ["keep-weekly 2019-W48"]);
        assert_eq!(reasons(&p, "2019-12-29"), ["keep-weekly 2019-W52"]);
        // 2019-12-30 and 2019-12-31 belong to 2020-W01, represented by its Sunday.
        assert!(reasons(&p, "2019-12-31").is_empty());
        assert_eq!(reasons(&p, "2020-01-05"), ["keep-weekly 2020-W01"]);
        // 2020 has 53 ISO weeks; 2020-W53 ends on Sunday 2021-01-03.
        assert_eq!(reasons(&p, "2020-12-27"), ["keep-weekly 2020-W52"]);
        assert!(reasons(&p, "2020-12-31").is_empty());
        assert_eq!(reasons(&p, "2021-01-03"), ["keep-weekly 2020-W53"]);
        assert_eq!(reasons(&p, "2021-01-10"), ["keep-weekly 2021-W01"]);
        assert!(reasons(&p, "2021-01-04").is_empty());
    }

    #[test]
    fn keep_monthly_alone_keeps_the_last_day_of_each_month_including_short_februaries() {
        let p = run(RetentionRules { keep_monthly: Some(3), ..Default::default() }, &year_and_more());
        assert_eq!(kept(&p), ["2021-03-31", "2021-02-28", "2021-01-31"]);
        assert_eq!(reasons(&p, "2021-02-28"), ["keep-monthly 2021-02"]);

        let p = run(RetentionRules { keep_monthly: Some(100), ..Default::default() }, &year_and_more());
        assert_eq!(
            kept(&p),
            [
                "2021-03-31",
                "2021-02-28",
                "2021-01-31",
                "2020-12-31",
                "2020-11-30",
                "2020-10-31",
                "2020-09-30",
                "2020-08-31",
                "2020-07-31",
                "2020-06-30",
                "2020-05-31",
                "2020-04-30",
                "2020-03-31",
                "2020-02-29",
                "2020-01-31",
                "2019-12-31",
            ]
        );
        assert_eq!(reasons(&p, "2020-02-29"), ["keep-monthly 2020-02"]);
    }

    #[test]
    fn keep_yearly_alone_uses_calendar_years() {
        let p = run(RetentionRules { keep_yearly: Some(10), ..Default::default() }, &year_and_more());
        assert_eq!(kept(&p), ["2021-03-31", "2020-12-31", "2019-12-31"]);
        assert_eq!(reasons(&p, "2020-12-31"), ["keep-yearly 2020"]);
        let p = run(RetentionRules { keep_yearly: Some(2), ..Default::default() }, &year_and_more());
        assert_eq!(kept(&p), ["2021-03-31", "2020-12-31"]);
    }

    #[test]
    fn rules_are_disjoint_a_covered_period_uses_up_no_count() {
        let one = Some(1);
        let rules = RetentionRules {
            keep_last: one,
            keep_daily: one,
            keep_weekly: one,
            keep_monthly: one,
            keep_yearly: one,
            retention_days: None,
        };
        let p = run(rules, &year_and_more());
        assert_eq!(kept(&p), ["2021-03-31", "2021-03-30", "2021-03-28", "2021-02-28", "2020-12-31"]);
        assert_eq!(reasons(&p, "2021-03-31"), ["keep-last 1"]);
        assert_eq!(reasons(&p, "2021-03-30"), ["keep-daily 2021-03-30"]);
        assert_eq!(reasons(&p, "2021-03-28"), ["keep-weekly 2021-W12"]);
        assert_eq!(reasons(&p, "2021-02-28"), ["keep-monthly 2021-02"]);
        assert_eq!(reasons(&p, "2020-12-31"), ["keep-yearly 2020"]);

        // Daily keeps three days of 2021-W13, so weekly goes on with W12 and W11.
        let p =
            run(RetentionRules { keep_daily: Some(3), keep_weekly: Some(2), ..Default::default() }, &year_and_more());
        assert_eq!(kept(&p), ["2021-03-31", "2021-03-30", "2021-03-29", "2021-03-28", "2021-03-21"]);

        // keep_last covers March 2021, so monthly keeps February and January.
        let p =
            run(RetentionRules { keep_last: Some(3), keep_monthly: Some(2), ..Default::default() }, &year_and_more());
        assert_eq!(kept(&p), ["2021-03-31", "2021-03-30", "2021-03-29", "2021-02-28", "2021-01-31"]);

        // Fifteen weeks reach back to 2020-W52 (2020-W53 ends on 2021-01-03, so W52, ending
        // 2020-12-27, is the newest week to keep a point of 2020): weekly covers 2021 and 2020,
        // and yearly keeps 2019.
        let p =
            run(RetentionRules { keep_weekly: Some(15), keep_yearly: Some(1), ..Default::default() }, &year_and_more());
        assert!(reasons(&p, "2021-01-03").contains(&"keep-weekly 2020-W53".to_string()));
        assert_eq!(reasons(&p, "2020-12-27"), ["keep-weekly 2020-W52"]);
        assert_eq!(reasons(&p, "2019-12-31"), ["keep-yearly 2019"]);
        assert_eq!(p.kept().count(), 16);
    }

    #[test]
    fn retention_days_keeps_recent_points_and_is_not_counted_against_the_count_rules() {
        let p = run(RetentionRules { retention_days: Some(7), ..Default::default() }, &year_and_more());
        // Cutoff 2021-03-25T00:00Z: seven points at noon.
        assert_eq!(p.kept().count(), 7);
        assert_eq!(kept(&p).last(), Some(&"2021-03-25"));
        assert_eq!(reasons(&p, "2021-03-25"), ["retention-days"]);

        let p =
            run(RetentionRules { retention_days: Some(2), keep_last: Some(1), ..Default::default() }, &year_and_more());
        assert_eq!(kept(&p), ["2021-03-31", "2021-03-30"]);
        assert_eq!(reasons(&p, "2021-03-31"), ["retention-days", "keep-last 1"]);
    }

    #[test]
    fn without_any_rule_everything_is_kept() {
        for rules in [
            RetentionRules::default(),
            RetentionRules {
                keep_last: Some(0),
                keep_daily: Some(0),
                keep_weekly: Some(0),
                keep_monthly: Some(0),
                keep_yearly: Some(0),
                retention_days: Some(0),
            },
        ] {
            let p = run(rules, &year_and_more());
            assert_eq!(p.removed().count(), 0);
            assert!(p.decisions.iter().all(|d| d.reasons == ["no retention rule"]));
        }
    }

    #[test]
    fn days_weeks_and_years_are_counted_in_the_given_time_zone() {
        // 23:30 UTC on Saturday 2020-11-28 is 00:30 on Sunday 2020-11-29 in Berlin (UTC+1).
        let points = vec![
            point("fri-noon", "2020-11-27T12:00:00Z"),
            point("sat-noon", "2020-11-28T12:00:00Z"),
            point("sat-2330", "2020-11-28T23:30:00Z"),
        ];
        let rules = RetentionRules { keep_daily: Some(2), ..Default::default() };
        let utc = plan(&rules, &points, ts(NOW), "UTC").unwrap();
        assert_eq!(utc.kept().collect::<Vec<_>>(), ["fri-noon", "sat-2330"]);
        assert_eq!(reasons(&utc, "sat-2330"), ["keep-daily 2020-11-28"]);
        let berlin = plan(&rules, &points, ts(NOW), "Europe/Berlin").unwrap();
        assert_eq!(berlin.kept().collect::<Vec<_>>(), ["sat-noon", "sat-2330"]);
        assert_eq!(reasons(&berlin, "sat-2330"), ["keep-daily 2020-11-29"]);
        assert_eq!(reasons(&berlin, "sat-noon"), ["keep-daily 2020-11-28"]);

        // Sunday 23:30 UTC is Monday in Berlin: a new ISO week.
        let points = vec![
            point("w47", "2020-11-22T12:00:00Z"),
            point("sun-noon", "2020-11-29T12:00:00Z"),
            point("sun-2330", "2020-11-29T23:30:00Z"),
        ];
        let rules = RetentionRules { keep_weekly: Some(2), ..Default::default() };
        let utc = plan(&rules, &points, ts(NOW), "UTC").unwrap();
        assert_eq!(utc.kept().collect::<Vec<_>>(), ["w47", "sun-2330"]);
        let berlin = plan(&rules, &points, ts(NOW), "Europe/Berlin").unwrap();
        assert_eq!(berlin.kept().collect::<Vec<_>>(), ["sun-noon", "sun-2330"]);
        assert_eq!(reasons(&berlin, "sun-2330"), ["keep-weekly 2020-W49"]);

        // New Year's Eve 23:30 UTC is already 2021 in Berlin; in summer (UTC+2) 22:30 is the
        // next day.
        let points = vec![point("nye", "2020-12-31T23:30:00Z"), point("jul", "2020-07-01T22:30:00Z")];
        let rules = RetentionRules { keep_yearly: Some(5), keep_daily: Some(0), ..Default::default() };
        let berlin = plan(&rules, &points, ts(NOW), "Europe/Berlin").unwrap();
        assert_eq!(reasons(&berlin, "nye"), ["keep-yearly 2021"]);
        assert_eq!(reasons(&berlin, "jul"), ["keep-yearly 2020"]);
        let rules = RetentionRules { keep_daily: Some(5), ..Default::default() };
        let berlin = plan(&rules, &points, ts(NOW), "Europe/Berlin").unwrap();
        assert_eq!(reasons(&berlin, "jul"), ["keep-daily 2020-07-02"]);
        let utc = plan(&rules, &points, ts(NOW), "UTC").unwrap();
        assert_eq!(reasons(&utc, "jul"), ["keep-daily 2020-07-01"]);
    }

    #[test]
    fn unknown_time_zones_are_refused_by_name() {
        for bad in ["Mars/Olympus_Mons", "", "Europe/Berlin "] {
            let e = plan(&RetentionRules::default(), &[], ts(NOW), bad).unwrap_err();
            assert_eq!(e.status(), Status::InvalidArgument);
            assert!(e.message().contains(&format!("{bad:?}")), "{e}");
        }
        assert!(time_zone("UTC").is_ok());
        assert!(time_zone("America/New_York").is_ok());
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let points = vec![point("a", "2021-01-01T00:00:00Z"), point("a", "2021-01-02T00:00:00Z")];
        let e = plan(&RetentionRules::default(), &points, ts(NOW), "UTC").unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument);
        assert!(e.message().contains("\"a\""), "{e}");
    }

    #[test]
    fn protected_and_immutable_points_are_kept_and_never_counted() {
        let mut points = daily("2021-03-25", "2021-03-31");
        points[6].protected = true; // 03-31
        points[5].immutable_until = Some(ts("2021-05-01T00:00:00Z")); // 03-30
        points[4].immutable_until = Some(ts("2021-04-01T00:00:00Z")); // 03-29: lock ended at now
        points[0].protected = true; // 03-25
        points[0].immutable_until = Some(ts("2022-01-01T00:00:00Z"));
        let p = run(RetentionRules { keep_last: Some(2), ..Default::default() }, &points);
        assert_eq!(kept(&p), ["2021-03-31", "2021-03-30", "2021-03-29", "2021-03-28", "2021-03-25"]);
        assert_eq!(reasons(&p, "2021-03-31"), ["protected"]);
        assert_eq!(reasons(&p, "2021-03-30"), ["immutable until 2021-05-01T00:00:00.000Z"]);
        assert_eq!(reasons(&p, "2021-03-29"), ["keep-last 1"]);
        assert_eq!(reasons(&p, "2021-03-28"), ["keep-last 2"]);
        assert_eq!(reasons(&p, "2021-03-25"), ["protected", "immutable until 2022-01-01T00:00:00.000Z"]);

        // A protected point does not cover its day either.
        let mut points = daily("2021-03-29", "2021-03-31");
        points.push(PointInfo { protected: true, ..point("late-31st", "2021-03-31T20:00:00Z") });
        let p = run(RetentionRules { keep_daily: Some(1), ..Default::default() }, &points);
        assert_eq!(p.kept().collect::<Vec<_>>(), ["2021-03-31", "late-31st"]);
        assert_eq!(reasons(&p, "2021-03-31"), ["keep-daily 2021-03-31"]);
    }

    fn chain(ids_and_times: &[(&str, &str)], chain_key: &str) -> Vec<PointInfo> {
        let mut out: Vec<PointInfo> = Vec::new();
        for (id, at) in ids_and_times {
            let parent_id = out.last().map(|p| p.id.clone());
            out.push(PointInfo { chain_key: chain_key.to_string(), parent_id, ..point(id, at) });
        }
        out
    }

    #[test]
    fn keeping_a_point_keeps_its_ancestors() {
        // Generation 1: full f1 and incrementals i1..i3; generation 2: full f2 and i4.
        let mut points = chain(
            &[
                ("f1", "2021-03-20T12:00:00Z"),
                ("i1", "2021-03-21T12:00:00Z"),
                ("i2", "2021-03-22T12:00:00Z"),
                ("i3", "2021-03-23T12:00:00Z"),
            ],
            CHAIN,
        );
        points.extend(chain(&[("f2", "2021-03-24T12:00:00Z"), ("i4", "2021-03-25T12:00:00Z")], CHAIN));
        let p = run(RetentionRules { keep_last: Some(1), ..Default::default() }, &points);
        assert_eq!(p.kept().collect::<Vec<_>>(), ["f2", "i4"]);
        assert_eq!(reasons(&p, "f2"), ["ancestor of i4"]);

        // Keeping i3 keeps f1 through i2 and i1, which daily keeps anyway.
        let rules = RetentionRules { keep_last: Some(1), keep_daily: Some(4), ..Default::default() };
        let p = run(rules, &points);
        // keep-last: i4 (03-25); daily: f2 (03-24), i3 (03-23), i2 (03-22), i1 (03-21).
        assert_eq!(p.kept().collect::<Vec<_>>(), ["f1", "i1", "i2", "i3", "f2", "i4"]);
        assert_eq!(reasons(&p, "f1"), ["ancestor of i3"]);
        assert_eq!(reasons(&p, "i1"), ["keep-daily 2021-03-21"]);
        assert_eq!(reasons(&p, "f2"), ["keep-daily 2021-03-24"]);
        assert!(p.problems.is_empty());

        // A protected incremental keeps its whole chain.
        points[2].protected = true; // i2
        let p = run(RetentionRules { keep_last: Some(1), ..Default::default() }, &points);
        assert_eq!(p.kept().collect::<Vec<_>>(), ["f1", "i1", "i2", "f2", "i4"]);
        assert_eq!(reasons(&p, "i1"), ["ancestor of i2"]);
        assert_eq!(reasons(&p, "f1"), ["ancestor of i2"]);
    }

    #[test]
    fn rules_count_per_chain() {
        let mut points = chain(&[("a1", "2021-03-20T12:00:00Z"), ("a2", "2021-03-21T12:00:00Z")], "c|disk-a|r");
        points.extend(chain(&[("b1", "2021-03-20T13:00:00Z"), ("b2", "2021-03-21T13:00:00Z")], "c|disk-b|r"));
        let p = run(RetentionRules { keep_last: Some(1), ..Default::default() }, &points);
        assert_eq!(p.kept().collect::<Vec<_>>(), ["a1", "a2", "b1", "b2"]);
        assert_eq!(reasons(&p, "a2"), ["keep-last 1"]);
        assert_eq!(reasons(&p, "b2"), ["keep-last 1"]);
        assert_eq!(reasons(&p, "b1"), ["ancestor of b2"]);
    }

    #[test]
    fn broken_links_are_reported_and_never_remove_present_ancestors() {
        let mut points = chain(
            &[("f", "2021-03-20T12:00:00Z"), ("i1", "2021-03-21T12:00:00Z"), ("i2", "2021-03-22T12:00:00Z")],
            CHAIN,
        );
        points[0].parent_id = Some("gone".into()); // f claims a parent that is not there
        let p = run(RetentionRules { keep_last: Some(1), ..Default::default() }, &points);
        assert_eq!(p.kept().collect::<Vec<_>>(), ["f", "i1", "i2"]);
        assert_eq!(p.problems.len(), 1);
        assert!(p.problems[0].contains("\"f\"") && p.problems[0].contains("\"gone\""), "{:?}", p.problems);

        // A cycle of parents is reported, and the walk ends.
        points[0].parent_id = Some("i2".into());
        let p = run(RetentionRules { keep_last: Some(1), ..Default::default() }, &points);
        assert_eq!(p.removed().count(), 0);
        assert_eq!(p.problems.len(), 1);
        assert!(p.problems[0].contains("loops back"), "{:?}", p.problems);
    }

    #[test]
    fn plans_serialise_as_json_and_rules_refuse_unknown_keys() {
        let p = run(RetentionRules { keep_last: Some(1), ..Default::default() }, &daily("2021-03-30", "2021-03-31"));
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"decisions":[{"id":"2021-03-30","keep":false,"reasons":[]},{"id":"2021-03-31","keep":true,"reasons":["keep-last 1"]}],"problems":[]}"#
        );
        assert_eq!(serde_json::from_str::<RetentionPlan>(&json).unwrap(), p);
        let r: RetentionRules = serde_json::from_str(r#"{"keep_daily":7,"retention_days":null}"#).unwrap();
        assert_eq!(r, RetentionRules { keep_daily: Some(7), ..Default::default() });
        let e = serde_json::from_str::<RetentionRules>(r#"{"keep_hourly":1}"#).unwrap_err();
        assert!(e.to_string().contains("keep_hourly"), "{e}");
        let pi: PointInfo =
            serde_json::from_str(r#"{"id":"x","chain_key":"c|d|r","completed_at":"2021-03-30T00:00:00Z"}"#).unwrap();
        assert!(!pi.protected && pi.parent_id.is_none() && pi.immutable_until.is_none());
    }

    /// A small deterministic generator for the property tests (xorshift64).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn percent(&mut self, p: u64) -> bool {
            self.below(100) < p
        }

        fn rule(&mut self, p: u64, max: u64) -> Option<u32> {
            self.percent(p).then(|| self.below(max) as u32)
        }
    }

    const ZONES: &[&str] = &["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"];

    fn random_case(rng: &mut Rng) -> (RetentionRules, Vec<PointInfo>, Timestamp, &'static str) {
        let now = ts(NOW).0;
        let chains = 1 + rng.below(3);
        let n = rng.below(90) as usize;
        let mut points: Vec<PointInfo> = Vec::with_capacity(n);
        let mut by_chain: Vec<Vec<usize>> = vec![Vec::new(); chains as usize];
        for i in 0..n {
            let c = rng.below(chains) as usize;
            let completed_at = match points.last() {
                Some(last) if rng.percent(10) => last.completed_at,
                _ => Timestamp(now - rng.below(500 * DAY_MS as u64) as i64 + DAY_MS),
            };
            let id = format!("p{i:03}");
            let parent_id = if rng.percent(3) {
                Some(format!("missing-{i}"))
            } else if rng.percent(2) {
                Some(id.clone())
            } else if !by_chain[c].is_empty() && rng.percent(70) {
                let candidates = &by_chain[c];
                Some(points[candidates[rng.below(candidates.len() as u64) as usize]].id.clone())
            } else {
                None
            };
            let immutable_until =
                rng.percent(10).then(|| Timestamp(now + rng.below(60 * DAY_MS as u64) as i64 - 30 * DAY_MS));
            points.push(PointInfo {
                id,
                chain_key: format!("ctx|disk-{c}|repo"),
                parent_id,
                completed_at,
                protected: rng.percent(8),
                immutable_until,
                min_retention_until: None,
                held_by: None,
                copy_in_flight: None,
            });
            by_chain[c].push(i);
        }
        let rules = RetentionRules {
            keep_last: rng.rule(50, 6),
            keep_daily: rng.rule(50, 10),
            keep_weekly: rng.rule(40, 8),
            keep_monthly: rng.rule(40, 8),
            keep_yearly: rng.rule(30, 3),
            retention_days: rng.rule(25, 60),
        };
        (rules, points, Timestamp(now), ZONES[rng.below(ZONES.len() as u64) as usize])
    }

    #[test]
    fn property_plans_never_break_chains_or_touch_protected_or_immutable_points_and_are_idempotent() {
        let mut rng = Rng(0x5EED_0F5E_4DE4_5E00);
        let (mut removed, mut ancestors, mut problems, mut protected) = (0, 0, 0, 0);
        for case in 0..400 {
            let (rules, points, now, zone) = random_case(&mut rng);
            let p = plan(&rules, &points, now, zone).unwrap();
            removed += p.removed().count();
            problems += p.problems.len();
            ancestors += p.decisions.iter().filter(|d| d.reasons.iter().any(|r| r.starts_with("ancestor of"))).count();
            protected += points.iter().filter(|pt| pt.protected).count();
            let ctx = format!("case {case}: {rules:?} in {zone}");

            assert_eq!(p.decisions.len(), points.len(), "{ctx}");
            let keep: HashMap<&str, bool> = p.decisions.iter().map(|d| (d.id.as_str(), d.keep)).collect();
            for (pt, d) in points.iter().zip(&p.decisions) {
                assert_eq!(pt.id, d.id, "{ctx}: decisions are in input order");
                assert_eq!(d.keep, !d.reasons.is_empty(), "{ctx}: {d:?}");
                if pt.protected || pt.immutable_until.is_some_and(|u| u > now) {
                    assert!(d.keep, "{ctx}: protected or immutable {} removed", pt.id);
                }
                if d.keep {
                    if let Some(parent) = pt.parent_id.as_deref().and_then(|id| keep.get(id)) {
                        assert!(*parent, "{ctx}: {} kept but its parent {:?} removed", pt.id, pt.parent_id);
                    }
                }
            }
            if !rules.keeps_something() {
                assert_eq!(p.removed().count(), 0, "{ctx}");
            }

            // Deterministic, and independent of the input order.
            assert_eq!(plan(&rules, &points, now, zone).unwrap(), p, "{ctx}");
            let reversed: Vec<PointInfo> = points.iter().rev().cloned().collect();
            let r = plan(&rules, &reversed, now, zone).unwrap();
            let mut a = p.decisions.clone();
            let mut b = r.decisions;
            a.sort_by(|x, y| x.id.cmp(&y.id));
            b.sort_by(|x, y| x.id.cmp(&y.id));
            assert_eq!(a, b, "{ctx}: input order changed the plan");

            // Applying the plan and planning again removes nothing more, for the same reasons.
            let kept: Vec<PointInfo> = points.iter().filter(|pt| keep[pt.id.as_str()]).cloned().collect();
            let again = plan(&rules, &kept, now, zone).unwrap();
            let expected: Vec<PointDecision> = p.decisions.iter().filter(|d| d.keep).cloned().collect();
            assert_eq!(again.decisions, expected, "{ctx}: replanning the kept points changed the plan");
        }
        // The generator exercises what the properties are about.
        assert!(
            removed > 1000 && ancestors > 100 && problems > 50 && protected > 100,
            "{removed} {ancestors} {problems} {protected}"
        );
    }

    #[test]
    fn a_hundred_thousand_points_plan_as_expected() {
        // 100 chains of 1,000 daily points each (a full every 7th day, incrementals between).
        let start = ts("2018-06-01T03:00:00Z").0;
        let mut points = Vec::with_capacity(100_000);
        for c in 0..100 {
            for d in 0..1000i64 {
                let parent_id = (d % 7 != 0).then(|| format!("c{c}-d{}", d - 1));
                points.push(PointInfo {
                    id: format!("c{c}-d{d}"),
                    chain_key: format!("ctx-{c}|disk-2000|repo"),
                    parent_id,
                    completed_at: Timestamp(start + d * DAY_MS + c * 1000),
                    protected: false,
                    immutable_until: None,
                    min_retention_until: None,
                    held_by: None,
                    copy_in_flight: None,
                });
            }
        }
        let rules = RetentionRules {
            keep_last: Some(3),
            keep_daily: Some(7),
            keep_weekly: Some(4),
            keep_monthly: Some(12),
            keep_yearly: Some(2),
            retention_days: None,
        };
        let now = Timestamp(start + 1000 * DAY_MS);
        let p = plan(&rules, &points, now, "Europe/Berlin").unwrap();
        assert!(p.kept().count() > 100 * 20 && p.removed().count() > 100 * 900);
    }
}
