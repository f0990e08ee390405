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
