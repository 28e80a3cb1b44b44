//! What can come of a send, and the one rule for telling a send that never reached the
//! provider (safe to retry) from one that may have (never resent: see
//! `muster_core::outbound`).

use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(20);
/// The most of a provider's answer kept as a reason.
const MAX_REASON_CHARS: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Certainly not taken: no connection was made, or the provider said it did not take
    /// it for now (429, 503). Safe to try again.
    #[error("not sent: {0}")]
    NotReached(String),
    /// The provider refused it (a 4xx with its reason): sending again would not help.
    #[error("refused: {0}")]
    Refused(String),
    /// The request may have reached the provider, without an answer that says what became
    /// of it (a timeout, a cut connection, a 500 or 504 from its gateway).
    #[error("no clear answer: {0}")]
    InDoubt(String),
}

/// The HTTP client sends go out on: HTTPS with rustls on the ring provider (installed here
/// for the whole process; installing it twice is harmless), no redirects.
pub fn client() -> reqwest::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Muster-Channels/", env!("CARGO_PKG_VERSION")))
        .build()
}

pub(crate) fn clip(text: &str) -> String {
    text.chars().take(MAX_REASON_CHARS).collect()
}

/// A failed request, classified; never with its URL (it carries a bot token or an account).
pub(crate) fn request_error(err: &reqwest::Error) -> SendError {
    let mut text = String::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if err.is_connect() {
        SendError::NotReached(clip(&format!("could not connect{text}")))
    } else if err.is_builder() {
        SendError::Refused(clip(&format!("the request could not be built{text}")))
    } else if err.is_timeout() {
        SendError::InDoubt(clip(&format!("timed out{text}")))
    } else {
        SendError::InDoubt(clip(&format!("request failed{text}")))
    }
}

/// A provider's non-2xx answer, with the reason it gave (`reason`, read from its body).
pub(crate) fn refusal(status: reqwest::StatusCode, reason: &str) -> SendError {
    let text = clip(format!("HTTP {} {reason}", status.as_u16()).trim_end());
    match status.as_u16() {
        // "Too many requests" and "unavailable" say the message was not taken.
        429 | 503 => SendError::NotReached(text),
        400..=499 => SendError::Refused(text),
        _ => SendError::InDoubt(text),
    }
}

/// Sends `request` and reads the JSON answer: `Ok` for 2xx, else the classified refusal
/// with the reason `reason_of` finds in the body.
pub(crate) async fn send_json(
    request: reqwest::RequestBuilder,
    reason_of: fn(&serde_json::Value) -> Option<String>,
) -> Result<serde_json::Value, SendError> {
    let response = request.send().await.map_err(|e| request_error(&e))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| request_error(&e))?;
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    if status.is_success() {
        Ok(json)
    } else {
        Err(refusal(status, &reason_of(&json).unwrap_or_default()))
    }
}
