//! The SMTP door: `inbound.smtp_bind` (and `inbound.lmtp_bind`) take mail handed over by a
//! forwarding rule, an MX or a relay, inside `muster serve`. Each message is committed
//! through the one intake use case before it is acknowledged (see [`delivery`]).
//!
//! Built on `smtp-proto` (Stalwart's, which its own server runs on): a maintained parser
//! for every command and its parameters and for the dot-stuffed message, and a builder for
//! replies, with no I/O of its own, so the session is a plain state machine on tokio
//! (`mailin-embedded` runs its own threads and blocking sockets, outside the runtime).

mod delivery;
mod recipients;
mod session;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use muster_app::App;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::config::SmtpDoorSettings;
pub use recipients::Recipients;
use session::{Opening, Session};
pub use tls::acceptor;

/// What every session of the door shares.
pub struct Door {
    pub app: App,
    pub settings: SmtpDoorSettings,
    /// STARTTLS, when the door has a certificate.
    pub tls: Option<TlsAcceptor>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Smtp,
    /// RFC 2033: LHLO, and one reply per recipient after the message.
    Lmtp,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::Smtp => "ESMTP",
            Protocol::Lmtp => "LMTP",
        }
    }
}

/// The door's listening sockets, bound at start-up so a port in use stops `muster serve`.
pub async fn bind(settings: &SmtpDoorSettings) -> anyhow::Result<Vec<(TcpListener, Protocol)>> {
    let mut listeners = Vec::new();
    for (addr, protocol, key) in [
        (settings.smtp_bind, Protocol::Smtp, "inbound.smtp_bind"),
        (settings.lmtp_bind, Protocol::Lmtp, "inbound.lmtp_bind"),
    ] {
        if let Some(addr) = addr {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {key} = {addr}"))?;
            tracing::info!(local = %listener.local_addr()?, protocol = protocol.name(), "SMTP door listening");
            listeners.push((listener, protocol));
        }
    }
    Ok(listeners)
}

/// Serves the door until `stop`; then waits up to `grace` for the messages under way to be
/// committed and answered (a session between commands says 421 and closes at once).
pub async fn serve(
    door: Door,
    listeners: Vec<(TcpListener, Protocol)>,
    stop: CancellationToken,
    grace: Duration,
) {
    let max = door.settings.max_connections;
    let door = Arc::new(door);
    let slots = Arc::new(Semaphore::new(max));
    let accepting: Vec<_> = listeners
        .into_iter()
        .map(|(listener, protocol)| {
            tokio::spawn(accept(
                listener,
                protocol,
                door.clone(),
                slots.clone(),
                stop.clone(),
            ))
        })
        .collect();
    for task in accepting {
        let _ = task.await;
    }
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(grace, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("SMTP door: connections still open at shutdown were dropped unanswered");
    }
}

async fn accept(
    listener: TcpListener,
    protocol: Protocol,
    door: Arc<Door>,
    slots: Arc<Semaphore>,
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, _) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!(error = %err, "SMTP door: accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(turn_away(stream));
            continue;
        };
        let door = door.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            if let Err(err) = converse(stream, &door, protocol, &stop).await {
                tracing::debug!(error = %err, "SMTP door: connection ended");
            }
            drop(slot);
        });
    }
}

/// One connection's conversation, encrypted from STARTTLS on when the client asks.
async fn converse(
    stream: TcpStream,
    door: &Door,
    protocol: Protocol,
    stop: &CancellationToken,
) -> std::io::Result<()> {
    let ends = Instant::now() + door.settings.connection_time;
    let opening = Opening::Plain {
        offer_tls: door.tls.is_some(),
    };
    let plain = Session::new(stream, door, protocol, opening, ends);
    let (Some(stream), Some(acceptor)) = (plain.run(stop).await?, &door.tls) else {
        return Ok(());
    };
    let encrypted = tokio::time::timeout(door.settings.timeout, acceptor.accept(stream))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    Session::new(encrypted, door, protocol, Opening::Encrypted, ends)
        .run(stop)
        .await
        .map(|_| ())
}

/// A connection past the cap: told to come back later, at once.
async fn turn_away(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = stream
            .write_all(b"421 4.7.0 Too many connections, try again later\r\n")
            .await;
        let _ = stream.shutdown().await;
    })
    .await;
}
