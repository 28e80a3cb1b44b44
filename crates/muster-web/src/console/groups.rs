//! Disruption groups in the console: the incident's groups with their counts and a form to
//! save one; a group's page with its count, its first cases, one reply written once per
//! language (held 60 seconds, with an undo), each reply's progress and skipped cases, and
//! closing the group's problem.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Form, Path, Query};
use actix_web::{HttpResponse, get, post};
use muster_app::group_reply::GroupReplyInput;
use muster_app::groups::GroupInput;
use muster_app::{AppError, FieldErrors};
use muster_core::case::CaseStatus;
use muster_core::group::{Group, ReplyProgress, ReplyStatus, SkipReason};
use muster_core::incident::{Incident, RequestType, local_time_label};
use muster_core::language::Lang;
use muster_store::group_replies::{GroupReply, SkippedCase};
use muster_store::teams::Team;
use serde::{Deserialize, Serialize};

use crate::console::auth::ConsoleUser;
use crate::console::page::{Base, render_with_status};
use crate::console::queue::{CaseRow, RowContext, case_row, working_incident};
use crate::error::{WebError, WebResult};
use crate::state::AppState;

/// Skipped cases listed under a reply.
const SKIPS_SHOWN: u64 = 100;

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct GroupsQuery {
    incident: Option<String>,
}

#[derive(Serialize)]
struct GroupRow {
    id: i64,
    name: String,
    summary: String,
    count: u64,
    closed: bool,
}

#[derive(Serialize)]
struct GroupsPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    slug: &'a str,
    incident_title: &'a str,
    groups: Vec<GroupRow>,
    form: &'a GroupInput,
    errors: BTreeMap<String, String>,
    request_types: &'a [RequestType],
    teams: Vec<Team>,
}

/// The filter in words, e.g. "trip AURORA-1204 · departing 2026-12-04 to 2026-12-05".
fn summary(group: &Group) -> String {
    let f = &group.filter;
    let mut parts = Vec::new();
    if let Some(trip) = &f.trip {
        parts.push(format!("trip {trip}"));
    }
    match (f.departure_from, f.departure_to) {
        (Some(from), Some(to)) if from == to => parts.push(format!("departing {from}")),
        (Some(from), Some(to)) => parts.push(format!("departing {from} to {to}")),
        (Some(from), None) => parts.push(format!("departing from {from}")),
        (None, Some(to)) => parts.push(format!("departing until {to}")),
        (None, None) => {}
    }
    if let Some(request_type) = &f.request_type {
        parts.push(format!("request {request_type}"));
    }
    if let Some(team) = &f.team {
        parts.push(format!("team {team}"));
    }
    if let Some(tier) = f.tier {
        parts.push(format!("tier {}", tier.as_str()));
    }
    if parts.is_empty() {
        "every unresolved case".to_owned()
    } else {
        parts.join(" · ")
    }
}

fn title(incident: &Incident) -> &str {
    incident
        .title
        .get(&incident.default_language, &incident.default_language)
}

async fn groups_page(
    state: &AppState,
    user: &ConsoleUser,
    incident: &Incident,
    form: &GroupInput,
    errors: &FieldErrors,
    status: StatusCode,
) -> WebResult<HttpResponse> {
    let mut groups = Vec::new();
    for group in state.store.groups_of(incident.id).await? {
        groups.push(GroupRow {
            id: group.id,
            summary: summary(&group),
            count: state.app.group_count(incident, &group).await?,
            closed: group.closed_at.is_some(),
            name: group.name,
        });
    }
    let context = GroupsPage {
        base: Base::new(user, "Groups"),
        slug: incident.slug.as_str(),
        incident_title: title(incident),
        groups,
        form,
        errors: state.translations.messages(&Lang::english(), errors),
        request_types: &incident.settings.request_types,
        teams: state.store.list_teams().await?,
    };
    render_with_status(state, "console_groups", &context, status)
}

#[get("/console/groups")]
pub async fn list(
    state: Data<AppState>,
    user: ConsoleUser,
    query: Query<GroupsQuery>,
) -> WebResult<HttpResponse> {
    let incident = working_incident(&state, query.incident.as_deref()).await?;
    groups_page(
        &state,
        &user,
        &incident,
        &GroupInput::default(),
        &FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    csrf: String,
    incident: String,
    #[serde(flatten)]
    group: GroupInput,
}

#[post("/console/groups")]
pub async fn create(
    state: Data<AppState>,
    user: ConsoleUser,
    form: Form<CreateForm>,
) -> WebResult<HttpResponse> {
    user.check_csrf(&form.csrf)?;
    let incident = working_incident(&state, Some(&form.incident)).await?;
    match state
        .app
        .create_group(&user.actor(), &incident, &form.group)
        .await
    {
        Ok(group) => Ok(see_other(&format!("/console/groups/{}?saved=1", group.id))),
        Err(AppError::Invalid(errors)) => {
            groups_page(
                &state,
                &user,
                &incident,
                &form.group,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

#[derive(Serialize)]
struct LanguageBody {
    code: String,
    field: String,
    text: String,
    error: Option<String>,
    rtl: bool,
}

#[derive(Serialize)]
struct SkipRow {
    reference: String,
    name: String,
    reason: &'static str,
}

#[derive(Serialize)]
struct ReplyRow {
    id: i64,
    status: &'static str,
    held: bool,
    sending: bool,
    author: String,
    drafted: String,
    /// When a held reply goes.
    goes: String,
    languages: String,
    progress: ReplyProgress,
    skipped: Vec<SkipRow>,
}

#[derive(Serialize)]
struct GroupPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    slug: &'a str,
    incident_title: &'a str,
    id: i64,
    name: &'a str,
    summary: String,
    closed: bool,
    count: u64,
    cases: Vec<CaseRow<'a>>,
    more: u64,
    languages: Vec<LanguageBody>,
    then_status: &'a str,
    statuses: [&'static str; 3],
    errors: BTreeMap<String, String>,
    replies: Vec<ReplyRow>,
    /// A success or way-on message after an action.
    notice: Option<&'static str>,
    /// Whether any reply is still held or sending: the page offers a refresh.
    in_flight: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct GroupQuery {
    saved: Option<String>,
    held: Option<String>,
    undone: Option<String>,
    late: Option<String>,
    closed: Option<u64>,
}

impl GroupQuery {
    fn notice(&self) -> Option<&'static str> {
        if self.saved.is_some() {
            Some("Group saved. Cases that arrive later and match it join it.")
        } else if self.held.is_some() {
            Some(
                "Reply held: nothing is sent until the time shown below, and you can undo it until then.",
            )
        } else if self.undone.is_some() {
            Some("Reply undone: nothing was sent.")
        } else if self.late.is_some() {
            Some("Too late to undo: the reply has started going to the cases.")
        } else if self.closed.is_some() {
            Some("The group's problem is closed.")
        } else {
            None
        }
    }
}

fn skip_reason(reason: SkipReason) -> &'static str {
    match reason {
        SkipReason::AnsweredSince => "a colleague answered it after the reply was written",
        SkipReason::NoChannel => "no channel to reply on (no email address)",
        SkipReason::Resolved => "resolved before its turn",
    }
}

async fn reply_row(
    state: &AppState,
    incident: &Incident,
    reply: GroupReply,
) -> WebResult<ReplyRow> {
    let progress = state.store.group_reply_progress(reply.id).await?;
    let skipped = state
        .store
        .group_reply_skips(reply.id, SKIPS_SHOWN)
        .await?
        .into_iter()
        .map(|s: SkippedCase| SkipRow {
            reference: s.reference,
            name: s.customer_name,
            reason: skip_reason(s.reason),
        })
        .collect();
    Ok(ReplyRow {
        id: reply.id,
        status: reply.status.as_str(),
        held: reply.status == ReplyStatus::Held,
        sending: reply.status == ReplyStatus::Sending,
        author: reply.author,
        drafted: local_time_label(&incident.time_zone, reply.drafted_at),
        goes: local_time_label(&incident.time_zone, reply.send_at),
        languages: reply.bodies.keys().cloned().collect::<Vec<_>>().join(", "),
        progress,
        skipped,
    })
}

struct Typed<'a> {
    bodies: &'a BTreeMap<String, String>,
    then_status: &'a str,
}

#[allow(clippy::too_many_arguments)]
async fn group_page(
    state: &AppState,
    user: &ConsoleUser,
    incident: &Incident,
    group: &Group,
    typed: Typed<'_>,
    errors: &FieldErrors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> WebResult<HttpResponse> {
    let overview = state.app.group_overview(incident, group).await?;
    let messages = state.translations.messages(&Lang::english(), errors);
    // A text per language of the group's cases, and any the agent already typed.
    let mut codes: Vec<String> = overview.languages.clone();
    for code in typed.bodies.keys() {
        if !codes.contains(code) {
            codes.push(code.clone());
        }
    }
    if codes.is_empty() {
        codes.push(incident.default_language.as_str().to_owned());
    }
    let languages = codes
        .into_iter()
        .map(|code| {
            let field = format!("body_{code}");
            LanguageBody {
                text: typed.bodies.get(&code).cloned().unwrap_or_default(),
                error: messages.get(&field).cloned(),
                rtl: Lang::parse(&code).is_ok_and(|l| l.is_rtl()),
                field,
                code,
            }
        })
        .collect();
    let mut replies = Vec::new();
    for reply in state.store.group_replies_of(group.id).await? {
        replies.push(reply_row(state, incident, reply).await?);
    }
    let in_flight = replies.iter().any(|r| r.held || r.sending);
    let shown = u64::try_from(overview.first.len()).unwrap_or(0);
    let rows = RowContext::load(state, user, &overview.first).await?;
    let context = GroupPage {
        base: Base::new(user, &group.name),
        slug: incident.slug.as_str(),
        incident_title: title(incident),
        id: group.id,
        name: &group.name,
        summary: summary(group),
        closed: group.closed_at.is_some(),
        count: overview.count,
        cases: overview
            .first
            .iter()
            .map(|c| case_row(state, incident, c, &rows))
            .collect(),
        more: overview.count.saturating_sub(shown),
        languages,
        then_status: typed.then_status,
        statuses: [
            CaseStatus::Open.as_str(),
            CaseStatus::WaitingOnCustomer.as_str(),
            CaseStatus::Resolved.as_str(),
        ],
        errors: messages,
        replies,
        notice,
        in_flight,
    };
    render_with_status(state, "console_group", &context, status)
}

async fn load(state: &AppState, id: i64) -> WebResult<(Group, Incident)> {
    let group = state
        .store
        .group(id)
        .await
        .map_err(|_| WebError::NotFound)?;
    let incident = state.store.incident_by_id(group.incident_id).await?;
    Ok((group, incident))
}

#[get("/console/groups/{id}")]
pub async fn show(
    state: Data<AppState>,
    user: ConsoleUser,
    id: Path<i64>,
    query: Query<GroupQuery>,
) -> WebResult<HttpResponse> {
    let (group, incident) = load(&state, *id).await?;
    group_page(
        &state,
        &user,
        &incident,
        &group,
        Typed {
            bodies: &BTreeMap::new(),
            then_status: CaseStatus::WaitingOnCustomer.as_str(),
        },
        &FieldErrors::new(),
        query.notice(),
        StatusCode::OK,
    )
    .await
}

#[post("/console/groups/{id}/reply")]
pub async fn send_reply(
    state: Data<AppState>,
    user: ConsoleUser,
    id: Path<i64>,
    form: Form<HashMap<String, String>>,
) -> WebResult<HttpResponse> {
    user.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
    let (group, incident) = load(&state, *id).await?;
    let bodies: BTreeMap<String, String> = form
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("body_")?.to_owned(), v.clone())))
        .collect();
    let then_status = form.get("then_status").cloned().unwrap_or_default();
    let input = GroupReplyInput {
        bodies: bodies.clone(),
        then_status: then_status.clone(),
    };
    match state
        .app
        .draft_group_reply(&user.actor(), &incident, &group, &input)
        .await
    {
        Ok(reply) => Ok(see_other(&format!(
            "/console/groups/{}?held={}#reply-{}",
            group.id, reply.id, reply.id
        ))),
        Err(AppError::Invalid(errors)) => {
            group_page(
                &state,
                &user,
                &incident,
                &group,
                Typed {
                    bodies: &bodies,
                    then_status: &then_status,
                },
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
    #[serde(default)]
    resolve: Option<String>,
}

#[post("/console/groups/{id}/replies/{reply}/undo")]
pub async fn undo(
    state: Data<AppState>,
    user: ConsoleUser,
    path: Path<(i64, i64)>,
    form: Form<CsrfForm>,
) -> WebResult<HttpResponse> {
    user.check_csrf(&form.csrf)?;
    let (group_id, reply_id) = path.into_inner();
    let (group, _) = load(&state, group_id).await?;
    match state
        .app
        .undo_group_reply(&user.actor(), &group, reply_id)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/console/groups/{group_id}?undone=1"))),
        Err(AppError::Conflict(_)) => Ok(see_other(&format!("/console/groups/{group_id}?late=1"))),
        Err(other) => Err(other.into()),
    }
}

#[post("/console/groups/{id}/close")]
pub async fn close(
    state: Data<AppState>,
    user: ConsoleUser,
    id: Path<i64>,
    form: Form<CsrfForm>,
) -> WebResult<HttpResponse> {
    user.check_csrf(&form.csrf)?;
    let (group, incident) = load(&state, *id).await?;
    let resolved = state
        .app
        .close_group(&user.actor(), &incident, &group, form.resolve.is_some())
        .await?;
    Ok(see_other(&format!(
        "/console/groups/{}?closed={resolved}",
        group.id
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::{page, queue};
    use crate::templates::strict;

    #[test]
    fn the_list_template_names_only_what_the_page_has() {
        let form = GroupInput::default();
        let context = GroupsPage {
            base: page::sample::base("Groups"),
            slug: "storm",
            incident_title: "Storm",
            groups: vec![GroupRow {
                id: 1,
                name: "Aurora 4 Dec".into(),
                summary: "trip AURORA-1204".into(),
                count: 3,
                closed: false,
            }],
            form: &form,
            errors: strict::errors_on(&[
                "name",
                "trip",
                "departure_from",
                "departure_to",
                "request_type",
                "team",
                "tier",
            ]),
            request_types: &[],
            teams: vec![],
        };
        strict::render("console_groups", &context);
    }

    #[test]
    fn the_group_template_names_only_what_the_page_has() {
        let context = GroupPage {
            base: page::sample::base("Aurora"),
            slug: "storm",
            incident_title: "Storm",
            id: 1,
            name: "Aurora",
            summary: "trip AURORA-1204".into(),
            closed: false,
            count: 51,
            cases: vec![queue::sample::case_row()],
            more: 50,
            languages: vec![LanguageBody {
                code: "fa".into(),
                field: "body_fa".into(),
                text: "سلام".into(),
                error: Some("bad".into()),
                rtl: true,
            }],
            then_status: "open",
            statuses: ["open", "waiting_on_customer", "resolved"],
            errors: BTreeMap::from([("body".to_owned(), "Write it".to_owned())]),
            replies: vec![ReplyRow {
                id: 2,
                status: "sending",
                held: true,
                sending: true,
                author: "user:kari@example.com".into(),
                drafted: "4 Dec 10:00".into(),
                goes: "4 Dec 10:01".into(),
                languages: "en, fa".into(),
                progress: ReplyProgress::default(),
                skipped: vec![SkipRow {
                    reference: "MX-ABCDEF".into(),
                    name: "Ada".into(),
                    reason: "answered",
                }],
            }],
            notice: Some("saved"),
            in_flight: true,
        };
        strict::render("console_group", &context);
    }
}
