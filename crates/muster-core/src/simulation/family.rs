//! A family of generated crises, for scoring the estimator on crises nobody tuned it on.
//!
//! `family(count, seed)` draws `count` scenarios, the regimes in turn (steady, surge,
//! overload, unannounced staff), each from its own generator seeded by `seed` and its
//! position. Every draw is uniform over the range given, and the ranges are these (also in
//! docs/waits.md, with the figures they give):
//!
//! | what                       | range                                                        |
//! |----------------------------|--------------------------------------------------------------|
//! | day team                   | 6–20 agents; hands over at 7–10 h, after a 0–15 min gap, to  |
//! |                            | a late team of 0.8–1.2× its size who stay to the end         |
//! | absenteeism                | half the crises: 5–20% of each team in the rota never come  |
//! | request types              | 2–4 of information (3–5 min), rebooking (6–9), refund (5–8),  |
//! |                            | complaint (8–12), assistance (4–7); shares 0.2–1 each        |
//! | teams                      | half the crises: refund and complaint go to "refunds", the   |
//! |                            | rest to "travel"; 60–80% of agents work both, the rest one  |
//! | handling-time spread σ     | 0.2–0.7 (lognormal)                                          |
//! | undated share              | 0–60%; of the dated, 15–40% depart in 0–3 days, 10–30% in   |
//! |                            | 4–7, the rest in 8 to 30–90                                 |
//! | backlog at opening         | half the crises: 0.5–3 hours of the day team's capacity      |
//! | arrivals                   | for 10–16 hours, as a share ρ of the day team's capacity:    |
//! | — steady                   | ρ 0.5–0.8, ±15% in a wave of 4–10 h                          |
//! | — surge                    | ρ 0.15–0.4, then 1–3 spikes each rising over 30–120 min by   |
//! |                            | 0.6–1.6 and decaying by e every 2–5 h; half the crises a     |
//! |                            | cliff (service resumes: back to half the baseline at once);  |
//! |                            | half announce 3–8 borrowed staff (1.1–1.4× slower) 20–60 min |
//! |                            | before they join at 1–4 h                                    |
//! | — overload                 | ρ 0.3–0.6 for 30–120 min, a 20–60 min climb to ρ 1.2–2.0     |
//! |                            | held 2–6 h, then a fall over 1–3 h to ρ 0.3–0.7             |
//! | — unannounced staff        | ρ 0.6–1.0 with one spike of 0.3–0.8; 1–2 groups of 2–8 staff |
//! |                            | join unannounced at 0.5–6.5 h (half leave again 1–4 h later, |
//! |                            | unannounced), and half the crises 2–5 of the morning's staff |
//! |                            | are not in the rota and leave unannounced at 2–6.5 h         |
//! | manager's posted range     | one of 10–45 min, 15–60 min, 30–120 min, 1–4 h               |

use std::fmt;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::Duration;
use time::macros::datetime;

use super::scenario::{
    AgentGroup, Backlog, DepartureBucket, Departures, EstimatorConfig, RequestType, Scenario,
};
use crate::wait::WaitRange;

/// What kind of crisis a generated scenario is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Regime {
    /// Arrivals the desk keeps up with.
    Steady,
    /// Spikes well above capacity, then decay; sometimes a cliff.
    Surge,
    /// Arrivals above capacity (up to twice) for hours.
    Overload,
    /// Staff joining and leaving without anyone telling the manager.
    UnannouncedStaff,
}

impl Regime {
    pub const ALL: [Regime; 4] = [
        Regime::Steady,
        Regime::Surge,
        Regime::Overload,
        Regime::UnannouncedStaff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Regime::Steady => "steady",
            Regime::Surge => "surge",
            Regime::Overload => "overload",
            Regime::UnannouncedStaff => "unannounced",
        }
    }
}

impl fmt::Display for Regime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One generated crisis, and the seed to run it with.
#[derive(Debug, Clone)]
pub struct Member {
    pub regime: Regime,
    pub scenario: Scenario,
    pub seed: u64,
}

/// The handling-time spread the generator draws from, at full range.
pub const SIGMA_RANGE: [f64; 2] = [0.2, 0.7];

/// `count` generated crises; the same `seed` always gives the same family.
pub fn family(count: usize, seed: u64) -> Vec<Member> {
    family_up_to_sigma(count, seed, SIGMA_RANGE[1])
}

/// The same crises as [`family`], with handling times spread at most `max_sigma` (drawn
/// uniformly from 0.2 to it instead of to 0.7; nothing else changes). Above about 0.38 no
/// point estimate can be within 25% of half the waits of cases taken at once (docs/waits.md),
/// so this is the family in which every target is attainable.
pub fn family_up_to_sigma(count: usize, seed: u64, max_sigma: f64) -> Vec<Member> {
    let sigma = [
        SIGMA_RANGE[0],
        max_sigma.clamp(SIGMA_RANGE[0], SIGMA_RANGE[1]),
    ];
    (0..count)
        .map(|i| {
            let regime = Regime::ALL[i % Regime::ALL.len()];
            // Each member its own stream, so a family's first members do not change with
            // its size.
            let mut rng = StdRng::seed_from_u64(
                seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .wrapping_add(i as u64),
            );
            let scenario = generate(regime, &mut rng, format!("{regime}-{seed}-{i}"), sigma);
            Member {
                regime,
                scenario,
                seed: rng.random(),
            }
        })
        .collect()
}

/// (name, mean handling minutes, team when teams are in use)
const REQUEST_TYPES: [(&str, [f64; 2], &str); 5] = [
    ("information", [3.0, 5.0], "travel"),
    ("rebooking", [6.0, 9.0], "travel"),
    ("refund", [5.0, 8.0], "refunds"),
    ("complaint", [8.0, 12.0], "refunds"),
    ("assistance", [4.0, 7.0], "travel"),
];

const POSTED: [(i64, i64); 4] = [(10, 45), (15, 60), (30, 120), (60, 240)];

/// Arrival rates are drawn as a share of capacity and sampled this often.
const CURVE_STEP_MINUTES: f64 = 10.0;

fn uniform(rng: &mut StdRng, [low, high]: [f64; 2]) -> f64 {
    rng.random_range(low..=high)
}

fn chance(rng: &mut StdRng) -> bool {
    rng.random_bool(0.5)
}

fn generate(regime: Regime, rng: &mut StdRng, name: String, sigma: [f64; 2]) -> Scenario {
    let start = datetime!(2026-01-05 00:00 UTC)
        + Duration::days(rng.random_range(0..330))
        + Duration::hours(rng.random_range(6..=10));
    let arrival_minutes = uniform(rng, [600.0, 960.0]).round();
    let teams = chance(rng);
    let request_types = request_types(rng, teams);
    let mean_handling = request_types
        .iter()
        .map(|t| t.share * t.handle_minutes)
        .sum::<f64>()
        / request_types.iter().map(|t| t.share).sum::<f64>();

    let day_team = rng.random_range(6..=20u32);
    let absent_share = if chance(rng) {
        uniform(rng, [0.05, 0.2])
    } else {
        0.0
    };
    let absent = |count: u32| ((f64::from(count) * absent_share).round() as u32).min(count - 1);
    let handover = uniform(rng, [420.0, 600.0]).round();
    let gap = uniform(rng, [0.0, 15.0]).round();
    let late_team = ((f64::from(day_team) * uniform(rng, [0.8, 1.2])).round() as u32).max(4);
    // Capacity per minute of the day team as planned: arrivals are drawn against it.
    let capacity = f64::from(day_team) / mean_handling;
    let team_names: Vec<String> = if teams {
        vec!["refunds".into(), "travel".into()]
    } else {
        Vec::new()
    };
    let generalists = uniform(rng, [0.6, 0.8]);
    let mut agents = Vec::new();
    for (count, from, until) in [
        (day_team, 0.0, Some(handover)),
        (late_team, handover + gap, None),
    ] {
        agents.extend(rota_groups(
            rng,
            count,
            from,
            until,
            &team_names,
            generalists,
            absent(count),
        ));
    }

    let rates = match regime {
        Regime::Steady => steady(rng, arrival_minutes),
        Regime::Surge => surge(rng, arrival_minutes),
        Regime::Overload => overload(rng, arrival_minutes),
        Regime::UnannouncedStaff => unannounced_load(rng, arrival_minutes),
    };
    match regime {
        Regime::Surge if chance(rng) => agents.push(AgentGroup {
            count: rng.random_range(3..=8),
            from_minute: uniform(rng, [60.0, 240.0]).round(),
            until_minute: None,
            handle_time_factor: uniform(rng, [1.1, 1.4]),
            announced_minutes_before: Some(uniform(rng, [20.0, 60.0]).round()),
            unannounced: false,
            absent: 0,
            teams: None,
        }),
        Regime::UnannouncedStaff => agents.extend(unannounced_staff(rng, handover)),
        _ => {}
    }
    let arrival_curve = rates
        .into_iter()
        .map(|[minute, load]| [minute, (load * capacity * 60.0 * 10.0).round() / 10.0])
        .collect();

    let backlog = chance(rng).then(|| Backlog {
        cases: (capacity * 60.0 * uniform(rng, [0.5, 3.0])).round() as u32,
        over_minutes: 600.0,
    });
    let (low, high) = POSTED[rng.random_range(0..POSTED.len())];
    let handle_time_sigma = uniform(rng, sigma);
    Scenario {
        description: format!(
            "{regime}: {day_team} agents, {:.1} min per answer, sigma {handle_time_sigma:.2}",
            mean_handling
        ),
        name,
        start,
        arrival_minutes,
        arrival_curve,
        departures: departures(rng),
        priority_windows: Default::default(),
        request_types,
        handle_time_sigma,
        agents,
        backlog,
        posted_wait: WaitRange::new(low, high).ok(),
        estimator: EstimatorConfig::default(),
        sla: Default::default(),
    }
}

fn request_types(rng: &mut StdRng, teams: bool) -> Vec<RequestType> {
    let wanted = rng.random_range(2..=4);
    let mut chosen: Vec<usize> = (0..REQUEST_TYPES.len()).collect();
    // A partial Fisher-Yates shuffle: the first `wanted` are a uniform choice.
    for i in 0..wanted {
        let j = rng.random_range(i..chosen.len());
        chosen.swap(i, j);
    }
    chosen.truncate(wanted);
    chosen.sort_unstable();
    chosen
        .into_iter()
        .map(|i| {
            let (name, minutes, team) = REQUEST_TYPES[i];
            RequestType {
                name: name.into(),
                share: uniform(rng, [0.2, 1.0]),
                handle_minutes: uniform(rng, minutes),
                team: teams.then(|| team.into()),
            }
        })
        .collect()
}

fn departures(rng: &mut StdRng) -> Departures {
    let unknown = uniform(rng, [0.0, 0.6]);
    let dated = 1.0 - unknown;
    let soon = uniform(rng, [0.15, 0.4]);
    let week = uniform(rng, [0.1, 0.3]);
    Departures {
        unknown,
        buckets: vec![
            DepartureBucket {
                share: dated * soon,
                days: [0, 3],
            },
            DepartureBucket {
                share: dated * week,
                days: [4, 7],
            },
            DepartureBucket {
                share: dated * (1.0 - soon - week),
                days: [8, rng.random_range(30..=90)],
            },
        ],
    }
}

/// A team in the rota: with teams in use, most work both and the rest one or the other.
fn rota_groups(
    rng: &mut StdRng,
    count: u32,
    from: f64,
    until: Option<f64>,
    teams: &[String],
    generalists: f64,
    absent: u32,
) -> Vec<AgentGroup> {
    let group = |count: u32, absent: u32, teams: Option<Vec<String>>| AgentGroup {
        count,
        from_minute: from,
        until_minute: until,
        handle_time_factor: 1.0,
        announced_minutes_before: None,
        unannounced: false,
        absent,
        teams,
    };
    if teams.is_empty() {
        return vec![group(count, absent, None)];
    }
    let both = ((f64::from(count) * generalists).round() as u32).clamp(1, count);
    let specialists = count - both;
    let first = rng.random_range(0..=specialists);
    let mut groups = vec![group(both, absent.min(both - 1), None)];
    for (n, team) in [(first, &teams[0]), (specialists - first, &teams[1])] {
        if n > 0 {
            groups.push(group(n, 0, Some(vec![team.clone()])));
        }
    }
    groups
}

/// Staff the manager is never told about: some join (and some of those leave again), and
/// some who were there in the morning leave.
fn unannounced_staff(rng: &mut StdRng, handover: f64) -> Vec<AgentGroup> {
    let group = |count, from_minute, until_minute| AgentGroup {
        count,
        from_minute,
        until_minute,
        handle_time_factor: 1.0,
        announced_minutes_before: None,
        unannounced: true,
        absent: 0,
        teams: None,
    };
    let mut groups = Vec::new();
    for _ in 0..rng.random_range(1..=2) {
        let from = uniform(rng, [30.0, 390.0]).round();
        let until = chance(rng).then(|| from + uniform(rng, [60.0, 240.0]).round());
        groups.push(group(rng.random_range(2..=8), from, until));
    }
    if chance(rng) {
        let until = uniform(rng, [120.0, 390.0]).round().min(handover);
        groups.push(group(rng.random_range(2..=5), 0.0, Some(until)));
    }
    groups
}

/// `[minute, load]` every curve step over the arrival period, from `load_at`.
fn sampled(minutes: f64, load_at: impl Fn(f64) -> f64) -> Vec<[f64; 2]> {
    let steps = (minutes / CURVE_STEP_MINUTES).ceil() as usize;
    (0..=steps)
        .map(|i| {
            let minute = (i as f64 * CURVE_STEP_MINUTES).min(minutes);
            [minute, load_at(minute).max(0.0)]
        })
        .collect()
}

fn steady(rng: &mut StdRng, minutes: f64) -> Vec<[f64; 2]> {
    let base = uniform(rng, [0.5, 0.8]);
    let period = uniform(rng, [240.0, 600.0]);
    let phase = uniform(rng, [0.0, std::f64::consts::TAU]);
    sampled(minutes, |t| {
        base * (1.0 + 0.15 * (std::f64::consts::TAU * t / period + phase).sin())
    })
}

/// One spike: a linear climb from `start` over `rise` minutes by `height`, then a decay by e
/// every `decay` minutes.
#[derive(Clone, Copy)]
struct Spike {
    start: f64,
    rise: f64,
    height: f64,
    decay: f64,
}

impl Spike {
    fn draw(rng: &mut StdRng, start: f64, height: [f64; 2]) -> Self {
        Self {
            start,
            rise: uniform(rng, [30.0, 120.0]),
            height: uniform(rng, height),
            decay: uniform(rng, [120.0, 300.0]),
        }
    }

    fn load_at(&self, t: f64) -> f64 {
        let since = t - self.start;
        if since < 0.0 {
            0.0
        } else if since < self.rise {
            self.height * since / self.rise
        } else {
            self.height * (-(since - self.rise) / self.decay).exp()
        }
    }
}

fn surge(rng: &mut StdRng, minutes: f64) -> Vec<[f64; 2]> {
    let base = uniform(rng, [0.15, 0.4]);
    let mut spikes = Vec::new();
    let mut start = uniform(rng, [20.0, 180.0]);
    for _ in 0..rng.random_range(1..=3) {
        if start >= minutes - 60.0 {
            break;
        }
        let spike = Spike::draw(rng, start, [0.6, 1.6]);
        start = spike.start + spike.rise + uniform(rng, [120.0, 360.0]);
        spikes.push(spike);
    }
    let last_peak = spikes.last().map_or(0.0, |s| s.start + s.rise);
    let cliff = (chance(rng) && last_peak + 120.0 < minutes)
        .then(|| uniform(rng, [last_peak + 60.0, minutes - 60.0]));
    sampled(minutes, |t| {
        if cliff.is_some_and(|at| t >= at) {
            base * 0.5
        } else {
            base + spikes.iter().map(|s| s.load_at(t)).sum::<f64>()
        }
    })
}

fn overload(rng: &mut StdRng, minutes: f64) -> Vec<[f64; 2]> {
    let base = uniform(rng, [0.3, 0.6]);
    let climb_from = uniform(rng, [30.0, 120.0]);
    let climb = uniform(rng, [20.0, 60.0]);
    let peak = uniform(rng, [1.2, 2.0]);
    let held = uniform(rng, [120.0, 360.0]);
    let fall = uniform(rng, [60.0, 180.0]);
    let after = uniform(rng, [0.3, 0.7]);
    let (top, fall_from) = (climb_from + climb, climb_from + climb + held);
    sampled(minutes, |t| {
        if t < climb_from {
            base
        } else if t < top {
            base + (peak - base) * (t - climb_from) / climb
        } else if t < fall_from {
            peak
        } else if t < fall_from + fall {
            peak + (after - peak) * (t - fall_from) / fall
        } else {
            after
        }
    })
}

fn unannounced_load(rng: &mut StdRng, minutes: f64) -> Vec<[f64; 2]> {
    let base = uniform(rng, [0.6, 1.0]);
    let start = uniform(rng, [30.0, 300.0]);
    let spike = Spike::draw(rng, start, [0.3, 0.8]);
    sampled(minutes, |t| base + spike.load_at(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_is_reproducible_valid_and_takes_the_regimes_in_turn() {
        let members = family(12, 5);
        for member in &members {
            assert_eq!(
                member.scenario.validate(),
                Ok(()),
                "{}",
                member.scenario.name
            );
            let sigma = member.scenario.handle_time_sigma;
            assert!((0.2..=0.7).contains(&sigma), "{sigma}");
            assert!(member.scenario.departures.unknown <= 0.6);
            // Someone always stays to the end, so every case is answered.
            assert!(
                member
                    .scenario
                    .agents
                    .iter()
                    .any(|g| g.until_minute.is_none())
            );
        }
        let regimes: Vec<Regime> = members.iter().map(|m| m.regime).collect();
        assert_eq!(regimes[..4], Regime::ALL);
        assert_eq!(regimes[4..8], Regime::ALL);
        let again = family(4, 5);
        assert_eq!(again[3].scenario, members[3].scenario);
        assert_eq!(again[3].seed, members[3].seed);
        assert_ne!(family(4, 6)[3].scenario, members[3].scenario);
    }

    #[test]
    fn a_sigma_ceiling_changes_the_spread_and_nothing_else() {
        let full = family(8, 5);
        let capped = family_up_to_sigma(8, 5, 0.3);
        for (full, capped) in full.iter().zip(&capped) {
            let sigma = capped.scenario.handle_time_sigma;
            assert!((0.2..=0.3).contains(&sigma), "{sigma}");
            let mut same = capped.scenario.clone();
            same.handle_time_sigma = full.scenario.handle_time_sigma;
            // The description names the spread too.
            same.description.clone_from(&full.scenario.description);
            assert_eq!(same, full.scenario);
            assert_eq!(capped.seed, full.seed);
        }
    }

    #[test]
    fn overload_outruns_capacity_and_unannounced_staff_are_not_planned() {
        for member in family(40, 9) {
            let scenario = &member.scenario;
            let planned_agents: u32 = scenario
                .agents
                .iter()
                .filter(|g| g.from_minute == 0.0 && !g.unannounced)
                .map(|g| g.count)
                .sum();
            let mean_handling = scenario
                .request_types
                .iter()
                .map(|t| t.share * t.handle_minutes)
                .sum::<f64>()
                / scenario.request_types.iter().map(|t| t.share).sum::<f64>();
            let capacity_per_hour = f64::from(planned_agents) * 60.0 / mean_handling;
            let peak = scenario.peak_arrivals_per_minute() * 60.0;
            match member.regime {
                Regime::Overload => assert!(
                    peak >= 1.19 * capacity_per_hour && peak <= 2.01 * capacity_per_hour,
                    "{peak} against {capacity_per_hour}"
                ),
                Regime::Steady => assert!(peak < capacity_per_hour, "{peak}"),
                Regime::UnannouncedStaff => {
                    assert!(scenario.agents.iter().any(|g| g.unannounced));
                }
                Regime::Surge => {}
            }
        }
    }
}
