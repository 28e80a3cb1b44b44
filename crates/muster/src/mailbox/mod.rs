//! The IMAP mailbox door: one worker per `[[inbound.mailboxes]]` table, on the worker
//! runner. A round holds the mailbox's lease (one replica at a time fetches it), takes the
//! messages past the UID cursor in as cases in UID order, moves the cursor, then waits for
//! new mail with IDLE (or a short poll where the server has none). A message that cannot be
//! taken in is quarantined and the cursor moves past it, so it never blocks the ones behind.
//! A failed round drops the connection; the runner retries it after its backoff.

mod after_intake;
mod connection;

use std::time::Duration;

use anyhow::{Context, anyhow};
use futures_util::StreamExt;
use muster_app::inbound_email::{EmailOutcome, is_the_message_at_fault};
use muster_app::{App, AppError};
use muster_core::incident::Incident;
use muster_store::mailboxes::{MailboxCursor, MailboxProgress};
use muster_store::quarantine::NewQuarantined;
use tokio_util::sync::CancellationToken;

use crate::config::MailboxSettings;
use crate::worker::{Pace, Round, Runner, Worker, runner};
use connection::{Connection, deadline};

/// Messages fetched in one exchange: the cursor moves (and the lease is renewed) after each.
const BATCH: usize = 100;

/// Rounds in a row a message may fail for a reason not its own (the database) before it
/// is quarantined all the same: no message blocks the mailbox for ever.
const TRIES_BEFORE_QUARANTINE: u32 = 3;

/// One mailbox's fetcher on this replica.
pub struct Fetcher {
    app: App,
    mailbox: MailboxSettings,
    /// This replica, as the lease names it.
    owner: String,
    lease: Duration,
    connection: Option<Connection>,
    /// Whether this replica held the lease at its last look.
    held: bool,
    /// The UID that failed last, and in how many rounds in a row.
    stuck: (u32, u32),
}

/// The runner of `mailbox`'s fetcher. While another replica holds the mailbox, this one
/// looks again every half lease.
pub fn worker(
    app: App,
    mailbox: MailboxSettings,
    owner: String,
    lease: Duration,
) -> Runner<impl FnMut() -> Fetcher + Send + 'static> {
    runner("mailbox", Pace::Poll { idle: lease / 2 }, move || Fetcher {
        app: app.clone(),
        mailbox: mailbox.clone(),
        owner: owner.clone(),
        lease,
        connection: None,
        held: false,
        stuck: (0, 0),
    })
}

impl Fetcher {
    fn lease(&self) -> time::Duration {
        time::Duration::try_from(self.lease).unwrap_or(time::Duration::seconds(30))
    }

    async fn fetch(&mut self, stop: &CancellationToken) -> anyhow::Result<Round> {
        let store = self.app.store.clone();
        let Some(mut cursor) = store
            .claim_mailbox(&self.mailbox.name, &self.owner, self.lease())
            .await?
        else {
            if std::mem::replace(&mut self.held, false) {
                tracing::info!(mailbox = %self.mailbox.name, "another replica fetches this mailbox now");
                self.close().await;
            }
            return Ok(Round::Idle);
        };
        self.held = true;
        let connection = match &mut self.connection {
            Some(connection) => connection,
            empty => empty.insert(connection::open(&self.mailbox).await?),
        };
        if cursor.uid_validity != Some(connection.uid_validity) {
            if cursor.uid_validity.is_some() {
                // The server renumbered the folder: every message is new to the cursor, and
                // those taken in before are recognised by their Message-ID as replays.
                tracing::warn!(mailbox = %self.mailbox.name, "UIDVALIDITY changed; reading the folder again from its start");
            }
            cursor = MailboxCursor {
                uid_validity: Some(connection.uid_validity),
                next_uid: 1,
            };
        }
        let waiting = waiting_uids(connection, cursor.next_uid).await?;
        let stopped_by = match waiting.len() {
            0 => None,
            n => {
                let incident = self
                    .app
                    .email_incident(self.mailbox.incident.as_deref())
                    .await
                    .map_err(|err| anyhow!("{err}"))?;
                let batch = &waiting[..n.min(BATCH)];
                self.take_batch(&incident, batch, &mut cursor, stop).await?
            }
        };
        let left = waiting
            .iter()
            .filter(|uid| **uid >= cursor.next_uid)
            .count();
        if !self.record(cursor, left).await? {
            return Ok(Round::Idle);
        }
        if let Some(connection) = &mut self.connection {
            after_intake::tidy(connection, cursor.next_uid, &self.mailbox.after_intake).await?;
        }
        if let Some(err) = stopped_by {
            return Err(anyhow!("{err}").context("taking a message in; trying it again"));
        }
        if waiting.is_empty() {
            return self.wait_for_mail(stop).await;
        }
        Ok(Round::Worked)
    }

    /// Takes `batch` in, in UID order, moving `cursor` past each message taken in or
    /// quarantined. Stops at an error that is not the message's (the database went away),
    /// and hands it back to be raised once the cursor is saved.
    async fn take_batch(
        &mut self,
        incident: &Incident,
        batch: &[u32],
        cursor: &mut MailboxCursor,
        stop: &CancellationToken,
    ) -> anyhow::Result<Option<AppError>> {
        let Some(connection) = &mut self.connection else {
            return Ok(None);
        };
        let uid_validity = connection.uid_validity;
        let set = batch
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let mut fetches = deadline(
            "fetching messages",
            connection.session.uid_fetch(&set, "(UID BODY.PEEK[])"),
        )
        .await?;
        loop {
            let next = tokio::time::timeout(connection::EXCHANGE_TIMEOUT, fetches.next())
                .await
                .map_err(|_| anyhow!("fetching messages: the server stopped answering"))?;
            let Some(fetch) = next else { break };
            let fetch = fetch.context("fetching messages")?;
            let Some(uid) = fetch.uid.filter(|uid| *uid >= cursor.next_uid) else {
                continue;
            };
            let raw = fetch.body().unwrap_or_default();
            let outcome = match self.app.take_in_email(incident, raw).await {
                Err(err) if !is_the_message_at_fault(&err) => {
                    let tries = match self.stuck {
                        (stuck, tries) if stuck == uid => tries + 1,
                        _ => 1,
                    };
                    self.stuck = (uid, tries);
                    if tries < TRIES_BEFORE_QUARANTINE {
                        return Ok(Some(err));
                    }
                    Err(err)
                }
                other => other,
            };
            match outcome {
                // A case opened or joined, or a bounce or complaint recorded as such.
                Ok(EmailOutcome::Taken(_) | EmailOutcome::Report(..)) => {}
                Err(err) => {
                    let source = format!("mailbox {}", self.mailbox.name);
                    let source_key = format!("{}:{uid_validity}:{uid}", self.mailbox.name);
                    tracing::warn!(mailbox = %self.mailbox.name, uid, error = %err, "message quarantined");
                    self.app
                        .store
                        .quarantine_email(NewQuarantined {
                            source: &source,
                            source_key: &source_key,
                            incident_id: incident.id,
                            raw,
                            error: &err.to_string(),
                        })
                        .await?;
                }
            }
            cursor.next_uid = uid.saturating_add(1);
            if stop.is_cancelled() {
                // The rest of the batch is fetched again by whoever fetches next.
                return Ok(None);
            }
        }
        // Messages of the batch deleted meanwhile never come: the batch is done.
        if let Some(last) = batch.last() {
            cursor.next_uid = cursor.next_uid.max(last.saturating_add(1));
        }
        Ok(None)
    }

    /// Saves the cursor with the lease renewed; false (and the connection closed) when the
    /// lease was lost to another replica meanwhile.
    async fn record(&mut self, cursor: MailboxCursor, backlog: usize) -> anyhow::Result<bool> {
        let progress = MailboxProgress {
            cursor,
            backlog: u64::try_from(backlog).unwrap_or(u64::MAX),
        };
        let held = self
            .app
            .store
            .record_mailbox_progress(&self.mailbox.name, &self.owner, progress, self.lease())
            .await?;
        if !held {
            tracing::info!(mailbox = %self.mailbox.name, "the lease ran out; another replica fetches this mailbox now");
            self.held = false;
            self.close().await;
        }
        Ok(held)
    }

    /// Waits for new mail: IDLE for a third of the lease where the server offers it (so
    /// the lease is renewed in time), else the configured poll.
    async fn wait_for_mail(&mut self, stop: &CancellationToken) -> anyhow::Result<Round> {
        let Some(mut connection) = self.connection.take() else {
            return Ok(Round::Worked);
        };
        if !connection.idle {
            self.connection = Some(connection);
            tokio::select! {
                () = stop.cancelled() => {}
                () = tokio::time::sleep(self.mailbox.poll) => {}
            }
            return Ok(Round::Worked);
        }
        let mut idle = connection.session.idle();
        deadline("starting IDLE", idle.init()).await?;
        {
            let (news, interrupt) = idle.wait_with_timeout(self.lease / 3);
            tokio::select! {
                answer = news => { answer.context("waiting in IDLE")?; }
                () = stop.cancelled() => drop(interrupt),
            }
        }
        connection.session = deadline("ending IDLE", idle.done()).await?;
        self.connection = Some(connection);
        Ok(Round::Worked)
    }

    /// Signs out, best effort: the server drops a dead connection by itself.
    async fn close(&mut self) {
        if let Some(mut connection) = self.connection.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), connection.session.logout()).await;
        }
    }
}

/// The UIDs at or past `next_uid`, lowest first.
async fn waiting_uids(connection: &mut Connection, next_uid: u32) -> anyhow::Result<Vec<u32>> {
    let found = deadline(
        "searching for new messages",
        connection.session.uid_search(format!("UID {next_uid}:*")),
    )
    .await?;
    // `n:*` always names the last message, even one below `n`.
    let mut uids: Vec<u32> = found.into_iter().filter(|uid| *uid >= next_uid).collect();
    uids.sort_unstable();
    Ok(uids)
}

impl Worker for Fetcher {
    async fn round(&mut self, stop: &CancellationToken) -> anyhow::Result<Round> {
        match self.fetch(stop).await {
            Ok(round) => Ok(round),
            Err(err) => {
                // Connect afresh after the runner's backoff.
                self.connection = None;
                let error = format!("{err:#}");
                if self.held {
                    self.app
                        .store
                        .record_mailbox_error(&self.mailbox.name, &self.owner, &error)
                        .await
                        .ok();
                }
                Err(err.context(format!("mailbox {}", self.mailbox.name)))
            }
        }
    }

    async fn finish(mut self) {
        self.close().await;
        if self.held {
            self.app
                .store
                .release_mailbox(&self.mailbox.name, &self.owner)
                .await
                .ok();
        }
    }
}
