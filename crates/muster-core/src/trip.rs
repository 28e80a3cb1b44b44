//! The trip a booking is on: a sailing, flight or route code (`DY1234`, `AURORA-1204`,
//! `BGO-OSL`). Its date is the case's departure date, so "flight DY1234 on 4 December" is
//! the trip `DY1234` with departure 2026-12-04. It comes from the form's optional field,
//! the audience file's `trip` column, or inbound text (see [`find_trip`]).

use regex_lite::Regex;
use serde::{Deserialize, Serialize};

use crate::problem::Problem;

pub const TRIP_MAX: usize = 40;

/// A trip code as stored: trimmed, upper case, single spaces; letters, digits, spaces,
/// `-`, `/` and `.` only, 2 to [`TRIP_MAX`] characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Trip(String);

impl Trip {
    pub fn parse(raw: &str) -> Result<Trip, Problem> {
        let code = raw
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_uppercase();
        if code.chars().count() > TRIP_MAX {
            return Err(Problem::too_long(TRIP_MAX));
        }
        let allowed = |c: char| c.is_alphanumeric() || matches!(c, ' ' | '-' | '/' | '.');
        if code.chars().count() < 2 || !code.chars().all(allowed) {
            return Err(Problem::of("err_trip"));
        }
        Ok(Trip(code))
    }

    /// An optional field: empty is no trip, anything else must be one.
    pub fn parse_optional(raw: &str) -> Result<Option<Trip>, Problem> {
        match raw.trim() {
            "" => Ok(None),
            typed => Trip::parse(typed).map(Some),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Trip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The pattern on inbound text: a trip word (flight, sailing, route, trip, voyage, and
/// their Norwegian, Russian, Latvian and Persian words), a separator, then a code of 2 to
/// 20 letters, digits and hyphens that holds a digit: "flight DY1234", "sailing:
/// AUR-1204", "рейс SU2150". "My flight was cancelled" names no trip. The word boundaries
/// are spelt out: regex-lite's `\b` knows only ASCII words, and "рейс" is not one.
pub const TRIP_PATTERN: &str = r"(?i)(?:^|[^A-Za-z0-9])(?:flight\s+no|flight|sailing|route|trip|voyage|flyvning|avgang|seiling|rute|рейс|reiss|lidojums|پرواز)[\s:#.\-]+(?:(?:no|nr|number)\.?[\s:#.\-]+)?([A-Z0-9][A-Z0-9\-]{1,19})\b";

static PATTERN: std::sync::LazyLock<Option<Regex>> =
    std::sync::LazyLock::new(|| Regex::new(TRIP_PATTERN).ok());

/// The first trip named in `text` by [`TRIP_PATTERN`].
pub fn find_trip(text: &str) -> Option<Trip> {
    let pattern = PATTERN.as_ref()?;
    pattern.captures_iter(text).find_map(|caps| {
        let code = caps.get(1)?.as_str();
        code.chars()
            .any(|c| c.is_ascii_digit())
            .then(|| Trip::parse(code).ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_are_normalised_and_checked() {
        assert_eq!(
            Trip::parse("  dy 1234 ").map(|t| t.to_string()),
            Ok("DY 1234".to_owned())
        );
        assert_eq!(
            Trip::parse("aurora-1204").map(|t| t.to_string()),
            Ok("AURORA-1204".to_owned())
        );
        assert!(Trip::parse("x").is_err());
        assert!(Trip::parse("DY1234; DROP").is_err());
        assert!(Trip::parse(&"A".repeat(TRIP_MAX + 1)).is_err());
        assert_eq!(Trip::parse_optional("  "), Ok(None));
    }

    #[test]
    fn finds_trips_in_text() {
        assert!(PATTERN.is_some(), "the pattern compiles");
        let found = |text: &str| find_trip(text).map(|t| t.to_string());
        assert_eq!(
            found("My flight DY1234 tomorrow was cancelled").as_deref(),
            Some("DY1234")
        );
        assert_eq!(
            found("Sailing: aur-1204, cabin 5").as_deref(),
            Some("AUR-1204")
        );
        assert_eq!(found("мой рейс SU2150 отменён").as_deref(), Some("SU2150"));
        assert_eq!(found("My flight was cancelled"), None);
        assert_eq!(found("a trip to Oslo"), None);
        assert_eq!(
            found("sailing NORDLYS-1204").as_deref(),
            Some("NORDLYS-1204"),
            "a code that begins with NO is not cut"
        );
        assert_eq!(found("flight no. DY1234").as_deref(), Some("DY1234"));
        assert_eq!(found("the airoute X1234 is fine"), None);
    }

    proptest! {
        #[test]
        fn never_panics_and_finds_only_valid_codes(text in "\\PC{0,300}") {
            if let Some(trip) = find_trip(&text) {
                prop_assert!(Trip::parse(trip.as_str()).is_ok());
            }
        }
    }
}
