//! The manager's mail page for an incident: import the audience (CSV upload), write,
//! preview, test and send a campaign, and watch, pause, resume or cancel campaigns.

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Form, Path, Payload};
use actix_web::{HttpRequest, HttpResponse, get, post};
use muster_app::campaign_input::CampaignInput;
use muster_app::campaigns::CampaignControl;
use muster_app::{AppError, FieldErrors, Problem};
use muster_core::campaign::CampaignStatus;
use muster_core::contact_info::EmailAddress;
use muster_core::incident::Incident;
use muster_core::language::Lang;
use serde_json::{Value, json};

use crate::api::audience::{MAX_CSV_BYTES, read_limited};
use crate::console::auth::{ConsoleUser, Manager};
use crate::console::multipart;
use crate::console::page::{base_context, extend, render_with_status};
use crate::error::{WebError, WebResult};
use crate::state::AppState;

async fn load(state: &AppState, slug: &str) -> WebResult<Incident> {
    Ok(state.app.incident(slug).await?)
}

fn actions(status: CampaignStatus) -> Vec<&'static str> {
    match status {
        CampaignStatus::Sending => vec!["pause", "cancel"],
        CampaignStatus::Paused => vec!["resume", "cancel"],
        CampaignStatus::Scheduled => vec!["cancel"],
        CampaignStatus::Cancelled | CampaignStatus::Done => vec![],
    }
}

/// What the page shows besides the defaults: a report, a preview, errors, typed input.
#[derive(Default)]
struct Extra {
    context: Value,
    status: Option<StatusCode>,
}

async fn page(
    state: &AppState,
    user: &ConsoleUser,
    incident: &Incident,
    extra: Extra,
) -> WebResult<HttpResponse> {
    let mut campaigns = Vec::new();
    for campaign in state.store.campaigns_of(incident.slug.as_str()).await? {
        let progress = state.store.campaign_progress(campaign.id).await?;
        campaigns.push(json!({
            "id": campaign.id,
            "subject": campaign.content.subject,
            "status": campaign.status.as_str(),
            "rate": (progress.rate_per_second >= 1.0).then(|| format!("{:.0}", progress.rate_per_second)),
            "eta": progress.estimated_finish.map(|at| muster_core::incident::local_time_label(&incident.time_zone, at)),
            "progress": progress,
            "actions": actions(campaign.status),
        }));
    }
    let title = incident
        .title
        .get(&incident.default_language, &incident.default_language)
        .to_owned();
    let context = extend(
        extend(
            base_context(user, &title),
            json!({
                "slug": incident.slug.as_str(),
                "incident_title": title,
                "audience": state.store.audience_counts(incident.id).await?,
                "campaigns": campaigns,
            }),
        ),
        extra.context,
    );
    render_with_status(
        state,
        "console_mail",
        &context,
        extra.status.unwrap_or(StatusCode::OK),
    )
}

#[get("/console/incidents/{slug}/mail")]
pub async fn show(
    state: Data<AppState>,
    Manager(user): Manager,
    slug: Path<String>,
) -> WebResult<HttpResponse> {
    let incident = load(&state, &slug).await?;
    page(&state, &user, &incident, Extra::default()).await
}

#[post("/console/incidents/{slug}/audience")]
pub async fn upload(
    state: Data<AppState>,
    Manager(user): Manager,
    slug: Path<String>,
    req: HttpRequest,
    payload: Payload,
) -> WebResult<HttpResponse> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = read_limited(payload, MAX_CSV_BYTES).await?;
    let parts = multipart::parse(&content_type, &body)
        .ok_or_else(|| WebError::BadRequest("the upload could not be read".into()))?;
    let csrf = parts
        .get("csrf")
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .unwrap_or_default();
    user.check_csrf(&csrf)?;
    let incident = load(&state, &slug).await?;
    let problem = |message: String| Extra {
        context: json!({ "upload_error": message }),
        status: Some(StatusCode::UNPROCESSABLE_ENTITY),
    };
    let Some(file) = parts.get("file") else {
        return page(
            &state,
            &user,
            &incident,
            problem("choose a CSV file".into()),
        )
        .await;
    };
    let Ok(text) = std::str::from_utf8(file) else {
        return page(
            &state,
            &user,
            &incident,
            problem("the file is not UTF-8 text: save it as CSV UTF-8".into()),
        )
        .await;
    };
    let report = match state
        .app
        .import_audience(&user.actor(), &slug, text, |_, _| {})
        .await
    {
        Ok(report) => report,
        Err(AppError::Refused(message)) => {
            return page(&state, &user, &incident, problem(message)).await;
        }
        Err(other) => return Err(other.into()),
    };
    page(
        &state,
        &user,
        &incident,
        Extra {
            context: json!({ "rejected_count": report.rejected.len(), "report": report }),
            status: None,
        },
    )
    .await
}

#[post("/console/incidents/{slug}/campaigns")]
pub async fn create(
    state: Data<AppState>,
    Manager(user): Manager,
    slug: Path<String>,
    form: Form<HashMap<String, String>>,
) -> WebResult<HttpResponse> {
    user.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
    let incident = load(&state, &slug).await?;
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let input = CampaignInput {
        subject: field("subject"),
        text: field("text"),
        html: Some(field("html")),
        languages: field("languages"),
        departure_from: field("departure_from"),
        departure_to: field("departure_to"),
        send_at: field("send_at"),
    };
    let typed = json!({
        "subject": input.subject, "text": input.text, "html": field("html"),
        "languages": input.languages, "departure_from": input.departure_from,
        "departure_to": input.departure_to, "send_at": input.send_at, "test_to": field("test_to"),
    });
    let invalid = |errors: FieldErrors| Extra {
        context: json!({
            "form": typed,
            "errors": state.translations.messages(&Lang::english(), &errors),
        }),
        status: Some(StatusCode::UNPROCESSABLE_ENTITY),
    };
    let actor = user.actor();
    let shown = match field("action").as_str() {
        "preview" => state
            .app
            .preview_campaign(&actor, &slug, &input)
            .await
            .map(|preview| {
                let rendered = preview.rendered;
                json!({
                    "form": typed,
                    "preview": {"recipient": preview.recipient.email, "subject": rendered.subject, "text": rendered.text, "html": rendered.html},
                })
            }),
        "test" => {
            let to = match EmailAddress::parse(&field("test_to")) {
                Ok(to) => to,
                Err(err) => {
                    let errors = FieldErrors::from([("test_to".to_owned(), Problem::said(err))]);
                    return page(&state, &user, &incident, invalid(errors)).await;
                }
            };
            state
                .app
                .test_send_campaign(&actor, &slug, &input, &to)
                .await
                .map(|()| json!({ "form": typed, "sent_test": to.as_str() }))
        }
        _ => state
            .app
            .create_campaign(&actor, &slug, &input)
            .await
            .map(|_| Value::Null),
    };
    match shown {
        Ok(Value::Null) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/console/incidents/{slug}/mail")))
            .finish()),
        Ok(context) => {
            let extra = Extra {
                context,
                status: None,
            };
            page(&state, &user, &incident, extra).await
        }
        Err(AppError::Invalid(errors)) => page(&state, &user, &incident, invalid(errors)).await,
        Err(other) => Err(other.into()),
    }
}

#[post("/console/campaigns/{id}/{action:pause|resume|cancel}")]
pub async fn control(
    state: Data<AppState>,
    Manager(user): Manager,
    path: Path<(i64, String)>,
    form: Form<HashMap<String, String>>,
) -> WebResult<HttpResponse> {
    user.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
    let (id, action) = path.into_inner();
    let control = CampaignControl::parse(&action).ok_or(WebError::NotFound)?;
    let campaign = state
        .app
        .control_campaign(&user.actor(), id, control)
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/console/incidents/{}/mail", campaign.incident_slug),
        ))
        .finish())
}
