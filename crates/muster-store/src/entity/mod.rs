//! sea-orm entities: one per table. They never leave this crate; queries return core types.

pub mod api_token;
pub mod audience_member;
pub mod audit_entry;
pub mod campaign;
pub mod channel;
pub mod delivery;
pub mod incident;
pub mod incident_update;
pub mod login_attempt;
pub mod policy;
pub mod session;
pub mod team;
pub mod team_member;
pub mod user;
