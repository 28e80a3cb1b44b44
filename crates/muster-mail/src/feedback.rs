//! Reading what the mail system sends back: delivery status notifications (RFC 3464,
//! `multipart/report; report-type=delivery-status`) and abuse reports (RFC 5965 ARF,
//! `report-type=feedback-report`).
//!
//! Both are parsed here with `mail-parser` (already used for inbound mail): no kept crate
//! parses DSNs, and `mail-auth`, which parses ARF, needs a DNS resolver (hickory) in every
//! build we could use (0.11–0.13: about a hundred more crates; 0.14 and later need a newer
//! Rust than this workspace's). The report parts are plain `Name: value` blocks.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use muster_core::mail_feedback::{FeedbackKind, Report, ReportedRecipient, ReturnTag};
use sha2::Digest;

/// Longest reason kept from a report.
const DETAIL_MAX: usize = 500;

/// The report in `raw`, if it is a bounce or a complaint; `None` for any other message.
pub fn read_report(raw: &[u8]) -> Option<Report> {
    let message = MessageParser::default().parse(raw)?;
    let (kind, fields) = report_part(&message)?;
    let blocks = field_blocks(&fields);
    let returned = returned_headers(&message);
    let report_id = message
        .message_id()
        .map(str::to_owned)
        .unwrap_or_else(|| hex::encode(sha2::Sha256::digest(raw)));
    let original_message_id = returned
        .as_ref()
        .and_then(|r| r.message_id().map(str::to_owned));
    let tag = return_tag(&message, &blocks, returned.as_ref());
    let recipients = match kind {
        FeedbackKind::Bounce => blocks.iter().skip(1).filter_map(|b| bounced(b)).collect(),
        FeedbackKind::Complaint => complained(&blocks, returned.as_ref()),
    };
    Some(Report {
        kind,
        report_id,
        tag,
        original_message_id,
        recipients,
    })
}

/// The machine-readable part and what kind of report it makes.
fn report_part(message: &Message<'_>) -> Option<(FeedbackKind, String)> {
    message.parts.iter().find_map(|part| {
        let content_type = part.content_type()?;
        if !content_type.ctype().eq_ignore_ascii_case("message") {
            return None;
        }
        let kind = match content_type.subtype()?.to_ascii_lowercase().as_str() {
            "delivery-status" | "global-delivery-status" => FeedbackKind::Bounce,
            "feedback-report" => FeedbackKind::Complaint,
            _ => return None,
        };
        Some((kind, String::from_utf8_lossy(part.contents()).into_owned()))
    })
}

/// `Name: value` fields in blank-line separated blocks, folded lines unfolded, names lowercased.
fn field_blocks(text: &str) -> Vec<Vec<(String, String)>> {
    let mut blocks: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for line in text.lines() {
        if line.trim().is_empty() {
            if blocks.last().is_some_and(|b| !b.is_empty()) {
                blocks.push(Vec::new());
            }
            continue;
        }
        let Some(block) = blocks.last_mut() else {
            continue;
        };
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = block.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            block.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    blocks.retain(|b| !b.is_empty());
    blocks
}

fn field<'a>(block: &'a [(String, String)], name: &str) -> Option<&'a str> {
    block
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// `rfc822; kari@example.no` is `kari@example.no`.
fn typed_address(value: &str) -> String {
    let address = value.split_once(';').map_or(value, |(_, a)| a);
    address
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_lowercase()
}

fn clipped(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(DETAIL_MAX)
        .collect()
}

fn bounced(block: &[(String, String)]) -> Option<ReportedRecipient> {
    let email = field(block, "final-recipient").or_else(|| field(block, "original-recipient"))?;
    let detail = field(block, "diagnostic-code").map_or("", |d| {
        // `smtp; 550 5.1.1 …` and `X-Postfix; unknown user`: the text after the type.
        d.split_once(';').map_or(d, |(_, text)| text).trim()
    });
    Some(ReportedRecipient {
        email: typed_address(email),
        action: field(block, "action").unwrap_or("").to_ascii_lowercase(),
        status: field(block, "status")
            .unwrap_or("")
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_owned(),
        detail: clipped(detail),
    })
}

fn complained(
    blocks: &[Vec<(String, String)>],
    returned: Option<&Message<'_>>,
) -> Vec<ReportedRecipient> {
    let fields: &[(String, String)] = blocks.first().map_or(&[], Vec::as_slice);
    let feedback_type = field(fields, "feedback-type")
        .unwrap_or("abuse")
        .to_ascii_lowercase();
    let detail = clipped(field(fields, "user-agent").unwrap_or(""));
    let mut emails: Vec<String> = fields
        .iter()
        .filter(|(n, _)| n == "original-rcpt-to")
        .map(|(_, v)| typed_address(v))
        .collect();
    if emails.is_empty() {
        // Without Original-Rcpt-To, the returned copy's To says whom it was sent to.
        emails.extend(
            returned
                .and_then(|m| m.to())
                .into_iter()
                .flat_map(|to| to.iter())
                .filter_map(|a| a.address())
                .map(str::to_lowercase),
        );
    }
    emails
        .into_iter()
        .map(|email| ReportedRecipient {
            email,
            action: feedback_type.clone(),
            status: String::new(),
            detail: detail.clone(),
        })
        .collect()
}

/// The headers of our message as the report returns them: the whole message
/// (`message/rfc822`) or its headers (`text/rfc822-headers`).
fn returned_headers<'a>(message: &'a Message<'a>) -> Option<Message<'a>> {
    message.parts.iter().find_map(|part| {
        if let PartType::Message(inner) = &part.body {
            return Some(inner.clone());
        }
        let content_type = part.content_type()?;
        let headers_only = content_type.ctype().eq_ignore_ascii_case("text")
            && content_type
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers"));
        headers_only.then(|| MessageParser::default().parse(part.contents()))?
    })
}

/// The return path the report was sent to, if it is one of ours: where the report itself
/// was delivered, the sender it names, or the Return-Path of the copy it returns.
fn return_tag(
    message: &Message<'_>,
    blocks: &[Vec<(String, String)>],
    returned: Option<&Message<'_>>,
) -> Option<ReturnTag> {
    let per_message: &[(String, String)] = blocks.first().map_or(&[], Vec::as_slice);
    let in_report = [
        "x-postfix-sender",
        "original-mail-from",
        "original-envelope-id",
    ]
    .into_iter()
    .filter_map(|name| field(per_message, name))
    .map(typed_address);
    let delivered = ["Delivered-To", "X-Original-To", "Envelope-To", "To"]
        .into_iter()
        .filter_map(|name| message.header_raw(name))
        .map(|raw| {
            raw.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        });
    let returned_path = returned
        .and_then(|m| m.header_raw("Return-Path"))
        .map(str::to_owned);
    delivered
        .chain(in_report)
        .chain(returned_path)
        .find_map(|address| ReturnTag::from_address(&address))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../../tests/mail/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Captured from Postfix 3.7 (a private instance, `tests/e2e/bounces.rs` runs one): a
    /// campaign message to a local user that does not exist.
    #[test]
    fn a_postfix_bounce_names_the_delivery_its_status_and_why() {
        let report = read_report(&fixture("postfix-dsn-unknown-user.eml"));
        let report = report.unwrap_or_else(|| panic!("not read as a report"));
        assert_eq!(report.kind, FeedbackKind::Bounce);
        assert_eq!(report.tag, Some(ReturnTag::Delivery(7)));
        assert_eq!(
            report.original_message_id.as_deref(),
            Some("campaign.1.7@muster.test")
        );
        assert_eq!(
            report.report_id,
            "20261204021337.6EB72992014@mx.muster.test"
        );
        assert_eq!(
            report.recipients,
            vec![ReportedRecipient {
                email: "nosuchuser@customers.test".into(),
                action: "failed".into(),
                status: "5.1.1".into(),
                detail: "unknown user: \"nosuchuser\"".into(),
            }]
        );
        assert!(report.is_permanent(&report.recipients[0]));
    }

    /// Captured likewise: Postfix's warning about a message it is still retrying.
    #[test]
    fn a_delay_warning_is_transient() {
        let report = read_report(&fixture("postfix-dsn-delayed.eml"));
        let report = report.unwrap_or_else(|| panic!("not read as a report"));
        assert_eq!(report.tag, Some(ReturnTag::Delivery(8)));
        let recipient = &report.recipients[0];
        assert_eq!(
            (recipient.action.as_str(), recipient.status.as_str()),
            ("delayed", "4.4.1")
        );
        assert_eq!(
            recipient.detail,
            "connect to 127.0.0.1[127.0.0.1]:9: Connection refused"
        );
        assert!(!report.is_permanent(recipient));
    }

    /// The example of RFC 5965 section B.1, addressed to one of our return paths.
    #[test]
    fn an_arf_complaint_names_the_address_that_complained() {
        let raw = "From: <abusedesk@example.com>\r\n\
            Date: Thu, 8 Mar 2005 17:40:36 EDT\r\n\
            Subject: FW: Earn money\r\n\
            To: <bounce+c42@bounces.example.net>\r\n\
            Message-ID: <report-1@example.com>\r\n\
            MIME-Version: 1.0\r\n\
            Content-Type: multipart/report; report-type=feedback-report;\r\n\
            \tboundary=\"part1_13d.2e68ed54_boundary\"\r\n\
            \r\n\
            --part1_13d.2e68ed54_boundary\r\n\
            Content-Type: text/plain; charset=\"US-ASCII\"\r\n\
            \r\n\
            This is an email abuse report for an email message received from IP\r\n\
            192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.\r\n\
            \r\n\
            --part1_13d.2e68ed54_boundary\r\n\
            Content-Type: message/feedback-report\r\n\
            \r\n\
            Feedback-Type: abuse\r\n\
            User-Agent: SomeGenerator/1.0\r\n\
            Version: 1\r\n\
            Original-Mail-From: <bounce+c42@bounces.example.net>\r\n\
            Original-Rcpt-To: <User@example.com>\r\n\
            Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT\r\n\
            \r\n\
            --part1_13d.2e68ed54_boundary\r\n\
            Content-Type: message/rfc822\r\n\
            Content-Disposition: inline\r\n\
            \r\n\
            From: <crisis@example.net>\r\n\
            To: <User@example.com>\r\n\
            Subject: Update\r\n\
            Message-ID: <campaign-3-9@example.net>\r\n\
            \r\n\
            Hello\r\n\
            --part1_13d.2e68ed54_boundary--\r\n";
        let report = read_report(raw.as_bytes()).unwrap_or_else(|| panic!("not read"));
        assert_eq!(report.kind, FeedbackKind::Complaint);
        assert_eq!(report.tag, Some(ReturnTag::Delivery(42)));
        assert_eq!(
            report.original_message_id.as_deref(),
            Some("campaign-3-9@example.net")
        );
        assert_eq!(report.recipients.len(), 1);
        assert_eq!(report.recipients[0].email, "user@example.com");
        assert_eq!(report.recipients[0].action, "abuse");
        assert!(report.is_permanent(&report.recipients[0]));
    }

    #[test]
    fn an_ordinary_message_is_no_report() {
        let raw = b"From: kari@example.no\r\nSubject: Delivery status?\r\n\r\nAction: failed\r\n";
        assert_eq!(read_report(raw), None);
    }
}
