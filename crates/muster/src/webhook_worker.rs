//! Delivers outbound webhooks: claim due deliveries with a lease, POST each one signed
//! (outside any transaction), record the attempt, and schedule a retry with a doubling
//! delay until the receiver answers 2xx or the attempts run out. A crash leaves leases
//! that expire, and those deliveries go out again with the same delivery id.

use std::time::{Duration, Instant};

use anyhow::Context;
use muster_core::backoff::Backoff;
use muster_core::webhook_signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use muster_store::Store;
use muster_store::webhooks::{AttemptOutcome, ClaimedDelivery, NextStep};

use crate::worker::{Drain, Pace, Queue, Runner, Unrecorded, runner};

pub const EVENT_HEADER: &str = "X-Muster-Event";
pub const DELIVERY_HEADER: &str = "X-Muster-Delivery";

const BATCH: u64 = 16;
const TIMEOUT: Duration = Duration::from_secs(10);
/// Well past the request timeout, so a live worker never loses its claim.
const LEASE: time::Duration = time::Duration::seconds(60);
const IDLE_POLL: Duration = Duration::from_millis(250);
/// The longest error text kept per attempt.
const MAX_ERROR_CHARS: usize = 300;

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

pub struct WebhookQueue {
    store: Store,
    client: reqwest::Client,
    retries: Backoff,
}

/// One attempt at a delivery, to be recorded.
pub struct Attempted {
    delivery: ClaimedDelivery,
    outcome: AttemptOutcome,
}

pub fn worker(
    store: Store,
    client: reqwest::Client,
    retries: Backoff,
) -> Runner<impl FnMut() -> Drain<WebhookQueue>> {
    runner("webhooks", Pace::Poll { idle: IDLE_POLL }, move || {
        Drain(WebhookQueue {
            store: store.clone(),
            client: client.clone(),
            retries,
        })
    })
}

impl WebhookQueue {
    async fn record_one(&self, attempted: Attempted) -> Result<(), muster_store::StoreError> {
        let Attempted { delivery, outcome } = attempted;
        let next = if outcome.error.is_none() {
            NextStep::Delivered
        } else {
            let attempts = u32::try_from(delivery.attempts).unwrap_or(0);
            match self.retries.retry_after(attempts) {
                Some(wait) => {
                    NextStep::RetryIn(time::Duration::try_from(wait).unwrap_or(time::Duration::MAX))
                }
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
        self.store
            .record_webhook_attempt(delivery.id, &outcome, next)
            .await
    }
}

impl Queue for WebhookQueue {
    type Claimed = ClaimedDelivery;
    type Outcome = Attempted;

    async fn claim(&self) -> anyhow::Result<Vec<ClaimedDelivery>> {
        self.store
            .claim_webhook_deliveries(BATCH, LEASE)
            .await
            .context("claiming webhook deliveries")
    }

    /// Each request is bounded by its timeout, so a batch in flight at shutdown ends soon.
    async fn work(&self, delivery: ClaimedDelivery) -> Attempted {
        let outcome = attempt(&self.client, &delivery).await;
        Attempted { delivery, outcome }
    }

    async fn record(&self, attempts: Vec<Attempted>) -> anyhow::Result<()> {
        // An attempt not recorded goes out again once its lease expires, with the same id.
        let mut unrecorded = Unrecorded::default();
        for attempted in attempts {
            unrecorded.note(self.record_one(attempted).await);
        }
        unrecorded.into_result("webhook attempts")
    }
}
