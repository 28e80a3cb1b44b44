//! A discrete-event simulation of a crisis desk, to measure the wait-time estimator against the
//! waits customers would really have had.
//!
//! Deterministic for a given scenario and seed. Cases arrive on a rising-then-decaying curve,
//! are ranked with the real [`PriorityWindows::priority`](crate::priority::PriorityWindows),
//! are told the real [`estimate`](crate::wait_estimator::estimate) computed from the live
//! queue, and are answered by agents who join, work at their own pace and change shifts.
//! Scenarios are plain data (`serde`), read from TOML by the `muster simulate` command.

mod engine;
mod queue;
mod report;
mod sampling;
mod scenario;

pub use engine::run;
pub use report::{CaseOutcome, ERROR_TARGET, INSIDE_TARGET, Report, TierSummary};
pub use scenario::{
    AgentGroup, Backlog, DepartureBucket, Departures, EstimatorConfig, RequestType, Scenario,
    ScenarioError,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wait::WaitRange;
    use time::macros::datetime;

    /// Two hours of a small crisis: 30 cases an hour rising to 60, three agents, one more
    /// after an hour.
    pub(super) fn small_scenario() -> Scenario {
        Scenario {
            name: "small".into(),
            description: String::new(),
            start: datetime!(2026-11-24 08:00 UTC),
            arrival_minutes: 120.0,
            arrival_curve: vec![[0.0, 30.0], [60.0, 90.0], [90.0, 30.0]],
            departures: Departures {
                unknown: 0.1,
                buckets: vec![
                    DepartureBucket {
                        share: 0.3,
                        days: [0, 3],
                    },
                    DepartureBucket {
                        share: 0.6,
                        days: [4, 30],
                    },
                ],
            },
            priority_windows: Default::default(),
            request_types: vec![RequestType {
                name: "refund".into(),
                share: 1.0,
                handle_minutes: 6.0,
            }],
            handle_time_sigma: 0.4,
            agents: vec![
                AgentGroup {
                    count: 3,
                    from_minute: 0.0,
                    until_minute: None,
                    handle_time_factor: 1.0,
                    announced_minutes_before: None,
                },
                AgentGroup {
                    count: 1,
                    from_minute: 60.0,
                    until_minute: None,
                    handle_time_factor: 1.3,
                    announced_minutes_before: Some(20.0),
                },
            ],
            backlog: Some(Backlog {
                cases: 10,
                over_minutes: 60.0,
            }),
            posted_wait: Some(WaitRange {
                low_minutes: 10,
                high_minutes: 60,
            }),
            estimator: EstimatorConfig::default(),
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_report() {
        let scenario = small_scenario();
        assert_eq!(scenario.validate(), Ok(()));
        let first = run(&scenario, 7);
        assert!(first.cases.len() > 50, "{} cases", first.cases.len());
        assert_eq!(first, run(&scenario, 7));
        assert_ne!(first.cases, run(&scenario, 8).cases);
    }

    #[test]
    fn every_case_is_answered_while_agents_remain() {
        let report = run(&small_scenario(), 1);
        assert!(report.cases.iter().all(|c| c.realised_minutes.is_some()));
        let total: usize = report.tiers().iter().map(|t| t.cases).sum();
        assert_eq!(total, report.cases.len());
    }
}
