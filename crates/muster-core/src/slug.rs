//! An incident's slug: the short, URL-safe name in `/i/{slug}`.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SlugError {
    #[error("a slug must be between 3 and 64 characters")]
    Length,
    #[error(
        "a slug may hold only lowercase letters a-z, digits and single hyphens, starting with a letter or digit"
    )]
    Characters,
}

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, SlugError> {
        let raw = raw.trim();
        if !(3..=64).contains(&raw.len()) {
            return Err(SlugError::Length);
        }
        let allowed = raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !allowed || raw.starts_with('-') || raw.ends_with('-') || raw.contains("--") {
            return Err(SlugError::Characters);
        }
        Ok(Self(raw.to_owned()))
    }

    /// A slug made from a title: "MS Aurora: fire on board" becomes `ms-aurora-fire-on-board`.
    /// Latin letters lose their accents; other scripts drop out, so a title with no Latin
    /// letters or digits gives none (the manager then types one).
    pub fn from_title(title: &str) -> Option<Self> {
        let mut slug = String::new();
        for c in title.chars().flat_map(char::to_lowercase) {
            let plain = match c {
                'a'..='z' | '0'..='9' => Some(c),
                'à'..='å' | 'ā' => Some('a'),
                'æ' => Some('a'),
                'ç' | 'č' => Some('c'),
                'è'..='ë' | 'ē' => Some('e'),
                'ì'..='ï' | 'ī' => Some('i'),
                'ñ' | 'ņ' => Some('n'),
                'ò'..='ö' | 'ø' | 'ō' => Some('o'),
                'ù'..='ü' | 'ū' => Some('u'),
                'š' => Some('s'),
                'ž' => Some('z'),
                'ģ' => Some('g'),
                'ķ' => Some('k'),
                'ļ' => Some('l'),
                _ => None,
            };
            match plain {
                Some(letter) => slug.push(letter),
                None if !slug.is_empty() && !slug.ends_with('-') => slug.push('-'),
                None => {}
            }
            if slug.len() >= 64 {
                break;
            }
        }
        let slug = slug.trim_end_matches('-');
        Self::parse(slug).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = SlugError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Slug> for String {
    fn from(slug: Slug) -> Self {
        slug.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_slugs_and_rejects_the_rest() {
        assert!(Slug::parse("ferry-fire-2026").is_ok());
        assert_eq!(Slug::parse("ab"), Err(SlugError::Length));
        assert_eq!(Slug::parse("Ferry"), Err(SlugError::Characters));
        assert_eq!(Slug::parse("-ferry"), Err(SlugError::Characters));
        assert_eq!(Slug::parse("a--b"), Err(SlugError::Characters));
        assert_eq!(Slug::parse("../etc"), Err(SlugError::Characters));
    }

    #[test]
    fn a_title_gives_its_slug() {
        let made = |t: &str| Slug::from_title(t).map(|s| s.as_str().to_owned());
        assert_eq!(
            made("MS Aurora: fire on board").as_deref(),
            Some("ms-aurora-fire-on-board")
        );
        assert_eq!(
            made("Trikkene står — Oslo").as_deref(),
            Some("trikkene-star-oslo")
        );
        assert_eq!(made("آتش‌سوزی"), None);
        let long = made(&"word ".repeat(40)).unwrap_or_default();
        assert!(long.len() <= 64 && Slug::parse(&long).is_ok());
    }
}
