//! Rendering a console page: never cached, never framed.

use actix_web::HttpResponse;
use actix_web::http::header;
use serde::Serialize;

use crate::console::auth::ConsoleUser;
use crate::error::WebResult;
use crate::state::AppState;

/// What every console page shares: its title, who is signed in and the CSRF token for
/// forms. Pages embed it with `#[serde(flatten)]`.
#[derive(Debug, Serialize)]
pub struct Base<'a> {
    pub title: &'a str,
    pub user: SignedIn<'a>,
    pub csrf: &'a str,
}

#[derive(Debug, Serialize)]
pub struct SignedIn<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub role: &'static str,
    pub is_manager: bool,
}

impl<'a> Base<'a> {
    pub fn new(user: &'a ConsoleUser, title: &'a str) -> Self {
        Base {
            title,
            user: SignedIn {
                name: &user.user.name,
                email: &user.user.email,
                role: user.user.role.as_str(),
                is_manager: user.user.role.is_manager(),
            },
            csrf: &user.csrf_token,
        }
    }
}

pub fn render(
    state: &AppState,
    template: &str,
    context: &impl Serialize,
) -> WebResult<HttpResponse> {
    render_with_status(state, template, context, actix_web::http::StatusCode::OK)
}

pub fn render_with_status(
    state: &AppState,
    template: &str,
    context: &impl Serialize,
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

#[cfg(test)]
pub mod sample {
    use super::{Base, SignedIn};

    /// A manager signed in, for rendering console templates in tests.
    pub fn base(title: &str) -> Base<'_> {
        Base {
            title,
            user: SignedIn {
                name: "Mona Manager",
                email: "mona@example.com",
                role: "manager",
                is_manager: true,
            },
            csrf: "csrf-token",
        }
    }
}
