//! Scores the wait-time estimator on the bundled scenarios, for iterating on the estimator
//! without building the whole `muster` binary (`muster simulate` is the reference figure).
//!
//! ```sh
//! cargo run --release -p muster-core --example waits -- 1 10 101 10   # seeds 1-10, 101-110
//! BY_HOUR=1 cargo run --release -p muster-core --example waits -- 11 30
//! TIER_FIGURE=1 cargo run --release -p muster-core --example waits   # what muster-web shows
//! ```
//!
//! Arguments come in pairs, first seed and number of runs (default: 1 10 101 10). Beside the
//! targets it prints the bias (the median of point / realised, as a percentage off), and with
//! `BY_HOUR` set the normal tier hour by hour, where the misses concentrate.

use muster_core::priority::Tier;
use muster_core::simulation::{self, CaseOutcome, Report, Scenario};

const SCENARIOS: [&str; 3] = [
    include_str!("../../../bench/scenarios/steady.toml"),
    include_str!("../../../bench/scenarios/surge.toml"),
    include_str!("../../../bench/scenarios/agents-added.toml"),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let numbers: Vec<u64> = std::env::args()
        .skip(1)
        .map(|arg| arg.parse())
        .collect::<Result<_, _>>()?;
    let numbers = if numbers.is_empty() {
        vec![1, 10, 101, 10]
    } else {
        numbers
    };
    let by_hour = std::env::var_os("BY_HOUR").is_some();
    let tier_figure = std::env::var_os("TIER_FIGURE").is_some();
    let scenarios: Vec<Scenario> = SCENARIOS
        .iter()
        .map(|text| toml::from_str(text))
        .collect::<Result<Vec<Scenario>, _>>()?
        .into_iter()
        .map(|mut scenario| {
            scenario.estimator.tier_figure |= tier_figure;
            scenario
        })
        .collect();
    for pair in numbers.chunks(2) {
        let (first, runs) = (pair[0], pair.get(1).copied().unwrap_or(1).max(1));
        println!("seeds {first} to {}", first + runs - 1);
        for scenario in &scenarios {
            let report = Report {
                scenario: scenario.name.clone(),
                seed: first,
                request_types: Vec::new(),
                cases: (first..first + runs)
                    .flat_map(|seed| simulation::run(scenario, seed).cases)
                    .collect(),
            };
            for tier in report.tiers() {
                let cases: Vec<&CaseOutcome> = report
                    .cases
                    .iter()
                    .filter(|c| c.tier == tier.tier)
                    .collect();
                println!(
                    "  {:<13} {:<9} {:>6}  inside {:>5.1}%  error {:>5.1}%  bias {:>+6.1}%  {}",
                    scenario.name,
                    tier.tier.as_str(),
                    tier.cases,
                    tier.inside_share * 100.0,
                    tier.median_abs_error * 100.0,
                    bias(&cases) * 100.0,
                    if tier.meets_targets() { "pass" } else { "FAIL" },
                );
            }
            if by_hour {
                print_by_hour(&report);
            }
        }
    }
    Ok(())
}

/// The median of point / realised, less one: negative when the point is short.
fn bias(cases: &[&CaseOutcome]) -> f64 {
    let mut logs: Vec<f64> = cases
        .iter()
        .filter_map(|c| Some((c.estimate?.point_minutes / c.realised_minutes?.max(1.0)).ln()))
        .collect();
    logs.sort_by(f64::total_cmp);
    logs.get(logs.len() / 2).map_or(f64::NAN, |l| l.exp() - 1.0)
}

fn print_by_hour(report: &Report) {
    for hour in 0..24 {
        let cases: Vec<&CaseOutcome> = report
            .cases
            .iter()
            .filter(|c| c.tier == Tier::Normal && (c.submitted_minute / 60.0) as i64 == hour)
            .collect();
        let mut errors: Vec<f64> = cases.iter().filter_map(|c| c.absolute_error()).collect();
        if errors.is_empty() {
            continue;
        }
        errors.sort_by(f64::total_cmp);
        let within = errors.iter().filter(|e| **e <= 0.25).count();
        println!(
            "      hour {hour:>2}  {:>5} cases  error {:>5.1}%  within 25% {:>5.1}%  bias {:>+6.1}%",
            cases.len(),
            errors[errors.len() / 2] * 100.0,
            within as f64 * 100.0 / errors.len() as f64,
            bias(&cases) * 100.0,
        );
    }
}
