//! The replication core through the Rust API on real database files: contexts, jobs, disks
//! and CBT, each rule and each refusal (which must change nothing).

mod model;

use crate::fixtures::{assert_refused, TempStore};

use sendense::failover::{FailoverStatus, FailoverType, StartFailover};
use sendense::replication::{
    ContextFilter, ContextStatus, ContextUpdate, DiskSpec, JobFilter, JobStatus, NewContext, Progress, ReplicationType,
    RequestedType, StartJob, SyncDone, SyncMode,
};
use sendense::value::from_json;
use sendense::Status;

const T0: i64 = 1_764_306_589_000; // 2025-11-28T05:09:49Z
const UUID: &str = "52 3c 1a 9e 6f 0b 4d 2a-8f 11 22 33 44 55 66 77";

fn vm(name: &str) -> NewContext {
    NewContext::new(name, format!("4210-{name}"), format!("/DC1/vm/{name}"), "vc.example", "DC1")
}

fn disks(n: usize) -> Vec<DiskSpec> {
    (0..n)
        .map(|i| DiskSpec::new(format!("disk-{}", 2000 + i), format!("[ds1] vm/disk{i}.vmdk"), 10 + i as i64))
        .collect()
}

fn cid(seq: u64) -> String {
    format!("{UUID}/{seq}")
}

/// Start a job and run it to `replicating`.
fn start_running(f: &TempStore, context_id: &str, n_disks: usize) -> String {
    let job = f.store.replication_start(&StartJob::new(context_id, disks(n_disks))).unwrap();
    f.store.replication_set_status(&job, JobStatus::Replicating, None).unwrap();
    job
}

#[test]
fn contexts_have_a_unique_identity_and_keep_it_across_renames() {
    let f = TempStore::new(T0);
    let a = f.store.context_create(&vm("web-01")).unwrap();
    let ctx = f.store.context_get(&a).unwrap();
    assert_eq!(
        (ctx.current_status, ctx.total_jobs_run, ctx.current_job_id.clone()),
        (ContextStatus::Discovered, 0, None)
    );
    assert_eq!(ctx.created_at.millis(), T0);
    assert_refused(&f.store, Status::AlreadyExists, &[&a, "4210-web-01"], || f.store.context_create(&vm("web-01")));
    let mut same_name = vm("web-01");
    same_name.vmware_vm_id = "other-id".into();
    assert_refused(&f.store, Status::AlreadyExists, &[&a, "\"web-01\""], || f.store.context_create(&same_name));
    // The same VM name on another vCenter is another VM.
    let mut elsewhere = vm("web-01");
    elsewhere.vcenter_host = "vc2.example".into();
    let b = f.store.context_create(&elsewhere).unwrap();
    assert_ne!(a, b);

    let c = f.store.context_create(&vm("db-01")).unwrap();
    let rename = ContextUpdate { vm_name: Some("web-01".into()), ..Default::default() };
    assert_refused(&f.store, Status::AlreadyExists, &[&a], || f.store.context_update(&c, &rename));
    f.clock.advance(1000);
    let renamed = f
        .store
        .context_update(
            &c,
            &ContextUpdate { vm_name: Some("db-01-renamed".into()), cpu_count: Some(Some(8)), ..Default::default() },
        )
        .unwrap();
    assert_eq!(
        (renamed.context_id.as_str(), renamed.vm_name.as_str(), renamed.cpu_count),
        (c.as_str(), "db-01-renamed", Some(8))
    );
    assert_eq!(renamed.updated_at.millis(), T0 + 1000);
    assert_eq!(f.store.context_find("4210-db-01", "vc.example").unwrap().unwrap().vm_name, "db-01-renamed");
    assert!(f.store.context_find("4210-db-01", "vc2.example").unwrap().is_none());
    let cleared = f.store.context_update(&c, &from_json("update", r#"{"cpu_count":null}"#).unwrap()).unwrap();
    assert_eq!(cleared.cpu_count, None);
    assert_refused(&f.store, Status::NotFound, &["credential 7"], || {
        f.store.context_update(&c, &ContextUpdate { credential_id: Some(Some(7)), ..Default::default() })
    });
    assert_refused(&f.store, Status::NotFound, &["nope"], || f.store.context_update("nope", &ContextUpdate::default()));
}

#[test]
fn contexts_are_listed_with_filters() {
    let f = TempStore::new(T0);
    for name in ["app-1", "app-2", "db-1"] {
        f.store.context_create(&vm(name)).unwrap();
    }
    let mut off = vm("app-3");
    off.scheduler_enabled = false;
    f.store.context_create(&off).unwrap();
    let names = |filter: ContextFilter| -> Vec<String> {
        f.store.context_list(&filter).unwrap().into_iter().map(|c| c.vm_name).collect()
    };
    assert_eq!(names(ContextFilter::default()), ["app-1", "app-2", "app-3", "db-1"]);
    assert_eq!(
        names(ContextFilter { name_prefix: Some("app".into()), ..Default::default() }),
        ["app-1", "app-2", "app-3"]
    );
    assert_eq!(names(ContextFilter { scheduler_enabled: Some(false), ..Default::default() }), ["app-3"]);
    assert_eq!(names(ContextFilter { limit: Some(2), offset: Some(1), ..Default::default() }), ["app-2", "app-3"]);
    assert!(names(ContextFilter { vcenter_host: Some("vc2.example".into()), ..Default::default() }).is_empty());
    let ctx = f.store.context_list(&ContextFilter::default()).unwrap().remove(0);
    start_running(&f, &ctx.context_id, 1);
    assert_eq!(names(ContextFilter { status: Some(ContextStatus::Replicating), ..Default::default() }), ["app-1"]);
    let e = from_json::<ContextFilter>("filter", r#"{"status":"running"}"#).unwrap_err();
    assert!(e.message().contains("not a valid context status"), "{e}");
}

#[test]
fn one_active_job_per_context_and_counters_follow_the_jobs() {
    let f = TempStore::new(T0);
    let ctx = f.store.context_create(&vm("web-01")).unwrap();
    let job = f.store.replication_start(&StartJob::new(&ctx, disks(2))).unwrap();
    let c = f.store.context_get(&ctx).unwrap();
    assert_eq!(c.current_status, ContextStatus::Replicating);
    assert_eq!((c.current_job_id.as_deref(), c.total_jobs_run), (Some(job.as_str()), 1));
    assert_eq!((c.first_job_at.unwrap().millis(), c.last_job_at.unwrap().millis()), (T0, T0));
    assert_eq!(c.last_status_change.unwrap().millis(), T0);
    let j = f.store.replication_get(&job).unwrap();
    assert_eq!(
        (j.status, j.replication_type, j.source_vm_name.as_str()),
        (JobStatus::Pending, ReplicationType::Initial, "web-01")
    );

    assert_refused(&f.store, Status::Conflict, &[&job], || f.store.replication_start(&StartJob::new(&ctx, disks(2))));

    f.clock.advance(10);
    f.store.replication_set_status(&job, JobStatus::Replicating, None).unwrap();
    f.clock.advance(10);
    let done = f.store.replication_set_status(&job, JobStatus::Completed, None).unwrap();
    assert_eq!((done.started_at.unwrap().millis(), done.completed_at.unwrap().millis()), (T0 + 10, T0 + 20));
    let c = f.store.context_get(&ctx).unwrap();
    assert_eq!(c.current_status, ContextStatus::ReadyForFailover);
    assert_eq!((c.current_job_id, c.successful_jobs, c.failed_jobs), (None, 1, 0));
    assert_eq!(c.last_successful_job_id.as_deref(), Some(job.as_str()));
    assert_eq!(c.last_status_change.unwrap().millis(), T0 + 20);

    f.clock.advance(10);
    let second = f.store.replication_start(&StartJob::new(&ctx, disks(2))).unwrap();
    f.store.replication_set_status(&second, JobStatus::Failed, Some("disk full")).unwrap();
    let c = f.store.context_get(&ctx).unwrap();
    assert_eq!(
        (c.current_status, c.total_jobs_run, c.successful_jobs, c.failed_jobs),
        (ContextStatus::Failed, 2, 1, 1)
    );
    assert_eq!(c.last_job_at.unwrap().millis(), T0 + 30);
    assert_eq!(f.store.replication_get(&second).unwrap().error_message.as_deref(), Some("disk full"));

    // Deleting jobs recomputes everything from the remaining rows.
    f.store.replication_delete(&job).unwrap();
    let c = f.store.context_get(&ctx).unwrap();
    assert_eq!((c.total_jobs_run, c.successful_jobs, c.failed_jobs, c.last_successful_job_id), (1, 0, 1, None));
    assert_eq!(c.first_job_at.unwrap().millis(), T0 + 30);
}

#[test]
fn cancelling_returns_the_context_to_where_its_replica_is() {
    let f = TempStore::new(T0);
    let ctx = f.store.context_create(&vm("web-01")).unwrap();
    let first = f.store.replication_start(&StartJob::new(&ctx, disks(1))).unwrap();
    f.store.replication_set_status(&first, JobStatus::Cancelled, None).unwrap();
    assert_eq!(f.store.context_get(&ctx).unwrap().current_status, ContextStatus::Discovered, "no replica yet");
    let ok = start_running(&f, &ctx, 1);
    f.store.replication_set_status(&ok, JobStatus::Completed, None).unwrap();
    let again = f.store.replication_start(&StartJob::new(&ctx, disks(1))).unwrap();
    f.store.replication_set_status(&again, JobStatus::Cancelled, None).unwrap();
    assert_eq!(
        f.store.context_get(&ctx).unwrap().current_status,
        ContextStatus::ReadyForFailover,
        "the replica stays usable"
    );
}

#[test]
fn the_job_machine_is_monotonic_and_terminal_is_final() {
    let f = TempStore::new(T0);
    let ctx = f.store.context_create(&vm("web-01")).unwrap();
    let job = start_running(&f, &ctx, 1);
    assert_refused(&f.store, Status::InvalidState, &["from replicating to snapshotting"], || {
        f.store.replication_set_status(&job, JobStatus::Snapshotting, None)
    });
    f.store.replication_set_status(&job, JobStatus::Replicating, None).unwrap(); // same status: no-op
    f.store.replication_set_status(&job, JobStatus::Completed, None).unwrap();
    assert_refused(&f.store, Status::InvalidState, &["from completed to failed", "final"], || {
        f.store.replication_set_status(&job, JobStatus::Failed, Some("late"))
    });
    let p = Progress { percent: 10.0, bytes_transferred: 1, total_bytes: 10, speed_bps: 1, current_operation: None };
    assert_refused(&f.store, Status::InvalidState, &["completed", "late progress report"], || {
        f.store.replication_progress(&job, &p)
    });
    assert_refused(&f.store, Status::NotFound, &["\"nope\""], || f.store.replication_progress("nope", &p));
    assert_refused(&f.store, Status::NotFound, &["\"nope\""], || {
        f.store.replication_set_status("nope", JobStatus::Failed, None)
    });
    assert_eq!(JobStatus::parse("replication_failed").unwrap_err().status(), Status::InvalidArgument);
}

#[test]
fn progress_is_a_validated_single_row_update() {
    let f = TempStore::new(T0);
    let ctx = f.store.context_create(&vm("web-01")).unwrap();
    let job = start_running(&f, &ctx, 2);
    f.clock.advance(5_000);
    let p = Progress {
        percent: 42.5,
        bytes_transferred: 425,
        total_bytes: 1000,
        speed_bps: 77,
        current_operation: Some("Copying".into()),
    };
    f.store.replication_progress(&job, &p).unwrap();
    f.store.replication_progress(&job, &Progress { current_operation: None, percent: 43.0, ..p.clone() }).unwrap();
    let j = f.store.replication_get(&job).unwrap();
    assert_eq!((j.progress_percent, j.bytes_transferred, j.total_bytes, j.transfer_speed_bps), (43.0, 425, 1000, 77));
    assert_eq!((j.current_operation.as_deref(), j.updated_at.millis()), (Some("Copying"), T0 + 5_000));
    for (bad, words) in [
        (Progress { percent: 101.0, ..p.clone() }, "outside 0-100"),
        (Progress { percent: -0.5, ..p.clone() }, "outside 0-100"),
        (Progress { bytes_transferred: 1001, ..p.clone() }, "exceeds total_bytes"),
        (Progress { total_bytes: -1, ..p.clone() }, "negative"),
    ] {
        assert_refused(&f.store, Status::InvalidArgument, &[words], || f.store.replication_progress(&job, &bad));
    }
    let vma =
        from_json("vma", r#"{"vma_current_phase":"Copying Data","vma_throughput_mbps":120.5,"vma_eta_seconds":30}"#)
            .unwrap();
    f.store.replication_vma_progress(&job, &vma).unwrap();
    let j = f.store.replication_get(&job).unwrap();
    assert_eq!(
        (j.vma_current_phase.as_deref(), j.vma_throughput_mbps, j.vma_eta_seconds),
        (Some("Copying Data"), 120.5, Some(30))
    );
    assert_eq!(j.vma_last_poll_at.unwrap().millis(), T0 + 5_000);
    let bad = from_json("vma", r#"{"vma_error_classification":"cosmic_rays"}"#).unwrap();
    assert_refused(&f.store, Status::InvalidArgument, &["cosmic_rays"], || {
        f.store.replication_vma_progress(&job, &bad)
    });

    f.store
        .replication_disk_progress(&job, "disk-2001", 50.0, 512, Some(sendense::replication::DiskSyncStatus::Syncing))
        .unwrap();
    let d = f.store.replication_disks(&ctx).unwrap();
    assert_eq!((d[1].disk_id.as_str(), d[1].sync_progress_percent, d[1].bytes_synced), ("disk-2001", 50.0, 512));
    assert_refused(&f.store, Status::NotFound, &["disk-2009"], || {
        f.store.replication_disk_progress(&job, "disk-2009", 1.0, 1, None)
    });
}

#[test]
fn starting_resolves_auto_and_upserts_disks_keeping_change_ids() {
    let f = TempStore::new(T0);
    let ctx = f.store.context_create(&vm("web-01")).unwrap();
    let mut incremental = StartJob::new(&ctx, disks(2));
    incremental.replication_type = Some(RequestedType::Incremental);
    assert_refused(&f.store, Status::InvalidState, &["incremental", "disk-2000"], || {
        f.store.replication_start(&incremental)
    });

    let job = start_running(&f, &ctx, 2);
    f.store.cbt_record(&job, "disk-2000", &cid(10), 100).unwrap();
    f.store.cbt_record(&job, "disk-2001", &cid(11), 100).unwrap();
    f.store.replication_set_status(&job, JobStatus::Completed, None).unwrap();
    let ids_before: Vec<i64> = f.store.replication_disks(&ctx).unwrap().iter().map(|d| d.id).collect();

    // A third disk appears; the job is auto -> incremental; existing rows are updated in place.
    let mut next = StartJob::new(&ctx, disks(3));
    next.disks[0].size_gb = 99;
    next.id = Some("job-caller-chosen".into());
    let job2 = f.store.replication_start(&next).unwrap();
    assert_eq!(job2, "job-caller-chosen");
    assert_eq!(f.store.replication_get(&job2).unwrap().replication_type, ReplicationType::Incremental);
    let rows = f.store.replication_disks(&ctx).unwrap();
    assert_eq!(rows.iter().take(2).map(|d| d.id).collect::<Vec<_>>(), ids_before, "rows stay stable");
    assert_eq!(rows[0].size_gb, 99);
    assert_eq!(rows[0].disk_change_id.as_deref(), Some(cid(10).as_str()));
    assert_eq!(rows[2].disk_change_id, None);
    assert!(rows.iter().all(|d| d.job_id.as_deref() == Some("job-caller-chosen")));

    f.store.replication_set_status(&job2, JobStatus::Cancelled, None).unwrap();
    let mut dup = StartJob::new(&ctx, disks(1));
    dup.id = Some("job-caller-chosen".into());
    assert_refused(&f.store, Status::AlreadyExists, &["job-caller-chosen"], || f.store.replication_start(&dup));

    // Deleting the jobs leaves the disk rows and their change ids.
    f.store.replication_delete(&job2).unwrap();
    f.store.replication_delete(&job).unwrap();
    let rows = f.store.replication_disks(&ctx).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1].disk_change_id.as_deref(), Some(cid(11).as_str()));
    assert!(rows.iter().all(|d| d.job_id.is_none()));
    assert_eq!(f.store.cbt_verify_lineage(&ctx).unwrap().entries_checked, 2, "history survives job deletion");
}

#[test]
fn a_context_in_failover_or_an_active_job_refuse_what_they_must() {
    let f = TempStore::new(T0);
    let ctx = f.store.context_create(&vm("web-01")).unwrap();
    let job = start_running(&f, &ctx, 1);
    assert_refused(&f.store, Status::Conflict, &["active", "cancel or fail"], || f.store.replication_delete(&job));
    assert_refused(&f.store, Status::InvalidState, &["driven by replication jobs"], || {
        f.store.context_set_status(&ctx, ContextStatus::ReadyForFailover)
    });
    f.store.replication_set_status(&job, JobStatus::Completed, None).unwrap();
    f.clock.advance(100);
    // Only a failover moves a context into (or out of) failed_over_*.
    assert_refused(&f.store, Status::InvalidState, &["belongs to failovers", "failover_start"], || {
        f.store.context_set_status(&ctx, ContextStatus::FailedOverLive)
    });
    let failover = f.store.failover_start(&StartFailover::new(&ctx, FailoverType::Live)).unwrap();
    for step in ["validating", "snapshotting", "creating_vm", "switching_volume", "powering_on", "completed"] {
        f.store.failover_set_status(&failover, FailoverStatus::parse(step).unwrap(), None).unwrap();
    }
    let c = f.store.context_get(&ctx).unwrap();
    assert_eq!((c.current_status, c.last_status_change.unwrap().millis()), (ContextStatus::FailedOverLive, T0 + 100));
    assert_refused(&f.store, Status::InvalidState, &["from failed_over_live to replicating"], || {
        f.store.replication_start(&StartJob::new(&ctx, disks(1)))
    });
    assert_refused(&f.store, Status::InvalidState, &["from failed_over_live to failed_over_test"], || {
        f.store.context_set_status(&ctx, ContextStatus::FailedOverTest)
    });
    assert_refused(&f.store, Status::InvalidState, &["failover_commit"], || {
        f.store.context_set_status(&ctx, ContextStatus::Completed)
    });
    f.store.failover_commit(&failover).unwrap();
}

#[test]
fn stale_jobs_are_found_and_failed() {
    let f = TempStore::new(T0);
    let a = f.store.context_create(&vm("a")).unwrap();
    let b = f.store.context_create(&vm("b")).unwrap();
    let ja = start_running(&f, &a, 1);
    f.clock.advance(60_000);
    let jb = start_running(&f, &b, 1);
    f.clock.advance(30_000);
    let stale: Vec<String> = f.store.replication_stale(60_000).unwrap().into_iter().map(|j| j.id).collect();
    assert_eq!(stale, std::slice::from_ref(&ja));
    assert_eq!(f.store.replication_fail_stale(60_000, "no progress for 60 s").unwrap(), std::slice::from_ref(&ja));
    let j = f.store.replication_get(&ja).unwrap();
    assert_eq!((j.status, j.error_message.as_deref()), (JobStatus::Failed, Some("no progress for 60 s")));
    assert_eq!(f.store.context_get(&a).unwrap().current_status, ContextStatus::Failed);
    assert_eq!(f.store.replication_get(&jb).unwrap().status, JobStatus::Replicating);
    assert_eq!(f.store.replication_stale(-1).unwrap_err().status(), Status::InvalidArgument);
}

#[test]
fn jobs_are_listed_newest_first_and_paged() {
    let f = TempStore::new(T0);
    let ctx = f.store.context_create(&vm("a")).unwrap();
    let mut ids = Vec::new();
    for _ in 0..5 {
        f.clock.advance(1);
        let j = f.store.replication_start(&StartJob::new(&ctx, disks(1))).unwrap();
        f.store.replication_set_status(&j, JobStatus::Failed, None).unwrap();
        ids.push(j);
    }
    ids.reverse();
    let list = |filter: JobFilter| -> Vec<String> {
        f.store.replication_list(&filter).unwrap().into_iter().map(|j| j.id).collect()
    };
    assert_eq!(list(JobFilter { context_id: Some(ctx.clone()), ..Default::default() }), ids);
    assert_eq!(list(JobFilter { limit: Some(2), offset: Some(1), ..Default::default() }), ids[1..3]);
    assert!(list(JobFilter { status: Some(JobStatus::Completed), ..Default::default() }).is_empty());
}

#[test]
fn cbt_bases_are_scoped_by_context_and_disk() {
    let f = TempStore::new(T0);
    let a = f.store.context_create(&vm("a")).unwrap();
    let b = f.store.context_create(&vm("b")).unwrap();
    let ja = start_running(&f, &a, 2);
    let jb = start_running(&f, &b, 2);
    f.store.cbt_record(&ja, "disk-2000", &cid(5), 10).unwrap();
    // disk-2000 of VM b has no base, even though VM a's disk-2000 has one.
    let d = f.store.cbt_decide(&b, "disk-2000", &cid(9), false).unwrap();
    assert_eq!((d.mode, d.base_change_id), (SyncMode::Full, None));
    let d = f.store.cbt_decide(&a, "disk-2000", &cid(9), false).unwrap();
    assert_eq!((d.mode, d.base_change_id.as_deref()), (SyncMode::Incremental, Some(cid(5).as_str())));
    assert_eq!(f.store.cbt_decide(&a, "disk-2001", &cid(9), false).unwrap().mode, SyncMode::Full);
    assert_eq!(
        f.store.cbt_decide(&a, "disk-2000", &cid(9), true).unwrap().reason,
        sendense::replication::Reason::TargetVolumeNew
    );
    assert_eq!(
        f.store.cbt_decide(&a, "disk-2000", "new-epoch/1", false).unwrap().reason,
        sendense::replication::Reason::CbtUuidChanged
    );
    assert_eq!(f.store.cbt_decide("nope", "disk-2000", &cid(1), false).unwrap_err().status(), Status::NotFound);
    assert_eq!(f.store.cbt_decide(&a, "disk-2000", "*", false).unwrap_err().status(), Status::InvalidArgument);

    assert_refused(&f.store, Status::InvalidArgument, &["change id \"garbage\""], || {
        f.store.cbt_record(&jb, "disk-2000", "garbage", 1)
    });
    assert_refused(&f.store, Status::NotFound, &["disk-2005"], || f.store.cbt_record(&jb, "disk-2005", &cid(1), 1));
    assert_refused(&f.store, Status::InvalidArgument, &["disk-<VMware device key>"], || {
        f.store.cbt_record(&jb, "2000", &cid(1), 1)
    });
    // Recording again: the same id is a no-op, another id is a conflict.
    f.store.cbt_record(&ja, "disk-2000", &cid(5), 10).unwrap();
    assert_refused(&f.store, Status::Conflict, &["already recorded"], || {
        f.store.cbt_record(&ja, "disk-2000", &cid(6), 10)
    });
    f.store.replication_set_status(&ja, JobStatus::Completed, None).unwrap();
    assert_refused(&f.store, Status::InvalidState, &["completed"], || {
        f.store.cbt_record(&ja, "disk-2001", &cid(7), 10)
    });
}

#[test]
fn cbt_lineage_chains_incrementals_to_the_prior_recorded_change_id() {
    let f = TempStore::new(T0);
    let ctx = f.store.context_create(&vm("a")).unwrap();
    let first = start_running(&f, &ctx, 1);
    let e = f.store.cbt_record(&first, "disk-2000", &cid(1), 100).unwrap();
    assert_eq!((e.sync_type.as_str(), e.previous_change_id.as_deref()), ("initial", None));
    f.store.replication_set_status(&first, JobStatus::Completed, None).unwrap();
    for seq in [5, 9] {
        let job = start_running(&f, &ctx, 1);
        let base = f.store.cbt_decide(&ctx, "disk-2000", &cid(seq), false).unwrap().base_change_id;
        let e = f.store.cbt_record(&job, "disk-2000", &cid(seq), 10).unwrap();
        assert_eq!((e.sync_type.as_str(), e.previous_change_id), ("incremental", base));
        f.store.replication_set_status(&job, JobStatus::Completed, None).unwrap();
    }
    let report = f.store.cbt_verify_lineage(&ctx).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!((report.disks_checked, report.entries_checked), (1, 3));
    let history = f.store.cbt_history(&ctx, Some("disk-2000"), None).unwrap();
    assert_eq!(history.iter().map(|h| h.change_id.clone()).collect::<Vec<_>>(), [cid(1), cid(5), cid(9)]);

    // Another tool overwrote the disk's change id: the lineage check reports the break.
    f.store
        .write(|tx| {
            Ok(tx.execute("UPDATE vm_disks SET disk_change_id = ?1 WHERE vm_context_id = ?2", [cid(3), ctx.clone()])?)
        })
        .unwrap();
    let report = f.store.cbt_verify_lineage(&ctx).unwrap();
    assert!(!report.ok);
    assert_eq!(report.breaks[0].found.as_deref(), Some(cid(3).as_str()));
}

#[test]
fn a_disk_the_decision_sent_to_a_full_copy_is_recorded_as_a_full() {
    let f = TempStore::new(T0);
    let ctx = f.store.context_create(&vm("a")).unwrap();
    let first = start_running(&f, &ctx, 1);
    f.store.cbt_record(&first, "disk-2000", &cid(60), 100).unwrap();
    f.store.replication_set_status(&first, JobStatus::Completed, None).unwrap();
    // The VM went back to an older snapshot: the recorded base is ahead of it, so the decision
    // is a full copy, and the history must say so even when the caller states nothing.
    let job = start_running(&f, &ctx, 1);
    let d = f.store.cbt_decide(&ctx, "disk-2000", &cid(50), false).unwrap();
    assert_eq!((d.mode, d.base_change_id.as_deref()), (SyncMode::Full, None));
    let e = f.store.cbt_record(&job, "disk-2000", &cid(50), 10).unwrap();
    assert_eq!((e.sync_type.as_str(), e.previous_change_id.as_deref()), ("full", None));
    let j = f.store.replication_get(&job).unwrap();
    assert_eq!(j.previous_change_id, None, "the job's base is the one the copy used");
    f.store.replication_set_status(&job, JobStatus::Completed, None).unwrap();
    let report = f.store.cbt_verify_lineage(&ctx).unwrap();
    assert!(report.ok, "{report:?}");

    // A new target volume: only the caller knows, so it records what the decision gave.
    let job = start_running(&f, &ctx, 1);
    let d = f.store.cbt_decide(&ctx, "disk-2000", &cid(55), true).unwrap();
    assert_eq!(d.mode, SyncMode::Full);
    assert_eq!(
        f.store.cbt_record(&job, "disk-2000", &cid(54), 1).unwrap().sync_type,
        "incremental",
        "without the statement it looks like an incremental from the base"
    );
    f.store.replication_set_status(&job, JobStatus::Completed, None).unwrap();
    let job = start_running(&f, &ctx, 1);
    let e = f.store.cbt_record_sync(&job, "disk-2000", &cid(55), 10, Some(&SyncDone::from(&d))).unwrap();
    assert_eq!((e.sync_type.as_str(), e.previous_change_id.as_deref()), ("full", None));
    f.store.replication_set_status(&job, JobStatus::Completed, None).unwrap();

    // A stated incremental is recorded from the base it names, and the lineage check holds it
    // against the disk's prior change id.
    let job = start_running(&f, &ctx, 1);
    let stated = |mode, base: Option<String>| SyncDone { mode, base_change_id: base, reason: None };
    for (bad, why) in [
        (stated(SyncMode::Incremental, None), "needs its base_change_id"),
        (stated(SyncMode::Full, Some(cid(55))), "a full copy has no base"),
        (stated(SyncMode::Incremental, Some(cid(70))), "another CBT epoch or before its base"),
        (stated(SyncMode::Incremental, Some("x".into())), "base_change_id"),
    ] {
        assert_refused(&f.store, Status::InvalidArgument, &[why], || {
            f.store.cbt_record_sync(&job, "disk-2000", &cid(60), 1, Some(&bad))
        });
    }
    let e = f
        .store
        .cbt_record_sync(&job, "disk-2000", &cid(60), 10, Some(&stated(SyncMode::Incremental, Some(cid(52)))))
        .unwrap();
    assert_eq!((e.sync_type.as_str(), e.previous_change_id.clone()), ("incremental", Some(cid(52))));
    let report = f.store.cbt_verify_lineage(&ctx).unwrap();
    assert_eq!(report.breaks.len(), 1, "{report:?}");
    assert_eq!((report.breaks[0].expected.clone(), report.breaks[0].found.clone()), (Some(cid(55)), Some(cid(52))));
}

#[test]
fn json_read_outs_use_column_names_and_rfc3339_and_inputs_refuse_unknown_keys() {
    let f = TempStore::new(T0);
    let ctx = f.store.context_create(&from_json("context", r#"{"vm_name":"a","vmware_vm_id":"id-a","vm_path":"/p","vcenter_host":"vc","datacenter":"dc","last_operation_summary":{"ok":true}}"#).unwrap()).unwrap();
    let start: StartJob = from_json(
        "start",
        &format!(r#"{{"context_id":"{ctx}","disks":[{{"disk_id":"disk-2000","vm_dk_path":"[ds] a.vmdk","size_gb":1,"capacity_bytes":1073741824}}]}}"#),
    )
    .unwrap();
    let job = f.store.replication_start(&start).unwrap();
    let c = serde_json::to_value(f.store.context_get(&ctx).unwrap()).unwrap();
    assert_eq!(c["context_id"], ctx.as_str());
    assert_eq!(c["current_status"], "replicating");
    assert_eq!(c["created_at"], "2025-11-28T05:09:49.000Z");
    assert_eq!(c["last_operation_summary"]["ok"], true);
    assert_eq!(c["scheduler_enabled"], true);
    let j = serde_json::to_value(f.store.replication_get(&job).unwrap()).unwrap();
    for key in ["v_center_host", "vma_throughput_mbps", "progress_percent", "completed_at"] {
        assert!(j.get(key).is_some(), "{key} missing from {j}");
    }
    assert!(j["completed_at"].is_null());
    let e = from_json::<StartJob>(
        "start",
        &format!(r#"{{"context_id":"{ctx}","disks":[{{"disk_id":"disk-1","vm_dk_path":"p","size_gb":1,"sise":2}}]}}"#),
    )
    .unwrap_err();
    assert!(e.message().contains("unknown field `sise`"), "{e}");
    let e = from_json::<StartJob>("start", r#"{"context_id":7,"disks":[]}"#).unwrap_err();
    assert!(e.message().contains("invalid type"), "{e}");
    let e = from_json::<StartJob>("start", r#"{"context_id":"x","disks":[]"#).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
}

#[test]
fn deleting_a_context_removes_its_jobs_disks_and_history_only() {
    let f = TempStore::new(T0);
    let a = f.store.context_create(&vm("a")).unwrap();
    let b = f.store.context_create(&vm("b")).unwrap();
    for ctx in [&a, &b] {
        let j = start_running(&f, ctx, 2);
        f.store.cbt_record(&j, "disk-2000", &cid(1), 1).unwrap();
    }
    f.store.context_delete(&a).unwrap();
    assert_eq!(f.store.context_get(&a).unwrap_err().status(), Status::NotFound);
    assert_eq!(f.store.context_delete(&a).unwrap_err().status(), Status::NotFound);
    let counts = f.store.table_counts().unwrap();
    let rows = |t: &str| counts.iter().find(|c| c.table == t).unwrap().rows;
    assert_eq!(
        (rows("vm_replication_contexts"), rows("replication_jobs"), rows("vm_disks"), rows("cbt_history")),
        (1, 1, 2, 1)
    );
    assert_eq!(f.store.replication_disks(&b).unwrap().len(), 2);
}

#[test]
fn missing_references_are_not_found_by_name_and_bad_text_is_refused() {
    let f = TempStore::new(T0);
    let ctx = f.store.context_create(&vm("a")).unwrap();
    type Change = fn(&mut StartJob);
    let cases: [(Change, &str); 4] = [
        (|s| s.ossea_config_id = Some(999), "ossea config 999"),
        (|s| s.schedule_execution_id = Some("exec-missing".into()), "schedule execution \"exec-missing\""),
        (|s| s.vm_group_id = Some("group-missing".into()), "machine group \"group-missing\""),
        (|s| s.disks[0].ossea_volume_id = Some(777), "ossea volume 777"),
    ];
    for (change, words) in cases {
        let mut start = StartJob::new(&ctx, disks(1));
        change(&mut start);
        assert_refused(&f.store, Status::NotFound, &[words], || f.store.replication_start(&start));
    }
    let mut nul = vm("b");
    nul.vmware_vm_id = "4210-a\0".into();
    assert_refused(&f.store, Status::InvalidArgument, &["vmware_vm_id", "control character"], || {
        f.store.context_create(&nul)
    });
    let e = from_json::<ContextUpdate>("update", r#"{"scheduler_enabled":null}"#).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    let empty: ContextUpdate = from_json("update", r#"{"os_type":""}"#).unwrap();
    assert_refused(&f.store, Status::InvalidArgument, &["os_type is empty"], || f.store.context_update(&ctx, &empty));
    assert_refused(&f.store, Status::InvalidArgument, &["reason"], || f.store.replication_fail_stale(0, " "));
}

#[test]
fn the_stale_job_query_and_the_disk_lookup_are_served_by_indexes() {
    let f = TempStore::new(T0);
    let plan = |sql: &str| -> String {
        f.store
            .read(|tx| {
                let mut stmt = tx.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(3))?.collect::<Result<Vec<_>, _>>()?;
                Ok(rows.join("; "))
            })
            .unwrap()
    };
    let active: Vec<String> = JobStatus::ACTIVE.iter().map(|s| format!("'{s}'")).collect();
    let stale =
        plan(&format!("SELECT id FROM replication_jobs WHERE status IN ({}) AND updated_at < 5", active.join(", ")));
    assert!(stale.contains("USING INDEX idx_replication_jobs_status_updated_at"), "{stale}");
    let decide = plan("SELECT disk_change_id FROM vm_disks WHERE vm_context_id = 'c' AND disk_id = 'disk-2000'");
    assert!(decide.contains("USING INDEX sqlite_autoindex_vm_disks"), "{decide}");
    let history =
        plan("SELECT id FROM cbt_history WHERE vm_context_id = 'c' AND disk_id = 'disk-2000' ORDER BY created_at");
    assert!(
        history.contains("idx_cbt_history_vm_context_id_disk_id_created_at") && !history.contains("TEMP B-TREE"),
        "{history}"
    );
}
