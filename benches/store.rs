//! Benchmarks: each hot path through the Rust API and through the C ABI, next to the minimal
//! equivalent SQL done directly with rusqlite on the same schema and pragmas (the floor), in
//! the same run, as ratios. The machines are noisy: read the ratios, not the absolute times.
//!
//! `cargo bench` runs everything; `cargo bench -- NAME` runs the benchmarks whose key contains
//! NAME (open, update, progress, decide, start, append, restore, lease, attach, stale, cascade,
//! change_id, failover_step, failover_switch).
//!
//! Writes go to one database file per side (same content), so no side pays for another's
//! writes (page-cache invalidation, checkpoints); rounds rotate which side goes first.

use std::ffi::{c_char, CString};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sendense::backup::{BackupType, StartBackup};
use sendense::backup::{NewPolicy, NewRepository, RepositoryType};
use sendense::failover::{FailoverStatus, FailoverType, StartFailover, StepResults};
use sendense::ffi::{self, sendense_store};
use sendense::replication::{DiskSpec, JobStatus, NewContext, Progress, StartJob};
use sendense::rusqlite::types::Value;
use sendense::rusqlite::{params, Connection, TransactionBehavior};
use sendense::{OpenOptions, Store, Synchronous};

/// Median time per operation of each side, over `rounds` rounds of `per_round` operations;
/// operation numbers are unique across rounds, so a side may use them as row indexes.
fn compare(rounds: usize, per_round: usize, sides: &mut [&mut dyn FnMut(usize)]) -> Vec<Duration> {
    let mut samples = vec![Vec::new(); sides.len()];
    for round in 0..rounds {
        for k in 0..sides.len() {
            let side = (round + k) % sides.len();
            let start = Instant::now();
            for i in 0..per_round {
                (sides[side])(round * per_round + i);
            }
            samples[side].push(start.elapsed() / per_round as u32);
        }
    }
    samples
        .into_iter()
        .map(|mut v| {
            v.sort();
            v[v.len() / 2]
        })
        .collect()
}

/// One line of the report: the store API, the C ABI (when measured) and the floor.
struct Row {
    name: String,
    api: Duration,
    c: Option<Duration>,
    floor: Duration,
}

fn fmt_duration(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns >= 1_000_000.0 {
        format!("{:.2} ms", ns / 1_000_000.0)
    } else {
        format!("{:.1} µs", ns / 1_000.0)
    }
}

fn sync_pragma(sync: Synchronous) -> &'static str {
    match sync {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    }
}

/// Open a connection the way the store does (same pragmas), without the store.
fn direct_open(path: &Path, sync: Synchronous) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_millis(5_000)).unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    let _: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).unwrap();
    conn.pragma_update(None, "synchronous", sync_pragma(sync)).unwrap();
    let _: (i64, i64) = conn
        .query_row(
            "SELECT (SELECT application_id FROM pragma_application_id), (SELECT user_version FROM pragma_user_version)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    conn
}

/// A C ABI handle on `path`, as a C caller would open it.
struct CStore(*mut sendense_store);

impl CStore {
    fn open(path: &Path, sync: Synchronous) -> CStore {
        let mut options = ffi::sendense_open_options_default();
        options.synchronous = match sync {
            Synchronous::Full => ffi::SENDENSE_SYNCHRONOUS_FULL,
            Synchronous::Normal => ffi::SENDENSE_SYNCHRONOUS_NORMAL,
        };
        let c_path = CString::new(path.to_str().unwrap()).unwrap();
        let mut store = std::ptr::null_mut();
        let status = unsafe { ffi::sendense_store_open(c_path.as_ptr(), &options, &mut store, std::ptr::null_mut()) };
        assert_eq!(status, ffi::SENDENSE_STATUS_OK);
        CStore(store)
    }
}

impl Drop for CStore {
    fn drop(&mut self) {
        unsafe { ffi::sendense_store_free(self.0) }
    }
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn ok(status: ffi::sendense_status) {
    assert_eq!(status, ffi::SENDENSE_STATUS_OK, "{}", unsafe {
        std::ffi::CStr::from_ptr(ffi::sendense_status_name(status)).to_string_lossy()
    });
}

fn free_string(s: *mut c_char) {
    unsafe { ffi::sendense_string_free(s) }
}

fn bench_open(dir: &Path) -> Row {
    let path = dir.join("open.db");
    drop(Store::open(&path, OpenOptions::default()).unwrap());
    let t = compare(
        15,
        20,
        &mut [
            &mut |_| drop(Store::open(&path, OpenOptions::default()).unwrap()),
            &mut |_| drop(CStore::open(&path, Synchronous::Full)),
            &mut |_| drop(direct_open(&path, Synchronous::Full)),
        ],
    );
    Row { name: "open an existing store".into(), api: t[0], c: Some(t[1]), floor: t[2] }
}

fn new_vm(i: usize) -> NewContext {
    NewContext::new(format!("vm-{i:05}"), format!("4210-{i:05}"), format!("/DC/vm/vm-{i:05}"), "vc.bench", "DC")
}

/// Three files with the same content made by `seed`: one per side (API, C ABI, floor).
fn three_files(dir: &Path, name: &str, sync: Synchronous, mut seed: impl FnMut(&Store)) -> [PathBuf; 3] {
    ["api", "c", "direct"].map(|side| {
        let path = dir.join(format!("{name}-{side}.db"));
        seed(&Store::open(&path, OpenOptions::default().synchronous(sync)).unwrap());
        path
    })
}

const GROUPS: usize = 1_000;
const UPDATE_SQL: &str = "UPDATE vm_machine_groups SET priority = ?1, updated_at = ?2 WHERE id = ?3";

fn bench_update(dir: &Path, sync: Synchronous) -> Row {
    let label = sync_pragma(sync);
    let [api_path, _, direct_path] = three_files(dir, &format!("update-{label}"), sync, |store| {
        store
            .write(|tx| {
                let mut stmt = tx.prepare(
                    "INSERT INTO vm_machine_groups (id, name, created_at, updated_at) VALUES (?1, ?1, 0, 0)",
                )?;
                for i in 0..GROUPS {
                    stmt.execute([format!("group-{i}")])?;
                }
                Ok(())
            })
            .unwrap()
    });
    let store = Store::open(&api_path, OpenOptions::default().synchronous(sync)).unwrap();
    let mut conn = direct_open(&direct_path, sync);
    let ids: Vec<String> = (0..GROUPS).map(|i| format!("group-{i}")).collect();
    let (rounds, per_round) = if sync == Synchronous::Full { (41, 20) } else { (15, 500) };
    let t = compare(
        rounds,
        per_round,
        &mut [
            &mut |i| {
                store
                    .write(|tx| {
                        tx.prepare_cached(UPDATE_SQL)?.execute(params![i as i64, i as i64, ids[i % GROUPS]])?;
                        Ok(())
                    })
                    .unwrap()
            },
            &mut |i| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
                tx.prepare_cached(UPDATE_SQL).unwrap().execute(params![i as i64, i as i64, ids[i % GROUPS]]).unwrap();
                tx.commit().unwrap();
            },
        ],
    );
    Row { name: format!("transaction with one update, synchronous={label}"), api: t[0], c: None, floor: t[1] }
}

fn four_disks() -> Vec<DiskSpec> {
    (0..4).map(|d| DiskSpec::new(format!("disk-{}", 2000 + d), format!("[ds] vm/disk{d}.vmdk"), 100)).collect()
}

const PROGRESS_SQL: &str = "UPDATE replication_jobs SET progress_percent = ?2, bytes_transferred = ?3, \
    total_bytes = ?4, transfer_speed_bps = ?5, current_operation = ?6, updated_at = ?7 WHERE id = ?1";

fn bench_progress(dir: &Path, sync: Synchronous) -> Row {
    let label = sync_pragma(sync);
    const JOBS: usize = 200;
    let [api_path, c_path, direct_path] = three_files(dir, &format!("progress-{label}"), sync, |store| {
        for i in 0..JOBS {
            let ctx = store.context_create(&new_vm(i)).unwrap();
            let mut start = StartJob::new(ctx, four_disks());
            start.id = Some(format!("job-{i}"));
            store.replication_start(&start).unwrap();
            store.replication_set_status(&format!("job-{i}"), JobStatus::Replicating, None).unwrap();
        }
    });
    let store = Store::open(&api_path, OpenOptions::default().synchronous(sync)).unwrap();
    let cstore = CStore::open(&c_path, sync);
    let conn = direct_open(&direct_path, sync);
    let ids: Vec<String> = (0..JOBS).map(|i| format!("job-{i}")).collect();
    let c_ids: Vec<CString> = ids.iter().map(|s| c(s)).collect();
    let op = c("Copying Data");
    let total = 400i64 << 30;
    let bytes = |i: usize| (i as i64 * 4096) % total;
    let percent = |i: usize| (bytes(i) as f64 / total as f64) * 100.0;
    let (rounds, per_round) = if sync == Synchronous::Full { (41, 20) } else { (25, 400) };
    let t = compare(
        rounds,
        per_round,
        &mut [
            &mut |i| {
                let p = Progress {
                    percent: percent(i),
                    bytes_transferred: bytes(i),
                    total_bytes: total,
                    speed_bps: 200 << 20,
                    current_operation: Some("Copying Data".into()),
                };
                store.replication_progress(&ids[i % JOBS], &p).unwrap();
            },
            &mut |i| {
                ok(unsafe {
                    ffi::sendense_replication_progress(
                        cstore.0,
                        c_ids[i % JOBS].as_ptr(),
                        percent(i),
                        bytes(i),
                        total,
                        200 << 20,
                        op.as_ptr(),
                        std::ptr::null_mut(),
                    )
                })
            },
            &mut |i| {
                conn.prepare_cached(PROGRESS_SQL)
                    .unwrap()
                    .execute(params![
                        ids[i % JOBS],
                        percent(i),
                        bytes(i),
                        total,
                        200i64 << 20,
                        "Copying Data",
                        i as i64
                    ])
                    .unwrap();
            },
        ],
    );
    Row { name: format!("progress update, synchronous={label}"), api: t[0], c: Some(t[1]), floor: t[2] }
}

const UUID: &str = "52 3c 1a 9e 6f 0b 4d 2a-8f 11 22 33 44 55 66 77";

/// 1,000 contexts with 2 disks each (2,000 disks) and 500 cbt_history rows per disk
/// (1,000,000 rows); each disk's recorded change id is its last history entry.
fn seed_cbt_history(store: &Store) {
    store
        .write(|tx| {
            seed_contexts(tx, 1_000)?;
            for c in 0..1_000 {
                seed_disk_history(tx, &format!("ctx-{c:04}"), 500, |_| None)?;
            }
            Ok(())
        })
        .unwrap();
}

/// Two disks of context `ctx`, each with `per_disk` successful incrementals in its
/// cbt_history (the n-th by job `job(n)`) and the last one as its recorded change id.
fn seed_disk_history(
    tx: &sendense::rusqlite::Transaction<'_>,
    ctx: &str,
    per_disk: usize,
    job: impl Fn(usize) -> Option<String>,
) -> sendense::Result<()> {
    let mut disk = tx.prepare_cached(
        "INSERT INTO vm_disks (vm_context_id, disk_id, vm_dk_path, size_gb, disk_change_id, created_at, \
         updated_at) VALUES (?1, ?2, 'p', 1, ?3, 0, 0)",
    )?;
    let mut hist = tx.prepare_cached(
        "INSERT INTO cbt_history (vm_context_id, job_id, disk_id, change_id, previous_change_id, sync_type, \
         sync_success, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'incremental', 1, ?6)",
    )?;
    for d in 0..2 {
        let disk_id = format!("disk-{}", 2000 + d);
        for seq in 1..=per_disk {
            hist.execute(params![
                ctx,
                job(seq),
                disk_id,
                format!("{UUID}/{seq}"),
                format!("{UUID}/{}", seq - 1),
                seq as i64
            ])?;
        }
        disk.execute(params![ctx, disk_id, format!("{UUID}/{per_disk}")])?;
    }
    Ok(())
}

fn bench_decide(dir: &Path) -> Row {
    let path = dir.join("decide.db");
    seed_cbt_history(&Store::open(&path, OpenOptions::default().synchronous(Synchronous::Normal)).unwrap());
    let history: i64 =
        Connection::open(&path).unwrap().query_row("SELECT count(*) FROM cbt_history", [], |r| r.get(0)).unwrap();
    assert_eq!(history, 1_000_000);
    // Reads only: the three sides can share the file.
    let store = Store::open(&path, OpenOptions::default()).unwrap();
    let cstore = CStore::open(&path, Synchronous::Full);
    let conn = direct_open(&path, Synchronous::Full);
    let ctx = |i: usize| format!("ctx-{:04}", (i * 7919) % 1_000);
    let disk = |i: usize| format!("disk-{}", 2000 + i % 2);
    let snapshot = format!("{UUID}/600");
    let c_ctx: Vec<CString> = (0..1_000).map(|i| c(&format!("ctx-{i:04}"))).collect();
    let c_disk = [c("disk-2000"), c("disk-2001")];
    let c_snapshot = c(&snapshot);
    let t = compare(
        15,
        1_000,
        &mut [
            &mut |i| {
                let d = store.cbt_decide(&ctx(i), &disk(i), &snapshot, false).unwrap();
                assert_eq!(d.mode, sendense::replication::SyncMode::Incremental);
            },
            &mut |i| {
                let mut json = std::ptr::null_mut();
                ok(unsafe {
                    ffi::sendense_cbt_decide(
                        cstore.0,
                        c_ctx[(i * 7919) % 1_000].as_ptr(),
                        c_disk[i % 2].as_ptr(),
                        c_snapshot.as_ptr(),
                        false,
                        &mut json,
                        std::ptr::null_mut(),
                    )
                });
                free_string(json);
            },
            &mut |i| {
                let base: Option<String> = conn
                    .prepare_cached("SELECT disk_change_id FROM vm_disks WHERE vm_context_id = ?1 AND disk_id = ?2")
                    .unwrap()
                    .query_row(params![ctx(i), disk(i)], |r| r.get(0))
                    .unwrap();
                assert!(base.is_some());
            },
        ],
    );
    Row { name: "CBT decide (1M history rows, 2,000 disks)".into(), api: t[0], c: Some(t[1]), floor: t[2] }
}

const START_JOB_SQL: &str = "INSERT INTO replication_jobs (id, vm_context_id, source_vm_id, source_vm_name, \
    source_vm_path, v_center_host, datacenter, replication_type, status, created_at, updated_at) \
    VALUES (?1, ?2, ?3, ?4, ?5, 'vc.bench', 'DC', 'initial', 'pending', ?6, ?6)";
const UPSERT_DISK_SQL: &str = "INSERT INTO vm_disks (vm_context_id, job_id, disk_id, vm_dk_path, size_gb, created_at, \
    updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) ON CONFLICT (vm_context_id, disk_id) DO UPDATE SET \
    job_id = excluded.job_id, vm_dk_path = excluded.vm_dk_path, size_gb = excluded.size_gb, \
    updated_at = excluded.updated_at";
const POINT_CONTEXT_SQL: &str = "UPDATE vm_replication_contexts SET current_status = 'replicating', \
    current_job_id = ?2, total_jobs_run = total_jobs_run + 1, last_job_at = ?3, last_status_change = ?3, \
    updated_at = ?3 WHERE context_id = ?1";

fn bench_start(dir: &Path) -> Row {
    let (rounds, per_round) = (9, 200);
    let n = rounds * per_round;
    let sync = Synchronous::Normal;
    let mut ctx_ids: Vec<Vec<String>> = Vec::new();
    let paths = three_files(dir, "start", sync, |store| {
        ctx_ids.push((0..n).map(|i| store.context_create(&new_vm(i)).unwrap()).collect());
    });
    let store = Store::open(&paths[0], OpenOptions::default().synchronous(sync)).unwrap();
    let cstore = CStore::open(&paths[1], sync);
    let mut conn = direct_open(&paths[2], sync);
    let disks = four_disks();
    let c_json: Vec<CString> = ctx_ids[1]
        .iter()
        .map(|ctx| {
            let disks: Vec<String> = disks
                .iter()
                .map(|d| {
                    format!(r#"{{"disk_id":"{}","vm_dk_path":"{}","size_gb":{}}}"#, d.disk_id, d.vm_dk_path, d.size_gb)
                })
                .collect();
            c(&format!(r#"{{"context_id":"{ctx}","disks":[{}]}}"#, disks.join(",")))
        })
        .collect();
    let t = compare(
        rounds,
        per_round,
        &mut [
            &mut |i| {
                store.replication_start(&StartJob::new(ctx_ids[0][i].as_str(), disks.clone())).unwrap();
            },
            &mut |i| {
                let mut job = std::ptr::null_mut();
                ok(unsafe {
                    ffi::sendense_replication_start(cstore.0, c_json[i].as_ptr(), &mut job, std::ptr::null_mut())
                });
                free_string(job);
            },
            &mut |i| {
                let ctx = &ctx_ids[2][i];
                let job = format!("job-{i}");
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
                tx.prepare_cached(START_JOB_SQL).unwrap().execute(params![job, ctx, ctx, ctx, ctx, i as i64]).unwrap();
                let mut upsert = tx.prepare_cached(UPSERT_DISK_SQL).unwrap();
                for d in &disks {
                    upsert.execute(params![ctx, job, d.disk_id, d.vm_dk_path, d.size_gb, i as i64]).unwrap();
                }
                drop(upsert);
                tx.prepare_cached(POINT_CONTEXT_SQL).unwrap().execute(params![ctx, job, i as i64]).unwrap();
                tx.commit().unwrap();
            },
        ],
    );
    Row { name: "job start with 4 disks, synchronous=NORMAL".into(), api: t[0], c: Some(t[1]), floor: t[2] }
}

/// A context and a local repository for backups; returns (context, repository).
fn backup_target(store: &Store) -> (String, String) {
    let ctx = store.context_create(&new_vm(0)).unwrap();
    let repo = store
        .repository_create(&NewRepository::new(
            "bench",
            RepositoryType::Local,
            serde_json::json!({"path": "/srv/bench"}),
        ))
        .unwrap();
    (ctx, repo)
}

/// Start and run the point `start` describes, then complete it when `complete` is true.
fn backup_point(store: &Store, start: StartBackup, complete: bool) -> String {
    let id = store.backup_start(&start).unwrap();
    store.backup_set_running(&id).unwrap();
    if complete {
        store.backup_complete(&id, Some(&format!("{UUID}/1")), 1 << 30, 1 << 30).unwrap();
    }
    id
}

const COMPLETE_POINT_SQL: &str = "UPDATE backup_jobs SET status = 'completed', completed_at = ?2, change_id = ?3, \
    bytes_transferred = ?4, size_bytes = ?5, progress_percent = 100 WHERE id = ?1";
const APPEND_CHAIN_SQL: &str = "UPDATE backup_chains SET latest_backup_id = ?4, total_backups = total_backups + 1, \
    total_size_bytes = total_size_bytes + ?5, updated_at = ?6 \
    WHERE vm_context_id = ?1 AND disk_id = ?2 AND repository_id = ?3";

/// Completing an incremental point that appends to its chain. One chain per operation (disk
/// index i of one context, so each has its own running incremental on a completed full),
/// all made before the timed rounds; the points carry a policy without copy rules (the
/// fan-out finds none). The floor is the two row updates in one immediate transaction.
fn bench_chain_append(dir: &Path) -> Row {
    let (rounds, per_round) = (41, 50);
    let n = rounds * per_round;
    let sync = Synchronous::Normal;
    let mut targets = Vec::new();
    let paths = three_files(dir, "append", sync, |store| {
        let (ctx, repo) = backup_target(store);
        let policy = store.policy_create(&NewPolicy::new("bench", &repo)).unwrap();
        for disk in 0..n as i64 {
            for (t, id) in [(BackupType::Full, format!("f-{disk}")), (BackupType::Incremental, format!("i-{disk}"))] {
                let mut start = StartBackup::new(&ctx, disk, &repo, t, format!("/srv/bench/{id}.qcow2"));
                start.id = Some(id);
                start.policy_id = Some(policy.clone());
                backup_point(store, start, t == BackupType::Full);
            }
        }
        targets.push((ctx, repo));
    });
    let store = Store::open(&paths[0], OpenOptions::default().synchronous(sync)).unwrap();
    let cstore = CStore::open(&paths[1], sync);
    let mut conn = direct_open(&paths[2], sync);
    let ids: Vec<String> = (0..n).map(|i| format!("i-{i}")).collect();
    let c_ids: Vec<CString> = ids.iter().map(|s| c(s)).collect();
    let change = format!("{UUID}/2");
    let c_change = c(&change);
    let size = 64i64 << 20;
    let (ctx, repo) = &targets[2];
    let t = compare(
        rounds,
        per_round,
        &mut [
            &mut |i| store.backup_complete(&ids[i], Some(&change), size, size).unwrap(),
            &mut |i| {
                ok(unsafe {
                    ffi::sendense_backup_complete(
                        cstore.0,
                        c_ids[i].as_ptr(),
                        c_change.as_ptr(),
                        size,
                        size,
                        std::ptr::null_mut(),
                    )
                })
            },
            &mut |i| {
                let now = i as i64;
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
                let n =
                    tx.prepare_cached(COMPLETE_POINT_SQL).unwrap().execute(params![ids[i], now, change, size, size]);
                assert_eq!(n.unwrap(), 1);
                let n = tx
                    .prepare_cached(APPEND_CHAIN_SQL)
                    .unwrap()
                    .execute(params![ctx, i as i64, repo, ids[i], size, now])
                    .unwrap();
                assert_eq!(n, 1);
                tx.commit().unwrap();
            },
        ],
    );
    for (k, path) in paths.iter().enumerate() {
        let (count, total): (i64, i64) = Connection::open(path)
            .unwrap()
            .query_row("SELECT count(*), sum(total_backups) FROM backup_chains", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!((count, total), (n as i64, 2 * n as i64), "side {k}: every chain appended once");
    }
    Row { name: "backup complete (chain append), synchronous=NORMAL".into(), api: t[0], c: Some(t[1]), floor: t[2] }
}

/// The floor of the restore walk: the recursive CTE from the point up to its full, oldest
/// first, with every column of the points (the library's column list).
const RESTORE_WALK_SQL: &str = "WITH RECURSIVE walk(n, link) AS ( \
      SELECT 0, ?1 \
      UNION ALL \
      SELECT walk.n + 1, b.parent_backup_id FROM walk JOIN backup_jobs b ON b.id = walk.link \
      WHERE b.backup_type <> 'full') \
    SELECT j.id, j.vm_backup_context_id, j.vm_context_id, j.vm_name, j.disk_id, j.repository_id, j.policy_id, \
      j.backup_type, j.status, j.repository_path, j.parent_backup_id, j.change_id, j.bytes_transferred, \
      j.total_bytes, j.compression_enabled, j.error_message, j.created_at, j.started_at, j.completed_at, \
      j.current_phase, j.transfer_speed_bps, j.eta_seconds, j.progress_percent, j.last_telemetry_at, \
      j.backup_group_id, j.protected, j.size_bytes \
    FROM walk CROSS JOIN backup_jobs j ON j.id = walk.link ORDER BY walk.n DESC";

/// The restore chain of the newest point of a 100-point chain (a full and 99 incrementals);
/// ten such chains (one per disk), walked in turn. Reads only: the sides share the file.
fn bench_restore(dir: &Path) -> Row {
    const CHAINS: usize = 10;
    const POINTS: usize = 100;
    let path = dir.join("restore.db");
    {
        let store = Store::open(&path, OpenOptions::default().synchronous(Synchronous::Normal)).unwrap();
        let (ctx, repo) = backup_target(&store);
        for p in 0..POINTS {
            for disk in 0..CHAINS {
                let t = if p == 0 { BackupType::Full } else { BackupType::Incremental };
                let mut start = StartBackup::new(&ctx, disk as i64, &repo, t, format!("/srv/bench/{disk}-{p}"));
                start.id = Some(format!("d{disk}-p{p}"));
                backup_point(&store, start, true);
            }
        }
    }
    let store = Store::open(&path, OpenOptions::default()).unwrap();
    let cstore = CStore::open(&path, Synchronous::Full);
    let conn = direct_open(&path, Synchronous::Full);
    let tips: Vec<String> = (0..CHAINS).map(|d| format!("d{d}-p{}", POINTS - 1)).collect();
    let c_tips: Vec<CString> = tips.iter().map(|s| c(s)).collect();
    let t = compare(
        31,
        50,
        &mut [
            &mut |i| {
                let chain = store.restore_chain(&tips[i % CHAINS]).unwrap();
                assert_eq!(chain.len(), POINTS);
            },
            &mut |i| {
                let mut json = std::ptr::null_mut();
                ok(unsafe {
                    ffi::sendense_backup_restore_chain_json(
                        cstore.0,
                        c_tips[i % CHAINS].as_ptr(),
                        &mut json,
                        std::ptr::null_mut(),
                    )
                });
                free_string(json);
            },
            &mut |i| {
                let mut stmt = conn.prepare_cached(RESTORE_WALK_SQL).unwrap();
                let rows: Vec<Vec<Value>> = stmt
                    .query_map([&tips[i % CHAINS]], |r| (0..27).map(|k| r.get::<_, Value>(k)).collect())
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                assert_eq!(rows.len(), POINTS);
            },
        ],
    );
    Row { name: "restore-chain walk, 100 points".into(), api: t[0], c: Some(t[1]), floor: t[2] }
}

const LEASE_POOL: &str = "backup_nbd_port";
const LEASE_FREE_SQL: &str = "SELECT r.id FROM lease_resources r LEFT JOIN leases l ON l.resource_id = r.id \
    WHERE r.pool = ?1 AND (l.resource_id IS NULL OR l.expires_at <= ?2) ORDER BY r.ordinal LIMIT 1";
const LEASE_TAKE_SQL: &str = "INSERT INTO leases (resource_id, owner_id, acquired_at, expires_at) \
    VALUES (?1, ?2, ?3, ?4) ON CONFLICT (resource_id) DO UPDATE SET owner_id = excluded.owner_id, \
    acquired_at = excluded.acquired_at, expires_at = excluded.expires_at WHERE leases.expires_at <= ?3";
const LEASE_RELEASE_SQL: &str =
    "DELETE FROM leases WHERE owner_id = ?2 AND resource_id IN (SELECT id FROM lease_resources WHERE pool = ?1)";

fn unix_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// One job's port: acquire the lowest free port of `backup_nbd_port` (20 of its 101 ports
/// held by other jobs) and release it by owner id, two transactions.
fn bench_lease(dir: &Path) -> Row {
    let sync = Synchronous::Normal;
    let (rounds, per_round) = (15, 400);
    let n = rounds * per_round;
    let paths = three_files(dir, "lease", sync, |store| {
        for i in 0..20 {
            store.lease_acquire(LEASE_POOL, &format!("holder-{i}"), 24 * 3600 * 1000).unwrap();
        }
    });
    let store = Store::open(&paths[0], OpenOptions::default().synchronous(sync)).unwrap();
    let cstore = CStore::open(&paths[1], sync);
    let mut conn = direct_open(&paths[2], sync);
    let owners: Vec<String> = (0..n).map(|i| format!("job-{i}")).collect();
    let c_owners: Vec<CString> = owners.iter().map(|o| c(o)).collect();
    let c_pool = c(LEASE_POOL);
    let t = compare(
        rounds,
        per_round,
        &mut [
            &mut |i| {
                let lease = store.lease_acquire(LEASE_POOL, &owners[i], 60_000).unwrap();
                assert_eq!(lease.resource, "10120");
                assert_eq!(store.lease_release(LEASE_POOL, &owners[i]).unwrap(), 1);
            },
            &mut |i| {
                let mut json = std::ptr::null_mut();
                ok(unsafe {
                    ffi::sendense_lease_acquire(
                        cstore.0,
                        c_pool.as_ptr(),
                        c_owners[i].as_ptr(),
                        60_000,
                        &mut json,
                        std::ptr::null_mut(),
                    )
                });
                free_string(json);
                ok(unsafe {
                    ffi::sendense_lease_release(cstore.0, c_pool.as_ptr(), c_owners[i].as_ptr(), std::ptr::null_mut())
                });
            },
            &mut |i| {
                let now = unix_ms();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
                let resource: i64 = tx
                    .prepare_cached(LEASE_FREE_SQL)
                    .unwrap()
                    .query_row(params![LEASE_POOL, now], |r| r.get(0))
                    .unwrap();
                let taken = tx
                    .prepare_cached(LEASE_TAKE_SQL)
                    .unwrap()
                    .execute(params![resource, owners[i], now, now + 60_000])
                    .unwrap();
                assert_eq!(taken, 1);
                tx.commit().unwrap();
                let released =
                    conn.prepare_cached(LEASE_RELEASE_SQL).unwrap().execute(params![LEASE_POOL, owners[i]]).unwrap();
                assert_eq!(released, 1);
            },
        ],
    );
    Row { name: "lease acquire + release, synchronous=NORMAL".into(), api: t[0], c: Some(t[1]), floor: t[2] }
}

const ATTACH_MAPPING_SQL: &str = "INSERT INTO device_mappings (id, vm_context_id, volume_uuid, vm_id, \
    operation_mode, requires_device_correlation, device_path, cloudstack_state, linux_state, size, last_sync, \
    created_at, updated_at, snapshot_status) \
    VALUES (?1, ?2, ?3, 'oma-vm', 'oma', 1, ?4, 'attached', 'detected', ?5, ?6, ?6, ?6, 'none')";
const ATTACH_EXPORT_SQL: &str = "INSERT INTO nbd_exports (vm_context_id, job_id, volume_id, vm_disk_id, \
    device_mapping_uuid, export_name, port, device_path, status, created_at, updated_at) \
    VALUES (?1, ?2, ?3, ?4, ?3, ?5, 10809, ?6, 'pending', ?7, ?7)";

fn bench_attach(dir: &Path) -> Row {
    use sendense::targets::{NewExport, NewMapping};
    let (rounds, per_round) = (15, 400);
    let n = rounds * per_round;
    let sync = Synchronous::Normal;
    // One context with a job over four disks per file; (context, job, disk row ids) per side.
    let mut seeded: Vec<(String, String, Vec<i64>)> = Vec::new();
    let paths = three_files(dir, "attach", sync, |store| {
        let ctx = store.context_create(&new_vm(0)).unwrap();
        let job = store.replication_start(&StartJob::new(ctx.as_str(), four_disks())).unwrap();
        let disks = store.replication_disks(&ctx).unwrap().iter().map(|d| d.id).collect();
        seeded.push((ctx, job, disks));
    });
    let store = Store::open(&paths[0], OpenOptions::default().synchronous(sync)).unwrap();
    let cstore = CStore::open(&paths[1], sync);
    let mut conn = direct_open(&paths[2], sync);
    let volume = |i: usize| format!("vol-{i:06}");
    let device = |i: usize| format!("/dev/disk/by-id/virtio-{i:06}");
    let mappings: Vec<NewMapping> = (0..n)
        .map(|i| {
            let (ctx, job, disks) = &seeded[0];
            let mut m = NewMapping::oma(volume(i), "oma-vm", device(i));
            m.vm_context_id = Some(ctx.clone());
            m.size = 100 << 30;
            m.export = Some(NewExport {
                volume_uuid: None,
                vm_disk_id: disks[i % 4],
                port: 10809,
                job_id: Some(job.clone()),
                config_path: None,
            });
            m
        })
        .collect();
    let c_json: Vec<CString> = (0..n)
        .map(|i| {
            let (ctx, job, disks) = &seeded[1];
            c(&format!(
                r#"{{"vm_context_id":"{ctx}","volume_uuid":"{}","vm_id":"oma-vm","device_path":"{}","size":{},"export":{{"vm_disk_id":{},"port":10809,"job_id":"{job}"}}}}"#,
                volume(i),
                device(i),
                100i64 << 30,
                disks[i % 4]
            ))
        })
        .collect();
    let t = compare(
        rounds,
        per_round,
        &mut [
            &mut |i| {
                store.device_attach(&mappings[i]).unwrap();
            },
            &mut |i| {
                let mut id = std::ptr::null_mut();
                ok(unsafe { ffi::sendense_device_attach(cstore.0, c_json[i].as_ptr(), &mut id, std::ptr::null_mut()) });
                free_string(id);
            },
            &mut |i| {
                let (ctx, job, disks) = &seeded[2];
                let (volume, device) = (volume(i), device(i));
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
                tx.prepare_cached(ATTACH_MAPPING_SQL)
                    .unwrap()
                    .execute(params![format!("map-{i}"), ctx, volume, device, 100i64 << 30, i as i64])
                    .unwrap();
                tx.prepare_cached(ATTACH_EXPORT_SQL)
                    .unwrap()
                    .execute(params![
                        ctx,
                        job,
                        volume,
                        disks[i % 4],
                        format!("migration-vol-{volume}"),
                        device,
                        i as i64
                    ])
                    .unwrap();
                tx.commit().unwrap();
            },
        ],
    );
    Row { name: "attach (mapping + export), synchronous=NORMAL".into(), api: t[0], c: Some(t[1]), floor: t[2] }
}

const STALE_CONTEXTS: usize = 1_000;
const JOBS_PER_CONTEXT: usize = 100;
/// Every context's last job is active; one context in ten has a stale one.
const STALE_JOBS: usize = STALE_CONTEXTS / 10;

/// `contexts` contexts named `ctx-NNNN` (raw rows, the same in every file).
fn seed_contexts(tx: &sendense::rusqlite::Transaction<'_>, contexts: usize) -> sendense::Result<()> {
    let mut ctx = tx.prepare(
        "INSERT INTO vm_replication_contexts (context_id, vm_name, vmware_vm_id, vm_path, vcenter_host, \
         datacenter, created_at, updated_at) VALUES (?1, ?1, ?1, '/p', 'vc', 'dc', 0, 0)",
    )?;
    for c in 0..contexts {
        ctx.execute([format!("ctx-{c:04}")])?;
    }
    Ok(())
}

/// `jobs` jobs of context `ctx`, the oldest first, updated at `updated_at(k)`, all completed
/// but the last when `last_active`.
fn seed_jobs(
    tx: &sendense::rusqlite::Transaction<'_>,
    ctx: &str,
    jobs: usize,
    last_active: bool,
    updated_at: impl Fn(usize) -> i64,
) -> sendense::Result<()> {
    let mut job = tx.prepare_cached(
        "INSERT INTO replication_jobs (id, vm_context_id, source_vm_id, source_vm_name, source_vm_path, \
         v_center_host, datacenter, replication_type, status, created_at, updated_at) \
         VALUES (?1, ?2, ?2, ?2, '/p', 'vc', 'dc', 'incremental', ?3, ?4, ?4)",
    )?;
    for k in 0..jobs {
        let status = if last_active && k == jobs - 1 { "replicating" } else { "completed" };
        job.execute(params![format!("{ctx}-job-{k:04}"), ctx, status, updated_at(k)])?;
    }
    Ok(())
}

/// The floor of the stale scan: the jobs' columns (the library's column list) of the active
/// jobs not updated since the cutoff, oldest first.
fn stale_scan_sql() -> String {
    use sendense::store::Record;
    let active: Vec<String> = JobStatus::ACTIVE.iter().map(|s| format!("'{s}'")).collect();
    format!(
        "SELECT {} FROM replication_jobs WHERE status IN ({}) AND updated_at < ?1 ORDER BY updated_at, id",
        sendense::replication::ReplicationJob::COLUMNS,
        active.join(", ")
    )
}

/// The stale-job scan over 100,000 jobs (1,000 contexts with 100 each, the last one active;
/// 100 of the active ones not updated for a day). Reads only: the sides share the file.
fn bench_stale(dir: &Path) -> Row {
    let path = dir.join("stale.db");
    let now = unix_ms();
    Store::open(&path, OpenOptions::default().synchronous(Synchronous::Normal))
        .unwrap()
        .write(|tx| {
            seed_contexts(tx, STALE_CONTEXTS)?;
            for c in 0..STALE_CONTEXTS {
                let last = if c % 10 == 0 { now - 86_400_000 } else { now + 86_400_000 };
                seed_jobs(tx, &format!("ctx-{c:04}"), JOBS_PER_CONTEXT, true, |k| {
                    if k == JOBS_PER_CONTEXT - 1 {
                        last
                    } else {
                        k as i64
                    }
                })?;
            }
            Ok(())
        })
        .unwrap();
    let store = Store::open(&path, OpenOptions::default()).unwrap();
    let cstore = CStore::open(&path, Synchronous::Full);
    let conn = direct_open(&path, Synchronous::Full);
    let sql = stale_scan_sql();
    const HOUR: i64 = 3_600_000;
    let t = compare(
        15,
        20,
        &mut [
            &mut |_| assert_eq!(store.replication_stale(HOUR).unwrap().len(), STALE_JOBS),
            &mut |_| {
                let mut json = std::ptr::null_mut();
                ok(unsafe { ffi::sendense_replication_stale_json(cstore.0, HOUR, &mut json, std::ptr::null_mut()) });
                free_string(json);
            },
            &mut |_| {
                let mut stmt = conn.prepare_cached(&sql).unwrap();
                let columns = stmt.column_count();
                let rows: Vec<Vec<Value>> = stmt
                    .query_map([unix_ms() - HOUR], |r| (0..columns).map(|k| r.get::<_, Value>(k)).collect())
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                assert_eq!(rows.len(), STALE_JOBS);
            },
        ],
    );
    Row { name: "stale-job scan (100,000 jobs, 100 stale)".into(), api: t[0], c: Some(t[1]), floor: t[2] }
}

const HISTORY_JOBS: usize = 1_000;
const HISTORY_CBT_PER_DISK: usize = 5_000; // x 2 disks = 10,000 cbt_history rows
const HISTORY_POINTS: usize = 100;

/// Deleting a context with a long history: 1,000 finished jobs, 2 disks with 5,000
/// cbt_history rows each and 100 completed backup points (fulls: unprotected, in a repository
/// without immutability or minimum retention, so each could be deleted on its own). One
/// context per operation, all made before the timed rounds. The floor is the one DELETE of
/// the context row in an immediate transaction (the foreign keys cascade).
fn bench_cascade(dir: &Path) -> Row {
    let (rounds, per_round) = (9, 3);
    let n = rounds * per_round;
    let sync = Synchronous::Normal;
    let paths = three_files(dir, "cascade", sync, |store| {
        store
            .write(|tx| {
                seed_contexts(tx, n)?;
                for c in 0..n {
                    let ctx = format!("ctx-{c:04}");
                    seed_jobs(tx, &ctx, HISTORY_JOBS, false, |k| k as i64)?;
                    seed_disk_history(tx, &ctx, HISTORY_CBT_PER_DISK, |seq| {
                        Some(format!("{ctx}-job-{:04}", seq * HISTORY_JOBS / (HISTORY_CBT_PER_DISK + 1)))
                    })?;
                }
                Ok(())
            })
            .unwrap();
        let repo = store
            .repository_create(&NewRepository {
                id: Some("repo-bench".into()),
                ..NewRepository::new("bench", RepositoryType::Local, serde_json::json!({"path": "/srv/bench"}))
            })
            .unwrap();
        for c in 0..n {
            for p in 0..HISTORY_POINTS {
                let mut start =
                    StartBackup::new(format!("ctx-{c:04}"), 0, &repo, BackupType::Full, format!("/srv/bench/{c}-{p}"));
                start.id = Some(format!("ctx-{c:04}-point-{p:03}"));
                backup_point(store, start, true);
            }
        }
    });
    let store = Store::open(&paths[0], OpenOptions::default().synchronous(sync)).unwrap();
    let cstore = CStore::open(&paths[1], sync);
    let mut conn = direct_open(&paths[2], sync);
    let ids: Vec<String> = (0..n).map(|c| format!("ctx-{c:04}")).collect();
    let c_ids: Vec<CString> = ids.iter().map(|s| c(s)).collect();
    let t = compare(
        rounds,
        per_round,
        &mut [
            &mut |i| store.context_delete(&ids[i]).unwrap(),
            &mut |i| ok(unsafe { ffi::sendense_context_delete(cstore.0, c_ids[i].as_ptr(), std::ptr::null_mut()) }),
            &mut |i| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
                let n = tx
                    .prepare_cached("DELETE FROM vm_replication_contexts WHERE context_id = ?1")
                    .unwrap()
                    .execute([&ids[i]])
                    .unwrap();
                assert_eq!(n, 1);
                tx.commit().unwrap();
            },
        ],
    );
    for (k, path) in paths.iter().enumerate() {
        let left: i64 = Connection::open(path)
            .unwrap()
            .query_row(
                "SELECT (SELECT count(*) FROM replication_jobs) + (SELECT count(*) FROM cbt_history) \
                 + (SELECT count(*) FROM backup_jobs) + (SELECT count(*) FROM vm_replication_contexts)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0, "side {k}: every context and its history deleted");
    }
    Row {
        name: "context delete (1,000 jobs, 10,000 CBT rows, 100 points), synchronous=NORMAL".into(),
        api: t[0],
        c: Some(t[1]),
        floor: t[2],
    }
}

const CBT_DISK_SQL: &str = "UPDATE vm_disks SET disk_change_id = ?3, sync_status = 'completed', \
    sync_progress_percent = 100, bytes_synced = ?4, updated_at = ?5 WHERE vm_context_id = ?1 AND disk_id = ?2";
const CBT_HISTORY_SQL: &str = "INSERT INTO cbt_history (vm_context_id, job_id, disk_id, change_id, \
    previous_change_id, sync_type, bytes_transferred, sync_duration_seconds, sync_success, created_at) \
    VALUES (?1, ?2, ?3, ?4, NULL, 'initial', ?5, 0, 1, ?6)";
const CBT_JOB_SQL: &str = "UPDATE replication_jobs SET change_id = ?2, previous_change_id = NULL, updated_at = ?3 \
    WHERE id = ?1";

/// The change id written when a disk's copy completes (`cbt_record`): one (job, disk) per
/// operation, four disks per running job, all started before the timed rounds. The floor is
/// the disk UPDATE, the cbt_history INSERT and the job UPDATE in one immediate transaction.
fn bench_change_id(dir: &Path) -> Row {
    let (rounds, per_round) = (15, 100);
    let n = rounds * per_round;
    let jobs = n / 4;
    let sync = Synchronous::Normal;
    let mut contexts: Vec<Vec<String>> = Vec::new();
    let paths = three_files(dir, "change-id", sync, |store| {
        let mut ctxs = Vec::new();
        for j in 0..jobs {
            let ctx = store.context_create(&new_vm(j)).unwrap();
            let mut start = StartJob::new(ctx.as_str(), four_disks());
            start.id = Some(format!("job-{j}"));
            store.replication_start(&start).unwrap();
            store.replication_set_status(&format!("job-{j}"), JobStatus::Replicating, None).unwrap();
            ctxs.push(ctx);
        }
        contexts.push(ctxs);
    });
    let store = Store::open(&paths[0], OpenOptions::default().synchronous(sync)).unwrap();
    let cstore = CStore::open(&paths[1], sync);
    let mut conn = direct_open(&paths[2], sync);
    let job = |i: usize| format!("job-{}", i / 4);
    let disk = |i: usize| format!("disk-{}", 2000 + i % 4);
    let c_jobs: Vec<CString> = (0..jobs).map(|j| c(&format!("job-{j}"))).collect();
    let c_disks: Vec<CString> = (0..4).map(|d| c(&format!("disk-{}", 2000 + d))).collect();
    let change = format!("{UUID}/42");
    let c_change = c(&change);
    let bytes = 100i64 << 30;
    let t = compare(
        rounds,
        per_round,
        &mut [
            &mut |i| {
                store.cbt_record(&job(i), &disk(i), &change, bytes).unwrap();
            },
            &mut |i| {
                ok(unsafe {
                    ffi::sendense_cbt_record(
                        cstore.0,
                        c_jobs[i / 4].as_ptr(),
                        c_disks[i % 4].as_ptr(),
                        c_change.as_ptr(),
                        bytes,
                        std::ptr::null_mut(),
                    )
                })
            },
            &mut |i| {
                let (ctx, job, disk, now) = (&contexts[2][i / 4], job(i), disk(i), i as i64);
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
                let n =
                    tx.prepare_cached(CBT_DISK_SQL).unwrap().execute(params![ctx, disk, change, bytes, now]).unwrap();
                assert_eq!(n, 1);
                tx.prepare_cached(CBT_HISTORY_SQL)
                    .unwrap()
                    .execute(params![ctx, job, disk, change, bytes, now])
                    .unwrap();
                tx.prepare_cached(CBT_JOB_SQL).unwrap().execute(params![job, change, now]).unwrap();
                tx.commit().unwrap();
            },
        ],
    );
    for (k, path) in paths.iter().enumerate() {
        let rows: i64 =
            Connection::open(path).unwrap().query_row("SELECT count(*) FROM cbt_history", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, n as i64, "side {k}: one history row per disk completion");
    }
    Row { name: "change-id write at disk completion, synchronous=NORMAL".into(), api: t[0], c: Some(t[1]), floor: t[2] }
}

/// Contexts `vm-00000`, ... ready for failover (a completed job over four disks), each with a
/// failover `fo-<i>` moved up to `at`; with `volumes`, each disk has a CloudStack volume row,
/// an oma mapping and its export (created before the failover starts).
fn seed_failovers(store: &Store, n: usize, volumes: bool, at: FailoverStatus) {
    use sendense::targets::{NewExport, NewMapping, NewOsseaVolume, VolumeStatus};
    for i in 0..n {
        let ctx = store.context_create(&new_vm(i)).unwrap();
        let job = store.replication_start(&StartJob::new(ctx.as_str(), four_disks())).unwrap();
        store.replication_set_status(&job, JobStatus::Completed, None).unwrap();
        if volumes {
            for (d, disk) in store.replication_disks(&ctx).unwrap().iter().enumerate() {
                let volume = format!("vol-{i:05}-{d}");
                let mut v = NewOsseaVolume::new(&volume, &volume, 100);
                v.vm_context_id = Some(ctx.clone());
                v.status = Some(VolumeStatus::Available);
                store.ossea_volume_create(&v).unwrap();
                let mut m = NewMapping::oma(&volume, "oma-vm", format!("/dev/disk/by-id/virtio-{volume}"));
                m.vm_context_id = Some(ctx.clone());
                m.size = 100 << 30;
                m.export = Some(NewExport::new(&volume, disk.id, 10809));
                store.device_attach(&m).unwrap();
            }
        }
        let mut start = StartFailover::new(ctx.as_str(), FailoverType::Test);
        start.id = Some(format!("fo-{i}"));
        store.failover_start(&start).unwrap();
        let mut step = FailoverStatus::Pending;
        while step != at {
            step = step.next().unwrap();
            let mut r = StepResults::default();
            if step == FailoverStatus::CreatingVm {
                r.destination_vm_id = Some(format!("cs-vm-{i}"));
            }
            store.failover_set_status(&format!("fo-{i}"), step, Some(&r)).unwrap();
        }
    }
}

/// Every column of every row `sql` returns for `arg`, as dynamic values (the floor's reads).
fn all_values(
    tx: &sendense::rusqlite::Transaction<'_>,
    sql: &str,
    arg: &dyn sendense::rusqlite::ToSql,
) -> Vec<Vec<Value>> {
    let mut stmt = tx.prepare_cached(sql).unwrap();
    let columns = stmt.column_count();
    let rows = stmt.query_map([arg], |r| (0..columns).map(|k| r.get::<_, Value>(k)).collect()).unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

/// The failover row's and context row's reads, as the library writes them.
fn failover_reads() -> (String, String) {
    use sendense::failover::FailoverJob;
    use sendense::replication::Context;
    use sendense::store::Record;
    (
        format!("SELECT {} FROM failover_jobs WHERE job_id = ?1", FailoverJob::COLUMNS),
        format!("SELECT {} FROM vm_replication_contexts WHERE context_id = ?1", Context::COLUMNS),
    )
}

const FAILOVER_STEP_SQL: &str = "UPDATE failover_jobs SET status = ?2, \
    destination_vm_id = COALESCE(?3, destination_vm_id), \
    linstor_snapshot_name = COALESCE(?4, linstor_snapshot_name), \
    ossea_snapshot_id = COALESCE(?5, ossea_snapshot_id), \
    linstor_config_id = COALESCE(?6, linstor_config_id), updated_at = ?7, \
    started_at = CASE WHEN started_at IS NULL THEN ?7 ELSE started_at END, \
    completed_at = CASE WHEN ?2 = 'completed' THEN ?7 ELSE completed_at END \
    WHERE job_id = ?1";
const FAILOVER_SUMMARY_SQL: &str =
    "UPDATE vm_replication_contexts SET last_operation_summary = ?2, updated_at = ?3 WHERE context_id = ?1";

/// The summary the library writes for failover `i` reaching `step` (the floor builds it too).
fn failover_summary(i: usize, step: &str) -> String {
    format!(
        r#"{{"operation":"failover","failover_id":"fo-{i}","job_type":"test","outcome":"in_progress","step":"{step}","error":null,"at":"2025-11-28T05:09:49.{:03}Z"}}"#,
        i % 1000
    )
}

/// The floor of a failover step: the library's statements in one immediate transaction (the
/// failover row and its context read, `between` (the step's own work), the row updated, the
/// context's summary written, the row read back).
fn failover_step_floor(
    conn: &mut Connection,
    i: usize,
    step: &str,
    snapshot: Option<&str>,
    between: impl FnOnce(&sendense::rusqlite::Transaction<'_>, &str, i64),
) {
    let (read_failover, read_context) = failover_reads();
    let (id, now) = (format!("fo-{i}"), i as i64);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
    let row = all_values(&tx, &read_failover, &id);
    let Value::Text(ctx) = &row[0][1] else { panic!("the failover's context") };
    all_values(&tx, &read_context, ctx);
    between(&tx, ctx, now);
    tx.prepare_cached(FAILOVER_STEP_SQL)
        .unwrap()
        .execute(params![id, step, None::<String>, snapshot, None::<String>, None::<i64>, now])
        .unwrap();
    tx.prepare_cached(FAILOVER_SUMMARY_SQL).unwrap().execute(params![ctx, failover_summary(i, step), now]).unwrap();
    all_values(&tx, &read_failover, &id);
    tx.commit().unwrap();
}

/// A failover step without devices: validating -> snapshotting with the Linstor snapshot's
/// name, one failover per operation (each context has one, in validating).
fn bench_failover_step(dir: &Path) -> Row {
    let (rounds, per_round) = (9, 200);
    let n = rounds * per_round;
    let sync = Synchronous::Normal;
    let paths =
        three_files(dir, "failover-step", sync, |store| seed_failovers(store, n, false, FailoverStatus::Validating));
    let store = Store::open(&paths[0], OpenOptions::default().synchronous(sync)).unwrap();
    let cstore = CStore::open(&paths[1], sync);
    let mut conn = direct_open(&paths[2], sync);
    let ids: Vec<String> = (0..n).map(|i| format!("fo-{i}")).collect();
    let c_ids: Vec<CString> = ids.iter().map(|id| c(id)).collect();
    let c_json: Vec<CString> = (0..n).map(|i| c(&format!(r#"{{"linstor_snapshot_name":"snap-{i}"}}"#))).collect();
    let c_status = c("snapshotting");
    let t = compare(
        rounds,
        per_round,
        &mut [
            &mut |i| {
                let r = StepResults { linstor_snapshot_name: Some(format!("snap-{i}")), ..Default::default() };
                store.failover_set_status(&ids[i], FailoverStatus::Snapshotting, Some(&r)).unwrap();
            },
            &mut |i| {
                ok(unsafe {
                    ffi::sendense_failover_set_status(
                        cstore.0,
                        c_ids[i].as_ptr(),
                        c_status.as_ptr(),
                        c_json[i].as_ptr(),
                        std::ptr::null_mut(),
                    )
                });
            },
            &mut |i| failover_step_floor(&mut conn, i, "snapshotting", Some(&format!("snap-{i}")), |_, _, _| {}),
        ],
    );
    Row { name: "failover step with a result, synchronous=NORMAL".into(), api: t[0], c: Some(t[1]), floor: t[2] }
}

const SWITCH_EXPORT_SQL: &str = "DELETE FROM nbd_exports WHERE volume_id = ?1";
const SWITCH_MAPPING_SQL: &str = "UPDATE device_mappings SET operation_mode = 'failover', device_path = NULL, \
    linux_state = 'n/a', size = 0, updated_at = ?2 WHERE id = ?1";
const SWITCH_VOLUME_SQL: &str =
    "UPDATE ossea_volumes SET status = 'attached', device_path = NULL, updated_at = ?2 WHERE id = ?1";
const SWITCH_VM_SQL: &str = "UPDATE device_mappings SET vm_id = ?2, updated_at = ?3 WHERE vm_context_id = ?1";

/// The switching_volume step of a VM with four disks: creating_vm -> switching_volume, the
/// four mappings to failover mode (paths cleared, size 0, moved to the destination VM), their
/// exports removed, their CloudStack volume rows following, the summary written.
fn bench_failover_switch(dir: &Path) -> Row {
    use sendense::store::Record;
    use sendense::targets::{DeviceMapping, OsseaVolume};
    let (rounds, per_round) = (9, 50);
    let n = rounds * per_round;
    let sync = Synchronous::Normal;
    let paths =
        three_files(dir, "failover-switch", sync, |store| seed_failovers(store, n, true, FailoverStatus::CreatingVm));
    let store = Store::open(&paths[0], OpenOptions::default().synchronous(sync)).unwrap();
    let cstore = CStore::open(&paths[1], sync);
    let mut conn = direct_open(&paths[2], sync);
    let ids: Vec<String> = (0..n).map(|i| format!("fo-{i}")).collect();
    let c_ids: Vec<CString> = ids.iter().map(|id| c(id)).collect();
    let c_status = c("switching_volume");
    let read_context = failover_reads().1;
    let read_mappings = format!(
        "SELECT {} FROM device_mappings WHERE vm_context_id = ?1 ORDER BY created_at, id",
        DeviceMapping::COLUMNS
    );
    let read_volume = format!("SELECT {} FROM ossea_volumes WHERE volume_id = ?1", OsseaVolume::COLUMNS);
    let text = |v: &Value| match v {
        Value::Text(s) => s.clone(),
        other => panic!("text expected: {other:?}"),
    };
    let t = compare(
        rounds,
        per_round,
        &mut [
            &mut |i| {
                store.failover_set_status(&ids[i], FailoverStatus::SwitchingVolume, None).unwrap();
            },
            &mut |i| {
                ok(unsafe {
                    ffi::sendense_failover_set_status(
                        cstore.0,
                        c_ids[i].as_ptr(),
                        c_status.as_ptr(),
                        std::ptr::null(),
                        std::ptr::null_mut(),
                    )
                });
            },
            &mut |i| {
                failover_step_floor(&mut conn, i, "switching_volume", None, |tx, ctx, now| {
                    all_values(tx, &read_context, &ctx);
                    for m in all_values(tx, &read_mappings, &ctx) {
                        let (id, volume) = (text(&m[0]), text(&m[2]));
                        tx.prepare_cached(SWITCH_EXPORT_SQL).unwrap().execute([&volume]).unwrap();
                        tx.prepare_cached(SWITCH_MAPPING_SQL).unwrap().execute(params![id, now]).unwrap();
                        let row = all_values(tx, &read_volume, &volume);
                        tx.prepare_cached(SWITCH_VOLUME_SQL).unwrap().execute(params![row[0][0], now]).unwrap();
                    }
                    tx.prepare_cached(SWITCH_VM_SQL).unwrap().execute(params![ctx, format!("cs-vm-{i}"), now]).unwrap();
                    all_values(tx, &read_mappings, &ctx);
                })
            },
        ],
    );
    // Every side did the whole step: no export left, every mapping and volume row switched.
    for path in &paths {
        let conn = direct_open(path, sync);
        let left: (i64, i64, i64) = conn
            .query_row(
                "SELECT (SELECT count(*) FROM nbd_exports), \
                 (SELECT count(*) FROM device_mappings WHERE operation_mode = 'oma' OR size <> 0), \
                 (SELECT count(*) FROM ossea_volumes WHERE device_path IS NOT NULL)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(left, (0, 0, 0), "{}", path.display());
    }
    Row { name: "switching_volume step, 4 disks, synchronous=NORMAL".into(), api: t[0], c: Some(t[1]), floor: t[2] }
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let dir = tempfile::tempdir().unwrap();
    type Bench = Box<dyn Fn(&Path) -> Row>;
    let benches: Vec<(&str, Bench)> = vec![
        ("open", Box::new(bench_open)),
        ("update_full", Box::new(|d: &Path| bench_update(d, Synchronous::Full))),
        ("update_normal", Box::new(|d: &Path| bench_update(d, Synchronous::Normal))),
        ("progress_full", Box::new(|d: &Path| bench_progress(d, Synchronous::Full))),
        ("progress_normal", Box::new(|d: &Path| bench_progress(d, Synchronous::Normal))),
        ("decide", Box::new(bench_decide)),
        ("start", Box::new(bench_start)),
        ("append", Box::new(bench_chain_append)),
        ("restore", Box::new(bench_restore)),
        ("lease", Box::new(bench_lease)),
        ("attach", Box::new(bench_attach)),
        ("stale", Box::new(bench_stale)),
        ("cascade", Box::new(bench_cascade)),
        ("change_id", Box::new(bench_change_id)),
        ("failover_step", Box::new(bench_failover_step)),
        ("failover_switch", Box::new(bench_failover_switch)),
    ];
    println!(
        "{:<52} {:>10} {:>10} {:>10} {:>9} {:>7}",
        "benchmark (median per operation)", "Rust API", "C ABI", "rusqlite", "API ratio", "C ratio"
    );
    for (key, bench) in benches {
        if filter.as_deref().is_some_and(|f| !key.contains(f)) {
            continue;
        }
        let row = bench(dir.path());
        let ratio = |d: Duration| d.as_secs_f64() / row.floor.as_secs_f64();
        println!(
            "{:<52} {:>10} {:>10} {:>10} {:>9.2} {:>7}",
            row.name,
            fmt_duration(row.api),
            row.c.map_or("-".to_string(), fmt_duration),
            fmt_duration(row.floor),
            ratio(row.api),
            row.c.map_or("-".to_string(), |c| format!("{:.2}", ratio(c)))
        );
    }
}
