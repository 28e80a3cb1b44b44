//! Incidents over the API: the same use cases as the console and the CLI, as JSON.

use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, get, patch, post, put};
use muster_app::canned::CannedText;
use muster_app::incident_input::{ChannelText, IncidentTextEdit, NewIncident, PolicyText};
use muster_app::staffing::StaffText;
use muster_core::incident::ChannelKind;
use muster_core::language::Lang;
use muster_core::problem::{FieldErrors, Problem};
use serde::Deserialize;
use serde_json::json;

use crate::api::auth::ApiUser;
use crate::error::{WebError, WebResult};
use crate::state::AppState;

/// The `lang` a request names, parsed; its absence means the incident's default.
fn language(raw: Option<&str>) -> WebResult<Option<Lang>> {
    raw.map(|code| {
        Lang::parse(code).map_err(|e| {
            WebError::Invalid(FieldErrors::from([("lang".to_owned(), Problem::said(e))]))
        })
    })
    .transpose()
}

#[get("/api/v1/incidents")]
pub async fn list(state: Data<AppState>, _user: ApiUser) -> WebResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.store.list_incidents().await?))
}

#[post("/api/v1/incidents")]
pub async fn open(
    state: Data<AppState>,
    user: ApiUser,
    body: Json<NewIncident>,
) -> WebResult<HttpResponse> {
    let incident = state.app.open_incident(&user.actor(), &body).await?;
    Ok(HttpResponse::Created().json(incident))
}

#[get("/api/v1/incidents/{slug}")]
pub async fn show(
    state: Data<AppState>,
    _user: ApiUser,
    slug: Path<String>,
) -> WebResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.app.incident(&slug).await?))
}

#[patch("/api/v1/incidents/{slug}")]
pub async fn edit(
    state: Data<AppState>,
    user: ApiUser,
    slug: Path<String>,
    body: Json<IncidentTextEdit>,
) -> WebResult<HttpResponse> {
    let saved = state.app.edit_incident(&user.actor(), &slug, &body).await?;
    Ok(HttpResponse::Ok().json(saved))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUpdate {
    lang: Option<String>,
    body: String,
    /// Also email the update to the incident's audience, as a campaign.
    #[serde(default)]
    notify_audience: bool,
}

#[post("/api/v1/incidents/{slug}/updates")]
pub async fn post_update(
    state: Data<AppState>,
    user: ApiUser,
    slug: Path<String>,
    body: Json<NewUpdate>,
) -> WebResult<HttpResponse> {
    let lang = language(body.lang.as_deref())?;
    let posted = state
        .app
        .post_update(
            &user.actor(),
            &slug,
            lang.as_ref(),
            &body.body,
            body.notify_audience,
        )
        .await?;
    Ok(HttpResponse::Created().json(posted.update))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoliciesBody {
    lang: Option<String>,
    policies: Vec<PolicyText>,
}

#[put("/api/v1/incidents/{slug}/policies")]
pub async fn policies(
    state: Data<AppState>,
    user: ApiUser,
    slug: Path<String>,
    body: Json<PoliciesBody>,
) -> WebResult<HttpResponse> {
    let lang = language(body.lang.as_deref())?;
    let saved = state
        .app
        .set_policies(&user.actor(), &slug, lang.as_ref(), &body.policies)
        .await?;
    Ok(HttpResponse::Ok().json(saved))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelsBody {
    lang: Option<String>,
    channels: Vec<ChannelText>,
}

#[put("/api/v1/incidents/{slug}/channels")]
pub async fn channels(
    state: Data<AppState>,
    user: ApiUser,
    slug: Path<String>,
    body: Json<ChannelsBody>,
) -> WebResult<HttpResponse> {
    let lang = language(body.lang.as_deref())?;
    let saved = state
        .app
        .set_channels(&user.actor(), &slug, lang.as_ref(), &body.channels)
        .await?;
    Ok(HttpResponse::Ok().json(saved))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitBody {
    low_minutes: Option<i64>,
    high_minutes: Option<i64>,
    /// The posted wait replaces the computed one (for channels whose queue Muster sees).
    #[serde(default, rename = "override")]
    overrides: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CannedBody {
    lang: Option<String>,
    canned: Vec<CannedText>,
}

/// Sets canned responses (templates with the case's variables) in one language.
#[put("/api/v1/incidents/{slug}/canned")]
pub async fn canned(
    state: Data<AppState>,
    user: ApiUser,
    slug: Path<String>,
    body: Json<CannedBody>,
) -> WebResult<HttpResponse> {
    let lang = language(body.lang.as_deref())?;
    let saved = state
        .app
        .set_canned(&user.actor(), &slug, lang.as_ref(), &body.canned)
        .await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// The telephony system (or a manager) posts a channel's wait; both ends null clear it.
#[put("/api/v1/incidents/{slug}/channels/{channel}/wait")]
pub async fn channel_wait(
    state: Data<AppState>,
    user: ApiUser,
    path: Path<(String, String)>,
    body: Json<WaitBody>,
) -> WebResult<HttpResponse> {
    let (slug, channel) = path.into_inner();
    let kind = ChannelKind::parse(&channel).ok_or_else(|| {
        WebError::BadRequest(format!(
            "\"{channel}\" is not a channel: use form, email, phone, chat or social"
        ))
    })?;
    let wait = muster_app::incident_input::parse_wait(
        &body.low_minutes.map(|m| m.to_string()),
        &body.high_minutes.map(|m| m.to_string()),
        None,
    )
    .map_err(|p| {
        let english = muster_core::language::Lang::english();
        WebError::BadRequest(muster_app::i18n::shared().problem(&english, &p))
    })?;
    let overrides = state
        .app
        .post_channel_wait(&user.actor(), &slug, kind, wait, body.overrides)
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "channel": kind.as_str(),
        "posted_wait": wait,
        "override": overrides,
    })))
}

/// One group of a staffing plan: `from` and `until` are RFC 3339 instants, or minutes in the
/// incident's time zone (`2026-11-30T14:00`); either may be left out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffGroupBody {
    agents: u32,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    until: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffingBody {
    groups: Vec<StaffGroupBody>,
}

/// Replaces the incident's staffing plan: the shifts and reinforcements the posted waits
/// count on before they start answering.
#[put("/api/v1/incidents/{slug}/staffing")]
pub async fn staffing(
    state: Data<AppState>,
    user: ApiUser,
    slug: Path<String>,
    body: Json<StaffingBody>,
) -> WebResult<HttpResponse> {
    let typed: Vec<StaffText> = body
        .groups
        .iter()
        .map(|g| StaffText {
            agents: g.agents.to_string(),
            from: g.from.clone().unwrap_or_default(),
            until: g.until.clone().unwrap_or_default(),
        })
        .collect();
    let groups = state.app.set_staffing(&user.actor(), &slug, &typed).await?;
    Ok(HttpResponse::Ok().json(json!({ "groups": groups })))
}
