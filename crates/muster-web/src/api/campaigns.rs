//! Campaigns over the API: create (now or at a time), preview, test send, progress,
//! pause, resume and cancel.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, get, post};
use muster_core::contact_info::EmailAddress;
use muster_core::incident::Incident;
use serde::Deserialize;
use serde_json::json;

use crate::api::auth::ApiUser;
use crate::campaign_input::{CampaignInput, preview as render_preview, test_send};
use crate::error::{WebError, WebResult};
use crate::state::AppState;

fn invalid(errors: crate::incident_input::FieldErrors) -> HttpResponse {
    HttpResponse::build(StatusCode::UNPROCESSABLE_ENTITY).json(json!({
        "error": "some fields are not valid",
        "fields": errors,
    }))
}

async fn incident(state: &AppState, slug: &str) -> WebResult<Incident> {
    state
        .store
        .incident_by_slug(slug)
        .await?
        .ok_or(WebError::NotFound)
}

async fn with_progress(state: &AppState, id: i64) -> WebResult<serde_json::Value> {
    let campaign = state.store.campaign(id).await?;
    let progress = state.store.campaign_progress(id).await?;
    Ok(json!({ "campaign": campaign, "progress": progress }))
}

#[post("/api/v1/incidents/{slug}/campaigns")]
pub async fn create(
    state: Data<AppState>,
    user: ApiUser,
    slug: Path<String>,
    body: Json<CampaignInput>,
) -> WebResult<HttpResponse> {
    user.require_manager()?;
    incident(&state, &slug).await?;
    let new = match body.parse() {
        Ok(new) => new,
        Err(errors) => return Ok(invalid(errors)),
    };
    let domain = state
        .mail
        .as_ref()
        .map(|m| m.id_domain.clone())
        .unwrap_or_default();
    let campaign = state
        .store
        .create_campaign(&slug, new, &domain, &user.actor(), Some(user.0.id))
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
    user.require_manager()?;
    let incident = incident(&state, &slug).await?;
    let new = match body.parse() {
        Ok(new) => new,
        Err(errors) => return Ok(invalid(errors)),
    };
    let (recipient, rendered) = render_preview(&state, &incident, &new).await?;
    Ok(HttpResponse::Ok().json(json!({
        "recipient": recipient.email,
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
    user.require_manager()?;
    let incident = incident(&state, &slug).await?;
    let to = EmailAddress::parse(&body.to).map_err(|e| WebError::BadRequest(format!("to: {e}")))?;
    let new = match body.campaign.parse() {
        Ok(new) => new,
        Err(errors) => return Ok(invalid(errors)),
    };
    test_send(&state, &incident, &new, to.as_str()).await?;
    state
        .store
        .audit(&user.actor(), "campaign.test", &slug, json!({}))
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
    user.require_manager()?;
    let (id, action) = path.into_inner();
    let actor = user.actor();
    match action.as_str() {
        "pause" => state.store.pause_campaign(id, &actor).await?,
        "resume" => state.store.resume_campaign(id, &actor).await?,
        _ => state.store.cancel_campaign(id, &actor).await?,
    };
    Ok(HttpResponse::Ok().json(with_progress(&state, id).await?))
}
