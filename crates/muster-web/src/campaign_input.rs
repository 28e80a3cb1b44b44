//! A campaign as a manager writes it (API JSON or console form), parsed into the store's
//! [`NewCampaign`], and rendered for a sample recipient for previews and test sends.

use muster_core::audience::parse_date;
use muster_core::campaign::{CampaignContent, Segment};
use muster_core::incident::Incident;
use muster_core::language::Lang;
use muster_mail::render::{CampaignTemplates, Rendered};
use muster_mail::variables::{incident_vars, recipient_vars};
use muster_store::audience::Recipient;
use muster_store::campaigns::NewCampaign;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::incident_input::FieldErrors;
use crate::state::AppState;

const SUBJECT_MAX: usize = 250;
const BODY_MAX: usize = 100_000;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct CampaignInput {
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub html: Option<String>,
    /// Comma-separated language codes; empty means every language.
    #[serde(default)]
    pub languages: String,
    /// `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    pub departure_from: String,
    #[serde(default)]
    pub departure_to: String,
    /// RFC 3339; empty or past means now.
    #[serde(default)]
    pub send_at: String,
}

impl CampaignInput {
    pub fn parse(&self) -> Result<NewCampaign, FieldErrors> {
        let mut errors = FieldErrors::new();
        let subject = self.subject.trim();
        if subject.is_empty() || subject.chars().count() > SUBJECT_MAX {
            errors.insert(
                "subject".into(),
                format!("a subject needs 1 to {SUBJECT_MAX} characters"),
            );
        }
        if self.text.trim().is_empty() || self.text.len() > BODY_MAX {
            errors.insert(
                "text".into(),
                format!("the text needs 1 to {BODY_MAX} characters"),
            );
        }
        let html = self
            .html
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty());
        if html.is_some_and(|h| h.len() > BODY_MAX) {
            errors.insert("html".into(), format!("at most {BODY_MAX} characters"));
        }
        let content = CampaignContent {
            subject: subject.to_owned(),
            text: self.text.clone(),
            html: html.map(str::to_owned),
        };
        if let Err(err) = CampaignTemplates::compile(&content) {
            errors.insert("text".into(), err.to_string());
        }
        let mut languages = Vec::new();
        for code in self
            .languages
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            match Lang::parse(code) {
                Ok(lang) => languages.push(lang),
                Err(err) => {
                    errors.insert("languages".into(), err.to_string());
                }
            }
        }
        let mut date = |field: &str, raw: &str| {
            let raw = raw.trim();
            if raw.is_empty() {
                return None;
            }
            let parsed = parse_date(raw);
            if parsed.is_none() {
                errors.insert(
                    field.into(),
                    format!("\"{raw}\" is not a date like 2026-12-24"),
                );
            }
            parsed
        };
        let departure_from = date("departure_from", &self.departure_from);
        let departure_to = date("departure_to", &self.departure_to);
        let send_at = match self.send_at.trim() {
            "" => None,
            raw => match OffsetDateTime::parse(raw, &Rfc3339) {
                Ok(at) => Some(at),
                Err(_) => {
                    errors.insert(
                        "send_at".into(),
                        format!("\"{raw}\" is not a time like 2026-11-24T18:00:00Z"),
                    );
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(NewCampaign {
            content,
            segment: Segment {
                languages,
                departure_from,
                departure_to,
            },
            send_at,
        })
    }
}

/// A stand-in when the segment selects nobody yet, so a draft can still be previewed.
fn example_recipient(incident: &Incident) -> Recipient {
    Recipient {
        member_id: 0,
        email: "customer@example.com".into(),
        name: "Kari Nordmann".into(),
        booking_ref: Some("AB12CD".into()),
        departure_date: Some(incident.today(OffsetDateTime::now_utc())),
        language: incident.default_language.as_str().to_owned(),
        variables: Default::default(),
        unsubscribe_token: "0".repeat(64),
        suppressed: false,
    }
}

/// Renders `campaign` for the first recipient its segment selects.
pub async fn preview(
    state: &AppState,
    incident: &Incident,
    campaign: &NewCampaign,
) -> Result<(Recipient, Rendered), crate::error::WebError> {
    let recipient = state
        .store
        .sample_recipient(incident.id, &campaign.segment)
        .await?
        .unwrap_or_else(|| example_recipient(incident));
    let templates = CampaignTemplates::compile(&campaign.content)
        .map_err(|e| crate::error::WebError::BadRequest(e.to_string()))?;
    let base = &state.config.base_url;
    let vars = recipient_vars(
        &incident_vars(incident, base, &recipient.language),
        base,
        incident.slug.as_str(),
        &recipient,
    );
    let rendered = templates
        .render(vars)
        .map_err(|e| crate::error::WebError::BadRequest(e.to_string()))?;
    Ok((recipient, rendered))
}

/// Sends the preview to `to` (a test send), marked as a test in the subject.
pub async fn test_send(
    state: &AppState,
    incident: &Incident,
    campaign: &NewCampaign,
    to: &str,
) -> Result<(), crate::error::WebError> {
    let mail = state
        .mail
        .as_ref()
        .ok_or(crate::error::WebError::Unavailable)?;
    let (_, rendered) = preview(state, incident, campaign).await?;
    let message = muster_mail::OutgoingMessage {
        from: mail.from.clone(),
        to: to.to_owned(),
        reply_to: None,
        subject: format!("[TEST] {}", rendered.subject),
        text: rendered.text,
        html: rendered.html,
        message_id: format!("test-{}@{}", uuid::Uuid::new_v4().simple(), mail.id_domain),
        in_reply_to: None,
        auto_submitted: false,
        list_unsubscribe: None,
    };
    let built = message
        .build()
        .map_err(|e| crate::error::WebError::BadRequest(e.to_string()))?;
    mail.mailer.send(built).await.map_err(|e| {
        tracing::warn!(error = %e, "test send failed");
        crate::error::WebError::Unavailable
    })
}

/// Emails the incident's latest update to its whole audience, as a campaign.
pub async fn announce_update(
    state: &AppState,
    slug: &str,
    actor: &str,
    actor_id: Option<i64>,
) -> Result<(), crate::error::WebError> {
    let domain = state
        .mail
        .as_ref()
        .map(|m| m.id_domain.clone())
        .unwrap_or_default();
    let new = NewCampaign {
        content: muster_core::campaign::CampaignContent::update_announcement(),
        segment: Segment::default(),
        send_at: None,
    };
    state
        .store
        .create_campaign(slug, new, &domain, actor, actor_id)
        .await?;
    Ok(())
}
