//! `muster serve`: the HTTP server, the background workers on the worker runner, and
//! graceful shutdown.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::web::Data;
use anyhow::Context;
use muster_web::{AppState, WebConfig};
use tokio_util::sync::CancellationToken;

use crate::commands::connect;
use crate::config::Config;
use crate::worker::{Pace, Round, Worker, runner};
use crate::{channel_worker, group_reply_worker, mail_worker, sla_worker, webhook_worker};
use muster_mail::Mailer;

/// SMTP connections the transactional mail worker keeps open.
const MAIL_POOL_SIZE: u32 = 4;

/// How often each replica checks for content published elsewhere: well inside the
/// two seconds within which every replica must serve a new update.
const PAGE_SYNC_INTERVAL: Duration = Duration::from_millis(500);

/// Re-renders the pages whose content was published elsewhere (another replica, the CLI).
/// While the database is away the pages in memory keep being served.
struct PageSync(Data<AppState>);

impl Worker for PageSync {
    async fn round(&mut self, _stop: &CancellationToken) -> anyhow::Result<Round> {
        self.0
            .sync_pages()
            .await
            .context("syncing the pages; serving the last published versions")?;
        Ok(Round::Idle)
    }
}

/// Recomputes the posted waits from the live queue, at least every minute.
struct WaitRefresh(Data<AppState>);

impl Worker for WaitRefresh {
    async fn round(&mut self, _stop: &CancellationToken) -> anyhow::Result<Round> {
        self.0
            .publication
            .refresh_waits()
            .await
            .context("refreshing the wait times; showing the last ones")?;
        Ok(Round::Idle)
    }
}

/// Listens for SIGTERM and Ctrl-C. The handlers are installed when this is called, not
/// when the future is first polled, so a signal right after start-up is never missed.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

/// The web layer's state over `store`, configured from `config`.
fn app_state(store: muster_store::Store, config: &Config) -> anyhow::Result<AppState> {
    let web_config = WebConfig {
        session_lifetime: time::Duration::hours(config.security.session_hours),
        login_max_failures: config.security.login_max_failures,
        login_window: time::Duration::minutes(config.security.login_window_minutes),
        inbound_secret: config.inbound.secret.clone(),
        twilio_auth_token: config.voice.twilio_auth_token.clone(),
        mail_from: config.mail.from.clone(),
        intake_limit: config.intake.max_per_address,
        intake_window: Duration::from_secs(config.intake.window_secs),
        channels: config.channels.connectors()?,
    };
    let mail = muster_app::MailSettings {
        mailer: crate::mail::mailer(config)?,
        from: config.mail.from.clone(),
    };
    let settings = crate::commands::app_settings(config, Some(mail))?;
    AppState::new(store, settings, web_config).context("loading templates and translations")
}

/// `muster export-static`: the public pages as files, rendered as the server renders them.
pub fn export_static(
    store: muster_store::Store,
    config: &Config,
    incidents: &[muster_core::incident::Incident],
    dir: &std::path::Path,
) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let state = app_state(store, config)?;
    Ok(muster_web::public::export::export(
        &state.publication.renderer(),
        incidents,
        dir,
    )?)
}

pub async fn serve(config: Config, banner: Option<String>) -> anyhow::Result<()> {
    let store = connect(&config).await?;
    let state = Data::new(app_state(store, &config)?);
    state
        .sync_pages()
        .await
        .context("rendering the public pages")?;

    let addr = config.bind_addr()?;
    let listener =
        TcpListener::bind(addr).with_context(|| format!("binding server.bind = {addr}"))?;
    let local = listener.local_addr()?;
    let workers = match config.server.workers {
        0 => std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2),
        n => n,
    };
    let server = muster_web::run(
        listener,
        state.clone(),
        config.trusted_proxies()?,
        workers,
        Duration::from_secs(config.server.shutdown_timeout_secs),
    )?;
    let handle = server.handle();
    // Every worker watches this one token; shutdown cancels it.
    let stop = CancellationToken::new();
    let sync_state = state.clone();
    let sync = tokio::spawn(
        runner("page-sync", Pace::Every(PAGE_SYNC_INTERVAL), move || {
            PageSync(sync_state.clone())
        })
        .run(stop.clone()),
    );
    let waits_state = state.clone();
    let waits = tokio::spawn(
        runner(
            "wait-refresh",
            Pace::Every(Duration::from_secs(config.queue.wait_refresh_secs)),
            move || WaitRefresh(waits_state.clone()),
        )
        .run(stop.clone()),
    );
    let mailer = Mailer::from_url(&config.mail.url, MAIL_POOL_SIZE)?;
    let mail_lease =
        time::Duration::seconds(i64::try_from(config.mail.lease_secs).unwrap_or(i64::MAX));
    let mail = tokio::spawn(
        mail_worker::worker(state.store.clone(), mailer, mail_lease).run(stop.clone()),
    );
    let sla_interval = Duration::from_secs(config.queue.sla_scan_secs);
    let sla = tokio::spawn(sla_worker::worker(state.app.clone(), sla_interval).run(stop.clone()));
    let group_replies = tokio::spawn(
        group_reply_worker::worker(
            state.app.clone(),
            time::Duration::seconds(config.queue.group_reply_lease_secs),
        )
        .run(stop.clone()),
    );
    let webhooks = tokio::spawn(
        webhook_worker::worker(
            state.store.clone(),
            webhook_worker::client().context("building the webhook HTTP client")?,
            config.webhooks.retries(),
        )
        .run(stop.clone()),
    );
    let connectors = config.channels.connectors()?;
    let channel_client = muster_channels::client().context("building the channels' HTTP client")?;
    if config.channels.telegram.set_webhook_at_start
        && let Some(bot) = &connectors.telegram
    {
        crate::channels_cli::set_telegram_webhook(bot, &channel_client, &config).await?;
    }
    let channels = tokio::spawn(
        channel_worker::worker(
            state.store.clone(),
            channel_client,
            channel_worker::SenderSettings {
                connectors,
                base_url: config.base_url(),
                lease: config.channels.lease(),
                retries: config.channels.retries(),
            },
        )
        .run(stop.clone()),
    );
    let dispatcher = crate::mail::dispatcher(state.store.clone(), &config)?;
    let dispatch = tokio::spawn(dispatcher.run(stop.clone()));
    // Each mailbox's lease names this replica, so a restarted one waits like any other.
    let replica = uuid::Uuid::new_v4().simple().to_string();
    let lease = Duration::from_secs(config.inbound.mailbox_lease_secs);
    let fetchers: Vec<_> = config
        .mailboxes()?
        .into_iter()
        .map(|mailbox| {
            tokio::spawn(
                crate::mailbox::worker(state.app.clone(), mailbox, replica.clone(), lease)
                    .run(stop.clone()),
            )
        })
        .collect();
    // The SMTP door is bound before the server says it listens, so it takes mail from then.
    let door = match config.smtp_door()? {
        Some(settings) => {
            let listeners = crate::smtp_door::bind(&settings).await?;
            let door = crate::smtp_door::Door {
                app: state.app.clone(),
                tls: crate::smtp_door::acceptor(settings.tls_files())?,
                settings,
            };
            Some(tokio::spawn(crate::smtp_door::serve(
                door,
                listeners,
                stop.clone(),
                Duration::from_secs(config.server.shutdown_timeout_secs),
            )))
        }
        None => None,
    };

    let shutdown = shutdown_signal().context("installing the signal handlers")?;
    // Tests and scripts read this line to find the port.
    println!("muster listening on http://{local}");
    if let Some(banner) = banner {
        println!("{banner}");
    }
    tracing::info!(%local, workers, "serving");

    let mut server_task = tokio::spawn(server);
    let server_ended = tokio::select! {
        () = shutdown => {
            tracing::info!("shutting down: finishing in-flight requests");
            false
        }
        result = &mut server_task => {
            tracing::error!(?result, "the HTTP server stopped on its own");
            true
        }
    };
    stop.cancel();
    handle.stop(true).await;
    if !server_ended {
        let _ = server_task.await;
    }
    let _ = sync.await;
    let _ = waits.await;
    let _ = mail.await;
    let _ = sla.await;
    let _ = group_replies.await;
    let _ = webhooks.await;
    let _ = channels.await;
    for fetcher in fetchers {
        // Each gives its mailbox's lease up, so another replica takes it at once.
        let _ = fetcher.await;
    }
    if let Some(door) = door {
        // Messages under way are committed and answered before the store closes.
        let _ = door.await;
    }
    // In-flight sends finish and every outcome is written before the store closes.
    let _ = dispatch.await;
    state.store.clone().close().await.ok();
    tracing::info!("stopped");
    Ok(())
}
