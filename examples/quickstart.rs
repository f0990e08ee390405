//! Quickstart: a replication lifecycle on a libsendense database file.
//!
//! ```sh
//! cargo run --example quickstart              # uses ./sendense-quickstart.db
//! cargo run --example quickstart -- /path/to/state.db
//! ```
//!
//! It adds two VMs with two disks each (or finds them, when the file already has them), runs
//! an initial replication with progress updates, records each disk's change id, decides and
//! runs an incremental, shows the CBT lineage, fails a job, deletes it, and prints the
//! contexts with their counters. Then it backs web-01 up: two repositories and a policy with a
//! copy rule to the second, a full and three incrementals of each disk (the two points of one
//! VM backup share a group id), the chains, the restore chain of the newest point, a delete the
//! library refuses with its reason, a new generation (a full and two incrementals) and the
//! retention plan of the policy (keep the last 2 points of each chain) with its reasons, which
//! it applies, and a copy claimed by a worker. Then the targets of web-01: the store is opened
//! with a secret key kept in a key file next to the database (`<path>.key`, created on the
//! first run), a CloudStack configuration whose API key and secret are stored sealed (its
//! read-out names the sealing key and carries no secret), a CloudStack volume per disk linked
//! to the disk row, the delete of the configuration refused while the volumes use it, a backup
//! NBD port leased, the volumes attached (a device mapping with its NBD export each, recorded
//! as volume operations with their history), snapshotted for a test failover and rolled back,
//! the VM's mappings switched to failover and back, detached, the port released, the storage
//! consistency check and the volume daemon's metrics. Before the detach, web-01 fails over as
//! a test: its two networks mapped for both kinds and validated, every step walked (the
//! devices switch to failover mode at switching_volume) and rolled back (the devices back at
//! their hub paths). Then a new VM (app-NN, one per run) fails over live: refused first while
//! one of its networks has no mapping (the message names it), then walked and committed. The
//! contexts' statuses and last operation summaries are printed after each. It closes with a
//! line per table group. Run it twice: the second run continues from what the first one
//! recorded (and starts a new backup chain generation with a new full, and a new app VM).

use std::collections::BTreeMap;

use sendense::backup::{BackupType, StartBackup};
use sendense::backup::{
    NewCopyRule, NewPolicy, NewRepository, PolicyFilter, PolicyUpdate, RepositoryFilter, RepositoryType,
};
use sendense::failover::{FailoverStatus, FailoverType, MappingType, NewNetworkMapping, StartFailover, StepResults};
use sendense::replication::{ChangeId, ContextFilter, DiskSpec, JobStatus, NewContext, Progress, StartJob, SyncMode};
use sendense::store::secret::SecretKey;
use sendense::targets::{ModeSwitch, NewExport, NewMapping, OperationMode};
use sendense::targets::{NewOsseaConfig, NewOsseaVolume, SnapshotStatus, VolumeStatus};
use sendense::targets::{NewVolumeOp, VolumeOpStatus, VolumeOpType};
use sendense::{OpenOptions, Status, Store};

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "sendense-quickstart.db".to_string());
    if let Err(e) = run(&path) {
        eprintln!("quickstart: {e}");
        std::process::exit(1);
    }
}

/// The CBT epoch of a disk, as VMware would report it (stable for this example).
fn epoch(vm: &str, disk: &str) -> String {
    format!("52 {vm} {disk}-8f 11 22 33")
}

fn run(path: &str) -> sendense::Result<()> {
    // The secret key of the secret columns lives in a file of its own, never in the database.
    let key = secret_key(&format!("{path}.key"))?;
    let store = Store::open(path, OpenOptions::default().secret_key(key))?;
    println!(
        "libsendense {} — database {path}, schema version {}, secret key {}",
        env!("CARGO_PKG_VERSION"),
        store.schema_version()?,
        store.secret_key_id().unwrap_or_default()
    );

    // 1. Two VMs with two disks each: found by their VMware identity, or created.
    let mut vms = Vec::new();
    for name in ["web-01", "db-01"] {
        let vmware_id = format!("4210-{name}");
        let id = match store.context_find(&vmware_id, "vcenter.example")? {
            Some(ctx) => ctx.context_id,
            None => store.context_create(&NewContext::new(
                name,
                &vmware_id,
                format!("/DC1/vm/{name}"),
                "vcenter.example",
                "DC1",
            ))?,
        };
        let disks = disk_specs(name, &["VM Network", "backend"]);
        println!("VM {name}: context {id}");
        vms.push((name, id, disks));
    }

    // 2. Replicate both VMs: the first run is an initial copy, later ones are incremental.
    for (name, ctx, disks) in &vms {
        replicate(&store, name, ctx, disks)?;
    }

    // 3. Decide and run one more incremental of web-01, then show its CBT lineage.
    let (name, ctx, disks) = &vms[0];
    replicate(&store, name, ctx, disks)?;
    for entry in store.cbt_history(ctx, None, None)? {
        println!(
            "  cbt {} {:<11} {} <- {}",
            entry.disk_id,
            entry.sync_type,
            entry.change_id,
            entry.previous_change_id.as_deref().unwrap_or("(none)")
        );
    }
    let lineage = store.cbt_verify_lineage(ctx)?;
    println!(
        "CBT lineage of {name}: {} ({} entries on {} disks)",
        if lineage.ok { "ok" } else { "BROKEN" },
        lineage.entries_checked,
        lineage.disks_checked
    );

    // 4. A job of db-01 fails, and is then deleted: its disks keep their change ids.
    let (name, ctx, disks) = &vms[1];
    let job = store.replication_start(&StartJob::new(ctx.as_str(), disks.clone()))?;
    store.replication_set_status(&job, JobStatus::Snapshotting, None)?;
    store.replication_set_status(&job, JobStatus::Failed, Some("datastore ds1 unreachable"))?;
    println!("{name}: job {job} failed; context is {}", store.context_get(ctx)?.current_status);
    store.replication_delete(&job)?;
    println!(
        "{name}: failed job deleted; disk change ids kept: {}",
        store.replication_disks(ctx)?.iter().all(|d| d.disk_change_id.is_some())
    );

    // 5. Backups of web-01 (a 2-disk VM) with a copy to a second repository.
    backups(&store, vms[0].0, &vms[0].1)?;

    // 6. Where web-01's disks land in CloudStack: a configuration with sealed secrets and a
    //    volume per disk.
    targets(&store, vms[0].0, &vms[0].1)?;

    // 7. A new VM fails over live, and the migration is committed.
    live_failover(&store)?;

    // 8. The contexts with their counters, and what the file holds.
    for c in store.context_list(&ContextFilter::default())? {
        println!(
            "context {:<7} {:<18} jobs {:>3} ok {:>3} failed {:>3} last good {}",
            c.vm_name,
            c.current_status.as_str(),
            c.total_jobs_run,
            c.successful_jobs,
            c.failed_jobs,
            c.last_successful_job_id.as_deref().unwrap_or("-")
        );
    }
    let mut groups: BTreeMap<usize, (&str, i64)> = BTreeMap::new();
    for count in store.table_counts()? {
        let order = sendense::TABLE_GROUPS.iter().position(|(g, _)| *g == count.group).unwrap_or(usize::MAX);
        groups.entry(order).or_insert((count.group, 0)).1 += count.rows;
    }
    let summary: Vec<String> = groups.values().map(|(g, n)| format!("{g} {n}")).collect();
    println!("rows per table group: {}", summary.join(", "));
    println!("integrity: {}", if store.integrity_check()?.ok { "ok" } else { "PROBLEMS FOUND" });
    Ok(())
}

/// The two disks of a VM, both on the VMware networks `networks` (their `network_config`:
/// what a failover maps).
fn disk_specs(name: &str, networks: &[&str]) -> Vec<DiskSpec> {
    (0..2)
        .map(|i| {
            let mut d = DiskSpec::new(format!("disk-{}", 2000 + i), format!("[ds1] {name}/{name}_{i}.vmdk"), 40);
            d.network_config = Some(serde_json::json!(networks));
            d
        })
        .collect()
}

/// One replication of a VM: decide per disk, start (auto type), walk the job's statuses with
/// progress, record each disk's change id, complete.
fn replicate(store: &Store, name: &str, ctx: &str, disks: &[DiskSpec]) -> sendense::Result<()> {
    let mut snapshots = Vec::new();
    for d in disks {
        let recorded =
            store.replication_disks(ctx)?.into_iter().find(|r| r.disk_id == d.disk_id).and_then(|r| r.disk_change_id);
        let next_seq = recorded.as_deref().and_then(|c| ChangeId::parse(c).ok()).map_or(1, |c| c.sequence + 7);
        let snapshot = format!("{}/{next_seq}", epoch(name, &d.disk_id));
        let decision = store.cbt_decide(ctx, &d.disk_id, &snapshot, false)?;
        let base = decision.base_change_id.as_deref().unwrap_or("-");
        println!("  {name} {}: {} ({}, base {base})", d.disk_id, decision.mode, decision.reason);
        assert!(decision.mode == SyncMode::Full || recorded.is_some());
        snapshots.push(snapshot);
    }
    let job = store.replication_start(&StartJob::new(ctx, disks.to_vec()))?;
    for status in [JobStatus::Initializing, JobStatus::Snapshotting, JobStatus::Replicating] {
        store.replication_set_status(&job, status, None)?;
    }
    let total: i64 = disks.iter().map(|d| d.size_gb << 30).sum();
    for percent in [25.0, 50.0, 75.0, 100.0] {
        let bytes = (total as f64 * percent / 100.0) as i64;
        let p = Progress {
            percent,
            bytes_transferred: bytes,
            total_bytes: total,
            speed_bps: 200 << 20,
            current_operation: Some("Copying Data".into()),
        };
        store.replication_progress(&job, &p)?;
    }
    for (d, snapshot) in disks.iter().zip(&snapshots) {
        store.cbt_record(&job, &d.disk_id, snapshot, d.size_gb << 30)?;
    }
    store.replication_set_status(&job, JobStatus::Finalizing, None)?;
    let done = store.replication_set_status(&job, JobStatus::Completed, None)?;
    println!("{name}: {} job {} completed ({} bytes)", done.replication_type, done.id, done.bytes_transferred);
    Ok(())
}

/// The id of the repository called `name`, created when the file does not have it yet.
fn repository(
    store: &Store,
    name: &str,
    repository_type: RepositoryType,
    config: serde_json::Value,
) -> sendense::Result<String> {
    let filter = RepositoryFilter { repository_type: Some(repository_type), ..Default::default() };
    match store.repository_list(&filter)?.into_iter().find(|r| r.name == name) {
        Some(r) => Ok(r.id),
        None => store.repository_create(&NewRepository::new(name, repository_type, config)),
    }
}

/// The backup lifecycle of a 2-disk VM: repositories, a policy with a copy rule, a full and
/// three incrementals per disk, the restore chain of the newest point, a refused delete and a
/// claimed copy.
fn backups(store: &Store, name: &str, ctx: &str) -> sendense::Result<()> {
    let local =
        repository(store, "quickstart-local", RepositoryType::Local, serde_json::json!({"path": "/srv/backups"}))?;
    let offsite = repository(
        store,
        "quickstart-offsite",
        RepositoryType::S3,
        serde_json::json!({"region": "eu-central-1", "bucket": "quickstart-offsite"}),
    )?;
    println!("repositories: quickstart-local {local}, quickstart-offsite {offsite}");
    let filter = PolicyFilter { repository_id: Some(local.clone()), ..Default::default() };
    // The policy keeps the last 2 points of each chain (and what they build on); retention_days
    // 0 leaves that rule out.
    let policy = match store.policy_list(&filter)?.into_iter().find(|p| p.name == "quickstart-daily") {
        Some(p) => {
            let rules = PolicyUpdate { keep_last: Some(Some(2)), retention_days: Some(0), ..Default::default() };
            store.policy_update(&p.id, &rules)?
        }
        None => {
            let mut new = NewPolicy::new("quickstart-daily", &local);
            new.retention_days = 0;
            new.keep_last = Some(2);
            new.copy_rules.push(NewCopyRule::new(&offsite, 1));
            store.policy_get(&store.policy_create(&new)?)?
        }
    };
    for rule in &policy.copy_rules {
        println!(
            "policy {} {}: keeps the last {} points in {}, copy rule {} to {} ({}, priority {})",
            policy.name,
            policy.id,
            policy.keep_last.unwrap_or(0),
            policy.primary_repository_id,
            rule.id,
            rule.destination_repository_id,
            rule.copy_mode,
            rule.priority
        );
    }

    // A full and three incrementals of both disks; the library finds each parent.
    let mut newest = String::new();
    let mut sequence = 100;
    for backup_type in [BackupType::Full, BackupType::Incremental, BackupType::Incremental, BackupType::Incremental] {
        sequence += 1;
        newest = vm_backup(store, name, ctx, &local, &policy.id, backup_type, sequence)?.pop().expect("two points");
    }
    for chain in store.chain_list(ctx)? {
        println!(
            "  chain of disk {} in {}: {} points, {} bytes",
            chain.disk_id, chain.repository_id, chain.total_backups, chain.total_size_bytes
        );
    }

    let restore = store.restore_chain(&newest)?;
    println!("restore chain of {newest}:");
    for point in &restore {
        println!(
            "  {:<11} {} ({})",
            point.backup_type.as_str(),
            point.id,
            point.parent_backup_id.as_deref().map_or("no parent".to_string(), |p| format!("on {p}"))
        );
    }

    // The full is what the incrementals build on: the library refuses to delete it, and says why.
    let full = &restore[0].id;
    match store.backup_delete(full) {
        Err(e) if e.status() == Status::Conflict => {
            println!("delete {full} refused with status {} {}: {}", e.status().code(), e.status(), e.message())
        }
        Err(e) => return Err(e),
        Ok(()) => panic!("the library deleted {full}, which other points build on"),
    }

    // The next week: a new generation (a full and two incrementals). The retention plan keeps
    // the last 2 points of each chain and the full they build on, and removes the rest.
    for backup_type in [BackupType::Full, BackupType::Incremental, BackupType::Incremental] {
        sequence += 1;
        vm_backup(store, name, ctx, &local, &policy.id, backup_type, sequence)?;
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let plan = store.retention_plan(&policy.id, sendense::Timestamp(now), "Europe/Berlin")?;
    println!(
        "retention plan of {}: {} points, keep {}, remove {}",
        policy.name,
        plan.len(),
        plan.kept_count(),
        plan.len() - plan.kept_count()
    );
    for decision in plan.decisions() {
        match decision.keep {
            true => println!("  keep   {}: {}", decision.id, decision.reasons.join(", ")),
            false => println!("  remove {}", decision.id),
        }
    }
    println!("retention applied: {} points removed", store.retention_apply(&plan)?);
    for chain in store.chain_list(ctx)? {
        println!("  chain of disk {}: {} points", chain.disk_id, chain.total_backups);
    }

    // The policy's copy rule queued a copy of every completed point; a worker claims the oldest.
    let Some(copy) = store.copy_claim("quickstart-worker")? else {
        panic!("the copy rule queued no copy");
    };
    println!(
        "claimed copy {} of backup {} to {}: {}, file {}",
        copy.id, copy.source_backup_id, copy.repository_id, copy.status, copy.file_path
    );
    // The worker writes the file, then records it and the checksum verification. Until then
    // the copy keeps its backup from deletion and from retention.
    store.copy_set_verifying(&copy.id, &copy.file_path, 1 << 30)?;
    let done = store.copy_complete(&copy.id, sendense::backup::VerificationStatus::Passed)?;
    println!("copy {}: {}, verification {}", done.id, done.status, done.verification_status);
    Ok(())
}

/// One VM backup of both disks of `ctx`: a point per disk, sharing a group id, started,
/// running and completed with the change id `<disk's epoch>/<sequence>`. Returns the points'
/// ids.
fn vm_backup(
    store: &Store,
    name: &str,
    ctx: &str,
    repository: &str,
    policy: &str,
    backup_type: BackupType,
    sequence: i64,
) -> sendense::Result<Vec<String>> {
    let group = sendense::value::new_id();
    let mut ids = Vec::new();
    for disk in 0..2 {
        let path = format!("/srv/backups/{name}/disk-{disk}/{group}.qcow2");
        let mut start = StartBackup::new(ctx, disk, repository, backup_type, path);
        start.policy_id = Some(policy.to_string());
        start.backup_group_id = Some(group.clone());
        let id = store.backup_start(&start)?;
        store.backup_set_running(&id)?;
        let size: i64 = if backup_type == BackupType::Full { 40 << 30 } else { 2 << 30 };
        let change_id = format!("{}/{sequence}", epoch(name, &format!("disk-{}", 2000 + disk)));
        store.backup_complete(&id, Some(&change_id), size, size)?;
        ids.push(id);
    }
    println!("{name}: {backup_type} backup {group}: disk 0 {}, disk 1 {}", ids[0], ids[1]);
    Ok(ids)
}

/// The key in the key file `path`, or a new random key that the library writes there
/// durably (64 hexadecimal digits, readable by the owner only) when the file does not exist.
fn secret_key(path: &str) -> sendense::Result<SecretKey> {
    match SecretKey::create_file(path) {
        Ok(key) => {
            println!("created the key file {path} (key {})", key.id());
            Ok(key)
        }
        Err(e) if e.status() == Status::AlreadyExists => SecretKey::from_file(path),
        Err(e) => Err(e),
    }
}

/// The targets of a VM: the CloudStack configuration (created once, its API key and secret
/// sealed with the store's key), a volume per disk linked to its disk row, and the hub side:
/// a leased port, attach with exports and volume operations, a test failover's snapshot, a
/// mode switch to failover and back, detach.
fn targets(store: &Store, name: &str, ctx: &str) -> sendense::Result<()> {
    let config = match store.ossea_config_list()?.into_iter().find(|c| c.name == "quickstart-cloud") {
        Some(c) => c,
        None => {
            let mut new = NewOsseaConfig::new(
                "quickstart-cloud",
                "https://cloud.example/client/api",
                "AK-quickstart-0123456789",
                "SK-quickstart-abcdefghij",
                "zone-1",
            );
            new.disk_offering_id = Some("do-ssd".into());
            new.is_active = true;
            store.ossea_config_get(store.ossea_config_create(&new)?)?
        }
    };
    // The read-out carries no secret, only the id of the key that sealed them.
    println!(
        "CloudStack configuration {} {} ({}, zone {}, active {}): secrets sealed with key {}",
        config.id,
        config.name,
        config.api_url,
        config.zone,
        config.is_active,
        config.sealed_with_key.as_deref().unwrap_or("-")
    );
    let secrets = store.ossea_config_secrets(config.id)?;
    println!(
        "  secrets opened on request: api key {}..., secret of {} characters",
        &secrets.api_key[..6],
        secrets.secret_key.len()
    );

    // A volume per disk, recorded once, available and linked to its disk row.
    let mut volumes = Vec::new();
    for disk in store.replication_disks(ctx)? {
        let volume_id = format!("quickstart-{name}-{}", disk.disk_id);
        let volume = match store.ossea_volume_find(&volume_id) {
            Ok(v) => v,
            Err(e) if e.status() == Status::NotFound => {
                let mut new = NewOsseaVolume::new(&volume_id, &format!("{name}-{}", disk.disk_id), disk.size_gb);
                new.vm_context_id = Some(ctx.to_string());
                new.ossea_config_id = Some(config.id);
                new.volume_type = Some("DATADISK".into());
                store.ossea_volume_get(store.ossea_volume_create(&new)?)?
            }
            Err(e) => return Err(e),
        };
        if volume.status == VolumeStatus::Creating {
            store.ossea_volume_set_status(volume.id, VolumeStatus::Available, None)?;
        }
        let volume = store.ossea_volume_link_disk(volume.id, ctx, &disk.disk_id)?;
        println!("  volume {} {} for {}: {}", volume.id, volume.volume_id, disk.disk_id, volume.status);
        volumes.push(volume);
    }

    // The volumes use the configuration: the library refuses its deletion and says why.
    match store.ossea_config_delete(config.id) {
        Err(e) if e.status() == Status::Conflict => {
            println!(
                "delete of configuration {} refused with status {} {}: {}",
                config.id,
                e.status().code(),
                e.status(),
                e.message()
            )
        }
        Err(e) => return Err(e),
        Ok(()) => panic!("the library deleted a configuration that volumes use"),
    }

    // A backup NBD port, leased to this run: no other owner gets it while the lease lives.
    let owner = format!("quickstart-{}", sendense::value::new_id());
    let lease = store.lease_acquire("backup_nbd_port", &owner, 3_600_000)?;
    let port: i64 = lease.resource.parse().expect("a port number");
    println!("leased backup NBD port {} to {owner} until {}", lease.resource, lease.expires_at);

    // The hub attaches the volumes: a device mapping and its NBD export each, in one
    // transaction, recorded as the volume daemon's operation with its status history.
    let disks = store.replication_disks(ctx)?;
    let mut paths = std::collections::BTreeMap::new();
    let mut exports = Vec::new();
    for (i, (volume, disk)) in volumes.iter().zip(&disks).enumerate() {
        let device = format!("/dev/vd{}", char::from(b'b' + i as u8));
        let request = serde_json::json!({"volume_id": volume.volume_id, "vm_id": "quickstart-hub"});
        let op = store.volume_op_create(&NewVolumeOp::new(VolumeOpType::Attach, &volume.volume_id, request))?;
        store.volume_op_set_status(&op, VolumeOpStatus::Executing, None, None)?;
        let export = NewExport::new(&volume.volume_id, disk.id, port);
        let mut mapping = NewMapping::oma(&volume.volume_id, "quickstart-hub", &device);
        mapping.vm_context_id = Some(ctx.to_string());
        mapping.size = volume.size_gb << 30;
        mapping.export = Some(export.clone());
        let mapping_id = store.device_attach(&mapping)?; // the volume row becomes attached at `device`
        let response = serde_json::json!({"device_path": device, "mapping_id": mapping_id});
        store.volume_op_set_status(&op, VolumeOpStatus::Completed, Some(&response), None)?;
        let history: Vec<String> = store
            .volume_op_history(&op)?
            .iter()
            .map(|h| format!("{} -> {}", h.previous_status.map_or("none", |s| s.as_str()), h.new_status))
            .collect();
        println!(
            "  {} attached at {device}: mapping {mapping_id}, operation {op}: {}",
            volume.volume_id,
            history.join(", ")
        );
        paths.insert(volume.volume_id.clone(), device);
        exports.push(export);
    }
    for export in store.nbd_export_list_by_context(ctx)? {
        println!("  export {}: {} on port {}, {}", export.export_name, export.device_path, export.port, export.status);
    }

    // A test failover protects each volume with a snapshot, and rolls back.
    for volume in &volumes {
        let snapshot = format!("snap-{}", sendense::value::new_id());
        store.ossea_volume_set_snapshot(volume.id, SnapshotStatus::Creating, Some(&snapshot))?;
        let ready = store.ossea_volume_set_snapshot(volume.id, SnapshotStatus::Ready, None)?;
        println!(
            "  {} snapshot {} {}",
            ready.volume_id,
            ready.snapshot_id.as_deref().unwrap_or("-"),
            ready.snapshot_status
        );
        store.ossea_volume_set_snapshot(volume.id, SnapshotStatus::RollbackComplete, None)?;
        store.ossea_volume_set_snapshot(volume.id, SnapshotStatus::None, None)?;
    }

    // Failover: every mapping of the VM switches in one transaction and the exports go with
    // it; back to oma with the hub device paths, the exports re-created.
    let switched = store.device_set_mode(ctx, OperationMode::Failover)?;
    println!(
        "{name} switched to failover: {} of {} mappings without a hub device, {} exports",
        switched.iter().filter(|m| m.device_path.is_none()).count(),
        switched.len(),
        store.nbd_export_list_by_context(ctx)?.len()
    );
    let mut back = ModeSwitch::new(ctx, OperationMode::Oma);
    back.device_paths = paths.clone();
    back.exports = exports.clone();
    let switched = store.device_switch_mode(&back)?;
    println!("{name} switched back to oma: {} exports", store.nbd_export_list_by_context(ctx)?.len());
    for m in &switched {
        println!("  {} {} at {}", m.volume_uuid, m.operation_mode, m.device_path.as_deref().unwrap_or("-"));
    }

    test_failover(store, name, ctx, &paths, &exports)?;

    // Detach: each mapping goes with its export, and its volume row becomes detached; the
    // port is released by its owner.
    for volume in &volumes {
        store.device_detach(&volume.volume_id)?;
        let detached = store.ossea_volume_get(volume.id)?;
        println!("  {} {}", detached.volume_id, detached.status);
    }
    println!("released {} lease(s) of {owner}", store.lease_release("backup_nbd_port", &owner)?);
    let consistency = store.storage_consistency()?;
    println!("storage consistency: {}", if consistency.ok { "ok" } else { "PROBLEMS FOUND" });
    let metrics = store.volume_metrics()?;
    println!(
        "volume daemon: {} operations ({} pending), {} active mappings, average response {:.1} ms, error rate {:.1}%",
        metrics.total_operations,
        metrics.pending_operations,
        metrics.active_mappings,
        metrics.average_response_time_ms,
        metrics.error_rate_percent
    );
    Ok(())
}

/// Map each of `networks` of a context to a CloudStack network for both failover kinds (one
/// row per kind) and record both rows as validated.
fn map_networks(store: &Store, ctx: &str, networks: &[&str]) -> sendense::Result<()> {
    for source in networks {
        let dest = format!("cs-{}", source.to_lowercase().replace(' ', "-"));
        store.network_mapping_set(&NewNetworkMapping::new(ctx, *source, &dest, &dest, MappingType::Both))?;
        for m in store.network_mapping_validate(ctx, source, MappingType::Both, true)? {
            println!(
                "  network {:?} ({}) -> {}: {}",
                m.source_network_name, m.mapping_type, m.destination_network_name, m.validation_status
            );
        }
    }
    Ok(())
}

/// A context's status and last operation summary (the failover area writes it).
fn show_context(store: &Store, ctx: &str) -> sendense::Result<()> {
    let c = store.context_get(ctx)?;
    let summary = c.last_operation_summary.map_or("-".to_string(), |s| s.to_string());
    println!("  context {}: {}, last operation {summary}", c.vm_name, c.current_status);
    Ok(())
}

/// The device mappings of a context, one line.
fn show_devices(store: &Store, ctx: &str) -> sendense::Result<()> {
    let devices: Vec<String> = store
        .device_list(ctx)?
        .iter()
        .map(|m| format!("{} {} at {}", m.volume_uuid, m.operation_mode, m.device_path.as_deref().unwrap_or("-")))
        .collect();
    println!("  devices: {}; {} NBD exports", devices.join(", "), store.nbd_export_list_by_context(ctx)?.len());
    Ok(())
}

/// A failover walked through every step; the CloudStack VM is created at creating_vm.
fn walk_failover(store: &Store, id: &str, name: &str) -> sendense::Result<()> {
    use FailoverStatus::*;
    for status in [Validating, Snapshotting, CreatingVm, SwitchingVolume, PoweringOn, Completed] {
        let results = StepResults {
            destination_vm_id: (status == CreatingVm).then(|| format!("cs-vm-{name}")),
            ..Default::default()
        };
        store.failover_set_status(id, status, Some(&results))?;
    }
    Ok(())
}

/// A test failover of a VM whose volumes are attached at `paths`: its networks mapped for both
/// kinds, every step walked (the devices switch to failover mode at switching_volume), then
/// rolled back (at reverting the devices come back at `paths`, the exports re-created).
fn test_failover(
    store: &Store,
    name: &str,
    ctx: &str,
    paths: &BTreeMap<String, String>,
    exports: &[NewExport],
) -> sendense::Result<()> {
    println!("network mappings of {name}:");
    map_networks(store, ctx, &["VM Network", "backend"])?;
    let id = store.failover_start(&StartFailover::new(ctx, FailoverType::Test))?;
    walk_failover(store, &id, name)?;
    println!("test failover {id} of {name}: {}", store.failover_get(&id)?.status);
    show_devices(store, ctx)?;
    show_context(store, ctx)?;
    store.failover_rollback(&id)?;
    let back = StepResults { device_paths: paths.clone(), exports: exports.to_vec(), ..Default::default() };
    store.failover_set_status(&id, FailoverStatus::Reverting, Some(&back))?;
    let done = store.failover_set_status(&id, FailoverStatus::Completed, None)?;
    println!("rolled back test failover {id}: {}", done.status);
    show_devices(store, ctx)?;
    show_context(store, ctx)
}

/// A live failover of a new VM (app-NN, a new one per run: a committed migration is final):
/// refused while one of its networks has no mapping, then walked and committed.
fn live_failover(store: &Store) -> sendense::Result<()> {
    let apps = store.context_list(&ContextFilter::default())?.iter().filter(|c| c.vm_name.starts_with("app-")).count();
    let name = format!("app-{:02}", apps + 1);
    let new = NewContext::new(&name, format!("4210-{name}"), format!("/DC1/vm/{name}"), "vcenter.example", "DC1");
    let ctx = store.context_create(&new)?;
    println!("VM {name}: context {ctx}");
    replicate(store, &name, &ctx, &disk_specs(&name, &["VM Network", "dmz"]))?;
    println!("network mappings of {name}:");
    map_networks(store, &ctx, &["VM Network"])?;
    match store.failover_start(&StartFailover::new(&ctx, FailoverType::Live)) {
        Err(e) if e.status() == Status::InvalidState => {
            println!(
                "live failover of {name} refused with status {} {}: {}",
                e.status().code(),
                e.status(),
                e.message()
            )
        }
        Err(e) => return Err(e),
        Ok(id) => panic!("the library started failover {id} with the dmz network unmapped"),
    }
    map_networks(store, &ctx, &["dmz"])?;
    let id = store.failover_start(&StartFailover::new(&ctx, FailoverType::Live))?;
    walk_failover(store, &id, &name)?;
    println!("live failover {id} of {name}: {}", store.failover_get(&id)?.status);
    show_context(store, &ctx)?;
    store.failover_commit(&id)?;
    println!("committed live failover {id}");
    show_context(store, &ctx)
}
