//! What every handler shares: the use cases, the store for reads, settings, templates and
//! the public pages in memory.

use std::sync::Arc;

use handlebars::Handlebars;
use muster_app::i18n::Translations;
use muster_app::{App, AppSettings};
use muster_store::Store;
use time::Duration;

use crate::metrics::Metrics;
use crate::publication::Publication;
use crate::rate_limit::RateLimiter;
use crate::templates;

#[derive(Clone)]
pub struct WebConfig {
    pub session_lifetime: Duration,
    pub login_max_failures: u64,
    pub login_window: Duration,
    /// Shared HMAC-SHA256 secret of inbound webhooks; empty refuses them all.
    pub inbound_secret: String,
    /// The Twilio account's auth token, the key of `X-Twilio-Signature`; empty refuses the
    /// phone line's requests.
    pub twilio_auth_token: String,
    /// `Name <address>` that customer mail comes from.
    pub mail_from: String,
    /// Form submissions allowed per address within `intake_window`.
    pub intake_limit: u32,
    pub intake_window: std::time::Duration,
    /// The channel connectors whose webhooks this server checks (Twilio, WhatsApp, Telegram).
    pub channels: muster_channels::Connectors,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Templates(#[from] templates::TemplateError),
    #[error(transparent)]
    Translations(#[from] muster_app::i18n::TranslationError),
}

pub struct AppState {
    /// Every write goes through a use case.
    pub app: App,
    /// Reads for pages and answers.
    pub store: Store,
    pub config: WebConfig,
    /// Public address without a trailing slash, e.g. `https://status.example.com`.
    pub base_url: String,
    pub templates: Arc<Handlebars<'static>>,
    pub translations: Arc<Translations>,
    pub publication: Arc<Publication>,
    pub metrics: Metrics,
    pub intake_limiter: RateLimiter,
    /// Who has which case open in the console, on this replica.
    pub presence: Arc<crate::console::presence::Presence>,
}

impl AppState {
    pub fn new(store: Store, settings: AppSettings, config: WebConfig) -> Result<Self, StateError> {
        let templates = Arc::new(templates::load()?);
        let translations = Arc::new(Translations::load()?);
        let publication = Arc::new(Publication::new(
            store.clone(),
            templates.clone(),
            translations.clone(),
            settings.base_url.clone(),
            settings.clock_offset,
        ));
        let intake_limiter = RateLimiter::across_replicas(
            "intake",
            config.intake_limit,
            config.intake_window,
            &store,
        );
        Ok(Self {
            base_url: settings.base_url.clone(),
            app: App::new(store.clone(), settings, publication.clone()),
            store,
            config,
            templates,
            translations,
            publication,
            metrics: Metrics::default(),
            intake_limiter,
            presence: Arc::default(),
        })
    }

    /// Cookies are `Secure` whenever the public address is HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }

    /// The page sync: the public pages in line with the database, and the queue depth.
    pub async fn sync_pages(&self) -> Result<(), crate::error::WebError> {
        self.publication.sync_pages().await?;
        let depth = self.store.open_case_count().await?;
        self.metrics
            .set_queue_depth(i64::try_from(depth).unwrap_or(i64::MAX));
        Ok(())
    }
}
