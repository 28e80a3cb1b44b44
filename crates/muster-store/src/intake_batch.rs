//! Group commit for new customers. In a surge nearly every contact is a customer Muster has
//! not seen, and each one written alone costs a transaction of seven statements. One writer
//! task instead takes every new-customer contact waiting, checks them against the open
//! cases in one query, and writes their cases, contacts, tokens and acknowledgements with
//! one multi-row insert per table and one commit (on PostgreSQL, several such batches are
//! written at once). Each caller is answered after the commit, so nothing is acknowledged
//! that is not stored.
//!
//! Anything unusual leaves the batch: a contact from a known customer (or from the same
//! customer twice in one batch) and, if the batch fails, the whole batch (a replayed
//! contact or a reference collision hits a unique key). Those callers are told "not taken"
//! and go through the one-at-a-time path, which handles joins, replays and retries.

use std::collections::HashSet;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::cases::{
    Intake, MailJob, TokenScope, identifiers, inbound_contact_row, new_case_row,
    open_cases_sharing_identifiers, pending_mail_row, token_row,
};
use crate::convert::now;
use crate::db::begin_planned_for_values;
use crate::entity::{case, case_token, contact, mail_queue};

/// At most this many contacts share a transaction (well under both engines' limits on
/// bound parameters per statement).
const MAX_BATCH: usize = 64;

/// A new-customer contact, ready to be written: its reference drawn and its
/// acknowledgement rendered by the caller.
struct Fresh {
    intake: Intake,
    reference: String,
    token_hash: String,
    ack: Option<MailJob>,
    /// The stored case, or `None` when the contact must take the one-at-a-time path.
    reply: oneshot::Sender<Option<case::Model>>,
}

/// The sending end of the writer task; the task ends when every sender is gone. The queue
/// needs no bound of its own: each entry is a request awaiting its reply, so it holds at
/// most as many as the server has requests in flight.
#[derive(Debug, Clone)]
pub(crate) struct IntakeWriter {
    queue: mpsc::UnboundedSender<Fresh>,
}

impl IntakeWriter {
    pub(crate) fn start(db: DatabaseConnection) -> Self {
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(run(db, waiting));
        Self { queue }
    }

    /// Writes a new customer's contact with whatever else is waiting; `None` means "take
    /// it alone".
    pub(crate) async fn write(
        &self,
        intake: Intake,
        reference: &str,
        token_hash: String,
        ack: Option<MailJob>,
    ) -> Option<case::Model> {
        let (reply, answer) = oneshot::channel();
        let fresh = Fresh {
            intake,
            reference: reference.to_owned(),
            token_hash,
            ack,
            reply,
        };
        self.queue.send(fresh).ok()?;
        answer.await.ok().flatten()
    }
}

/// Batches written at once: PostgreSQL commits several transactions in parallel (and waits
/// for the disk for each), SQLite has one writer.
fn parallel_writes(db: &DatabaseConnection) -> usize {
    match db.get_database_backend() {
        DbBackend::Postgres => 4,
        _ => 1,
    }
}

/// A customer's identifier in a batch: incident, column, value.
type Key = (i64, &'static str, String);

fn keys_of(fresh: &Fresh) -> impl Iterator<Item = Key> + '_ {
    identifiers(&fresh.intake)
        .map(move |(column, value)| (fresh.intake.incident_id, column, value.to_owned()))
}

/// Takes batches off the queue and writes up to `parallel_writes` of them at a time. A batch
/// is checked against the open cases as it is written, and a batch being written is not yet
/// among them: so a batch that shares a customer with one in flight waits for every write in
/// flight to finish first, and "one customer, one case" holds across batches.
async fn run(db: DatabaseConnection, mut waiting: mpsc::UnboundedReceiver<Fresh>) {
    let parallel = parallel_writes(&db);
    let mut writing: JoinSet<Vec<Key>> = JoinSet::new();
    let mut in_flight: HashSet<Key> = HashSet::new();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
        while let Some(done) = writing.try_join_next() {
            forget(&mut in_flight, done);
        }
        let overlaps = batch
            .iter()
            .any(|fresh| keys_of(fresh).any(|k| in_flight.contains(&k)));
        while (overlaps && !writing.is_empty()) || writing.len() >= parallel {
            if let Some(done) = writing.join_next().await {
                forget(&mut in_flight, done);
            }
        }
        let size = batch.len();
        let batch = std::mem::take(&mut batch);
        let keys: Vec<Key> = batch.iter().flat_map(keys_of).collect();
        in_flight.extend(keys.iter().cloned());
        let db = db.clone();
        writing.spawn(async move {
            let started = std::time::Instant::now();
            write_and_answer(&db, batch).await;
            tracing::debug!(
                size,
                elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                "intake batch"
            );
            keys
        });
    }
    while writing.join_next().await.is_some() {}
}

fn forget(in_flight: &mut HashSet<Key>, done: Result<Vec<Key>, tokio::task::JoinError>) {
    for key in done.unwrap_or_default() {
        in_flight.remove(&key);
    }
}

/// Looks the batch up against the open cases and writes the new customers' contacts, in one
/// transaction, then answers every caller once it is committed (or failed): the stored case,
/// or `None` for "take it alone". Those going alone are answered after the commit too, so a
/// second contact from a customer of this batch finds the case it must join.
async fn write_and_answer(db: &DatabaseConnection, batch: Vec<Fresh>) {
    let tx = match begin_planned_for_values(db).await {
        Ok(tx) => tx,
        Err(_) => {
            // Everyone goes alone, where the same error is met and reported.
            for fresh in batch {
                let _ = fresh.reply.send(None);
            }
            return;
        }
    };
    let (alone, together) = split_known(&tx, batch).await;
    let stored = match write_together(tx, &together).await {
        Ok(stored) => stored,
        Err(err) => {
            tracing::debug!(error = %err, size = together.len(), "intake batch falls back to one at a time");
            Vec::new()
        }
    };
    let mut stored = stored.into_iter();
    for fresh in together {
        let model = stored.next().filter(|m| m.reference == fresh.reference);
        let _ = fresh.reply.send(model);
    }
    for fresh in alone {
        let _ = fresh.reply.send(None);
    }
}

/// Separates contacts from customers with an open case (or twice in this batch), which
/// must join a case, from the truly new ones.
async fn split_known(db: &impl ConnectionTrait, batch: Vec<Fresh>) -> (Vec<Fresh>, Vec<Fresh>) {
    let known = match open_case_identifiers(db, &batch).await {
        Ok(known) => known,
        // Unknown: everyone goes alone, where the same error is met and reported.
        Err(_) => return (batch, Vec::new()),
    };
    let mut seen: HashSet<Key> = HashSet::new();
    let (mut alone, mut together) = (Vec::new(), Vec::new());
    for fresh in batch {
        let keys: Vec<Key> = keys_of(&fresh).collect();
        let repeat = keys.is_empty()
            || fresh.intake.into_case.is_some()
            || keys.iter().any(|k| known.contains(k) || seen.contains(k));
        seen.extend(keys);
        if repeat {
            alone.push(fresh);
        } else {
            together.push(fresh);
        }
    }
    (alone, together)
}

/// The identifiers of every open case that shares one with a contact of the batch.
async fn open_case_identifiers(
    db: &impl ConnectionTrait,
    batch: &[Fresh],
) -> Result<HashSet<Key>, DbErr> {
    let mut known = HashSet::new();
    let intakes = batch.iter().map(|fresh| &fresh.intake);
    let Some(query) = open_cases_sharing_identifiers(db.get_database_backend(), intakes, None)
    else {
        return Ok(known);
    };
    let cases = case::Entity::find().from_raw_sql(query).all(db).await?;
    for found in cases {
        for (column, value) in [
            ("email", found.email),
            ("phone", found.phone),
            ("booking_ref", found.booking_ref),
            ("handle", found.handle),
        ] {
            if let Some(value) = value {
                known.insert((found.incident_id, column, value));
            }
        }
    }
    Ok(known)
}

/// Writes the new customers' cases, contacts, tokens and acknowledgements in `tx` and
/// commits; the cases come back in the batch's order.
async fn write_together(
    tx: DatabaseTransaction,
    together: &[Fresh],
) -> Result<Vec<case::Model>, DbErr> {
    if together.is_empty() {
        return Ok(Vec::new());
    }
    let created = now();
    let cases = case::Entity::insert_many(
        together
            .iter()
            .map(|fresh| new_case_row(&fresh.intake, &fresh.reference, created)),
    )
    .exec_with_returning(&tx)
    .await?;
    // Match by reference: the engines return inserted rows in order, but need not.
    let mut ordered = Vec::with_capacity(together.len());
    for fresh in together {
        let model = cases
            .iter()
            .find(|m| m.reference == fresh.reference)
            .cloned()
            .ok_or_else(|| DbErr::Custom("a batched case was not returned".into()))?;
        ordered.push(model);
    }
    contact::Entity::insert_many(
        together
            .iter()
            .zip(&ordered)
            .map(|(fresh, model)| inbound_contact_row(model.id, &fresh.intake, created)),
    )
    .exec_without_returning(&tx)
    .await?;
    case_token::Entity::insert_many(together.iter().zip(&ordered).map(|(fresh, model)| {
        token_row(
            model.id,
            fresh.token_hash.clone(),
            TokenScope::Full,
            created,
        )
    }))
    .exec_without_returning(&tx)
    .await?;
    let acknowledgements: Vec<mail_queue::ActiveModel> = together
        .iter()
        .zip(&ordered)
        .filter_map(|(fresh, model)| Some(pending_mail_row(model.id, fresh.ack.clone()?, created)))
        .collect();
    if !acknowledgements.is_empty() {
        mail_queue::Entity::insert_many(acknowledgements)
            .exec_without_returning(&tx)
            .await?;
    }
    tx.commit().await?;
    Ok(ordered)
}
