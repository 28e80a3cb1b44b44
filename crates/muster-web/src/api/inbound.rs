//! `POST /api/v1/inbound/{email|social|chat|phone}`: every other channel funnels into the
//! same cases as the form. Signed (HMAC-SHA256), idempotent by the sender's external id.

use actix_web::http::header;
use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use muster_app::inbound_email::{EmailOutcome, TakenIn};
use muster_app::intake::{Arrival, contact_key};
use muster_core::contact_info::{BookingRef, EmailAddress, PhoneNumber};
use muster_core::inbound_text::{find_booking_ref, find_departure_date, guess_request_type};
use muster_core::incident::{ChannelKind, Incident};
use muster_core::intake::{MESSAGE_MAX, check_departure, parse_date};
use muster_core::language::Lang;
use muster_core::text_rule::{TextError, long_text, single_line};
use muster_store::cases::{Intake, IntakeOutcome};
use muster_store::tokens::random_token;
use serde::Deserialize;
use serde_json::json;

use crate::api::signature;
use crate::error::{WebError, WebResult};
use crate::public::form::public_incident;
use crate::state::AppState;

fn clip(text: &str) -> String {
    text.chars().take(MESSAGE_MAX).collect()
}

fn base_intake(
    incident: &Incident,
    channel: ChannelKind,
    body: String,
    external_id: String,
) -> Intake {
    Intake {
        incident_id: incident.id,
        channel,
        customer_name: String::new(),
        email: None,
        phone: None,
        booking_ref: None,
        handle: None,
        departure_date: None,
        trip: None,
        request_type: guess_request_type(&body).to_owned(),
        team: None,
        language: incident.default_language.as_str().to_owned(),
        body: clip(&body),
        external_id: Some(format!("{}:{external_id}", channel.as_str())),
        into_case: None,
        meta: json!({}),
    }
}

/// Fills what free text can tell: booking reference, departure date, request type.
fn read_text(state: &AppState, incident: &Incident, intake: &mut Intake, text: &str) {
    if intake.booking_ref.is_none() {
        intake.booking_ref = find_booking_ref(&state.app.settings.booking_pattern, text)
            .map(|b| b.as_str().to_owned());
    }
    if intake.departure_date.is_none() {
        intake.departure_date = find_departure_date(text, incident.today(state.app.now()));
    }
    if intake.trip.is_none() {
        intake.trip = muster_core::trip::find_trip(text).map(|t| t.as_str().to_owned());
    }
}

/// A post or message on a social network or in a chat.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SocialMessage {
    network: String,
    handle: String,
    text: String,
    external_id: String,
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    language: Option<String>,
}

/// A call, logged by the telephony system or an agent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallRecord {
    phone: String,
    external_id: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    booking_ref: Option<String>,
    #[serde(default)]
    departure_date: Option<String>,
    #[serde(default)]
    request_type: Option<String>,
    #[serde(default)]
    language: Option<String>,
}

fn json_body<T: serde::de::DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> WebResult<T> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/json") {
        return Err(WebError::UnsupportedMediaType(
            "send application/json".into(),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| WebError::Unprocessable(format!("the JSON body is not valid: {e}")))
}

/// The one text rule (`muster_core::text_rule`) on what an integration sent: refused with
/// the field named, so that the sender can fix it (and never a database error).
fn check_text(field: &str, value: &str, rule: fn(&str) -> Result<(), TextError>) -> WebResult<()> {
    rule(value).map_err(|e| WebError::Unprocessable(format!("{field} {e}")))
}

fn required(value: &str, field: &str) -> WebResult<()> {
    if value.trim().is_empty() || value.len() > 500 {
        Err(WebError::Unprocessable(format!(
            "{field} is required (at most 500 characters)"
        )))
    } else {
        Ok(())
    }
}

fn parse_social(
    state: &AppState,
    incident: &Incident,
    channel: ChannelKind,
    message: SocialMessage,
) -> WebResult<Intake> {
    required(&message.network, "network")?;
    required(&message.handle, "handle")?;
    required(&message.external_id, "external_id")?;
    if message.text.trim().is_empty() {
        return Err(WebError::Unprocessable("text is required".into()));
    }
    check_text("network", &message.network, single_line)?;
    check_text("handle", &message.handle, single_line)?;
    check_text("external_id", &message.external_id, single_line)?;
    check_text("link", message.link.as_deref().unwrap_or(""), single_line)?;
    check_text("name", message.name.as_deref().unwrap_or(""), single_line)?;
    check_text("text", &message.text, long_text)?;
    let handle = format!(
        "{}:{}",
        message.network.trim().to_lowercase(),
        message.handle.trim().trim_start_matches('@').to_lowercase()
    );
    let mut intake = base_intake(
        incident,
        channel,
        message.text.clone(),
        message.external_id.clone(),
    );
    intake.customer_name = message
        .name
        .clone()
        .unwrap_or_else(|| format!("@{}", message.handle.trim_start_matches('@')));
    intake.handle = Some(handle);
    intake.email = message
        .email
        .as_deref()
        .and_then(|e| EmailAddress::parse(e).ok())
        .map(|e| e.as_str().to_owned());
    if let Some(lang) = message
        .language
        .as_deref()
        .and_then(|l| Lang::parse(l).ok())
    {
        intake.language = incident.pick_language(Some(&lang)).as_str().to_owned();
    }
    intake.meta = json!({ "network": message.network, "link": message.link });
    read_text(state, incident, &mut intake, &message.text);
    Ok(intake)
}

fn parse_call(state: &AppState, incident: &Incident, call: CallRecord) -> WebResult<Intake> {
    required(&call.external_id, "external_id")?;
    check_text("external_id", &call.external_id, single_line)?;
    check_text("name", call.name.as_deref().unwrap_or(""), single_line)?;
    check_text("notes", &call.notes, long_text)?;
    let phone = PhoneNumber::parse(&call.phone)
        .map_err(|e| WebError::Unprocessable(format!("phone: {e}")))?;
    let notes = if call.notes.trim().is_empty() {
        "(phone call)".to_owned()
    } else {
        call.notes.clone()
    };
    let mut intake = base_intake(
        incident,
        ChannelKind::Phone,
        notes.clone(),
        call.external_id.clone(),
    );
    intake.customer_name = call
        .name
        .clone()
        .unwrap_or_else(|| phone.as_str().to_owned());
    intake.phone = Some(phone.as_str().to_owned());
    intake.email = call
        .email
        .as_deref()
        .and_then(|e| EmailAddress::parse(e).ok())
        .map(|e| e.as_str().to_owned());
    if let Some(raw) = call.booking_ref.as_deref().filter(|b| !b.trim().is_empty()) {
        let booking = BookingRef::parse(raw)
            .map_err(|e| WebError::Unprocessable(format!("booking_ref: {e}")))?;
        intake.booking_ref = Some(booking.as_str().to_owned());
    }
    if let Some(raw) = call
        .departure_date
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        let date = parse_date(raw)
            .ok_or_else(|| WebError::Unprocessable("departure_date must be YYYY-MM-DD".into()))?;
        let today = incident.today(state.app.now());
        let date = check_departure(date, today).map_err(|problem| {
            let message = state.translations.problem(&Lang::english(), &problem);
            WebError::Unprocessable(format!("departure_date: {message}"))
        })?;
        intake.departure_date = Some(date);
    }
    if let Some(kind) = call.request_type.as_deref() {
        if !incident
            .settings
            .request_types
            .iter()
            .any(|t| t.key == kind)
        {
            return Err(WebError::Unprocessable(format!(
                "request_type \"{kind}\" is not one of this incident's"
            )));
        }
        intake.request_type = kind.to_owned();
    }
    if let Some(lang) = call.language.as_deref().and_then(|l| Lang::parse(l).ok()) {
        intake.language = incident.pick_language(Some(&lang)).as_str().to_owned();
    }
    read_text(state, incident, &mut intake, &notes);
    Ok(intake)
}

/// Channel and incident come from the path: `/api/v1/inbound/{channel}?incident={slug}`,
/// or the current crisis when no incident is named.
#[derive(Debug, Deserialize)]
pub struct InboundQuery {
    incident: Option<String>,
}

pub async fn receive(
    state: Data<AppState>,
    channel: Path<String>,
    query: actix_web::web::Query<InboundQuery>,
    req: HttpRequest,
    body: Bytes,
) -> WebResult<HttpResponse> {
    let signature = signature::admit(&state, &req, &body).await?;
    let answer = handle(&state, &channel, &query, &req, &body).await;
    if answer.is_err() {
        // Nothing was taken: the very same request may be sent again. When even this fails,
        // the sender's retry signed anew (as documented) still goes through.
        if let Err(err) = state.app.release_inbound_signature(&signature).await {
            tracing::warn!(error = %err, "an unhandled inbound signature stays recorded");
        }
    }
    answer
}

async fn handle(
    state: &AppState,
    channel: &str,
    query: &InboundQuery,
    req: &HttpRequest,
    body: &[u8],
) -> WebResult<HttpResponse> {
    let channel = match channel {
        "email" => ChannelKind::Email,
        "social" => ChannelKind::Social,
        "chat" => ChannelKind::Chat,
        "phone" => ChannelKind::Phone,
        other => {
            return Err(WebError::BadRequest(format!(
                "\"{other}\" is not an inbound channel: use email, social, chat or phone"
            )));
        }
    };
    let slug = match &query.incident {
        Some(slug) => slug.clone(),
        None => state.publication.crisis_slug().ok_or_else(|| {
            WebError::Unprocessable("no incident is active; name one with ?incident=".into())
        })?,
    };
    let incident = public_incident(state, &slug).await?;
    let taken = match channel {
        ChannelKind::Email => match state.app.take_in_email(&incident, body).await? {
            EmailOutcome::Taken(taken) => *taken,
            EmailOutcome::Report(report, outcome) => {
                return Ok(HttpResponse::Ok().json(json!({
                    "outcome": "report",
                    "kind": report.kind,
                    "recorded": outcome.recorded,
                    "ours": outcome.ours,
                    "suppressed": outcome.suppressed.len(),
                })));
            }
        },
        ChannelKind::Phone => {
            let intake = parse_call(state, &incident, json_body(req, body)?)?;
            take_in(state, &incident, channel, intake).await?
        }
        _ => {
            let intake = parse_social(state, &incident, channel, json_body(req, body)?)?;
            take_in(state, &incident, channel, intake).await?
        }
    };
    state.metrics.count_intake(channel, taken.receipt.outcome);
    Ok(answer(state, &incident, &taken))
}

/// A post, chat message or call: its reply text goes back to the integration to post.
async fn take_in(
    state: &AppState,
    incident: &Incident,
    channel: ChannelKind,
    intake: Intake,
) -> WebResult<TakenIn> {
    let token = random_token();
    let lang = Lang::parse(&intake.language).unwrap_or_else(|_| incident.default_language.clone());
    let arrival = Arrival {
        contact_key: contact_key(intake.external_id.as_deref().unwrap_or("")),
        intake,
        token: token.clone(),
        acknowledge_by_email: false,
    };
    let receipt = state.app.take_in(incident, channel, arrival).await?;
    Ok(TakenIn {
        receipt,
        token,
        lang,
        may_auto_reply: true,
    })
}

/// The JSON answer: the case, its links, and the reply to send back where no email went.
fn answer(state: &AppState, incident: &Incident, taken: &TakenIn) -> HttpResponse {
    let TakenIn {
        receipt,
        token,
        lang,
        may_auto_reply,
    } = taken;
    let case = &receipt.case;
    let base = &state.base_url;
    let needs_date = case.departure_date.is_none();
    let form_link = needs_date.then(|| {
        format!(
            "{base}/i/{}/form?case={}&t={token}&lang={lang}",
            incident.slug, case.reference
        )
    });
    let case_link = receipt
        .full_access
        .then(|| format!("{base}/c/{}?t={token}", case.reference));
    let t = |key: &str| {
        state
            .translations
            .text(lang, key)
            .replace("{reference}", case.reference.as_str())
    };
    let mut reply = vec![if receipt.outcome == IntakeOutcome::Joined {
        t("ack_joined")
    } else {
        t("ack_received")
    }];
    if let Some(link) = &form_link {
        reply.push(format!("{} {link}", t("ack_needs_date")));
    }
    let status = if receipt.outcome == IntakeOutcome::Created {
        actix_web::http::StatusCode::CREATED
    } else {
        actix_web::http::StatusCode::OK
    };
    HttpResponse::build(status).json(json!({
        "reference": case.reference.as_str(),
        "outcome": receipt.outcome,
        "needs_date": needs_date,
        "case_url": case_link,
        "form_url": form_link,
        "auto_reply": may_auto_reply,
        "reply": if *may_auto_reply { Some(reply.join("\n")) } else { None },
    }))
}
