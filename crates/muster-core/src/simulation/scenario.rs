//! A crisis to simulate, as written in a scenario file: how cases arrive, who they are from,
//! what they ask, and who answers them.

use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::incident::SlaTargets;
use crate::priority::PriorityWindows;
use crate::wait::WaitRange;
use crate::wait_estimator::WindowSettings;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// When the simulated crisis begins (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// Cases arrive for this long; the simulation then runs until every case is answered.
    pub arrival_minutes: f64,
    /// `[minute, cases per hour]` points, linear in between and flat after the last.
    pub arrival_curve: Vec<[f64; 2]>,
    pub departures: Departures,
    #[serde(default)]
    pub priority_windows: PriorityWindows,
    pub request_types: Vec<RequestType>,
    /// Spread of handling times around each request type's mean (lognormal sigma).
    pub handle_time_sigma: f64,
    pub agents: Vec<AgentGroup>,
    /// Cases already waiting when the simulation starts (not scored: nobody was told anything).
    #[serde(default)]
    pub backlog: Option<Backlog>,
    /// The manager's posted range, shown until the estimator has enough answers to go on.
    #[serde(default)]
    pub posted_wait: Option<WaitRange>,
    #[serde(default)]
    pub estimator: EstimatorConfig,
    /// When a waiting case turns overdue (and so goes first within its part of the queue).
    #[serde(default)]
    pub sla: SlaTargets,
}

/// When customers travel, as shares of all cases.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Departures {
    /// Cases with no departure date (social media, email).
    pub unknown: f64,
    pub buckets: Vec<DepartureBucket>,
}

/// A share of cases departing between `days[0]` and `days[1]` days after submission, inclusive.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartureBucket {
    pub share: f64,
    pub days: [i64; 2],
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestType {
    pub name: String,
    pub share: f64,
    /// Mean time for an agent to take a case of this type to its first answer.
    pub handle_minutes: f64,
    /// The team its cases go to; agents of other teams never take them. Absent: no team,
    /// taken only by agents who work every team.
    #[serde(default)]
    pub team: Option<String>,
}

/// Agents who work the same hours at the same pace.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentGroup {
    pub count: u32,
    #[serde(default)]
    pub from_minute: f64,
    /// They finish the case in hand, then leave. Absent: until the queue is empty.
    #[serde(default)]
    pub until_minute: Option<f64>,
    /// Handling time relative to the request type's mean (borrowed staff are slower).
    #[serde(default = "one")]
    pub handle_time_factor: f64,
    /// How long before they join the manager announces them in the staffing plan (and so
    /// the estimator knows). Absent: in the plan from the start, like a rota.
    #[serde(default)]
    pub announced_minutes_before: Option<f64>,
    /// Nobody tells the manager: they are never in the staffing plan, and the desk sees
    /// them only once they take cases (staff who come in to help, or leave, on their own).
    #[serde(default)]
    pub unannounced: bool,
    /// Of `count` in the plan, this many never turn up.
    #[serde(default)]
    pub absent: u32,
    /// The teams whose cases they take. Absent: every team's, and cases with no team.
    #[serde(default)]
    pub teams: Option<Vec<String>>,
}

/// Cases submitted evenly over the `over_minutes` before the start, while the desk was closed.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backlog {
    pub cases: u32,
    pub over_minutes: f64,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstimatorConfig {
    pub window_minutes: i64,
    pub min_responses: usize,
    /// Tell each case the figure `muster-web` posts for its tier on the landing page (from
    /// the estimate for the tier's soonest departure to the one for its latest) instead of
    /// the estimate for its own place.
    #[serde(default)]
    pub tier_figure: bool,
    /// How often the posted waits are computed again, as `muster serve` does
    /// (`queue.wait_refresh_secs`); the SLA scan that marks cases overdue runs as often.
    #[serde(default = "production_refresh_seconds")]
    pub refresh_seconds: f64,
}

/// `queue.wait_refresh_secs` and `queue.sla_scan_secs` in `config/default.toml`.
fn production_refresh_seconds() -> f64 {
    30.0
}

impl Default for EstimatorConfig {
    fn default() -> Self {
        let defaults = WindowSettings::default();
        Self {
            window_minutes: defaults.window.whole_minutes(),
            min_responses: defaults.min_responses,
            tier_figure: false,
            refresh_seconds: production_refresh_seconds(),
        }
    }
}

impl EstimatorConfig {
    pub fn window_settings(&self) -> WindowSettings {
        WindowSettings {
            window: Duration::minutes(self.window_minutes),
            min_responses: self.min_responses,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScenarioError {
    #[error("arrival_minutes must be positive and at most 30 days")]
    ArrivalMinutes,
    #[error("arrival_curve needs at least one point, minutes ascending, rates not negative")]
    ArrivalCurve,
    #[error("departure shares must be non-negative, with day ranges ascending and not negative")]
    Departures,
    #[error("request_types needs at least one type, shares and handle times positive")]
    RequestTypes,
    #[error("handle_time_sigma must be between 0 and 2")]
    HandleTimeSigma,
    #[error(
        "agents: each group needs a positive count, fewer absent than planned, a positive handle_time_factor, from before until"
    )]
    Agents,
    #[error("backlog: over_minutes must be positive")]
    Backlog,
    #[error("estimator: window_minutes and refresh_seconds must be positive")]
    Estimator,
}

impl Scenario {
    pub fn validate(&self) -> Result<(), ScenarioError> {
        if !(self.arrival_minutes > 0.0 && self.arrival_minutes <= 30.0 * 24.0 * 60.0) {
            return Err(ScenarioError::ArrivalMinutes);
        }
        let curve_ok = !self.arrival_curve.is_empty()
            && self.arrival_curve.windows(2).all(|w| w[0][0] <= w[1][0])
            && self
                .arrival_curve
                .iter()
                .all(|[m, r]| m.is_finite() && *r >= 0.0);
        if !curve_ok {
            return Err(ScenarioError::ArrivalCurve);
        }
        let departures_ok = self.departures.unknown >= 0.0
            && self
                .departures
                .buckets
                .iter()
                .all(|b| b.share >= 0.0 && 0 <= b.days[0] && b.days[0] <= b.days[1]);
        let departure_total =
            self.departures.unknown + self.departures.buckets.iter().map(|b| b.share).sum::<f64>();
        if !departures_ok || departure_total <= 0.0 {
            return Err(ScenarioError::Departures);
        }
        let types_ok = !self.request_types.is_empty()
            && self
                .request_types
                .iter()
                .all(|t| t.share > 0.0 && t.handle_minutes > 0.0);
        if !types_ok {
            return Err(ScenarioError::RequestTypes);
        }
        if !(0.0..=2.0).contains(&self.handle_time_sigma) {
            return Err(ScenarioError::HandleTimeSigma);
        }
        let agents_ok = self.agents.iter().all(|g| {
            g.count > 0
                && g.absent < g.count
                && g.handle_time_factor > 0.0
                && g.until_minute.is_none_or(|until| g.from_minute < until)
        });
        if !agents_ok {
            return Err(ScenarioError::Agents);
        }
        if self.backlog.is_some_and(|b| b.over_minutes <= 0.0) {
            return Err(ScenarioError::Backlog);
        }
        let refresh = self.estimator.refresh_seconds;
        if self.estimator.window_minutes <= 0 || !(refresh.is_finite() && refresh > 0.0) {
            return Err(ScenarioError::Estimator);
        }
        Ok(())
    }

    /// Cases per minute arriving `minute` minutes into the crisis.
    pub fn arrivals_per_minute(&self, minute: f64) -> f64 {
        let curve = &self.arrival_curve;
        let per_hour = match curve.iter().position(|[m, _]| *m > minute) {
            None => curve.last().map_or(0.0, |[_, r]| *r),
            Some(0) => curve[0][1],
            Some(i) => {
                let ([m0, r0], [m1, r1]) = (curve[i - 1], curve[i]);
                r0 + (r1 - r0) * (minute - m0) / (m1 - m0)
            }
        };
        per_hour / 60.0
    }

    /// The highest arrival rate on the curve, per minute.
    pub fn peak_arrivals_per_minute(&self) -> f64 {
        self.arrival_curve
            .iter()
            .map(|[_, r]| *r / 60.0)
            .fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_curve_is_linear_between_points_and_flat_outside() {
        let scenario = super::super::tests::small_scenario();
        assert!((scenario.arrivals_per_minute(0.0) - 0.5).abs() < 1e-9);
        assert!((scenario.arrivals_per_minute(30.0) - 1.0).abs() < 1e-9);
        assert!((scenario.arrivals_per_minute(500.0) - 0.5).abs() < 1e-9);
    }
}
