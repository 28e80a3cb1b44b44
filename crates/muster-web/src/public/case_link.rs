//! `GET|POST /c`: a customer who lost the link to their case types its reference and their
//! email address and gets the link emailed again. The answer never says whether the case
//! exists (see `App::resend_case_link`), and a client may ask only a few times a window.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Form};
use actix_web::{HttpRequest, HttpResponse};
use muster_app::AppError;
use muster_core::case_ref::CaseRef;
use muster_core::contact_info::EmailAddress;
use muster_core::language::Lang;
use serde::{Deserialize, Serialize};

use crate::client_address::client_address;
use crate::error::WebResult;
use crate::public::not_found::visitor_language;
use crate::public::render::Frame;
use crate::rate_limit::RateLimiter;
use crate::state::AppState;

/// Requests per client address and window: a script guessing references runs out fast,
/// a family asking for each member's case does not.
pub struct CaseLinkLimiter(pub RateLimiter);

#[derive(Debug, Default, Deserialize)]
pub struct CaseLinkForm {
    #[serde(default)]
    reference: String,
    #[serde(default)]
    email: String,
}

#[derive(Serialize)]
struct CaseLinkPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    sent: bool,
    reference: &'a str,
    email: &'a str,
    reference_error: Option<String>,
    email_error: Option<String>,
    limited: Option<String>,
}

fn page(
    state: &AppState,
    lang: &Lang,
    typed: &CaseLinkForm,
    status: StatusCode,
    shape: impl FnOnce(&mut CaseLinkPage<'_>),
) -> WebResult<HttpResponse> {
    let title = state.translations.text(lang, "case_link_heading");
    let mut context = CaseLinkPage {
        frame: Frame::new(&state.translations, lang, title),
        sent: false,
        reference: &typed.reference,
        email: &typed.email,
        reference_error: None,
        email_error: None,
        limited: None,
    };
    shape(&mut context);
    let html = state.templates.render("case_link", &context)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .body(html))
}

pub async fn show(state: Data<AppState>, req: HttpRequest) -> WebResult<HttpResponse> {
    let lang = visitor_language(&req);
    page(
        &state,
        &lang,
        &CaseLinkForm::default(),
        StatusCode::OK,
        |_| {},
    )
}

pub async fn resend(
    state: Data<AppState>,
    req: HttpRequest,
    form: Form<CaseLinkForm>,
) -> WebResult<HttpResponse> {
    let lang = visitor_language(&req);
    let limited = match req
        .app_data::<Data<CaseLinkLimiter>>()
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
        let mut response = page(&state, &lang, &form, StatusCode::TOO_MANY_REQUESTS, |p| {
            p.limited = Some(wait)
        })?;
        if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    let (reference, email) = match (
        CaseRef::parse(&form.reference),
        EmailAddress::parse(&form.email),
    ) {
        (Ok(reference), Ok(email)) => (reference, email),
        (reference, email) => {
            let t = |key: &str| state.translations.text(&lang, key);
            return page(
                &state,
                &lang,
                &form,
                StatusCode::UNPROCESSABLE_ENTITY,
                |p| {
                    p.reference_error = reference.is_err().then(|| t("err_case_reference"));
                    p.email_error = email.is_err().then(|| t("err_email"));
                },
            );
        }
    };
    match state.app.resend_case_link(reference, email, lang.clone()) {
        Ok(()) => page(&state, &lang, &form, StatusCode::OK, |p| p.sent = true),
        Err(AppError::MailUnavailable) => {
            let unavailable = state.translations.text(&lang, "subscribe_unavailable");
            page(&state, &lang, &form, StatusCode::SERVICE_UNAVAILABLE, |p| {
                p.limited = Some(unavailable)
            })
        }
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::strict;

    #[test]
    fn the_template_names_only_what_the_page_has() {
        let lang = Lang::english();
        for sent in [false, true] {
            let context = CaseLinkPage {
                frame: Frame::new(muster_app::i18n::shared(), &lang, "Find your case".into()),
                sent,
                reference: "MX-7K3Q9P",
                email: "ada@example.com",
                reference_error: Some("wrong".into()),
                email_error: Some("wrong".into()),
                limited: Some("wait".into()),
            };
            strict::render("case_link", &context);
        }
    }
}
