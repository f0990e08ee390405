//! VMware change ids (docs/DOMAIN.md section 3): `<uuid part>/<sequence>`, the CBT epoch of a
//! disk and the position within it.
//!
//! Rules enforced here: a change id is parsed strictly (a non-empty uuid part, `/`, a decimal
//! sequence that fits 64 bits); `*` and `''`, which VMware uses for "no base", are refused like
//! any malformed id. Whether a parsed id can be a base is decided by the CBT rules (the cbt
//! module) and the job start (the job module).

use crate::error::{echo, Error, Result};

/// A parsed VMware change id, `<uuid part>/<sequence>` (e.g.
/// `52 3c 1a 9e 6f 0b 4d 2a-8f 11 22 33 44 55 66 77/42`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeId {
    /// The CBT epoch: it changes when CBT is reset on the disk.
    pub uuid: String,
    /// The position within the epoch.
    pub sequence: u64,
}

impl ChangeId {
    /// Parse a change id. `*` and `''` mean "no base" and are refused like any malformed id.
    pub fn parse(s: &str) -> Result<ChangeId> {
        let bad = |why: &str| {
            Error::invalid_argument(format!(
                "change id {:?} is invalid ({why}); expected <uuid part>/<sequence>",
                echo(s)
            ))
        };
        if s.is_empty() || s == "*" {
            return Err(bad("it means \"no base\""));
        }
        let (uuid, seq) = s.rsplit_once('/').ok_or_else(|| bad("no '/'"))?;
        if uuid.trim().is_empty() {
            return Err(bad("empty uuid part"));
        }
        if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("the sequence is not a number"));
        }
        let sequence = seq.parse().map_err(|_| bad("the sequence is out of range"))?;
        Ok(ChangeId { uuid: uuid.to_string(), sequence })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A CBT epoch as VMware writes it.
    pub(crate) const UUID: &str = "52 3c 1a 9e 6f 0b 4d 2a-8f 11 22 33 44 55 66 77";

    /// The change id at `seq` in [`UUID`]'s epoch.
    pub(crate) fn cid(seq: u64) -> String {
        format!("{UUID}/{seq}")
    }

    #[test]
    fn change_ids_parse_strictly() {
        assert_eq!(ChangeId::parse(&cid(42)).unwrap(), ChangeId { uuid: UUID.into(), sequence: 42 });
        for bad in ["", "*", "abc", "/5", "uuid/", "uuid/x1", "uuid/-1", "uuid/99999999999999999999999"] {
            let e = ChangeId::parse(bad).unwrap_err();
            assert!(e.message().starts_with(&format!("change id {bad:?} is invalid")), "{e}");
        }
    }
}
