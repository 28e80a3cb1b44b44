//! Sends the transactional mail queue (acknowledgements, replies, alerts): claim a batch
//! with a lease, send outside any transaction, mark each sent or failed. A crash leaves
//! leases that expire, and those messages are sent again with the same Message-ID.

use std::time::Duration;

use futures_util::future::join_all;
use muster_mail::{Mailer, OutgoingMessage, SendError};
use muster_store::Store;
use muster_store::mail_queue::ClaimedMail;
use tokio_util::sync::CancellationToken;

const BATCH: u64 = 32;
const LEASE: time::Duration = time::Duration::seconds(120);
const IDLE_POLL: Duration = Duration::from_millis(250);
/// Transient failures are retried with doubling delays, then given up on (about a day).
const MAX_ATTEMPTS: i32 = 10;

fn backoff(attempts: i32) -> time::Duration {
    time::Duration::seconds(30 * (1_i64 << attempts.clamp(0, 11)))
}

/// Sends one message; failures are recorded here, successes returned to be marked together.
async fn deliver(store: &Store, mailer: &Mailer, claimed: ClaimedMail) -> Option<i64> {
    let outcome = match serde_json::from_value::<OutgoingMessage>(claimed.payload) {
        Ok(message) => match message.build() {
            Ok(built) => mailer.send(built).await,
            Err(err) => Err(SendError::Permanent(err.to_string())),
        },
        Err(err) => Err(SendError::Permanent(format!(
            "unreadable queued message: {err}"
        ))),
    };
    let marked = match outcome {
        Ok(()) => return Some(claimed.id),
        Err(SendError::Transient(reason)) if claimed.attempts < MAX_ATTEMPTS => {
            tracing::warn!(mail_id = claimed.id, attempts = claimed.attempts, %reason, "mail deferred");
            store
                .mark_mail_failed(claimed.id, &reason, Some(backoff(claimed.attempts)))
                .await
        }
        Err(SendError::Transient(reason) | SendError::Permanent(reason)) => {
            tracing::warn!(mail_id = claimed.id, %reason, "mail failed for good");
            store.mark_mail_failed(claimed.id, &reason, None).await
        }
    };
    if let Err(err) = marked {
        // The lease will expire and the message be sent again, with the same Message-ID.
        tracing::error!(mail_id = claimed.id, error = %err, "could not record a mail's outcome");
    }
    None
}

pub async fn run(store: Store, mailer: Mailer, stop: CancellationToken) {
    while !stop.is_cancelled() {
        let batch = match store.claim_mail(BATCH, LEASE).await {
            Ok(batch) => batch,
            Err(err) => {
                tracing::warn!(error = %err, "cannot claim mail; retrying");
                Vec::new()
            }
        };
        if batch.is_empty() {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(IDLE_POLL) => continue,
            }
        }
        // A batch in flight is finished even when shutdown is asked for: nothing half-sent.
        let sent: Vec<i64> = join_all(
            batch
                .into_iter()
                .map(|claimed| deliver(&store, &mailer, claimed)),
        )
        .await
        .into_iter()
        .flatten()
        .collect();
        if let Err(err) = store.mark_mail_sent(&sent).await {
            // The leases will expire and these be sent again, with the same Message-IDs.
            tracing::error!(error = %err, count = sent.len(), "could not record sent mail");
        }
    }
}
