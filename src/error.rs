//! The one error type of the library.
//!
//! Every fallible operation returns [`Result<T>`]. An [`Error`] carries a [`Status`] (the
//! category a caller branches on, identical to the C ABI's `sendense_status` codes) and a
//! message that names the problem (the argument, the row, the file, the forbidden edge).

use std::fmt;

/// The category of an error. The numeric codes are part of the C ABI (`SENDENSE_STATUS_*`)
/// and are append-only: a code never changes meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// An argument is missing, malformed or out of range.
    InvalidArgument,
    /// The addressed record or file does not exist.
    NotFound,
    /// A record with the same identity already exists.
    AlreadyExists,
    /// The operation collides with the current state of another record.
    Conflict,
    /// The record's state machine forbids the requested transition.
    InvalidState,
    /// The database stayed locked by another connection for longer than the busy timeout.
    Busy,
    /// The database file is damaged.
    Corrupt,
    /// The database was written by a newer libsendense with a newer schema.
    SchemaTooNew,
    /// An operating-system level failure: cannot open, read-only, disk full, I/O error.
    Io,
    /// A bug or an unexpected condition inside the library.
    Internal,
    /// A panic was caught at the C ABI boundary.
    Panic,
    /// The file is not a SQLite database, or is the database of another application.
    NotADatabase,
    /// A secret cannot be sealed or opened: the store was opened without a secret key, with
    /// another key than the one the secret was sealed with, or the sealed text fails
    /// authentication (it was altered).
    SecretKey,
}

impl Status {
    /// Every status, in code order (code 1 first).
    pub const ALL: [Status; 13] = [
        Status::InvalidArgument,
        Status::NotFound,
        Status::AlreadyExists,
        Status::Conflict,
        Status::InvalidState,
        Status::Busy,
        Status::Corrupt,
        Status::SchemaTooNew,
        Status::Io,
        Status::Internal,
        Status::Panic,
        Status::NotADatabase,
        Status::SecretKey,
    ];

    /// The numeric code used by the C ABI. `0` is reserved for success.
    pub fn code(self) -> i32 {
        match self {
            Status::InvalidArgument => 1,
            Status::NotFound => 2,
            Status::AlreadyExists => 3,
            Status::Conflict => 4,
            Status::InvalidState => 5,
            Status::Busy => 6,
            Status::Corrupt => 7,
            Status::SchemaTooNew => 8,
            Status::Io => 9,
            Status::Internal => 10,
            Status::Panic => 11,
            Status::NotADatabase => 12,
            Status::SecretKey => 13,
        }
    }

    /// The status for a C ABI code, if the code is known.
    pub fn from_code(code: i32) -> Option<Status> {
        Status::ALL.iter().copied().find(|s| s.code() == code)
    }

    /// The upper-case name used in the C header (`INVALID_ARGUMENT`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Status::InvalidArgument => "INVALID_ARGUMENT",
            Status::NotFound => "NOT_FOUND",
            Status::AlreadyExists => "ALREADY_EXISTS",
            Status::Conflict => "CONFLICT",
            Status::InvalidState => "INVALID_STATE",
            Status::Busy => "BUSY",
            Status::Corrupt => "CORRUPT",
            Status::SchemaTooNew => "SCHEMA_TOO_NEW",
            Status::Io => "IO",
            Status::Internal => "INTERNAL",
            Status::Panic => "PANIC",
            Status::NotADatabase => "NOT_A_DATABASE",
            Status::SecretKey => "SECRET_KEY",
        }
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
