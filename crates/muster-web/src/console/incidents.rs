//! A manager's view of one incident: edit its text, post updates, set policies and channels.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Form, Path, Query};
use actix_web::{HttpResponse, get, post};
use muster_app::form_fields::FormFieldsText;
use muster_app::i18n::endonym;
use muster_app::incident_input::{ChannelText, IncidentTextEdit, PolicyText, WaitUnit};
use muster_app::staffing::StaffText;
use muster_app::{AppError, AppResult, FieldErrors};
use muster_core::form_fields::FieldRule;
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
pub struct PageQuery {
    lang: Option<String>,
    /// The section just saved, so the page says so beside it.
    saved: Option<String>,
}

async fn load(state: &AppState, slug: &str) -> WebResult<Incident> {
    Ok(state.app.incident(slug).await?)
}

fn editing_language(incident: &Incident, raw: Option<&str>) -> Lang {
    incident.pick_language(raw.and_then(|l| Lang::parse(l).ok()).as_ref())
}

/// The page's sections, each with its own form: the in-page navigation, the anchor a save
/// returns to, and what the page says once it is saved.
const SECTIONS: [(&str, &str, &str); 6] = [
    (
        "update",
        "Post an update",
        "Update published: it is on the public page now.",
    ),
    ("incident", "The incident", "Incident saved."),
    ("policies", "Policies", "Policies saved."),
    (
        "channels",
        "Channels and waits",
        "Channels and posted waits saved.",
    ),
    ("staffing", "Staffing plan", "Staffing plan saved."),
    (
        "form",
        "The form",
        "Form saved: the public form asks for these fields now.",
    ),
];

/// Said at the top once an incident is opened: where to go on from here.
const OPENED: &str =
    "Incident opened. Write its text and policies below, then post the first update.";

#[derive(Serialize)]
struct IncidentPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    slug: &'a str,
    /// The language being edited.
    lang: &'a str,
    languages: Vec<LanguageTab<'a>>,
    sections: Vec<SectionLink>,
    /// What was just saved, shown in its section.
    saved: Option<Notice>,
    /// The section whose form was refused, with a link to each bad field.
    refused: Option<Refusal>,
    status: String,
    severity: String,
    time_zone: String,
    zones: &'static [String],
    language_choices: Vec<LanguageChoice>,
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
    form_fields: Vec<FormFieldRow>,
    updates: Vec<UpdateRow>,
    errors: BTreeMap<String, String>,
    public_url: String,
}

/// One trip field of the public form: how it is asked, and its label in the edited language.
#[derive(Serialize)]
struct FormFieldRow {
    key: &'static str,
    name: &'static str,
    rules: Vec<RuleOption>,
    label: String,
    rule_error: Option<String>,
    label_error: Option<String>,
}

#[derive(Serialize)]
struct RuleOption {
    value: &'static str,
    text: &'static str,
    selected: bool,
}

fn rule_text(rule: FieldRule) -> &'static str {
    match rule {
        FieldRule::Required => "asked, required",
        FieldRule::Optional => "asked, may be left empty",
        FieldRule::Hidden => "not asked",
    }
}

#[derive(Serialize)]
struct LanguageTab<'a> {
    code: &'a str,
    name: &'static str,
    current: bool,
}

#[derive(Serialize)]
struct SectionLink {
    id: &'static str,
    name: &'static str,
}

#[derive(Serialize)]
struct Notice {
    section: &'static str,
    message: &'static str,
}

#[derive(Serialize)]
struct Refusal {
    section: &'static str,
    fields: Vec<FieldLink>,
}

#[derive(Serialize)]
struct FieldLink {
    id: String,
    message: String,
}

/// A language the incident can be published in, as a checkbox.
#[derive(Serialize)]
pub(crate) struct LanguageChoice {
    pub code: String,
    pub name: &'static str,
    pub checked: bool,
    /// The default language is always offered: it cannot be unticked.
    pub default: bool,
}

/// Muster's own languages and any other the incident already has, ticked as `chosen`.
pub(crate) fn language_choices(chosen: &[Lang], default: Option<&Lang>) -> Vec<LanguageChoice> {
    let mut codes: Vec<Lang> = ["en", "nb", "ru", "lv", "fa"]
        .iter()
        .filter_map(|c| Lang::parse(c).ok())
        .collect();
    codes.extend(
        chosen
            .iter()
            .filter(|l| !codes.contains(l))
            .cloned()
            .collect::<Vec<_>>(),
    );
    codes
        .into_iter()
        .map(|lang| LanguageChoice {
            name: endonym(&lang),
            checked: chosen.contains(&lang),
            default: default == Some(&lang),
            code: lang.as_str().to_owned(),
        })
        .collect()
}

/// The languages ticked in a form (`language_{code}`), the default first, as the use cases
/// take them: "en, fa".
/// A form that sends `languages` as one list (a script, an older page) is taken as it is.
pub(crate) fn ticked_languages(form: &HashMap<String, String>, default: Option<&str>) -> String {
    if let Some(list) = form.get("languages") {
        return list.clone();
    }
    let mut codes: Vec<&str> = default.into_iter().collect();
    let mut ticked: Vec<&str> = form
        .keys()
        .filter_map(|k| k.strip_prefix("language_"))
        .filter(|code| Some(*code) != default)
        .collect();
    ticked.sort_unstable();
    codes.extend(ticked);
    codes.join(", ")
}

/// Every zone name, read once.
pub(crate) fn zone_names() -> &'static [String] {
    static ZONES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    ZONES.get_or_init(muster_core::incident::time_zone_names)
}

#[derive(Serialize)]
struct PolicyRow {
    kind: &'static str,
    name: &'static str,
    title: String,
    body: String,
    standard: String,
    title_error: Option<String>,
    body_error: Option<String>,
    standard_error: Option<String>,
}

#[derive(Serialize)]
struct ChannelRow {
    kind: &'static str,
    name: &'static str,
    label: String,
    address: String,
    wait_low: String,
    wait_high: String,
    units: Vec<UnitOption>,
    wait_overrides: bool,
    /// Whether the queue computes this channel's wait (the posted one may override it).
    computed: bool,
    address_error: Option<String>,
    label_error: Option<String>,
    wait_error: Option<String>,
}

#[derive(Serialize)]
struct UnitOption {
    value: &'static str,
    selected: bool,
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
    body_html: String,
}

fn policy_name(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::Refund => "Refund",
        PolicyKind::Cancellation => "Cancellation",
        PolicyKind::Rebooking => "Rebooking",
        PolicyKind::Other => "Other",
    }
}

fn channel_name(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Form => "Online form",
        ChannelKind::Email => "Email",
        ChannelKind::Phone => "Phone",
        ChannelKind::Chat => "Chat",
        ChannelKind::Social => "Social media",
        ChannelKind::Sms => "SMS",
        ChannelKind::Whatsapp => "WhatsApp",
        ChannelKind::Telegram => "Telegram",
    }
}

/// Where the page is when it renders: as stored, just saved, or refused with what was typed.
struct Outcome<'a> {
    typed: &'a HashMap<String, String>,
    errors: &'a FieldErrors,
    saved: Option<&'a str>,
    section: &'static str,
}

/// The fields of each section in page order, so the refusal lists them as they appear.
fn field_order(section: &str) -> Vec<String> {
    match section {
        "update" => vec!["update_body".to_owned()],
        "incident" => [
            "status",
            "severity",
            "time_zone",
            "languages",
            "title",
            "summary",
            "contact_guidance",
            "letter",
            "letter_signature",
        ]
        .iter()
        .map(|f| (*f).to_owned())
        .collect(),
        "policies" => PolicyKind::ALL
            .iter()
            .flat_map(|k| ["title", "body", "standard"].map(|f| format!("{}_{f}", k.as_str())))
            .collect(),
        "channels" => ChannelKind::ALL
            .iter()
            .flat_map(|k| ["address", "label", "wait"].map(|f| format!("{}_{f}", k.as_str())))
            .collect(),
        "form" => ["booking_ref", "departure_date"]
            .iter()
            .flat_map(|k| [format!("form_{k}"), format!("form_{k}_label")])
            .collect(),
        _ => Vec::new(),
    }
}

/// The id of the input a field's error belongs to (a wait's error sits on its first box).
fn input_of(field: &str) -> String {
    if let Some(row) = field.strip_prefix("staffing[") {
        return format!("staffing_{}", row.replacen("].", "_", 1));
    }
    match field.strip_suffix("_wait") {
        Some(kind) => format!("{kind}_wait_low"),
        None if field == "languages" => "languages-first".to_owned(),
        None if field == "staffing" => "staffing_0_agents".to_owned(),
        None => field.to_owned(),
    }
}

/// Renders the incident page; `typed` overrides stored values so nothing typed is lost.
fn incident_page(
    state: &AppState,
    user: &ConsoleUser,
    incident: &Incident,
    lang: &Lang,
    outcome: Outcome<'_>,
    status: StatusCode,
) -> WebResult<HttpResponse> {
    let Outcome {
        typed,
        errors,
        saved,
        section,
    } = outcome;
    // The console speaks English.
    let errors = state.translations.messages(&Lang::english(), errors);
    let fallback = &incident.default_language;
    let own = |l: &Localized| l.get(lang, fallback).to_owned();
    let value = |key: &str, stored: String| typed.get(key).cloned().unwrap_or(stored);
    let error = |key: String| errors.get(&key).cloned();
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
                name: policy_name(*kind),
                title: field("title", stored.map(|p| &p.title)),
                body: field("body", stored.map(|p| &p.body)),
                standard: field("standard", stored.map(|p| &p.standard)),
                title_error: error(format!("{k}_title")),
                body_error: error(format!("{k}_body")),
                standard_error: error(format!("{k}_standard")),
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
            let stored_unit = wait.as_ref().map(WaitUnit::of).unwrap_or(WaitUnit::Minutes);
            let in_unit = |minutes: i64| (minutes / stored_unit.minutes()).to_string();
            let unit = value(&format!("{k}_wait_unit"), stored_unit.as_str().to_owned());
            ChannelRow {
                kind: k,
                name: channel_name(*kind),
                label: field("label", stored.map(|c| own(&c.label))),
                address: field("address", stored.map(|c| c.address.clone())),
                wait_low: field("wait_low", wait.map(|w| in_unit(w.low_minutes))),
                wait_high: field("wait_high", wait.map(|w| in_unit(w.high_minutes))),
                units: WaitUnit::ALL
                    .iter()
                    .map(|u| UnitOption {
                        value: u.as_str(),
                        selected: u.as_str() == unit,
                    })
                    .collect(),
                // An unticked box is not sent: once the channels form came back, it is as typed.
                wait_overrides: if typed.contains_key(&format!("{k}_address")) {
                    typed.contains_key(&format!("{k}_wait_overrides"))
                } else {
                    stored.is_some_and(|c| c.posted_wait_overrides)
                },
                computed: COMPUTED_CHANNELS.contains(kind),
                address_error: error(format!("{k}_address")),
                label_error: error(format!("{k}_label")),
                wait_error: error(format!("{k}_wait")),
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
    let form = &incident.settings.form;
    let form_fields = [
        (
            "booking_ref",
            "Booking reference",
            form.booking_ref,
            &form.booking_ref_label,
        ),
        (
            "departure_date",
            "Departure date",
            form.departure_date,
            &form.departure_date_label,
        ),
    ]
    .into_iter()
    .map(|(key, name, stored, label)| {
        let chosen = value(&format!("form_{key}"), stored.as_str().to_owned());
        // Only the label written in this language: another language's would be saved here.
        let own_label = label.exactly(lang).unwrap_or_default().to_owned();
        FormFieldRow {
            key,
            name,
            rules: FieldRule::ALL
                .iter()
                .map(|rule| RuleOption {
                    value: rule.as_str(),
                    text: rule_text(*rule),
                    selected: rule.as_str() == chosen,
                })
                .collect(),
            label: value(&format!("form_{key}_label"), own_label),
            rule_error: error(format!("form_{key}")),
            label_error: error(format!("form_{key}_label")),
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
            body_html: muster_core::markdown::render(&own(&u.body)),
        })
        .collect();
    // Once the incident form came back, its ticks are as typed.
    let chosen: Vec<Lang> = if typed.contains_key("title") {
        ticked_languages(typed, Some(incident.default_language.as_str()))
            .split(", ")
            .filter_map(|c| Lang::parse(c).ok())
            .collect()
    } else {
        incident.languages.clone()
    };
    let refused = (!errors.is_empty()).then(|| {
        let mut fields: Vec<FieldLink> = field_order(section)
            .into_iter()
            .filter_map(|f| {
                errors.get(&f).map(|message| FieldLink {
                    id: input_of(&f),
                    message: message.clone(),
                })
            })
            .collect();
        // Anything not placed above (a staffing row, a stray field) still gets said.
        if fields.is_empty() {
            fields = errors
                .iter()
                .map(|(f, message)| FieldLink {
                    id: input_of(f),
                    message: message.clone(),
                })
                .collect();
        }
        Refusal { section, fields }
    });
    let saved = saved.and_then(|name| {
        if name == "opened" {
            return Some(Notice {
                section: "incident",
                message: OPENED,
            });
        }
        SECTIONS
            .iter()
            .find(|(id, _, _)| *id == name)
            .map(|(id, _, message)| Notice {
                section: id,
                message,
            })
    });
    let title = own(&incident.title);
    let context = IncidentPage {
        base: Base::new(user, &title),
        slug: incident.slug.as_str(),
        lang: lang.as_str(),
        languages,
        sections: SECTIONS
            .iter()
            .map(|(id, name, _)| SectionLink { id, name })
            .chain([SectionLink {
                id: "timeline",
                name: "Timeline",
            }])
            .collect(),
        saved,
        refused,
        status: value("status", incident.status.as_str().to_owned()),
        severity: value("severity", incident.severity.as_str().to_owned()),
        time_zone: value("time_zone", incident.time_zone.clone()),
        zones: zone_names(),
        language_choices: language_choices(&chosen, Some(&incident.default_language)),
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
        form_fields,
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
    query: Query<PageQuery>,
) -> WebResult<HttpResponse> {
    let incident = load(&state, &slug).await?;
    let lang = editing_language(&incident, query.lang.as_deref());
    let outcome = Outcome {
        typed: &HashMap::new(),
        errors: &FieldErrors::new(),
        saved: query.saved.as_deref(),
        section: "",
    };
    incident_page(&state, &user, &incident, &lang, outcome, StatusCode::OK)
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

/// Back to the saved section, which says it saved.
fn back_to(slug: &str, lang: &Lang, section: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/console/incidents/{slug}?lang={lang}&saved={section}#{section}"),
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
    section: &'static str,
    outcome: AppResult<T>,
    rename: impl Fn(String) -> String,
) -> WebResult<HttpResponse> {
    match outcome {
        Ok(_) => Ok(back_to(incident.slug.as_str(), lang, section)),
        Err(AppError::Invalid(errors)) => {
            let placed: FieldErrors = errors.into_iter().map(|(k, p)| (rename(k), p)).collect();
            let outcome = Outcome {
                typed: form,
                errors: &placed,
                saved: None,
                section,
            };
            incident_page(
                state,
                user,
                incident,
                lang,
                outcome,
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
        languages: Some(ticked_languages(
            &form,
            Some(incident.default_language.as_str()),
        )),
    };
    let outcome = state.app.edit_incident(&user.actor(), &slug, &typed).await;
    saved_or_shown(
        &state,
        &user,
        &incident,
        &lang,
        &form,
        "incident",
        outcome,
        |k| k,
    )
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
    saved_or_shown(
        &state,
        &user,
        &incident,
        &lang,
        &form,
        "update",
        outcome,
        |k| {
            if k == "body" {
                "update_body".to_owned()
            } else {
                k
            }
        },
    )
}

/// A list's errors are keyed `{list}[i].x`, by position in `kinds`; the page has them as
/// `{kind}_x`, beside their field.
fn by_kind(list: &str, kinds: &[&'static str], key: String) -> String {
    let Some(rest) = key.strip_prefix(list).and_then(|k| k.strip_prefix('[')) else {
        return key;
    };
    let mut parts = rest.splitn(2, "].");
    let kind = parts
        .next()
        .and_then(|i| i.parse::<usize>().ok())
        .and_then(|i| kinds.get(i));
    match (kind, parts.next()) {
        (Some(kind), Some(field)) => format!("{kind}_{field}"),
        _ => key,
    }
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
    let kinds = PolicyKind::ALL.map(PolicyKind::as_str);
    saved_or_shown(
        &state,
        &user,
        &incident,
        &lang,
        &form,
        "policies",
        outcome,
        |k| by_kind("policies", &kinds, k),
    )
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
                wait_unit: get("wait_unit"),
                wait_overrides: get("wait_overrides").is_some(),
            }
        })
        .collect();
    let outcome = state
        .app
        .set_channels(&user.actor(), &slug, Some(&lang), &typed)
        .await;
    let kinds = ChannelKind::ALL.map(ChannelKind::as_str);
    saved_or_shown(
        &state,
        &user,
        &incident,
        &lang,
        &form,
        "channels",
        outcome,
        |k| by_kind("channels", &kinds, k),
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
    saved_or_shown(
        &state,
        &user,
        &incident,
        &lang,
        &form,
        "staffing",
        outcome,
        |k| k,
    )
}

#[post("/console/incidents/{slug}/form")]
pub async fn form_section(
    state: Data<AppState>,
    Manager(user): Manager,
    slug: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (incident, lang) = prepare(&state, &user, &slug, &form).await?;
    let typed = FormFieldsText {
        booking_ref: field(&form, "form_booking_ref").unwrap_or_default(),
        booking_ref_label: field(&form, "form_booking_ref_label").unwrap_or_default(),
        departure_date: field(&form, "form_departure_date").unwrap_or_default(),
        departure_date_label: field(&form, "form_departure_date_label").unwrap_or_default(),
    };
    let outcome = state
        .app
        .set_form_fields(&user.actor(), &slug, Some(&lang), &typed)
        .await;
    saved_or_shown(
        &state,
        &user,
        &incident,
        &lang,
        &form,
        "form",
        outcome,
        |k| k,
    )
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
            "letter_signature",
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
            sections: vec![SectionLink {
                id: "update",
                name: "Post an update",
            }],
            saved: Some(Notice {
                section: "update",
                message: "Update published.",
            }),
            refused: Some(Refusal {
                section: "channels",
                fields: vec![FieldLink {
                    id: text("email_address"),
                    message: text("wrong"),
                }],
            }),
            zones: zone_names(),
            language_choices: language_choices(&[Lang::english()], Some(&Lang::english())),
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
            incident_title: text("Storm"),
            summary: text("Flights are cancelled."),
            letter: text("Dear customer"),
            letter_signature: text("The CEO"),
            contact_guidance: text("Use the form."),
            update_body: text("Still cancelled."),
            policies: vec![PolicyRow {
                kind: "refund",
                name: "Refund",
                title: text("Refunds"),
                body: text("We refund."),
                standard: text("5 days"),
                title_error: Some(text("wrong")),
                body_error: Some(text("wrong")),
                standard_error: Some(text("wrong")),
            }],
            channels: vec![ChannelRow {
                kind: "phone",
                name: "Phone",
                label: text("Call us"),
                address: text("+4712345678"),
                wait_low: text("5"),
                wait_high: text("10"),
                units: vec![UnitOption {
                    value: "minutes",
                    selected: true,
                }],
                wait_overrides: true,
                computed: true,
                address_error: Some(text("wrong")),
                label_error: Some(text("wrong")),
                wait_error: Some(text("wrong")),
            }],
            form_fields: vec![FormFieldRow {
                key: "booking_ref",
                name: "Booking reference",
                rules: vec![RuleOption {
                    value: "hidden",
                    text: "not asked",
                    selected: true,
                }],
                label: text("Ticket"),
                rule_error: Some(text("wrong")),
                label_error: Some(text("wrong")),
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
                body_html: text("<p>Cancelled.</p>"),
            }],
            errors: strict::errors_on(&fields),
            public_url: text("/i/storm?lang=en"),
        };
        strict::render("console_incident", &context);
    }
}

#[cfg(test)]
mod placing {
    use super::*;

    #[test]
    fn a_list_error_lands_beside_its_kind() {
        let kinds = ChannelKind::ALL.map(ChannelKind::as_str);
        assert_eq!(
            by_kind("channels", &kinds, "channels[1].address".into()),
            "email_address"
        );
        assert_eq!(
            by_kind("channels", &kinds, "channels[9].wait".into()),
            "channels[9].wait"
        );
        assert_eq!(by_kind("channels", &kinds, "lang".into()), "lang");
        assert_eq!(input_of("email_wait"), "email_wait_low");
        assert_eq!(input_of("staffing[2].until"), "staffing_2_until");
    }

    #[test]
    fn the_default_language_comes_first() {
        let form: HashMap<String, String> =
            [("language_nb", "1"), ("language_fa", "1"), ("title", "x")]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
        assert_eq!(ticked_languages(&form, Some("nb")), "nb, fa");
        assert_eq!(ticked_languages(&form, Some("en")), "en, fa, nb");
    }
}
