//! The intake form: one form for every request, keyed on the departure date. Nothing a
//! customer typed is lost: a bad field comes back with its message and every value kept,
//! and the case is committed before the confirmation is shown.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Form, Path, Query};
use actix_web::{HttpRequest, HttpResponse};
use muster_app::intake::{Arrival, contact_key};
use muster_core::case_ref::CaseRef;
use muster_core::form_fields::FieldRule;
use muster_core::incident::{ChannelKind, Incident};
use muster_core::intake::{IntakeErrors, IntakeForm, validate};
use muster_core::language::Lang;
use muster_store::cases::{Intake, TokenScope};
use muster_store::tokens::random_token;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::client_address::client_address;
use crate::error::{WebError, WebResult};
use crate::public::render::{Frame, IncidentHeader};
use crate::state::AppState;
use muster_app::i18n::endonym;

/// The access token of a form submission, derived from its idempotency key so that a
/// resubmission (a double click, a reload) lands on the same confirmation.
pub fn token_for(idempotency_key: &str) -> String {
    hex::encode(Sha256::digest(
        format!("muster-case-access:{idempotency_key}").as_bytes(),
    ))
}

fn valid_key(raw: &str) -> bool {
    raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A public incident: from memory when synced, else from the database.
pub async fn public_incident(state: &AppState, slug: &str) -> WebResult<Arc<Incident>> {
    if let Some(incident) = state.publication.cached_incident(slug) {
        return Ok(incident);
    }
    match state.store.incident_by_slug(slug).await? {
        Some(incident) if incident.status.is_public() => Ok(Arc::new(incident)),
        _ => Err(WebError::NotFound),
    }
}

/// The intake form's page: the frame, what was typed and what is wrong with it.
#[derive(Serialize)]
struct FormPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    incident: IncidentHeader<'a>,
    form: &'a IntakeForm,
    /// Field → its problem in the reader's words.
    errors: BTreeMap<&'static str, String>,
    /// The same, in field order with each field's label, for the summary at the top.
    error_list: Vec<ErrorLine>,
    request_types: Vec<Choice<'a>>,
    /// The booking reference and departure date as this incident asks for them.
    booking_ref: AskedField,
    departure_date: AskedField,
    /// The answer languages offered (not the frame's `languages`, its alternate links).
    language_choices: Vec<LanguageChoice<'a>>,
    banner: Option<String>,
    idempotency_key: String,
    form_action: String,
    case_reference: Option<&'a str>,
    case_token: Option<&'a str>,
}

/// A field the incident may ask for or not, required or not, in its own words.
#[derive(Serialize)]
struct AskedField {
    asked: bool,
    required: bool,
    label: String,
}

impl AskedField {
    fn new(rule: FieldRule, own_label: &str, standard_label: String) -> Self {
        Self {
            asked: rule.is_asked(),
            required: rule == FieldRule::Required,
            label: if own_label.trim().is_empty() {
                standard_label
            } else {
                own_label.to_owned()
            },
        }
    }
}

#[derive(Serialize)]
struct ErrorLine {
    field: &'static str,
    label: String,
    message: String,
}

#[derive(Serialize)]
struct Choice<'a> {
    key: &'a str,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct LanguageChoice<'a> {
    code: &'a str,
    name: &'static str,
    selected: bool,
}

/// The form as it is shown: what was typed, what is wrong, and why it is shown again.
struct FormView<'a> {
    typed: &'a IntakeForm,
    errors: &'a IntakeErrors,
    banner: Option<String>,
    /// Reference and token of the case a personal link completes.
    prefill: Option<(&'a str, &'a str)>,
}

/// The form's fields from top to bottom.
const FIELD_ORDER: [&str; 9] = [
    "name",
    "email",
    "phone",
    "booking_ref",
    "departure_date",
    "trip",
    "request_type",
    "message",
    "language",
];

fn form_page(
    state: &AppState,
    incident: &Incident,
    lang: &Lang,
    view: FormView<'_>,
    status: StatusCode,
) -> WebResult<HttpResponse> {
    let FormView {
        typed,
        errors,
        banner,
        prefill,
    } = view;
    let t = |key: &str| state.translations.text(lang, key);
    let fields = &incident.settings.form;
    // The manager's label where it is written in the page's language; else the standard
    // one, which is translated.
    let own = |label: &muster_core::localized::Localized| {
        label.exactly(lang).unwrap_or_default().to_owned()
    };
    let booking_ref = AskedField::new(
        fields.booking_ref,
        &own(&fields.booking_ref_label),
        t("field_booking_ref"),
    );
    let departure_date = AskedField::new(
        fields.departure_date,
        &own(&fields.departure_date_label),
        t("field_departure_date"),
    );
    let errors: BTreeMap<&'static str, String> = errors
        .iter()
        .map(|(field, problem)| (*field, state.translations.problem(lang, problem)))
        .collect();
    // Listed as the fields stand on the form, so the first one named is the first one met.
    let mut in_order: Vec<(&&'static str, &String)> = errors.iter().collect();
    in_order.sort_by_key(|(field, _)| {
        FIELD_ORDER
            .iter()
            .position(|f| f == *field)
            .unwrap_or(FIELD_ORDER.len())
    });
    let error_list = in_order
        .into_iter()
        .map(|(field, message)| ErrorLine {
            field,
            label: match *field {
                "booking_ref" => booking_ref.label.clone(),
                "departure_date" => departure_date.label.clone(),
                _ => t(&format!("field_{field}")),
            },
            message: message.clone(),
        })
        .collect();
    let request_types = incident
        .settings
        .request_types
        .iter()
        .map(|rt| {
            let own = rt.label.get(lang, &incident.default_language);
            let translated = t(&format!("request_{}", rt.key));
            let label = if translated.starts_with("request_") {
                own.to_owned()
            } else {
                translated
            };
            Choice {
                key: &rt.key,
                label,
                selected: rt.key == typed.request_type,
            }
        })
        .collect();
    let chosen = if typed.language.is_empty() {
        lang.as_str()
    } else {
        typed.language.as_str()
    };
    let language_choices = incident
        .languages
        .iter()
        .map(|l| LanguageChoice {
            code: l.as_str(),
            name: endonym(l),
            selected: l.as_str() == chosen,
        })
        .collect();
    let context = FormPage {
        frame: Frame::new(&state.translations, lang, t("form_title")),
        incident: IncidentHeader::new(incident, lang),
        form: typed,
        errors,
        error_list,
        request_types,
        booking_ref,
        departure_date,
        language_choices,
        banner,
        idempotency_key: random_token(),
        form_action: format!("/i/{}/form?lang={}", incident.slug, lang),
        case_reference: prefill.map(|p| p.0),
        case_token: prefill.map(|p| p.1),
    };
    let html = state.templates.render("form", &context)?;
    Ok(HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html))
}

#[derive(Debug, Deserialize)]
pub struct FormQuery {
    lang: Option<String>,
    /// A personal link that completes an existing case: its reference and token.
    case: Option<String>,
    t: Option<String>,
}

fn language(incident: &Incident, raw: Option<&str>) -> Lang {
    incident.pick_language(raw.and_then(|l| Lang::parse(l).ok()).as_ref())
}

/// The case a personal completion link opens, if reference and token match (full access).
async fn completion_case(
    state: &AppState,
    reference: Option<&str>,
    token: Option<&str>,
) -> WebResult<Option<muster_core::case::Case>> {
    let (Some(reference), Some(token)) = (reference, token) else {
        return Ok(None);
    };
    let Ok(reference) = CaseRef::parse(reference) else {
        return Ok(None);
    };
    Ok(match state.store.case_by_token(&reference, token).await? {
        Some((case, TokenScope::Full)) => Some(case),
        _ => None,
    })
}

pub async fn show(
    state: Data<AppState>,
    slug: Path<String>,
    query: Query<FormQuery>,
) -> WebResult<HttpResponse> {
    let incident = public_incident(&state, &slug).await?;
    let lang = language(&incident, query.lang.as_deref());
    let mut typed = IntakeForm {
        language: lang.as_str().to_owned(),
        ..Default::default()
    };
    let case = completion_case(&state, query.case.as_deref(), query.t.as_deref()).await?;
    if let Some(case) = &case {
        typed.name = case.customer_name.clone();
        typed.email = case.email.clone().unwrap_or_default();
        typed.phone = case.phone.clone().unwrap_or_default();
        typed.booking_ref = case.booking_ref.clone().unwrap_or_default();
        typed.request_type = case.request_type.clone();
    }
    let prefill = case.as_ref().map(|c| c.reference.as_str().to_owned());
    let token = query.t.clone().unwrap_or_default();
    let view = FormView {
        typed: &typed,
        errors: &IntakeErrors::new(),
        banner: None,
        prefill: prefill.as_deref().map(|r| (r, token.as_str())),
    };
    form_page(&state, &incident, &lang, view, StatusCode::OK)
}

#[derive(Debug, Deserialize)]
pub struct Submission {
    #[serde(flatten)]
    form: IntakeForm,
    #[serde(default)]
    idempotency_key: String,
    /// The honeypot: people never see it, bots fill it in.
    #[serde(default)]
    website: String,
    #[serde(default)]
    case: Option<String>,
    #[serde(default)]
    t: Option<String>,
}

pub async fn submit(
    state: Data<AppState>,
    slug: Path<String>,
    query: Query<FormQuery>,
    req: HttpRequest,
    body: Form<Submission>,
) -> WebResult<HttpResponse> {
    let incident = public_incident(&state, &slug).await?;
    let submission = body.into_inner();
    let lang = language(
        &incident,
        Some(submission.form.language.as_str())
            .filter(|l| !l.is_empty())
            .or(query.lang.as_deref()),
    );
    let prefill = submission.case.as_deref().zip(submission.t.as_deref());
    if !submission.website.trim().is_empty() {
        tracing::info!("honeypot filled; submission dropped");
        return Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/i/{}?lang={lang}", incident.slug),
            ))
            .finish());
    }
    if let Some(address) = client_address(&req)
        && let Err(seconds) = state.intake_limiter.admit(address).await
    {
        let banner = state
            .translations
            .text(&lang, "too_many")
            .replace("{seconds}", &seconds.to_string());
        let view = FormView {
            typed: &submission.form,
            errors: &IntakeErrors::new(),
            banner: Some(banner),
            prefill,
        };
        let mut response = form_page(
            &state,
            &incident,
            &lang,
            view,
            StatusCode::TOO_MANY_REQUESTS,
        )?;
        if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    let today = incident.today(state.app.now());
    let valid = match validate(
        &submission.form,
        &incident.settings.form,
        &incident.settings.request_types,
        &incident.languages,
        today,
    ) {
        Ok(valid) => valid,
        Err(errors) => {
            let view = FormView {
                typed: &submission.form,
                errors: &errors,
                banner: None,
                prefill,
            };
            return form_page(
                &state,
                &incident,
                &lang,
                view,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let completing =
        completion_case(&state, submission.case.as_deref(), submission.t.as_deref()).await?;
    let key = if valid_key(&submission.idempotency_key) {
        submission.idempotency_key.clone()
    } else {
        random_token()
    };
    // Completing a case keeps the customer's own token; a new submission gets its own.
    let token = match (&completing, &submission.t) {
        (Some(_), Some(own)) => own.clone(),
        _ => token_for(&key),
    };
    let intake = Intake {
        incident_id: incident.id,
        channel: ChannelKind::Form,
        customer_name: valid.name.clone(),
        email: Some(valid.email.as_str().to_owned()),
        phone: valid.phone.as_ref().map(|p| p.as_str().to_owned()),
        booking_ref: valid.booking_ref.as_ref().map(|b| b.as_str().to_owned()),
        handle: None,
        departure_date: valid.departure_date,
        trip: valid.trip.as_ref().map(|t| t.as_str().to_owned()),
        request_type: valid.request_type.clone(),
        team: None,
        language: valid.language.as_str().to_owned(),
        body: valid.message.clone(),
        external_id: Some(format!("form:{key}")),
        into_case: completing.as_ref().map(|c| c.id),
        meta: json!({}),
    };
    let arrival = Arrival {
        intake,
        token: token.clone(),
        contact_key: contact_key(&key),
        acknowledge_by_email: true,
    };
    let receipt = state
        .app
        .take_in(&incident, ChannelKind::Form, arrival)
        .await?;
    state
        .metrics
        .count_intake(ChannelKind::Form, receipt.outcome);
    let joined = if receipt.outcome == muster_store::cases::IntakeOutcome::Joined {
        "&joined=1"
    } else {
        ""
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!(
                "/c/{}?t={token}&received=1{joined}&lang={lang}",
                receipt.case.reference
            ),
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
        let typed = IntakeForm {
            name: "Kari".into(),
            ..Default::default()
        };
        let context = FormPage {
            frame: Frame::new(
                muster_app::i18n::shared(),
                &lang,
                "Send us your request".into(),
            ),
            incident: IncidentHeader {
                slug: "storm",
                title: "Storm",
                page_url: "/i/storm?lang=en".into(),
            },
            form: &typed,
            errors: [
                "name",
                "email",
                "phone",
                "booking_ref",
                "departure_date",
                "trip",
                "request_type",
                "message",
                "language",
            ]
            .into_iter()
            .map(|f| (f, format!("{f} is wrong")))
            .collect(),
            error_list: vec![ErrorLine {
                field: "email",
                label: "Email".into(),
                message: "Enter an email address".into(),
            }],
            request_types: vec![Choice {
                key: "refund",
                label: "Refund".into(),
                selected: true,
            }],
            booking_ref: AskedField::new(FieldRule::Optional, "", "Booking reference".into()),
            departure_date: AskedField::new(FieldRule::Required, "Date", "Departure".into()),
            language_choices: vec![LanguageChoice {
                code: "en",
                name: "English",
                selected: true,
            }],
            banner: Some("Too many".into()),
            idempotency_key: "k".repeat(64),
            form_action: "/i/storm/form?lang=en".into(),
            case_reference: Some("MX-7K3Q9P"),
            case_token: Some("tok"),
        };
        strict::render("form", &context);
    }
}
