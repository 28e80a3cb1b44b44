//! A manager's view of one incident: edit its text, post updates, set policies and channels.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Form, Path, Query};
use actix_web::{HttpResponse, get, post};
use muster_app::i18n::endonym;
use muster_app::incident_input::{ChannelText, IncidentTextEdit, PolicyText};
use muster_app::staffing::StaffText;
use muster_app::{AppError, AppResult, FieldErrors};
use muster_core::incident::{ChannelKind, Incident, PolicyKind};
use muster_core::language::Lang;
use muster_core::localized::Localized;
use serde::{Deserialize, Serialize};

use crate::console::auth::{ConsoleUser, Manager};
use crate::console::page::{Base, render_with_status};
use crate::error::WebResult;
use crate::live_waits::COMPUTED_CHANNELS;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

async fn load(state: &AppState, slug: &str) -> WebResult<Incident> {
    Ok(state.app.incident(slug).await?)
}

fn editing_language(incident: &Incident, raw: Option<&str>) -> Lang {
    incident.pick_language(raw.and_then(|l| Lang::parse(l).ok()).as_ref())
}

#[derive(Serialize)]
struct IncidentPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    slug: &'a str,
    /// The language being edited.
    lang: &'a str,
    languages: Vec<LanguageTab<'a>>,
    status: String,
    severity: String,
    time_zone: String,
    language_list: String,
    incident_title: String,
    summary: String,
    letter: String,
    letter_signature: String,
    contact_guidance: String,
    update_body: String,
    policies: Vec<PolicyRow>,
    channels: Vec<ChannelRow>,
    staffing: Vec<StaffingRow>,
    staffing_error: Option<String>,
    updates: Vec<UpdateRow>,
    errors: BTreeMap<String, String>,
    public_url: String,
}

#[derive(Serialize)]
struct LanguageTab<'a> {
    code: &'a str,
    name: &'static str,
    current: bool,
}

#[derive(Serialize)]
struct PolicyRow {
    kind: &'static str,
    title: String,
    body: String,
    standard: String,
}

#[derive(Serialize)]
struct ChannelRow {
    kind: &'static str,
    label: String,
    address: String,
    wait_low: String,
    wait_high: String,
    wait_overrides: bool,
    /// Whether the queue computes this channel's wait (the posted one may override it).
    computed: bool,
    error: Option<String>,
}

#[derive(Serialize)]
struct StaffingRow {
    i: usize,
    number: usize,
    agents: String,
    from: String,
    until: String,
    errors: Vec<String>,
}

#[derive(Serialize)]
struct UpdateRow {
    at: String,
    body: String,
}

/// Renders the incident page; `typed` overrides stored values so nothing typed is lost.
fn incident_page(
    state: &AppState,
    user: &ConsoleUser,
    incident: &Incident,
    lang: &Lang,
    typed: &HashMap<String, String>,
    errors: &FieldErrors,
    status: StatusCode,
) -> WebResult<HttpResponse> {
    // The console speaks English.
    let errors = state.translations.messages(&Lang::english(), errors);
    let fallback = &incident.default_language;
    let own = |l: &Localized| l.get(lang, fallback).to_owned();
    let value = |key: &str, stored: String| typed.get(key).cloned().unwrap_or(stored);
    let policy_rows = PolicyKind::ALL
        .iter()
        .map(|kind| {
            let stored = incident.policy(*kind);
            let k = kind.as_str();
            let field = |suffix: &str, stored: Option<&Localized>| {
                value(
                    &format!("{k}_{suffix}"),
                    stored.map(own).unwrap_or_default(),
                )
            };
            PolicyRow {
                kind: k,
                title: field("title", stored.map(|p| &p.title)),
                body: field("body", stored.map(|p| &p.body)),
                standard: field("standard", stored.map(|p| &p.standard)),
            }
        })
        .collect();
    let channel_rows = ChannelKind::ALL
        .iter()
        .map(|kind| {
            let stored = incident.channel(*kind);
            let k = kind.as_str();
            let field = |suffix: &str, stored: Option<String>| {
                value(&format!("{k}_{suffix}"), stored.unwrap_or_default())
            };
            let wait = stored.and_then(|c| c.posted_wait);
            ChannelRow {
                kind: k,
                label: field("label", stored.map(|c| own(&c.label))),
                address: field("address", stored.map(|c| c.address.clone())),
                wait_low: field("wait_low", wait.map(|w| w.low_minutes.to_string())),
                wait_high: field("wait_high", wait.map(|w| w.high_minutes.to_string())),
                // An unticked box is not sent: once the channels form came back, it is as typed.
                wait_overrides: if typed.contains_key(&format!("{k}_address")) {
                    typed.contains_key(&format!("{k}_wait_overrides"))
                } else {
                    stored.is_some_and(|c| c.posted_wait_overrides)
                },
                computed: COMPUTED_CHANNELS.contains(kind),
                error: errors.get(&format!("{k}_wait")).cloned(),
            }
        })
        .collect();
    let zone = incident.time_zone.as_str();
    let moment = |at: Option<time::OffsetDateTime>| {
        at.map(|at| muster_core::incident::local_minute(zone, at))
            .unwrap_or_default()
    };
    let staffing_rows = (0..incident.settings.staffing.len() + 2)
        .map(|i| {
            let stored = incident.settings.staffing.get(i);
            let typed_or =
                |field: &str, stored: String| value(&format!("staffing_{i}_{field}"), stored);
            StaffingRow {
                i,
                number: i + 1,
                agents: typed_or(
                    "agents",
                    stored.map(|g| g.agents.to_string()).unwrap_or_default(),
                ),
                from: typed_or("from", moment(stored.and_then(|g| g.from))),
                until: typed_or("until", moment(stored.and_then(|g| g.until))),
                errors: ["agents", "from", "until"]
                    .iter()
                    .filter_map(|f| errors.get(&format!("staffing[{i}].{f}")).cloned())
                    .collect(),
            }
        })
        .collect();
    let languages = incident
        .languages
        .iter()
        .map(|l| LanguageTab {
            code: l.as_str(),
            name: endonym(l),
            current: l == lang,
        })
        .collect();
    let updates = incident
        .updates
        .iter()
        .map(|u| UpdateRow {
            at: muster_core::incident::local_time_label(&incident.time_zone, u.published_at),
            body: own(&u.body),
        })
        .collect();
    let title = own(&incident.title);
    let context = IncidentPage {
        base: Base::new(user, &title),
        slug: incident.slug.as_str(),
        lang: lang.as_str(),
        languages,
        status: value("status", incident.status.as_str().to_owned()),
        severity: value("severity", incident.severity.as_str().to_owned()),
        time_zone: value("time_zone", incident.time_zone.clone()),
        language_list: value(
            "languages",
            incident
                .languages
                .iter()
                .map(Lang::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        incident_title: value("title", title.clone()),
        summary: value("summary", own(&incident.summary)),
        letter: value("letter", own(&incident.letter)),
        letter_signature: value("letter_signature", incident.letter_signature.clone()),
        contact_guidance: value("contact_guidance", own(&incident.contact_guidance)),
        update_body: typed.get("update_body").cloned().unwrap_or_default(),
        policies: policy_rows,
        channels: channel_rows,
        staffing: staffing_rows,
        staffing_error: errors.get("staffing").cloned(),
        updates,
        public_url: format!("/i/{}?lang={}", incident.slug, lang),
        errors,
    };
    render_with_status(state, "console_incident", &context, status)
}

#[get("/console/incidents/{slug}")]
pub async fn show(
    state: Data<AppState>,
    Manager(user): Manager,
    slug: Path<String>,
    query: Query<LangQuery>,
) -> WebResult<HttpResponse> {
    let incident = load(&state, &slug).await?;
    let lang = editing_language(&incident, query.lang.as_deref());
    incident_page(
        &state,
        &user,
        &incident,
        &lang,
        &HashMap::new(),
        &FieldErrors::new(),
        StatusCode::OK,
    )
}

type Fields = Form<HashMap<String, String>>;

fn field(form: &HashMap<String, String>, key: &str) -> Option<String> {
    form.get(key).cloned()
}

/// Checks the CSRF token and finds the incident and the language being edited.
async fn prepare(
    state: &AppState,
    user: &ConsoleUser,
    slug: &str,
    form: &HashMap<String, String>,
) -> WebResult<(Incident, Lang)> {
    user.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
    let incident = load(state, slug).await?;
    let lang = editing_language(&incident, form.get("lang").map(String::as_str));
    Ok((incident, lang))
}

fn back_to(slug: &str, lang: &Lang) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/console/incidents/{slug}?lang={lang}"),
        ))
        .finish()
}

/// After a save: back to the page, or the page again with every field as typed and a
/// message beside each bad one. `rename` places a use case's field where the form has it.
#[allow(clippy::too_many_arguments)]
fn saved_or_shown<T>(
    state: &AppState,
    user: &ConsoleUser,
    incident: &Incident,
    lang: &Lang,
    form: &HashMap<String, String>,
    outcome: AppResult<T>,
    rename: impl Fn(String) -> String,
) -> WebResult<HttpResponse> {
    match outcome {
        Ok(_) => Ok(back_to(incident.slug.as_str(), lang)),
        Err(AppError::Invalid(errors)) => {
            let placed: FieldErrors = errors.into_iter().map(|(k, p)| (rename(k), p)).collect();
            incident_page(
                state,
                user,
                incident,
                lang,
                form,
                &placed,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(other) => Err(other.into()),
    }
}

#[post("/console/incidents/{slug}")]
pub async fn edit(
    state: Data<AppState>,
    Manager(user): Manager,
    slug: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (incident, lang) = prepare(&state, &user, &slug, &form).await?;
    let typed = IncidentTextEdit {
        lang: Some(lang.as_str().to_owned()),
        title: field(&form, "title"),
        summary: field(&form, "summary"),
        letter: field(&form, "letter"),
        letter_signature: field(&form, "letter_signature"),
        contact_guidance: field(&form, "contact_guidance"),
        status: field(&form, "status"),
        severity: field(&form, "severity"),
        time_zone: field(&form, "time_zone"),
        languages: field(&form, "languages"),
    };
    let outcome = state.app.edit_incident(&user.actor(), &slug, &typed).await;
    saved_or_shown(&state, &user, &incident, &lang, &form, outcome, |k| k)
}

#[post("/console/incidents/{slug}/updates")]
pub async fn post_update(
    state: Data<AppState>,
    Manager(user): Manager,
    slug: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (incident, lang) = prepare(&state, &user, &slug, &form).await?;
    let body = form.get("update_body").map(String::as_str).unwrap_or("");
    let notify = form.get("notify_audience").is_some();
    let outcome = state
        .app
        .post_update(&user.actor(), &slug, Some(&lang), body, notify)
        .await;
    saved_or_shown(&state, &user, &incident, &lang, &form, outcome, |k| {
        if k == "body" {
            "update_body".to_owned()
        } else {
            k
        }
    })
}

#[post("/console/incidents/{slug}/policies")]
pub async fn policies(
    state: Data<AppState>,
    Manager(user): Manager,
    slug: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (incident, lang) = prepare(&state, &user, &slug, &form).await?;
    let typed: Vec<PolicyText> = PolicyKind::ALL
        .iter()
        .map(|kind| {
            let k = kind.as_str();
            let get = |suffix: &str| {
                form.get(&format!("{k}_{suffix}"))
                    .cloned()
                    .unwrap_or_default()
            };
            PolicyText {
                kind: k.to_owned(),
                title: get("title"),
                body: get("body"),
                standard: get("standard"),
            }
        })
        .collect();
    let outcome = state
        .app
        .set_policies(&user.actor(), &slug, Some(&lang), &typed)
        .await;
    saved_or_shown(&state, &user, &incident, &lang, &form, outcome, |k| k)
}

/// Channel errors are keyed `channels[i].x`; the page shows them by kind, beside the wait.
fn channel_field(key: String) -> String {
    let kind = key
        .trim_start_matches("channels[")
        .split(']')
        .next()
        .and_then(|i| i.parse::<usize>().ok())
        .and_then(|i| ChannelKind::ALL.get(i))
        .map(|k| k.as_str())
        .unwrap_or("channels");
    format!("{kind}_wait")
}

#[post("/console/incidents/{slug}/channels")]
pub async fn channels(
    state: Data<AppState>,
    Manager(user): Manager,
    slug: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (incident, lang) = prepare(&state, &user, &slug, &form).await?;
    let typed: Vec<ChannelText> = ChannelKind::ALL
        .iter()
        .map(|kind| {
            let k = kind.as_str();
            let get = |suffix: &str| form.get(&format!("{k}_{suffix}")).cloned();
            ChannelText {
                kind: k.to_owned(),
                label: get("label").unwrap_or_default(),
                address: get("address").unwrap_or_default(),
                wait_low_minutes: get("wait_low"),
                wait_high_minutes: get("wait_high"),
                wait_overrides: get("wait_overrides").is_some(),
            }
        })
        .collect();
    let outcome = state
        .app
        .set_channels(&user.actor(), &slug, Some(&lang), &typed)
        .await;
    saved_or_shown(
        &state,
        &user,
        &incident,
        &lang,
        &form,
        outcome,
        channel_field,
    )
}

#[post("/console/incidents/{slug}/staffing")]
pub async fn staffing(
    state: Data<AppState>,
    Manager(user): Manager,
    slug: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (incident, lang) = prepare(&state, &user, &slug, &form).await?;
    let typed: Vec<StaffText> = (0..)
        .map_while(|i| {
            let get = |field: &str| form.get(&format!("staffing_{i}_{field}")).cloned();
            Some(StaffText {
                agents: get("agents")?,
                from: get("from").unwrap_or_default(),
                until: get("until").unwrap_or_default(),
            })
        })
        .collect();
    let outcome = state.app.set_staffing(&user.actor(), &slug, &typed).await;
    saved_or_shown(&state, &user, &incident, &lang, &form, outcome, |k| k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::page::sample;
    use crate::templates::strict;

    #[test]
    fn the_template_names_only_what_the_page_has() {
        let fields = [
            "update_body",
            "status",
            "severity",
            "time_zone",
            "languages",
            "title",
            "summary",
            "contact_guidance",
            "letter",
        ];
        let text = |s: &str| s.to_owned();
        let context = IncidentPage {
            base: sample::base("Storm"),
            slug: "storm",
            lang: "en",
            languages: vec![
                LanguageTab {
                    code: "en",
                    name: "English",
                    current: true,
                },
                LanguageTab {
                    code: "nb",
                    name: "Norsk bokmål",
                    current: false,
                },
            ],
            status: text("active"),
            severity: text("major"),
            time_zone: text("Europe/Oslo"),
            language_list: text("en, nb"),
            incident_title: text("Storm"),
            summary: text("Flights are cancelled."),
            letter: text("Dear customer"),
            letter_signature: text("The CEO"),
            contact_guidance: text("Use the form."),
            update_body: text("Still cancelled."),
            policies: vec![PolicyRow {
                kind: "refund",
                title: text("Refunds"),
                body: text("We refund."),
                standard: text("5 days"),
            }],
            channels: vec![ChannelRow {
                kind: "phone",
                label: text("Call us"),
                address: text("+4712345678"),
                wait_low: text("5"),
                wait_high: text("10"),
                wait_overrides: true,
                computed: true,
                error: Some(text("wrong")),
            }],
            staffing: vec![StaffingRow {
                i: 0,
                number: 1,
                agents: text("4"),
                from: text("2026-01-01T08:00"),
                until: text("2026-01-01T16:00"),
                errors: vec![text("wrong")],
            }],
            staffing_error: Some(text("wrong")),
            updates: vec![UpdateRow {
                at: text("1 Jan 10:00"),
                body: text("Cancelled."),
            }],
            errors: strict::errors_on(&fields),
            public_url: text("/i/storm?lang=en"),
        };
        strict::render("console_incident", &context);
    }
}
