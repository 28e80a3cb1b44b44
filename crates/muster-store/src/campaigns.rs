//! Campaigns: created, started (its deliveries written in the same transaction),
//! paused, resumed, cancelled, and their progress.

use std::collections::HashMap;

use muster_core::campaign::{Campaign, CampaignContent, CampaignStatus, Progress, Segment};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait, Value,
};
use time::OffsetDateTime;

use crate::Store;
use crate::audience::SOURCE_SUBSCRIBER;
use crate::audit::record_on;
use crate::convert::{corrupt, from_json, now, to_json};
use crate::entity::{audience_member, campaign, delivery, incident};
use crate::error::{StoreError, StoreResult};

/// What a manager asks for; `send_at` in the future schedules it.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub content: CampaignContent,
    pub segment: Segment,
    pub send_at: Option<OffsetDateTime>,
}

fn to_campaign(m: campaign::Model, slug: String) -> StoreResult<Campaign> {
    Ok(Campaign {
        id: m.id,
        incident_slug: slug,
        content: CampaignContent {
            subject: m.subject,
            text: m.body_text,
            html: (!m.body_html.is_empty()).then_some(m.body_html),
        },
        segment: from_json(m.segment, "campaign segment")?,
        status: CampaignStatus::parse(&m.status)
            .ok_or_else(|| corrupt("campaign status", &m.status))?,
        scheduled_at: m.scheduled_at,
        created_at: m.created_at,
        started_at: m.started_at,
        finished_at: m.finished_at,
    })
}

/// Writes one pending delivery per selected, unsuppressed member, each with its
/// Message-ID, in one statement; returns how many.
async fn write_deliveries<C: ConnectionTrait>(
    conn: &C,
    campaign_id: i64,
    incident_id: i64,
    segment: &Segment,
    id_domain: &str,
) -> StoreResult<u64> {
    let mut values: Vec<Value> = vec![
        campaign_id.into(),
        campaign_id.into(),
        format!("@{id_domain}").into(),
        now().into(),
        incident_id.into(),
        SOURCE_SUBSCRIBER.into(),
    ];
    let mut filters = String::new();
    if !segment.languages.is_empty() {
        let marks = vec!["?"; segment.languages.len()].join(", ");
        values.extend(segment.languages.iter().map(|l| Value::from(l.as_str())));
        filters.push_str(&format!(" AND a.language IN ({marks})"));
    }
    if let Some(from) = segment.departure_from {
        values.push(from.into());
        filters.push_str(" AND a.departure_date >= ?");
    }
    if let Some(to) = segment.departure_to {
        values.push(to.into());
        filters.push_str(" AND a.departure_date <= ?");
    }
    // The Message-ID is derived from the campaign and the member: stable across re-sends.
    let sql = format!(
        "INSERT INTO deliveries (campaign_id, audience_member_id, status, message_id, attempts, next_attempt_at) \
         SELECT ?, a.id, '{DELIVERY_PENDING}', 'campaign-' || CAST(? AS TEXT) || '-' || CAST(a.id AS TEXT) || ?, 0, ? \
         FROM audience_members a \
         WHERE a.incident_id = ? AND a.unsubscribed_at IS NULL AND a.bounced_at IS NULL \
         AND (a.source <> ? OR a.confirmed_at IS NOT NULL) \
         AND NOT EXISTS (SELECT 1 FROM audience_members s WHERE s.email = a.email \
             AND (s.unsubscribed_at IS NOT NULL OR s.bounced_at IS NOT NULL)) \
         AND NOT EXISTS (SELECT 1 FROM mail_suppressions x WHERE x.email = a.email){filters} \
         ORDER BY a.id"
    );
    let result = conn
        .execute_raw(crate::raw_sql::statement(
            conn.get_database_backend(),
            &sql,
            values,
        ))
        .await?;
    Ok(result.rows_affected())
}

impl Store {
    async fn incident_id(&self, slug: &str) -> StoreResult<i64> {
        Ok(incident::Entity::find()
            .filter(incident::Column::Slug.eq(slug))
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound("incident"))?
            .id)
    }

    /// Creates a campaign; unless it is scheduled for later, it starts at once, its
    /// deliveries written in the same transaction. `id_domain` ends every Message-ID.
    pub async fn create_campaign(
        &self,
        slug: &str,
        new: NewCampaign,
        id_domain: &str,
        actor: &str,
        actor_id: Option<i64>,
    ) -> StoreResult<Campaign> {
        let incident_id = self.incident_id(slug).await?;
        let created = now();
        let later = new.send_at.filter(|at| *at > created);
        let tx = self.db.begin().await?;
        let saved = campaign::ActiveModel {
            incident_id: Set(incident_id),
            subject: Set(new.content.subject.clone()),
            body_html: Set(new.content.html.clone().unwrap_or_default()),
            body_text: Set(new.content.text.clone()),
            segment: Set(to_json(&new.segment)),
            status: Set(if later.is_some() {
                CampaignStatus::Scheduled
            } else {
                CampaignStatus::Sending
            }
            .as_str()
            .to_owned()),
            scheduled_at: Set(later),
            created_at: Set(created),
            started_at: Set(later.is_none().then_some(created)),
            finished_at: Set(None),
            created_by: Set(actor_id),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        let recipients = if later.is_none() {
            write_deliveries(&tx, saved.id, incident_id, &new.segment, id_domain).await?
        } else {
            0
        };
        record_on(
            &tx,
            actor,
            if later.is_some() {
                "campaign.schedule"
            } else {
                "campaign.start"
            },
            slug,
            serde_json::json!({"campaign_id": saved.id, "recipients": recipients}),
        )
        .await?;
        tx.commit().await?;
        to_campaign(saved, slug.to_owned())
    }

    /// Starts every scheduled campaign whose time has come; safe to run on every replica
    /// (the status change decides which one writes the deliveries).
    pub async fn start_due_campaigns(&self, id_domain: &str) -> StoreResult<u64> {
        let due = campaign::Entity::find()
            .filter(campaign::Column::Status.eq(CampaignStatus::Scheduled.as_str()))
            .filter(campaign::Column::ScheduledAt.lte(now()))
            .all(&self.db)
            .await?;
        let mut started = 0;
        for model in due {
            let tx = self.db.begin().await?;
            let taken = campaign::Entity::update_many()
                .col_expr(
                    campaign::Column::Status,
                    Expr::value(CampaignStatus::Sending.as_str()),
                )
                .col_expr(campaign::Column::StartedAt, Expr::value(now()))
                .filter(campaign::Column::Id.eq(model.id))
                .filter(campaign::Column::Status.eq(CampaignStatus::Scheduled.as_str()))
                .exec(&tx)
                .await?;
            if taken.rows_affected == 1 {
                let segment: Segment = from_json(model.segment.clone(), "campaign segment")?;
                let recipients =
                    write_deliveries(&tx, model.id, model.incident_id, &segment, id_domain).await?;
                record_on(
                    &tx,
                    "scheduler",
                    "campaign.start",
                    &format!("campaign:{}", model.id),
                    serde_json::json!({"campaign_id": model.id, "recipients": recipients}),
                )
                .await?;
                started += 1;
            }
            tx.commit().await?;
        }
        Ok(started)
    }

    pub async fn campaign(&self, id: i64) -> StoreResult<Campaign> {
        let model = campaign::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound("campaign"))?;
        let slug = incident::Entity::find_by_id(model.incident_id)
            .one(&self.db)
            .await?
            .map(|i| i.slug)
            .unwrap_or_default();
        to_campaign(model, slug)
    }

    pub async fn campaigns_of(&self, slug: &str) -> StoreResult<Vec<Campaign>> {
        let incident_id = self.incident_id(slug).await?;
        campaign::Entity::find()
            .filter(campaign::Column::IncidentId.eq(incident_id))
            .order_by_desc(campaign::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| to_campaign(m, slug.to_owned()))
            .collect()
    }

    /// Moves a campaign from one of `from` to `to`; a conflict when it is in neither.
    async fn transition(
        &self,
        id: i64,
        from: &[CampaignStatus],
        to: CampaignStatus,
        action: &str,
        actor: &str,
    ) -> StoreResult<Campaign> {
        let tx = self.db.begin().await?;
        let mut update = campaign::Entity::update_many()
            .col_expr(campaign::Column::Status, Expr::value(to.as_str()))
            .filter(campaign::Column::Id.eq(id))
            .filter(campaign::Column::Status.is_in(from.iter().map(|s| s.as_str())));
        if to.is_finished() {
            update = update.col_expr(campaign::Column::FinishedAt, Expr::value(Some(now())));
        }
        let changed = update.exec(&tx).await?;
        if changed.rows_affected == 0 {
            drop(tx);
            let current = self.campaign(id).await?;
            return Err(StoreError::Conflict(format!(
                "campaign {id} is {}",
                current.status.as_str()
            )));
        }
        if to == CampaignStatus::Cancelled {
            // What was not sent will not be: in-flight sends still record their outcome.
            delivery::Entity::update_many()
                .col_expr(delivery::Column::Status, Expr::value(DELIVERY_CANCELLED))
                .filter(delivery::Column::CampaignId.eq(id))
                .filter(delivery::Column::Status.eq(DELIVERY_PENDING))
                .filter(delivery::Column::ClaimedBy.is_null())
                .exec(&tx)
                .await?;
        }
        record_on(
            &tx,
            actor,
            action,
            &format!("campaign:{id}"),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        self.campaign(id).await
    }

    pub async fn pause_campaign(&self, id: i64, actor: &str) -> StoreResult<Campaign> {
        self.transition(
            id,
            &[CampaignStatus::Sending],
            CampaignStatus::Paused,
            "campaign.pause",
            actor,
        )
        .await
    }

    pub async fn resume_campaign(&self, id: i64, actor: &str) -> StoreResult<Campaign> {
        self.transition(
            id,
            &[CampaignStatus::Paused],
            CampaignStatus::Sending,
            "campaign.resume",
            actor,
        )
        .await
    }

    pub async fn cancel_campaign(&self, id: i64, actor: &str) -> StoreResult<Campaign> {
        let from = [
            CampaignStatus::Scheduled,
            CampaignStatus::Sending,
            CampaignStatus::Paused,
        ];
        self.transition(
            id,
            &from,
            CampaignStatus::Cancelled,
            "campaign.cancel",
            actor,
        )
        .await
    }

    pub async fn campaign_progress(&self, id: i64) -> StoreResult<Progress> {
        let campaign = self.campaign(id).await?;
        let counts: Vec<(String, i64)> = delivery::Entity::find()
            .select_only()
            .column(delivery::Column::Status)
            .column_as(delivery::Column::Id.count(), "n")
            .filter(delivery::Column::CampaignId.eq(id))
            .group_by(delivery::Column::Status)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut progress = Progress::default();
        for (status, n) in counts {
            let n = u64::try_from(n).unwrap_or(0);
            progress.total += n;
            match status.as_str() {
                DELIVERY_SENT => progress.sent += n,
                DELIVERY_FAILED => progress.failed += n,
                DELIVERY_SUPPRESSED => progress.suppressed += n,
                DELIVERY_CANCELLED => progress.cancelled += n,
                DELIVERY_BOUNCED => progress.bounced += n,
                _ => progress.pending += n,
            }
        }
        let until = campaign.finished_at.unwrap_or_else(now);
        Ok(progress.with_rate(campaign.started_at, until))
    }

    /// The campaign's failed deliveries, first failed first, each with its address and
    /// the reason it failed.
    pub async fn campaign_failures(
        &self,
        id: i64,
        limit: u64,
    ) -> StoreResult<Vec<DeliveryFailure>> {
        let failed: Vec<(i64, Option<String>)> = delivery::Entity::find()
            .select_only()
            .column(delivery::Column::AudienceMemberId)
            .column(delivery::Column::Error)
            .filter(delivery::Column::CampaignId.eq(id))
            .filter(delivery::Column::Status.eq(DELIVERY_FAILED))
            .order_by_asc(delivery::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await?;
        let members: HashMap<i64, String> = audience_member::Entity::find()
            .filter(audience_member::Column::Id.is_in(failed.iter().map(|(m, _)| *m)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (m.id, m.email))
            .collect();
        Ok(failed
            .into_iter()
            .map(|(member, error)| DeliveryFailure {
                email: members.get(&member).cloned().unwrap_or_default(),
                error: error.unwrap_or_default(),
            })
            .collect())
    }
}

/// One delivery that failed for good.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryFailure {
    pub email: String,
    pub error: String,
}

pub(crate) const DELIVERY_PENDING: &str = "pending";
pub(crate) const DELIVERY_SENT: &str = "sent";
pub(crate) const DELIVERY_FAILED: &str = "failed";
pub(crate) const DELIVERY_SUPPRESSED: &str = "suppressed";
pub(crate) const DELIVERY_CANCELLED: &str = "cancelled";
/// Sent, then returned by the receiving side with a permanent failure (a DSN).
pub(crate) const DELIVERY_BOUNCED: &str = "bounced";
