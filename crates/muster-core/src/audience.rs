//! The affected customers of an incident, as imported from a CSV file: each row becomes
//! an [`AudienceRow`] or a [`Rejection`] that says which line and why.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;

use crate::contact_info::{BookingRef, EmailAddress};
use crate::csv::records;
use crate::language::Lang;
use crate::text_rule::{long_text, single_line};
use crate::trip::Trip;

/// One customer to tell. `variables` holds the file's extra columns, for templates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudienceRow {
    pub email: EmailAddress,
    pub name: String,
    pub booking_ref: Option<BookingRef>,
    pub departure_date: Option<Date>,
    /// The sailing, flight or route of the booking: its cases join that trip's groups.
    pub trip: Option<Trip>,
    pub language: Lang,
    pub variables: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ParsedAudience {
    pub rows: Vec<AudienceRow>,
    pub rejected: Vec<Rejection>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudienceFileError {
    #[error("the file is empty")]
    Empty,
    #[error("the header has no \"email\" column")]
    NoEmailColumn,
    #[error(transparent)]
    Csv(#[from] crate::csv::CsvError),
}

/// The columns Muster knows; any other column becomes a template variable.
#[derive(Clone, Copy)]
enum Column {
    Email,
    Name,
    Booking,
    Departure,
    Trip,
    Language,
    Variable,
}

fn column(header: &str) -> Column {
    match header
        .trim()
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
        .as_str()
    {
        "email" | "e_mail" | "email_address" => Column::Email,
        "name" | "full_name" | "customer_name" => Column::Name,
        "booking_reference" | "booking_ref" | "booking" | "reference" => Column::Booking,
        "departure_date" | "departure" | "travel_date" => Column::Departure,
        "trip" | "sailing" | "flight" | "route" => Column::Trip,
        "language" | "lang" | "locale" => Column::Language,
        _ => Column::Variable,
    }
}

/// A template variable name: lowercase letters, digits and underscores.
fn variable_name(header: &str) -> String {
    header
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect()
}

pub fn parse_date(raw: &str) -> Option<Date> {
    let folded = crate::ascii_forms::fold(raw);
    Date::parse(folded.trim(), format_description!("[year]-[month]-[day]")).ok()
}

/// Reads a whole file. Duplicate addresses keep their first row; later ones are rejected.
pub fn parse_audience_csv(
    text: &str,
    default_language: &Lang,
) -> Result<ParsedAudience, AudienceFileError> {
    let mut records = records(text)?.into_iter();
    let (_, header) = records.next().ok_or(AudienceFileError::Empty)?;
    let columns: Vec<(Column, String)> = header
        .iter()
        .map(|h| (column(h), variable_name(h)))
        .collect();
    if !columns.iter().any(|(c, _)| matches!(c, Column::Email)) {
        return Err(AudienceFileError::NoEmailColumn);
    }
    let mut parsed = ParsedAudience::default();
    let mut seen = HashSet::new();
    for (line, fields) in records {
        match parse_row(&columns, &fields, default_language) {
            Ok(row) if !seen.insert(row.email.clone()) => parsed.rejected.push(Rejection {
                line,
                reason: format!("{} appears earlier in the file", row.email),
            }),
            Ok(row) => parsed.rows.push(row),
            Err(reason) => parsed.rejected.push(Rejection { line, reason }),
        }
    }
    Ok(parsed)
}

fn parse_row(
    columns: &[(Column, String)],
    fields: &[String],
    default_language: &Lang,
) -> Result<AudienceRow, String> {
    if fields.len() != columns.len() {
        return Err(format!(
            "has {} fields where the header has {}",
            fields.len(),
            columns.len()
        ));
    }
    let mut email = None;
    let mut name = String::new();
    let mut booking_ref = None;
    let mut departure_date = None;
    let mut trip = None;
    let mut language = default_language.clone();
    let mut variables = BTreeMap::new();
    for ((kind, var), value) in columns.iter().zip(fields) {
        let value = value.trim();
        match kind {
            Column::Email => {
                email = Some(EmailAddress::parse(value).map_err(|_| {
                    if value.is_empty() {
                        "the email address is missing".to_owned()
                    } else {
                        format!("\"{value}\" is not an email address")
                    }
                })?);
            }
            Column::Name => {
                single_line(value).map_err(|e| format!("the name {e}"))?;
                name = value.to_owned();
            }
            Column::Booking if value.is_empty() => {}
            Column::Booking => {
                booking_ref = Some(
                    BookingRef::parse(value)
                        .map_err(|e| format!("booking reference \"{value}\": {e}"))?,
                );
            }
            Column::Departure if value.is_empty() => {}
            Column::Departure => {
                departure_date = Some(parse_date(value).ok_or_else(|| {
                    format!("departure date \"{value}\" is not a date like 2026-12-24")
                })?);
            }
            Column::Trip if value.is_empty() => {}
            Column::Trip => {
                trip = Some(Trip::parse(value).map_err(|_| {
                    format!("trip \"{value}\" is not a trip code like DY1234 or AURORA-1204")
                })?);
            }
            Column::Language if value.is_empty() => {}
            Column::Language => {
                language = Lang::parse(value).map_err(|e| e.to_string())?;
            }
            Column::Variable => {
                long_text(value).map_err(|e| format!("column \"{var}\" {e}"))?;
                variables.insert(var.clone(), value.to_owned());
            }
        }
    }
    Ok(AudienceRow {
        email: email.ok_or_else(|| "the email address is missing".to_owned())?,
        name,
        booking_ref,
        departure_date,
        trip,
        language,
        variables,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_rejections_with_line_numbers() {
        let text = "Email,Name,Booking Reference,Departure Date,Language,Cabin\n\
                    kari@example.no,Kari,AB12CD,2026-12-01,nb,A12\n\
                    not-an-email,X,,,en,\n\
                    ola@example.no,Ola,AB12CD,01/12/2026,nb,B3\n\
                    KARI@example.no,Kari again,,,,\n\
                    per@example.no,Per,,,,C1\n";
        let parsed = parse_audience_csv(text, &Lang::english()).unwrap_or_default();
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(
            parsed.rows[0].variables.get("cabin").map(String::as_str),
            Some("A12")
        );
        assert_eq!(parsed.rows[1].language, Lang::english());
        let lines: Vec<usize> = parsed.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![3, 4, 5]);
        assert!(parsed.rejected[1].reason.contains("departure date"));
    }

    #[test]
    fn a_trip_column_gives_each_booking_its_trip() {
        let text = "email,booking_reference,departure_date,trip\n\
                    kari@example.no,AB12CD,2026-12-01,aurora-1201\n\
                    ola@example.no,AB12CE,2026-12-01,\n\
                    per@example.no,AB12CF,2026-12-01,no;such\n";
        let parsed = parse_audience_csv(text, &Lang::english()).unwrap_or_default();
        assert_eq!(
            parsed.rows[0].trip.as_ref().map(Trip::as_str),
            Some("AURORA-1201")
        );
        assert_eq!(parsed.rows[1].trip, None);
        assert_eq!(parsed.rejected.len(), 1);
        assert!(parsed.rejected[0].reason.contains("trip"), "{parsed:?}");
    }

    #[test]
    fn a_name_with_a_line_break_or_a_control_character_is_refused_on_its_line() {
        let text = "email,name,cabin\n\
                    eve@example.com,\"Eve\r\nBcc: evil@attacker.example\",A1\n\
                    nul@example.com,Nul,\"B\u{0}2\"\n\
                    kari@example.no,Kari,C3\n";
        let parsed = parse_audience_csv(text, &Lang::english()).unwrap_or_default();
        assert_eq!(parsed.rows.len(), 1, "{parsed:?}");
        let rejected: Vec<(usize, &str)> = parsed
            .rejected
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(
            rejected,
            vec![
                (2, "the name contains a line break: it must be one line"),
                (
                    4,
                    "column \"cabin\" contains an invisible control character (U+0000): remove it and try again"
                ),
            ]
        );
    }

    #[test]
    fn a_file_without_email_is_refused() {
        assert_eq!(
            parse_audience_csv("name\nKari\n", &Lang::english()),
            Err(AudienceFileError::NoEmailColumn)
        );
    }
}
