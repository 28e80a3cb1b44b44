//! Plain `smtp://` connections for bulk sending, one per concurrent send, reused without
//! lettre's pool. Two reasons, both measured: the pool sends a NOOP before every reuse (a
//! round trip per message), and lettre writes a message body and its final dot in two
//! writes, which without TCP_NODELAY waits out a delayed ACK (about 40 ms) per message.

use std::time::Duration;

use lettre::Message;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use url::Url;

use crate::SendError;
use crate::mailer::classify;

const TIMEOUT: Duration = Duration::from_secs(30);

pub struct DirectSmtp {
    address: String,
    hello: ClientId,
    idle: Mutex<Vec<AsyncSmtpConnection>>,
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
        Some(Self {
            address: format!("{host}:{}", url.port().unwrap_or(25)),
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
        })
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(&self.address))
            .await
            .map_err(|_| SendError::Transient("connecting to the relay timed out".into()))?
            .map_err(|e| SendError::Transient(format!("cannot reach the relay: {e}")))?;
        stream
            .set_nodelay(true)
            .map_err(|e| SendError::Transient(e.to_string()))?;
        let connect = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello);
        tokio::time::timeout(TIMEOUT, connect)
            .await
            .map_err(|_| SendError::Transient("the relay did not greet in time".into()))?
            .map_err(classify)
    }

    pub async fn send(&self, message: &Message) -> Result<(), SendError> {
        let bytes = message.formatted();
        let reused = self.idle.lock().await.pop();
        let fresh = reused.is_none();
        let mut conn = match reused {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        let mut result = attempt(&mut conn, message, &bytes).await;
        // A reused connection the relay closed while idle fails without a reply: not the
        // message's fault, so it goes again on a fresh connection.
        if let (Err(Failure::NoReply(_)), false) = (&result, fresh) {
            conn = self.connect().await?;
            result = attempt(&mut conn, message, &bytes).await;
        }
        if !conn.has_broken() {
            self.idle.lock().await.push(conn);
        }
        result.map_err(|failure| match failure {
            Failure::Reply(err) => err,
            Failure::NoReply(reason) => SendError::Transient(reason),
        })
    }
}

enum Failure {
    /// The relay answered with an error (4xx or 5xx).
    Reply(SendError),
    /// The connection failed or timed out without an answer.
    NoReply(String),
}

async fn attempt(
    conn: &mut AsyncSmtpConnection,
    message: &Message,
    bytes: &[u8],
) -> Result<(), Failure> {
    match tokio::time::timeout(TIMEOUT, conn.send(message.envelope(), bytes)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) if err.is_permanent() || err.is_transient() => {
            Err(Failure::Reply(classify(err)))
        }
        Ok(Err(err)) => Err(Failure::NoReply(err.to_string())),
        Err(_) => {
            conn.abort().await;
            Err(Failure::NoReply("the relay did not answer in time".into()))
        }
    }
}
