//! Bulk email use cases: create a campaign (now or at a time), preview it for a sample
//! recipient, send a test, and pause, resume or cancel one under way.

use muster_core::campaign::Campaign;
use muster_core::contact_info::EmailAddress;
use muster_core::incident::Incident;
use muster_mail::render::{CampaignTemplates, Rendered};
use muster_mail::variables::{incident_vars, recipient_vars};
use muster_store::audience::Recipient;
use muster_store::campaigns::NewCampaign;
use time::OffsetDateTime;

use crate::campaign_input::CampaignInput;
use crate::{Actor, App, AppError, AppResult};

/// What a manager can do to a campaign under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignControl {
    Pause,
    Resume,
    Cancel,
}

impl CampaignControl {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pause" => Some(Self::Pause),
            "resume" => Some(Self::Resume),
            "cancel" => Some(Self::Cancel),
            _ => None,
        }
    }
}

/// A campaign rendered for one recipient.
#[derive(Debug, Clone)]
pub struct Preview {
    pub recipient: Recipient,
    pub rendered: Rendered,
}

/// A stand-in when the segment selects nobody yet, so a draft can still be previewed.
fn example_recipient(incident: &Incident, now: OffsetDateTime) -> Recipient {
    Recipient {
        member_id: 0,
        email: "customer@example.com".into(),
        name: "Kari Nordmann".into(),
        booking_ref: Some("AB12CD".into()),
        departure_date: Some(incident.today(now)),
        language: incident.default_language.as_str().to_owned(),
        variables: Default::default(),
        unsubscribe_token: "0".repeat(64),
        suppressed: false,
    }
}

impl App {
    /// Writes the campaign and one delivery per recipient in one transaction; the
    /// dispatchers send it from there.
    pub async fn create_campaign(
        &self,
        actor: &Actor,
        slug: &str,
        typed: &CampaignInput,
    ) -> AppResult<Campaign> {
        actor.require_manager()?;
        self.incident(slug).await?;
        let new = typed.parse().map_err(AppError::Invalid)?;
        self.start_campaign(actor, slug, new).await
    }

    /// Writes a parsed campaign with its deliveries, Message-IDs in Muster's domain.
    pub(crate) async fn start_campaign(
        &self,
        actor: &Actor,
        slug: &str,
        new: NewCampaign,
    ) -> AppResult<Campaign> {
        Ok(self
            .store
            .create_campaign(
                slug,
                new,
                &self.settings.id_domain,
                &actor.label,
                actor.user_id,
            )
            .await?)
    }

    /// Renders the campaign for the first recipient its segment selects.
    pub async fn preview_campaign(
        &self,
        actor: &Actor,
        slug: &str,
        typed: &CampaignInput,
    ) -> AppResult<Preview> {
        actor.require_manager()?;
        let incident = self.incident(slug).await?;
        let new = typed.parse().map_err(AppError::Invalid)?;
        self.render_for_sample(&incident, &new).await
    }

    async fn render_for_sample(
        &self,
        incident: &Incident,
        new: &NewCampaign,
    ) -> AppResult<Preview> {
        let recipient = self
            .store
            .sample_recipient(incident.id, &new.segment)
            .await?
            .unwrap_or_else(|| example_recipient(incident, self.now()));
        let templates = CampaignTemplates::compile(&new.content)
            .map_err(|e| AppError::Refused(e.to_string()))?;
        let base = &self.settings.base_url;
        let vars = recipient_vars(
            &incident_vars(incident, base, &recipient.language),
            base,
            incident.slug.as_str(),
            &recipient,
        );
        let rendered = templates
            .render(vars)
            .map_err(|e| AppError::Refused(e.to_string()))?;
        Ok(Preview {
            recipient,
            rendered,
        })
    }

    /// Sends the preview to `to`, marked as a test in the subject, and audits it.
    pub async fn test_send_campaign(
        &self,
        actor: &Actor,
        slug: &str,
        typed: &CampaignInput,
        to: &EmailAddress,
    ) -> AppResult<()> {
        let preview = self.preview_campaign(actor, slug, typed).await?;
        let mail = self
            .settings
            .mail
            .as_ref()
            .ok_or(AppError::MailUnavailable)?;
        let rendered = preview.rendered;
        let message = muster_mail::OutgoingMessage {
            from: mail.from.clone(),
            to: to.as_str().to_owned(),
            reply_to: None,
            subject: format!("[TEST] {}", rendered.subject),
            text: rendered.text,
            html: rendered.html,
            message_id: format!(
                "test-{}@{}",
                uuid::Uuid::new_v4().simple(),
                self.settings.id_domain
            ),
            in_reply_to: None,
            references: Vec::new(),
            return_path: None,
            auto_submitted: false,
            list_unsubscribe: None,
        };
        let built = message
            .build()
            .map_err(|e| AppError::Refused(e.to_string()))?;
        mail.mailer.send(built).await.map_err(|e| {
            tracing::warn!(error = %e, "test send failed");
            AppError::MailUnavailable
        })?;
        self.store
            .audit(&actor.label, "campaign.test", slug, serde_json::json!({}))
            .await?;
        Ok(())
    }

    pub async fn control_campaign(
        &self,
        actor: &Actor,
        id: i64,
        control: CampaignControl,
    ) -> AppResult<Campaign> {
        actor.require_manager()?;
        let label = &actor.label;
        Ok(match control {
            CampaignControl::Pause => self.store.pause_campaign(id, label).await?,
            CampaignControl::Resume => self.store.resume_campaign(id, label).await?,
            CampaignControl::Cancel => self.store.cancel_campaign(id, label).await?,
        })
    }
}
