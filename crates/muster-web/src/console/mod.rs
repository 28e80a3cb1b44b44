//! The console: where managers run incidents and agents work the queue.

pub mod assets;
pub mod audit;
pub mod auth;
pub mod case_view;
pub mod dashboard;
pub mod flash;
pub mod groups;
pub mod home;
pub mod incidents;
pub mod live;
pub mod login;
pub mod mail;
pub mod mailboxes;
pub mod merge;
pub mod multipart;
pub mod page;
pub mod presence;
pub mod queue;
pub mod svg;
pub mod webhooks;
