//! CloudStack and Linstor configurations with sealed secrets, and CloudStack volumes, on real
//! database files: secrets only as ciphertext in the files, missing and wrong keys, key
//! rotation in one transaction, one active configuration, guarded deletes, and the volume and
//! snapshot state machines. Every refusal is checked to change nothing.

use crate::fixtures::assert_refused;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sendense::replication::{DiskSpec, NewContext, StartJob};
use sendense::store::secret::SecretKey;
use sendense::targets::{
    NewLinstorConfig, NewOsseaConfig, NewOsseaVolume, OsseaConfigUpdate, SnapshotStatus, VolumeStatus,
};
use sendense::{ManualClock, OpenOptions, Status, Store};

const T0: i64 = 1_767_225_600_000;
const API_KEY: &str = "plain-api-key-4f1d9c";
const SECRET: &str = "plain-secret-8e2a77";
const LINSTOR_SECRET: &str = "plain-linstor-secret-51b0";

fn key(byte: u8) -> SecretKey {
    SecretKey::from_bytes(&[byte; 32]).unwrap()
}

fn open(path: &Path, key: Option<SecretKey>) -> Store {
    let mut options = OpenOptions::default().clock(Arc::new(ManualClock::new(T0)));
    if let Some(k) = key {
        options = options.secret_key(k);
    }
    Store::open(path, options).unwrap()
}

fn config(name: &str) -> NewOsseaConfig {
    NewOsseaConfig::new(name, "https://cloud.example/client/api", API_KEY, SECRET, "zone-1")
}

fn linstor(name: &str) -> NewLinstorConfig {
    sendense::value::from_json(
        "linstor",
        &format!(r#"{{"name":"{name}","api_url":"linstor.local","api_secret":"{LINSTOR_SECRET}"}}"#),
    )
    .unwrap()
}

/// Every byte of the database file, its WAL and its shared-memory file.
fn file_bytes(path: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(bytes) = std::fs::read(&p) {
            all.extend(bytes);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn secrets_are_only_ciphertext_in_the_files_and_never_in_read_outs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = open(&path, Some(key(1)));
    assert_eq!(store.secret_key_id().as_deref(), Some(key(1).id()));
    let id = store.ossea_config_create(&config("main")).unwrap();
    store.linstor_config_create(&linstor("drbd")).unwrap();

    let c = store.ossea_config_get(id).unwrap();
    assert_eq!(c.sealed_with_key.as_deref(), Some(key(1).id()));
    let json = serde_json::to_string(&store.ossea_config_list().unwrap()).unwrap();
    let linstor_json = serde_json::to_string(&store.linstor_config_list().unwrap()).unwrap();
    for text in [&json, &linstor_json] {
        for plain in [API_KEY, SECRET, LINSTOR_SECRET] {
            assert!(!text.contains(plain), "a read-out carries a secret: {text}");
        }
        assert!(!text.contains("sndsec"), "a read-out carries a sealed value: {text}");
    }
    let secrets = store.ossea_config_secrets(id).unwrap();
    assert_eq!((secrets.api_key.as_str(), secrets.secret_key.as_str()), (API_KEY, SECRET));
    assert!(!format!("{secrets:?}").contains(API_KEY));

    // Neither the file nor its WAL holds a plaintext, before or after a checkpoint.
    for plain in [API_KEY, SECRET, LINSTOR_SECRET] {
        assert!(!contains(&file_bytes(&path), plain), "{plain} is in the files");
    }
    assert!(contains(&file_bytes(&path), "sndsec2:"), "the sealed values are there");
    drop(store);
    let raw = sendense::rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    drop(raw);
    for plain in [API_KEY, SECRET, LINSTOR_SECRET] {
        assert!(!contains(&file_bytes(&path), plain), "{plain} is in the files after a checkpoint");
    }
}

#[test]
fn without_the_key_or_with_another_one_secrets_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let id = open(&path, Some(key(1))).ossea_config_create(&config("main")).unwrap();

    let keyless = open(&path, None);
    assert_eq!(keyless.secret_key_id(), None);
    assert_eq!(keyless.ossea_config_get(id).unwrap().name, "main", "the rest reads without a key");
    let e = keyless.ossea_config_secrets(id).unwrap_err();
    assert_eq!(e.status(), Status::SecretKey);
    assert!(e.message().contains("without a secret key") && e.message().contains(key(1).id()), "{e}");
    assert_refused(&keyless, Status::SecretKey, &["ossea_configs.api_key", "without a secret key"], || {
        keyless.ossea_config_create(&config("second"))
    });

    let wrong = open(&path, Some(key(2)));
    let e = wrong.ossea_config_secrets(id).unwrap_err();
    assert_eq!(e.status(), Status::SecretKey);
    assert!(e.message().contains(key(1).id()) && e.message().contains(key(2).id()), "{e}");

    // A sealed value altered in the file fails authentication.
    let store = open(&path, Some(key(1)));
    store
        .write(|tx| {
            Ok(tx.execute("UPDATE ossea_configs SET api_key = replace(api_key, substr(api_key, -4), 'beef')", [])?)
        })
        .unwrap();
    let e = store.ossea_config_secrets(id).unwrap_err();
    assert_eq!(e.status(), Status::SecretKey);
    assert!(e.message().contains("altered"), "{e}");
}

#[test]
fn rotation_re_seals_every_secret_in_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = open(&path, Some(key(1)));
    let a = store.ossea_config_create(&config("a")).unwrap();
    let b = store.ossea_config_create(&config("b")).unwrap();
    let l = store.linstor_config_create(&linstor("drbd")).unwrap();

    assert_eq!(store.rotate_secret_key(key(3)).unwrap(), 5, "two per CloudStack config, one Linstor secret");
    assert_eq!(store.secret_key_id().as_deref(), Some(key(3).id()));
    for id in [a, b] {
        assert_eq!(store.ossea_config_get(id).unwrap().sealed_with_key.as_deref(), Some(key(3).id()));
        assert_eq!(store.ossea_config_secrets(id).unwrap().api_key.as_str(), API_KEY);
    }
    assert_eq!(store.linstor_config_secrets(l).unwrap().api_secret.unwrap().as_str(), LINSTOR_SECRET);
    drop(store);
    assert_eq!(open(&path, Some(key(3))).ossea_config_secrets(a).unwrap().secret_key.as_str(), SECRET);
    assert_eq!(open(&path, Some(key(1))).ossea_config_secrets(a).unwrap_err().status(), Status::SecretKey);
    for plain in [API_KEY, SECRET, LINSTOR_SECRET] {
        assert!(!contains(&file_bytes(&path), plain), "{plain} is in the files after rotation");
    }

    // A value that does not open stops the rotation, and nothing changes.
    let store = open(&path, Some(key(3)));
    store.write(|tx| Ok(tx.execute("UPDATE ossea_configs SET secret_key = 'plaintext' WHERE id = ?1", [b])?)).unwrap();
    assert_refused(&store, Status::SecretKey, &["ossea_configs row", "secret_key"], || store.rotate_secret_key(key(4)));
    assert_eq!(store.secret_key_id().as_deref(), Some(key(3).id()), "a failed rotation keeps the key");
}

#[test]
fn one_configuration_is_active_and_used_ones_cannot_be_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("s.db"), Some(key(1)));
    let a = store.ossea_config_create(&NewOsseaConfig { is_active: true, ..config("a") }).unwrap();
    let b = store.ossea_config_create(&config("b")).unwrap();
    assert_eq!(store.ossea_config_active().unwrap().unwrap().id, a);
    store.ossea_config_activate(b).unwrap();
    assert_eq!(store.ossea_config_active().unwrap().unwrap().id, b);
    assert!(!store.ossea_config_get(a).unwrap().is_active);
    let c = store.ossea_config_create(&NewOsseaConfig { is_active: true, ..config("c") }).unwrap();
    let active: Vec<i64> = store.ossea_config_list().unwrap().iter().filter(|c| c.is_active).map(|c| c.id).collect();
    assert_eq!(active, [c]);

    assert_refused(&store, Status::AlreadyExists, &["\"A\""], || store.ossea_config_create(&config("A")));
    assert_refused(&store, Status::NotFound, &["77"], || store.ossea_config_activate(77));
    assert_refused(&store, Status::InvalidArgument, &["api_url"], || {
        store.ossea_config_create(&NewOsseaConfig { api_url: "cloud".into(), ..config("d") })
    });

    // Updates: a new key is sealed again; null clears; a taken name is refused.
    let update: OsseaConfigUpdate =
        sendense::value::from_json("update", r#"{"api_key":"rotated-key","domain":"ROOT","zone":"zone-2"}"#).unwrap();
    let changed = store.ossea_config_update(a, &update).unwrap();
    assert_eq!((changed.domain.as_deref(), changed.zone.as_str()), (Some("ROOT"), "zone-2"));
    assert_eq!(store.ossea_config_secrets(a).unwrap().api_key.as_str(), "rotated-key");
    let clear: OsseaConfigUpdate = sendense::value::from_json("update", r#"{"domain":null}"#).unwrap();
    assert_eq!(store.ossea_config_update(a, &clear).unwrap().domain, None);
    let clash: OsseaConfigUpdate = sendense::value::from_json("update", r#"{"name":"b"}"#).unwrap();
    assert_refused(&store, Status::AlreadyExists, &["\"b\""], || store.ossea_config_update(a, &clash));
    assert!(sendense::value::from_json::<OsseaConfigUpdate>("update", r#"{"is_active":true}"#).is_err());

    let vol = store
        .ossea_volume_create(&NewOsseaVolume { ossea_config_id: Some(a), ..NewOsseaVolume::new("vol-1", "v1", 10) })
        .unwrap();
    assert_refused(&store, Status::Conflict, &["1 volume(s)", "0 replication job(s)"], || store.ossea_config_delete(a));
    store.ossea_volume_delete(vol).unwrap();
    store.ossea_config_delete(a).unwrap();
    assert_eq!(store.ossea_config_get(a).unwrap_err().status(), Status::NotFound);
}

#[test]
fn volumes_follow_their_state_machines_and_link_to_their_context_disks() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("s.db"), Some(key(1)));
    let ctx = store.context_create(&NewContext::new("db-01", "vm-9", "/dc/vm/db-01", "vc", "dc")).unwrap();
    let other = store.context_create(&NewContext::new("web-01", "vm-10", "/dc/vm/web-01", "vc", "dc")).unwrap();
    store.replication_start(&StartJob::new(&ctx, vec![DiskSpec::new("disk-2000", "[ds] db/db.vmdk", 10)])).unwrap();
    let id = store
        .ossea_volume_create(&NewOsseaVolume {
            vm_context_id: Some(ctx.clone()),
            ..NewOsseaVolume::new("vol-aaa", "migration-db-01-disk-0", 10)
        })
        .unwrap();
    let v = store.ossea_volume_get(id).unwrap();
    assert_eq!((v.status, v.snapshot_status), (VolumeStatus::Creating, SnapshotStatus::None));
    assert_eq!(store.ossea_volume_find("vol-aaa").unwrap().id, id);
    assert_eq!(store.ossea_volume_list(Some(&ctx)).unwrap().len(), 1);
    assert!(store.ossea_volume_list(Some(&other)).unwrap().is_empty());

    assert_refused(&store, Status::AlreadyExists, &["vol-aaa"], || {
        store.ossea_volume_create(&NewOsseaVolume::new("vol-aaa", "again", 10))
    });
    assert_refused(&store, Status::NotFound, &["nope"], || {
        store.ossea_volume_create(&NewOsseaVolume {
            vm_context_id: Some("nope".into()),
            ..NewOsseaVolume::new("vol-b", "b", 1)
        })
    });
    assert_refused(&store, Status::InvalidState, &["from creating to attached"], || {
        store.ossea_volume_set_status(id, VolumeStatus::Attached, Some("/dev/vdb"))
    });
    store.ossea_volume_set_status(id, VolumeStatus::Available, None).unwrap();
    assert_refused(&store, Status::InvalidArgument, &["device_path"], || {
        store.ossea_volume_set_status(id, VolumeStatus::Attached, None)
    });
    let v = store.ossea_volume_set_status(id, VolumeStatus::Attached, Some("/dev/vdb")).unwrap();
    assert_eq!(v.device_path.as_deref(), Some("/dev/vdb"));
    let v = store.ossea_volume_set_status(id, VolumeStatus::Detached, None).unwrap();
    assert_eq!(v.device_path, None);

    // Snapshots: none -> creating -> ready -> rollback_complete -> none.
    assert_refused(&store, Status::InvalidArgument, &["snapshot_id"], || {
        store.ossea_volume_set_snapshot(id, SnapshotStatus::Creating, None)
    });
    let v = store.ossea_volume_set_snapshot(id, SnapshotStatus::Creating, Some("snap-1")).unwrap();
    assert_eq!((v.snapshot_id.as_deref(), v.snapshot_created_at.map(|t| t.0)), (Some("snap-1"), Some(T0)));
    assert_refused(&store, Status::InvalidState, &["from creating to rollback_complete"], || {
        store.ossea_volume_set_snapshot(id, SnapshotStatus::RollbackComplete, None)
    });
    store.ossea_volume_set_snapshot(id, SnapshotStatus::Ready, None).unwrap();
    store.ossea_volume_set_snapshot(id, SnapshotStatus::RollbackComplete, None).unwrap();
    let v = store.ossea_volume_set_snapshot(id, SnapshotStatus::None, None).unwrap();
    assert_eq!((v.snapshot_status, v.snapshot_id, v.snapshot_created_at), (SnapshotStatus::None, None, None));

    // Disk links stay within the volume's context.
    store.ossea_volume_link_disk(id, &ctx, "disk-2000").unwrap();
    let linked: Option<i64> = store
        .read(|tx| {
            Ok(tx.query_row("SELECT ossea_volume_id FROM vm_disks WHERE vm_context_id = ?1", [&ctx], |r| r.get(0))?)
        })
        .unwrap();
    assert_eq!(linked, Some(id));
    assert_refused(&store, Status::Conflict, &["belongs to context"], || {
        store.ossea_volume_link_disk(id, &other, "disk-2000")
    });
    assert_refused(&store, Status::NotFound, &["disk-2001"], || store.ossea_volume_link_disk(id, &ctx, "disk-2001"));
    store.ossea_volume_delete(id).unwrap();
    assert_eq!(store.ossea_volume_get(id).unwrap_err().status(), Status::NotFound);
}

#[test]
fn a_handle_given_a_previous_key_opens_what_that_key_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let id = open(&path, Some(key(1))).ossea_config_create(&config("main")).unwrap();
    let newer = open(&path, Some(key(2)));
    assert_eq!(newer.ossea_config_secrets(id).unwrap_err().status(), Status::SecretKey);
    newer.add_previous_secret_key(key(1));
    assert_eq!(newer.ossea_config_secrets(id).unwrap().api_key.as_str(), API_KEY);
    // It seals nothing with its own key until it has rotated the store to it: the store's
    // current key is the one recorded in the database.
    let (old, new) = (key(1), key(2));
    assert_refused(&newer, Status::SecretKey, &[old.id(), new.id()], || newer.ossea_config_create(&config("second")));
    assert_eq!(newer.rotate_secret_key(key(2)).unwrap(), 2);
    let second = newer.ossea_config_create(&config("second")).unwrap();
    assert_eq!(newer.ossea_config_get(second).unwrap().sealed_with_key.as_deref(), Some(key(2).id()));
    let via_options =
        Store::open(&path, OpenOptions::default().secret_key(key(2)).previous_secret_key(key(1))).unwrap();
    assert_eq!(via_options.ossea_config_secrets(id).unwrap().secret_key.as_str(), SECRET);
}

/// Envelopes sealed by libsendense 0.1.0 (envelope version 1, bound to the column only) with
/// `key(1)`: `API_KEY` for `ossea_configs.api_key` and `SECRET` for `ossea_configs.secret_key`.
const V1_API_KEY: &str = "sndsec1:6b14d98b3522f40e:cfb9f29d10cc1b074e5d0071af474c340edaf4851df2bf4cbea7b1c92d579454\
                          792784d679e67de49811ea53cc97f0610e239d4c781bba13cbb6d5f6";
const V1_SECRET: &str = "sndsec1:6b14d98b3522f40e:4eff7310babafdd6d050695b061ba8a6d35a91a0094d335e5f406c32e6e476d69e\
                         b9194f282cea85dbb57e1dc9f01d1e436c21dcd6ed5e73c01bb2";

/// Four threads create CloudStack configurations while a fifth rotates the key, on one file,
/// round after round: two writers share the rotating handle, two have handles of their own
/// (as another process would). A writer whose handle still seals with a retired key is refused
/// (SECRET_KEY naming both keys) and reopens with the new one. In the end every secret opens
/// with the last key alone: none was sealed with a key the rotation had already replaced.
#[test]
fn secrets_written_during_rotations_all_open_with_the_new_key_alone() {
    use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::SeqCst};
    use std::time::{Duration, Instant};
    const ROUNDS: u8 = 10;
    const WRITERS: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    // Five connections on two cores: a writer may wait long for its turn, and none hurries.
    let open = |path: &Path, byte: u8| {
        Store::open(path, OpenOptions::default().busy_timeout(Duration::from_secs(120)).secret_key(key(byte))).unwrap()
    };
    let rotator = Arc::new(open(&path, 1));
    let current = Arc::new(AtomicU8::new(1));
    let stop = Arc::new(AtomicBool::new(false));
    let created: Arc<Vec<AtomicUsize>> = Arc::new((0..WRITERS).map(|_| AtomicUsize::new(0)).collect());
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (path, rotator, current, stop, created) =
                (path.clone(), rotator.clone(), current.clone(), stop.clone(), created.clone());
            std::thread::spawn(move || {
                let mut own = (w >= 2).then(|| open(&path, 1));
                let mut n = 0;
                while !stop.load(SeqCst) {
                    let store = own.as_ref().unwrap_or(&rotator);
                    match store.ossea_config_create(&config(&format!("w{w}-{n}"))) {
                        Ok(_) => {
                            n += 1;
                            created[w].fetch_add(1, SeqCst);
                        }
                        Err(e) if e.status() == Status::SecretKey && own.is_some() => {
                            let mine = store.secret_key_id().unwrap();
                            let named = (1..=ROUNDS + 1).filter(|b| e.message().contains(key(*b).id())).count();
                            assert!(e.message().contains(&mine) && named == 2, "{e}");
                            own = Some(open(&path, current.load(SeqCst)));
                        }
                        Err(e) => panic!("writer {w}: {e}"),
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        })
        .collect();
    // Every writer writes between two rotations and after the last one.
    let wait_for_writes = || {
        let before: Vec<usize> = created.iter().map(|c| c.load(SeqCst)).collect();
        let deadline = Instant::now() + Duration::from_secs(240);
        while created.iter().zip(&before).any(|(c, b)| c.load(SeqCst) < b + 3) {
            assert!(Instant::now() < deadline, "the writers stalled");
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    for round in 2..=ROUNDS + 1 {
        wait_for_writes();
        rotator.rotate_secret_key(key(round)).unwrap();
        current.store(round, SeqCst);
    }
    wait_for_writes();
    stop.store(true, SeqCst);
    for w in writers {
        w.join().unwrap();
    }
    drop(rotator);

    let last = open(&path, ROUNDS + 1);
    let configs = last.ossea_config_list().unwrap();
    assert!(configs.len() >= WRITERS * 3 * (usize::from(ROUNDS) + 1), "{} configurations", configs.len());
    let stale: Vec<String> = configs
        .iter()
        .filter(|c| c.sealed_with_key.as_deref() != Some(key(ROUNDS + 1).id()))
        .map(|c| format!("{} sealed with {:?}", c.name, c.sealed_with_key))
        .collect();
    assert!(stale.is_empty(), "secrets sealed with a retired key: {stale:?}");
    for c in &configs {
        let secrets = last.ossea_config_secrets(c.id).unwrap();
        assert_eq!((secrets.api_key.as_str(), secrets.secret_key.as_str()), (API_KEY, SECRET), "{}", c.name);
    }
}

#[test]
fn a_handle_still_sealing_with_a_retired_key_is_refused_naming_both_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let first = open(&path, Some(key(1)));
    let second = open(&path, Some(key(1)));
    let a = first.ossea_config_create(&config("a")).unwrap();
    first.rotate_secret_key(key(2)).unwrap();

    let (old, new) = (key(1), key(2));
    let words = [old.id(), new.id(), "current secret key"];
    assert_refused(&second, Status::SecretKey, &words, || second.ossea_config_create(&config("b")));
    let new_key: OsseaConfigUpdate = sendense::value::from_json("update", r#"{"secret_key":"s2"}"#).unwrap();
    assert_refused(&second, Status::SecretKey, &words, || second.ossea_config_update(a, &new_key));
    assert_refused(&second, Status::SecretKey, &words, || second.linstor_config_create(&linstor("drbd")));
    // What seals nothing still works, and reopened with the current key the handle seals again.
    let rename: OsseaConfigUpdate = sendense::value::from_json("update", r#"{"name":"a2"}"#).unwrap();
    assert_eq!(second.ossea_config_update(a, &rename).unwrap().name, "a2");
    let second = open(&path, Some(key(2)));
    let b = second.ossea_config_create(&config("b")).unwrap();
    assert_eq!(first.ossea_config_secrets(b).unwrap().api_key.as_str(), API_KEY);
}

#[test]
fn a_sealed_secret_moved_to_another_row_does_not_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = open(&path, Some(key(1)));
    let a = store.ossea_config_create(&config("a")).unwrap();
    let b = store
        .ossea_config_create(&NewOsseaConfig::new("b", "https://cloud.example/api", "b-key", "b-secret", "zone-1"))
        .unwrap();
    store
        .write(|tx| {
            Ok(tx.execute(
                "UPDATE ossea_configs SET api_key = (SELECT api_key FROM ossea_configs WHERE id = ?1) WHERE id = ?2",
                [a, b],
            )?)
        })
        .unwrap();
    let e = store.ossea_config_secrets(b).unwrap_err();
    assert_eq!(e.status(), Status::SecretKey);
    for word in ["ossea_configs.api_key", &format!("row {b}"), "moved"] {
        assert!(e.message().contains(word), "{e}");
    }
    assert_eq!(store.ossea_config_secrets(a).unwrap().api_key.as_str(), API_KEY, "the source row still opens");

    // The same for Linstor secrets.
    let l1 = store.linstor_config_create(&linstor("l1")).unwrap();
    let l2 = store.linstor_config_create(&linstor("l2")).unwrap();
    store
        .write(|tx| {
            Ok(tx.execute(
                "UPDATE linstor_configs SET api_secret = (SELECT api_secret FROM linstor_configs WHERE id = ?1) \
                 WHERE id = ?2",
                [l1, l2],
            )?)
        })
        .unwrap();
    let e = store.linstor_config_secrets(l2).unwrap_err();
    assert!(e.message().contains(&format!("row {l2}")) && e.message().contains("linstor_configs.api_secret"), "{e}");
}

#[test]
fn version_1_envelopes_still_open_and_rotation_re_seals_them_bound_to_their_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = open(&path, Some(key(1)));
    let a = store.ossea_config_create(&config("a")).unwrap();
    store
        .write(|tx| {
            Ok(tx.execute(
                "UPDATE ossea_configs SET api_key = ?1, secret_key = ?2 WHERE id = ?3",
                (V1_API_KEY, V1_SECRET, a),
            )?)
        })
        .unwrap();
    assert_eq!(store.ossea_config_get(a).unwrap().sealed_with_key.as_deref(), Some(key(1).id()));
    let secrets = store.ossea_config_secrets(a).unwrap();
    assert_eq!((secrets.api_key.as_str(), secrets.secret_key.as_str()), (API_KEY, SECRET));

    assert_eq!(store.rotate_secret_key(key(2)).unwrap(), 2);
    let sealed: (String, String) = store
        .read(|tx| {
            Ok(tx.query_row("SELECT api_key, secret_key FROM ossea_configs WHERE id = ?1", [a], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?)
        })
        .unwrap();
    for envelope in [&sealed.0, &sealed.1] {
        assert!(envelope.starts_with(&format!("sndsec2:{}:", key(2).id())), "{envelope}");
    }
    let secrets = store.ossea_config_secrets(a).unwrap();
    assert_eq!((secrets.api_key.as_str(), secrets.secret_key.as_str()), (API_KEY, SECRET));
}

#[test]
fn credentials_in_urls_are_refused_without_being_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("s.db"), Some(key(1)));
    let a = store.ossea_config_create(&config("a")).unwrap();
    let check = |e: sendense::Error| {
        assert_eq!(e.status(), Status::InvalidArgument, "{e}");
        assert!(e.message().contains("api_url") && e.message().contains("user name or password"), "{e}");
        for leaked in ["hunter2", "admin", "cloud.example", "linstor.local"] {
            assert!(!e.message().contains(leaked), "the message echoes the URL: {e}");
        }
    };
    for url in [
        "https://admin:hunter2@cloud.example/client/api",
        "http://admin@cloud.example",
        "https://:hunter2@cloud.example",
    ] {
        let before = store.ossea_config_list().unwrap();
        check(store.ossea_config_create(&NewOsseaConfig { api_url: url.into(), ..config("b") }).unwrap_err());
        let update = OsseaConfigUpdate { api_url: Some(url.into()), ..Default::default() };
        check(store.ossea_config_update(a, &update).unwrap_err());
        assert_eq!(store.ossea_config_list().unwrap(), before, "a refused URL changed nothing");
    }
    for url in ["admin:hunter2@linstor.local", "http://admin:hunter2@linstor.local:3370"] {
        let new: NewLinstorConfig =
            sendense::value::from_json("linstor", &format!(r#"{{"name":"l","api_url":"{url}"}}"#)).unwrap();
        check(store.linstor_config_create(&new).unwrap_err());
    }
    assert!(store.linstor_config_list().unwrap().is_empty());
    // An @ after the host (in a path or query) is not a user name.
    store
        .ossea_config_create(&NewOsseaConfig { api_url: "https://cloud.example/api?owner=a@b".into(), ..config("c") })
        .unwrap();
}
