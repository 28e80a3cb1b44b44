//! Channel connectors: one module per provider, each with a receiving half (check the
//! provider's own signature, parse its documented payload, answer its handshake) and a
//! sending half (send a reply; the provider's message id, or why not). No database here:
//! the doors (`muster-web`) and the channel worker (`muster`) call these and hand what they
//! read to the use cases.

pub mod send;
pub mod telegram;
pub mod twilio;
pub mod webhook;
pub mod whatsapp;

use muster_core::contact_info::PhoneNumber;
use muster_core::incident::ChannelKind;
use muster_core::outbound::OutboundStatus;

pub use send::{SendError, client};

/// The connectors that are configured; each is on when its credentials are set.
#[derive(Debug, Clone, Default)]
pub struct Connectors {
    pub twilio: Option<twilio::TwilioSms>,
    pub whatsapp: Option<whatsapp::WhatsappCloud>,
    pub telegram: Option<telegram::TelegramBot>,
    pub webhook: Option<webhook::ReplyWebhook>,
}

impl Connectors {
    /// The channels replies can go out on besides email.
    pub fn sending(&self) -> Vec<ChannelKind> {
        let mut channels = Vec::new();
        if self.twilio.is_some() {
            channels.push(ChannelKind::Sms);
        }
        if self.whatsapp.is_some() {
            channels.push(ChannelKind::Whatsapp);
        }
        if self.telegram.is_some() {
            channels.push(ChannelKind::Telegram);
        }
        if self.webhook.is_some() {
            channels.extend([ChannelKind::Social, ChannelKind::Chat]);
        }
        channels
    }
}

/// Who wrote, as the provider names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// An SMS or WhatsApp number, in E.164.
    Phone(PhoneNumber),
    /// A Telegram chat (a private chat's id is the user's), with the user's @name if any.
    Telegram {
        chat_id: i64,
        username: Option<String>,
    },
}

/// A customer's message, as a connector read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub sender: Sender,
    /// The name the customer goes by on the network, if it says.
    pub name: Option<String>,
    pub text: String,
    /// The provider's id for the message: the same id twice is one contact.
    pub message_id: String,
}

/// A provider's report on a message Muster sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub provider_id: String,
    pub status: OutboundStatus,
    /// The provider's reason, for a failure.
    pub error: Option<String>,
}

/// Compares two secrets in constant time (a timing difference would tell an attacker how
/// much of a forged token or signature was right).
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
