//! The simulated queue of open cases, in `take_next`'s order: part by part (critical, high,
//! normal with a date, then undated), overdue cases first within a part (in the order they
//! were marked, then by age), then by departure date, then by age; and an agent takes only
//! cases of their own teams.
//!
//! The parts follow the departure date against today, so they are worked out when a case is
//! taken, not when it arrives: a case moves up a tier at midnight as it does in the database.

use std::collections::{BTreeMap, VecDeque};

use time::Date;

use crate::incident::SlaTargets;
use crate::priority::{PriorityWindows, Tier};
use crate::queue_profile::{Part, Waiting};

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

/// Where the next case of a team comes from, in the order `take_next` probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    /// Marked overdue by scan `mark`; within a scan, oldest first.
    Overdue {
        mark: u64,
        arrival: u64,
    },
    Regular(QueueKey),
}

/// One team's waiting cases (the case's index in the simulation).
#[derive(Debug, Default)]
struct TeamQueue {
    regular: BTreeMap<QueueKey, usize>,
    overdue: BTreeMap<(u64, u64), (Departure, usize)>,
}

impl TeamQueue {
    /// The case this team's agents take next, with its part.
    fn next(&self, today: Date, windows: PriorityWindows) -> Option<(Part, Slot)> {
        let part = |departure: Departure| Part::of(departure.date(), today, windows);
        let regular = self
            .regular
            .keys()
            .next()
            .map(|key| (part(key.departure), Slot::Regular(*key)));
        let overdue = self
            .overdue
            .iter()
            .map(|((mark, arrival), (departure, _))| {
                (
                    part(*departure),
                    Slot::Overdue {
                        mark: *mark,
                        arrival: *arrival,
                    },
                )
            })
            .min();
        regular.into_iter().chain(overdue).min()
    }
}

/// A waiting case not yet overdue, for the SLA scan.
#[derive(Debug, Clone, Copy)]
struct Unmarked {
    team: usize,
    key: QueueKey,
    submitted_minute: f64,
}

/// Open cases no agent has taken yet.
#[derive(Debug)]
pub struct OpenQueue {
    windows: PriorityWindows,
    teams: Vec<TeamQueue>,
    /// By arrival, oldest first.
    unmarked: BTreeMap<u64, Unmarked>,
    /// Waiting cases per departure, and how many of them are overdue.
    counts: BTreeMap<Departure, (u64, u64)>,
    scans: u64,
}

impl OpenQueue {
    /// A queue of `teams` teams, numbered from 0.
    pub fn new(windows: PriorityWindows, teams: usize) -> Self {
        Self {
            windows,
            teams: (0..teams).map(|_| TeamQueue::default()).collect(),
            unmarked: BTreeMap::new(),
            counts: BTreeMap::new(),
            scans: 0,
        }
    }

    pub fn push(&mut self, key: QueueKey, case: usize, team: usize, submitted_minute: f64) {
        self.teams[team].regular.insert(key, case);
        self.unmarked.insert(
            key.arrival,
            Unmarked {
                team,
                key,
                submitted_minute,
            },
        );
        self.counts.entry(key.departure).or_default().0 += 1;
    }

    /// The case an agent of `teams` takes next, `today`.
    pub fn pop_next(&mut self, today: Date, teams: &[usize]) -> Option<usize> {
        let (_, team, slot) = teams
            .iter()
            .filter_map(|team| {
                self.teams[*team]
                    .next(today, self.windows)
                    .map(|(part, slot)| (part, *team, slot))
            })
            .min_by_key(|(part, _, slot)| (*part, *slot))?;
        let queue = &mut self.teams[team];
        let (departure, case, overdue) = match slot {
            Slot::Regular(key) => {
                self.unmarked.remove(&key.arrival);
                (key.departure, queue.regular.remove(&key)?, 0)
            }
            Slot::Overdue { mark, arrival } => {
                let (departure, case) = queue.overdue.remove(&(mark, arrival))?;
                (departure, case, 1)
            }
        };
        if let Some(count) = self.counts.get_mut(&departure) {
            count.0 -= 1;
            count.1 -= overdue;
            if count.0 == 0 {
                self.counts.remove(&departure);
            }
        }
        Some(case)
    }

    /// The SLA scan at `minute`: marks overdue every waiting case older than its tier's
    /// target (the tier as of `today`).
    pub fn mark_overdue(&mut self, minute: f64, today: Date, sla: SlaTargets) {
        let target = |tier: Tier| match tier {
            Tier::Critical => sla.critical_minutes,
            Tier::High => sla.high_minutes,
            Tier::Normal => sla.normal_minutes,
        } as f64;
        let shortest = Tier::ALL
            .map(target)
            .into_iter()
            .fold(f64::INFINITY, f64::min);
        let due: Vec<Unmarked> = self
            .unmarked
            .values()
            .take_while(|case| case.submitted_minute < minute - shortest)
            .filter(|case| {
                let tier = self.windows.priority(case.key.departure.date(), today).tier;
                case.submitted_minute < minute - target(tier)
            })
            .copied()
            .collect();
        if due.is_empty() {
            return;
        }
        self.scans += 1;
        for case in due {
            self.unmarked.remove(&case.key.arrival);
            let queue = &mut self.teams[case.team];
            if let Some(index) = queue.regular.remove(&case.key) {
                queue
                    .overdue
                    .insert((self.scans, case.key.arrival), (case.key.departure, index));
                if let Some(count) = self.counts.get_mut(&case.key.departure) {
                    count.1 += 1;
                }
            }
        }
    }

    /// Every waiting case, per departure date, as `Store::waiting_by_departure` counts them.
    pub fn by_departure(&self) -> Vec<Waiting> {
        self.counts
            .iter()
            .map(|(departure, (cases, overdue))| Waiting {
                departure: departure.date(),
                cases: *cases,
                overdue: *overdue,
            })
            .collect()
    }
}

/// Arrivals over the last two estimator windows: what `Store::arrivals_between` returns.
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

    /// (minute, departure) of each, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (f64, Departure)> + '_ {
        self.arrivals.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 24);

    fn key(departure: Departure, arrival: u64) -> QueueKey {
        QueueKey { departure, arrival }
    }

    fn on(date: Date) -> Departure {
        Departure::On(date)
    }

    #[test]
    fn sooner_departures_go_first_then_older_cases_and_unknown_dates_last() {
        let mut queue = OpenQueue::new(PriorityWindows::default(), 1);
        queue.push(key(Departure::Unknown, 0), 0, 0, 0.0);
        queue.push(key(on(date!(2026 - 12 - 20)), 1), 1, 0, 1.0);
        queue.push(key(on(date!(2026 - 11 - 25)), 3), 3, 0, 3.0);
        queue.push(key(on(date!(2026 - 11 - 25)), 2), 2, 0, 2.0);
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
        let order: Vec<_> = std::iter::from_fn(|| queue.pop_next(TODAY, &[0])).collect();
        assert_eq!(order, [2, 3, 1, 0]);
        assert!(queue.by_departure().is_empty());
    }

    #[test]
    fn overdue_cases_go_first_within_their_part_only() {
        let sla = SlaTargets::default();
        let mut queue = OpenQueue::new(PriorityWindows::default(), 1);
        // An old critical case and an old undated one, then fresh critical and normal ones.
        queue.push(key(on(date!(2026 - 11 - 26)), 0), 0, 0, 0.0);
        queue.push(key(Departure::Unknown, 1), 1, 0, 0.0);
        queue.push(key(on(date!(2026 - 11 - 25)), 2), 2, 0, 300.0);
        queue.push(key(on(date!(2026 - 12 - 10)), 3), 3, 0, 300.0);
        // Five hours on, only the critical case is past its four-hour target.
        queue.mark_overdue(300.0, TODAY, sla);
        let overdue: u64 = queue.by_departure().iter().map(|w| w.overdue).sum();
        assert_eq!(overdue, 1);
        // It goes before the critical case departing sooner; the undated one still goes last.
        let order: Vec<_> = std::iter::from_fn(|| queue.pop_next(TODAY, &[0])).collect();
        assert_eq!(order, [0, 2, 3, 1]);
    }

    #[test]
    fn an_overdue_normal_case_does_not_pass_a_critical_one() {
        let sla = SlaTargets {
            critical_minutes: 240,
            high_minutes: 240,
            normal_minutes: 60,
        };
        let mut queue = OpenQueue::new(PriorityWindows::default(), 1);
        queue.push(key(on(date!(2026 - 12 - 20)), 0), 0, 0, 0.0);
        queue.push(key(on(date!(2026 - 11 - 24)), 1), 1, 0, 90.0);
        queue.push(key(on(date!(2026 - 12 - 10)), 2), 2, 0, 90.0);
        queue.mark_overdue(100.0, TODAY, sla);
        let order: Vec<_> = std::iter::from_fn(|| queue.pop_next(TODAY, &[0])).collect();
        // The case departing on the 20th is overdue: it goes before the one departing on the
        // 10th, its part's, but after the critical one.
        assert_eq!(order, [1, 0, 2]);
    }

    #[test]
    fn agents_take_only_their_teams_cases() {
        let mut queue = OpenQueue::new(PriorityWindows::default(), 2);
        queue.push(key(on(date!(2026 - 11 - 25)), 0), 0, 0, 0.0);
        queue.push(key(on(date!(2026 - 11 - 24)), 1), 1, 1, 1.0);
        queue.push(key(on(date!(2026 - 12 - 20)), 2), 2, 0, 2.0);
        assert_eq!(queue.pop_next(TODAY, &[0]), Some(0));
        assert_eq!(queue.pop_next(TODAY, &[0]), Some(2));
        assert_eq!(queue.pop_next(TODAY, &[0]), None);
        // The whole queue still counts every team's cases.
        assert_eq!(queue.by_departure().len(), 1);
        assert_eq!(queue.pop_next(TODAY, &[0, 1]), Some(1));
    }

    #[test]
    fn recent_arrivals_keep_two_windows() {
        let mut recent = RecentArrivals::new(60.0);
        recent.record(10.0, Departure::Unknown);
        recent.record(100.0, on(TODAY));
        recent.record(140.0, on(TODAY));
        let minutes: Vec<f64> = recent.iter().map(|(m, _)| m).collect();
        assert_eq!(minutes, [100.0, 140.0]);
    }
}
