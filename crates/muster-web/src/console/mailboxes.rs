//! The IMAP mailboxes, for managers: each one's state (connected, last fetch, cursor,
//! backlog, last error) and the quarantine of messages that could not be taken in, each
//! with its error and a button to try it again.

use actix_web::http::header;
use actix_web::web::{Data, Form, Path, Query};
use actix_web::{HttpResponse, get, post};
use muster_app::mailboxes::RetryOutcome;
use muster_store::mailboxes::MailboxStatus;
use muster_store::quarantine::QuarantinedEmail;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::console::auth::Manager;
use crate::console::page::{Base, render};
use crate::error::WebResult;
use crate::state::AppState;

fn when(at: Option<OffsetDateTime>) -> String {
    at.and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
}

#[derive(Serialize)]
struct MailboxRow<'a> {
    name: &'a str,
    /// In words: connected, waiting for a replica, or failing.
    state: &'static str,
    failing: bool,
    last_fetch_at: String,
    cursor: String,
    backlog: i64,
    last_error: Option<&'a str>,
    last_error_at: String,
}

fn mailbox_row(m: &MailboxStatus) -> MailboxRow<'_> {
    // A failing fetcher waits out its backoff, which may outlast its lease.
    let state = match (m.held, m.state.as_str()) {
        (_, "error") => "failing; retrying",
        (false, _) => "no replica is fetching it",
        (true, "connected") => "connected",
        (true, _) => "connecting",
    };
    MailboxRow {
        name: &m.name,
        state,
        failing: m.state == "error",
        last_fetch_at: when(m.last_fetch_at),
        cursor: match m.uid_validity {
            Some(validity) => format!("UID {} (UIDVALIDITY {validity})", m.next_uid),
            None => "not read yet".to_owned(),
        },
        backlog: m.backlog,
        last_error: m.last_error.as_deref(),
        last_error_at: when(m.last_error_at),
    }
}

#[derive(Serialize)]
struct QuarantineRow<'a> {
    id: i64,
    source: &'a str,
    error: &'a str,
    attempts: i32,
    size: i64,
    quarantined_at: String,
    last_tried_at: String,
    /// This row was just tried again and is still refused.
    refused_again: bool,
}

fn quarantine_row(q: &QuarantinedEmail, refused: Option<i64>) -> QuarantineRow<'_> {
    QuarantineRow {
        id: q.id,
        source: &q.source,
        error: &q.error,
        attempts: q.attempts,
        size: q.size,
        quarantined_at: when(Some(q.quarantined_at)),
        last_tried_at: when(Some(q.last_tried_at)),
        refused_again: refused == Some(q.id),
    }
}

#[derive(Serialize)]
struct MailboxesPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    mailboxes: Vec<MailboxRow<'a>>,
    quarantine: Vec<QuarantineRow<'a>>,
    quarantined: u64,
    /// More wait than the page lists.
    more: bool,
    /// The case a message just retried was taken in on.
    taken: Option<&'a str>,
    /// A message just retried was a delivery report or complaint.
    report: bool,
}

/// After a retry: the case it was taken in on, or the row that is still refused.
#[derive(Debug, Deserialize)]
pub struct Retried {
    taken: Option<String>,
    report: Option<u8>,
    refused: Option<i64>,
}

#[get("/console/mailboxes")]
pub async fn show(
    state: Data<AppState>,
    Manager(user): Manager,
    retried: Query<Retried>,
) -> WebResult<HttpResponse> {
    let overview = state.app.mailbox_overview(&user.actor()).await?;
    let context = MailboxesPage {
        base: Base::new(&user, "Mailboxes"),
        mailboxes: overview.mailboxes.iter().map(mailbox_row).collect(),
        quarantine: overview
            .quarantine
            .iter()
            .map(|q| quarantine_row(q, retried.refused))
            .collect(),
        quarantined: overview.quarantined,
        more: overview.quarantined > overview.quarantine.len() as u64,
        taken: retried.taken.as_deref(),
        report: retried.report.is_some(),
    };
    render(&state, "console_mailboxes", &context)
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

#[post("/console/mailboxes/quarantine/{id}/retry")]
pub async fn retry(
    state: Data<AppState>,
    Manager(user): Manager,
    id: Path<i64>,
    form: Form<CsrfOnly>,
) -> WebResult<HttpResponse> {
    user.check_csrf(&form.csrf)?;
    let location = match state.app.retry_quarantined(&user.actor(), *id).await? {
        RetryOutcome::Taken(reference) => format!("/console/mailboxes?taken={reference}"),
        RetryOutcome::Report => "/console/mailboxes?report=1".to_owned(),
        RetryOutcome::Refused(_) => format!("/console/mailboxes?refused={id}#quarantined-{id}"),
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::page::sample;
    use crate::templates::strict;

    #[test]
    fn the_template_names_only_what_the_page_has() {
        let context = MailboxesPage {
            base: sample::base("Mailboxes"),
            mailboxes: vec![MailboxRow {
                name: "support@example.com",
                state: "failing; retrying",
                failing: true,
                last_fetch_at: "2026-01-01T00:00:00Z".into(),
                cursor: "UID 5 (UIDVALIDITY 17)".into(),
                backlog: 3,
                last_error: Some("signing in: authentication failed"),
                last_error_at: "2026-01-01T00:01:00Z".into(),
            }],
            quarantine: vec![QuarantineRow {
                id: 4,
                source: "mailbox support@example.com",
                error: "the message has no From address",
                attempts: 2,
                size: 120,
                quarantined_at: "2026-01-01T00:00:00Z".into(),
                last_tried_at: "2026-01-01T00:02:00Z".into(),
                refused_again: true,
            }],
            quarantined: 201,
            more: true,
            taken: Some("MX-7K3Q9P"),
            report: true,
        };
        strict::render("console_mailboxes", &context);
    }
}
