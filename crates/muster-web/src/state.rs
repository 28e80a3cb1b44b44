//! What every handler shares: the store, settings, templates and the page cache.

use std::sync::RwLock;

use handlebars::Handlebars;
use muster_store::Store;
use time::Duration;

use crate::i18n::Translations;
use crate::metrics::Metrics;
use crate::page_cache::{IncidentPages, PageCache};
use crate::public::acknowledgement::Acknowledger;
use crate::public::render::PageRenderer;
use crate::rate_limit::RateLimiter;
use crate::templates;

/// How the web layer sends a single message.
#[derive(Clone, Debug)]
pub struct MailSettings {
    pub mailer: muster_mail::Mailer,
    pub from: String,
    /// Ends the Message-IDs of messages sent from requests.
    pub id_domain: String,
}

#[derive(Clone)]
pub struct WebConfig {
    /// Public address without a trailing slash, e.g. `https://status.example.com`.
    pub base_url: String,
    pub session_lifetime: Duration,
    pub login_max_failures: u64,
    pub login_window: Duration,
    /// Shared HMAC-SHA256 secret of inbound webhooks; empty refuses them all.
    pub inbound_secret: String,
    /// Finds booking references in free text (emails, posts, call notes).
    pub booking_pattern: regex_lite::Regex,
    /// `Name <address>` that customer mail comes from.
    pub mail_from: String,
    /// Shifts Muster's idea of now: for drills ("what does tomorrow's queue look like")
    /// and for tests of tiers that rise as the days pass.
    pub clock_offset: Duration,
    /// Form submissions allowed per address within `intake_window`.
    pub intake_limit: u32,
    pub intake_window: std::time::Duration,
}

impl WebConfig {
    /// Cookies are `Secure` whenever the public address is HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Templates(#[from] templates::TemplateError),
    #[error(transparent)]
    Translations(#[from] crate::i18n::TranslationError),
}

pub struct AppState {
    pub store: Store,
    pub config: WebConfig,
    pub templates: Handlebars<'static>,
    pub translations: Translations,
    pub pages: PageCache,
    pub metrics: Metrics,
    /// Sending mail from a request (confirmations, test sends); `None` in static exports.
    pub mail: Option<MailSettings>,
    pub intake_limiter: RateLimiter,
    /// Where `/crisis` points, kept in memory so it answers while the database is down.
    crisis_slug: RwLock<Option<String>>,
}

impl AppState {
    pub fn new(store: Store, config: WebConfig) -> Result<Self, StateError> {
        let intake_limiter = RateLimiter::new(config.intake_limit, config.intake_window);
        Ok(Self {
            store,
            config,
            templates: templates::load()?,
            translations: Translations::load()?,
            pages: PageCache::default(),
            metrics: Metrics::default(),
            mail: None,
            intake_limiter,
            crisis_slug: RwLock::new(None),
        })
    }

    pub fn renderer(&self) -> PageRenderer<'_> {
        PageRenderer {
            templates: &self.templates,
            translations: &self.translations,
            base_url: &self.config.base_url,
        }
    }

    /// Now, as Muster sees it (the real clock plus any configured offset).
    pub fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc() + self.config.clock_offset
    }

    pub fn acknowledger(&self) -> Acknowledger<'_> {
        let address = self
            .config
            .mail_from
            .rsplit_once('<')
            .map(|(_, rest)| rest.trim_end_matches('>'))
            .unwrap_or(&self.config.mail_from);
        Acknowledger {
            translations: &self.translations,
            base_url: &self.config.base_url,
            from: &self.config.mail_from,
            domain: address
                .rsplit_once('@')
                .map(|(_, d)| d)
                .unwrap_or("muster.invalid"),
        }
    }

    /// The wait posted for the form channel, in words, if one is posted.
    pub fn form_wait_text(
        &self,
        incident: &muster_core::incident::Incident,
        lang: &muster_core::language::Lang,
    ) -> Option<String> {
        incident
            .channel(muster_core::incident::ChannelKind::Form)
            .and_then(|c| c.posted_wait)
            .map(|w| self.translations.wait(lang, w.phrase()))
    }

    pub fn crisis_slug(&self) -> Option<String> {
        self.crisis_slug.read().ok().and_then(|s| s.clone())
    }

    /// Brings the page cache in line with the database: re-renders what changed, drops
    /// what is no longer public. Cheap when nothing changed (one small query).
    pub async fn sync_pages(&self) -> Result<(), crate::error::WebError> {
        let versions = self.store.public_content_versions().await?;
        for (slug, version) in &versions {
            if self.pages.version(slug) != Some(*version) {
                self.render_incident(slug).await?;
            }
        }
        let public: Vec<String> = versions.into_iter().map(|(slug, _)| slug).collect();
        self.pages.retain(&public);
        let depth = self.store.open_case_count().await?;
        self.metrics
            .set_queue_depth(i64::try_from(depth).unwrap_or(i64::MAX));
        self.refresh_crisis().await
    }

    async fn refresh_crisis(&self) -> Result<(), crate::error::WebError> {
        let crisis = self.store.current_crisis_slug().await?;
        if let Ok(mut slot) = self.crisis_slug.write() {
            *slot = crisis;
        }
        Ok(())
    }

    /// Renders one incident now, so the replica that published serves it at once.
    pub async fn render_incident(&self, slug: &str) -> Result<(), crate::error::WebError> {
        match self.store.incident_by_slug(slug).await? {
            Some(incident) if incident.status.is_public() => {
                let pages = IncidentPages::render(&self.renderer(), &incident)?;
                self.pages.insert(slug, pages);
            }
            _ => {
                let public: Vec<String> = self
                    .pages
                    .slugs()
                    .into_iter()
                    .filter(|s| s != slug)
                    .collect();
                self.pages.retain(&public);
            }
        }
        self.refresh_crisis().await
    }
}
