//! What the posted waits are computed from at one refresh, and the figures told from it: the
//! wait for one new case's own place in the queue, and a whole tier's figure for the landing
//! page. `muster-web` builds one per incident on every refresh (`live_waits`), and `muster
//! simulate` builds one on the same interval from its simulated desk, so what is scored is
//! what customers are told.

use time::{Date, OffsetDateTime};

use crate::priority::Tier;
use crate::queue_profile::{Arrived, QueueProfile};
use crate::wait::WaitRange;
use crate::wait_estimator::{
    Estimate, NewCase, Overtaking, RateWindow, Source, Staffing, estimate,
};

/// The incident's queue, answers and staffing as of `computed_at`.
#[derive(Debug, Clone)]
pub struct WaitSnapshot {
    pub computed_at: OffsetDateTime,
    queue: QueueProfile,
    answers: RateWindow,
    staffing: Option<Staffing>,
}

impl WaitSnapshot {
    pub fn new(
        computed_at: OffsetDateTime,
        queue: QueueProfile,
        answers: RateWindow,
        staffing: Option<Staffing>,
    ) -> Self {
        Self {
            computed_at,
            queue,
            answers,
            staffing,
        }
    }

    /// The tier of a case departing on `departure`, today.
    pub fn tier_of(&self, departure: Option<Date>) -> Tier {
        self.queue.tier_of(departure)
    }

    /// The wait for a new case departing on `departure`, from its own place in the queue:
    /// behind the cases departing sooner, ahead of those departing later. `posted` stands in
    /// while too few answers have gone out; `overriding` always wins.
    pub fn for_case(
        &self,
        departure: Option<Date>,
        request_type: Option<&str>,
        posted: Option<WaitRange>,
        overriding: Option<WaitRange>,
    ) -> Option<Estimate> {
        let case = NewCase {
            tier: self.tier_of(departure),
            request_type,
        };
        let snapshot = self.queue.snapshot_for(departure, self.staffing.clone());
        estimate(
            case,
            &snapshot,
            &self.answers,
            self.computed_at,
            posted,
            overriding,
        )
    }

    /// The figure posted for a whole tier: the range a new case of the tier is told, from
    /// its soonest departure to its latest.
    pub fn for_tier(
        &self,
        tier: Tier,
        posted: Option<WaitRange>,
        overriding: Option<WaitRange>,
    ) -> Option<Estimate> {
        if let Some(range) = overriding {
            return Some(Estimate::from_manager(range, Source::Override));
        }
        self.queue.tier_estimate(
            tier,
            &self.answers,
            self.staffing.clone(),
            self.computed_at,
            posted,
        )
    }
}

/// Counts `arrivals` (when each case was created, and its departure date) into the two
/// windows before `now`, per departure date, and records those of the last window in
/// `answers` so the estimate reads how the volume moved. Arrivals older than two windows
/// are left out.
pub fn count_arrivals(
    arrivals: impl IntoIterator<Item = (OffsetDateTime, Option<Date>)>,
    now: OffsetDateTime,
    answers: &mut RateWindow,
) -> Vec<Arrived> {
    let window = answers.settings().window;
    let since = now - window;
    let mut counts: std::collections::BTreeMap<Option<Date>, Overtaking> = Default::default();
    for (at, departure) in arrivals {
        if at > now || at <= since - window {
            continue;
        }
        let counted = counts.entry(departure).or_default();
        if at > since {
            counted.last_window += 1;
            answers.record_arrival(at);
        } else {
            counted.window_before += 1;
        }
    }
    counts
        .into_iter()
        .map(|(departure, counts)| Arrived { departure, counts })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wait_estimator::WindowSettings;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-30 12:00 UTC);

    #[test]
    fn arrivals_are_counted_per_window_and_departure() {
        let mut answers = RateWindow::new(WindowSettings::default(), NOW - Duration::hours(3));
        let day = Some(NOW.date() + Duration::days(2));
        let ago = |minutes| NOW - Duration::minutes(minutes);
        let arrived = count_arrivals(
            [
                (ago(5), day),
                (ago(50), day),
                (ago(70), day),
                (ago(10), None),
                (ago(130), None),
            ],
            NOW,
            &mut answers,
        );
        let counts: Vec<_> = arrived
            .iter()
            .map(|a| (a.departure, a.counts.last_window, a.counts.window_before))
            .collect();
        assert_eq!(counts, [(None, 1, 0), (day, 2, 1)]);
        assert!(answers.volume_shift(NOW).is_some());
    }
}
