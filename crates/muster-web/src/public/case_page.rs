//! The customer's own case at `/c/{reference}?t={token}`: status, priority and why, the
//! wait, the conversation, and a box to add information. A wrong or missing token is a
//! plain 404, the same as a reference that does not exist.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Form, Path, Query};
use muster_core::case::{Case, CaseStatus, Direction};
use muster_core::case_ref::CaseRef;
use muster_core::incident::{ChannelKind, Incident, local_time_label};
use muster_core::intake::MESSAGE_MAX;
use muster_core::language::Lang;
use muster_core::priority::Tier;
use muster_core::text_rule::long_text;
use muster_store::cases::{Intake, TokenScope};
use muster_store::tokens::random_token;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::format_description::well_known::Rfc3339;

use crate::error::{WebError, WebResult};
use crate::public::render::{Frame, IncidentHeader};
use crate::state::AppState;
use muster_app::acknowledgement::policy_for;
use muster_app::intake::Arrival;

#[derive(Debug, Deserialize)]
pub struct CaseQuery {
    #[serde(default)]
    t: String,
    lang: Option<String>,
    received: Option<String>,
    joined: Option<String>,
    added: Option<String>,
}

async fn open_case(
    state: &AppState,
    reference: &str,
    token: &str,
) -> WebResult<(Case, TokenScope, Incident)> {
    let reference = CaseRef::parse(reference).map_err(|_| WebError::NotFound)?;
    if token.is_empty() {
        return Err(WebError::NotFound);
    }
    let (case, scope) = state
        .store
        .case_by_token(&reference, token)
        .await?
        .ok_or(WebError::NotFound)?;
    let incident = state.store.incident_by_id(case.incident_id).await?;
    if !incident.status.is_public() {
        return Err(WebError::NotFound);
    }
    Ok((case, scope, incident))
}

/// The tier, and the sentence that explains it to the customer.
fn priority_words(
    state: &AppState,
    incident: &Incident,
    case: &Case,
    lang: &Lang,
) -> (Tier, bool, String, String) {
    let priority = incident
        .settings
        .windows
        .priority(case.departure_date, incident.today(state.app.now()));
    let t = |key: &str| state.translations.text(lang, key);
    let label = t(&format!("priority_{}", priority.tier.as_str()));
    let days = |n: i64| muster_core::date_format::digits(lang.as_str(), &n.to_string());
    let reason = match priority.tier {
        Tier::Critical => t("prioritised_because")
            .replace("{days}", &days(incident.settings.windows.critical_days)),
        Tier::High => {
            t("prioritised_because").replace("{days}", &days(incident.settings.windows.high_days))
        }
        Tier::Normal => t("not_prioritised"),
    };
    (priority.tier, priority.needs_date, label, reason)
}

#[derive(Serialize)]
struct CasePage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    incident: IncidentHeader<'a>,
    case: CaseFacts,
    /// Whether the link may read the conversation and add to it (not only see the status).
    full: bool,
    just_received: bool,
    joined: bool,
    notice: Option<String>,
    conversation: Vec<Message>,
    token: &'a str,
    typed: &'a str,
    add_error: Option<String>,
    idempotency_key: String,
}

#[derive(Serialize)]
struct CaseFacts {
    reference: String,
    status_label: String,
    tier: &'static str,
    priority_label: String,
    priority_reason: String,
    needs_date: bool,
    complete_url: String,
    wait_text: Option<String>,
    standard: Option<String>,
    url: String,
    /// Resolved: the page says so instead of promising a wait.
    resolved: bool,
    resolved_on: Option<String>,
    waiting_on_customer: bool,
    /// What the customer told us, for the link that may see it.
    submitted: Vec<Fact>,
}

#[derive(Serialize)]
struct Fact {
    label: String,
    value: String,
    /// Booking references and addresses read left to right on a right-to-left page.
    ltr: bool,
}

#[derive(Serialize)]
struct Message {
    direction: &'static str,
    who: String,
    at: String,
    at_iso: String,
    body: String,
}

struct PageState<'a> {
    query: &'a CaseQuery,
    token: &'a str,
    typed: &'a str,
    add_error: Option<String>,
}

async fn render_case(
    state: &AppState,
    case: &Case,
    scope: TokenScope,
    incident: &Incident,
    page: PageState<'_>,
    status: StatusCode,
) -> WebResult<HttpResponse> {
    let lang = incident.pick_language(
        page.query
            .lang
            .as_deref()
            .or(Some(case.language.as_str()))
            .and_then(|l| Lang::parse(l).ok())
            .as_ref(),
    );
    let t = |key: &str| state.translations.text(&lang, key);
    let (tier, needs_date, priority_label, priority_reason) =
        priority_words(state, incident, case, &lang);
    let standard = policy_for(incident, &case.request_type)
        .and_then(|kind| incident.policy(kind))
        .map(|p| p.standard.get(&lang, &incident.default_language).to_owned());
    let full = scope == TokenScope::Full;
    let conversation = if full {
        state
            .store
            .customer_conversation(case.id)
            .await?
            .into_iter()
            .map(|c| Message {
                direction: c.direction.as_str(),
                who: if c.direction == Direction::Inbound {
                    t("you")
                } else {
                    t("us")
                },
                at: muster_core::date_format::digits(
                    lang.as_str(),
                    &local_time_label(&incident.time_zone, c.created_at),
                ),
                at_iso: c.created_at.format(&Rfc3339).unwrap_or_default(),
                body: c.body,
            })
            .collect()
    } else {
        Vec::new()
    };
    let request_label = incident
        .settings
        .request_types
        .iter()
        .find(|rt| rt.key == case.request_type)
        .map(|rt| {
            let translated = t(&format!("request_{}", rt.key));
            if translated.starts_with("request_") {
                rt.label.get(&lang, &incident.default_language).to_owned()
            } else {
                translated
            }
        })
        .unwrap_or_else(|| case.request_type.clone());
    let submitted = if full {
        let date = |d: time::Date| muster_core::date_format::format_date(lang.as_str(), d);
        [
            ("field_name", Some(case.customer_name.clone()), false),
            ("field_email", case.email.clone(), true),
            ("field_phone", case.phone.clone(), true),
            ("field_booking_ref", case.booking_ref.clone(), true),
            ("field_departure_date", case.departure_date.map(date), false),
            ("field_request_type", Some(request_label), false),
        ]
        .into_iter()
        .filter_map(|(key, value, ltr)| {
            value.filter(|v| !v.trim().is_empty()).map(|value| Fact {
                label: t(key),
                value,
                ltr,
            })
        })
        .collect()
    } else {
        Vec::new()
    };
    let resolved = case.status == CaseStatus::Resolved;
    let just_received = page.query.received.is_some();
    let title = if just_received {
        t("received_title")
    } else {
        t("case_title")
    };
    let context = CasePage {
        frame: Frame::new(
            &state.translations,
            &lang,
            format!("{title} · {}", case.reference),
        ),
        incident: IncidentHeader::new(incident, &lang),
        case: CaseFacts {
            reference: case.reference.as_str().to_owned(),
            status_label: t(&format!("case_status_{}", case.status.as_str())),
            tier: tier.as_str(),
            priority_label,
            priority_reason,
            needs_date,
            complete_url: format!(
                "/i/{}/form?case={}&t={}&lang={lang}",
                incident.slug, case.reference, page.token
            ),
            wait_text: state.publication.wait_text(
                incident,
                case.channel,
                case.departure_date,
                &case.request_type,
                &lang,
            ),
            standard,
            url: format!("/c/{}?lang={lang}", case.reference),
            resolved,
            resolved_on: case.resolved_at.filter(|_| resolved).map(|at| {
                muster_core::date_format::digits(
                    lang.as_str(),
                    &local_time_label(&incident.time_zone, at),
                )
            }),
            waiting_on_customer: case.status == CaseStatus::WaitingOnCustomer,
            submitted,
        },
        full,
        just_received,
        joined: page.query.joined.is_some(),
        notice: page.query.added.as_ref().map(|_| t("add_sent")),
        conversation,
        token: page.token,
        typed: page.typed,
        add_error: page.add_error,
        idempotency_key: random_token(),
    };
    let html = state.templates.render("case", &context)?;
    Ok(HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        // The page holds personal data and its URL a token: never cache or leak it.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .body(html))
}

pub async fn show(
    state: Data<AppState>,
    reference: Path<String>,
    query: Query<CaseQuery>,
) -> WebResult<HttpResponse> {
    let (case, scope, incident) = open_case(&state, &reference, &query.t).await?;
    if case.reference.as_str() != reference.as_str() {
        // A link to a case that was merged into this one: its address from now on.
        let mut location = url::form_urlencoded::Serializer::new(String::new());
        location.append_pair("t", &query.t);
        if let Some(lang) = &query.lang {
            location.append_pair("lang", lang);
        }
        return Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/c/{}?{}", case.reference, location.finish()),
            ))
            .finish());
    }
    let page = PageState {
        query: &query,
        token: &query.t,
        typed: "",
        add_error: None,
    };
    render_case(&state, &case, scope, &incident, page, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct Addition {
    #[serde(default)]
    t: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    idempotency_key: String,
}

pub async fn add(
    state: Data<AppState>,
    reference: Path<String>,
    query: Query<CaseQuery>,
    form: Form<Addition>,
) -> WebResult<HttpResponse> {
    let (case, scope, incident) = open_case(&state, &reference, &form.t).await?;
    if scope != TokenScope::Full {
        return Err(WebError::NotFound);
    }
    let message = form.message.trim();
    let problem = if message.is_empty() {
        Some("err_required")
    } else if message.chars().count() > MESSAGE_MAX {
        Some("err_too_long")
    } else if long_text(message).is_err() {
        Some("err_control")
    } else {
        None
    };
    if let Some(key) = problem {
        let lang =
            Lang::parse(&case.language).unwrap_or_else(|_| incident.default_language.clone());
        let text = state
            .translations
            .text(&lang, key)
            .replace("{max}", &MESSAGE_MAX.to_string());
        let page = PageState {
            query: &query,
            token: &form.t,
            typed: &form.message,
            add_error: Some(text),
        };
        return render_case(
            &state,
            &case,
            scope,
            &incident,
            page,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let key = if form.idempotency_key.is_empty() {
        random_token()
    } else {
        form.idempotency_key.clone()
    };
    let intake = Intake {
        incident_id: incident.id,
        channel: ChannelKind::Form,
        customer_name: case.customer_name.clone(),
        email: case.email.clone(),
        phone: None,
        booking_ref: None,
        handle: None,
        departure_date: None,
        trip: None,
        request_type: case.request_type.clone(),
        team: case.team.clone(),
        language: case.language.clone(),
        body: message.to_owned(),
        external_id: Some(format!("case-page:{key}")),
        into_case: Some(case.id),
        meta: json!({}),
    };
    let arrival = Arrival {
        intake,
        token: form.t.clone(),
        contact_key: String::new(),
        acknowledge_by_email: false,
    };
    state
        .app
        .take_in(&incident, ChannelKind::Form, arrival)
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/c/{}?t={}&added=1", case.reference, form.t),
        ))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::strict;

    #[test]
    fn the_template_names_only_what_the_page_has() {
        let lang = Lang::english();
        let text = |s: &str| s.to_owned();
        let context = CasePage {
            frame: Frame::new(muster_app::i18n::shared(), &lang, text("Your case")),
            incident: IncidentHeader {
                slug: "storm",
                title: "Storm",
                page_url: text("/i/storm?lang=en"),
            },
            case: CaseFacts {
                reference: text("MU-ABC-123"),
                status_label: text("Open"),
                tier: "high",
                priority_label: text("High priority"),
                priority_reason: text("You travel soon."),
                needs_date: true,
                complete_url: text("/i/storm/form?case=MU-ABC-123&t=tok&lang=en"),
                wait_text: Some(text("about an hour")),
                standard: Some(text("5 days")),
                url: text("/c/MU-ABC-123?lang=en"),
                resolved: true,
                resolved_on: Some(text("2026-01-02 10:00 CET")),
                waiting_on_customer: true,
                submitted: vec![Fact {
                    label: text("Booking reference"),
                    value: text("AB123"),
                    ltr: true,
                }],
            },
            full: true,
            just_received: true,
            joined: true,
            notice: Some(text("Sent.")),
            conversation: vec![Message {
                direction: "inbound",
                who: text("You"),
                at: text("1 Jan 10:00"),
                at_iso: text("2026-01-01T10:00:00Z"),
                body: text("Help"),
            }],
            token: "tok",
            typed: "more",
            add_error: Some(text("wrong")),
            idempotency_key: text("key"),
        };
        strict::render("case", &context);
    }
}
