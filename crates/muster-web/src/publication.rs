//! What the public sees, held in memory: each incident's pages rendered once per publish
//! (pre-compressed, with an ETag), the live waits, and where `/crisis` points. Served while
//! the database is down; brought in line with it by the page sync and by every use case
//! that changes public content (through [`Publisher`]).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use futures_util::future::BoxFuture;
use handlebars::Handlebars;
use muster_app::Publisher;
use muster_app::i18n::Translations;
use muster_core::incident::{Incident, IncidentStatus};
use muster_store::Store;

use crate::error::WebError;
use crate::live_waits::WaitBoard;
use crate::page_cache::{IncidentPages, PageCache};
use crate::public::render::PageRenderer;

pub struct Publication {
    store: Store,
    pub templates: Arc<Handlebars<'static>>,
    pub translations: Arc<Translations>,
    base_url: String,
    clock_offset: time::Duration,
    pub pages: PageCache,
    /// Wait times computed from the live queue, per incident.
    pub waits: WaitBoard,
    /// The public incidents as last synced, so intake never reloads them per request.
    incidents: RwLock<HashMap<String, Arc<Incident>>>,
    /// Where `/crisis` points, kept in memory so it answers while the database is down.
    crisis_slug: RwLock<Option<String>>,
}

impl Publication {
    pub fn new(
        store: Store,
        templates: Arc<Handlebars<'static>>,
        translations: Arc<Translations>,
        base_url: String,
        clock_offset: time::Duration,
    ) -> Self {
        Self {
            store,
            templates,
            translations,
            base_url,
            clock_offset,
            pages: PageCache::default(),
            waits: WaitBoard::default(),
            incidents: RwLock::new(HashMap::new()),
            crisis_slug: RwLock::new(None),
        }
    }

    pub fn renderer(&self) -> PageRenderer<'_> {
        PageRenderer {
            templates: &self.templates,
            translations: &self.translations,
            base_url: &self.base_url,
            waits: &self.waits,
        }
    }

    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc() + self.clock_offset
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
    pub async fn refresh_waits(&self) -> Result<(), WebError> {
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

    async fn refresh_waits_of(&self, incident: &Incident) -> Result<(), WebError> {
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

    /// After a change of public content or of what the waits depend on: the page and the
    /// waits show it at once on this replica, the others within a page sync.
    pub async fn republish(&self, slug: &str) -> Result<(), WebError> {
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

    /// The incidents `/crisis` may lead to: every active one, else every one being
    /// monitored, newest first. With more than one, the visitor chooses.
    pub fn crisis_choices(&self) -> Vec<Arc<Incident>> {
        let all: Vec<Arc<Incident>> = self
            .incidents
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        for status in [IncidentStatus::Active, IncidentStatus::Monitoring] {
            let mut chosen: Vec<Arc<Incident>> =
                all.iter().filter(|i| i.status == status).cloned().collect();
            if !chosen.is_empty() {
                chosen.sort_by_key(|i| std::cmp::Reverse((i.opened_at, i.id)));
                return chosen;
            }
        }
        Vec::new()
    }

    /// Brings the page cache in line with the database: re-renders what changed, drops
    /// what is no longer public. Cheap when nothing changed (one small query).
    pub async fn sync_pages(&self) -> Result<(), WebError> {
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
        self.refresh_crisis().await
    }

    async fn refresh_crisis(&self) -> Result<(), WebError> {
        let crisis = self.store.current_crisis_slug().await?;
        if let Ok(mut slot) = self.crisis_slug.write() {
            *slot = crisis;
        }
        Ok(())
    }

    /// Renders one incident now, so the replica that published serves it at once.
    pub async fn render_incident(&self, slug: &str) -> Result<(), WebError> {
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

impl Publisher for Publication {
    fn republish<'a>(&'a self, slug: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            Publication::republish(self, slug)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn posted_wait(
        &self,
        incident: &Incident,
        channel: muster_core::incident::ChannelKind,
        departure: Option<time::Date>,
        request_type: &str,
        lang: &muster_core::language::Lang,
    ) -> Option<String> {
        self.wait_text(incident, channel, departure, request_type, lang)
    }
}
