//! Key files: only a small regular file private to its owner is read as a key, and
//! `SecretKey::create_file` writes one durably without ever replacing another.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use sendense::store::SecretKey;
use sendense::Status;

fn write_key_file(path: &Path, contents: &[u8], mode: u32) {
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `SecretKey::from_file` on another thread, failing the test when it does not return
/// within a few seconds.
fn from_file_promptly(path: &Path) -> sendense::Result<SecretKey> {
    let (tx, rx) = mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(SecretKey::from_file(&path));
    });
    rx.recv_timeout(Duration::from_secs(5)).expect("reading the key file did not return within 5 s")
}

#[test]
fn only_a_regular_file_private_to_its_owner_is_read_as_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let hex = format!("{}\n", "5a".repeat(32));
    let private = dir.path().join("private.key");
    write_key_file(&private, hex.as_bytes(), 0o600);
    let key = from_file_promptly(&private).unwrap();
    let read_only = dir.path().join("read-only.key");
    write_key_file(&read_only, &[0x5a; 32], 0o400);
    assert_eq!(from_file_promptly(&read_only).unwrap(), key);

    for mode in [0o644, 0o640, 0o604, 0o660] {
        let shared = dir.path().join(format!("shared-{mode:o}.key"));
        write_key_file(&shared, hex.as_bytes(), mode);
        let err = from_file_promptly(&shared).unwrap_err();
        assert_eq!(err.status(), Status::SecretKey, "{err}");
        assert!(err.message().contains(&format!("{mode:04o}")), "{err}");
        assert!(err.message().contains("group or others") && err.message().contains("shared-"), "{err}");
    }

    // A FIFO is not waited on.
    let fifo = dir.path().join("fifo.key");
    let made = std::process::Command::new("mkfifo").arg("-m").arg("600").arg(&fifo).status().unwrap();
    assert!(made.success());
    let err = from_file_promptly(&fifo).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument, "{err}");
    assert!(err.message().contains("not a regular file"), "{err}");

    // Devices and directories are not key files.
    for path in [Path::new("/dev/zero"), dir.path()] {
        let err = from_file_promptly(path).unwrap_err();
        assert_eq!(err.status(), Status::InvalidArgument, "{}: {err}", path.display());
        assert!(err.message().contains("not a regular file"), "{err}");
    }

    // A large (sparse) file is refused without being read.
    let large = dir.path().join("large.key");
    let file = std::fs::File::create(&large).unwrap();
    file.set_len(256 << 20).unwrap();
    std::fs::set_permissions(&large, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = from_file_promptly(&large).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument, "{err}");
    assert!(err.message().contains("268435456 bytes"), "{err}");
    // Padding beyond what a key file holds, too.
    let padded = dir.path().join("padded.key");
    write_key_file(&padded, format!("{}{}", "5a".repeat(32), " ".repeat(4096)).as_bytes(), 0o600);
    assert_eq!(from_file_promptly(&padded).unwrap_err().status(), Status::InvalidArgument);

    // Missing: IO naming the file, as before.
    let err = from_file_promptly(&dir.path().join("missing.key")).unwrap_err();
    assert_eq!(err.status(), Status::Io, "{err}");
    assert!(err.message().contains("missing.key"), "{err}");
}

#[test]
fn create_file_writes_a_new_private_key_file_and_never_replaces_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.key");
    let key = SecretKey::create_file(&path).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(SecretKey::from_file(&path).unwrap(), key);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{}\n", key.to_hex().as_str()));

    // An existing file, or a link (even a dangling one), is left as it is.
    let err = SecretKey::create_file(&path).unwrap_err();
    assert_eq!(err.status(), Status::AlreadyExists, "{err}");
    assert!(err.message().contains("store.key"), "{err}");
    assert_eq!(SecretKey::from_file(&path).unwrap(), key);
    let link = dir.path().join("link.key");
    std::os::unix::fs::symlink(dir.path().join("target.key"), &link).unwrap();
    assert_eq!(SecretKey::create_file(&link).unwrap_err().status(), Status::AlreadyExists);
    assert!(!dir.path().join("target.key").exists());

    // A missing directory; a directory as the path.
    let err = SecretKey::create_file(dir.path().join("no/such/dir.key")).unwrap_err();
    assert_eq!(err.status(), Status::NotFound, "{err}");
    assert_eq!(SecretKey::create_file(dir.path()).unwrap_err().status(), Status::AlreadyExists);

    // Two keys differ, and nothing but the key files is left in the directory.
    let other = SecretKey::create_file(dir.path().join("other.key")).unwrap();
    assert_ne!(other, key);
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["link.key", "other.key", "store.key"]);
}
