//! A case: one customer's request, whatever channel it came in on, and its contacts.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::case_ref::CaseRef;
use crate::incident::ChannelKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Open,
    WaitingOnCustomer,
    Resolved,
}

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::WaitingOnCustomer => "waiting_on_customer",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Open, Self::WaitingOnCustomer, Self::Resolved]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the customer.
    Inbound,
    /// To the customer (an agent's reply, an automatic acknowledgement).
    Outbound,
    /// An agent's internal note.
    Note,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
            Self::Note => "note",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Inbound, Self::Outbound, Self::Note]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    pub id: i64,
    pub direction: Direction,
    pub channel: ChannelKind,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Case {
    pub id: i64,
    pub incident_id: i64,
    pub reference: CaseRef,
    pub customer_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub booking_ref: Option<String>,
    pub handle: Option<String>,
    pub departure_date: Option<Date>,
    /// The sailing, flight or route the booking is on (`trip::Trip`), if known.
    pub trip: Option<String>,
    pub request_type: String,
    pub team: Option<String>,
    pub language: String,
    pub status: CaseStatus,
    pub channel: ChannelKind,
    pub contact_count: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub first_response_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    /// The agent holding the case, while their lease runs.
    pub claimed_by: Option<i64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub lease_until: Option<OffsetDateTime>,
    /// When the case first missed its first-response target.
    #[serde(with = "time::serde::rfc3339::option")]
    pub overdue_at: Option<OffsetDateTime>,
    /// The case this one was merged into, if any.
    pub merged_into: Option<String>,
    /// The open case whose identifier this one's writer gave without proving it was theirs.
    pub unverified_match: Option<UnverifiedMatch>,
}

/// A way of telling customers apart that two cases can share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identifier {
    Email,
    Phone,
    BookingRef,
    Handle,
}

impl Identifier {
    pub const ALL: [Identifier; 4] = [Self::Email, Self::Phone, Self::BookingRef, Self::Handle];

    /// Also the name of the case's column that holds it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
            Self::BookingRef => "booking_ref",
            Self::Handle => "handle",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.as_str() == raw)
    }

    /// The identifier a channel itself vouches for: the sender as the channel knows them
    /// (the address an email came from, the caller's number, the network's handle). The
    /// form vouches for nothing: everything on it is typed.
    pub fn vouched_by(channel: ChannelKind) -> Option<Self> {
        match channel {
            ChannelKind::Form => None,
            ChannelKind::Email => Some(Self::Email),
            // The carrier, or Meta, delivers the message from the number it names.
            ChannelKind::Phone | ChannelKind::Sms | ChannelKind::Whatsapp => Some(Self::Phone),
            // The network's own handle; a Telegram chat is `telegram:{chat_id}`.
            ChannelKind::Chat | ChannelKind::Social | ChannelKind::Telegram => Some(Self::Handle),
        }
    }

    /// The channels that vouch for this identifier: a contact joins a case any of them
    /// opened, so the same number by SMS, WhatsApp or a call is one customer.
    pub fn vouched_on(self) -> Vec<ChannelKind> {
        ChannelKind::ALL
            .into_iter()
            .filter(|c| Self::vouched_by(*c) == Some(self))
            .collect()
    }
}

/// A case opened by a writer who gave the identifier of another open case without its
/// case link: maybe the same customer, maybe a stranger. The writer got a case of their
/// own; the matched case shows the message, marked unverified, for an agent to merge or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnverifiedMatch {
    /// The matched case.
    pub reference: CaseRef,
    pub on: Identifier,
}
