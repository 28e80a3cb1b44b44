//! Incidents over the API: the same operations as the console, as JSON.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, get, patch, post, put};
use muster_core::incident::{ChannelKind, Incident};
use muster_core::language::Lang;
use muster_core::localized::Localized;
use serde::Deserialize;
use serde_json::json;

use crate::api::auth::ApiUser;
use crate::error::{WebError, WebResult};
use crate::incident_input::{
    ChannelText, FieldErrors, IncidentTextEdit, NewIncident, PolicyText, parse_channels,
    parse_policies,
};
use crate::staffing_input::{StaffText, parse_staffing, save_staffing};
use crate::state::AppState;

fn invalid(errors: FieldErrors) -> HttpResponse {
    HttpResponse::build(StatusCode::UNPROCESSABLE_ENTITY).json(json!({
        "error": "some fields are not valid",
        "fields": errors,
    }))
}

async fn load(state: &AppState, slug: &str) -> WebResult<Incident> {
    state
        .store
        .incident_by_slug(slug)
        .await?
        .ok_or(WebError::NotFound)
}

fn language(incident: &Incident, raw: Option<&str>) -> WebResult<Lang> {
    match raw {
        None => Ok(incident.default_language.clone()),
        Some(code) => {
            let lang = Lang::parse(code).map_err(|e| WebError::BadRequest(e.to_string()))?;
            if incident.languages.contains(&lang) {
                Ok(lang)
            } else {
                Err(WebError::BadRequest(format!(
                    "the incident is not published in \"{lang}\"; add it to its languages first"
                )))
            }
        }
    }
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
    user.require_manager()?;
    let draft = match body.parse() {
        Ok(draft) => draft,
        Err(errors) => return Ok(invalid(errors)),
    };
    let incident = state.store.create_incident(draft, &user.actor()).await?;
    state.render_incident(incident.slug.as_str()).await?;
    Ok(HttpResponse::Created().json(incident))
}

#[get("/api/v1/incidents/{slug}")]
pub async fn show(
    state: Data<AppState>,
    _user: ApiUser,
    slug: Path<String>,
) -> WebResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(load(&state, &slug).await?))
}

#[patch("/api/v1/incidents/{slug}")]
pub async fn edit(
    state: Data<AppState>,
    user: ApiUser,
    slug: Path<String>,
    body: Json<IncidentTextEdit>,
) -> WebResult<HttpResponse> {
    user.require_manager()?;
    let incident = load(&state, &slug).await?;
    language(&incident, body.lang.as_deref())?;
    let edit = match body.parse(&incident) {
        Ok(edit) => edit,
        Err(errors) => return Ok(invalid(errors)),
    };
    let saved = state
        .store
        .edit_incident(&slug, edit, &user.actor())
        .await?;
    state.render_incident(&slug).await?;
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
    user.require_manager()?;
    let incident = load(&state, &slug).await?;
    let lang = language(&incident, body.lang.as_deref())?;
    let text = body.body.trim();
    if text.is_empty() || text.chars().count() > 20_000 {
        return Ok(invalid(FieldErrors::from([(
            "body".to_owned(),
            "an update needs between 1 and 20000 characters".to_owned(),
        )])));
    }
    let update = state
        .store
        .post_update(
            &slug,
            Localized::single(lang, text),
            Some(user.0.id),
            &user.actor(),
        )
        .await?;
    if body.notify_audience {
        crate::campaign_input::announce_update(&state, &slug, &user.actor(), Some(user.0.id))
            .await?;
    }
    state.render_incident(&slug).await?;
    Ok(HttpResponse::Created().json(update))
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
    user.require_manager()?;
    let incident = load(&state, &slug).await?;
    let lang = language(&incident, body.lang.as_deref())?;
    match parse_policies(&lang, &body.policies, &incident.policies) {
        Ok(inputs) => {
            state
                .store
                .replace_policies(&slug, inputs, &user.actor())
                .await?;
            state.render_incident(&slug).await?;
            Ok(HttpResponse::Ok().json(load(&state, &slug).await?.policies))
        }
        Err(errors) => Ok(invalid(errors)),
    }
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
    user.require_manager()?;
    let incident = load(&state, &slug).await?;
    let lang = language(&incident, body.lang.as_deref())?;
    match parse_channels(&lang, &body.channels, &incident.channels) {
        Ok(inputs) => {
            state
                .store
                .replace_channels(&slug, inputs, &user.actor())
                .await?;
            state.republish(&slug).await?;
            Ok(HttpResponse::Ok().json(load(&state, &slug).await?.channels))
        }
        Err(errors) => Ok(invalid(errors)),
    }
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
    canned: Vec<crate::canned_input::CannedText>,
}

/// Sets canned responses (templates with the case's variables) in one language.
#[put("/api/v1/incidents/{slug}/canned")]
pub async fn canned(
    state: Data<AppState>,
    user: ApiUser,
    slug: Path<String>,
    body: Json<CannedBody>,
) -> WebResult<HttpResponse> {
    user.require_manager()?;
    let incident = load(&state, &slug).await?;
    let lang = language(&incident, body.lang.as_deref())?;
    match crate::canned_input::parse_canned(&lang, &body.canned, &incident.settings.canned) {
        Ok(canned) => {
            let mut settings = incident.settings.clone();
            settings.canned = canned;
            let change = muster_store::incidents::IncidentEdit {
                settings: Some(settings),
                ..Default::default()
            };
            let saved = state
                .store
                .edit_incident(&slug, change, &user.actor())
                .await?;
            Ok(HttpResponse::Ok().json(saved.settings.canned))
        }
        Err(errors) => Ok(invalid(errors)),
    }
}

/// The telephony system (or a manager) posts a channel's wait; both ends null clear it.
#[put("/api/v1/incidents/{slug}/channels/{channel}/wait")]
pub async fn channel_wait(
    state: Data<AppState>,
    user: ApiUser,
    path: Path<(String, String)>,
    body: Json<WaitBody>,
) -> WebResult<HttpResponse> {
    user.require_manager()?;
    let (slug, channel) = path.into_inner();
    let kind = ChannelKind::parse(&channel).ok_or_else(|| {
        WebError::BadRequest(format!(
            "\"{channel}\" is not a channel: use form, email, phone, chat or social"
        ))
    })?;
    let wait = crate::incident_input::parse_wait(
        &body.low_minutes.map(|m| m.to_string()),
        &body.high_minutes.map(|m| m.to_string()),
    )
    .map_err(WebError::BadRequest)?;
    state
        .store
        .set_channel_wait(&slug, kind, wait, body.overrides, &user.actor())
        .await?;
    state.republish(&slug).await?;
    Ok(HttpResponse::Ok().json(json!({
        "channel": kind.as_str(),
        "posted_wait": wait,
        "override": body.overrides && wait.is_some(),
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
    user.require_manager()?;
    let incident = load(&state, &slug).await?;
    let typed: Vec<StaffText> = body
        .groups
        .iter()
        .map(|g| StaffText {
            agents: g.agents.to_string(),
            from: g.from.clone().unwrap_or_default(),
            until: g.until.clone().unwrap_or_default(),
        })
        .collect();
    match parse_staffing(&incident.time_zone, &typed) {
        Ok(groups) => {
            save_staffing(&state, &incident, groups.clone(), &user.actor()).await?;
            Ok(HttpResponse::Ok().json(json!({ "groups": groups })))
        }
        Err(errors) => Ok(invalid(errors)),
    }
}
