//! Serving the pre-rendered landing page, JSON and Atom feed from memory.

use actix_web::http::header;
use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse};
use muster_core::language::Lang;
use serde::Deserialize;

use crate::error::{WebError, WebResult};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

/// The short address for IVR messages and social posts: follows the current crisis. With
/// two incidents active at once, the visitor chooses, so ferry passengers never land on the
/// tram page.
pub async fn crisis(state: Data<AppState>, req: HttpRequest) -> WebResult<HttpResponse> {
    let choices = state.publication.crisis_choices();
    if choices.len() > 1 {
        let lang = crate::public::not_found::visitor_language(&req);
        let html = crate::public::chooser::render(&state, &lang, &choices)?;
        return Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "public, max-age=10"))
            .insert_header((header::VARY, "Accept-Language"))
            .body(html));
    }
    let slug = choices
        .first()
        .map(|i| i.slug.as_str().to_owned())
        .or_else(|| state.publication.crisis_slug())
        .ok_or(WebError::NotFound)?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, format!("/i/{slug}")))
        .insert_header((header::CACHE_CONTROL, "public, max-age=10"))
        .finish())
}

pub async fn page(
    state: Data<AppState>,
    slug: Path<String>,
    query: Query<LangQuery>,
    req: HttpRequest,
) -> WebResult<HttpResponse> {
    let pages = state
        .publication
        .pages
        .get(&slug)
        .ok_or(WebError::NotFound)?;
    let asked = query.lang.as_deref().and_then(|l| Lang::parse(l).ok());
    let by_header = asked.is_none();
    let lang = asked
        .filter(|l| pages.languages.contains(l))
        .or_else(|| {
            let accept = req.headers().get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
            Lang::negotiate(accept, &pages.languages)
        })
        .unwrap_or_else(|| pages.default_language.clone());
    let body = pages.landing_for(&lang).ok_or(WebError::NotFound)?;
    Ok(body.respond(&req, by_header))
}

pub async fn json(
    state: Data<AppState>,
    slug: Path<String>,
    req: HttpRequest,
) -> WebResult<HttpResponse> {
    let pages = state
        .publication
        .pages
        .get(&slug)
        .ok_or(WebError::NotFound)?;
    Ok(pages.json.respond(&req, false))
}

pub async fn feed(
    state: Data<AppState>,
    slug: Path<String>,
    req: HttpRequest,
) -> WebResult<HttpResponse> {
    let pages = state
        .publication
        .pages
        .get(&slug)
        .ok_or(WebError::NotFound)?;
    Ok(pages.atom.respond(&req, false))
}
