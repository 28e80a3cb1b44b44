//! What a simulated crisis tells us about the estimator: for every case, the range posted to
//! it at submission against the wait it actually had, summed up per tier.

use crate::priority::Tier;
use crate::wait_estimator::{Estimate, Source};

/// The share of cases whose realised wait must fall inside the range shown to them.
pub const INSIDE_TARGET: f64 = 0.80;
/// The largest acceptable median absolute error of the point estimate, relative to the wait.
pub const ERROR_TARGET: f64 = 0.25;
/// Tiers with fewer cases than this in a crisis are reported but not judged: a handful of
/// cases says nothing about the estimator.
pub const MIN_JUDGED_CASES: usize = 100;

/// One simulated case, from submission to first response.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseOutcome {
    /// Minutes into the crisis.
    pub submitted_minute: f64,
    pub tier: Tier,
    pub needs_date: bool,
    /// Days from submission to departure, when known.
    pub days_to_departure: Option<i64>,
    pub request_type: usize,
    /// Open cases ahead of it in the queue when it was submitted.
    pub queue_ahead: u64,
    /// What the customer was told at submission (`None`: nothing to tell).
    pub estimate: Option<Estimate>,
    /// Minutes from submission to first response; `None` if never answered.
    pub realised_minutes: Option<f64>,
}

impl CaseOutcome {
    /// The realised wait fell inside the range as it was shown (rounded outwards into words):
    /// both the whole minutes below and above it must, so 15.3 minutes is not "5 to 15".
    pub fn inside_shown_range(&self) -> bool {
        match (self.estimate, self.realised_minutes) {
            (Some(estimate), Some(realised)) => {
                let shown = |minutes: f64| estimate.range.shown_range_contains(minutes as i64);
                shown(realised.floor()) && shown(realised.ceil())
            }
            _ => false,
        }
    }

    /// |point − realised| / realised, with waits under a minute counted as one minute.
    pub fn absolute_error(&self) -> Option<f64> {
        let (estimate, realised) = (self.estimate?, self.realised_minutes?);
        let realised = realised.max(1.0);
        Some((estimate.point_minutes - realised).abs() / realised)
    }
}

/// One tier's figures in one scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TierSummary {
    pub tier: Tier,
    pub cases: usize,
    /// Cases still unanswered when the simulation ended.
    pub unanswered: usize,
    /// Cases told the manager's posted range (or nothing) because the estimator had too
    /// little to go on.
    pub not_computed: usize,
    /// Cases told "more than …, and rising": the queue was outrunning the desk.
    pub rising: usize,
    /// Share of cases whose realised wait fell inside the range shown to them.
    pub inside_share: f64,
    /// Median of |point − realised| / realised.
    pub median_abs_error: f64,
}

impl TierSummary {
    pub fn meets_targets(&self) -> bool {
        self.inside_share >= INSIDE_TARGET && self.median_abs_error <= ERROR_TARGET
    }

    /// Enough cases to judge the tier by.
    pub fn judged(&self) -> bool {
        self.cases >= MIN_JUDGED_CASES
    }

    fn of(tier: Tier, outcomes: &[CaseOutcome]) -> Self {
        let cases: Vec<&CaseOutcome> = outcomes.iter().filter(|c| c.tier == tier).collect();
        let inside = cases.iter().filter(|c| c.inside_shown_range()).count();
        let mut errors: Vec<f64> = cases.iter().filter_map(|c| c.absolute_error()).collect();
        errors.sort_by(f64::total_cmp);
        Self {
            tier,
            cases: cases.len(),
            unanswered: cases
                .iter()
                .filter(|c| c.realised_minutes.is_none())
                .count(),
            not_computed: cases
                .iter()
                .filter(|c| c.estimate.is_none_or(|e| e.source != Source::Computed))
                .count(),
            rising: cases
                .iter()
                .filter(|c| c.estimate.is_some_and(|e| e.range.rising))
                .count(),
            inside_share: share(inside, cases.len()),
            median_abs_error: median(&errors),
        }
    }
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The median of sorted values; NaN for none, so an empty tier never passes.
fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// A whole simulated crisis.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub scenario: String,
    pub seed: u64,
    /// Request type names, indexed by `CaseOutcome::request_type`.
    pub request_types: Vec<String>,
    pub cases: Vec<CaseOutcome>,
}

impl Report {
    /// Figures per tier, critical first.
    pub fn tiers(&self) -> [TierSummary; 3] {
        Tier::ALL.map(|tier| TierSummary::of(tier, &self.cases))
    }

    /// Every tier with enough cases to judge meets both targets, and at least one has.
    pub fn meets_targets(&self) -> bool {
        let tiers = self.tiers();
        let mut judged = tiers.iter().filter(|t| t.judged()).peekable();
        judged.peek().is_some() && judged.all(TierSummary::meets_targets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wait::WaitRange;

    fn outcome(tier: Tier, low: i64, high: i64, point: f64, realised: f64) -> CaseOutcome {
        CaseOutcome {
            submitted_minute: 0.0,
            tier,
            needs_date: false,
            days_to_departure: Some(10),
            request_type: 0,
            queue_ahead: 0,
            estimate: Some(Estimate {
                range: WaitRange {
                    low_minutes: low,
                    high_minutes: high,
                    rising: false,
                },
                point_minutes: point,
                source: Source::Computed,
            }),
            realised_minutes: Some(realised),
        }
    }

    #[test]
    fn the_summary_counts_the_shown_range_and_the_median_error() {
        let report = Report {
            scenario: "test".into(),
            seed: 1,
            request_types: vec!["refund".into()],
            cases: vec![
                // Shown as "5 to 15 minutes": 15 is inside, 15.2 is not.
                outcome(Tier::High, 7, 12, 10.0, 15.0),
                outcome(Tier::High, 7, 12, 10.0, 15.2),
                outcome(Tier::High, 7, 12, 10.0, 10.0),
            ],
        };
        let [critical, high, _] = report.tiers();
        assert_eq!(critical.cases, 0);
        assert!(!critical.meets_targets());
        assert_eq!(high.cases, 3);
        assert!((high.inside_share - 2.0 / 3.0).abs() < 1e-9);
        assert!((high.median_abs_error - 5.0 / 15.0).abs() < 1e-9);
    }

    #[test]
    fn only_tiers_with_enough_cases_are_judged() {
        let good = outcome(Tier::Normal, 7, 12, 10.0, 10.0);
        let bad = outcome(Tier::Critical, 7, 12, 10.0, 40.0);
        let report = |normal: usize, critical: usize| Report {
            scenario: "test".into(),
            seed: 1,
            request_types: vec!["refund".into()],
            cases: std::iter::repeat_n(good.clone(), normal)
                .chain(std::iter::repeat_n(bad.clone(), critical))
                .collect(),
        };
        // A handful of missed critical cases is not judged; a hundred are.
        assert!(report(MIN_JUDGED_CASES, MIN_JUDGED_CASES - 1).meets_targets());
        assert!(!report(MIN_JUDGED_CASES, MIN_JUDGED_CASES).meets_targets());
        // Nothing to judge is no pass.
        assert!(!report(MIN_JUDGED_CASES - 1, 0).meets_targets());
    }

    #[test]
    fn a_rising_range_holds_any_longer_wait() {
        let mut case = outcome(Tier::Normal, 400, 500, 450.0, 2_000.0);
        assert!(!case.inside_shown_range());
        if let Some(estimate) = case.estimate.as_mut() {
            estimate.range = estimate.range.rising();
        }
        assert!(case.inside_shown_range());
        let summary = Report {
            scenario: "test".into(),
            seed: 1,
            request_types: Vec::new(),
            cases: vec![case],
        }
        .tiers()[2];
        assert_eq!(summary.rising, 1);
    }
}
