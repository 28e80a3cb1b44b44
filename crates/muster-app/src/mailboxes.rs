//! The IMAP mailboxes as managers see them (each one's fetch state, and the quarantine of
//! messages that could not be taken in), and another try of a quarantined message.

use muster_core::case_ref::CaseRef;
use muster_store::mailboxes::MailboxStatus;
use muster_store::quarantine::QuarantinedEmail;

use crate::inbound_email::{EmailOutcome, is_the_message_at_fault};
use crate::{Actor, App, AppError, AppResult};

pub struct MailboxOverview {
    pub mailboxes: Vec<MailboxStatus>,
    /// The oldest first, at most a page of them.
    pub quarantine: Vec<QuarantinedEmail>,
    pub quarantined: u64,
}

/// What another try of a quarantined message came to.
#[derive(Debug)]
pub enum RetryOutcome {
    /// Taken in at last, on this case; it left the quarantine.
    Taken(CaseRef),
    /// A delivery report or complaint after all, recorded as one; it left the quarantine.
    Report,
    /// Still cannot be taken in, for this reason; it stays.
    Refused(String),
}

impl App {
    pub async fn mailbox_overview(&self, actor: &Actor) -> AppResult<MailboxOverview> {
        actor.require_manager()?;
        let (quarantine, quarantined) = self.store.quarantined_emails().await?;
        Ok(MailboxOverview {
            mailboxes: self.store.mailbox_statuses().await?,
            quarantine,
            quarantined,
        })
    }

    /// Takes quarantined message `id` in again, on the incident it arrived for (after the
    /// cause was fixed: the incident reopened, the intake rules changed, a bug mended).
    pub async fn retry_quarantined(&self, actor: &Actor, id: i64) -> AppResult<RetryOutcome> {
        actor.require_manager()?;
        let (incident_id, raw) = self
            .store
            .quarantined_raw(id)
            .await?
            .ok_or_else(|| AppError::NotFound("the quarantined message".into()))?;
        let incident = self.store.incident_by_id(incident_id).await?;
        match self.take_in_email(&incident, &raw).await {
            Ok(EmailOutcome::Taken(taken)) => {
                let reference = taken.receipt.case.reference;
                self.store
                    .release_quarantined(id, &actor.label, reference.as_str())
                    .await?;
                Ok(RetryOutcome::Taken(reference))
            }
            Ok(EmailOutcome::Report(..)) => {
                self.store
                    .release_quarantined(id, &actor.label, "report")
                    .await?;
                Ok(RetryOutcome::Report)
            }
            Err(err) if is_the_message_at_fault(&err) => {
                let reason = err.to_string();
                self.store.quarantine_tried_again(id, &reason).await?;
                Ok(RetryOutcome::Refused(reason))
            }
            Err(err) => Err(err),
        }
    }
}
