//! The phone line's menu: which language a caller hears, and what each key does.
//!
//! A caller first hears the incident's status in the language their country suggests (when
//! the incident offers it; else the incident's own default), then the choices: 1 texts them
//! the link to the form, 2 asks for a call back, and each other language of the incident has
//! a key of its own (3, 4, …), offered in that language, that says it all again in it.
//! Muster speaks only the languages Twilio's voices speak (below); for any other the words
//! are English, and what is texted or said when calling back is in the caller's language.

use time::{Date, Duration, Month};

use crate::incident::Incident;
use crate::language::Lang;

/// The Twilio `<Say language>` locale Muster speaks a language in, if any: languages in
/// Twilio's own list of `<Say>` voices. Others (Persian, Latvian) are not spoken.
pub fn spoken_locale(lang: &Lang) -> Option<&'static str> {
    match lang.as_str() {
        "en" => Some("en-GB"),
        "nb" => Some("nb-NO"),
        "ru" => Some("ru-RU"),
        _ => None,
    }
}

/// A language's name in English, for the offer of a language Muster cannot speak ("For
/// Persian, press 4" is said in English).
pub fn english_name(lang: &Lang) -> &str {
    match lang.as_str() {
        "en" => "English",
        "nb" | "nn" | "no" => "Norwegian",
        "ru" => "Russian",
        "lv" => "Latvian",
        "fa" => "Persian",
        "ar" => "Arabic",
        "uk" => "Ukrainian",
        "de" => "German",
        "fr" => "French",
        "es" => "Spanish",
        "sv" => "Swedish",
        "da" => "Danish",
        other => other,
    }
}

/// The language a caller from `country` (ISO 3166 alpha-2, Twilio's `FromCountry`) most
/// likely speaks, among those Muster has words for.
pub fn language_of_country(country: &str) -> Option<Lang> {
    let code = match country.trim().to_ascii_uppercase().as_str() {
        "NO" | "SJ" => "nb",
        "LV" => "lv",
        "IR" | "AF" | "TJ" => "fa",
        "RU" | "BY" | "KZ" | "KG" => "ru",
        "GB" | "IE" | "US" | "CA" | "AU" | "NZ" => "en",
        _ => return None,
    };
    Lang::parse(code).ok()
}

/// The language a caller hears: the one they chose with a key, else their country's, if the
/// incident offers it, else the incident's default.
pub fn caller_language(incident: &Incident, chosen: Option<&Lang>, country: &str) -> Lang {
    let offered = |l: &Lang| incident.languages.contains(l) || *l == incident.default_language;
    chosen
        .filter(|l| offered(l))
        .cloned()
        .or_else(|| language_of_country(country).filter(offered))
        .unwrap_or_else(|| incident.default_language.clone())
}

/// What a key pressed in the menu asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// 1: text me the link to the form.
    TextLink,
    /// 2: call me back, keeping my place.
    CallBack,
    /// Say it all again in this language.
    Language(Lang),
}

/// The keys offered to switch language, while `current` is heard: each other language of
/// the incident, from 3 on, in the incident's order (up to 9).
pub fn language_keys(incident: &Incident, current: &Lang) -> Vec<(char, Lang)> {
    let mut languages = vec![incident.default_language.clone()];
    for lang in &incident.languages {
        if !languages.contains(lang) {
            languages.push(lang.clone());
        }
    }
    languages
        .into_iter()
        .filter(|l| l != current)
        .zip('3'..='9')
        .map(|(lang, key)| (key, lang))
        .collect()
}

/// What `digits` ask for in the menu heard in `current`; `None` for a key that is not a
/// choice.
pub fn choice(incident: &Incident, current: &Lang, digits: &str) -> Option<Choice> {
    match digits.trim() {
        "1" => Some(Choice::TextLink),
        "2" => Some(Choice::CallBack),
        key => language_keys(incident, current)
            .into_iter()
            .find(|(k, _)| key.len() == 1 && key.starts_with(*k))
            .map(|(_, lang)| Choice::Language(lang)),
    }
}

/// Keys that are not a day and month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a day and month keyed in as four digits (2711)")]
pub struct NotADate;

/// A departure keyed in as day and month (`2711`: 27 November), read as the next such
/// date from 30 days ago (a trip cancelled last week is still a reason to call). An empty
/// entry is no date; anything else that is not a day of the year is `Err`.
pub fn departure_from_keys(digits: &str, today: Date) -> Result<Option<Date>, NotADate> {
    let digits = digits.trim();
    if digits.is_empty() {
        return Ok(None);
    }
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NotADate);
    }
    let day: u8 = digits[..2].parse().map_err(|_| NotADate)?;
    let month: u8 = digits[2..].parse().map_err(|_| NotADate)?;
    let month = Month::try_from(month).map_err(|_| NotADate)?;
    let earliest = today - Duration::days(30);
    [today.year(), today.year() + 1]
        .into_iter()
        .filter_map(|year| Date::from_calendar_date(year, month, day).ok())
        .find(|date| *date >= earliest)
        .map(Some)
        .ok_or(NotADate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::localized::Localized;
    use time::macros::date;

    fn lang(code: &str) -> Lang {
        Lang::parse(code).unwrap_or_else(|e| panic!("{e}"))
    }

    fn incident(default: &str, others: &[&str]) -> Incident {
        let mut languages = vec![lang(default)];
        languages.extend(others.iter().map(|l| lang(l)));
        Incident {
            id: 1,
            slug: crate::slug::Slug::parse("ferry-fire").unwrap_or_else(|e| panic!("{e}")),
            status: crate::incident::IncidentStatus::Active,
            severity: crate::incident::Severity::Major,
            time_zone: "Europe/Oslo".into(),
            default_language: lang(default),
            languages,
            title: Localized::single(lang(default), "Fire"),
            summary: Localized::new(),
            letter: Localized::new(),
            letter_signature: String::new(),
            contact_guidance: Localized::new(),
            settings: crate::incident::IncidentSettings::default(),
            policies: Vec::new(),
            channels: Vec::new(),
            updates: Vec::new(),
            opened_at: None,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
            content_version: 0,
        }
    }

    #[test]
    fn a_caller_hears_their_countrys_language_when_the_incident_has_it() {
        let ferry = incident("nb", &["en", "fa"]);
        assert_eq!(caller_language(&ferry, None, "NO"), lang("nb"));
        assert_eq!(caller_language(&ferry, None, "IR"), lang("fa"));
        assert_eq!(caller_language(&ferry, None, "gb"), lang("en"));
        // A country whose language the incident lacks, or none: the incident's default.
        assert_eq!(caller_language(&ferry, None, "LV"), lang("nb"));
        assert_eq!(caller_language(&ferry, None, ""), lang("nb"));
        // A key pressed wins, if the incident offers that language.
        assert_eq!(caller_language(&ferry, Some(&lang("en")), "NO"), lang("en"));
        assert_eq!(caller_language(&ferry, Some(&lang("ru")), "NO"), lang("nb"));
        // Persian is not spoken: its words are English.
        assert_eq!(spoken_locale(&lang("fa")), None);
        assert_eq!(spoken_locale(&lang("nb")), Some("nb-NO"));
    }

    #[test]
    fn each_other_language_has_a_key_from_three_on() {
        let ferry = incident("nb", &["en", "fa"]);
        assert_eq!(
            language_keys(&ferry, &lang("nb")),
            vec![('3', lang("en")), ('4', lang("fa"))]
        );
        assert_eq!(
            language_keys(&ferry, &lang("en")),
            vec![('3', lang("nb")), ('4', lang("fa"))]
        );
        assert_eq!(choice(&ferry, &lang("nb"), "1"), Some(Choice::TextLink));
        assert_eq!(choice(&ferry, &lang("nb"), " 2 "), Some(Choice::CallBack));
        assert_eq!(
            choice(&ferry, &lang("nb"), "4"),
            Some(Choice::Language(lang("fa")))
        );
        assert_eq!(choice(&ferry, &lang("nb"), "5"), None);
        assert_eq!(choice(&ferry, &lang("nb"), "34"), None);
        assert_eq!(choice(&ferry, &lang("nb"), ""), None);
    }

    #[test]
    fn a_departure_keyed_in_is_the_next_such_day() {
        let today = date!(2026 - 12 - 05);
        assert_eq!(
            departure_from_keys("2712", today),
            Ok(Some(date!(2026 - 12 - 27)))
        );
        // Early January is next year; a week ago is this year (a cancelled trip).
        assert_eq!(
            departure_from_keys("0201", today),
            Ok(Some(date!(2027 - 01 - 02)))
        );
        assert_eq!(
            departure_from_keys("2811", today),
            Ok(Some(date!(2026 - 11 - 28)))
        );
        assert_eq!(
            departure_from_keys("0111", today),
            Ok(Some(date!(2027 - 11 - 01)))
        );
        assert_eq!(departure_from_keys("", today), Ok(None));
        for bad in ["3102", "0013", "123", "12345", "ab12"] {
            assert_eq!(departure_from_keys(bad, today), Err(NotADate), "{bad}");
        }
    }
}
