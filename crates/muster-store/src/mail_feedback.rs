//! Bounces and complaints: each recipient a report names is one row (the same report
//! again adds nothing). A report counts only when it is about one of our messages (its
//! return path or the Message-ID it returns names a campaign delivery or a reply); then a
//! permanent bounce marks the delivery bounced and, with any complaint, puts the address
//! on the suppression list that every later campaign skips. A complaint also unsubscribes
//! the address.

use muster_core::mail_feedback::{FeedbackKind, Report, ReturnTag};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;
use time::OffsetDateTime;

use crate::Store;
use crate::campaigns::DELIVERY_BOUNCED;
use crate::convert::now;
use crate::entity::{audience_member, case, contact, delivery, mail_feedback, mail_suppression};
use crate::error::StoreResult;

/// What recording a report did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FeedbackOutcome {
    /// Recipients newly recorded (0: the same report again, or nothing in it).
    pub recorded: usize,
    /// Whether the report is about one of our messages.
    pub ours: bool,
    /// Addresses put on the suppression list by it.
    pub suppressed: Vec<String>,
}

/// One bounce or complaint as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedbackEntry {
    pub kind: FeedbackKind,
    pub email: String,
    pub action: String,
    pub status: String,
    pub detail: String,
    pub permanent: bool,
    pub received_at: OffsetDateTime,
}

/// The message a report is about.
#[derive(Default)]
struct Subject {
    delivery_id: Option<i64>,
    campaign_id: Option<i64>,
    contact_id: Option<i64>,
    /// The address we sent it to.
    email: Option<String>,
}

async fn subject_of(tx: &DatabaseTransaction, report: &Report) -> StoreResult<Option<Subject>> {
    let by_delivery = match (report.tag, &report.original_message_id) {
        (Some(ReturnTag::Delivery(id)), _) => delivery::Entity::find_by_id(id).one(tx).await?,
        (None, Some(message_id)) => {
            delivery::Entity::find()
                .filter(delivery::Column::MessageId.eq(message_id.as_str()))
                .one(tx)
                .await?
        }
        _ => None,
    };
    if let Some(d) = by_delivery {
        let email = audience_member::Entity::find_by_id(d.audience_member_id)
            .one(tx)
            .await?
            .map(|m| m.email);
        return Ok(Some(Subject {
            delivery_id: Some(d.id),
            campaign_id: Some(d.campaign_id),
            contact_id: None,
            email,
        }));
    }
    if let Some(ReturnTag::Reply(id)) = report.tag
        && let Some(reply) = contact::Entity::find_by_id(id).one(tx).await?
    {
        let email = case::Entity::find_by_id(reply.case_id)
            .one(tx)
            .await?
            .and_then(|c| c.email);
        return Ok(Some(Subject {
            contact_id: Some(reply.id),
            email,
            ..Subject::default()
        }));
    }
    Ok(None)
}

async fn suppress(
    tx: &DatabaseTransaction,
    kind: FeedbackKind,
    email: &str,
    detail: &str,
    at: OffsetDateTime,
) -> StoreResult<()> {
    mail_suppression::Entity::insert(mail_suppression::ActiveModel {
        email: Set(email.to_owned()),
        reason: Set(kind.as_str().to_owned()),
        detail: Set(detail.to_owned()),
        created_at: Set(at),
    })
    .on_conflict_do_nothing_on([mail_suppression::Column::Email])
    .exec(tx)
    .await?;
    let column = match kind {
        FeedbackKind::Bounce => audience_member::Column::BouncedAt,
        FeedbackKind::Complaint => audience_member::Column::UnsubscribedAt,
    };
    audience_member::Entity::update_many()
        .col_expr(column, Expr::value(Some(at)))
        .filter(audience_member::Column::Email.eq(email))
        .filter(column.is_null())
        .exec(tx)
        .await?;
    Ok(())
}

impl Store {
    /// Records a bounce or complaint report (see the module's documentation).
    pub async fn record_feedback(&self, report: &Report) -> StoreResult<FeedbackOutcome> {
        let at = now();
        let tx = self.db.begin().await?;
        let subject = subject_of(&tx, report).await?;
        let mut outcome = FeedbackOutcome {
            ours: subject.is_some(),
            ..FeedbackOutcome::default()
        };
        let subject = subject.unwrap_or_default();
        for recipient in &report.recipients {
            // The address we sent to: a forwarding server may report the one it forwarded to.
            let email = subject
                .email
                .clone()
                .unwrap_or_else(|| recipient.email.clone());
            let permanent = report.is_permanent(recipient);
            let inserted = mail_feedback::Entity::insert(mail_feedback::ActiveModel {
                external_id: Set(format!("{}|{}", report.report_id, recipient.email)),
                kind: Set(report.kind.as_str().to_owned()),
                delivery_id: Set(subject.delivery_id),
                campaign_id: Set(subject.campaign_id),
                contact_id: Set(subject.contact_id),
                email: Set(email.clone()),
                action: Set(recipient.action.clone()),
                status: Set(recipient.status.clone()),
                detail: Set(recipient.detail.clone()),
                permanent: Set(permanent),
                received_at: Set(at),
                ..Default::default()
            })
            .on_conflict_do_nothing_on([mail_feedback::Column::ExternalId])
            .exec(&tx)
            .await?;
            if matches!(inserted, sea_orm::TryInsertResult::Conflicted) {
                continue;
            }
            outcome.recorded += 1;
            if !permanent || !outcome.ours || email.is_empty() {
                continue;
            }
            if let (FeedbackKind::Bounce, Some(id)) = (report.kind, subject.delivery_id) {
                let reason = format!("{} {}", recipient.status, recipient.detail);
                delivery::ActiveModel {
                    id: Set(id),
                    status: Set(DELIVERY_BOUNCED.to_owned()),
                    error: Set(Some(reason.trim().to_owned())),
                    ..Default::default()
                }
                .update(&tx)
                .await?;
            }
            suppress(&tx, report.kind, &email, &recipient.detail, at).await?;
            outcome.suppressed.push(email);
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// A campaign's bounces and complaints, newest first.
    pub async fn campaign_feedback(
        &self,
        campaign_id: i64,
        limit: u64,
    ) -> StoreResult<Vec<FeedbackEntry>> {
        let rows = mail_feedback::Entity::find()
            .filter(mail_feedback::Column::CampaignId.eq(campaign_id))
            .order_by_desc(mail_feedback::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(FeedbackEntry {
                    kind: FeedbackKind::parse(&r.kind)?,
                    email: r.email,
                    action: r.action,
                    status: r.status,
                    detail: r.detail,
                    permanent: r.permanent,
                    received_at: r.received_at,
                })
            })
            .collect())
    }

    /// Why `email` gets no campaign mail (`bounce` or `complaint`), if it is suppressed.
    pub async fn suppression(&self, email: &str) -> StoreResult<Option<String>> {
        Ok(mail_suppression::Entity::find_by_id(email.to_owned())
            .one(&self.db)
            .await?
            .map(|s| s.reason))
    }
}

/// Which of `emails` are on the suppression list.
pub(crate) async fn suppressed_among<C: ConnectionTrait>(
    conn: &C,
    emails: &[&str],
) -> StoreResult<std::collections::HashSet<String>> {
    let mut found = std::collections::HashSet::new();
    for chunk in emails.chunks(500) {
        let rows: Vec<String> = mail_suppression::Entity::find()
            .select_only()
            .column(mail_suppression::Column::Email)
            .filter(mail_suppression::Column::Email.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}
