//! One outgoing message, as stored in the queue (plain data, serialisable) and as built
//! for the wire: multipart/alternative, UTF-8 headers, stable Message-ID, and the
//! auto-reply and one-click unsubscribe headers the standards ask for.

use lettre::Message;
use lettre::address::Envelope;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use serde::{Deserialize, Serialize};

use crate::body::encoded;

/// One outgoing message. `A` holds its addresses: as text in an [`OutgoingMessage`], what
/// the queue stores, or parsed in a [`ParsedMessage`], what the campaign dispatcher fills
/// in (its sender parsed once per campaign rather than once per recipient).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageParts<A> {
    /// As text, `Name <address>` or a bare address.
    pub from: A,
    pub to: A,
    pub reply_to: Option<A>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// Without angle brackets, e.g. `case-MX-7K3Q9P-1@muster.example.com`. The same message
    /// always keeps the same id, so a re-send after a crash is recognisable as a duplicate.
    pub message_id: String,
    /// The message this one answers (the customer's), without angle brackets.
    pub in_reply_to: Option<String>,
    /// The thread's Message-IDs, oldest first, without angle brackets (RFC 5322 3.6.4);
    /// empty means just `in_reply_to`.
    #[serde(default)]
    pub references: Vec<String>,
    /// The envelope sender (`MAIL FROM`), where bounces go: a VERP address naming this
    /// message (`bounce+c42@…`), or the From address when `None`.
    #[serde(default)]
    pub return_path: Option<String>,
    /// RFC 3834: marks automatic replies so other robots do not answer them.
    pub auto_submitted: bool,
    /// RFC 8058 one-click unsubscribe address (HTTPS), if the message is a bulk one.
    pub list_unsubscribe: Option<String>,
}

pub type OutgoingMessage = MessageParts<String>;
pub type ParsedMessage = MessageParts<Mailbox>;

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("\"{address}\" is not a mail address: {reason}")]
    Address { address: String, reason: String },
    #[error(
        "the {header} cannot go in a mail header: it contains a line break or another control character"
    )]
    ControlCharacter { header: &'static str },
    #[error("the message could not be built: {0}")]
    Build(String),
}

/// Header text must be one line: lettre panics on a line break in a display name, and a
/// line break elsewhere could add headers of its own (`Bcc:`). Such data fails its message.
fn one_line(header: &'static str, value: &str) -> Result<(), MessageError> {
    match value.chars().any(char::is_control) {
        true => Err(MessageError::ControlCharacter { header }),
        false => Ok(()),
    }
}

pub(crate) fn mailbox(raw: &str) -> Result<Mailbox, MessageError> {
    raw.parse()
        .map_err(|e: lettre::address::AddressError| MessageError::Address {
            address: raw.to_owned(),
            reason: e.to_string(),
        })
}

fn raw(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

impl OutgoingMessage {
    /// The wire form. Text and HTML go as multipart/alternative, text first (RFC 2046).
    pub fn build(&self) -> Result<Message, MessageError> {
        ParsedMessage {
            from: mailbox(&self.from)?,
            to: mailbox(&self.to)?,
            reply_to: self.reply_to.as_deref().map(mailbox).transpose()?,
            subject: self.subject.clone(),
            text: self.text.clone(),
            html: self.html.clone(),
            message_id: self.message_id.clone(),
            in_reply_to: self.in_reply_to.clone(),
            references: self.references.clone(),
            return_path: self.return_path.clone(),
            auto_submitted: self.auto_submitted,
            list_unsubscribe: self.list_unsubscribe.clone(),
        }
        .build()
    }
}

impl ParsedMessage {
    /// See [`OutgoingMessage::build`].
    pub fn build(self) -> Result<Message, MessageError> {
        let names = [
            ("sender's name", self.from.name.as_deref()),
            ("recipient's name", self.to.name.as_deref()),
            (
                "reply-to name",
                self.reply_to.as_ref().and_then(|r| r.name.as_deref()),
            ),
        ];
        for (header, name) in names {
            one_line(header, name.unwrap_or_default())?;
        }
        one_line("subject", &self.subject)?;
        one_line("Message-ID", &self.message_id)?;
        one_line(
            "In-Reply-To",
            self.in_reply_to.as_deref().unwrap_or_default(),
        )?;
        for id in &self.references {
            one_line("References", id)?;
        }
        one_line(
            "return path",
            self.return_path.as_deref().unwrap_or_default(),
        )?;
        one_line(
            "unsubscribe address",
            self.list_unsubscribe.as_deref().unwrap_or_default(),
        )?;
        // Given here, so that lettre does not parse it back out of the headers just written.
        let sender = match &self.return_path {
            Some(path) => mailbox(path)?.email,
            None => self.from.email.clone(),
        };
        let envelope = Envelope::new(Some(sender), vec![self.to.email.clone()])
            .map_err(|e| MessageError::Build(e.to_string()))?;
        let mut builder = Message::builder()
            .envelope(envelope)
            .from(self.from)
            .to(self.to)
            .subject(self.subject)
            .message_id(Some(format!("<{}>", self.message_id)));
        if let Some(reply_to) = self.reply_to {
            builder = builder.reply_to(reply_to);
        }
        if let Some(parent) = &self.in_reply_to {
            let thread = match self.references.is_empty() {
                true => format!("<{parent}>"),
                false => self
                    .references
                    .iter()
                    .map(|id| format!("<{id}>"))
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            builder = builder
                .in_reply_to(format!("<{parent}>"))
                .references(thread);
        }
        if self.auto_submitted {
            builder = builder.raw_header(raw("Auto-Submitted", "auto-replied".to_owned()));
        }
        if let Some(url) = &self.list_unsubscribe {
            builder = builder
                .raw_header(raw("List-Unsubscribe", format!("<{url}>")))
                .raw_header(raw(
                    "List-Unsubscribe-Post",
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(encoded(&self.text));
        let built = match &self.html {
            Some(html) => builder.multipart(
                MultiPart::alternative().singlepart(text).singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(encoded(html)),
                ),
            ),
            None => builder.singlepart(text),
        };
        built.map_err(|e| MessageError::Build(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> OutgoingMessage {
        OutgoingMessage {
            from: "Ferries <crisis@example.com>".into(),
            to: "Kari Nordmann <kari@example.no>".into(),
            reply_to: Some("case+MX-7K3Q9P@example.com".into()),
            subject: "Vi har mottatt forespørselen din – MX-7K3Q9P".into(),
            text: "Hei Kari".into(),
            html: Some("<p>Hei Kari</p>".into()),
            message_id: "case-MX-7K3Q9P-ack@example.com".into(),
            in_reply_to: None,
            references: Vec::new(),
            return_path: None,
            auto_submitted: true,
            list_unsubscribe: Some("https://example.com/u/abc".into()),
        }
    }

    #[test]
    fn builds_the_headers_the_standards_ask_for() {
        let wire = sample()
            .build()
            .map(|m| String::from_utf8_lossy(&m.formatted()).into_owned());
        let wire = wire.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            wire.contains("Message-ID: <case-MX-7K3Q9P-ack@example.com>"),
            "{wire}"
        );
        assert!(wire.contains("Auto-Submitted: auto-replied"), "{wire}");
        assert!(
            wire.contains("List-Unsubscribe: <https://example.com/u/abc>"),
            "{wire}"
        );
        assert!(
            wire.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{wire}"
        );
        assert!(wire.contains("multipart/alternative"), "{wire}");
        let headers = wire.split("\r\n\r\n").next().unwrap_or_default();
        assert!(
            headers.is_ascii(),
            "non-ASCII headers are encoded: {headers}"
        );
        assert!(headers.contains("=?utf-8?b?"), "{headers}");
    }

    #[test]
    fn a_line_break_in_a_name_or_subject_fails_the_message_without_a_panic() {
        let outgoing = sample();
        let address = "eve@example.com".parse().unwrap_or_else(|e| panic!("{e}"));
        let message = ParsedMessage {
            from: mailbox(&outgoing.from).unwrap_or_else(|e| panic!("{e}")),
            to: Mailbox::new(Some("Eve\r\nBcc: evil@attacker.example".into()), address),
            reply_to: None,
            subject: outgoing.subject.clone(),
            text: outgoing.text.clone(),
            html: None,
            message_id: outgoing.message_id.clone(),
            in_reply_to: None,
            references: Vec::new(),
            return_path: None,
            auto_submitted: false,
            list_unsubscribe: None,
        };
        let built = std::panic::catch_unwind(|| message.build());
        assert!(
            matches!(
                built,
                Ok(Err(MessageError::ControlCharacter {
                    header: "recipient's name"
                }))
            ),
            "{built:?}"
        );
        let mut message = sample();
        message.subject = "Your trip\r\nBcc: evil@attacker.example".into();
        assert!(matches!(
            message.build(),
            Err(MessageError::ControlCharacter { header: "subject" })
        ));
    }

    #[test]
    fn a_threaded_message_names_its_thread_and_its_return_path() {
        let mut message = sample();
        message.in_reply_to = Some("m2@customer.example".into());
        message.references = vec!["m1@customer.example".into(), "m2@customer.example".into()];
        message.return_path = Some("bounce+r7@bounces.example.com".into());
        let built = message.build().unwrap_or_else(|e| panic!("{e}"));
        let wire = String::from_utf8_lossy(&built.formatted()).into_owned();
        assert!(
            wire.contains("In-Reply-To: <m2@customer.example>"),
            "{wire}"
        );
        assert!(
            wire.contains("References: <m1@customer.example> <m2@customer.example>"),
            "{wire}"
        );
        assert_eq!(
            built.envelope().from().map(ToString::to_string),
            Some("bounce+r7@bounces.example.com".to_owned())
        );
    }

    #[test]
    fn refuses_bad_addresses() {
        let mut message = sample();
        message.to = "not an address".into();
        assert!(matches!(message.build(), Err(MessageError::Address { .. })));
    }
}
