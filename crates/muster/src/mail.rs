//! Mail wiring from the configuration: the pooled mailer, DKIM, and the dispatcher on the
//! worker runner.

use std::time::Duration;

use anyhow::Context;
use muster_core::backoff::Backoff;
use muster_mail::{DispatchConfig, Dispatcher, Mailer, Sending};
use muster_store::Store;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::worker::{Pace, Round, Runner, Worker, runner};

/// Pause between looks at an empty delivery queue.
const IDLE_POLL: Duration = Duration::from_millis(250);

pub fn mailer(config: &Config) -> anyhow::Result<Mailer> {
    Ok(Mailer::from_url(&config.mail.url, config.mail.concurrency)?)
}

/// The campaign dispatcher, ready to run until its token is cancelled.
pub fn dispatcher(
    store: Store,
    config: &Config,
) -> anyhow::Result<Runner<impl FnMut() -> Sending + use<>>> {
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
        bounce_domain: Some(mail.bounce_domain.trim().to_owned()).filter(|d| !d.is_empty()),
        concurrency: usize::try_from(mail.concurrency).unwrap_or(1),
        rate_per_second: mail.rate_per_second,
        lease: Duration::from_secs(mail.lease_secs),
        retries: Backoff {
            base: Duration::from_secs(mail.retry_secs),
            max: muster_core::campaign::MAX_RETRY_DELAY,
            max_attempts: mail.max_attempts,
        },
    };
    let mailer = Mailer::bulk_from_url(&config.mail.url, config.mail.concurrency)?;
    let dispatcher = Dispatcher::new(store, mailer, settings, dkim);
    Ok(runner(
        "dispatcher",
        Pace::Poll { idle: IDLE_POLL },
        move || dispatcher.start(),
    ))
}

impl Worker for Sending {
    async fn round(&mut self, stop: &CancellationToken) -> anyhow::Result<Round> {
        let claimed = Sending::round(self, stop)
            .await
            .context("dispatching campaigns")?;
        Ok(if claimed == 0 {
            Round::Idle
        } else {
            Round::Worked
        })
    }

    async fn finish(self) {
        Sending::finish(self).await;
    }
}
