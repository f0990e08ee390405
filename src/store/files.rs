//! How the store names and creates files: SQLite is only ever given a file name as the
//! plain name it is, and every file the library creates (the database, an online copy, a key
//! file) is new, private to its owner and never made through a symbolic link.

use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{echo, Error, Result};

/// Create `path` as a new, empty file readable and writable by its owner only (mode 0600).
/// It must not exist: an existing file, directory or symbolic link (even a dangling one) is
/// `AlreadyExists`, so nothing is ever created through a link.
pub(crate) fn create_private(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// The directory `path` is in (`.` for a bare file name).
pub(crate) fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Make the directory entries of `dir` durable (a file created or linked there survives a
/// power cut).
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Create the new file `dest` durably: `fill` writes the contents into a private temporary
/// file next to it (given as a path and as an open file); the file is synced, linked to
/// `dest` (a link never replaces anything that is there), and the directory synced. So
/// `dest` either appears complete or not at all, and an existing file or link at `dest` is
/// `AlreadyExists` and left as it is. The temporary file and any SQLite side file of it are
/// removed in every case.
pub(crate) fn create_durably(dest: &Path, fill: impl FnOnce(&Path, &mut File) -> Result<()>) -> Result<()> {
    let name = dest.file_name().ok_or_else(|| Error::invalid_argument("the destination names no file"))?;
    if dest.symlink_metadata().is_ok() {
        return Err(Error::already_exists("it exists; refusing to overwrite it"));
    }
    let dir = dir_of(dest);
    if !dir.is_dir() {
        return Err(Error::not_found(format!("directory {} does not exist", echo(&dir.to_string_lossy()))));
    }
    let tmp = dir.join(format!(".{}.partial-{}", name.to_string_lossy(), uuid::Uuid::new_v4()));
    let mut file = create_private(&tmp)?;
    let result = fill(&tmp, &mut file).and_then(|()| {
        file.sync_all()?;
        std::fs::hard_link(&tmp, dest).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                Error::already_exists("it appeared meanwhile; refusing to overwrite it")
            }
            _ => e.into(),
        })?;
        Ok(sync_dir(dir)?)
    });
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut p = tmp.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    result
}

/// Open the database file `path` with SQLite, with `query` (`""` or `?key=value` URI
/// parameters of the library's own choosing) appended. The SQLite built into the library
/// reads names that start with `file:` as URIs (with `vfs=`, `cache=`, `mode=` ...): every
/// name is therefore passed as a URI built here, with each character that a URI gives a
/// meaning percent-encoded, so the caller's path is always the plain file name it is.
pub(crate) fn open_sqlite(path: &Path, flags: OpenFlags, query: &str) -> rusqlite::Result<Connection> {
    // An absolute path gets an empty authority (`file:///abs`), so that a path starting with
    // `//` is not read as a host name.
    let prefix = if path.is_absolute() { "file://" } else { "file:" };
    Connection::open_with_flags(format!("{prefix}{}{query}", uri_escape(path)), flags | OpenFlags::SQLITE_OPEN_URI)
}

/// Percent-encode a path for a `file:` URI.
fn uri_escape(path: &Path) -> String {
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_escape_keeps_plain_characters_and_encodes_the_rest() {
        assert_eq!(uri_escape(Path::new("/a/b-c_d.db")), "/a/b-c_d.db");
        assert_eq!(uri_escape(Path::new("/a b/x?y#z%.db")), "/a%20b/x%3Fy%23z%25.db");
        assert_eq!(uri_escape(Path::new("file:x.db")), "file%3Ax.db");
    }
}
