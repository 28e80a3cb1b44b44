//! What agents do to a case: notes, replies, status, team, merging. Every action is
//! audited in the transaction that does it.

use muster_core::case::{Case, CaseStatus, Direction, Identifier};
use muster_core::case_ref::CaseRef;
use muster_core::incident::ChannelKind;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Set,
    TransactionTrait, Value,
};
use serde::Serialize;
use time::OffsetDateTime;

use crate::Store;
use crate::audit::record_on;
use crate::cases::{MailJob, enqueue, to_case};
use crate::convert::now;
use crate::entity::{case, case_token, contact, team, team_member, user};
use crate::error::{StoreError, StoreResult};
use crate::outbound::{Delivery, QueuedMessage};
use crate::raw_sql::statement;
use crate::tokens::{hash_token, random_token};

/// One entry on a case's timeline, as agents see it (notes included).
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub id: i64,
    pub direction: Direction,
    pub channel: String,
    pub author: Option<String>,
    pub body: String,
    pub created_at: OffsetDateTime,
    /// A message from a writer who gave this case's identifier without its case link: the
    /// case they were given and what matched. Never shown to the customer.
    pub unverified: Option<(String, Identifier)>,
    /// Where an outbound message on a channel other than email stands.
    pub delivery: Option<Delivery>,
}

/// A contact written to the customer, as [`Store::write_outbound_contact`] takes it.
pub(crate) struct OutboundContact<'a> {
    pub case_id: i64,
    /// The agent who wrote it; `None` for a message Muster sends by itself.
    pub author_id: Option<i64>,
    pub channel: ChannelKind,
    pub body: &'a str,
    pub actor: &'a str,
}

/// What carries an outbound contact to the customer.
pub(crate) enum Outgoing {
    Mail(MailJob),
    Message(QueuedMessage),
}

impl Store {
    pub async fn case_by_reference(&self, reference: &CaseRef) -> StoreResult<Option<Case>> {
        case::Entity::find()
            .filter(case::Column::Reference.eq(reference.as_str()))
            .one(&self.db)
            .await?
            .map(to_case)
            .transpose()
    }

    pub async fn case_by_id(&self, case_id: i64) -> StoreResult<Case> {
        to_case(self.case_model(case_id).await?)
    }

    /// The case's contacts and notes, oldest first, with the messages of writers who gave
    /// its identifiers without its link (marked unverified) among them.
    pub async fn timeline(&self, case_id: i64) -> StoreResult<Vec<TimelineEntry>> {
        let own = contact::Entity::find()
            .filter(contact::Column::CaseId.eq(case_id))
            .all(&self.db)
            .await?;
        let mut contacts: Vec<(contact::Model, Option<(String, Identifier)>)> =
            own.into_iter().map(|c| (c, None)).collect();
        let reference = self.case_model(case_id).await?.reference;
        let claimants = case::Entity::find()
            .filter(case::Column::UnverifiedMatch.eq(reference.as_str()))
            .filter(case::Column::MergedInto.is_null())
            .all(&self.db)
            .await?;
        for claimant in claimants {
            let Some(on) = claimant
                .unverified_match_on
                .as_deref()
                .and_then(Identifier::parse)
            else {
                continue;
            };
            let theirs = contact::Entity::find()
                .filter(contact::Column::CaseId.eq(claimant.id))
                .filter(contact::Column::Direction.eq(Direction::Inbound.as_str()))
                .all(&self.db)
                .await?;
            contacts.extend(
                theirs
                    .into_iter()
                    .map(|c| (c, Some((claimant.reference.clone(), on)))),
            );
        }
        contacts.sort_by_key(|(c, _)| (c.created_at, c.id));
        let mut deliveries = self.deliveries(case_id).await?;
        let mut entries = Vec::with_capacity(contacts.len());
        for (c, unverified) in contacts {
            let author = match c.author_id {
                Some(id) => user::Entity::find_by_id(id)
                    .one(&self.db)
                    .await?
                    .map(|u| u.name),
                None => None,
            };
            entries.push(TimelineEntry {
                id: c.id,
                direction: Direction::parse(&c.direction).unwrap_or(Direction::Note),
                channel: c.channel,
                author,
                body: c.body,
                created_at: c.created_at,
                delivery: deliveries.remove(&c.id),
                unverified,
            });
        }
        Ok(entries)
    }

    /// A new full-access token for the case, for a link in an agent's reply.
    pub async fn issue_case_token(&self, case_id: i64) -> StoreResult<String> {
        let token = random_token();
        case_token::ActiveModel {
            case_id: Set(case_id),
            token_hash: Set(hash_token(&token)),
            scope: Set(crate::cases::TokenScope::Full.as_str().to_owned()),
            created_at: Set(now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(token)
    }

    /// The team keys a user works for.
    pub async fn user_teams(&self, user_id: i64) -> StoreResult<Vec<String>> {
        let memberships = team_member::Entity::find()
            .filter(team_member::Column::UserId.eq(user_id))
            .all(&self.db)
            .await?;
        let ids: Vec<i64> = memberships.into_iter().map(|m| m.team_id).collect();
        Ok(team::Entity::find()
            .filter(team::Column::Id.is_in(ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|t| t.key)
            .collect())
    }

    async fn case_model(&self, case_id: i64) -> StoreResult<case::Model> {
        case::Entity::find_by_id(case_id)
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound("case"))
    }

    /// An internal note: agents see it, the customer never does.
    pub async fn add_note(
        &self,
        case_id: i64,
        author_id: i64,
        body: &str,
        actor: &str,
    ) -> StoreResult<()> {
        let model = self.case_model(case_id).await?;
        let tx = self.db.begin().await?;
        contact::ActiveModel {
            case_id: Set(case_id),
            direction: Set(Direction::Note.as_str().to_owned()),
            channel: Set("note".to_owned()),
            external_id: Set(None),
            author_id: Set(Some(author_id)),
            body: Set(body.to_owned()),
            meta: Set(serde_json::json!({})),
            created_at: Set(now()),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        record_on(
            &tx,
            actor,
            "case.note",
            &model.reference,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An agent's reply by email: the contact, the queued mail and the first-response
    /// time, together. `mail` gets the new contact's id (for a stable Message-ID).
    pub async fn reply(
        &self,
        case_id: i64,
        author_id: i64,
        body: &str,
        actor: &str,
        mail: impl FnOnce(i64) -> Option<MailJob>,
    ) -> StoreResult<()> {
        let reply = OutboundContact {
            case_id,
            author_id: Some(author_id),
            channel: ChannelKind::Email,
            body,
            actor,
        };
        self.write_outbound_contact(reply, |id| mail(id).map(Outgoing::Mail))
            .await
            .map(|_| ())
    }

    /// An outbound contact and what carries it (a queued mail or channel message), with the
    /// first-response time when an agent wrote it, and its audit entry: one transaction, so
    /// what the timeline shows is what goes out. Returns the contact's id.
    pub(crate) async fn write_outbound_contact(
        &self,
        reply: OutboundContact<'_>,
        outgoing: impl FnOnce(i64) -> Option<Outgoing>,
    ) -> StoreResult<i64> {
        let OutboundContact {
            case_id,
            author_id,
            channel,
            body,
            actor,
        } = reply;
        let model = self.case_model(case_id).await?;
        let tx = self.db.begin().await?;
        let created = now();
        let saved = contact::ActiveModel {
            case_id: Set(case_id),
            direction: Set(Direction::Outbound.as_str().to_owned()),
            channel: Set(channel.as_str().to_owned()),
            external_id: Set(None),
            author_id: Set(author_id),
            body: Set(body.to_owned()),
            meta: Set(serde_json::json!({})),
            created_at: Set(created),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        match outgoing(saved.id) {
            Some(Outgoing::Mail(job)) => enqueue(&tx, case_id, job).await?,
            Some(Outgoing::Message(message)) => {
                crate::outbound::enqueue(&tx, case_id, Some(saved.id), message).await?
            }
            None => {}
        }
        if author_id.is_some() && model.first_response_at.is_none() {
            // How long the first answer took its agent: what the wait estimator learns from.
            let handling = model
                .claimed_at
                .map(|taken| Ord::max((created - taken).whole_seconds(), 0));
            case::Entity::update_many()
                .col_expr(case::Column::FirstResponseAt, Expr::value(created))
                .col_expr(case::Column::HandlingSeconds, Expr::value(handling))
                .filter(case::Column::Id.eq(case_id))
                .exec(&tx)
                .await?;
        }
        let action = if author_id.is_some() {
            "case.reply"
        } else {
            "case.message"
        };
        record_on(
            &tx,
            actor,
            action,
            &model.reference,
            serde_json::json!({ "contact_id": saved.id, "channel": channel.as_str() }),
        )
        .await?;
        tx.commit().await?;
        Ok(saved.id)
    }

    /// Sets the status; resolving records the time and releases the claim.
    pub async fn set_case_status(
        &self,
        case_id: i64,
        status: CaseStatus,
        actor: &str,
    ) -> StoreResult<()> {
        if self.backend() == DbBackend::Postgres {
            return self
                .set_case_status_in_one_statement(case_id, status, actor)
                .await;
        }
        let tx = self.db.begin().await?;
        let resolved = status == CaseStatus::Resolved;
        let mut update = case::Entity::update_many()
            .col_expr(case::Column::Status, Expr::value(status.as_str()))
            .col_expr(case::Column::UpdatedAt, Expr::value(now()))
            .col_expr(case::Column::ResolvedAt, Expr::value(resolved.then(now)));
        if status != CaseStatus::Open {
            update = update
                .col_expr(case::Column::ClaimedBy, Expr::value(Option::<i64>::None))
                .col_expr(
                    case::Column::LeaseUntil,
                    Expr::value(Option::<OffsetDateTime>::None),
                );
        }
        let model = update
            .filter(case::Column::Id.eq(case_id))
            .exec_with_returning(&tx)
            .await?
            .pop()
            .ok_or(StoreError::NotFound("case"))?;
        record_on(
            &tx,
            actor,
            "case.status",
            &model.reference,
            serde_json::json!({ "status": status.as_str() }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `set_case_status` on PostgreSQL: the update and its audit entry in one statement (a
    /// data-modifying `WITH`, which SQLite lacks), so one round trip and one commit instead
    /// of four round trips for `BEGIN`, update, insert and `COMMIT`. Resolving is the other
    /// half of every case an agent takes.
    async fn set_case_status_in_one_statement(
        &self,
        case_id: i64,
        status: CaseStatus,
        actor: &str,
    ) -> StoreResult<()> {
        let at = now();
        let resolved = status == CaseStatus::Resolved;
        let releases_claim = if status == CaseStatus::Open {
            ""
        } else {
            ", claimed_by = NULL, lease_until = NULL"
        };
        let sql = format!(
            "WITH changed AS (UPDATE cases SET status = ?, updated_at = ?, resolved_at = ?\
             {releases_claim} WHERE id = ? RETURNING reference) \
             INSERT INTO audit_log (at, actor, action, subject, details) \
             SELECT ?, ?, 'case.status', reference, ? FROM changed RETURNING id"
        );
        let values: Vec<Value> = vec![
            status.as_str().into(),
            at.into(),
            resolved.then_some(at).into(),
            case_id.into(),
            at.into(),
            actor.into(),
            serde_json::json!({ "status": status.as_str() }).into(),
        ];
        self.db
            .query_one_raw(statement(self.backend(), &sql, values))
            .await?
            .ok_or(StoreError::NotFound("case"))?;
        Ok(())
    }

    pub async fn move_team(&self, case_id: i64, team_key: &str, actor: &str) -> StoreResult<()> {
        let model = self.case_model(case_id).await?;
        let tx = self.db.begin().await?;
        case::Entity::update_many()
            .col_expr(case::Column::Team, Expr::value(team_key))
            .col_expr(case::Column::ClaimedBy, Expr::value(Option::<i64>::None))
            .col_expr(
                case::Column::LeaseUntil,
                Expr::value(Option::<OffsetDateTime>::None),
            )
            .filter(case::Column::Id.eq(case_id))
            .exec(&tx)
            .await?;
        record_on(
            &tx,
            actor,
            "case.team",
            &model.reference,
            serde_json::json!({ "team": team_key }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
