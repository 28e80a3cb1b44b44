//! The audience of an incident: imported customers and confirmed subscribers, and the
//! addresses that asked to stop (unsubscribed) or cannot receive (hard-bounced). Those two
//! are suppressed everywhere: the flag is set on every row with the address.

use std::collections::{BTreeMap, HashSet};

use muster_core::audience::AudienceRow;
use muster_core::campaign::Segment;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    Set, TransactionTrait,
};
use serde::Serialize;
use time::Date;

use crate::Store;
use crate::convert::{now, to_json};
use crate::entity::audience_member;
use crate::error::StoreResult;
use crate::tokens::random_token;

/// Rows per INSERT: well under SQLite's limit on bound values.
const CHUNK: usize = 500;

/// Where a member came from.
pub const SOURCE_IMPORT: &str = "import";
pub const SOURCE_SUBSCRIBER: &str = "subscriber";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    pub created: u64,
    pub updated: u64,
}

/// One member as a campaign addresses them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    pub member_id: i64,
    pub email: String,
    pub name: String,
    pub booking_ref: Option<String>,
    pub departure_date: Option<Date>,
    pub language: String,
    pub variables: BTreeMap<String, String>,
    pub unsubscribe_token: String,
    /// Unsubscribed or hard-bounced: never mailed again.
    pub suppressed: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AudienceCounts {
    pub total: u64,
    pub unsubscribed: u64,
    pub bounced: u64,
    pub awaiting_confirmation: u64,
}

pub(crate) fn to_recipient(m: audience_member::Model) -> Recipient {
    Recipient {
        member_id: m.id,
        suppressed: m.unsubscribed_at.is_some() || m.bounced_at.is_some(),
        email: m.email,
        name: m.name,
        booking_ref: m.booking_ref,
        departure_date: m.departure_date,
        language: m.language,
        variables: serde_json::from_value(m.variables).unwrap_or_default(),
        unsubscribe_token: m.unsubscribe_token,
    }
}

/// The members a segment selects, before suppression.
pub(crate) fn segment_condition(incident_id: i64, segment: &Segment) -> Condition {
    use audience_member::Column as C;
    let mut condition = Condition::all().add(C::IncidentId.eq(incident_id));
    if !segment.languages.is_empty() {
        condition = condition.add(C::Language.is_in(segment.languages.iter().map(|l| l.as_str())));
    }
    if let Some(from) = segment.departure_from {
        condition = condition.add(C::DepartureDate.gte(from));
    }
    if let Some(to) = segment.departure_to {
        condition = condition.add(C::DepartureDate.lte(to));
    }
    condition
}

impl Store {
    /// Adds or updates (by address) a batch of imported members, in one transaction.
    /// Suppression and the unsubscribe token of an existing member are kept.
    pub async fn upsert_audience(
        &self,
        incident_id: i64,
        rows: &[AudienceRow],
    ) -> StoreResult<ImportCounts> {
        use audience_member::Column as C;
        let mut counts = ImportCounts::default();
        let tx = self.db.begin().await?;
        for chunk in rows.chunks(CHUNK) {
            let emails: Vec<&str> = chunk.iter().map(|r| r.email.as_str()).collect();
            let existing: HashSet<String> = audience_member::Entity::find()
                .filter(C::IncidentId.eq(incident_id))
                .filter(C::Email.is_in(emails))
                .all(&tx)
                .await?
                .into_iter()
                .map(|m| m.email)
                .collect();
            let created = now();
            let models = chunk.iter().map(|row| {
                if existing.contains(row.email.as_str()) {
                    counts.updated += 1;
                } else {
                    counts.created += 1;
                }
                audience_member::ActiveModel {
                    incident_id: Set(incident_id),
                    email: Set(row.email.as_str().to_owned()),
                    name: Set(row.name.clone()),
                    booking_ref: Set(row.booking_ref.as_ref().map(|b| b.as_str().to_owned())),
                    departure_date: Set(row.departure_date),
                    trip: Set(row.trip.as_ref().map(|t| t.as_str().to_owned())),
                    language: Set(row.language.as_str().to_owned()),
                    variables: Set(to_json(&row.variables)),
                    source: Set(SOURCE_IMPORT.to_owned()),
                    confirmed_at: Set(Some(created)),
                    unsubscribed_at: Set(None),
                    bounced_at: Set(None),
                    unsubscribe_token: Set(random_token()),
                    created_at: Set(created),
                    ..Default::default()
                }
            });
            let models: Vec<_> = models.collect();
            audience_member::Entity::insert_many(models)
                .on_conflict(
                    OnConflict::columns([C::IncidentId, C::Email])
                        .update_columns([
                            C::Name,
                            C::BookingRef,
                            C::DepartureDate,
                            C::Trip,
                            C::Language,
                            C::Variables,
                            C::ConfirmedAt,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(&tx)
                .await?;
            crate::trips::fill_case_trips(&tx, incident_id, chunk).await?;
        }
        tx.commit().await?;
        Ok(counts)
    }

    pub async fn audience_counts(&self, incident_id: i64) -> StoreResult<AudienceCounts> {
        use audience_member::Column as C;
        let base = || audience_member::Entity::find().filter(C::IncidentId.eq(incident_id));
        Ok(AudienceCounts {
            total: base().count(&self.db).await?,
            unsubscribed: base()
                .filter(C::UnsubscribedAt.is_not_null())
                .count(&self.db)
                .await?,
            bounced: base()
                .filter(C::BouncedAt.is_not_null())
                .count(&self.db)
                .await?,
            awaiting_confirmation: base()
                .filter(C::ConfirmedAt.is_null())
                .count(&self.db)
                .await?,
        })
    }

    /// The first member a segment selects, for previews.
    pub async fn sample_recipient(
        &self,
        incident_id: i64,
        segment: &Segment,
    ) -> StoreResult<Option<Recipient>> {
        Ok(audience_member::Entity::find()
            .filter(segment_condition(incident_id, segment))
            .order_by_asc(audience_member::Column::Id)
            .one(&self.db)
            .await?
            .map(to_recipient))
    }

    pub async fn recipient_by_token(&self, token: &str) -> StoreResult<Option<Recipient>> {
        Ok(audience_member::Entity::find()
            .filter(audience_member::Column::UnsubscribeToken.eq(token))
            .one(&self.db)
            .await?
            .map(to_recipient))
    }

    /// A sign-up from the landing page, awaiting confirmation by email. Returns the token
    /// for a confirmation to email now, or `None` when there is none to send: the address
    /// is already in the audience, or its pending confirmation went out less than
    /// `resend_after` ago (one pending confirmation per address, however often the form is
    /// posted, and at once on every replica: the claim is one conditional write).
    pub async fn subscribe(
        &self,
        incident_id: i64,
        email: &str,
        language: &str,
        resend_after: time::Duration,
    ) -> StoreResult<Option<String>> {
        use audience_member::Column as C;
        let sent_at = now();
        let token = random_token();
        let inserted = audience_member::Entity::insert(audience_member::ActiveModel {
            incident_id: Set(incident_id),
            email: Set(email.to_owned()),
            name: Set(String::new()),
            booking_ref: Set(None),
            departure_date: Set(None),
            language: Set(language.to_owned()),
            variables: Set(serde_json::json!({})),
            source: Set(SOURCE_SUBSCRIBER.to_owned()),
            confirmed_at: Set(None),
            unsubscribed_at: Set(None),
            bounced_at: Set(None),
            unsubscribe_token: Set(token.clone()),
            created_at: Set(sent_at),
            confirmation_sent_at: Set(Some(sent_at)),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([C::IncidentId, C::Email])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        if inserted == 1 {
            return Ok(Some(token));
        }
        let pending = || {
            Condition::all()
                .add(C::IncidentId.eq(incident_id))
                .add(C::Email.eq(email))
                .add(C::ConfirmedAt.is_null())
        };
        let claimed = audience_member::Entity::update_many()
            .col_expr(C::ConfirmationSentAt, Expr::value(sent_at))
            .filter(pending())
            .filter(
                Condition::any()
                    .add(C::ConfirmationSentAt.is_null())
                    .add(C::ConfirmationSentAt.lt(sent_at - resend_after)),
            )
            .exec(&self.db)
            .await?;
        if claimed.rows_affected == 0 {
            return Ok(None);
        }
        Ok(audience_member::Entity::find()
            .filter(pending())
            .one(&self.db)
            .await?
            .map(|m| m.unsubscribe_token))
    }

    /// The confirmation claimed by [`Store::subscribe`] could not be sent: the next
    /// sign-up may send it at once.
    pub async fn confirmation_not_sent(&self, incident_id: i64, email: &str) -> StoreResult<()> {
        use audience_member::Column as C;
        audience_member::Entity::update_many()
            .col_expr(
                C::ConfirmationSentAt,
                Expr::value(Option::<time::OffsetDateTime>::None),
            )
            .filter(C::IncidentId.eq(incident_id))
            .filter(C::Email.eq(email))
            .filter(C::ConfirmedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Confirms a sign-up; false when the token is unknown.
    pub async fn confirm_subscription(&self, token: &str) -> StoreResult<bool> {
        use audience_member::Column as C;
        let found = audience_member::Entity::find()
            .filter(C::UnsubscribeToken.eq(token))
            .one(&self.db)
            .await?;
        let Some(member) = found else {
            return Ok(false);
        };
        if member.confirmed_at.is_none() {
            let mut active: audience_member::ActiveModel = member.into();
            active.confirmed_at = Set(Some(now()));
            active.update(&self.db).await?;
        }
        Ok(true)
    }

    /// Unsubscribes the address behind `token` from everything; false when unknown.
    pub async fn unsubscribe(&self, token: &str) -> StoreResult<bool> {
        let Some(member) = self.recipient_by_token(token).await? else {
            return Ok(false);
        };
        let tx = self.db.begin().await?;
        audience_member::Entity::update_many()
            .col_expr(audience_member::Column::UnsubscribedAt, Expr::value(now()))
            .filter(audience_member::Column::Email.eq(member.email.as_str()))
            .filter(audience_member::Column::UnsubscribedAt.is_null())
            .exec(&tx)
            .await?;
        crate::audit::record_on(
            &tx,
            "recipient",
            "audience.unsubscribe",
            &format!("member:{}", member.member_id),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// The outcome of importing a file: what was added, updated and refused (line, reason).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub created: u64,
    pub updated: u64,
    pub rejected: Vec<muster_core::audience::Rejection>,
}

/// Rows per transaction when importing, and per progress report.
const IMPORT_BATCH: usize = 2000;

impl Store {
    /// Imports a parsed file into the incident `slug`, batch by batch, calling
    /// `progress(done, total)` after each; audited once with the counts (never addresses).
    pub async fn import_audience(
        &self,
        slug: &str,
        parsed: muster_core::audience::ParsedAudience,
        actor: &str,
        mut progress: impl FnMut(usize, usize),
    ) -> StoreResult<ImportReport> {
        let incident = self
            .incident_by_slug(slug)
            .await?
            .ok_or(crate::StoreError::NotFound("incident"))?;
        let total = parsed.rows.len();
        let mut report = ImportReport {
            rows: total + parsed.rejected.len(),
            rejected: parsed.rejected,
            ..Default::default()
        };
        for (i, batch) in parsed.rows.chunks(IMPORT_BATCH).enumerate() {
            let counts = self.upsert_audience(incident.id, batch).await?;
            report.created += counts.created;
            report.updated += counts.updated;
            progress((i * IMPORT_BATCH + batch.len()).min(total), total);
        }
        self.audit(
            actor,
            "audience.import",
            slug,
            serde_json::json!({
                "created": report.created,
                "updated": report.updated,
                "rejected": report.rejected.len(),
            }),
        )
        .await?;
        Ok(report)
    }
}
