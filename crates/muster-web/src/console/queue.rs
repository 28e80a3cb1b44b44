//! The agents' queue in the console: counts per tier, the list in queue order with its
//! filters, and "take next", which hands the agent the most urgent unclaimed case.

use actix_web::http::header;
use actix_web::web::{Data, Form, Query};
use actix_web::{HttpResponse, get, post};
use muster_core::case::{Case, CaseStatus};
use muster_core::incident::{Incident, RequestType};
use muster_core::priority::Tier;
use muster_store::queue::{QueueFilter, QueueScope, TierCounts};
use muster_store::teams::Team;
use serde::{Deserialize, Serialize};

use crate::console::auth::ConsoleUser;
use crate::console::page::{Base, render};
use crate::error::{WebError, WebResult};
use crate::state::AppState;

const PAGE_SIZE: u64 = 100;

/// The incident an agent works: the one named, else the current crisis.
pub async fn working_incident(state: &AppState, slug: Option<&str>) -> WebResult<Incident> {
    let slug = match slug.filter(|s| !s.is_empty()) {
        Some(slug) => slug.to_owned(),
        None => state.publication.crisis_slug().ok_or(WebError::NotFound)?,
    };
    state
        .store
        .incident_by_slug(&slug)
        .await?
        .ok_or(WebError::NotFound)
}

/// A case as the queue lists it and the case page heads it.
#[derive(Debug, Serialize)]
pub struct CaseRow<'a> {
    pub reference: &'a str,
    pub name: &'a str,
    pub tier: &'static str,
    pub needs_date: bool,
    pub departure: Option<String>,
    pub request_type: &'a str,
    pub team: Option<&'a str>,
    pub channel: &'static str,
    pub status: &'static str,
    pub contacts: i32,
    pub overdue: bool,
    pub claimed: bool,
    pub age: String,
}

pub fn case_row<'a>(state: &AppState, incident: &Incident, case: &'a Case) -> CaseRow<'a> {
    let now = state.app.now();
    let priority = incident
        .settings
        .windows
        .priority(case.departure_date, incident.today(now));
    CaseRow {
        reference: case.reference.as_str(),
        name: &case.customer_name,
        tier: priority.tier.as_str(),
        needs_date: priority.needs_date,
        departure: case.departure_date.map(|d| d.to_string()),
        request_type: &case.request_type,
        team: case.team.as_deref(),
        channel: case.channel.as_str(),
        status: case.status.as_str(),
        contacts: case.contact_count,
        overdue: case.overdue_at.is_some(),
        claimed: case.claimed_by.is_some() && case.lease_until.is_some_and(|l| l > now),
        age: muster_core::incident::local_time_label(&incident.time_zone, case.created_at),
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct QueueQuery {
    incident: Option<String>,
    team: Option<String>,
    request_type: Option<String>,
    tier: Option<String>,
    status: Option<String>,
    channel: Option<String>,
    needs_date: Option<String>,
    overdue: Option<String>,
    empty: Option<String>,
}

#[derive(Serialize)]
struct QueuePage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    slug: &'a str,
    incident_title: &'a str,
    counts: TierCounts,
    cases: Vec<CaseRow<'a>>,
    /// The filters as asked, so the form shows them chosen.
    filter: &'a QueueQuery,
    teams: Vec<Team>,
    request_types: &'a [RequestType],
    empty: bool,
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_ref()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

#[get("/console/queue")]
pub async fn list(
    state: Data<AppState>,
    user: ConsoleUser,
    query: Query<QueueQuery>,
) -> WebResult<HttpResponse> {
    let incident = working_incident(&state, query.incident.as_deref()).await?;
    let scope = QueueScope {
        teams: None,
        ..state.app.queue_scope(&user.actor(), &incident).await?
    };
    let filter = QueueFilter {
        team: non_empty(&query.team),
        request_type: non_empty(&query.request_type),
        tier: non_empty(&query.tier).and_then(|t| Tier::parse(&t)),
        status: non_empty(&query.status).and_then(|s| CaseStatus::parse(&s)),
        channel: non_empty(&query.channel),
        needs_date: query.needs_date.is_some(),
        overdue: query.overdue.is_some(),
    };
    let cases = state.store.queue_page(&scope, &filter, PAGE_SIZE).await?;
    let counts = state.store.tier_counts(&scope).await?;
    let context = QueuePage {
        base: Base::new(&user, "Queue"),
        slug: incident.slug.as_str(),
        incident_title: incident
            .title
            .get(&incident.default_language, &incident.default_language),
        counts,
        cases: cases
            .iter()
            .map(|c| case_row(&state, &incident, c))
            .collect(),
        filter: &query,
        teams: state.store.list_teams().await?,
        request_types: &incident.settings.request_types,
        empty: query.empty.is_some(),
    };
    render(&state, "console_queue", &context)
}

#[derive(Debug, Deserialize)]
pub struct TakeForm {
    csrf: String,
    incident: Option<String>,
}

#[post("/console/queue/take")]
pub async fn take(
    state: Data<AppState>,
    user: ConsoleUser,
    form: Form<TakeForm>,
) -> WebResult<HttpResponse> {
    user.check_csrf(&form.csrf)?;
    let incident = working_incident(&state, form.incident.as_deref()).await?;
    let next = state.app.take_next(&user.actor(), &incident).await?;
    let location = match next {
        Some(case) => format!("/console/cases/{}", case.reference),
        None => format!("/console/queue?incident={}&empty=1", incident.slug),
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish())
}

#[cfg(test)]
pub mod sample {
    use super::CaseRow;

    /// A case row with every field filled, for rendering templates in tests.
    pub fn case_row() -> CaseRow<'static> {
        CaseRow {
            reference: "MU-ABC-123",
            name: "Ada",
            tier: "critical",
            needs_date: false,
            departure: Some("2026-01-02".into()),
            request_type: "refund",
            team: Some("refunds"),
            channel: "form",
            status: "open",
            contacts: 2,
            overdue: true,
            claimed: true,
            age: "1 Jan 10:00".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::page;
    use crate::templates::strict;
    use muster_core::localized::Localized;

    #[test]
    fn the_template_names_only_what_the_page_has() {
        let filter = QueueQuery {
            team: Some("refunds".into()),
            ..QueueQuery::default()
        };
        let request_types = [RequestType {
            key: "refund".into(),
            label: Localized::new(),
            team: None,
        }];
        let context = QueuePage {
            base: page::sample::base("Queue"),
            slug: "storm",
            incident_title: "Storm",
            counts: TierCounts::default(),
            cases: vec![sample::case_row()],
            filter: &filter,
            teams: vec![Team {
                id: 1,
                key: "refunds".into(),
                name: "Refunds".into(),
            }],
            request_types: &request_types,
            empty: true,
        };
        strict::render("console_queue", &context);
    }
}
