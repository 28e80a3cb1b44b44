//! The funnel's one use case: a contact arriving on any channel (the form, an email, a
//! social post, a chat, a phone call) becomes a case or joins the customer's open one, its
//! request type routed to the team that handles it, committed together with the
//! acknowledgement mail before the door answers "received". It joins only a case it has
//! proven is its own (its case link, or the same sender on the same channel); one that
//! merely names another case's email or booking opens its own, shown on that case as
//! unverified (docs/security.md).

use muster_core::incident::{ChannelKind, Incident};
use muster_core::language::Lang;
use muster_store::cases::{Intake, Receipt};

use sha2::{Digest, Sha256};

use crate::acknowledgement::{Acknowledger, CustomerMessage};
use crate::live::CaseChange;
use crate::{App, AppResult};

/// A contact as its door parsed it.
pub struct Arrival {
    pub intake: Intake,
    /// The customer's case token: their own when they complete a case, else a new one.
    pub token: String,
    /// Names the acknowledgement's Message-ID, so a retried contact never mails twice.
    pub contact_key: String,
    /// Whether the customer is told by email (the form; email that is no reply or robot).
    pub acknowledge_by_email: bool,
}

/// A short, stable key for the contact, used in Message-IDs.
pub fn contact_key(external_id: &str) -> String {
    hex::encode(&Sha256::digest(external_id.as_bytes())[..12])
}

impl App {
    fn acknowledger(&self, answering: CustomerMessage) -> Acknowledger<'_> {
        Acknowledger {
            translations: crate::i18n::shared(),
            base_url: &self.settings.base_url,
            from: &self.settings.mail_from,
            domain: &self.settings.id_domain,
            answering,
        }
    }

    /// Takes `arrival` in on `channel` of `incident`; a new request is routed to the team of
    /// its request type. A retried contact (same external id)
    /// is answered with the first outcome, and nothing is written or mailed twice.
    pub async fn take_in(
        &self,
        incident: &Incident,
        channel: ChannelKind,
        arrival: Arrival,
    ) -> AppResult<Receipt> {
        let Arrival {
            mut intake,
            token,
            contact_key,
            acknowledge_by_email,
        } = arrival;
        if intake.team.is_none() {
            intake.team = incident
                .settings
                .request_types
                .iter()
                .find(|t| t.key == intake.request_type)
                .and_then(|t| t.team.clone());
        }
        if intake.trip.is_none()
            && let Some(booking) = &intake.booking_ref
        {
            intake.trip = self.store.trip_of_booking(incident.id, booking).await?;
        }
        let lang =
            Lang::parse(&intake.language).unwrap_or_else(|_| incident.default_language.clone());
        let wait = self.publisher.posted_wait(
            incident,
            channel,
            intake.departure_date,
            &intake.request_type,
            &lang,
        );
        let acknowledger = self.acknowledger(match channel {
            ChannelKind::Email => CustomerMessage::from_meta(&intake.meta),
            _ => CustomerMessage::default(),
        });
        let receipt = self
            .store
            .take_in(intake, &token, |case, outcome| {
                if acknowledge_by_email {
                    acknowledger.job(incident, case, outcome, &token, &contact_key, wait.clone())
                } else {
                    None
                }
            })
            .await?;
        self.live.announce(
            incident.id,
            receipt.case.reference.as_str(),
            CaseChange::Arrived,
        );
        if let Some(matched) = &receipt.case.unverified_match {
            // The matched case's timeline shows the message too (marked unverified).
            self.live
                .announce(incident.id, matched.reference.as_str(), CaseChange::Arrived);
        }
        Ok(receipt)
    }
}
