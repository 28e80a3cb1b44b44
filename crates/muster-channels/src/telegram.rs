//! The Telegram Bot API. In: `setWebhook` with a `secret_token`, which Telegram sends back
//! in `X-Telegram-Bot-Api-Secret-Token` on every update. Out: `sendMessage`. The bot token
//! is part of every method's path (`{api}/bot{token}/{method}`), so no URL is ever logged.
//! Telegram reports no delivery: a sent message stays "sent".

use serde::Deserialize;

use crate::send::{SendError, send_json};
use crate::{InboundMessage, Sender, same_secret};

pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelegramError {
    #[error("Telegram is not configured (no secret token)")]
    NotConfigured,
    #[error("X-Telegram-Bot-Api-Secret-Token is missing or wrong")]
    BadSecret,
    #[error("the update is not valid JSON: {0}")]
    Malformed(String),
}

#[derive(Clone)]
pub struct TelegramBot {
    pub bot_token: String,
    /// 1 to 256 of `A-Z a-z 0-9 _ -`, as `setWebhook` takes it.
    pub secret_token: String,
    /// `https://api.telegram.org`, or a stand-in's address.
    pub api_base: String,
}

/// Never print the tokens.
impl std::fmt::Debug for TelegramBot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramBot")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
struct Update {
    update_id: i64,
    #[serde(default)]
    message: Option<Message>,
}

#[derive(Debug, Deserialize)]
struct Message {
    message_id: i64,
    chat: Chat,
    #[serde(default)]
    from: Option<User>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    caption: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Chat {
    id: i64,
}

#[derive(Debug, Deserialize)]
struct User {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

fn telegram_reason(body: &serde_json::Value) -> Option<String> {
    body.get("description")
        .and_then(|d| d.as_str())
        .map(str::to_owned)
}

impl TelegramBot {
    /// Checks the secret header of an update.
    pub fn verify(&self, header: Option<&str>) -> Result<(), TelegramError> {
        if self.secret_token.is_empty() {
            return Err(TelegramError::NotConfigured);
        }
        match header {
            Some(given) if same_secret(given.as_bytes(), self.secret_token.as_bytes()) => Ok(()),
            _ => Err(TelegramError::BadSecret),
        }
    }

    fn method(&self, name: &str) -> String {
        format!(
            "{}/bot{}/{name}",
            self.api_base.trim_end_matches('/'),
            self.bot_token
        )
    }

    /// Points the bot at `url`, with the secret token Telegram is to send back.
    pub async fn set_webhook(&self, client: &reqwest::Client, url: &str) -> Result<(), SendError> {
        let request = client
            .post(self.method("setWebhook"))
            .json(&serde_json::json!({
                "url": url,
                "secret_token": self.secret_token,
                "allowed_updates": ["message"],
            }));
        send_json(request, telegram_reason).await.map(|_| ())
    }

    /// Sends `text` to `chat_id`. Returns `{chat_id}:{message_id}` (message ids are per chat).
    pub async fn send(
        &self,
        client: &reqwest::Client,
        chat_id: i64,
        text: &str,
    ) -> Result<String, SendError> {
        let request = client
            .post(self.method("sendMessage"))
            .json(&serde_json::json!({
                "chat_id": chat_id,
                "text": text,
            }));
        let answer = send_json(request, telegram_reason).await?;
        answer
            .pointer("/result/message_id")
            .and_then(|id| id.as_i64())
            .map(|id| format!("{chat_id}:{id}"))
            .ok_or_else(|| SendError::InDoubt("Telegram answered without a message_id".into()))
    }
}

/// The customer's message in an update; `None` for an update that is no text message (an
/// edit, a sticker, a member joining): nothing to take in.
pub fn read_update(body: &[u8]) -> Result<Option<InboundMessage>, TelegramError> {
    let update: Update =
        serde_json::from_slice(body).map_err(|e| TelegramError::Malformed(e.to_string()))?;
    let Some(message) = update.message else {
        return Ok(None);
    };
    let Some(text) = message.text.or(message.caption) else {
        return Ok(None);
    };
    let name = message.from.as_ref().map(|user| {
        match &user.last_name {
            Some(last) => format!("{} {last}", user.first_name),
            None => user.first_name.clone(),
        }
        .trim()
        .to_owned()
    });
    Ok(Some(InboundMessage {
        sender: Sender::Telegram {
            chat_id: message.chat.id,
            username: message.from.and_then(|u| u.username),
        },
        name: name.filter(|n| !n.is_empty()),
        text,
        // The update id is Telegram's key for redelivery; the message id names it per chat.
        message_id: format!(
            "{}:{}:{}",
            update.update_id, message.chat.id, message.message_id
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot() -> TelegramBot {
        TelegramBot {
            bot_token: "123:ABC".into(),
            secret_token: "s3cret_token-1".into(),
            api_base: "https://api.telegram.org".into(),
        }
    }

    #[test]
    fn checks_the_secret_header() {
        assert_eq!(bot().verify(Some("s3cret_token-1")), Ok(()));
        assert_eq!(
            bot().verify(Some("s3cret_token-2")),
            Err(TelegramError::BadSecret)
        );
        assert_eq!(bot().verify(None), Err(TelegramError::BadSecret));
        let unconfigured = TelegramBot {
            secret_token: String::new(),
            ..bot()
        };
        assert_eq!(
            unconfigured.verify(Some("")),
            Err(TelegramError::NotConfigured)
        );
    }

    /// The example update of the Bot API's "Getting updates" section, trimmed.
    #[test]
    fn reads_a_text_message_update() {
        let body = br#"{"update_id":10000,"message":{"date":1441645532,"chat":{"last_name":"Test Lastname","id":1111111,"type":"private","first_name":"Test Firstname","username":"Testusername"},"message_id":1365,"from":{"last_name":"Test Lastname","id":1111111,"is_bot":false,"first_name":"Test Firstname","username":"Testusername"},"text":"Booking AB1234 - is the ferry going?"}}"#;
        let message = read_update(body).expect("an update").expect("a message");
        assert_eq!(
            message.sender,
            Sender::Telegram {
                chat_id: 1111111,
                username: Some("Testusername".into())
            }
        );
        assert_eq!(
            message.name.as_deref(),
            Some("Test Firstname Test Lastname")
        );
        assert_eq!(message.message_id, "10000:1111111:1365");
        let edited = br#"{"update_id":10001,"edited_message":{"message_id":1365}}"#;
        assert_eq!(read_update(edited), Ok(None));
        assert!(read_update(b"not json").is_err());
    }
}
