//! `muster serve`: the HTTP server, the page-sync and mail workers, and graceful shutdown.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::web::Data;
use anyhow::Context;
use muster_web::{AppState, WebConfig};
use tokio_util::sync::CancellationToken;

use crate::commands::connect;
use crate::{mail_worker, sla_worker, webhook_worker};
use muster_mail::Mailer;

/// SMTP connections the transactional mail worker keeps open.
const MAIL_POOL_SIZE: u32 = 4;
use crate::config::Config;

/// How often each replica checks for content published elsewhere: well inside the
/// two seconds within which every replica must serve a new update.
const PAGE_SYNC_INTERVAL: Duration = Duration::from_millis(500);

/// Recomputes the posted waits from the live queue, at least every minute.
async fn wait_refresh(state: Data<AppState>, interval: Duration, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if let Err(err) = state.refresh_waits().await {
            tracing::warn!(error = %err, "cannot refresh wait times; showing the last ones");
        }
    }
}

async fn page_sync(state: Data<AppState>, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(PAGE_SYNC_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        match state.sync_pages().await {
            Ok(()) if failing => {
                tracing::info!("database reachable again; pages in sync");
                failing = false;
            }
            Ok(()) => {}
            // The pages in memory keep being served; say so once, not twice a second.
            Err(err) if !failing => {
                tracing::warn!(error = %err, "cannot sync pages; serving the last published versions");
                failing = true;
            }
            Err(_) => {}
        }
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
pub fn app_state(store: muster_store::Store, config: &Config) -> anyhow::Result<AppState> {
    let web_config = WebConfig {
        base_url: config.base_url(),
        session_lifetime: time::Duration::hours(config.security.session_hours),
        login_max_failures: config.security.login_max_failures,
        login_window: time::Duration::minutes(config.security.login_window_minutes),
        inbound_secret: config.inbound.secret.clone(),
        booking_pattern: config.booking_pattern()?,
        mail_from: config.mail.from.clone(),
        clock_offset: time::Duration::hours(config.clock.offset_hours),
        intake_limit: config.intake.max_per_address,
        intake_window: Duration::from_secs(config.intake.window_secs),
        claim_lease: time::Duration::minutes(config.queue.claim_minutes),
    };
    let mut state =
        AppState::new(store, web_config).context("loading templates and translations")?;
    state.mail = Some(muster_web::MailSettings {
        mailer: crate::mail::mailer(config)?,
        from: config.mail.from.clone(),
        id_domain: config.mail_domain(),
    });
    Ok(state)
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
    let stop = CancellationToken::new();
    let sync = tokio::spawn(page_sync(state.clone(), stop.clone()));
    let waits = tokio::spawn(wait_refresh(
        state.clone(),
        Duration::from_secs(config.queue.wait_refresh_secs),
        stop.clone(),
    ));
    let mailer = Mailer::from_url(&config.mail.url, MAIL_POOL_SIZE)?;
    let mail = tokio::spawn(mail_worker::run(state.store.clone(), mailer, stop.clone()));
    let sla_settings = sla_worker::SlaSettings {
        interval: Duration::from_secs(config.queue.sla_scan_secs),
        base_url: config.base_url(),
        from: config.mail.from.clone(),
        clock_offset: time::Duration::hours(config.clock.offset_hours),
    };
    let sla = tokio::spawn(sla_worker::run(
        state.store.clone(),
        sla_settings,
        stop.clone(),
    ));
    let webhooks = tokio::spawn(webhook_worker::run(
        state.store.clone(),
        webhook_worker::client().context("building the webhook HTTP client")?,
        webhook_worker::RetryPolicy {
            base_secs: config.webhooks.retry_base_secs,
            max_attempts: config.webhooks.max_attempts,
        },
        stop.clone(),
    ));
    let dispatcher = crate::mail::dispatcher(state.store.clone(), &config)?;
    let dispatch = tokio::spawn(dispatcher.run(stop.clone()));

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
    let _ = webhooks.await;
    // In-flight sends finish and every outcome is written before the store closes.
    let _ = dispatch.await;
    state.store.clone().close().await.ok();
    tracing::info!("stopped");
    Ok(())
}
