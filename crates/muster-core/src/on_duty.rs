//! Who is answering the queue, as Muster can tell it: nobody clocks in, so an agent counts as
//! on duty while they are seen at work (taking a case, replying, changing one), and the
//! changes ahead are only those the manager announced in the staffing plan.
//!
//! `muster-web` counts the agents seen from the store; `muster simulate` counts them from its
//! simulated agents' takes and answers with [`SeenAgents`]. Both turn the count into the
//! estimator's staffing with [`staffing_seen`].

use std::collections::HashMap;

use time::{Duration, OffsetDateTime};

use crate::wait_estimator::{StaffGroup, Staffing};

/// An agent counts as on duty for this long after they last took or worked a case. Answers
/// take about 6 minutes (90% under 10), so an agent at work is seen two or three times over;
/// a shorter window would drop agents on a long case, a longer one would keep counting those
/// who went home.
pub const ON_DUTY_WINDOW: Duration = Duration::minutes(20);

/// The staffing the estimator is told: the `agents` seen at work and the changes the
/// manager's `plan` brings after `now`, or `None` when no agent was seen (staffing unknown:
/// the estimate follows the observed rate of answers, not zero agents, which would mean
/// nobody will ever answer).
pub fn staffing_seen(agents: usize, plan: &[StaffGroup], now: OffsetDateTime) -> Option<Staffing> {
    (agents > 0).then(|| Staffing::planned(u32::try_from(agents).unwrap_or(u32::MAX), plan, now))
}

/// When each agent was last seen at work.
#[derive(Debug, Clone, Default)]
pub struct SeenAgents {
    last_seen: HashMap<u64, OffsetDateTime>,
}

impl SeenAgents {
    /// `agent` took or worked a case at `at`.
    pub fn saw(&mut self, agent: u64, at: OffsetDateTime) {
        let last = self.last_seen.entry(agent).or_insert(at);
        *last = (*last).max(at);
    }

    /// Distinct agents seen within [`ON_DUTY_WINDOW`] before `now` (strictly after its start,
    /// as `Store::agents_seen_since` counts).
    pub fn on_duty(&self, now: OffsetDateTime) -> usize {
        let since = now - ON_DUTY_WINDOW;
        self.last_seen
            .values()
            .filter(|at| **at > since && **at <= now)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-30 12:00 UTC);

    #[test]
    fn an_agent_counts_while_seen_within_the_window() {
        let mut seen = SeenAgents::default();
        seen.saw(1, NOW - Duration::minutes(5));
        seen.saw(2, NOW - Duration::minutes(19));
        seen.saw(3, NOW - Duration::minutes(20));
        // Seen twice: counted once, by the latest sighting.
        seen.saw(1, NOW - Duration::minutes(30));
        seen.saw(4, NOW - Duration::minutes(40));
        seen.saw(4, NOW - Duration::minutes(2));
        assert_eq!(seen.on_duty(NOW), 3);
        // Fourteen minutes on, only the two seen last are still on duty; then nobody.
        assert_eq!(seen.on_duty(NOW + Duration::minutes(14)), 2);
        assert_eq!(seen.on_duty(NOW + Duration::minutes(30)), 0);
    }

    #[test]
    fn nobody_seen_is_unknown_staffing_and_the_plan_counts_from_those_seen() {
        let plan = [StaffGroup {
            agents: 6,
            from: Some(NOW + Duration::minutes(45)),
            until: None,
        }];
        assert_eq!(staffing_seen(0, &plan, NOW), None);
        let staffing = staffing_seen(7, &plan, NOW);
        assert_eq!(staffing.as_ref().map(|s| s.on_duty), Some(7));
        assert_eq!(
            staffing.map(|s| s.planned.iter().map(|c| c.on_duty).collect::<Vec<_>>()),
            Some(vec![13])
        );
    }

    proptest! {
        /// Agents who each take a case at least every `gap` minutes (a gap shorter than the
        /// window) are all counted; agents last seen longer ago than the window are not; and
        /// the count never exceeds the agents ever seen.
        #[test]
        fn working_agents_count_and_departed_ones_do_not(
            working in 0u64..30,
            gap in 1i64..20,
            departed in 0u64..30,
            gone_for in 21i64..600,
            offsets in proptest::collection::vec(0i64..60, 60),
        ) {
            let mut seen = SeenAgents::default();
            for agent in 0..working {
                // Seen every `gap` minutes over the last two hours, starting at a random offset.
                let start = offsets[agent as usize % offsets.len()] % gap;
                let mut minute = 120 - start;
                while minute >= 0 {
                    seen.saw(agent, NOW - Duration::minutes(minute));
                    minute -= gap;
                }
            }
            for agent in 0..departed {
                seen.saw(1_000 + agent, NOW - Duration::minutes(gone_for + offsets[agent as usize % 60]));
            }
            prop_assert_eq!(seen.on_duty(NOW) as u64, working);
            prop_assert!(seen.on_duty(NOW + Duration::minutes(20)) == 0);
        }
    }
}
