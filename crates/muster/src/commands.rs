//! What each command does: parse the flags, call the use case, print its outcome.

use std::io::BufRead;

use std::sync::Arc;

use anyhow::{Context, bail};
use muster_app::incident_input::{NewIncident, parse_status};
use muster_app::publisher::LeftToServers;
use muster_app::{Actor, App, AppError, AppSettings};
use muster_core::contact_info::EmailAddress;
use muster_core::language::Lang;
use muster_core::role::Role;
use muster_store::Store;

use crate::cli::{
    ChannelsCommand, Command, IncidentCommand, TelegramCommand, TokenCommand, UserCommand,
};
use crate::config::Config;
use crate::{demo, serve};

pub async fn connect(config: &Config) -> anyhow::Result<Store> {
    if let Some(path) = config.database.url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or(path);
        if let Some(dir) = std::path::Path::new(file)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the database folder {}", dir.display()))?;
        }
    }
    let store = Store::connect(&config.database.url, config.database.max_connections)
        .await
        .context("connecting to the database (database.url)")?;
    store.migrate().await.context("migrating the database")?;
    Ok(store)
}

/// The application's settings as `config` gives them.
pub fn app_settings(
    config: &Config,
    mail: Option<muster_app::MailSettings>,
) -> anyhow::Result<AppSettings> {
    let connectors = config.channels.connectors()?;
    Ok(AppSettings {
        base_url: config.base_url(),
        id_domain: config.mail_domain(),
        mail_from: config.mail.from.clone(),
        bounce_domain: Some(config.mail.bounce_domain.trim().to_owned()).filter(|d| !d.is_empty()),
        claim_lease: time::Duration::minutes(config.queue.claim_minutes),
        mail,
        clock_offset: time::Duration::hours(config.clock.offset_hours),
        booking_pattern: config.booking_pattern()?,
        group_reply_hold: time::Duration::seconds(config.queue.group_reply_hold_secs),
        channels: muster_app::channels::ChannelSettings {
            sending: connectors.sending(),
            whatsapp_template: connectors.whatsapp.and_then(|w| w.template),
        },
    })
}

/// The use cases for a command: no pages are served here, so the servers pick every change
/// up within their page sync.
pub async fn cli_app(config: &Config) -> anyhow::Result<App> {
    let store = connect(config).await?;
    Ok(App::new(
        store,
        app_settings(config, None)?,
        Arc::new(LeftToServers),
    ))
}

/// A use case's refusal as the operator reads it: each bad field under the flag that set
/// it (`flag` maps a field to its flag where the names differ), in the words the console
/// and the API use.
pub fn refused(what: &str, err: AppError, flag: impl Fn(&str) -> String) -> anyhow::Error {
    match err {
        AppError::Invalid(errors) => {
            let english = Lang::english();
            let lines: Vec<String> = errors
                .iter()
                .map(|(field, problem)| {
                    let message = muster_app::i18n::shared().problem(&english, problem);
                    format!("  --{}: {message}", flag(field))
                })
                .collect();
            anyhow::anyhow!("{what}:\n{}", lines.join("\n"))
        }
        other => anyhow::anyhow!("{what}: {other}"),
    }
}

pub fn flag_named(field: &str) -> String {
    field.replace('_', "-")
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("MUSTER_PASSWORD") {
        return Ok(password);
    }
    eprintln!("Password (at least 12 characters), then Enter:");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve::serve(config, None).await,
        Command::Channels(ChannelsCommand::Telegram(TelegramCommand::SetWebhook)) => {
            crate::channels_cli::run(config).await
        }
        Command::Migrate => {
            connect(&config).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Demo => {
            let store = connect(&config).await?;
            let banner = demo::seed(&store, &config.base_url()).await?;
            serve::serve(config, Some(banner)).await
        }
        Command::User(UserCommand::Add {
            email,
            name,
            role,
            teams,
        }) => {
            let email = EmailAddress::parse(&email).context("--email")?;
            let role: Role = role.parse().map_err(|e| anyhow::anyhow!("--role: {e}"))?;
            let app = cli_app(&config).await?;
            let user = app
                .add_user(
                    &Actor::cli(),
                    &email,
                    &name,
                    role,
                    &read_password()?,
                    &teams,
                )
                .await
                .map_err(|e| refused("the user was not added", e, flag_named))?;
            println!(
                "{} ({}) can sign in at {}/console",
                user.email,
                user.role,
                config.base_url()
            );
            Ok(())
        }
        Command::Incident(IncidentCommand::Open(args)) => {
            let typed = NewIncident {
                slug: args.slug,
                title: args.title,
                summary: args.summary,
                time_zone: args.time_zone,
                languages: args.languages,
                severity: args.severity,
                status: args.status,
                ..Default::default()
            };
            let app = cli_app(&config).await?;
            let incident = app
                .open_incident(&Actor::cli(), &typed)
                .await
                .map_err(|e| refused("the incident was not opened", e, flag_named))?;
            println!(
                "opened {} ({}): {}/i/{}",
                incident.slug,
                incident.status.as_str(),
                config.base_url(),
                incident.slug
            );
            Ok(())
        }
        Command::Incident(IncidentCommand::Update {
            slug,
            message,
            lang,
            status,
            notify_audience,
        }) => {
            if message.is_none() && status.is_none() {
                bail!(
                    "give --message to publish an update, --status to change the status, or both"
                );
            }
            let app = cli_app(&config).await?;
            let actor = Actor::cli();
            if let Some(raw) = status {
                let status = parse_status(&raw).map_err(|problem| {
                    refused(
                        "the status was not changed",
                        AppError::field("status", problem),
                        flag_named,
                    )
                })?;
                app.set_incident_status(&actor, &slug, status)
                    .await
                    .map_err(|e| refused("the status was not changed", e, flag_named))?;
                println!("{slug} is now {}", status.as_str());
            }
            if let Some(text) = message {
                let lang = lang
                    .map(|code| Lang::parse(&code).context("--lang"))
                    .transpose()?;
                let posted = app
                    .post_update(&actor, &slug, lang.as_ref(), &text, notify_audience)
                    .await
                    .map_err(|e| {
                        refused("the update was not published", e, |field| match field {
                            "body" => "message".to_owned(),
                            other => flag_named(other),
                        })
                    })?;
                println!(
                    "published update {} on {}/i/{slug}",
                    posted.update.id,
                    config.base_url()
                );
                if let Some(campaign) = posted.announcement {
                    println!("campaign {} emails it to the audience", campaign.id);
                }
            }
            Ok(())
        }
        Command::Incident(IncidentCommand::Close { slug }) => {
            let app = cli_app(&config).await?;
            app.close_incident(&Actor::cli(), &slug)
                .await
                .map_err(|e| refused("the incident was not closed", e, flag_named))?;
            println!("{slug} is resolved");
            Ok(())
        }
        Command::Audience(command) => crate::bulk::audience(command, config).await,
        Command::Campaign(command) => crate::bulk::campaign(command, config).await,
        Command::ExportStatic { dir } => {
            let store = connect(&config).await?;
            let mut incidents = Vec::new();
            for summary in store.list_incidents().await? {
                if let Some(incident) = store.incident_by_slug(&summary.slug).await? {
                    incidents.push(incident);
                }
            }
            let written = serve::export_static(store, &config, &incidents, &dir)?;
            for path in &written {
                println!("{}", path.display());
            }
            eprintln!(
                "wrote {} files (each with .gz and .br) to {}",
                written.len(),
                dir.display()
            );
            Ok(())
        }
        Command::Simulate(args) => crate::simulate::run(args),
        Command::Token(TokenCommand::Revoke { id }) => {
            let app = cli_app(&config).await?;
            app.revoke_token(&Actor::cli(), id)
                .await
                .map_err(|e| refused("the token was not revoked", e, flag_named))?;
            println!("token {id} revoked");
            Ok(())
        }
        Command::Token(TokenCommand::Create { user, name }) => {
            let app = cli_app(&config).await?;
            let (id, token) = app
                .create_token(&Actor::cli(), &user, &name)
                .await
                .map_err(|e| refused("the token was not created", e, flag_named))?;
            println!("{token}");
            eprintln!("token {id} for {user}: shown once, store it safely");
            Ok(())
        }
    }
}
