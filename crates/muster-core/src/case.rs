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
    pub created_at: OffsetDateTime,
    pub first_response_at: Option<OffsetDateTime>,
    pub resolved_at: Option<OffsetDateTime>,
    /// The agent holding the case, while their lease runs.
    pub claimed_by: Option<i64>,
    pub lease_until: Option<OffsetDateTime>,
    /// When the case first missed its first-response target.
    pub overdue_at: Option<OffsetDateTime>,
    /// The case this one was merged into, if any.
    pub merged_into: Option<String>,
}
