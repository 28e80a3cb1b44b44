//! Taking the next case over the API, for agent tools and the load benchmark.

use actix_web::web::{Data, Query};
use actix_web::{HttpResponse, post};
use serde::Deserialize;
use serde_json::json;

use crate::api::auth::ApiUser;
use crate::console::queue::working_incident;
use crate::error::WebResult;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    incident: Option<String>,
}

/// `POST /api/v1/queue/next`: the most urgent unclaimed case of the caller's teams (all
/// teams for a manager), claimed for them; `204` when none waits.
#[post("/api/v1/queue/next")]
pub async fn next(
    state: Data<AppState>,
    user: ApiUser,
    query: Query<NextQuery>,
) -> WebResult<HttpResponse> {
    let incident = working_incident(&state, query.incident.as_deref()).await?;
    match state.app.take_next(&user.actor(), &incident).await? {
        Some(case) => {
            let priority = incident
                .settings
                .windows
                .priority(case.departure_date, incident.today(state.app.now()));
            Ok(HttpResponse::Ok().json(
                json!({ "case": case, "tier": priority.tier, "needs_date": priority.needs_date }),
            ))
        }
        None => Ok(HttpResponse::NoContent().finish()),
    }
}
