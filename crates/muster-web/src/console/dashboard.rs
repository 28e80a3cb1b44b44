//! The manager's dashboard: contacts per channel per hour, queue depth per tier, first
//! response p50/p90 per tier, overdue cases, duplicates avoided, agents at work.

use actix_web::web::{Data, Query};
use actix_web::{HttpResponse, get};
use muster_core::incident::ChannelKind;
use muster_core::priority::Tier;
use muster_store::queue::TierCounts;
use serde::{Deserialize, Serialize};
use time::Duration;

use crate::console::auth::Manager;
use crate::console::page::{Base, render};
use crate::console::queue::working_incident;
use crate::console::svg::{BarGroup, stacked_bars};
use crate::error::WebResult;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct DashboardQuery {
    incident: Option<String>,
}

#[derive(Serialize)]
struct DashboardPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    slug: &'a str,
    incident_title: &'a str,
    counts: TierCounts,
    contacts_total: usize,
    /// The charts are SVG markup, inserted unescaped.
    contacts_chart: String,
    depth_chart: String,
    comparison_chart: String,
    responses: Vec<ResponseRow>,
    duplicates_avoided: i64,
    agents_active: u64,
}

#[derive(Serialize)]
struct ResponseRow {
    tier: &'static str,
    answered: usize,
    p50: String,
    p90: String,
}

fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted.get(index).copied()
}

fn minutes_label(minutes: Option<i64>) -> String {
    match minutes {
        None => "—".to_owned(),
        Some(m) if m < 120 => format!("{m} min"),
        Some(m) => format!("{:.1} h", m as f64 / 60.0),
    }
}

#[get("/console/dashboard")]
pub async fn dashboard(
    state: Data<AppState>,
    Manager(user): Manager,
    query: Query<DashboardQuery>,
) -> WebResult<HttpResponse> {
    let incident = working_incident(&state, query.incident.as_deref()).await?;
    let now = state.app.now();
    let scope = state.app.queue_scope(&user.actor(), &incident).await?;
    let counts = state.store.tier_counts(&scope).await?;

    let since = now - Duration::hours(24);
    let contacts = state
        .store
        .inbound_contacts_since(incident.id, since)
        .await?;
    let channels: Vec<&str> = ChannelKind::ALL.iter().map(|c| c.as_str()).collect();
    let mut hours: Vec<BarGroup> = (0..24)
        .map(|h| {
            let at = since + Duration::hours(h + 1);
            BarGroup {
                label: format!("{:02}h", at.hour()),
                values: vec![0.0; channels.len()],
            }
        })
        .collect();
    for (channel, at) in &contacts {
        let hour = usize::try_from((*at - since).whole_hours())
            .unwrap_or(0)
            .min(23);
        if let Some(series) = channels.iter().position(|c| c == channel) {
            hours[hour].values[series] += 1.0;
        }
    }
    let contacts_chart = stacked_bars(
        "Inbound contacts per hour, last 24 hours",
        &channels,
        &hours,
        720,
        220,
    );
    let depth_chart = stacked_bars(
        "Open cases per tier",
        &["open", "of which overdue"],
        &[
            BarGroup {
                label: "critical".into(),
                values: vec![counts.critical as f64, 0.0],
            },
            BarGroup {
                label: "high".into(),
                values: vec![counts.high as f64, 0.0],
            },
            BarGroup {
                label: "normal".into(),
                values: vec![counts.normal as f64, 0.0],
            },
            BarGroup {
                label: "overdue".into(),
                values: vec![0.0, counts.overdue as f64],
            },
        ],
        360,
        200,
    );

    let samples = state
        .store
        .response_samples(incident.id, now - Duration::days(7))
        .await?;
    let today = incident.today(now);
    let response_rows = Tier::ALL
        .iter()
        .map(|tier| {
            let mut minutes: Vec<i64> = samples
                .iter()
                .filter(|s| {
                    incident
                        .settings
                        .windows
                        .priority(s.departure_date, today)
                        .tier
                        == *tier
                })
                .map(|s| (s.first_response_at - s.created_at).whole_minutes())
                .collect();
            minutes.sort_unstable();
            ResponseRow {
                tier: tier.as_str(),
                answered: minutes.len(),
                p50: minutes_label(percentile(&minutes, 0.5)),
                p90: minutes_label(percentile(&minutes, 0.9)),
            }
        })
        .collect();

    // Posted against realised: what a normal-tier customer on the form was told each hour,
    // and how long the cases that came in that hour really waited for a first answer.
    let posted = state
        .store
        .posted_estimates_since(incident.id, ChannelKind::Form, Tier::Normal, since)
        .await?;
    let mut comparison: Vec<BarGroup> = (0..24)
        .map(|h| BarGroup {
            label: format!("{:02}h", (since + Duration::hours(h + 1)).hour()),
            values: vec![0.0, 0.0],
        })
        .collect();
    // Not `counts`: that name holds the tier counts the page shows.
    let mut per_hour = vec![(0u32, 0u32); 24];
    let hour_of = |at: time::OffsetDateTime| {
        usize::try_from((at - since).whole_hours())
            .unwrap_or(0)
            .min(23)
    };
    for (at, point) in &posted {
        let h = hour_of(*at);
        comparison[h].values[0] += point;
        per_hour[h].0 += 1;
    }
    for sample in samples.iter().filter(|s| s.created_at > since) {
        let h = hour_of(sample.created_at);
        comparison[h].values[1] +=
            (sample.first_response_at - sample.created_at).whole_minutes() as f64;
        per_hour[h].1 += 1;
    }
    for (group, (posted_n, realised_n)) in comparison.iter_mut().zip(&per_hour) {
        group.values[0] /= f64::from((*posted_n).max(1));
        group.values[1] /= f64::from((*realised_n).max(1));
    }
    let comparison_chart = crate::console::svg::paired_bars(
        "Posted against realised wait (form, normal tier), minutes per hour of arrival",
        &["posted", "realised"],
        &comparison,
        720,
        220,
    );

    let context = DashboardPage {
        base: Base::new(&user, "Dashboard"),
        slug: incident.slug.as_str(),
        incident_title: incident
            .title
            .get(&incident.default_language, &incident.default_language),
        counts,
        contacts_total: contacts.len(),
        contacts_chart,
        depth_chart,
        comparison_chart,
        responses: response_rows,
        duplicates_avoided: state.store.duplicate_contacts_avoided(incident.id).await?,
        agents_active: state.store.active_agents(now).await?,
    };
    render(&state, "console_dashboard", &context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::page::sample;
    use crate::templates::strict;

    #[test]
    fn the_template_names_only_what_the_page_has() {
        let context = DashboardPage {
            base: sample::base("Dashboard"),
            slug: "storm",
            incident_title: "Storm",
            counts: TierCounts::default(),
            contacts_total: 3,
            contacts_chart: "<svg></svg>".into(),
            depth_chart: "<svg></svg>".into(),
            comparison_chart: "<svg></svg>".into(),
            responses: vec![ResponseRow {
                tier: "critical",
                answered: 1,
                p50: "5 min".into(),
                p90: "9 min".into(),
            }],
            duplicates_avoided: 2,
            agents_active: 1,
        };
        strict::render("console_dashboard", &context);
    }
}
