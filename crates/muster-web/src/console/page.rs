//! Rendering a console page: never cached, never framed.

use actix_web::HttpResponse;
use actix_web::http::header;
use serde_json::{Value, json};

use crate::console::auth::ConsoleUser;
use crate::error::WebResult;
use crate::state::AppState;

/// The context every console page shares: who is signed in and the CSRF token for forms.
pub fn base_context(user: &ConsoleUser, title: &str) -> Value {
    json!({
        "title": title,
        "user": {
            "name": user.user.name,
            "email": user.user.email,
            "role": user.user.role.as_str(),
            "is_manager": user.user.role.is_manager(),
        },
        "csrf": user.csrf_token,
    })
}

pub fn render(state: &AppState, template: &str, context: &Value) -> WebResult<HttpResponse> {
    render_with_status(state, template, context, actix_web::http::StatusCode::OK)
}

pub fn render_with_status(
    state: &AppState,
    template: &str,
    context: &Value,
    status: actix_web::http::StatusCode,
) -> WebResult<HttpResponse> {
    let html = state.templates.render(template, context)?;
    Ok(HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        ))
        .body(html))
}

/// Merges a JSON object's fields into another, for page-specific context.
pub fn extend(mut base: Value, extra: Value) -> Value {
    if let (Some(target), Value::Object(fields)) = (base.as_object_mut(), extra) {
        target.extend(fields);
    }
    base
}
