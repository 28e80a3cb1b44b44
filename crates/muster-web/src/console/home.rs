//! The console's front page: the incidents, and for managers the form to open one.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Form};
use actix_web::{HttpResponse, get, post};
use std::collections::{BTreeMap, HashMap};

use muster_core::language::Lang;
use serde::Serialize;

use crate::console::auth::{ConsoleUser, Manager};
use crate::console::incidents::{LanguageChoice, language_choices, ticked_languages, zone_names};
use crate::console::page::{Base, render_with_status};
use crate::error::WebResult;
use crate::state::AppState;
use muster_app::incident_input::NewIncident;
use muster_app::{AppError, FieldErrors, Problem};

#[derive(Serialize)]
struct HomePage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    incidents: Vec<IncidentRow>,
    new: &'a NewIncident,
    zones: &'static [String],
    /// Ticked as chosen; `default` marks the one selected as the default.
    language_choices: Vec<LanguageChoice>,
    errors: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct IncidentRow {
    slug: String,
    title: String,
    status: &'static str,
    severity: &'static str,
}

async fn home_page(
    state: &AppState,
    user: &ConsoleUser,
    typed: &NewIncident,
    errors: &FieldErrors,
    status: StatusCode,
) -> WebResult<HttpResponse> {
    let en = Lang::english();
    let incidents = state
        .store
        .list_incidents()
        .await?
        .into_iter()
        .map(|i| IncidentRow {
            title: i.title.get(&en, &en).to_owned(),
            slug: i.slug.as_str().to_owned(),
            status: i.status.as_str(),
            severity: i.severity.as_str(),
        })
        .collect();
    let chosen = muster_app::incident_input::parse_languages(&typed.languages).unwrap_or_default();
    let default = chosen.first();
    let context = HomePage {
        base: Base::new(user, "Incidents"),
        incidents,
        new: typed,
        zones: zone_names(),
        language_choices: language_choices(&chosen, default),
        errors: state.translations.messages(&en, errors),
    };
    render_with_status(state, "console_home", &context, status)
}

#[get("/console")]
pub async fn home(state: Data<AppState>, user: ConsoleUser) -> WebResult<HttpResponse> {
    let blank = NewIncident {
        time_zone: "Europe/Oslo".into(),
        languages: "en".into(),
        severity: "major".into(),
        status: "active".into(),
        ..Default::default()
    };
    home_page(&state, &user, &blank, &FieldErrors::new(), StatusCode::OK).await
}

/// The home form, as typed: the languages are ticked boxes and a default, which the use case
/// takes as one list, the default first.
fn typed_incident(form: &HashMap<String, String>) -> NewIncident {
    let get = |key: &str| form.get(key).cloned().unwrap_or_default();
    // A field not sent at all takes the API's default, as a script posting the form expects.
    let or = |key: &str, default: &str| form.get(key).cloned().unwrap_or_else(|| default.into());
    let languages = ticked_languages(form, form.get("default_language").map(String::as_str));
    NewIncident {
        slug: get("slug"),
        title: get("title"),
        summary: get("summary"),
        time_zone: or("time_zone", "UTC"),
        languages: if languages.is_empty() {
            "en".to_owned()
        } else {
            languages
        },
        severity: or("severity", "major"),
        status: or("status", "active"),
        ..Default::default()
    }
}

#[post("/console/incidents")]
pub async fn open_incident(
    state: Data<AppState>,
    Manager(user): Manager,
    form: Form<HashMap<String, String>>,
) -> WebResult<HttpResponse> {
    user.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
    let typed = typed_incident(&form);
    let (errors, status) = match state.app.open_incident(&user.actor(), &typed).await {
        Ok(incident) => {
            return Ok(HttpResponse::SeeOther()
                .insert_header((
                    header::LOCATION,
                    format!("/console/incidents/{}?saved=opened", incident.slug),
                ))
                .finish());
        }
        Err(AppError::Invalid(errors)) => (errors, StatusCode::UNPROCESSABLE_ENTITY),
        Err(AppError::Conflict(message)) => (
            FieldErrors::from([("slug".to_owned(), Problem::said(message))]),
            StatusCode::CONFLICT,
        ),
        Err(other) => return Err(other.into()),
    };
    home_page(&state, &user, &typed, &errors, status).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::page::sample;
    use crate::templates::strict;

    #[test]
    fn the_template_names_only_what_the_page_has() {
        let new = NewIncident::default();
        let fields = [
            "slug",
            "title",
            "status",
            "severity",
            "time_zone",
            "languages",
            "summary",
        ];
        let context = HomePage {
            base: sample::base("Incidents"),
            incidents: vec![IncidentRow {
                slug: "storm".into(),
                title: "Storm".into(),
                status: "draft",
                severity: "major",
            }],
            new: &new,
            zones: zone_names(),
            language_choices: language_choices(&[Lang::english()], Some(&Lang::english())),
            errors: strict::errors_on(&fields),
        };
        strict::render("console_home", &context);
    }
}
