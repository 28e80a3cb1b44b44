//! Dates as customers read them in their own language.

use time::Date;

const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Digits as the language writes them: Persian uses its own (۰ to ۹), so a Persian page
/// never mixes them with Latin ones. Everything but ASCII digits is left as it is.
pub fn digits(lang: &str, text: &str) -> String {
    match lang {
        "fa" => text
            .chars()
            .map(|c| match c.to_digit(10) {
                Some(d) if c.is_ascii_digit() => char::from_u32(0x06F0 + d).unwrap_or(c),
                _ => c,
            })
            .collect(),
        _ => text.to_owned(),
    }
}

/// `24 December 2026` in English, `24.12.2026` where a dotted date is the norm, and the
/// ISO form elsewhere, which no reader misreads.
pub fn format_date(lang: &str, date: Date) -> String {
    let (y, m, d) = (date.year(), u8::from(date.month()), date.day());
    match lang {
        "en" => format!("{d} {} {y}", EN_MONTHS[usize::from(m - 1)]),
        "nb" | "nn" | "no" | "da" | "de" | "fi" | "ru" | "uk" | "pl" | "cs" | "et" => {
            format!("{d:02}.{m:02}.{y}")
        }
        "lv" => format!("{d:02}.{m:02}.{y}."),
        "fr" | "es" | "it" | "pt" | "nl" => format!("{d:02}/{m:02}/{y}"),
        "fa" => digits(lang, &format!("{y}-{m:02}-{d:02}")),
        _ => format!("{y}-{m:02}-{d:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn per_language() {
        assert_eq!(format_date("en", date!(2026 - 12 - 04)), "4 December 2026");
        assert_eq!(format_date("nb", date!(2026 - 12 - 04)), "04.12.2026");
        assert_eq!(format_date("lv", date!(2026 - 12 - 04)), "04.12.2026.");
        assert_eq!(format_date("fa", date!(2026 - 12 - 04)), "۲۰۲۶-۱۲-۰۴");
        assert_eq!(format_date("ar", date!(2026 - 12 - 04)), "2026-12-04");
        assert_eq!(digits("fa", "14:05 CET"), "۱۴:۰۵ CET");
    }
}
