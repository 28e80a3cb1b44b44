//! The providers' own webhooks, each checked by the provider's signature scheme before
//! anything is read (`muster_channels`), then handed to the use cases: a customer's message
//! becomes a contact (`App::take_in_message`), a delivery report updates the timeline
//! (`App::record_delivery`). A forged or altered request is refused and stores nothing; the
//! same request again (a replay, a provider's retry) is one contact, and a report that would
//! move a message backwards changes nothing.
//!
//! - `POST /api/v1/channels/twilio/sms`, `POST /api/v1/channels/twilio/status`
//! - `GET|POST /api/v1/channels/whatsapp`
//! - `POST /api/v1/channels/telegram`
//!
//! Each takes `?incident={slug}`; without it, the current crisis.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::web::{Bytes, Data, Query};
use actix_web::{HttpRequest, HttpResponse};
use muster_channels::{InboundMessage, telegram, twilio, whatsapp};
use muster_core::incident::{ChannelKind, Incident};
use serde::Deserialize;

use crate::error::{WebError, WebResult};
use crate::public::form::public_incident;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct IncidentQuery {
    incident: Option<String>,
}

fn header_value<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The connector's configuration, or 403: a channel that is not set up takes nothing.
fn configured<'a, T>(connector: Option<&'a T>, name: &str) -> WebResult<&'a T> {
    connector.ok_or_else(|| {
        WebError::BadSignature(format!("{name} is not configured here (docs/channels.md)"))
    })
}

async fn incident(state: &AppState, query: &IncidentQuery) -> WebResult<Arc<Incident>> {
    let slug = match &query.incident {
        Some(slug) => slug.clone(),
        None => state.publication.crisis_slug().ok_or_else(|| {
            WebError::Unprocessable("no incident is active; name one with ?incident=".into())
        })?,
    };
    public_incident(state, &slug).await
}

async fn take_in(
    state: &AppState,
    incident: &Incident,
    channel: ChannelKind,
    message: InboundMessage,
) -> WebResult<()> {
    let receipt = state
        .app
        .take_in_message(incident, channel, message)
        .await?;
    state.metrics.count_intake(channel, receipt.outcome);
    Ok(())
}

/// The address Twilio called, as it signed it: the public base URL (Twilio sees the proxy,
/// not this server) with the path and query as they arrived.
fn twilio_url(state: &AppState, req: &HttpRequest) -> String {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    format!("{}{path}", state.base_url)
}

fn checked_twilio_form(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> WebResult<Vec<(String, String)>> {
    let account = configured(state.config.channels.twilio.as_ref(), "Twilio")?;
    let params = twilio::form_params(body);
    twilio::verify(
        &account.auth_token,
        &twilio_url(state, req),
        &params,
        header_value(req, twilio::SIGNATURE_HEADER),
    )
    .map_err(|e| WebError::BadSignature(e.to_string()))?;
    Ok(params)
}

/// An SMS to the company's number: a contact, answered with empty TwiML (the
/// acknowledgement goes out through the outbox, tracked like every reply).
pub async fn twilio_sms(
    state: Data<AppState>,
    query: Query<IncidentQuery>,
    req: HttpRequest,
    body: Bytes,
) -> WebResult<HttpResponse> {
    let params = checked_twilio_form(&state, &req, &body)?;
    let message =
        twilio::read_message(&params).map_err(|e| WebError::Unprocessable(e.to_string()))?;
    let incident = incident(&state, &query).await?;
    take_in(&state, &incident, ChannelKind::Sms, message).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/xml; charset=utf-8"))
        .body(twilio::EMPTY_TWIML))
}

/// Twilio's `StatusCallback` for a message we sent.
pub async fn twilio_status(
    state: Data<AppState>,
    req: HttpRequest,
    body: Bytes,
) -> WebResult<HttpResponse> {
    let params = checked_twilio_form(&state, &req, &body)?;
    let report =
        twilio::read_status(&params).map_err(|e| WebError::Unprocessable(e.to_string()))?;
    if let Some(report) = report {
        state.app.record_delivery(ChannelKind::Sms, &report).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
pub struct Verification {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// Meta's one-time check of the webhook address: the challenge back, as plain text.
pub async fn whatsapp_verify(
    state: Data<AppState>,
    query: Query<Verification>,
) -> WebResult<HttpResponse> {
    let cloud = configured(state.config.channels.whatsapp.as_ref(), "WhatsApp")?;
    let challenge = cloud
        .answer_verification(
            query.mode.as_deref(),
            query.verify_token.as_deref(),
            query.challenge.as_deref(),
        )
        .map_err(|e| WebError::BadSignature(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
        .body(challenge.to_owned()))
}

/// A notification: customers' messages and the statuses of ours.
pub async fn whatsapp_notification(
    state: Data<AppState>,
    query: Query<IncidentQuery>,
    req: HttpRequest,
    body: Bytes,
) -> WebResult<HttpResponse> {
    let cloud = configured(state.config.channels.whatsapp.as_ref(), "WhatsApp")?;
    cloud
        .verify(header_value(&req, whatsapp::SIGNATURE_HEADER), &body)
        .map_err(|e| WebError::BadSignature(e.to_string()))?;
    let notification =
        whatsapp::read_notification(&body).map_err(|e| WebError::Unprocessable(e.to_string()))?;
    if !notification.messages.is_empty() {
        let incident = incident(&state, &query).await?;
        for message in notification.messages {
            take_in(&state, &incident, ChannelKind::Whatsapp, message).await?;
        }
    }
    for report in &notification.statuses {
        state
            .app
            .record_delivery(ChannelKind::Whatsapp, report)
            .await?;
    }
    Ok(HttpResponse::Ok().finish())
}

/// An update from the bot's webhook.
pub async fn telegram_update(
    state: Data<AppState>,
    query: Query<IncidentQuery>,
    req: HttpRequest,
    body: Bytes,
) -> WebResult<HttpResponse> {
    let bot = configured(state.config.channels.telegram.as_ref(), "Telegram")?;
    bot.verify(header_value(&req, telegram::SECRET_HEADER))
        .map_err(|e| WebError::BadSignature(e.to_string()))?;
    let message =
        telegram::read_update(&body).map_err(|e| WebError::Unprocessable(e.to_string()))?;
    if let Some(message) = message {
        let incident = incident(&state, &query).await?;
        take_in(&state, &incident, ChannelKind::Telegram, message).await?;
    }
    Ok(HttpResponse::Ok().finish())
}
