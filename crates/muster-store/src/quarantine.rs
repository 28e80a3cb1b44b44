//! Email that could not be taken in, kept raw with its error so that the messages behind
//! it go on, and a person can see it and try it again.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;
use time::OffsetDateTime;

use crate::Store;
use crate::audit::record_on;
use crate::convert::now;
use crate::entity::email_quarantine;
use crate::error::StoreResult;

/// A message to keep: where it came from, exactly, and why it was not taken in.
#[derive(Debug, Clone)]
pub struct NewQuarantined<'a> {
    /// The door, as shown to people: `mailbox support@example.com`.
    pub source: &'a str,
    /// Unique per message (mailbox, UIDVALIDITY, UID), so a message fetched again is kept once.
    pub source_key: &'a str,
    pub incident_id: i64,
    pub raw: &'a [u8],
    pub error: &'a str,
}

/// A kept message as the console lists it (without its body).
#[derive(Debug, Clone, Serialize, FromQueryResult)]
pub struct QuarantinedEmail {
    pub id: i64,
    pub source: String,
    pub source_key: String,
    pub incident_id: i64,
    pub error: String,
    pub attempts: i32,
    pub size: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub quarantined_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_tried_at: OffsetDateTime,
}

/// The most the console lists at once; the count says how many more wait.
pub const QUARANTINE_PAGE: u64 = 200;

impl Store {
    /// Keeps `message`; one already kept under its source key is left as it is.
    pub async fn quarantine_email(&self, message: NewQuarantined<'_>) -> StoreResult<()> {
        let at = now();
        email_quarantine::Entity::insert(email_quarantine::ActiveModel {
            source: Set(message.source.to_owned()),
            source_key: Set(message.source_key.to_owned()),
            incident_id: Set(message.incident_id),
            raw: Set(message.raw.to_vec()),
            error: Set(message.error.to_owned()),
            attempts: Set(1),
            quarantined_at: Set(at),
            last_tried_at: Set(at),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::column(email_quarantine::Column::SourceKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        Ok(())
    }

    /// The oldest kept messages first, at most [`QUARANTINE_PAGE`], and how many there are.
    pub async fn quarantined_emails(&self) -> StoreResult<(Vec<QuarantinedEmail>, u64)> {
        use email_quarantine::Column as C;
        let total = email_quarantine::Entity::find().count(&self.db).await?;
        let listed = email_quarantine::Entity::find()
            .select_only()
            .columns([
                C::Id,
                C::Source,
                C::SourceKey,
                C::IncidentId,
                C::Error,
                C::Attempts,
                C::QuarantinedAt,
                C::LastTriedAt,
            ])
            .column_as(Expr::cust("CAST(length(raw) AS BIGINT)"), "size")
            .order_by_asc(C::Id)
            .limit(QUARANTINE_PAGE)
            .into_model::<QuarantinedEmail>()
            .all(&self.db)
            .await?;
        Ok((listed, total))
    }

    /// A kept message's incident and raw bytes, for another try.
    pub async fn quarantined_raw(&self, id: i64) -> StoreResult<Option<(i64, Vec<u8>)>> {
        Ok(email_quarantine::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(|m| (m.incident_id, m.raw)))
    }

    /// Another try failed: its new error, and one more attempt counted.
    pub async fn quarantine_tried_again(&self, id: i64, error: &str) -> StoreResult<()> {
        use email_quarantine::Column as C;
        email_quarantine::Entity::update_many()
            .col_expr(C::Error, Expr::value(error))
            .col_expr(C::Attempts, Expr::col(C::Attempts).add(1))
            .col_expr(C::LastTriedAt, Expr::value(now()))
            .filter(C::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// The message was taken in at last, on case `reference`: it is no longer kept here,
    /// and the audit log says who let it through.
    pub async fn release_quarantined(
        &self,
        id: i64,
        actor: &str,
        reference: &str,
    ) -> StoreResult<()> {
        let tx = self.db.begin().await?;
        email_quarantine::Entity::delete_by_id(id).exec(&tx).await?;
        record_on(
            &tx,
            actor,
            "email.quarantine_released",
            reference,
            serde_json::json!({ "quarantined": id }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
