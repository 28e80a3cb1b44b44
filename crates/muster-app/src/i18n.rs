//! Muster's own words in each language it speaks (pages, mail, rule messages); English
//! fills any gap.

use std::collections::{BTreeMap, HashMap};

use muster_core::language::Lang;
use muster_core::problem::{FieldErrors, Problem};
use muster_core::wait::WaitPhrase;
use serde_json::{Map, Value};

const BUNDLES: [(&str, &str); 5] = [
    ("en", include_str!("../i18n/en.json")),
    ("nb", include_str!("../i18n/nb.json")),
    ("ru", include_str!("../i18n/ru.json")),
    ("lv", include_str!("../i18n/lv.json")),
    ("fa", include_str!("../i18n/fa.json")),
];

/// Each language's name in itself, for the language switcher.
pub fn endonym(lang: &Lang) -> &'static str {
    match lang.as_str() {
        "en" => "English",
        "nb" => "Norsk bokmål",
        "nn" => "Norsk nynorsk",
        "ru" => "Русский",
        "lv" => "Latviešu",
        "fa" => "فارسی",
        "de" => "Deutsch",
        "fr" => "Français",
        "es" => "Español",
        "sv" => "Svenska",
        "da" => "Dansk",
        "uk" => "Українська",
        "ar" => "العربية",
        _ => "—",
    }
}

#[derive(Debug, Default)]
pub struct Translations {
    bundles: HashMap<&'static str, Map<String, Value>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the {lang} translations are not valid JSON: {source}")]
pub struct TranslationError {
    lang: &'static str,
    source: serde_json::Error,
}

/// One copy for the whole process, for answers rendered where no state is at hand (an API
/// error). The bundles are compiled in and checked by a test, so loading cannot fail in a
/// shipped build; if it did, messages would show their keys rather than fail the request.
pub fn shared() -> &'static Translations {
    static SHARED: std::sync::OnceLock<Translations> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| Translations::load().unwrap_or_default())
}

impl Translations {
    pub fn load() -> Result<Self, TranslationError> {
        let mut bundles = HashMap::new();
        for (lang, text) in BUNDLES {
            let map: Map<String, Value> =
                serde_json::from_str(text).map_err(|source| TranslationError { lang, source })?;
            bundles.insert(lang, map);
        }
        Ok(Self { bundles })
    }

    /// Whether Muster has its own words in `lang`.
    pub fn speaks(lang: &Lang) -> bool {
        BUNDLES.iter().any(|(code, _)| *code == lang.as_str())
    }

    /// Every string for `lang`, with English for any key it lacks.
    pub fn bundle(&self, lang: &Lang) -> Value {
        let mut merged = self.bundles.get("en").cloned().unwrap_or_default();
        if let Some(own) = self.bundles.get(lang.as_str()) {
            merged.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Value::Object(merged)
    }

    pub fn text(&self, lang: &Lang, key: &str) -> String {
        [lang.as_str(), "en"]
            .iter()
            .find_map(|l| self.bundles.get(l)?.get(key)?.as_str())
            .unwrap_or(key)
            .to_owned()
    }

    /// What is wrong with a field, in the reader's language.
    pub fn problem(&self, lang: &Lang, problem: &Problem) -> String {
        problem.fill(&self.text(lang, problem.key))
    }

    /// Each field's problem in the reader's language.
    pub fn messages(&self, lang: &Lang, errors: &FieldErrors) -> BTreeMap<String, String> {
        errors
            .iter()
            .map(|(field, problem)| (field.clone(), self.problem(lang, problem)))
            .collect()
    }

    /// "2 to 4 hours" in the reader's language.
    pub fn wait(&self, lang: &Lang, phrase: WaitPhrase) -> String {
        let number = |n: i64| muster_core::date_format::digits(lang.as_str(), &n.to_string());
        let fill = |key: &str, low: i64, high: i64| {
            self.text(lang, key)
                .replace("{low}", &number(low))
                .replace("{high}", &number(high))
        };
        match phrase {
            WaitPhrase::Minutes { low, high } => fill("wait_minutes", low, high),
            WaitPhrase::UnderHours { high: 1 } => self.text(lang, "wait_under_one_hour"),
            WaitPhrase::UnderHours { high } => fill("wait_under_hours", 0, high),
            WaitPhrase::Hours { low, high } => fill("wait_hours", low, high),
            WaitPhrase::Days { low, high } => fill("wait_days", low, high),
            WaitPhrase::MoreThanMinutes { low: 0 } => self.text(lang, "wait_rising"),
            WaitPhrase::MoreThanMinutes { low } => fill("wait_more_than_minutes", low, 0),
            WaitPhrase::MoreThanHours { low: 1 } => self.text(lang, "wait_more_than_one_hour"),
            WaitPhrase::MoreThanHours { low } => fill("wait_more_than_hours", low, 0),
            WaitPhrase::MoreThanDays { low } => fill("wait_more_than_days", low, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// English fills gaps at run time, but a shipped language should have none: a customer
    /// reading Persian should not meet an English sentence on the subscribe page.
    #[test]
    fn every_language_has_every_english_string() {
        let translations = Translations::load().unwrap_or_else(|e| panic!("{e}"));
        let english = &translations.bundles["en"];
        for (lang, bundle) in &translations.bundles {
            let missing: Vec<&String> = english
                .keys()
                .filter(|k| !bundle.contains_key(*k))
                .collect();
            assert!(missing.is_empty(), "{lang} lacks {missing:?}");
            let unknown: Vec<&String> = bundle
                .keys()
                .filter(|k| !english.contains_key(*k))
                .collect();
            assert!(
                unknown.is_empty(),
                "{lang} has keys English lacks: {unknown:?}"
            );
        }
    }
}
