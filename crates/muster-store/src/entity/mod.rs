//! sea-orm entities: one per table. They never leave this crate; queries return core types.

pub mod api_token;
pub mod audience_member;
pub mod audit_entry;
pub mod campaign;
pub mod case;
pub mod case_group;
pub mod case_token;
pub mod channel;
pub mod contact;
pub mod delivery;
pub mod group_reply;
pub mod group_reply_target;
pub mod incident;
pub mod incident_update;
pub mod login_attempt;
pub mod mail_queue;
pub mod policy;
pub mod session;
pub mod team;
pub mod team_member;
pub mod user;
pub mod wait_estimate;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;
