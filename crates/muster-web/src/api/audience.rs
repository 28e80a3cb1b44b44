//! `POST /api/v1/incidents/{slug}/audience`: a CSV file of affected customers (text/csv).
//! Answers with the import report: counts and every rejected line with its reason.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse, get, post};
use futures_util::StreamExt;
use serde_json::json;

use crate::api::auth::ApiUser;
use crate::error::{WebError, WebResult};
use crate::state::AppState;

/// A few hundred thousand customers fit; a runaway upload does not.
pub const MAX_CSV_BYTES: usize = 64 * 1024 * 1024;

pub async fn read_limited(mut payload: Payload, limit: usize) -> WebResult<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| WebError::BadRequest(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(WebError::BadRequest(format!(
                "the file is larger than {} MB",
                limit / 1024 / 1024
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[post("/api/v1/incidents/{slug}/audience")]
pub async fn import(
    state: Data<AppState>,
    user: ApiUser,
    slug: Path<String>,
    req: HttpRequest,
    payload: Payload,
) -> WebResult<HttpResponse> {
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("text/csv") {
        return Ok(HttpResponse::build(StatusCode::UNSUPPORTED_MEDIA_TYPE)
            .json(json!({"error": "send the file as text/csv"})));
    }
    let body = read_limited(payload, MAX_CSV_BYTES).await?;
    let text = String::from_utf8(body)
        .map_err(|_| WebError::BadRequest("the file is not UTF-8 text".into()))?;
    let report = state
        .app
        .import_audience(&user.actor(), &slug, &text, |_, _| {})
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

#[get("/api/v1/incidents/{slug}/audience")]
pub async fn counts(
    state: Data<AppState>,
    _user: ApiUser,
    slug: Path<String>,
) -> WebResult<HttpResponse> {
    let incident = state
        .store
        .incident_by_slug(&slug)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(HttpResponse::Ok().json(state.store.audience_counts(incident.id).await?))
}
