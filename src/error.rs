//! The one error type of the library.
//!
//! Every fallible operation returns [`Result<T>`]. An [`Error`] carries a [`Status`] (the
//! category a caller branches on, identical to the C ABI's `sendense_status` codes) and a
//! message that names the problem (the argument, the row, the file, the forbidden edge).

use std::fmt;

/// The one table of statuses: the Rust [`Status`], its C ABI code and its name are generated
/// from it. The C header's `SENDENSE_STATUS_*` constants (which cbindgen must see as literals,
/// in src/ffi/status.rs) are checked against it by a unit test there, and
/// `sendense_status_name` answers [`Status::c_name`].
macro_rules! statuses {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $name:literal;)+) => {
        /// The category of an error. The numeric codes are part of the C ABI (`SENDENSE_STATUS_*`)
        /// and are append-only: a code never changes meaning.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Status {
            $($(#[$doc])* $variant,)+
        }

        impl Status {
            /// Every status, in code order (code 1 first).
            pub const ALL: [Status; [$($code),+].len()] = [$(Status::$variant),+];

            /// The numeric code used by the C ABI. `0` is reserved for success.
            pub fn code(self) -> i32 {
                match self {
                    $(Status::$variant => $code,)+
                }
            }

            /// The upper-case name used in the C header (`INVALID_ARGUMENT`, ...).
            pub fn name(self) -> &'static str {
                match self {
                    $(Status::$variant => $name,)+
                }
            }

            /// [`Status::name`] as a static C string.
            pub fn c_name(self) -> &'static std::ffi::CStr {
                match self {
                    $(Status::$variant => const {
                        match std::ffi::CStr::from_bytes_with_nul(concat!($name, "\0").as_bytes()) {
                            Ok(name) => name,
                            Err(_) => panic!("a status name contains a NUL byte"),
                        }
                    },)+
                }
            }
        }
    };
}

statuses! {
    /// An argument is missing, malformed or out of range.
    InvalidArgument = 1, "INVALID_ARGUMENT";
    /// The addressed record or file does not exist.
    NotFound = 2, "NOT_FOUND";
    /// A record with the same identity already exists.
    AlreadyExists = 3, "ALREADY_EXISTS";
    /// The operation collides with the current state of another record.
    Conflict = 4, "CONFLICT";
    /// The record's state machine forbids the requested transition.
    InvalidState = 5, "INVALID_STATE";
    /// The database stayed locked by another connection for longer than the busy timeout.
    Busy = 6, "BUSY";
    /// The database file is damaged.
    Corrupt = 7, "CORRUPT";
    /// The database was written by a newer libsendense with a newer schema.
    SchemaTooNew = 8, "SCHEMA_TOO_NEW";
    /// An operating-system level failure: cannot open, read-only, disk full, I/O error.
    Io = 9, "IO";
    /// A bug or an unexpected condition inside the library.
    Internal = 10, "INTERNAL";
    /// A panic was caught at the C ABI boundary.
    Panic = 11, "PANIC";
    /// The file is not a SQLite database, or is the database of another application.
    NotADatabase = 12, "NOT_A_DATABASE";
    /// A secret cannot be sealed or opened: the store was opened without a secret key, with
    /// another key than the one the secret was sealed with, or the sealed text fails
    /// authentication (it was altered).
    SecretKey = 13, "SECRET_KEY";
    /// The write failed while committing (an I/O error or a full disk during the commit
    /// itself), so whether its change was applied is unknown: the commit record may have
    /// reached the file before the failure, and then the change is there (at the latest once
    /// the file is next opened). Re-read the records the call would have changed, then retry
    /// only what is safe: a create with a caller-chosen id or identity answers
    /// `ALREADY_EXISTS` naming the row when it was applied. [`Status::Io`] means the failure
    /// came before the commit and nothing was changed.
    CommitUnknown = 14, "COMMIT_UNKNOWN";
}

impl Status {
    /// The status for a C ABI code, if the code is known.
    pub fn from_code(code: i32) -> Option<Status> {
        Status::ALL.iter().copied().find(|s| s.code() == code)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error: a [`Status`] and a message naming the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct Error {
    status: Status,
    message: String,
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with the given status and message. A message longer than
    /// [`Error::MESSAGE_LIMIT`] bytes is cut there: the backstop for a message that quotes
    /// input without [`echo`].
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        Error { status, message: bounded(message.into()) }
    }

    /// The longest message an error carries, in bytes (plus the note saying it was cut).
    pub const MESSAGE_LIMIT: usize = 8 * 1024;

    /// The category of the error.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The message, without the status prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error with `context` put in front of its message (`"context: message"`).
    pub fn context(self, context: impl fmt::Display) -> Error {
        Error { status: self.status, message: bounded(format!("{context}: {}", self.message)) }
    }

    /// Shorthand for [`Status::InvalidArgument`].
    pub fn invalid_argument(message: impl Into<String>) -> Error {
        Error::new(Status::InvalidArgument, message)
    }

    /// Shorthand for [`Status::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(Status::NotFound, message)
    }

    /// Shorthand for [`Status::AlreadyExists`].
    pub fn already_exists(message: impl Into<String>) -> Error {
        Error::new(Status::AlreadyExists, message)
    }

    /// Shorthand for [`Status::Conflict`].
    pub fn conflict(message: impl Into<String>) -> Error {
        Error::new(Status::Conflict, message)
    }

    /// Shorthand for [`Status::InvalidState`].
    pub fn invalid_state(message: impl Into<String>) -> Error {
        Error::new(Status::InvalidState, message)
    }

    /// Shorthand for [`Status::Io`].
    pub fn io(message: impl Into<String>) -> Error {
        Error::new(Status::Io, message)
    }

    /// Shorthand for [`Status::Internal`].
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(Status::Internal, message)
    }
}

/// `message`, cut to [`Error::MESSAGE_LIMIT`] bytes on a character boundary when longer.
fn bounded(mut message: String) -> String {
    if message.len() > Error::MESSAGE_LIMIT {
        let total = message.len();
        let cut = (0..=Error::MESSAGE_LIMIT).rev().find(|&i| message.is_char_boundary(i)).unwrap_or(0);
        message.truncate(cut);
        message.push_str(&format!("… (message cut at {cut} of {total} bytes)"));
    }
    message
}

/// How many characters of a caller's input a message quotes at most (see [`echo`]).
pub(crate) const ECHO_CHARS: usize = 200;

/// Caller input quoted in an error message, bounded: at most [`ECHO_CHARS`] characters (cut on
/// a character boundary), followed by an ellipsis and the input's total length when it was
/// cut. `{}` prints the text, `{:?}` quotes it (`"abc…" (10485760 bytes)`). Every message that
/// repeats what a caller passed (an id, a name, a path, a value) quotes it through this, so a
/// 10 MiB argument never makes a 10 MiB message.
pub(crate) fn echo(s: &str) -> Echo<'_> {
    Echo(s)
}

/// See [`echo`].
pub(crate) struct Echo<'a>(&'a str);

impl Echo<'_> {
    /// The quoted prefix, and whether it is all of the input.
    fn prefix(&self) -> (&str, bool) {
        match self.0.char_indices().nth(ECHO_CHARS) {
            Some((cut, _)) => (&self.0[..cut], false),
            None => (self.0, true),
        }
    }
}

impl fmt::Display for Echo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix() {
            (all, true) => f.write_str(all),
            (prefix, false) => write!(f, "{prefix}… ({} bytes)", self.0.len()),
        }
    }
}

impl fmt::Debug for Echo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix() {
            (all, true) => write!(f, "{all:?}"),
            (prefix, false) => {
                let quoted = format!("{prefix:?}");
                write!(f, "{}…\" ({} bytes)", &quoted[..quoted.len() - 1], self.0.len())
            }
        }
    }
}

/// A caller's floating-point number in an error message, readable at any magnitude: Rust's
/// shortest exact form when that is short (`50`, `-0.5`, `100.25`), else scientific notation
/// (`-1e-300`, `1.5e300`), never hundreds of digits.
pub(crate) fn echo_f64(x: f64) -> impl fmt::Display {
    let plain = x.to_string();
    if plain.len() <= 24 {
        plain
    } else {
        format!("{x:e}")
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::io(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error::invalid_argument(format!("invalid JSON: {}", echo(&e.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        for (i, s) in Status::ALL.iter().enumerate() {
            assert_eq!(s.code(), i as i32 + 1, "{s} is out of code order");
            assert_eq!(Status::from_code(s.code()), Some(*s));
        }
        assert_eq!(Status::from_code(0), None);
        assert_eq!(Status::from_code(99), None);
    }

    #[test]
    fn echo_keeps_short_input_and_cuts_long_input_on_a_char_boundary() {
        assert_eq!(echo("web-01").to_string(), "web-01");
        assert_eq!(format!("{:?}", echo("a\"b")), "\"a\\\"b\"");
        let exact = "é".repeat(ECHO_CHARS);
        assert_eq!(echo(&exact).to_string(), exact);

        let long = format!("{}{}", "é".repeat(ECHO_CHARS - 1), "x".repeat(10 << 20));
        let shown = echo(&long).to_string();
        assert_eq!(shown, format!("{}x… ({} bytes)", "é".repeat(ECHO_CHARS - 1), long.len()));
        let quoted = format!("{:?}", echo(&long));
        assert_eq!(quoted, format!("\"{}x…\" ({} bytes)", "é".repeat(ECHO_CHARS - 1), long.len()));

        // Escaped characters stay bounded too: at most a few bytes of escape per character.
        let controls = "\u{1}".repeat(1 << 20);
        assert!(format!("{:?}", echo(&controls)).len() < 2 * 1024);
    }

    #[test]
    fn messages_are_bounded_even_without_echo() {
        let e = Error::invalid_argument(format!("name {} is bad", "é".repeat(1 << 20)));
        assert!(e.message().len() < Error::MESSAGE_LIMIT + 64, "{}", e.message().len());
        assert!(e.message().starts_with("name éé"));
        assert!(e.message().ends_with(&format!(" of {} bytes)", 2 * (1 << 20) + 12)), "{}", &e.message()[8000..]);
        let e = Error::not_found("x").context("y".repeat(1 << 20));
        assert!(e.message().len() < Error::MESSAGE_LIMIT + 64);
        assert_eq!(Error::not_found("short").message(), "short");
    }

    #[test]
    fn echo_f64_is_short_at_every_magnitude() {
        for (x, shown) in [
            (50.0, "50"),
            (-0.5, "-0.5"),
            (100.25, "100.25"),
            (-1e-300, "-1e-300"),
            (1.5e300, "1.5e300"),
            (f64::MAX, "1.7976931348623157e308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(echo_f64(x).to_string(), shown);
        }
    }

    #[test]
    fn context_prefixes_the_message_and_keeps_the_status() {
        let e = Error::not_found("no such row").context("opening /x");
        assert_eq!(e.status(), Status::NotFound);
        assert_eq!(e.message(), "opening /x: no such row");
        assert_eq!(e.to_string(), "NOT_FOUND: opening /x: no such row");
    }
}
