//! Muster's domain: the types and rules of an incident, its audience and its cases.
//! No I/O lives here: no database, no HTTP, no SMTP.

pub mod ascii_forms;
pub mod audience;
pub mod backoff;
pub mod campaign;
pub mod case;
pub mod case_ref;
pub mod client_identity;
pub mod contact_info;
pub mod csv;
pub mod date_format;
pub mod group;
pub mod inbound_text;
pub mod incident;
pub mod intake;
pub mod language;
pub mod localized;
pub mod login_delay;
pub mod mail_feedback;
pub mod mail_thread;
pub mod markdown;
pub mod on_duty;
pub mod priority;
pub mod problem;
pub mod queue_profile;
pub mod role;
pub mod simulation;
pub mod slug;
pub mod text_rule;
pub mod trip;
pub mod wait;
pub mod wait_estimator;
pub mod wait_snapshot;
pub mod webhook;
pub mod webhook_signature;
