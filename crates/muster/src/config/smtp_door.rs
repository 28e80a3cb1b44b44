//! `inbound.smtp_*`: the SMTP/LMTP door, checked at start-up into [`SmtpDoorSettings`]
//! (or an error naming the key). Off unless `smtp_bind` or `lmtp_bind` is set.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use super::{Config, ConfigError, key_error};
use crate::smtp_door::Recipients;

/// The door ready to listen.
#[derive(Debug, Clone)]
pub struct SmtpDoorSettings {
    pub smtp_bind: Option<SocketAddr>,
    pub lmtp_bind: Option<SocketAddr>,
    pub recipients: Recipients,
    /// The incident mail is taken in on; the current crisis when not set.
    pub incident: Option<String>,
    pub max_message_bytes: usize,
    pub max_connections: usize,
    /// The longest wait for the client's next command or piece of a message.
    pub timeout: Duration,
    /// The longest a connection lasts in all.
    pub connection_time: Duration,
    /// The name the door greets with: the public address's host.
    pub hostname: String,
    /// STARTTLS's certificate chain and key (PEM), when it is offered.
    pub tls_files: Option<(PathBuf, PathBuf)>,
}

impl SmtpDoorSettings {
    pub fn tls_files(&self) -> Option<(&Path, &Path)> {
        self.tls_files
            .as_ref()
            .map(|(cert, key)| (cert.as_path(), key.as_path()))
    }
}

fn bind(key: &str, raw: &str) -> Result<Option<SocketAddr>, ConfigError> {
    match raw.trim() {
        "" => Ok(None),
        raw => raw.parse().map(Some).map_err(|_| {
            key_error(
                key,
                format!("\"{raw}\" is not an address and port like 0.0.0.0:2525"),
            )
        }),
    }
}

impl Config {
    /// The SMTP door's settings, or `None` when it is off.
    pub fn smtp_door(&self) -> Result<Option<SmtpDoorSettings>, ConfigError> {
        let inbound = &self.inbound;
        let smtp_bind = bind("inbound.smtp_bind", &inbound.smtp_bind)?;
        let lmtp_bind = bind("inbound.lmtp_bind", &inbound.lmtp_bind)?;
        if smtp_bind.is_none() && lmtp_bind.is_none() {
            return Ok(None);
        }
        let recipients = Recipients::parse(&inbound.smtp_recipients)
            .map_err(|problem| key_error("inbound.smtp_recipients", problem))?;
        let max_message_bytes = usize::try_from(inbound.smtp_max_message_bytes)
            .ok()
            .filter(|n| *n >= 1024)
            .ok_or_else(|| key_error("inbound.smtp_max_message_bytes", "must be at least 1024"))?;
        let max_connections = usize::try_from(inbound.smtp_max_connections)
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| {
                key_error(
                    "inbound.smtp_max_connections",
                    "must be between 1 and 10000",
                )
            })?;
        if !(1..=3600).contains(&inbound.smtp_timeout_secs) {
            return Err(key_error(
                "inbound.smtp_timeout_secs",
                "must be between 1 and 3600",
            ));
        }
        if inbound.smtp_connection_secs < inbound.smtp_timeout_secs {
            return Err(key_error(
                "inbound.smtp_connection_secs",
                "must be at least inbound.smtp_timeout_secs",
            ));
        }
        let tls_files = match (
            inbound.smtp_tls_cert_file.trim(),
            inbound.smtp_tls_key_file.trim(),
        ) {
            ("", "") => None,
            (cert, key) if !cert.is_empty() && !key.is_empty() => {
                Some((PathBuf::from(cert), PathBuf::from(key)))
            }
            _ => {
                return Err(key_error(
                    "inbound.smtp_tls_cert_file",
                    "set inbound.smtp_tls_cert_file and inbound.smtp_tls_key_file together, or neither",
                ));
            }
        };
        let hostname = Url::parse(&self.public.base_url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_else(|| "muster".to_owned());
        Ok(Some(SmtpDoorSettings {
            smtp_bind,
            lmtp_bind,
            recipients,
            incident: Some(inbound.smtp_incident.trim().to_owned()).filter(|s| !s.is_empty()),
            max_message_bytes,
            max_connections,
            timeout: Duration::from_secs(inbound.smtp_timeout_secs),
            connection_time: Duration::from_secs(inbound.smtp_connection_secs),
            hostname,
            tls_files,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn door(vars: &[(&str, &str)]) -> Result<Option<SmtpDoorSettings>, String> {
        Config::load_from(
            None,
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .map_err(|e| e.to_string())
        .and_then(|c| c.smtp_door().map_err(|e| e.to_string()))
    }

    #[test]
    fn the_door_is_off_by_default_and_needs_recipients_when_on() {
        assert!(matches!(door(&[]), Ok(None)));
        let on = door(&[
            ("MUSTER__INBOUND__SMTP_BIND", "127.0.0.1:2525"),
            (
                "MUSTER__INBOUND__SMTP_RECIPIENTS",
                "crisis.example.com, support@example.com",
            ),
        ]);
        assert!(
            on.as_ref().is_ok_and(|d| d.as_ref().is_some_and(|d| {
                d.smtp_bind.is_some()
                    && d.lmtp_bind.is_none()
                    && d.recipients.accepts("kari@Crisis.Example.com")
                    && d.max_message_bytes == 10 * 1024 * 1024
            })),
            "{on:?}"
        );
        let problem = |vars: &[(&str, &str)]| door(vars).err().unwrap_or_default();
        assert!(
            problem(&[("MUSTER__INBOUND__SMTP_BIND", "127.0.0.1:2525")])
                .contains("inbound.smtp_recipients")
        );
        assert!(
            problem(&[("MUSTER__INBOUND__LMTP_BIND", "localhost")]).contains("inbound.lmtp_bind")
        );
        assert!(
            problem(&[
                ("MUSTER__INBOUND__SMTP_BIND", "127.0.0.1:2525"),
                ("MUSTER__INBOUND__SMTP_RECIPIENTS", "example.com"),
                ("MUSTER__INBOUND__SMTP_MAX_CONNECTIONS", "0"),
            ])
            .contains("inbound.smtp_max_connections")
        );
    }
}
