//! What every handler shares: the store, settings, templates and the page cache.

use std::sync::RwLock;

use handlebars::Handlebars;
use muster_store::Store;
use time::Duration;

use crate::i18n::Translations;
use crate::metrics::Metrics;
use crate::page_cache::{IncidentPages, PageCache};
use crate::public::render::PageRenderer;
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
    /// Where `/crisis` points, kept in memory so it answers while the database is down.
    crisis_slug: RwLock<Option<String>>,
}

impl AppState {
    pub fn new(store: Store, config: WebConfig) -> Result<Self, StateError> {
        Ok(Self {
            store,
            config,
            templates: templates::load()?,
            translations: Translations::load()?,
            pages: PageCache::default(),
            metrics: Metrics::default(),
            mail: None,
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
