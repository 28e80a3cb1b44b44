//! The manager's incident use cases: open, edit, close, post updates, and set what the page
//! promises (policies, channels and their posted waits, the staffing plan, canned answers).

use muster_core::campaign::{Campaign, CampaignContent};
use muster_core::incident::{
    CannedResponse, Channel, ChannelKind, Incident, IncidentStatus, Policy, Update,
};
use muster_core::language::Lang;
use muster_core::localized::Localized;
use muster_core::problem::Problem;
use muster_core::wait::WaitRange;
use muster_core::wait_estimator::StaffGroup;
use muster_store::campaigns::NewCampaign;
use muster_store::incidents::IncidentEdit;

use crate::canned::{CannedText, parse_canned};
use crate::incident_input::{
    ChannelText, IncidentTextEdit, NewIncident, PolicyText, TEXT_MAX, parse_channels,
    parse_policies,
};
use crate::staffing::{StaffText, parse_staffing};
use crate::{Actor, App, AppError, AppResult};

/// An update as published, and the campaign that emails it when the audience was notified.
#[derive(Debug, Clone)]
pub struct PostedUpdate {
    pub update: Update,
    pub announcement: Option<Campaign>,
}

/// An update's text, trimmed: between 1 and [`TEXT_MAX`] characters.
pub fn parse_update_body(raw: &str) -> Result<&str, Problem> {
    let body = raw.trim();
    if body.is_empty() {
        Err(Problem::of("err_update_empty"))
    } else if let Err(err) = muster_core::text_rule::long_text(body) {
        Err(err.into())
    } else if body.chars().count() > TEXT_MAX {
        Err(Problem::too_long(TEXT_MAX))
    } else {
        Ok(body)
    }
}

/// The language a manager writes in: one the incident is published in; none given means
/// its default language.
pub(crate) fn writing_language(incident: &Incident, lang: Option<&Lang>) -> AppResult<Lang> {
    match lang {
        None => Ok(incident.default_language.clone()),
        Some(lang) if incident.languages.contains(lang) => Ok(lang.clone()),
        Some(lang) => Err(AppError::field(
            "lang",
            Problem::of("err_lang_not_offered").with("lang", lang),
        )),
    }
}

impl App {
    pub async fn incident(&self, slug: &str) -> AppResult<Incident> {
        self.store
            .incident_by_slug(slug)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("incident \"{slug}\"")))
    }

    pub async fn open_incident(&self, actor: &Actor, typed: &NewIncident) -> AppResult<Incident> {
        actor.require_manager()?;
        let draft = typed.parse().map_err(AppError::Invalid)?;
        let incident = self.store.create_incident(draft, &actor.label).await?;
        self.republish(incident.slug.as_str()).await?;
        Ok(incident)
    }

    pub async fn edit_incident(
        &self,
        actor: &Actor,
        slug: &str,
        typed: &IncidentTextEdit,
    ) -> AppResult<Incident> {
        actor.require_manager()?;
        let incident = self.incident(slug).await?;
        if let Some(raw) = typed.lang.as_deref().filter(|l| !l.trim().is_empty()) {
            let lang = Lang::parse(raw).map_err(|e| AppError::field("lang", Problem::said(e)))?;
            writing_language(&incident, Some(&lang))?;
        }
        let edit = typed.parse(&incident).map_err(AppError::Invalid)?;
        self.save(actor, slug, edit).await
    }

    /// Moves the incident to `status` (resolved closes it).
    pub async fn set_incident_status(
        &self,
        actor: &Actor,
        slug: &str,
        status: IncidentStatus,
    ) -> AppResult<Incident> {
        actor.require_manager()?;
        let edit = IncidentEdit {
            status: Some(status),
            ..Default::default()
        };
        self.save(actor, slug, edit).await
    }

    pub async fn close_incident(&self, actor: &Actor, slug: &str) -> AppResult<Incident> {
        self.set_incident_status(actor, slug, IncidentStatus::Resolved)
            .await
    }

    pub(crate) async fn save(
        &self,
        actor: &Actor,
        slug: &str,
        edit: IncidentEdit,
    ) -> AppResult<Incident> {
        let saved = self.store.edit_incident(slug, edit, &actor.label).await?;
        self.republish(slug).await?;
        Ok(saved)
    }

    /// Publishes an update on the incident's timeline in `lang` (its default language when
    /// `None`), and emails it to the audience as a campaign when asked.
    pub async fn post_update(
        &self,
        actor: &Actor,
        slug: &str,
        lang: Option<&Lang>,
        body: &str,
        notify_audience: bool,
    ) -> AppResult<PostedUpdate> {
        actor.require_manager()?;
        let incident = self.incident(slug).await?;
        let lang = writing_language(&incident, lang)?;
        let body = parse_update_body(body).map_err(|p| AppError::field("body", p))?;
        let update = self
            .store
            .post_update(
                slug,
                Localized::single(lang, body),
                actor.user_id,
                &actor.label,
            )
            .await?;
        let announcement = if notify_audience {
            Some(self.announce_latest_update(actor, slug).await?)
        } else {
            None
        };
        self.republish(slug).await?;
        Ok(PostedUpdate {
            update,
            announcement,
        })
    }

    /// Emails the incident's latest update to its whole audience, as a campaign.
    async fn announce_latest_update(&self, actor: &Actor, slug: &str) -> AppResult<Campaign> {
        let new = NewCampaign {
            content: CampaignContent::update_announcement(),
            segment: Default::default(),
            send_at: None,
        };
        self.start_campaign(actor, slug, new).await
    }

    /// Merges the policies typed in one language over the current ones.
    pub async fn set_policies(
        &self,
        actor: &Actor,
        slug: &str,
        lang: Option<&Lang>,
        typed: &[PolicyText],
    ) -> AppResult<Vec<Policy>> {
        actor.require_manager()?;
        let incident = self.incident(slug).await?;
        let lang = writing_language(&incident, lang)?;
        let inputs = parse_policies(&lang, typed, &incident.policies).map_err(AppError::Invalid)?;
        self.store
            .replace_policies(slug, inputs, &actor.label)
            .await?;
        self.republish(slug).await?;
        Ok(self.incident(slug).await?.policies)
    }

    /// Sets the channels typed in one language: their labels, addresses and posted waits.
    pub async fn set_channels(
        &self,
        actor: &Actor,
        slug: &str,
        lang: Option<&Lang>,
        typed: &[ChannelText],
    ) -> AppResult<Vec<Channel>> {
        actor.require_manager()?;
        let incident = self.incident(slug).await?;
        let lang = writing_language(&incident, lang)?;
        let inputs = parse_channels(&lang, typed, &incident.channels).map_err(AppError::Invalid)?;
        self.store
            .replace_channels(slug, inputs, &actor.label)
            .await?;
        self.republish(slug).await?;
        Ok(self.incident(slug).await?.channels)
    }

    /// Posts one channel's wait (by a manager, or the telephony system); `None` clears it.
    /// With `overrides`, the posted wait replaces the computed one.
    pub async fn post_channel_wait(
        &self,
        actor: &Actor,
        slug: &str,
        kind: ChannelKind,
        wait: Option<WaitRange>,
        overrides: bool,
    ) -> AppResult<bool> {
        actor.require_manager()?;
        self.store
            .set_channel_wait(slug, kind, wait, overrides, &actor.label)
            .await?;
        self.republish(slug).await?;
        Ok(overrides && wait.is_some())
    }

    /// Replaces the staffing plan the posted waits count on; they show it at once.
    pub async fn set_staffing(
        &self,
        actor: &Actor,
        slug: &str,
        typed: &[StaffText],
    ) -> AppResult<Vec<StaffGroup>> {
        actor.require_manager()?;
        let incident = self.incident(slug).await?;
        let groups = parse_staffing(&incident.time_zone, typed).map_err(AppError::Invalid)?;
        let mut settings = incident.settings.clone();
        settings.staffing = groups.clone();
        let edit = IncidentEdit {
            settings: Some(settings),
            ..Default::default()
        };
        self.save(actor, slug, edit).await?;
        Ok(groups)
    }

    /// Merges the canned responses typed in one language over the current ones.
    pub async fn set_canned(
        &self,
        actor: &Actor,
        slug: &str,
        lang: Option<&Lang>,
        typed: &[CannedText],
    ) -> AppResult<Vec<CannedResponse>> {
        actor.require_manager()?;
        let incident = self.incident(slug).await?;
        let lang = writing_language(&incident, lang)?;
        let canned =
            parse_canned(&lang, typed, &incident.settings.canned).map_err(AppError::Invalid)?;
        let mut settings = incident.settings.clone();
        settings.canned = canned;
        let edit = IncidentEdit {
            settings: Some(settings),
            ..Default::default()
        };
        Ok(self.save(actor, slug, edit).await?.settings.canned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_needs_text_and_a_limit() {
        assert_eq!(
            parse_update_body("  \n"),
            Err(Problem::of("err_update_empty"))
        );
        assert_eq!(
            parse_update_body(&"x".repeat(TEXT_MAX + 1)),
            Err(Problem::too_long(TEXT_MAX))
        );
        assert_eq!(
            parse_update_body(" Buses every 10 minutes \n"),
            Ok("Buses every 10 minutes")
        );
    }
}
