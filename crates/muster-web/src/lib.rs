//! Muster's HTTP face: public pages, console, JSON API, health and metrics. Handlers parse
//! requests into core types, call a use case of `muster_app`, and render its outcome.

pub mod api;
pub mod client_address;
pub mod console;
pub mod error;
pub mod head;
pub mod health;
pub mod live_waits;
pub mod metrics;
mod observe;
pub mod page_cache;
pub mod public;
pub mod publication;
pub mod rate_limit;
mod security_headers;
pub mod server;
pub mod state;
mod templates;
pub mod twiml;

pub use server::{configure, run};
pub use state::{AppState, WebConfig};
