//! The console: where managers run incidents and agents work the queue.

pub mod audit;
pub mod auth;
pub mod case_view;
pub mod dashboard;
pub mod groups;
pub mod home;
pub mod incidents;
pub mod login;
pub mod mail;
pub mod multipart;
pub mod page;
pub mod queue;
pub mod svg;
pub mod webhooks;
