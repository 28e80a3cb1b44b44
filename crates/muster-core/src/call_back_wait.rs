//! The phone line's wait with its call-backs counted. Muster cannot see the callers on hold:
//! that wait is posted by hand or by the telephony system. It does hold the call-backs: each
//! is a case in its queue, ranked like any other, and a call the desk must make before it
//! gets to a new caller who ranks behind it. So a new caller waits the posted time and, on
//! top, for the call-backs the queue puts ahead of them (those of a more urgent part, and of
//! their own part departing no later), each an agent's handling time shared among the agents
//! on duty.

use time::Date;

use crate::priority::Tier;
use crate::queue_profile::QueueProfile;
use crate::wait::WaitRange;
use crate::wait_estimator::AnswerPace;

/// An agent's time for one call, in minutes, when the recent answers do not say.
pub const DEFAULT_CALL_MINUTES: f64 = 6.0;

/// How much the queue moves on per call made, in minutes: the recent mean handling time over
/// the agents on duty; the observed pace of answers when staffing is unknown; six minutes
/// per agent (one agent when unknown) before any answer has gone out.
pub fn minutes_per_call(pace: Option<&AnswerPace>, on_duty: Option<u32>) -> f64 {
    let agents = on_duty.filter(|n| *n > 0).map(f64::from);
    match (pace, agents) {
        (Some(pace), Some(agents)) if pace.handling.mean > 0.0 => pace.handling.mean / agents,
        (Some(pace), None) if pace.per_minute > 0.0 => 1.0 / pace.per_minute,
        (_, agents) => DEFAULT_CALL_MINUTES / agents.unwrap_or(1.0),
    }
}

/// The call-backs waiting (open, not taken), placed by departure like every case.
#[derive(Debug, Clone, PartialEq)]
pub struct CallBackQueue {
    queue: QueueProfile,
    minutes_per_call: f64,
}

impl CallBackQueue {
    /// `queue` holds only the waiting call-backs.
    pub fn new(queue: QueueProfile, minutes_per_call: f64) -> Self {
        Self {
            queue,
            minutes_per_call,
        }
    }

    /// Call-backs the queue puts ahead of a new case departing on `departure`.
    pub fn ahead_of(&self, departure: Option<Date>) -> u64 {
        let tier = self.queue.tier_of(departure);
        self.queue.snapshot_for(departure, None).ahead_of(tier)
    }

    fn minutes(&self, departure: Option<Date>) -> i64 {
        (self.ahead_of(departure) as f64 * self.minutes_per_call).ceil() as i64
    }

    /// What a new caller departing on `departure` waits: `posted`, plus the call-backs ahead.
    pub fn for_case(&self, posted: WaitRange, departure: Option<Date>) -> WaitRange {
        let extra = self.minutes(departure);
        shifted(posted, extra, extra)
    }

    /// The figure for a whole tier: its soonest departure's call-backs on the lower end, its
    /// latest's on the upper (as the computed channels span a tier).
    pub fn for_tier(&self, posted: WaitRange, tier: Tier) -> WaitRange {
        let (soonest, latest) = self.queue.tier_span(tier);
        shifted(posted, self.minutes(soonest), self.minutes(latest))
    }
}

/// `range` moved later by `low` and `high` minutes, still a range (at most 60 days).
fn shifted(range: WaitRange, low: i64, high: i64) -> WaitRange {
    const LONGEST: i64 = 60 * 24 * 60;
    let high_minutes = (range.high_minutes + high).min(LONGEST);
    let low_minutes = (range.low_minutes + low).min(high_minutes);
    WaitRange {
        low_minutes,
        high_minutes,
        rising: range.rising,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::priority::PriorityWindows;
    use crate::queue_profile::Waiting;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 30);

    fn call_backs(waiting: &[(Option<Date>, u64)], minutes_per_call: f64) -> CallBackQueue {
        let waiting = waiting
            .iter()
            .map(|(departure, cases)| Waiting {
                departure: *departure,
                cases: *cases,
                overdue: 0,
            })
            .collect();
        CallBackQueue::new(
            QueueProfile::new(TODAY, PriorityWindows::default(), waiting, Vec::new()),
            minutes_per_call,
        )
    }

    fn posted() -> WaitRange {
        WaitRange::new(10, 20).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn each_call_back_ahead_adds_a_share_of_an_agents_call() {
        // Two call-backs for tomorrow, three without a date; 6 minutes a call, 2 agents.
        let queue = call_backs(&[(Some(date!(2026 - 12 - 01)), 2), (None, 3)], 3.0);
        // A caller travelling tomorrow is behind the two for tomorrow only.
        let tomorrow = queue.for_case(posted(), Some(date!(2026 - 12 - 01)));
        assert_eq!((tomorrow.low_minutes, tomorrow.high_minutes), (16, 26));
        // A caller without a date is behind all five.
        let undated = queue.for_case(posted(), None);
        assert_eq!((undated.low_minutes, undated.high_minutes), (25, 35));
        // The normal tier spans a caller departing after the high window to one without a date.
        let normal = queue.for_tier(posted(), Tier::Normal);
        assert_eq!((normal.low_minutes, normal.high_minutes), (16, 35));
        // Nobody waiting: the posted wait as it was.
        assert_eq!(call_backs(&[], 3.0).for_case(posted(), None), posted());
        // A rising wait stays rising.
        assert!(queue.for_case(posted().rising(), None).rising);
    }

    #[test]
    fn the_minutes_per_call_come_from_the_desk() {
        let pace = AnswerPace {
            responses: 20,
            per_minute: 0.5,
            handling: crate::wait_estimator::HandlingTime {
                mean: 8.0,
                p10: 4.0,
                p50: 7.0,
                p90: 12.0,
            },
            own_handling: crate::wait_estimator::HandlingTime {
                mean: 8.0,
                p10: 4.0,
                p50: 7.0,
                p90: 12.0,
            },
        };
        assert_eq!(minutes_per_call(Some(&pace), Some(4)), 2.0);
        assert_eq!(minutes_per_call(Some(&pace), None), 2.0);
        assert_eq!(minutes_per_call(None, Some(3)), 2.0);
        assert_eq!(minutes_per_call(None, None), DEFAULT_CALL_MINUTES);
        assert_eq!(minutes_per_call(None, Some(0)), DEFAULT_CALL_MINUTES);
    }
}
