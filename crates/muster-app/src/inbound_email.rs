//! An email arriving through any door (the signed webhook, an IMAP mailbox, the SMTP door)
//! becomes a case, or a contact on the case it answers: one reading of the raw message,
//! whichever door it came through.

use mail_parser::{HeaderValue, Message, MessageParser};
use muster_core::case_ref::CaseRef;
use muster_core::contact_info::EmailAddress;
use muster_core::inbound_text::{find_booking_ref, find_departure_date, guess_request_type};
use muster_core::incident::{ChannelKind, Incident};
use muster_core::intake::MESSAGE_MAX;
use muster_core::language::Lang;
use muster_core::mail_feedback::Report;
use muster_core::mail_thread::find_reference;
use muster_core::text_rule::{strip_controls, strip_to_one_line};
use muster_store::cases::{Intake, Receipt};
use muster_store::mail_feedback::FeedbackOutcome;
use muster_store::mail_thread::{META_MESSAGE_ID, META_SUBJECT};
use muster_store::tokens::random_token;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::intake::{Arrival, contact_key};
use crate::{App, AppError, AppResult};

/// What became of one email. Each door matches on it, so a new kind of outcome (delivery
/// reports and complaints, which are never cases) shows every door that must handle it.
#[derive(Debug)]
pub enum EmailOutcome {
    /// A case was opened or joined, or this very message had been taken in before.
    Taken(Box<TakenIn>),
    /// A bounce or a complaint about our mail: recorded, never a case.
    Report(Report, FeedbackOutcome),
}

#[derive(Debug)]
pub struct TakenIn {
    pub receipt: Receipt,
    /// The customer's token for the case links.
    pub token: String,
    /// The language the customer is answered in.
    pub lang: Lang,
    /// Robots, bounces and mailing lists get no automatic reply.
    pub may_auto_reply: bool,
}

/// What the intake understood of one message.
struct ReadEmail {
    intake: Intake,
    /// The case this message answers, when it is a reply to one of ours.
    thread: Option<CaseRef>,
    may_auto_reply: bool,
}

impl App {
    /// Takes the raw RFC 5322 message `raw` in on `incident`'s email channel. A message
    /// that cannot be read is `AppError::Unreadable`, with the reason, and nothing is
    /// written; the same message taken in again (a retried webhook, a second replica
    /// fetching the same mailbox) is a replay of the first outcome.
    pub async fn take_in_email(&self, incident: &Incident, raw: &[u8]) -> AppResult<EmailOutcome> {
        let message = MessageParser::default()
            .parse(raw)
            .ok_or_else(|| AppError::Unreadable("the body is not an RFC 5322 message".into()))?;
        // Delivery reports (RFC 3464) and complaints (RFC 5965) about our own mail are told
        // apart here, before intake, and answered with their own outcome.
        if let Some(report) = muster_mail::feedback::read_report(raw) {
            let outcome = self.take_in_report(&report).await?;
            return Ok(EmailOutcome::Report(report, outcome));
        }
        let mut read = self.read_email(incident, &message, raw)?;
        let mut threaded_case = None;
        if let Some(reference) = &read.thread
            && let Some(case) = self.store.case_by_reference(reference).await?
            && case.incident_id == incident.id
        {
            read.intake.into_case = Some(case.id);
            threaded_case = Some(case);
        } else if let Some(email) = &read.intake.email
            && let Some(case_id) = self.store.case_of_address(incident.id, email).await?
        {
            // Another address the customer wrote from before finds their case again.
            read.intake.into_case = Some(case_id);
        }
        let sender = read.intake.email.clone();
        let token = random_token();
        let lang = Lang::parse(&read.intake.language)
            .unwrap_or_else(|_| incident.default_language.clone());
        let arrival = Arrival {
            contact_key: contact_key(read.intake.external_id.as_deref().unwrap_or("")),
            intake: read.intake,
            token: token.clone(),
            acknowledge_by_email: read.may_auto_reply && read.thread.is_none(),
        };
        let receipt = self.take_in(incident, ChannelKind::Email, arrival).await?;
        if let (Some(case), Some(sender)) = (&threaded_case, sender)
            && case.email.as_deref() != Some(sender.as_str())
        {
            // An answer from another of the customer's addresses: that address is theirs too.
            self.store
                .add_case_address(case.id, incident.id, &sender)
                .await?;
        }
        Ok(EmailOutcome::Taken(Box::new(TakenIn {
            receipt,
            token,
            lang,
            may_auto_reply: read.may_auto_reply,
        })))
    }

    /// The incident an email door delivers to: the one it names, else the current crisis.
    pub async fn email_incident(&self, slug: Option<&str>) -> AppResult<Incident> {
        let slug = match slug {
            Some(slug) => slug.to_owned(),
            None => self.store.current_crisis_slug().await?.ok_or_else(|| {
                AppError::NotFound("an active incident to take email in on".into())
            })?,
        };
        match self.store.incident_by_slug(&slug).await? {
            Some(incident) if incident.status.is_public() => Ok(incident),
            _ => Err(AppError::NotFound(format!(
                "the public incident \"{slug}\""
            ))),
        }
    }

    fn read_email(
        &self,
        incident: &Incident,
        message: &Message<'_>,
        raw: &[u8],
    ) -> AppResult<ReadEmail> {
        let from = message
            .from()
            .and_then(|f| f.first())
            .ok_or_else(|| AppError::Unreadable("the message has no From address".into()))?;
        let address = from
            .address()
            .and_then(|a| EmailAddress::parse(a).ok())
            .ok_or_else(|| {
                AppError::Unreadable("the From address is not a valid email address".into())
            })?;
        // A decoded body cannot be sent back to be fixed: what nobody can read is dropped.
        let subject = strip_to_one_line(message.subject().unwrap_or(""));
        let text = message
            .body_text(0)
            .map(|t| strip_controls(&t).into_owned())
            .unwrap_or_default();
        let body = if subject.is_empty() {
            text
        } else {
            format!("{subject}\n\n{text}")
        };
        let external_id = message
            .message_id()
            .map(strip_to_one_line)
            .unwrap_or_else(|| hex::encode(Sha256::digest(raw)));
        let mut language = incident.default_language.as_str().to_owned();
        if let Some(lang) = message
            .header_raw("Content-Language")
            .and_then(|l| Lang::parse(l).ok())
        {
            language = incident.pick_language(Some(&lang)).as_str().to_owned();
        }
        let booking_ref =
            find_booking_ref(&self.settings.booking_pattern, &body).map(|b| b.as_str().to_owned());
        let departure_date = find_departure_date(&body, incident.today(self.now()));
        let intake = Intake {
            incident_id: incident.id,
            channel: ChannelKind::Email,
            customer_name: from
                .name()
                .map(strip_to_one_line)
                .unwrap_or_else(|| address.as_str().to_owned()),
            email: Some(address.as_str().to_owned()),
            phone: None,
            booking_ref,
            handle: None,
            departure_date,
            trip: muster_core::trip::find_trip(&body).map(|t| t.as_str().to_owned()),
            request_type: guess_request_type(&body).to_owned(),
            team: None,
            language,
            body: body.chars().take(MESSAGE_MAX).collect(),
            external_id: Some(format!("email:{external_id}")),
            into_case: None,
            // What an answer needs to reply to this message in the customer's thread.
            meta: json!({
                META_MESSAGE_ID: message.message_id().map(strip_to_one_line),
                META_SUBJECT: subject,
            }),
        };
        Ok(ReadEmail {
            intake,
            thread: threaded_reference(message),
            may_auto_reply: !is_automatic(message),
        })
    }
}

/// Whether `err`, from [`App::take_in_email`], is the message's own fault (it is kept
/// aside, and those behind it go on) rather than one of the database or the mail queue,
/// which may pass (a locked or restarting database), so the same message is tried again.
pub fn is_the_message_at_fault(err: &AppError) -> bool {
    !matches!(
        err,
        AppError::Store(_) | AppError::MailUnavailable | AppError::Publish(_)
    )
}

/// Auto-replies, bounces and list mail (RFC 3834's signs), which must not be answered.
fn is_automatic(message: &Message<'_>) -> bool {
    let text_header = |name: &str| {
        message
            .header(name)
            .and_then(|h| match h {
                HeaderValue::Text(t) => Some(t.to_lowercase()),
                HeaderValue::Address(_) => Some(String::new()),
                _ => None,
            })
            .unwrap_or_default()
    };
    let auto_submitted = text_header("Auto-Submitted");
    let precedence = text_header("Precedence");
    let return_path = message.header_raw("Return-Path").map(str::trim);
    let sender = message
        .from()
        .and_then(|f| f.first())
        .and_then(|a| a.address())
        .unwrap_or("")
        .to_lowercase();
    (!auto_submitted.is_empty() && auto_submitted != "no")
        || matches!(precedence.as_str(), "bulk" | "junk" | "list" | "auto_reply")
        || message.header("List-Id").is_some()
        || return_path == Some("<>")
        || sender.starts_with("mailer-daemon@")
        || sender.starts_with("postmaster@")
}

/// The case an email answers: our Message-IDs (`reply.{n}.MX-…@`) in In-Reply-To or
/// References, the case's address (`support+MX-…@`, any letter case) among the
/// recipients, or the reference in the subject (`Re: … [MX-…]`).
fn threaded_reference(message: &Message<'_>) -> Option<CaseRef> {
    let subject = message.subject().map(str::to_owned);
    [
        "In-Reply-To",
        "References",
        "To",
        "Cc",
        "Delivered-To",
        "X-Original-To",
    ]
    .iter()
    .filter_map(|name| message.header_raw(*name).map(str::to_owned))
    .chain(subject)
    .find_map(|text| find_reference(&text))
}

#[cfg(test)]
mod tests {
    use mail_parser::MessageParser;
    use proptest::prelude::*;

    use super::{is_automatic, threaded_reference};

    #[test]
    fn robots_and_threads_are_recognised() {
        let parse = |raw: &str| {
            MessageParser::default().parse(raw.as_bytes()).map(|m| {
                (
                    is_automatic(&m),
                    threaded_reference(&m).map(|r| r.to_string()),
                )
            })
        };
        assert_eq!(
            parse("From: a@b.no\r\nAuto-Submitted: auto-replied\r\n\r\nx"),
            Some((true, None))
        );
        assert_eq!(
            parse("From: a@b.no\r\nAuto-Submitted: no\r\n\r\nx"),
            Some((false, None))
        );
        assert_eq!(
            parse("From: MAILER-DAEMON@b.no\r\n\r\nx"),
            Some((true, None))
        );
        assert_eq!(
            parse("From: a@b.no\r\nIn-Reply-To: <reply.7.MX-7K3Q9P@example.com>\r\n\r\nx"),
            Some((false, Some("MX-7K3Q9P".to_owned())))
        );
        assert_eq!(
            parse("From: a@b.no\r\nTo: crisis+mx-7k3q9p@example.com\r\n\r\nx").and_then(|p| p.1),
            Some("MX-7K3Q9P".to_owned())
        );
        assert_eq!(
            parse("From: a@b.no\r\nSubject: Re: Our cruise [MX-7K3Q9P]\r\n\r\nx").and_then(|p| p.1),
            Some("MX-7K3Q9P".to_owned())
        );
    }

    proptest! {
        /// Whatever arrives as an email, reading it never panics.
        #[test]
        fn any_bytes_are_read_without_panicking(raw in proptest::collection::vec(any::<u8>(), 0..2000)) {
            if let Some(message) = MessageParser::default().parse(&raw) {
                let _ = is_automatic(&message);
                let _ = threaded_reference(&message);
                let _ = message.body_text(0);
            }
        }

        #[test]
        fn headers_of_any_text_are_read_without_panicking(headers in "[ -~\r\n]{0,400}", body in "\\PC{0,200}") {
            let raw = format!("{headers}\r\n\r\n{body}");
            if let Some(message) = MessageParser::default().parse(raw.as_bytes()) {
                let _ = is_automatic(&message);
                let _ = threaded_reference(&message);
            }
        }
    }
}
