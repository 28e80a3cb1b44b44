//! Wait times computed from the live queue with the core estimator, kept in memory for every
//! page and refreshed by a worker. The phone queue is invisible to Muster: its wait is the
//! one posted by hand or by the telephony system.
//!
//! Agents take cases from one queue per incident, whatever channel a case came in on (the
//! take-next order is tier, departure, age; the channel plays no part). So the computed wait
//! of a form, email, chat or social case of one tier is the same figure, from the incident's
//! queue, arrivals, answers and agents, as `muster simulate` feeds the estimator from its one
//! queue; the channels differ only in what the manager posted for them, which stands in while
//! too few answers have gone out.

use std::collections::HashMap;

use muster_core::incident::{ChannelKind, Incident};
use muster_core::language::Lang;
use muster_core::priority::Tier;
use muster_core::wait::WaitRange;
use muster_core::wait_estimator::{
    NewCase, QueueSnapshot, RateWindow, Source, Staffing, WindowSettings, estimate,
};
use muster_store::Store;
use muster_store::wait_inputs::PostedEstimate;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

/// Channels whose queue Muster sees, so their waits can be computed.
pub const COMPUTED_CHANNELS: [ChannelKind; 4] = [
    ChannelKind::Form,
    ChannelKind::Email,
    ChannelKind::Chat,
    ChannelKind::Social,
];

/// When an answer's agent time is unknown (a reply without a take), assume this.
const DEFAULT_HANDLING: Duration = Duration::minutes(6);

/// An agent counts as on duty for this long after they last took or worked a case. Answers
/// take about 6 minutes (90% under 10), so an agent at work is seen two or three times over;
/// a shorter window would drop agents on a long case, a longer one would keep counting those
/// who went home. Nobody announces shift changes to Muster, so nothing is planned.
pub const ON_DUTY_WINDOW: Duration = Duration::minutes(20);

/// The staffing the estimator is told: the agents seen at work, or `None` when none were
/// (staffing unknown: the estimate follows the observed rate of answers, not zero agents,
/// which would mean nobody will ever answer).
pub fn staffing_seen(agents: usize) -> Option<Staffing> {
    (agents > 0).then(|| Staffing {
        on_duty: u32::try_from(agents).unwrap_or(u32::MAX),
        planned: Vec::new(),
    })
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct TierWait {
    pub range: WaitRange,
    pub point_minutes: f64,
    /// `computed`, `posted` or `override`.
    pub source: &'static str,
}

/// One channel's waits, per tier (critical, high, normal).
#[derive(Debug, Clone, Serialize)]
pub struct ChannelWaits {
    pub channel: ChannelKind,
    pub tiers: [Option<TierWait>; 3],
}

#[derive(Debug, Clone, Serialize)]
pub struct LiveWaits {
    pub computed_at: OffsetDateTime,
    pub channels: Vec<ChannelWaits>,
}

fn index(tier: Tier) -> usize {
    match tier {
        Tier::Critical => 0,
        Tier::High => 1,
        Tier::Normal => 2,
    }
}

fn source_name(source: Source) -> &'static str {
    match source {
        Source::Override => "override",
        Source::Computed => "computed",
        Source::Posted => "posted",
    }
}

impl LiveWaits {
    pub fn for_channel(&self, channel: ChannelKind, tier: Tier) -> Option<TierWait> {
        self.channels
            .iter()
            .find(|c| c.channel == channel)
            .and_then(|c| c.tiers[index(tier)])
    }

    /// Everything that was shown, for the record of posted estimates.
    pub fn posted(&self) -> Vec<PostedEstimate> {
        self.channels
            .iter()
            .flat_map(|c| {
                Tier::ALL.iter().filter_map(move |tier| {
                    c.tiers[index(*tier)].map(|w| PostedEstimate {
                        channel: c.channel,
                        tier: *tier,
                        low_minutes: w.range.low_minutes,
                        high_minutes: w.range.high_minutes,
                        point_minutes: w.point_minutes,
                        source: w.source,
                    })
                })
            })
            .collect()
    }

    /// What the wait phrases look like: when it changes, the pages are rendered again.
    pub fn signature(&self, translate: impl Fn(WaitRange) -> String) -> String {
        self.channels
            .iter()
            .map(|c| {
                c.tiers
                    .iter()
                    .map(|t| t.map(|w| translate(w.range)).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// Computes every channel's waits for the incident from the live queue.
pub async fn compute(
    store: &Store,
    incident: &Incident,
    now: OffsetDateTime,
) -> Result<LiveWaits, muster_store::StoreError> {
    let today = incident.today(now);
    let windows = incident.settings.windows;
    let settings = WindowSettings::default();
    let observing_since = incident.opened_at.unwrap_or(now - settings.window);
    let since = now - settings.window;
    let mut answers = RateWindow::new(settings, observing_since);
    for answer in store.first_answers_since(incident.id, since).await? {
        let handling = answer
            .handling_seconds
            .map(Duration::seconds)
            .unwrap_or(DEFAULT_HANDLING);
        answers.record(answer.at, handling, Some(&answer.request_type));
    }
    // Every arrival, whatever its tier: how the volume moved within the window.
    for at in store.arrivals_between(incident.id, since, now).await? {
        answers.record_arrival(at);
    }
    let waiting = store
        .waiting_by_tier(incident.id, today, windows, now)
        .await?;
    let last = store
        .arrivals_by_tier(incident.id, since, now, today, windows)
        .await?;
    let before = store
        .arrivals_by_tier(
            incident.id,
            now - settings.window * 2,
            since,
            today,
            windows,
        )
        .await?;
    let agents = store
        .agents_seen_since(incident.id, now - ON_DUTY_WINDOW)
        .await?;
    let staffing = staffing_seen(agents.len());
    let mut channels = Vec::new();
    for channel in ChannelKind::ALL {
        let posted = incident.channel(channel).and_then(|c| c.posted_wait);
        if !COMPUTED_CHANNELS.contains(&channel) {
            // Muster cannot see the phone queue: what is posted is what is known.
            let tier = posted.map(|range| TierWait {
                range,
                point_minutes: (range.low_minutes + range.high_minutes) as f64 / 2.0,
                source: "posted",
            });
            channels.push(ChannelWaits {
                channel,
                tiers: [tier; 3],
            });
            continue;
        }
        let mut tiers = [None; 3];
        for tier in Tier::ALL {
            let queue = QueueSnapshot::for_tier(tier, waiting, last, before, staffing.clone());
            tiers[index(tier)] =
                estimate(NewCase::of_tier(tier), &queue, &answers, now, posted, None).map(|e| {
                    TierWait {
                        range: e.range,
                        point_minutes: e.point_minutes,
                        source: source_name(e.source),
                    }
                });
        }
        channels.push(ChannelWaits { channel, tiers });
    }
    Ok(LiveWaits {
        computed_at: now,
        channels,
    })
}

/// Waits per incident slug, as last computed.
#[derive(Debug, Default)]
pub struct WaitBoard {
    waits: std::sync::RwLock<HashMap<String, std::sync::Arc<LiveWaits>>>,
}

impl WaitBoard {
    pub fn get(&self, slug: &str) -> Option<std::sync::Arc<LiveWaits>> {
        self.waits.read().ok()?.get(slug).cloned()
    }

    pub fn set(&self, slug: &str, waits: LiveWaits) {
        if let Ok(mut map) = self.waits.write() {
            map.insert(slug.to_owned(), std::sync::Arc::new(waits));
        }
    }
}

/// The wait in words, or `None` when nothing is known.
pub fn words(
    translations: &crate::i18n::Translations,
    lang: &Lang,
    wait: Option<TierWait>,
) -> Option<String> {
    wait.map(|w| translations.wait(lang, w.range.phrase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_agent_seen_is_unknown_staffing_not_an_empty_desk() {
        assert_eq!(staffing_seen(0), None);
        assert_eq!(
            staffing_seen(7),
            Some(Staffing {
                on_duty: 7,
                planned: Vec::new()
            })
        );
    }
}
