//! The manager's mail page for an incident: import the audience (CSV upload), write,
//! preview, test and send a campaign, and watch, pause, resume or cancel campaigns.

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Form, Path, Payload};
use actix_web::{HttpRequest, HttpResponse, get, post};
use muster_app::campaign_input::CampaignInput;
use muster_app::campaigns::CampaignControl;
use muster_app::{AppError, FieldErrors, Problem};
use std::collections::BTreeMap;

use muster_core::campaign::{CampaignStatus, Progress};
use muster_core::contact_info::EmailAddress;
use muster_core::incident::Incident;
use muster_core::language::Lang;
use muster_core::mail_feedback::FeedbackKind;
use muster_store::audience::{AudienceCounts, ImportReport};
use muster_store::campaigns::DeliveryFailure;
use muster_store::mail_feedback::FeedbackEntry;
use serde::Serialize;

use crate::api::audience::{MAX_CSV_BYTES, read_limited};
use crate::console::auth::{ConsoleUser, Manager};
use crate::console::multipart;
use crate::console::page::{Base, render_with_status};
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

#[derive(Serialize)]
struct MailPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    slug: &'a str,
    incident_title: &'a str,
    audience: AudienceCounts,
    campaigns: Vec<CampaignRow>,
    #[serde(flatten)]
    shown: Shown,
}

#[derive(Serialize)]
struct CampaignRow {
    id: i64,
    subject: String,
    status: &'static str,
    rate: Option<String>,
    eta: Option<String>,
    progress: Progress,
    actions: Vec<&'static str>,
    /// Bounces and complaints that came back, newest first.
    feedback: Vec<FeedbackShown>,
    /// Deliveries that failed for good when sending, with the relay's reason.
    failures: Vec<DeliveryFailure>,
}

/// One bounce or complaint, as the manager reads it.
#[derive(Serialize)]
struct FeedbackShown {
    email: String,
    what: &'static str,
    status: String,
    reason: String,
    received: String,
}

/// Rows of each list shown per campaign; the API has them all.
const PROBLEMS_SHOWN: u64 = 50;

fn feedback_shown(incident: &Incident, entry: FeedbackEntry) -> FeedbackShown {
    FeedbackShown {
        what: match (entry.kind, entry.permanent) {
            (FeedbackKind::Complaint, _) => "complaint: unsubscribed",
            (FeedbackKind::Bounce, true) => "bounce: address suppressed",
            (FeedbackKind::Bounce, false) => "temporary: still being retried",
        },
        status: [entry.status, entry.action]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        reason: entry.detail,
        received: muster_core::incident::local_time_label(&incident.time_zone, entry.received_at),
        email: entry.email,
    }
}

/// What the page shows besides the defaults: a report, a preview, errors, typed input.
#[derive(Default, Serialize)]
struct Shown {
    report: Option<ImportReport>,
    rejected_count: usize,
    upload_error: Option<String>,
    form: CampaignForm,
    errors: BTreeMap<String, String>,
    preview: Option<PreviewShown>,
    sent_test: Option<String>,
}

/// The campaign form as the manager typed it.
#[derive(Clone, Default, Serialize)]
struct CampaignForm {
    subject: String,
    text: String,
    html: String,
    languages: String,
    departure_from: String,
    departure_to: String,
    send_at: String,
    test_to: String,
}

#[derive(Serialize)]
struct PreviewShown {
    recipient: String,
    subject: String,
    text: String,
    html: Option<String>,
}

#[derive(Default)]
struct Extra {
    shown: Shown,
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
        campaigns.push(CampaignRow {
            id: campaign.id,
            status: campaign.status.as_str(),
            rate: (progress.rate_per_second >= 1.0)
                .then(|| format!("{:.0}", progress.rate_per_second)),
            eta: progress
                .estimated_finish
                .map(|at| muster_core::incident::local_time_label(&incident.time_zone, at)),
            actions: actions(campaign.status),
            feedback: state
                .store
                .campaign_feedback(campaign.id, PROBLEMS_SHOWN)
                .await?
                .into_iter()
                .map(|entry| feedback_shown(incident, entry))
                .collect(),
            failures: state
                .store
                .campaign_failures(campaign.id, PROBLEMS_SHOWN)
                .await?,
            subject: campaign.content.subject,
            progress,
        });
    }
    let title = incident
        .title
        .get(&incident.default_language, &incident.default_language);
    let context = MailPage {
        base: Base::new(user, title),
        slug: incident.slug.as_str(),
        incident_title: title,
        audience: state.store.audience_counts(incident.id).await?,
        campaigns,
        shown: extra.shown,
    };
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
        shown: Shown {
            upload_error: Some(message),
            ..Shown::default()
        },
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
            shown: Shown {
                rejected_count: report.rejected.len(),
                report: Some(report),
                ..Shown::default()
            },
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
    let typed = CampaignForm {
        subject: input.subject.clone(),
        text: input.text.clone(),
        html: field("html"),
        languages: input.languages.clone(),
        departure_from: input.departure_from.clone(),
        departure_to: input.departure_to.clone(),
        send_at: input.send_at.clone(),
        test_to: field("test_to"),
    };
    let invalid = |errors: FieldErrors| Extra {
        shown: Shown {
            form: typed.clone(),
            errors: state.translations.messages(&Lang::english(), &errors),
            ..Shown::default()
        },
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
                Some(Shown {
                    form: typed.clone(),
                    preview: Some(PreviewShown {
                        recipient: preview.recipient.email,
                        subject: rendered.subject,
                        text: rendered.text,
                        html: rendered.html,
                    }),
                    ..Shown::default()
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
                .map(|()| {
                    Some(Shown {
                        form: typed.clone(),
                        sent_test: Some(to.as_str().to_owned()),
                        ..Shown::default()
                    })
                })
        }
        // Sent: nothing more to show, so back to the page.
        _ => state
            .app
            .create_campaign(&actor, &slug, &input)
            .await
            .map(|_| None),
    };
    match shown {
        Ok(None) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/console/incidents/{slug}/mail")))
            .finish()),
        Ok(Some(shown)) => {
            let extra = Extra {
                shown,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::page::sample;
    use crate::templates::strict;
    use muster_core::audience::Rejection;

    #[test]
    fn the_template_names_only_what_the_page_has() {
        let fields = [
            "subject",
            "text",
            "html",
            "languages",
            "departure_from",
            "departure_to",
            "send_at",
            "test_to",
        ];
        let context = MailPage {
            base: sample::base("Storm"),
            slug: "storm",
            incident_title: "Storm",
            audience: AudienceCounts::default(),
            campaigns: vec![CampaignRow {
                id: 3,
                subject: "Your flight".into(),
                status: "sending",
                rate: Some("12".into()),
                eta: Some("1 Jan 11:00".into()),
                progress: Progress::default(),
                actions: actions(CampaignStatus::Sending),
                feedback: vec![FeedbackShown {
                    email: "ola@example.com".into(),
                    what: "bounce: address suppressed",
                    status: "5.1.1 failed".into(),
                    reason: "unknown user".into(),
                    received: "1 Jan 11:00".into(),
                }],
                failures: vec![DeliveryFailure {
                    email: "per@example.com".into(),
                    error: "550 no such user".into(),
                }],
            }],
            shown: Shown {
                report: Some(ImportReport {
                    rows: 2,
                    created: 1,
                    updated: 0,
                    rejected: vec![Rejection {
                        line: 2,
                        reason: "no email".into(),
                    }],
                }),
                rejected_count: 1,
                upload_error: Some("choose a CSV file".into()),
                form: CampaignForm::default(),
                errors: strict::errors_on(&fields),
                preview: Some(PreviewShown {
                    recipient: "ada@example.com".into(),
                    subject: "Your flight".into(),
                    text: "Hello".into(),
                    html: Some("<p>Hello</p>".into()),
                }),
                sent_test: Some("ada@example.com".into()),
            },
        };
        strict::render("console_mail", &context);
    }
}
