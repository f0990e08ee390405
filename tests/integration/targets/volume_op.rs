//! Volume operations, their history, mounts and metrics through the Rust API on real database
//! files: the status machine, history rows written with every change, stuck operations by
//! the (status, updated_at) index, mounts, metrics and samples, and every refusal (which must
//! change nothing). Also a property test: random status changes, after which the history rows
//! equal the sequence of accepted changes.

use crate::common::Rng;
use crate::fixtures::{assert_refused, TempStore};

use serde_json::{json, Value};

use sendense::replication::{DiskSpec, NewContext, StartJob};
use sendense::targets::{
    MountStatus, NewVolumeMount, NewVolumeOp, VolumeOpFilter, VolumeOpStatus, VolumeOpType, STUCK_SQL,
};
use sendense::{Status, Store, Timestamp};

const T0: i64 = 1_764_306_589_000; // 2025-11-28T05:09:49Z

fn op(store: &Store, id: &str, t: VolumeOpType, volume: &str) -> String {
    let mut new = NewVolumeOp::new(t, volume, json!({"volume": volume}));
    new.id = Some(id.to_string());
    new.vm_id = Some("vm-hub".into());
    store.volume_op_create(&new).unwrap()
}

/// (previous, new) of every history row of `id`.
fn transitions(store: &Store, id: &str) -> Vec<(Option<VolumeOpStatus>, VolumeOpStatus)> {
    store.volume_op_history(id).unwrap().into_iter().map(|h| (h.previous_status, h.new_status)).collect()
}

use VolumeOpStatus::*;

#[test]
fn an_operation_runs_to_completion_with_a_history_row_per_change() {
    let f = TempStore::new(T0);
    let s = &f.store;
    let mut new = NewVolumeOp::new(VolumeOpType::Attach, "vol-1", json!({"vm_id": "vm-hub", "device": "auto"}));
    new.vm_id = Some("vm-hub".into());
    let id = s.volume_op_create(&new).unwrap();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7, "a new UUIDv7 without a caller id");
    let o = s.volume_op_get(&id).unwrap();
    assert_eq!(
        (o.status, o.op_type, o.volume_id.as_str(), o.vm_id.as_deref()),
        (Pending, VolumeOpType::Attach, "vol-1", Some("vm-hub"))
    );
    assert_eq!((o.created_at, o.updated_at, o.completed_at), (Timestamp(T0), Timestamp(T0), None));
    assert_eq!(o.request, json!({"vm_id": "vm-hub", "device": "auto"}));
    assert_eq!((o.response, o.error), (None, None));

    f.clock.advance(100);
    let o = s.volume_op_set_status(&id, Executing, None, None).unwrap();
    assert_eq!((o.status, o.updated_at, o.completed_at), (Executing, Timestamp(T0 + 100), None));
    f.clock.advance(400);
    let response = json!({"device_path": "/dev/vdb"});
    let o = s.volume_op_set_status(&id, Completed, Some(&response), None).unwrap();
    assert_eq!(
        (o.status, o.completed_at, o.response.as_ref()),
        (Completed, Some(Timestamp(T0 + 500)), Some(&response))
    );

    let history = s.volume_op_history(&id).unwrap();
    assert_eq!(transitions(s, &id), [(None, Pending), (Some(Pending), Executing), (Some(Executing), Completed)]);
    let times: Vec<i64> = history.iter().map(|h| h.changed_at.millis()).collect();
    assert_eq!(times, [T0, T0 + 100, T0 + 500]);
    assert_eq!((history[0].details.as_ref(), history[1].details.as_ref()), (None, None));
    assert_eq!(history[2].details, Some(json!({"response": {"device_path": "/dev/vdb"}})));
    assert!(history.iter().all(|h| h.operation_id == id));

    // JSON keys are the column names; request and response are embedded JSON.
    let v = serde_json::to_value(s.volume_op_get(&id).unwrap()).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "completed_at",
            "created_at",
            "error",
            "id",
            "request",
            "response",
            "status",
            "type",
            "updated_at",
            "vm_id",
            "volume_id"
        ]
    );
    assert_eq!(v["request"]["device"], "auto");
    assert_eq!(v["completed_at"], "2025-11-28T05:09:49.500Z");
    let h = serde_json::to_value(&history[0]).unwrap();
    assert_eq!(
        h,
        json!({"id": history[0].id, "operation_id": id, "previous_status": null, "new_status": "pending",
        "changed_at": "2025-11-28T05:09:49.000Z", "details": null})
    );
}

#[test]
fn failures_carry_their_reason_and_cancellation_is_final() {
    let f = TempStore::new(T0);
    let s = &f.store;
    op(s, "op-f", VolumeOpType::Detach, "vol-1");
    op(s, "op-c", VolumeOpType::Delete, "vol-2");
    op(s, "op-p", VolumeOpType::Cleanup, "vol-3");
    s.volume_op_set_status("op-f", Executing, None, None).unwrap();
    assert_refused(s, Status::InvalidArgument, &["fails with an error message"], || {
        s.volume_op_set_status("op-f", Failed, None, None)
    });
    assert_refused(s, Status::InvalidArgument, &["error message is empty"], || {
        s.volume_op_set_status("op-f", Failed, None, Some("  "))
    });
    assert_refused(s, Status::InvalidArgument, &["only when an operation fails", "completed"], || {
        s.volume_op_set_status("op-f", Completed, None, Some("oops"))
    });
    f.clock.advance(50);
    let o = s.volume_op_set_status("op-f", Failed, Some(&json!({"code": 431})), Some("volume busy")).unwrap();
    assert_eq!((o.error.as_deref(), o.completed_at), (Some("volume busy"), Some(Timestamp(T0 + 50))));
    let last = s.volume_op_history("op-f").unwrap().pop().unwrap();
    assert_eq!(last.details, Some(json!({"error": "volume busy", "response": {"code": 431}})));

    // pending -> cancelled and pending -> failed are edges too.
    s.volume_op_set_status("op-c", Cancelled, None, None).unwrap();
    s.volume_op_set_status("op-p", Failed, None, Some("never started")).unwrap();
    for (id, status) in [("op-f", Failed), ("op-c", Cancelled), ("op-p", Failed)] {
        for to in [Pending, Executing, Completed, Cancelled] {
            assert_refused(
                s,
                Status::InvalidState,
                &[&format!("volume operation {id}"), &format!("{status} is final")],
                || s.volume_op_set_status(id, to, None, None),
            );
        }
    }
    op(s, "op-x", VolumeOpType::Create, "vol-4");
    for (to, words) in [(Completed, "pending to completed"), (Pending, "pending to pending")] {
        assert_refused(s, Status::InvalidState, &[words], || s.volume_op_set_status("op-x", to, None, None));
    }
}

#[test]
fn refusals_name_the_problem_and_change_nothing() {
    let f = TempStore::new(T0);
    let s = &f.store;
    op(s, "op-1", VolumeOpType::Attach, "vol-1");
    let mut dup = NewVolumeOp::new(VolumeOpType::Detach, "vol-9", json!({}));
    dup.id = Some("op-1".into());
    assert_refused(s, Status::AlreadyExists, &["volume operation op-1 already exists"], || s.volume_op_create(&dup));
    let bad = NewVolumeOp::new(VolumeOpType::Create, "", json!({}));
    assert_refused(s, Status::InvalidArgument, &["volume_id is empty"], || s.volume_op_create(&bad));
    let bad = NewVolumeOp::new(VolumeOpType::Create, "vol", json!("not an object"));
    assert_refused(s, Status::InvalidArgument, &["request must be a JSON object"], || s.volume_op_create(&bad));
    let mut bad = NewVolumeOp::new(VolumeOpType::Create, "vol", json!({}));
    bad.vm_id = Some(String::new());
    assert_refused(s, Status::InvalidArgument, &["vm_id is empty"], || s.volume_op_create(&bad));
    for (json, words) in [
        (r#"{"type":"resize","volume_id":"v","request":{}}"#, "not a valid volume operation type"),
        (r#"{"type":"create","volume_id":"v","request":{},"status":"completed"}"#, "unknown field `status`"),
        (r#"{"type":"create","request":{}}"#, "missing field `volume_id`"),
        (r#"{"type":"create","#, "EOF"),
    ] {
        let e = sendense::value::from_json::<NewVolumeOp>("json", json).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument);
        assert!(e.message().contains(words), "{json}: {e}");
    }
    for missing in ["op-404", ""] {
        let words = ["volume operation", "does not exist"];
        assert_refused(s, Status::NotFound, &words, || s.volume_op_set_status(missing, Executing, None, None));
        assert_refused(s, Status::NotFound, &words, || s.volume_op_get(missing));
        assert_refused(s, Status::NotFound, &words, || s.volume_op_history(missing));
    }
    assert_refused(s, Status::InvalidArgument, &["older_than_ms is negative"], || s.volume_op_stuck(-1));
}

#[test]
fn lists_filter_by_volume_vm_status_and_type() {
    let f = TempStore::new(T0);
    let s = &f.store;
    for (i, (t, vol)) in [
        (VolumeOpType::Create, "vol-1"),
        (VolumeOpType::Attach, "vol-1"),
        (VolumeOpType::Attach, "vol-2"),
        (VolumeOpType::Detach, "vol-1"),
    ]
    .into_iter()
    .enumerate()
    {
        f.clock.advance(10);
        op(s, &format!("op-{i}"), t, vol);
    }
    let mut other = NewVolumeOp::new(VolumeOpType::Cleanup, "vol-3", json!({}));
    other.id = Some("op-4".into());
    other.vm_id = Some("vm-other".into());
    s.volume_op_create(&other).unwrap();
    s.volume_op_set_status("op-1", Executing, None, None).unwrap();
    let ids = |filter: VolumeOpFilter| -> Vec<String> {
        s.volume_op_list(&filter).unwrap().into_iter().map(|o| o.id).collect()
    };
    assert_eq!(ids(VolumeOpFilter::default()), ["op-0", "op-1", "op-2", "op-3", "op-4"]);
    assert_eq!(ids(VolumeOpFilter { volume_id: Some("vol-1".into()), ..Default::default() }), ["op-0", "op-1", "op-3"]);
    assert_eq!(ids(VolumeOpFilter { vm_id: Some("vm-other".into()), ..Default::default() }), ["op-4"]);
    assert_eq!(ids(VolumeOpFilter { status: Some(Executing), ..Default::default() }), ["op-1"]);
    assert_eq!(ids(VolumeOpFilter { op_type: Some(VolumeOpType::Attach), ..Default::default() }), ["op-1", "op-2"]);
    let f2 = VolumeOpFilter {
        volume_id: Some("vol-1".into()),
        op_type: Some(VolumeOpType::Attach),
        status: Some(Pending),
        ..Default::default()
    };
    assert!(ids(f2).is_empty());
    assert_eq!(ids(VolumeOpFilter { limit: Some(2), offset: Some(1), ..Default::default() }), ["op-1", "op-2"]);
}

#[test]
fn stuck_operations_are_the_ones_executing_longer_than_the_age() {
    let f = TempStore::new(T0);
    let s = &f.store;
    for id in ["a", "b", "c", "d"] {
        op(s, id, VolumeOpType::Attach, id);
    }
    s.volume_op_set_status("a", Executing, None, None).unwrap();
    f.clock.advance(1_000);
    s.volume_op_set_status("b", Executing, None, None).unwrap();
    s.volume_op_set_status("d", Executing, None, None).unwrap();
    s.volume_op_set_status("d", Completed, None, None).unwrap();
    f.clock.advance(5_000);
    s.volume_op_set_status("c", Executing, None, None).unwrap();
    let stuck = |age: i64| -> Vec<String> { s.volume_op_stuck(age).unwrap().into_iter().map(|o| o.id).collect() };
    assert_eq!(stuck(0), ["a", "b"], "c changed just now; d is done; pending ones never count");
    assert_eq!(stuck(5_000), ["a"]);
    assert_eq!(stuck(5_999), ["a"]);
    assert!(stuck(6_000).is_empty());
    f.clock.advance(10_000);
    assert_eq!(stuck(9_999), ["a", "b", "c"], "longest-stuck first");
    assert_eq!(stuck(10_000), ["a", "b"], "c has executed for exactly 10 s: not longer");
}

#[test]
fn the_stuck_query_reads_the_status_updated_at_index() {
    let f = TempStore::new(T0);
    let plan: Vec<String> = f
        .store
        .read(|tx| {
            let mut stmt = tx.prepare(&format!("EXPLAIN QUERY PLAN {STUCK_SQL}"))?;
            let rows = stmt.query_map([0i64], |r| r.get::<_, String>(3))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .unwrap();
    let text = plan.join("\n");
    assert!(
        text.contains("USING INDEX idx_volume_operations_status_updated_at (status=? AND updated_at<?)"),
        "plan: {text}"
    );
    assert!(!text.contains("SCAN volume_operations"), "plan: {text}");
    assert!(!text.contains("TEMP B-TREE"), "the index gives the order too: {text}");
}

/// A context, a replication job (`job-1`) and two `ossea_volumes` rows (ids 1 and 2).
fn mount_fixture() -> (TempStore, String) {
    let f = TempStore::new(T0);
    let s = &f.store;
    let ctx = s.context_create(&NewContext::new("web-01", "vm-1", "/dc/vm/web-01", "vc", "dc")).unwrap();
    let mut start = StartJob::new(&ctx, vec![DiskSpec::new("disk-2000", "[ds] a.vmdk", 10)]);
    start.id = Some("job-1".into());
    s.replication_start(&start).unwrap();
    s.write(|tx| {
        tx.execute_batch(&format!(
            "INSERT INTO ossea_volumes (id, vm_context_id, volume_id, volume_name, size_gb, created_at, updated_at) \
             VALUES (1, '{ctx}', 'vol-a', 'migration-a', 10, 0, 0), (2, '{ctx}', 'vol-b', 'migration-b', 10, 0, 0);"
        ))?;
        Ok(())
    })
    .unwrap();
    (f, ctx)
}

#[test]
fn mounts_go_mounting_mounted_unmounted_and_hold_their_device_while_live() {
    let (f, _) = mount_fixture();
    let s = &f.store;
    let mut new = NewVolumeMount::new(1, "job-1", "/dev/vdb");
    new.mount_point = Some("/mnt/migration/a".into());
    new.filesystem_type = Some("ext4".into());
    let id = s.volume_mount_create(&new).unwrap();
    let m = s.volume_mount_get(id).unwrap();
    assert_eq!(
        (m.mount_status, m.mounted_at, m.created_at, m.is_read_only),
        (MountStatus::Mounting, None, Timestamp(T0), false)
    );

    // The device path and the mount point are held while the mount is live.
    let mut same_device = NewVolumeMount::new(2, "job-1", "/dev/vdb");
    same_device.mount_point = Some("/mnt/migration/b".into());
    assert_refused(s, Status::Conflict, &["device_path /dev/vdb is used by live volume mount", "job-1"], || {
        s.volume_mount_create(&same_device)
    });
    let mut same_point = NewVolumeMount::new(2, "job-1", "/dev/vdc");
    same_point.mount_point = Some("/mnt/migration/a".into());
    assert_refused(s, Status::Conflict, &["mount_point /mnt/migration/a is used by live volume mount"], || {
        s.volume_mount_create(&same_point)
    });

    f.clock.advance(100);
    let m = s.volume_mount_set_status(id, MountStatus::Mounted).unwrap();
    assert_eq!(
        (m.mount_status, m.mounted_at, m.updated_at),
        (MountStatus::Mounted, Some(Timestamp(T0 + 100)), Timestamp(T0 + 100))
    );
    assert_refused(s, Status::InvalidState, &["volume mount", "mounted to mounting"], || {
        s.volume_mount_set_status(id, MountStatus::Mounting)
    });
    s.volume_mount_set_status(id, MountStatus::UnmountPending).unwrap();
    f.clock.advance(100);
    let m = s.volume_mount_set_status(id, MountStatus::Unmounted).unwrap();
    assert_eq!((m.mount_status, m.unmounted_at), (MountStatus::Unmounted, Some(Timestamp(T0 + 200))));
    assert_refused(s, Status::InvalidState, &["unmounted is final"], || {
        s.volume_mount_set_status(id, MountStatus::Mounted)
    });

    // Once unmounted, the device and the mount point are free again.
    let second = s.volume_mount_create(&same_device).unwrap();
    s.volume_mount_set_status(second, MountStatus::Error).unwrap();
    let third = s.volume_mount_create(&same_device).unwrap();
    let listed: Vec<i64> = s.volume_mount_list("job-1").unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(listed, [id, second, third]);
    s.volume_mount_set_status(second, MountStatus::Unmounted).unwrap();

    let v = serde_json::to_value(s.volume_mount_get(id).unwrap()).unwrap();
    assert_eq!(v["mount_status"], "unmounted");
    assert_eq!(v["is_read_only"], false);
    assert_eq!(v["filesystem_type"], "ext4");
}

#[test]
fn mount_refusals_change_nothing() {
    let (f, _) = mount_fixture();
    let s = &f.store;
    assert_refused(s, Status::NotFound, &["ossea volume 99 does not exist"], || {
        s.volume_mount_create(&NewVolumeMount::new(99, "job-1", "/dev/vdb"))
    });
    assert_refused(s, Status::NotFound, &["replication job \"job-9\" does not exist"], || {
        s.volume_mount_create(&NewVolumeMount::new(1, "job-9", "/dev/vdb"))
    });
    assert_refused(s, Status::InvalidArgument, &["device_path \"vdb\" is not an absolute path"], || {
        s.volume_mount_create(&NewVolumeMount::new(1, "job-1", "vdb"))
    });
    let mut bad = NewVolumeMount::new(1, "job-1", "/dev/vdb");
    bad.filesystem_type = Some(String::new());
    assert_refused(s, Status::InvalidArgument, &["filesystem_type"], || s.volume_mount_create(&bad));
    assert_refused(s, Status::NotFound, &["volume mount 7 does not exist"], || {
        s.volume_mount_set_status(7, MountStatus::Mounted)
    });
    assert_refused(s, Status::NotFound, &["volume mount 7 does not exist"], || s.volume_mount_get(7));
    assert_refused(s, Status::NotFound, &["replication job \"job-9\""], || s.volume_mount_list("job-9"));
    assert!(s.volume_mount_list("job-1").unwrap().is_empty());
    let e = sendense::value::from_json::<NewVolumeMount>(
        "json",
        r#"{"ossea_volume_id":1,"job_id":"j","device_path":"/d","mode":"rw"}"#,
    )
    .unwrap_err();
    assert!(e.message().contains("unknown field `mode`"), "{e}");
}

#[test]
fn metrics_are_computed_from_the_operations_and_recorded_as_samples() {
    let (f, ctx) = mount_fixture();
    let s = &f.store;
    let empty = s.volume_metrics().unwrap();
    assert_eq!((empty.total_operations, empty.pending_operations, empty.active_mappings), (0, 0, 0));
    assert_eq!((empty.average_response_time_ms, empty.error_rate_percent), (0.0, 0.0));
    assert_eq!(empty.operations_by_type.values().sum::<i64>(), 0);
    assert_eq!(empty.operations_by_type.len(), 5, "every type is present, 0 included");
    assert_eq!(empty.operations_by_status.len(), 5);

    // create: completed after 100 ms; attach: completed after 300 ms; detach: failed;
    // delete: cancelled; cleanup: executing; another attach: pending.
    let plan: [(&str, VolumeOpType, &[VolumeOpStatus], i64); 6] = [
        ("o1", VolumeOpType::Create, &[Executing, Completed], 100),
        ("o2", VolumeOpType::Attach, &[Executing, Completed], 300),
        ("o3", VolumeOpType::Detach, &[Executing, Failed], 50),
        ("o4", VolumeOpType::Delete, &[Cancelled], 10),
        ("o5", VolumeOpType::Cleanup, &[Executing], 10),
        ("o6", VolumeOpType::Attach, &[], 0),
    ];
    for (id, t, steps, ms) in plan {
        op(s, id, t, id);
        f.clock.advance(ms);
        for step in steps {
            let error = (*step == Failed).then_some("boom");
            s.volume_op_set_status(id, *step, None, error).unwrap();
        }
    }
    s.write(|tx| {
        tx.execute(
            "INSERT INTO device_mappings (id, vm_context_id, volume_uuid, vm_id, operation_mode, device_path, \
             cloudstack_state, linux_state, size) VALUES ('m1', ?1, 'vol-a', 'vm-hub', 'oma', '/dev/vdb', \
             'attached', 'detected', 1)",
            [&ctx],
        )?;
        Ok(())
    })
    .unwrap();
    let m = s.volume_metrics().unwrap();
    assert_eq!((m.total_operations, m.pending_operations, m.active_mappings), (6, 2, 1));
    let by_type: Vec<(&str, i64)> = m.operations_by_type.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(by_type, [("attach", 2), ("cleanup", 1), ("create", 1), ("delete", 1), ("detach", 1)]);
    let by_status: Vec<(&str, i64)> = m.operations_by_status.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(by_status, [("cancelled", 1), ("completed", 2), ("executing", 1), ("failed", 1), ("pending", 1)]);
    assert_eq!(m.average_response_time_ms, 200.0, "(100 + 300) / 2 over the completed operations");
    assert_eq!(m.error_rate_percent, 25.0, "1 failed of 4 final (2 completed, 1 failed, 1 cancelled)");
    assert_eq!(m.timestamp, Timestamp(f.clock_now()));
    assert_eq!(m.id, None);

    let sample = s.volume_metrics_record().unwrap();
    assert!(sample.id.is_some());
    assert_eq!(VolumeMetricsEq(&sample), VolumeMetricsEq(&m));
    f.clock.advance(1000);
    let second = s.volume_metrics_record().unwrap();
    let samples = s.volume_metrics_samples(10).unwrap();
    assert_eq!(samples.len(), 2);
    assert_eq!(samples[0], second, "newest first, read back equal");
    assert_eq!(samples[1], sample);
    let v = serde_json::to_value(&samples[1]).unwrap();
    assert_eq!(v["operations_by_status"]["completed"], 2);
    assert_eq!(v["id"], json!(sample.id.unwrap()));
    let v: Value = serde_json::to_value(&m).unwrap();
    assert!(v.get("id").is_none(), "a computed (unrecorded) metric has no id");
}

/// Metrics equal apart from the id.
#[derive(Debug)]
struct VolumeMetricsEq<'a>(&'a sendense::targets::VolumeMetrics);

impl PartialEq for VolumeMetricsEq<'_> {
    fn eq(&self, other: &Self) -> bool {
        let mut a = self.0.clone();
        a.id = other.0.id;
        a == *other.0
    }
}

/// One operation in the property test's model: its status, the changes accepted so far and
/// its completed_at.
type Model = (VolumeOpStatus, Vec<(Option<VolumeOpStatus>, VolumeOpStatus)>, Option<i64>);

#[test]
fn random_status_changes_leave_exactly_the_accepted_changes_in_the_history() {
    let seed = std::env::var("SENDENSE_VOLUME_OP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(crate::common::time_seed);
    println!("seed {seed} (SENDENSE_VOLUME_OP_SEED replays it)");
    let mut rng = Rng::new(seed);
    let f = TempStore::new(T0);
    let s = &f.store;
    const OPS: usize = 12;
    let ids: Vec<String> = (0..OPS).map(|i| op(s, &format!("op-{i}"), *rng.pick(VolumeOpType::ALL), "vol")).collect();
    // The model: each operation's status and the changes accepted so far.
    let mut model: Vec<Model> = (0..OPS).map(|_| (Pending, vec![(None, Pending)], None)).collect();
    let mut accepted = 0;
    for step in 0..400 {
        f.clock.advance(rng.below(50) as i64);
        let i = rng.below(OPS as u64) as usize;
        let to = *rng.pick(VolumeOpStatus::ALL);
        let error = if to == Failed || rng.chance(10) { Some("simulated failure") } else { None };
        let response = rng.chance(30).then(|| json!({"step": step}));
        let (from, changes, completed_at) = &mut model[i];
        let expect_ok = from.can_move_to(to) && (error.is_some() == (to == Failed));
        let before = crate::fixtures::snapshot(s);
        let result = s.volume_op_set_status(&ids[i], to, response.as_ref(), error);
        assert_eq!(result.is_ok(), expect_ok, "step {step}: {} {from} -> {to} (error {error:?}): {result:?}", ids[i]);
        match result {
            Ok(o) => {
                accepted += 1;
                changes.push((Some(*from), to));
                *from = to;
                if to.is_terminal() {
                    *completed_at = Some(f.clock_now());
                }
                assert_eq!(o.status, to);
                assert_eq!(o.completed_at.map(Timestamp::millis), *completed_at, "step {step}");
            }
            Err(e) => {
                assert!(matches!(e.status(), Status::InvalidState | Status::InvalidArgument), "step {step}: {e}");
                assert_eq!(crate::fixtures::snapshot(s), before, "step {step}: a refused change changed the database");
            }
        }
        if step % 50 == 0 || step == 399 {
            for (id, (status, changes, _)) in ids.iter().zip(&model) {
                assert_eq!(s.volume_op_get(id).unwrap().status, *status, "step {step}: {id}");
                assert_eq!(&transitions(s, id), changes, "step {step}: history of {id}");
            }
        }
    }
    let rows: i64 =
        s.read(|tx| Ok(tx.query_row("SELECT count(*) FROM volume_operation_history", [], |r| r.get(0))?)).unwrap();
    assert_eq!(rows, (OPS + accepted) as i64, "one row per creation and per accepted change, nothing else");
    assert!(accepted > OPS, "the run accepted too few changes to mean anything: {accepted}");
}
