//! First-response targets per tier: a case past its target is marked overdue exactly once
//! (the `overdue_at IS NULL` guard makes the marking race-free across replicas), which
//! moves it up within its tier and lets the caller raise the alert.

use muster_core::case::{Case, CaseStatus};
use muster_core::incident::SlaTargets;
use muster_core::priority::{PriorityWindows, Tier};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, TransactionTrait,
    Value,
};
use time::{Date, Duration, OffsetDateTime};

use crate::Store;
use crate::cases::{MailJob, enqueue, to_case};
use crate::entity::{case, user};
use crate::error::StoreResult;
use crate::raw_sql::statement;

#[derive(Debug, FromQueryResult)]
struct MarkedId {
    id: i64,
}

fn target(sla: SlaTargets, tier: Tier) -> Duration {
    Duration::minutes(match tier {
        Tier::Critical => sla.critical_minutes,
        Tier::High => sla.high_minutes,
        Tier::Normal => sla.normal_minutes,
    })
}

impl Store {
    /// Marks the incident's open, unanswered cases that are past their tier's target, and
    /// queues their alerts (`alerts`) in the same transaction: exactly one alert per case.
    pub async fn mark_overdue(
        &self,
        incident_id: i64,
        today: Date,
        windows: PriorityWindows,
        sla: SlaTargets,
        now: OffsetDateTime,
        alerts: impl Fn(&Case) -> Vec<MailJob>,
    ) -> StoreResult<Vec<Case>> {
        let critical_end = today + Duration::days(windows.critical_days);
        let high_end = today + Duration::days(windows.high_days);
        // (tier, extra condition on the departure date, its values)
        let tiers: [(Tier, &str, Vec<Value>); 3] = [
            (
                Tier::Critical,
                "departure_date <= ?",
                vec![critical_end.into()],
            ),
            (
                Tier::High,
                "departure_date > ? AND departure_date <= ?",
                vec![critical_end.into(), high_end.into()],
            ),
            (
                Tier::Normal,
                "(departure_date > ? OR departure_date IS NULL)",
                vec![high_end.into()],
            ),
        ];
        let mut marked = Vec::new();
        for (tier, date_condition, date_values) in tiers {
            let deadline = now - target(sla, tier);
            let sql = format!(
                "UPDATE cases SET overdue_at = ? WHERE id IN (SELECT id FROM cases \
                 WHERE incident_id = ? AND status = ? AND first_response_at IS NULL AND overdue_at IS NULL \
                 AND created_at < ? AND {date_condition} ORDER BY created_at LIMIT 500 {{skip_locked}}) \
                 AND overdue_at IS NULL RETURNING id"
            );
            let mut values: Vec<Value> = vec![
                now.into(),
                incident_id.into(),
                CaseStatus::Open.as_str().into(),
                deadline.into(),
            ];
            values.extend(date_values);
            let tx = self.db.begin().await?;
            let rows = tx
                .query_all_raw(statement(self.backend(), &sql, values))
                .await?;
            let ids = rows
                .iter()
                .map(|r| MarkedId::from_query_result(r, "").map(|m| m.id))
                .collect::<Result<Vec<_>, _>>()?;
            for model in case::Entity::find()
                .filter(case::Column::Id.is_in(ids))
                .all(&tx)
                .await?
            {
                let overdue = to_case(model)?;
                for job in alerts(&overdue) {
                    enqueue(&tx, overdue.id, job).await?;
                }
                let payload = serde_json::json!({ "case": {
                    "reference": overdue.reference.as_str(), "incident_id": overdue.incident_id,
                    "departure_date": overdue.departure_date.map(|d| d.to_string()),
                    "team": overdue.team, "request_type": overdue.request_type, "overdue_at": now.unix_timestamp(),
                } });
                crate::webhooks::emit_event_on(&tx, "case.overdue", payload).await?;
                marked.push(overdue);
            }
            tx.commit().await?;
        }
        Ok(marked)
    }

    /// Where overdue alerts go: every active manager.
    pub async fn manager_emails(&self) -> StoreResult<Vec<String>> {
        Ok(user::Entity::find()
            .filter(user::Column::Role.eq("manager"))
            .filter(user::Column::Active.eq(true))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| u.email)
            .collect())
    }
}
