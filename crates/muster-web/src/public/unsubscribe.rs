//! `GET|POST /u/{token}`: unsubscribing. GET shows a button (mail scanners follow GET
//! links, so GET alone never unsubscribes); POST unsubscribes. A POST with the body
//! `List-Unsubscribe=One-Click` is the RFC 8058 one-click request mail clients send: the
//! unguessable token is its authority, so it needs no CSRF token.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use muster_core::language::Lang;

use crate::error::WebResult;
use crate::public::notice::{Hidden, NoticeForm, notice};
use crate::state::AppState;

fn language(raw: &str) -> Lang {
    Lang::parse(raw).unwrap_or_else(|_| Lang::english())
}

fn unknown(state: &AppState) -> WebResult<HttpResponse> {
    notice(
        state,
        StatusCode::NOT_FOUND,
        &Lang::english(),
        "unsubscribe_heading",
        "unsubscribe_unknown",
        None,
        None,
    )
}

pub async fn confirm(state: Data<AppState>, token: Path<String>) -> WebResult<HttpResponse> {
    let Some(recipient) = state.app.unsubscribe_link(&token).await? else {
        return unknown(&state);
    };
    let lang = language(&recipient.language);
    let form = NoticeForm {
        action: format!("/u/{}", token.as_str()),
        hidden: vec![Hidden {
            name: "List-Unsubscribe".to_owned(),
            value: "One-Click".to_owned(),
        }],
        button: state.translations.text(&lang, "unsubscribe_button"),
        ..Default::default()
    };
    notice(
        &state,
        StatusCode::OK,
        &lang,
        "unsubscribe_heading",
        "unsubscribe_confirm",
        Some(form),
        None,
    )
}

pub async fn unsubscribe(state: Data<AppState>, token: Path<String>) -> WebResult<HttpResponse> {
    let Some(recipient) = state.app.unsubscribe(&token).await? else {
        return unknown(&state);
    };
    let lang = language(&recipient.language);
    notice(
        &state,
        StatusCode::OK,
        &lang,
        "unsubscribe_heading",
        "unsubscribe_done",
        None,
        None,
    )
}
