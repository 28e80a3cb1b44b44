//! Twilio Programmable Messaging (SMS). In: Twilio POSTs each message to the number's
//! webhook, form-encoded, signed with `X-Twilio-Signature` (base64 HMAC-SHA1, keyed with the
//! account's auth token, over the full URL Twilio called followed by every POST parameter's
//! name and value in name order), and takes TwiML back. Out: `POST
//! {api}/2010-04-01/Accounts/{sid}/Messages.json` with basic auth, its `StatusCallback`
//! receiving the delivery states, signed the same way.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use muster_core::contact_info::PhoneNumber;
use muster_core::outbound::OutboundStatus;
use sha1::Sha1;

use crate::send::{SendError, send_json};
use crate::{InboundMessage, Sender, StatusReport, same_secret};

pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";
/// The answer to an inbound message: nothing to send back (the acknowledgement goes
/// through the outbox like every other message, so it is retried and tracked).
pub const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwilioError {
    #[error("Twilio is not configured (no auth token)")]
    NotConfigured,
    #[error("X-Twilio-Signature is missing")]
    NoSignature,
    #[error("X-Twilio-Signature does not match the request")]
    Mismatch,
    #[error("the request lacks {0}")]
    Missing(&'static str),
    #[error("From is not a phone number")]
    BadNumber,
    #[error("MessageStatus \"{0}\" is not one Twilio documents")]
    UnknownStatus(String),
}

/// The account Muster sends from.
#[derive(Clone)]
pub struct TwilioSms {
    pub account_sid: String,
    pub auth_token: String,
    /// The sending number in E.164, or a Messaging Service SID (`MG…`).
    pub from: String,
    /// `https://api.twilio.com`, or a stand-in's address.
    pub api_base: String,
}

/// Never print the auth token.
impl std::fmt::Debug for TwilioSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioSms")
            .field("account_sid", &self.account_sid)
            .field("from", &self.from)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

/// A form-encoded body as its name–value pairs.
pub fn form_params(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// The signature Twilio sends for a request to `url` with POST parameters `params`.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    // An HMAC takes a key of any length: this cannot fail.
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(auth_token.as_bytes()) else {
        return String::new();
    };
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks `header` (the `X-Twilio-Signature` value) for a request to `url`, the address
/// as Twilio called it (the public one, not the one behind a proxy).
pub fn verify(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> Result<(), TwilioError> {
    if auth_token.is_empty() {
        return Err(TwilioError::NotConfigured);
    }
    let given = header.ok_or(TwilioError::NoSignature)?.trim();
    let expected = signature(auth_token, url, params);
    if same_secret(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(TwilioError::Mismatch)
    }
}

fn param<'a>(params: &'a [(String, String)], name: &'static str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// An incoming SMS: `MessageSid`, `From`, `Body`.
pub fn read_message(params: &[(String, String)]) -> Result<InboundMessage, TwilioError> {
    let message_id = param(params, "MessageSid")
        .filter(|s| !s.is_empty())
        .ok_or(TwilioError::Missing("MessageSid"))?;
    let from = param(params, "From").ok_or(TwilioError::Missing("From"))?;
    let phone = PhoneNumber::parse(from).map_err(|_| TwilioError::BadNumber)?;
    Ok(InboundMessage {
        sender: Sender::Phone(phone),
        name: None,
        text: param(params, "Body").unwrap_or_default().to_owned(),
        message_id: message_id.to_owned(),
    })
}

/// A status callback: `MessageSid`, `MessageStatus`, and `ErrorCode` on a failure.
pub fn read_status(params: &[(String, String)]) -> Result<Option<StatusReport>, TwilioError> {
    let provider_id = param(params, "MessageSid").ok_or(TwilioError::Missing("MessageSid"))?;
    let raw = param(params, "MessageStatus").ok_or(TwilioError::Missing("MessageStatus"))?;
    let status = match raw {
        // Twilio's own steps before the carrier: nothing to show beyond "sent".
        "accepted" | "scheduled" | "queued" | "sending" => return Ok(None),
        "sent" => OutboundStatus::Sent,
        "delivered" => OutboundStatus::Delivered,
        "read" => OutboundStatus::Read,
        "undelivered" | "failed" | "canceled" => OutboundStatus::Failed,
        other => return Err(TwilioError::UnknownStatus(other.to_owned())),
    };
    let error = (status == OutboundStatus::Failed).then(|| {
        match (param(params, "ErrorCode"), param(params, "ErrorMessage")) {
            (Some(code), Some(message)) => format!("{raw}: Twilio error {code}: {message}"),
            (Some(code), None) => format!("{raw}: Twilio error {code}"),
            _ => raw.to_owned(),
        }
    });
    Ok(Some(StatusReport {
        provider_id: provider_id.to_owned(),
        status,
        error,
    }))
}

fn twilio_reason(body: &serde_json::Value) -> Option<String> {
    let message = body.get("message")?.as_str()?;
    Some(match body.get("code").and_then(|c| c.as_i64()) {
        Some(code) => format!("(Twilio error {code}) {message}"),
        None => message.to_owned(),
    })
}

impl TwilioSms {
    /// Sends `text` to `to`; Twilio reports its delivery to `status_callback`. Returns the
    /// message's SID (`SM…`).
    pub async fn send(
        &self,
        client: &reqwest::Client,
        to: &PhoneNumber,
        text: &str,
        status_callback: &str,
    ) -> Result<String, SendError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.api_base.trim_end_matches('/'),
            self.account_sid
        );
        let sender = if self.from.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        };
        let form = [
            ("To", to.as_str()),
            (sender, self.from.as_str()),
            ("Body", text),
            ("StatusCallback", status_callback),
        ];
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = client
            .post(url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        let answer = send_json(request, twilio_reason).await?;
        answer
            .get("sid")
            .and_then(|s| s.as_str())
            .map(str::to_owned)
            .ok_or_else(|| SendError::InDoubt("Twilio answered without a message SID".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Twilio's documented example ("Validating Requests are coming from Twilio"): auth token
    /// `12345`, this URL and these parameters give `0/KCTR6DLpKmkAf8muzZqo1nDgQ=`.
    #[test]
    fn matches_twilios_published_example() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params = pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(
            signature("12345", url, &params),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
        assert_eq!(
            verify("12345", url, &params, Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=")),
            Ok(())
        );
    }

    #[test]
    fn refuses_a_forged_changed_or_missing_signature() {
        let url = "https://status.example.com/api/v1/channels/twilio/sms";
        let params = pairs(&[
            ("MessageSid", "SM1"),
            ("From", "+4791234567"),
            ("Body", "hi"),
        ]);
        let good = signature("token", url, &params);
        assert_eq!(verify("token", url, &params, Some(&good)), Ok(()));
        assert_eq!(
            verify("other", url, &params, Some(&good)),
            Err(TwilioError::Mismatch)
        );
        let changed = pairs(&[
            ("MessageSid", "SM1"),
            ("From", "+4791234567"),
            ("Body", "ha"),
        ]);
        assert_eq!(
            verify("token", url, &changed, Some(&good)),
            Err(TwilioError::Mismatch)
        );
        // The address behind the proxy is not the one Twilio signed.
        assert_eq!(
            verify(
                "token",
                "http://127.0.0.1:8080/api/v1/channels/twilio/sms",
                &params,
                Some(&good)
            ),
            Err(TwilioError::Mismatch)
        );
        assert_eq!(
            verify("token", url, &params, None),
            Err(TwilioError::NoSignature)
        );
        assert_eq!(
            verify("", url, &params, Some(&good)),
            Err(TwilioError::NotConfigured)
        );
    }

    #[test]
    fn reads_a_message_and_its_status_callbacks() {
        let body = b"ToCountry=NO&SmsMessageSid=SM5a&NumMedia=0&MessageSid=SM5a&From=%2B4791234567&To=%2B4759440000&Body=Booking+AB1234%3F&AccountSid=AC1";
        let message = read_message(&form_params(body)).expect("a message");
        assert_eq!(message.message_id, "SM5a");
        assert_eq!(message.text, "Booking AB1234?");
        assert_eq!(
            message.sender,
            Sender::Phone(PhoneNumber::parse("+4791234567").expect("a number"))
        );
        let delivered = read_status(&pairs(&[
            ("MessageSid", "SM9"),
            ("MessageStatus", "delivered"),
        ]))
        .expect("a status");
        assert_eq!(delivered.map(|r| r.status), Some(OutboundStatus::Delivered));
        let failed = read_status(&pairs(&[
            ("MessageSid", "SM9"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
        ]))
        .expect("a status")
        .expect("a report");
        assert_eq!(failed.status, OutboundStatus::Failed);
        assert_eq!(
            failed.error.as_deref(),
            Some("undelivered: Twilio error 30003")
        );
        assert_eq!(
            read_status(&pairs(&[
                ("MessageSid", "SM9"),
                ("MessageStatus", "queued")
            ])),
            Ok(None)
        );
    }
}
