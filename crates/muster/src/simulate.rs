//! `muster simulate`: replays simulated crises through the real prioritisation and wait-time
//! estimator, and scores the ranges customers were shown against the waits they had.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use muster_core::priority::Tier;
use muster_core::simulation::family::{self, Member, Regime};
use muster_core::simulation::{
    self, ERROR_TARGET, INSIDE_TARGET, MIN_JUDGED_CASES, Report, Scenario, TierSummary,
};
use muster_core::wait_estimator::Source;

/// The share of a generated family whose every judged tier must meet both targets.
pub const FAMILY_TARGET: f64 = 0.90;

/// The scenarios run when none are named, bundled so the binary works from any folder.
const BUNDLED: [(&str, &str); 3] = [
    (
        "steady.toml",
        include_str!("../../../bench/scenarios/steady.toml"),
    ),
    (
        "surge.toml",
        include_str!("../../../bench/scenarios/surge.toml"),
    ),
    (
        "agents-added.toml",
        include_str!("../../../bench/scenarios/agents-added.toml"),
    ),
];

#[derive(Debug, clap::Args)]
#[command(about = "Simulate crises and score the posted wait-time estimates against real waits")]
pub struct SimulateArgs {
    /// Scenario files (TOML). Without any, the bundled steady, surge and agents-added.
    pub scenarios: Vec<PathBuf>,
    /// Write every simulated case to this CSV file.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Draw posted against realised waits into this SVG file.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// The random seed: the same seed replays the same crisis.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulate each scenario this many times (seeds `seed`, `seed + 1`, ...) and score the
    /// cases of all runs together: one run is one crisis, and one crisis can be lucky.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub runs: u64,
    /// Instead of scenario files, generate this many varied crises from `seed` (steady,
    /// surge, overload and unannounced staff in turn; the ranges are in
    /// `muster_core::simulation::family`) and run each once.
    #[arg(long, conflicts_with_all = ["scenarios", "runs"], value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub family: Option<u64>,
    /// With `--family`: draw handling-time spreads (lognormal sigma) from 0.2 up to this
    /// instead of up to 0.7; the crises are otherwise the same (docs/waits.md).
    #[arg(long, requires = "family")]
    pub max_sigma: Option<f64>,
}

/// Exits with an error when a target is missed: a scenario's judged tier, or, for a family,
/// fewer than [`FAMILY_TARGET`] of its crises meeting every target.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    if let Some(count) = args.family {
        let max_sigma = args.max_sigma.unwrap_or(family::SIGMA_RANGE[1]);
        return run_family(count, args.seed, max_sigma, args.csv.as_deref());
    }
    let scenarios = load_scenarios(&args.scenarios)?;
    let runs: Vec<Report> = scenarios
        .iter()
        .flat_map(|scenario| {
            (args.seed..args.seed.saturating_add(args.runs))
                .map(move |seed| simulation::run(scenario, seed))
        })
        .collect();
    let pooled: Vec<Report> = runs.chunks(args.runs as usize).filter_map(pool).collect();
    if args.runs > 1 {
        println!(
            "{} runs per scenario, seeds {} to {}",
            args.runs,
            args.seed,
            args.seed.saturating_add(args.runs - 1)
        );
    }
    print!("{}", table(&pooled));
    if let Some(path) = &args.csv {
        std::fs::write(path, csv(&runs)).with_context(|| format!("writing {}", path.display()))?;
        println!("cases written to {}", path.display());
    }
    if let Some(path) = &args.svg {
        std::fs::write(path, svg(&pooled))
            .with_context(|| format!("writing {}", path.display()))?;
        println!("chart written to {}", path.display());
    }
    let missed: Vec<&str> = pooled
        .iter()
        .filter(|r| !r.meets_targets())
        .map(|r| r.scenario.as_str())
        .collect();
    if !missed.is_empty() {
        anyhow::bail!("a target is missed in: {}", missed.join(", "));
    }
    Ok(())
}

/// Runs a generated family and prints its figures per regime.
fn run_family(
    count: u64,
    seed: u64,
    max_sigma: f64,
    csv_path: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let [lowest, highest] = family::SIGMA_RANGE;
    if !(lowest..=highest).contains(&max_sigma) {
        anyhow::bail!("--max-sigma must be from {lowest} to {highest}, not {max_sigma}");
    }
    let members = family::family_up_to_sigma(usize::try_from(count)?, seed, max_sigma);
    let reports: Vec<Report> = members
        .iter()
        .map(|m| simulation::run(&m.scenario, m.seed))
        .collect();
    println!(
        "family of {count} generated crises, seed {seed}, sigma {lowest}-{max_sigma} (regimes in turn: steady, surge, overload, unannounced)"
    );
    print!("{}", family_table(&members, &reports));
    if let Some(path) = csv_path {
        std::fs::write(path, csv(&reports))
            .with_context(|| format!("writing {}", path.display()))?;
        println!("cases written to {}", path.display());
    }
    let passing = reports.iter().filter(|r| r.meets_targets()).count();
    let share = passing as f64 / reports.len().max(1) as f64;
    println!(
        "{passing} of {} crises meet every target ({}; target {:.0}%)",
        reports.len(),
        percent(share),
        FAMILY_TARGET * 100.0
    );
    if share < FAMILY_TARGET {
        anyhow::bail!(
            "only {} of the family meets every target; {:.0}% must",
            percent(share),
            FAMILY_TARGET * 100.0
        );
    }
    Ok(())
}

/// Per regime: how many crises pass, which target the others miss, and every tier's cases
/// pooled; then the pass share by handling-time spread, and each crisis that misses.
fn family_table(members: &[Member], reports: &[Report]) -> String {
    let mut out = format!(
        "{:<12} {:>6} {:>6} {:>12} {:>11}   {:<9} {:>7} {:>8} {:>12} {:>7} {:>7}\n",
        "regime",
        "crises",
        "pass",
        "miss inside",
        "miss error",
        "tier",
        "cases",
        "inside",
        "median error",
        "posted",
        "rising",
    );
    for regime in Regime::ALL {
        let of_regime: Vec<(&Member, &Report)> = members
            .iter()
            .zip(reports)
            .filter(|(m, _)| m.regime == regime)
            .collect();
        if of_regime.is_empty() {
            continue;
        }
        let misses = |missed: fn(&TierSummary) -> bool| {
            of_regime
                .iter()
                .filter(|(_, r)| r.tiers().iter().any(|t| t.judged() && missed(t)))
                .count()
        };
        let pass = of_regime.iter().filter(|(_, r)| r.meets_targets()).count();
        let pooled = pool(
            &of_regime
                .iter()
                .map(|(_, r)| (*r).clone())
                .collect::<Vec<_>>(),
        );
        for (i, tier) in pooled.iter().flat_map(Report::tiers).enumerate() {
            let head = if i == 0 {
                format!(
                    "{:<12} {:>6} {:>6} {:>12} {:>11}",
                    regime.as_str(),
                    of_regime.len(),
                    pass,
                    misses(|t| t.inside_share < INSIDE_TARGET),
                    misses(|t| t.median_abs_error > ERROR_TARGET),
                )
            } else {
                format!("{:<12} {:>6} {:>6} {:>12} {:>11}", "", "", "", "", "")
            };
            let _ = writeln!(
                out,
                "{head}   {:<9} {:>7} {:>8} {:>12} {:>7} {:>7}",
                tier.tier.as_str(),
                tier.cases,
                percent(tier.inside_share),
                percent(tier.median_abs_error),
                tier.not_computed,
                tier.rising,
            );
        }
    }
    let _ = writeln!(
        out,
        "pass: every tier with at least {MIN_JUDGED_CASES} cases has inside >= {:.0}% and median error <= {:.0}%; \
         miss: crises with a judged tier below that target; tiers: every case of the regime pooled;\n\
         posted: cases told the manager's posted range (too few answers to compute one); \
         rising: told \"more than ..., and rising\".",
        INSIDE_TARGET * 100.0,
        ERROR_TARGET * 100.0,
    );
    let _ = writeln!(out, "\nhandling-time spread   crises   pass");
    for band in [[0.2, 0.3], [0.3, 0.4], [0.4, 0.5], [0.5, 0.6], [0.6, 0.7]] {
        let in_band: Vec<&Report> = members
            .iter()
            .zip(reports)
            .filter(|(m, _)| {
                let sigma = m.scenario.handle_time_sigma;
                band[0] <= sigma && (sigma < band[1] || band[1] >= 0.7)
            })
            .map(|(_, r)| r)
            .collect();
        let pass = in_band.iter().filter(|r| r.meets_targets()).count();
        let _ = writeln!(
            out,
            "sigma {:.1}-{:.1}              {:>6} {:>6}",
            band[0],
            band[1],
            in_band.len(),
            pass
        );
    }
    let _ = writeln!(
        out,
        "\ncrises that miss (judged tiers: inside / median error):"
    );
    for (member, report) in members.iter().zip(reports) {
        if report.meets_targets() {
            continue;
        }
        let tiers: Vec<String> = report
            .tiers()
            .iter()
            .filter(|t| t.judged())
            .map(|t| {
                format!(
                    "{} {}/{}{}",
                    t.tier.as_str(),
                    percent(t.inside_share),
                    percent(t.median_abs_error),
                    if t.meets_targets() { "" } else { " MISS" }
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "  {:<18} sigma {:.2}  {}",
            member.scenario.name,
            member.scenario.handle_time_sigma,
            if tiers.is_empty() {
                "no tier with enough cases".to_owned()
            } else {
                tiers.join(", ")
            }
        );
    }
    out
}

/// Several runs as one report, seeded with the first run's seed.
fn pool(runs: &[Report]) -> Option<Report> {
    let first = runs.first()?;
    Some(Report {
        cases: runs.iter().flat_map(|r| r.cases.iter().cloned()).collect(),
        ..first.clone()
    })
}

fn load_scenarios(paths: &[PathBuf]) -> anyhow::Result<Vec<Scenario>> {
    let sources: Vec<(String, String)> = if paths.is_empty() {
        BUNDLED
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect()
    } else {
        paths
            .iter()
            .map(|path| {
                std::fs::read_to_string(path)
                    .map(|text| (path.display().to_string(), text))
                    .with_context(|| format!("reading {}", path.display()))
            })
            .collect::<anyhow::Result<_>>()?
    };
    sources
        .into_iter()
        .map(|(name, text)| {
            let scenario: Scenario =
                toml::from_str(&text).with_context(|| format!("reading scenario {name}"))?;
            scenario
                .validate()
                .with_context(|| format!("checking scenario {name}"))?;
            Ok(scenario)
        })
        .collect()
}

fn percent(share: f64) -> String {
    if share.is_nan() {
        "-".to_owned()
    } else {
        format!("{:.1}%", share * 100.0)
    }
}

fn table(reports: &[Report]) -> String {
    let mut out = format!(
        "{:<14} {:<9} {:>6} {:>8} {:>12} {:>9}  verdict (targets: inside >= {:.0}%, error <= {:.0}%)\n",
        "scenario",
        "tier",
        "cases",
        "inside",
        "median error",
        "fallback",
        INSIDE_TARGET * 100.0,
        ERROR_TARGET * 100.0,
    );
    for report in reports {
        for tier in report.tiers() {
            let _ = writeln!(
                out,
                "{:<14} {:<9} {:>6} {:>8} {:>12} {:>9}  {}",
                report.scenario,
                tier.tier.as_str(),
                tier.cases,
                percent(tier.inside_share),
                percent(tier.median_abs_error),
                tier.not_computed,
                if !tier.judged() {
                    "too few cases to judge"
                } else if tier.meets_targets() {
                    "PASS"
                } else {
                    "FAIL"
                },
            );
        }
    }
    let verdict = if reports.iter().all(Report::meets_targets) {
        "every tier with enough cases to judge meets both targets"
    } else {
        "some tiers miss a target"
    };
    let _ = writeln!(
        out,
        "fallback: cases told the manager's posted range (too few answers yet to compute one).\n{verdict}"
    );
    out
}

fn source_name(source: Option<Source>) -> &'static str {
    match source {
        Some(Source::Computed) => "computed",
        Some(Source::Posted) => "posted",
        Some(Source::Override) => "override",
        None => "none",
    }
}

fn csv(reports: &[Report]) -> String {
    let mut out = String::from(
        "scenario,seed,case,submitted_minute,tier,days_to_departure,request_type,queue_ahead,source,low_minutes,high_minutes,rising,point_minutes,realised_minutes,inside_shown_range,abs_error\n",
    );
    let blank_if_none = |value: Option<i64>| value.map_or(String::new(), |v| v.to_string());
    for report in reports {
        for (index, case) in report.cases.iter().enumerate() {
            let _ = writeln!(
                out,
                "{},{},{},{:.2},{},{},{},{},{},{},{},{},{},{},{},{}",
                report.scenario,
                report.seed,
                index,
                case.submitted_minute,
                case.tier.as_str(),
                blank_if_none(case.days_to_departure),
                report
                    .request_types
                    .get(case.request_type)
                    .map_or("", String::as_str),
                case.queue_ahead,
                source_name(case.estimate.map(|e| e.source)),
                blank_if_none(case.estimate.map(|e| e.range.low_minutes)),
                blank_if_none(case.estimate.map(|e| e.range.high_minutes)),
                case.estimate.is_some_and(|e| e.range.rising),
                case.estimate
                    .map_or(String::new(), |e| format!("{:.1}", e.point_minutes)),
                case.realised_minutes
                    .map_or(String::new(), |m| format!("{m:.1}")),
                case.inside_shown_range(),
                case.absolute_error()
                    .map_or(String::new(), |e| format!("{e:.3}")),
            );
        }
    }
    out
}

const PANEL_WIDTH: f64 = 360.0;
const PANEL_HEIGHT: f64 = 360.0;
const MARGIN: f64 = 50.0;

fn tier_colour(tier: Tier) -> &'static str {
    match tier {
        Tier::Critical => "#c0392b",
        Tier::High => "#e08e0b",
        Tier::Normal => "#2471a3",
    }
}

/// One panel per scenario: each case's point estimate (x) against its realised wait (y), on
/// log scales from 1 minute to the longest wait, with the diagonal and the ±25% band.
fn svg(reports: &[Report]) -> String {
    let longest = reports
        .iter()
        .flat_map(|r| &r.cases)
        .flat_map(|c| [c.realised_minutes, c.estimate.map(|e| e.point_minutes)])
        .flatten()
        .fold(60.0, f64::max);
    let top = longest.log10().ceil();
    let scale = |minutes: f64| (minutes.max(1.0).log10() / top).min(1.0);
    let width = MARGIN + reports.len() as f64 * (PANEL_WIDTH + MARGIN);
    let height = PANEL_HEIGHT + 2.0 * MARGIN + 20.0;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (panel, report) in reports.iter().enumerate() {
        let left = MARGIN + panel as f64 * (PANEL_WIDTH + MARGIN);
        let bottom = MARGIN + PANEL_HEIGHT;
        let x = |minutes: f64| left + scale(minutes) * PANEL_WIDTH;
        let y = |minutes: f64| bottom - scale(minutes) * PANEL_HEIGHT;
        let _ = writeln!(
            out,
            "<text x=\"{left}\" y=\"{}\" font-size=\"13\" font-weight=\"bold\">{}</text>\n\
             <rect x=\"{left}\" y=\"{MARGIN}\" width=\"{PANEL_WIDTH}\" height=\"{PANEL_HEIGHT}\" fill=\"none\" stroke=\"#999\"/>",
            MARGIN - 10.0,
            escape(&report.scenario),
        );
        for decade in 0..=top as i32 {
            let minutes = 10f64.powi(decade);
            let _ = writeln!(
                out,
                "<line x1=\"{0}\" y1=\"{MARGIN}\" x2=\"{0}\" y2=\"{bottom}\" stroke=\"#eee\"/>\
                 <line x1=\"{left}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#eee\"/>\
                 <text x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\
                 <text x=\"{5}\" y=\"{1}\" text-anchor=\"end\">{4}</text>",
                x(minutes),
                y(minutes),
                left + PANEL_WIDTH,
                bottom + 14.0,
                minutes,
                left - 4.0,
            );
        }
        // realised = k × point: the diagonal, and the edges of a 25% error (point 25% under
        // or over the realised wait).
        for (k, dash) in [(1.0, ""), (1.0 / 0.75, "4 3"), (1.0 / 1.25, "4 3")] {
            let (start, end) = ((1.0f64).max(1.0 / k), longest.min(longest / k));
            let _ = writeln!(
                out,
                "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#333\" stroke-dasharray=\"{dash}\"/>",
                x(start),
                y(k * start),
                x(end),
                y(k * end),
            );
        }
        for case in &report.cases {
            let (Some(estimate), Some(realised)) = (case.estimate, case.realised_minutes) else {
                continue;
            };
            let _ = writeln!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"1.6\" fill=\"{}\" fill-opacity=\"0.45\"/>",
                x(estimate.point_minutes),
                y(realised),
                tier_colour(case.tier),
            );
        }
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">posted (point estimate, minutes)</text>\
             <text transform=\"translate({} {}) rotate(-90)\" text-anchor=\"middle\">realised wait (minutes)</text>",
            left + PANEL_WIDTH / 2.0,
            bottom + 30.0,
            left - 32.0,
            MARGIN + PANEL_HEIGHT / 2.0,
        );
    }
    let legend_y = height - 12.0;
    for (i, tier) in Tier::ALL.into_iter().enumerate() {
        let legend_x = MARGIN + i as f64 * 90.0;
        let _ = writeln!(
            out,
            "<circle cx=\"{legend_x}\" cy=\"{}\" r=\"4\" fill=\"{}\"/><text x=\"{}\" y=\"{legend_y}\">{}</text>",
            legend_y - 4.0,
            tier_colour(tier),
            legend_x + 8.0,
            tier.as_str(),
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{legend_y}\">solid: posted = realised; dashed: ±25%</text>\n</svg>",
        MARGIN + 280.0,
    );
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_scenarios_parse_and_validate() {
        let scenarios = load_scenarios(&[]).unwrap_or_else(|e| panic!("{e:#}"));
        let names: Vec<_> = scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["steady", "surge", "agents-added"]);
    }

    #[test]
    fn a_missed_target_is_an_error_and_so_a_non_zero_exit() {
        // The first crisis of family 7 has handling times spread at sigma 0.43: its critical
        // tier cannot be within 25% (docs/benchmark-history.md), so the family of one misses.
        let missed = run_family(1, 7, family::SIGMA_RANGE[1], None);
        assert!(
            missed.is_err_and(|e| e.to_string().contains("meets every target")),
            "a missed family target must be an error"
        );
    }

    #[test]
    fn a_sigma_ceiling_outside_the_generator_range_is_refused() {
        let refused = run_family(1, 7, 0.9, None);
        assert!(
            refused.is_err_and(|e| e
                .to_string()
                .contains("--max-sigma must be from 0.2 to 0.7")),
            "a ceiling above 0.7 must be refused"
        );
    }
}
