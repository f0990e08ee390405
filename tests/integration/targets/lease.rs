//! Leases through the Rust API on real database files: the built-in pools, hand-out order,
//! several leases per owner, expiry and take-over, renew, release by owner id, pool
//! definitions, and every refusal (which must change nothing).

use crate::fixtures::{assert_refused, TempStore};

use sendense::targets::{Lease, NewLeasePool, MAX_TTL_MS};
use sendense::{Status, Timestamp};

const T0: i64 = 1_764_306_589_000; // 2025-11-28T05:09:49Z
const PORTS: &str = "backup_nbd_port";
const DEVICES: &str = "restore_nbd_device";

fn resources(leases: &[Lease]) -> Vec<&str> {
    leases.iter().map(|l| l.resource.as_str()).collect()
}

#[test]
fn every_store_has_the_two_built_in_pools() {
    let f = TempStore::new(T0);
    let pools = f.store.lease_pools().unwrap();
    let names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, [PORTS, DEVICES]);
    let ports = &pools[0];
    assert_eq!(ports.resources.len(), 101);
    assert_eq!((ports.resources[0].as_str(), ports.resources[100].as_str()), ("10100", "10200"));
    assert_eq!(ports.leased, 0);
    let devices = f.store.lease_pool_get(DEVICES).unwrap();
    let expected: Vec<String> = (0..8).map(|n| format!("/dev/nbd{n}")).collect();
    assert_eq!(devices.resources, expected);
    let v = serde_json::to_value(&devices).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["created_at", "description", "leased", "name", "resources"]);
}

#[test]
fn acquire_hands_out_the_lowest_free_resource_and_an_owner_may_hold_several() {
    let f = TempStore::new(T0);
    let s = &f.store;
    let a = s.lease_acquire(PORTS, "job-a", 60_000).unwrap();
    assert_eq!(
        a,
        Lease {
            pool: PORTS.into(),
            resource: "10100".into(),
            owner_id: "job-a".into(),
            acquired_at: Timestamp(T0),
            expires_at: Timestamp(T0 + 60_000),
        }
    );
    let v = serde_json::to_value(&a).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["acquired_at", "expires_at", "owner_id", "pool", "resource"]);
    assert_eq!(v["acquired_at"], "2025-11-28T05:09:49.000Z");

    // The same owner asking again gets another resource.
    assert_eq!(s.lease_acquire(PORTS, "job-a", 60_000).unwrap().resource, "10101");
    assert_eq!(s.lease_acquire(PORTS, "job-b", 60_000).unwrap().resource, "10102");
    // Pools are independent.
    assert_eq!(s.lease_acquire(DEVICES, "job-a", 60_000).unwrap().resource, "/dev/nbd0");
    assert_eq!(resources(&s.lease_list(PORTS).unwrap()), ["10100", "10101", "10102"]);
    assert_eq!(resources(&s.lease_list_owner(PORTS, "job-a").unwrap()), ["10100", "10101"]);
    assert!(s.lease_list_owner(PORTS, "job-z").unwrap().is_empty());
    assert_eq!(s.lease_pool_get(PORTS).unwrap().leased, 3);

    // A released resource in the middle is the next one handed out.
    assert_eq!(s.lease_release(PORTS, "job-a").unwrap(), 2);
    assert_eq!(resources(&s.lease_list(PORTS).unwrap()), ["10102"]);
    assert_eq!(s.lease_acquire(PORTS, "job-c", 1).unwrap().resource, "10100");
    assert_eq!(s.lease_list(DEVICES).unwrap().len(), 1, "release is per pool");
}

#[test]
fn release_is_by_owner_id_only_and_releasing_nothing_is_fine() {
    let f = TempStore::new(T0);
    let s = &f.store;
    for owner in ["job-1", "job-10", "job-1x"] {
        s.lease_acquire(PORTS, owner, 60_000).unwrap();
    }
    // The incumbent released every port whose VM name matched; here only the exact owner.
    assert_eq!(s.lease_release(PORTS, "job-1").unwrap(), 1);
    let owners: Vec<String> = s.lease_list(PORTS).unwrap().into_iter().map(|l| l.owner_id).collect();
    assert_eq!(owners, ["job-10", "job-1x"]);
    let before = crate::fixtures::snapshot(s);
    assert_eq!(s.lease_release(PORTS, "job-1").unwrap(), 0, "a second release releases nothing");
    assert_eq!(s.lease_release(PORTS, "nobody").unwrap(), 0);
    assert_eq!(s.lease_release(DEVICES, "job-10").unwrap(), 0, "the owner holds nothing in that pool");
    assert_eq!(crate::fixtures::snapshot(s), before);
}

#[test]
fn a_full_pool_is_a_conflict_naming_the_pool_and_its_size() {
    let f = TempStore::new(T0);
    let s = &f.store;
    for n in 0..8 {
        assert_eq!(
            s.lease_acquire(DEVICES, &format!("restore-{n}"), 60_000 + n).unwrap().resource,
            format!("/dev/nbd{n}")
        );
    }
    assert_refused(
        s,
        Status::Conflict,
        &["lease pool restore_nbd_device is full", "all 8 of its resources", "2025-11-28T05:10:49.000Z"],
        || s.lease_acquire(DEVICES, "restore-9", 1000),
    );
    // Releasing one frees exactly that device.
    s.lease_release(DEVICES, "restore-5").unwrap();
    assert_eq!(s.lease_acquire(DEVICES, "restore-9", 1000).unwrap().resource, "/dev/nbd5");
}

#[test]
fn an_expired_lease_is_reclaimable_by_anyone_and_not_listed() {
    let f = TempStore::new(T0);
    let s = &f.store;
    s.lease_acquire(DEVICES, "dead-job", 1_000).unwrap();
    s.lease_acquire(DEVICES, "live-job", 10_000).unwrap();
    f.clock.advance(999);
    assert_eq!(s.lease_acquire(DEVICES, "job-x", 1_000).unwrap().resource, "/dev/nbd2", "still live at 999 ms");
    f.clock.advance(1); // expires_at <= now: expired
    assert_eq!(resources(&s.lease_list(DEVICES).unwrap()), ["/dev/nbd1", "/dev/nbd2"]);
    assert!(s.lease_list_owner(DEVICES, "dead-job").unwrap().is_empty());
    assert_eq!(s.lease_pool_get(DEVICES).unwrap().leased, 2);
    let taken = s.lease_acquire(DEVICES, "job-y", 5_000).unwrap();
    assert_eq!((taken.resource.as_str(), taken.acquired_at), ("/dev/nbd0", Timestamp(T0 + 1000)));
    // The dead owner's late release does not touch the new holder's lease.
    assert_eq!(s.lease_release(DEVICES, "dead-job").unwrap(), 0);
    assert_eq!(s.lease_list_owner(DEVICES, "job-y").unwrap(), [taken]);
    // Nor can it renew what it lost.
    assert_refused(s, Status::NotFound, &["owner dead-job holds no live lease in pool restore_nbd_device"], || {
        s.lease_renew(DEVICES, "dead-job", 1_000)
    });
}

#[test]
fn renew_extends_every_live_lease_of_the_owner_and_never_shortens() {
    let f = TempStore::new(T0);
    let s = &f.store;
    s.lease_acquire(PORTS, "job-a", 10_000).unwrap();
    s.lease_acquire(PORTS, "job-b", 10_000).unwrap();
    s.lease_acquire(PORTS, "job-a", 50_000).unwrap();
    f.clock.advance(5_000);
    let renewed = s.lease_renew(PORTS, "job-a", 20_000).unwrap();
    let expiries: Vec<(&str, i64)> = renewed.iter().map(|l| (l.resource.as_str(), l.expires_at.millis())).collect();
    assert_eq!(expiries, [("10100", T0 + 25_000), ("10102", T0 + 50_000)], "the longer lease keeps its expiry");
    assert!(renewed.iter().all(|l| l.acquired_at == Timestamp(T0)), "renew keeps acquired_at");
    assert_eq!(s.lease_list_owner(PORTS, "job-b").unwrap()[0].expires_at, Timestamp(T0 + 10_000), "others untouched");
    // An expired lease of the owner is not revived: the owner renews only what it still holds.
    f.clock.advance(20_000); // 10100 expired at T0 + 25 s; 10102 lives until T0 + 50 s
    let renewed = s.lease_renew(PORTS, "job-a", 60_000).unwrap();
    assert_eq!(resources(&renewed), ["10102"]);
    assert_eq!(renewed[0].expires_at, Timestamp(T0 + 25_000 + 60_000));
}

#[test]
fn bad_arguments_and_unknown_pools_are_refused_and_change_nothing() {
    let f = TempStore::new(T0);
    let s = &f.store;
    s.lease_acquire(PORTS, "job-a", 10_000).unwrap();
    for ttl in [0, -5, MAX_TTL_MS + 1] {
        assert_refused(s, Status::InvalidArgument, &["ttl_ms", &ttl.to_string()], || s.lease_acquire(PORTS, "j", ttl));
        assert_refused(s, Status::InvalidArgument, &["ttl_ms"], || s.lease_renew(PORTS, "job-a", ttl));
    }
    assert!(s.lease_acquire(PORTS, "job-max", MAX_TTL_MS).is_ok());
    assert_refused(s, Status::InvalidArgument, &["owner id is empty"], || s.lease_acquire(PORTS, "", 1000));
    assert_refused(s, Status::InvalidArgument, &["owner id", "control"], || s.lease_acquire(PORTS, "a\nb", 1000));
    assert_refused(s, Status::InvalidArgument, &["pool is empty"], || s.lease_acquire("", "j", 1000));
    assert_refused(s, Status::InvalidArgument, &["owner id is empty"], || s.lease_release(PORTS, ""));
    for pool in ["backup_nbd_ports", "BACKUP_NBD_PORT"] {
        let words = ["lease pool", pool, "does not exist"];
        assert_refused(s, Status::NotFound, &words, || s.lease_acquire(pool, "j", 1000));
        assert_refused(s, Status::NotFound, &words, || s.lease_renew(pool, "job-a", 1000));
        assert_refused(s, Status::NotFound, &words, || s.lease_release(pool, "job-a"));
        assert_refused(s, Status::NotFound, &words, || s.lease_list(pool));
        assert_refused(s, Status::NotFound, &words, || s.lease_list_owner(pool, "job-a"));
        assert_refused(s, Status::NotFound, &words, || s.lease_pool_get(pool));
    }
    assert_refused(s, Status::NotFound, &["owner job-z holds no live lease in pool backup_nbd_port"], || {
        s.lease_renew(PORTS, "job-z", 1000)
    });
}

#[test]
fn pools_are_defined_in_hand_out_order_and_redefined_only_without_live_leases() {
    let f = TempStore::new(T0);
    let s = &f.store;
    let mut new = NewLeasePool::new("iscsi_target", vec!["t-b".into(), "t-a".into(), "t-c".into()]);
    new.description = Some("iSCSI targets".into());
    let pool = s.lease_pool_define(&new).unwrap();
    assert_eq!(pool.resources, ["t-b", "t-a", "t-c"]);
    assert_eq!((pool.description.as_deref(), pool.created_at, pool.leased), (Some("iSCSI targets"), Timestamp(T0), 0));
    assert_eq!(s.lease_pools().unwrap().len(), 3);
    assert_eq!(s.lease_acquire("iscsi_target", "j1", 1_000).unwrap().resource, "t-b", "listed order, not sorted");
    assert_eq!(s.lease_acquire("iscsi_target", "j2", 5_000).unwrap().resource, "t-a");

    let replacement = NewLeasePool::new("iscsi_target", vec!["u-1".into(), "u-2".into()]);
    assert_refused(s, Status::Conflict, &["lease pool iscsi_target has 2 live lease(s)"], || {
        s.lease_pool_define(&replacement)
    });
    s.lease_release("iscsi_target", "j2").unwrap();
    assert_refused(s, Status::Conflict, &["has 1 live lease(s)"], || s.lease_pool_define(&replacement));
    f.clock.advance(1_000); // j1's lease expires: only expired leases remain
    let pool = s.lease_pool_define(&replacement).unwrap();
    assert_eq!((pool.resources.len(), pool.description, pool.created_at), (2, None, Timestamp(T0)));
    assert!(s.lease_list("iscsi_target").unwrap().is_empty());
    let leases: i64 = s.read(|tx| Ok(tx.query_row("SELECT count(*) FROM leases", [], |r| r.get(0))?)).unwrap();
    assert_eq!(leases, 0, "the expired lease went with its resource");
    assert_eq!(s.lease_acquire("iscsi_target", "j3", 1_000).unwrap().resource, "u-1");

    // Invalid definitions.
    for (bad, words) in [
        (NewLeasePool::new("p", vec![]), &["resources is empty"][..]),
        (NewLeasePool::new("p", vec!["x".into(), "x".into()]), &["\"x\" is listed twice"][..]),
        (NewLeasePool::new("", vec!["x".into()]), &["pool name is empty"][..]),
        (NewLeasePool::new("p", vec!["".into()]), &["pool p", "resource is empty"][..]),
    ] {
        assert_refused(s, Status::InvalidArgument, words, || s.lease_pool_define(&bad));
    }
}

#[test]
fn a_clock_that_steps_back_keeps_leases_consistent() {
    let f = TempStore::new(T0);
    let s = &f.store;
    let a = s.lease_acquire(DEVICES, "job-a", 10_000).unwrap();
    f.clock.advance(-60_000);
    // Still live (expires_at > now), so not handed out again.
    assert_eq!(s.lease_acquire(DEVICES, "job-b", 1_000).unwrap().resource, "/dev/nbd1");
    let renewed = s.lease_renew(DEVICES, "job-a", 1_000).unwrap();
    assert_eq!(renewed[0].expires_at, a.expires_at, "renew never shortens");
    assert!(s.integrity_check().unwrap().ok);
}

#[test]
fn a_built_in_pool_can_be_redefined_while_nothing_is_leased() {
    let f = TempStore::new(T0);
    let s = &f.store;
    s.lease_acquire(PORTS, "job-a", 1_000).unwrap();
    let ports: Vec<String> = (20100..20110).map(|p| p.to_string()).collect();
    let mut narrower = NewLeasePool::new(PORTS, ports.clone());
    narrower.description = Some("NBD server ports 20100-20109".into());
    assert_refused(s, Status::Conflict, &["lease pool backup_nbd_port has 1 live lease(s)"], || {
        s.lease_pool_define(&narrower)
    });
    s.lease_release(PORTS, "job-a").unwrap();
    let pool = s.lease_pool_define(&narrower).unwrap();
    assert_eq!((pool.resources, pool.created_at), (ports, Timestamp(0)), "the built-in pool keeps its created_at");
    assert_eq!(s.lease_acquire(PORTS, "job-b", 1_000).unwrap().resource, "20100");
    assert!(s.integrity_check().unwrap().ok);
}
