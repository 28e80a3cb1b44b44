//! The audit log, for managers.

use actix_web::web::Data;
use actix_web::{HttpResponse, get};
use serde_json::json;
use time::format_description::well_known::Rfc3339;

use crate::console::auth::Manager;
use crate::console::page::{base_context, extend, render};
use crate::error::WebResult;
use crate::state::AppState;

#[get("/console/audit")]
pub async fn audit(state: Data<AppState>, Manager(user): Manager) -> WebResult<HttpResponse> {
    let entries: Vec<_> = state
        .store
        .recent_audit(500)
        .await?
        .into_iter()
        .map(|e| {
            json!({
                "at": e.at.format(&Rfc3339).unwrap_or_default(),
                "actor": e.actor,
                "action": e.action,
                "subject": e.subject,
                "details": e.details.to_string(),
            })
        })
        .collect();
    render(
        &state,
        "console_audit",
        &extend(
            base_context(&user, "Audit log"),
            json!({ "entries": entries }),
        ),
    )
}
