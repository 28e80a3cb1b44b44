//! The JSON API under `/api/v1`, for integrations and scripts. Bearer tokens.

pub mod audience;
pub mod auth;
pub mod campaigns;
pub mod channels;
pub mod inbound;
pub mod incidents;
pub mod openapi;
pub mod queue;
pub mod signature;
pub mod voice;
pub mod webhooks;
