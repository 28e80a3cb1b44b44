//! Mail wiring from the configuration: the pooled mailer, DKIM, and the dispatcher.

use std::time::Duration;

use anyhow::Context;
use muster_mail::{DispatchConfig, Dispatcher, Mailer};
use muster_store::Store;

use crate::config::Config;

pub fn mailer(config: &Config) -> anyhow::Result<Mailer> {
    Ok(Mailer::from_url(&config.mail.url, config.mail.concurrency)?)
}

pub fn dispatcher(store: Store, config: &Config) -> anyhow::Result<Dispatcher> {
    let mail = &config.mail;
    let dkim = if mail.dkim_key_file.is_empty() {
        None
    } else {
        Some(
            muster_mail::dkim::load(&mail.dkim_key_file, &mail.dkim_selector, &mail.dkim_domain)
                .context("mail.dkim_key_file")?,
        )
    };
    let settings = DispatchConfig {
        worker_id: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
        from: mail.from.clone(),
        base_url: config.base_url(),
        id_domain: config.mail_domain(),
        concurrency: usize::try_from(mail.concurrency).unwrap_or(1),
        rate_per_second: mail.rate_per_second,
        lease: Duration::from_secs(mail.lease_secs),
        retry_after: Duration::from_secs(mail.retry_secs),
        max_attempts: mail.max_attempts,
        idle_poll: Duration::from_millis(250),
    };
    let mailer = Mailer::bulk_from_url(&config.mail.url, config.mail.concurrency)?;
    Ok(Dispatcher::new(store, mailer, settings, dkim))
}
