//! `GET|POST /i/{slug}/subscribe`: signing up for updates from the landing page, with
//! double opt-in: the address joins the audience only once the emailed link is opened.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Form, Path, Query};
use actix_web::{HttpRequest, HttpResponse};
use muster_app::AppError;
use muster_core::contact_info::EmailAddress;
use muster_core::incident::Incident;
use muster_core::language::Lang;
use serde::Deserialize;

use crate::client_address::client_address;
use crate::error::{WebError, WebResult};
use crate::public::notice::{Hidden, NoticeForm, notice};
use crate::rate_limit::RateLimiter;
use crate::state::AppState;

/// Sign-ups per client address: the form's limit (`intake.max_per_address` per window),
/// counted apart from form submissions.
pub struct SignupLimiter(pub RateLimiter);

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
) -> NoticeForm {
    NoticeForm {
        action: format!("/i/{slug}/subscribe"),
        hidden: vec![Hidden {
            name: "lang".to_owned(),
            value: lang.as_str().to_owned(),
        }],
        ask_email: true,
        email: email.to_owned(),
        error,
        button: state.translations.text(lang, "subscribe_button"),
    }
}

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
        return if state.app.confirm_subscription(token).await? {
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

pub async fn subscribe(
    state: Data<AppState>,
    slug: Path<String>,
    req: HttpRequest,
    input: Form<SubscribeForm>,
) -> WebResult<HttpResponse> {
    let incident = public_incident(&state, &slug).await?;
    let asked = input.lang.as_deref().and_then(|l| Lang::parse(l).ok());
    let lang = incident.pick_language(asked.as_ref());
    let back = Some(format!("/i/{}?lang={}", slug.as_str(), lang.as_str()));
    let limited = match req
        .app_data::<Data<SignupLimiter>>()
        .zip(client_address(&req))
    {
        Some((limiter, address)) => limiter.0.admit(address).await.err(),
        None => None,
    };
    if let Some(seconds) = limited {
        let wait = state
            .translations
            .text(&lang, "too_many")
            .replace("{seconds}", &seconds.to_string());
        let form = form(&state, &slug, &lang, &input.email, Some(wait));
        let mut response = notice(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            &lang,
            "subscribe_heading",
            "subscribe_intro",
            Some(form),
            back,
        )?;
        if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
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
    match state.app.subscribe(&incident, &email, &lang).await {
        Ok(()) => {}
        Err(AppError::MailUnavailable) => {
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
        Err(other) => return Err(other.into()),
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
