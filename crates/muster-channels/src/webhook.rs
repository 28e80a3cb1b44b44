//! The generic signed webhook's outbound half: a reply to a social or chat case is POSTed as
//! JSON to the integration's URL, signed as Muster's outbound webhooks are
//! (`muster_core::webhook_signature`: `X-Muster-Timestamp`, `X-Muster-Signature`), with
//! `X-Muster-Delivery` naming the message, so a receiver can tell a message it already
//! posted. Its inbound half is `POST /api/v1/inbound/{social,chat}`.

use muster_core::webhook_signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use serde::Serialize;

use crate::send::{SendError, send_json};

pub const DELIVERY_HEADER: &str = "X-Muster-Delivery";

#[derive(Clone)]
pub struct ReplyWebhook {
    pub url: String,
    pub secret: String,
}

/// Never print the secret (nor the URL, which may carry a token).
impl std::fmt::Debug for ReplyWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyWebhook").finish_non_exhaustive()
    }
}

/// What the integration receives.
#[derive(Debug, Serialize)]
pub struct Reply<'a> {
    /// `social` or `chat`.
    pub channel: &'a str,
    /// The network the case came from (`x`, `facebook`, `webchat`).
    pub network: &'a str,
    /// The customer's handle there, as they wrote from it.
    pub handle: &'a str,
    pub reference: &'a str,
    pub text: &'a str,
    /// The message's key: the same on every attempt.
    pub message_id: &'a str,
}

fn integration_reason(body: &serde_json::Value) -> Option<String> {
    body.get("error")
        .and_then(|e| e.as_str())
        .map(str::to_owned)
}

impl ReplyWebhook {
    /// POSTs `reply`, signed at `now` (Unix seconds). Returns the integration's id for the
    /// post (`id` in its JSON answer), else the message's own key.
    pub async fn send(
        &self,
        client: &reqwest::Client,
        reply: &Reply<'_>,
        now: i64,
    ) -> Result<String, SendError> {
        let body = serde_json::to_vec(reply)
            .map_err(|e| SendError::Refused(format!("the reply cannot be written: {e}")))?;
        let signature = sign(&self.secret, now, &body)
            .ok_or_else(|| SendError::Refused("channels.webhook.secret is empty".into()))?;
        let request = client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, now.to_string())
            .header(SIGNATURE_HEADER, signature)
            .header(DELIVERY_HEADER, reply.message_id)
            .body(body);
        let answer = send_json(request, integration_reason).await?;
        Ok(match answer.get("id") {
            Some(serde_json::Value::String(id)) => id.clone(),
            Some(serde_json::Value::Number(id)) => id.to_string(),
            _ => reply.message_id.to_owned(),
        })
    }
}
