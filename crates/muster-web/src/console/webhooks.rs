//! Outbound webhooks, for managers: register an endpoint (its secret is shown once),
//! disable, enable or delete it, and read its delivery log.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Form, Path};
use actix_web::{HttpResponse, get, post};
use muster_app::AppError;
use muster_core::language::Lang;
use muster_core::webhook::WebhookEvent;
use muster_store::webhooks::{CreatedWebhook, DeliveryRecord, WebhookEndpoint};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::console::auth::{ConsoleUser, Manager};
use crate::console::page::{base_context, extend, render, render_with_status};
use crate::error::WebResult;
use crate::state::AppState;

/// Deliveries the log shows per endpoint.
const LOG_LENGTH: u64 = 100;

fn when(at: Option<OffsetDateTime>) -> String {
    at.and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
}

fn endpoint_row(e: &WebhookEndpoint) -> Value {
    json!({
        "id": e.id,
        "url": e.url,
        "events": e.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "),
        "active": e.active,
        "created_at": when(Some(e.created_at)),
    })
}

fn delivery_row(d: &DeliveryRecord) -> Value {
    let last_ms = d.history.last().map(|a| a.duration_ms);
    json!({
        "id": d.id,
        "event": d.event,
        "status": d.status.as_str(),
        "attempts": d.attempts,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "last_duration_ms": last_ms,
        "created_at": when(Some(d.created_at)),
        "next_attempt_at": when(d.next_attempt_at),
        "delivered_at": when(d.delivered_at),
    })
}

/// What the manager typed into the form, kept when it comes back with errors.
#[derive(Debug, Default)]
struct Typed {
    url: String,
    events: Vec<String>,
}

async fn list_page(
    state: &AppState,
    user: &ConsoleUser,
    typed: &Typed,
    errors: &Map<String, Value>,
    created: Option<&CreatedWebhook>,
    status: StatusCode,
) -> WebResult<HttpResponse> {
    let endpoints: Vec<Value> = state
        .store
        .list_webhooks()
        .await?
        .iter()
        .map(endpoint_row)
        .collect();
    let events: Vec<Value> = WebhookEvent::ALL
        .iter()
        .map(|e| {
            json!({
                "name": e.as_str(),
                "checked": typed.events.iter().any(|t| t == e.as_str()),
            })
        })
        .collect();
    let context = extend(
        base_context(user, "Webhooks"),
        json!({
            "endpoints": endpoints,
            "events": events,
            "url": typed.url,
            "errors": errors,
            "created": created.map(|c| json!({ "id": c.endpoint.id, "url": c.endpoint.url, "secret": c.secret })),
        }),
    );
    render_with_status(state, "console_webhooks", &context, status)
}

#[get("/console/webhooks")]
pub async fn list(state: Data<AppState>, Manager(user): Manager) -> WebResult<HttpResponse> {
    list_page(
        &state,
        &user,
        &Typed::default(),
        &Map::new(),
        None,
        StatusCode::OK,
    )
    .await
}

type Fields = Form<Vec<(String, String)>>;

fn csrf_of(form: &[(String, String)]) -> &str {
    form.iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

#[post("/console/webhooks")]
pub async fn create(
    state: Data<AppState>,
    Manager(user): Manager,
    form: Fields,
) -> WebResult<HttpResponse> {
    user.check_csrf(csrf_of(&form))?;
    let typed = Typed {
        url: form
            .iter()
            .find(|(k, _)| k == "url")
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default(),
        events: form
            .iter()
            .filter(|(k, _)| k == "events")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    let created = match state
        .app
        .create_webhook(&user.actor(), &typed.url, &typed.events)
        .await
    {
        Ok(created) => created,
        Err(AppError::Invalid(errors)) => {
            let errors: Map<String, Value> = state
                .translations
                .messages(&Lang::english(), &errors)
                .into_iter()
                .map(|(k, v)| (k, Value::from(v)))
                .collect();
            return list_page(
                &state,
                &user,
                &typed,
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(other) => return Err(other.into()),
    };
    // Rendered, not redirected: the secret must not travel in a URL or be shown twice.
    list_page(
        &state,
        &user,
        &Typed::default(),
        &Map::new(),
        Some(&created),
        StatusCode::CREATED,
    )
    .await
}

#[get("/console/webhooks/{id}")]
pub async fn show(
    state: Data<AppState>,
    Manager(user): Manager,
    id: Path<i64>,
) -> WebResult<HttpResponse> {
    let endpoint = state.store.webhook(*id).await?;
    let deliveries: Vec<Value> = state
        .store
        .webhook_deliveries(endpoint.id, LOG_LENGTH)
        .await?
        .iter()
        .map(delivery_row)
        .collect();
    render(
        &state,
        "console_webhook",
        &extend(
            base_context(&user, "Webhook deliveries"),
            json!({ "endpoint": endpoint_row(&endpoint), "deliveries": deliveries }),
        ),
    )
}

fn back_to_list() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console/webhooks"))
        .finish()
}

#[post("/console/webhooks/{id}/disable")]
pub async fn disable(
    state: Data<AppState>,
    Manager(user): Manager,
    id: Path<i64>,
    form: Fields,
) -> WebResult<HttpResponse> {
    user.check_csrf(csrf_of(&form))?;
    state
        .app
        .set_webhook_active(&user.actor(), *id, false)
        .await?;
    Ok(back_to_list())
}

#[post("/console/webhooks/{id}/enable")]
pub async fn enable(
    state: Data<AppState>,
    Manager(user): Manager,
    id: Path<i64>,
    form: Fields,
) -> WebResult<HttpResponse> {
    user.check_csrf(csrf_of(&form))?;
    state
        .app
        .set_webhook_active(&user.actor(), *id, true)
        .await?;
    Ok(back_to_list())
}

#[post("/console/webhooks/{id}/delete")]
pub async fn delete(
    state: Data<AppState>,
    Manager(user): Manager,
    id: Path<i64>,
    form: Fields,
) -> WebResult<HttpResponse> {
    user.check_csrf(csrf_of(&form))?;
    state.app.delete_webhook(&user.actor(), *id).await?;
    Ok(back_to_list())
}
