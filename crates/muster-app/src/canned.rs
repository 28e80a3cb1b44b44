//! Canned responses as a manager writes them: a handlebars template per response and
//! language, checked to compile before it is saved.

use muster_core::incident::CannedResponse;
use muster_core::language::Lang;
use serde::Deserialize;

use muster_core::problem::{FieldErrors, Problem};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CannedText {
    pub key: String,
    pub title: String,
    /// The template; empty removes this language's text (and the response, if none is left).
    #[serde(default)]
    pub body: String,
}

/// Merges responses typed in `lang` over the current ones; unknown keys are added.
pub fn parse_canned(
    lang: &Lang,
    typed: &[CannedText],
    current: &[CannedResponse],
) -> Result<Vec<CannedResponse>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut out: Vec<CannedResponse> = current.to_vec();
    for (i, c) in typed.iter().enumerate() {
        let key = c.key.trim();
        let valid_key = !key.is_empty()
            && key.len() <= 64
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_key {
            errors.insert(format!("canned[{i}].key"), Problem::of("err_key_chars"));
            continue;
        }
        if let Err(err) =
            handlebars::Handlebars::new().render_template(&c.body, &serde_json::json!({}))
        {
            errors.insert(
                format!("canned[{i}].body"),
                Problem::of("err_template").with("error", err),
            );
            continue;
        }
        if let Err(err) = muster_core::text_rule::long_text(&c.body) {
            errors.insert(format!("canned[{i}].body"), err.into());
            continue;
        }
        if c.body.chars().count() > 10_000 {
            errors.insert(format!("canned[{i}].body"), Problem::too_long(10_000));
            continue;
        }
        match out.iter_mut().find(|r| r.key == key) {
            Some(existing) => {
                existing.body.set(lang.clone(), c.body.trim());
                if !c.title.trim().is_empty() {
                    existing.title = c.title.trim().to_owned();
                }
            }
            None if !c.body.trim().is_empty() => out.push(CannedResponse {
                key: key.to_owned(),
                title: if c.title.trim().is_empty() {
                    key.to_owned()
                } else {
                    c.title.trim().to_owned()
                },
                body: muster_core::localized::Localized::single(lang.clone(), c.body.trim()),
            }),
            None => {}
        }
    }
    out.retain(|r| !r.body.is_empty());
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_must_compile_and_languages_merge() {
        let en = Lang::english();
        let typed = vec![CannedText {
            key: "sorry".into(),
            title: "Sorry".into(),
            body: "Dear {{name}}".into(),
        }];
        let saved = parse_canned(&en, &typed, &[]).unwrap_or_default();
        assert_eq!(saved.len(), 1);
        let broken = vec![CannedText {
            key: "bad".into(),
            title: String::new(),
            body: "{{#if}}".into(),
        }];
        assert!(parse_canned(&en, &broken, &saved).is_err());
        let removed = vec![CannedText {
            key: "sorry".into(),
            title: String::new(),
            body: String::new(),
        }];
        assert!(
            parse_canned(&en, &removed, &saved)
                .unwrap_or_default()
                .is_empty()
        );
    }
}
