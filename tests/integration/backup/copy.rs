//! Backup copies through the Rust API on real database files: fan-out of a completed point
//! to its policy's enabled copy rules, the claim order, the copy lifecycle, and every refusal
//! (which must change nothing).

use super::{local, web_01_and_main};
use crate::fixtures::{assert_refused, TempStore};

use sendense::backup::{BackupCopy, CopyFilter, CopyStatus, VerificationStatus};
use sendense::backup::{BackupType, StartBackup};
use sendense::backup::{NewCopyRule, NewPolicy};
use sendense::{ManualClock, Status, Store, Timestamp};

const T0: i64 = 1_764_306_589_000; // 2025-11-28T05:09:49Z

struct Fixture {
    store: Store,
    clock: ManualClock,
    ctx: String,
    repo: String,
    /// Copy destinations: `dest[0]` and `dest[1]` have enabled rules, `dest[2]` a disabled one.
    dest: Vec<String>,
    policy: String,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let TempStore { store, clock, dir } = TempStore::new(T0);
    let (ctx, repo) = web_01_and_main(&store);
    let dest: Vec<String> =
        ["offsite", "tape", "cold"].iter().map(|n| store.repository_create(&local(n)).unwrap()).collect();
    let mut policy = NewPolicy::new("daily", &repo);
    // Priorities deliberately not in destination order.
    policy.copy_rules = vec![NewCopyRule::new(&dest[0], 2), NewCopyRule::new(&dest[1], 1), {
        let mut r = NewCopyRule::new(&dest[2], 3);
        r.enabled = false;
        r
    }];
    let policy = store.policy_create(&policy).unwrap();
    Fixture { store, clock, ctx, repo, dest, policy, _dir: dir }
}

impl Fixture {
    /// Start, run and complete a full point of disk `disk`, with or without the policy.
    fn backup(&self, disk: i64, id: &str, with_policy: bool) -> String {
        self.clock.advance(1000);
        let mut s = StartBackup::new(&self.ctx, disk, &self.repo, BackupType::Full, format!("/srv/main/{id}.qcow2"));
        s.id = Some(id.to_string());
        if with_policy {
            s.policy_id = Some(self.policy.clone());
        }
        let id = self.store.backup_start(&s).unwrap_or_else(|e| panic!("start {id}: {e}"));
        self.store.backup_set_running(&id).unwrap();
        self.clock.advance(1000);
        self.store.backup_complete(&id, None, 10, 100).unwrap();
        id
    }

    fn copies_of(&self, backup: &str) -> Vec<BackupCopy> {
        self.store.copy_list(&CopyFilter { backup_id: Some(backup.to_string()), ..Default::default() }).unwrap()
    }

    fn count(&self) -> i64 {
        self.store.read(|tx| Ok(tx.query_row("SELECT count(*) FROM backup_copies", [], |r| r.get(0))?)).unwrap()
    }
}

#[test]
fn a_completed_point_fans_out_to_the_enabled_rules_only() {
    let f = fixture();
    let s = &f.store;
    f.clock.advance(1000);
    let mut start = StartBackup::new(&f.ctx, 0, &f.repo, BackupType::Full, "/srv/main/p1.qcow2");
    start.id = Some("p1".into());
    start.policy_id = Some(f.policy.clone());
    s.backup_start(&start).unwrap();
    s.backup_set_running("p1").unwrap();
    assert_eq!(f.count(), 0, "nothing is copied before the point completes");
    f.clock.advance(1000);
    s.backup_complete("p1", None, 10, 100).unwrap();

    let copies = f.copies_of("p1");
    let mut dests: Vec<&str> = copies.iter().map(|c| c.repository_id.as_str()).collect();
    dests.sort();
    let mut expected = vec![f.dest[0].as_str(), f.dest[1].as_str()];
    expected.sort();
    assert_eq!(dests, expected, "one copy per enabled rule; the disabled rule gets none");
    let policy = s.policy_get(&f.policy).unwrap();
    for c in &copies {
        assert_eq!(c.status, CopyStatus::Pending);
        assert_eq!(c.verification_status, VerificationStatus::Pending);
        assert_eq!(c.source_backup_id, "p1");
        assert_eq!(c.created_at, Timestamp(T0 + 2000), "created in the completion's transaction");
        assert_eq!(c.file_path, format!("{}/{}/disk-0/p1", c.repository_id, f.ctx), "deterministic path");
        assert_eq!((c.size_bytes, c.copy_started_at, c.copy_completed_at, c.verified_at), (0, None, None, None));
        assert_eq!(c.error_message, None);
        let rule = policy.copy_rules.iter().find(|r| r.destination_repository_id == c.repository_id).unwrap();
        assert_eq!(c.copy_rule_id.as_deref(), Some(rule.id.as_str()));
        assert_eq!(uuid::Uuid::parse_str(&c.id).unwrap().get_version_num(), 7, "UUIDv7 id");
        assert_eq!(s.copy_get(&c.id).unwrap(), *c);
    }
    // JSON keys are the column names.
    let v = serde_json::to_value(&copies[0]).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "id",
        "source_backup_id",
        "repository_id",
        "copy_rule_id",
        "status",
        "file_path",
        "size_bytes",
        "copy_started_at",
        "copy_completed_at",
        "verified_at",
        "verification_status",
        "error_message",
        "created_at",
    ] {
        assert!(keys.contains(&k), "{k} missing from {v}");
    }
    assert_eq!(keys.len(), 13);
    assert_eq!(v["status"], "pending");
}

#[test]
fn points_without_a_policy_or_that_fail_are_not_copied() {
    let f = fixture();
    f.backup(0, "plain", false);
    assert_eq!(f.count(), 0, "no policy, no copies");
    f.clock.advance(1000);
    let mut start = StartBackup::new(&f.ctx, 1, &f.repo, BackupType::Full, "/x");
    start.policy_id = Some(f.policy.clone());
    let id = f.store.backup_start(&start).unwrap();
    f.store.backup_fail(&id, "disk read error").unwrap();
    assert_eq!(f.count(), 0, "a failed point is not copied");
}

#[test]
fn fan_out_is_retry_safe_and_unique_per_backup_and_destination() {
    let f = fixture();
    let s = &f.store;
    f.clock.advance(1000);
    let mut start = StartBackup::new(&f.ctx, 0, &f.repo, BackupType::Full, "/x");
    start.id = Some("p1".into());
    start.policy_id = Some(f.policy.clone());
    s.backup_start(&start).unwrap();
    s.backup_set_running("p1").unwrap();
    // A copy to dest[0] already exists (queued by an earlier attempt): the fan-out keeps it.
    s.write(|tx| {
        tx.execute(
            "INSERT INTO backup_copies (id, source_backup_id, repository_id, file_path, created_at) \
             VALUES ('earlier', 'p1', ?1, '/earlier', 1)",
            [&f.dest[0]],
        )?;
        Ok(())
    })
    .unwrap();
    s.backup_complete("p1", None, 10, 100).unwrap();
    let copies = f.copies_of("p1");
    assert_eq!(copies.len(), 2, "{copies:?}");
    assert_eq!((copies[0].id.as_str(), copies[0].file_path.as_str()), ("earlier", "/earlier"), "kept as it was");
    assert_eq!(copies[1].repository_id, f.dest[1]);
    // A second completion is refused and queues nothing more.
    assert_refused(s, Status::InvalidState, &["completed"], || s.backup_complete("p1", None, 1, 1));
    assert_eq!(f.count(), 2);
}

#[test]
fn workers_claim_the_oldest_pending_copy_first() {
    let f = fixture();
    let s = &f.store;
    assert_eq!(s.copy_claim("w1").unwrap(), None, "nothing pending");
    f.backup(0, "a", true);
    f.backup(1, "b", true);
    let mut expected: Vec<(String, String)> = Vec::new();
    for p in ["a", "b"] {
        let mut cs = f.copies_of(p);
        cs.sort_by(|x, y| x.id.cmp(&y.id));
        expected.extend(cs.into_iter().map(|c| (c.source_backup_id, c.id)));
    }
    f.clock.advance(500);
    let mut claimed = Vec::new();
    while let Some(c) = s.copy_claim("w1").unwrap() {
        assert_eq!(c.status, CopyStatus::Copying);
        assert_eq!(c.copy_started_at, Some(Timestamp(s.now_ms())));
        claimed.push((c.source_backup_id, c.id));
    }
    assert_eq!(claimed, expected, "oldest first: by created_at, then id");
    assert_eq!(s.copy_claim("w2").unwrap(), None, "all claimed");
    let copying = s.copy_list(&CopyFilter { status: Some(CopyStatus::Copying), ..Default::default() }).unwrap();
    assert_eq!(copying.len(), 4);
    let to_dest0 = s.copy_list(&CopyFilter { repository_id: Some(f.dest[0].clone()), ..Default::default() }).unwrap();
    assert_eq!(to_dest0.iter().map(|c| c.source_backup_id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert_refused(s, Status::InvalidArgument, &["worker id is empty"], || s.copy_claim(""));
}

#[test]
fn a_copy_goes_through_its_whole_lifecycle() {
    let f = fixture();
    let s = &f.store;
    f.backup(0, "p1", true);
    f.clock.advance(1000);
    let c = s.copy_claim("worker-7").unwrap().unwrap();
    assert_eq!((c.status, c.copy_started_at), (CopyStatus::Copying, Some(Timestamp(T0 + 3000))));
    f.clock.advance(1000);
    let c = s.copy_set_verifying(&c.id, "/mnt/offsite/p1.qcow2", 4096).unwrap();
    assert_eq!(c.status, CopyStatus::Verifying);
    assert_eq!((c.file_path.as_str(), c.size_bytes), ("/mnt/offsite/p1.qcow2", 4096));
    assert_eq!(c.copy_completed_at, Some(Timestamp(T0 + 4000)));
    f.clock.advance(1000);
    let c = s.copy_complete(&c.id, VerificationStatus::Passed).unwrap();
    assert_eq!((c.status, c.verification_status), (CopyStatus::Completed, VerificationStatus::Passed));
    assert_eq!((c.verified_at, c.error_message.clone()), (Some(Timestamp(T0 + 5000)), None));
    assert_eq!(s.copy_get(&c.id).unwrap(), c, "persisted");

    // The second copy fails its verification.
    let d = s.copy_claim("worker-7").unwrap().unwrap();
    s.copy_set_verifying(&d.id, "/mnt/tape/p1", 10).unwrap();
    let d = s.copy_complete(&d.id, VerificationStatus::Failed).unwrap();
    assert_eq!((d.status, d.verification_status), (CopyStatus::Failed, VerificationStatus::Failed));
    assert!(d.error_message.as_deref().unwrap().contains("verification failed"), "{d:?}");
    assert!(d.verified_at.is_some());
}

#[test]
fn a_copy_can_fail_while_copying_or_verifying() {
    let f = fixture();
    let s = &f.store;
    f.backup(0, "p1", true);
    let a = s.copy_claim("w").unwrap().unwrap();
    let a = s.copy_fail(&a.id, "destination unreachable").unwrap();
    assert_eq!((a.status, a.error_message.as_deref()), (CopyStatus::Failed, Some("destination unreachable")));
    assert_eq!(a.verification_status, VerificationStatus::Pending);
    let b = s.copy_claim("w").unwrap().unwrap();
    s.copy_set_verifying(&b.id, "/p", 1).unwrap();
    let b = s.copy_fail(&b.id, "checksum tool crashed").unwrap();
    assert_eq!(b.status, CopyStatus::Failed);
}

#[test]
fn every_refusal_names_its_reason_and_changes_nothing() {
    let f = fixture();
    let s = &f.store;
    f.backup(0, "p1", true);
    f.backup(1, "p2", true);
    let pending = f.copies_of("p2")[0].id.clone();
    let c = s.copy_claim("w").unwrap().unwrap(); // a copy of p1, now copying
    let id = c.id.as_str();

    // Unknown ids.
    for op in [
        Box::new(|| s.copy_get("nope")) as Box<dyn Fn() -> sendense::Result<BackupCopy>>,
        Box::new(|| s.copy_set_verifying("nope", "/p", 1)),
        Box::new(|| s.copy_complete("nope", VerificationStatus::Passed)),
        Box::new(|| s.copy_fail("nope", "x")),
    ] {
        assert_refused(s, Status::NotFound, &["backup copy \"nope\" does not exist"], op);
    }
    // Bad values.
    assert_refused(s, Status::InvalidArgument, &["file_path"], || s.copy_set_verifying(id, " ", 1));
    assert_refused(s, Status::InvalidArgument, &["size_bytes is negative (-1)"], || s.copy_set_verifying(id, "/p", -1));
    assert_refused(s, Status::InvalidArgument, &["pending is not a result"], || {
        s.copy_complete(id, VerificationStatus::Pending)
    });
    assert_refused(s, Status::InvalidArgument, &["error message is empty"], || s.copy_fail(id, "  "));
    assert_refused(s, Status::InvalidArgument, &["worker id"], || s.copy_claim("bad\nworker"));
    // Forbidden transitions, naming from and to.
    assert_refused(s, Status::InvalidState, &["from copying to completed"], || {
        s.copy_complete(id, VerificationStatus::Passed)
    });
    assert_refused(s, Status::InvalidState, &["from pending to verifying"], || s.copy_set_verifying(&pending, "/p", 1));
    assert_refused(s, Status::InvalidState, &["from pending to failed"], || s.copy_fail(&pending, "x"));
    s.copy_set_verifying(id, "/p", 1).unwrap();
    assert_refused(s, Status::InvalidState, &["from verifying to verifying"], || s.copy_set_verifying(id, "/p", 2));
    s.copy_complete(id, VerificationStatus::Passed).unwrap();
    assert_refused(s, Status::InvalidState, &["from completed to failed", "completed is final"], || {
        s.copy_fail(id, "late")
    });
    assert_refused(s, Status::InvalidState, &["from completed to failed", "final"], || {
        s.copy_complete(id, VerificationStatus::Failed)
    });
    assert_refused(s, Status::InvalidState, &["from completed to verifying", "final"], || {
        s.copy_set_verifying(id, "/p", 1)
    });
    // A bad filter is refused by the JSON reader.
    let e = sendense::value::from_json::<CopyFilter>("copy filter", r#"{"status":"done"}"#).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("not a valid copy status"), "{e}");
}

#[test]
fn a_point_whose_copy_is_in_flight_cannot_be_deleted() {
    let f = fixture();
    let b = f.backup(0, "b1", true);
    let claimed = f.store.copy_claim("worker-1").unwrap().expect("a pending copy");
    assert_eq!(claimed.source_backup_id, b);
    assert_refused(&f.store, Status::Conflict, &["b1", &claimed.id, "copying"], || f.store.backup_delete(&b));
    f.store.copy_set_verifying(&claimed.id, "/srv/offsite/b1.qcow2", 100).unwrap();
    assert_refused(&f.store, Status::Conflict, &["verifying"], || f.store.backup_delete(&b));
    f.store.copy_fail(&claimed.id, "checksum mismatch").unwrap();
    // A pending copy is not in flight: it goes with its point.
    f.store.backup_delete(&b).unwrap();
    assert_eq!(f.count(), 0);
}

#[test]
fn retention_keeps_a_point_while_its_copy_is_in_flight() {
    let f = fixture();
    let update: sendense::backup::PolicyUpdate =
        sendense::value::from_json("update", r#"{"keep_last": 1, "retention_days": 0}"#).unwrap();
    f.store.policy_update(&f.policy, &update).unwrap();
    let old = f.backup(0, "old", true);
    f.backup(0, "new", true);
    let claimed = f.store.copy_claim("worker-1").unwrap().expect("a pending copy");
    assert_eq!(claimed.source_backup_id, old, "the oldest pending copy is claimed first");
    let now = Timestamp(T0 + 86_400_000);
    let plan = f.store.retention_plan(&f.policy, now, "UTC").unwrap();
    assert_eq!(plan.decision(&old).unwrap().reasons, [format!("copy {} in flight", claimed.id)]);
    assert_eq!(f.store.retention_apply(&plan).unwrap(), 0);
    f.store.copy_fail(&claimed.id, "target full").unwrap();
    let plan = f.store.retention_plan(&f.policy, now, "UTC").unwrap();
    assert_eq!(plan.removed().collect::<Vec<_>>(), [old.as_str()]);
    assert_eq!(f.store.retention_apply(&plan).unwrap(), 1);
}

/// A policy on `main` with one rule per (destination, mode, verify) row; returns the policy id
/// and the destinations in row order.
fn policy_with_modes(f: &Fixture, rules: &[(&str, sendense::backup::CopyMode, bool)]) -> (String, Vec<String>) {
    let mut policy = NewPolicy::new("modes", &f.repo);
    let mut dests = Vec::new();
    for (i, (name, mode, verify)) in rules.iter().enumerate() {
        let dest = f.store.repository_create(&local(name)).unwrap();
        let mut rule = NewCopyRule::new(&dest, i as i64 + 1);
        rule.id = Some(format!("rule-{name}"));
        (rule.copy_mode, rule.verify_after_copy) = (*mode, *verify);
        policy.copy_rules.push(rule);
        dests.push(dest);
    }
    (f.store.policy_create(&policy).unwrap(), dests)
}

#[test]
fn only_immediate_rules_fan_out_at_completion_and_the_others_when_asked() {
    use sendense::backup::CopyMode::*;
    let f = fixture();
    let s = &f.store;
    let (policy, dests) =
        policy_with_modes(&f, &[("now", Immediate, true), ("nightly", Scheduled, true), ("byhand", Manual, false)]);
    let complete = |id: &str| {
        f.clock.advance(1000);
        let mut start = StartBackup::new(&f.ctx, 0, &f.repo, BackupType::Full, format!("/srv/main/{id}.qcow2"));
        (start.id, start.policy_id) = (Some(id.to_string()), Some(policy.clone()));
        s.backup_start(&start).unwrap();
        s.backup_set_running(id).unwrap();
        s.backup_complete(id, None, 10, 100).unwrap();
    };
    complete("m1");
    complete("m2");
    let destinations = |id: &str| -> Vec<String> { f.copies_of(id).into_iter().map(|c| c.repository_id).collect() };
    assert_eq!(destinations("m1"), [dests[0].clone()], "only the immediate rule copies at completion");
    assert_eq!(destinations("m2"), [dests[0].clone()]);

    // Asking for a rule's copies queues one per completed point that has none there yet.
    let queued = s.copy_queue("rule-byhand").unwrap();
    assert_eq!(
        queued.iter().map(|c| (c.source_backup_id.as_str(), c.status)).collect::<Vec<_>>(),
        [("m1", CopyStatus::Pending), ("m2", CopyStatus::Pending)]
    );
    assert!(queued.iter().all(|c| c.repository_id == dests[2] && c.copy_rule_id.as_deref() == Some("rule-byhand")));
    assert!(s.copy_queue("rule-byhand").unwrap().is_empty(), "asking again queues nothing more");
    assert!(s.copy_queue("rule-now").unwrap().is_empty(), "the immediate rule's copies are there already");
    assert_eq!(s.copy_queue("rule-nightly").unwrap().len(), 2);
    assert_refused(s, Status::NotFound, &["copy rule \"nope\""], || s.copy_queue("nope"));
}

#[test]
fn a_copy_of_a_rule_without_verification_completes_without_verifying() {
    use sendense::backup::CopyMode::*;
    let f = fixture();
    let s = &f.store;
    let (policy, dests) = policy_with_modes(&f, &[("plain", Immediate, false), ("checked", Immediate, true)]);
    let mut start = StartBackup::new(&f.ctx, 0, &f.repo, BackupType::Full, "/srv/main/v1.qcow2");
    (start.id, start.policy_id) = (Some("v1".into()), Some(policy));
    s.backup_start(&start).unwrap();
    s.backup_set_running("v1").unwrap();
    s.backup_complete("v1", None, 10, 100).unwrap();
    for (dest, verifies) in [(&dests[0], false), (&dests[1], true)] {
        let c = s.copy_claim("worker-1").unwrap().unwrap();
        assert_eq!(&c.repository_id, dest);
        f.clock.advance(1000);
        let done = s.copy_set_verifying(&c.id, "/srv/x/v1.qcow2", 100).unwrap();
        if verifies {
            assert_eq!(done.status, CopyStatus::Verifying);
            assert_eq!(s.copy_complete(&c.id, VerificationStatus::Passed).unwrap().status, CopyStatus::Completed);
        } else {
            assert_eq!(
                (done.status, done.verification_status, done.verified_at, done.copy_completed_at),
                (
                    CopyStatus::Completed,
                    VerificationStatus::Pending,
                    None,
                    Some(Timestamp(sendense::Clock::now_ms(&f.clock)))
                )
            );
            assert_refused(s, Status::InvalidState, &["completed is final"], || {
                s.copy_complete(&c.id, VerificationStatus::Passed)
            });
        }
    }
}
