//! Cases: every inbound contact, on any channel, becomes a contact on one case per
//! customer. The case, its contact, its access token and the acknowledgement mail are
//! written in one transaction, so nothing is acknowledged that is not stored.

use std::collections::BTreeMap;

use muster_core::case::{Case, CaseStatus, Contact, Direction, Identifier, UnverifiedMatch};
use muster_core::case_ref::CaseRef;
use muster_core::incident::ChannelKind;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set, Statement, Value,
};
use time::{Date, OffsetDateTime};

use crate::Store;
use crate::convert::{corrupt, now};
use crate::db::begin_planned_for_values;
use crate::entity::{case, case_token, contact, mail_queue};
use crate::error::{StoreError, StoreResult};
use crate::raw_sql::statement;
use crate::tokens::hash_token;

/// One inbound contact, already parsed and normalised by the edge that received it.
#[derive(Debug, Clone)]
pub struct Intake {
    pub incident_id: i64,
    pub channel: ChannelKind,
    pub customer_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub booking_ref: Option<String>,
    /// `network:handle`, lowercased, for social and chat.
    pub handle: Option<String>,
    pub departure_date: Option<Date>,
    /// The trip code (`muster_core::trip::Trip`), if the contact named one.
    pub trip: Option<String>,
    pub request_type: String,
    pub team: Option<String>,
    pub language: String,
    pub body: String,
    /// The sender's id for this contact (a form's idempotency token, a Message-ID, a
    /// post id, a call id): the same id twice is one contact.
    pub external_id: Option<String>,
    /// Join this case rather than match one (a personal link that completes a case).
    pub into_case: Option<i64>,
    pub meta: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IntakeOutcome {
    /// A new case.
    Created,
    /// A new contact on the customer's open case: a duplicate case avoided.
    Joined,
    /// The same contact again (a double click, a retried webhook): nothing added.
    Replayed,
}

/// A mail to send once the transaction commits, rendered by the caller.
#[derive(Debug, Clone)]
pub struct MailJob {
    pub kind: String,
    pub recipient: String,
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct Receipt {
    pub case: Case,
    pub outcome: IntakeOutcome,
    /// Whether `token` opens the whole case or only this submission's receipt.
    pub full_access: bool,
}

/// Which token a case page was opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    /// The customer's own token: the whole case.
    Full,
    /// A later submission that joined the case: its receipt, not the conversation.
    Receipt,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Full => "full",
            TokenScope::Receipt => "receipt",
        }
    }

    /// A stored scope; anything but `full` grants only the receipt.
    fn stored(raw: &str) -> Self {
        if raw == TokenScope::Full.as_str() {
            TokenScope::Full
        } else {
            TokenScope::Receipt
        }
    }
}

pub(crate) fn to_case(m: case::Model) -> StoreResult<Case> {
    Ok(Case {
        id: m.id,
        incident_id: m.incident_id,
        reference: CaseRef::parse(&m.reference)
            .map_err(|_| corrupt("case reference", &m.reference))?,
        customer_name: m.customer_name,
        email: m.email,
        phone: m.phone,
        booking_ref: m.booking_ref,
        handle: m.handle,
        departure_date: m.departure_date,
        trip: m.trip,
        request_type: m.request_type,
        team: m.team,
        language: m.language,
        status: CaseStatus::parse(&m.status).ok_or_else(|| corrupt("case status", &m.status))?,
        channel: ChannelKind::parse(&m.channel)
            .ok_or_else(|| corrupt("case channel", &m.channel))?,
        contact_count: m.contact_count,
        created_at: m.created_at,
        first_response_at: m.first_response_at,
        resolved_at: m.resolved_at,
        claimed_by: m.claimed_by,
        lease_until: m.lease_until,
        overdue_at: m.overdue_at,
        merged_into: m.merged_into,
        unverified_match: match (m.unverified_match, m.unverified_match_on) {
            (Some(reference), Some(on)) => Some(UnverifiedMatch {
                reference: CaseRef::parse(&reference)
                    .map_err(|_| corrupt("unverified match", &reference))?,
                on: Identifier::parse(&on).ok_or_else(|| corrupt("unverified match", &on))?,
            }),
            _ => None,
        },
    })
}

fn to_contact(m: contact::Model) -> StoreResult<Contact> {
    Ok(Contact {
        id: m.id,
        direction: Direction::parse(&m.direction)
            .ok_or_else(|| corrupt("contact direction", &m.direction))?,
        channel: ChannelKind::parse(&m.channel)
            .ok_or_else(|| corrupt("contact channel", &m.channel))?,
        body: m.body,
        created_at: m.created_at,
    })
}

/// The identifiers a contact can be matched on, as `(column, value)`.
pub(crate) fn identifiers(intake: &Intake) -> impl Iterator<Item = (&'static str, &str)> {
    [
        (Identifier::Email, &intake.email),
        (Identifier::Phone, &intake.phone),
        (Identifier::BookingRef, &intake.booking_ref),
        (Identifier::Handle, &intake.handle),
    ]
    .into_iter()
    .filter_map(|(identifier, value)| value.as_deref().map(|v| (identifier.as_str(), v)))
}

/// The first identifier `intake` shares with `case`, most telling first.
fn shared_identifier(case: &case::Model, intake: &Intake) -> Option<Identifier> {
    [
        (Identifier::Email, &case.email, &intake.email),
        (
            Identifier::BookingRef,
            &case.booking_ref,
            &intake.booking_ref,
        ),
        (Identifier::Phone, &case.phone, &intake.phone),
        (Identifier::Handle, &case.handle, &intake.handle),
    ]
    .into_iter()
    .find(|(_, theirs, given)| theirs.is_some() && theirs == given)
    .map(|(identifier, _, _)| identifier)
}

/// `SELECT *` of the cases not resolved that share an identifier with any of `intakes`,
/// oldest first; `None` if they gave none. Each identifier column is looked up through its
/// own index (an `IN` list per incident and column) and the ids united: written as one
/// `OR`, SQLite's planner walked every case of the incident instead, so intake slowed down
/// as the queue grew.
pub(crate) fn open_cases_sharing_identifiers<'a>(
    backend: DbBackend,
    intakes: impl Iterator<Item = &'a Intake>,
    limit: Option<u32>,
) -> Option<Statement> {
    let mut wanted: BTreeMap<(i64, &'static str), Vec<&'a str>> = BTreeMap::new();
    for intake in intakes {
        for (column, value) in identifiers(intake) {
            wanted
                .entry((intake.incident_id, column))
                .or_default()
                .push(value);
        }
    }
    if wanted.is_empty() {
        return None;
    }
    let mut lookups = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    for ((incident_id, column), mut listed) in wanted {
        // Lists padded to a power of two (repeating a value changes nothing) give a handful
        // of distinct statements, which the connections keep prepared, instead of one per
        // batch size to parse and plan again.
        if let Some(last) = listed.last().copied() {
            listed.resize(listed.len().next_power_of_two(), last);
        }
        lookups.push(format!(
            "SELECT id FROM cases WHERE incident_id = ? AND {column} IN ({})",
            vec!["?"; listed.len()].join(", ")
        ));
        values.push(incident_id.into());
        values.extend(listed.into_iter().map(Value::from));
    }
    values.push(CaseStatus::Resolved.as_str().into());
    let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
    let sql = format!(
        "SELECT * FROM cases WHERE id IN ({}) AND status <> ? ORDER BY created_at{limit}",
        lookups.join(" UNION ALL ")
    );
    Some(statement(backend, &sql, values))
}

/// The case a contact joins: the one its case link names, else the open case of the same
/// sender (the identifier the channel vouches for, on a case opened by a channel that vouches
/// for it too: the same number by call, SMS or WhatsApp). A match on anything the writer typed joins nothing: that would tell a
/// stranger who gave someone's email or booking reference that they have a case, and put
/// the stranger's text in it (docs/security.md, "No case disclosure").
async fn case_to_join(
    tx: &DatabaseTransaction,
    intake: &Intake,
) -> Result<Option<case::Model>, DbErr> {
    if let Some(id) = intake.into_case {
        return case::Entity::find_by_id(id).one(tx).await;
    }
    let Some(vouched) = Identifier::vouched_by(intake.channel) else {
        return Ok(None);
    };
    let Some((column, value)) = identifiers(intake).find(|(c, _)| *c == vouched.as_str()) else {
        return Ok(None);
    };
    // Any channel that vouches for the same identifier proves the same sender: an SMS and a
    // WhatsApp message from one number are one customer.
    let channels = vouched.vouched_on();
    let sql = format!(
        "SELECT * FROM cases WHERE incident_id = ? AND {column} = ? AND channel IN ({}) \
         AND status <> ? ORDER BY created_at LIMIT 1",
        vec!["?"; channels.len()].join(", ")
    );
    let mut values: Vec<Value> = vec![intake.incident_id.into(), value.into()];
    values.extend(channels.iter().map(|c| Value::from(c.as_str())));
    values.push(CaseStatus::Resolved.as_str().into());
    let query = statement(tx.get_database_backend(), &sql, values);
    case::Entity::find().from_raw_sql(query).one(tx).await
}

/// The oldest open case that shares an identifier with `intake`, and which: the case a
/// new case from an unproven writer names as its unverified match.
async fn unverified_match(
    tx: &DatabaseTransaction,
    intake: &Intake,
) -> Result<Option<(case::Model, Identifier)>, DbErr> {
    let backend = tx.get_database_backend();
    let Some(query) = open_cases_sharing_identifiers(backend, std::iter::once(intake), Some(1))
    else {
        return Ok(None);
    };
    let found = case::Entity::find().from_raw_sql(query).one(tx).await?;
    Ok(found.and_then(|case| shared_identifier(&case, intake).map(|on| (case, on))))
}

/// A new case for a customer not seen before, as first stored.
pub(crate) fn new_case_row(
    intake: &Intake,
    reference: &str,
    created: OffsetDateTime,
) -> case::ActiveModel {
    case::ActiveModel {
        incident_id: Set(intake.incident_id),
        reference: Set(reference.to_owned()),
        customer_name: Set(intake.customer_name.clone()),
        email: Set(intake.email.clone()),
        phone: Set(intake.phone.clone()),
        booking_ref: Set(intake.booking_ref.clone()),
        handle: Set(intake.handle.clone()),
        departure_date: Set(intake.departure_date),
        trip: Set(intake.trip.clone()),
        request_type: Set(intake.request_type.clone()),
        team: Set(intake.team.clone()),
        language: Set(intake.language.clone()),
        status: Set(CaseStatus::Open.as_str().to_owned()),
        channel: Set(intake.channel.as_str().to_owned()),
        contact_count: Set(1),
        created_at: Set(created),
        updated_at: Set(created),
        ..Default::default()
    }
}

pub(crate) fn inbound_contact_row(
    case_id: i64,
    intake: &Intake,
    created: OffsetDateTime,
) -> contact::ActiveModel {
    contact::ActiveModel {
        case_id: Set(case_id),
        direction: Set(Direction::Inbound.as_str().to_owned()),
        channel: Set(intake.channel.as_str().to_owned()),
        external_id: Set(intake.external_id.clone()),
        author_id: Set(None),
        body: Set(intake.body.clone()),
        meta: Set(intake.meta.clone()),
        created_at: Set(created),
        ..Default::default()
    }
}

pub(crate) fn token_row(
    case_id: i64,
    token_hash: String,
    scope: TokenScope,
    created: OffsetDateTime,
) -> case_token::ActiveModel {
    case_token::ActiveModel {
        case_id: Set(case_id),
        token_hash: Set(token_hash),
        scope: Set(scope.as_str().to_owned()),
        created_at: Set(created),
        ..Default::default()
    }
}

pub(crate) fn pending_mail_row(
    case_id: i64,
    job: MailJob,
    created: OffsetDateTime,
) -> mail_queue::ActiveModel {
    mail_queue::ActiveModel {
        case_id: Set(Some(case_id)),
        kind: Set(job.kind),
        recipient: Set(job.recipient),
        payload: Set(job.payload),
        status: Set(crate::mail_queue::MailStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        lease_until: Set(None),
        next_attempt_at: Set(created),
        sent_at: Set(None),
        error: Set(None),
        created_at: Set(created),
        ..Default::default()
    }
}

async fn insert_contact(
    tx: &DatabaseTransaction,
    case_id: i64,
    intake: &Intake,
) -> Result<(), DbErr> {
    inbound_contact_row(case_id, intake, now())
        .insert(tx)
        .await
        .map(|_| ())
}

async fn insert_token(
    tx: &DatabaseTransaction,
    case_id: i64,
    token: &str,
    scope: TokenScope,
) -> Result<(), DbErr> {
    // A customer adding to their case submits with the token they already hold.
    case_token::Entity::insert(token_row(case_id, hash_token(token), scope, now()))
        .on_conflict_do_nothing_on([case_token::Column::TokenHash])
        .exec(tx)
        .await
        .map(|_| ())
}

pub(crate) async fn enqueue(
    tx: &DatabaseTransaction,
    case_id: i64,
    job: MailJob,
) -> Result<(), DbErr> {
    pending_mail_row(case_id, job, now())
        .insert(tx)
        .await
        .map(|_| ())
}

/// Fills what the case did not know yet; a customer writing again reopens a waiting case.
fn merge_into(existing: case::Model, intake: &Intake) -> case::ActiveModel {
    // A customer writing again reopens a waiting or resolved case (not a merged one).
    let reopen = existing.status == CaseStatus::WaitingOnCustomer.as_str()
        || (existing.status == CaseStatus::Resolved.as_str() && existing.merged_into.is_none());
    let mut active: case::ActiveModel = existing.clone().into();
    if existing.departure_date.is_none() && intake.departure_date.is_some() {
        active.departure_date = Set(intake.departure_date);
    }
    if existing.trip.is_none() && intake.trip.is_some() {
        active.trip = Set(intake.trip.clone());
    }
    for (slot, current, offered) in [
        (&mut active.email, &existing.email, &intake.email),
        (&mut active.phone, &existing.phone, &intake.phone),
        (
            &mut active.booking_ref,
            &existing.booking_ref,
            &intake.booking_ref,
        ),
        (&mut active.handle, &existing.handle, &intake.handle),
    ] {
        if current.is_none() && offered.is_some() {
            *slot = Set(offered.clone());
        }
    }
    if reopen {
        active.status = Set(CaseStatus::Open.as_str().to_owned());
    }
    active.contact_count = Set(existing.contact_count + 1);
    active.updated_at = Set(now());
    active
}

impl Store {
    /// Takes one inbound contact in. `token` is the access token the submitter will hold;
    /// `ack` renders the acknowledgement for the outcome, queued in the same transaction.
    /// It must not use the case's row id: a new customer's acknowledgement is rendered
    /// before the row exists (id 0), to be written with the case in one group commit.
    pub async fn take_in(
        &self,
        intake: Intake,
        token: &str,
        ack: impl Fn(&Case, IntakeOutcome) -> Option<MailJob>,
    ) -> StoreResult<Receipt> {
        // The same contact again (a double click, a retried webhook) or a reference collision
        // fails on a unique key: the first is answered as a replay, the second draws a new
        // reference. Looking for the replay only then keeps it off the common path.
        if let Some(receipt) = self.take_in_together(&intake, token, &ack).await {
            return Ok(receipt);
        }
        let mut last_error = None;
        // Enough tries to pass the pool's other dead connections after a cut.
        for _ in 0..8 {
            match self.try_take_in(&intake, token, &ack).await {
                Ok(receipt) => return Ok(receipt),
                Err(StoreError::Database(err)) if StoreError::is_unique_violation(&err) => {
                    if let Some(receipt) = self.replayed(&intake, token).await? {
                        return Ok(receipt);
                    }
                    last_error = Some(err)
                }
                // A connection cut under the customer (a failover, a terminated backend):
                // nothing was committed, so the same transaction goes again on another one.
                Err(StoreError::Database(err)) if StoreError::is_connection_lost(&err) => {
                    last_error = Some(err)
                }
                Err(other) => return Err(other),
            }
        }
        Err(last_error
            .map(StoreError::Database)
            .unwrap_or(StoreError::Conflict("could not store the case".into())))
    }

    /// A new customer's contact, written with the others waiting (see `intake_batch`);
    /// `None` when it must be taken in alone.
    async fn take_in_together(
        &self,
        intake: &Intake,
        token: &str,
        ack: &impl Fn(&Case, IntakeOutcome) -> Option<MailJob>,
    ) -> Option<Receipt> {
        if intake.into_case.is_some() {
            return None;
        }
        let reference = CaseRef::generate();
        // The acknowledgement is rendered from the case as it will be stored (it needs the
        // reference, never the row id), so it can go in the same transaction.
        let planned = Case {
            id: 0,
            incident_id: intake.incident_id,
            reference: reference.clone(),
            customer_name: intake.customer_name.clone(),
            email: intake.email.clone(),
            phone: intake.phone.clone(),
            booking_ref: intake.booking_ref.clone(),
            handle: intake.handle.clone(),
            departure_date: intake.departure_date,
            trip: intake.trip.clone(),
            request_type: intake.request_type.clone(),
            team: intake.team.clone(),
            language: intake.language.clone(),
            status: CaseStatus::Open,
            channel: intake.channel,
            contact_count: 1,
            created_at: now(),
            first_response_at: None,
            resolved_at: None,
            claimed_by: None,
            lease_until: None,
            overdue_at: None,
            merged_into: None,
            unverified_match: None,
        };
        let job = ack(&planned, IntakeOutcome::Created);
        let stored = self
            .intake_writer
            .write(intake.clone(), reference.as_str(), hash_token(token), job)
            .await?;
        Some(Receipt {
            case: to_case(stored).ok()?,
            outcome: IntakeOutcome::Created,
            full_access: true,
        })
    }

    /// The receipt of a contact already taken in with the intake's external id, if any.
    async fn replayed(&self, intake: &Intake, token: &str) -> StoreResult<Option<Receipt>> {
        let Some(external_id) = &intake.external_id else {
            return Ok(None);
        };
        let seen = contact::Entity::find()
            .filter(contact::Column::Channel.eq(intake.channel.as_str()))
            .filter(contact::Column::ExternalId.eq(external_id.as_str()))
            .one(&self.db)
            .await?;
        let Some(seen) = seen else { return Ok(None) };
        let existing = case::Entity::find_by_id(seen.case_id)
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound("case"))?;
        let full_access = case_token::Entity::find()
            .filter(case_token::Column::TokenHash.eq(hash_token(token)))
            .one(&self.db)
            .await?
            .is_some_and(|t| TokenScope::stored(&t.scope) == TokenScope::Full);
        Ok(Some(Receipt {
            case: to_case(existing)?,
            outcome: IntakeOutcome::Replayed,
            full_access,
        }))
    }

    async fn try_take_in(
        &self,
        intake: &Intake,
        token: &str,
        ack: &impl Fn(&Case, IntakeOutcome) -> Option<MailJob>,
    ) -> StoreResult<Receipt> {
        let tx = begin_planned_for_values(&self.db).await?;
        let mut stranger_to_address = false;
        let (model, outcome) = match case_to_join(&tx, intake).await? {
            Some(existing) => (
                merge_into(existing, intake).update(&tx).await?,
                IntakeOutcome::Joined,
            ),
            None => {
                let mut row = new_case_row(intake, CaseRef::generate().as_str(), now());
                if let Some((matched, on)) = unverified_match(&tx, intake).await? {
                    // An email is answered at the address it came from, the sender's own.
                    stranger_to_address = on == Identifier::Email
                        && Identifier::vouched_by(intake.channel) != Some(Identifier::Email);
                    row.unverified_match = Set(Some(matched.reference));
                    row.unverified_match_on = Set(Some(on.as_str().to_owned()));
                }
                (row.insert(&tx).await?, IntakeOutcome::Created)
            }
        };
        insert_contact(&tx, model.id, intake).await?;
        let full_access = outcome == IntakeOutcome::Created || intake.into_case.is_some();
        insert_token(
            &tx,
            model.id,
            token,
            if full_access {
                TokenScope::Full
            } else {
                TokenScope::Receipt
            },
        )
        .await?;
        let case = to_case(model)?;
        // The address belongs to a case whose owner did not write this (or cannot be told
        // apart from someone who did): they are not mailed a stranger's case.
        if !stranger_to_address && let Some(job) = ack(&case, outcome) {
            enqueue(&tx, case.id, job).await?;
        }
        tx.commit().await?;
        Ok(Receipt {
            case,
            outcome,
            full_access,
        })
    }

    /// The case a token opens, with how much it may see, if the token belongs to it.
    pub async fn case_by_token(
        &self,
        reference: &CaseRef,
        token: &str,
    ) -> StoreResult<Option<(Case, TokenScope)>> {
        let mut reference = reference.as_str().to_owned();
        // A merged-away case's link leads to the case it went into (its tokens moved
        // there); a few hops at most, as merged cases can be merged again.
        for _ in 0..4 {
            let found = case::Entity::find()
                .filter(case::Column::Reference.eq(reference.as_str()))
                .one(&self.db)
                .await?;
            let Some(found) = found else { return Ok(None) };
            let grant = case_token::Entity::find()
                .filter(case_token::Column::TokenHash.eq(hash_token(token)))
                .filter(case_token::Column::CaseId.eq(found.id))
                .one(&self.db)
                .await?;
            match (grant, found.merged_into.clone()) {
                (Some(grant), _) => {
                    return Ok(Some((to_case(found)?, TokenScope::stored(&grant.scope))));
                }
                (None, Some(into)) => reference = into,
                (None, None) => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The conversation a customer sees: their messages and the replies, never notes.
    pub async fn customer_conversation(&self, case_id: i64) -> StoreResult<Vec<Contact>> {
        contact::Entity::find()
            .filter(contact::Column::CaseId.eq(case_id))
            .filter(contact::Column::Direction.ne(Direction::Note.as_str()))
            .order_by_asc(contact::Column::CreatedAt)
            .order_by_asc(contact::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_contact)
            .collect()
    }

    /// Open cases across all incidents, for the queue-depth gauge.
    pub async fn open_case_count(&self) -> StoreResult<u64> {
        Ok(case::Entity::find()
            .filter(case::Column::Status.ne(CaseStatus::Resolved.as_str()))
            .count(&self.db)
            .await?)
    }

    /// Contacts that joined an existing case instead of opening a new one.
    pub async fn duplicate_contacts_avoided(&self, incident_id: i64) -> StoreResult<i64> {
        let cases = case::Entity::find()
            .filter(case::Column::IncidentId.eq(incident_id))
            .filter(case::Column::ContactCount.gt(1))
            .all(&self.db)
            .await?;
        Ok(cases.iter().map(|c| i64::from(c.contact_count - 1)).sum())
    }

    pub(crate) fn backend(&self) -> sea_orm::DbBackend {
        self.db.get_database_backend()
    }
}
