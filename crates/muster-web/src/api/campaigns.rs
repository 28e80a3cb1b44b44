//! Campaigns over the API: create (now or at a time), preview, test send, progress,
//! pause, resume and cancel.

use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, get, post};
use muster_app::campaign_input::CampaignInput;
use muster_app::campaigns::CampaignControl;
use muster_core::contact_info::EmailAddress;
use muster_core::problem::{FieldErrors, Problem};
use serde::Deserialize;
use serde_json::json;

use crate::api::auth::ApiUser;
use crate::error::{WebError, WebResult};
use crate::state::AppState;

/// How many failed recipients (with their reasons) a campaign's answer lists.
const FAILURES_SHOWN: u64 = 20;

async fn with_progress(state: &AppState, id: i64) -> WebResult<serde_json::Value> {
    let campaign = state.store.campaign(id).await?;
    let progress = state.store.campaign_progress(id).await?;
    let failures = state.store.campaign_failures(id, FAILURES_SHOWN).await?;
    Ok(json!({ "campaign": campaign, "progress": progress, "failures": failures }))
}

#[post("/api/v1/incidents/{slug}/campaigns")]
pub async fn create(
    state: Data<AppState>,
    user: ApiUser,
    slug: Path<String>,
    body: Json<CampaignInput>,
) -> WebResult<HttpResponse> {
    let campaign = state
        .app
        .create_campaign(&user.actor(), &slug, &body)
        .await?;
    Ok(HttpResponse::Created().json(with_progress(&state, campaign.id).await?))
}

#[get("/api/v1/incidents/{slug}/campaigns")]
pub async fn list(
    state: Data<AppState>,
    _user: ApiUser,
    slug: Path<String>,
) -> WebResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.store.campaigns_of(&slug).await?))
}

#[post("/api/v1/incidents/{slug}/campaigns/preview")]
pub async fn preview(
    state: Data<AppState>,
    user: ApiUser,
    slug: Path<String>,
    body: Json<CampaignInput>,
) -> WebResult<HttpResponse> {
    let preview = state
        .app
        .preview_campaign(&user.actor(), &slug, &body)
        .await?;
    let rendered = preview.rendered;
    Ok(HttpResponse::Ok().json(json!({
        "recipient": preview.recipient.email,
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
    })))
}

#[derive(Debug, Deserialize)]
pub struct TestSend {
    to: String,
    #[serde(flatten)]
    campaign: CampaignInput,
}

#[post("/api/v1/incidents/{slug}/campaigns/test")]
pub async fn test(
    state: Data<AppState>,
    user: ApiUser,
    slug: Path<String>,
    body: Json<TestSend>,
) -> WebResult<HttpResponse> {
    let to = EmailAddress::parse(&body.to)
        .map_err(|e| WebError::Invalid(FieldErrors::from([("to".to_owned(), Problem::said(e))])))?;
    state
        .app
        .test_send_campaign(&user.actor(), &slug, &body.campaign, &to)
        .await?;
    Ok(HttpResponse::Accepted().json(json!({ "sent": true })))
}

#[get("/api/v1/campaigns/{id}")]
pub async fn show(state: Data<AppState>, _user: ApiUser, id: Path<i64>) -> WebResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(with_progress(&state, *id).await?))
}

#[post("/api/v1/campaigns/{id}/{action:pause|resume|cancel}")]
pub async fn control(
    state: Data<AppState>,
    user: ApiUser,
    path: Path<(i64, String)>,
) -> WebResult<HttpResponse> {
    let (id, action) = path.into_inner();
    let control = CampaignControl::parse(&action).ok_or(WebError::NotFound)?;
    state
        .app
        .control_campaign(&user.actor(), id, control)
        .await?;
    Ok(HttpResponse::Ok().json(with_progress(&state, id).await?))
}
