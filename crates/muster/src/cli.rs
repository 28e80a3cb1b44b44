//! The command line: `muster serve`, `migrate`, `demo`, `user`, `incident`, `token`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "muster", version, about = "Crisis-mode incident communication")]
pub struct Cli {
    /// A TOML file laid over the embedded defaults.
    #[arg(long, global = true)]
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
    /// Write the public pages, JSON and feeds as static files (with .gz and .br twins).
    ExportStatic {
        /// The folder to write into; created if missing.
        dir: std::path::PathBuf,
    },
    Simulate(crate::simulate::SimulateArgs),
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
