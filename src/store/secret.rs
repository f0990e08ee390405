//! Secrets at rest: the secret columns (CloudStack and Linstor API keys, later VMware
//! passwords) are stored only as authenticated ciphertext.
//!
//! A store opened with a [`SecretKey`] (32 bytes, given by the caller or read from a key file;
//! never taken from the database) seals each secret with XChaCha20-Poly1305 under a fresh
//! random 24-byte nonce from the operating system, in a versioned envelope that names the key:
//!
//! ```text
//! sndsec2:<key id: 16 hex digits>:<nonce and ciphertext with its tag, in hex>
//! ```
//!
//! The key id is the first 8 bytes of SHA-256 over a fixed label and the key, so it tells keys
//! apart without revealing them. The associated data binds the envelope to its table, column
//! and row (`ossea_configs.api_key` of the row whose `id` is 3, ...): a sealed value moved to
//! another column or another row fails to open, with a message naming the row. Envelopes of
//! version 1 (`sndsec1`, written before schema version 5) are bound to their column only; they
//! still open, and a rotation re-seals them as version 2. Opening a secret without a key, with
//! another key than the one named in the envelope, or an envelope that was altered or moved is
//! [`Status::SecretKey`] with a message saying which.
//!
//! Secrets are sealed inside the write transaction that stores them (the database lock held),
//! and the database records the id of the store's current key (`store_secret_key`): the first
//! secret sealed records it, each rotation replaces it. A handle sealing with another key (one
//! that a rotation retired, in this process or another) is refused with [`Status::SecretKey`]
//! naming both keys instead of writing a value the current key cannot open.
//!
//! Keys are rotated with [`Store::rotate_secret_key`], which re-seals every secret under the
//! new key, records it and switches the handle to it in one transaction; previous keys can be
//! given to [`OpenOptions`] so that a store can open what an older key sealed (and rotate away
//! from it).

use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use rusqlite::TransactionBehavior;

use crate::error::{echo, Error, Result, Status};
use crate::params;
use crate::store::{files, OpenOptions, Store, Tx};

/// The envelope version tags: version 1 is bound to its column, version 2 (written since
/// schema version 5) to its column and row.
const V1: &str = "sndsec1";
const V2: &str = "sndsec2";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// The most bytes a key file holds: 64 hexadecimal digits with some white space around them.
const KEY_FILE_MAX: u64 = 128;

/// A 32-byte key for the secret columns. Its [`fmt::Debug`] shows the key id only; the bytes
/// are wiped from memory when the key is dropped.
#[derive(Clone)]
pub struct SecretKey {
    bytes: Zeroizing<[u8; 32]>,
    id: String,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.id)
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &SecretKey) -> bool {
        self.id == other.id && *self.bytes == *other.bytes
    }
}

impl SecretKey {
    /// The key length in bytes.
    pub const LEN: usize = 32;

    /// A key from exactly 32 bytes; another length is INVALID_ARGUMENT.
    pub fn from_bytes(bytes: &[u8]) -> Result<SecretKey> {
        let array: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::invalid_argument(format!("a secret key is {} bytes, not {}", SecretKey::LEN, bytes.len()))
        })?;
        let mut digest = Sha256::new();
        digest.update(b"libsendense secret key id v1\0");
        digest.update(array);
        let id = hex(&digest.finalize()[..8]);
        Ok(SecretKey { bytes: Zeroizing::new(array), id })
    }

    /// A key read from a key file holding exactly 32 bytes, or 64 hexadecimal digits
    /// (surrounding white space ignored, at most 128 bytes in all), such as
    /// [`SecretKey::create_file`] writes.
    ///
    /// The key file must be a regular file (a symbolic link to one is followed) that neither
    /// group nor others may read or write: a mode such as 0644 is [`Status::SecretKey`] naming
    /// the mode, since anyone who can read the file can open every secret of the store. A
    /// FIFO, device or directory is INVALID_ARGUMENT, and is not waited on or read; so is a
    /// larger file or other contents. A missing or unreadable file is IO naming it.
    pub fn from_file(path: impl AsRef<Path>) -> Result<SecretKey> {
        let path = path.as_ref();
        let contents = read_key_file(path)?;
        if contents.len() == SecretKey::LEN {
            return SecretKey::from_bytes(&contents);
        }
        let text = std::str::from_utf8(&contents).unwrap_or("").trim();
        match unhex(text) {
            Some(bytes) if bytes.len() == SecretKey::LEN => SecretKey::from_bytes(&Zeroizing::new(bytes)),
            _ => Err(Error::invalid_argument(format!(
                "the key file {} holds {} bytes: expected {} raw bytes or {} hexadecimal digits",
                echo(&path.to_string_lossy()),
                contents.len(),
                SecretKey::LEN,
                2 * SecretKey::LEN
            ))),
        }
    }

    /// Generate a new key and write it to the new key file `path`, durably; returns the key.
    ///
    /// The file holds the key as 64 hexadecimal digits and a newline, with mode 0600. It is
    /// written to a temporary file in the same directory, synced, linked into place and the
    /// directory synced: after a crash or power cut `path` either holds the whole key or does
    /// not exist, so a store never seals secrets under a key that a power cut then loses. An
    /// existing file, directory or symbolic link at `path` is [`Status::AlreadyExists`] and
    /// left as it is (a key file is never replaced); a missing directory is
    /// [`Status::NotFound`].
    pub fn create_file(path: impl AsRef<Path>) -> Result<SecretKey> {
        let path = path.as_ref();
        let key = SecretKey::generate();
        files::create_durably(path, |_, file| {
            file.write_all(key.to_hex().as_bytes())?;
            Ok(file.write_all(b"\n")?)
        })
        .map_err(|e| e.context(format!("cannot create the key file {}", echo(&path.to_string_lossy()))))?;
        Ok(key)
    }

    /// A new random key from the operating system.
    pub fn generate() -> SecretKey {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        SecretKey::from_bytes(key.as_slice()).expect("a generated key has the key length")
    }

    /// The key's id as named in envelopes: 16 hexadecimal digits.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key as 64 hexadecimal digits, e.g. to write a key file.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex(&*self.bytes))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&*self.bytes).into())
    }
}

/// The contents of the key file `path`, checked to be a small regular file private to its
/// owner before anything is read.
fn read_key_file(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let name = path.to_string_lossy();
    let name = echo(&name);
    let io = |e: std::io::Error| Error::new(Status::Io, format!("cannot read the key file {name}: {e}"));
    // O_NONBLOCK: opening a FIFO does not wait for a writer (it is refused just below).
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(Error::invalid_argument(format!("the key file {name} is not a regular file")));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::new(
            Status::SecretKey,
            format!(
                "the key file {name} has mode {mode:04o}: group or others may access it, and whoever reads it \
                 opens every secret of the store; make it private to its owner (chmod 600)"
            ),
        ));
    }
    let too_large = |len: u64| {
        Error::invalid_argument(format!(
            "the key file {name} holds {len} bytes: a key file holds at most {KEY_FILE_MAX} ({} raw bytes or {} \
             hexadecimal digits)",
            SecretKey::LEN,
            2 * SecretKey::LEN
        ))
    };
    if meta.len() > KEY_FILE_MAX {
        return Err(too_large(meta.len()));
    }
    // A file may grow, or report no size (procfs): read at most one byte more than allowed.
    let mut contents = Zeroizing::new(Vec::with_capacity(KEY_FILE_MAX as usize + 1));
    file.take(KEY_FILE_MAX + 1).read_to_end(&mut contents).map_err(io)?;
    if contents.len() as u64 > KEY_FILE_MAX {
        return Err(too_large(contents.len() as u64));
    }
    Ok(contents)
}

/// Where a secret lives: the row (its `id`) and column of a table. A version 2 envelope is
/// bound to all three; a version 1 envelope to the column only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot<'a> {
    pub(crate) table: &'a str,
    pub(crate) column: &'a str,
    pub(crate) row: i64,
}

impl fmt::Display for Slot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{} of row {}", self.table, self.column, self.row)
    }
}

impl Slot<'_> {
    /// The associated data of an envelope of `version` sealed with key `key_id` for this slot.
    fn associated_data(&self, version: &str, key_id: &str) -> String {
        match version {
            V1 => format!("{V1}:{key_id}:{}.{}", self.table, self.column),
            _ => format!("{V2}:{key_id}:{}.{}:{}", self.table, self.column, self.row),
        }
    }
}

/// The keys a store holds: the current one seals, any of them opens.
#[derive(Debug, Clone, Default)]
pub(crate) struct Keyring {
    pub(crate) current: Option<SecretKey>,
    pub(crate) previous: Vec<SecretKey>,
}

impl Keyring {
    /// The current key, or SECRET_KEY naming `slot` when the store has none.
    fn sealing_key(&self, slot: Slot<'_>) -> Result<&SecretKey> {
        self.current.as_ref().ok_or_else(|| {
            Error::new(
                Status::SecretKey,
                format!("{slot} is a secret and the store was opened without a secret key; open it with one"),
            )
        })
    }

    /// Open the envelope of `slot` with the key it names.
    pub(crate) fn open(&self, slot: Slot<'_>, envelope: &str) -> Result<Zeroizing<String>> {
        let (version, key_id, sealed) = parse(slot, envelope)?;
        let key = self.current.iter().chain(&self.previous).find(|k| k.id == key_id).ok_or_else(|| {
            let held = match &self.current {
                Some(k) => format!("the store was opened with key {}", k.id),
                None => "the store was opened without a secret key".to_string(),
            };
            Error::new(Status::SecretKey, format!("{slot} is sealed with key {}, but {held}", echo(key_id)))
        })?;
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let aad = slot.associated_data(version, key_id);
        let plain = key
            .cipher()
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: aad.as_bytes() })
            .map_err(|_| {
            Error::new(
                Status::SecretKey,
                format!(
                    "{slot} does not authenticate under key {key_id}: the sealed value was altered, \
                         or moved from another row or column",
                    key_id = echo(key_id)
                ),
            )
        })?;
        let plain = Zeroizing::new(plain);
        String::from_utf8(plain.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| Error::internal(format!("{slot} opened to bytes that are not UTF-8")))
    }
}

/// The key id an envelope (of either version) names, if it is an envelope.
pub fn envelope_key_id(envelope: &str) -> Option<&str> {
    envelope_parts(envelope).map(|(_, id, _)| id)
}

/// An envelope's version tag, key id and body.
fn envelope_parts(envelope: &str) -> Option<(&'static str, &str, &str)> {
    let (version, rest) = [V1, V2].into_iter().find_map(|v| Some((v, envelope.strip_prefix(v)?.strip_prefix(':')?)))?;
    let (id, body) = rest.split_once(':')?;
    Some((version, id, body))
}

fn seal_with(key: &SecretKey, slot: Slot<'_>, plaintext: &str) -> Result<String> {
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let aad = slot.associated_data(V2, &key.id);
    let ciphertext = key
        .cipher()
        .encrypt(&nonce, Payload { msg: plaintext.as_bytes(), aad: aad.as_bytes() })
        .map_err(|_| Error::internal(format!("sealing {slot} failed")))?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&ciphertext);
    Ok(format!("{V2}:{}:{}", key.id, hex(&sealed)))
}

/// Split an envelope into its version, key id and the nonce-and-ciphertext bytes.
fn parse<'a>(slot: Slot<'_>, envelope: &'a str) -> Result<(&'static str, &'a str, Vec<u8>)> {
    let malformed = || {
        Error::new(
            Status::SecretKey,
            format!("{slot} does not hold a sealed secret ({V2} or {V1} envelope); it was written outside the library"),
        )
    };
    let (version, key_id, body) = envelope_parts(envelope).ok_or_else(malformed)?;
    let sealed = unhex(body).ok_or_else(malformed)?;
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(malformed());
    }
    Ok((version, key_id, sealed))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    text.as_bytes().chunks(2).map(|p| Some(digit(p[0])? << 4 | digit(p[1])?)).collect()
}

/// Every secret column: (table, column). Rotation re-seals them all; each table's rows are
/// identified by their `id`.
pub const SECRET_COLUMNS: &[(&str, &str)] = &[
    ("ossea_configs", "api_key"),
    ("ossea_configs", "secret_key"),
    ("linstor_configs", "api_key"),
    ("linstor_configs", "api_secret"),
    ("vmware_credentials", "password_encrypted"),
];

/// Check, inside a write transaction, that `key` is the store's current key as recorded in
/// `store_secret_key`, recording it when no key is recorded yet (the first secret sealed). A
/// handle holding another key is SECRET_KEY naming both.
fn check_recorded_key(tx: &Tx<'_>, key: &SecretKey, now: i64) -> Result<()> {
    let recorded: Option<String> =
        tx.optional("SELECT key_id FROM store_secret_key WHERE id = 1", params![], |r| r.get(0))?;
    match recorded {
        Some(id) if id == key.id => Ok(()),
        Some(id) => Err(Error::new(
            Status::SecretKey,
            format!(
                "this handle seals with key {mine}, but the store's current secret key is {id} (recorded by \
                 the last rotation or the first secret sealed); reopen the store with key {id}, or rotate to \
                 key {mine} with a handle that opens every secret",
                mine = key.id
            ),
        )),
        None => record_key(tx, key, now),
    }
}

/// Record `key` as the store's current key.
fn record_key(tx: &Tx<'_>, key: &SecretKey, now: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO store_secret_key (id, key_id, updated_at) VALUES (1, :key_id, :now) \
         ON CONFLICT (id) DO UPDATE SET key_id = excluded.key_id, updated_at = excluded.updated_at",
        params![key_id = key.id, now],
    )?;
    Ok(())
}

impl Store {
    /// Open the store at `path` with `key` as its secret key (see [`Store::open`] for the rest).
    pub fn open_with_key(path: impl AsRef<Path>, options: OpenOptions, key: SecretKey) -> Result<Store> {
        Store::open(path, options.secret_key(key))
    }

    /// The id of the key that seals new secrets; `None` when the store has no secret key.
    pub fn secret_key_id(&self) -> Option<String> {
        self.keys().read().current.as_ref().map(|k| k.id().to_string())
    }

    /// Let this handle also open secrets sealed with `key` (an older key, e.g. to rotate
    /// away from it); new secrets stay sealed with the current key.
    pub fn add_previous_secret_key(&self, key: SecretKey) {
        let mut keys = self.keys().write();
        if keys.current.as_ref() != Some(&key) && !keys.previous.contains(&key) {
            keys.previous.push(key);
        }
    }

    /// Seal `plaintext` for `slot` under the store's key, inside the write transaction `tx`
    /// (which holds the database lock, so no rotation can come between the seal and the
    /// write). The key must be the store's current key as recorded in the database (SECRET_KEY
    /// naming both keys otherwise); the first secret sealed records it.
    pub(crate) fn seal_in(&self, tx: &Tx<'_>, slot: Slot<'_>, plaintext: &str) -> Result<String> {
        let keys = self.keys().read();
        let key = keys.sealing_key(slot)?;
        check_recorded_key(tx, key, self.now_ms())?;
        seal_with(key, slot, plaintext)
    }

    /// Open the sealed value of `slot`.
    pub(crate) fn unseal(&self, slot: Slot<'_>, envelope: &str) -> Result<Zeroizing<String>> {
        self.keys().read().open(slot, envelope)
    }

    /// Re-seal every secret of the store under `new_key` (as version 2 envelopes, bound to
    /// their rows), record `new_key` in the database as the store's current key, and make it
    /// the key this handle seals with, all in one transaction: the handle switches keys before
    /// the database lock is released (and switches back if the commit fails), so no secret is
    /// sealed with the old key after the rotation. The old key stays with the handle to open
    /// what may still hold it; other handles and processes that seal with it are refused
    /// (SECRET_KEY) until reopened with the new key.
    ///
    /// Every secret must open with the handle's keys first: one that does not is
    /// [`Status::SecretKey`] naming its row and nothing changes. Returns how many values
    /// were re-sealed.
    pub fn rotate_secret_key(&self, new_key: SecretKey) -> Result<usize> {
        let mut conn = self.conn.lock();
        let tx =
            conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.busy_context(e.into()))?;
        let mut keys = self.keys().write();
        let count = reseal_all(&Tx::new(&tx), &keys, &new_key, self.now_ms())?;
        let mut rotated = keys.clone();
        if let Some(old) = rotated.current.replace(new_key.clone()) {
            if old != new_key && !rotated.previous.contains(&old) {
                rotated.previous.push(old);
            }
        }
        rotated.previous.retain(|k| *k != new_key);
        let before = std::mem::replace(&mut *keys, rotated);
        if let Err(e) = tx.commit() {
            *keys = before;
            return Err(self.busy_context(e.into()));
        }
        Ok(count)
    }
}

/// Re-seal every secret under `new_key` with the keys of `ring`, and record `new_key`.
fn reseal_all(tx: &Tx<'_>, ring: &Keyring, new_key: &SecretKey, now: i64) -> Result<usize> {
    let mut count = 0;
    for (table, column) in SECRET_COLUMNS {
        let rows: Vec<(i64, String)> = tx.rows(
            &format!("SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY id"),
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        for (row, envelope) in rows {
            let slot = Slot { table, column, row };
            let plain = ring.open(slot, &envelope).map_err(|e| e.context(format!("{table} row {row}")))?;
            let sealed = seal_with(new_key, slot, &plain)?;
            tx.execute(&format!("UPDATE {table} SET {column} = :sealed WHERE id = :row"), params![sealed, row])?;
            count += 1;
        }
    }
    record_key(tx, new_key, now)?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(key: &SecretKey) -> Keyring {
        Keyring { current: Some(key.clone()), previous: Vec::new() }
    }

    const API_KEY: Slot<'static> = Slot { table: "ossea_configs", column: "api_key", row: 1 };

    fn seal(key: &SecretKey, slot: Slot<'_>, plaintext: &str) -> String {
        seal_with(key, slot, plaintext).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_with_its_key_only() {
        let key = SecretKey::from_bytes(&[7; 32]).unwrap();
        let other = SecretKey::from_bytes(&[8; 32]).unwrap();
        assert_ne!(key.id(), other.id());
        assert_eq!(key.id().len(), 16);
        let sealed = seal(&key, API_KEY, "s3cr3t-api-key");
        assert!(sealed.starts_with(&format!("sndsec2:{}:", key.id())), "{sealed}");
        assert!(!sealed.contains("s3cr3t"));
        assert_eq!(envelope_key_id(&sealed), Some(key.id()));
        assert_eq!(ring(&key).open(API_KEY, &sealed).unwrap().as_str(), "s3cr3t-api-key");

        // Two seals of the same text differ (fresh nonces).
        assert_ne!(seal(&key, API_KEY, "x"), seal(&key, API_KEY, "x"));

        let e = ring(&other).open(API_KEY, &sealed).unwrap_err();
        assert_eq!(e.status(), Status::SecretKey);
        assert!(e.message().contains(key.id()) && e.message().contains(other.id()), "{e}");
        let e = Keyring::default().open(API_KEY, &sealed).unwrap_err();
        assert!(e.message().contains("without a secret key"), "{e}");
        let e = Keyring::default().sealing_key(API_KEY).unwrap_err();
        assert_eq!(e.status(), Status::SecretKey);

        // A previous key still opens.
        let rotated = Keyring { current: Some(other.clone()), previous: vec![key.clone()] };
        assert_eq!(rotated.open(API_KEY, &sealed).unwrap().as_str(), "s3cr3t-api-key");
    }

    #[test]
    fn an_envelope_is_bound_to_its_table_column_and_row() {
        let key = SecretKey::generate();
        let sealed = seal(&key, API_KEY, "p");
        for elsewhere in [
            Slot { column: "secret_key", ..API_KEY },
            Slot { row: 2, ..API_KEY },
            Slot { table: "linstor_configs", ..API_KEY },
        ] {
            let e = ring(&key).open(elsewhere, &sealed).unwrap_err();
            assert_eq!(e.status(), Status::SecretKey);
            assert!(e.message().contains(&elsewhere.to_string()) && e.message().contains("moved"), "{e}");
        }
        // A version 1 envelope is bound to its column only: it opens in any row.
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = API_KEY.associated_data(V1, key.id());
        let mut v1 = nonce.to_vec();
        v1.extend(key.cipher().encrypt(&nonce, Payload { msg: b"old", aad: aad.as_bytes() }).unwrap());
        let v1 = format!("{V1}:{}:{}", key.id(), hex(&v1));
        assert_eq!(envelope_key_id(&v1), Some(key.id()));
        assert_eq!(ring(&key).open(Slot { row: 9, ..API_KEY }, &v1).unwrap().as_str(), "old");
        assert!(ring(&key).open(Slot { column: "secret_key", ..API_KEY }, &v1).is_err());
    }

    #[test]
    fn altered_or_foreign_values_are_refused() {
        let key = SecretKey::generate();
        let slot = Slot { table: "linstor_configs", column: "api_secret", row: 3 };
        let sealed = seal(&key, slot, "p");
        let mut flipped = sealed.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        for bad in [
            flipped.as_str(),
            "plaintext",
            "sndsec2:abc",
            "sndsec2:abc:zz",
            "sndsec3:abc:00",
            &sealed[..sealed.len() - 40],
        ] {
            let e = ring(&key).open(slot, bad).unwrap_err();
            assert_eq!(e.status(), Status::SecretKey, "{bad}");
        }
    }

    #[test]
    fn keys_come_from_bytes_or_key_files() {
        assert!(SecretKey::from_bytes(&[1; 31]).unwrap_err().message().contains("32 bytes, not 31"));
        let dir = std::env::temp_dir().join(format!("sendense-key-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, contents: &[u8]| {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.join(name);
            std::fs::write(&path, contents).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            path
        };
        let raw = write("raw.key", &[9u8; 32]);
        let hexed = write("hex.key", format!("{}\n", "09".repeat(32)).as_bytes());
        let bad = write("bad.key", b"not a key");
        let a = SecretKey::from_file(&raw).unwrap();
        assert_eq!(a, SecretKey::from_file(&hexed).unwrap());
        assert_eq!(SecretKey::from_hex_for_test(&a.to_hex()), a);
        assert_eq!(SecretKey::from_file(&bad).unwrap_err().status(), Status::InvalidArgument);
        assert_eq!(SecretKey::from_file(dir.join("missing.key")).unwrap_err().status(), Status::Io);
        assert_eq!(format!("{a:?}"), format!("SecretKey({})", a.id()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    impl SecretKey {
        fn from_hex_for_test(text: &str) -> SecretKey {
            SecretKey::from_bytes(&unhex(text).unwrap()).unwrap()
        }
    }
}
