//! The agents' queue in the console: counts per tier, the list in queue order with its
//! filters, and "take next", which hands the agent the most urgent unclaimed case.

use actix_web::http::header;
use actix_web::web::{Data, Form, Query};
use actix_web::{HttpResponse, get, post};
use muster_core::case::{Case, CaseStatus};
use muster_core::incident::Incident;
use muster_core::priority::Tier;
use muster_store::queue::{QueueFilter, QueueScope};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::console::auth::ConsoleUser;
use crate::console::page::{base_context, extend, render};
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

pub fn case_row(state: &AppState, incident: &Incident, case: &Case) -> Value {
    let priority = incident
        .settings
        .windows
        .priority(case.departure_date, incident.today(state.app.now()));
    json!({
        "reference": case.reference.as_str(),
        "name": case.customer_name,
        "tier": priority.tier.as_str(),
        "needs_date": priority.needs_date,
        "departure": case.departure_date.map(|d| d.to_string()),
        "request_type": case.request_type,
        "team": case.team,
        "channel": case.channel.as_str(),
        "status": case.status.as_str(),
        "contacts": case.contact_count,
        "overdue": case.overdue_at.is_some(),
        "claimed": case.claimed_by.is_some() && case.lease_until.is_some_and(|l| l > state.app.now()),
        "age": muster_core::incident::local_time_label(&incident.time_zone, case.created_at),
    })
}

#[derive(Debug, Default, Deserialize, serde::Serialize)]
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
    let rows: Vec<Value> = cases
        .iter()
        .map(|c| case_row(&state, &incident, c))
        .collect();
    let teams = state.store.list_teams().await?;
    let context = extend(
        base_context(&user, "Queue"),
        json!({
            "slug": incident.slug.as_str(),
            "incident_title": incident.title.get(&incident.default_language, &incident.default_language),
            "counts": counts,
            "cases": rows,
            "filter": &*query,
            "teams": teams,
            "request_types": incident.settings.request_types,
            "empty": query.empty.is_some(),
        }),
    );
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
