//! `/crisis` when several incidents are active: each one's title and latest news, so a
//! visitor picks their own instead of landing on the newest.

use std::sync::Arc;

use muster_core::date_format::digits;
use muster_core::incident::{Incident, local_time_label};
use muster_core::language::Lang;
use serde::Serialize;

use crate::error::WebResult;
use crate::public::render::{Frame, plain_excerpt};
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct ChooserPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    incidents: Vec<Choice>,
}

#[derive(Debug, Serialize)]
struct Choice {
    title: String,
    /// The language the title and summary are in when the visitor's is missing.
    text_lang: Option<String>,
    summary: String,
    url: String,
    updated_at_human: String,
}

fn choice(incident: &Incident, lang: &Lang) -> Choice {
    let shown = incident.pick_language(Some(lang));
    let fallback = &incident.default_language;
    Choice {
        title: incident.title.get(&shown, fallback).to_owned(),
        text_lang: incident
            .title
            .foreign_in(lang, fallback)
            .map(|l| l.as_str().to_owned()),
        summary: plain_excerpt(incident.summary.get(&shown, fallback), 200),
        url: format!("/i/{}?lang={}", incident.slug, shown),
        updated_at_human: digits(
            lang.as_str(),
            &local_time_label(&incident.time_zone, incident.updated_at),
        ),
    }
}

pub fn render(state: &AppState, lang: &Lang, incidents: &[Arc<Incident>]) -> WebResult<String> {
    let title = state.translations.text(lang, "crisis_choose_title");
    let context = ChooserPage {
        frame: Frame::new(&state.translations, lang, title),
        incidents: incidents.iter().map(|i| choice(i, lang)).collect(),
    };
    Ok(state.templates.render("crisis", &context)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::strict;

    #[test]
    fn the_template_names_only_what_the_page_has() {
        let lang = Lang::english();
        let context = ChooserPage {
            frame: Frame::new(muster_app::i18n::shared(), &lang, "Choose".into()),
            incidents: vec![Choice {
                title: "Ferry fire".into(),
                text_lang: Some("nb".into()),
                summary: "A fire on board.".into(),
                url: "/i/ferry?lang=en".into(),
                updated_at_human: "2026-12-04 10:00 CET".into(),
            }],
        };
        strict::render("crisis", &context);
    }
}
