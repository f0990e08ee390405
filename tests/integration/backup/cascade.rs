//! Deleting what backup points hang off (a context, a repository, a policy) never removes a
//! point that could not be deleted on its own (docs/DOMAIN.md section 4, "Deleting a point"):
//! a table of the single-delete rules, each refusing the cascade and changing nothing, and an
//! unprotected point past its retention that lets it through.

use super::local;
use crate::fixtures::{assert_refused, TempStore};

use sendense::backup::{BackupType, ImmutableConfig, NewCopyRule, NewPolicy, StartBackup};
use sendense::replication::NewContext;
use sendense::Status;

const T0: i64 = 1_764_306_589_000;
const DAY: i64 = 86_400_000;

/// What stands in the way of a point's delete in each case.
#[derive(Clone, Copy, Debug)]
enum Case {
    Protected,
    Immutable,
    MinRetention,
    CopyInFlight,
    Active,
    /// Nothing: an unprotected point past its repository's minimum retention.
    Expired,
}

struct Setup {
    f: TempStore,
    ctx: String,
    repo: String,
    policy: String,
    point: String,
}

/// A context with a full and an incremental on it in a repository set up for `case`, and the
/// point the case is about (the incremental, which nothing builds on).
fn setup(case: Case) -> Setup {
    let f = TempStore::new(T0);
    let s = &f.store;
    let ctx = s.context_create(&NewContext::new("web-01", "vm-1", "/dc/vm/web-01", "vc", "dc")).unwrap();
    let mut repo = local("main");
    match case {
        Case::Immutable => {
            repo.is_immutable = true;
            repo.immutable_config = Some(ImmutableConfig {
                grace_period_days: 0,
                apply_to_fulls: true,
                apply_to_incrementals: true,
                min_retention_days: 30,
            });
        }
        Case::MinRetention | Case::Expired => repo.min_retention_days = 7,
        _ => {}
    }
    let repo = s.repository_create(&repo).unwrap();
    let offsite = s.repository_create(&local("offsite")).unwrap();
    let mut policy = NewPolicy::new("p", &repo);
    policy.copy_rules = vec![NewCopyRule::new(&offsite, 1)];
    let policy = s.policy_create(&policy).unwrap();
    let mut point = String::new();
    for (t, id) in [(BackupType::Full, "full"), (BackupType::Incremental, "incr")] {
        let mut start = StartBackup::new(&ctx, 0, &repo, t, format!("/srv/main/{id}.qcow2"));
        start.id = Some(id.to_string());
        start.policy_id = Some(policy.clone());
        point = s.backup_start(&start).unwrap();
        if matches!(case, Case::Active) && id == "incr" {
            break;
        }
        s.backup_set_running(&point).unwrap();
        s.backup_complete(&point, None, 1, 1).unwrap();
    }
    // Every copy is done except where the case wants one in flight.
    while let Some(copy) = s.copy_claim("worker-1").unwrap() {
        if matches!(case, Case::CopyInFlight) && copy.source_backup_id == point {
            continue;
        }
        s.copy_fail(&copy.id, "not needed here").unwrap();
    }
    match case {
        Case::Protected => {
            s.backup_set_protected(&point, true).unwrap();
        }
        Case::Expired => f.clock.advance(8 * DAY),
        _ => {}
    }
    Setup { f, ctx, repo, policy, point }
}

#[test]
fn a_context_delete_refuses_while_a_point_could_not_be_deleted_on_its_own() {
    for (case, status, words) in [
        (Case::Protected, Status::InvalidState, &["protected"][..]),
        (Case::Immutable, Status::InvalidState, &["immutable from"][..]),
        (Case::MinRetention, Status::InvalidState, &["minimum retention of 7 days"][..]),
        (Case::CopyInFlight, Status::Conflict, &["is copying"][..]),
        (Case::Active, Status::Conflict, &["(active)"][..]),
    ] {
        let x = setup(case);
        let s = &x.f.store;
        // The single delete refuses it, with its rule ...
        assert_refused(s, status, words, || s.backup_delete(&x.point));
        // ... and so does the delete of its context, naming the point and the rule.
        let mut want = vec![x.ctx.as_str(), "backup incr", "that a single delete refuses"];
        want.extend_from_slice(words);
        assert_refused(s, Status::Conflict, &want, || s.context_delete(&x.ctx));
        assert_eq!(s.backup_get(&x.point).unwrap().id, x.point, "{case:?}");
    }
}

#[test]
fn a_context_whose_points_could_all_go_is_deleted_with_them() {
    let x = setup(Case::Expired);
    let s = &x.f.store;
    s.context_delete(&x.ctx).unwrap();
    assert_eq!(s.backup_get(&x.point).unwrap_err().status(), Status::NotFound);
    assert!(s.backup_list(&Default::default()).unwrap().is_empty());
    assert!(s.copy_list(&Default::default()).unwrap().is_empty());
    assert_eq!(s.context_delete(&x.ctx).unwrap_err().status(), Status::NotFound);
}

#[test]
fn a_refused_context_delete_names_a_bounded_list_of_points() {
    let x = setup(Case::Protected);
    let s = &x.f.store;
    for disk in 1..=5 {
        let id = format!("more-{disk}");
        let mut start = StartBackup::new(&x.ctx, disk, &x.repo, BackupType::Full, format!("/srv/{id}"));
        start.id = Some(id.clone());
        s.backup_start(&start).unwrap();
        s.backup_set_running(&id).unwrap();
        s.backup_complete(&id, None, 1, 1).unwrap();
        s.backup_set_protected(&id, true).unwrap();
    }
    let e = s.context_delete(&x.ctx).unwrap_err();
    assert_eq!(e.status(), Status::Conflict);
    assert!(
        e.message().contains("6 backup points that a single delete refuses") && e.message().contains("and 3 more"),
        "{e}"
    );
    assert!(e.message().len() < 1000, "{e}");
}

#[test]
fn repositories_and_policies_never_take_such_a_point_with_them() {
    for case in [Case::Protected, Case::Immutable, Case::MinRetention, Case::CopyInFlight] {
        let x = setup(case);
        let s = &x.f.store;
        // A repository holding points is never deleted (its points are not cascaded) ...
        assert_refused(s, Status::Conflict, &["holds 2 backups"], || s.repository_delete(&x.repo));
        // ... and a policy's delete keeps its points (they lose the policy, nothing else).
        s.policy_delete(&x.policy).unwrap();
        let p = s.backup_get(&x.point).unwrap();
        assert_eq!(p.policy_id, None, "{case:?}");
    }
}
