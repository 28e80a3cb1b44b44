//! Languages: incident content and the page's own words are chosen per language.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A language tag reduced to its primary subtag (`nb`, `fa`, `en`): what Muster translates by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Lang(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("\"{0}\" is not a language code such as en, nb or fa")]
pub struct LangError(pub String);

/// Languages written right to left, so pages set `dir="rtl"`.
const RIGHT_TO_LEFT: [&str; 6] = ["ar", "fa", "he", "ps", "ur", "yi"];

impl Lang {
    pub fn parse(raw: &str) -> Result<Self, LangError> {
        let primary = raw
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let valid =
            (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_lowercase());
        if valid {
            Ok(Self(primary))
        } else {
            Err(LangError(raw.to_owned()))
        }
    }

    pub fn english() -> Self {
        Self("en".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_rtl(&self) -> bool {
        RIGHT_TO_LEFT.contains(&self.0.as_str())
    }

    /// Picks the best of `available` for an `Accept-Language` header, honouring q-values.
    pub fn negotiate(accept_language: &str, available: &[Lang]) -> Option<Lang> {
        let mut ranked: Vec<(f32, Lang)> = accept_language
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let tag = Lang::parse(pieces.next()?).ok()?;
                let quality = pieces
                    .find_map(|p| {
                        p.trim()
                            .strip_prefix("q=")
                            .and_then(|q| q.parse::<f32>().ok())
                    })
                    .unwrap_or(1.0);
                (quality > 0.0).then_some((quality, tag))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked
            .into_iter()
            .map(|(_, lang)| lang)
            .find(|lang| available.contains(lang))
    }
}

impl TryFrom<String> for Lang {
    type Error = LangError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Lang> for String {
    fn from(lang: Lang) -> Self {
        lang.0
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn langs(codes: &[&str]) -> Vec<Lang> {
        codes.iter().filter_map(|c| Lang::parse(c).ok()).collect()
    }

    #[test]
    fn reduces_tags_to_their_primary_subtag() {
        assert_eq!(Lang::parse("nb-NO").map(|l| l.0), Ok("nb".to_owned()));
        assert!(Lang::parse("x").is_err());
        assert!(Lang::parse("<script>").is_err());
    }

    #[test]
    fn negotiates_by_quality() {
        let available = langs(&["en", "nb", "fa"]);
        let picked = Lang::negotiate("de;q=1, fa;q=0.5, nb-NO;q=0.8", &available);
        assert_eq!(picked, Lang::parse("nb").ok());
        assert_eq!(Lang::negotiate("de, fr", &available), None);
    }

    #[test]
    fn persian_is_right_to_left() {
        assert!(Lang::parse("fa").map(|l| l.is_rtl()).unwrap_or(false));
        assert!(!Lang::english().is_rtl());
    }
}
