//! The page a visitor gets for an address that leads nowhere (a mistyped incident, a stale
//! case link, an unpublished page): in their language, with the way on to the current
//! crisis page. Only `/api/` answers JSON errors.

use actix_web::dev::ServiceResponse;
use actix_web::http::header;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use muster_core::language::Lang;

use crate::public::render::Frame;
use crate::state::AppState;

/// Whether `path` is a visitor's page rather than a machine's or the console's.
fn is_public(path: &str) -> bool {
    !(path.starts_with("/api/") || path.starts_with("/console"))
}

/// `?lang=` when given, else the first language of `Accept-Language` Muster speaks.
pub(crate) fn visitor_language(req: &HttpRequest) -> Lang {
    let asked = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "lang")
        .map(|(_, v)| v.into_owned());
    let accepted = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(',')
        .map(|tag| tag.split(';').next().unwrap_or("").trim())
        .map(|tag| tag.split('-').next().unwrap_or("").to_owned());
    asked
        .into_iter()
        .chain(accepted)
        .filter_map(|code| Lang::parse(&code).ok())
        .find(muster_app::i18n::Translations::speaks)
        .unwrap_or_else(Lang::english)
}

/// The not-found page for `req`, or `None` where JSON is the answer.
pub fn page(state: &AppState, req: &HttpRequest) -> Option<HttpResponse> {
    if !is_public(req.path()) {
        return None;
    }
    let lang = visitor_language(req);
    let title = state.translations.text(&lang, "not_found_title");
    let context = Frame::new(&state.translations, &lang, title);
    let html = state.templates.render("not_found", &context).ok()?;
    Some(
        HttpResponse::NotFound()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(html),
    )
}

/// Turns a handler's JSON 404 on a public page into the page.
pub fn replace<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let replaced = res
        .request()
        .app_data::<Data<AppState>>()
        .and_then(|state| page(state, res.request()));
    Ok(match replaced {
        Some(page) => {
            let (req, _) = res.into_parts();
            ErrorHandlerResponse::Response(
                ServiceResponse::new(req, page).map_into_right_body::<B>(),
            )
        }
        None => ErrorHandlerResponse::Response(res.map_into_left_body()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::strict;

    #[test]
    fn the_template_names_only_what_the_page_has() {
        let lang = Lang::english();
        let context = Frame::new(muster_app::i18n::shared(), &lang, "Not found".into());
        strict::render("not_found", &context);
    }
}
