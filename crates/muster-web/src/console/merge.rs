//! Merging a duplicate from the case page: the agent names (or picks from the suggested
//! duplicates) the case to merge into, sees both cases side by side, confirms, lands on
//! the remaining case with word that it worked and an undo for ten minutes.

use std::collections::HashMap;

use actix_web::web::{Data, Form, Path};
use actix_web::{HttpResponse, post};
use muster_core::case::Case;
use muster_core::incident::Incident;
use serde::Serialize;

use crate::console::auth::ConsoleUser;
use crate::console::case_view::{back, field, prepare, shown_again};
use crate::console::page::{Base, render};
use crate::console::queue::{CaseRow, RowContext, case_row};
use crate::error::WebResult;
use crate::state::AppState;

/// One side of the confirmation.
#[derive(Serialize)]
struct Side<'a> {
    case: CaseRow<'a>,
    email: Option<&'a str>,
    phone: Option<&'a str>,
    booking_ref: Option<&'a str>,
}

#[derive(Serialize)]
struct MergePage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    /// The case that goes away into `into`.
    merged: Side<'a>,
    into: Side<'a>,
}

fn side<'a>(state: &AppState, incident: &Incident, case: &'a Case, rows: &RowContext) -> Side<'a> {
    Side {
        case: case_row(state, incident, case, rows),
        email: case.email.as_deref(),
        phone: case.phone.as_deref(),
        booking_ref: case.booking_ref.as_deref(),
    }
}

/// Without `confirmed`: both cases side by side, to confirm. With it: the merge.
#[post("/console/cases/{reference}/merge")]
pub async fn merge_into(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Form<HashMap<String, String>>,
) -> WebResult<HttpResponse> {
    let (case, incident) = prepare(&state, &user, &reference, &form).await?;
    let into = field(&form, "into");
    if field(&form, "confirmed").is_empty() {
        let target = match state.app.merge_target(&case, into).await {
            Ok(target) => target,
            Err(error) => return shown_again(&state, &user, (case, incident), &form, error).await,
        };
        let both = [case.clone(), target.clone()];
        let rows = RowContext::load(&state, &user, &both).await?;
        let page = MergePage {
            base: Base::new(&user, "Merge cases"),
            merged: side(&state, &incident, &case, &rows),
            into: side(&state, &incident, &target, &rows),
        };
        return render(&state, "console_merge", &page);
    }
    match state
        .app
        .merge_cases(&user.actor(), &case, &incident, into)
        .await
    {
        Ok(merged) => Ok(back(&merged.case, "merged")),
        Err(error) => shown_again(&state, &user, (case, incident), &form, error).await,
    }
}

/// Undoes a merge into the case `reference` names; a merge past its ten minutes is
/// refused beside the undo button.
#[post("/console/cases/{reference}/unmerge")]
pub async fn undo(
    state: Data<AppState>,
    user: ConsoleUser,
    reference: Path<String>,
    form: Form<HashMap<String, String>>,
) -> WebResult<HttpResponse> {
    let loaded = prepare(&state, &user, &reference, &form).await?;
    let merge_id = field(&form, "merge").parse::<i64>().unwrap_or(0);
    match state.app.undo_merge(&user.actor(), merge_id).await {
        Ok((_, restored)) => Ok(back(&restored, "unmerged")),
        Err(error) => shown_again(&state, &user, loaded, &form, error).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::page::sample;
    use crate::console::queue;
    use crate::templates::strict;

    #[test]
    fn the_template_names_only_what_the_page_has() {
        let side = || Side {
            case: queue::sample::case_row(),
            email: Some("ada@example.com"),
            phone: Some("+4712345678"),
            booking_ref: Some("BK1"),
        };
        let page = MergePage {
            base: sample::base("Merge cases"),
            merged: side(),
            into: side(),
        };
        strict::render("console_merge", &page);
    }
}
