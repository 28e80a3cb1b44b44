//! Outbound webhook endpoints over the API, for managers: list, register (the answer
//! carries the signing secret, once), delete, and each endpoint's delivery log.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, delete as delete_route, get, post};
use muster_core::webhook::{WebhookUrl, parse_events};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::api::auth::ApiUser;
use crate::error::WebResult;
use crate::state::AppState;

const LOG_LENGTH: u64 = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    url: String,
    events: Vec<String>,
}

#[get("/api/v1/webhooks")]
pub async fn list(state: Data<AppState>, user: ApiUser) -> WebResult<HttpResponse> {
    user.require_manager()?;
    Ok(HttpResponse::Ok().json(state.store.list_webhooks().await?))
}

#[post("/api/v1/webhooks")]
pub async fn create(
    state: Data<AppState>,
    user: ApiUser,
    body: Json<NewWebhook>,
) -> WebResult<HttpResponse> {
    user.require_manager()?;
    let url = WebhookUrl::parse(&body.url);
    let events = parse_events(body.events.iter().map(String::as_str));
    let (url, events) = match (url, events) {
        (Ok(url), Ok(events)) => (url, events),
        (url, events) => {
            let mut fields = Map::new();
            if let Err(e) = url {
                fields.insert("url".into(), Value::from(e.to_string()));
            }
            if let Err(e) = events {
                fields.insert("events".into(), Value::from(e.to_string()));
            }
            return Ok(
                HttpResponse::build(StatusCode::UNPROCESSABLE_ENTITY).json(json!({
                    "error": "some fields are not valid",
                    "fields": fields,
                })),
            );
        }
    };
    let created = state
        .store
        .create_webhook(&url, &events, &user.actor())
        .await?;
    Ok(HttpResponse::Created().json(created))
}

#[delete_route("/api/v1/webhooks/{id}")]
pub async fn delete(
    state: Data<AppState>,
    user: ApiUser,
    id: Path<i64>,
) -> WebResult<HttpResponse> {
    user.require_manager()?;
    state.store.delete_webhook(*id, &user.actor()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[get("/api/v1/webhooks/{id}/deliveries")]
pub async fn deliveries(
    state: Data<AppState>,
    user: ApiUser,
    id: Path<i64>,
) -> WebResult<HttpResponse> {
    user.require_manager()?;
    let endpoint = state.store.webhook(*id).await?;
    Ok(HttpResponse::Ok().json(
        state
            .store
            .webhook_deliveries(endpoint.id, LOG_LENGTH)
            .await?,
    ))
}
