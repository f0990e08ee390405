//! Creates are safe to retry: after COMMIT_UNKNOWN a caller re-runs the call, and every create
//! that takes a caller-chosen id or identity answers ALREADY_EXISTS naming the row when the
//! first call was applied, changing nothing.

use std::sync::Arc;

use serde_json::json;

use crate::fixtures::assert_refused;
use sendense::backup::{BackupType, NewPolicy, NewRepository, RepositoryType, StartBackup};
use sendense::replication::{DiskSpec, NewContext, StartJob};
use sendense::store::secret::SecretKey;
use sendense::targets::{NewExport, NewLinstorConfig, NewMapping, NewOsseaConfig, NewOsseaVolume, NewVolumeOp};
use sendense::value::from_json;
use sendense::{ManualClock, OpenOptions, Status, Store};

/// Run `create` (which must succeed), then the same call again: ALREADY_EXISTS, with a message
/// naming every word `names` gives for the first call's result, and nothing changed.
fn retried<T: std::fmt::Debug>(
    store: &Store,
    what: &str,
    create: impl Fn() -> sendense::Result<T>,
    names: impl Fn(&T) -> Vec<String>,
) {
    let first = create().unwrap_or_else(|e| panic!("{what}: {e}"));
    let words = names(&first);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    assert_refused(store, Status::AlreadyExists, &words, create);
    println!("{what}: the retry is ALREADY_EXISTS naming {words:?}");
}

fn named(words: &[&str]) -> impl Fn(&String) -> Vec<String> {
    let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    move |_| words.clone()
}

#[test]
fn a_retried_create_answers_already_exists_naming_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let options = OpenOptions::default()
        .clock(Arc::new(ManualClock::new(1_767_225_600_000)))
        .secret_key(SecretKey::from_bytes(&[7; 32]).unwrap());
    let store = Store::open(dir.path().join("retry.db"), options).unwrap();
    let s = &store;

    let new_vm = NewContext::new("web-01", "4210-web", "/dc/vm/web-01", "vc", "dc");
    retried(s, "context create", || s.context_create(&new_vm), |id| vec![id.clone()]);
    let ctx = store.context_find("4210-web", "vc").unwrap().unwrap().context_id;

    let mut start = StartJob::new(ctx.as_str(), vec![DiskSpec::new("disk-2000", "[ds] web-01.vmdk", 40)]);
    start.id = Some("job-1".into());
    retried(s, "replication start with an id", || s.replication_start(&start), named(&["job-1"]));

    let repo = NewRepository {
        id: Some("repo-1".into()),
        ..NewRepository::new("main", RepositoryType::Local, json!({"path": "/srv/main"}))
    };
    retried(s, "repository create with an id", || s.repository_create(&repo), named(&["repo-1"]));
    let unnamed = NewRepository::new("second", RepositoryType::Local, json!({"path": "/srv/second"}));
    retried(s, "repository create by name", || s.repository_create(&unnamed), named(&["second"]));

    let policy = NewPolicy { id: Some("policy-1".into()), ..NewPolicy::new("nightly", "repo-1") };
    retried(s, "policy create with an id", || s.policy_create(&policy), named(&["policy-1"]));
    let by_name = NewPolicy::new("weekly", "repo-1");
    retried(s, "policy create by name", || s.policy_create(&by_name), named(&["weekly"]));

    let mut point = StartBackup::new(ctx.as_str(), 0, "repo-1", BackupType::Full, "/srv/main/point-1.qcow2");
    point.id = Some("point-1".into());
    point.policy_id = Some("policy-1".into());
    retried(s, "backup start with an id", || s.backup_start(&point), named(&["point-1"]));

    let cloud = NewOsseaConfig::new("cloud-1", "https://cloud.example/client/api", "key", "secret", "zone-1");
    retried(s, "CloudStack configuration create", || s.ossea_config_create(&cloud), |_| vec!["cloud-1".into()]);
    let linstor: NewLinstorConfig =
        from_json("linstor", r#"{"name":"linstor-1","api_url":"linstor.local","api_secret":"s"}"#).unwrap();
    retried(s, "Linstor configuration create", || s.linstor_config_create(&linstor), |_| vec!["linstor-1".into()]);
    let volume =
        NewOsseaVolume { vm_context_id: Some(ctx.clone()), ..NewOsseaVolume::new("cs-vol-1", "web-01-disk0", 40) };
    retried(s, "CloudStack volume create", || s.ossea_volume_create(&volume), |_| vec!["cs-vol-1".into()]);

    let disk = store.replication_disks(&ctx).unwrap()[0].id;
    let mut attach = NewMapping::oma("vol-1", "oma-vm", "/dev/vdb");
    attach.vm_context_id = Some(ctx.clone());
    attach.export = Some(NewExport {
        volume_uuid: None,
        vm_disk_id: disk,
        port: 10809,
        job_id: Some("job-1".into()),
        config_path: None,
    });
    retried(
        s,
        "device attach with export",
        || s.device_attach(&attach),
        |mapping| vec!["vol-1".into(), mapping.clone()],
    );
    let mut bare = NewMapping::oma("vol-2", "oma-vm", "/dev/vdc");
    bare.vm_context_id = Some(ctx.clone());
    bare.id = Some("mapping-2".into());
    retried(s, "device attach with an id", || s.device_attach(&bare), named(&["vol-2", "mapping-2"]));
    let export = NewExport::new("vol-2", disk, 10810);
    retried(s, "NBD export create", || s.nbd_export_create(&export), |name| vec![name.clone()]);

    let op: NewVolumeOp =
        from_json("volume op", r#"{"id":"op-1","type":"attach","volume_id":"cs-vol-1","request":{}}"#).unwrap();
    retried(s, "volume operation create with an id", || s.volume_op_create(&op), named(&["op-1"]));

    assert!(store.integrity_check().unwrap().ok);
}
