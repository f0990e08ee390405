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
        assert!(!text.contains("sndsec1"), "a read-out carries a sealed value: {text}");
    }
    let secrets = store.ossea_config_secrets(id).unwrap();
    assert_eq!((secrets.api_key.as_str(), secrets.secret_key.as_str()), (API_KEY, SECRET));
    assert!(!format!("{secrets:?}").contains(API_KEY));

    // Neither the file nor its WAL holds a plaintext, before or after a checkpoint.
    for plain in [API_KEY, SECRET, LINSTOR_SECRET] {
        assert!(!contains(&file_bytes(&path), plain), "{plain} is in the files");
    }
    assert!(contains(&file_bytes(&path), "sndsec1:"), "the sealed values are there");
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
    // New secrets are still sealed with the current key.
    let second = newer.ossea_config_create(&config("second")).unwrap();
    assert_eq!(newer.ossea_config_get(second).unwrap().sealed_with_key.as_deref(), Some(key(2).id()));
    let via_options =
        Store::open(&path, OpenOptions::default().secret_key(key(2)).previous_secret_key(key(1))).unwrap();
    assert_eq!(via_options.ossea_config_secrets(id).unwrap().secret_key.as_str(), SECRET);
}
