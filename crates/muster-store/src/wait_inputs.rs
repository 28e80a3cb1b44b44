//! What the wait estimator reads from the live queue of one incident: the cases waiting per
//! departure date, recent arrivals, recent first answers with the agent time they took, and the agents
//! seen at work. Agents take cases from one queue per incident whatever channel a case came
//! in on, so every figure here is the incident's, not a channel's. It also keeps every
//! estimate posted, so posted waits can be compared with realised ones.

use std::collections::BTreeSet;

use muster_core::case::CaseStatus;
use muster_core::incident::ChannelKind;
use muster_core::priority::Tier;
use muster_core::queue_profile::Waiting;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};
use time::{Date, OffsetDateTime};

use crate::Store;
use crate::entity::{case, user, wait_estimate};
use crate::error::StoreResult;
use crate::raw_sql::statement;

/// Audited actions only an agent (or a manager working the queue) takes on a case; intake,
/// SLA marks and integrations write others.
const AGENT_ACTIONS: [&str; 7] = [
    "case.take",
    "case.reply",
    "case.status",
    "case.note",
    "case.team",
    "case.merge",
    "case.call",
];

/// The user behind an audit actor (`user:EMAIL` from the console, `api:EMAIL` from a token),
/// so one agent working through both counts once; `None` for anyone else.
pub fn agent_of_actor(actor: &str) -> Option<&str> {
    actor
        .strip_prefix("user:")
        .or_else(|| actor.strip_prefix("api:"))
        .filter(|email| !email.is_empty())
}

/// One first answer: when it went out, how long its agent spent on it, what it answered.
#[derive(Debug, Clone)]
pub struct FirstAnswer {
    pub at: OffsetDateTime,
    pub handling_seconds: Option<i64>,
    pub request_type: String,
}

/// One case's arrival: when, and when its customer departs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    pub at: OffsetDateTime,
    pub departure: Option<Date>,
}

/// An estimate as it was posted, for the record.
#[derive(Debug, Clone)]
pub struct PostedEstimate {
    pub channel: ChannelKind,
    pub tier: Tier,
    pub low_minutes: i64,
    pub high_minutes: i64,
    pub point_minutes: f64,
    pub source: &'static str,
}

impl Store {
    /// Open cases not taken by an agent, per departure date, with how many of them are
    /// overdue: the incident's queue as the estimator places a case in it. One pass over the
    /// incident's open cases, grouped by a handful of dates.
    pub async fn waiting_by_departure(
        &self,
        incident_id: i64,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Waiting>> {
        self.waiting_where(incident_id, now, "").await
    }

    /// The waiting cases that also meet `condition` (SQL, `AND …`), per departure date.
    pub(crate) async fn waiting_where(
        &self,
        incident_id: i64,
        now: OffsetDateTime,
        condition: &'static str,
    ) -> StoreResult<Vec<Waiting>> {
        // The status literal, not bound: the partial case indexes are for this predicate.
        let sql = format!(
            "SELECT departure_date, COUNT(*) AS cases, \
             SUM(CASE WHEN overdue_at IS NULL THEN 0 ELSE 1 END) AS overdue \
             FROM cases WHERE incident_id = ? AND status = '{}' {condition} \
             AND (claimed_by IS NULL OR lease_until < ?) GROUP BY departure_date",
            CaseStatus::Open.as_str()
        );
        let rows = self
            .db
            .query_all_raw(statement(
                self.backend(),
                &sql,
                vec![incident_id.into(), now.into()],
            ))
            .await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        rows.iter()
            .map(|row| {
                Ok(Waiting {
                    departure: row.try_get("", "departure_date")?,
                    cases: count(row.try_get("", "cases")?),
                    overdue: count(row.try_get::<Option<i64>>("", "overdue")?.unwrap_or(0)),
                })
            })
            .collect()
    }

    /// First answers since `since`, oldest first.
    pub async fn first_answers_since(
        &self,
        incident_id: i64,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<FirstAnswer>> {
        let rows: Vec<(Option<OffsetDateTime>, Option<i64>, String)> = case::Entity::find()
            .select_only()
            .column(case::Column::FirstResponseAt)
            .column(case::Column::HandlingSeconds)
            .column(case::Column::RequestType)
            .filter(case::Column::IncidentId.eq(incident_id))
            .filter(case::Column::FirstResponseAt.gt(since))
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut answers: Vec<FirstAnswer> = rows
            .into_iter()
            .filter_map(|(at, handling_seconds, request_type)| {
                Some(FirstAnswer {
                    at: at?,
                    handling_seconds,
                    request_type,
                })
            })
            .collect();
        answers.sort_by_key(|a| a.at);
        Ok(answers)
    }

    /// Each case that arrived between `from` and `to`, oldest first, with its departure date:
    /// one range of `idx_cases_arrivals`.
    pub async fn arrivals_between(
        &self,
        incident_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> StoreResult<Vec<Arrival>> {
        let rows: Vec<(OffsetDateTime, Option<Date>)> = case::Entity::find()
            .select_only()
            .column(case::Column::CreatedAt)
            .column(case::Column::DepartureDate)
            .filter(case::Column::IncidentId.eq(incident_id))
            .filter(case::Column::CreatedAt.gt(from))
            .filter(case::Column::CreatedAt.lte(to))
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut arrivals: Vec<Arrival> = rows
            .into_iter()
            .map(|(at, departure)| Arrival { at, departure })
            .collect();
        arrivals.sort_by_key(|a| a.at);
        Ok(arrivals)
    }

    /// The agents (by email) seen working the incident's cases since `since`: those who took
    /// a case (its claim, which a take writes whether from the console or the API, until
    /// resolving clears it) and those who answered, resolved, noted, moved, merged or
    /// logged a call on one (the audit log, which every such action writes in its own
    /// transaction, and which keeps the agent after the claim is cleared). Both are ranges
    /// over recent rows of an index (`idx_cases_claimed_at`, `idx_audit_at`). Outbound
    /// contacts would say the same as the audited replies but have no index by time.
    pub async fn agents_seen_since(
        &self,
        incident_id: i64,
        since: OffsetDateTime,
    ) -> StoreResult<BTreeSet<String>> {
        // No DISTINCT and no test on `claimed_by` in SQL: either lets SQLite's planner walk
        // `idx_cases_claimed` (every claim ever) instead of this range of recent claims.
        let claims: Vec<Option<i64>> = case::Entity::find()
            .select_only()
            .column(case::Column::ClaimedBy)
            .filter(case::Column::IncidentId.eq(incident_id))
            .filter(case::Column::ClaimedAt.gt(since))
            .into_tuple()
            .all(&self.db)
            .await?;
        let claimers: BTreeSet<i64> = claims.into_iter().flatten().collect();
        let mut agents: BTreeSet<String> = if claimers.is_empty() {
            BTreeSet::new()
        } else {
            user::Entity::find()
                .select_only()
                .column(user::Column::Email)
                .filter(user::Column::Id.is_in(claimers))
                .into_tuple::<String>()
                .all(&self.db)
                .await?
                .into_iter()
                .collect()
        };
        let actions = vec!["?"; AGENT_ACTIONS.len()].join(", ");
        let sql = format!(
            "SELECT DISTINCT a.actor FROM audit_log a JOIN cases c ON c.reference = a.subject \
             WHERE a.at > ? AND c.incident_id = ? AND a.action IN ({actions})"
        );
        let mut values: Vec<sea_orm::Value> = vec![since.into(), incident_id.into()];
        values.extend(AGENT_ACTIONS.iter().map(|a| sea_orm::Value::from(*a)));
        for row in self
            .db
            .query_all_raw(statement(self.backend(), &sql, values))
            .await?
        {
            let actor: String = row.try_get("", "actor")?;
            if let Some(email) = agent_of_actor(&actor) {
                agents.insert(email.to_owned());
            }
        }
        Ok(agents)
    }

    /// Estimates posted since `since` for one channel and tier: (when, point in minutes).
    pub async fn posted_estimates_since(
        &self,
        incident_id: i64,
        channel: ChannelKind,
        tier: Tier,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<(OffsetDateTime, f64)>> {
        Ok(wait_estimate::Entity::find()
            .select_only()
            .column(wait_estimate::Column::PostedAt)
            .column(wait_estimate::Column::PointMinutes)
            .filter(wait_estimate::Column::IncidentId.eq(incident_id))
            .filter(wait_estimate::Column::Channel.eq(channel.as_str()))
            .filter(wait_estimate::Column::Tier.eq(tier.as_str()))
            .filter(wait_estimate::Column::PostedAt.gt(since))
            .into_tuple()
            .all(&self.db)
            .await?)
    }

    pub async fn record_posted_estimates(
        &self,
        incident_id: i64,
        estimates: &[PostedEstimate],
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        for e in estimates {
            wait_estimate::ActiveModel {
                incident_id: Set(incident_id),
                channel: Set(e.channel.as_str().to_owned()),
                tier: Set(e.tier.as_str().to_owned()),
                low_minutes: Set(e.low_minutes),
                high_minutes: Set(e.high_minutes),
                point_minutes: Set(e.point_minutes),
                source: Set(e.source.to_owned()),
                posted_at: Set(at),
                ..Default::default()
            }
            .insert(&self.db)
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_and_api_actors_are_the_same_agent_and_nobody_else_is_one() {
        assert_eq!(
            agent_of_actor("user:ann@example.com"),
            Some("ann@example.com")
        );
        assert_eq!(
            agent_of_actor("api:ann@example.com"),
            Some("ann@example.com")
        );
        assert_eq!(agent_of_actor("system"), None);
        assert_eq!(agent_of_actor("customer"), None);
        assert_eq!(agent_of_actor("user:"), None);
    }
}
