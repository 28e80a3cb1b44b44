//! Muster's storage over SQLite or PostgreSQL. Entities stay inside; callers get core types.

mod entity;

pub mod audience;
pub mod audit;
pub mod campaigns;
pub mod cases;
mod convert;
pub mod db;
pub mod dispatch;
pub mod error;
pub mod incidents;
pub mod login_throttle;
pub mod mail_queue;
pub mod password;
mod raw_sql;
pub mod sessions;
pub mod teams;
pub mod testing;
pub mod tokens;
pub mod users;

pub use db::{Engine, Store};
pub use error::StoreError;
