//! A small SMTP client for bulk sending over plain `smtp://`: one connection per concurrent
//! send, TCP_NODELAY, and RFC 2920 pipelining when the relay offers it (MAIL, RCPT and DATA
//! in one write, the dot-stuffed body and its end in another: two round trips a message
//! instead of four). lettre still builds (and signs) every message; this only carries it.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::SendError;

const TIMEOUT: Duration = Duration::from_secs(30);

/// A failure of one transaction, and whether the connection is still usable.
#[derive(Debug)]
pub enum Failure {
    /// The relay refused (4xx or 5xx); the connection was reset and can be reused.
    Refused(SendError),
    /// The connection broke or timed out: it must not be reused.
    Broken(String),
}

pub struct Connection {
    stream: BufReader<TcpStream>,
    pipelining: bool,
    smtputf8: bool,
}

struct Reply {
    code: u16,
    text: String,
}

impl Reply {
    fn is_ok(&self) -> bool {
        (200..400).contains(&self.code)
    }

    fn error(&self) -> SendError {
        let message = format!("{} {}", self.code, self.text);
        if (400..500).contains(&self.code) {
            SendError::Transient(message)
        } else {
            SendError::Permanent(message)
        }
    }
}

fn broken(e: impl std::fmt::Display) -> Failure {
    Failure::Broken(e.to_string())
}

impl Connection {
    pub async fn open(address: &str, hello: &str) -> Result<Self, Failure> {
        tokio::time::timeout(TIMEOUT, Self::handshake(address, hello))
            .await
            .unwrap_or_else(|_| Err(broken("the relay did not greet in time")))
    }

    async fn handshake(address: &str, hello: &str) -> Result<Self, Failure> {
        let tcp = TcpStream::connect(address).await.map_err(broken)?;
        tcp.set_nodelay(true).map_err(broken)?;
        let mut conn = Self {
            stream: BufReader::new(tcp),
            pipelining: false,
            smtputf8: false,
        };
        let greeting = conn.read_reply().await?;
        if !greeting.is_ok() {
            return Err(Failure::Refused(greeting.error()));
        }
        conn.write(format!("EHLO {hello}\r\n").as_bytes()).await?;
        let ehlo = conn.read_reply().await?;
        if !ehlo.is_ok() {
            return Err(Failure::Refused(ehlo.error()));
        }
        let upper = ehlo.text.to_ascii_uppercase();
        conn.pipelining = upper.lines().any(|l| l.trim() == "PIPELINING");
        conn.smtputf8 = upper.lines().any(|l| l.trim() == "SMTPUTF8");
        Ok(conn)
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.stream.get_mut().write_all(bytes).await.map_err(broken)
    }

    /// One reply, joining the lines of a multi-line one.
    async fn read_reply(&mut self) -> Result<Reply, Failure> {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let read = self.stream.read_line(&mut line).await.map_err(broken)?;
            if read == 0 {
                return Err(broken("the relay closed the connection"));
            }
            let line = line.trim_end();
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| broken(format!("not an SMTP reply: {line:?}")))?;
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(line.get(4..).unwrap_or_default());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(Reply { code, text });
            }
        }
    }

    /// Sends one message (`body` as built, CRLF line ends) from `from` to `to`, within
    /// one time limit for the whole transaction (one timer, not one per read).
    pub async fn send(&mut self, from: &str, to: &[&str], body: &[u8]) -> Result<(), Failure> {
        tokio::time::timeout(TIMEOUT, self.transaction(from, to, body))
            .await
            .unwrap_or_else(|_| Err(broken("the relay did not answer in time")))
    }

    async fn transaction(&mut self, from: &str, to: &[&str], body: &[u8]) -> Result<(), Failure> {
        let utf8 = !from.is_ascii() || to.iter().any(|t| !t.is_ascii());
        if utf8 && !self.smtputf8 {
            return Err(Failure::Refused(SendError::Permanent(
                "the address needs SMTPUTF8, which the relay does not offer".into(),
            )));
        }
        let mut commands = vec![format!(
            "MAIL FROM:<{from}>{}\r\n",
            if utf8 { " SMTPUTF8" } else { "" }
        )];
        commands.extend(to.iter().map(|t| format!("RCPT TO:<{t}>\r\n")));
        commands.push("DATA\r\n".to_owned());
        let mut replies = Vec::with_capacity(commands.len());
        if self.pipelining {
            self.write(commands.concat().as_bytes()).await?;
            for _ in &commands {
                replies.push(self.read_reply().await?);
            }
        } else {
            for command in &commands {
                self.write(command.as_bytes()).await?;
                let reply = self.read_reply().await?;
                let ok = reply.is_ok();
                replies.push(reply);
                if !ok {
                    break;
                }
            }
        }
        if let Some(refusal) = replies.iter().find(|r| !r.is_ok()) {
            let error = refusal.error();
            // A refused MAIL or RCPT leaves a transaction to clear; a refused DATA none.
            self.write(b"RSET\r\n").await?;
            self.read_reply().await?;
            return Err(Failure::Refused(error));
        }
        self.write(&dot_stuffed(body)).await?;
        let done = self.read_reply().await?;
        if done.is_ok() {
            Ok(())
        } else {
            Err(Failure::Refused(done.error()))
        }
    }
}

/// The body for DATA: a leading dot doubled on every line, and the final `.` line.
/// Copied between the lines that begin with a dot (few or none): a byte at a time, the
/// copy cost more than the rest of the send.
fn dot_stuffed(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 16);
    if body.first() == Some(&b'.') {
        out.push(b'.');
    }
    let mut copied = 0;
    for at in memchr::memmem::find_iter(body, b"\n.") {
        // Up to and including the line's first dot, then that dot once more.
        out.extend_from_slice(body.get(copied..at + 2).unwrap_or_default());
        out.push(b'.');
        copied = at + 2;
    }
    out.extend_from_slice(body.get(copied..).unwrap_or_default());
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_are_stuffed_and_the_end_is_marked() {
        assert_eq!(
            dot_stuffed(b".a\r\nb\r\n.\r\n"),
            b"..a\r\nb\r\n..\r\n.\r\n".to_vec()
        );
        assert_eq!(dot_stuffed(b"x"), b"x\r\n.\r\n".to_vec());
        assert_eq!(
            dot_stuffed(b"a\r\n..b\r\n\r\n."),
            b"a\r\n...b\r\n\r\n..\r\n.\r\n".to_vec()
        );
    }
}
