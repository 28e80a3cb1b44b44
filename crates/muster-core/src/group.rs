//! Disruption groups: a saved filter over an incident's unresolved cases (trip, departure
//! dates, request type, team, tier), so the cases that arrive later join it; and the one
//! reply that goes from a group to each of its cases.

use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};

use crate::priority::{PriorityWindows, Tier};
use crate::trip::Trip;

/// How long a group reply is held, to be undone, before it goes.
pub const REPLY_HOLD: Duration = Duration::seconds(60);

/// Which cases a group holds. Every part is optional; a group with none holds every
/// unresolved case of its incident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupFilter {
    pub trip: Option<Trip>,
    pub departure_from: Option<Date>,
    pub departure_to: Option<Date>,
    pub request_type: Option<String>,
    pub team: Option<String>,
    pub tier: Option<Tier>,
}

impl GroupFilter {
    /// The departure dates the filter allows on `today`: its own range narrowed by its tier
    /// (a tier is a window of days from today, so it moves with the calendar). `None` for a
    /// bound means open. A filter with a date range or tier holds only dated cases.
    pub fn departure_range(
        &self,
        windows: &PriorityWindows,
        today: Date,
    ) -> (Option<Date>, Option<Date>) {
        let day = |days: i64| today.checked_add(Duration::days(days));
        let (tier_from, tier_to) = match self.tier {
            None => (None, None),
            Some(Tier::Critical) => (None, day(windows.critical_days)),
            Some(Tier::High) => (day(windows.critical_days + 1), day(windows.high_days)),
            Some(Tier::Normal) => (day(windows.high_days + 1), None),
        };
        let later = |a: Option<Date>, b: Option<Date>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let earlier = |a: Option<Date>, b: Option<Date>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        (
            later(self.departure_from, tier_from),
            earlier(self.departure_to, tier_to),
        )
    }
}

/// A saved group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub id: i64,
    pub incident_id: i64,
    pub name: String,
    pub filter: GroupFilter,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When its problem was closed (its cases resolved).
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
}

/// Where a group reply stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplyStatus {
    /// Written, waiting out its hold; may be undone.
    Held,
    /// Going to its cases.
    Sending,
    Done,
    /// Undone during its hold.
    Cancelled,
}

impl ReplyStatus {
    pub const ALL: [ReplyStatus; 4] = [
        ReplyStatus::Held,
        ReplyStatus::Sending,
        ReplyStatus::Done,
        ReplyStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReplyStatus::Held => "held",
            ReplyStatus::Sending => "sending",
            ReplyStatus::Done => "done",
            ReplyStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<ReplyStatus> {
        ReplyStatus::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// Where one case of a group reply stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetStatus {
    Pending,
    Replied,
    /// Not answered by this reply, with the reason.
    Skipped,
}

impl TargetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetStatus::Pending => "pending",
            TargetStatus::Replied => "replied",
            TargetStatus::Skipped => "skipped",
        }
    }
}

/// Why a case of a group reply was not answered by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Someone answered the case after the reply was drafted.
    AnsweredSince,
    /// The case has no channel the reply can go out on (no email address today).
    NoChannel,
    /// The case was resolved or merged before its turn.
    Resolved,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::AnsweredSince => "answered_since",
            SkipReason::NoChannel => "no_channel",
            SkipReason::Resolved => "resolved",
        }
    }

    pub fn parse(raw: &str) -> Option<SkipReason> {
        [
            SkipReason::AnsweredSince,
            SkipReason::NoChannel,
            SkipReason::Resolved,
        ]
        .into_iter()
        .find(|r| r.as_str() == raw)
    }
}

/// How far a group reply has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReplyProgress {
    pub total: u64,
    pub pending: u64,
    pub replied: u64,
    pub skipped: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_tier_narrows_the_date_range_and_moves_with_today() {
        let windows = PriorityWindows::default();
        let today = date!(2026 - 12 - 04);
        let critical = GroupFilter {
            tier: Some(Tier::Critical),
            ..GroupFilter::default()
        };
        assert_eq!(
            critical.departure_range(&windows, today),
            (None, Some(date!(2026 - 12 - 07)))
        );
        let high_from_the_6th = GroupFilter {
            tier: Some(Tier::High),
            departure_from: Some(date!(2026 - 12 - 10)),
            ..GroupFilter::default()
        };
        assert_eq!(
            high_from_the_6th.departure_range(&windows, today),
            (Some(date!(2026 - 12 - 10)), Some(date!(2026 - 12 - 11)))
        );
        let normal = GroupFilter {
            tier: Some(Tier::Normal),
            ..GroupFilter::default()
        };
        assert_eq!(
            normal.departure_range(&windows, date!(2026 - 12 - 05)),
            (Some(date!(2026 - 12 - 13)), None)
        );
        assert_eq!(
            GroupFilter::default().departure_range(&windows, today),
            (None, None)
        );
    }
}
