//! Muster's mail: building standards-compliant messages, handing them to an SMTP relay
//! (pooled) or to an outbox folder of `.eml` files, and the bulk campaign dispatcher.

mod body;
pub mod direct;
pub mod dispatcher;
pub mod dkim;
pub mod feedback;
pub mod mailer;
pub mod message;
pub mod rate;
pub mod render;
pub mod smtp_client;
pub mod variables;

pub use dispatcher::{DispatchConfig, Dispatcher, Sending};
pub use mailer::{Mailer, SendError};
pub use message::{MessageError, OutgoingMessage};
