//! A short public page that tells the reader one thing, optionally with one form:
//! subscription and unsubscription answers.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use muster_core::language::Lang;
use serde_json::{Value, json};

use crate::error::{WebError, WebResult};
use crate::public::render::STYLE;
use crate::state::AppState;

pub fn notice(
    state: &AppState,
    status: StatusCode,
    lang: &Lang,
    heading_key: &str,
    message_key: &str,
    form: Option<Value>,
    back: Option<String>,
) -> WebResult<HttpResponse> {
    let heading = state.translations.text(lang, heading_key);
    let context = json!({
        "lang": lang.as_str(),
        "dir": if lang.is_rtl() { "rtl" } else { "ltr" },
        "title": heading,
        "heading": heading,
        "message": if message_key.is_empty() { String::new() } else { state.translations.text(lang, message_key) },
        "form": form,
        "back": back,
        "css": STYLE,
        "t": state.translations.bundle(lang),
    });
    let html = state
        .templates
        .render("notice", &context)
        .map_err(WebError::from)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(html))
}
