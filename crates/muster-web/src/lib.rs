//! Muster's HTTP face: public pages, console, JSON API, health and metrics.

pub mod api;
pub mod campaign_input;
pub mod canned_input;
pub mod client_address;
pub mod console;
pub mod error;
pub mod head;
pub mod health;
pub mod i18n;
pub mod incident_input;
pub mod live_waits;
pub mod mail_job;
pub mod metrics;
mod observe;
pub mod page_cache;
pub mod public;
pub mod rate_limit;
pub mod server;
pub mod staffing_input;
pub mod state;
mod templates;

pub use server::{configure, run};
pub use state::{AppState, MailSettings, WebConfig};
