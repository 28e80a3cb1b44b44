//! The console's front page: the incidents, and for managers the form to open one.

use actix_web::http::header;
use actix_web::web::{Data, Form};
use actix_web::{HttpResponse, get, post};
use muster_core::language::Lang;
use serde_json::{Value, json};

use crate::console::auth::{ConsoleUser, Manager};
use crate::console::page::{base_context, extend, render_with_status};
use crate::error::WebResult;
use crate::incident_input::{FieldErrors, NewIncident};
use crate::state::AppState;

async fn home_page(
    state: &AppState,
    user: &ConsoleUser,
    typed: &NewIncident,
    errors: &FieldErrors,
    status: actix_web::http::StatusCode,
) -> WebResult<HttpResponse> {
    let en = Lang::english();
    let incidents: Vec<Value> = state
        .store
        .list_incidents()
        .await?
        .into_iter()
        .map(|i| {
            json!({
                "slug": i.slug,
                "title": i.title.get(&en, &en),
                "status": i.status.as_str(),
                "severity": i.severity.as_str(),
            })
        })
        .collect();
    let context = extend(
        base_context(user, "Incidents"),
        json!({ "incidents": incidents, "new": typed, "errors": errors }),
    );
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
    home_page(
        &state,
        &user,
        &blank,
        &FieldErrors::new(),
        actix_web::http::StatusCode::OK,
    )
    .await
}

#[derive(Debug, serde::Deserialize)]
pub struct NewIncidentForm {
    csrf: String,
    #[serde(flatten)]
    incident: NewIncident,
}

#[post("/console/incidents")]
pub async fn open_incident(
    state: Data<AppState>,
    Manager(user): Manager,
    form: Form<NewIncidentForm>,
) -> WebResult<HttpResponse> {
    user.check_csrf(&form.csrf)?;
    let draft = match form.incident.parse() {
        Ok(draft) => draft,
        Err(errors) => {
            return home_page(
                &state,
                &user,
                &form.incident,
                &errors,
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let incident = match state.store.create_incident(draft, &user.actor()).await {
        Ok(incident) => incident,
        Err(muster_store::StoreError::Conflict(message)) => {
            let errors = FieldErrors::from([("slug".to_owned(), message)]);
            return home_page(
                &state,
                &user,
                &form.incident,
                &errors,
                actix_web::http::StatusCode::CONFLICT,
            )
            .await;
        }
        Err(other) => return Err(other.into()),
    };
    state.render_incident(incident.slug.as_str()).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/console/incidents/{}", incident.slug),
        ))
        .finish())
}
