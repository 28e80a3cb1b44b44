//! Outbound webhook endpoints over the API, for managers: list, register (the answer
//! carries the signing secret, once), delete, and each endpoint's delivery log.

use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, delete as delete_route, get, post};
use serde::Deserialize;

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
    let created = state
        .app
        .create_webhook(&user.actor(), &body.url, &body.events)
        .await?;
    Ok(HttpResponse::Created().json(created))
}

#[delete_route("/api/v1/webhooks/{id}")]
pub async fn delete(
    state: Data<AppState>,
    user: ApiUser,
    id: Path<i64>,
) -> WebResult<HttpResponse> {
    state.app.delete_webhook(&user.actor(), *id).await?;
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
