//! Wait-time estimates: how long a new case will wait for its first answer, computed from the
//! live queue and the recent pace of answers, and shown as an honest range.
//!
//! The queue answers open cases in order of tier, then departure date, then age. A new case
//! therefore waits for the cases already ahead of it, for every case that arrives later but
//! sorts ahead of it (a customer who travels sooner), and then for its own answer to be
//! written. The estimate models exactly those three parts:
//!
//! * the cases ahead, taken at the answer rate: agents on duty (and planned) divided by the
//!   recent mean handling time, or, when staffing is unknown, the observed rate of first
//!   responses over a sliding window;
//! * the cases that will overtake it, projected from their arrival rate over the last window
//!   and its trend against the window before: a fall continues, a rise is not extrapolated
//!   (the range's upper end allows for one more window of a rise beyond noise, and a rise
//!   that would outrun the desk makes the range "rising"), and a load beyond capacity is
//!   assumed to ease the way a crisis's volume does;
//! * when nobody is ahead, the wait for an agent to come free, if all are likely busy;
//! * its own answer, from the recent handling times of the same kind of request.
//!
//! The range widens with everything the estimate cannot know: the randomness of service, the
//! noise in rates measured over one window, and the drift of those rates over a wait longer
//! than that window. The point estimate (`Estimate::point_minutes`) is the median of the
//! predicted wait, not its mean: waits are skewed (a queue near capacity is usually cleared
//! soon and occasionally late), and the median is the figure that is as often long as short.
//!
//! Callers keep a [`RateWindow`] of the queue's answers and build the [`QueueSnapshot`] for the
//! case's own place in the queue (`queue_profile` places a case by its departure date). With
//! too few answers in the window there is no rate to trust, and the estimate falls back to the
//! manager's posted range; a manager's override always wins.

use std::collections::VecDeque;

use time::{Duration, OffsetDateTime};

use crate::priority::Tier;
use crate::wait::WaitRange;

/// How much history the estimator trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSettings {
    /// How far back answers count towards the rate.
    pub window: Duration,
    /// Fewer answers than this in the window give no computed estimate.
    pub min_responses: usize,
}

impl Default for WindowSettings {
    fn default() -> Self {
        Self {
            window: Duration::minutes(60),
            min_responses: 10,
        }
    }
}

/// The recent first responses on one channel: when each was sent, how long its agent took to
/// write it (from taking the case to answering), and what kind of request it answered; and,
/// if the caller records them, when cases arrived on the channel. Recorded in time order.
#[derive(Debug, Clone)]
pub struct RateWindow {
    settings: WindowSettings,
    observing_since: OffsetDateTime,
    responses: VecDeque<Response>,
    arrivals: VecDeque<OffsetDateTime>,
}

#[derive(Debug, Clone)]
struct Response {
    at: OffsetDateTime,
    handling_minutes: f64,
    request_type: Option<Box<str>>,
}

/// How long one answer takes an agent, in minutes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HandlingTime {
    pub mean: f64,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
}

impl HandlingTime {
    /// `None` for no samples.
    fn of(mut minutes: Vec<f64>) -> Option<Self> {
        if minutes.is_empty() {
            return None;
        }
        minutes.sort_by(f64::total_cmp);
        let last = (minutes.len() - 1) as f64;
        let quantile = |q: f64| minutes[(last * q).round() as usize];
        Some(Self {
            mean: minutes.iter().sum::<f64>() / minutes.len() as f64,
            p10: quantile(0.1),
            p50: quantile(0.5),
            p90: quantile(0.9),
        })
    }
}

/// What the window says about the pace of answers right now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnswerPace {
    /// Answers in the window.
    pub responses: usize,
    /// First responses per minute over the window.
    pub per_minute: f64,
    /// Handling time of all answers: with the agents on duty, it gives the answer rate.
    pub handling: HandlingTime,
    /// Handling time of answers to the same kind of request as the new case (all answers if
    /// the window holds too few of that kind).
    pub own_handling: HandlingTime,
}

/// Fewer answers of a request type than this, and its handling time is taken from all types.
const MIN_SAME_TYPE: usize = 8;

impl RateWindow {
    /// `observing_since` is when recording began: until a whole window has passed, the rate is
    /// taken over the time actually observed.
    pub fn new(settings: WindowSettings, observing_since: OffsetDateTime) -> Self {
        Self {
            settings,
            observing_since,
            responses: VecDeque::new(),
            arrivals: VecDeque::new(),
        }
    }

    pub fn settings(&self) -> WindowSettings {
        self.settings
    }

    /// Records one first response, sent at `at` after `handling` of an agent's time, to a
    /// request of `request_type`.
    pub fn record(&mut self, at: OffsetDateTime, handling: Duration, request_type: Option<&str>) {
        self.responses.push_back(Response {
            at,
            handling_minutes: handling.as_seconds_f64().max(0.0) / 60.0,
            request_type: request_type.map(Into::into),
        });
        // Keep the deque bounded by the window; queries filter again by their own `now`.
        let oldest_kept = at - self.settings.window;
        while self.responses.front().is_some_and(|r| r.at < oldest_kept) {
            self.responses.pop_front();
        }
    }

    /// Records one case submitted on the channel at `at`, whatever its tier. Optional: with
    /// arrivals recorded, the estimate reads how the volume moved within the window (see
    /// [`RateWindow::volume_shift`]); without, it assumes a rising volume held still.
    pub fn record_arrival(&mut self, at: OffsetDateTime) {
        self.arrivals.push_back(at);
        let oldest_kept = at - self.settings.window;
        while self.arrivals.front().is_some_and(|a| *a < oldest_kept) {
            self.arrivals.pop_front();
        }
    }

    /// How the arrival rate over the last half of the window ending at `now` compares with the
    /// whole window's (1 when steady, 2 when every arrival came in the last half); `None` when
    /// no arrivals were recorded. A window's count describes its middle, half a window ago;
    /// its last half brings that a quarter of a window closer to now. One arrival more in each
    /// half keeps a quiet window from swinging the ratio.
    pub fn volume_shift(&self, now: OffsetDateTime) -> Option<f64> {
        if self.arrivals.is_empty() {
            return None;
        }
        let half = self.settings.window / 2;
        let in_window = |since: OffsetDateTime| {
            self.arrivals
                .iter()
                .filter(|a| **a > since && **a <= now)
                .count() as f64
        };
        let whole = in_window(now - self.settings.window);
        let last_half = in_window(now - half);
        Some(2.0 * (last_half + 1.0) / (whole + 2.0))
    }

    /// The pace over the window ending at `now`, or `None` with too few answers to trust.
    pub fn pace(&self, now: OffsetDateTime, request_type: Option<&str>) -> Option<AnswerPace> {
        let since = now - self.settings.window;
        let recent: Vec<&Response> = self
            .responses
            .iter()
            .filter(|r| r.at > since && r.at <= now)
            .collect();
        if recent.len() < self.settings.min_responses.max(1) {
            return None;
        }
        let observed = (now - self.observing_since.max(since)).as_seconds_f64() / 60.0;
        if observed <= 0.0 {
            return None;
        }
        let handling = HandlingTime::of(recent.iter().map(|r| r.handling_minutes).collect())?;
        let same_type: Vec<f64> = recent
            .iter()
            .filter(|r| request_type.is_some() && r.request_type.as_deref() == request_type)
            .map(|r| r.handling_minutes)
            .collect();
        let own_handling = if same_type.len() >= MIN_SAME_TYPE {
            HandlingTime::of(same_type).unwrap_or(handling)
        } else {
            handling
        };
        Some(AnswerPace {
            responses: recent.len(),
            per_minute: recent.len() as f64 / observed,
            handling,
            own_handling,
        })
    }
}

/// Cases that arrived sorting ahead of the new case, counted over the last window and over the
/// window before it: their rate is how fast cases will keep jumping the queue, the ratio its
/// trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Overtaking {
    pub last_window: u64,
    pub window_before: u64,
}

/// The queue as a new case sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueSnapshot {
    /// Open cases not yet taken by an agent that the queue order puts ahead of the new case,
    /// per tier (critical, high, normal); only tiers up to the case's own count.
    pub ahead: [u64; 3],
    /// Recent arrivals that sorted ahead of the new case.
    pub overtaking: Overtaking,
    /// Agents answering this queue, if known. With it the estimate follows staffing changes
    /// as they happen (or before, when planned); without it, the observed rate of answers.
    pub staffing: Option<Staffing>,
}

impl QueueSnapshot {
    /// Cases ahead of a case of `tier`.
    pub fn ahead_of(&self, tier: Tier) -> u64 {
        Tier::ALL
            .iter()
            .zip(self.ahead)
            .filter(|(t, _)| **t <= tier)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Agents on duty now, and the changes already planned: the next shift, announced
/// reinforcements, the desk closing for the night.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Staffing {
    pub on_duty: u32,
    /// In time order.
    pub planned: Vec<StaffChange>,
}

/// A group of agents the desk knows about: a shift, reinforcements borrowed from another
/// department. They answer the queue from `from` (if still to come) until `until` (if known).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StaffGroup {
    pub agents: u32,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub from: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub until: Option<OffsetDateTime>,
}

impl Staffing {
    /// `on_duty` agents now (those of `groups` already started among them), and the changes
    /// `groups` bring after `now`: each adds its agents when it starts and takes them away
    /// when it ends.
    pub fn planned(on_duty: u32, groups: &[StaffGroup], now: OffsetDateTime) -> Self {
        let mut changes: Vec<(OffsetDateTime, i64)> = Vec::new();
        for group in groups {
            let agents = i64::from(group.agents);
            if let Some(from) = group.from.filter(|from| *from > now) {
                changes.push((from, agents));
            }
            if let Some(until) = group.until.filter(|until| *until > now) {
                changes.push((until, -agents));
            }
        }
        changes.sort_by_key(|(at, _)| *at);
        let mut agents = i64::from(on_duty);
        let planned = changes
            .into_iter()
            .map(|(at, change)| {
                agents += change;
                StaffChange {
                    at,
                    on_duty: u32::try_from(agents.max(0)).unwrap_or(u32::MAX),
                }
            })
            .collect();
        Self { on_duty, planned }
    }
}

/// From `at`, `on_duty` agents answer the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffChange {
    pub at: OffsetDateTime,
    pub on_duty: u32,
}

/// The case the estimate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewCase<'a> {
    pub tier: Tier,
    /// What it asks for, if known: its own answer takes about as long as recent answers to the
    /// same kind of request.
    pub request_type: Option<&'a str>,
}

impl NewCase<'_> {
    /// Any case of `tier`, for a figure that is not about one case (a landing page).
    pub fn of_tier(tier: Tier) -> Self {
        Self {
            tier,
            request_type: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The crisis manager set this range by hand.
    Override,
    /// Computed from the queue and the pace of answers.
    Computed,
    /// Too little data: the manager's posted range.
    Posted,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub range: WaitRange,
    /// The single best guess in minutes (the midpoint for a posted or overridden range).
    pub point_minutes: f64,
    pub source: Source,
}

impl Estimate {
    /// A range the manager set: posted, or overriding.
    pub fn from_manager(range: WaitRange, source: Source) -> Self {
        Self {
            range,
            point_minutes: (range.low_minutes + range.high_minutes) as f64 / 2.0,
            source,
        }
    }
}

/// The estimate for `case`, or `None` when there is neither data nor a posted range (the page
/// then says nothing rather than guess).
pub fn estimate(
    case: NewCase<'_>,
    queue: &QueueSnapshot,
    answers: &RateWindow,
    now: OffsetDateTime,
    posted: Option<WaitRange>,
    override_: Option<WaitRange>,
) -> Option<Estimate> {
    if let Some(range) = override_ {
        return Some(Estimate::from_manager(range, Source::Override));
    }
    let posted = posted.map(|range| Estimate::from_manager(range, Source::Posted));
    let Some(pace) = answers.pace(now, case.request_type) else {
        return posted;
    };
    let window_minutes = answers.settings().window.as_seconds_f64() / 60.0;
    let volume_shift = answers.volume_shift(now);
    computed(case.tier, queue, &pace, volume_shift, now, window_minutes).or(posted)
}

/// How many standard deviations (on a log scale) either side of the queue wait the range
/// spans: 90% of outcomes inside if the model's uncertainty were the whole story. It is not
/// (the future of a crisis is not in the data), so aim above the 80% the range promises.
const SPREAD: f64 = 1.65;
/// How much less the current rates are to be trusted per e-fold of wait beyond the window they
/// were measured over.
const DRIFT: f64 = 0.25;
/// Longest wait the estimator will put a number on.
const HORIZON_MINUTES: f64 = 7.0 * 24.0 * 60.0;
const MAX_RANGE_MINUTES: i64 = 60 * 24 * 60;

fn computed(
    tier: Tier,
    queue: &QueueSnapshot,
    pace: &AnswerPace,
    volume_shift: Option<f64>,
    now: OffsetDateTime,
    window_minutes: f64,
) -> Option<Estimate> {
    let capacity = Capacity::new(queue.staffing.as_ref(), pace, now)?;
    let ahead = queue.ahead_of(tier) as f64;
    let overtaking = ArrivalProjection::new(
        queue.overtaking,
        window_minutes,
        capacity.rate_at(0.0),
        volume_shift,
    );
    // With cases ahead, every agent is busy: the case waits for them and for half an answer's
    // worth more for an agent to come free. With nobody ahead, it waits that half answer only
    // if every agent is busy, and an idle desk is common outside the peak.
    let all_busy = match (&queue.staffing, ahead > 0.0) {
        (Some(staffing), false) => erlang_c(staffing.on_duty, pace.per_minute * pace.handling.mean),
        _ => 1.0,
    };
    let to_serve = ahead + 0.5 * all_busy;
    let served = time_to_serve(to_serve, &capacity, &overtaking)?;
    let queue_wait = served.minutes;
    // The point does not extrapolate a rise, but the range allows for it: if the overtaking
    // cases go on climbing for another window, the wait is this long, or has no end.
    let climbing = overtaking.climbing(window_minutes, capacity.rate_at(0.0));
    let climbing_wait = climbing
        .as_ref()
        .map(|climbing| time_to_serve(to_serve, &capacity, climbing).map(|s| s.minutes));

    // Uncertainty of the queue wait, on a log scale: the randomness of taking that many cases
    // (those ahead and those overtaking), the noise in rates measured from a window's worth
    // of events, and the drift of those rates over a wait longer than the window they were
    // measured on. Each grows or shrinks with the wait, which keeps the range monotone.
    let service_noise = 1.0 / (served.cases + 1.0);
    let rate_noise =
        1.0 / pace.responses as f64 + 1.0 / (queue.overtaking.last_window as f64 + 1.0);
    let drift = DRIFT * (1.0 + queue_wait / window_minutes).ln();
    let spread = (SPREAD * (service_noise + rate_noise + drift * drift).sqrt()).exp();

    let own = pace.own_handling;
    let low = queue_wait / spread + own.p10;
    let high = match climbing_wait {
        // A climb the desk never catches within the horizon: the range has no upper end the
        // rates can tell (it is said as "rising"). Falling back to the flat wait here would
        // give a longer queue a shorter range than a shorter one.
        Some(None) => MAX_RANGE_MINUTES as f64,
        Some(Some(climbing)) => climbing.max(queue_wait) * spread + own.p90,
        None => queue_wait * spread + own.p90,
    };
    let point = median_wait(to_serve, &served, &own);
    let range = WaitRange::new(
        low.floor() as i64,
        (high.ceil() as i64).min(MAX_RANGE_MINUTES),
    )
    .ok()?;
    let outrun = match (&climbing, climbing_wait) {
        (Some(_), Some(None)) => true,
        (Some(climbing), _) => outrunning(&capacity, climbing, window_minutes),
        (None, _) => outrunning(&capacity, &overtaking, window_minutes),
    };
    let range = if outrun { range.rising() } else { range };
    Some(Estimate {
        range,
        point_minutes: point.clamp(range.low_minutes as f64, range.high_minutes as f64),
        source: Source::Computed,
    })
}

/// True when the cases that will overtake the new one are projected to arrive, over the next
/// window, at least as fast as the agents on duty and planned can take cases: the queue
/// ahead of it does not shrink, so its wait has no end the current rates can tell, only the
/// crisis easing. Its range is then said as "more than …, and rising".
fn outrunning(capacity: &Capacity, overtaking: &ArrivalProjection, window_minutes: f64) -> bool {
    let (mut can_take, mut arriving) = (0.0, 0.0);
    let mut t = 0.5;
    while t < window_minutes {
        can_take += capacity.rate_at(t);
        arriving += overtaking.rate_at(t);
        t += 1.0;
    }
    arriving > 0.0 && arriving >= can_take
}

/// The median of the predicted wait: the queue wait plus the case's own answer.
///
/// The queue wait is a first-passage time: the queue ahead is cleared one answer at a time
/// while overtaking cases add to it, each event at random. Its mean is the model's
/// `served.minutes`; its variance is the number of those events (answers and overtaking
/// arrivals, taken as Poisson) times the square of the time each case cleared takes, over the
/// minutes agents were on duty (a closed desk adds time but no randomness). The own answer
/// is lognormal with the recent spread of its kind. The sum, taken as lognormal with the
/// same mean and variance, has its median at mean / sqrt(1 + cv²). Rates that are
/// merely uncertain (not random) do not move the median, so they stay out of it.
fn median_wait(to_serve: f64, served: &Served, own: &HandlingTime) -> f64 {
    let overtaken = (served.cases - to_serve).max(0.0);
    let events = served.cases + overtaken;
    let queue_variance = if to_serve > 0.0 {
        events * (served.staffed_minutes / to_serve).powi(2)
    } else {
        0.0
    };
    // p10 and p90 of a lognormal lie 1.28 standard deviations either side of its median.
    let own_sigma = (own.p90 / own.p10.max(f64::MIN_POSITIVE)).ln().max(0.0) / (2.0 * 1.2816);
    let own_variance = own.mean.powi(2) * (own_sigma.powi(2).exp() - 1.0);
    let mean = served.minutes + own.mean;
    if mean <= 0.0 {
        return 0.0;
    }
    let cv2 = (queue_variance + own_variance) / mean.powi(2);
    mean / (1.0 + cv2).sqrt()
}

/// The probability that a case finding nobody ahead finds every one of `agents` busy, when
/// `offered` agents' worth of work arrives (answers per minute × minutes per answer): Erlang's
/// C formula, from the Erlang B recursion.
fn erlang_c(agents: u32, offered: f64) -> f64 {
    let agents_f = f64::from(agents);
    if agents == 0 || offered >= agents_f {
        return 1.0;
    }
    if offered <= 0.0 {
        return 0.0;
    }
    let blocked = (1..=agents).fold(1.0, |b, k| offered * b / (f64::from(k) + offered * b));
    agents_f * blocked / (agents_f - offered * (1.0 - blocked))
}

/// How fast agents take cases, minute by minute from now.
enum Capacity {
    /// Staffing unknown: the observed rate of answers holds.
    Observed(f64),
    /// Each agent takes one case per mean handling time; `steps` are (minutes from now,
    /// agents from then), the first at 0.
    Staffed {
        per_agent: f64,
        steps: Vec<(f64, u32)>,
    },
}

impl Capacity {
    /// `None` when nobody will ever answer.
    fn new(staffing: Option<&Staffing>, pace: &AnswerPace, now: OffsetDateTime) -> Option<Self> {
        let capacity = match staffing {
            Some(staffing) if pace.handling.mean > 0.0 => {
                let later = staffing
                    .planned
                    .iter()
                    .filter(|c| c.at > now)
                    .map(|c| ((c.at - now).as_seconds_f64() / 60.0, c.on_duty));
                let steps: Vec<(f64, u32)> = std::iter::once((0.0, staffing.on_duty))
                    .chain(later)
                    .collect();
                if steps.iter().all(|(_, agents)| *agents == 0) {
                    return None;
                }
                Capacity::Staffed {
                    per_agent: 1.0 / pace.handling.mean,
                    steps,
                }
            }
            _ if pace.per_minute > 0.0 => Capacity::Observed(pace.per_minute),
            _ => return None,
        };
        Some(capacity)
    }

    /// Cases per minute `t` minutes from now.
    fn rate_at(&self, t: f64) -> f64 {
        match self {
            Capacity::Observed(rate) => *rate,
            Capacity::Staffed { per_agent, steps } => {
                let agents = steps
                    .iter()
                    .take_while(|(from, _)| *from <= t)
                    .last()
                    .map_or(0, |(_, agents)| *agents);
                f64::from(agents) * per_agent
            }
        }
    }
}

/// Arrivals that will overtake the new case, projected from the last two windows.
///
/// The projection starts from the current level and falls as fast as it has been falling.
/// The current level is the last window's count, which describes the window's middle, moved
/// towards now: by the arrivals of the window's last half when they are recorded (see
/// [`RateWindow::volume_shift`]), otherwise along the fall between the two windows. A
/// rise is not extrapolated: a crisis's volume peaks within an hour or two of the news, and a
/// guess at the height of the peak does more harm than good. And a stream of overtaking cases
/// at or beyond what the agents can take cannot last (it would mean "never"): it is assumed to
/// ease the way a crisis's volume does, by a factor e every four hours.
struct ArrivalProjection {
    per_minute: f64,
    /// Exponential decay per minute.
    decay: f64,
    /// Exponential growth per minute, for the first `rise_minutes` (none in the central
    /// projection; see [`ArrivalProjection::climbing`]).
    rise: f64,
    rise_minutes: f64,
}

/// Overtaking load, as a share of capacity, from which the crisis decay is assumed.
const SUSTAINABLE_LOAD: f64 = 0.8;
/// A crisis's volume falls by e every this many minutes once it has peaked.
const CRISIS_DECAY_MINUTES: f64 = 240.0;
/// The fastest fall the projection believes: quicker ones are mostly noise.
const FASTEST_DECAY_MINUTES: f64 = 120.0;

impl ArrivalProjection {
    fn new(
        counts: Overtaking,
        window_minutes: f64,
        capacity_now: f64,
        volume_shift: Option<f64>,
    ) -> Self {
        let last = counts.last_window as f64;
        let before = counts.window_before as f64;
        // +1 on both sides keeps a quiet window from reading as an infinite trend.
        let trend = ((last + 1.0) / (before + 1.0)).ln() / window_minutes;
        let falling = (-trend).clamp(0.0, 1.0 / FASTEST_DECAY_MINUTES);
        // The window's average describes its middle: move it towards now.
        let shift = volume_shift.unwrap_or_else(|| (-falling * window_minutes / 2.0).exp());
        let per_minute = last / window_minutes * shift;
        let load = if capacity_now > 0.0 {
            per_minute / capacity_now
        } else {
            f64::INFINITY
        };
        Self {
            per_minute,
            decay: falling.max(crisis_decay(load)),
            rise: if beyond_noise(last, before) {
                trend
            } else {
                0.0
            },
            rise_minutes: 0.0,
        }
    }

    /// The same arrivals if they go on rising as fast as between the last two windows for
    /// one more window, then ease as a load that high would; `None` when they are not rising.
    fn climbing(&self, window_minutes: f64, capacity_now: f64) -> Option<Self> {
        if self.rise <= 0.0 {
            return None;
        }
        let top = self.per_minute * (self.rise * window_minutes).exp();
        let load = if capacity_now > 0.0 {
            top / capacity_now
        } else {
            f64::INFINITY
        };
        Some(Self {
            per_minute: self.per_minute,
            decay: crisis_decay(load),
            rise: self.rise,
            rise_minutes: window_minutes,
        })
    }

    /// Overtaking arrivals per minute, `t` minutes from now.
    fn rate_at(&self, t: f64) -> f64 {
        let risen = self.rise * t.min(self.rise_minutes);
        let eased = self.decay * (t - self.rise_minutes).max(0.0);
        self.per_minute * (risen - eased).exp()
    }
}

/// The last window's count is above the one before by more than two standard deviations
/// of the difference of two Poisson counts: a rise, not chance.
fn beyond_noise(last: f64, before: f64) -> bool {
    last - before > 2.0 * (last + before).sqrt()
}

/// How fast a load of overtaking cases (as a share of capacity) is assumed to ease: not at
/// all while sustainable, by e every [`CRISIS_DECAY_MINUTES`] from capacity up.
fn crisis_decay(load: f64) -> f64 {
    let unsustainable = ((load - SUSTAINABLE_LOAD) / (1.0 - SUSTAINABLE_LOAD)).clamp(0.0, 1.0);
    unsustainable / CRISIS_DECAY_MINUTES
}

/// How long until the new case's turn comes, how many cases agents take meanwhile, and for
/// how many of those minutes any agent was on duty.
struct Served {
    minutes: f64,
    cases: f64,
    staffed_minutes: f64,
}

/// Time until `to_serve` cases' worth (those ahead, and the wait for an agent to come free),
/// plus the cases that overtake meanwhile, have been taken. `None` beyond the horizon.
fn time_to_serve(
    mut to_serve: f64,
    capacity: &Capacity,
    overtaking: &ArrivalProjection,
) -> Option<Served> {
    const STEP: f64 = 1.0;
    if to_serve <= 0.0 {
        return Some(Served {
            minutes: 0.0,
            cases: 0.0,
            staffed_minutes: 0.0,
        });
    }
    let mut taken = 0.0;
    let mut staffed_minutes = 0.0;
    let mut t = 0.0;
    // Step a minute at a time; solve the last partial minute exactly.
    while t < HORIZON_MINUTES {
        let middle = t + STEP / 2.0;
        let can_take = capacity.rate_at(middle) * STEP;
        let net = can_take - overtaking.rate_at(middle) * STEP;
        if net >= to_serve {
            let fraction = to_serve / net;
            return Some(Served {
                minutes: t + fraction * STEP,
                cases: taken + fraction * can_take,
                staffed_minutes: staffed_minutes + fraction * STEP,
            });
        }
        to_serve -= net;
        taken += can_take;
        if can_take > 0.0 {
            staffed_minutes += STEP;
        }
        t += STEP;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    #[test]
    fn a_plan_adds_each_group_when_it_starts_and_removes_it_when_it_ends() {
        let now = datetime!(2026-11-30 09:00 UTC);
        let group = |agents, from, until| StaffGroup {
            agents,
            from,
            until,
        };
        let staffing = Staffing::planned(
            8,
            &[
                // The day team, at work now, hands over at 17:00 to the evening team.
                group(8, None, Some(datetime!(2026-11-30 17:00 UTC))),
                group(8, Some(datetime!(2026-11-30 17:00 UTC)), None),
                // Borrowed staff from 10:30 to 15:00; a group that already ended counts not.
                group(
                    6,
                    Some(datetime!(2026-11-30 10:30 UTC)),
                    Some(datetime!(2026-11-30 15:00 UTC)),
                ),
                group(3, None, Some(datetime!(2026-11-30 08:00 UTC))),
            ],
            now,
        );
        let changes: Vec<(OffsetDateTime, u32)> =
            staffing.planned.iter().map(|c| (c.at, c.on_duty)).collect();
        assert_eq!(staffing.on_duty, 8);
        assert_eq!(
            changes,
            [
                (datetime!(2026-11-30 10:30 UTC), 14),
                (datetime!(2026-11-30 15:00 UTC), 8),
                (datetime!(2026-11-30 17:00 UTC), 0),
                (datetime!(2026-11-30 17:00 UTC), 8),
            ]
        );
    }

    const NOW: OffsetDateTime = datetime!(2026-11-24 12:00 UTC);

    fn range(low: i64, high: i64) -> WaitRange {
        WaitRange::new(low, high).unwrap_or_else(|e| panic!("bad test range: {e}"))
    }

    /// A window with `count` answers spread evenly over the last hour, each taking `handling`.
    fn window_with(count: usize, handling_minutes: i64) -> RateWindow {
        let mut window = RateWindow::new(WindowSettings::default(), NOW - Duration::hours(3));
        for i in 0..count {
            let at = NOW - Duration::minutes(60)
                + Duration::seconds(3600 * (i as i64 + 1) / count as i64);
            window.record(at, Duration::minutes(handling_minutes), None);
        }
        window
    }

    fn queue(ahead: u64) -> QueueSnapshot {
        QueueSnapshot {
            ahead: [0, 0, ahead],
            overtaking: Overtaking::default(),
            staffing: None,
        }
    }

    fn staffed(ahead: u64, on_duty: u32, planned: Vec<StaffChange>) -> QueueSnapshot {
        QueueSnapshot {
            staffing: Some(Staffing { on_duty, planned }),
            ..queue(ahead)
        }
    }

    /// The computed estimate for a normal-tier case, with no manager ranges.
    fn normal(snapshot: &QueueSnapshot, answers: &RateWindow) -> Option<Estimate> {
        estimate(
            NewCase::of_tier(Tier::Normal),
            snapshot,
            answers,
            NOW,
            None,
            None,
        )
    }

    fn point(estimate: Option<Estimate>) -> f64 {
        estimate.map_or(f64::NAN, |e| e.point_minutes)
    }

    #[test]
    fn an_empty_window_falls_back_to_the_posted_range() {
        let empty = RateWindow::new(WindowSettings::default(), NOW - Duration::hours(1));
        let posted = range(30, 120);
        let case = NewCase::of_tier(Tier::Normal);
        let got = estimate(case, &queue(40), &empty, NOW, Some(posted), None);
        assert_eq!(
            got.map(|e| (e.range, e.source)),
            Some((posted, Source::Posted))
        );
        assert_eq!(normal(&queue(40), &empty), None);
    }

    #[test]
    fn too_few_answers_are_not_a_rate() {
        let sparse = window_with(WindowSettings::default().min_responses - 1, 6);
        assert_eq!(normal(&queue(5), &sparse), None);
    }

    #[test]
    fn an_override_always_wins() {
        let manual = range(60, 240);
        let case = NewCase::of_tier(Tier::Critical);
        let answers = window_with(60, 6);
        let got = estimate(
            case,
            &queue(3),
            &answers,
            NOW,
            Some(range(5, 10)),
            Some(manual),
        );
        assert_eq!(
            got.map(|e| (e.range, e.source)),
            Some((manual, Source::Override))
        );
    }

    #[test]
    fn sixty_answers_an_hour_and_sixty_ahead_is_about_an_hour() {
        let got = normal(&queue(60), &window_with(60, 6)).unwrap_or_else(|| panic!("none"));
        assert_eq!(got.source, Source::Computed);
        assert!((60.0..=70.0).contains(&got.point_minutes), "{got:?}");
        assert!(
            got.range.low_minutes < 60 && got.range.high_minutes > 75,
            "{got:?}"
        );
    }

    #[test]
    fn only_tiers_up_to_the_case_count_as_ahead() {
        let snapshot = QueueSnapshot {
            ahead: [2, 3, 50],
            ..QueueSnapshot::default()
        };
        assert_eq!(snapshot.ahead_of(Tier::Critical), 2);
        assert_eq!(snapshot.ahead_of(Tier::High), 5);
        assert_eq!(snapshot.ahead_of(Tier::Normal), 55);
    }

    #[test]
    fn overtaking_arrivals_lengthen_the_wait_unless_they_are_falling() {
        let answers = window_with(60, 6);
        let overtaken_by = |last_window, window_before| QueueSnapshot {
            overtaking: Overtaking {
                last_window,
                window_before,
            },
            ..queue(30)
        };
        let calm = point(normal(&queue(30), &answers));
        let steady = point(normal(&overtaken_by(30, 30), &answers));
        let falling = point(normal(&overtaken_by(30, 60), &answers));
        assert!(steady > calm + 20.0, "{calm} {steady}");
        assert!(
            calm < falling && falling < steady,
            "{calm} {falling} {steady}"
        );
    }

    #[test]
    fn overtaking_beyond_capacity_is_a_long_wait_not_never() {
        // 90 overtaking an hour against 60 answers an hour: only the crisis easing ends it.
        let snapshot = QueueSnapshot {
            overtaking: Overtaking {
                last_window: 90,
                window_before: 90,
            },
            ..queue(20)
        };
        let got = normal(&snapshot, &window_with(60, 6)).unwrap_or_else(|| panic!("none"));
        assert!(got.point_minutes > 120.0, "{got:?}");
        assert!(got.range.rising, "{got:?}");
    }

    #[test]
    fn only_a_queue_outrunning_the_desk_is_rising() {
        let answers = window_with(60, 6);
        let overtaken_by = |per_hour, staffing| QueueSnapshot {
            overtaking: Overtaking {
                last_window: per_hour,
                window_before: per_hour,
            },
            staffing,
            ..queue(20)
        };
        let rising = |snapshot: &QueueSnapshot| normal(snapshot, &answers).map(|e| e.range.rising);
        // 60 answers an hour: 50 overtaking keeps up, 70 does not.
        assert_eq!(rising(&overtaken_by(50, None)), Some(false));
        assert_eq!(rising(&overtaken_by(70, None)), Some(true));
        // Six agents at six minutes take 60 an hour; twelve more in ten minutes keep up.
        let reinforced = Staffing {
            on_duty: 6,
            planned: vec![StaffChange {
                at: NOW + Duration::minutes(10),
                on_duty: 18,
            }],
        };
        assert_eq!(rising(&overtaken_by(70, Some(reinforced))), Some(false));
        // A desk closed for the night, with nobody arriving ahead, is a wait, not a rise.
        let opening = Staffing {
            on_duty: 0,
            planned: vec![StaffChange {
                at: NOW + Duration::hours(8),
                on_duty: 10,
            }],
        };
        assert_eq!(rising(&overtaken_by(0, Some(opening))), Some(false));
        // The manager's ranges are never rising.
        let posted = estimate(
            NewCase::of_tier(Tier::Normal),
            &overtaken_by(70, None),
            &RateWindow::new(WindowSettings::default(), NOW),
            NOW,
            Some(range(60, 120)),
            None,
        );
        assert_eq!(posted.map(|e| e.range.rising), Some(false));
    }

    #[test]
    fn a_rise_beyond_noise_widens_the_upper_end_but_not_the_point() {
        // 60 answers an hour; 30 cases ahead; 40 overtaking in the last hour.
        let answers = window_with(60, 6);
        let overtaken = |last_window, window_before| {
            let snapshot = QueueSnapshot {
                overtaking: Overtaking {
                    last_window,
                    window_before,
                },
                ..queue(30)
            };
            normal(&snapshot, &answers).unwrap_or_else(|| panic!("no estimate"))
        };
        let flat = overtaken(40, 40);
        let climbing = overtaken(40, 20);
        assert!(
            climbing.range.high_minutes > flat.range.high_minutes,
            "{flat:?} {climbing:?}"
        );
        assert_eq!(climbing.range.low_minutes, flat.range.low_minutes);
        assert_eq!(climbing.point_minutes, flat.point_minutes);
        assert!(!climbing.range.rising);
        // 40 after 30 is within chance of the same rate: no wider than flat.
        assert_eq!(overtaken(40, 30), flat);
        // 50 an hour keeps below the desk's 60, but 50 after 20, going on, outruns it.
        assert!(!overtaken(50, 50).range.rising);
        assert!(overtaken(50, 20).range.rising);
    }

    #[test]
    fn more_agents_shorten_the_wait_and_none_gives_no_number() {
        let answers = window_with(60, 6);
        let six = point(normal(&staffed(100, 6, Vec::new()), &answers));
        let twelve = point(normal(&staffed(100, 12, Vec::new()), &answers));
        assert!(twelve < six, "{six} {twelve}");
        assert_eq!(normal(&staffed(100, 0, Vec::new()), &answers), None);
    }

    #[test]
    fn planned_staffing_counts_before_it_arrives() {
        let answers = window_with(60, 6);
        let reinforced = vec![StaffChange {
            at: NOW + Duration::minutes(30),
            on_duty: 12,
        }];
        let alone = point(normal(&staffed(100, 6, Vec::new()), &answers));
        let helped = point(normal(&staffed(100, 6, reinforced), &answers));
        assert!(helped < alone - 10.0, "{alone} {helped}");
        // A desk closed for the night still gives a number: from when it opens.
        let opening = vec![StaffChange {
            at: NOW + Duration::hours(8),
            on_duty: 10,
        }];
        let overnight = point(normal(&staffed(10, 0, opening), &answers));
        assert!((480.0..560.0).contains(&overnight), "{overnight}");
    }

    #[test]
    fn the_own_answer_takes_as_long_as_its_kind() {
        let mut answers = RateWindow::new(WindowSettings::default(), NOW - Duration::hours(3));
        for i in 0..40 {
            let (kind, minutes) = if i % 2 == 0 {
                ("refund", 3)
            } else {
                ("rebooking", 9)
            };
            answers.record(
                NOW - Duration::minutes(i),
                Duration::minutes(minutes),
                Some(kind),
            );
        }
        let for_kind = |kind| {
            let case = NewCase {
                tier: Tier::Critical,
                request_type: Some(kind),
            };
            point(estimate(case, &queue(0), &answers, NOW, None, None))
        };
        assert!(for_kind("refund") < 4.0 && for_kind("rebooking") > 9.0);
    }

    #[test]
    fn erlang_c_is_the_chance_that_every_agent_is_busy() {
        // One agent: busy as often as it is loaded.
        assert!((erlang_c(1, 0.5) - 0.5).abs() < 1e-12);
        // Two agents, one agent's worth of work: 1/3.
        assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
        assert!(erlang_c(12, 4.0) < 0.01);
        assert_eq!(erlang_c(6, 6.0), 1.0);
        assert_eq!(erlang_c(0, 0.0), 1.0);
        assert_eq!(erlang_c(6, 0.0), 0.0);
    }

    #[test]
    fn an_idle_desk_answers_at_once_a_saturated_one_makes_the_case_wait() {
        // Six answers an hour against ten agents: someone is free, the wait is the answer.
        let quiet = point(normal(&staffed(0, 10, Vec::new()), &window_with(10, 6)));
        assert!((5.9..6.05).contains(&quiet), "{quiet}");
        // Sixty answers an hour of six minutes each keep six agents busy all the time.
        let saturated = point(normal(&staffed(0, 6, Vec::new()), &window_with(60, 6)));
        assert!(saturated > 6.3, "{saturated}");
        // Without staffing nothing says an agent is free: the half answer stays.
        let unknown = point(normal(&queue(0), &window_with(10, 6)));
        assert!(unknown > 6.3, "{unknown}");
    }

    #[test]
    fn the_point_is_the_median_below_the_mean_of_a_skewed_wait() {
        // 50 overtaking an hour against 60 answers: a few cases ahead are usually cleared
        // soon, sometimes late. The mean of that wait lies above its median.
        let answers = window_with(60, 6);
        let snapshot = QueueSnapshot {
            overtaking: Overtaking {
                last_window: 50,
                window_before: 50,
            },
            ..queue(4)
        };
        let capacity = Capacity::Observed(1.0);
        let projection = ArrivalProjection::new(snapshot.overtaking, 60.0, 1.0, None);
        let mean = time_to_serve(4.5, &capacity, &projection)
            .map_or(f64::NAN, |served| served.minutes + 6.0);
        let median = point(normal(&snapshot, &answers));
        assert!(median < 0.8 * mean && median > 6.0, "{median} {mean}");
        // A closed desk adds time but no randomness: the median stays with it.
        let opening = vec![StaffChange {
            at: NOW + Duration::hours(8),
            on_duty: 10,
        }];
        let overnight = point(normal(&staffed(10, 0, opening), &answers));
        assert!(overnight > 480.0 + 6.0, "{overnight}");
    }

    /// A window with `count` arrivals, evenly spaced over the last `minutes`.
    fn with_arrivals(mut window: RateWindow, count: i64, minutes: i64) -> RateWindow {
        for i in 0..count {
            window.record_arrival(NOW - Duration::seconds(60 * minutes * i / count));
        }
        window
    }

    #[test]
    fn the_volume_shift_reads_the_last_half_of_the_window() {
        let answers = window_with(60, 6);
        assert_eq!(answers.volume_shift(NOW), None);
        let steady = with_arrivals(answers.clone(), 60, 60).volume_shift(NOW);
        assert!(steady.is_some_and(|s| (s - 1.0).abs() < 0.05), "{steady:?}");
        let rising = with_arrivals(answers.clone(), 60, 30).volume_shift(NOW);
        assert!(rising.is_some_and(|s| s > 1.9), "{rising:?}");
        // Arrivals that came in the last half raise the overtaking level, and the wait.
        let snapshot = QueueSnapshot {
            overtaking: Overtaking {
                last_window: 30,
                window_before: 30,
            },
            ..queue(20)
        };
        let even = point(normal(&snapshot, &with_arrivals(answers.clone(), 60, 60)));
        let late = point(normal(&snapshot, &with_arrivals(answers.clone(), 60, 30)));
        let unrecorded = point(normal(&snapshot, &answers));
        assert!(late > even + 10.0, "{even} {late}");
        assert!((even - unrecorded).abs() < 1.0, "{even} {unrecorded}");
    }

    proptest! {
        /// More cases ahead never gives a shorter range, at either end.
        #[test]
        fn monotone_in_queue_length(
            ahead in 0u64..3_000,
            more in 0u64..500,
            answers in 10usize..300,
            handling in 1i64..30,
            overtaking in 0u64..200,
            before in 0u64..200,
            agents in proptest::option::of(1u32..40),
            reinforcement in proptest::option::of((1i64..600, 0u32..40)),
            arrivals in proptest::option::of((0i64..300, 1i64..60)),
        ) {
            let window = window_with(answers, handling);
            let window = match arrivals {
                Some((count, minutes)) => with_arrivals(window, count, minutes),
                None => window,
            };
            let planned: Vec<StaffChange> = reinforcement
                .map(|(minutes, on_duty)| StaffChange { at: NOW + Duration::minutes(minutes), on_duty })
                .into_iter()
                .collect();
            let snapshot = |ahead| QueueSnapshot {
                ahead: [0, 0, ahead],
                overtaking: Overtaking { last_window: overtaking, window_before: before },
                staffing: agents.map(|on_duty| Staffing { on_duty, planned: planned.clone() }),
            };
            let shorter = normal(&snapshot(ahead), &window);
            let longer = normal(&snapshot(ahead + more), &window);
            match (shorter, longer) {
                (Some(s), Some(l)) => {
                    prop_assert!(l.range.low_minutes >= s.range.low_minutes, "{s:?} {l:?}");
                    prop_assert!(l.range.high_minutes >= s.range.high_minutes, "{s:?} {l:?}");
                    prop_assert!(l.point_minutes >= s.point_minutes, "{s:?} {l:?}");
                }
                // Beyond the horizon the longer queue has no number; the shorter may.
                (_, None) => {}
                (None, Some(l)) => prop_assert!(false, "shorter queue unknown, longer {l:?}"),
            }
        }

        /// No answers in the window, no computed estimate, whatever the queue.
        #[test]
        fn no_computed_estimate_from_an_empty_rate(ahead in 0u64..3_000, posted in proptest::option::of((0i64..100, 0i64..200))) {
            let empty = RateWindow::new(WindowSettings::default(), NOW - Duration::hours(2));
            let posted = posted.map(|(low, extra)| range(low, low + extra));
            let got = estimate(NewCase::of_tier(Tier::Normal), &queue(ahead), &empty, NOW, posted, None);
            prop_assert_eq!(got.map(|e| e.source), posted.map(|_| Source::Posted));
        }

        /// The point estimate always lies inside the range it comes with.
        #[test]
        fn point_inside_range(ahead in 0u64..2_000, answers in 10usize..300, handling in 0i64..30) {
            if let Some(e) = normal(&queue(ahead), &window_with(answers, handling)) {
                prop_assert!(e.range.low_minutes as f64 <= e.point_minutes && e.point_minutes <= e.range.high_minutes as f64);
            }
        }
    }
}
