//! The audit log, for managers.

use actix_web::web::Data;
use actix_web::{HttpResponse, get};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use crate::console::auth::Manager;
use crate::console::page::{Base, render};
use crate::error::WebResult;
use crate::state::AppState;

#[derive(Serialize)]
struct AuditPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    entries: Vec<EntryRow>,
}

#[derive(Serialize)]
struct EntryRow {
    at: String,
    actor: String,
    action: String,
    subject: String,
    details: String,
}

#[get("/console/audit")]
pub async fn audit(state: Data<AppState>, Manager(user): Manager) -> WebResult<HttpResponse> {
    let entries = state
        .store
        .recent_audit(500)
        .await?
        .into_iter()
        .map(|e| EntryRow {
            at: e.at.format(&Rfc3339).unwrap_or_default(),
            details: e.details.to_string(),
            actor: e.actor,
            action: e.action,
            subject: e.subject,
        })
        .collect();
    let context = AuditPage {
        base: Base::new(&user, "Audit log"),
        entries,
    };
    render(&state, "console_audit", &context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::page::sample;
    use crate::templates::strict;

    #[test]
    fn the_template_names_only_what_the_page_has() {
        let context = AuditPage {
            base: sample::base("Audit log"),
            entries: vec![EntryRow {
                at: "2026-01-01T00:00:00Z".into(),
                actor: "user:mona@example.com".into(),
                action: "incident.open".into(),
                subject: "storm".into(),
                details: "{}".into(),
            }],
        };
        strict::render("console_audit", &context);
    }
}
