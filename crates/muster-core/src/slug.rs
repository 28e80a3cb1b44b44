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
}
