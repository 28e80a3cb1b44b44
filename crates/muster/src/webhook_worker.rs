//! Delivers outbound webhooks: claim due deliveries with a lease, POST each one signed
//! (outside any transaction), record the attempt, and schedule a retry with a doubling
//! delay until the receiver answers 2xx or the attempts run out. A crash leaves leases
//! that expire, and those deliveries go out again with the same delivery id.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use muster_core::webhook::retry_delay;
use muster_core::webhook_signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use muster_store::Store;
use muster_store::webhooks::{AttemptOutcome, ClaimedDelivery, NextStep};
use tokio_util::sync::CancellationToken;

pub const EVENT_HEADER: &str = "X-Muster-Event";
pub const DELIVERY_HEADER: &str = "X-Muster-Delivery";

const BATCH: u64 = 16;
const TIMEOUT: Duration = Duration::from_secs(10);
/// Well past the request timeout, so a live worker never loses its claim.
const LEASE: time::Duration = time::Duration::seconds(60);
const IDLE_POLL: Duration = Duration::from_millis(250);
/// The longest error text kept per attempt.
const MAX_ERROR_CHARS: usize = 300;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base_secs: u64,
    pub max_attempts: i32,
}

/// The HTTP client deliveries go out on. HTTPS uses rustls with the ring provider,
/// installed here for the whole process (installing it twice is harmless).
pub fn client() -> reqwest::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        // A redirect is not an answer: the receiver must fix its address.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Muster-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The error text of a failed request, without the URL (it may carry a token).
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(MAX_ERROR_CHARS).collect()
}

async fn attempt(client: &reqwest::Client, delivery: &ClaimedDelivery) -> AttemptOutcome {
    let started = Instant::now();
    let body = match serde_json::to_vec(&delivery.body) {
        Ok(body) => body,
        Err(err) => {
            return AttemptOutcome {
                status_code: None,
                error: Some(format!("unreadable payload: {err}")),
                duration: started.elapsed(),
            };
        }
    };
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let signature = sign(&delivery.secret, timestamp, &body).unwrap_or_default();
    let sent = client
        .post(&delivery.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(EVENT_HEADER, &delivery.event)
        .header(DELIVERY_HEADER, &delivery.delivery_id)
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) => {
            let status = response.status();
            AttemptOutcome {
                status_code: Some(status.as_u16()),
                error: (!status.is_success()).then(|| format!("HTTP {status}")),
                duration: started.elapsed(),
            }
        }
        Err(err) => AttemptOutcome {
            status_code: None,
            error: Some(describe(&err)),
            duration: started.elapsed(),
        },
    }
}

async fn deliver(
    store: &Store,
    client: &reqwest::Client,
    policy: RetryPolicy,
    delivery: ClaimedDelivery,
) {
    let outcome = attempt(client, &delivery).await;
    let next = if outcome.error.is_none() {
        NextStep::Delivered
    } else {
        match retry_delay(policy.base_secs, delivery.attempts, policy.max_attempts) {
            Some(secs) => NextStep::RetryIn(time::Duration::seconds(
                i64::try_from(secs).unwrap_or(i64::MAX),
            )),
            None => NextStep::GiveUp,
        }
    };
    // The endpoint is named by id only: its URL may carry a token, and no secret is logged.
    match next {
        NextStep::Delivered => tracing::info!(
            delivery = %delivery.delivery_id,
            endpoint = delivery.endpoint_id,
            event = %delivery.event,
            status = ?outcome.status_code,
            "webhook delivered"
        ),
        NextStep::RetryIn(delay) => tracing::warn!(
            delivery = %delivery.delivery_id,
            endpoint = delivery.endpoint_id,
            attempts = delivery.attempts,
            retry_in_secs = delay.whole_seconds(),
            error = outcome.error.as_deref().unwrap_or(""),
            "webhook not delivered; will retry"
        ),
        NextStep::GiveUp => tracing::warn!(
            delivery = %delivery.delivery_id,
            endpoint = delivery.endpoint_id,
            attempts = delivery.attempts,
            error = outcome.error.as_deref().unwrap_or(""),
            "webhook failed for good"
        ),
    }
    if let Err(err) = store
        .record_webhook_attempt(delivery.id, &outcome, next)
        .await
    {
        // The lease will expire and the delivery go out again, with the same id.
        tracing::error!(delivery = %delivery.delivery_id, error = %err, "could not record a webhook attempt");
    }
}

pub async fn run(
    store: Store,
    client: reqwest::Client,
    policy: RetryPolicy,
    stop: CancellationToken,
) {
    while !stop.is_cancelled() {
        let batch = match store.claim_webhook_deliveries(BATCH, LEASE).await {
            Ok(batch) => batch,
            Err(err) => {
                tracing::warn!(error = %err, "cannot claim webhook deliveries; retrying");
                Vec::new()
            }
        };
        if batch.is_empty() {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(IDLE_POLL) => continue,
            }
        }
        // A batch in flight is finished (each request is bounded by its timeout) and
        // recorded even when shutdown is asked for.
        join_all(
            batch
                .into_iter()
                .map(|delivery| deliver(&store, &client, policy, delivery)),
        )
        .await;
    }
}
