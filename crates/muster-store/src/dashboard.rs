//! The figures a manager watches: contacts per channel over time, first-response times,
//! agents at work. Bounded by time windows so they stay cheap during a surge.

use muster_core::case::Direction;
use sea_orm::{
    ColumnTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QuerySelect, RelationTrait,
};
use time::{Date, OffsetDateTime};

use crate::Store;
use crate::entity::{case, contact};
use crate::error::StoreResult;

/// One answered case: when it came, when it was first answered, and its departure.
#[derive(Debug, Clone, Copy)]
pub struct ResponseSample {
    pub departure_date: Option<Date>,
    pub created_at: OffsetDateTime,
    pub first_response_at: OffsetDateTime,
}

impl Store {
    /// Inbound contacts on the incident's cases since `since`: (channel, when).
    pub async fn inbound_contacts_since(
        &self,
        incident_id: i64,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<(String, OffsetDateTime)>> {
        let rows: Vec<(String, OffsetDateTime)> = contact::Entity::find()
            .select_only()
            .column(contact::Column::Channel)
            .column(contact::Column::CreatedAt)
            .join(JoinType::InnerJoin, contact::Relation::Case.def())
            .filter(case::Column::IncidentId.eq(incident_id))
            .filter(contact::Column::Direction.eq(Direction::Inbound.as_str()))
            .filter(contact::Column::CreatedAt.gt(since))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows)
    }

    /// Cases first answered since `since`, for response-time percentiles.
    pub async fn response_samples(
        &self,
        incident_id: i64,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<ResponseSample>> {
        let rows: Vec<(Option<Date>, OffsetDateTime, Option<OffsetDateTime>)> =
            case::Entity::find()
                .select_only()
                .column(case::Column::DepartureDate)
                .column(case::Column::CreatedAt)
                .column(case::Column::FirstResponseAt)
                .filter(case::Column::IncidentId.eq(incident_id))
                .filter(case::Column::FirstResponseAt.gt(since))
                .into_tuple()
                .all(&self.db)
                .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(departure_date, created_at, first)| {
                first.map(|first_response_at| ResponseSample {
                    departure_date,
                    created_at,
                    first_response_at,
                })
            })
            .collect())
    }

    /// Agents holding a live claim right now.
    pub async fn active_agents(&self, now: OffsetDateTime) -> StoreResult<u64> {
        Ok(case::Entity::find()
            .select_only()
            .column(case::Column::ClaimedBy)
            .distinct()
            .filter(case::Column::ClaimedBy.is_not_null())
            .filter(case::Column::LeaseUntil.gt(now))
            .count(&self.db)
            .await?)
    }
}
