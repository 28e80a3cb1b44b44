//! A message through the door is committed before it is acknowledged: taken in as a case
//! (or a bounce, or a complaint) through the one intake use case, or kept in the quarantine
//! when it cannot be read. Only a database that is away answers 451, so the sender keeps
//! the message and tries again; a retry of a message already taken in is a replay.
//!
//! One message for several of our recipients is one message: taken in once (its
//! Message-ID is the contact's key), one case, with every recipient named in its headers.

use muster_app::AppError;
use muster_app::inbound_email::{EmailOutcome, is_the_message_at_fault};
use muster_store::quarantine::NewQuarantined;
use sha2::{Digest, Sha256};

use super::Door;

/// The envelope of the message under way.
#[derive(Debug, Default)]
pub struct Envelope {
    /// The reverse path; empty for a bounce (`MAIL FROM:<>`).
    pub from: Option<String>,
    pub recipients: Vec<String>,
}

/// The reply that ends DATA: code, enhanced status, text.
pub type Reply = (u16, [u8; 3], String);

fn try_again(text: &str) -> Reply {
    (451, [4, 3, 0], format!("{text}; try again later"))
}

/// Takes `message` in and says how it went.
pub async fn deliver(door: &Door, envelope: &Envelope, message: &[u8]) -> Reply {
    let incident = match door
        .app
        .email_incident(door.settings.incident.as_deref())
        .await
    {
        Ok(incident) => incident,
        Err(err) => {
            tracing::warn!(error = %err, "SMTP door: no incident to take the message in on");
            return try_again("No incident is open to take mail in");
        }
    };
    let raw = with_envelope(envelope, message);
    match door.app.take_in_email(&incident, &raw).await {
        Ok(EmailOutcome::Taken(taken)) => {
            let reference = &taken.receipt.case.reference;
            tracing::info!(%reference, outcome = ?taken.receipt.outcome, "SMTP door: message taken in");
            (250, [2, 0, 0], format!("OK {reference}"))
        }
        Ok(EmailOutcome::Report(report, _)) => {
            tracing::info!(kind = ?report.kind, "SMTP door: delivery report recorded");
            (250, [2, 0, 0], "OK report recorded".to_owned())
        }
        Err(err) if is_the_message_at_fault(&err) => {
            quarantine(door, incident.id, &raw, &err).await
        }
        Err(err) => {
            tracing::warn!(error = %err, "SMTP door: the message could not be committed");
            try_again("The message could not be stored")
        }
    }
}

/// Keeps a message that cannot be read, for a person to see and try again: accepted, so
/// the sender is not sent a bounce for what a person can still read.
async fn quarantine(door: &Door, incident_id: i64, raw: &[u8], err: &AppError) -> Reply {
    let source_key = format!("smtp:{}", hex::encode(Sha256::digest(raw)));
    let kept = door
        .app
        .store
        .quarantine_email(NewQuarantined {
            source: "SMTP door",
            source_key: &source_key,
            incident_id,
            raw,
            error: &err.to_string(),
        })
        .await;
    match kept {
        Ok(()) => {
            tracing::warn!(error = %err, "SMTP door: message quarantined");
            (250, [2, 0, 0], "OK kept for review".to_owned())
        }
        Err(err) => {
            tracing::warn!(error = %err, "SMTP door: the message could not be quarantined");
            try_again("The message could not be stored")
        }
    }
}

/// The message as a final delivery agent hands it on: the reverse path as `Return-Path`
/// (an empty one marks a bounce) and each envelope recipient as `X-Original-To`, which
/// threads a message sent to a case's own address and names a bounce's VERP address.
fn with_envelope(envelope: &Envelope, message: &[u8]) -> Vec<u8> {
    let clean = |address: &str| -> String {
        address
            .chars()
            .filter(|c| !c.is_control() && !matches!(c, '<' | '>'))
            .collect()
    };
    let mut raw = Vec::with_capacity(message.len() + 128);
    let from = clean(envelope.from.as_deref().unwrap_or(""));
    raw.extend_from_slice(format!("Return-Path: <{from}>\r\n").as_bytes());
    for recipient in &envelope.recipients {
        raw.extend_from_slice(format!("X-Original-To: {}\r\n", clean(recipient)).as_bytes());
    }
    raw.extend_from_slice(message);
    raw
}

#[cfg(test)]
mod tests {
    use super::{Envelope, with_envelope};

    #[test]
    fn the_envelope_goes_before_the_headers_and_cannot_add_any() {
        let envelope = Envelope {
            from: Some("bad\r\nBcc: x@y.z".to_owned()),
            recipients: vec!["support+MX-7K3Q9P@example.com".to_owned()],
        };
        let raw = with_envelope(&envelope, b"From: a@b.no\r\n\r\nHi\r\n");
        assert_eq!(
            String::from_utf8_lossy(&raw),
            "Return-Path: <badBcc: x@y.z>\r\nX-Original-To: support+MX-7K3Q9P@example.com\r\nFrom: a@b.no\r\n\r\nHi\r\n"
        );
        let bounce = with_envelope(&Envelope::default(), b"From: MAILER-DAEMON@b.no\r\n\r\n");
        assert!(bounce.starts_with(b"Return-Path: <>\r\n"));
    }
}
