//! A short public page that tells the reader one thing, optionally with one form:
//! subscription and unsubscription answers.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use muster_core::language::Lang;
use serde::Serialize;

use crate::error::{WebError, WebResult};
use crate::public::render::Frame;
use crate::state::AppState;

#[derive(Serialize)]
struct NoticePage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    heading: String,
    message: String,
    form: Option<NoticeForm>,
    back: Option<String>,
}

/// The one form a notice may carry: where it posts, what it sends unseen, and whether it
/// asks for an email address.
#[derive(Debug, Default, Serialize)]
pub struct NoticeForm {
    pub action: String,
    pub hidden: Vec<Hidden>,
    pub ask_email: bool,
    pub email: String,
    pub error: Option<String>,
    pub button: String,
}

#[derive(Debug, Serialize)]
pub struct Hidden {
    pub name: String,
    pub value: String,
}

/// The page; `message_key` empty leaves the message out.
pub fn notice(
    state: &AppState,
    status: StatusCode,
    lang: &Lang,
    heading_key: &str,
    message_key: &str,
    form: Option<NoticeForm>,
    back: Option<String>,
) -> WebResult<HttpResponse> {
    let heading = state.translations.text(lang, heading_key);
    let context = NoticePage {
        frame: Frame::new(&state.translations, lang, heading.clone()),
        heading,
        message: if message_key.is_empty() {
            String::new()
        } else {
            state.translations.text(lang, message_key)
        },
        form,
        back,
    };
    let html = state
        .templates
        .render("notice", &context)
        .map_err(WebError::from)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(html))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::strict;

    #[test]
    fn the_template_names_only_what_the_page_has() {
        let lang = Lang::english();
        let context = NoticePage {
            frame: Frame::new(muster_app::i18n::shared(), &lang, "Subscribe".into()),
            heading: "Subscribe".into(),
            message: "Get the updates by email.".into(),
            form: Some(NoticeForm {
                action: "/i/storm/subscribe".into(),
                hidden: vec![Hidden {
                    name: "lang".into(),
                    value: "en".into(),
                }],
                ask_email: true,
                email: "ada@example.com".into(),
                error: Some("wrong".into()),
                button: "Subscribe".into(),
            }),
            back: Some("/i/storm?lang=en".into()),
        };
        strict::render("notice", &context);
    }
}
