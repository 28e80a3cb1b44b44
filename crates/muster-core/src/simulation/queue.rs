//! The simulated queue of open cases, in the real queue's order: tier, then departure date,
//! then age.
//!
//! A tier only ever rises as the departure date nears, so "tier, then date" is the same order
//! as "date" alone, whatever day it is; cases with no date are normal tier and go last, as
//! `NULLS LAST` puts them. Ordering by date therefore never needs re-sorting at midnight.

use std::collections::{BTreeMap, VecDeque};

use time::Date;

use crate::priority::Tier;
use crate::queue_profile::{Arrived, Waiting};
use crate::wait_estimator::Overtaking;

/// When the customer travels, as the queue sorts it: any date before no date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Departure {
    On(Date),
    Unknown,
}

impl Departure {
    pub fn date(self) -> Option<Date> {
        match self {
            Departure::On(date) => Some(date),
            Departure::Unknown => None,
        }
    }
}

/// A case's place in the queue: departure, then arrival order (its age).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueueKey {
    pub departure: Departure,
    pub arrival: u64,
}

/// Open cases no agent has taken yet.
#[derive(Debug, Default)]
pub struct OpenQueue {
    cases: BTreeMap<QueueKey, (usize, Tier)>,
}

impl OpenQueue {
    pub fn push(&mut self, key: QueueKey, case: usize, tier: Tier) {
        self.cases.insert(key, (case, tier));
    }

    /// The case an agent takes next.
    pub fn pop_next(&mut self) -> Option<usize> {
        self.cases.pop_first().map(|(_, (case, _))| case)
    }

    /// Every open case, per departure date (none is ever overdue: the simulation has no
    /// service targets).
    pub fn by_departure(&self) -> Vec<Waiting> {
        let mut counts: BTreeMap<Departure, u64> = BTreeMap::new();
        for key in self.cases.keys() {
            *counts.entry(key.departure).or_default() += 1;
        }
        counts
            .into_iter()
            .map(|(departure, cases)| Waiting {
                departure: departure.date(),
                cases,
                overdue: 0,
            })
            .collect()
    }

    /// Open cases that sort ahead of `key`, per tier.
    pub fn ahead_of(&self, key: QueueKey) -> [u64; 3] {
        let mut ahead = [0; 3];
        for (_, tier) in self.cases.range(..key).map(|(_, v)| v) {
            ahead[*tier as usize] += 1;
        }
        ahead
    }
}

/// Recent arrivals, kept for two estimator windows so the estimator can see both how fast
/// cases overtake a new one and whether that pace is rising or falling.
#[derive(Debug)]
pub struct RecentArrivals {
    window_minutes: f64,
    arrivals: VecDeque<(f64, Departure)>,
}

impl RecentArrivals {
    pub fn new(window_minutes: f64) -> Self {
        Self {
            window_minutes,
            arrivals: VecDeque::new(),
        }
    }

    pub fn record(&mut self, minute: f64, departure: Departure) {
        self.arrivals.push_back((minute, departure));
        let oldest_kept = minute - 2.0 * self.window_minutes;
        while self.arrivals.front().is_some_and(|(m, _)| *m < oldest_kept) {
            self.arrivals.pop_front();
        }
    }

    /// Arrivals that would have sorted ahead of a case departing `departure` (a later arrival
    /// with the same date sorts behind it, being younger).
    pub fn overtaking(&self, now: f64, departure: Departure) -> Overtaking {
        let mut counts = Overtaking::default();
        for (minute, _) in self.arrivals.iter().filter(|(_, d)| *d < departure) {
            self.count(&mut counts, now, *minute);
        }
        counts
    }

    /// Arrivals per departure date, over the last window and the window before.
    pub fn by_departure(&self, now: f64) -> Vec<Arrived> {
        let mut counts: BTreeMap<Departure, Overtaking> = BTreeMap::new();
        for (minute, departure) in &self.arrivals {
            self.count(counts.entry(*departure).or_default(), now, *minute);
        }
        counts
            .into_iter()
            .map(|(departure, counts)| Arrived {
                departure: departure.date(),
                counts,
            })
            .collect()
    }

    fn count(&self, counts: &mut Overtaking, now: f64, minute: f64) {
        if minute > now - self.window_minutes {
            counts.last_window += 1;
        } else if minute > now - 2.0 * self.window_minutes {
            counts.window_before += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn key(departure: Departure, arrival: u64) -> QueueKey {
        QueueKey { departure, arrival }
    }

    #[test]
    fn sooner_departures_go_first_then_older_cases_and_unknown_dates_last() {
        let mut queue = OpenQueue::default();
        queue.push(key(Departure::Unknown, 0), 0, Tier::Normal);
        queue.push(
            key(Departure::On(date!(2026 - 12 - 20)), 1),
            1,
            Tier::Normal,
        );
        queue.push(
            key(Departure::On(date!(2026 - 11 - 25)), 3),
            3,
            Tier::Critical,
        );
        queue.push(
            key(Departure::On(date!(2026 - 11 - 25)), 2),
            2,
            Tier::Critical,
        );
        let new_case = key(Departure::On(date!(2026 - 11 - 30)), 4);
        assert_eq!(queue.ahead_of(new_case), [2, 0, 0]);
        let waiting: Vec<_> = queue
            .by_departure()
            .iter()
            .map(|w| (w.departure, w.cases))
            .collect();
        assert_eq!(
            waiting,
            [
                (Some(date!(2026 - 11 - 25)), 2),
                (Some(date!(2026 - 12 - 20)), 1),
                (None, 1)
            ]
        );
        let order: Vec<_> = std::iter::from_fn(|| queue.pop_next()).collect();
        assert_eq!(order, [2, 3, 1, 0]);
    }

    #[test]
    fn overtaking_counts_only_strictly_sooner_departures_per_window() {
        let mut recent = RecentArrivals::new(60.0);
        let soon = Departure::On(date!(2026 - 11 - 25));
        let later = Departure::On(date!(2026 - 12 - 20));
        recent.record(10.0, soon);
        recent.record(100.0, soon);
        recent.record(110.0, later);
        recent.record(115.0, Departure::Unknown);
        let counts = recent.overtaking(120.0, later);
        assert_eq!((counts.last_window, counts.window_before), (1, 1));
        assert_eq!(recent.overtaking(120.0, Departure::Unknown).last_window, 2);
        let by_departure = recent.by_departure(120.0);
        let undated = by_departure.iter().find(|a| a.departure.is_none());
        assert_eq!(
            undated.map(|a| (a.counts.last_window, a.counts.window_before)),
            Some((1, 0))
        );
        let soon = by_departure.iter().find(|a| a.departure == soon.date());
        assert_eq!(
            soon.map(|a| (a.counts.last_window, a.counts.window_before)),
            Some((1, 1))
        );
    }
}
