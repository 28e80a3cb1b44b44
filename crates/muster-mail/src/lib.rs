//! Muster's mail: building standards-compliant messages and handing them to an SMTP relay
//! (pooled) or to an outbox folder of `.eml` files.

pub mod mailer;
pub mod message;

pub use mailer::{Mailer, SendError};
pub use message::{MessageError, OutgoingMessage};
