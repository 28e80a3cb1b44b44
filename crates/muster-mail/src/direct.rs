//! Plain `smtp://` connections for bulk sending, one per concurrent send, reused without
//! lettre's pool: the pool sends a NOOP before every reuse (a round trip per message), and
//! lettre's connection writes a body and its final dot in two writes without TCP_NODELAY,
//! which waits out a delayed ACK (about 40 ms) per message. Both measured.

use lettre::Message;
use tokio::sync::Mutex;
use url::Url;

use crate::SendError;
use crate::smtp_client::{Connection, Failure};

pub struct DirectSmtp {
    address: String,
    hello: String,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for DirectSmtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DirectSmtp")
    }
}

impl DirectSmtp {
    /// Only for a plain relay without credentials (`smtp://host:port`); anything else
    /// (TLS, authentication) goes through lettre's pooled transport.
    pub fn from_url(raw: &str) -> Option<Self> {
        let url = Url::parse(raw).ok()?;
        if url.scheme() != "smtp" || !url.username().is_empty() || url.query().is_some() {
            return None;
        }
        let host = url.host_str()?;
        let hello = lettre::transport::smtp::extension::ClientId::default().to_string();
        Some(Self {
            address: format!("{host}:{}", url.port().unwrap_or(25)),
            hello,
            idle: Mutex::new(Vec::new()),
        })
    }

    pub async fn send(&self, message: &Message) -> Result<(), SendError> {
        let envelope = message.envelope();
        let from = envelope.from().map(|a| a.as_ref()).unwrap_or_default();
        let to: Vec<&str> = envelope.to().iter().map(|a| a.as_ref()).collect();
        let body = message.formatted();
        let reused = self.idle.lock().await.pop();
        let fresh = reused.is_none();
        let mut conn = match reused {
            Some(conn) => conn,
            None => self.open().await?,
        };
        let mut result = conn.send(from, &to, &body).await;
        // A reused connection the relay closed while idle fails without a reply: not the
        // message's fault, so it goes again on a fresh connection.
        if let (Err(Failure::Broken(_)), false) = (&result, fresh) {
            conn = self.open().await?;
            result = conn.send(from, &to, &body).await;
        }
        match result {
            Ok(()) => {
                self.idle.lock().await.push(conn);
                Ok(())
            }
            Err(Failure::Refused(err)) => {
                self.idle.lock().await.push(conn);
                Err(err)
            }
            Err(Failure::Broken(reason)) => Err(SendError::Transient(reason)),
        }
    }

    async fn open(&self) -> Result<Connection, SendError> {
        Connection::open(&self.address, &self.hello)
            .await
            .map_err(|failure| match failure {
                Failure::Refused(err) => err,
                Failure::Broken(reason) => SendError::Transient(reason),
            })
    }
}
