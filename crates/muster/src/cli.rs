//! The command line: `muster serve`, `migrate`, `demo`, `user`, `incident`, `token`,
//! `audience`, `campaign`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "muster", version, about = "Crisis-mode incident communication")]
pub struct Cli {
    /// A TOML file laid over the embedded defaults.
    #[arg(long, global = true, env = "MUSTER_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web service and its workers.
    Serve,
    /// Bring the database schema up to date.
    Migrate,
    /// Seed a demo incident with users and serve it.
    Demo,
    /// Console users.
    #[command(subcommand)]
    User(UserCommand),
    /// Open, update and close incidents.
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Affected customers of an incident.
    #[command(subcommand)]
    Audience(AudienceCommand),
    /// Bulk email campaigns to an incident's audience.
    #[command(subcommand)]
    Campaign(CampaignCommand),
    /// Write the public pages, JSON and feeds as static files (with .gz and .br twins).
    ExportStatic {
        /// The folder to write into; created if missing.
        dir: std::path::PathBuf,
    },
    Simulate(crate::simulate::SimulateArgs),
    /// The channel connectors (docs/channels.md).
    #[command(subcommand)]
    Channels(ChannelsCommand),
}

#[derive(Debug, Subcommand)]
pub enum ChannelsCommand {
    /// The Telegram bot.
    #[command(subcommand)]
    Telegram(TelegramCommand),
}

#[derive(Debug, Subcommand)]
pub enum TelegramCommand {
    /// Point the bot's webhook at this server (public.base_url), with the secret token.
    SetWebhook,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user (or reset an existing one's role and password). The password is read
    /// from MUSTER_PASSWORD, or from the first line of standard input.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["manager", "agent"])]
        role: String,
        /// Teams the user works for (agents take cases from these).
        #[arg(long, value_delimiter = ',')]
        teams: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    #[arg(long)]
    pub slug: String,
    #[arg(long)]
    pub title: String,
    #[arg(long, default_value = "")]
    pub summary: String,
    /// Comma-separated; the first is the default.
    #[arg(long, default_value = "en")]
    pub languages: String,
    #[arg(long, default_value = "UTC")]
    pub time_zone: String,
    #[arg(long, default_value = "major")]
    pub severity: String,
    /// `draft` prepares a dark site without publishing it.
    #[arg(long, default_value = "active")]
    pub status: String,
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident (or a draft).
    Open(OpenArgs),
    /// Publish an update on the incident's timeline, or change its status.
    Update {
        #[arg(long)]
        slug: String,
        /// The update's text (Markdown).
        #[arg(long)]
        message: Option<String>,
        /// The language the message is written in (default: the incident's).
        #[arg(long)]
        lang: Option<String>,
        /// New status: draft, active, monitoring or resolved.
        #[arg(long)]
        status: Option<String>,
        /// Also email the update to the incident's audience (sent by running servers).
        #[arg(long)]
        notify_audience: bool,
    },
    /// Mark the incident resolved.
    Close {
        #[arg(long)]
        slug: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token acting as a user; it is printed once.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
    },
    /// Revoke an API token by its id (printed when it was created).
    Revoke {
        #[arg(long)]
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum AudienceCommand {
    /// Import customers from a CSV file (email, name, booking reference, departure date,
    /// language; any other column becomes a template variable). Re-importing updates by
    /// email. Prints the rejected lines with their reasons.
    Import {
        #[arg(long)]
        incident: String,
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct SendArgs {
    #[arg(long)]
    pub incident: String,
    /// The subject (a handlebars template, like the bodies).
    #[arg(long)]
    pub subject: String,
    /// The plain-text body template.
    #[arg(long)]
    pub text: PathBuf,
    /// The HTML body template.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Only these languages (comma-separated).
    #[arg(long, default_value = "")]
    pub languages: String,
    /// Only departures on or after this date (YYYY-MM-DD).
    #[arg(long, default_value = "")]
    pub departure_from: String,
    /// Only departures on or before this date (YYYY-MM-DD).
    #[arg(long, default_value = "")]
    pub departure_to: String,
    /// Send at this time (RFC 3339) instead of now.
    #[arg(long, default_value = "")]
    pub at: String,
    /// Create the campaign and return; running servers send it.
    #[arg(long)]
    pub detach: bool,
}

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Create a campaign and send it from this process (with any running servers),
    /// showing progress on stderr until it is done.
    Send(SendArgs),
    /// Show a campaign's progress.
    Status {
        #[arg(long)]
        id: i64,
    },
    /// Stop sending until resumed; sends in flight finish.
    Pause {
        #[arg(long)]
        id: i64,
    },
    Resume {
        #[arg(long)]
        id: i64,
    },
    /// Stop for good: what was not sent is not sent.
    Cancel {
        #[arg(long)]
        id: i64,
    },
}
