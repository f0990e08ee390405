//! Immutability and retention against real database files: lock windows set at completion and
//! extended to ancestors, deletes refused inside them and on a clock that went backwards,
//! policies' keep-* rules, plans with their reasons, atomic apply, stale and malformed plans
//! refused without a change, and a property test over random backup histories.

use super::local;
use crate::common::Rng;
use crate::fixtures::{assert_refused, TempStore};
use std::collections::{HashMap, HashSet};

use serde_json::json;

use sendense::backup::PolicyPlan;
use sendense::backup::{BackupType, StartBackup};
use sendense::backup::{ImmutableConfig, NewPolicy, NewRepository, PolicyUpdate};
use sendense::replication::NewContext;
use sendense::{ManualClock, Status, Store, Timestamp};

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const DAY: i64 = 86_400_000;

struct Fixture {
    store: Store,
    clock: ManualClock,
    ctx: String,
    repo: String,
    policy: String,
    _dir: tempfile::TempDir,
}

fn immutable(name: &str, grace: i64, fulls: bool, incrementals: bool, days: i64) -> NewRepository {
    NewRepository {
        is_immutable: true,
        immutable_config: Some(ImmutableConfig {
            grace_period_days: grace,
            apply_to_fulls: fulls,
            apply_to_incrementals: incrementals,
            min_retention_days: days,
        }),
        ..local(name)
    }
}

fn fixture_with(repo: NewRepository, policy: impl FnOnce(NewPolicy) -> NewPolicy) -> Fixture {
    let TempStore { store, clock, dir } = TempStore::new(T0);
    let ctx = store.context_create(&NewContext::new("db-01", "vm-7", "/dc/vm/db-01", "vc", "dc")).unwrap();
    let repo = store.repository_create(&repo).unwrap();
    let policy = store.policy_create(&policy(NewPolicy::new("nightly", &repo))).unwrap();
    Fixture { store, clock, ctx, repo, policy, _dir: dir }
}

fn fixture(policy: impl FnOnce(NewPolicy) -> NewPolicy) -> Fixture {
    fixture_with(local("main"), policy)
}

impl Fixture {
    fn start(&self, disk: i64, t: BackupType, id: &str) -> String {
        let mut s = StartBackup::new(&self.ctx, disk, &self.repo, t, format!("/srv/main/{id}.qcow2"));
        s.id = Some(id.to_string());
        s.policy_id = Some(self.policy.clone());
        self.store.backup_start(&s).unwrap_or_else(|e| panic!("start {id}: {e}"))
    }

    /// Start, run and complete a point at the current clock.
    fn backup(&self, disk: i64, t: BackupType, id: &str) -> String {
        let id = self.start(disk, t, id);
        self.store.backup_set_running(&id).unwrap();
        self.store.backup_complete(&id, None, 100, 100).unwrap();
        id
    }

    /// One point a day at 01:00 for the days `days` counted from T0 (day 0): a full every
    /// `full_every` days, incrementals between. Leaves the clock at the last completion.
    fn daily(&self, disk: i64, days: std::ops::Range<i64>, full_every: i64) -> Vec<String> {
        days.map(|d| {
            self.clock.set(T0 + d * DAY + 3_600_000 + disk * 1000);
            let t = if d % full_every == 0 { BackupType::Full } else { BackupType::Incremental };
            self.backup(disk, t, &format!("d{disk}-{d:03}"))
        })
        .collect()
    }

    fn plan(&self, now: i64) -> PolicyPlan {
        self.store.retention_plan(&self.policy, Timestamp(now), "UTC").unwrap()
    }

    fn ids(&self) -> HashSet<String> {
        self.store
            .read(|tx| {
                let mut stmt = tx.prepare("SELECT id FROM backup_jobs")?;
                let ids = stmt.query_map([], |r| r.get(0))?.collect::<Result<HashSet<String>, _>>()?;
                Ok(ids)
            })
            .unwrap()
    }
}

fn reasons(plan: &PolicyPlan, id: &str) -> Vec<String> {
    plan.decision(id).unwrap_or_else(|| panic!("{id} is not in the plan")).reasons
}

/// Every chain's pointers and counters equal a recomputation from its generation's points.
fn assert_chains_consistent(store: &Store) {
    let bad: Vec<String> = store
        .read(|tx| {
            let mut stmt = tx.prepare(
                "WITH RECURSIVE gen(chain, id) AS ( \
                   SELECT c.id, c.full_backup_id FROM backup_chains c \
                   UNION SELECT gen.chain, b.id FROM backup_jobs b JOIN gen ON b.parent_backup_id = gen.id \
                   WHERE b.status = 'completed') \
                 SELECT c.id FROM backup_chains c WHERE \
                   c.total_backups IS NOT (SELECT count(*) FROM gen JOIN backup_jobs j ON j.id = gen.id \
                                           WHERE gen.chain = c.id AND j.status = 'completed') \
                   OR c.total_size_bytes IS NOT (SELECT coalesce(sum(j.size_bytes), 0) FROM gen \
                                           JOIN backup_jobs j ON j.id = gen.id WHERE gen.chain = c.id AND j.status = 'completed') \
                   OR c.latest_backup_id IS NOT (SELECT j.id FROM gen JOIN backup_jobs j ON j.id = gen.id \
                                           WHERE gen.chain = c.id AND j.status = 'completed' \
                                           ORDER BY j.completed_at DESC, j.created_at DESC, j.id DESC LIMIT 1)",
            )?;
            let ids = stmt.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
            Ok(ids)
        })
        .unwrap();
    assert!(bad.is_empty(), "inconsistent chains: {bad:?}");
    assert!(store.integrity_check().unwrap().ok);
}

// ------------------------------------------------------------------------------------------
// Immutability
// ------------------------------------------------------------------------------------------

#[test]
fn a_point_is_locked_from_completion_plus_grace_until_completion_plus_minimum_retention() {
    let f = fixture_with(immutable("vault", 1, true, true, 30), |p| p);
    let full = f.backup(0, BackupType::Full, "f1");
    let b = f.store.backup_get(&full).unwrap();
    assert_eq!(b.immutable_from, Some(Timestamp(T0 + DAY)));
    assert_eq!(b.immutable_until, Some(Timestamp(T0 + 30 * DAY)));
    assert_eq!(f.store.clock_watermark().unwrap(), Timestamp(T0), "locking records the clock");

    // Inside the grace period the point may still go.
    f.clock.set(T0 + DAY - 1);
    f.store.backup_delete(&full).unwrap();

    f.clock.set(T0);
    let full = f.backup(0, BackupType::Full, "f2");
    for at in [T0 + DAY, T0 + 29 * DAY] {
        f.clock.set(at);
        assert_refused(&f.store, Status::InvalidState, &["f2", "immutable from", "until 2026-01-31"], || {
            f.store.backup_delete(&full)
        });
    }
    f.clock.set(T0 + 30 * DAY);
    f.store.backup_delete(&full).unwrap();
    assert!(f.store.backup_get(&full).is_err());
}

#[test]
fn the_lock_follows_the_config_and_extends_to_the_ancestors() {
    // Only incrementals are locked, but the full they depend on must stay as long.
    let f = fixture_with(immutable("vault", 0, false, true, 10), |p| p);
    let full = f.backup(0, BackupType::Full, "f1");
    assert_eq!(f.store.backup_get(&full).unwrap().immutable_until, None, "fulls are not locked");
    f.clock.set(T0 + 2 * DAY);
    let i1 = f.backup(0, BackupType::Incremental, "i1");
    f.clock.set(T0 + 5 * DAY);
    let i2 = f.backup(0, BackupType::Incremental, "i2");
    let window = |id: &str| {
        let b = f.store.backup_get(id).unwrap();
        (b.immutable_from.map(|t| t.0), b.immutable_until.map(|t| t.0))
    };
    assert_eq!(window(&i2), (Some(T0 + 5 * DAY), Some(T0 + 15 * DAY)));
    assert_eq!(window(&i1), (Some(T0 + 2 * DAY), Some(T0 + 15 * DAY)), "i1 is held as long as i2");
    assert_eq!(window(&full), (Some(T0 + 2 * DAY), Some(T0 + 15 * DAY)), "the full too");

    // Past i1's own lock but inside i2's: i1 is both depended on and locked.
    f.clock.set(T0 + 13 * DAY);
    assert_refused(&f.store, Status::Conflict, &["i1", "i2 builds on it"], || f.store.backup_delete(&i1));
    assert_refused(&f.store, Status::InvalidState, &["i2", "immutable"], || f.store.backup_delete(&i2));
    f.clock.set(T0 + 15 * DAY);
    for id in [&i2, &i1, &full] {
        f.store.backup_delete(id).unwrap();
    }
    assert_chains_consistent(&f.store);
}

#[test]
fn deletes_that_depend_on_a_lock_are_refused_while_the_clock_is_behind_what_the_store_saw() {
    let f = fixture_with(immutable("vault", 0, true, true, 30), |p| p);
    let locked = f.backup(0, BackupType::Full, "locked");
    let other_repo = f.store.repository_create(&local("plain")).unwrap();
    let mut s = StartBackup::new(&f.ctx, 1, &other_repo, BackupType::Full, "/srv/plain/x.qcow2");
    s.id = Some("plain".into());
    f.store.backup_start(&s).unwrap();
    f.store.backup_set_running("plain").unwrap();
    f.store.backup_complete("plain", None, 1, 1).unwrap();

    // A delete 40 days on records that time.
    f.clock.set(T0 + 40 * DAY);
    f.store.backup_delete("plain").unwrap();
    assert_eq!(f.store.clock_watermark().unwrap(), Timestamp(T0 + 40 * DAY));

    // The clock is set back 9 days: by its reading the lock is over, but it cannot be trusted.
    f.clock.set(T0 + 31 * DAY);
    assert_refused(&f.store, Status::InvalidState, &["locked", "moved backwards", "2026-02-10"], || {
        f.store.backup_delete(&locked)
    });
    // Within the tolerance (5 minutes) a clock a little behind is fine.
    f.clock.set(T0 + 40 * DAY - 4 * 60_000);
    f.store.backup_delete(&locked).unwrap();
    assert_eq!(f.store.clock_watermark().unwrap(), Timestamp(T0 + 40 * DAY), "the watermark never goes down");
}

// ------------------------------------------------------------------------------------------
// Policies' retention rules
// ------------------------------------------------------------------------------------------

#[test]
fn policies_carry_the_keep_rules() {
    let f = fixture(|p| NewPolicy { keep_last: Some(3), keep_weekly: Some(4), retention_days: 0, ..p });
    let p = f.store.policy_get(&f.policy).unwrap();
    assert_eq!((p.keep_last, p.keep_daily, p.keep_weekly), (Some(3), None, Some(4)));
    let rules = p.retention_rules();
    assert_eq!((rules.keep_last, rules.keep_weekly, rules.retention_days), (Some(3), Some(4), None));
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["keep_last"], 3);
    assert!(json["keep_monthly"].is_null());

    let update: PolicyUpdate =
        sendense::value::from_json("update", r#"{"keep_last": null, "keep_yearly": 2, "retention_days": 7}"#).unwrap();
    let p = f.store.policy_update(&f.policy, &update).unwrap();
    assert_eq!((p.keep_last, p.keep_yearly, p.retention_days), (None, Some(2), 7));

    let bad: PolicyUpdate = sendense::value::from_json("update", r#"{"keep_daily": -1}"#).unwrap();
    assert_refused(&f.store, Status::InvalidArgument, &["keep_daily", "-1"], || f.store.policy_update(&f.policy, &bad));
    let repo = f.repo.clone();
    assert_refused(&f.store, Status::InvalidArgument, &["keep_monthly"], || {
        f.store.policy_create(&NewPolicy { keep_monthly: Some(-2), ..NewPolicy::new("bad", &repo) })
    });
}

// ------------------------------------------------------------------------------------------
// Plans and apply
// ------------------------------------------------------------------------------------------

#[test]
fn a_plan_keeps_the_rules_points_with_their_ancestors_and_apply_removes_the_rest() {
    // Two disks, 21 daily points each, a full every 7 days.
    let f = fixture(|p| NewPolicy { keep_last: Some(2), keep_weekly: Some(2), retention_days: 0, ..p });
    for disk in 0..2 {
        f.daily(disk, 0..21, 7);
    }
    let now = T0 + 21 * DAY;
    let plan = f.plan(now);
    assert_eq!(plan.len(), 42);
    assert!(plan.problems().is_empty(), "{:?}", plan.problems());
    // keep-last: days 20 and 19 (2026-01-21 and -20, in 2026-W04); keep-weekly skips W04,
    // covered by keep-last, and takes the newest points of W03 (Sunday 01-18, day 17) and W02
    // (Sunday 01-11, day 10). Incrementals form one line from their full, so keeping day 20
    // keeps days 14..19 and keeping day 10 keeps days 7..9.
    assert_eq!(reasons(&plan, "d0-020"), ["keep-last 1"]);
    assert_eq!(reasons(&plan, "d0-019"), ["keep-last 2"]);
    assert_eq!(reasons(&plan, "d0-017"), ["keep-weekly 2026-W03"]);
    assert_eq!(reasons(&plan, "d0-010"), ["keep-weekly 2026-W02"]);
    assert_eq!(reasons(&plan, "d0-018"), ["ancestor of d0-020"]);
    assert_eq!(reasons(&plan, "d0-014"), ["ancestor of d0-020"]);
    assert_eq!(reasons(&plan, "d0-007"), ["ancestor of d0-010"]);
    assert_eq!(reasons(&plan, "d0-003"), Vec::<String>::new());
    let mut removed: Vec<&str> = plan.removed().collect();
    removed.sort();
    let expected: Vec<String> =
        (0..2).flat_map(|d| [0, 1, 2, 3, 4, 5, 6, 11, 12, 13].map(move |n| format!("d{d}-{n:03}"))).collect();
    assert_eq!(removed, expected.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(plan.kept_count(), 22);

    // The JSON read-out names every decision.
    let json: serde_json::Value = serde_json::to_value(&plan).unwrap();
    assert_eq!(
        (json["points"].as_u64(), json["kept"].as_u64(), json["removed"].as_u64()),
        (Some(42), Some(22), Some(20))
    );
    assert_eq!(json["keep"].as_array().unwrap().len(), 22);
    assert_eq!(json["remove"].as_array().unwrap().len(), 20);
    assert_eq!(json["rules"]["keep_last"], 2);
    assert_eq!(json["now"], "2026-01-22T00:00:00.000Z");

    let before = f.ids();
    assert_eq!(f.store.retention_apply(&plan).unwrap(), 20);
    let after = f.ids();
    assert_eq!(before.difference(&after).count(), 20);
    assert!(removed.iter().all(|id| !after.contains(*id)));
    assert_chains_consistent(&f.store);
    for disk in 0..2 {
        let c = f.store.chain_get(&f.ctx, disk, &f.repo).unwrap();
        assert_eq!(c.total_backups, 7, "the current generation (days 14..20) of disk {disk} is whole");
        assert_eq!(f.store.restore_chain(&format!("d{disk}-020")).unwrap().len(), 7);
    }

    // Planning again removes nothing more; applying the same plan twice is stale.
    let again = f.plan(now);
    assert_eq!(again.removed().count(), 0);
    assert_eq!(again.kept_count(), 22);
    assert_refused(&f.store, Status::Conflict, &["stale", "42 planned, 22 now"], || f.store.retention_apply(&plan));
    assert_eq!(f.store.retention_apply(&again).unwrap(), 0);
}

#[test]
fn protected_immutable_held_and_young_points_are_kept_and_reported_as_such() {
    let f = fixture_with(NewRepository { min_retention_days: 3, ..immutable("vault", 0, true, false, 12) }, |p| {
        NewPolicy { keep_last: Some(1), retention_days: 0, ..p }
    });
    f.daily(0, 0..6, 2); // fulls on even days, one incremental after each
                         // A failed incremental on day 5's point holds it (and day 4, its full).
    f.clock.set(T0 + 5 * DAY + 7_200_000);
    let failed = f.start(0, BackupType::Incremental, "failed-inc");
    f.store.backup_fail(&failed, "target unreachable").unwrap();
    f.daily(0, 6..10, 2);
    f.store.backup_set_protected("d0-002", true).unwrap();

    // 2 days after the last point: fulls of the last 12 days are immutable.
    let now = T0 + 11 * DAY;
    let plan = f.plan(now);
    assert_eq!(reasons(&plan, "d0-009"), ["keep-last 1", "min-retention until 2026-01-13T01:00:00.000Z"]);
    assert_eq!(reasons(&plan, "d0-008")[0], "immutable until 2026-01-21T01:00:00.000Z");
    assert_eq!(reasons(&plan, "d0-002"), ["protected", "immutable until 2026-01-15T01:00:00.000Z"]);
    assert_eq!(reasons(&plan, "d0-003"), Vec::<String>::new(), "an incremental is not locked by this config");
    assert_eq!(reasons(&plan, "d0-009")[0], "keep-last 1");
    assert!(reasons(&plan, "d0-005").contains(&"needed by failed-inc (outside the plan)".to_string()));
    assert_eq!(reasons(&plan, "d0-004")[0], "immutable until 2026-01-17T01:00:00.000Z");
    let removed: HashSet<&str> = plan.removed().collect();
    assert_eq!(removed, HashSet::from(["d0-001", "d0-003", "d0-007"]));

    // d0-001 depends on d0-000, which is immutable until 01-13 and stays: removing an
    // incremental above a kept full is fine. Apply checks deletes with the store's clock,
    // which is still at the last completion (day 9): d0-007 is inside its minimum retention.
    assert_refused(&f.store, Status::InvalidState, &["d0-007", "minimum retention of 3 days"], || {
        f.store.retention_apply(&plan)
    });
    f.clock.set(now);
    assert_eq!(f.store.retention_apply(&plan).unwrap(), 3);
    assert_chains_consistent(&f.store);

    // A plan made for a later clock removes locked points; apply checks with the store's clock.
    let future = f.plan(T0 + 40 * DAY);
    let future_removed: Vec<&str> = future.removed().collect();
    assert!(future_removed.contains(&"d0-000"), "{future_removed:?}");
    assert_refused(&f.store, Status::InvalidState, &["applying the retention plan", "immutable"], || {
        f.store.retention_apply(&future)
    });
}

#[test]
fn stale_and_malformed_plans_are_refused_and_change_nothing() {
    let f = fixture(|p| NewPolicy { keep_last: Some(2), retention_days: 0, ..p });
    f.daily(0, 0..6, 3);
    let now = T0 + 6 * DAY;
    let plan = f.plan(now);
    let json = serde_json::to_string(&plan).unwrap();

    // A new point covered by the policy makes the plan stale.
    f.clock.set(T0 + 6 * DAY + 60_000);
    f.backup(0, BackupType::Incremental, "late");
    assert_refused(&f.store, Status::Conflict, &["stale", "6 planned, 7 now"], || f.store.retention_apply(&plan));
    assert_refused(&f.store, Status::Conflict, &["stale"], || f.store.retention_apply_json(&json));

    // Changed rules make it stale too.
    let plan = f.plan(now);
    let update: PolicyUpdate = sendense::value::from_json("update", r#"{"keep_last": 4}"#).unwrap();
    f.store.policy_update(&f.policy, &update).unwrap();
    assert_refused(&f.store, Status::Conflict, &["stale", "retention rules changed"], || {
        f.store.retention_apply(&plan)
    });

    // A protected point is a change to the points.
    let plan = f.plan(now);
    let victim = plan.removed().next().unwrap().to_string();
    f.store.backup_set_protected(&victim, true).unwrap();
    assert_refused(&f.store, Status::Conflict, &["stale"], || f.store.retention_apply(&plan));
    f.store.backup_set_protected(&victim, false).unwrap();

    // A plan whose remove list was edited.
    let plan = f.plan(now);
    let mut v: serde_json::Value = serde_json::to_value(&plan).unwrap();
    let kept = v["keep"][0]["id"].as_str().unwrap().to_string();
    v["remove"].as_array_mut().unwrap().push(json!(kept));
    v["removed"] = json!(v["remove"].as_array().unwrap().len());
    assert_refused(&f.store, Status::Conflict, &[&kept, "now kept"], || f.store.retention_apply_json(&v.to_string()));

    let good = serde_json::to_value(&plan).unwrap();
    let mut twice = good.clone();
    let first = twice["remove"][0].clone();
    twice["remove"].as_array_mut().unwrap().push(first);
    twice["removed"] = json!(twice["remove"].as_array().unwrap().len());
    let mut miscounted = good.clone();
    miscounted["removed"] = json!(99);
    let mut extra = good.clone();
    extra["by"] = json!("me");
    let mut no_rules = good.clone();
    no_rules.as_object_mut().unwrap().remove("rules");
    let mut bad_zone = good.clone();
    bad_zone["time_zone"] = json!("Mars/Olympus");
    for (case, words) in [
        ("not json".to_string(), vec!["retention plan"]),
        (twice.to_string(), vec!["listed twice"]),
        (miscounted.to_string(), vec!["\"removed\" says 99"]),
        (extra.to_string(), vec!["unknown field `by`"]),
        (no_rules.to_string(), vec!["missing field `rules`"]),
        (bad_zone.to_string(), vec!["Mars/Olympus"]),
    ] {
        assert_refused(&f.store, Status::InvalidArgument, &words, || f.store.retention_apply_json(&case));
    }
    let mut unknown = good;
    unknown["policy_id"] = json!("no-such-policy");
    assert_refused(&f.store, Status::NotFound, &["no-such-policy"], || {
        f.store.retention_apply_json(&unknown.to_string())
    });

    // And the untouched plan still applies, through JSON.
    let removed = plan.removed().count();
    assert_eq!(f.store.retention_apply_json(&serde_json::to_string(&plan).unwrap()).unwrap(), removed);
    assert_chains_consistent(&f.store);
}

#[test]
fn bad_plan_requests_are_refused_by_name() {
    let f = fixture(|p| p);
    let e = f.store.retention_plan("nope", Timestamp(T0), "UTC").unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    assert!(e.message().contains("nope"), "{e}");
    let e = f.store.retention_plan(&f.policy, Timestamp(T0), "Europe/Atlantis").unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("Europe/Atlantis"), "{e}");
    let e = f.store.retention_plan(&f.policy, Timestamp(i64::MAX), "UTC").unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    // An empty policy plans nothing, and applying that is a no-op.
    let plan = f.plan(T0);
    assert!(plan.is_empty());
    assert_eq!(f.store.retention_apply(&plan).unwrap(), 0);
}

// ------------------------------------------------------------------------------------------
// Property: random histories
// ------------------------------------------------------------------------------------------

#[test]
fn property_apply_never_breaks_a_chain_or_removes_protected_or_locked_points_and_replanning_removes_nothing() {
    let seed = std::env::var("SENDENSE_RETENTION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(crate::common::time_seed);
    eprintln!("SENDENSE_RETENTION_SEED={seed}");
    let mut rng = Rng::new(seed);
    let mut removed_total = 0;
    for case in 0..12 {
        let repo = if rng.chance(50) {
            immutable("vault", rng.below(3) as i64, rng.chance(50), true, 5 + rng.below(20) as i64)
        } else {
            local("main")
        };
        let rules = |p: NewPolicy, rng: &mut Rng| NewPolicy {
            keep_last: rng.chance(60).then(|| rng.below(5) as i64),
            keep_daily: rng.chance(50).then(|| rng.below(8) as i64),
            keep_weekly: rng.chance(40).then(|| rng.below(5) as i64),
            keep_monthly: rng.chance(30).then(|| rng.below(3) as i64),
            retention_days: if rng.chance(30) { rng.below(10) as i64 } else { 0 },
            ..p
        };
        let r = rules(NewPolicy::new("nightly", "x"), &mut rng);
        let f = fixture_with(repo, |p| NewPolicy { primary_repository_id: p.primary_repository_id, ..r });
        let days = 20 + rng.below(60) as i64;
        let mut protected = Vec::new();
        for disk in 0..2 {
            for d in 0..days {
                f.clock.set(T0 + d * DAY + disk * 1000);
                let latest_chain = f.store.chain_get(&f.ctx, disk, &f.repo).is_ok();
                let t = if !latest_chain || rng.chance(15) { BackupType::Full } else { BackupType::Incremental };
                let id = f.start(disk, t, &format!("c{case}-d{disk}-{d:03}"));
                if rng.chance(5) {
                    f.store.backup_fail(&id, "lost the host").unwrap();
                    continue;
                }
                f.store.backup_set_running(&id).unwrap();
                f.store.backup_complete(&id, None, 10, 10).unwrap();
                if rng.chance(5) {
                    f.store.backup_set_protected(&id, true).unwrap();
                    protected.push(id);
                }
            }
        }
        let now = T0 + days * DAY;
        f.clock.set(now);
        let plan = f.plan(now);
        let parents: HashMap<String, Option<String>> = f
            .store
            .backup_list(&sendense::backup::BackupPointFilter { limit: Some(100_000), ..Default::default() })
            .unwrap()
            .into_iter()
            .map(|b| (b.id, b.parent_backup_id))
            .collect();
        let kept: HashSet<String> = plan.decisions().filter(|d| d.keep).map(|d| d.id).collect();
        for id in &kept {
            if let Some(Some(parent)) = parents.get(id) {
                assert!(!plan.removed().any(|r| r == parent), "case {case}: {id} kept, its parent {parent} removed");
            }
        }
        for id in &protected {
            assert!(kept.contains(id), "case {case}: protected {id} removed");
        }
        for d in plan.decisions() {
            let b = f.store.backup_get(&d.id).unwrap();
            if b.immutable_until.is_some_and(|u| u.0 > now) {
                assert!(d.keep, "case {case}: immutable {} removed", d.id);
            }
        }
        let n = plan.removed().count();
        removed_total += n;
        assert_eq!(f.store.retention_apply(&plan).unwrap(), n, "case {case}");
        assert_chains_consistent(&f.store);
        let again = f.plan(now);
        assert_eq!(again.removed().count(), 0, "case {case}: replanning removed more");
        assert_eq!(again.kept_count(), kept.len(), "case {case}");
    }
    assert!(removed_total > 100, "the generator exercises removals ({removed_total})");
}
