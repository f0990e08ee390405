//! Value types shared by every area: [`Timestamp`], the string-enum pattern
//! ([`string_enum!`](crate::string_enum)), and the JSON conventions.
//!
//! JSON conventions (the same for every record): read-outs use the original column names as
//! keys and RFC 3339 UTC strings for timestamps (`"2026-11-28T05:09:49.123Z"`); JSON columns
//! are embedded as JSON values, not strings. JSON input refuses unknown keys with
//! `INVALID_ARGUMENT` naming the key (serde's `deny_unknown_fields`), and accepts timestamps
//! as RFC 3339 strings or as integer milliseconds since the Unix epoch.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{echo, echo_f64, Error, Result};

/// A point in time: milliseconds since the Unix epoch, UTC (the schema's `TIMESTAMP` class).
/// Serialised to JSON as an RFC 3339 UTC string with milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Parse an RFC 3339 date-time (`2026-11-28T05:09:49Z`, optional fraction, `Z` or an
    /// offset such as `+02:00`).
    pub fn parse_rfc3339(s: &str) -> Result<Timestamp> {
        parse_rfc3339(s).ok_or_else(|| {
            Error::invalid_argument(format!(
                "{:?} is not an RFC 3339 timestamp (expected e.g. \"2026-11-28T05:09:49Z\")",
                echo(s)
            ))
        })
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = (month + 9) % 12; // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let days_in_month = [
        31,
        if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month[(month - 1) as usize]
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let frac = &s[i + 1..i + 1 + digits];
        millis = format!("{:0<3}", &frac[..digits.min(3)]).parse().ok()?;
        i += 1 + digits;
    }
    let offset_minutes = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let m = oh * 60 + om;
            if *sign == b'-' {
                -m
            } else {
                m
            }
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second.min(59);
    Some(Timestamp((seconds - offset_minutes * 60) * 1000 + millis))
}

impl Timestamp {
    /// The RFC 3339 text (`2026-11-28T07:41:04.000Z`) written into `buf` without the
    /// formatting machinery (JSON read-outs format several per row); `None` for a year outside
    /// 0..=9999, which [`fmt::Display`] writes the slow way.
    fn format_fast(self, buf: &mut [u8; 24]) -> Option<&str> {
        let secs = self.0.div_euclid(1000);
        let millis = self.0.rem_euclid(1000);
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        if !(0..=9999).contains(&year) {
            return None;
        }
        let rem = secs.rem_euclid(86_400);
        let mut put = |at: usize, value: i64, width: usize| {
            let mut v = value;
            for i in (0..width).rev() {
                buf[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, year, 4);
        put(5, month, 2);
        put(8, day, 2);
        put(11, rem / 3600, 2);
        put(14, rem % 3600 / 60, 2);
        put(17, rem % 60, 2);
        put(20, millis, 3);
        for (at, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (23, b'Z')] {
            buf[at] = c;
        }
        std::str::from_utf8(buf).ok()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 24];
        if let Some(text) = self.format_fast(&mut buf) {
            return f.write_str(text);
        }
        let secs = self.0.div_euclid(1000);
        let millis = self.0.rem_euclid(1000);
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let rem = secs.rem_euclid(86_400);
        write!(f, "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut buf = [0u8; 24];
        match self.format_fast(&mut buf) {
            Some(text) => s.serialize_str(text),
            None => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Timestamp, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Millis(i64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Millis(ms) => Ok(Timestamp(ms)),
            Repr::Text(s) => Timestamp::parse_rfc3339(&s).map_err(|e| serde::de::Error::custom(e.message())),
        }
    }
}

/// Define an enum whose values cross every boundary (SQL, JSON, C) as fixed strings, validated
/// on the way in, never transmuted. Generates `as_str`, `parse` (INVALID_ARGUMENT naming the
/// allowed values), `ALL`, `Display`, serde, and the SQL conversions of the store.
#[macro_export]
#[doc(hidden)]
macro_rules! string_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident : $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value's string form, as stored in the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parse the string form; anything else is `INVALID_ARGUMENT` naming the allowed values.
            pub fn parse(s: &str) -> $crate::Result<$name> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::Error::invalid_argument(format!(
                        concat!("{:?} is not a valid ", $what, " (expected one of: {})"),
                        $crate::error::echo(s),
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<$name, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&s).map_err(|e| serde::de::Error::custom(e.message()))
            }
        }

        $crate::sql_text_enum!($name);
    };
}

/// Parse a JSON input document into `T`, refusing malformed JSON, wrong types and (through
/// `deny_unknown_fields` on `T`) unknown keys, each as `INVALID_ARGUMENT` naming the problem.
pub fn from_json<T: DeserializeOwned>(what: &str, json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::invalid_argument(format!("{what}: {}", echo(&e.to_string()))))
}

/// Serialise a record to its JSON read-out.
pub fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(format!("serialising to JSON: {e}")))
}

/// For `Option<Option<T>>` update fields: a key that is present (even `null`) deserialises to
/// `Some(..)`, an absent key stays `None` (via `#[serde(default)]`), so an update can tell
/// "set to NULL" from "leave alone".
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> std::result::Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A new collision-free id: a UUIDv7 (time-ordered, so inserts stay at the end of indexes).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A name people type (repository, policy, configuration names): not blank, no control
/// characters; INVALID_ARGUMENT naming `what` otherwise.
pub fn check_name(what: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        Err(Error::invalid_argument(format!("{what} is empty")))
    } else if name.chars().any(char::is_control) {
        Err(Error::invalid_argument(format!("{what} {:?} contains a control character", echo(name))))
    } else {
        Ok(())
    }
}

/// Validate a caller-supplied text id: non-empty, at most 255 bytes, no control characters.
pub fn check_id(what: &str, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid_argument(format!("{what} is empty")));
    }
    if id.len() > 255 {
        return Err(Error::invalid_argument(format!("{what} is longer than 255 bytes")));
    }
    if id.chars().any(char::is_control) {
        return Err(Error::invalid_argument(format!("{what} {:?} contains control characters", echo(id))));
    }
    Ok(())
}

/// `value` must be a percentage, 0 to 100 (NaN is not): INVALID_ARGUMENT naming `name`.
pub fn check_percent(name: &str, value: f64) -> Result<()> {
    if (0.0..=100.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid_argument(format!("{name} {} is outside 0-100", echo_f64(value))))
    }
}

/// Every `(name, value)` must be >= 0: INVALID_ARGUMENT naming the first that is not.
pub fn check_non_negative(values: &[(&str, i64)]) -> Result<()> {
    match values.iter().find(|(_, v)| *v < 0) {
        Some((name, v)) => Err(Error::invalid_argument(format!("{name} is negative ({v})"))),
        None => Ok(()),
    }
}

/// A progress report's byte counts: both >= 0, and bytes transferred at most the total when
/// the total is known (> 0).
pub fn check_bytes_within(bytes_transferred: i64, total_bytes: i64) -> Result<()> {
    check_non_negative(&[("bytes_transferred", bytes_transferred), ("total_bytes", total_bytes)])?;
    if total_bytes > 0 && bytes_transferred > total_bytes {
        return Err(Error::invalid_argument(format!(
            "bytes_transferred {bytes_transferred} exceeds total_bytes {total_bytes}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_as_rfc3339_utc_with_millis() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp(1_764_306_589_123).to_string(), "2025-11-28T05:09:49.123Z");
        assert_eq!(Timestamp(951_782_400_000).to_string(), "2000-02-29T00:00:00.000Z");
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999Z");
        assert_eq!(serde_json::to_string(&Timestamp(0)).unwrap(), "\"1970-01-01T00:00:00.000Z\"");
    }

    #[test]
    fn the_fast_timestamp_format_equals_the_formatted_one() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut samples = vec![0, -1, 1, 253_402_300_799_999, -62_167_219_200_000, 1_764_306_589_123];
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push((x % 253_402_300_800_000) as i64 - 62_167_219_200_000 / 2);
        }
        for ms in samples {
            let t = Timestamp(ms);
            let secs = ms.div_euclid(1000);
            let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
            let rem = secs.rem_euclid(86_400);
            let slow = format!(
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
                rem / 3600,
                rem % 3600 / 60,
                rem % 60,
                ms.rem_euclid(1000)
            );
            assert_eq!(t.to_string(), slow, "{ms}");
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{slow}\""), "{ms}");
        }
        assert!(Timestamp(-62_167_219_200_001).to_string().starts_with('-'), "year -1 takes the slow path");
    }

    #[test]
    fn rfc3339_round_trips_and_honours_offsets() {
        for ms in [0, 1, 999, 1_764_306_589_123, 4_102_444_800_000, -86_400_001, 951_782_400_000] {
            assert_eq!(Timestamp::parse_rfc3339(&Timestamp(ms).to_string()).unwrap(), Timestamp(ms), "{ms}");
        }
        assert_eq!(Timestamp::parse_rfc3339("2025-11-28T07:09:49+02:00").unwrap(), Timestamp(1_764_306_589_000));
        assert_eq!(Timestamp::parse_rfc3339("2025-11-28T05:09:49.1Z").unwrap(), Timestamp(1_764_306_589_100));
        assert_eq!(Timestamp::parse_rfc3339("2025-11-28T05:09:49.123456Z").unwrap(), Timestamp(1_764_306_589_123));
        for bad in [
            "",
            "2025-11-28",
            "2025-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2025-11-28T05:09:49",
            "2025-11-28T05:09:49.Z",
            "x025-11-28T05:09:49Z",
            "2025-11-28T24:00:00Z",
        ] {
            let e = Timestamp::parse_rfc3339(bad).unwrap_err();
            assert!(e.message().contains("RFC 3339"), "{bad}: {e}");
        }
    }

    #[test]
    fn timestamps_deserialise_from_strings_or_millis() {
        let t: Timestamp = serde_json::from_str("\"1970-01-01T00:00:01Z\"").unwrap();
        assert_eq!(t, Timestamp(1000));
        let t: Timestamp = serde_json::from_str("1500").unwrap();
        assert_eq!(t, Timestamp(1500));
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }

    string_enum! {
        /// A test enum.
        enum Colour: "colour" { Red = "red", Green = "green" }
    }

    #[test]
    fn string_enums_parse_strictly_and_name_the_allowed_values() {
        assert_eq!(Colour::parse("red").unwrap(), Colour::Red);
        let e = Colour::parse("Red").unwrap_err();
        assert_eq!(e.message(), "\"Red\" is not a valid colour (expected one of: red, green)");
        assert_eq!(serde_json::to_string(&Colour::Green).unwrap(), "\"green\"");
        let e = serde_json::from_str::<Colour>("\"blue\"").unwrap_err();
        assert!(e.to_string().contains("not a valid colour"), "{e}");
        assert_eq!(Colour::ALL.len(), 2);
    }

    #[test]
    fn ids_are_checked() {
        assert!(check_id("job id", "job-1").is_ok());
        assert_eq!(check_id("job id", "").unwrap_err().message(), "job id is empty");
        assert!(check_id("job id", &"x".repeat(256)).is_err());
        assert!(check_id("job id", "a\nb").is_err());
        assert_ne!(new_id(), new_id());
    }
}
