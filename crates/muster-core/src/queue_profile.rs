//! The incident's queue counted by departure date: enough to place any one case in it, so the
//! wait posted to a customer is for their own place in the queue, not a figure for their
//! whole tier (a normal-tier case departing in eight days and an undated one wait very
//! differently).
//!
//! Agents take cases part by part (critical, high, normal with a date, then normal without),
//! overdue first within a part, then by departure date, then by age. A new case is the
//! youngest, so ahead of it are every waiting case of an earlier part, every overdue one of
//! its own part, and every other one of its part departing on or before its date. A case
//! arriving later overtakes it when it sorts ahead: an earlier part, or the same part and a
//! strictly sooner departure.

use time::{Date, Duration, OffsetDateTime};

use crate::priority::{PriorityWindows, Tier};
use crate::wait::WaitRange;
use crate::wait_estimator::{
    Estimate, NewCase, Overtaking, QueueSnapshot, RateWindow, Staffing, estimate,
};

/// Waiting cases departing on one date (`None`: no date given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub departure: Option<Date>,
    pub cases: u64,
    /// Of those, the ones marked overdue: they go first within their part.
    pub overdue: u64,
}

/// Cases that arrived departing on one date, over the estimator's last window and the window
/// before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrived {
    pub departure: Option<Date>,
    pub counts: Overtaking,
}

/// Which part of the queue a departure falls in, in the order agents take them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    Dated(Tier),
    Undated,
}

impl Part {
    /// The part of a case departing on `departure`, `today`.
    pub fn of(departure: Option<Date>, today: Date, windows: PriorityWindows) -> Self {
        match departure {
            None => Part::Undated,
            Some(_) => Part::Dated(windows.priority(departure, today).tier),
        }
    }

    pub fn tier(self) -> Tier {
        match self {
            Part::Dated(tier) => tier,
            Part::Undated => Tier::Normal,
        }
    }
}

/// The queue of one incident on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueProfile {
    today: Date,
    windows: PriorityWindows,
    waiting: Vec<Waiting>,
    arrived: Vec<Arrived>,
}

impl QueueProfile {
    /// `today` in the incident's time zone; `windows` are its priority windows.
    pub fn new(
        today: Date,
        windows: PriorityWindows,
        waiting: Vec<Waiting>,
        arrived: Vec<Arrived>,
    ) -> Self {
        Self {
            today,
            windows,
            waiting,
            arrived,
        }
    }

    fn part(&self, departure: Option<Date>) -> Part {
        Part::of(departure, self.today, self.windows)
    }

    /// The tier of a case departing on `departure`.
    pub fn tier_of(&self, departure: Option<Date>) -> Tier {
        self.part(departure).tier()
    }

    /// The queue as a new case departing on `departure` sees it.
    pub fn snapshot_for(
        &self,
        departure: Option<Date>,
        staffing: Option<Staffing>,
    ) -> QueueSnapshot {
        let own = self.part(departure);
        let mut ahead = [0; 3];
        for w in &self.waiting {
            let part = self.part(w.departure);
            let cases = if part < own || (part == own && w.departure <= departure) {
                w.cases
            } else if part == own {
                w.overdue
            } else {
                0
            };
            ahead[part.tier() as usize] += cases;
        }
        let mut overtaking = Overtaking::default();
        for a in &self.arrived {
            let part = self.part(a.departure);
            if part < own || (part == own && a.departure < departure) {
                overtaking.last_window += a.counts.last_window;
                overtaking.window_before += a.counts.window_before;
            }
        }
        QueueSnapshot {
            ahead,
            overtaking,
            staffing,
        }
    }

    /// The soonest and the latest departure a new case of `tier` can have: the two ends of
    /// what the tier's customers can be told. `None` for the latest means no date.
    pub fn tier_span(&self, tier: Tier) -> (Option<Date>, Option<Date>) {
        let day = |days: i64| Some(self.today + Duration::days(days));
        match tier {
            Tier::Critical => (day(0), day(self.windows.critical_days)),
            Tier::High => (
                day(self.windows.critical_days + 1),
                day(self.windows.high_days),
            ),
            Tier::Normal => (day(self.windows.high_days + 1), None),
        }
    }

    /// What a new case of `tier` would be told, whatever its departure within the tier: from
    /// the lower end of the estimate for its soonest departure to the upper end of the one
    /// for its latest. One tier holds customers departing in eight days and customers who
    /// gave no date; a single figure for both would be wrong for one of them. The point is
    /// halfway between the two ends' points.
    pub fn tier_estimate(
        &self,
        tier: Tier,
        answers: &RateWindow,
        staffing: Option<Staffing>,
        now: OffsetDateTime,
        posted: Option<WaitRange>,
    ) -> Option<Estimate> {
        let (soonest, latest) = self.tier_span(tier);
        let told = |departure| {
            let snapshot = self.snapshot_for(departure, staffing.clone());
            estimate(
                NewCase::of_tier(tier),
                &snapshot,
                answers,
                now,
                posted,
                None,
            )
        };
        let (front, back) = (told(soonest)?, told(latest)?);
        Some(Estimate {
            range: WaitRange::new(front.range.low_minutes, back.range.high_minutes)
                .unwrap_or(back.range),
            point_minutes: (front.point_minutes + back.point_minutes) / 2.0,
            source: back.source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 30);

    fn waiting(departure: Option<Date>, cases: u64, overdue: u64) -> Waiting {
        Waiting {
            departure,
            cases,
            overdue,
        }
    }

    fn arrived(departure: Option<Date>, last_window: u64, window_before: u64) -> Arrived {
        Arrived {
            departure,
            counts: Overtaking {
                last_window,
                window_before,
            },
        }
    }

    fn profile() -> QueueProfile {
        QueueProfile::new(
            TODAY,
            PriorityWindows::default(),
            vec![
                waiting(Some(date!(2026 - 12 - 01)), 4, 1),
                waiting(Some(date!(2026 - 12 - 05)), 3, 0),
                waiting(Some(date!(2026 - 12 - 09)), 10, 2),
                waiting(Some(date!(2027 - 01 - 15)), 20, 0),
                waiting(None, 30, 5),
            ],
            vec![
                arrived(Some(date!(2026 - 12 - 01)), 6, 2),
                arrived(Some(date!(2026 - 12 - 09)), 8, 1),
                arrived(Some(date!(2027 - 01 - 15)), 5, 5),
                arrived(None, 9, 9),
            ],
        )
    }

    #[test]
    fn a_case_is_behind_sooner_departures_and_overdue_cases_of_its_part() {
        let soon_normal = profile().snapshot_for(Some(date!(2026 - 12 - 10)), None);
        assert_eq!(soon_normal.ahead, [4, 3, 10]);
        let late_normal = profile().snapshot_for(Some(date!(2027 - 02 - 01)), None);
        assert_eq!(late_normal.ahead, [4, 3, 30]);
        // An undated case waits for every dated one, then for the undated before it.
        let undated = profile().snapshot_for(None, None);
        assert_eq!(undated.ahead, [4, 3, 60]);
        // Departing before the 9th, a normal case still waits for the 9th's overdue ones.
        let first_normal = profile().snapshot_for(Some(date!(2026 - 12 - 08)), None);
        assert_eq!(first_normal.ahead, [4, 3, 2]);
        let critical = profile().snapshot_for(Some(TODAY), None);
        assert_eq!(critical.ahead, [1, 0, 0]);
    }

    #[test]
    fn only_strictly_sooner_arrivals_overtake() {
        let overtaking = |departure| profile().snapshot_for(departure, None).overtaking;
        assert_eq!(
            overtaking(Some(date!(2026 - 12 - 09))),
            Overtaking {
                last_window: 6,
                window_before: 2
            }
        );
        assert_eq!(overtaking(Some(date!(2027 - 01 - 15))).last_window, 14);
        assert_eq!(overtaking(None).last_window, 19);
        assert_eq!(overtaking(Some(TODAY)).last_window, 0);
    }

    #[test]
    fn a_tier_spans_its_soonest_to_its_latest_departure() {
        let p = profile();
        assert_eq!(
            p.tier_span(Tier::Critical),
            (Some(TODAY), Some(date!(2026 - 12 - 03)))
        );
        assert_eq!(
            p.tier_span(Tier::High),
            (Some(date!(2026 - 12 - 04)), Some(date!(2026 - 12 - 07)))
        );
        assert_eq!(
            p.tier_span(Tier::Normal),
            (Some(date!(2026 - 12 - 08)), None)
        );
        for tier in Tier::ALL {
            let (soonest, latest) = p.tier_span(tier);
            assert_eq!(p.tier_of(soonest), tier);
            assert_eq!(p.tier_of(latest), tier);
        }
    }
}
