//! The transactional mail queue (acknowledgements, replies, alerts): rows written in the
//! transaction that decided to send, claimed with a lease, sent outside any transaction,
//! then marked. A lease that expires (a crashed sender) makes the row claimable again.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, Value};
use time::Duration;

use crate::Store;
use crate::convert::now;
use crate::db::begin_planned_for_values;
use crate::entity::mail_queue;
use crate::error::StoreResult;
use crate::raw_sql::statement;

/// Where a queued message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailStatus {
    /// Waiting for its next attempt.
    Pending,
    /// Claimed by a worker under a lease.
    Sending,
    Sent,
    /// Given up on, with the reason.
    Failed,
}

impl MailStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MailStatus::Pending => "pending",
            MailStatus::Sending => "sending",
            MailStatus::Sent => "sent",
            MailStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct ClaimedMail {
    pub id: i64,
    pub payload: serde_json::Value,
    pub attempts: i32,
}

impl Store {
    /// Claims up to `limit` due messages for `lease`.
    pub async fn claim_mail(&self, limit: u64, lease: Duration) -> StoreResult<Vec<ClaimedMail>> {
        let at = now();
        // The statuses are literals, not bound, so the partial index on them serves the claim.
        let (pending, sending) = (MailStatus::Pending.as_str(), MailStatus::Sending.as_str());
        let sql = format!(
            "UPDATE mail_queue SET status = '{sending}', lease_until = ?, attempts = attempts + 1 \
                   WHERE id IN (SELECT id FROM mail_queue \
                     WHERE (status = '{pending}' AND next_attempt_at <= ?) OR (status = '{sending}' AND lease_until < ?) \
                     ORDER BY id LIMIT ? {{skip_locked}}) \
                   RETURNING id, payload, attempts"
        );
        let values: Vec<Value> = vec![
            (at + lease).into(),
            at.into(),
            at.into(),
            i64::try_from(limit).unwrap_or(100).into(),
        ];
        // The queue grows by one row per acknowledgement from an empty table: see
        // `begin_planned_for_values`.
        let tx = begin_planned_for_values(&self.db).await?;
        let rows = tx
            .query_all_raw(statement(self.backend(), &sql, values))
            .await?;
        tx.commit().await?;
        let mut claimed = rows
            .iter()
            .map(|row| ClaimedMail::from_query_result(row, ""))
            .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by_key(|m| m.id);
        Ok(claimed)
    }

    /// Marks a batch sent in one statement.
    pub async fn mark_mail_sent(&self, ids: &[i64]) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        mail_queue::Entity::update_many()
            .col_expr(
                mail_queue::Column::Status,
                Expr::value(MailStatus::Sent.as_str()),
            )
            .col_expr(mail_queue::Column::SentAt, Expr::value(now()))
            .col_expr(
                mail_queue::Column::LeaseUntil,
                Expr::value(Option::<time::OffsetDateTime>::None),
            )
            .filter(mail_queue::Column::Id.is_in(ids.iter().copied()))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Records a failure: retried after `retry_in`, or given up on when `None`.
    pub async fn mark_mail_failed(
        &self,
        id: i64,
        reason: &str,
        retry_in: Option<Duration>,
    ) -> StoreResult<()> {
        let update = mail_queue::Entity::update_many()
            .col_expr(mail_queue::Column::Error, Expr::value(reason.to_owned()))
            .col_expr(
                mail_queue::Column::LeaseUntil,
                Expr::value(Option::<time::OffsetDateTime>::None),
            );
        let update = match retry_in {
            Some(delay) => update
                .col_expr(
                    mail_queue::Column::Status,
                    Expr::value(MailStatus::Pending.as_str()),
                )
                .col_expr(
                    mail_queue::Column::NextAttemptAt,
                    Expr::value(now() + delay),
                ),
            None => update.col_expr(
                mail_queue::Column::Status,
                Expr::value(MailStatus::Failed.as_str()),
            ),
        };
        update
            .filter(mail_queue::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Messages not yet sent (pending or in flight), for metrics and tests.
    pub async fn unsent_mail_count(&self) -> StoreResult<u64> {
        use sea_orm::PaginatorTrait;
        Ok(mail_queue::Entity::find()
            .filter(
                mail_queue::Column::Status
                    .is_in([MailStatus::Pending.as_str(), MailStatus::Sending.as_str()]),
            )
            .count(&self.db)
            .await?)
    }
}
