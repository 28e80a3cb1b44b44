//! End-to-end tests: the real `muster` binary over HTTP, on SQLite and PostgreSQL.

// A test step that fails says what it expected (clippy.toml allows `expect` in tests;
// these helpers are test code too).
#![allow(clippy::expect_used)]

mod support;

mod api_contract;
mod ascii_forms;
mod bounces;
mod bulk_mail;
mod channels;
mod console_auth;
mod disclosure;
mod duplicates;
mod groups;
mod http_methods;
mod inbound_signatures;
mod intake;
mod journeys;
mod landing;
mod mailbox;
mod nginx;
mod one_rule;
mod operations;
mod postgres_restart;
mod queue;
mod resilience;
mod security;
mod shared_limits;
mod smtp_door;
mod threads;
mod voice;
mod waits;
mod webhook_receiver;
mod webhooks;
mod working_view;
