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
    /// An error with the given status and message.
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        Error { status, message: message.into() }
    }

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
        Error { status: self.status, message: format!("{context}: {}", self.message) }
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

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::io(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error::invalid_argument(format!("invalid JSON: {e}"))
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
    fn context_prefixes_the_message_and_keeps_the_status() {
        let e = Error::not_found("no such row").context("opening /x");
        assert_eq!(e.status(), Status::NotFound);
        assert_eq!(e.message(), "opening /x: no such row");
        assert_eq!(e.to_string(), "NOT_FOUND: opening /x: no such row");
    }
}
