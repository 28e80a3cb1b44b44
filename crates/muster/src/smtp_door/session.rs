//! One SMTP or LMTP conversation: `smtp-proto` reads the commands and the dot-stuffed
//! message and writes the replies; this is the state machine between them (greeting,
//! envelope, DATA), with the door's limits. Replies are written when the client's input
//! runs dry, so a pipelining client gets its batch of replies in one write.

use std::time::Duration;

use smtp_proto::request::receiver::{DataReceiver, RequestReceiver};
use smtp_proto::{
    EXT_8BIT_MIME, EXT_ENHANCED_STATUS_CODES, EXT_PIPELINING, EXT_SIZE, EXT_START_TLS,
    EhloResponse, Error, Request, Response,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::delivery::{Envelope, Reply, deliver};
use super::{Door, Protocol};

/// Recipients one message may have; more are answered 452 and sent again later (RFC 5321
/// asks servers to take at least 100).
const MAX_RECIPIENTS: usize = 100;

/// Bytes read from the client at a time.
const READ_CHUNK: usize = 16 * 1024;

fn reply(code: u16, esc: [u8; 3], text: impl Into<String>) -> Reply {
    (code, esc, text.into())
}

/// Where the conversation stands.
enum Stage {
    /// Greeted, no EHLO/LHLO yet.
    Greeted,
    /// Introduced, between messages or building an envelope.
    Ready,
    /// Reading a message after DATA.
    Data {
        receiver: DataReceiver,
        message: Vec<u8>,
        too_big: bool,
    },
}

/// What the session does after a command.
enum Next {
    Go,
    Close,
    StartTls,
}

/// Where a conversation stands when it starts.
#[derive(Debug, Clone, Copy)]
pub enum Opening {
    /// A new connection: greeted, STARTTLS offered when the door has a certificate.
    Plain { offer_tls: bool },
    /// Just after STARTTLS: no greeting, and the client introduces itself again.
    Encrypted,
}

pub struct Session<'a, S> {
    stream: S,
    door: &'a Door,
    protocol: Protocol,
    offer_tls: bool,
    /// When the connection must end, whatever is under way.
    ends: Instant,
    stage: Stage,
    envelope: Envelope,
    out: Vec<u8>,
}

impl<'a, S: AsyncRead + AsyncWrite + Unpin> Session<'a, S> {
    pub fn new(
        stream: S,
        door: &'a Door,
        protocol: Protocol,
        opening: Opening,
        ends: Instant,
    ) -> Self {
        let mut out = Vec::with_capacity(512);
        if let Opening::Plain { .. } = opening {
            let greeting = format!(
                "220 {} {} Muster\r\n",
                door.settings.hostname,
                protocol.name()
            );
            out.extend_from_slice(greeting.as_bytes());
        }
        Self {
            stream,
            door,
            protocol,
            offer_tls: matches!(opening, Opening::Plain { offer_tls: true }),
            ends,
            stage: Stage::Greeted,
            envelope: Envelope::default(),
            out,
        }
    }

    /// Talks with the client until it quits, stops answering, or the door shuts down; or,
    /// after STARTTLS, hands the connection back to be encrypted. Whatever the client
    /// pipelined after STARTTLS is dropped unread (RFC 3207), never taken as encrypted.
    pub async fn run(mut self, stop: &CancellationToken) -> std::io::Result<Option<S>> {
        let door = self.door;
        let settings = &door.settings;
        let ends = self.ends;
        let mut commands = RequestReceiver::default();
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            self.flush().await?;
            let wait = settings
                .timeout
                .min(ends.saturating_duration_since(Instant::now()));
            let read = tokio::select! {
                () = stop.cancelled() => {
                    return self.close(reply(421, [4, 3, 2], "Shutting down, try again later")).await;
                }
                read = tokio::time::timeout(wait, self.stream.read(&mut buf)) => read,
            };
            let n = match read {
                Ok(read) => read?,
                Err(_) if wait < settings.timeout => {
                    return self
                        .close(reply(421, [4, 4, 2], "Connection time is up"))
                        .await;
                }
                Err(_) => return self.close(reply(421, [4, 4, 2], "Timed out waiting")).await,
            };
            if n == 0 {
                return Ok(None);
            }
            let mut bytes = buf[..n].iter();
            while !bytes.as_slice().is_empty() {
                if let Stage::Data {
                    receiver,
                    message,
                    too_big,
                } = &mut self.stage
                {
                    let complete = receiver.ingest(&mut bytes, message);
                    if message.len() > settings.max_message_bytes {
                        // What is past the limit is read and dropped, to answer 552 at its end.
                        *too_big = true;
                        message.clear();
                    }
                    if complete {
                        self.end_of_data().await;
                    }
                    continue;
                }
                let request = match commands.ingest(&mut bytes) {
                    Ok(request) => request.into_owned(),
                    Err(Error::NeedsMoreData { .. }) => break,
                    Err(err) => {
                        self.write(refusal(&err));
                        continue;
                    }
                };
                match self.command(request) {
                    Next::Go => {}
                    Next::Close => return self.flush().await.map(|()| None),
                    Next::StartTls => {
                        self.flush().await?;
                        return Ok(Some(self.stream));
                    }
                }
            }
        }
    }

    fn command(&mut self, request: Request<String>) -> Next {
        let door = self.door;
        let settings = &door.settings;
        let introduced = !matches!(self.stage, Stage::Greeted);
        let answer = match (request, self.protocol) {
            (Request::Ehlo { host: _ }, Protocol::Smtp)
            | (Request::Lhlo { host: _ }, Protocol::Lmtp) => {
                self.envelope = Envelope::default();
                self.stage = Stage::Ready;
                let mut ehlo = EhloResponse::new(settings.hostname.as_str());
                ehlo.capabilities =
                    EXT_PIPELINING | EXT_8BIT_MIME | EXT_SIZE | EXT_ENHANCED_STATUS_CODES;
                if self.offer_tls {
                    ehlo.capabilities |= EXT_START_TLS;
                }
                ehlo.size = settings.max_message_bytes;
                let _ = ehlo.write(&mut self.out);
                return Next::Go;
            }
            (Request::Helo { host: _ }, Protocol::Smtp) => {
                self.envelope = Envelope::default();
                self.stage = Stage::Ready;
                reply(250, [2, 0, 0], settings.hostname.clone())
            }
            (Request::Ehlo { .. } | Request::Helo { .. }, Protocol::Lmtp) => {
                reply(500, [5, 5, 1], "This is LMTP: say LHLO")
            }
            (Request::Lhlo { .. }, Protocol::Smtp) => {
                reply(500, [5, 5, 1], "This is SMTP: say EHLO")
            }
            (Request::Mail { .. } | Request::Rcpt { .. } | Request::Data, _) if !introduced => {
                reply(503, [5, 5, 1], "Say EHLO first")
            }
            (Request::Mail { from }, _) => {
                if self.envelope.from.is_some() {
                    reply(503, [5, 5, 1], "A message is already under way")
                } else if from.size > settings.max_message_bytes {
                    reply(552, [5, 3, 4], "The message is larger than the door takes")
                } else {
                    self.envelope.from = Some(from.address);
                    reply(250, [2, 1, 0], "OK")
                }
            }
            (Request::Rcpt { to }, _) => {
                if self.envelope.from.is_none() {
                    reply(503, [5, 5, 1], "MAIL FROM first")
                } else if self.envelope.recipients.len() >= MAX_RECIPIENTS {
                    reply(452, [4, 5, 3], "Too many recipients, send the rest again")
                } else if settings.recipients.accepts(&to.address) {
                    self.envelope.recipients.push(to.address);
                    reply(250, [2, 1, 5], "OK")
                } else {
                    reply(550, [5, 1, 1], "No such recipient here")
                }
            }
            (Request::Data, _) => {
                if self.envelope.from.is_none() {
                    reply(503, [5, 5, 1], "MAIL FROM first")
                } else if self.envelope.recipients.is_empty() {
                    reply(554, [5, 5, 1], "No valid recipients")
                } else {
                    self.stage = Stage::Data {
                        receiver: DataReceiver::new(),
                        message: Vec::new(),
                        too_big: false,
                    };
                    self.out
                        .extend_from_slice(b"354 End the message with <CRLF>.<CRLF>\r\n");
                    return Next::Go;
                }
            }
            (Request::Rset, _) => {
                self.envelope = Envelope::default();
                reply(250, [2, 0, 0], "OK")
            }
            (Request::Noop { .. }, _) => reply(250, [2, 0, 0], "OK"),
            (Request::Vrfy { .. }, _) => reply(252, [2, 5, 0], "Cannot VRFY; send the message"),
            (Request::Quit, _) => {
                self.write(reply(221, [2, 0, 0], "Bye"));
                return Next::Close;
            }
            (Request::Bdat { .. }, _) => {
                // CHUNKING is not offered: what follows is message data, not commands.
                self.write(reply(502, [5, 5, 1], "CHUNKING is not offered"));
                return Next::Close;
            }
            (Request::StartTls, _) if !self.offer_tls => {
                reply(502, [5, 5, 1], "STARTTLS is not offered")
            }
            (Request::StartTls, _) if !introduced => reply(503, [5, 5, 1], "Say EHLO first"),
            (Request::StartTls, _) => {
                self.write(reply(220, [2, 0, 0], "Ready to start TLS"));
                return Next::StartTls;
            }
            (Request::Auth { .. }, _) => reply(502, [5, 5, 1], "AUTH is not offered"),
            (
                Request::Expn { .. }
                | Request::Help { .. }
                | Request::Etrn { .. }
                | Request::Atrn { .. }
                | Request::Burl { .. },
                _,
            ) => reply(502, [5, 5, 1], "Not offered"),
        };
        self.write(answer);
        Next::Go
    }

    /// The message is complete: it is committed before it is acknowledged. LMTP answers
    /// once per recipient; every recipient shares the message's one outcome.
    async fn end_of_data(&mut self) {
        let Stage::Data {
            message, too_big, ..
        } = std::mem::replace(&mut self.stage, Stage::Ready)
        else {
            return;
        };
        let envelope = std::mem::take(&mut self.envelope);
        let answer = if too_big {
            reply(552, [5, 3, 4], "The message is larger than the door takes")
        } else {
            deliver(self.door, &envelope, &message).await
        };
        let times = match self.protocol {
            Protocol::Smtp => 1,
            Protocol::Lmtp => envelope.recipients.len(),
        };
        for _ in 0..times {
            self.write(answer.clone());
        }
    }

    fn write(&mut self, (code, esc, text): Reply) {
        let [a, b, c] = esc;
        let _ = Response::new(code, a, b, c, text).write(&mut self.out);
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let written =
            tokio::time::timeout(self.door.settings.timeout, self.stream.write_all(&self.out))
                .await;
        self.out.clear();
        match written {
            Ok(result) => result,
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        }
    }

    /// Says `last` and ends the conversation.
    async fn close(mut self, last: Reply) -> std::io::Result<Option<S>> {
        self.write(last);
        self.flush().await?;
        let _ = tokio::time::timeout(Duration::from_secs(1), self.stream.shutdown()).await;
        Ok(None)
    }
}

/// The reply to a command the parser could not read.
fn refusal(err: &Error) -> Reply {
    match err {
        Error::UnknownCommand => reply(500, [5, 5, 1], "Unknown command"),
        Error::InvalidSenderAddress => reply(501, [5, 1, 7], "Bad sender address"),
        Error::InvalidRecipientAddress => reply(501, [5, 1, 3], "Bad recipient address"),
        Error::SyntaxError { syntax } => reply(501, [5, 5, 2], format!("Syntax: {syntax}")),
        Error::InvalidParameter { param } => {
            reply(501, [5, 5, 4], format!("Invalid parameter {param}"))
        }
        Error::UnsupportedParameter { param } => {
            let param: String = param.chars().filter(|c| !c.is_control()).take(64).collect();
            reply(504, [5, 5, 4], format!("Unsupported parameter {param}"))
        }
        Error::ResponseTooLong => reply(500, [5, 5, 6], "Line too long"),
        Error::NeedsMoreData { .. } | Error::InvalidResponse { .. } => {
            reply(500, [5, 5, 0], "Command not understood")
        }
    }
}
