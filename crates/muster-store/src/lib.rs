//! Muster's storage over SQLite or PostgreSQL. Entities stay inside; callers get core types.

mod entity;

pub mod audience;
pub mod audit;
#[cfg(feature = "testing")]
mod benchmark_seed;
pub mod call_backs;
pub mod campaigns;
pub mod case_work;
pub mod cases;
mod convert;
pub mod dashboard;
pub mod db;
pub mod dispatch;
pub mod error;
pub mod group_replies;
pub mod groups;
pub mod inbound_signatures;
pub mod incidents;
mod intake_batch;
pub mod login_throttle;
pub mod mail_feedback;
pub mod mail_queue;
pub mod mail_thread;
pub mod mailboxes;
pub mod merges;
pub mod outbound;
pub mod password;
pub mod quarantine;
pub mod queue;
pub mod rate_windows;
mod raw_sql;
pub mod sessions;
pub mod sla;
pub mod teams;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tokens;
pub mod trips;
pub mod users;
pub mod wait_inputs;
pub mod webhooks;
pub mod working_view;

pub use db::{Engine, Store};
pub use error::StoreError;
