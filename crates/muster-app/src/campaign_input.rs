//! A campaign as a manager writes it (API JSON, console form or CLI files), parsed into the
//! store's [`NewCampaign`] with a problem per bad field.

use muster_core::audience::parse_date;
use muster_core::campaign::{CampaignContent, Segment};
use muster_core::language::Lang;
use muster_core::problem::{FieldErrors, Problem};
use muster_core::text_rule::{long_text, single_line};
use muster_mail::render::CampaignTemplates;
use muster_store::campaigns::NewCampaign;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const SUBJECT_MAX: usize = 250;
const BODY_MAX: usize = 100_000;

fn between(max: usize) -> Problem {
    Problem::of("err_length").with("max", max)
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct CampaignInput {
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub html: Option<String>,
    /// Comma-separated language codes; empty means every language.
    #[serde(default)]
    pub languages: String,
    /// `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    pub departure_from: String,
    #[serde(default)]
    pub departure_to: String,
    /// RFC 3339; empty or past means now.
    #[serde(default)]
    pub send_at: String,
}

impl CampaignInput {
    pub fn parse(&self) -> Result<NewCampaign, FieldErrors> {
        let mut errors = FieldErrors::new();
        let subject = self.subject.trim();
        if subject.is_empty() || subject.chars().count() > SUBJECT_MAX {
            errors.insert("subject".into(), between(SUBJECT_MAX));
        } else if let Err(err) = single_line(subject) {
            errors.insert("subject".into(), err.into());
        }
        if self.text.trim().is_empty() || self.text.len() > BODY_MAX {
            errors.insert("text".into(), between(BODY_MAX));
        } else if let Err(err) = long_text(&self.text) {
            errors.insert("text".into(), err.into());
        }
        let html = self
            .html
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty());
        if html.is_some_and(|h| h.len() > BODY_MAX) {
            errors.insert("html".into(), Problem::too_long(BODY_MAX));
        } else if let Some(Err(err)) = html.map(long_text) {
            errors.insert("html".into(), err.into());
        }
        let content = CampaignContent {
            subject: subject.to_owned(),
            text: self.text.clone(),
            html: html.map(str::to_owned),
        };
        if let Err(err) = CampaignTemplates::compile(&content) {
            errors.insert(
                "text".into(),
                Problem::of("err_template").with("error", err),
            );
        }
        let mut languages = Vec::new();
        for code in self
            .languages
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            match Lang::parse(code) {
                Ok(lang) => languages.push(lang),
                Err(err) => {
                    errors.insert("languages".into(), Problem::said(err));
                }
            }
        }
        let mut date = |field: &str, raw: &str| {
            let raw = raw.trim();
            if raw.is_empty() {
                return None;
            }
            let parsed = parse_date(raw);
            if parsed.is_none() {
                errors.insert(field.into(), Problem::of("err_date"));
            }
            parsed
        };
        let departure_from = date("departure_from", &self.departure_from);
        let departure_to = date("departure_to", &self.departure_to);
        let send_at = match self.send_at.trim() {
            "" => None,
            raw => match OffsetDateTime::parse(raw, &Rfc3339) {
                Ok(at) => Some(at),
                Err(_) => {
                    errors.insert(
                        "send_at".into(),
                        Problem::of("err_instant").with("text", raw),
                    );
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(NewCampaign {
            content,
            segment: Segment {
                languages,
                departure_from,
                departure_to,
            },
            send_at,
        })
    }
}
