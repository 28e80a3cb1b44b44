//! One case as an agent works it: the customer, every contact from every channel in one
//! timeline, notes, replies from canned responses, status, team, merge, a logged call.

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Form, Path};
use actix_web::{HttpResponse, get, post};
use handlebars::Handlebars;
use muster_core::case::{Case, CaseStatus};
use muster_core::case_ref::CaseRef;
use muster_core::incident::{ChannelKind, Incident, local_time_label};
use muster_core::intake::MESSAGE_MAX;
use muster_core::language::Lang;
use muster_mail::OutgoingMessage;
use muster_store::cases::Intake;
use muster_store::tokens::random_token;
use serde_json::{Value, json};

use crate::console::auth::ConsoleUser;
use crate::console::page::{base_context, extend, render_with_status};
use crate::console::queue::case_row;
use crate::error::{WebError, WebResult};
use crate::state::AppState;

async fn load(state: &AppState, reference: &str) -> WebResult<(Case, Incident)> {
    let reference = CaseRef::parse(reference).map_err(|_| WebError::NotFound)?;
    let case = state
        .store
        .case_by_reference(&reference)
        .await?
        .ok_or(WebError::NotFound)?;
    let incident = state.store.incident_by_id(case.incident_id).await?;
    Ok((case, incident))
}

/// The case's variables for canned responses.
fn variables(state: &AppState, incident: &Incident, case: &Case, case_url: &str) -> Value {
    json!({
        "name": case.customer_name,
        "reference": case.reference.as_str(),
        "booking_ref": case.booking_ref,
        "departure_date": case.departure_date.map(|d| d.to_string()),
        "case_url": case_url,
        "page_url": format!("{}/i/{}", state.config.base_url, incident.slug),
    })
}

/// A canned response filled in for this case, in the case's language. Rendered as plain
/// text: the output goes into an email body, never into HTML.
fn fill_canned(state: &AppState, incident: &Incident, case: &Case, key: &str) -> Option<String> {
    let canned = incident.settings.canned.iter().find(|c| c.key == key)?;
    let lang = incident.pick_language(Lang::parse(&case.language).ok().as_ref());
    let source = canned.body.get(&lang, &incident.default_language);
    let mut registry = Handlebars::new();
    registry.register_escape_fn(handlebars::no_escape);
    let vars = variables(state, incident, case, "{{case_url}}");
    registry.render_template(source, &vars).ok()
}

async fn case_page(
    state: &AppState,
    user: &ConsoleUser,
    case: &Case,
    incident: &Incident,
    typed: &HashMap<String, String>,
    error: Option<String>,
    status: StatusCode,
) -> WebResult<HttpResponse> {
    let timeline: Vec<Value> = state
        .store
        .timeline(case.id)
        .await?
        .into_iter()
        .map(|e| {
            json!({
                "direction": e.direction.as_str(),
                "channel": e.channel,
                "author": e.author,
                "body": e.body,
                "at": local_time_label(&incident.time_zone, e.created_at),
            })
        })
        .collect();
    let canned: Vec<Value> = incident
        .settings
        .canned
        .iter()
        .map(|c| json!({"key": c.key, "title": c.title, "text": fill_canned(state, incident, case, &c.key)}))
        .collect();
    let reply = typed.get("body").cloned().unwrap_or_default();
    let context = extend(
        base_context(user, case.reference.as_str()),
        json!({
            "case": case_row(state, incident, case),
            "email": case.email,
            "phone": case.phone,
            "booking_ref": case.booking_ref,
            "handle": case.handle,
            "merged_into": case.merged_into,
            "first_response": case.first_response_at.map(|t| local_time_label(&incident.time_zone, t)),
            "slug": incident.slug.as_str(),
            "timeline": timeline,
            "canned": canned,
            "reply": reply,
            "typed": typed,
            "error": error,
            "teams": state.store.list_teams().await?,
            "statuses": ["open", "waiting_on_customer", "resolved"],
        }),
    );
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
        None,
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
    if case.status == CaseStatus::Open {
        state
            .store
            .renew_claim(case.id, user.user.id, state.config.claim_lease, state.now())
            .await?;
    }
    Ok((case, incident))
}

fn text_field(form: &HashMap<String, String>, key: &str) -> Result<String, String> {
    let text = form.get(key).map(|t| t.trim()).unwrap_or("");
    if text.is_empty() {
        Err("write something first".to_owned())
    } else if text.chars().count() > MESSAGE_MAX {
        Err(format!("too long: at most {MESSAGE_MAX} characters"))
    } else {
        Ok(text.to_owned())
    }
}

#[post("/console/cases/{reference}/note")]
pub async fn add_note(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (case, incident) = prepare(&state, &user, &reference, &form).await?;
    match text_field(&form, "note") {
        Ok(text) => {
            state
                .store
                .add_note(case.id, user.user.id, &text, &user.actor())
                .await?;
            Ok(back(&case))
        }
        Err(problem) => {
            case_page(
                &state,
                &user,
                &case,
                &incident,
                &form,
                Some(problem),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[post("/console/cases/{reference}/reply")]
pub async fn send_reply(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (case, incident) = prepare(&state, &user, &reference, &form).await?;
    let Some(email) = case.email.clone() else {
        return case_page(
            &state,
            &user,
            &case,
            &incident,
            &form,
            Some("this customer has no email address: log a call or note instead".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let canned = form
        .get("canned")
        .filter(|k| !k.is_empty())
        .and_then(|key| fill_canned(&state, &incident, &case, key));
    let template = match (text_field(&form, "body"), canned) {
        (Ok(text), _) => text,
        (Err(_), Some(canned)) => canned,
        (Err(problem), None) => {
            return case_page(
                &state,
                &user,
                &case,
                &incident,
                &form,
                Some(problem),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let token = state.store.issue_case_token(case.id).await?;
    let case_url = format!("{}/c/{}?t={token}", state.config.base_url, case.reference);
    let body = template.replace("{{case_url}}", &case_url);
    let acknowledger = state.acknowledger();
    let lang = incident.pick_language(Lang::parse(&case.language).ok().as_ref());
    let subject = format!(
        "{} ({})",
        incident.title.get(&lang, &incident.default_language),
        case.reference
    );
    let reply_to = reply_address(&state.config.mail_from, case.reference.as_str());
    state
        .store
        .reply(case.id, user.user.id, &body, &user.actor(), |contact_id| {
            let message = OutgoingMessage {
                from: state.config.mail_from.clone(),
                to: email.clone(),
                reply_to: reply_to.clone(),
                subject,
                text: body.clone(),
                html: None,
                message_id: format!(
                    "reply.{contact_id}.{}@{}",
                    case.reference, acknowledger.domain
                ),
                in_reply_to: None,
                auto_submitted: false,
                list_unsubscribe: None,
            };
            crate::mail_job::queued("reply", &message)
        })
        .await?;
    if let Some(status) = form
        .get("then")
        .and_then(|s| CaseStatus::parse(s))
        .filter(|s| *s != case.status)
    {
        state
            .store
            .set_case_status(case.id, status, &user.actor())
            .await?;
    }
    Ok(back(&case))
}

/// `crisis+MX-7K3Q9P@example.com`: a reply to it threads back into the case.
fn reply_address(from: &str, reference: &str) -> Option<String> {
    let address = from
        .rsplit_once('<')
        .map(|(_, a)| a.trim_end_matches('>'))
        .unwrap_or(from);
    let (local, domain) = address.split_once('@')?;
    Some(format!("{local}+{reference}@{domain}"))
}

#[post("/console/cases/{reference}/status")]
pub async fn set_status(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (case, _) = prepare(&state, &user, &reference, &form).await?;
    let status = form
        .get("status")
        .and_then(|s| CaseStatus::parse(s))
        .ok_or_else(|| {
            WebError::BadRequest("status must be open, waiting_on_customer or resolved".into())
        })?;
    state
        .store
        .set_case_status(case.id, status, &user.actor())
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
    let (case, _) = prepare(&state, &user, &reference, &form).await?;
    let key = form.get("team").map(|t| t.trim()).unwrap_or("");
    if !state.store.list_teams().await?.iter().any(|t| t.key == key) {
        return Err(WebError::BadRequest(format!("\"{key}\" is not a team")));
    }
    state.store.move_team(case.id, key, &user.actor()).await?;
    Ok(back(&case))
}

#[post("/console/cases/{reference}/merge")]
pub async fn merge_into(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (case, incident) = prepare(&state, &user, &reference, &form).await?;
    let target = form.get("into").and_then(|r| CaseRef::parse(r).ok());
    let target = match target {
        Some(r) => state.store.case_by_reference(&r).await?,
        None => None,
    };
    let Some(target) = target else {
        return case_page(
            &state,
            &user,
            &case,
            &incident,
            &form,
            Some("no case has that reference".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let acknowledger = state.acknowledger();
    let from = state.config.mail_from.clone();
    let merged = state
        .store
        .merge_cases(case.id, target.id, &user.actor(), |merged| {
            let email = merged.email.clone()?;
            let lang = incident.pick_language(Lang::parse(&merged.language).ok().as_ref());
            let text = state
                .translations
                .text(&lang, "merged_notice")
                .replace("{reference}", merged.reference.as_str())
                .replace("{old}", case.reference.as_str());
            let message = OutgoingMessage {
                from: from.clone(),
                to: email.clone(),
                reply_to: None,
                subject: format!(
                    "{} ({})",
                    incident.title.get(&lang, &incident.default_language),
                    merged.reference
                ),
                text,
                html: None,
                message_id: format!(
                    "merge.{}.{}@{}",
                    case.reference, merged.reference, acknowledger.domain
                ),
                in_reply_to: None,
                auto_submitted: true,
                list_unsubscribe: None,
            };
            crate::mail_job::queued("merge", &message)
        })
        .await?;
    Ok(back(&merged))
}

#[post("/console/cases/{reference}/call")]
pub async fn log_call(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (case, incident) = prepare(&state, &user, &reference, &form).await?;
    let notes = match text_field(&form, "call_notes") {
        Ok(text) => text,
        Err(problem) => {
            return case_page(
                &state,
                &user,
                &case,
                &incident,
                &form,
                Some(problem),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let intake = Intake {
        incident_id: incident.id,
        channel: ChannelKind::Phone,
        customer_name: case.customer_name.clone(),
        email: None,
        phone: None,
        booking_ref: None,
        handle: None,
        departure_date: None,
        request_type: case.request_type.clone(),
        team: case.team.clone(),
        language: case.language.clone(),
        body: notes,
        external_id: Some(format!("console-call:{}", random_token())),
        into_case: Some(case.id),
        meta: json!({ "logged_by": user.user.email }),
    };
    state
        .store
        .take_in(intake, &random_token(), |_, _| None)
        .await?;
    state
        .store
        .audit(
            &user.actor(),
            "case.call",
            case.reference.as_str(),
            json!({}),
        )
        .await?;
    Ok(back(&case))
}
