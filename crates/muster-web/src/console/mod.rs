//! The console: where managers run incidents and agents work the queue.

pub mod audit;
pub mod auth;
pub mod home;
pub mod incidents;
pub mod login;
pub mod mail;
pub mod multipart;
pub mod page;
