//! The intake form: what a customer typed, checked field by field. Errors are message keys
//! (translated by the web layer), so every bad field gets a specific message beside it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;

use crate::contact_info::{BookingRef, EmailAddress, PhoneNumber};
use crate::incident::RequestType;
use crate::language::Lang;
use crate::problem::Problem;
use crate::text_rule::{TextError, long_text, single_line};
use crate::trip::Trip;

pub const NAME_MAX: usize = 200;
pub const MESSAGE_MAX: usize = 5_000;
/// Departures further ahead than this are typing mistakes, not trips.
const DEPARTURE_HORIZON_DAYS: i64 = 2 * 366;
/// A trip cancelled last week is still a reason to write (for the refund): departures up to
/// this many days ago are accepted.
const DEPARTURE_PAST_DAYS: i64 = 30;

/// The one rule for a departure date on every channel: from 30 days ago to two years ahead
/// of `today` in the incident's time zone.
pub fn check_departure(date: Date, today: Date) -> Result<Date, Problem> {
    let days = (date - today).whole_days();
    if days < -DEPARTURE_PAST_DAYS {
        Err(Problem::of("err_date_past"))
    } else if days > DEPARTURE_HORIZON_DAYS {
        Err(Problem::of("err_date_far"))
    } else {
        Ok(date)
    }
}

/// The form exactly as typed; kept whole so it can be shown back on an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IntakeForm {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub booking_ref: String,
    pub departure_date: String,
    /// Optional: the sailing, flight or route (`trip::Trip`).
    pub trip: String,
    pub request_type: String,
    pub message: String,
    pub language: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidIntake {
    pub name: String,
    pub email: EmailAddress,
    pub phone: Option<PhoneNumber>,
    pub booking_ref: BookingRef,
    pub departure_date: Date,
    pub trip: Option<Trip>,
    pub request_type: String,
    pub message: String,
    pub language: Lang,
}

pub type IntakeErrors = BTreeMap<&'static str, Problem>;

/// Parses `YYYY-MM-DD` strictly: 2026-02-30 is not a date.
pub fn parse_date(raw: &str) -> Option<Date> {
    let folded = crate::ascii_forms::fold(raw);
    Date::parse(folded.trim(), format_description!("[year]-[month]-[day]")).ok()
}

fn required<'a>(errors: &mut IntakeErrors, field: &'static str, value: &'a str) -> Option<&'a str> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        errors.insert(field, Problem::of("err_required"));
        None
    } else {
        Some(trimmed)
    }
}

/// The one text rule (`text_rule`): a line break where one line is expected, or an
/// invisible control character (a NUL pasted from somewhere), is sent back with its message.
fn clean(
    errors: &mut IntakeErrors,
    field: &'static str,
    value: &str,
    rule: fn(&str) -> Result<(), TextError>,
) -> bool {
    match rule(value) {
        Ok(()) => true,
        Err(TextError::LineBreak) => {
            errors.insert(field, Problem::of("err_line_break"));
            false
        }
        Err(TextError::Control(_)) => {
            errors.insert(field, Problem::of("err_control"));
            false
        }
    }
}

fn within(errors: &mut IntakeErrors, field: &'static str, value: &str, max: usize) -> bool {
    if value.chars().count() > max {
        errors.insert(field, Problem::too_long(max));
        false
    } else {
        true
    }
}

pub fn validate(
    form: &IntakeForm,
    request_types: &[RequestType],
    languages: &[Lang],
    today: Date,
) -> Result<ValidIntake, IntakeErrors> {
    let mut errors = IntakeErrors::new();
    let name = required(&mut errors, "name", &form.name)
        .filter(|n| within(&mut errors, "name", n, NAME_MAX))
        .filter(|n| clean(&mut errors, "name", n, single_line));
    let email = required(&mut errors, "email", &form.email).and_then(|raw| {
        EmailAddress::parse(raw)
            .map_err(|_| errors.insert("email", Problem::of("err_email")))
            .ok()
    });
    let phone = match form.phone.trim() {
        "" => Some(None),
        raw => PhoneNumber::parse(raw)
            .map(Some)
            .map_err(|_| errors.insert("phone", Problem::of("err_phone")))
            .ok(),
    };
    let booking_ref = required(&mut errors, "booking_ref", &form.booking_ref).and_then(|raw| {
        BookingRef::parse(raw)
            .map_err(|_| errors.insert("booking_ref", Problem::of("err_booking_ref")))
            .ok()
    });
    let departure_date =
        required(&mut errors, "departure_date", &form.departure_date).and_then(|raw| {
            let Some(date) = parse_date(raw) else {
                errors.insert("departure_date", Problem::of("err_date"));
                return None;
            };
            check_departure(date, today)
                .map_err(|problem| errors.insert("departure_date", problem))
                .ok()
        });
    let trip = Trip::parse_optional(&form.trip)
        .map_err(|problem| errors.insert("trip", problem))
        .ok();
    let request_type = required(&mut errors, "request_type", &form.request_type).and_then(|raw| {
        if request_types.iter().any(|t| t.key == raw) {
            Some(raw.to_owned())
        } else {
            errors.insert("request_type", Problem::of("err_request_type"));
            None
        }
    });
    let message = required(&mut errors, "message", &form.message)
        .filter(|m| within(&mut errors, "message", m, MESSAGE_MAX))
        .filter(|m| clean(&mut errors, "message", m, long_text));
    let language = Lang::parse(&form.language)
        .ok()
        .filter(|l| languages.contains(l))
        .or_else(|| languages.first().cloned())
        .unwrap_or_else(Lang::english);
    match (
        name,
        email,
        phone,
        booking_ref,
        departure_date,
        trip,
        request_type,
        message,
    ) {
        (
            Some(name),
            Some(email),
            Some(phone),
            Some(booking_ref),
            Some(departure_date),
            Some(trip),
            Some(request_type),
            Some(message),
        ) if errors.is_empty() => Ok(ValidIntake {
            name: name.to_owned(),
            email,
            phone,
            booking_ref,
            departure_date,
            trip,
            request_type,
            message: message.to_owned(),
            language,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::IncidentSettings;
    use proptest::prelude::*;
    use time::macros::date;

    fn good() -> IntakeForm {
        IntakeForm {
            name: "Kari Nordmann".into(),
            email: "kari@example.no".into(),
            phone: String::new(),
            booking_ref: "AB1234".into(),
            departure_date: "2026-11-27".into(),
            trip: String::new(),
            request_type: "refund".into(),
            message: "Please refund my ticket".into(),
            language: "nb".into(),
        }
    }

    fn check(form: &IntakeForm) -> Result<ValidIntake, IntakeErrors> {
        let types = IncidentSettings::default().request_types;
        let langs = vec![Lang::english()];
        validate(form, &types, &langs, date!(2026 - 11 - 24))
    }

    #[test]
    fn a_trip_is_optional_and_checked_when_given() {
        assert_eq!(check(&good()).map(|v| v.trip), Ok(None));
        let with_trip = IntakeForm {
            trip: " dy1234 ".into(),
            ..good()
        };
        assert_eq!(
            check(&with_trip).map(|v| v.trip.map(|t| t.to_string())),
            Ok(Some("DY1234".to_owned()))
        );
        let bad = IntakeForm {
            trip: "DY<1234>".into(),
            ..good()
        };
        assert_eq!(error_of(bad, "trip"), Some("err_trip"));
    }

    fn error_of(form: IntakeForm, field: &str) -> Option<&'static str> {
        check(&form).err().and_then(|e| e.get(field).map(|f| f.key))
    }

    #[test]
    fn a_good_form_passes() {
        let valid = check(&good()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(valid.booking_ref.as_str(), "AB1234");
        assert_eq!(
            valid.language,
            Lang::english(),
            "a language the incident lacks falls back"
        );
    }

    #[test]
    fn control_characters_and_line_breaks_get_their_own_message() {
        let name = |name: &str| {
            error_of(
                IntakeForm {
                    name: name.into(),
                    ..good()
                },
                "name",
            )
        };
        assert_eq!(name("Kari\r\nBcc: x@example.com"), Some("err_line_break"));
        assert_eq!(name("Kari\0"), Some("err_control"));
        let message = |message: &str| {
            error_of(
                IntakeForm {
                    message: message.into(),
                    ..good()
                },
                "message",
            )
        };
        assert_eq!(message("Line one\r\n\tLine two"), None);
        assert_eq!(message("Refund\0 please"), Some("err_control"));
    }

    #[test]
    fn each_bad_field_gets_its_own_message() {
        assert_eq!(
            error_of(
                IntakeForm {
                    email: "kari@".into(),
                    ..good()
                },
                "email"
            ),
            Some("err_email")
        );
        assert_eq!(
            error_of(
                IntakeForm {
                    departure_date: "2026-02-30".into(),
                    ..good()
                },
                "departure_date"
            ),
            Some("err_date")
        );
        assert_eq!(
            error_of(
                IntakeForm {
                    departure_date: "2026-10-24".into(),
                    ..good()
                },
                "departure_date"
            ),
            Some("err_date_past")
        );
        // A sailing cancelled yesterday, or a month ago, is still a request to take in.
        for recent in ["2026-11-23", "2026-10-25"] {
            assert_eq!(
                error_of(
                    IntakeForm {
                        departure_date: recent.into(),
                        ..good()
                    },
                    "departure_date"
                ),
                None,
                "{recent}"
            );
        }
        assert_eq!(
            error_of(
                IntakeForm {
                    message: "x".repeat(100_000),
                    ..good()
                },
                "message"
            ),
            Some("err_too_long")
        );
        assert_eq!(
            error_of(
                IntakeForm {
                    name: " ".into(),
                    ..good()
                },
                "name"
            ),
            Some("err_required")
        );
        assert_eq!(
            error_of(
                IntakeForm {
                    request_type: "bribe".into(),
                    ..good()
                },
                "request_type"
            ),
            Some("err_request_type")
        );
        assert_eq!(
            error_of(
                IntakeForm {
                    phone: "call me".into(),
                    ..good()
                },
                "phone"
            ),
            Some("err_phone")
        );
        let all = check(&IntakeForm::default()).err().unwrap_or_default();
        assert_eq!(all.len(), 6, "{all:?}");
    }

    #[test]
    fn right_to_left_and_emoji_text_is_kept() {
        let form = IntakeForm {
            name: "مریم احمدی 🚢".into(),
            message: "لطفاً کمک کنید 🙏".into(),
            ..good()
        };
        let valid = check(&form).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(valid.name, "مریم احمدی 🚢");
    }

    proptest! {
        #[test]
        fn no_input_panics(name in "\\PC{0,300}", email in "\\PC{0,60}", date in "\\PC{0,20}", message in "\\PC{0,300}") {
            let _ = check(&IntakeForm { name, email, departure_date: date, message, ..good() });
        }
    }
}
