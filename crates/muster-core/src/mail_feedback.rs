//! What the mail system tells us after a message left: a bounce (an RFC 3464 delivery
//! status notification) or a complaint (an RFC 5965 abuse report), and the return path
//! (VERP) that says which of our messages it is about.

use serde::Serialize;

/// The local part every return path shares: `bounce+c42@bounces.example.com`.
const RETURN_LOCAL: &str = "bounce";

/// Which message a return path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ReturnTag {
    /// A campaign delivery, by its id.
    Delivery(i64),
    /// An agent's reply, by the id of its contact on the case.
    Reply(i64),
}

impl ReturnTag {
    /// The envelope sender (`MAIL FROM`) for this message in `domain`.
    pub fn address(self, domain: &str) -> String {
        match self {
            ReturnTag::Delivery(id) => format!("{RETURN_LOCAL}+c{id}@{domain}"),
            ReturnTag::Reply(id) => format!("{RETURN_LOCAL}+r{id}@{domain}"),
        }
    }

    /// The tag in an address we handed out (`bounce+c42@…`, any letter case), if it is one.
    pub fn from_address(address: &str) -> Option<Self> {
        let address = address.trim().trim_start_matches('<').trim_end_matches('>');
        let (local, _domain) = address.rsplit_once('@')?;
        let (base, tag) = local.split_once('+')?;
        if !base.eq_ignore_ascii_case(RETURN_LOCAL) {
            return None;
        }
        let kind = tag.chars().next()?.to_ascii_lowercase();
        let id: i64 = tag.get(1..)?.parse().ok()?;
        match kind {
            'c' => Some(ReturnTag::Delivery(id)),
            'r' => Some(ReturnTag::Reply(id)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKind {
    Bounce,
    Complaint,
}

impl FeedbackKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackKind::Bounce => "bounce",
            FeedbackKind::Complaint => "complaint",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "bounce" => Some(FeedbackKind::Bounce),
            "complaint" => Some(FeedbackKind::Complaint),
            _ => None,
        }
    }
}

/// One recipient a report is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportedRecipient {
    /// Lowercased address.
    pub email: String,
    /// A DSN's `Action` (`failed`, `delayed`, …); a complaint's `Feedback-Type` (`abuse`).
    pub action: String,
    /// A DSN's `Status` (`5.1.1`); empty for a complaint.
    pub status: String,
    /// The DSN's `Diagnostic-Code`, or the complaint's user agent: why, in the reporter's words.
    pub detail: String,
}

/// A bounce or a complaint, as read from the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub kind: FeedbackKind,
    /// The report's own Message-ID, so that the same report fetched twice counts once.
    pub report_id: String,
    /// From the return path the report was sent to, when it is one of ours.
    pub tag: Option<ReturnTag>,
    /// The Message-ID of our message, from the copy or headers the report returns.
    pub original_message_id: Option<String>,
    pub recipients: Vec<ReportedRecipient>,
}

impl Report {
    /// Whether this recipient's address can never receive our mail (a 5.x.x failure) or
    /// asked for none (any complaint). A delayed or 4.x.x report is left to the retries.
    pub fn is_permanent(&self, recipient: &ReportedRecipient) -> bool {
        match self.kind {
            FeedbackKind::Complaint => true,
            FeedbackKind::Bounce => {
                recipient.action.eq_ignore_ascii_case("failed") && recipient.status.starts_with('5')
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_name_their_message_and_are_read_back() {
        let address = ReturnTag::Delivery(42).address("bounces.example.com");
        assert_eq!(address, "bounce+c42@bounces.example.com");
        assert_eq!(
            ReturnTag::from_address(&address),
            Some(ReturnTag::Delivery(42))
        );
        assert_eq!(
            ReturnTag::from_address("<BOUNCE+R7@Example.com>"),
            Some(ReturnTag::Reply(7))
        );
        for other in [
            "crisis@example.com",
            "bounce+x1@e.com",
            "bounce+c@e.com",
            "x+c1@e.com",
        ] {
            assert_eq!(ReturnTag::from_address(other), None, "{other}");
        }
    }
}
