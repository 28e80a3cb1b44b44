//! Bulk campaigns: their life cycle, who they go to, and how far they have got.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::language::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Waiting for its start time; no deliveries yet.
    Scheduled,
    Sending,
    Paused,
    Cancelled,
    Done,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Scheduled => "scheduled",
            CampaignStatus::Sending => "sending",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Cancelled => "cancelled",
            CampaignStatus::Done => "done",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            CampaignStatus::Scheduled,
            CampaignStatus::Sending,
            CampaignStatus::Paused,
            CampaignStatus::Cancelled,
            CampaignStatus::Done,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }

    pub fn is_finished(self) -> bool {
        matches!(self, CampaignStatus::Cancelled | CampaignStatus::Done)
    }
}

/// Which members of the audience a campaign goes to; empty parts match everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    #[serde(default)]
    pub languages: Vec<Lang>,
    /// Departures on or after this date (members without a date are left out).
    #[serde(default)]
    pub departure_from: Option<Date>,
    /// Departures on or before this date.
    #[serde(default)]
    pub departure_to: Option<Date>,
}

/// What a manager writes: handlebars templates over the recipient and incident variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignContent {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

impl CampaignContent {
    /// The campaign that tells the audience about a new update: the latest update in each
    /// recipient's language, the page, and the way out.
    pub fn update_announcement() -> Self {
        Self {
            subject: "{{incident.title}}: update".into(),
            text: "{{latest_update}}\n\nLatest news: {{landing_url}}\nYour request: {{form_link}}\n\nStop these emails: {{unsubscribe_link}}\n".into(),
            html: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Campaign {
    pub id: i64,
    pub incident_slug: String,
    pub content: CampaignContent,
    pub segment: Segment,
    pub status: CampaignStatus,
    #[serde(with = "time::serde::rfc3339::option")]
    pub scheduled_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

/// Counts per delivery state, with the rate so far and when it should end at that rate.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Progress {
    pub total: u64,
    pub sent: u64,
    pub failed: u64,
    pub suppressed: u64,
    pub cancelled: u64,
    /// Sent, then bounced for good (a DSN came back).
    pub bounced: u64,
    /// Not yet sent: waiting, in flight or waiting for a retry.
    pub pending: u64,
    /// Messages per second since the campaign started.
    pub rate_per_second: f64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub estimated_finish: Option<OffsetDateTime>,
}

impl Progress {
    /// Rate and estimate from the counts and the elapsed time.
    pub fn with_rate(mut self, started_at: Option<OffsetDateTime>, now: OffsetDateTime) -> Self {
        let Some(started) = started_at else {
            return self;
        };
        let elapsed = (now - started).as_seconds_f64();
        let done = (self.sent + self.failed) as f64;
        if elapsed > 0.0 && done > 0.0 {
            self.rate_per_second = done / elapsed;
            if self.pending > 0 {
                let seconds = self.pending as f64 / self.rate_per_second;
                self.estimated_finish = Some(now + time::Duration::seconds_f64(seconds));
            }
        }
        self
    }
}

/// The longest wait between two attempts at a delivery (see [`crate::backoff::Backoff`]).
pub const MAX_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(3600);

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn rate_and_estimate() {
        let progress = Progress {
            total: 300,
            sent: 100,
            pending: 200,
            ..Default::default()
        }
        .with_rate(
            Some(datetime!(2026-11-24 10:00 UTC)),
            datetime!(2026-11-24 10:00:10 UTC),
        );
        assert!((progress.rate_per_second - 10.0).abs() < 1e-9);
        assert_eq!(
            progress.estimated_finish,
            Some(datetime!(2026-11-24 10:00:30 UTC))
        );
    }

    #[test]
    fn backoff_grows_and_caps() {
        let minute = std::time::Duration::from_secs(60);
        let retries = crate::backoff::Backoff {
            base: minute,
            max: MAX_RETRY_DELAY,
            max_attempts: 8,
        };
        assert_eq!(retries.delay(1), minute);
        assert_eq!(retries.delay(3), minute * 4);
        assert_eq!(retries.delay(30), minute * 60);
    }
}
