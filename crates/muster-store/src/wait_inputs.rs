//! What the wait estimator reads from the live queue of one channel: the cases waiting per
//! tier, recent arrivals, and recent first answers with the agent time they took. It also
//! keeps every estimate posted, so posted waits can be compared with realised ones.

use muster_core::case::CaseStatus;
use muster_core::incident::ChannelKind;
use muster_core::priority::{PriorityWindows, Tier};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Set,
};
use time::{Date, OffsetDateTime};

use crate::Store;
use crate::entity::{case, wait_estimate};
use crate::error::StoreResult;
use crate::queue::{in_slice, slices};

fn tier_index(tier: Tier) -> usize {
    match tier {
        Tier::Critical => 0,
        Tier::High => 1,
        Tier::Normal => 2,
    }
}

/// One first answer: when it went out, how long its agent spent on it, what it answered.
#[derive(Debug, Clone)]
pub struct FirstAnswer {
    pub at: OffsetDateTime,
    pub handling_seconds: Option<i64>,
    pub request_type: String,
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
    /// Open cases not taken by an agent, per tier (critical, high, normal), on one channel.
    pub async fn waiting_by_tier(
        &self,
        incident_id: i64,
        channel: ChannelKind,
        today: Date,
        windows: PriorityWindows,
        now: OffsetDateTime,
    ) -> StoreResult<[u64; 3]> {
        let mut counts = [0; 3];
        for slice in slices(today, windows) {
            let select = case::Entity::find()
                .filter(case::Column::IncidentId.eq(incident_id))
                .filter(case::Column::Status.eq(CaseStatus::Open.as_str()))
                .filter(case::Column::Channel.eq(channel.as_str()))
                .filter(
                    Condition::any()
                        .add(case::Column::ClaimedBy.is_null())
                        .add(case::Column::LeaseUntil.lt(now)),
                );
            counts[tier_index(slice.tier)] += in_slice(select, slice).count(&self.db).await?;
        }
        Ok(counts)
    }

    /// Cases that arrived on the channel between `from` and `to`, per tier.
    pub async fn arrivals_by_tier(
        &self,
        incident_id: i64,
        channel: ChannelKind,
        from: OffsetDateTime,
        to: OffsetDateTime,
        today: Date,
        windows: PriorityWindows,
    ) -> StoreResult<[u64; 3]> {
        let mut counts = [0; 3];
        for slice in slices(today, windows) {
            let select = case::Entity::find()
                .filter(case::Column::IncidentId.eq(incident_id))
                .filter(case::Column::Channel.eq(channel.as_str()))
                .filter(case::Column::CreatedAt.gt(from))
                .filter(case::Column::CreatedAt.lte(to));
            counts[tier_index(slice.tier)] += in_slice(select, slice).count(&self.db).await?;
        }
        Ok(counts)
    }

    /// First answers on the channel since `since`, oldest first.
    pub async fn first_answers_since(
        &self,
        incident_id: i64,
        channel: ChannelKind,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<FirstAnswer>> {
        let rows: Vec<(Option<OffsetDateTime>, Option<i64>, String)> = case::Entity::find()
            .select_only()
            .column(case::Column::FirstResponseAt)
            .column(case::Column::HandlingSeconds)
            .column(case::Column::RequestType)
            .filter(case::Column::IncidentId.eq(incident_id))
            .filter(case::Column::Channel.eq(channel.as_str()))
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
