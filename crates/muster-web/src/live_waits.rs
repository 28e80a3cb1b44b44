//! Wait times computed from the live queue with the core estimator, kept in memory for every
//! page and refreshed by a worker. The phone queue is invisible to Muster: its wait is the
//! one posted by hand or by the telephony system, with the call-backs waiting in Muster's
//! queue added (`muster_core::call_back_wait`).
//!
//! Agents take cases from one queue per incident, whatever channel a case came in on (the
//! take-next order is tier, overdue first, departure, age; the channel plays no part), so the
//! inputs are the incident's: its queue counted by departure date, its arrivals, answers and
//! agents seen at work. The figures come from `muster_core::wait_snapshot::WaitSnapshot`, the
//! same one `muster simulate` builds from its simulated desk and scores. A customer who writes
//! in is told the wait for their own place in that queue (`for_case`); the landing page posts,
//! per tier, the span from the tier's soonest departure to its latest (`for_channel`). The
//! channels differ only in what the manager posted for them, which stands in while too few
//! answers have gone out.

use std::collections::HashMap;

use muster_core::call_back_wait::{CallBackQueue, minutes_per_call};
use muster_core::incident::{Channel, ChannelKind, Incident};
use muster_core::language::Lang;
use muster_core::priority::Tier;
use muster_core::queue_profile::QueueProfile;
use muster_core::wait::WaitRange;
use muster_core::wait_estimator::{Estimate, RateWindow, Source, Staffing, WindowSettings};
use muster_core::wait_snapshot::{WaitSnapshot, count_arrivals};
use muster_store::Store;
use muster_store::wait_inputs::PostedEstimate;
use serde::Serialize;
use time::{Date, Duration, OffsetDateTime};

pub use muster_core::on_duty::{ON_DUTY_WINDOW, staffing_seen};

/// Channels whose queue Muster sees, so their waits can be computed.
pub const COMPUTED_CHANNELS: [ChannelKind; 7] = [
    ChannelKind::Form,
    ChannelKind::Email,
    ChannelKind::Chat,
    ChannelKind::Social,
    ChannelKind::Sms,
    ChannelKind::Whatsapp,
    ChannelKind::Telegram,
];

/// What the manager posted for a channel, as the estimator takes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Posted {
    /// Shown while too few answers have gone out to compute a wait.
    pub fallback: Option<WaitRange>,
    /// Shown instead of the computed wait.
    pub overriding: Option<WaitRange>,
}

impl Posted {
    pub fn of(channel: Option<&Channel>) -> Self {
        match channel {
            Some(c) if c.posted_wait_overrides => Self {
                fallback: None,
                overriding: c.posted_wait,
            },
            Some(c) => Self {
                fallback: c.posted_wait,
                overriding: None,
            },
            None => Self::default(),
        }
    }

    /// What is shown where nothing is computed: the phone queue, or before the first refresh.
    pub fn either(self) -> Option<WaitRange> {
        self.overriding.or(self.fallback)
    }
}

/// Where a new caller stands on the phone line: one caller's departure, or a whole tier.
#[derive(Debug, Clone, Copy)]
enum PhonePlace {
    Case(Option<Date>),
    Tier(Tier),
}

/// When an answer's agent time is unknown (a reply without a take), assume this.
const DEFAULT_HANDLING: Duration = Duration::minutes(6);

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

/// An incident's waits as last computed: each channel's figure per tier, and what it takes to
/// place any one new case in the queue.
#[derive(Debug, Clone)]
pub struct LiveWaits {
    pub computed_at: OffsetDateTime,
    pub channels: Vec<ChannelWaits>,
    snapshot: WaitSnapshot,
    /// The call-backs waiting, added to the phone line's posted wait.
    call_backs: Option<CallBackQueue>,
}

impl TierWait {
    fn posted(range: WaitRange) -> Self {
        Self::from(Estimate::from_manager(range, Source::Posted))
    }
}

impl From<Estimate> for TierWait {
    fn from(estimate: Estimate) -> Self {
        Self {
            range: estimate.range,
            point_minutes: estimate.point_minutes,
            source: source_name(estimate.source),
        }
    }
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
    /// The waits of `queue` at `computed_at`, each channel falling back to its `posted`
    /// range while too few answers have gone out.
    pub fn new(
        computed_at: OffsetDateTime,
        queue: QueueProfile,
        answers: RateWindow,
        staffing: Option<Staffing>,
        posted: impl Fn(ChannelKind) -> Posted,
    ) -> Self {
        let mut waits = Self {
            computed_at,
            channels: Vec::new(),
            snapshot: WaitSnapshot::new(computed_at, queue, answers, staffing),
            call_backs: None,
        };
        waits.channels = ChannelKind::ALL
            .into_iter()
            .map(|channel| ChannelWaits {
                channel,
                tiers: Tier::ALL.map(|tier| waits.tier_figure(channel, tier, posted(channel))),
            })
            .collect();
        waits
    }

    /// The same waits with `call_backs` counted on the phone line: its figures are the
    /// posted ones plus the call-backs the queue puts ahead of a new caller.
    pub fn with_call_backs(mut self, call_backs: CallBackQueue, posted: Posted) -> Self {
        self.call_backs = Some(call_backs);
        let tiers = Tier::ALL.map(|tier| self.tier_figure(ChannelKind::Phone, tier, posted));
        if let Some(phone) = self
            .channels
            .iter_mut()
            .find(|c| c.channel == ChannelKind::Phone)
        {
            phone.tiers = tiers;
        }
        self
    }

    /// The posted phone wait with the call-backs counted, for a caller departing on
    /// `departure`, or for a whole `tier`.
    fn phone_figure(&self, posted: Posted, place: PhonePlace) -> Option<TierWait> {
        let range = posted.either()?;
        let range = match (&self.call_backs, place) {
            (Some(queue), PhonePlace::Case(departure)) => queue.for_case(range, departure),
            (Some(queue), PhonePlace::Tier(tier)) => queue.for_tier(range, tier),
            (None, _) => range,
        };
        Some(TierWait::posted(range))
    }

    /// The tier's figure on `channel`, as the landing page posts it.
    pub fn for_channel(&self, channel: ChannelKind, tier: Tier) -> Option<TierWait> {
        self.channels
            .iter()
            .find(|c| c.channel == channel)
            .and_then(|c| c.tiers[index(tier)])
    }

    /// The wait for one new case on `channel`, from its own place in the queue: behind the
    /// cases departing sooner, ahead of those departing later. `posted` is what the manager
    /// posted for the channel.
    pub fn for_case(
        &self,
        channel: ChannelKind,
        departure: Option<Date>,
        request_type: &str,
        posted: Posted,
    ) -> Option<TierWait> {
        if channel == ChannelKind::Phone {
            return self.phone_figure(posted, PhonePlace::Case(departure));
        }
        if !COMPUTED_CHANNELS.contains(&channel) {
            return posted.either().map(TierWait::posted);
        }
        self.snapshot
            .for_case(
                departure,
                Some(request_type),
                posted.fallback,
                posted.overriding,
            )
            .map(TierWait::from)
    }

    /// The tier's figure on `channel`: the range a new case of the tier is told, from its
    /// soonest departure to its latest.
    fn tier_figure(&self, channel: ChannelKind, tier: Tier, posted: Posted) -> Option<TierWait> {
        if channel == ChannelKind::Phone {
            return self.phone_figure(posted, PhonePlace::Tier(tier));
        }
        if !COMPUTED_CHANNELS.contains(&channel) {
            return posted.either().map(TierWait::posted);
        }
        self.snapshot
            .for_tier(tier, posted.fallback, posted.overriding)
            .map(TierWait::from)
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
    // Every arrival, whatever its departure: how the volume moved, and who will overtake whom.
    let arrivals = store
        .arrivals_between(incident.id, since - settings.window, now)
        .await?;
    let arrived = count_arrivals(
        arrivals.iter().map(|a| (a.at, a.departure)),
        now,
        &mut answers,
    );
    let queue = QueueProfile::new(
        incident.today(now),
        incident.settings.windows,
        store.waiting_by_departure(incident.id, now).await?,
        arrived,
    );
    let agents = store
        .agents_seen_since(incident.id, now - ON_DUTY_WINDOW)
        .await?;
    let staffing = staffing_seen(agents.len(), &incident.settings.staffing, now);
    let call_backs = CallBackQueue::new(
        QueueProfile::new(
            incident.today(now),
            incident.settings.windows,
            store.waiting_call_backs(incident.id, now).await?,
            Vec::new(),
        ),
        minutes_per_call(
            answers.pace(now, None).as_ref(),
            staffing.as_ref().map(|s| s.on_duty),
        ),
    );
    let posted = |channel| Posted::of(incident.channel(channel));
    Ok(LiveWaits::new(now, queue, answers, staffing, posted)
        .with_call_backs(call_backs, posted(ChannelKind::Phone)))
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
    translations: &muster_app::i18n::Translations,
    lang: &Lang,
    wait: Option<TierWait>,
) -> Option<String> {
    wait.map(|w| translations.wait(lang, w.range.phrase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use muster_core::wait_estimator::StaffGroup;

    const NOW: OffsetDateTime = time::macros::datetime!(2026-11-30 12:00 UTC);

    /// Five agents answering 40 cases an hour, six minutes each; five cases waiting to travel
    /// tomorrow, fifty in a month, two hundred with no date.
    fn busy_queue() -> LiveWaits {
        busy_queue_planned(&[])
    }

    fn busy_queue_planned(plan: &[StaffGroup]) -> LiveWaits {
        let settings = WindowSettings::default();
        let mut answers = RateWindow::new(settings, NOW - Duration::hours(3));
        for minute in (0..60).step_by(3) {
            let at = NOW - Duration::minutes(60) + Duration::minutes(minute);
            answers.record(at, Duration::minutes(6), Some("refund"));
            answers.record(at, Duration::minutes(6), Some("question"));
        }
        let today = NOW.date();
        let waiting = |days: Option<i64>, cases| muster_core::queue_profile::Waiting {
            departure: days.map(|d| today + Duration::days(d)),
            cases,
            overdue: 0,
        };
        let queue = QueueProfile::new(
            today,
            muster_core::priority::PriorityWindows::default(),
            vec![
                waiting(Some(1), 5),
                waiting(Some(30), 50),
                waiting(None, 200),
            ],
            Vec::new(),
        );
        LiveWaits::new(NOW, queue, answers, staffing_seen(5, plan, NOW), |_| {
            Posted {
                fallback: WaitRange::new(60, 120).ok(),
                overriding: None,
            }
        })
    }

    #[test]
    fn each_case_is_told_the_wait_for_its_own_place_in_the_queue() {
        let waits = busy_queue();
        let today = NOW.date();
        let told = |departure: Option<i64>| {
            waits
                .for_case(
                    ChannelKind::Form,
                    departure.map(|d| today + Duration::days(d)),
                    "refund",
                    Posted::default(),
                )
                .unwrap_or_else(|| panic!("no estimate"))
        };
        let (tomorrow, next_month, undated) = (told(Some(1)), told(Some(31)), told(None));
        assert_eq!(tomorrow.source, "computed");
        for (sooner, later) in [(tomorrow, next_month), (next_month, undated)] {
            assert!(
                sooner.point_minutes * 2.0 < later.point_minutes
                    && sooner.range.high_minutes < later.range.high_minutes,
                "{sooner:?} {later:?}"
            );
        }
        let next_week = told(Some(8));
        // The landing page's normal tier spans the soonest normal departure to no date.
        let normal = waits
            .for_channel(ChannelKind::Form, Tier::Normal)
            .unwrap_or_else(|| panic!("no tier figure"));
        assert_eq!(normal.range.low_minutes, next_week.range.low_minutes);
        assert_eq!(normal.range.high_minutes, undated.range.high_minutes);
        // Muster cannot see the phone queue: it is told what is posted.
        let posted = WaitRange::new(10, 20).ok();
        let told = |channel, posted| {
            waits
                .for_case(channel, None, "refund", posted)
                .map(|w| (w.range, w.source))
        };
        let fallback = Posted {
            fallback: posted,
            overriding: None,
        };
        assert_eq!(
            told(ChannelKind::Phone, fallback),
            posted.map(|r| (r, "posted"))
        );
        // A computed channel shows its posted wait only when the manager overrides with it.
        assert_eq!(
            told(ChannelKind::Email, fallback).map(|w| w.1),
            Some("computed")
        );
        let overriding = Posted {
            fallback: None,
            overriding: posted,
        };
        assert_eq!(
            told(ChannelKind::Email, overriding),
            posted.map(|r| (r, "override"))
        );
        assert_eq!(
            waits
                .tier_figure(ChannelKind::Email, Tier::High, overriding)
                .map(|w| (w.range, w.source)),
            posted.map(|r| (r, "override"))
        );
    }

    #[test]
    fn the_phone_wait_counts_the_call_backs_waiting() {
        let posted = Posted {
            fallback: WaitRange::new(60, 120).ok(),
            overriding: None,
        };
        // Four callers without a date wait to be called back, five minutes of desk each.
        let call_backs = CallBackQueue::new(
            QueueProfile::new(
                NOW.date(),
                muster_core::priority::PriorityWindows::default(),
                vec![muster_core::queue_profile::Waiting {
                    departure: None,
                    cases: 4,
                    overdue: 0,
                }],
                Vec::new(),
            ),
            5.0,
        );
        let waits = busy_queue().with_call_backs(call_backs, posted);
        let minutes = |w: Option<TierWait>| w.map(|w| (w.range.low_minutes, w.range.high_minutes));
        // A caller without a date is behind all four.
        assert_eq!(
            minutes(waits.for_case(ChannelKind::Phone, None, "refund", posted)),
            Some((80, 140))
        );
        // One travelling tomorrow is ahead of them all.
        let tomorrow = NOW.date() + Duration::days(1);
        assert_eq!(
            minutes(waits.for_case(ChannelKind::Phone, Some(tomorrow), "refund", posted)),
            Some((60, 120))
        );
        // The landing page's normal tier runs from its soonest departure to no date.
        assert_eq!(
            minutes(waits.for_channel(ChannelKind::Phone, Tier::Normal)),
            Some((60, 140))
        );
        assert_eq!(
            minutes(waits.for_channel(ChannelKind::Phone, Tier::Critical)),
            Some((60, 120))
        );
        // Computed channels are not touched.
        assert_eq!(
            waits
                .for_channel(ChannelKind::Form, Tier::Normal)
                .map(|w| w.source),
            Some("computed")
        );
    }

    #[test]
    fn announced_reinforcements_shorten_the_wait_before_they_arrive() {
        let undated = |waits: LiveWaits| {
            waits
                .for_case(ChannelKind::Form, None, "refund", Posted::default())
                .map(|w| w.point_minutes)
                .unwrap_or_default()
        };
        let alone = undated(busy_queue());
        let helped = undated(busy_queue_planned(&[StaffGroup {
            agents: 10,
            from: Some(NOW + Duration::minutes(30)),
            until: None,
        }]));
        assert!(helped < alone * 0.6, "{helped} vs {alone}");
    }

    #[test]
    fn a_queue_outrunning_the_desk_is_said_in_words_in_every_language() {
        let translations = muster_app::i18n::Translations::load().unwrap_or_else(|e| panic!("{e}"));
        let rising = WaitRange::new(6 * 60 + 20, 9 * 60)
            .map(WaitRange::rising)
            .ok();
        let wait = rising.map(|range| TierWait {
            range,
            point_minutes: 7.0 * 60.0,
            source: "computed",
        });
        assert_eq!(
            words(&translations, &Lang::english(), wait).as_deref(),
            Some("more than 6 hours, and rising")
        );
        for lang in ["nb", "fa", "lv", "ru"] {
            let lang = Lang::parse(lang).unwrap_or_else(|_| Lang::english());
            let said = words(&translations, &lang, wait).unwrap_or_default();
            // Persian writes its own digits.
            let six = said.contains('6') || said.contains('۶');
            assert!(six && !said.contains("rising"), "{said}");
        }
        // The JSON of a posted wait says so only when it is rising.
        let json = |range: Option<WaitRange>| serde_json::to_string(&range).unwrap_or_default();
        assert!(json(rising).contains("\"rising\":true"));
        assert!(!json(WaitRange::new(10, 20).ok()).contains("rising"));
    }

    #[test]
    fn no_agent_seen_is_unknown_staffing_not_an_empty_desk() {
        let reinforcements = [StaffGroup {
            agents: 6,
            from: Some(NOW + Duration::minutes(45)),
            until: None,
        }];
        assert_eq!(staffing_seen(0, &reinforcements, NOW), None);
        assert_eq!(
            staffing_seen(7, &reinforcements, NOW),
            Some(Staffing {
                on_duty: 7,
                planned: vec![muster_core::wait_estimator::StaffChange {
                    at: NOW + Duration::minutes(45),
                    on_duty: 13
                }]
            })
        );
    }
}
