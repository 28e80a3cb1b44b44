//! `GET|POST /i/{slug}/subscribe`: signing up for updates from the landing page, with
//! double opt-in: the address joins the audience only once the emailed link is opened.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Path, Query};
use actix_web::{HttpResponse, get, post};
use muster_core::contact_info::EmailAddress;
use muster_core::incident::Incident;
use muster_core::language::Lang;
use muster_mail::OutgoingMessage;
use serde::Deserialize;
use serde_json::json;

use crate::error::{WebError, WebResult};
use crate::public::notice::notice;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct SubscribeQuery {
    lang: Option<String>,
    confirm: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SubscribeForm {
    #[serde(default)]
    email: String,
    lang: Option<String>,
}

async fn public_incident(state: &AppState, slug: &str) -> WebResult<Incident> {
    state
        .store
        .incident_by_slug(slug)
        .await?
        .filter(|i| i.status.is_public())
        .ok_or(WebError::NotFound)
}

fn form(
    state: &AppState,
    slug: &str,
    lang: &Lang,
    email: &str,
    error: Option<String>,
) -> serde_json::Value {
    json!({
        "action": format!("/i/{slug}/subscribe"),
        "hidden": [{"name": "lang", "value": lang.as_str()}],
        "ask_email": true,
        "email": email,
        "error": error,
        "button": state.translations.text(lang, "subscribe_button"),
    })
}

#[get("/i/{slug:[a-z0-9-]+}/subscribe")]
pub async fn show(
    state: Data<AppState>,
    slug: Path<String>,
    query: Query<SubscribeQuery>,
) -> WebResult<HttpResponse> {
    let incident = public_incident(&state, &slug).await?;
    let asked = query.lang.as_deref().and_then(|l| Lang::parse(l).ok());
    let lang = incident.pick_language(asked.as_ref());
    let back = Some(format!("/i/{}?lang={}", slug.as_str(), lang.as_str()));
    if let Some(token) = &query.confirm {
        return if state.store.confirm_subscription(token).await? {
            notice(
                &state,
                StatusCode::OK,
                &lang,
                "subscribe_heading",
                "subscribe_confirmed",
                None,
                back,
            )
        } else {
            notice(
                &state,
                StatusCode::NOT_FOUND,
                &lang,
                "subscribe_heading",
                "subscribe_bad_link",
                None,
                back,
            )
        };
    }
    let form = form(&state, &slug, &lang, "", None);
    notice(
        &state,
        StatusCode::OK,
        &lang,
        "subscribe_heading",
        "subscribe_intro",
        Some(form),
        back,
    )
}

#[post("/i/{slug:[a-z0-9-]+}/subscribe")]
pub async fn subscribe(
    state: Data<AppState>,
    slug: Path<String>,
    input: Form<SubscribeForm>,
) -> WebResult<HttpResponse> {
    let incident = public_incident(&state, &slug).await?;
    let asked = input.lang.as_deref().and_then(|l| Lang::parse(l).ok());
    let lang = incident.pick_language(asked.as_ref());
    let back = Some(format!("/i/{}?lang={}", slug.as_str(), lang.as_str()));
    let email = match EmailAddress::parse(&input.email) {
        Ok(email) => email,
        Err(err) => {
            let form = form(&state, &slug, &lang, &input.email, Some(err.to_string()));
            return notice(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                &lang,
                "subscribe_heading",
                "subscribe_intro",
                Some(form),
                back,
            );
        }
    };
    // The answer is the same whether or not the address was already in: no probing.
    let token = state
        .store
        .subscribe(incident.id, email.as_str(), lang.as_str())
        .await?;
    if let Some(token) = token {
        let sent = send_confirmation(&state, &incident, &lang, email.as_str(), &token).await;
        if sent.is_err() {
            return notice(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                &lang,
                "subscribe_heading",
                "subscribe_unavailable",
                None,
                back,
            );
        }
    }
    notice(
        &state,
        StatusCode::OK,
        &lang,
        "subscribe_heading",
        "subscribe_check_inbox",
        None,
        back,
    )
}

async fn send_confirmation(
    state: &AppState,
    incident: &Incident,
    lang: &Lang,
    email: &str,
    token: &str,
) -> Result<(), ()> {
    let Some(mail) = &state.app.settings.mail else {
        return Err(());
    };
    let base = &state.base_url;
    let link = format!("{base}/i/{}/subscribe?confirm={token}", incident.slug);
    let title = incident.title.get(lang, &incident.default_language);
    let message = OutgoingMessage {
        from: mail.from.clone(),
        to: email.to_owned(),
        reply_to: None,
        subject: format!(
            "{} – {title}",
            state.translations.text(lang, "subscribe_mail_subject")
        ),
        text: format!(
            "{}\n\n{link}\n",
            state.translations.text(lang, "subscribe_mail_body")
        ),
        html: None,
        message_id: format!(
            "subscribe-{}@{}",
            uuid::Uuid::new_v4().simple(),
            state.app.settings.id_domain
        ),
        in_reply_to: None,
        auto_submitted: false,
        list_unsubscribe: Some(format!("{base}/u/{token}")),
    };
    let built = message
        .build()
        .map_err(|e| tracing::warn!(error = %e, "confirmation not built"))?;
    mail.mailer
        .send(built)
        .await
        .map_err(|e| tracing::warn!(error = %e, "confirmation not sent"))
}
