//! Sends the transactional mail queue (acknowledgements, replies, alerts): claim a batch
//! with a lease, send outside any transaction, mark each sent or failed. A crash leaves
//! leases that expire, and those messages are sent again with the same Message-ID.

use std::time::Duration;

use anyhow::Context;
use muster_core::backoff::Backoff;
use muster_mail::{Mailer, OutgoingMessage, SendError};
use muster_store::Store;
use muster_store::mail_queue::ClaimedMail;

use crate::worker::{Drain, Pace, Queue, Runner, Unrecorded, runner};

const BATCH: u64 = 32;
const IDLE_POLL: Duration = Duration::from_millis(250);
/// Transient failures are retried after 1 min, 2 min, 4 min, … (about eight and a half
/// hours over the ten attempts), then given up on.
const RETRIES: Backoff = Backoff {
    base: Duration::from_secs(60),
    max: Duration::from_secs(8 * 3600),
    max_attempts: 10,
};

pub struct MailQueue {
    store: Store,
    mailer: Mailer,
    /// How long a claimed batch holds (`mail.lease_secs`, as the bulk dispatcher's claims).
    lease: time::Duration,
}

/// One message's send, to be marked.
pub struct Sent {
    id: i64,
    attempts: i32,
    result: Result<(), SendError>,
}

pub fn worker(
    store: Store,
    mailer: Mailer,
    lease: time::Duration,
) -> Runner<impl FnMut() -> Drain<MailQueue>> {
    runner("mail", Pace::Poll { idle: IDLE_POLL }, move || {
        Drain(MailQueue {
            store: store.clone(),
            mailer: mailer.clone(),
            lease,
        })
    })
}

impl Queue for MailQueue {
    type Claimed = ClaimedMail;
    type Outcome = Sent;

    async fn claim(&self) -> anyhow::Result<Vec<ClaimedMail>> {
        self.store
            .claim_mail(BATCH, self.lease)
            .await
            .context("claiming mail")
    }

    async fn work(&self, claimed: ClaimedMail) -> Sent {
        let result = match serde_json::from_value::<OutgoingMessage>(claimed.payload) {
            Ok(message) => match message.build() {
                Ok(built) => self.mailer.send(built).await,
                Err(err) => Err(SendError::Permanent(err.to_string())),
            },
            Err(err) => Err(SendError::Permanent(format!(
                "unreadable queued message: {err}"
            ))),
        };
        Sent {
            id: claimed.id,
            attempts: claimed.attempts,
            result,
        }
    }

    /// Failures one by one, with their retry; the sent ones together in one statement.
    async fn record(&self, outcomes: Vec<Sent>) -> anyhow::Result<()> {
        let mut sent = Vec::new();
        // An outcome not recorded leaves a lease that expires, and the message is sent
        // again with the same Message-ID.
        let mut unrecorded = Unrecorded::default();
        for outcome in outcomes {
            let attempts = u32::try_from(outcome.attempts).unwrap_or(0);
            let (reason, retry) = match outcome.result {
                Ok(()) => {
                    sent.push(outcome.id);
                    continue;
                }
                Err(SendError::Transient(reason)) => (reason, RETRIES.retry_after(attempts)),
                Err(SendError::Permanent(reason)) => (reason, None),
            };
            match retry {
                Some(_) => tracing::warn!(mail_id = outcome.id, attempts, %reason, "mail deferred"),
                None => tracing::warn!(mail_id = outcome.id, %reason, "mail failed for good"),
            }
            let retry =
                retry.map(|wait| time::Duration::try_from(wait).unwrap_or(time::Duration::MAX));
            unrecorded.note(
                self.store
                    .mark_mail_failed(outcome.id, &reason, retry)
                    .await,
            );
        }
        unrecorded.note(self.store.mark_mail_sent(&sent).await);
        unrecorded.into_result("mail outcomes")
    }
}
