//! One signed-in IMAP session on one mailbox: TCP, TLS (rustls with the public roots and an
//! optional private CA), LOGIN or XOAUTH2, SELECT. Every exchange has a deadline, so a
//! server that stops answering is a dead connection, never a fetch that hangs for ever.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use async_imap::Authenticator;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_util::either::Either;

use crate::config::{MailboxAuth, MailboxSettings};

pub type ImapStream = Either<TcpStream, TlsStream<TcpStream>>;
pub type ImapSession = async_imap::Session<ImapStream>;

/// The longest Muster waits for any one answer of the server.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the token command may take.
const TOKEN_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// A selected mailbox and what its server offers.
pub struct Connection {
    pub session: ImapSession,
    pub uid_validity: u32,
    /// RFC 2177: the server tells of new mail at once.
    pub idle: bool,
    /// RFC 4315: `UID EXPUNGE` removes only the messages Muster deleted.
    pub uid_plus: bool,
    /// RFC 6851: `UID MOVE`.
    pub moves: bool,
}

/// `exchange`, or an error saying what timed out.
pub async fn deadline<T, E>(
    what: &str,
    exchange: impl Future<Output = Result<T, E>>,
) -> anyhow::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match tokio::time::timeout(EXCHANGE_TIMEOUT, exchange).await {
        Ok(result) => result.with_context(|| what.to_owned()),
        Err(_) => bail!("{what}: no answer within {} s", EXCHANGE_TIMEOUT.as_secs()),
    }
}

/// Connects, signs in and selects the mailbox's folder.
pub async fn open(mailbox: &MailboxSettings) -> anyhow::Result<Connection> {
    let address = format!("{}:{}", mailbox.host, mailbox.port);
    let tcp = deadline(
        &format!("connecting to {address}"),
        TcpStream::connect((mailbox.host.as_str(), mailbox.port)),
    )
    .await?;
    tcp.set_nodelay(true).ok();
    let stream = if mailbox.tls {
        let name = ServerName::try_from(mailbox.host.clone())
            .with_context(|| format!("\"{}\" is not a host name", mailbox.host))?;
        Either::Right(deadline("the TLS handshake", tls(mailbox)?.connect(name, tcp)).await?)
    } else {
        Either::Left(tcp)
    };
    let mut client = async_imap::Client::new(stream);
    deadline("reading the server's greeting", client.read_response())
        .await?
        .ok_or_else(|| anyhow!("the server closed the connection before its greeting"))?;
    let signing_in = async {
        match &mailbox.auth {
            MailboxAuth::PasswordEnv(var) => {
                let password = std::env::var(var)
                    .map_err(|_| anyhow!("the variable {var} (password_env) is not set"))?;
                login(client, &mailbox.user, &password).await
            }
            MailboxAuth::PasswordFile(path) => {
                let password = tokio::fs::read_to_string(path)
                    .await
                    .with_context(|| format!("reading password_file {}", path.display()))?;
                login(
                    client,
                    &mailbox.user,
                    password.trim_end_matches(['\r', '\n']),
                )
                .await
            }
            MailboxAuth::OAuth2Command(command) => {
                let token = oauth2_token(command).await?;
                let xoauth2 = XOAuth2 {
                    user: mailbox.user.clone(),
                    token,
                    sent: false,
                };
                client
                    .authenticate("XOAUTH2", xoauth2)
                    .await
                    .map_err(|(err, _)| anyhow!(err).context("signing in with XOAUTH2"))
            }
        }
    };
    let mut session = tokio::time::timeout(EXCHANGE_TIMEOUT, signing_in)
        .await
        .map_err(|_| {
            anyhow!(
                "signing in: no answer within {} s",
                EXCHANGE_TIMEOUT.as_secs()
            )
        })??;
    let capabilities = deadline("asking for the capabilities", session.capabilities()).await?;
    let selected = deadline(
        &format!("selecting {}", mailbox.folder),
        session.select(&mailbox.folder),
    )
    .await?;
    let uid_validity = selected
        .uid_validity
        .ok_or_else(|| anyhow!("the server gives {} no UIDVALIDITY", mailbox.folder))?;
    Ok(Connection {
        session,
        uid_validity,
        idle: capabilities.has_str("IDLE"),
        uid_plus: capabilities.has_str("UIDPLUS"),
        moves: capabilities.has_str("MOVE"),
    })
}

async fn login(
    client: async_imap::Client<ImapStream>,
    user: &str,
    password: &str,
) -> anyhow::Result<ImapSession> {
    client
        .login(user, password)
        .await
        .map_err(|(err, _)| anyhow!(err).context("signing in"))
}

/// TLS with the public roots, and the certificates of `ca_file` when one is set.
fn tls(mailbox: &MailboxSettings) -> anyhow::Result<TlsConnector> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = &mailbox.ca_file {
        for cert in CertificateDer::pem_file_iter(path)
            .with_context(|| format!("reading ca_file {}", path.display()))?
        {
            let cert = cert.with_context(|| format!("reading ca_file {}", path.display()))?;
            roots
                .add(cert)
                .with_context(|| format!("a certificate in ca_file {}", path.display()))?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("setting up TLS")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The access token `command` prints (`sh -c`), read afresh at each sign-in because such
/// tokens live about an hour.
async fn oauth2_token(command: &str) -> anyhow::Result<String> {
    let run = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(TOKEN_COMMAND_TIMEOUT, run)
        .await
        .map_err(|_| {
            anyhow!(
                "oauth2_token_command printed no token within {} s",
                TOKEN_COMMAND_TIMEOUT.as_secs()
            )
        })?
        .context("running oauth2_token_command")?;
    if !output.status.success() {
        bail!("oauth2_token_command failed ({})", output.status);
    }
    let token = String::from_utf8(output.stdout)
        .map_err(|_| anyhow!("oauth2_token_command printed something that is not text"))?;
    match token.trim() {
        "" => bail!("oauth2_token_command printed no token"),
        token => Ok(token.to_owned()),
    }
}

/// SASL XOAUTH2 as Google and Microsoft define it: the user and the bearer token. A
/// refusal comes as a second challenge (the reason, in JSON), answered empty so that the
/// server ends the exchange with its NO.
struct XOAuth2 {
    user: String,
    token: String,
    sent: bool,
}

impl Authenticator for XOAuth2 {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        if std::mem::replace(&mut self.sent, true) {
            return String::new();
        }
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
    }
}
