//! A message to a customer on a channel other than email (SMS, WhatsApp, Telegram, the
//! integration's webhook), and where it stands.
//!
//! The providers take no idempotency key we can rely on, so a send that may have reached the
//! provider is never made again: the sender records `sending` (committed) before its request,
//! and a message found `sending` after its lease ran out (the sender died mid-request) becomes
//! `unknown` — shown to the agent as "may not have arrived", never resent by itself. Only a
//! send that certainly did not reach the provider (no connection was made, or the provider
//! answered that it did not take it: 429 or 5xx) is retried.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboundStatus {
    /// Waiting for its next attempt.
    Queued,
    /// Held by a sender under a lease; not yet handed to the provider.
    Claimed,
    /// The request to the provider is (or was) under way.
    Sending,
    /// The provider took it and gave its message id.
    Sent,
    Delivered,
    Read,
    /// The provider refused it, or it could not be delivered: the reason is kept.
    Failed,
    /// The sender stopped mid-request: it may or may not have gone out.
    Unknown,
}

impl OutboundStatus {
    pub const ALL: [OutboundStatus; 8] = [
        Self::Queued,
        Self::Claimed,
        Self::Sending,
        Self::Sent,
        Self::Delivered,
        Self::Read,
        Self::Failed,
        Self::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Claimed => "claimed",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// How far along the message is. Providers' callbacks may arrive out of order (Twilio's
    /// `sent` after `delivered`), so a report only ever moves a message forward.
    fn rank(self) -> u8 {
        match self {
            Self::Queued => 0,
            Self::Claimed => 1,
            Self::Sending => 2,
            Self::Unknown => 3,
            Self::Sent => 4,
            Self::Delivered => 5,
            Self::Read => 6,
            Self::Failed => 7,
        }
    }

    /// Whether a provider's report of `reported` changes a message that is `self`.
    pub fn advances_to(self, reported: OutboundStatus) -> bool {
        reported.rank() > self.rank()
    }
}

/// An approved WhatsApp message template, sent where free text is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub name: String,
    /// The template's language code as approved (`en`, `nb`, `en_US`).
    pub language: String,
}

/// What a queued message says: its text, or the template sent in its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundPayload {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    /// The case's reference, for the generic webhook's receiver.
    pub reference: String,
}

/// How long after the customer's last WhatsApp message free text may still be sent.
pub const WHATSAPP_WINDOW: time::Duration = time::Duration::hours(24);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_only_move_a_message_forward() {
        use OutboundStatus::*;
        assert!(Sent.advances_to(Delivered));
        assert!(Delivered.advances_to(Read));
        assert!(!Delivered.advances_to(Sent));
        assert!(!Read.advances_to(Delivered));
        assert!(Sending.advances_to(Sent));
        assert!(Unknown.advances_to(Delivered));
        assert!(Delivered.advances_to(Failed));
        assert!(!Failed.advances_to(Read));
    }

    #[test]
    fn statuses_round_trip() {
        for status in OutboundStatus::ALL {
            assert_eq!(OutboundStatus::parse(status.as_str()), Some(status));
        }
    }
}
