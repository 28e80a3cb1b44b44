//! `muster channels telegram set-webhook`: points the bot at this server's Telegram door,
//! with the secret token Telegram is to send back on every update.

use anyhow::Context;
use muster_channels::telegram::TelegramBot;

use crate::config::Config;

/// Where Telegram posts updates, under the public base URL.
pub const TELEGRAM_PATH: &str = "/api/v1/channels/telegram";

/// Calls `setWebhook` for `bot` with this server's address; returns the address.
pub async fn set_telegram_webhook(
    bot: &TelegramBot,
    client: &reqwest::Client,
    config: &Config,
) -> anyhow::Result<String> {
    let url = format!("{}{TELEGRAM_PATH}", config.base_url());
    bot.set_webhook(client, &url)
        .await
        .context("Telegram's setWebhook")?;
    tracing::info!("Telegram webhook set");
    Ok(url)
}

pub async fn run(config: Config) -> anyhow::Result<()> {
    let connectors = config.channels.connectors()?;
    let bot = connectors
        .telegram
        .as_ref()
        .context("Telegram is not configured: set channels.telegram.bot_token and secret_token")?;
    let client = muster_channels::client().context("building the HTTP client")?;
    let url = set_telegram_webhook(bot, &client, &config).await?;
    println!("Telegram will post the bot's updates to {url}");
    Ok(())
}
