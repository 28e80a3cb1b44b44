//! Where mail goes: a pooled async SMTP transport (`smtp://`, `smtps://`) or a folder of
//! `.eml` files (`file://`), the default that needs no server.

use std::sync::Arc;
use std::time::Duration;

use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use url::Url;

use crate::direct::DirectSmtp;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: 4xx replies, timeouts, a relay that is down.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Retrying will not help: 5xx replies, a refused recipient.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

#[derive(Debug, thiserror::Error)]
#[error("mail.url \"{url}\": {reason}")]
pub struct MailerError {
    url: String,
    reason: String,
}

#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Plain SMTP for bulk sends: see [`DirectSmtp`].
    Direct(Arc<DirectSmtp>),
    /// Files are written one at a time: concurrent creates in one folder spin on its lock
    /// in the kernel (a third of the CPU under a surge of acknowledgements) and gain nothing.
    Outbox(
        AsyncFileTransport<Tokio1Executor>,
        Arc<tokio::sync::Mutex<()>>,
    ),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the URL: it may hold SMTP credentials.
        f.write_str(match self {
            Mailer::Smtp(_) => "Mailer::Smtp",
            Mailer::Direct(_) => "Mailer::Direct",
            Mailer::Outbox(..) => "Mailer::Outbox",
        })
    }
}

impl Mailer {
    /// `file://DIR` (created if missing), `smtp://host:port` (plain, for a local relay or
    /// a test server) or `smtps://user:pass@host:465`; `pool_size` connections at most.
    pub fn from_url(raw: &str, pool_size: u32) -> Result<Self, MailerError> {
        let fail = |reason: String| MailerError {
            url: redact(raw),
            reason,
        };
        let url = Url::parse(raw).map_err(|e| fail(e.to_string()))?;
        match url.scheme() {
            "file" => {
                let dir = url.path().to_owned();
                let dir = if raw.starts_with("file://./") {
                    raw.trim_start_matches("file://").to_owned()
                } else {
                    dir
                };
                std::fs::create_dir_all(&dir)
                    .map_err(|e| fail(format!("cannot create {dir}: {e}")))?;
                Ok(Mailer::Outbox(
                    AsyncFileTransport::new(dir),
                    Arc::new(tokio::sync::Mutex::new(())),
                ))
            }
            "smtp" | "smtps" => {
                let pool = PoolConfig::new()
                    .max_size(pool_size.max(1))
                    .idle_timeout(Duration::from_secs(30));
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(raw)
                    .map_err(|e| fail(e.to_string()))?
                    .timeout(Some(Duration::from_secs(30)))
                    .pool_config(pool)
                    .build();
                Ok(Mailer::Smtp(transport))
            }
            other => Err(fail(format!("\"{other}\" is not file, smtp or smtps"))),
        }
    }

    /// For bulk sending: like [`Mailer::from_url`], but a plain `smtp://` relay without
    /// credentials gets direct connections (see [`DirectSmtp`]).
    pub fn bulk_from_url(raw: &str, pool_size: u32) -> Result<Self, MailerError> {
        match DirectSmtp::from_url(raw) {
            Some(direct) => Ok(Mailer::Direct(Arc::new(direct))),
            None => Self::from_url(raw, pool_size),
        }
    }

    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match self {
            Mailer::Direct(direct) => direct.send(&message).await,
            Mailer::Outbox(outbox, one_at_a_time) => {
                let _turn = one_at_a_time.lock().await;
                outbox
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| SendError::Transient(e.to_string()))
            }
            Mailer::Smtp(smtp) => match smtp.send(message.clone()).await {
                Ok(_) => Ok(()),
                // A pooled connection the server closed while idle fails once without a
                // reply; that is not the message's fault, so it is tried again at once.
                Err(err) if !err.is_permanent() && !err.is_transient() => {
                    tracing::debug!(error = %err, "retrying on a fresh SMTP connection");
                    smtp.send(message).await.map(|_| ()).map_err(classify)
                }
                Err(err) => Err(classify(err)),
            },
        }
    }
}

fn classify(err: lettre::transport::smtp::Error) -> SendError {
    if err.is_permanent() {
        SendError::Permanent(err.to_string())
    } else {
        SendError::Transient(err.to_string())
    }
}

/// The URL without its password, for error messages and logs.
fn redact(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_show_the_password() {
        let err = Mailer::from_url("ftp://user:hunter2@example.com", 1)
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(!err.contains("hunter2") && err.contains("***"), "{err}");
    }

    #[tokio::test]
    async fn the_outbox_writes_eml_files() {
        let dir =
            std::env::temp_dir().join(format!("muster-outbox-{}", uuid::Uuid::new_v4().simple()));
        let mailer = Mailer::from_url(&format!("file://{}", dir.display()), 1)
            .unwrap_or_else(|e| panic!("{e}"));
        let message = crate::OutgoingMessage {
            from: "a@example.com".into(),
            to: "b@example.com".into(),
            reply_to: None,
            subject: "Hi".into(),
            text: "Body".into(),
            html: None,
            message_id: "m1@example.com".into(),
            in_reply_to: None,
            references: Vec::new(),
            return_path: None,
            auto_submitted: false,
            list_unsubscribe: None,
        };
        let built = message.build().unwrap_or_else(|e| panic!("{e}"));
        mailer.send(built).await.unwrap_or_else(|e| panic!("{e}"));
        let files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().collect())
            .unwrap_or_default();
        assert_eq!(files.len(), 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
