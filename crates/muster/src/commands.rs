//! What each command does, over the store.

use std::io::BufRead;

use anyhow::{Context, bail};
use muster_core::contact_info::EmailAddress;
use muster_core::incident::IncidentStatus;
use muster_core::language::Lang;
use muster_core::localized::Localized;
use muster_core::role::Role;
use muster_store::Store;
use muster_store::incidents::IncidentEdit;
use muster_web::incident_input::{FieldErrors, NewIncident};

use crate::cli::{Command, IncidentCommand, TokenCommand, UserCommand};
use crate::config::Config;
use crate::{demo, serve};

const CLI_ACTOR: &str = "cli";

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

fn describe(errors: &FieldErrors) -> String {
    errors
        .iter()
        .map(|(field, problem)| format!("  --{}: {problem}", field.replace('_', "-")))
        .collect::<Vec<_>>()
        .join("\n")
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
            let store = connect(&config).await?;
            let user = store
                .upsert_user(&email, &name, role, &read_password()?)
                .await?;
            for key in teams {
                let team = store.ensure_team(&key, &key).await?;
                store.add_team_member(team.id, user.id).await?;
            }
            store
                .audit(
                    CLI_ACTOR,
                    "user.add",
                    &user.email,
                    serde_json::json!({"role": user.role}),
                )
                .await?;
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
            let draft = typed.parse().map_err(|errors| {
                anyhow::anyhow!("the incident was not opened:\n{}", describe(&errors))
            })?;
            let store = connect(&config).await?;
            let incident = store.create_incident(draft, CLI_ACTOR).await?;
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
            let store = connect(&config).await?;
            let incident = store
                .incident_by_slug(&slug)
                .await?
                .with_context(|| format!("no incident \"{slug}\""))?;
            if message.is_none() && status.is_none() {
                bail!(
                    "give --message to publish an update, --status to change the status, or both"
                );
            }
            if let Some(raw) = status {
                let status = IncidentStatus::parse(&raw).with_context(|| {
                    format!("--status: \"{raw}\" is not draft, active, monitoring or resolved")
                })?;
                store
                    .edit_incident(
                        &slug,
                        IncidentEdit {
                            status: Some(status),
                            ..Default::default()
                        },
                        CLI_ACTOR,
                    )
                    .await?;
                println!("{slug} is now {}", status.as_str());
            }
            if let Some(text) = message.filter(|m| !m.trim().is_empty()) {
                let lang = match lang {
                    Some(code) => Lang::parse(&code).context("--lang")?,
                    None => incident.default_language.clone(),
                };
                let update = store
                    .post_update(&slug, Localized::single(lang, text.trim()), None, CLI_ACTOR)
                    .await?;
                println!(
                    "published update {} on {}/i/{slug}",
                    update.id,
                    config.base_url()
                );
                if notify_audience {
                    let new = muster_store::campaigns::NewCampaign {
                        content: muster_core::campaign::CampaignContent::update_announcement(),
                        segment: Default::default(),
                        send_at: None,
                    };
                    let campaign = store
                        .create_campaign(&slug, new, &config.mail_domain(), CLI_ACTOR, None)
                        .await?;
                    println!("campaign {} emails it to the audience", campaign.id);
                }
            }
            Ok(())
        }
        Command::Incident(IncidentCommand::Close { slug }) => {
            let store = connect(&config).await?;
            let edit = IncidentEdit {
                status: Some(IncidentStatus::Resolved),
                ..Default::default()
            };
            store.edit_incident(&slug, edit, CLI_ACTOR).await?;
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
            let state = crate::serve::app_state(store, &config)?;
            let written = muster_web::public::export::export(&state.renderer(), &incidents, &dir)?;
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
            let store = connect(&config).await?;
            store.revoke_api_token(id).await?;
            store
                .audit(
                    CLI_ACTOR,
                    "token.revoke",
                    &id.to_string(),
                    serde_json::json!({}),
                )
                .await?;
            println!("token {id} revoked");
            Ok(())
        }
        Command::Token(TokenCommand::Create { user, name }) => {
            let store = connect(&config).await?;
            let (id, token) = store.create_api_token(&user, &name).await?;
            store
                .audit(
                    CLI_ACTOR,
                    "token.create",
                    &user,
                    serde_json::json!({"token_id": id, "name": name}),
                )
                .await?;
            println!("{token}");
            eprintln!("token {id} for {user}: shown once, store it safely");
            Ok(())
        }
    }
}
