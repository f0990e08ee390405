//! Backup repositories, policies and copy rules through the Rust API on real database files:
//! each rule and each refusal (which must change nothing).

use super::local;
use crate::fixtures::{assert_refused, TempStore};

use serde_json::json;

use sendense::backup::{
    CopyMode, ImmutableConfig, NewCopyRule, NewPolicy, NewRepository, PolicyFilter, PolicyUpdate, RepositoryFilter,
    RepositoryType, RepositoryUpdate,
};
use sendense::replication::NewContext;
use sendense::value::from_json;
use sendense::{Status, Store, Timestamp};

const T0: i64 = 1_764_306_589_000; // 2025-11-28T05:09:49Z

fn lock(grace: i64, min: i64) -> ImmutableConfig {
    ImmutableConfig {
        grace_period_days: grace,
        apply_to_fulls: true,
        apply_to_incrementals: true,
        min_retention_days: min,
    }
}

/// A context, and a backup job stored in `repository_id` (raw SQL: the backup-job API is
/// another area's).
fn add_backup(store: &Store, repository_id: &str, job_id: &str) {
    let context = match store.context_find("vm-1", "vc") {
        Ok(Some(c)) => c.context_id,
        _ => store.context_create(&NewContext::new("web", "vm-1", "/dc/vm/web", "vc", "dc")).unwrap(),
    };
    store
        .write(|tx| {
            tx.execute(
                "INSERT INTO backup_jobs (id, vm_context_id, vm_name, repository_id, backup_type, repository_path) \
                 VALUES (?1, ?2, 'web', ?3, 'full', '/x')",
                [job_id, &context, repository_id],
            )?;
            Ok(())
        })
        .unwrap();
}

fn add_copy(store: &Store, source_backup_id: &str, repository_id: &str, copy_id: &str) {
    store
        .write(|tx| {
            tx.execute(
                "INSERT INTO backup_copies (id, source_backup_id, repository_id, file_path) VALUES (?1, ?2, ?3, '/c')",
                [copy_id, source_backup_id, repository_id],
            )?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn repositories_are_created_read_and_listed_with_their_columns() {
    let f = TempStore::new(T0);
    let a = f.store.repository_create(&local("alpha")).unwrap();
    assert_eq!(uuid_version(&a), Some(7));
    let mut s3 = NewRepository::new(
        "Bravo",
        RepositoryType::S3,
        json!({"region": "eu-west-1", "bucket": "bk", "endpoint": "https://minio:9000"}),
    );
    s3.id = Some("repo-s3".into());
    s3.enabled = false;
    s3.is_immutable = true;
    s3.immutable_config = Some(lock(1, 30));
    s3.min_retention_days = 7;
    assert_eq!(f.store.repository_create(&s3).unwrap(), "repo-s3");

    let r = f.store.repository_get("repo-s3").unwrap();
    assert_eq!(r.name, "Bravo");
    assert_eq!(r.repository_type, RepositoryType::S3);
    assert!(!r.enabled && r.is_immutable);
    assert_eq!(r.config["bucket"], "bk");
    assert_eq!(r.immutable().unwrap(), Some(lock(1, 30)));
    assert_eq!(r.min_retention_days, 7);
    assert_eq!((r.total_size_bytes, r.used_size_bytes, r.available_size_bytes), (0, 0, 0));
    assert_eq!(r.last_check_at, None);
    assert_eq!(r.created_at, Timestamp(T0));
    assert_eq!(r.updated_at, Timestamp(T0));

    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["repository_type"], "s3");
    assert_eq!(v["config"]["region"], "eu-west-1", "config is embedded, not a string");
    assert_eq!(v["immutable_config"]["min_retention_days"], 30);
    assert_eq!(v["is_immutable"], true);
    assert_eq!(v["created_at"], "2025-11-28T05:09:49.000Z");
    assert!(v["last_check_at"].is_null());

    let all = f.store.repository_list(&RepositoryFilter::default()).unwrap();
    assert_eq!(all.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["alpha", "Bravo"]);
    let s3s = f
        .store
        .repository_list(&RepositoryFilter { repository_type: Some(RepositoryType::S3), enabled: None })
        .unwrap();
    assert_eq!(s3s.len(), 1);
    let enabled = f.store.repository_list(&from_json("filter", r#"{"enabled":true}"#).unwrap()).unwrap();
    assert_eq!(enabled.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [a.as_str()]);
    assert!(f
        .store
        .repository_list(&RepositoryFilter { repository_type: Some(RepositoryType::Azure), enabled: None })
        .unwrap()
        .is_empty());

    let from: NewRepository = from_json(
        "repository",
        r#"{"name":"c","repository_type":"smb","config":{"server":"fs","share":"b","password_ref":"vault:k"}}"#,
    )
    .unwrap();
    let c = f.store.repository_create(&from).unwrap();
    assert!(f.store.repository_get(&c).unwrap().enabled);
}

fn uuid_version(id: &str) -> Option<u32> {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    (hex.len() == 32).then(|| hex[12..13].parse::<u32>().ok()).flatten()
}

#[test]
fn repository_create_refusals_change_nothing() {
    let f = TempStore::new(T0);
    let mut first = local("main");
    first.id = Some("r1".into());
    f.store.repository_create(&first).unwrap();
    let s = &f.store;

    let mut dup_id = local("other");
    dup_id.id = Some("r1".into());
    assert_refused(s, Status::AlreadyExists, &["repository \"r1\" already exists", "\"main\""], || {
        s.repository_create(&dup_id)
    });
    assert_refused(s, Status::AlreadyExists, &["\"MAIN\" already exists", "r1"], || {
        s.repository_create(&local("MAIN"))
    });
    assert_refused(s, Status::InvalidArgument, &["repository name is empty"], || s.repository_create(&local(" ")));
    let mut bad_id = local("x");
    bad_id.id = Some(String::new());
    assert_refused(s, Status::InvalidArgument, &["repository id is empty"], || s.repository_create(&bad_id));
    let cases = [
        (RepositoryType::Local, json!({"path": "relative"}), "path must be an absolute path"),
        (RepositoryType::Local, json!({"path": "/a", "share": "s"}), "unknown key \"share\""),
        (RepositoryType::Nfs, json!({"server": "n"}), "export_path is required"),
        (RepositoryType::Cifs, json!({"server": "n", "share": 3}), "share must be a string (got number)"),
        (RepositoryType::Smb, json!({"share": "s"}), "server is required"),
        (RepositoryType::S3, json!({"region": "r"}), "bucket is required"),
        (RepositoryType::Azure, json!({"account": "a", "container": "c", "bucket": "b"}), "unknown key \"bucket\""),
        (RepositoryType::Azure, json!([]), "must be a JSON object (got array)"),
    ];
    for (t, config, words) in cases {
        assert_refused(s, Status::InvalidArgument, &[words], || {
            s.repository_create(&NewRepository::new("x", t, config))
        });
    }
    let mut no_lock = local("x");
    no_lock.is_immutable = true;
    assert_refused(s, Status::InvalidArgument, &["is_immutable requires an immutable_config"], || {
        s.repository_create(&no_lock)
    });
    let mut neg_lock = local("x");
    neg_lock.immutable_config = Some(lock(0, -1));
    assert_refused(s, Status::InvalidArgument, &["min_retention_days is negative (-1)"], || {
        s.repository_create(&neg_lock)
    });
    let mut neg = local("x");
    neg.min_retention_days = -3;
    assert_refused(s, Status::InvalidArgument, &["min_retention_days is negative (-3)"], || s.repository_create(&neg));

    for (json, words) in [
        (r#"{"name":"x","repository_type":"local","config":{"path":"/x"},"colour":1}"#, "unknown field `colour`"),
        (r#"{"name":"x","repository_type":"tape","config":{}}"#, "not a valid repository type"),
        (
            r#"{"name":"x","repository_type":"local","config":{"path":"/x"},"is_immutable":true,
                "immutable_config":{"grace_period_days":0,"apply_to_fulls":true,"apply_to_incrementals":true}}"#,
            "missing field `min_retention_days`",
        ),
        (
            r#"{"name":"x","repository_type":"local","config":{"path":"/x"},"is_immutable":true,
                "immutable_config":{"grace_period_days":0,"apply_to_fulls":true,"apply_to_incrementals":true,
                "min_retention_days":1,"mode":"x"}}"#,
            "unknown field `mode`",
        ),
    ] {
        let e = from_json::<NewRepository>("repository", json).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument);
        assert!(e.message().contains(words), "{e}");
    }
    assert_refused(s, Status::NotFound, &["repository \"nope\" does not exist"], || s.repository_get("nope"));
}

#[test]
fn repository_updates_revalidate_against_the_type() {
    let f = TempStore::new(T0);
    let id = f.store.repository_create(&local("main")).unwrap();
    let other = f.store.repository_create(&local("other")).unwrap();
    f.clock.advance(1000);
    let s = &f.store;

    let u: RepositoryUpdate =
        from_json("update", r#"{"name":"Main2","config":{"path":"/new"},"min_retention_days":5}"#).unwrap();
    let r = s.repository_update(&id, &u).unwrap();
    assert_eq!(r.name, "Main2");
    assert_eq!(r.config, json!({"path": "/new"}));
    assert_eq!(r.min_retention_days, 5);
    assert_eq!(r.updated_at, Timestamp(T0 + 1000));
    assert_eq!(r.created_at, Timestamp(T0));

    // An empty update changes nothing but is fine.
    assert_eq!(s.repository_update(&id, &RepositoryUpdate::default()).unwrap(), r);

    let bad = |json: &str| -> RepositoryUpdate { from_json("update", json).unwrap() };
    assert_refused(s, Status::InvalidArgument, &["unknown key \"bucket\""], || {
        s.repository_update(&id, &bad(r#"{"config":{"path":"/x","bucket":"b"}}"#))
    });
    assert_refused(s, Status::InvalidArgument, &["must be a JSON object (got null)"], || {
        s.repository_update(&id, &bad(r#"{"config":null}"#))
    });
    assert_refused(s, Status::AlreadyExists, &["\"OTHER\" already exists", &other], || {
        s.repository_update(&id, &bad(r#"{"name":"OTHER"}"#))
    });
    assert_refused(s, Status::InvalidArgument, &["min_retention_days is negative"], || {
        s.repository_update(&id, &bad(r#"{"min_retention_days":-1}"#))
    });
    assert_refused(s, Status::InvalidArgument, &["is_immutable requires an immutable_config"], || {
        s.repository_update(&id, &bad(r#"{"is_immutable":true}"#))
    });
    assert_refused(s, Status::NotFound, &["repository \"nope\" does not exist"], || {
        s.repository_update("nope", &bad(r#"{"min_retention_days":1}"#))
    });
    assert!(from_json::<RepositoryUpdate>("update", r#"{"repository_type":"s3"}"#)
        .unwrap_err()
        .message()
        .contains("unknown field `repository_type`"));

    // Renaming to the same name in another case is allowed (it is the holder).
    assert_eq!(s.repository_update(&id, &bad(r#"{"name":"MAIN2"}"#)).unwrap().name, "MAIN2");

    // Immutability on, then its config cannot be cleared, then (without backups) off again.
    let on = bad(r#"{"is_immutable":true,"immutable_config":{"grace_period_days":1,"apply_to_fulls":true,
            "apply_to_incrementals":false,"min_retention_days":14}}"#);
    let r = s.repository_update(&id, &on).unwrap();
    assert!(r.is_immutable);
    assert_eq!(r.immutable().unwrap().unwrap().min_retention_days, 14);
    assert_refused(s, Status::InvalidArgument, &["is_immutable requires an immutable_config"], || {
        s.repository_update(&id, &bad(r#"{"immutable_config":null}"#))
    });
    assert_refused(s, Status::InvalidArgument, &["grace_period_days (9) exceeds min_retention_days (2)"], || {
        s.repository_update(
            &id,
            &bad(r#"{"immutable_config":{"grace_period_days":9,"apply_to_fulls":true,"apply_to_incrementals":false,
                 "min_retention_days":2}}"#),
        )
    });
    let r = s.repository_update(&id, &bad(r#"{"is_immutable":false,"immutable_config":null}"#)).unwrap();
    assert!(!r.is_immutable);
    assert_eq!(r.immutable_config, None);

    // Once it holds a backup, immutability cannot be switched off.
    s.repository_update(&id, &on).unwrap();
    add_backup(s, &id, "b1");
    assert_refused(s, Status::Conflict, &["holds 1 backups", "immutability cannot be switched off"], || {
        s.repository_update(&id, &bad(r#"{"is_immutable":false}"#))
    });
    // Tightening or changing other settings still works.
    assert_eq!(s.repository_update(&id, &bad(r#"{"min_retention_days":30}"#)).unwrap().min_retention_days, 30);

    // The config of another type is validated against that type.
    let az = s
        .repository_create(&NewRepository::new("az", RepositoryType::Azure, json!({"account": "a", "container": "c"})))
        .unwrap();
    assert_refused(s, Status::InvalidArgument, &["azure repository config", "unknown key \"path\""], || {
        s.repository_update(&az, &bad(r#"{"config":{"path":"/x"}}"#))
    });
}

#[test]
fn enabling_and_capacity() {
    let f = TempStore::new(T0);
    let id = f.store.repository_create(&local("main")).unwrap();
    let s = &f.store;
    f.clock.advance(5);
    let r = s.repository_set_enabled(&id, false).unwrap();
    assert!(!r.enabled);
    assert_eq!(r.updated_at, Timestamp(T0 + 5));
    assert!(s.repository_set_enabled(&id, true).unwrap().enabled);
    assert_refused(s, Status::NotFound, &["\"nope\""], || s.repository_set_enabled("nope", true));

    f.clock.advance(10);
    let r = s.repository_record_capacity(&id, 1000, 400, 600).unwrap();
    assert_eq!((r.total_size_bytes, r.used_size_bytes, r.available_size_bytes), (1000, 400, 600));
    assert_eq!(r.last_check_at, Some(Timestamp(T0 + 15)));
    // Unknown total: any non-negative figures.
    let r = s.repository_record_capacity(&id, 0, 5, 7).unwrap();
    assert_eq!((r.total_size_bytes, r.used_size_bytes, r.available_size_bytes), (0, 5, 7));
    s.repository_record_capacity(&id, 100, 30, 20).unwrap();
    assert_refused(s, Status::InvalidArgument, &["used_size_bytes (600) + available_size_bytes (600) exceeds"], || {
        s.repository_record_capacity(&id, 1000, 600, 600)
    });
    assert_refused(s, Status::InvalidArgument, &["exceeds"], || s.repository_record_capacity(&id, 10, i64::MAX, 1));
    assert_refused(s, Status::InvalidArgument, &["total_size_bytes is negative"], || {
        s.repository_record_capacity(&id, -1, 0, 0)
    });
    assert_refused(s, Status::InvalidArgument, &["used_size_bytes is negative"], || {
        s.repository_record_capacity(&id, 0, -1, 0)
    });
    assert_refused(s, Status::InvalidArgument, &["available_size_bytes is negative"], || {
        s.repository_record_capacity(&id, 0, 0, -1)
    });
    assert_refused(s, Status::NotFound, &["\"nope\""], || s.repository_record_capacity("nope", 1, 0, 0));
}

#[test]
fn a_repository_in_use_cannot_be_deleted() {
    let f = TempStore::new(T0);
    let s = &f.store;
    let primary = s.repository_create(&local("primary")).unwrap();
    let dest = s.repository_create(&local("dest")).unwrap();
    let spare = s.repository_create(&local("spare")).unwrap();

    let mut p = NewPolicy::new("gold", &primary);
    p.copy_rules.push(NewCopyRule::new(&dest, 1));
    let pid = s.policy_create(&p).unwrap();
    assert_refused(s, Status::Conflict, &["primary repository of policy \"gold\"", &pid], || {
        s.repository_delete(&primary)
    });
    assert_refused(s, Status::Conflict, &["copy destination of policy \"gold\"", &pid], || s.repository_delete(&dest));

    s.policy_delete(&pid).unwrap();
    add_backup(s, &primary, "b1");
    add_backup(s, &primary, "b2");
    add_copy(s, "b1", &dest, "c1");
    assert_refused(s, Status::Conflict, &["holds 2 backups (2 backup jobs, 0 backup copies)"], || {
        s.repository_delete(&primary)
    });
    assert_refused(s, Status::Conflict, &["holds 1 backups (0 backup jobs, 1 backup copies)"], || {
        s.repository_delete(&dest)
    });

    // A chain living in a repository keeps it too.
    let context = s.context_find("vm-1", "vc").unwrap().unwrap().context_id;
    s.write(|tx| {
        tx.execute(
            "INSERT INTO backup_chains (id, vm_context_id, disk_id, repository_id) VALUES ('ch', ?1, 0, ?2)",
            [&context, &spare],
        )?;
        Ok(())
    })
    .unwrap();
    assert_refused(s, Status::Conflict, &["holds 1 backup chains"], || s.repository_delete(&spare));
    s.write(|tx| Ok(tx.execute("DELETE FROM backup_chains", [])?)).unwrap();

    s.repository_delete(&spare).unwrap();
    assert_refused(s, Status::NotFound, &["does not exist"], || s.repository_get(&spare));
    assert_refused(s, Status::NotFound, &["does not exist"], || s.repository_delete(&spare));

    // Once the backups are gone, it can go.
    s.write(|tx| Ok(tx.execute("DELETE FROM backup_jobs", [])?)).unwrap();
    s.repository_delete(&primary).unwrap();
    s.repository_delete(&dest).unwrap();
    assert!(s.repository_list(&RepositoryFilter::default()).unwrap().is_empty());
}

struct Repos {
    a: String,
    b: String,
    c: String,
    d: String,
}

fn repos(s: &Store) -> Repos {
    Repos {
        a: s.repository_create(&local("a")).unwrap(),
        b: s.repository_create(&local("b")).unwrap(),
        c: s.repository_create(&local("c")).unwrap(),
        d: s.repository_create(&local("d")).unwrap(),
    }
}

#[test]
fn policies_are_created_with_their_rules_ordered_by_priority() {
    let f = TempStore::new(T0);
    let s = &f.store;
    let r = repos(s);
    let json = format!(
        r#"{{"name":"gold","primary_repository_id":"{a}","retention_days":14,"copy_rules":[
            {{"destination_repository_id":"{b}","priority":3,"copy_mode":"manual","verify_after_copy":false,"id":"rule-z"}},
            {{"destination_repository_id":"{c}","priority":1,"id":"rule-c"}},
            {{"destination_repository_id":"{d}","priority":3,"copy_mode":"scheduled","enabled":false,"id":"rule-0"}}]}}"#,
        a = r.a,
        b = r.b,
        c = r.c,
        d = r.d
    );
    let new: NewPolicy = from_json("policy", &json).unwrap();
    let pid = s.policy_create(&new).unwrap();
    assert_eq!(uuid_version(&pid), Some(7));
    let p = s.policy_get(&pid).unwrap();
    assert_eq!(p.name, "gold");
    assert!(p.enabled);
    assert_eq!(p.primary_repository_id, r.a);
    assert_eq!(p.retention_days, 14);
    assert_eq!(p.created_at, Timestamp(T0));
    let order: Vec<(&str, i64)> =
        p.copy_rules.iter().map(|c| (c.destination_repository_id.as_str(), c.priority)).collect();
    assert_eq!(order, [(r.c.as_str(), 1), (r.d.as_str(), 3), (r.b.as_str(), 3)], "priority, then id");
    assert_eq!(p.copy_rules[0].id, "rule-c");
    assert_eq!(p.copy_rules[1].id, "rule-0");
    assert_eq!(p.copy_rules[1].copy_mode, CopyMode::Scheduled);
    assert!(!p.copy_rules[1].enabled && p.copy_rules[1].verify_after_copy);
    assert_eq!(p.copy_rules[2].copy_mode, CopyMode::Manual);
    assert!(p.copy_rules[2].enabled && !p.copy_rules[2].verify_after_copy);
    assert!(p.copy_rules.iter().all(|c| c.policy_id == pid && c.created_at == Timestamp(T0)));

    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(v["copy_rules"][0]["destination_repository_id"], r.c.as_str());
    assert_eq!(v["copy_rules"][1]["copy_mode"], "scheduled");
    assert_eq!(v["primary_repository_id"], r.a.as_str());

    let mut silver = NewPolicy::new("silver", &r.b);
    silver.id = Some("pol-silver".into());
    silver.enabled = false;
    assert_eq!(s.policy_create(&silver).unwrap(), "pol-silver");
    let sp = s.policy_get("pol-silver").unwrap();
    assert!(sp.copy_rules.is_empty());
    assert_eq!(sp.retention_days, 30);

    let names =
        |filter: &PolicyFilter| -> Vec<String> { s.policy_list(filter).unwrap().into_iter().map(|p| p.name).collect() };
    assert_eq!(names(&PolicyFilter::default()), ["gold", "silver"]);
    assert_eq!(names(&PolicyFilter { enabled: Some(false), repository_id: None }), ["silver"]);
    assert_eq!(names(&PolicyFilter { enabled: None, repository_id: Some(r.b.clone()) }), ["gold", "silver"]);
    assert_eq!(names(&PolicyFilter { enabled: None, repository_id: Some(r.a.clone()) }), ["gold"]);
    assert!(names(&PolicyFilter { enabled: Some(true), repository_id: Some("x".into()) }).is_empty());
    let listed = s.policy_list(&PolicyFilter::default()).unwrap();
    assert_eq!(listed[0], p, "a listed policy carries its rules");
}

#[test]
fn policy_create_refusals_name_the_rule_and_change_nothing() {
    let f = TempStore::new(T0);
    let s = &f.store;
    let r = repos(s);
    let mut existing = NewPolicy::new("gold", &r.a);
    existing.id = Some("p1".into());
    let mut rule = NewCopyRule::new(&r.b, 1);
    rule.id = Some("rule-1".into());
    existing.copy_rules.push(rule);
    s.policy_create(&existing).unwrap();

    let with = |rules: Vec<NewCopyRule>| {
        let mut p = NewPolicy::new("new", &r.a);
        p.copy_rules = rules;
        p
    };
    assert_refused(s, Status::NotFound, &["copy_rules[1]", "destination repository \"ghost\" does not exist"], || {
        s.policy_create(&with(vec![NewCopyRule::new(&r.b, 1), NewCopyRule::new("ghost", 2)]))
    });
    assert_refused(s, Status::InvalidArgument, &["copy_rules[0]", "primary repository"], || {
        s.policy_create(&with(vec![NewCopyRule::new(&r.a, 1)]))
    });
    assert_refused(s, Status::InvalidArgument, &["copy_rules[2]", "copy_rules[0] already copies"], || {
        s.policy_create(&with(vec![NewCopyRule::new(&r.b, 1), NewCopyRule::new(&r.c, 1), NewCopyRule::new(&r.b, 2)]))
    });
    assert_refused(s, Status::InvalidArgument, &["copy_rules[0]", "priority must be >= 1 (got 0)"], || {
        s.policy_create(&with(vec![NewCopyRule::new(&r.b, 0)]))
    });
    assert_refused(s, Status::InvalidArgument, &["priority must be >= 1 (got -4)"], || {
        s.policy_create(&with(vec![NewCopyRule::new(&r.b, -4)]))
    });
    let mut taken = NewCopyRule::new(&r.c, 1);
    taken.id = Some("rule-1".into());
    assert_refused(s, Status::AlreadyExists, &["copy rule \"rule-1\" already exists (in policy p1)"], || {
        s.policy_create(&with(vec![taken]))
    });
    assert_refused(s, Status::NotFound, &["primary repository \"ghost\" does not exist"], || {
        s.policy_create(&NewPolicy::new("new", "ghost"))
    });
    assert_refused(s, Status::AlreadyExists, &["policy named \"GOLD\" already exists (p1)"], || {
        s.policy_create(&NewPolicy::new("GOLD", &r.a))
    });
    let mut dup = NewPolicy::new("other", &r.a);
    dup.id = Some("p1".into());
    assert_refused(s, Status::AlreadyExists, &["policy \"p1\" already exists (named \"gold\")"], || {
        s.policy_create(&dup)
    });
    let mut neg = NewPolicy::new("new", &r.a);
    neg.retention_days = -1;
    assert_refused(s, Status::InvalidArgument, &["retention_days is negative (-1)"], || s.policy_create(&neg));
    assert_refused(s, Status::InvalidArgument, &["policy name is empty"], || {
        s.policy_create(&NewPolicy::new("", &r.a))
    });
    for (json, words) in [
        (r#"{"name":"x","primary_repository_id":"a","retention":3}"#, "unknown field `retention`"),
        (
            r#"{"name":"x","primary_repository_id":"a","copy_rules":[{"destination_repository_id":"b"}]}"#,
            "missing field `priority`",
        ),
        (
            r#"{"name":"x","primary_repository_id":"a","copy_rules":[{"destination_repository_id":"b","priority":1,"copy_mode":"hourly"}]}"#,
            "not a valid copy mode",
        ),
    ] {
        let e = from_json::<NewPolicy>("policy", json).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument);
        assert!(e.message().contains(words), "{e}");
    }
    assert_refused(s, Status::NotFound, &["policy \"nope\" does not exist"], || s.policy_get("nope"));
}

#[test]
fn policy_updates_replace_rules_atomically_and_keep_surviving_rule_ids() {
    let f = TempStore::new(T0);
    let s = &f.store;
    let r = repos(s);
    let mut new = NewPolicy::new("gold", &r.a);
    new.copy_rules = vec![NewCopyRule::new(&r.b, 1), NewCopyRule::new(&r.c, 2)];
    let pid = s.policy_create(&new).unwrap();
    let before = s.policy_get(&pid).unwrap();
    let rule_b = before.copy_rules[0].id.clone();
    let rule_c = before.copy_rules[1].id.clone();
    s.policy_create(&NewPolicy::new("silver", &r.a)).unwrap();
    f.clock.advance(100);

    // Plain attributes.
    let p = s
        .policy_update(&pid, &from_json("update", r#"{"name":"Gold2","enabled":false,"retention_days":0}"#).unwrap())
        .unwrap();
    assert_eq!((p.name.as_str(), p.enabled, p.retention_days), ("Gold2", false, 0));
    assert_eq!(p.updated_at, Timestamp(T0 + 100));
    assert_eq!(p.copy_rules, before.copy_rules, "rules untouched when copy_rules is absent");

    // Replace: b stays (same id, new settings), c goes, d arrives.
    let mut keep_b = NewCopyRule::new(&r.b, 5);
    keep_b.copy_mode = CopyMode::Manual;
    keep_b.id = Some(rule_b.clone());
    let mut add_d = NewCopyRule::new(&r.d, 1);
    add_d.id = Some("rule-d".into());
    let p =
        s.policy_update(&pid, &PolicyUpdate { copy_rules: Some(vec![keep_b, add_d]), ..Default::default() }).unwrap();
    let got: Vec<(&str, &str, i64)> =
        p.copy_rules.iter().map(|c| (c.id.as_str(), c.destination_repository_id.as_str(), c.priority)).collect();
    assert_eq!(got, [("rule-d", r.d.as_str(), 1), (rule_b.as_str(), r.b.as_str(), 5)]);
    assert_eq!(p.copy_rules[1].copy_mode, CopyMode::Manual);
    assert!(!p.copy_rules.iter().any(|c| c.id == rule_c));

    // Moving the primary to a repository a rule copies to is refused; replacing the rules
    // in the same update makes it valid.
    assert_refused(s, Status::InvalidArgument, &["copy rule rule-d already copies to repository"], || {
        s.policy_update(&pid, &PolicyUpdate { primary_repository_id: Some(r.d.clone()), ..Default::default() })
    });
    let p = s
        .policy_update(
            &pid,
            &PolicyUpdate {
                primary_repository_id: Some(r.d.clone()),
                copy_rules: Some(vec![NewCopyRule::new(&r.a, 1)]),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(p.primary_repository_id, r.d);
    assert_eq!(p.copy_rules.len(), 1);
    assert_eq!(p.copy_rules[0].destination_repository_id, r.a);

    // Refusals, each changing nothing.
    let rules = |v: Vec<NewCopyRule>| PolicyUpdate { copy_rules: Some(v), ..Default::default() };
    assert_refused(s, Status::NotFound, &["copy_rules[1]", "\"ghost\" does not exist"], || {
        s.policy_update(&pid, &rules(vec![NewCopyRule::new(&r.b, 1), NewCopyRule::new("ghost", 1)]))
    });
    assert_refused(s, Status::InvalidArgument, &["copy_rules[0]", "primary repository"], || {
        s.policy_update(&pid, &rules(vec![NewCopyRule::new(&r.d, 1)]))
    });
    assert_refused(s, Status::InvalidArgument, &["copy_rules[1]", "already copies"], || {
        s.policy_update(&pid, &rules(vec![NewCopyRule::new(&r.b, 1), NewCopyRule::new(&r.b, 1)]))
    });
    assert_refused(s, Status::InvalidArgument, &["copy_rules[0]", "priority must be >= 1"], || {
        s.policy_update(&pid, &rules(vec![NewCopyRule::new(&r.b, 0)]))
    });
    let mut renamed = NewCopyRule::new(&r.a, 1);
    renamed.id = Some("other-id".into());
    assert_refused(s, Status::InvalidArgument, &["a rule's id cannot change"], || {
        s.policy_update(&pid, &rules(vec![renamed]))
    });
    assert_refused(s, Status::AlreadyExists, &["policy named \"SILVER\" already exists"], || {
        s.policy_update(&pid, &from_json("update", r#"{"name":"SILVER"}"#).unwrap())
    });
    assert_refused(s, Status::NotFound, &["primary repository \"ghost\" does not exist"], || {
        s.policy_update(&pid, &PolicyUpdate { primary_repository_id: Some("ghost".into()), ..Default::default() })
    });
    assert_refused(s, Status::InvalidArgument, &["retention_days is negative"], || {
        s.policy_update(&pid, &PolicyUpdate { retention_days: Some(-1), ..Default::default() })
    });
    assert_refused(s, Status::InvalidArgument, &["policy name is empty"], || {
        s.policy_update(&pid, &PolicyUpdate { name: Some(" ".into()), ..Default::default() })
    });
    assert_refused(s, Status::NotFound, &["policy \"nope\" does not exist"], || {
        s.policy_update("nope", &PolicyUpdate::default())
    });

    // An empty list removes every rule.
    let p = s.policy_update(&pid, &rules(vec![])).unwrap();
    assert!(p.copy_rules.is_empty());
}

#[test]
fn deleting_a_policy_takes_its_rules_and_keeps_backups() {
    let f = TempStore::new(T0);
    let s = &f.store;
    let r = repos(s);
    let mut new = NewPolicy::new("gold", &r.a);
    new.copy_rules = vec![NewCopyRule::new(&r.b, 1)];
    let pid = s.policy_create(&new).unwrap();
    let rule = s.policy_get(&pid).unwrap().copy_rules[0].id.clone();
    add_backup(s, &r.a, "b1");
    s.write(|tx| Ok(tx.execute("UPDATE backup_jobs SET policy_id = ?1", [&pid])?)).unwrap();
    add_copy(s, "b1", &r.b, "c1");
    s.write(|tx| Ok(tx.execute("UPDATE backup_copies SET copy_rule_id = ?1", [&rule])?)).unwrap();

    s.policy_delete(&pid).unwrap();
    assert_refused(s, Status::NotFound, &["policy"], || s.policy_get(&pid));
    assert_refused(s, Status::NotFound, &["does not exist"], || s.policy_delete(&pid));
    let (rules, policy_id, copy_rule_id): (i64, Option<String>, Option<String>) = s
        .read(|tx| {
            Ok(tx.query_row(
                "SELECT (SELECT count(*) FROM backup_copy_rules), (SELECT policy_id FROM backup_jobs), \
                 (SELECT copy_rule_id FROM backup_copies)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .unwrap();
    assert_eq!((rules, policy_id, copy_rule_id), (0, None, None));
    assert!(s.integrity_check().unwrap().ok);
}
