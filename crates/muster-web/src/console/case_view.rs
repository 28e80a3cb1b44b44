//! One case as an agent works it: the customer, every contact from every channel in one
//! timeline, notes, replies from canned responses, status, team, merge, a logged call.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Form, Path};
use actix_web::{HttpResponse, get, post};
use muster_app::{AppError, AppResult, FieldErrors};
use muster_core::case::{Case, CaseStatus};
use muster_core::incident::{Incident, local_time_label};
use muster_core::language::Lang;
use muster_store::teams::Team;
use serde::Serialize;

use crate::console::auth::ConsoleUser;
use crate::console::page::{Base, render_with_status};
use crate::console::queue::{CaseRow, case_row};
use crate::error::{WebError, WebResult};
use crate::state::AppState;

async fn load(state: &AppState, reference: &str) -> WebResult<(Case, Incident)> {
    Ok(state.app.case(reference).await?)
}

#[derive(Serialize)]
struct CasePage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    case: CaseRow<'a>,
    email: Option<&'a str>,
    phone: Option<&'a str>,
    booking_ref: Option<&'a str>,
    handle: Option<&'a str>,
    merged_into: Option<&'a str>,
    first_response: Option<String>,
    slug: &'a str,
    timeline: Vec<TimelineRow>,
    canned: Vec<CannedRow<'a>>,
    reply: &'a str,
    typed: Kept<'a>,
    /// Field → what is wrong with what was typed there, shown beside the field.
    errors: BTreeMap<String, String>,
    teams: Vec<Team>,
    statuses: [&'static str; 3],
}

#[derive(Serialize)]
struct TimelineRow {
    direction: &'static str,
    channel: String,
    author: Option<String>,
    body: String,
    at: String,
}

#[derive(Serialize)]
struct CannedRow<'a> {
    key: &'a str,
    title: &'a str,
    text: Option<String>,
}

/// What the agent typed into the forms that are not the reply, kept when one comes back.
#[derive(Serialize)]
struct Kept<'a> {
    note: &'a str,
    call_notes: &'a str,
    into: &'a str,
}

async fn case_page(
    state: &AppState,
    user: &ConsoleUser,
    case: &Case,
    incident: &Incident,
    typed: &HashMap<String, String>,
    errors: &FieldErrors,
    status: StatusCode,
) -> WebResult<HttpResponse> {
    let errors = state.translations.messages(&Lang::english(), errors);
    let timeline = state
        .store
        .timeline(case.id)
        .await?
        .into_iter()
        .map(|e| TimelineRow {
            direction: e.direction.as_str(),
            at: local_time_label(&incident.time_zone, e.created_at),
            channel: e.channel,
            author: e.author,
            body: e.body,
        })
        .collect();
    let canned = incident
        .settings
        .canned
        .iter()
        .map(|c| CannedRow {
            key: &c.key,
            title: &c.title,
            text: state.app.fill_canned(incident, case, &c.key),
        })
        .collect();
    let context = CasePage {
        base: Base::new(user, case.reference.as_str()),
        case: case_row(state, incident, case),
        email: case.email.as_deref(),
        phone: case.phone.as_deref(),
        booking_ref: case.booking_ref.as_deref(),
        handle: case.handle.as_deref(),
        merged_into: case.merged_into.as_deref(),
        first_response: case
            .first_response_at
            .map(|t| local_time_label(&incident.time_zone, t)),
        slug: incident.slug.as_str(),
        timeline,
        canned,
        reply: field(typed, "body"),
        typed: Kept {
            note: field(typed, "note"),
            call_notes: field(typed, "call_notes"),
            into: field(typed, "into"),
        },
        errors,
        teams: state.store.list_teams().await?,
        statuses: [
            CaseStatus::Open.as_str(),
            CaseStatus::WaitingOnCustomer.as_str(),
            CaseStatus::Resolved.as_str(),
        ],
    };
    render_with_status(state, "console_case", &context, status)
}

#[get("/console/cases/{reference}")]
pub async fn show(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
) -> WebResult<HttpResponse> {
    let (case, incident) = load(&state, &reference).await?;
    case_page(
        &state,
        &user,
        &case,
        &incident,
        &HashMap::new(),
        &FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

type Fields = Form<HashMap<String, String>>;

fn back(case: &Case) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/console/cases/{}", case.reference),
        ))
        .finish()
}

/// Checks the CSRF token, loads the case, and keeps the agent's claim alive.
async fn prepare(
    state: &AppState,
    user: &ConsoleUser,
    reference: &str,
    form: &HashMap<String, String>,
) -> WebResult<(Case, Incident)> {
    user.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
    let (case, incident) = load(state, reference).await?;
    state.app.keep_claim(&user.actor(), &case).await?;
    Ok((case, incident))
}

/// After an action: back to the case (or to the case it went into, when `Some`), or the
/// case page again with everything typed and the problem shown.
async fn done_or_shown(
    state: &AppState,
    user: &ConsoleUser,
    (case, incident): (Case, Incident),
    form: &HashMap<String, String>,
    outcome: AppResult<Option<Case>>,
) -> WebResult<HttpResponse> {
    match outcome {
        Ok(moved) => Ok(back(moved.as_ref().unwrap_or(&case))),
        Err(AppError::Invalid(errors)) => {
            case_page(
                state,
                user,
                &case,
                &incident,
                form,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

fn field<'a>(form: &'a HashMap<String, String>, key: &str) -> &'a str {
    form.get(key).map(String::as_str).unwrap_or("")
}

#[post("/console/cases/{reference}/note")]
pub async fn add_note(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (case, incident) = prepare(&state, &user, &reference, &form).await?;
    let outcome = state
        .app
        .add_note(&user.actor(), &case, field(&form, "note"))
        .await;
    let outcome = outcome.map(|()| None);
    done_or_shown(&state, &user, (case, incident), &form, outcome).await
}

#[post("/console/cases/{reference}/reply")]
pub async fn send_reply(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (case, incident) = prepare(&state, &user, &reference, &form).await?;
    let typed = field(&form, "body");
    let canned = form
        .get("canned")
        .filter(|k| !k.is_empty() && typed.trim().is_empty())
        .and_then(|key| state.app.fill_canned(&incident, &case, key));
    let body = canned.as_deref().unwrap_or(typed);
    let then = form.get("then").and_then(|s| CaseStatus::parse(s));
    let outcome = state
        .app
        .reply(&user.actor(), &case, &incident, body, then)
        .await;
    let outcome = outcome.map(|()| None);
    done_or_shown(&state, &user, (case, incident), &form, outcome).await
}

#[post("/console/cases/{reference}/status")]
pub async fn set_status(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (case, _) = prepare(&state, &user, &reference, &form).await?;
    let status = CaseStatus::parse(field(&form, "status")).ok_or_else(|| {
        WebError::BadRequest("status must be open, waiting_on_customer or resolved".into())
    })?;
    state
        .app
        .set_case_status(&user.actor(), &case, status)
        .await?;
    Ok(back(&case))
}

#[post("/console/cases/{reference}/team")]
pub async fn move_team(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (case, incident) = prepare(&state, &user, &reference, &form).await?;
    let outcome = state
        .app
        .move_team(&user.actor(), &case, field(&form, "team"))
        .await;
    let outcome = outcome.map(|()| None);
    done_or_shown(&state, &user, (case, incident), &form, outcome).await
}

#[post("/console/cases/{reference}/merge")]
pub async fn merge_into(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (case, incident) = prepare(&state, &user, &reference, &form).await?;
    let outcome = state
        .app
        .merge_cases(&user.actor(), &case, &incident, field(&form, "into"))
        .await
        .map(Some);
    done_or_shown(&state, &user, (case, incident), &form, outcome).await
}

#[post("/console/cases/{reference}/call")]
pub async fn log_call(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (case, incident) = prepare(&state, &user, &reference, &form).await?;
    let outcome = state
        .app
        .log_call(&user.actor(), &case, &incident, field(&form, "call_notes"))
        .await;
    let outcome = outcome.map(|()| None);
    done_or_shown(&state, &user, (case, incident), &form, outcome).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::page::sample;
    use crate::console::queue;
    use crate::templates::strict;

    #[test]
    fn the_template_names_only_what_the_page_has() {
        let context = CasePage {
            base: sample::base("MU-ABC-123"),
            case: queue::sample::case_row(),
            email: Some("ada@example.com"),
            phone: Some("+4712345678"),
            booking_ref: Some("BK1"),
            handle: Some("@ada"),
            merged_into: Some("MU-DEF-456"),
            first_response: Some("1 Jan 10:05".into()),
            slug: "storm",
            timeline: vec![TimelineRow {
                direction: "inbound",
                channel: "form".into(),
                author: Some("agent@example.com".into()),
                body: "Help".into(),
                at: "1 Jan 10:00".into(),
            }],
            canned: vec![CannedRow {
                key: "refund",
                title: "Refund",
                text: Some("We refund.".into()),
            }],
            reply: "Hello",
            typed: Kept {
                note: "n",
                call_notes: "c",
                into: "MU-DEF-456",
            },
            errors: strict::errors_on(&["body", "note", "call_notes", "team", "into"]),
            teams: vec![Team {
                id: 1,
                key: "refunds".into(),
                name: "Refunds".into(),
            }],
            statuses: ["open", "waiting_on_customer", "resolved"],
        };
        strict::render("console_case", &context);
    }
}
