//! `[channels]`: the connectors replies go out on besides email, and the secrets their
//! webhooks are checked with. A connector is on when its credentials are set, in the file
//! or as `MUSTER__CHANNELS__TWILIO__AUTH_TOKEN` and the like; none is ever logged (the
//! `Debug` of each section leaves them out).

use muster_channels::Connectors;
use muster_channels::telegram::TelegramBot;
use muster_channels::twilio::TwilioSms;
use muster_channels::webhook::ReplyWebhook;
use muster_channels::whatsapp::WhatsappCloud;
use muster_core::backoff::Backoff;
use muster_core::outbound::Template;
use serde::Deserialize;
use url::Url;

use super::{ConfigError, key_error};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelsConfig {
    /// Seconds a sender holds the messages it claimed.
    pub lease_secs: u64,
    /// First wait after a send that did not reach the provider, doubled on each further one.
    pub retry_secs: u64,
    /// Attempts before such a message counts as failed.
    pub max_attempts: u32,
    pub twilio: TwilioConfig,
    pub whatsapp: WhatsappConfig,
    pub telegram: TelegramConfig,
    pub webhook: WebhookConfig,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: String,
    pub from: String,
    pub api_base: String,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsappConfig {
    pub phone_number_id: String,
    pub access_token: String,
    pub app_secret: String,
    pub verify_token: String,
    pub api_base: String,
    pub api_version: String,
    pub template: String,
    pub template_language: String,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    pub bot_token: String,
    pub secret_token: String,
    pub api_base: String,
    pub set_webhook_at_start: bool,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    pub secret: String,
}

macro_rules! redacted_debug {
    ($type:ty, $name:literal, [$($field:ident),*]) => {
        impl std::fmt::Debug for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct($name)
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}

redacted_debug!(TwilioConfig, "TwilioConfig", [account_sid, from, api_base]);
redacted_debug!(
    WhatsappConfig,
    "WhatsappConfig",
    [phone_number_id, api_base, api_version, template]
);
redacted_debug!(
    TelegramConfig,
    "TelegramConfig",
    [api_base, set_webhook_at_start]
);
redacted_debug!(WebhookConfig, "WebhookConfig", []);

fn http_url(key: &str, raw: &str) -> Result<String, ConfigError> {
    let url =
        Url::parse(raw).map_err(|e| key_error(key, format!("\"{raw}\" is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(key_error(key, "must start with http:// or https://"));
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// `true` when every one of `values` is set, `false` when none is; half set is an error that
/// names the first missing key.
fn all_or_none(section: &str, values: &[(&str, &str)]) -> Result<bool, ConfigError> {
    let set = values.iter().filter(|(_, v)| !v.trim().is_empty()).count();
    if set == 0 {
        return Ok(false);
    }
    match values.iter().find(|(_, v)| v.trim().is_empty()) {
        Some((name, _)) => Err(key_error(
            &format!("channels.{section}.{name}"),
            format!(
                "must be set too: set {} together, or none",
                values
                    .iter()
                    .map(|(n, _)| format!("channels.{section}.{n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        None => Ok(true),
    }
}

impl ChannelsConfig {
    /// The backoff between attempts that did not reach the provider.
    pub fn retries(&self) -> Backoff {
        Backoff {
            base: std::time::Duration::from_secs(self.retry_secs),
            max: std::time::Duration::from_secs(3600),
            max_attempts: self.max_attempts,
        }
    }

    pub fn lease(&self) -> time::Duration {
        time::Duration::seconds(i64::try_from(self.lease_secs).unwrap_or(i64::MAX))
    }

    /// The configured connectors, each checked.
    pub fn connectors(&self) -> Result<Connectors, ConfigError> {
        if self.lease_secs < 5 || self.max_attempts < 1 || self.retry_secs < 1 {
            return Err(key_error(
                "channels.lease_secs",
                "the lease must be at least 5 seconds, channels.retry_secs and channels.max_attempts at least 1",
            ));
        }
        let t = &self.twilio;
        let twilio = all_or_none(
            "twilio",
            &[
                ("account_sid", &t.account_sid),
                ("auth_token", &t.auth_token),
                ("from", &t.from),
            ],
        )?
        .then(|| {
            Ok::<_, ConfigError>(TwilioSms {
                account_sid: t.account_sid.trim().to_owned(),
                auth_token: t.auth_token.trim().to_owned(),
                from: t.from.trim().to_owned(),
                api_base: http_url("channels.twilio.api_base", &t.api_base)?,
            })
        })
        .transpose()?;
        let w = &self.whatsapp;
        let whatsapp = all_or_none(
            "whatsapp",
            &[
                ("phone_number_id", &w.phone_number_id),
                ("access_token", &w.access_token),
                ("app_secret", &w.app_secret),
                ("verify_token", &w.verify_token),
            ],
        )?
        .then(|| {
            Ok::<_, ConfigError>(WhatsappCloud {
                phone_number_id: w.phone_number_id.trim().to_owned(),
                access_token: w.access_token.trim().to_owned(),
                app_secret: w.app_secret.trim().to_owned(),
                verify_token: w.verify_token.trim().to_owned(),
                api_base: http_url("channels.whatsapp.api_base", &w.api_base)?,
                api_version: w.api_version.trim().to_owned(),
                template: Some(w.template.trim())
                    .filter(|t| !t.is_empty())
                    .map(|name| Template {
                        name: name.to_owned(),
                        language: w.template_language.trim().to_owned(),
                    }),
            })
        })
        .transpose()?;
        let g = &self.telegram;
        let telegram = all_or_none(
            "telegram",
            &[
                ("bot_token", &g.bot_token),
                ("secret_token", &g.secret_token),
            ],
        )?
        .then(|| {
            let secret = g.secret_token.trim();
            // setWebhook takes 1 to 256 of these characters, and Telegram sends it back as is.
            if secret.len() > 256
                || !secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(key_error(
                    "channels.telegram.secret_token",
                    "must be 1 to 256 of A-Z, a-z, 0-9, _ and -",
                ));
            }
            Ok(TelegramBot {
                bot_token: g.bot_token.trim().to_owned(),
                secret_token: secret.to_owned(),
                api_base: http_url("channels.telegram.api_base", &g.api_base)?,
            })
        })
        .transpose()?;
        let h = &self.webhook;
        let webhook = all_or_none("webhook", &[("url", &h.url), ("secret", &h.secret)])?
            .then(|| {
                Ok::<_, ConfigError>(ReplyWebhook {
                    url: http_url("channels.webhook.url", h.url.trim())?,
                    secret: h.secret.clone(),
                })
            })
            .transpose()?;
        Ok(Connectors {
            twilio,
            whatsapp,
            telegram,
            webhook,
        })
    }
}
