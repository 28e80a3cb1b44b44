//! Outbound webhooks, for managers: register an endpoint (its secret is shown once),
//! disable, enable or delete it, and read its delivery log.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Form, Path};
use actix_web::{HttpResponse, get, post};
use muster_app::AppError;
use muster_core::language::Lang;
use muster_core::webhook::WebhookEvent;
use std::collections::BTreeMap;

use muster_store::webhooks::{CreatedWebhook, DeliveryRecord, WebhookEndpoint};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::console::auth::{ConsoleUser, Manager};
use crate::console::page::{Base, render, render_with_status};
use crate::error::WebResult;
use crate::state::AppState;

/// Deliveries the log shows per endpoint.
const LOG_LENGTH: u64 = 100;

fn when(at: Option<OffsetDateTime>) -> String {
    at.and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
}

#[derive(Serialize)]
struct EndpointRow<'a> {
    id: i64,
    url: &'a str,
    events: String,
    active: bool,
    created_at: String,
}

fn endpoint_row(e: &WebhookEndpoint) -> EndpointRow<'_> {
    EndpointRow {
        id: e.id,
        url: &e.url,
        events: e
            .events
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        active: e.active,
        created_at: when(Some(e.created_at)),
    }
}

#[derive(Serialize)]
struct DeliveryRow<'a> {
    id: &'a str,
    event: &'a str,
    status: &'static str,
    attempts: i32,
    last_status_code: Option<u16>,
    last_error: Option<&'a str>,
    last_duration_ms: Option<i64>,
    created_at: String,
    next_attempt_at: String,
    delivered_at: String,
}

fn delivery_row(d: &DeliveryRecord) -> DeliveryRow<'_> {
    DeliveryRow {
        id: &d.id,
        event: &d.event,
        status: d.status.as_str(),
        attempts: d.attempts,
        last_status_code: d.last_status_code,
        last_error: d.last_error.as_deref(),
        last_duration_ms: d.history.last().map(|a| a.duration_ms),
        created_at: when(Some(d.created_at)),
        next_attempt_at: when(d.next_attempt_at),
        delivered_at: when(d.delivered_at),
    }
}

#[derive(Serialize)]
struct ListPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    endpoints: Vec<EndpointRow<'a>>,
    events: Vec<EventChoice>,
    url: &'a str,
    errors: &'a BTreeMap<String, String>,
    created: Option<Created<'a>>,
}

#[derive(Serialize)]
struct EventChoice {
    name: &'static str,
    checked: bool,
}

/// The endpoint just added, with the secret shown this once.
#[derive(Serialize)]
struct Created<'a> {
    id: i64,
    url: &'a str,
    secret: &'a str,
}

#[derive(Serialize)]
struct DeliveriesPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    endpoint: EndpointRow<'a>,
    deliveries: Vec<DeliveryRow<'a>>,
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
    errors: &BTreeMap<String, String>,
    created: Option<&CreatedWebhook>,
    status: StatusCode,
) -> WebResult<HttpResponse> {
    let endpoints = state.store.list_webhooks().await?;
    let events = WebhookEvent::ALL
        .iter()
        .map(|e| EventChoice {
            name: e.as_str(),
            checked: typed.events.iter().any(|t| t == e.as_str()),
        })
        .collect();
    let context = ListPage {
        base: Base::new(user, "Webhooks"),
        endpoints: endpoints.iter().map(endpoint_row).collect(),
        events,
        url: &typed.url,
        errors,
        created: created.map(|c| Created {
            id: c.endpoint.id,
            url: &c.endpoint.url,
            secret: &c.secret,
        }),
    };
    render_with_status(state, "console_webhooks", &context, status)
}

#[get("/console/webhooks")]
pub async fn list(state: Data<AppState>, Manager(user): Manager) -> WebResult<HttpResponse> {
    list_page(
        &state,
        &user,
        &Typed::default(),
        &BTreeMap::new(),
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
            let errors = state.translations.messages(&Lang::english(), &errors);
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
        &BTreeMap::new(),
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
    let deliveries = state
        .store
        .webhook_deliveries(endpoint.id, LOG_LENGTH)
        .await?;
    let context = DeliveriesPage {
        base: Base::new(&user, "Webhook deliveries"),
        endpoint: endpoint_row(&endpoint),
        deliveries: deliveries.iter().map(delivery_row).collect(),
    };
    render(&state, "console_webhook", &context)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::page::sample;
    use crate::templates::strict;

    fn endpoint() -> EndpointRow<'static> {
        EndpointRow {
            id: 7,
            url: "https://hooks.example.com/muster",
            events: "case.created".into(),
            active: true,
            created_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn the_list_template_names_only_what_the_page_has() {
        let errors = strict::errors_on(&["url", "events"]);
        let context = ListPage {
            base: sample::base("Webhooks"),
            endpoints: vec![endpoint()],
            events: vec![EventChoice {
                name: "case.created",
                checked: true,
            }],
            url: "https://hooks.example.com/muster",
            errors: &errors,
            created: Some(Created {
                id: 7,
                url: "https://hooks.example.com/muster",
                secret: "s3cret",
            }),
        };
        strict::render("console_webhooks", &context);
    }

    #[test]
    fn the_deliveries_template_names_only_what_the_page_has() {
        let context = DeliveriesPage {
            base: sample::base("Webhook deliveries"),
            endpoint: endpoint(),
            deliveries: vec![DeliveryRow {
                id: "d-1",
                event: "case.created",
                status: "failed",
                attempts: 2,
                last_status_code: Some(500),
                last_error: Some("boom"),
                last_duration_ms: Some(12),
                created_at: "2026-01-01T00:00:00Z".into(),
                next_attempt_at: "2026-01-01T00:01:00Z".into(),
                delivered_at: "2026-01-01T00:02:00Z".into(),
            }],
        };
        strict::render("console_webhook", &context);
    }
}
