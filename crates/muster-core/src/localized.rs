//! Text written in several languages, read with a fallback to the incident's default.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::language::Lang;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Localized(BTreeMap<Lang, String>);

impl Localized {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(lang: Lang, text: impl Into<String>) -> Self {
        let mut map = BTreeMap::new();
        map.insert(lang, text.into());
        Self(map)
    }

    pub fn with(mut self, lang: Lang, text: impl Into<String>) -> Self {
        self.set(lang, text);
        self
    }

    /// Sets the text for one language; an empty text removes that language.
    pub fn set(&mut self, lang: Lang, text: impl Into<String>) {
        let text = text.into();
        if text.trim().is_empty() {
            self.0.remove(&lang);
        } else {
            self.0.insert(lang, text);
        }
    }

    /// The text in `lang`, else in `fallback`, else in any language, else empty.
    pub fn get<'a>(&'a self, lang: &Lang, fallback: &Lang) -> &'a str {
        self.0
            .get(lang)
            .or_else(|| self.0.get(fallback))
            .or_else(|| self.0.values().next())
            .map(String::as_str)
            .unwrap_or("")
    }

    /// The text written in exactly `lang`, with no fallback.
    pub fn exactly(&self, lang: &Lang) -> Option<&str> {
        self.0.get(lang).map(String::as_str)
    }

    /// The language [`Localized::get`] reads its text from, so a page can mark text shown
    /// in another language than its own (`lang="en"` on a Persian page).
    pub fn language_of<'a>(&'a self, lang: &Lang, fallback: &Lang) -> Option<&'a Lang> {
        [lang, fallback]
            .into_iter()
            .find_map(|l| self.0.get_key_value(l).map(|(k, _)| k))
            .or_else(|| self.0.keys().next())
    }

    /// The language of the text shown in `lang`, when it is another one.
    pub fn foreign_in<'a>(&'a self, lang: &Lang, fallback: &Lang) -> Option<&'a Lang> {
        self.language_of(lang, fallback)
            .filter(|used| *used != lang)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn languages(&self) -> impl Iterator<Item = &Lang> {
        self.0.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falls_back_to_the_default_language() {
        let nb = Lang::parse("nb").ok();
        let fa = Lang::parse("fa").ok();
        let (Some(nb), Some(fa)) = (nb, fa) else {
            panic!("valid codes")
        };
        let text = Localized::single(Lang::english(), "Hello").with(nb.clone(), "Hei");
        assert_eq!(text.get(&nb, &Lang::english()), "Hei");
        assert_eq!(text.get(&fa, &Lang::english()), "Hello");
        assert_eq!(Localized::new().get(&fa, &nb), "");
        assert_eq!(
            text.foreign_in(&fa, &Lang::english()),
            Some(&Lang::english())
        );
        assert_eq!(text.foreign_in(&nb, &Lang::english()), None);
        assert_eq!(Localized::new().foreign_in(&fa, &nb), None);
    }
}
