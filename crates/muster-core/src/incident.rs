//! An incident: what happened, what the company promises, and how to reach it.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::form_fields::FormFields;
use crate::language::Lang;
use crate::localized::Localized;
use crate::priority::PriorityWindows;
use crate::slug::Slug;
use crate::wait::WaitRange;
use crate::wait_estimator::StaffGroup;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    /// Prepared before any crisis (a "dark site"): not public.
    Draft,
    Active,
    Monitoring,
    Resolved,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 4] =
        [Self::Draft, Self::Active, Self::Monitoring, Self::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Monitoring => "monitoring",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Drafts stay private; every other status has a public page.
    pub fn is_public(self) -> bool {
        self != Self::Draft
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Minor,
    Major,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Self::Minor, Self::Major, Self::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minor => "minor",
            Self::Major => "major",
            Self::Critical => "critical",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    Refund,
    Cancellation,
    Rebooking,
    Other,
}

impl PolicyKind {
    pub const ALL: [PolicyKind; 4] = [
        Self::Refund,
        Self::Cancellation,
        Self::Rebooking,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refund => "refund",
            Self::Cancellation => "cancellation",
            Self::Rebooking => "rebooking",
            Self::Other => "other",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// A promise to customers, with the service standard that makes it concrete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub id: i64,
    pub kind: PolicyKind,
    pub title: Localized,
    /// Markdown.
    pub body: Localized,
    /// "Refunds are processed within 5 working days."
    pub standard: Localized,
    pub position: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Form,
    Email,
    Phone,
    Chat,
    Social,
    /// Text messages to and from a phone number (Twilio).
    Sms,
    /// The WhatsApp Business number (Cloud API).
    Whatsapp,
    /// The Telegram bot.
    Telegram,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 8] = [
        Self::Form,
        Self::Email,
        Self::Phone,
        Self::Chat,
        Self::Social,
        Self::Sms,
        Self::Whatsapp,
        Self::Telegram,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Form => "form",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Chat => "chat",
            Self::Social => "social",
            Self::Sms => "sms",
            Self::Whatsapp => "whatsapp",
            Self::Telegram => "telegram",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// One way to reach the company, with its posted wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: i64,
    pub kind: ChannelKind,
    pub label: Localized,
    /// Phone number, email address, account handle or URL.
    pub address: String,
    pub posted_wait: Option<WaitRange>,
    /// The posted wait replaces the computed one, rather than standing in while too few
    /// answers have gone out.
    pub posted_wait_overrides: bool,
    pub position: i32,
}

/// A dated entry on the incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    pub id: i64,
    /// Markdown.
    pub body: Localized,
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
}

/// A request type the form offers, and the team that handles it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestType {
    pub key: String,
    pub label: Localized,
    pub team: Option<String>,
}

/// SLA targets per tier, in minutes to first response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaTargets {
    pub critical_minutes: i64,
    pub high_minutes: i64,
    pub normal_minutes: i64,
}

impl Default for SlaTargets {
    fn default() -> Self {
        Self {
            critical_minutes: 4 * 60,
            high_minutes: 24 * 60,
            normal_minutes: 3 * 24 * 60,
        }
    }
}

/// A reply agents start from: a handlebars template per language, filled with the case's
/// variables (`name`, `reference`, `booking_ref`, `departure_date`, `case_url`, `page_url`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedResponse {
    pub key: String,
    pub title: String,
    pub body: Localized,
}

/// Settings a manager tunes per incident, stored together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentSettings {
    pub windows: PriorityWindows,
    pub sla: SlaTargets,
    pub request_types: Vec<RequestType>,
    #[serde(default = "default_canned")]
    pub canned: Vec<CannedResponse>,
    /// Shifts and reinforcements the manager has announced: the posted waits count on them
    /// from the moment they are known, not from when the agents start answering.
    #[serde(default)]
    pub staffing: Vec<StaffGroup>,
    /// Which trip fields the intake form asks for.
    #[serde(default)]
    pub form: FormFields,
}

fn default_canned() -> Vec<CannedResponse> {
    let en = Lang::english;
    let nb = || Lang::parse("nb").unwrap_or_else(|_| en());
    let fa = || Lang::parse("fa").unwrap_or_else(|_| en());
    vec![
        CannedResponse {
            key: "refund-confirmed".to_owned(),
            title: "Refund confirmed".to_owned(),
            body: Localized::single(
                en(),
                "Dear {{name}},\n\nWe have refunded booking {{booking_ref}} in full. The money reaches your account within 5 working days.\n\nYour case: {{case_url}}",
            )
            .with(
                nb(),
                "Hei {{name}},\n\nVi har refundert bestilling {{booking_ref}} i sin helhet. Pengene er på kontoen din innen 5 virkedager.\n\nSaken din: {{case_url}}",
            )
            .with(
                fa(),
                "{{name}} گرامی،\n\nمبلغ رزرو {{booking_ref}} به‌طور کامل به شما بازگردانده شد. این مبلغ ظرف ۵ روز کاری به حساب شما می‌رسد.\n\nپروندهٔ شما: {{case_url}}",
            ),
        },
        CannedResponse {
            key: "need-date".to_owned(),
            title: "Ask for the departure date".to_owned(),
            body: Localized::single(
                en(),
                "Dear {{name}},\n\nTo help you quickly we need your departure date. Please add it here: {{case_url}}",
            )
            .with(
                fa(),
                "{{name}} گرامی،\n\nبرای اینکه زود به شما کمک کنیم، تاریخ حرکت شما را لازم داریم. لطفاً آن را اینجا بیفزایید: {{case_url}}",
            ),
        },
    ]
}

impl Default for IncidentSettings {
    fn default() -> Self {
        let en = Lang::english;
        let kind = |key: &str, label: &str, team: &str| RequestType {
            key: key.to_owned(),
            label: Localized::single(en(), label),
            team: Some(team.to_owned()),
        };
        Self {
            windows: PriorityWindows::default(),
            sla: SlaTargets::default(),
            request_types: vec![
                kind("refund", "Refund", "refunds"),
                kind("cancellation", "Cancellation", "refunds"),
                kind("change", "Change a future trip", "rebooking"),
                kind("question", "Question", "general"),
                kind("other", "Other", "general"),
            ],
            canned: default_canned(),
            staffing: Vec::new(),
            form: FormFields::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: i64,
    pub slug: Slug,
    pub status: IncidentStatus,
    pub severity: Severity,
    /// IANA zone, e.g. `Europe/Oslo`: departure dates and "today" are read in it.
    pub time_zone: String,
    pub default_language: Lang,
    pub languages: Vec<Lang>,
    pub title: Localized,
    /// Markdown.
    pub summary: Localized,
    /// The chief executive's letter, Markdown.
    pub letter: Localized,
    pub letter_signature: String,
    /// "Call us only if you travel within 72 hours", Markdown.
    pub contact_guidance: Localized,
    pub settings: IncidentSettings,
    pub policies: Vec<Policy>,
    pub channels: Vec<Channel>,
    /// Newest first.
    pub updates: Vec<Update>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub opened_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Bumped on every change that alters public content; replicas compare it to re-render.
    pub content_version: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("\"{0}\" is not a time zone name such as Europe/Oslo")]
pub struct TimeZoneError(pub String);

/// Checks an IANA zone name against the bundled database.
pub fn parse_time_zone(raw: &str) -> Result<String, TimeZoneError> {
    let name = raw.trim();
    jiff::tz::TimeZone::get(name)
        .map(|_| name.to_owned())
        .map_err(|_| TimeZoneError(raw.to_owned()))
}

/// Every time zone name a manager can choose, sorted (the bundled database's, without the
/// `posix/` and `right/` copies a system zoneinfo folder may add).
pub fn time_zone_names() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|name| name.as_str().to_owned())
        .filter(|name| !name.starts_with("posix") && !name.starts_with("right"))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Today's date in `zone` at instant `now` (UTC when the zone is unknown).
pub fn local_date(zone: &str, now: OffsetDateTime) -> Date {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = jiff::Timestamp::from_second(now.unix_timestamp())
        .map(|ts| ts.to_zoned_datetime(tz).date())
        .ok();
    local
        .and_then(|d| {
            let month = time::Month::try_from(u8::try_from(d.month()).ok()?).ok()?;
            Date::from_calendar_date(i32::from(d.year()), month, u8::try_from(d.day()).ok()?).ok()
        })
        .unwrap_or_else(|| now.date())
}

impl Incident {
    pub fn today(&self, now: OffsetDateTime) -> Date {
        local_date(&self.time_zone, now)
    }

    pub fn policy(&self, kind: PolicyKind) -> Option<&Policy> {
        self.policies.iter().find(|p| p.kind == kind)
    }

    pub fn channel(&self, kind: ChannelKind) -> Option<&Channel> {
        self.channels.iter().find(|c| c.kind == kind)
    }

    /// The language to show: the asked one if the incident has it, else its default.
    pub fn pick_language(&self, asked: Option<&Lang>) -> Lang {
        asked
            .filter(|l| self.languages.contains(l))
            .cloned()
            .unwrap_or_else(|| self.default_language.clone())
    }
}

/// "2026-11-24 19:05 CET": a moment as read in the incident's zone, in no particular language.
pub fn local_time_label(zone: &str, at: OffsetDateTime) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_second(at.unix_timestamp())
        .map(|ts| {
            ts.to_zoned_datetime(tz)
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string()
        })
        .unwrap_or_default()
}

/// A minute typed in `zone` as `YYYY-MM-DDTHH:MM` (what a `datetime-local` field sends), as
/// an instant; `None` if it is not one. A time skipped by a clock change moves forward.
pub fn parse_local_minute(zone: &str, raw: &str) -> Option<OffsetDateTime> {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let civil: jiff::civil::DateTime = raw.trim().parse().ok()?;
    let zoned = civil.to_zoned_datetime(tz).ok()?;
    OffsetDateTime::from_unix_timestamp(zoned.timestamp().as_second()).ok()
}

/// `at` as a `datetime-local` field shows it in `zone`: `YYYY-MM-DDTHH:MM`.
pub fn local_minute(zone: &str, at: OffsetDateTime) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_second(at.unix_timestamp())
        .map(|ts| {
            ts.to_zoned_datetime(tz)
                .strftime("%Y-%m-%dT%H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_typed_minute_is_read_in_the_incident_zone_and_shown_back_the_same() {
        let at = parse_local_minute("Europe/Oslo", "2026-11-30T14:00");
        assert_eq!(at, Some(datetime!(2026-11-30 13:00 UTC)));
        assert_eq!(
            local_minute("Europe/Oslo", datetime!(2026-11-30 13:00 UTC)),
            "2026-11-30T14:00"
        );
        assert_eq!(parse_local_minute("Europe/Oslo", "tomorrow at two"), None);
        assert_eq!(parse_local_minute("Europe/Oslo", "2026-02-30T14:00"), None);
    }

    #[test]
    fn today_is_read_in_the_incident_zone() {
        let late_utc = datetime!(2026-11-24 23:30 UTC);
        assert_eq!(
            local_date("Europe/Oslo", late_utc),
            time::macros::date!(2026 - 11 - 25)
        );
        assert_eq!(
            local_date("America/New_York", late_utc),
            time::macros::date!(2026 - 11 - 24)
        );
    }

    #[test]
    fn zones_are_checked() {
        assert!(parse_time_zone("Europe/Oslo").is_ok());
        assert!(parse_time_zone("Mars/Olympus").is_err());
    }
}
