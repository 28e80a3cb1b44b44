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
    }
}
