//! What a manager types to open or edit an incident, parsed into store input with a
//! problem per bad field. Shared by the console, the JSON API and the CLI.

use muster_core::incident::{
    ChannelKind, IncidentSettings, IncidentStatus, PolicyKind, Severity, parse_time_zone,
};
use muster_core::language::Lang;
use muster_core::localized::Localized;
use muster_core::problem::{FieldErrors, Problem};
use muster_core::slug::Slug;
use muster_core::text_rule::{long_text, single_line};
use muster_core::wait::WaitRange;
use muster_store::incidents::{ChannelInput, IncidentDraft, IncidentEdit, PolicyInput};
use serde::{Deserialize, Serialize};

const TITLE_MAX: usize = 200;
/// The longest summary, letter, guidance, policy text or update.
pub const TEXT_MAX: usize = 20_000;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    /// Made from the title when empty.
    #[serde(default)]
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default = "default_zone")]
    pub time_zone: String,
    /// Comma-separated language codes; the first is the default.
    #[serde(default = "default_languages")]
    pub languages: String,
    #[serde(default = "default_severity")]
    pub severity: String,
    #[serde(default = "default_status")]
    pub status: String,
    #[serde(default)]
    pub letter: String,
    #[serde(default)]
    pub letter_signature: String,
    #[serde(default)]
    pub contact_guidance: String,
}

fn default_zone() -> String {
    "UTC".to_owned()
}
fn default_languages() -> String {
    "en".to_owned()
}
fn default_severity() -> String {
    "major".to_owned()
}
fn default_status() -> String {
    "active".to_owned()
}

/// At most `max` characters, and no control characters but tabs and line breaks (the text
/// rule every door applies; PostgreSQL cannot store a NUL).
fn check_len(errors: &mut FieldErrors, field: &str, value: &str, max: usize) {
    if let Err(err) = long_text(value) {
        errors.insert(field.to_owned(), err.into());
    } else if value.chars().count() > max {
        errors.insert(field.to_owned(), Problem::too_long(max));
    }
}

/// A title, a label, an address: one line.
fn check_line(errors: &mut FieldErrors, field: &str, value: &str, max: usize) {
    if let Err(err) = single_line(value) {
        errors.insert(field.to_owned(), err.into());
    } else {
        check_len(errors, field, value, max);
    }
}

pub fn parse_languages(raw: &str) -> Result<Vec<Lang>, Problem> {
    let mut languages = Vec::new();
    for code in raw.split([',', ' ']).filter(|c| !c.trim().is_empty()) {
        let lang = Lang::parse(code).map_err(Problem::said)?;
        if !languages.contains(&lang) {
            languages.push(lang);
        }
    }
    if languages.is_empty() {
        return Err(Problem::of("err_languages_empty"));
    }
    Ok(languages)
}

fn one_of(choices: &str) -> Problem {
    Problem::of("err_one_of").with("choices", choices)
}

pub fn parse_status(raw: &str) -> Result<IncidentStatus, Problem> {
    IncidentStatus::parse(raw.trim()).ok_or_else(|| one_of("draft, active, monitoring, resolved"))
}

fn parse_severity(raw: &str) -> Result<Severity, Problem> {
    Severity::parse(raw.trim()).ok_or_else(|| one_of("minor, major, critical"))
}

impl NewIncident {
    pub fn parse(&self) -> Result<IncidentDraft, FieldErrors> {
        let mut errors = FieldErrors::new();
        // Left empty, the slug is made from the title.
        let slug = if self.slug.trim().is_empty() {
            let made = Slug::from_title(&self.title);
            if made.is_none() && !self.title.trim().is_empty() {
                errors.insert("slug".into(), Problem::of("err_slug_from_title"));
            }
            made
        } else {
            Slug::parse(&self.slug)
                .map_err(|e| errors.insert("slug".into(), Problem::said(e)))
                .ok()
        };
        if self.title.trim().is_empty() {
            errors.insert("title".into(), Problem::of("err_required"));
        }
        check_line(&mut errors, "title", &self.title, TITLE_MAX);
        check_line(
            &mut errors,
            "letter_signature",
            &self.letter_signature,
            TITLE_MAX,
        );
        for (field, value) in [
            ("summary", &self.summary),
            ("letter", &self.letter),
            ("contact_guidance", &self.contact_guidance),
        ] {
            check_len(&mut errors, field, value, TEXT_MAX);
        }
        let zone = parse_time_zone(&self.time_zone)
            .map_err(|e| errors.insert("time_zone".into(), Problem::said(e)))
            .ok();
        let languages = parse_languages(&self.languages)
            .map_err(|e| errors.insert("languages".into(), e))
            .ok();
        let severity = parse_severity(&self.severity)
            .map_err(|e| errors.insert("severity".into(), e))
            .ok();
        let status = parse_status(&self.status)
            .map_err(|e| errors.insert("status".into(), e))
            .ok();
        match (slug, zone, languages, severity, status) {
            (Some(slug), Some(time_zone), Some(languages), Some(severity), Some(status))
                if errors.is_empty() =>
            {
                let default_language = languages.first().cloned().unwrap_or_else(Lang::english);
                let text = |value: &str| Localized::single(default_language.clone(), value.trim());
                Ok(IncidentDraft {
                    slug,
                    status,
                    severity,
                    time_zone,
                    title: text(&self.title),
                    summary: text(&self.summary),
                    letter: text(&self.letter),
                    letter_signature: self.letter_signature.trim().to_owned(),
                    contact_guidance: text(&self.contact_guidance),
                    settings: IncidentSettings::default(),
                    default_language,
                    languages,
                })
            }
            _ => Err(errors),
        }
    }
}

/// An edit of the incident's text in one language, and of its language-free fields.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct IncidentTextEdit {
    pub lang: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub letter: Option<String>,
    pub letter_signature: Option<String>,
    pub contact_guidance: Option<String>,
    pub status: Option<String>,
    pub severity: Option<String>,
    pub time_zone: Option<String>,
    pub languages: Option<String>,
}

impl IncidentTextEdit {
    /// Applies this edit over the incident's current text, so other languages are kept.
    pub fn parse(
        &self,
        current: &muster_core::incident::Incident,
    ) -> Result<IncidentEdit, FieldErrors> {
        let mut errors = FieldErrors::new();
        let lang = match self.lang.as_deref().filter(|l| !l.trim().is_empty()) {
            Some(raw) => Lang::parse(raw)
                .map_err(|e| errors.insert("lang".into(), Problem::said(e)))
                .ok(),
            None => Some(current.default_language.clone()),
        };
        let mut edit = IncidentEdit::default();
        if let Some(raw) = &self.status {
            edit.status = parse_status(raw)
                .map_err(|e| errors.insert("status".into(), e))
                .ok();
        }
        if let Some(raw) = &self.severity {
            edit.severity = parse_severity(raw)
                .map_err(|e| errors.insert("severity".into(), e))
                .ok();
        }
        if let Some(raw) = &self.time_zone {
            edit.time_zone = parse_time_zone(raw)
                .map_err(|e| errors.insert("time_zone".into(), Problem::said(e)))
                .ok();
        }
        if let Some(raw) = &self.languages {
            edit.languages = parse_languages(raw)
                .map_err(|e| errors.insert("languages".into(), e))
                .ok();
        }
        if let Some(title) = &self.title {
            if title.trim().is_empty() {
                errors.insert("title".into(), Problem::of("err_required"));
            }
            check_line(&mut errors, "title", title, TITLE_MAX);
        }
        if let Some(lang) = lang {
            let localized = |field: &str,
                             value: &Option<String>,
                             current: &Localized,
                             errors: &mut FieldErrors| {
                value.as_ref().map(|text| {
                    check_len(errors, field, text, TEXT_MAX);
                    let mut merged = current.clone();
                    merged.set(lang.clone(), text.trim());
                    merged
                })
            };
            edit.title = localized("title", &self.title, &current.title, &mut errors);
            edit.summary = localized("summary", &self.summary, &current.summary, &mut errors);
            edit.letter = localized("letter", &self.letter, &current.letter, &mut errors);
            edit.contact_guidance = localized(
                "contact_guidance",
                &self.contact_guidance,
                &current.contact_guidance,
                &mut errors,
            );
        }
        if let Some(signature) = &self.letter_signature {
            check_line(&mut errors, "letter_signature", signature, TITLE_MAX);
        }
        edit.letter_signature = self.letter_signature.as_ref().map(|s| s.trim().to_owned());
        if errors.is_empty() {
            Ok(edit)
        } else {
            Err(errors)
        }
    }
}

/// One policy as typed, in one language.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct PolicyText {
    pub kind: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub standard: String,
}

/// Merges policies typed in `lang` over the current ones; a policy left wholly empty is removed.
pub fn parse_policies(
    lang: &Lang,
    typed: &[PolicyText],
    current: &[muster_core::incident::Policy],
) -> Result<Vec<PolicyInput>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut out = Vec::new();
    for (i, p) in typed.iter().enumerate() {
        let Some(kind) = PolicyKind::parse(p.kind.trim()) else {
            errors.insert(
                format!("policies[{i}].kind"),
                one_of("refund, cancellation, rebooking, other"),
            );
            continue;
        };
        check_line(
            &mut errors,
            &format!("policies[{i}].title"),
            &p.title,
            TITLE_MAX,
        );
        check_len(
            &mut errors,
            &format!("policies[{i}].body"),
            &p.body,
            TEXT_MAX,
        );
        check_len(
            &mut errors,
            &format!("policies[{i}].standard"),
            &p.standard,
            500,
        );
        let existing = current.iter().find(|c| c.kind == kind);
        let merge = |now: Option<&Localized>, text: &str| {
            let mut merged = now.cloned().unwrap_or_default();
            merged.set(lang.clone(), text.trim());
            merged
        };
        let input = PolicyInput {
            kind,
            title: merge(existing.map(|e| &e.title), &p.title),
            body: merge(existing.map(|e| &e.body), &p.body),
            standard: merge(existing.map(|e| &e.standard), &p.standard),
        };
        if !(input.title.is_empty() && input.body.is_empty() && input.standard.is_empty()) {
            out.push(input);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// One channel as typed: its address, label in one language and posted wait.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ChannelText {
    pub kind: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub address: String,
    /// The shortest posted wait, in `wait_unit` (minutes when it is absent).
    #[serde(default)]
    pub wait_low_minutes: Option<String>,
    #[serde(default)]
    pub wait_high_minutes: Option<String>,
    /// `minutes`, `hours` or `days`: what the two wait numbers count.
    #[serde(default)]
    pub wait_unit: Option<String>,
    /// The posted wait replaces the computed one.
    #[serde(default)]
    pub wait_overrides: bool,
}

/// The unit a posted wait is typed in, as minutes per unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitUnit {
    Minutes,
    Hours,
    Days,
}

impl WaitUnit {
    pub const ALL: [WaitUnit; 3] = [WaitUnit::Minutes, WaitUnit::Hours, WaitUnit::Days];

    pub fn parse(raw: Option<&str>) -> Result<Self, Problem> {
        match raw.map(str::trim).unwrap_or("") {
            "" | "minutes" => Ok(Self::Minutes),
            "hours" => Ok(Self::Hours),
            "days" => Ok(Self::Days),
            _ => Err(one_of("minutes, hours, days")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minutes => "minutes",
            Self::Hours => "hours",
            Self::Days => "days",
        }
    }

    pub fn minutes(self) -> i64 {
        match self {
            Self::Minutes => 1,
            Self::Hours => 60,
            Self::Days => 24 * 60,
        }
    }

    /// The largest unit both ends are whole numbers of, so a stored wait is shown as it was
    /// typed: 1440 to 2880 minutes is 1 to 2 days.
    pub fn of(wait: &WaitRange) -> Self {
        [Self::Days, Self::Hours]
            .into_iter()
            .find(|unit| {
                wait.high_minutes > 0
                    && wait.low_minutes % unit.minutes() == 0
                    && wait.high_minutes % unit.minutes() == 0
            })
            .unwrap_or(Self::Minutes)
    }
}

fn parse_count(raw: &Option<String>, unit: WaitUnit) -> Result<Option<i64>, Problem> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(unit.minutes()))
            .map(Some)
            .ok_or_else(|| {
                Problem::of("err_wait_count")
                    .with("text", text)
                    .with("unit", unit.as_str())
            }),
    }
}

/// A posted wait typed as two whole numbers of `unit` (minutes when absent).
pub fn parse_wait(
    low: &Option<String>,
    high: &Option<String>,
    unit: Option<&str>,
) -> Result<Option<WaitRange>, Problem> {
    let unit = WaitUnit::parse(unit)?;
    match (parse_count(low, unit)?, parse_count(high, unit)?) {
        (None, None) => Ok(None),
        (Some(low), Some(high)) => WaitRange::new(low, high).map(Some).map_err(Problem::said),
        _ => Err(Problem::of("err_wait_both_ends")),
    }
}

/// Channels typed in `lang`; a channel with no address is removed.
pub fn parse_channels(
    lang: &Lang,
    typed: &[ChannelText],
    current: &[muster_core::incident::Channel],
) -> Result<Vec<ChannelInput>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut out = Vec::new();
    for (i, c) in typed.iter().enumerate() {
        let Some(kind) = ChannelKind::parse(c.kind.trim()) else {
            errors.insert(
                format!("channels[{i}].kind"),
                one_of("form, email, phone, chat, social"),
            );
            continue;
        };
        let posted_wait = parse_wait(
            &c.wait_low_minutes,
            &c.wait_high_minutes,
            c.wait_unit.as_deref(),
        )
        .map_err(|e| errors.insert(format!("channels[{i}].wait"), e))
        .ok()
        .flatten();
        check_line(
            &mut errors,
            &format!("channels[{i}].address"),
            &c.address,
            300,
        );
        check_line(
            &mut errors,
            &format!("channels[{i}].label"),
            &c.label,
            TITLE_MAX,
        );
        if c.address.trim().is_empty() {
            // A channel is removed by clearing it; one with a wait still typed is kept
            // and refused, so a forgotten address never drops the wait silently.
            let wait_typed = [&c.wait_low_minutes, &c.wait_high_minutes]
                .into_iter()
                .any(|end| end.as_deref().is_some_and(|t| !t.trim().is_empty()));
            if wait_typed {
                errors.insert(
                    format!("channels[{i}].address"),
                    Problem::of("err_channel_needs_address"),
                );
            }
            continue;
        }
        let mut label = current
            .iter()
            .find(|e| e.kind == kind)
            .map(|e| e.label.clone())
            .unwrap_or_default();
        label.set(lang.clone(), c.label.trim());
        out.push(ChannelInput {
            kind,
            label,
            address: c.address.trim().to_owned(),
            posted_wait,
            posted_wait_overrides: c.wait_overrides && posted_wait.is_some(),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_incident_reports_every_bad_field() {
        let typed = NewIncident {
            slug: "Bad Slug".into(),
            title: " ".into(),
            time_zone: "Mars/Base".into(),
            languages: "en, x".into(),
            severity: "apocalyptic".into(),
            status: "active".into(),
            ..Default::default()
        };
        let errors = typed.parse().err().unwrap_or_default();
        let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            ["languages", "severity", "slug", "time_zone", "title"]
        );
    }

    #[test]
    fn waits_need_both_ends() {
        assert!(parse_wait(&Some("10".into()), &None, None).is_err());
        assert_eq!(parse_wait(&None, &Some(" ".into()), None), Ok(None));
        assert!(parse_wait(&Some("30".into()), &Some("10".into()), None).is_err());
    }

    #[test]
    fn waits_are_typed_in_their_unit_and_shown_back_in_it() {
        let days = parse_wait(&Some("1".into()), &Some("2".into()), Some("days"));
        assert_eq!(
            days,
            WaitRange::new(1440, 2880).map(Some).map_err(Problem::said)
        );
        let Ok(Some(days)) = days else { return };
        assert_eq!(WaitUnit::of(&days), WaitUnit::Days);
        let half_hour = WaitRange::new(30, 60).unwrap_or(days);
        assert_eq!(WaitUnit::of(&half_hour), WaitUnit::Minutes);
        assert!(parse_wait(&Some("1".into()), &Some("2".into()), Some("weeks")).is_err());
        assert!(parse_wait(&Some("1.5".into()), &Some("2".into()), Some("hours")).is_err());
    }

    #[test]
    fn a_channel_with_a_wait_and_no_address_is_refused_not_dropped() {
        let typed = [ChannelText {
            kind: "email".into(),
            wait_low_minutes: Some("1".into()),
            wait_high_minutes: Some("2".into()),
            wait_unit: Some("days".into()),
            ..Default::default()
        }];
        let errors = parse_channels(&Lang::english(), &typed, &[])
            .err()
            .unwrap_or_default();
        assert_eq!(
            errors.get("channels[0].address").map(|p| p.key),
            Some("err_channel_needs_address")
        );
        let cleared = [ChannelText {
            kind: "email".into(),
            ..Default::default()
        }];
        assert_eq!(
            parse_channels(&Lang::english(), &cleared, &[]).map(|c| c.len()),
            Ok(0)
        );
    }
}
