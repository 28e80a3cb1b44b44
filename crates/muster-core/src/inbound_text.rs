//! Reading what a customer wrote in free text (an email, a post, a call note): the booking
//! reference, a departure date if one is written, and the kind of request.

use regex_lite::Regex;
use time::{Date, Month};

use crate::contact_info::BookingRef;
use crate::intake::parse_date;

/// The default booking-reference pattern: a reference word, then 5 to 10 letters and digits.
pub const DEFAULT_BOOKING_PATTERN: &str = r"(?i)\b(?:booking|reservation|ref(?:erence)?|bestilling|bestillingsnummer|бронь|rezervācija)\b[\s:#.\-]*(?:no\.?|number|nr\.?)?[\s:#.\-]*([A-Z0-9]{5,10})\b";

/// The first booking reference the pattern finds (its first group, else the whole match).
pub fn find_booking_ref(pattern: &Regex, text: &str) -> Option<BookingRef> {
    let text = crate::ascii_forms::fold(text);
    pattern.captures_iter(&text).find_map(|caps| {
        let found = caps.get(1).or_else(|| caps.get(0))?;
        let candidate = found.as_str();
        // A reference has digits; "reference number" followed by a plain word is not one.
        candidate
            .chars()
            .any(|c| c.is_ascii_digit())
            .then(|| BookingRef::parse(candidate).ok())
            .flatten()
    })
}

/// The first plausible departure date written as 2026-11-27, 27.11.2026 or 27/11/2026,
/// within the departure rule (`intake::check_departure`) of `today`.
pub fn find_departure_date(text: &str, today: Date) -> Option<Date> {
    let text = crate::ascii_forms::fold(text);
    let text = text.as_ref();
    let iso = Regex::new(r"\b(20\d\d-\d\d-\d\d)\b").ok()?;
    let european = Regex::new(r"\b(\d{1,2})[./](\d{1,2})[./](20\d\d)\b").ok()?;
    let from_iso = iso
        .captures_iter(text)
        .filter_map(|c| parse_date(c.get(1)?.as_str()));
    let from_european = european.captures_iter(text).filter_map(|c| {
        let day: u8 = c.get(1)?.as_str().parse().ok()?;
        let month: u8 = c.get(2)?.as_str().parse().ok()?;
        let year: i32 = c.get(3)?.as_str().parse().ok()?;
        Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
    });
    from_iso
        .chain(from_european)
        .find(|d| crate::intake::check_departure(*d, today).is_ok())
}

/// A request type from keywords, in the languages Muster speaks; `question` otherwise.
pub fn guess_request_type(text: &str) -> &'static str {
    let lower = text.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if has(&[
        "refund",
        "money back",
        "refusjon",
        "pengene tilbake",
        "возврат",
        "atmaksa",
        "بازپرداخت",
    ]) {
        "refund"
    } else if has(&["cancel", "avbestill", "kanseller", "отмен", "atcel", "لغو"]) {
        "cancellation"
    } else if has(&[
        "rebook",
        "change my",
        "new date",
        "ombook",
        "endre",
        "перенес",
        "pārreģistr",
        "تغییر",
    ]) {
        "change"
    } else {
        "question"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn pattern() -> Regex {
        Regex::new(DEFAULT_BOOKING_PATTERN).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn finds_booking_references() {
        let found = |text: &str| find_booking_ref(&pattern(), text).map(|b| b.as_str().to_owned());
        assert_eq!(
            found("My booking ref: ab12cd, please help").as_deref(),
            Some("AB12CD")
        );
        assert_eq!(
            found("Bestillingsnummer 7K3Q9P2").as_deref(),
            Some("7K3Q9P2")
        );
        assert_eq!(found("booking number AB1234").as_deref(), Some("AB1234"));
        assert_eq!(found("I have a booking problem"), None);
    }

    #[test]
    fn finds_departure_dates_within_the_departure_rule() {
        let today = date!(2026 - 11 - 24);
        assert_eq!(
            find_departure_date("leaving 2026-11-27 from Bergen", today),
            Some(date!(2026 - 11 - 27))
        );
        assert_eq!(
            find_departure_date("avreise 3.12.2026", today),
            Some(date!(2026 - 12 - 03))
        );
        assert_eq!(
            find_departure_date("I travelled on 2026-01-02", today),
            None
        );
        assert_eq!(find_departure_date("2026-02-30", today), None);
        assert_eq!(
            find_departure_date("my ferry on 2026-11-20 was cancelled", today),
            Some(date!(2026 - 11 - 20)),
            "a trip of last week is what the customer writes about"
        );
        assert_eq!(find_departure_date("booked 2029-06-01", today), None);
    }

    #[test]
    fn guesses_request_types() {
        assert_eq!(guess_request_type("I want a REFUND now"), "refund");
        assert_eq!(guess_request_type("Jeg vil avbestille"), "cancellation");
        assert_eq!(guess_request_type("Is the ship safe?"), "question");
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(text in "\\PC{0,400}") {
            let _ = find_booking_ref(&pattern(), &text);
            let _ = find_departure_date(&text, date!(2026 - 11 - 24));
            let _ = guess_request_type(&text);
        }
    }
}
