//! The delivery queue as the dispatcher sees it: claim a batch under a lease and commit,
//! send outside any transaction, then record each outcome. A claim whose lease ran out
//! (its worker died) is due again, with the same Message-ID.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Order, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use time::{Duration, OffsetDateTime};

use crate::Store;
use crate::audience::{Recipient, to_recipient};
use crate::campaigns::{DELIVERY_FAILED, DELIVERY_PENDING, DELIVERY_SENT, DELIVERY_SUPPRESSED};
use crate::convert::now;
use crate::entity::{audience_member, campaign, delivery};
use crate::error::StoreResult;
use muster_core::campaign::CampaignStatus;

#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub campaign_id: i64,
    pub message_id: String,
    /// Failed attempts so far.
    pub attempts: u32,
    pub recipient: Recipient,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Sent,
    /// A temporary failure: tried again at `at`.
    Retry {
        error: String,
        at: OffsetDateTime,
    },
    /// A permanent failure; `bounce` marks the address hard-bounced everywhere.
    Failed {
        error: String,
        bounce: bool,
    },
    /// Unsubscribed or bounced since the campaign started.
    Suppressed,
    /// Claimed but not sent (shutting down): due again at once.
    Released,
}

impl Store {
    /// Claims up to `limit` due deliveries of sending campaigns for `worker` until
    /// `lease` from now. On PostgreSQL the rows are locked with SKIP LOCKED so replicas
    /// never wait on each other; SQLite's single writer connection serialises claims.
    pub async fn claim_deliveries(
        &self,
        worker: &str,
        limit: u64,
        lease: Duration,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let at = now();
        let until = at + lease;
        let sending = Query::select()
            .column(campaign::Column::Id)
            .from(campaign::Entity)
            .and_where(campaign::Column::Status.eq(CampaignStatus::Sending.as_str()))
            .to_owned();
        let due = Query::select()
            .column(delivery::Column::Id)
            .from(delivery::Entity)
            .and_where(delivery::Column::Status.eq(DELIVERY_PENDING))
            .and_where(delivery::Column::NextAttemptAt.lte(at))
            .and_where(delivery::Column::CampaignId.in_subquery(sending))
            // Walks idx_deliveries_due in order on both engines: no sort of the whole queue.
            .order_by(delivery::Column::NextAttemptAt, Order::Asc)
            .order_by(delivery::Column::Id, Order::Asc)
            .limit(limit)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .to_owned();
        let tx = self.db.begin().await?;
        let claimed = delivery::Entity::update_many()
            .col_expr(delivery::Column::ClaimedBy, Expr::value(worker))
            .col_expr(delivery::Column::LeaseUntil, Expr::value(until))
            // Due again when the lease runs out, should this worker die.
            .col_expr(delivery::Column::NextAttemptAt, Expr::value(until))
            .filter(delivery::Column::Id.in_subquery(due))
            .exec_with_returning(&tx)
            .await?;
        let member_ids: Vec<i64> = claimed.iter().map(|d| d.audience_member_id).collect();
        let mut members: HashMap<i64, Recipient> = HashMap::new();
        for chunk in member_ids.chunks(500) {
            for m in audience_member::Entity::find()
                .filter(audience_member::Column::Id.is_in(chunk.iter().copied()))
                .all(&tx)
                .await?
            {
                members.insert(m.id, to_recipient(m));
            }
        }
        // An address suppressed since the campaign started (a bounce, a complaint) is skipped.
        let emails: Vec<&str> = members.values().map(|m| m.email.as_str()).collect();
        let suppressed = crate::mail_feedback::suppressed_among(&tx, &emails).await?;
        for member in members.values_mut() {
            member.suppressed |= suppressed.contains(&member.email);
        }
        tx.commit().await?;
        let mut out: Vec<ClaimedDelivery> = claimed
            .into_iter()
            .filter_map(|d| {
                Some(ClaimedDelivery {
                    recipient: members.remove(&d.audience_member_id)?,
                    id: d.id,
                    campaign_id: d.campaign_id,
                    message_id: d.message_id,
                    attempts: u32::try_from(d.attempts).unwrap_or(0),
                })
            })
            .collect();
        out.sort_by_key(|d| d.id);
        Ok(out)
    }

    /// Records a batch of outcomes in one transaction.
    pub async fn record_outcomes(&self, outcomes: &[(i64, Outcome)]) -> StoreResult<()> {
        use delivery::Column as C;
        let at = now();
        let (sent, others): (Vec<_>, Vec<_>) = outcomes
            .iter()
            .partition(|(_, o)| matches!(o, Outcome::Sent));
        let tx = self.db.begin().await?;
        let sent_ids: Vec<i64> = sent.iter().map(|(id, _)| *id).collect();
        for chunk in sent_ids.chunks(500) {
            delivery::Entity::update_many()
                .col_expr(C::Status, Expr::value(DELIVERY_SENT))
                .col_expr(C::SentAt, Expr::value(Some(at)))
                .col_expr(C::Attempts, Expr::col(C::Attempts).add(1))
                .col_expr(C::ClaimedBy, Expr::value(Option::<String>::None))
                .col_expr(C::LeaseUntil, Expr::value(Option::<OffsetDateTime>::None))
                .col_expr(C::Error, Expr::value(Option::<String>::None))
                .filter(C::Id.is_in(chunk.iter().copied()))
                .exec(&tx)
                .await?;
        }
        for (id, outcome) in others {
            let mut update = delivery::Entity::update_many()
                .col_expr(C::ClaimedBy, Expr::value(Option::<String>::None))
                .col_expr(C::LeaseUntil, Expr::value(Option::<OffsetDateTime>::None))
                .filter(C::Id.eq(*id));
            update = match outcome {
                Outcome::Sent => update,
                Outcome::Retry { error, at: when } => update
                    .col_expr(C::Attempts, Expr::col(C::Attempts).add(1))
                    .col_expr(C::NextAttemptAt, Expr::value(*when))
                    .col_expr(C::Error, Expr::value(Some(error.clone()))),
                Outcome::Failed { error, .. } => update
                    .col_expr(C::Attempts, Expr::col(C::Attempts).add(1))
                    .col_expr(C::Status, Expr::value(DELIVERY_FAILED))
                    .col_expr(C::Error, Expr::value(Some(error.clone()))),
                Outcome::Suppressed => update.col_expr(C::Status, Expr::value(DELIVERY_SUPPRESSED)),
                Outcome::Released => update.col_expr(C::NextAttemptAt, Expr::value(at)),
            };
            update.exec(&tx).await?;
            if let Outcome::Failed { bounce: true, .. } = outcome {
                bounce(&tx, *id, at).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks sending campaigns with nothing left pending as done; returns their ids.
    pub async fn finish_campaigns(&self) -> StoreResult<Vec<i64>> {
        let open = Query::select()
            .column(delivery::Column::CampaignId)
            .from(delivery::Entity)
            .and_where(delivery::Column::Status.eq(DELIVERY_PENDING))
            .and_where(
                Expr::col((delivery::Entity, delivery::Column::CampaignId))
                    .equals((campaign::Entity, campaign::Column::Id)),
            )
            .to_owned();
        let sending = campaign::Entity::find()
            .filter(campaign::Column::Status.eq(CampaignStatus::Sending.as_str()))
            .filter(Expr::exists(open).not())
            .all(&self.db)
            .await?;
        let mut done = Vec::new();
        for c in sending {
            let tx = self.db.begin().await?;
            let changed = campaign::Entity::update_many()
                .col_expr(
                    campaign::Column::Status,
                    Expr::value(CampaignStatus::Done.as_str()),
                )
                .col_expr(campaign::Column::FinishedAt, Expr::value(Some(now())))
                .filter(campaign::Column::Id.eq(c.id))
                .filter(campaign::Column::Status.eq(CampaignStatus::Sending.as_str()))
                .exec(&tx)
                .await?;
            if changed.rows_affected == 1 {
                // Only the replica whose update finished it tells the webhooks, once.
                let payload = serde_json::json!({ "campaign": { "id": c.id, "incident_id": c.incident_id, "subject": c.subject } });
                crate::webhooks::emit_event_on(&tx, "campaign.finished", payload).await?;
                done.push(c.id);
            }
            tx.commit().await?;
        }
        Ok(done)
    }
}

/// The address of delivery `id` cannot receive mail: suppressed in every incident.
async fn bounce<C: sea_orm::ConnectionTrait>(
    conn: &C,
    delivery_id: i64,
    at: OffsetDateTime,
) -> StoreResult<()> {
    let Some(d) = delivery::Entity::find_by_id(delivery_id).one(conn).await? else {
        return Ok(());
    };
    let Some(member) = audience_member::Entity::find_by_id(d.audience_member_id)
        .one(conn)
        .await?
    else {
        return Ok(());
    };
    audience_member::Entity::update_many()
        .col_expr(audience_member::Column::BouncedAt, Expr::value(Some(at)))
        .filter(audience_member::Column::Email.eq(member.email))
        .filter(audience_member::Column::BouncedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}
