//! Error messages quote a caller's input bounded: a 10 MiB argument or an extreme number
//! gives a short message that still names the argument (`echo` and `echo_f64` in
//! src/error.rs).

use sendense::backup::{BackupStatus, NewRepository, RepositoryType};
use sendense::replication::{DiskSpec, JobStatus, NewContext, Progress, StartJob};
use sendense::value::from_json;
use sendense::{Status, Timestamp};

use crate::fixtures::TempStore;

/// Short enough for any log line, long enough to say what was wrong.
const LIMIT: usize = 1024;

fn huge() -> String {
    "x".repeat(10 << 20)
}

/// `result` failed with `status`, and its message is short and contains every one of `words`.
#[track_caller]
fn short_refusal<T: std::fmt::Debug>(result: sendense::Result<T>, status: Status, words: &[&str]) {
    let e = result.expect_err("the call must fail");
    let message = e.to_string();
    assert!(message.len() < LIMIT, "a {} byte message: {}…", message.len(), &message[..300]);
    assert_eq!(e.status(), status, "{message}");
    for w in words {
        assert!(message.contains(w), "{message:?} does not contain {w:?}");
    }
}

#[test]
fn a_10_mib_status_string_gives_a_short_message_naming_the_field() {
    let huge = huge();
    short_refusal(JobStatus::parse(&huge), Status::InvalidArgument, &["is not a valid", "status", "10485760 bytes"]);
    short_refusal(BackupStatus::parse(&huge), Status::InvalidArgument, &["is not a valid", "status"]);
    // Quoted with escapes (up to 10 bytes a character), the input is still cut by characters.
    let e = JobStatus::parse(&"\u{1}".repeat(10 << 20)).unwrap_err();
    assert!(e.message().len() < 2 * LIMIT && e.message().contains("is not a valid"), "{}", e.message().len());
}

#[test]
fn a_percent_of_minus_1e_300_gives_a_short_message_naming_the_field() {
    let t = TempStore::new(1_764_306_589_000);
    let ctx = t.store.context_create(&NewContext::new("web-01", "vm-1", "/DC1/vm/web-01", "vc", "DC1")).unwrap();
    let job =
        t.store.replication_start(&StartJob::new(&ctx, vec![DiskSpec::new("disk-2000", "[ds1] a.vmdk", 1)])).unwrap();
    t.store.replication_set_status(&job, JobStatus::Replicating, None).unwrap();
    let progress =
        |percent| Progress { percent, bytes_transferred: 0, total_bytes: 0, speed_bps: 0, current_operation: None };
    short_refusal(
        t.store.replication_progress(&job, &progress(-1e-300)),
        Status::InvalidArgument,
        &["percent -1e-300 is outside 0-100"],
    );
    short_refusal(
        t.store.replication_disk_progress(&job, "disk-2000", -1e-300, 0, None),
        Status::InvalidArgument,
        &["percent -1e-300 is outside 0-100"],
    );
    short_refusal(
        t.store.replication_progress(&job, &progress(f64::MAX)),
        Status::InvalidArgument,
        &["percent 1.7976931348623157e308 is outside 0-100"],
    );
    short_refusal(t.store.replication_progress(&job, &progress(100.5)), Status::InvalidArgument, &["percent 100.5 "]);
}

#[test]
fn unknown_ids_names_and_documents_of_10_mib_give_short_messages() {
    let t = TempStore::new(1_764_306_589_000);
    let s = &t.store;
    let huge = huge();
    short_refusal(s.context_get(&huge), Status::NotFound, &["context \"xxx", "does not exist"]);
    short_refusal(s.replication_get(&huge), Status::NotFound, &["replication job \"xxx"]);
    short_refusal(s.backup_get(&huge), Status::NotFound, &["backup \"xxx"]);
    short_refusal(s.repository_get(&huge), Status::NotFound, &["repository \"xxx"]);
    short_refusal(s.policy_get(&huge), Status::NotFound, &["policy \"xxx"]);
    short_refusal(s.copy_get(&huge), Status::NotFound, &["backup copy \"xxx"]);
    short_refusal(s.context_delete(&huge), Status::NotFound, &["context \"xxx"]);
    let bad_name = format!("{huge}\u{1}");
    let repository = NewRepository::new(bad_name, RepositoryType::Local, serde_json::json!({"path": "/srv/backups"}));
    short_refusal(s.repository_create(&repository), Status::InvalidArgument, &["repository name \"xxx", "control"]);
    let repository = NewRepository::new("r1", RepositoryType::Local, serde_json::json!({"path": huge}));
    short_refusal(s.repository_create(&repository), Status::InvalidArgument, &["path must be an absolute path"]);
    short_refusal(Timestamp::parse_rfc3339(&huge), Status::InvalidArgument, &["is not an RFC 3339 timestamp"]);
    short_refusal(from_json::<u32>("limit", &format!("\"{huge}\"")), Status::InvalidArgument, &["limit: invalid type"]);
    short_refusal(
        from_json::<sendense::replication::ContextFilter>("filter_json", &format!("{{\"{huge}\": 1}}")),
        Status::InvalidArgument,
        &["filter_json: unknown field"],
    );
}

/// One operation of the sweep: a label, words its message must contain, and the call.
type Case<'a> = (&'static str, &'static [&'static str], Box<dyn Fn(&str) -> sendense::Result<()> + 'a>);

/// Wraps a call for the table (its success value is not looked at).
fn case<'a, T>(
    label: &'static str,
    words: &'static [&'static str],
    call: impl Fn(&str) -> sendense::Result<T> + 'a,
) -> Case<'a> {
    (label, words, Box::new(move |h| call(h).map(drop)))
}

#[test]
fn a_1_mib_id_name_or_path_in_every_area_gives_a_short_message_naming_the_thing() {
    use sendense::backup::{BackupType, NewPolicy, PolicyUpdate, RepositoryUpdate, StartBackup, VerificationStatus};
    use sendense::replication::{ContextUpdate, SyncDone, SyncMode};
    use sendense::store::secret::SecretKey;
    use sendense::targets::{
        ModeSwitch, NewExport, NewLeasePool, NewLinstorConfig, NewMapping, NewOsseaConfig, NewOsseaVolume,
        NewVolumeMount, NewVolumeOp, OperationMode, VolumeOpStatus, VolumeOpType,
    };
    use sendense::{OpenOptions, Store};
    let t = TempStore::new(1_764_306_589_000);
    // A store with a secret key, for the CloudStack and Linstor configurations.
    let keyed = OpenOptions::default().secret_key(SecretKey::from_bytes(&[7; 32]).unwrap());
    let s = &Store::open(t.dir.path().join("keyed.db"), keyed).unwrap();
    let ctx = s.context_create(&NewContext::new("web-01", "vm-1", "/DC1/vm/web-01", "vc", "DC1")).unwrap();
    let job = s.replication_start(&StartJob::new(&ctx, vec![DiskSpec::new("disk-2000", "[ds1] a.vmdk", 1)])).unwrap();
    let disk = s.replication_disks(&ctx).unwrap()[0].id;
    let repo = NewRepository::new("r1", RepositoryType::Local, serde_json::json!({"path": "/srv/backups"}));
    let repo = s.repository_create(&repo).unwrap();
    let start =
        |context: &str, repository: &str| StartBackup::new(context, 2000, repository, BackupType::Full, "/srv/b/1");
    let progress =
        Progress { percent: 1.0, bytes_transferred: 0, total_bytes: 0, speed_bps: 0, current_operation: None };
    let cases: Vec<Case> = vec![
        // replication
        case("context get", &["context"], |h| s.context_get(h)),
        case("context delete", &["context"], |h| s.context_delete(h)),
        case("context update", &["context"], |h| s.context_update(h, &ContextUpdate::default())),
        case("replication start, unknown context", &["context"], |h| {
            s.replication_start(&StartJob::new(h, vec![DiskSpec::new("disk-2000", "[ds1] a.vmdk", 1)]))
        }),
        case("replication start, disk id", &["disk"], |h| {
            s.replication_start(&StartJob::new(&ctx, vec![DiskSpec::new(h, "[ds1] a.vmdk", 1)]))
        }),
        case("job get", &["job"], |h| s.replication_get(h)),
        case("job delete", &["job"], |h| s.replication_delete(h)),
        case("job set status", &["job"], |h| s.replication_set_status(h, JobStatus::Replicating, None)),
        case("job progress", &["job"], |h| s.replication_progress(h, &progress)),
        case("job disk progress", &["disk"], |h| s.replication_disk_progress(&job, h, 1.0, 0, None)),
        case("cbt record, bad job id", &["job"], |h| s.cbt_record(h, "disk-2000", "52 aa/1", 0)),
        case("cbt record, bad disk id", &["disk"], |h| s.cbt_record(&job, h, "52 aa/1", 0)),
        case("cbt record, bad change id", &["change id"], |h| s.cbt_record(&job, "disk-2000", h, 0)),
        case("cbt record, another change id after a 1 MiB one", &["already recorded change id"], |h| {
            let _ = s.cbt_record(&job, "disk-2000", &format!("{h}/1"), 0);
            s.cbt_record(&job, "disk-2000", "other/2", 0)
        }),
        case("cbt record, base of a full copy", &["base_change_id"], |h| {
            let sync = SyncDone { mode: SyncMode::Full, base_change_id: Some(h.into()), reason: None };
            s.cbt_record_sync(&job, "disk-2000", "other/3", 0, Some(&sync))
        }),
        // backup
        case("backup get", &["backup"], |h| s.backup_get(h)),
        case("backup delete", &["backup"], |h| s.backup_delete(h)),
        case("backup set running", &["backup"], |h| s.backup_set_running(h)),
        case("backup fail", &["backup"], |h| s.backup_fail(h, "boom")),
        case("backup cancel", &["backup"], |h| s.backup_cancel(h)),
        case("backup protect", &["backup"], |h| s.backup_set_protected(h, true)),
        case("backup start, unknown repository", &["repository"], |h| s.backup_start(&start(&ctx, h))),
        case("backup start, unknown context", &["context"], |h| s.backup_start(&start(h, &repo))),
        case("backup start, unknown policy", &["policy"], |h| {
            s.backup_start(&StartBackup { policy_id: Some(h.into()), ..start(&ctx, &repo) })
        }),
        case("restore chain", &["backup"], |h| s.restore_chain(h)),
        case("chain get", &["repository"], |h| s.chain_get(&ctx, 2000, h)),
        case("copy set verifying", &["copy"], |h| s.copy_set_verifying(h, "/srv/c", 1)),
        case("copy complete", &["copy"], |h| s.copy_complete(h, VerificationStatus::Passed)),
        case("copy fail", &["copy"], |h| s.copy_fail(h, "boom")),
        case("copy queue", &["copy rule"], |h| s.copy_queue(h)),
        case("policy create, unknown repository", &["repository"], |h| s.policy_create(&NewPolicy::new("p", h))),
        case("policy update", &["policy"], |h| s.policy_update(h, &PolicyUpdate::default())),
        case("policy delete", &["policy"], |h| s.policy_delete(h)),
        case("retention plan", &["policy"], |h| s.retention_plan(h, Timestamp(0), "UTC")),
        case("repository update", &["repository"], |h| s.repository_update(h, &RepositoryUpdate::default())),
        case("repository enable", &["repository"], |h| s.repository_set_enabled(h, true)),
        case("repository delete", &["repository"], |h| s.repository_delete(h)),
        // targets
        case("volume op get", &["volume operation"], |h| s.volume_op_get(h)),
        case("volume op history", &["volume operation"], |h| s.volume_op_history(h)),
        case("volume op set status", &["volume operation"], |h| {
            s.volume_op_set_status(h, VolumeOpStatus::Executing, None, None)
        }),
        case("volume op create with id, retried", &["operation id"], |h| {
            let op = NewVolumeOp {
                id: Some(h.into()),
                ..NewVolumeOp::new(VolumeOpType::Create, "v-1", serde_json::json!({}))
            };
            let _ = s.volume_op_create(&op);
            s.volume_op_create(&op)
        }),
        case("device get", &["volume"], |h| s.device_get(h)),
        case("device detach", &["volume"], |h| s.device_detach(h)),
        case("device set mode", &["context"], |h| s.device_set_mode(h, OperationMode::Failover)),
        case("device attach, unknown context", &["context"], |h| {
            s.device_attach(&NewMapping {
                vm_context_id: Some(h.into()),
                ..NewMapping::oma("vol-1", "oma", "/dev/vdb")
            })
        }),
        case("device attach, path", &["device_path"], |h| s.device_attach(&NewMapping::oma("vol-1", "oma", h))),
        case("device attach with id, retried", &["mapping id"], |h| {
            let m = NewMapping { id: Some(h.into()), ..NewMapping::failover("vol-2", "vm") };
            let _ = s.device_attach(&m);
            s.device_attach(&m)
        }),
        case("nbd export get", &["export"], |h| s.nbd_export_get(h)),
        case("nbd export remove", &["export"], |h| s.nbd_export_remove(h)),
        case("nbd export set job", &["export"], |h| s.nbd_export_set_job(h, None)),
        case("nbd export create, unknown volume", &["volume"], |h| {
            s.nbd_export_create(&NewExport::new(h, disk, 10809))
        }),
        case("lease pool get", &["pool"], |h| s.lease_pool_get(h)),
        case("lease acquire", &["pool"], |h| s.lease_acquire(h, "owner", 1000)),
        case("lease renew", &["pool"], |h| s.lease_renew(h, "owner", 1000)),
        case("lease release", &["pool"], |h| s.lease_release(h, "owner")),
        case("lease pool define, resource", &["resource"], |h| {
            s.lease_pool_define(&NewLeasePool::new("pool", vec![h.into(), h.into()]))
        }),
        case("cloudstack config create, name retried", &["name"], |h| {
            let config = NewOsseaConfig::new(h, "https://cs/api", "k", "s", "z");
            let _ = s.ossea_config_create(&config);
            s.ossea_config_create(&config)
        }),
        case("cloudstack config create, url", &["api_url"], |h| {
            s.ossea_config_create(&NewOsseaConfig::new("cs", h, "k", "s", "z"))
        }),
        case("cloudstack volume find", &["volume"], |h| s.ossea_volume_find(h)),
        case("cloudstack volume create, retried", &["volume"], |h| {
            let v = NewOsseaVolume::new(h, "name", 1);
            let _ = s.ossea_volume_create(&v);
            s.ossea_volume_create(&v)
        }),
        case("linstor config create, name retried", &["name"], |h| {
            let config = NewLinstorConfig { name: h.into(), ..linstor() };
            let _ = s.linstor_config_create(&config);
            s.linstor_config_create(&config)
        }),
        case("lease renew, owner", &["owner"], |h| {
            s.lease_pool_define(&NewLeasePool::new("p1", vec!["r1".into()]))?;
            s.lease_renew("p1", h, 1000)
        }),
        case("volume mount create, path retried", &["device_path"], |h| {
            let volume = s.ossea_volume_create(&NewOsseaVolume::new("vol-9", "name", 1))?;
            let mount = NewVolumeMount::new(volume, &job, format!("/{h}"));
            let _ = s.volume_mount_create(&mount);
            s.volume_mount_create(&mount)
        }),
        case("device switch mode, one path twice", &["device path"], |h| {
            let path = format!("/dev/{h}");
            let paths = [("vol-a".to_string(), path.clone()), ("vol-b".to_string(), path)].into();
            s.device_switch_mode(&ModeSwitch { device_paths: paths, ..ModeSwitch::new(&ctx, OperationMode::Oma) })
        }),
        // files
        case("store open", &["cannot open database"], |h| Store::open(h, OpenOptions::default())),
        case("store copy", &["cannot back up to"], |h| s.copy_database_to(h)),
        case("key file read", &["key file"], |h| SecretKey::from_file(h)),
        case("key file create", &["key file"], |h| SecretKey::create_file(h)),
        case("linstor config create, protocol", &["api_protocol"], |h| {
            s.linstor_config_create(&NewLinstorConfig { api_protocol: h.into(), ..linstor() })
        }),
    ];
    let huge = "x".repeat(1 << 20);
    let mut failures = Vec::new();
    for (label, words, call) in &cases {
        let message = match call(&huge) {
            Ok(()) => {
                failures.push(format!("{label}: succeeded"));
                continue;
            }
            Err(e) => e.to_string(),
        };
        // Input that is repeated is cut, with the ellipsis saying so.
        let echoed: &[&str] = if message.contains("xxxxxxxx") { &["…"] } else { &[] };
        let missing: Vec<&&str> = words.iter().chain(echoed).filter(|w| !message.contains(**w)).collect();
        if message.len() >= LIMIT || !missing.is_empty() {
            let shown: String = message.chars().take(160).collect();
            failures.push(format!("{label}: {} bytes, missing {missing:?}: {shown}", message.len()));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

fn linstor() -> sendense::targets::NewLinstorConfig {
    sendense::targets::NewLinstorConfig {
        name: "l1".into(),
        api_url: "https://linstor".into(),
        api_port: 3370,
        api_protocol: "https".into(),
        api_key: None,
        api_secret: None,
        connection_timeout_seconds: 30,
        retry_attempts: 3,
        description: None,
        is_active: false,
    }
}
