//! The acknowledgement email a customer gets for every submission, in their language:
//! reference, case link, the relevant policy standard and the wait. Marked
//! `Auto-Submitted: auto-replied` (RFC 3834) so other robots do not answer it. An email is
//! answered in its own thread: `In-Reply-To` and `References` name it, and the subject is
//! the case's (`Re: <its subject> [MX-…]`).

use muster_core::case::Case;
use muster_core::incident::{Incident, PolicyKind};
use muster_core::language::Lang;
use muster_core::mail_thread::{case_subject, references};
use muster_mail::OutgoingMessage;
use muster_store::cases::{IntakeOutcome, MailJob};

use crate::i18n::Translations;

/// The policy that answers a request type, if the incident has one.
pub fn policy_for(incident: &Incident, request_type: &str) -> Option<PolicyKind> {
    let kind = match request_type {
        "refund" => PolicyKind::Refund,
        "cancellation" => PolicyKind::Cancellation,
        "change" | "rebooking" => PolicyKind::Rebooking,
        _ => return None,
    };
    incident.policy(kind).map(|p| p.kind)
}

/// The customer's email being acknowledged, as its door read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerMessage {
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub subject: Option<String>,
}

impl CustomerMessage {
    /// What an inbound email contact's `meta` recorded (see `muster_store::mail_thread`).
    pub fn from_meta(meta: &serde_json::Value) -> Self {
        let text = |key: &str| {
            meta.get(key)
                .and_then(|v| v.as_str())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Self {
            message_id: text(muster_store::mail_thread::META_MESSAGE_ID),
            subject: text(muster_store::mail_thread::META_SUBJECT),
        }
    }
}

pub struct Acknowledger<'a> {
    pub translations: &'a Translations,
    pub base_url: &'a str,
    pub from: &'a str,
    /// The domain Message-IDs are minted in.
    pub domain: &'a str,
    /// The email acknowledged, answered in its thread; empty for other channels.
    pub answering: CustomerMessage,
}

impl Acknowledger<'_> {
    /// The mail to queue for this outcome; none for a replay or a customer without email.
    pub fn job(
        &self,
        incident: &Incident,
        case: &Case,
        outcome: IntakeOutcome,
        token: &str,
        contact_key: &str,
        wait: Option<String>,
    ) -> Option<MailJob> {
        let answering = &self.answering;
        if outcome == IntakeOutcome::Replayed {
            return None;
        }
        let email = case.email.as_deref()?;
        let lang = incident.pick_language(Lang::parse(&case.language).ok().as_ref());
        let t = |key: &str| self.translations.text(&lang, key);
        let reference = case.reference.as_str();
        let fill = |key: &str| {
            t(key)
                .replace("{reference}", reference)
                .replace("{name}", &case.customer_name)
        };
        let case_url = format!("{}/c/{reference}?t={token}", self.base_url);
        let mut lines = vec![fill("ack_greeting"), String::new()];
        if outcome == IntakeOutcome::Joined {
            lines.push(fill("ack_joined"));
        } else {
            lines.push(fill("ack_received"));
        }
        lines.push(String::new());
        lines.push(t("ack_follow"));
        lines.push(case_url);
        if case.departure_date.is_none() {
            lines.push(String::new());
            lines.push(t("ack_needs_date"));
            lines.push(format!(
                "{}/i/{}/form?case={reference}&t={token}&lang={lang}",
                self.base_url, incident.slug
            ));
        }
        if let Some(policy) =
            policy_for(incident, &case.request_type).and_then(|k| incident.policy(k))
        {
            let standard = policy.standard.get(&lang, &incident.default_language);
            if !standard.is_empty() {
                lines.push(String::new());
                lines.push(t("ack_standard").replace("{standard}", standard));
            }
        }
        if let Some(wait) = wait {
            lines.push(t("ack_wait").replace("{wait}", &wait));
        }
        lines.push(String::new());
        lines.push(format!("{}/i/{}", self.base_url, incident.slug));
        lines.push(String::new());
        lines.push(format!("-- \n{}", t("ack_footer")));
        let subject = case_subject(
            answering.subject.as_deref(),
            incident.title.get(&lang, &incident.default_language),
            &case.reference,
        );
        let message = OutgoingMessage {
            from: self.from.to_owned(),
            to: email.to_owned(),
            reply_to: None,
            subject,
            text: lines.join("\n"),
            html: None,
            message_id: format!("ack.{contact_key}.{reference}@{}", self.domain),
            in_reply_to: answering.message_id.clone(),
            references: references(answering.message_id.clone()),
            // Acknowledgements are not tracked: a bounce goes to the From address.
            return_path: None,
            auto_submitted: true,
            list_unsubscribe: None,
        };
        crate::mail_job::queued("acknowledgement", &message)
    }
}
