//! A rendered message, ready for the transactional mail queue.

use muster_mail::OutgoingMessage;
use muster_store::cases::MailJob;

/// The queue row for `message`, addressed to its recipient.
pub fn queued(kind: &str, message: &OutgoingMessage) -> Option<MailJob> {
    Some(MailJob {
        kind: kind.to_owned(),
        recipient: message.to.clone(),
        payload: serde_json::to_value(message).ok()?,
    })
}
