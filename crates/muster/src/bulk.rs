//! `muster audience import` and `muster campaign …`: the manager's bulk-mail commands,
//! with progress on stderr so stdout stays the report.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use muster_app::Actor;
use muster_app::campaign_input::CampaignInput;
use muster_app::campaigns::CampaignControl;
use muster_core::campaign::Progress;
use muster_store::Store;
use tokio_util::sync::CancellationToken;

use crate::cli::{AudienceCommand, CampaignCommand, SendArgs};
use crate::commands::{cli_app, flag_named, refused};
use crate::config::Config;

pub async fn audience(command: AudienceCommand, config: Config) -> anyhow::Result<()> {
    let AudienceCommand::Import { incident, file } = command;
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let app = cli_app(&config).await?;
    let report = app
        .import_audience(&Actor::cli(), &incident, &text, |done, total| {
            eprint!("\rimporting: {done}/{total} rows");
            let _ = std::io::stderr().flush();
        })
        .await
        .map_err(|e| {
            refused(
                &format!("{} was not imported", file.display()),
                e,
                flag_named,
            )
        })?;
    eprintln!();
    for rejection in &report.rejected {
        println!("line {}: {}", rejection.line, rejection.reason);
    }
    println!(
        "{} rows: {} added, {} updated, {} rejected",
        report.rows,
        report.created,
        report.updated,
        report.rejected.len()
    );
    Ok(())
}

fn bar(progress: &Progress) -> String {
    const WIDTH: u64 = 30;
    let done = progress.sent
        + progress.failed
        + progress.suppressed
        + progress.cancelled
        + progress.bounced;
    let filled = (done * WIDTH).checked_div(progress.total).unwrap_or(WIDTH);
    let eta = progress
        .estimated_finish
        .map(|at| {
            let left = (at - time::OffsetDateTime::now_utc())
                .whole_seconds()
                .max(0);
            format!(", {}m{:02}s left", left / 60, left % 60)
        })
        .unwrap_or_default();
    format!(
        "[{}{}] {done}/{} · {} sent · {} failed · {} pending · {:.0}/s{eta}",
        "#".repeat(usize::try_from(filled).unwrap_or(0)),
        ".".repeat(usize::try_from(WIDTH - filled.min(WIDTH)).unwrap_or(0)),
        progress.total,
        progress.sent,
        progress.failed,
        progress.pending,
        progress.rate_per_second,
    )
}

fn summary(id: i64, status: &str, p: &Progress) -> String {
    format!(
        "campaign {id} {status}: {} recipients, {} sent, {} failed, {} suppressed, {} cancelled, {} pending, {:.0} messages/s",
        p.total, p.sent, p.failed, p.suppressed, p.cancelled, p.pending, p.rate_per_second
    )
}

async fn send(args: SendArgs, config: Config) -> anyhow::Result<()> {
    let input = CampaignInput {
        subject: args.subject,
        text: std::fs::read_to_string(&args.text)
            .with_context(|| format!("reading {}", args.text.display()))?,
        html: match &args.html {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?,
            ),
            None => None,
        },
        languages: args.languages,
        departure_from: args.departure_from,
        departure_to: args.departure_to,
        send_at: args.at,
    };
    let app = cli_app(&config).await?;
    let store = app.store.clone();
    let campaign = app
        .create_campaign(&Actor::cli(), &args.incident, &input)
        .await
        .map_err(|e| {
            refused("the campaign was not created", e, |field| match field {
                "send_at" => "at".to_owned(),
                other => flag_named(other),
            })
        })?;
    let progress = store.campaign_progress(campaign.id).await?;
    println!(
        "campaign {} {} for {} recipients",
        campaign.id,
        campaign.status.as_str(),
        progress.total
    );
    if args.detach {
        return Ok(());
    }
    let stop = CancellationToken::new();
    let dispatcher = crate::mail::dispatcher(store.clone(), &config)?;
    let worker = tokio::spawn(dispatcher.run(stop.clone()));
    let interrupted = watch(&store, campaign.id, &stop).await;
    stop.cancel();
    let _ = worker.await;
    let finished = store.campaign(campaign.id).await?;
    let progress = store.campaign_progress(campaign.id).await?;
    println!(
        "{}",
        summary(campaign.id, finished.status.as_str(), &progress)
    );
    store.close().await.ok();
    if interrupted? {
        bail!(
            "interrupted: the campaign goes on when a server or `muster campaign send` runs again"
        );
    }
    Ok(())
}

/// Draws the progress bar until the campaign ends; true when interrupted by a signal.
async fn watch(store: &Store, id: i64, stop: &CancellationToken) -> anyhow::Result<bool> {
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = &mut interrupt => { eprintln!(); return Ok(true); }
            _ = terminate.recv() => { eprintln!(); return Ok(true); }
            () = stop.cancelled() => return Ok(true),
            _ = ticker.tick() => {}
        }
        let campaign = store.campaign(id).await?;
        let progress = store.campaign_progress(id).await?;
        eprint!("\r{}", bar(&progress));
        let _ = std::io::stderr().flush();
        if campaign.status.is_finished() {
            eprintln!();
            return Ok(false);
        }
    }
}

pub async fn campaign(command: CampaignCommand, config: Config) -> anyhow::Result<()> {
    let (id, control) = match command {
        CampaignCommand::Send(args) => return send(args, config).await,
        CampaignCommand::Status { id } => (id, None),
        CampaignCommand::Pause { id } => (id, Some(CampaignControl::Pause)),
        CampaignCommand::Resume { id } => (id, Some(CampaignControl::Resume)),
        CampaignCommand::Cancel { id } => (id, Some(CampaignControl::Cancel)),
    };
    let app = cli_app(&config).await?;
    let result = match control {
        None => app.store.campaign(id).await?,
        Some(control) => app
            .control_campaign(&Actor::cli(), id, control)
            .await
            .map_err(|e| refused("the campaign was not changed", e, flag_named))?,
    };
    let store = &app.store;
    let progress = store.campaign_progress(id).await?;
    println!("{}", summary(id, result.status.as_str(), &progress));
    Ok(())
}
