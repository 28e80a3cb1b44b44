//! The channel outbox (`outbound_messages`): messages to customers by SMS, WhatsApp,
//! Telegram or the integration's webhook, written in the transaction of their contact,
//! claimed under a lease, sent outside any transaction, and their provider's reports
//! recorded. The rule that keeps a crash from sending twice is in
//! [`muster_core::outbound`]: `sending` is committed before the request, and a message found
//! `sending` with its lease run out becomes `unknown`, never sent again by itself.

use std::collections::HashMap;

use muster_core::incident::ChannelKind;
use muster_core::outbound::{OutboundPayload, OutboundStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, Set, Value,
};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::Store;
use crate::case_work::{OutboundContact, Outgoing};
use crate::convert::{corrupt, now};
use crate::entity::{contact, outbound_message};
use crate::error::StoreResult;
use crate::raw_sql::statement;

/// The most of a provider's error text kept with a message.
const MAX_ERROR_CHARS: usize = 300;

/// A message to queue: where it goes and what it says.
#[derive(Debug, Clone)]
pub struct QueuedMessage {
    pub channel: ChannelKind,
    /// A phone number in E.164 (SMS, WhatsApp), a Telegram chat id, or `network:handle`.
    pub recipient: String,
    pub payload: OutboundPayload,
}

/// A message a sender holds under its lease.
#[derive(Debug, Clone)]
pub struct ClaimedMessage {
    pub id: i64,
    pub case_id: i64,
    pub channel: ChannelKind,
    pub recipient: String,
    pub payload: OutboundPayload,
    /// Stable across attempts: `muster-out-{id}`, sent where a provider takes a reference.
    pub idempotency_key: String,
    /// This claim's number: the sender names it when it marks the message `sending`, so a
    /// sender whose lease ran out cannot start a send that another sender now holds.
    pub attempts: i32,
}

#[derive(FromQueryResult)]
struct ClaimedRow {
    id: i64,
    case_id: i64,
    channel: String,
    recipient: String,
    payload: serde_json::Value,
    idempotency_key: String,
    attempts: i32,
}

/// What came of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendResult {
    /// The provider took it: its message id.
    Sent { provider_id: String },
    /// It certainly did not reach the provider: try again after the delay.
    RetryIn { reason: String, delay: Duration },
    /// The provider refused it for good, or the attempts ran out.
    Failed { reason: String },
    /// The request may have reached the provider without an answer: never resent.
    Unknown { reason: String },
}

/// Where one outbound message stands, as the case page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub channel: ChannelKind,
    pub status: OutboundStatus,
    /// The provider's reason, for a failure.
    pub error: Option<String>,
    pub provider_id: Option<String>,
    pub status_at: OffsetDateTime,
}

fn clipped(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}

pub(crate) async fn enqueue(
    tx: &DatabaseTransaction,
    case_id: i64,
    contact_id: Option<i64>,
    message: QueuedMessage,
) -> Result<(), DbErr> {
    let at = now();
    let saved = outbound_message::ActiveModel {
        case_id: Set(case_id),
        contact_id: Set(contact_id),
        channel: Set(message.channel.as_str().to_owned()),
        recipient: Set(message.recipient),
        payload: Set(serde_json::to_value(&message.payload)
            .map_err(|e| DbErr::Custom(format!("outbound payload: {e}")))?),
        // Made unique from the row's id just below, in the same transaction.
        idempotency_key: Set(uuid::Uuid::new_v4().to_string()),
        status: Set(OutboundStatus::Queued.as_str().to_owned()),
        attempts: Set(0),
        lease_until: Set(None),
        next_attempt_at: Set(at),
        sending_at: Set(None),
        provider_id: Set(None),
        error: Set(None),
        created_at: Set(at),
        status_at: Set(at),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    outbound_message::Entity::update_many()
        .col_expr(
            outbound_message::Column::IdempotencyKey,
            Expr::value(format!("muster-out-{}", saved.id)),
        )
        .filter(outbound_message::Column::Id.eq(saved.id))
        .exec(tx)
        .await?;
    Ok(())
}

impl Store {
    /// An agent's reply on a channel other than email: the outbound contact, its queued
    /// message and the first-response time, together. Returns the contact's id.
    pub async fn reply_on_channel(
        &self,
        case_id: i64,
        author_id: i64,
        body: &str,
        actor: &str,
        message: QueuedMessage,
    ) -> StoreResult<i64> {
        let reply = OutboundContact {
            case_id,
            author_id: Some(author_id),
            channel: message.channel,
            body,
            actor,
        };
        self.write_outbound_contact(reply, |_| Some(Outgoing::Message(message)))
            .await
    }

    /// A message Muster sends on a case by itself (a link texted to a caller): an outbound
    /// contact without an author, which is no answer from an agent. Returns the contact's id.
    pub async fn queue_message(
        &self,
        case_id: i64,
        body: &str,
        actor: &str,
        message: QueuedMessage,
    ) -> StoreResult<i64> {
        let contact = OutboundContact {
            case_id,
            author_id: None,
            channel: message.channel,
            body,
            actor,
        };
        self.write_outbound_contact(contact, |_| Some(Outgoing::Message(message)))
            .await
    }

    /// Claims up to `limit` due messages for `lease`. First, every message whose sender died
    /// mid-request (`sending`, lease run out) becomes `unknown`.
    pub async fn claim_outbound(
        &self,
        limit: u64,
        lease: Duration,
    ) -> StoreResult<Vec<ClaimedMessage>> {
        let at = now();
        outbound_message::Entity::update_many()
            .col_expr(
                outbound_message::Column::Status,
                Expr::value(OutboundStatus::Unknown.as_str()),
            )
            .col_expr(
                outbound_message::Column::Error,
                Expr::value("the sender stopped while sending: it may not have arrived"),
            )
            .col_expr(
                outbound_message::Column::LeaseUntil,
                Expr::value(Option::<OffsetDateTime>::None),
            )
            .col_expr(outbound_message::Column::StatusAt, Expr::value(at))
            .filter(outbound_message::Column::Status.eq(OutboundStatus::Sending.as_str()))
            .filter(outbound_message::Column::LeaseUntil.lt(at))
            .exec(&self.db)
            .await?;
        let (queued, claimed) = (
            OutboundStatus::Queued.as_str(),
            OutboundStatus::Claimed.as_str(),
        );
        let sql = format!(
            "UPDATE outbound_messages SET status = '{claimed}', lease_until = ?, attempts = attempts + 1 \
               WHERE id IN (SELECT id FROM outbound_messages \
                 WHERE (status = '{queued}' AND next_attempt_at <= ?) OR (status = '{claimed}' AND lease_until < ?) \
                 ORDER BY id LIMIT ? {{skip_locked}}) \
               RETURNING id, case_id, channel, recipient, payload, idempotency_key, attempts"
        );
        let values: Vec<Value> = vec![
            (at + lease).into(),
            at.into(),
            at.into(),
            i64::try_from(limit).unwrap_or(100).into(),
        ];
        let rows = self
            .db
            .query_all_raw(statement(self.backend(), &sql, values))
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let row = ClaimedRow::from_query_result(&row, "")?;
            claimed.push(ClaimedMessage {
                id: row.id,
                case_id: row.case_id,
                channel: ChannelKind::parse(&row.channel)
                    .ok_or_else(|| corrupt("outbound channel", &row.channel))?,
                recipient: row.recipient,
                payload: serde_json::from_value(row.payload)
                    .map_err(|e| corrupt("outbound payload", &e.to_string()))?,
                idempotency_key: row.idempotency_key,
                attempts: row.attempts,
            });
        }
        claimed.sort_by_key(|m| m.id);
        Ok(claimed)
    }

    /// Records, before the request, that this claim is sending `message`. `false`: the claim
    /// was lost (another sender holds the message now) and nothing may be sent.
    pub async fn mark_outbound_sending(&self, message: &ClaimedMessage) -> StoreResult<bool> {
        let at = now();
        let changed = outbound_message::Entity::update_many()
            .col_expr(
                outbound_message::Column::Status,
                Expr::value(OutboundStatus::Sending.as_str()),
            )
            .col_expr(outbound_message::Column::SendingAt, Expr::value(at))
            .col_expr(outbound_message::Column::StatusAt, Expr::value(at))
            .filter(outbound_message::Column::Id.eq(message.id))
            .filter(outbound_message::Column::Status.eq(OutboundStatus::Claimed.as_str()))
            .filter(outbound_message::Column::Attempts.eq(message.attempts))
            .exec(&self.db)
            .await?;
        Ok(changed.rows_affected == 1)
    }

    /// Records what came of sending `id`.
    pub async fn record_outbound(&self, id: i64, result: &SendResult) -> StoreResult<()> {
        let at = now();
        let none = Option::<OffsetDateTime>::None;
        let update = outbound_message::Entity::update_many()
            .col_expr(outbound_message::Column::LeaseUntil, Expr::value(none))
            .col_expr(outbound_message::Column::StatusAt, Expr::value(at));
        let update = match result {
            SendResult::Sent { provider_id } => update
                .col_expr(
                    outbound_message::Column::Status,
                    Expr::value(OutboundStatus::Sent.as_str()),
                )
                .col_expr(
                    outbound_message::Column::ProviderId,
                    Expr::value(provider_id.clone()),
                ),
            SendResult::RetryIn { reason, delay } => update
                .col_expr(
                    outbound_message::Column::Status,
                    Expr::value(OutboundStatus::Queued.as_str()),
                )
                .col_expr(
                    outbound_message::Column::Error,
                    Expr::value(clipped(reason)),
                )
                .col_expr(
                    outbound_message::Column::NextAttemptAt,
                    Expr::value(at + *delay),
                ),
            SendResult::Failed { reason } => update
                .col_expr(
                    outbound_message::Column::Status,
                    Expr::value(OutboundStatus::Failed.as_str()),
                )
                .col_expr(
                    outbound_message::Column::Error,
                    Expr::value(clipped(reason)),
                ),
            SendResult::Unknown { reason } => update
                .col_expr(
                    outbound_message::Column::Status,
                    Expr::value(OutboundStatus::Unknown.as_str()),
                )
                .col_expr(
                    outbound_message::Column::Error,
                    Expr::value(clipped(reason)),
                ),
        };
        update
            .filter(outbound_message::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// A provider's report on its message `provider_id`: applied only when it moves the
    /// message forward (reports arrive out of order, and twice). Returns the case's id when
    /// something changed.
    pub async fn apply_delivery_report(
        &self,
        channel: ChannelKind,
        provider_id: &str,
        status: OutboundStatus,
        error: Option<&str>,
    ) -> StoreResult<Option<i64>> {
        let Some(message) = outbound_message::Entity::find()
            .filter(outbound_message::Column::Channel.eq(channel.as_str()))
            .filter(outbound_message::Column::ProviderId.eq(provider_id))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let current = OutboundStatus::parse(&message.status)
            .ok_or_else(|| corrupt("outbound status", &message.status))?;
        if !current.advances_to(status) {
            return Ok(None);
        }
        let changed = outbound_message::Entity::update_many()
            .col_expr(
                outbound_message::Column::Status,
                Expr::value(status.as_str()),
            )
            .col_expr(
                outbound_message::Column::Error,
                Expr::value(error.map(clipped).or(message.error.clone())),
            )
            .col_expr(outbound_message::Column::StatusAt, Expr::value(now()))
            .filter(outbound_message::Column::Id.eq(message.id))
            // Another report may have moved it meanwhile: this one applies to what it saw.
            .filter(outbound_message::Column::Status.eq(message.status.clone()))
            .exec(&self.db)
            .await?;
        Ok((changed.rows_affected == 1).then_some(message.case_id))
    }

    /// Where each outbound message of the case stands, by its contact's id.
    pub async fn deliveries(&self, case_id: i64) -> StoreResult<HashMap<i64, Delivery>> {
        let rows = outbound_message::Entity::find()
            .filter(outbound_message::Column::CaseId.eq(case_id))
            .order_by_asc(outbound_message::Column::Id)
            .all(&self.db)
            .await?;
        let mut by_contact = HashMap::with_capacity(rows.len());
        for row in rows {
            let Some(contact_id) = row.contact_id else {
                continue;
            };
            by_contact.insert(
                contact_id,
                Delivery {
                    channel: ChannelKind::parse(&row.channel)
                        .ok_or_else(|| corrupt("outbound channel", &row.channel))?,
                    status: OutboundStatus::parse(&row.status)
                        .ok_or_else(|| corrupt("outbound status", &row.status))?,
                    error: row.error,
                    provider_id: row.provider_id,
                    status_at: row.status_at,
                },
            );
        }
        Ok(by_contact)
    }

    /// When the customer last wrote on `channel` on this case, if ever.
    pub async fn last_inbound_at(
        &self,
        case_id: i64,
        channel: ChannelKind,
    ) -> StoreResult<Option<OffsetDateTime>> {
        Ok(contact::Entity::find()
            .filter(contact::Column::CaseId.eq(case_id))
            .filter(contact::Column::Channel.eq(channel.as_str()))
            .filter(contact::Column::Direction.eq(muster_core::case::Direction::Inbound.as_str()))
            .order_by_desc(contact::Column::CreatedAt)
            .one(&self.db)
            .await?
            .map(|c| c.created_at))
    }

    /// Every channel the customer has written to this case on.
    pub async fn inbound_channels(&self, case_id: i64) -> StoreResult<Vec<ChannelKind>> {
        let contacts = contact::Entity::find()
            .filter(contact::Column::CaseId.eq(case_id))
            .filter(contact::Column::Direction.eq(muster_core::case::Direction::Inbound.as_str()))
            .all(&self.db)
            .await?;
        let mut channels: Vec<ChannelKind> = Vec::new();
        for c in contacts {
            if let Some(kind) = ChannelKind::parse(&c.channel)
                && !channels.contains(&kind)
            {
                channels.push(kind);
            }
        }
        Ok(channels)
    }
}
