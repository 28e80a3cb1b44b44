//! The WhatsApp Business Cloud API. In: the app's webhook, verified once with a `GET`
//! (`hub.mode=subscribe`, `hub.verify_token`, answered with `hub.challenge`), then `POST`s
//! of `whatsapp_business_account` changes (customers' `messages`, and `statuses` of ours)
//! signed `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed with the
//! app secret>`. Out: `POST {api}/{version}/{phone_number_id}/messages` with the access
//! token as bearer. Free text is allowed only within 24 hours of the customer's last message
//! (`muster_core::outbound::WHATSAPP_WINDOW`); outside it, only an approved template.

use hmac::{Hmac, KeyInit, Mac};
use muster_core::contact_info::PhoneNumber;
use muster_core::outbound::{OutboundStatus, Template};
use serde::Deserialize;
use sha2::Sha256;

use crate::send::{SendError, send_json};
use crate::{InboundMessage, Sender, StatusReport, same_secret};

pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhatsappError {
    #[error("WhatsApp is not configured (no app secret or verify token)")]
    NotConfigured,
    #[error("X-Hub-Signature-256 is missing or not sha256=<hex>")]
    Malformed,
    #[error("X-Hub-Signature-256 does not match the body")]
    Mismatch,
    #[error("the verification request's hub.mode or hub.verify_token is wrong")]
    BadVerification,
    #[error("the notification is not valid JSON: {0}")]
    NotJson(String),
}

#[derive(Clone)]
pub struct WhatsappCloud {
    pub phone_number_id: String,
    pub access_token: String,
    pub app_secret: String,
    pub verify_token: String,
    /// `https://graph.facebook.com`, or a stand-in's address.
    pub api_base: String,
    /// The Graph API version, `v21.0`.
    pub api_version: String,
    /// The approved template offered outside the 24-hour window, if any.
    pub template: Option<Template>,
}

/// Never print the token or the secrets.
impl std::fmt::Debug for WhatsappCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatsappCloud")
            .field("phone_number_id", &self.phone_number_id)
            .field("api_base", &self.api_base)
            .field("api_version", &self.api_version)
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

/// `sha256=<hex>` of `body` under `secret`, as Meta sends it.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// What a notification carries: customers' messages and reports on ours.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Notification {
    pub messages: Vec<InboundMessage>,
    pub statuses: Vec<StatusReport>,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize, Default)]
struct Value {
    #[serde(default)]
    contacts: Vec<ContactCard>,
    #[serde(default)]
    messages: Vec<Message>,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Deserialize)]
struct ContactCard {
    wa_id: String,
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    name: String,
}

#[derive(Deserialize)]
struct Message {
    from: String,
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<Text>,
    #[serde(default)]
    button: Option<ButtonReply>,
}

#[derive(Deserialize)]
struct Text {
    body: String,
}

#[derive(Deserialize)]
struct ButtonReply {
    text: String,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    #[serde(default)]
    errors: Vec<GraphError>,
}

#[derive(Deserialize)]
struct GraphError {
    code: i64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    message: Option<String>,
}

impl WhatsappCloud {
    /// The answer to the webhook's verification request: the challenge, when the mode is
    /// `subscribe` and the token is ours.
    pub fn answer_verification<'a>(
        &self,
        mode: Option<&str>,
        token: Option<&str>,
        challenge: Option<&'a str>,
    ) -> Result<&'a str, WhatsappError> {
        if self.verify_token.is_empty() {
            return Err(WhatsappError::NotConfigured);
        }
        match (mode, token, challenge) {
            (Some("subscribe"), Some(token), Some(challenge))
                if same_secret(token.as_bytes(), self.verify_token.as_bytes()) =>
            {
                Ok(challenge)
            }
            _ => Err(WhatsappError::BadVerification),
        }
    }

    /// Checks a notification's `X-Hub-Signature-256` against its raw body.
    pub fn verify(&self, header: Option<&str>, body: &[u8]) -> Result<(), WhatsappError> {
        if self.app_secret.is_empty() {
            return Err(WhatsappError::NotConfigured);
        }
        let given = header
            .map(str::trim)
            .filter(|h| h.starts_with("sha256="))
            .ok_or(WhatsappError::Malformed)?;
        if same_secret(
            given.as_bytes(),
            signature(&self.app_secret, body).as_bytes(),
        ) {
            Ok(())
        } else {
            Err(WhatsappError::Mismatch)
        }
    }

    /// Sends `text` to `to`, or `template` in its place. Returns the `wamid…`.
    pub async fn send(
        &self,
        client: &reqwest::Client,
        to: &PhoneNumber,
        text: &str,
        template: Option<&Template>,
    ) -> Result<String, SendError> {
        let url = format!(
            "{}/{}/{}/messages",
            self.api_base.trim_end_matches('/'),
            self.api_version,
            self.phone_number_id
        );
        let body = match template {
            Some(template) => serde_json::json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to.digits(),
                "type": "template",
                "template": { "name": template.name, "language": { "code": template.language } },
            }),
            None => serde_json::json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to.digits(),
                "type": "text",
                "text": { "preview_url": false, "body": text },
            }),
        };
        let request = client.post(url).bearer_auth(&self.access_token).json(&body);
        let answer = send_json(request, graph_reason).await?;
        answer
            .pointer("/messages/0/id")
            .and_then(|id| id.as_str())
            .map(str::to_owned)
            .ok_or_else(|| SendError::InDoubt("WhatsApp answered without a message id".into()))
    }
}

fn graph_reason(body: &serde_json::Value) -> Option<String> {
    let error = body.get("error")?;
    let message = error.get("message")?.as_str()?;
    Some(match error.get("code").and_then(|c| c.as_i64()) {
        Some(code) => format!("(#{code}) {message}"),
        None => message.to_owned(),
    })
}

/// Reads a notification: its text messages (with the sender's profile name) and the
/// statuses of our messages. Other message types (an image, a location) are taken in as a
/// line saying what was sent, so the customer is never ignored.
pub fn read_notification(body: &[u8]) -> Result<Notification, WhatsappError> {
    let payload: Payload =
        serde_json::from_slice(body).map_err(|e| WhatsappError::NotJson(e.to_string()))?;
    let mut notification = Notification::default();
    for value in payload
        .entry
        .into_iter()
        .flat_map(|e| e.changes)
        .map(|c| c.value)
    {
        for message in value.messages {
            let Ok(phone) = PhoneNumber::international(&message.from) else {
                continue;
            };
            let name = value
                .contacts
                .iter()
                .find(|c| c.wa_id == message.from)
                .and_then(|c| c.profile.as_ref())
                .map(|p| p.name.clone());
            let text = match (message.text, message.button) {
                (Some(text), _) => text.body,
                (None, Some(button)) => button.text,
                (None, None) => format!("({} message)", message.kind),
            };
            notification.messages.push(InboundMessage {
                sender: Sender::Phone(phone),
                name,
                text,
                message_id: message.id,
            });
        }
        for status in value.statuses {
            let reported = match status.status.as_str() {
                "sent" => OutboundStatus::Sent,
                "delivered" => OutboundStatus::Delivered,
                "read" => OutboundStatus::Read,
                "failed" => OutboundStatus::Failed,
                // "deleted", "warning" and any later addition change nothing we show.
                _ => continue,
            };
            let error = status.errors.first().map(|e| {
                let detail = e.message.as_deref().unwrap_or(&e.title);
                format!("(#{}) {detail}", e.code)
            });
            notification.statuses.push(StatusReport {
                provider_id: status.id,
                status: reported,
                error,
            });
        }
    }
    Ok(notification)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud() -> WhatsappCloud {
        WhatsappCloud {
            phone_number_id: "106540352242922".into(),
            access_token: "EAAG".into(),
            app_secret: "It's a Secret to Everybody".into(),
            verify_token: "meatyhamhock".into(),
            api_base: "https://graph.facebook.com".into(),
            api_version: "v21.0".into(),
            template: None,
        }
    }

    /// The X-Hub-Signature-256 scheme's published example (GitHub documents the same header
    /// and algorithm Meta uses): this secret over `Hello, World!`.
    #[test]
    fn matches_the_published_x_hub_signature_256_example() {
        let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(
            signature("It's a Secret to Everybody", b"Hello, World!"),
            expected
        );
        assert_eq!(cloud().verify(Some(expected), b"Hello, World!"), Ok(()));
        assert_eq!(
            cloud().verify(Some(expected), b"Hello, World?"),
            Err(WhatsappError::Mismatch)
        );
        assert_eq!(cloud().verify(None, b"x"), Err(WhatsappError::Malformed));
        assert_eq!(
            cloud().verify(Some("md5=00"), b"x"),
            Err(WhatsappError::Malformed)
        );
    }

    /// Meta's "Verification Requests" example.
    #[test]
    fn answers_the_verification_challenge_only_with_our_token() {
        let cloud = cloud();
        assert_eq!(
            cloud.answer_verification(Some("subscribe"), Some("meatyhamhock"), Some("1158201444")),
            Ok("1158201444")
        );
        assert_eq!(
            cloud.answer_verification(Some("subscribe"), Some("wrong"), Some("1158201444")),
            Err(WhatsappError::BadVerification)
        );
        assert_eq!(
            cloud.answer_verification(Some("unsubscribe"), Some("meatyhamhock"), Some("1")),
            Err(WhatsappError::BadVerification)
        );
    }

    /// The text message and status notifications of the Cloud API's webhook reference.
    #[test]
    fn reads_messages_and_statuses() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it still leave at 18:00?"}}]},"field":"messages"}]}]}"#;
        let read = read_notification(body).expect("a notification");
        assert_eq!(read.messages.len(), 1);
        let message = &read.messages[0];
        assert_eq!(message.name.as_deref(), Some("Sheena Nelson"));
        assert_eq!(
            message.sender,
            Sender::Phone(PhoneNumber::parse("+16505551234").expect("a number"))
        );
        assert_eq!(message.text, "Does it still leave at 18:00?");
        let statuses = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"statuses":[{"id":"wamid.A","status":"read","timestamp":"1750263773","recipient_id":"16505551234"},{"id":"wamid.B","status":"failed","timestamp":"1750263773","recipient_id":"16505551234","errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message","error_data":{"details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}]}]},"field":"messages"}]}]}"#;
        let read = read_notification(statuses).expect("a notification");
        assert_eq!(read.statuses.len(), 2);
        assert_eq!(read.statuses[0].status, OutboundStatus::Read);
        assert_eq!(read.statuses[1].status, OutboundStatus::Failed);
        assert_eq!(
            read.statuses[1].error.as_deref(),
            Some("(#131047) Re-engagement message")
        );
    }
}
