//! `[[inbound.mailboxes]]`: the IMAP mailboxes Muster fetches, each checked at start-up
//! into a [`MailboxSettings`] (or an error naming the key).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::{ConfigError, key_error};

/// One `[[inbound.mailboxes]]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxConfig {
    /// `imaps://user@host:993/INBOX` (`imap://` only with `allow_plaintext`).
    pub url: String,
    /// Shown in the console and keys the cursor; the URL without its scheme by default.
    #[serde(default)]
    pub name: Option<String>,
    /// The variable that holds the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// A file that holds the password (a mounted secret).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// A command that prints an OAuth2 access token, for XOAUTH2 (Microsoft 365, Google).
    #[serde(default)]
    pub oauth2_token_command: Option<String>,
    /// The incident mail is taken in on; the current crisis when not set.
    #[serde(default)]
    pub incident: Option<String>,
    /// `flag` (mark read), `move:<folder>` or `delete`, once a message is taken in.
    #[serde(default = "default_after_intake")]
    pub after_intake: String,
    /// How often to look for new mail where the server offers no IDLE.
    #[serde(default = "default_poll_secs")]
    pub poll_secs: u64,
    /// Allows `imap://` without TLS: for a server on the same host or in tests.
    #[serde(default)]
    pub allow_plaintext: bool,
    /// PEM certificates to trust besides the public roots (a private CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

fn default_after_intake() -> String {
    "flag".to_owned()
}

fn default_poll_secs() -> u64 {
    30
}

/// How Muster signs in to a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxAuth {
    PasswordEnv(String),
    PasswordFile(PathBuf),
    OAuth2Command(String),
}

/// What happens to a message in the mailbox once it is taken in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterIntake {
    /// Marked read (`\Seen`) and left where it is.
    Flag,
    Move(String),
    Delete,
}

/// A mailbox ready to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxSettings {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub user: String,
    pub folder: String,
    pub auth: MailboxAuth,
    pub incident: Option<String>,
    pub after_intake: AfterIntake,
    pub poll: Duration,
    pub ca_file: Option<PathBuf>,
}

impl MailboxConfig {
    /// Checks the table at `inbound.mailboxes[index]`.
    pub fn settings(&self, index: usize) -> Result<MailboxSettings, ConfigError> {
        let key = |field: &str| format!("inbound.mailboxes[{index}].{field}");
        let url = Url::parse(&self.url)
            .map_err(|e| key_error(&key("url"), format!("\"{}\" is not a URL: {e}", self.url)))?;
        let tls = match url.scheme() {
            "imaps" => true,
            "imap" if self.allow_plaintext => false,
            "imap" => {
                return Err(key_error(
                    &key("url"),
                    "imap:// sends the password in clear: use imaps://, or set allow_plaintext = true for a server on this host",
                ));
            }
            _ => return Err(key_error(&key("url"), "must start with imaps://")),
        };
        if url.password().is_some() {
            return Err(key_error(
                &key("url"),
                "holds a password: set password_env or password_file instead",
            ));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| key_error(&key("url"), "names no host"))?
            .to_owned();
        let user = decode(url.username());
        if user.is_empty() {
            return Err(key_error(
                &key("url"),
                "names no user: imaps://user@host:993/INBOX",
            ));
        }
        let folder = match decode(url.path().trim_start_matches('/')) {
            folder if folder.is_empty() => "INBOX".to_owned(),
            folder => folder,
        };
        let auth = match (
            &self.password_env,
            &self.password_file,
            &self.oauth2_token_command,
        ) {
            (Some(var), None, None) if !var.trim().is_empty() => {
                MailboxAuth::PasswordEnv(var.trim().to_owned())
            }
            (None, Some(file), None) => MailboxAuth::PasswordFile(file.clone()),
            (None, None, Some(command)) if !command.trim().is_empty() => {
                MailboxAuth::OAuth2Command(command.clone())
            }
            _ => {
                return Err(key_error(
                    &key("password_env"),
                    "set exactly one of password_env, password_file and oauth2_token_command",
                ));
            }
        };
        let after_intake = match self.after_intake.trim() {
            "flag" => AfterIntake::Flag,
            "delete" => AfterIntake::Delete,
            other => match other.strip_prefix("move:").map(str::trim) {
                Some(folder) if !folder.is_empty() => AfterIntake::Move(folder.to_owned()),
                _ => {
                    return Err(key_error(
                        &key("after_intake"),
                        format!("\"{other}\" is not flag, move:<folder> or delete"),
                    ));
                }
            },
        };
        if !(1..=3600).contains(&self.poll_secs) {
            return Err(key_error(&key("poll_secs"), "must be between 1 and 3600"));
        }
        let port = url.port().unwrap_or(if tls { 993 } else { 143 });
        let name = match self.name.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => format!("{user}@{host}:{port}/{folder}"),
        };
        Ok(MailboxSettings {
            name,
            host,
            port,
            tls,
            user,
            folder,
            auth,
            incident: self.incident.clone().filter(|s| !s.trim().is_empty()),
            after_intake,
            poll: Duration::from_secs(self.poll_secs),
            ca_file: self.ca_file.clone(),
        })
    }
}

/// A URL part with its `%40` (and the like) decoded.
fn decode(part: &str) -> String {
    percent_encoding::percent_decode_str(part)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(extra: &str) -> Result<MailboxSettings, String> {
        let config: MailboxConfig =
            toml::from_str(extra).map_err(|e| format!("not a table: {e}"))?;
        config.settings(0).map_err(|e| e.to_string())
    }

    #[test]
    fn a_mailbox_url_gives_host_user_and_folder() {
        let settings = mailbox(
            "url = \"imaps://support@example.com@imap.example.com/Support%20Desk\"\npassword_env = \"IMAP_PASSWORD\"",
        );
        assert_eq!(
            settings.as_ref().map(|s| (
                s.host.as_str(),
                s.port,
                s.user.as_str(),
                s.folder.as_str()
            )),
            Ok((
                "imap.example.com",
                993,
                "support@example.com",
                "Support Desk"
            ))
        );
        assert_eq!(
            settings.map(|s| (s.tls, s.after_intake, s.name)),
            Ok((
                true,
                AfterIntake::Flag,
                "support@example.com@imap.example.com:993/Support Desk".to_owned()
            ))
        );
        let moved = mailbox(
            "url = \"imaps://u@h:1993\"\npassword_file = \"/run/p\"\nafter_intake = \"move:Done\"",
        );
        assert_eq!(
            moved.map(|s| (s.port, s.folder, s.after_intake)),
            Ok((
                1993,
                "INBOX".to_owned(),
                AfterIntake::Move("Done".to_owned())
            ))
        );
    }

    #[test]
    fn a_mailbox_that_cannot_work_is_refused_with_its_key() {
        let problem = |extra: &str| mailbox(extra).err().unwrap_or_default();
        assert!(
            problem("url = \"imap://u@h\"\npassword_env = \"P\"").contains("allow_plaintext"),
            "plain IMAP only when asked for"
        );
        assert!(
            mailbox("url = \"imap://u@h\"\npassword_env = \"P\"\nallow_plaintext = true")
                .is_ok_and(|s| !s.tls && s.port == 143)
        );
        assert!(
            problem("url = \"imaps://u:secret@h\"\npassword_env = \"P\"")
                .contains("inbound.mailboxes[0].url: holds a password")
        );
        assert!(problem("url = \"imaps://h\"\npassword_env = \"P\"").contains("names no user"));
        assert!(
            problem("url = \"imaps://u@h\"").contains("exactly one of password_env"),
            "no way to sign in"
        );
        assert!(
            problem("url = \"imaps://u@h\"\npassword_env = \"P\"\noauth2_token_command = \"x\"")
                .contains("exactly one")
        );
        assert!(
            problem("url = \"imaps://u@h\"\npassword_env = \"P\"\nafter_intake = \"archive\"")
                .contains("inbound.mailboxes[0].after_intake")
        );
        assert!(problem("url = \"https://h\"\npassword_env = \"P\"").contains("imaps://"));
        assert!(problem("url = \"imaps://u@h\"\npasword_env = \"P\"").contains("unknown field"));
    }
}
