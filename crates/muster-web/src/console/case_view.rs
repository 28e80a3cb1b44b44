//! One case as an agent works it, beside the queue: the customer, every contact from every
//! channel in one timeline (each message in its own direction, Persian right to left),
//! notes, replies from canned responses in the case's language ("send and take next"),
//! status, team, merge, a logged call. Every action is one request that redirects back with
//! word that it worked, or shows the page again with what was typed and the problem beside
//! its field.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Form, Path, Query};
use actix_web::{HttpResponse, get, post};
use muster_app::channels::ReplyChoice;
use muster_app::{AppError, AppResult, FieldErrors};
use muster_core::case::{Case, CaseStatus, Identifier};
use muster_core::incident::{ChannelKind, Incident, local_time_label};
use muster_core::language::Lang;
use muster_store::teams::Team;
use serde::Serialize;

use crate::console::auth::ConsoleUser;
use crate::console::flash;
use crate::console::page::{Base, render_with_status};
use crate::console::queue::{
    CaseRow, Done, QueuePanel, QueueQuery, RowContext, case_row, panel, panel_cases,
    take_next_location,
};
use crate::error::{WebError, WebResult};
use crate::state::AppState;

async fn load(state: &AppState, reference: &str) -> WebResult<(Case, Incident)> {
    Ok(state.app.case(reference).await?)
}

#[derive(Serialize)]
struct CasePage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    queue: QueuePanel<'a>,
    case: CaseRow<'a>,
    /// The case's language by name ("فارسی"), and whether it reads right to left.
    language_name: &'static str,
    rtl: bool,
    email: Option<&'a str>,
    phone: Option<&'a str>,
    /// The number the customer asked on the phone line to be called back on, until an agent
    /// logs that they reached them.
    call_back: Option<String>,
    booking_ref: Option<&'a str>,
    handle: Option<&'a str>,
    merged_into: Option<&'a str>,
    first_response: Option<String>,
    slug: &'a str,
    timeline: Vec<TimelineRow>,
    canned: Vec<CannedRow<'a>>,
    reply: &'a str,
    typed: Kept<'a>,
    /// Field → what is wrong with what was typed there, shown beside the field.
    errors: BTreeMap<String, String>,
    teams: Vec<Team>,
    statuses: [&'static str; 3],
    /// Word that the last action worked.
    done: Option<String>,
    /// Colleagues who have this case open too, or hold it.
    others: Vec<String>,
    /// Cases that look like the same request: the same booking, or name and phone.
    duplicates: Vec<Duplicate<'a>>,
    /// Merges into this case that can still be undone.
    undoable: Vec<Undoable>,
    /// The channels the reply can go out on, where the case came from first.
    send_by: Vec<SendByRow>,
    /// The approved WhatsApp template offered once the 24-hour window has closed.
    whatsapp_template: Option<String>,
    /// The reply was refused as several SMS: the agent may confirm it.
    confirm_long_sms: bool,
}

#[derive(Serialize)]
struct SendByRow {
    channel: &'static str,
    label: String,
    selected: bool,
    window_closed: bool,
}

#[derive(Serialize)]
struct DeliveryRow {
    status: &'static str,
    error: Option<String>,
}

#[derive(Serialize)]
struct Duplicate<'a> {
    case: CaseRow<'a>,
    why: String,
}

#[derive(Serialize)]
struct Undoable {
    id: i64,
    source: String,
    until: String,
}

#[derive(Serialize)]
struct TimelineRow {
    direction: &'static str,
    channel: String,
    author: Option<String>,
    body: String,
    at: String,
    /// Where a message on a channel other than email stands: queued, sent, delivered, read,
    /// failed (with the provider's reason), or unknown (the sender stopped mid-send).
    delivery: Option<DeliveryRow>,
    /// For a message from a writer who gave this case's identifier without its link:
    /// what the agent is told about it.
    unverified: Option<String>,
}

#[derive(Serialize)]
struct CannedRow<'a> {
    key: &'a str,
    title: &'a str,
    text: Option<String>,
    /// The language the text is in: the case's, or the incident's default when the
    /// response has none in the case's language.
    lang: String,
}

/// What the agent typed into the forms that are not the reply, kept when one comes back.
#[derive(Serialize)]
struct Kept<'a> {
    note: &'a str,
    call_notes: &'a str,
    into: &'a str,
}

/// What a case page shows besides the case: the query of the queue beside it and the word
/// of the last action.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CaseQuery {
    #[serde(flatten)]
    queue: QueueQuery,
}

struct Shown<'a> {
    typed: &'a HashMap<String, String>,
    errors: &'a FieldErrors,
    status: StatusCode,
    query: &'a QueueQuery,
}

async fn case_page(
    state: &AppState,
    user: &ConsoleUser,
    case: &Case,
    incident: &Incident,
    shown: Shown<'_>,
) -> WebResult<HttpResponse> {
    let Shown {
        typed,
        errors,
        status,
        query,
    } = shown;
    let confirm_long_sms = errors
        .get("body")
        .is_some_and(|p| p.key.starts_with("err_long_sms"));
    let errors = state.translations.messages(&Lang::english(), errors);
    let chosen = typed.get("send_by").map(String::as_str);
    let send_by = state
        .app
        .send_options(case)
        .await?
        .into_iter()
        .map(|o| SendByRow {
            channel: o.channel.as_str(),
            label: format!("{} to {}", channel_label(o.channel), o.recipient),
            selected: chosen.map_or(o.default, |c| c == o.channel.as_str()),
            window_closed: o.window_closed,
        })
        .collect();
    let timeline = state
        .store
        .timeline(case.id)
        .await?
        .into_iter()
        .map(|e| TimelineRow {
            direction: e.direction.as_str(),
            at: local_time_label(&incident.time_zone, e.created_at),
            channel: e.channel,
            author: e.author,
            body: e.body,
            delivery: e.delivery.map(|d| DeliveryRow {
                status: d.status.as_str(),
                error: d.error,
            }),
            unverified: e.unverified.map(|(from, on)| {
                format!(
                    "on {from}, whose writer gave this case's {} without its case link",
                    identifier_words(on)
                )
            }),
        })
        .collect();
    let lang = incident.pick_language(Lang::parse(&case.language).ok().as_ref());
    let canned = incident
        .settings
        .canned
        .iter()
        .map(|c| CannedRow {
            key: &c.key,
            title: &c.title,
            text: state.app.fill_canned(incident, case, &c.key),
            lang: if c.body.languages().any(|l| *l == lang) {
                lang.as_str().to_owned()
            } else {
                incident.default_language.as_str().to_owned()
            },
        })
        .collect();
    let done = flash::message(state, query.done.as_deref());
    let query = QueueQuery {
        incident: Some(incident.slug.as_str().to_owned()),
        done: None,
        ..query.clone()
    };
    let loaded = panel_cases(state, user, incident, &query).await?;
    let mut listed = loaded.cases.clone();
    listed.push(case.clone());
    let rows = RowContext::load(state, user, &listed).await?;
    let row = case_row(state, incident, case, &rows);
    let mut others = state.presence.others(case.reference.as_str(), user.user.id);
    if let Some(holder) = row.holder.as_ref().filter(|_| !row.held_by_me)
        && !others.contains(holder)
    {
        others.push(holder.clone());
    }
    state
        .presence
        .saw(case.reference.as_str(), user.user.id, &user.user.name);
    let case_lang = Lang::parse(&case.language).ok();
    let duplicates = state.store.likely_duplicates(case).await?;
    let duplicate_rows = RowContext::load(state, user, &duplicates).await?;
    let undoable = state
        .app
        .undoable_merges(case)
        .await?
        .into_iter()
        .map(|m| Undoable {
            id: m.id,
            source: m.source_reference,
            until: local_time_label(
                &incident.time_zone,
                m.merged_at + muster_app::merging::UNDO_WINDOW,
            ),
        })
        .collect();
    let context = CasePage {
        base: Base::new(user, case.reference.as_str()),
        queue: panel(
            state,
            incident,
            &loaded,
            &rows,
            &query,
            case.reference.as_str(),
        )
        .await?,
        case: row,
        language_name: case_lang
            .as_ref()
            .map(muster_app::i18n::endonym)
            .unwrap_or("—"),
        rtl: case_lang.as_ref().is_some_and(Lang::is_rtl),
        email: case.email.as_deref(),
        phone: case.phone.as_deref(),
        call_back: state.app.call_back_of(case).await?,
        booking_ref: case.booking_ref.as_deref(),
        handle: case.handle.as_deref(),
        merged_into: case.merged_into.as_deref(),
        first_response: case
            .first_response_at
            .map(|t| local_time_label(&incident.time_zone, t)),
        slug: incident.slug.as_str(),
        timeline,
        canned,
        reply: field(typed, "body"),
        typed: Kept {
            note: field(typed, "note"),
            call_notes: field(typed, "call_notes"),
            into: field(typed, "into"),
        },
        errors,
        teams: state.store.list_teams().await?,
        statuses: [
            CaseStatus::Open.as_str(),
            CaseStatus::WaitingOnCustomer.as_str(),
            CaseStatus::Resolved.as_str(),
        ],
        done,
        others,
        duplicates: duplicates
            .iter()
            .map(|d| Duplicate {
                why: duplicate_reason(case, d),
                case: case_row(state, incident, d, &duplicate_rows),
            })
            .collect(),
        undoable,
        send_by,
        whatsapp_template: state
            .app
            .settings
            .channels
            .whatsapp_template
            .as_ref()
            .map(|t| format!("{} ({})", t.name, t.language)),
        confirm_long_sms,
    };
    render_with_status(state, "console_case", &context, status)
}

/// A channel as agents read it in the "Send by" choice.
fn channel_label(channel: ChannelKind) -> &'static str {
    match channel {
        ChannelKind::Email => "Email",
        ChannelKind::Sms => "SMS",
        ChannelKind::Whatsapp => "WhatsApp",
        ChannelKind::Telegram => "Telegram",
        ChannelKind::Social => "Social media",
        ChannelKind::Chat => "Chat",
        ChannelKind::Form => "Online form",
        ChannelKind::Phone => "Phone",
    }
}

/// An identifier as the agent reads it.
fn identifier_words(on: Identifier) -> &'static str {
    match on {
        Identifier::Email => "email address",
        Identifier::Phone => "phone number",
        Identifier::BookingRef => "booking reference",
        Identifier::Handle => "account",
    }
}

/// Why `other` is suggested as a duplicate of `case`.
fn duplicate_reason(case: &Case, other: &Case) -> String {
    let gave = |by: &Case, of: &Case| {
        by.unverified_match
            .as_ref()
            .filter(|m| m.reference == of.reference)
            .map(|m| m.on)
    };
    if let Some(on) = gave(other, case) {
        format!(
            "gave this case's {} without its link (unverified)",
            identifier_words(on)
        )
    } else if let Some(on) = gave(case, other) {
        format!(
            "this case's writer gave its {} without its link (unverified)",
            identifier_words(on)
        )
    } else if other.booking_ref.is_some() && other.booking_ref == case.booking_ref {
        "same booking".to_owned()
    } else {
        "same name and phone".to_owned()
    }
}

#[get("/console/cases/{reference}")]
pub async fn show(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    query: Query<CaseQuery>,
) -> WebResult<HttpResponse> {
    let (case, incident) = load(&state, &reference).await?;
    let shown = Shown {
        typed: &HashMap::new(),
        errors: &FieldErrors::new(),
        status: StatusCode::OK,
        query: &query.queue,
    };
    case_page(&state, &user, &case, &incident, shown).await
}

type Fields = Form<HashMap<String, String>>;

/// Back to `case` (or the case named), saying that `done` worked.
pub(crate) fn back(case: &Case, done: &str) -> HttpResponse {
    see_other(format!("/console/cases/{}?done={done}", case.reference))
}

fn see_other(location: String) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Checks the CSRF token, loads the case, and keeps the agent's claim alive.
pub(crate) async fn prepare(
    state: &AppState,
    user: &ConsoleUser,
    reference: &str,
    form: &HashMap<String, String>,
) -> WebResult<(Case, Incident)> {
    user.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
    let (case, incident) = load(state, reference).await?;
    state.app.keep_claim(&user.actor(), &case).await?;
    Ok((case, incident))
}

/// The case page again with everything typed and the problem beside its field, when the
/// use case refused what was typed; any other error as it is.
pub(crate) async fn shown_again(
    state: &AppState,
    user: &ConsoleUser,
    (case, incident): (Case, Incident),
    form: &HashMap<String, String>,
    error: AppError,
) -> WebResult<HttpResponse> {
    match error {
        AppError::Invalid(errors) => {
            let shown = Shown {
                typed: form,
                errors: &errors,
                status: StatusCode::UNPROCESSABLE_ENTITY,
                query: &QueueQuery::default(),
            };
            case_page(state, user, &case, &incident, shown).await
        }
        other => Err(other.into()),
    }
}

/// After an action: back to the case saying `done`, or the case page again.
async fn done_or_shown(
    state: &AppState,
    user: &ConsoleUser,
    loaded: (Case, Incident),
    form: &HashMap<String, String>,
    outcome: AppResult<()>,
    done: &str,
) -> WebResult<HttpResponse> {
    match outcome {
        Ok(()) => Ok(back(&loaded.0, done)),
        Err(error) => shown_again(state, user, loaded, form, error).await,
    }
}

pub(crate) fn field<'a>(form: &'a HashMap<String, String>, key: &str) -> &'a str {
    form.get(key).map(String::as_str).unwrap_or("")
}

#[post("/console/cases/{reference}/note")]
pub async fn add_note(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let loaded = prepare(&state, &user, &reference, &form).await?;
    let outcome = state
        .app
        .add_note(&user.actor(), &loaded.0, field(&form, "note"))
        .await;
    done_or_shown(&state, &user, loaded, &form, outcome, "note").await
}

const REPLIED: Done = Done {
    with_next: "reply_next",
    alone: "reply",
};

/// Sends the reply; with `next` set ("send and take next") goes on to the next case.
#[post("/console/cases/{reference}/reply")]
pub async fn send_reply(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (case, incident) = prepare(&state, &user, &reference, &form).await?;
    let typed = field(&form, "body");
    let canned = form
        .get("canned")
        .filter(|k| !k.is_empty() && typed.trim().is_empty())
        .and_then(|key| state.app.fill_canned(&incident, &case, key));
    let body = canned.as_deref().unwrap_or(typed);
    let then = form.get("then").and_then(|s| CaseStatus::parse(s));
    let checked = |name: &str| form.get(name).is_some_and(|v| !v.is_empty());
    let choice = ReplyChoice {
        via: form.get("send_by").and_then(|c| ChannelKind::parse(c)),
        template: checked("template"),
        long_sms_confirmed: checked("long_sms_ok"),
    };
    let outcome = state
        .app
        .reply_by(&user.actor(), &case, &incident, body, choice, then)
        .await;
    match outcome {
        Ok(()) if form.get("next").is_some_and(|n| !n.is_empty()) => {
            let location = take_next_location(&state, &user, &incident, Some(REPLIED)).await?;
            Ok(see_other(location))
        }
        Ok(()) => Ok(back(&case, "reply")),
        Err(error) => shown_again(&state, &user, (case, incident), &form, error).await,
    }
}

#[post("/console/cases/{reference}/status")]
pub async fn set_status(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let (case, _) = prepare(&state, &user, &reference, &form).await?;
    let status = CaseStatus::parse(field(&form, "status")).ok_or_else(|| {
        WebError::BadRequest("status must be open, waiting_on_customer or resolved".into())
    })?;
    state
        .app
        .set_case_status(&user.actor(), &case, status)
        .await?;
    let done = if status == CaseStatus::Resolved {
        "resolved"
    } else {
        "status"
    };
    Ok(back(&case, done))
}

#[post("/console/cases/{reference}/team")]
pub async fn move_team(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let loaded = prepare(&state, &user, &reference, &form).await?;
    let outcome = state
        .app
        .move_team(&user.actor(), &loaded.0, field(&form, "team"))
        .await;
    done_or_shown(&state, &user, loaded, &form, outcome, "team").await
}

#[post("/console/cases/{reference}/call")]
pub async fn log_call(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let loaded = prepare(&state, &user, &reference, &form).await?;
    let (actor, notes) = (user.actor(), field(&form, "call_notes"));
    // A case waiting for a call back offers what came of the call.
    let outcome = match field(&form, "call_back") {
        "" => {
            state
                .app
                .log_call(&actor, &loaded.0, &loaded.1, notes)
                .await
        }
        "reached" | "no_answer" => {
            let reached = field(&form, "call_back") == "reached";
            state
                .app
                .log_call_back(&actor, &loaded.0, &loaded.1, notes, reached)
                .await
        }
        _ => {
            return Err(WebError::BadRequest(
                "call_back must be reached or no_answer".into(),
            ));
        }
    };
    done_or_shown(&state, &user, loaded, &form, outcome, "call").await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::page::sample;
    use crate::console::queue;
    use crate::templates::strict;

    #[test]
    fn the_template_names_only_what_the_page_has() {
        let filter = QueueQuery::default();
        let context = CasePage {
            base: sample::base("MU-ABC-123"),
            queue: queue::sample::panel(&filter),
            case: queue::sample::case_row(),
            language_name: "فارسی",
            rtl: true,
            email: Some("ada@example.com"),
            phone: Some("+4712345678"),
            call_back: Some("+4712345678".into()),
            booking_ref: Some("BK1"),
            handle: Some("@ada"),
            merged_into: Some("MU-DEF-456"),
            first_response: Some("1 Jan 10:05".into()),
            slug: "storm",
            timeline: vec![TimelineRow {
                direction: "inbound",
                channel: "form".into(),
                author: Some("agent@example.com".into()),
                body: "Help".into(),
                at: "1 Jan 10:00".into(),
                delivery: Some(DeliveryRow {
                    status: "failed",
                    error: Some("HTTP 400 (Twilio error 21211) Invalid 'To' Phone Number".into()),
                }),
                unverified: Some("on MU-XYZ-789, whose writer gave this case's email".into()),
            }],
            canned: vec![CannedRow {
                key: "refund",
                title: "Refund",
                text: Some("We refund.".into()),
                lang: "fa".into(),
            }],
            reply: "Hello",
            typed: Kept {
                note: "n",
                call_notes: "c",
                into: "MU-DEF-456",
            },
            errors: strict::errors_on(&[
                "body",
                "note",
                "call_notes",
                "team",
                "into",
                "undo",
                "send_by",
            ]),
            teams: vec![Team {
                id: 1,
                key: "refunds".into(),
                name: "Refunds".into(),
            }],
            statuses: ["open", "waiting_on_customer", "resolved"],
            done: Some("Reply sent.".into()),
            others: vec!["Berit Agent".into()],
            duplicates: vec![Duplicate {
                case: queue::sample::case_row(),
                why: "same booking".into(),
            }],
            undoable: vec![Undoable {
                id: 7,
                source: "MU-DEF-456".into(),
                until: "1 Jan 10:10".into(),
            }],
            send_by: vec![SendByRow {
                channel: "whatsapp",
                label: "WhatsApp to +4791234567".into(),
                selected: true,
                window_closed: true,
            }],
            whatsapp_template: Some("case_update (en)".into()),
            confirm_long_sms: true,
        };
        strict::render("console_case", &context);
    }
}
