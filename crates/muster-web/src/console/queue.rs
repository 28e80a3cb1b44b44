//! The agents' working view: the queue beside the open case (stacked on a phone), with
//! counts per tier, "my cases" and the team's queue, an incident switcher, a search, and
//! "take next", which hands the agent the most urgent unclaimed case. Each listed case
//! shows its tier, the time left to its first-response target, its age, channel,
//! language, the last message and who holds it.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::web::{Data, Form, Query};
use actix_web::{HttpResponse, get, post};
use muster_core::case::{Case, CaseStatus};
use muster_core::incident::{Incident, RequestType, SlaTargets};
use muster_core::priority::Tier;
use muster_store::queue::{QueueFilter, QueueScope, TierCounts};
use muster_store::teams::Team;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::console::auth::ConsoleUser;
use crate::console::flash;
use crate::console::page::{Base, render};
use crate::error::{WebError, WebResult};
use crate::state::AppState;

const PAGE_SIZE: u64 = 100;

/// The incident a view names, else the current crisis.
pub async fn working_incident(state: &AppState, slug: Option<&str>) -> WebResult<Incident> {
    let slug = match slug.filter(|s| !s.is_empty()) {
        Some(slug) => slug.to_owned(),
        None => state.publication.crisis_slug().ok_or(WebError::NotFound)?,
    };
    state
        .store
        .incident_by_slug(&slug)
        .await?
        .ok_or(WebError::NotFound)
}

/// The incident an agent works: the one named; else the newest live incident that has open
/// cases for the agent's teams; else the current crisis.
pub async fn agents_incident(
    state: &AppState,
    user: &ConsoleUser,
    slug: Option<&str>,
) -> WebResult<Incident> {
    let named = slug.filter(|s| !s.is_empty());
    let with_work = match named {
        Some(_) => None,
        None => incident_with_work(state, user).await?,
    };
    working_incident(state, named.or(with_work.as_deref())).await
}

async fn incident_with_work(state: &AppState, user: &ConsoleUser) -> WebResult<Option<String>> {
    let teams = if user.user.role.is_manager() {
        None
    } else {
        Some(state.store.user_teams(user.user.id).await?)
    };
    for incident in state.store.live_incidents().await? {
        if state
            .store
            .has_open_cases(incident.id, teams.as_deref())
            .await?
        {
            return Ok(Some(incident.slug));
        }
    }
    Ok(None)
}

/// "12 min", "3 h 05 min", "2 d 4 h": short enough for a list on a phone.
pub fn short_duration(span: Duration) -> String {
    let minutes = span.whole_minutes().abs();
    match minutes {
        0 => "<1 min".to_owned(),
        1..60 => format!("{minutes} min"),
        60..1440 => format!("{} h {:02} min", minutes / 60, minutes % 60),
        _ => format!("{} d {} h", minutes / 1440, minutes % 1440 / 60),
    }
}

fn target(sla: SlaTargets, tier: Tier) -> Duration {
    Duration::minutes(match tier {
        Tier::Critical => sla.critical_minutes,
        Tier::High => sla.high_minutes,
        Tier::Normal => sla.normal_minutes,
    })
}

/// Where a case stands against its first-response target.
#[derive(Debug, Serialize)]
pub struct Countdown {
    /// The target as an RFC 3339 instant, for the page's clock to count down to.
    pub due: String,
    /// "in 3 h 05 min" or "12 min overdue", as of rendering.
    pub label: String,
    pub overdue: bool,
}

fn countdown(incident: &Incident, tier: Tier, case: &Case, now: OffsetDateTime) -> Countdown {
    let due = case.created_at + target(incident.settings.sla, tier);
    let left = due - now;
    let overdue = left.is_negative() || case.overdue_at.is_some();
    Countdown {
        due: due
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        label: if overdue {
            format!("{} overdue", short_duration(left))
        } else {
            format!("in {}", short_duration(left))
        },
        overdue,
    }
}

/// A case as the queue lists it and the case page heads it.
#[derive(Debug, Serialize)]
pub struct CaseRow<'a> {
    pub reference: &'a str,
    pub name: &'a str,
    pub tier: &'static str,
    pub needs_date: bool,
    pub departure: Option<String>,
    pub request_type: &'a str,
    pub team: Option<&'a str>,
    pub channel: &'static str,
    pub language: &'a str,
    pub status: &'static str,
    pub contacts: i32,
    pub overdue: bool,
    /// Time left to the first-response target; `None` once answered or closed.
    pub countdown: Option<Countdown>,
    /// How long ago the case came in.
    pub age: String,
    pub received: String,
    /// Who holds the case while their claim runs.
    pub holder: Option<String>,
    pub held_by_me: bool,
    /// The last message to or from the customer, on one line.
    pub preview: Option<String>,
}

/// What a list of cases needs besides the cases: who is who, and the last messages.
pub struct RowContext {
    pub names: HashMap<i64, String>,
    pub previews: HashMap<i64, String>,
    pub me: i64,
}

impl RowContext {
    pub async fn load(state: &AppState, user: &ConsoleUser, cases: &[Case]) -> WebResult<Self> {
        let ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
        Ok(Self {
            names: state.store.user_names().await?,
            previews: state.store.last_messages(&ids).await?,
            me: user.user.id,
        })
    }
}

pub fn case_row<'a>(
    state: &AppState,
    incident: &Incident,
    case: &'a Case,
    context: &RowContext,
) -> CaseRow<'a> {
    let now = state.app.now();
    let priority = incident
        .settings
        .windows
        .priority(case.departure_date, incident.today(now));
    let holder_id = case
        .claimed_by
        .filter(|_| case.lease_until.is_some_and(|l| l > now));
    let unanswered = case.first_response_at.is_none() && case.status == CaseStatus::Open;
    CaseRow {
        reference: case.reference.as_str(),
        name: &case.customer_name,
        tier: priority.tier.as_str(),
        needs_date: priority.needs_date,
        departure: case.departure_date.map(|d| d.to_string()),
        request_type: &case.request_type,
        team: case.team.as_deref(),
        channel: case.channel.as_str(),
        language: &case.language,
        status: case.status.as_str(),
        contacts: case.contact_count,
        overdue: case.overdue_at.is_some(),
        countdown: unanswered.then(|| countdown(incident, priority.tier, case, now)),
        age: short_duration(now - case.created_at),
        received: muster_core::incident::local_time_label(&incident.time_zone, case.created_at),
        holder: holder_id.map(|id| context.names.get(&id).cloned().unwrap_or_default()),
        held_by_me: holder_id == Some(context.me),
        preview: context.previews.get(&case.id).cloned(),
    }
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct QueueQuery {
    pub incident: Option<String>,
    /// `mine` for the cases the agent holds; anything else the team's queue.
    pub view: Option<String>,
    /// A case or booking reference, an email address or a phone number.
    pub q: Option<String>,
    pub team: Option<String>,
    pub request_type: Option<String>,
    pub tier: Option<String>,
    pub status: Option<String>,
    pub channel: Option<String>,
    pub needs_date: Option<String>,
    pub overdue: Option<String>,
    pub empty: Option<String>,
    pub done: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct IncidentChoice {
    slug: String,
    title: String,
    selected: bool,
}

/// The queue column of the working view, on the queue page and beside an open case.
#[derive(Serialize)]
pub struct QueuePanel<'a> {
    pub slug: &'a str,
    pub incident_title: &'a str,
    pub incidents: Vec<IncidentChoice>,
    pub mine: bool,
    pub mine_count: usize,
    pub search: &'a str,
    pub searched: bool,
    pub counts: TierCounts,
    pub cases: Vec<CaseRow<'a>>,
    /// The filters as asked, so the form shows them chosen.
    pub filter: &'a QueueQuery,
    pub teams: Vec<Team>,
    pub request_types: &'a [RequestType],
    /// The case open beside the list, highlighted in it.
    pub open: &'a str,
    /// Where the page fetches a fresh list when the live feed says something changed.
    pub refresh: String,
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_ref()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The cases a panel lists, as loaded, before they are rows.
pub struct PanelCases {
    pub cases: Vec<Case>,
    pub mine: Vec<Case>,
    pub counts: TierCounts,
}

pub async fn panel_cases(
    state: &AppState,
    user: &ConsoleUser,
    incident: &Incident,
    query: &QueueQuery,
) -> WebResult<PanelCases> {
    let scope = QueueScope {
        teams: None,
        ..state.app.queue_scope(&user.actor(), incident).await?
    };
    let now = state.app.now();
    let mine = state
        .store
        .cases_held_by(user.user.id, incident.id, now, PAGE_SIZE)
        .await?;
    let cases = if let Some(text) = non_empty(&query.q) {
        state
            .store
            .search_cases(incident.id, &text, PAGE_SIZE)
            .await?
    } else if query.view.as_deref() == Some("mine") {
        mine.clone()
    } else {
        let filter = QueueFilter {
            team: non_empty(&query.team),
            request_type: non_empty(&query.request_type),
            tier: non_empty(&query.tier).and_then(|t| Tier::parse(&t)),
            status: non_empty(&query.status).and_then(|s| CaseStatus::parse(&s)),
            channel: non_empty(&query.channel),
            needs_date: query.needs_date.is_some(),
            overdue: query.overdue.is_some(),
        };
        state.store.queue_page(&scope, &filter, PAGE_SIZE).await?
    };
    let counts = state.store.tier_counts(&scope).await?;
    Ok(PanelCases {
        cases,
        mine,
        counts,
    })
}

fn refresh_url(query: &QueueQuery, slug: &str, open: &str) -> String {
    let mut query = query.clone();
    query.incident = Some(slug.to_owned());
    query.empty = None;
    query.done = None;
    let mut url = format!("/console/queue/panel?{}", query_string(&query));
    if !open.is_empty() {
        url.push_str("&open=");
        url.push_str(open);
    }
    url
}

fn query_string(query: &QueueQuery) -> String {
    let pairs: Vec<(&str, &str)> = [
        ("incident", &query.incident),
        ("view", &query.view),
        ("q", &query.q),
        ("team", &query.team),
        ("request_type", &query.request_type),
        ("tier", &query.tier),
        ("status", &query.status),
        ("channel", &query.channel),
        ("needs_date", &query.needs_date),
        ("overdue", &query.overdue),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| (k, v)))
    .collect();
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

pub async fn panel<'a>(
    state: &AppState,
    incident: &'a Incident,
    loaded: &'a PanelCases,
    rows: &RowContext,
    query: &'a QueueQuery,
    open: &'a str,
) -> WebResult<QueuePanel<'a>> {
    let incidents = state
        .store
        .live_incidents()
        .await?
        .into_iter()
        .map(|i| IncidentChoice {
            selected: i.slug == incident.slug.as_str(),
            title: i
                .title
                .get(&incident.default_language, &incident.default_language)
                .to_owned(),
            slug: i.slug,
        })
        .collect();
    Ok(QueuePanel {
        slug: incident.slug.as_str(),
        incident_title: incident
            .title
            .get(&incident.default_language, &incident.default_language),
        incidents,
        mine: query.view.as_deref() == Some("mine"),
        mine_count: loaded.mine.len(),
        search: query.q.as_deref().unwrap_or(""),
        searched: non_empty(&query.q).is_some(),
        counts: loaded.counts,
        cases: loaded
            .cases
            .iter()
            .map(|c| case_row(state, incident, c, rows))
            .collect(),
        filter: query,
        teams: state.store.list_teams().await?,
        request_types: &incident.settings.request_types,
        open,
        refresh: refresh_url(query, incident.slug.as_str(), open),
    })
}

#[derive(Serialize)]
struct QueuePage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    queue: QueuePanel<'a>,
    empty: bool,
    done: Option<String>,
}

#[get("/console/queue")]
pub async fn list(
    state: Data<AppState>,
    user: ConsoleUser,
    query: Query<QueueQuery>,
) -> WebResult<HttpResponse> {
    let incident = agents_incident(&state, &user, query.incident.as_deref()).await?;
    let loaded = panel_cases(&state, &user, &incident, &query).await?;
    let rows = RowContext::load(&state, &user, &loaded.cases).await?;
    let context = QueuePage {
        base: Base::new(&user, "Queue"),
        queue: panel(&state, &incident, &loaded, &rows, &query, "").await?,
        empty: query.empty.is_some(),
        done: flash::message(&state, query.done.as_deref()),
    };
    render(&state, "console_queue", &context)
}

#[derive(Debug, Deserialize)]
pub struct PanelQuery {
    #[serde(flatten)]
    query: QueueQuery,
    open: Option<String>,
}

#[derive(Serialize)]
struct PanelFragment<'a> {
    queue: QueuePanel<'a>,
}

/// The queue list alone, fetched by the working view when the live feed announces a change.
#[get("/console/queue/panel")]
pub async fn list_fragment(
    state: Data<AppState>,
    user: ConsoleUser,
    query: Query<PanelQuery>,
) -> WebResult<HttpResponse> {
    let PanelQuery { query, open } = query.into_inner();
    let incident = agents_incident(&state, &user, query.incident.as_deref()).await?;
    let loaded = panel_cases(&state, &user, &incident, &query).await?;
    let rows = RowContext::load(&state, &user, &loaded.cases).await?;
    let open = open.unwrap_or_default();
    let context = PanelFragment {
        queue: panel(&state, &incident, &loaded, &rows, &query, &open).await?,
    };
    render(&state, "console_queue_fragment", &context)
}

#[derive(Debug, Deserialize)]
pub struct TakeForm {
    csrf: String,
    incident: Option<String>,
}

/// What "take next" says of the action before it: `done` when it leads to the next case,
/// `done_alone` when none is left.
pub struct Done {
    pub with_next: &'static str,
    pub alone: &'static str,
}

/// Where "take next" leads: the case taken, or the queue saying none waits.
pub async fn take_next_location(
    state: &AppState,
    user: &ConsoleUser,
    incident: &Incident,
    done: Option<Done>,
) -> WebResult<String> {
    let next = state.app.take_next(&user.actor(), incident).await?;
    Ok(match next {
        Some(case) => {
            let done = done
                .map(|d| format!("?done={}", d.with_next))
                .unwrap_or_default();
            format!("/console/cases/{}{done}", case.reference)
        }
        None => {
            let done = done
                .map(|d| format!("&done={}", d.alone))
                .unwrap_or_default();
            format!("/console/queue?incident={}&empty=1{done}", incident.slug)
        }
    })
}

#[post("/console/queue/take")]
pub async fn take(
    state: Data<AppState>,
    user: ConsoleUser,
    form: Form<TakeForm>,
) -> WebResult<HttpResponse> {
    user.check_csrf(&form.csrf)?;
    let incident = agents_incident(&state, &user, form.incident.as_deref()).await?;
    let location = take_next_location(&state, &user, &incident, None).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish())
}

#[cfg(test)]
pub mod sample {
    use super::*;
    use muster_core::localized::Localized;

    /// A case row with every field filled, for rendering templates in tests.
    pub fn case_row() -> CaseRow<'static> {
        CaseRow {
            reference: "MU-ABC-123",
            name: "Ada",
            tier: "critical",
            needs_date: false,
            departure: Some("2026-01-02".into()),
            request_type: "refund",
            team: Some("refunds"),
            channel: "form",
            language: "fa",
            status: "open",
            contacts: 2,
            overdue: true,
            countdown: Some(Countdown {
                due: "2026-01-01T14:00:00Z".into(),
                label: "12 min overdue".into(),
                overdue: true,
            }),
            age: "4 h 12 min".into(),
            received: "1 Jan 10:00".into(),
            holder: Some("Arne Agent".into()),
            held_by_me: false,
            preview: Some("Is my sailing cancelled?".into()),
        }
    }

    pub static REQUEST_TYPES: std::sync::LazyLock<Vec<RequestType>> =
        std::sync::LazyLock::new(|| {
            vec![RequestType {
                key: "refund".into(),
                label: Localized::new(),
                team: None,
            }]
        });

    /// A queue panel with every part filled.
    pub fn panel(filter: &QueueQuery) -> QueuePanel<'_> {
        QueuePanel {
            slug: "storm",
            incident_title: "Storm",
            incidents: vec![IncidentChoice {
                slug: "storm".into(),
                title: "Storm".into(),
                selected: true,
            }],
            mine: false,
            mine_count: 1,
            search: "",
            searched: true,
            counts: TierCounts::default(),
            cases: vec![case_row()],
            filter,
            teams: vec![Team {
                id: 1,
                key: "refunds".into(),
                name: "Refunds".into(),
            }],
            request_types: &REQUEST_TYPES,
            open: "MU-ABC-123",
            refresh: "/console/queue/panel?incident=storm".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::page;
    use crate::templates::strict;

    #[test]
    fn the_template_names_only_what_the_page_has() {
        let filter = QueueQuery {
            team: Some("refunds".into()),
            ..QueueQuery::default()
        };
        let context = QueuePage {
            base: page::sample::base("Queue"),
            queue: sample::panel(&filter),
            empty: true,
            done: Some("Reply sent.".into()),
        };
        strict::render("console_queue", &context);
        strict::render(
            "console_queue_fragment",
            &PanelFragment {
                queue: sample::panel(&filter),
            },
        );
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(short_duration(Duration::seconds(30)), "<1 min");
        assert_eq!(short_duration(Duration::minutes(12)), "12 min");
        assert_eq!(short_duration(Duration::minutes(-185)), "3 h 05 min");
        assert_eq!(short_duration(Duration::hours(52)), "2 d 4 h");
    }
}
