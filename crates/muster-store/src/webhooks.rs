//! Outbound webhooks: endpoints managers register, and the deliveries an event fans out
//! to. Deliveries are written in the transaction that made the event happen, claimed with
//! a lease (like the mail queue), sent outside any transaction, then recorded attempt by
//! attempt. The delivery id is the idempotency key a receiver sees on every retry.

use std::collections::HashMap;

use muster_core::webhook::{WebhookEvent, WebhookUrl};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait, Value,
};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::Store;
use crate::audit::record_on;
use crate::convert::{corrupt, from_json, now, to_json};
use crate::entity::{webhook_attempt, webhook_delivery, webhook_endpoint};
use crate::error::{StoreError, StoreResult};
use crate::tokens::random_token;

/// Secrets carry a recognisable prefix so a leaked one is easy to spot in a scan.
const SECRET_PREFIX: &str = "whsec_";

#[derive(Debug, Clone, Serialize)]
pub struct WebhookEndpoint {
    pub id: i64,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub active: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A new endpoint and its signing secret, which is shown once and never listed again.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    pub secret: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt or its next retry.
    Pending,
    /// Claimed by a worker, under a lease.
    Delivering,
    Delivered,
    /// Given up on after the last attempt.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivering => "delivering",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    fn parse(raw: &str) -> StoreResult<Self> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivering,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
        .ok_or_else(|| corrupt("webhook delivery status", raw))
    }
}

/// One try at a delivery: what the receiver answered (or why there was no answer).
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// A delivery as the log shows it, with its attempts, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    pub id: String,
    pub event: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
    pub history: Vec<Attempt>,
}

/// A delivery claimed for sending: the exact body, and where and how to sign it.
#[derive(Clone)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub delivery_id: String,
    pub endpoint_id: i64,
    pub event: String,
    pub body: serde_json::Value,
    /// Attempts made, this one included.
    pub attempts: i32,
    pub url: String,
    pub secret: String,
}

/// Never print the secret, even in a debug dump.
impl std::fmt::Debug for ClaimedDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimedDelivery")
            .field("id", &self.id)
            .field("delivery_id", &self.delivery_id)
            .field("endpoint_id", &self.endpoint_id)
            .field("event", &self.event)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// What happened on one attempt.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration: std::time::Duration,
}

/// What to do with a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Delivered,
    RetryIn(Duration),
    GiveUp,
}

#[derive(Debug, FromQueryResult)]
struct ClaimedRow {
    id: i64,
    delivery_id: String,
    endpoint_id: i64,
    event: String,
    payload: serde_json::Value,
    attempts: i32,
}

fn to_endpoint(m: webhook_endpoint::Model) -> StoreResult<WebhookEndpoint> {
    let names: Vec<String> = from_json(m.events, "webhook events")?;
    let events = names
        .iter()
        .map(|n| WebhookEvent::parse(n).map_err(|_| corrupt("webhook event", n)))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(WebhookEndpoint {
        id: m.id,
        url: m.url,
        events,
        active: m.active,
        created_at: m.created_at,
    })
}

fn status_code(raw: Option<i32>) -> Option<u16> {
    raw.and_then(|c| u16::try_from(c).ok())
}

/// Queues `event` for every active endpoint subscribed to it, on `conn`, so the
/// deliveries commit (or roll back) with the change that caused them. `payload` becomes
/// the body's `data`. Returns how many deliveries were queued. `event` is one of
/// [`WebhookEvent`]'s names; any other is refused, so a misspelt event fails loudly
/// instead of never being delivered.
pub async fn emit_event_on<C: ConnectionTrait>(
    conn: &C,
    event: &str,
    payload: serde_json::Value,
) -> StoreResult<u64> {
    let event = WebhookEvent::parse(event)
        .map_err(|e| StoreError::Conflict(e.to_string()))?
        .as_str();
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Active.eq(true))
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(conn)
        .await?;
    let at = now();
    let mut queued = 0;
    for endpoint in endpoints {
        let subscribed: Vec<String> = from_json(endpoint.events, "webhook events")?;
        if !subscribed.iter().any(|e| e == event) {
            continue;
        }
        let delivery_id = uuid::Uuid::new_v4().to_string();
        let body = serde_json::json!({
            "id": delivery_id,
            "event": event,
            "created_at": at.format(&Rfc3339).unwrap_or_default(),
            "data": payload,
        });
        webhook_delivery::ActiveModel {
            delivery_id: Set(delivery_id),
            endpoint_id: Set(endpoint.id),
            event: Set(event.to_owned()),
            payload: Set(body),
            status: Set(DeliveryStatus::Pending.as_str().to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(at),
            lease_until: Set(None),
            last_status_code: Set(None),
            last_error: Set(None),
            created_at: Set(at),
            delivered_at: Set(None),
            ..Default::default()
        }
        .insert(conn)
        .await?;
        queued += 1;
    }
    Ok(queued)
}

impl Store {
    /// Queues `event` for every subscribed endpoint; see [`emit_event_on`].
    pub async fn emit_event(&self, event: &str, payload: serde_json::Value) -> StoreResult<u64> {
        emit_event_on(&self.db, event, payload).await
    }

    /// Registers an endpoint with a new secret, returned here and nowhere else.
    pub async fn create_webhook(
        &self,
        url: &WebhookUrl,
        events: &[WebhookEvent],
        actor: &str,
    ) -> StoreResult<CreatedWebhook> {
        let secret = format!("{SECRET_PREFIX}{}", random_token());
        let names: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
        let tx = self.db.begin().await?;
        let saved = webhook_endpoint::ActiveModel {
            url: Set(url.as_str().to_owned()),
            secret: Set(secret.clone()),
            events: Set(to_json(&names)),
            active: Set(true),
            created_at: Set(now()),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        record_on(
            &tx,
            actor,
            "webhook.create",
            &format!("webhook:{}", saved.id),
            serde_json::json!({ "url": saved.url, "events": names }),
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedWebhook {
            endpoint: to_endpoint(saved)?,
            secret,
        })
    }

    pub async fn list_webhooks(&self) -> StoreResult<Vec<WebhookEndpoint>> {
        webhook_endpoint::Entity::find()
            .order_by_asc(webhook_endpoint::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_endpoint)
            .collect()
    }

    pub async fn webhook(&self, id: i64) -> StoreResult<WebhookEndpoint> {
        webhook_endpoint::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound("webhook"))
            .and_then(to_endpoint)
    }

    /// Disables or enables an endpoint. A disabled endpoint gets no new deliveries and
    /// its pending ones wait until it is enabled again.
    pub async fn set_webhook_active(&self, id: i64, active: bool, actor: &str) -> StoreResult<()> {
        let tx = self.db.begin().await?;
        let result = webhook_endpoint::Entity::update_many()
            .col_expr(webhook_endpoint::Column::Active, Expr::value(active))
            .filter(webhook_endpoint::Column::Id.eq(id))
            .exec(&tx)
            .await?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound("webhook"));
        }
        let action = if active {
            "webhook.enable"
        } else {
            "webhook.disable"
        };
        record_on(
            &tx,
            actor,
            action,
            &format!("webhook:{id}"),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes an endpoint with its deliveries and their history.
    pub async fn delete_webhook(&self, id: i64, actor: &str) -> StoreResult<()> {
        let tx = self.db.begin().await?;
        let found = webhook_endpoint::Entity::find_by_id(id)
            .one(&tx)
            .await?
            .ok_or(StoreError::NotFound("webhook"))?;
        webhook_endpoint::Entity::delete_by_id(id).exec(&tx).await?;
        record_on(
            &tx,
            actor,
            "webhook.delete",
            &format!("webhook:{id}"),
            serde_json::json!({ "url": found.url }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An endpoint's most recent deliveries, newest first, each with its attempts.
    pub async fn webhook_deliveries(
        &self,
        endpoint_id: i64,
        limit: u64,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let rows = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::EndpointId.eq(endpoint_id))
            .order_by_desc(webhook_delivery::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut history: HashMap<i64, Vec<Attempt>> = HashMap::new();
        for a in webhook_attempt::Entity::find()
            .filter(webhook_attempt::Column::DeliveryId.is_in(ids))
            .order_by_asc(webhook_attempt::Column::Id)
            .all(&self.db)
            .await?
        {
            history.entry(a.delivery_id).or_default().push(Attempt {
                at: a.attempted_at,
                status_code: status_code(a.status_code),
                error: a.error,
                duration_ms: a.duration_ms,
            });
        }
        rows.into_iter()
            .map(|r| {
                let status = DeliveryStatus::parse(&r.status)?;
                Ok(DeliveryRecord {
                    history: history.remove(&r.id).unwrap_or_default(),
                    id: r.delivery_id,
                    event: r.event,
                    attempts: r.attempts,
                    last_status_code: status_code(r.last_status_code),
                    last_error: r.last_error,
                    created_at: r.created_at,
                    next_attempt_at: (status == DeliveryStatus::Pending)
                        .then_some(r.next_attempt_at),
                    delivered_at: r.delivered_at,
                    status,
                })
            })
            .collect()
    }

    /// Claims up to `limit` due deliveries of active endpoints for `lease`. A delivery
    /// whose lease ran out (a crashed worker) is due again, with the same delivery id.
    pub async fn claim_webhook_deliveries(
        &self,
        limit: u64,
        lease: Duration,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let at = now();
        let (pending, delivering) = (
            DeliveryStatus::Pending.as_str(),
            DeliveryStatus::Delivering.as_str(),
        );
        let sql = format!(
            "UPDATE webhook_deliveries SET status = '{delivering}', lease_until = ?, attempts = attempts + 1 \
                   WHERE id IN (SELECT d.id FROM webhook_deliveries d \
                     WHERE ((d.status = '{pending}' AND d.next_attempt_at <= ?) OR (d.status = '{delivering}' AND d.lease_until < ?)) \
                     AND d.endpoint_id IN (SELECT e.id FROM webhook_endpoints e WHERE e.active = ?) \
                     ORDER BY d.next_attempt_at, d.id LIMIT ? {{skip_locked}}) \
                   RETURNING id, delivery_id, endpoint_id, event, payload, attempts"
        );
        let values: Vec<Value> = vec![
            (at + lease).into(),
            at.into(),
            at.into(),
            true.into(),
            i64::try_from(limit).unwrap_or(100).into(),
        ];
        let rows = self
            .db
            .query_all_raw(crate::raw_sql::statement(self.backend(), &sql, values))
            .await?
            .iter()
            .map(|row| ClaimedRow::from_query_result(row, ""))
            .collect::<Result<Vec<_>, _>>()?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let endpoint_ids: Vec<i64> = rows.iter().map(|r| r.endpoint_id).collect();
        let endpoints: HashMap<i64, webhook_endpoint::Model> = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::Id.is_in(endpoint_ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        let mut claimed: Vec<ClaimedDelivery> = rows
            .into_iter()
            // An endpoint deleted meanwhile took its deliveries with it.
            .filter_map(|r| {
                let endpoint = endpoints.get(&r.endpoint_id)?;
                Some(ClaimedDelivery {
                    id: r.id,
                    delivery_id: r.delivery_id,
                    endpoint_id: r.endpoint_id,
                    event: r.event,
                    body: r.payload,
                    attempts: r.attempts,
                    url: endpoint.url.clone(),
                    secret: endpoint.secret.clone(),
                })
            })
            .collect();
        claimed.sort_by_key(|c| c.id);
        Ok(claimed)
    }

    /// Records one attempt and moves the delivery on: delivered, due again later, or failed.
    pub async fn record_webhook_attempt(
        &self,
        id: i64,
        outcome: &AttemptOutcome,
        next: NextStep,
    ) -> StoreResult<()> {
        let at = now();
        let code = outcome.status_code.map(i32::from);
        let tx = self.db.begin().await?;
        let update = webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::LeaseUntil,
                Expr::value(Option::<OffsetDateTime>::None),
            )
            .col_expr(webhook_delivery::Column::LastStatusCode, Expr::value(code))
            .col_expr(
                webhook_delivery::Column::LastError,
                Expr::value(outcome.error.clone()),
            );
        let update = match next {
            NextStep::Delivered => update
                .col_expr(
                    webhook_delivery::Column::Status,
                    Expr::value(DeliveryStatus::Delivered.as_str()),
                )
                .col_expr(webhook_delivery::Column::DeliveredAt, Expr::value(at)),
            NextStep::RetryIn(delay) => update
                .col_expr(
                    webhook_delivery::Column::Status,
                    Expr::value(DeliveryStatus::Pending.as_str()),
                )
                .col_expr(
                    webhook_delivery::Column::NextAttemptAt,
                    Expr::value(at + delay),
                ),
            NextStep::GiveUp => update.col_expr(
                webhook_delivery::Column::Status,
                Expr::value(DeliveryStatus::Failed.as_str()),
            ),
        };
        let updated = update
            .filter(webhook_delivery::Column::Id.eq(id))
            .exec(&tx)
            .await?;
        // The endpoint was deleted mid-flight, and its deliveries with it.
        if updated.rows_affected == 0 {
            return Ok(());
        }
        webhook_attempt::ActiveModel {
            delivery_id: Set(id),
            attempted_at: Set(at),
            status_code: Set(code),
            error: Set(outcome.error.clone()),
            duration_ms: Set(i64::try_from(outcome.duration.as_millis()).unwrap_or(i64::MAX)),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
