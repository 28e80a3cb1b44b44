//! `POST /api/v1/inbound/{email|social|chat|phone}`: every other channel funnels into the
//! same cases as the form. Signed (HMAC-SHA256), idempotent by the sender's external id.

use actix_web::http::header;
use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use mail_parser::{HeaderValue, MessageParser};
use muster_app::intake::Arrival;
use muster_core::case_ref::CaseRef;
use muster_core::contact_info::{BookingRef, EmailAddress, PhoneNumber};
use muster_core::inbound_text::{find_booking_ref, find_departure_date, guess_request_type};
use muster_core::incident::{ChannelKind, Incident};
use muster_core::intake::{MESSAGE_MAX, check_departure, parse_date};
use muster_core::language::Lang;
use muster_core::text_rule::{
    TextError, long_text, single_line, strip_controls, strip_to_one_line,
};
use muster_store::cases::{Intake, IntakeOutcome};
use muster_store::tokens::random_token;
use serde::Deserialize;
use serde_json::json;

use crate::api::signature;
use crate::error::{WebError, WebResult};
use crate::public::form::{contact_key, public_incident};
use crate::state::AppState;

/// What the edge understood of one inbound message.
struct Parsed {
    intake: Intake,
    /// The case this message answers, when it is a reply to one of ours.
    thread: Option<CaseRef>,
    /// Robots, bounces and mailing lists get no automatic reply.
    may_auto_reply: bool,
}

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
        intake.booking_ref =
            find_booking_ref(&state.config.booking_pattern, text).map(|b| b.as_str().to_owned());
    }
    if intake.departure_date.is_none() {
        intake.departure_date = find_departure_date(text, incident.today(state.app.now()));
    }
    if intake.trip.is_none() {
        intake.trip = muster_core::trip::find_trip(text).map(|t| t.as_str().to_owned());
    }
}

fn is_automatic(message: &mail_parser::Message<'_>) -> bool {
    let text_header = |name: &str| {
        message
            .header(name)
            .and_then(|h| match h {
                HeaderValue::Text(t) => Some(t.to_lowercase()),
                HeaderValue::Address(_) => Some(String::new()),
                _ => None,
            })
            .unwrap_or_default()
    };
    let auto_submitted = text_header("Auto-Submitted");
    let precedence = text_header("Precedence");
    let return_path = message.header_raw("Return-Path").map(str::trim);
    let sender = message
        .from()
        .and_then(|f| f.first())
        .and_then(|a| a.address())
        .unwrap_or("")
        .to_lowercase();
    (!auto_submitted.is_empty() && auto_submitted != "no")
        || matches!(precedence.as_str(), "bulk" | "junk" | "list" | "auto_reply")
        || message.header("List-Id").is_some()
        || return_path == Some("<>")
        || sender.starts_with("mailer-daemon@")
        || sender.starts_with("postmaster@")
}

fn parse_email(state: &AppState, incident: &Incident, raw: &[u8]) -> WebResult<Parsed> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| WebError::Unprocessable("the body is not an RFC 5322 message".into()))?;
    let from = message
        .from()
        .and_then(|f| f.first())
        .ok_or_else(|| WebError::Unprocessable("the message has no From address".into()))?;
    let address = from
        .address()
        .and_then(|a| EmailAddress::parse(a).ok())
        .ok_or_else(|| {
            WebError::Unprocessable("the From address is not a valid email address".into())
        })?;
    // A decoded body cannot be sent back to be fixed: what nobody can read is dropped.
    let subject = strip_to_one_line(message.subject().unwrap_or(""));
    let text = message
        .body_text(0)
        .map(|t| strip_controls(&t).into_owned())
        .unwrap_or_default();
    let body = if subject.is_empty() {
        text.clone()
    } else {
        format!("{subject}\n\n{text}")
    };
    let external_id = message
        .message_id()
        .map(strip_to_one_line)
        .unwrap_or_else(|| {
            hex::encode(sha2::Digest::finalize(
                <sha2::Sha256 as sha2::Digest>::new_with_prefix(raw),
            ))
        });
    let mut intake = base_intake(incident, ChannelKind::Email, body.clone(), external_id);
    intake.customer_name = from
        .name()
        .map(strip_to_one_line)
        .unwrap_or_else(|| address.as_str().to_owned());
    intake.email = Some(address.as_str().to_owned());
    if let Some(lang) = message
        .header_raw("Content-Language")
        .and_then(|l| Lang::parse(l).ok())
    {
        intake.language = incident.pick_language(Some(&lang)).as_str().to_owned();
    }
    read_text(state, incident, &mut intake, &body);
    Ok(Parsed {
        may_auto_reply: !is_automatic(&message),
        thread: threaded_reference(&message),
        intake,
    })
}

/// The case an email answers: our Message-IDs (`reply.{n}.MX-…@`) in In-Reply-To or
/// References, or the case's reply address (`crisis+MX-…@`) among the recipients.
fn threaded_reference(message: &mail_parser::Message<'_>) -> Option<CaseRef> {
    ["In-Reply-To", "References", "To", "Cc"]
        .iter()
        .filter_map(|name| message.header_raw(*name))
        .flat_map(|raw| raw.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')))
        .find_map(|word| {
            word.starts_with("MX-")
                .then(|| CaseRef::parse(word).ok())
                .flatten()
        })
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
) -> WebResult<Parsed> {
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
    Ok(Parsed {
        intake,
        may_auto_reply: true,
        thread: None,
    })
}

fn parse_call(state: &AppState, incident: &Incident, call: CallRecord) -> WebResult<Parsed> {
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
    Ok(Parsed {
        intake,
        may_auto_reply: true,
        thread: None,
    })
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
    signature::verify(
        &req,
        &state.config.inbound_secret,
        &body,
        state.app.now().unix_timestamp(),
    )?;
    let channel = match channel.as_str() {
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
    let incident = public_incident(&state, &slug).await?;
    let mut parsed = match channel {
        ChannelKind::Email => parse_email(&state, &incident, &body)?,
        ChannelKind::Phone => parse_call(&state, &incident, json_body(&req, &body)?)?,
        _ => parse_social(&state, &incident, channel, json_body(&req, &body)?)?,
    };
    if let Some(reference) = &parsed.thread
        && let Some(case) = state.store.case_by_reference(reference).await?
        && case.incident_id == incident.id
    {
        parsed.intake.into_case = Some(case.id);
    }
    let token = random_token();
    let lang =
        Lang::parse(&parsed.intake.language).unwrap_or_else(|_| incident.default_language.clone());
    let arrival = Arrival {
        contact_key: contact_key(parsed.intake.external_id.as_deref().unwrap_or("")),
        intake: parsed.intake,
        token: token.clone(),
        // Email is answered by email; the other channels get the reply text back to post.
        acknowledge_by_email: parsed.may_auto_reply
            && channel == ChannelKind::Email
            && parsed.thread.is_none(),
    };
    let receipt = state.app.take_in(&incident, channel, arrival).await?;
    state.metrics.count_intake(channel, receipt.outcome);
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
            .text(&lang, key)
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
    Ok(HttpResponse::build(status).json(json!({
        "reference": case.reference.as_str(),
        "outcome": receipt.outcome,
        "needs_date": needs_date,
        "case_url": case_link,
        "form_url": form_link,
        "auto_reply": parsed.may_auto_reply,
        "reply": if parsed.may_auto_reply { Some(reply.join("\n")) } else { None },
    })))
}

#[cfg(test)]
mod tests {
    use mail_parser::MessageParser;
    use proptest::prelude::*;

    use super::{is_automatic, threaded_reference};

    #[test]
    fn robots_and_threads_are_recognised() {
        let parse = |raw: &str| {
            MessageParser::default().parse(raw.as_bytes()).map(|m| {
                (
                    is_automatic(&m),
                    threaded_reference(&m).map(|r| r.to_string()),
                )
            })
        };
        assert_eq!(
            parse("From: a@b.no\r\nAuto-Submitted: auto-replied\r\n\r\nx"),
            Some((true, None))
        );
        assert_eq!(
            parse("From: a@b.no\r\nAuto-Submitted: no\r\n\r\nx"),
            Some((false, None))
        );
        assert_eq!(
            parse("From: MAILER-DAEMON@b.no\r\n\r\nx"),
            Some((true, None))
        );
        assert_eq!(
            parse("From: a@b.no\r\nIn-Reply-To: <reply.7.MX-7K3Q9P@example.com>\r\n\r\nx"),
            Some((false, Some("MX-7K3Q9P".to_owned())))
        );
        assert_eq!(
            parse("From: a@b.no\r\nTo: crisis+MX-7K3Q9P@example.com\r\n\r\nx").and_then(|p| p.1),
            Some("MX-7K3Q9P".to_owned())
        );
    }

    proptest! {
        /// Whatever arrives as an email, reading it never panics.
        #[test]
        fn any_bytes_are_read_without_panicking(raw in proptest::collection::vec(any::<u8>(), 0..2000)) {
            if let Some(message) = MessageParser::default().parse(&raw) {
                let _ = is_automatic(&message);
                let _ = threaded_reference(&message);
                let _ = message.body_text(0);
            }
        }

        #[test]
        fn headers_of_any_text_are_read_without_panicking(headers in "[ -~\r\n]{0,400}", body in "\\PC{0,200}") {
            let raw = format!("{headers}\r\n\r\n{body}");
            if let Some(message) = MessageParser::default().parse(raw.as_bytes()) {
                let _ = is_automatic(&message);
                let _ = threaded_reference(&message);
            }
        }
    }
}
