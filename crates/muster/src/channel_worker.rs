//! Sends the channel outbox (SMS, WhatsApp, Telegram, the integration's webhook): claim a
//! batch with a lease, and for each message record `sending` (committed) before the
//! request, send outside any transaction, and record the provider's message id or why not.
//! A send that certainly did not reach the provider is retried with backoff; one that may
//! have (a timeout, a cut connection, or a crash mid-request that leaves it `sending`) is
//! never sent again by itself: see `muster_core::outbound`.

use std::time::Duration;

use anyhow::Context;
use muster_channels::webhook::Reply;
use muster_channels::{Connectors, SendError};
use muster_core::backoff::Backoff;
use muster_core::contact_info::PhoneNumber;
use muster_core::incident::ChannelKind;
use muster_store::Store;
use muster_store::outbound::{ClaimedMessage, SendResult};

use crate::worker::{Drain, Pace, Queue, Runner, Unrecorded, runner};

const BATCH: u64 = 16;
const IDLE_POLL: Duration = Duration::from_millis(250);

/// Where the providers' status callbacks come back, under the public base URL.
pub const TWILIO_STATUS_PATH: &str = "/api/v1/channels/twilio/status";

pub struct ChannelQueue {
    store: Store,
    client: reqwest::Client,
    connectors: Connectors,
    /// `public.base_url`: Twilio's status callback is an address on it.
    base_url: String,
    lease: time::Duration,
    retries: Backoff,
}

/// One message's attempt, to be recorded; `None` when this sender lost the claim.
pub struct Attempt {
    message: ClaimedMessage,
    result: Option<SendResult>,
}

pub struct SenderSettings {
    pub connectors: Connectors,
    pub base_url: String,
    pub lease: time::Duration,
    pub retries: Backoff,
}

pub fn worker(
    store: Store,
    client: reqwest::Client,
    settings: SenderSettings,
) -> Runner<impl FnMut() -> Drain<ChannelQueue>> {
    runner("channels", Pace::Poll { idle: IDLE_POLL }, move || {
        Drain(ChannelQueue {
            store: store.clone(),
            client: client.clone(),
            connectors: settings.connectors.clone(),
            base_url: settings.base_url.clone(),
            lease: settings.lease,
            retries: settings.retries,
        })
    })
}

fn phone(recipient: &str) -> Result<PhoneNumber, SendError> {
    PhoneNumber::parse(recipient)
        .map_err(|_| SendError::Refused("the recipient is not a phone number".into()))
}

fn not_configured(channel: ChannelKind) -> SendError {
    SendError::Refused(format!(
        "{} is not configured (docs/channels.md)",
        channel.as_str()
    ))
}

impl ChannelQueue {
    /// The one request to the provider.
    async fn send(&self, message: &ClaimedMessage) -> Result<String, SendError> {
        let text = message.payload.text.as_str();
        let connectors = &self.connectors;
        match message.channel {
            ChannelKind::Sms => {
                let twilio = connectors
                    .twilio
                    .as_ref()
                    .ok_or_else(|| not_configured(message.channel))?;
                let callback = format!("{}{TWILIO_STATUS_PATH}", self.base_url);
                twilio
                    .send(&self.client, &phone(&message.recipient)?, text, &callback)
                    .await
            }
            ChannelKind::Whatsapp => {
                let whatsapp = connectors
                    .whatsapp
                    .as_ref()
                    .ok_or_else(|| not_configured(message.channel))?;
                let to = phone(&message.recipient)?;
                whatsapp
                    .send(&self.client, &to, text, message.payload.template.as_ref())
                    .await
            }
            ChannelKind::Telegram => {
                let telegram = connectors
                    .telegram
                    .as_ref()
                    .ok_or_else(|| not_configured(message.channel))?;
                let chat_id = message.recipient.parse::<i64>().map_err(|_| {
                    SendError::Refused("the recipient is not a Telegram chat".into())
                })?;
                telegram.send(&self.client, chat_id, text).await
            }
            ChannelKind::Social | ChannelKind::Chat => {
                let webhook = connectors
                    .webhook
                    .as_ref()
                    .ok_or_else(|| not_configured(message.channel))?;
                let (network, handle) = message
                    .recipient
                    .split_once(':')
                    .unwrap_or(("", message.recipient.as_str()));
                let reply = Reply {
                    channel: message.channel.as_str(),
                    network,
                    handle,
                    reference: &message.payload.reference,
                    text,
                    message_id: &message.idempotency_key,
                };
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                webhook.send(&self.client, &reply, now).await
            }
            other => Err(SendError::Refused(format!(
                "{} messages are not sent through the channel outbox",
                other.as_str()
            ))),
        }
    }

    fn result(&self, message: &ClaimedMessage, sent: Result<String, SendError>) -> SendResult {
        match sent {
            Ok(provider_id) => SendResult::Sent { provider_id },
            Err(SendError::Refused(reason)) => SendResult::Failed { reason },
            Err(SendError::InDoubt(reason)) => SendResult::Unknown { reason },
            Err(SendError::NotReached(reason)) => {
                let attempts = u32::try_from(message.attempts).unwrap_or(0);
                match self.retries.retry_after(attempts) {
                    Some(wait) => SendResult::RetryIn {
                        reason,
                        delay: time::Duration::try_from(wait).unwrap_or(time::Duration::MAX),
                    },
                    None => SendResult::Failed {
                        reason: format!("{reason} (after {attempts} attempts)"),
                    },
                }
            }
        }
    }
}

impl Queue for ChannelQueue {
    type Claimed = ClaimedMessage;
    type Outcome = Attempt;

    async fn claim(&self) -> anyhow::Result<Vec<ClaimedMessage>> {
        self.store
            .claim_outbound(BATCH, self.lease)
            .await
            .context("claiming channel messages")
    }

    async fn work(&self, message: ClaimedMessage) -> Attempt {
        // `sending` is on disk before the request leaves, so a crash from here on can never
        // lead to a second send.
        match self.store.mark_outbound_sending(&message).await {
            Ok(true) => {}
            Ok(false) => {
                return Attempt {
                    message,
                    result: None,
                };
            }
            Err(err) => {
                // Not marked: nothing was sent, and the claim's lease hands it on.
                tracing::warn!(message_id = message.id, error = %err, "could not mark a channel message as sending");
                return Attempt {
                    message,
                    result: None,
                };
            }
        }
        let sent = self.send(&message).await;
        let result = self.result(&message, sent);
        Attempt {
            message,
            result: Some(result),
        }
    }

    async fn record(&self, attempts: Vec<Attempt>) -> anyhow::Result<()> {
        // An outcome not recorded leaves the message `sending`: it becomes `unknown` once
        // its lease runs out, never sent twice.
        let mut unrecorded = Unrecorded::default();
        for Attempt { message, result } in attempts {
            let Some(result) = result else { continue };
            // Named by id and channel only: the recipient is personal data.
            match &result {
                SendResult::Sent { .. } => {
                    tracing::info!(
                        message_id = message.id,
                        channel = message.channel.as_str(),
                        "channel message sent"
                    )
                }
                SendResult::RetryIn { reason, delay } => tracing::warn!(
                    message_id = message.id,
                    channel = message.channel.as_str(),
                    retry_in_secs = delay.whole_seconds(),
                    %reason,
                    "channel message not sent; will retry"
                ),
                SendResult::Failed { reason } => tracing::warn!(
                    message_id = message.id,
                    channel = message.channel.as_str(),
                    %reason,
                    "channel message failed"
                ),
                SendResult::Unknown { reason } => tracing::warn!(
                    message_id = message.id,
                    channel = message.channel.as_str(),
                    %reason,
                    "channel message may not have arrived; not resent"
                ),
            }
            unrecorded.note(self.store.record_outbound(message.id, &result).await);
        }
        unrecorded.into_result("channel messages")
    }
}
