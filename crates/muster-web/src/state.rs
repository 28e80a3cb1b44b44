//! What every handler shares: the store, settings, templates and the page cache.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use muster_core::incident::Incident;

use handlebars::Handlebars;
use muster_store::Store;
use time::Duration;

use crate::i18n::Translations;
use crate::live_waits::WaitBoard;
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
    /// How long a taken case stays with an idle agent before it returns to the queue.
    pub claim_lease: Duration,
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
    /// Wait times computed from the live queue, per incident.
    pub waits: WaitBoard,
    /// The public incidents as last synced, so intake never reloads them per request.
    incidents: RwLock<HashMap<String, Arc<Incident>>>,
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
            waits: WaitBoard::default(),
            crisis_slug: RwLock::new(None),
            incidents: RwLock::new(HashMap::new()),
        })
    }

    pub fn renderer(&self) -> PageRenderer<'_> {
        PageRenderer {
            templates: &self.templates,
            translations: &self.translations,
            base_url: &self.config.base_url,
            waits: &self.waits,
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

    /// The wait a new case on `channel` departing on `departure` can expect, in words:
    /// computed for its place in the live queue when there is enough data, else the posted
    /// one, else `None`.
    pub fn wait_text(
        &self,
        incident: &Incident,
        channel: muster_core::incident::ChannelKind,
        departure: Option<time::Date>,
        request_type: &str,
        lang: &muster_core::language::Lang,
    ) -> Option<String> {
        let posted = crate::live_waits::Posted::of(incident.channel(channel));
        let range = match self.waits.get(incident.slug.as_str()) {
            Some(live) => live
                .for_case(channel, departure, request_type, posted)
                .map(|w| w.range),
            None => posted.either(),
        };
        range.map(|range| self.translations.wait(lang, range.phrase()))
    }

    /// Recomputes every public incident's waits from the live queue, records what is now
    /// posted, and renders a page again when the words on it change.
    pub async fn refresh_waits(&self) -> Result<(), crate::error::WebError> {
        let incidents: Vec<Arc<Incident>> = self
            .incidents
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        for incident in incidents {
            self.refresh_waits_of(&incident).await?;
        }
        Ok(())
    }

    async fn refresh_waits_of(&self, incident: &Incident) -> Result<(), crate::error::WebError> {
        let now = self.now();
        let lang = muster_core::language::Lang::english();
        let fresh = crate::live_waits::compute(&self.store, incident, now).await?;
        let signature = |w: &crate::live_waits::LiveWaits| {
            w.signature(|range| self.translations.wait(&lang, range.phrase()))
        };
        let changed = self
            .waits
            .get(incident.slug.as_str())
            .map(|old| signature(&old))
            != Some(signature(&fresh));
        self.store
            .record_posted_estimates(incident.id, &fresh.posted(), now)
            .await?;
        self.waits.set(incident.slug.as_str(), fresh);
        if changed {
            self.render_incident(incident.slug.as_str()).await?;
        }
        Ok(())
    }

    /// After a manager changed what the waits depend on (channels, posted waits, staffing
    /// plan): the page and the waits show it at once on this replica, the others within a
    /// wait refresh.
    pub async fn republish(&self, slug: &str) -> Result<(), crate::error::WebError> {
        self.render_incident(slug).await?;
        match self.cached_incident(slug) {
            Some(incident) => self.refresh_waits_of(&incident).await,
            None => Ok(()),
        }
    }

    /// A public incident as of the last sync (at most half a second old).
    pub fn cached_incident(&self, slug: &str) -> Option<Arc<Incident>> {
        self.incidents.read().ok()?.get(slug).cloned()
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
        if let Ok(mut cache) = self.incidents.write() {
            cache.retain(|slug, _| public.contains(slug));
        }
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
                if let Ok(mut cache) = self.incidents.write() {
                    cache.insert(slug.to_owned(), Arc::new(incident));
                }
            }
            _ => {
                if let Ok(mut cache) = self.incidents.write() {
                    cache.remove(slug);
                }
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
