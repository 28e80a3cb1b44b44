//! Configuration: embedded defaults, then a file, then `MUSTER__SECTION__KEY` variables.
//! Anything unknown or malformed stops start-up with the key and the problem named.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use muster_core::backoff::Backoff;
use muster_core::client_identity::{ForwardedHeader, TrustedProxies};
use serde::Deserialize;
use toml::{Table, Value};
use url::Url;

mod channels;
mod mailboxes;
mod smtp_door;

pub use channels::ChannelsConfig;
pub use mailboxes::{AfterIntake, MailboxAuth, MailboxConfig, MailboxSettings};
pub use smtp_door::SmtpDoorSettings;

const DEFAULTS: &str = include_str!("../../../config/default.toml");
const ENV_PREFIX: &str = "MUSTER__";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub public: PublicConfig,
    pub database: DatabaseConfig,
    pub mail: MailConfig,
    pub log: LogConfig,
    pub security: SecurityConfig,
    pub inbound: InboundConfig,
    pub intake: IntakeConfig,
    pub clock: ClockConfig,
    pub queue: QueueConfig,
    pub webhooks: WebhooksConfig,
    pub channels: ChannelsConfig,
    pub voice: VoiceConfig,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceConfig {
    pub twilio_auth_token: String,
}

/// Never print the token, even in a debug dump of the configuration.
impl std::fmt::Debug for VoiceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceConfig")
            .field("twilio_auth_token", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    pub claim_minutes: i64,
    pub sla_scan_secs: u64,
    pub wait_refresh_secs: u64,
    /// Seconds a group reply is held, to be undone, before it goes.
    pub group_reply_hold_secs: i64,
    /// Seconds a group-reply worker holds the cases it claimed before another may take them.
    pub group_reply_lease_secs: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    pub retry_base_secs: u64,
    pub max_attempts: i32,
}

impl WebhooksConfig {
    /// `retry_base_secs`, doubling, at most an hour apart, for `max_attempts` attempts.
    pub fn retries(&self) -> Backoff {
        Backoff {
            base: Duration::from_secs(self.retry_base_secs),
            max: muster_core::webhook::MAX_RETRY_DELAY,
            max_attempts: u32::try_from(self.max_attempts).unwrap_or(1),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeConfig {
    pub max_per_address: u32,
    pub window_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockConfig {
    pub offset_hours: i64,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundConfig {
    pub secret: String,
    pub booking_ref_pattern: String,
    pub mailboxes: Vec<MailboxConfig>,
    pub mailbox_lease_secs: u64,
    pub smtp_bind: String,
    pub lmtp_bind: String,
    pub smtp_recipients: Vec<String>,
    pub smtp_incident: String,
    pub smtp_max_message_bytes: u64,
    pub smtp_max_connections: u64,
    pub smtp_timeout_secs: u64,
    pub smtp_connection_secs: u64,
    pub smtp_tls_cert_file: String,
    pub smtp_tls_key_file: String,
}

/// Never print the secret, even in a debug dump of the configuration.
impl std::fmt::Debug for InboundConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundConfig")
            .field("secret", &"<redacted>")
            .field("booking_ref_pattern", &self.booking_ref_pattern)
            .field("mailboxes", &self.mailboxes)
            .field("mailbox_lease_secs", &self.mailbox_lease_secs)
            .field("smtp_bind", &self.smtp_bind)
            .field("lmtp_bind", &self.lmtp_bind)
            .field("smtp_recipients", &self.smtp_recipients)
            .field("smtp_incident", &self.smtp_incident)
            .field("smtp_max_message_bytes", &self.smtp_max_message_bytes)
            .field("smtp_max_connections", &self.smtp_max_connections)
            .field("smtp_timeout_secs", &self.smtp_timeout_secs)
            .field("smtp_connection_secs", &self.smtp_connection_secs)
            .field("smtp_tls_cert_file", &self.smtp_tls_cert_file)
            .field("smtp_tls_key_file", &self.smtp_tls_key_file)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: String,
    pub workers: usize,
    pub shutdown_timeout_secs: u64,
    pub trusted_proxies: Vec<String>,
    pub forwarded_header: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicConfig {
    pub base_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    pub url: String,
    pub from: String,
    pub concurrency: u32,
    pub rate_per_second: u32,
    pub lease_secs: u64,
    pub retry_secs: u64,
    pub max_attempts: u32,
    pub dkim_key_file: String,
    pub dkim_selector: String,
    pub dkim_domain: String,
    /// Where bounces go: `bounce+<message>@bounce_domain` (VERP); empty, to the From address.
    pub bounce_domain: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: String,
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityConfig {
    pub session_hours: i64,
    pub login_max_failures: u64,
    pub login_window_minutes: i64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("configuration {source_name} is not valid TOML: {reason}")]
    Syntax { source_name: String, reason: String },
    #[error("configuration key {key}: {problem}")]
    Key { key: String, problem: String },
}

fn key_error(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Key {
        key: key.to_owned(),
        problem: problem.into(),
    }
}

fn parse_table(text: &str, source_name: &str) -> Result<Table, ConfigError> {
    text.parse::<Table>().map_err(|e| ConfigError::Syntax {
        source_name: source_name.to_owned(),
        reason: e.to_string(),
    })
}

/// Lays `overlay` over `base`, table by table; names that do not exist in the defaults
/// are refused here, so a typo is reported with its full key.
fn merge(base: &mut Table, overlay: Table, prefix: &str) -> Result<(), ConfigError> {
    for (name, value) in overlay {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match (base.get_mut(&name), value) {
            (None, _) => return Err(key_error(&key, "unknown key")),
            (Some(Value::Table(inner)), Value::Table(over)) => merge(inner, over, &key)?,
            (Some(Value::Table(_)), _) => return Err(key_error(&key, "must be a section")),
            (Some(slot), value) => *slot = value,
        }
    }
    Ok(())
}

/// An environment value typed like the default it replaces.
fn env_value(key: &str, raw: &str, like: Option<&Value>) -> Result<Value, ConfigError> {
    match like {
        Some(Value::Integer(_)) => raw
            .trim()
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| key_error(key, format!("\"{raw}\" is not a whole number"))),
        Some(Value::Boolean(_)) => raw
            .trim()
            .parse::<bool>()
            .map(Value::Boolean)
            .map_err(|_| key_error(key, format!("\"{raw}\" is not true or false"))),
        // A list from the environment is comma-separated: `10.0.0.0/8,::1`.
        Some(Value::Array(_)) => Ok(Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Value::String(item.to_owned()))
                .collect(),
        )),
        _ => Ok(Value::String(raw.to_owned())),
    }
}

fn apply_env(
    table: &mut Table,
    vars: impl Iterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (name, raw) in vars {
        let Some(path) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let parts: Vec<String> = path.split("__").map(str::to_lowercase).collect();
        let key = parts.join(".");
        // MUSTER__SECTION__KEY, or MUSTER__SECTION__SUBSECTION__KEY for a nested table
        // (`[channels.twilio]`).
        let (sections, field) = match parts.as_slice() {
            [sections @ .., field] if (1..=2).contains(&sections.len()) => (sections, field),
            _ => {
                return Err(key_error(
                    &key,
                    format!("set by {name}: use MUSTER__SECTION__KEY"),
                ));
            }
        };
        let mut section_table = &mut *table;
        for section in sections {
            let Some(Value::Table(inner)) = section_table.get_mut(section) else {
                return Err(key_error(&key, format!("unknown section (set by {name})")));
            };
            section_table = inner;
        }
        let Some(current) = section_table.get(field) else {
            return Err(key_error(&key, format!("unknown key (set by {name})")));
        };
        let value = env_value(&key, &raw, Some(current))?;
        section_table.insert(field.clone(), value);
    }
    Ok(())
}

impl Config {
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    pub fn load_from(
        file: Option<&Path>,
        vars: impl Iterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = parse_table(DEFAULTS, "defaults")?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            merge(
                &mut table,
                parse_table(&text, &path.display().to_string())?,
                "",
            )?;
        }
        apply_env(&mut table, vars)?;
        let config: Config = Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Syntax {
                source_name: "values".to_owned(),
                reason: e.message().to_owned(),
            })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.bind_addr()?;
        self.trusted_proxies()?;
        let base = Url::parse(&self.public.base_url).map_err(|e| {
            key_error(
                "public.base_url",
                format!("\"{}\" is not a URL: {e}", self.public.base_url),
            )
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(key_error(
                "public.base_url",
                "must start with http:// or https://",
            ));
        }
        let db = &self.database.url;
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            return Err(key_error(
                "database.url",
                "must start with sqlite:// or postgres://",
            ));
        }
        if self.database.max_connections == 0 {
            return Err(key_error("database.max_connections", "must be at least 1"));
        }
        let mail = Url::parse(&self.mail.url).map_err(|e| {
            key_error(
                "mail.url",
                format!("\"{}\" is not a URL: {e}", self.mail.url),
            )
        })?;
        if !matches!(mail.scheme(), "file" | "smtp" | "smtps") {
            return Err(key_error(
                "mail.url",
                "must start with file://, smtp:// or smtps://",
            ));
        }
        if !self.mail.from.contains('@') {
            return Err(key_error(
                "mail.from",
                "must be an address like \"Name <crisis@example.com>\"",
            ));
        }
        if self.mail.concurrency == 0 {
            return Err(key_error("mail.concurrency", "must be at least 1"));
        }
        if self.mail.lease_secs == 0 || self.mail.max_attempts == 0 {
            return Err(key_error(
                "mail.lease_secs",
                "the lease and mail.max_attempts must be at least 1",
            ));
        }
        let dkim = [
            &self.mail.dkim_key_file,
            &self.mail.dkim_selector,
            &self.mail.dkim_domain,
        ];
        if dkim.iter().any(|v| v.is_empty()) && dkim.iter().any(|v| !v.is_empty()) {
            return Err(key_error(
                "mail.dkim_key_file",
                "set mail.dkim_key_file, mail.dkim_selector and mail.dkim_domain together, or none",
            ));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(key_error(
                "log.format",
                format!("\"{}\" is not text or json", self.log.format),
            ));
        }
        self.booking_pattern()?;
        self.mailboxes()?;
        self.smtp_door()?;
        if !(3..=3600).contains(&self.inbound.mailbox_lease_secs) {
            return Err(key_error(
                "inbound.mailbox_lease_secs",
                "must be between 3 and 3600",
            ));
        }
        if self.intake.max_per_address < 1 || self.intake.window_secs < 1 {
            return Err(key_error(
                "intake.max_per_address",
                "the limit and window must be at least 1",
            ));
        }
        if !(1..=60).contains(&self.queue.wait_refresh_secs) {
            return Err(key_error(
                "queue.wait_refresh_secs",
                "must be between 1 and 60: waits are refreshed at least every minute",
            ));
        }
        if self.queue.group_reply_hold_secs < 0 || self.queue.group_reply_lease_secs < 1 {
            return Err(key_error(
                "queue.group_reply_lease_secs",
                "the hold must be 0 or more seconds and the lease at least 1",
            ));
        }
        if self.queue.sla_scan_secs < 1 {
            return Err(key_error("queue.sla_scan_secs", "must be at least 1"));
        }
        if !(1..=24 * 60).contains(&self.queue.claim_minutes) {
            return Err(key_error(
                "queue.claim_minutes",
                "must be between 1 and 1440",
            ));
        }
        if self.clock.offset_hours.abs() > 24 * 366 {
            return Err(key_error(
                "clock.offset_hours",
                "must be within a year of now",
            ));
        }
        if self.webhooks.retry_base_secs < 1 {
            return Err(key_error("webhooks.retry_base_secs", "must be at least 1"));
        }
        if self.webhooks.max_attempts < 1 {
            return Err(key_error("webhooks.max_attempts", "must be at least 1"));
        }
        self.channels.connectors()?;
        if self.security.session_hours < 1 {
            return Err(key_error("security.session_hours", "must be at least 1"));
        }
        if self.security.login_max_failures < 1 || self.security.login_window_minutes < 1 {
            return Err(key_error(
                "security.login_max_failures",
                "the limit and window must be at least 1",
            ));
        }
        Ok(())
    }

    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        let raw = &self.server.bind;
        let (host, port) = raw.rsplit_once(':').ok_or_else(|| {
            key_error(
                "server.bind",
                format!("\"{raw}\" needs a port, like 127.0.0.1:8080"),
            )
        })?;
        port.parse::<u16>().map_err(|_| {
            key_error(
                "server.bind",
                format!("port \"{port}\" is not between 0 and 65535"),
            )
        })?;
        format!("{host}:{port}")
            .parse()
            .map_err(|_| key_error("server.bind", format!("\"{host}\" is not an IP address")))
    }

    /// Whose forwarding header names the client (`server.trusted_proxies`).
    pub fn trusted_proxies(&self) -> Result<TrustedProxies, ConfigError> {
        let header = self
            .server
            .forwarded_header
            .parse::<ForwardedHeader>()
            .map_err(|problem| key_error("server.forwarded_header", problem))?;
        TrustedProxies::parse(&self.server.trusted_proxies, header)
            .map_err(|problem| key_error("server.trusted_proxies", problem))
    }

    /// The domain of `mail.from`, which ends every Message-ID Muster makes.
    pub fn mail_domain(&self) -> String {
        let from = self.mail.from.trim().trim_end_matches('>');
        from.rsplit_once('@')
            .map(|(_, domain)| domain.to_owned())
            .unwrap_or_else(|| "muster.invalid".to_owned())
    }

    /// The compiled booking-reference pattern (the built-in one when none is set).
    pub fn booking_pattern(&self) -> Result<regex_lite::Regex, ConfigError> {
        let pattern = match self.inbound.booking_ref_pattern.trim() {
            "" => muster_core::inbound_text::DEFAULT_BOOKING_PATTERN,
            own => own,
        };
        regex_lite::Regex::new(pattern).map_err(|e| {
            key_error(
                "inbound.booking_ref_pattern",
                format!("not a valid regular expression: {e}"),
            )
        })
    }

    /// The IMAP mailboxes to fetch, checked; two with one name would share a cursor.
    pub fn mailboxes(&self) -> Result<Vec<MailboxSettings>, ConfigError> {
        let mut checked: Vec<MailboxSettings> = Vec::new();
        for (index, mailbox) in self.inbound.mailboxes.iter().enumerate() {
            let settings = mailbox.settings(index)?;
            if checked.iter().any(|m| m.name == settings.name) {
                return Err(key_error(
                    &format!("inbound.mailboxes[{index}].name"),
                    format!("\"{}\" names another mailbox too", settings.name),
                ));
            }
            checked.push(settings);
        }
        Ok(checked)
    }

    /// The public address without its trailing slash.
    pub fn base_url(&self) -> String {
        self.public.base_url.trim_end_matches('/').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::load_from(
            None,
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn defaults_load() {
        let config = load(&[]).map_err(|e| e.to_string());
        assert_eq!(
            config.map(|c| c.server.bind),
            Ok("127.0.0.1:8080".to_owned())
        );
    }

    #[test]
    fn environment_overrides_and_errors_name_the_key() {
        let config = load(&[("MUSTER__DATABASE__URL", "postgres://localhost/x")]);
        assert_eq!(
            config.map(|c| c.database.url),
            Ok("postgres://localhost/x".to_owned())
        );
        let problem =
            |vars: &[(&str, &str)]| load(vars).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(problem(&[("MUSTER__SERVER__BIND", "127.0.0.1:99999")]).contains("server.bind"));
        assert!(problem(&[("MUSTER__SERVER__BIND", "127.0.0.1:99999")]).contains("65535"));
        assert!(problem(&[("MUSTER__SERVER__BINDD", "x")]).contains("server.bindd: unknown key"));
        assert!(problem(&[("MUSTER__DATABASE__URL", "mysql://x")]).contains("database.url"));
        assert!(problem(&[("MUSTER__PUBLIC__BASE_URL", "not a url")]).contains("public.base_url"));
        assert!(
            problem(&[("MUSTER__DATABASE__MAX_CONNECTIONS", "ten")])
                .contains("database.max_connections")
        );
        assert!(problem(&[("MUSTER__LOG__FORMAT", "xml")]).contains("log.format"));
        assert!(
            problem(&[("MUSTER__SERVER__TRUSTED_PROXIES", "10.0.0.0/8,nginx")])
                .contains("server.trusted_proxies: \"nginx\" is not an IP address")
        );
        assert!(
            problem(&[("MUSTER__SERVER__FORWARDED_HEADER", "x-real-ip")])
                .contains("server.forwarded_header")
        );
        let proxies = load(&[("MUSTER__SERVER__TRUSTED_PROXIES", " 10.0.0.0/8, ::1 ")]);
        assert_eq!(
            proxies.map(|c| c.server.trusted_proxies),
            Ok(vec!["10.0.0.0/8".to_owned(), "::1".to_owned()])
        );
        assert!(
            problem(&[("MUSTER__WEBHOOKS__RETRY_BASE_SECS", "0")])
                .contains("webhooks.retry_base_secs")
        );
        assert!(
            problem(&[("MUSTER__INBOUND__BOOKING_REF_PATTERN", "([A-Z")])
                .contains("inbound.booking_ref_pattern")
        );
    }

    #[test]
    fn a_file_with_an_unknown_key_is_refused() -> Result<(), std::io::Error> {
        let dir = std::env::temp_dir().join(format!("muster-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("bad.toml");
        std::fs::write(&path, "[mail]\nfrom = \"a@b.c\"\nsmtp_host = \"x\"\n")?;
        let err = Config::load_from(Some(&path), std::iter::empty())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err,
            Some("configuration key mail.smtp_host: unknown key".to_owned())
        );
        Ok(())
    }
}
