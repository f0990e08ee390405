//! Network mappings through the Rust API on real database files: upserts per (context,
//! source network, kind), `both`, validation, listing, deletes, the legacy `vm_id`, the
//! schema's CHECK and cascade, and every refusal (which must change nothing).

use crate::fixtures::{assert_refused, TempStore};
use sendense::failover::{MappingType, NetworkKind, NetworkMapping, NewNetworkMapping, ValidationStatus};
use sendense::replication::NewContext;
use sendense::value::from_json;
use sendense::{Status, Store};

const T0: i64 = 1_764_306_589_000;

fn fixture() -> (TempStore, String) {
    let t = TempStore::new(T0);
    let ctx = t.store.context_create(&NewContext::new("web-01", "4210-aaaa", "/dc/vm/web-01", "vc", "dc")).unwrap();
    (t, ctx)
}

fn set(store: &Store, ctx: &str, source: &str, dest: &str, kind: MappingType) -> Vec<NetworkMapping> {
    store.network_mapping_set(&NewNetworkMapping::new(ctx, source, dest, format!("{dest}-name"), kind)).unwrap()
}

#[test]
fn both_writes_one_row_per_kind_and_set_is_an_upsert() {
    let (t, ctx) = fixture();
    let rows = set(&t.store, &ctx, "VM Network", "net-1", MappingType::Both);
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].mapping_type, rows[0].is_test_network), (NetworkKind::Live, false));
    assert_eq!((rows[1].mapping_type, rows[1].is_test_network), (NetworkKind::Test, true));
    for r in &rows {
        // The legacy column holds the VMware VM id, never the VM name.
        assert_eq!(r.vm_id, "4210-aaaa");
        assert_eq!(r.vmware_vm_id.as_deref(), Some("4210-aaaa"));
        assert_eq!(r.vm_context_id, ctx);
        assert_eq!(r.validation_status, ValidationStatus::Pending);
        assert_eq!(r.destination_network_id, "net-1");
    }
    // Setting the test kind again updates its row in place; the live row is untouched.
    let again = set(&t.store, &ctx, "VM Network", "net-iso", MappingType::Test);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, rows[1].id);
    assert_eq!(again[0].destination_network_id, "net-iso");
    let all = t.store.network_mapping_list(&ctx, None).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], rows[0]);
    assert_eq!(t.store.network_mapping_list(&ctx, Some(NetworkKind::Test)).unwrap(), again);
    assert_eq!(t.store.network_mapping_list(&ctx, Some(NetworkKind::Live)).unwrap(), vec![rows[0].clone()]);
}

#[test]
fn validate_stamps_and_a_new_destination_makes_it_pending_again() {
    let (t, ctx) = fixture();
    set(&t.store, &ctx, "VM Network", "net-1", MappingType::Both);
    t.clock.advance(1000);
    let v = t.store.network_mapping_validate(&ctx, "VM Network", MappingType::Live, true).unwrap();
    assert_eq!(v[0].validation_status, ValidationStatus::Valid);
    assert_eq!(v[0].last_validated.map(|t| t.millis()), Some(T0 + 1000));
    let v = t.store.network_mapping_validate(&ctx, "VM Network", MappingType::Test, false).unwrap();
    assert_eq!(v[0].validation_status, ValidationStatus::Invalid);
    // The same destination again keeps the validation; another one resets it.
    let same = set(&t.store, &ctx, "VM Network", "net-1", MappingType::Live);
    assert_eq!(same[0].validation_status, ValidationStatus::Valid);
    let moved = set(&t.store, &ctx, "VM Network", "net-2", MappingType::Live);
    assert_eq!((moved[0].validation_status, moved[0].last_validated), (ValidationStatus::Pending, None));
    let both = t.store.network_mapping_validate(&ctx, "VM Network", MappingType::Both, true).unwrap();
    assert!(both.iter().all(|r| r.validation_status == ValidationStatus::Valid));
}

#[test]
fn delete_removes_one_kind_or_both_and_missing_rows_are_not_found() {
    let (t, ctx) = fixture();
    set(&t.store, &ctx, "VM Network", "net-1", MappingType::Both);
    set(&t.store, &ctx, "Backup", "net-2", MappingType::Live);
    t.store.network_mapping_delete(&ctx, "VM Network", MappingType::Test).unwrap();
    let left: Vec<_> = t
        .store
        .network_mapping_list(&ctx, None)
        .unwrap()
        .into_iter()
        .map(|r| (r.source_network_name, r.mapping_type))
        .collect();
    assert_eq!(left, [("Backup".to_string(), NetworkKind::Live), ("VM Network".to_string(), NetworkKind::Live)]);
    // `both` needs both rows: the test row of "VM Network" is gone, so nothing is deleted.
    assert_refused(&t.store, Status::NotFound, &["test", "VM Network"], || {
        t.store.network_mapping_delete(&ctx, "VM Network", MappingType::Both)
    });
    assert_refused(&t.store, Status::NotFound, &["live", "Nope"], || {
        t.store.network_mapping_delete(&ctx, "Nope", MappingType::Live)
    });
    assert_refused(&t.store, Status::NotFound, &["test", "Backup"], || {
        t.store.network_mapping_validate(&ctx, "Backup", MappingType::Test, true)
    });
    t.store.network_mapping_delete(&ctx, "Backup", MappingType::Live).unwrap();
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let (t, ctx) = fixture();
    set(&t.store, &ctx, "VM Network", "net-1", MappingType::Live);
    let s = &t.store;
    let json = |body: &str| from_json::<NewNetworkMapping>("json", body).and_then(|m| s.network_mapping_set(&m));
    let ok = format!(
        r#""vm_context_id":"{ctx}","source_network_name":"A","destination_network_id":"n","destination_network_name":"N""#
    );
    assert_refused(s, Status::InvalidArgument, &["\"all\"", "live, test, both"], || {
        json(&format!(r#"{{{ok},"mapping_type":"all"}}"#))
    });
    assert_refused(s, Status::InvalidArgument, &["mapping_type"], || json(&format!("{{{ok}}}")));
    assert_refused(s, Status::InvalidArgument, &["json"], || json("{not json"));
    assert_refused(s, Status::InvalidArgument, &["vm_id"], || {
        json(&format!(r#"{{{ok},"mapping_type":"live","vm_id":"web-01"}}"#))
    });
    assert_refused(s, Status::NotFound, &["no-such-context"], || {
        s.network_mapping_set(&NewNetworkMapping::new("no-such-context", "A", "n", "N", MappingType::Both))
    });
    for (field, m) in [
        ("source_network_name", NewNetworkMapping::new(&*ctx, " ", "n", "N", MappingType::Live)),
        ("destination_network_id", NewNetworkMapping::new(&*ctx, "A", "", "N", MappingType::Live)),
        ("destination_network_name", NewNetworkMapping::new(&*ctx, "A", "n", "", MappingType::Live)),
        ("vm_context_id", NewNetworkMapping::new("", "A", "n", "N", MappingType::Live)),
        (
            "network_strategy",
            NewNetworkMapping {
                network_strategy: Some(String::new()),
                ..NewNetworkMapping::new(&*ctx, "A", "n", "N", MappingType::Live)
            },
        ),
    ] {
        assert_refused(s, Status::InvalidArgument, &[field], || s.network_mapping_set(&m));
    }
    assert_refused(s, Status::InvalidArgument, &["\"both \""], || MappingType::parse("both "));
    assert_refused(s, Status::InvalidArgument, &["source_network_name"], || {
        s.network_mapping_validate(&ctx, "", MappingType::Live, true)
    });
    assert_refused(s, Status::NotFound, &["no-such-context"], || {
        s.network_mapping_validate("no-such-context", "VM Network", MappingType::Live, true)
    });
    assert_refused(s, Status::NotFound, &["no-such-context"], || s.network_mapping_list("no-such-context", None));
    assert_refused(s, Status::InvalidArgument, &["context_id"], || {
        s.network_mapping_delete("", "VM Network", MappingType::Live)
    });
}

#[test]
fn the_schema_keeps_kind_and_flag_in_agreement_and_the_context_delete_cascades() {
    let (t, ctx) = fixture();
    set(&t.store, &ctx, "VM Network", "net-1", MappingType::Both);
    // Raw SQL that makes is_test_network disagree with mapping_type is refused by a CHECK.
    for sql in [
        "UPDATE network_mappings SET is_test_network = 1 WHERE mapping_type = 'live'",
        "UPDATE network_mappings SET mapping_type = 'live' WHERE is_test_network = 1",
        "UPDATE network_mappings SET mapping_type = 'both'",
    ] {
        let err = t.store.write(|tx| tx.execute(sql, []).map_err(Into::into)).unwrap_err();
        assert!(err.message().contains("CHECK"), "{sql}: {err}");
    }
    t.store.context_delete(&ctx).unwrap();
    let left: i64 = t
        .store
        .read(|tx| tx.query_row("SELECT count(*) FROM network_mappings", [], |r| r.get(0)).map_err(Into::into))
        .unwrap();
    assert_eq!(left, 0);
}
