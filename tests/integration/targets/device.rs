//! Device mappings and NBD exports through the Rust API on real database files: each rule and
//! each refusal (which must change nothing), mode switches both ways, snapshot tracking, and
//! the storage consistency check.

use crate::fixtures::{assert_refused, snapshot, TempStore};
use sendense::replication::{DiskSpec, NewContext, StartJob};
use sendense::targets::{
    export_name, DeviceUpdate, ExportStatus, ModeSwitch, NewExport, NewLeasePool, NewMapping, OperationMode,
    SnapshotStatus,
};
use sendense::value::from_json;
use sendense::{ManualClock, Status, Store};

const T0: i64 = 1_764_306_589_000;

struct Fixture {
    store: Store,
    clock: ManualClock,
    /// Two contexts, each with a running job over two disks.
    ctx: [String; 2],
    job: [String; 2],
    /// vm_disks row ids: disks[context][disk].
    disks: [[i64; 2]; 2],
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let TempStore { store, clock, dir } = TempStore::new(T0);
    let mut ctx = Vec::new();
    let mut job = Vec::new();
    let mut disks = Vec::new();
    for n in 0..2 {
        let c = store
            .context_create(&NewContext::new(format!("vm-{n}"), format!("42-{n}"), format!("/dc/vm/{n}"), "vc", "dc"))
            .unwrap();
        let specs = vec![DiskSpec::new("disk-2000", "[ds] a.vmdk", 10), DiskSpec::new("disk-2001", "[ds] b.vmdk", 20)];
        job.push(store.replication_start(&StartJob::new(&c, specs)).unwrap());
        let rows = store.replication_disks(&c).unwrap();
        disks.push([rows[0].id, rows[1].id]);
        ctx.push(c);
    }
    Fixture {
        store,
        clock,
        ctx: [ctx[0].clone(), ctx[1].clone()],
        job: [job[0].clone(), job[1].clone()],
        disks: [disks[0], disks[1]],
        _dir: dir,
    }
}

impl Fixture {
    /// An oma mapping of `volume` in context `c` at `path`, with its export of disk `d`.
    fn mapping(&self, c: usize, volume: &str, path: &str, d: usize) -> NewMapping {
        let mut m = NewMapping::oma(volume, "oma-vm", path);
        m.vm_context_id = Some(self.ctx[c].clone());
        m.size = 10 << 30;
        m.export = Some(NewExport {
            volume_uuid: None,
            vm_disk_id: self.disks[c][d],
            port: 10809,
            job_id: Some(self.job[c].clone()),
            config_path: None,
        });
        m
    }

    fn attach(&self, c: usize, volume: &str, path: &str, d: usize) -> String {
        self.store.device_attach(&self.mapping(c, volume, path, d)).unwrap_or_else(|e| panic!("attach {volume}: {e}"))
    }

    /// Two port pools holding "10809": `nbd_a` (10809, 10810), both leased to job 0, and
    /// `nbd_b` (10809), leased to another owner.
    fn port_leases(&self) {
        let s = &self.store;
        s.lease_pool_define(&NewLeasePool::new("nbd_a", vec!["10809".into(), "10810".into()])).unwrap();
        s.lease_pool_define(&NewLeasePool::new("nbd_b", vec!["10809".into()])).unwrap();
        for pool in ["nbd_a", "nbd_a"] {
            s.lease_acquire(pool, &self.job[0], 60_000).unwrap();
        }
        s.lease_acquire("nbd_b", "other-owner", 60_000).unwrap();
    }

    /// The resources leased to job 0 in `nbd_a` and to the other owner in `nbd_b`.
    fn port_leases_held(&self) -> (Vec<String>, Vec<String>) {
        let held = |pool, owner| -> Vec<String> {
            self.store.lease_list_owner(pool, owner).unwrap().into_iter().map(|l| l.resource).collect()
        };
        (held("nbd_a", &self.job[0]), held("nbd_b", "other-owner"))
    }

    fn clean(&self) {
        let c = self.store.storage_consistency().unwrap();
        assert!(c.ok, "{c:?}");
        assert!(self.store.integrity_check().unwrap().ok);
    }
}

#[test]
fn attach_records_the_mapping_and_its_export_together() {
    let f = fixture();
    f.clock.advance(5);
    let id = f.attach(0, "vol-a", "/dev/vdb", 0);
    let m = f.store.device_get("vol-a").unwrap();
    assert_eq!(m.id, id);
    assert_eq!(m.vm_context_id.as_deref(), Some(f.ctx[0].as_str()));
    assert_eq!((m.operation_mode, m.device_path.as_deref()), (OperationMode::Oma, Some("/dev/vdb")));
    assert_eq!((m.cloudstack_state.as_str(), m.linux_state.as_str(), m.size), ("attached", "detected", 10 << 30));
    assert_eq!((m.snapshot_status, m.requires_device_correlation), (SnapshotStatus::None, true));
    assert_eq!((m.created_at.millis(), m.last_sync.map(|t| t.millis())), (T0 + 5, Some(T0 + 5)));
    let e = f.store.nbd_export_get("migration-vol-vol-a").unwrap();
    assert_eq!(e.export_name, export_name("vol-a"));
    assert_eq!((e.volume_id.as_str(), e.device_mapping_uuid.as_deref()), ("vol-a", Some("vol-a")));
    assert_eq!((e.device_path.as_str(), e.port, e.status), ("/dev/vdb", 10809, ExportStatus::Pending));
    assert_eq!((e.vm_disk_id, e.job_id.as_deref()), (Some(f.disks[0][0]), Some(f.job[0].as_str())));
    assert_eq!(e.vm_context_id.as_deref(), Some(f.ctx[0].as_str()));
    f.clean();

    // Given id, every optional column, and JSON input with the column names.
    let m: NewMapping = from_json(
        "json",
        &format!(
            r#"{{"id":"map-1","vm_context_id":"{}","volume_uuid":"vol-b","volume_id_numeric":77,"vm_id":"oma",
                "cloudstack_device_id":2,"requires_device_correlation":false,"device_path":"/dev/vdc",
                "cloudstack_state":"Ready","linux_state":"resolved","size":5,"persistent_device_name":"vol-b-dm",
                "symlink_path":"/dev/mapper/vol-b-dm","export":{{"vm_disk_id":{},"port":10810}}}}"#,
            f.ctx[0], f.disks[0][1]
        ),
    )
    .unwrap();
    assert_eq!(f.store.device_attach(&m).unwrap(), "map-1");
    let m = f.store.device_get("vol-b").unwrap();
    assert_eq!(
        (m.volume_id_numeric, m.cloudstack_device_id, m.requires_device_correlation),
        (Some(77), Some(2), false)
    );
    assert_eq!(
        (m.persistent_device_name.as_deref(), m.symlink_path.as_deref()),
        (Some("vol-b-dm"), Some("/dev/mapper/vol-b-dm"))
    );
    assert_eq!((m.cloudstack_state.as_str(), m.linux_state.as_str()), ("Ready", "resolved"));
    let list = f.store.device_list(&f.ctx[0]).unwrap();
    assert_eq!(list.iter().map(|m| m.volume_uuid.as_str()).collect::<Vec<_>>(), ["vol-a", "vol-b"]);
    assert!(f.store.device_list(&f.ctx[1]).unwrap().is_empty());
    let json = serde_json::to_value(&m).unwrap();
    for key in
        ["id", "vm_context_id", "volume_uuid", "operation_mode", "device_path", "snapshot_status", "symlink_path"]
    {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    f.clean();
}

#[test]
fn failover_mappings_carry_no_device_path_and_may_share_a_vm() {
    let f = fixture();
    for v in ["vol-1", "vol-2", "vol-3"] {
        let mut m = NewMapping::failover(v, "failover-vm-9");
        m.vm_context_id = Some(f.ctx[1].clone());
        f.store.device_attach(&m).unwrap();
    }
    let list = f.store.device_list(&f.ctx[1]).unwrap();
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|m| m.device_path.is_none() && m.linux_state == "n/a"));
    // A mapping without a context is allowed too; it has no disk row to export, so an oma one
    // is not reported for lacking an export.
    f.store.device_attach(&NewMapping::failover("vol-4", "failover-vm-9")).unwrap();
    f.store.device_attach(&NewMapping::oma("vol-5", "oma-vm", "/dev/vdk")).unwrap();
    f.clean();
}

#[test]
fn attach_refusals_name_the_holder_and_change_nothing() {
    let f = fixture();
    let id = f.attach(0, "vol-a", "/dev/vdb", 0);
    let s = &f.store;
    // The same volume again, even in another mode: ALREADY_EXISTS naming the mapping.
    assert_refused(s, Status::AlreadyExists, &["vol-a", &id, "oma", "/dev/vdb"], || {
        s.device_attach(&f.mapping(1, "vol-a", "/dev/vdz", 0))
    });
    assert_refused(s, Status::AlreadyExists, &["vol-a", &id], || {
        s.device_attach(&NewMapping::failover("vol-a", "vm-x"))
    });
    // A given id that is taken.
    let mut m = f.mapping(1, "vol-new", "/dev/vdz", 0);
    m.id = Some(id.clone());
    assert_refused(s, Status::AlreadyExists, &[&id], || s.device_attach(&m));
    // The device path of a live oma mapping: CONFLICT naming its volume, in any context.
    assert_refused(s, Status::Conflict, &["/dev/vdb", "vol-a", "vol-b"], || {
        s.device_attach(&f.mapping(1, "vol-b", "/dev/vdb", 0))
    });
    let mut no_export = f.mapping(1, "vol-b", "/dev/vdb", 0);
    no_export.export = None;
    assert_refused(s, Status::Conflict, &["vol-a"], || s.device_attach(&no_export));
    // Failover with a path, oma without one, bad paths.
    let mut m = NewMapping::failover("vol-f", "vm-x");
    m.device_path = Some("/dev/vdq".into());
    assert_refused(s, Status::InvalidArgument, &["failover", "/dev/vdq"], || s.device_attach(&m));
    let mut m = f.mapping(0, "vol-c", "/dev/vdc", 1);
    m.device_path = None;
    assert_refused(s, Status::InvalidArgument, &["needs its hub device_path"], || s.device_attach(&m));
    assert_refused(s, Status::InvalidArgument, &["remote-vm-7"], || {
        s.device_attach(&f.mapping(0, "vol-c", "remote-vm-7", 1))
    });
    // A failover mapping with an export.
    let mut m = NewMapping::failover("vol-f", "vm-x");
    m.export = f.mapping(0, "x", "/x", 0).export;
    assert_refused(s, Status::InvalidArgument, &["no local device to export"], || s.device_attach(&m));
    // Unknown context.
    let mut m = f.mapping(0, "vol-c", "/dev/vdc", 1);
    m.vm_context_id = Some("no-such-context".into());
    assert_refused(s, Status::NotFound, &["no-such-context"], || s.device_attach(&m));
    // The export's rules refuse the whole attach: a disk of another context, an unknown disk,
    // a job of another context, an unknown job, a bad port.
    let mut m = f.mapping(0, "vol-c", "/dev/vdc", 1);
    m.export.as_mut().unwrap().vm_disk_id = f.disks[1][0];
    assert_refused(s, Status::InvalidArgument, &["belongs to context", &f.ctx[1]], || s.device_attach(&m));
    m.export.as_mut().unwrap().vm_disk_id = 999_999;
    assert_refused(s, Status::NotFound, &["vm disk 999999"], || s.device_attach(&m));
    let mut m = f.mapping(0, "vol-c", "/dev/vdc", 1);
    m.export.as_mut().unwrap().job_id = Some(f.job[1].clone());
    assert_refused(s, Status::InvalidArgument, &[&f.job[1]], || s.device_attach(&m));
    m.export.as_mut().unwrap().job_id = Some("no-such-job".into());
    assert_refused(s, Status::NotFound, &["no-such-job"], || s.device_attach(&m));
    let mut m = f.mapping(0, "vol-c", "/dev/vdc", 1);
    m.export.as_mut().unwrap().port = 70_000;
    assert_refused(s, Status::InvalidArgument, &["port 70000"], || s.device_attach(&m));
    let mut m = f.mapping(0, "vol-c", "/dev/vdc", 1);
    m.export.as_mut().unwrap().volume_uuid = Some("vol-z".into());
    assert_refused(s, Status::InvalidArgument, &["vol-z"], || s.device_attach(&m));
    // A context-less oma mapping cannot export (no disk row of it).
    let mut m = f.mapping(0, "vol-c", "/dev/vdc", 1);
    m.vm_context_id = None;
    assert_refused(s, Status::InvalidState, &["no context"], || s.device_attach(&m));
    // Malformed JSON and unknown keys never reach the store.
    let e = from_json::<NewMapping>("json", r#"{"volume_uuid":"v","vm_id":"x","device":"/dev/vdb"}"#).unwrap_err();
    assert!(e.message().contains("unknown field `device`"), "{e}");
    let e = from_json::<NewMapping>("json", r#"{"volume_uuid":"v","vm_id":"x","operation_mode":"hub"}"#).unwrap_err();
    assert!(e.message().contains("not a valid operation mode"), "{e}");
    assert!(from_json::<NewMapping>("json", "{").is_err());
    f.clean();
}

#[test]
fn a_freed_device_path_can_be_taken_again() {
    let f = fixture();
    f.attach(0, "vol-a", "/dev/vdb", 0);
    assert_refused(&f.store, Status::NotFound, &["vol-zz"], || f.store.device_detach("vol-zz"));
    let removed = f.store.device_detach("vol-a").unwrap();
    assert_eq!(removed.volume_uuid, "vol-a");
    assert_eq!(f.store.device_get("vol-a").unwrap_err().status(), Status::NotFound);
    assert_eq!(f.store.nbd_export_get(&export_name("vol-a")).unwrap_err().status(), Status::NotFound);
    assert!(f.store.nbd_export_list_by_context(&f.ctx[0]).unwrap().is_empty());
    f.attach(1, "vol-b", "/dev/vdb", 0);
    assert_eq!(f.store.device_get("vol-b").unwrap().device_path.as_deref(), Some("/dev/vdb"));
    f.clean();
}

#[test]
fn mode_switches_move_every_mapping_and_their_exports_in_one_transaction() {
    let f = fixture();
    let s = &f.store;
    f.attach(0, "vol-a", "/dev/vdb", 0);
    f.attach(0, "vol-b", "/dev/vdc", 1);
    f.attach(1, "vol-other", "/dev/vdd", 0);
    f.clock.advance(1000);
    let after = s.device_set_mode(&f.ctx[0], OperationMode::Failover).unwrap();
    assert_eq!(after.len(), 2);
    for m in &after {
        assert_eq!(
            (m.operation_mode, m.device_path.as_deref(), m.linux_state.as_str()),
            (OperationMode::Failover, None, "n/a")
        );
        assert_eq!(m.updated_at.millis(), T0 + 1000);
    }
    assert!(s.nbd_export_list_by_context(&f.ctx[0]).unwrap().is_empty(), "exports removed with the switch");
    assert_eq!(s.nbd_export_list_by_context(&f.ctx[1]).unwrap().len(), 1, "another context is untouched");
    f.clean();
    // Again: nothing more to do.
    s.device_set_mode(&f.ctx[0], OperationMode::Failover).unwrap();

    // The plain switch back cannot know the paths: refused, naming the volumes.
    assert_refused(s, Status::InvalidArgument, &["vol-a", "vol-b", "device_paths"], || {
        s.device_set_mode(&f.ctx[0], OperationMode::Oma)
    });
    assert_refused(s, Status::NotFound, &["nope"], || s.device_set_mode("nope", OperationMode::Oma));
    // Paths: one missing, one held by another context's mapping, a stranger volume, exports
    // with a switch to failover.
    let mut sw = ModeSwitch::new(&f.ctx[0], OperationMode::Oma);
    sw.device_paths.insert("vol-a".into(), "/dev/vde".into());
    assert_refused(s, Status::InvalidArgument, &["vol-b"], || s.device_switch_mode(&sw));
    sw.device_paths.insert("vol-b".into(), "/dev/vdd".into());
    assert_refused(s, Status::Conflict, &["/dev/vdd", "vol-other"], || s.device_switch_mode(&sw));
    let mut stranger = sw.clone();
    stranger.device_paths.insert("vol-other".into(), "/dev/vdx".into());
    assert_refused(s, Status::InvalidArgument, &["vol-other", "not a mapping of context"], || {
        s.device_switch_mode(&stranger)
    });
    let mut bad = ModeSwitch::new(&f.ctx[0], OperationMode::Failover);
    bad.device_paths.insert("vol-a".into(), "/dev/vdf".into());
    assert_refused(s, Status::InvalidArgument, &["takes no device_paths"], || s.device_switch_mode(&bad));
    // An export of the switch that fails refuses the whole switch.
    sw.device_paths.insert("vol-b".into(), "/dev/vdf".into());
    let mut failing = sw.clone();
    failing.exports = vec![NewExport::new("vol-a", f.disks[1][0], 10809)];
    assert_refused(s, Status::InvalidArgument, &["belongs to context"], || s.device_switch_mode(&failing));

    // The whole switch back, with exports re-created and the hub's VM id.
    sw.vm_id = Some("oma-vm-2".into());
    sw.exports = vec![NewExport::new("vol-a", f.disks[0][0], 10809), NewExport::new("vol-b", f.disks[0][1], 10809)];
    let after = s.device_switch_mode(&sw).unwrap();
    let got: Vec<_> = after
        .iter()
        .map(|m| (m.volume_uuid.as_str(), m.device_path.as_deref(), m.vm_id.as_str(), m.linux_state.as_str()))
        .collect();
    assert_eq!(
        got,
        [("vol-a", Some("/dev/vde"), "oma-vm-2", "detected"), ("vol-b", Some("/dev/vdf"), "oma-vm-2", "detected")]
    );
    assert_eq!(s.nbd_export_list_by_context(&f.ctx[0]).unwrap().len(), 2);
    assert_eq!(s.nbd_export_get(&export_name("vol-b")).unwrap().device_path, "/dev/vdf");
    f.clean();
    // A retry of the same switch (exports aside) is accepted; another path for an oma volume
    // is not; the plain oma switch is a no-op now.
    let mut retry = sw.clone();
    retry.exports.clear();
    s.device_switch_mode(&retry).unwrap();
    retry.device_paths.insert("vol-a".into(), "/dev/vdz".into());
    assert_refused(s, Status::InvalidState, &["vol-a", "already in oma mode at /dev/vde"], || {
        s.device_switch_mode(&retry)
    });
    assert_refused(s, Status::AlreadyExists, &["vol-a"], || s.device_switch_mode(&sw));
    let before = snapshot(s);
    s.device_set_mode(&f.ctx[0], OperationMode::Oma).unwrap();
    assert_eq!(snapshot(s), before);
    // A mode string outside the set.
    assert_eq!(OperationMode::parse("hub").unwrap_err().status(), Status::InvalidArgument);
    let e = from_json::<ModeSwitch>("json", &format!(r#"{{"context_id":"{}","mode":"OMA"}}"#, f.ctx[0])).unwrap_err();
    assert!(e.message().contains("not a valid operation mode"), "{e}");
    f.clean();
}

#[test]
fn snapshot_tracking_follows_its_machine() {
    let f = fixture();
    let s = &f.store;
    f.attach(0, "vol-a", "/dev/vdb", 0);
    assert_refused(s, Status::InvalidArgument, &["needs its snapshot id"], || {
        s.device_set_snapshot("vol-a", SnapshotStatus::Creating, None)
    });
    assert_refused(s, Status::InvalidArgument, &["only with the move to creating"], || {
        s.device_set_snapshot("vol-a", SnapshotStatus::Ready, Some("snap"))
    });
    assert_refused(s, Status::InvalidState, &["vol-a", "from none to ready"], || {
        s.device_set_snapshot("vol-a", SnapshotStatus::Ready, None)
    });
    assert_refused(s, Status::NotFound, &["vol-x"], || {
        s.device_set_snapshot("vol-x", SnapshotStatus::Creating, Some("s"))
    });
    f.clock.advance(7);
    let m = s.device_set_snapshot("vol-a", SnapshotStatus::Creating, Some("snap-1")).unwrap();
    assert_eq!((m.snapshot_status, m.ossea_snapshot_id.as_deref()), (SnapshotStatus::Creating, Some("snap-1")));
    assert_eq!(m.snapshot_created_at.map(|t| t.millis()), Some(T0 + 7));
    assert_refused(s, Status::InvalidState, &["from creating to rollback_complete"], || {
        s.device_set_snapshot("vol-a", SnapshotStatus::RollbackComplete, None)
    });
    s.device_set_snapshot("vol-a", SnapshotStatus::Ready, None).unwrap();
    s.device_set_snapshot("vol-a", SnapshotStatus::RollbackComplete, None).unwrap();
    let m = s.device_set_snapshot("vol-a", SnapshotStatus::None, None).unwrap();
    assert_eq!((m.snapshot_status, m.ossea_snapshot_id, m.snapshot_created_at), (SnapshotStatus::None, None, None));
    s.device_set_snapshot("vol-a", SnapshotStatus::Creating, Some("snap-2")).unwrap();
    s.device_set_snapshot("vol-a", SnapshotStatus::Failed, None).unwrap();
    assert_refused(s, Status::InvalidState, &["from failed to ready"], || {
        s.device_set_snapshot("vol-a", SnapshotStatus::Ready, None)
    });
    s.device_set_snapshot("vol-a", SnapshotStatus::None, None).unwrap();
    f.clean();
}

#[test]
fn exports_reference_their_mapping_disk_and_job() {
    let f = fixture();
    let s = &f.store;
    let mut m = f.mapping(0, "vol-a", "/dev/vdb", 0);
    m.export = None;
    s.device_attach(&m).unwrap();
    let mut m = f.mapping(0, "vol-f", "x", 0);
    m.operation_mode = OperationMode::Failover;
    m.device_path = None;
    m.export = None;
    s.device_attach(&m).unwrap();

    let mut e = NewExport::new("vol-a", f.disks[0][0], 10809);
    assert_refused(s, Status::NotFound, &["vol-zz"], || {
        s.nbd_export_create(&NewExport::new("vol-zz", f.disks[0][0], 1))
    });
    assert_refused(s, Status::InvalidState, &["vol-f", "failover"], || {
        s.nbd_export_create(&NewExport::new("vol-f", f.disks[0][0], 1))
    });
    assert_refused(s, Status::InvalidArgument, &["port 0"], || {
        s.nbd_export_create(&NewExport::new("vol-a", f.disks[0][0], 0))
    });
    let mut missing = e.clone();
    missing.volume_uuid = None;
    assert_refused(s, Status::InvalidArgument, &["volume_uuid"], || s.nbd_export_create(&missing));
    e.config_path = Some("/etc/nbd-server/conf.d/vol-a.conf".into());
    assert_eq!(s.nbd_export_create(&e).unwrap(), "migration-vol-vol-a");
    assert_refused(s, Status::AlreadyExists, &["vol-a", "migration-vol-vol-a"], || s.nbd_export_create(&e));
    let x = s.nbd_export_get("migration-vol-vol-a").unwrap();
    assert_eq!((x.job_id, x.config_path.as_deref()), (None, Some("/etc/nbd-server/conf.d/vol-a.conf")));

    // The job using it: set, refused for another context's job or an unknown one, cleared.
    assert_refused(s, Status::InvalidArgument, &[&f.job[1]], || {
        s.nbd_export_set_job("migration-vol-vol-a", Some(&f.job[1]))
    });
    assert_refused(s, Status::NotFound, &["nope"], || s.nbd_export_set_job("migration-vol-vol-a", Some("nope")));
    s.nbd_export_set_job("migration-vol-vol-a", Some(&f.job[0])).unwrap();
    assert_eq!(s.nbd_export_list_by_job(&f.job[0]).unwrap().len(), 1);
    assert!(s.nbd_export_list_by_job(&f.job[1]).unwrap().is_empty());
    assert_eq!(s.nbd_export_list_by_job("nope").unwrap_err().status(), Status::NotFound);
    assert_eq!(s.nbd_export_list_by_context("nope").unwrap_err().status(), Status::NotFound);
    s.nbd_export_set_job("migration-vol-vol-a", None).unwrap();
    assert!(s.nbd_export_list_by_job(&f.job[0]).unwrap().is_empty());

    // Status: pending -> active; active is then final until removal.
    f.clock.advance(3);
    let x = s.nbd_export_set_status("migration-vol-vol-a", ExportStatus::Active).unwrap();
    assert_eq!((x.status, x.updated_at.millis()), (ExportStatus::Active, T0 + 3));
    assert_refused(s, Status::InvalidState, &["from active to failed"], || {
        s.nbd_export_set_status("migration-vol-vol-a", ExportStatus::Failed)
    });
    assert_refused(s, Status::InvalidState, &["from active to pending"], || {
        s.nbd_export_set_status("migration-vol-vol-a", ExportStatus::Pending)
    });
    assert_refused(s, Status::NotFound, &["migration-vol-x"], || {
        s.nbd_export_set_status("migration-vol-x", ExportStatus::Active)
    });
    assert_eq!(ExportStatus::parse("stopped").unwrap_err().status(), Status::InvalidArgument);

    // Removal keeps the mapping; the consistency check then reports the export missing.
    s.nbd_export_remove("migration-vol-vol-a").unwrap();
    assert_refused(s, Status::NotFound, &["migration-vol-vol-a"], || s.nbd_export_remove("migration-vol-vol-a"));
    assert!(s.device_get("vol-a").is_ok());
    let c = s.storage_consistency().unwrap();
    assert_eq!(c.oma_mappings_without_export, ["vol-a"]);
    assert!(!c.ok && !s.integrity_check().unwrap().ok);
    // A failed export.
    s.nbd_export_create(&NewExport::new("vol-a", f.disks[0][0], 10809)).unwrap();
    s.nbd_export_set_status("migration-vol-vol-a", ExportStatus::Failed).unwrap();
    f.clean();
    // Deleting the disk row keeps the export row (SET NULL).
    s.write(|tx| Ok(tx.execute("DELETE FROM vm_disks WHERE id = ?1", [f.disks[0][0]])?)).unwrap();
    assert_eq!(s.nbd_export_get("migration-vol-vol-a").unwrap().vm_disk_id, None);
}

#[test]
fn the_consistency_check_reports_what_the_rules_prevent() {
    let f = fixture();
    let s = &f.store;
    f.attach(0, "vol-a", "/dev/vdb", 0);
    f.attach(0, "vol-b", "/dev/vdc", 1);
    let exec = |sql: &str| s.write(|tx| Ok(tx.execute_batch(sql)?)).unwrap();
    // Volumes: attached and mapped, attached without a mapping, detached with one, available
    // without one.
    exec(
        "INSERT INTO ossea_volumes (volume_id, volume_name, size_gb, status, created_at, updated_at) VALUES \
         ('vol-a', 'a', 10, 'attached', 0, 0), ('vol-lost', 'l', 10, 'attached', 0, 0), \
         ('vol-b', 'b', 10, 'detached', 0, 0), ('vol-free', 'f', 10, 'available', 0, 0)",
    );
    // An export whose device path drifted from its mapping's, and a mapping whose export is gone.
    exec("UPDATE nbd_exports SET device_path = '/dev/old' WHERE volume_id = 'vol-a'");
    let mut m = f.mapping(1, "vol-c", "/dev/vdd", 0);
    m.export = None;
    s.device_attach(&m).unwrap();
    let c = s.storage_consistency().unwrap();
    assert!(!c.ok);
    assert_eq!(c.exports_without_live_mapping, ["migration-vol-vol-a"]);
    assert_eq!(c.oma_mappings_without_export, ["vol-c"]);
    assert!(c.duplicate_device_paths.is_empty());
    let mism: Vec<_> =
        c.volume_mismatches.iter().map(|v| (v.volume_id.as_str(), v.status.as_str(), v.mapping_id.is_some())).collect();
    assert_eq!(mism, [("vol-b", "detached", true), ("vol-lost", "attached", false)]);
    let report = s.integrity_check().unwrap();
    assert!(!report.ok && report.integrity_errors.is_empty() && report.foreign_key_violations.is_empty());
    assert_eq!(report.storage, c);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["storage"]["oma_mappings_without_export"][0], "vol-c");
    // Duplicate paths can only come from behind the library's back (the index forbids them).
    exec("DROP INDEX idx_device_mappings_device_path_oma; UPDATE device_mappings SET device_path = '/dev/vdb' WHERE volume_uuid = 'vol-c'");
    assert_eq!(s.storage_consistency().unwrap().duplicate_device_paths, ["/dev/vdb"]);
}

#[test]
fn updates_keep_the_path_rules_and_carry_the_path_to_the_export() {
    let f = fixture();
    let s = &f.store;
    f.attach(0, "vol-a", "/dev/vdb", 0);
    f.attach(1, "vol-b", "/dev/vdc", 0);
    let mut m = NewMapping::failover("vol-f", "vm-x");
    m.vm_context_id = Some(f.ctx[1].clone());
    s.device_attach(&m).unwrap();
    f.clock.advance(60_000);
    let u: DeviceUpdate = from_json(
        "json",
        r#"{"device_path":"/dev/disk/by-id/virtio-vol-a","linux_state":"resolved","size":42,
            "requires_device_correlation":false,"cloudstack_device_id":3,"persistent_device_name":"dm-a",
            "symlink_path":"/dev/mapper/dm-a"}"#,
    )
    .unwrap();
    let m = s.device_update("vol-a", &u).unwrap();
    assert_eq!(m.device_path.as_deref(), Some("/dev/disk/by-id/virtio-vol-a"));
    assert_eq!((m.linux_state.as_str(), m.size, m.requires_device_correlation), ("resolved", 42, false));
    assert_eq!((m.cloudstack_device_id, m.persistent_device_name.as_deref()), (Some(3), Some("dm-a")));
    assert_eq!((m.last_sync.map(|t| t.millis()), m.updated_at.millis()), (Some(T0 + 60_000), T0 + 60_000));
    assert_eq!(m.cloudstack_state, "attached", "absent keys are left alone");
    assert_eq!(s.nbd_export_get(&export_name("vol-a")).unwrap().device_path, "/dev/disk/by-id/virtio-vol-a");
    f.clean();
    // null clears a nullable column; the old path is free again.
    let u: DeviceUpdate = from_json("json", r#"{"symlink_path":null,"cloudstack_device_id":null}"#).unwrap();
    let m = s.device_update("vol-a", &u).unwrap();
    assert_eq!(
        (m.symlink_path, m.cloudstack_device_id, m.persistent_device_name.as_deref()),
        (None, None, Some("dm-a"))
    );
    let to_vdb = DeviceUpdate { device_path: Some("/dev/vdb".into()), ..Default::default() };
    s.device_update("vol-b", &to_vdb).unwrap();
    // Refusals.
    let to_vdb_again = DeviceUpdate { device_path: Some("/dev/vdb".into()), ..Default::default() };
    assert_refused(s, Status::Conflict, &["/dev/vdb", "vol-b", "vol-a"], || s.device_update("vol-a", &to_vdb_again));
    assert_refused(s, Status::InvalidState, &["vol-f", "failover"], || s.device_update("vol-f", &to_vdb_again));
    assert_refused(s, Status::NotFound, &["vol-zz"], || s.device_update("vol-zz", &DeviceUpdate::default()));
    let bad = DeviceUpdate { size: Some(-1), ..Default::default() };
    assert_refused(s, Status::InvalidArgument, &["size -1"], || s.device_update("vol-a", &bad));
    let bad = DeviceUpdate { linux_state: Some(" ".into()), ..Default::default() };
    assert_refused(s, Status::InvalidArgument, &["linux_state"], || s.device_update("vol-a", &bad));
    let e = from_json::<DeviceUpdate>("json", r#"{"operation_mode":"oma"}"#).unwrap_err();
    assert!(e.message().contains("unknown field `operation_mode`"), "{e}");
    // Re-stating the current path is not a conflict with itself.
    s.device_update("vol-b", &to_vdb).unwrap();
    f.clean();
}

/// The CloudStack volume rows follow their mappings in the mappings' transactions: attach,
/// the mode switches both ways and detach leave nothing for the consistency check to report
/// between two calls, and a mapping switched to failover mode has size 0.
#[test]
fn volume_rows_follow_their_mappings_in_the_same_transaction() {
    use sendense::targets::{NewOsseaVolume, VolumeStatus};
    let f = fixture();
    let s = &f.store;
    let mut volumes = Vec::new();
    for v in ["vol-a", "vol-b"] {
        let mut new = NewOsseaVolume::new(v, v, 10);
        new.vm_context_id = Some(f.ctx[0].clone());
        let id = s.ossea_volume_create(&new).unwrap();
        s.ossea_volume_set_status(id, VolumeStatus::Available, None).unwrap();
        volumes.push(id);
    }
    let volume = |i: usize| s.ossea_volume_get(volumes[i]).unwrap();
    f.attach(0, "vol-a", "/dev/vdb", 0);
    // At once, with no separate volume update: the row says attached at the mapping's path.
    f.clean();
    assert_eq!((volume(0).status, volume(0).device_path.as_deref()), (VolumeStatus::Attached, Some("/dev/vdb")));
    // A caller that still marks the volume by hand repeats what it is: a no-op. Another path
    // is a move the machine refuses.
    let before = volume(0);
    assert_eq!(s.ossea_volume_set_status(volumes[0], VolumeStatus::Attached, Some("/dev/vdb")).unwrap(), before);
    assert_refused(s, Status::InvalidState, &["attached to attached"], || {
        s.ossea_volume_set_status(volumes[0], VolumeStatus::Attached, Some("/dev/vdz"))
    });
    f.attach(0, "vol-b", "/dev/vdc", 1);
    f.clean();

    let switched = s.device_set_mode(&f.ctx[0], OperationMode::Failover).unwrap();
    assert!(switched.iter().all(|m| m.size == 0 && m.device_path.is_none()), "{switched:?}");
    for i in 0..2 {
        // Attached to the failover VM: still attached, without a hub device.
        assert_eq!((volume(i).status, volume(i).device_path), (VolumeStatus::Attached, None));
    }
    f.clean();

    let mut back = ModeSwitch::new(&f.ctx[0], OperationMode::Oma);
    back.device_paths.insert("vol-a".into(), "/dev/vde".into());
    back.device_paths.insert("vol-b".into(), "/dev/vdf".into());
    for (i, v) in ["vol-a", "vol-b"].into_iter().enumerate() {
        let mut e = f.mapping(0, v, "/dev/x", i).export.unwrap();
        e.volume_uuid = Some(v.into());
        back.exports.push(e);
    }
    s.device_switch_mode(&back).unwrap();
    assert_eq!(volume(0).device_path.as_deref(), Some("/dev/vde"));
    assert_eq!(volume(1).device_path.as_deref(), Some("/dev/vdf"));
    f.clean();

    s.device_update("vol-a", &DeviceUpdate { device_path: Some("/dev/vdg".into()), ..Default::default() }).unwrap();
    assert_eq!(volume(0).device_path.as_deref(), Some("/dev/vdg"));
    f.clean();

    s.device_detach("vol-a").unwrap();
    assert_eq!((volume(0).status, volume(0).device_path), (VolumeStatus::Detached, None));
    f.clean();
    // A detached volume can be attached again; one still being created cannot.
    f.attach(0, "vol-a", "/dev/vdb", 0);
    assert_eq!(volume(0).status, VolumeStatus::Attached);
    let mut creating = NewOsseaVolume::new("vol-new", "new", 10);
    creating.vm_context_id = Some(f.ctx[1].clone());
    s.ossea_volume_create(&creating).unwrap();
    assert_refused(s, Status::InvalidState, &["vol-new", "creating"], || {
        s.device_attach(&f.mapping(1, "vol-new", "/dev/vdh", 0))
    });
    f.clean();
}

#[test]
fn removing_the_last_export_of_a_job_on_a_port_releases_the_jobs_lease_on_it() {
    let f = fixture();
    let s = &f.store;
    f.port_leases();
    let both = || (vec!["10809".to_string(), "10810".to_string()], vec!["10809".to_string()]);
    // Two exports of job 0 on port 10809 (NBD serves many exports on one port), and one
    // export of no job on the same port in the other context.
    f.attach(0, "vol-a", "/dev/vdb", 0);
    f.attach(0, "vol-b", "/dev/vdc", 1);
    let mut no_job = f.mapping(1, "vol-c", "/dev/vdd", 0);
    no_job.export.as_mut().unwrap().job_id = None;
    s.device_attach(&no_job).unwrap();
    assert_eq!(f.port_leases_held(), both());

    // An export of no job releases nothing.
    s.device_detach("vol-c").unwrap();
    assert_eq!(f.port_leases_held(), both());
    // Another export of the job still uses the port: the lease stays.
    s.device_detach("vol-a").unwrap();
    assert_eq!(f.port_leases_held(), both());
    // The job's last export on the port goes: its lease on 10809 goes in the same
    // transaction; its lease on 10810 and the other owner's lease on 10809 stay.
    s.nbd_export_remove(&export_name("vol-b")).unwrap();
    assert_eq!(f.port_leases_held(), (vec!["10810".to_string()], vec!["10809".to_string()]));
    // The port is free again in nbd_a for the next job.
    assert_eq!(s.lease_acquire("nbd_a", &f.job[1], 60_000).unwrap().resource, "10809");
    s.device_detach("vol-b").unwrap();
    f.clean();
}

#[test]
fn a_switch_to_failover_releases_the_leases_its_exports_held() {
    let f = fixture();
    let s = &f.store;
    f.port_leases();
    f.attach(0, "vol-a", "/dev/vdb", 0);
    f.attach(0, "vol-b", "/dev/vdc", 1);
    f.attach(1, "vol-c", "/dev/vdd", 0);
    s.device_switch_mode(&ModeSwitch::new(&f.ctx[0], OperationMode::Failover)).unwrap();
    assert_eq!(s.nbd_export_list_by_context(&f.ctx[0]).unwrap().len(), 0);
    assert_eq!(f.port_leases_held(), (vec!["10810".to_string()], vec!["10809".to_string()]));
    // A refused switch changes nothing, leases included.
    s.lease_acquire("nbd_a", &f.job[1], 60_000).unwrap();
    let mut back = ModeSwitch::new(&f.ctx[0], OperationMode::Oma);
    back.device_paths.insert("vol-a".into(), "/dev/vdd".into());
    back.device_paths.insert("vol-b".into(), "/dev/vde".into());
    assert_refused(s, Status::Conflict, &["vol-c"], || s.device_switch_mode(&back));
    s.device_detach("vol-c").unwrap();
    assert!(s.lease_list_owner("nbd_a", &f.job[1]).unwrap().is_empty(), "job 1's last export on 10809 went");
    f.clean();
}
