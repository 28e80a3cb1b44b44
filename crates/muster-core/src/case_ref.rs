//! A case's public reference, e.g. `MX-7K3Q9P`: short enough to read over the phone,
//! without the characters people confuse (0/O, 1/I/L).

use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};

const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const PREFIX: &str = "MX-";
const BODY_LEN: usize = 6;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseRef(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("\"{0}\" is not a case reference like MX-7K3Q9P")]
pub struct CaseRefError(String);

impl CaseRef {
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let body: String = (0..BODY_LEN)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect();
        Self(format!("{PREFIX}{body}"))
    }

    /// Accepts what a customer types: any case, with or without the prefix and dash.
    pub fn parse(raw: &str) -> Result<Self, CaseRefError> {
        let upper = raw.trim().to_ascii_uppercase();
        let body = upper
            .strip_prefix(PREFIX)
            .or_else(|| upper.strip_prefix("MX"))
            .unwrap_or(&upper);
        let valid = body.len() == BODY_LEN && body.bytes().all(|b| ALPHABET.contains(&b));
        if valid {
            Ok(Self(format!("{PREFIX}{body}")))
        } else {
            Err(CaseRefError(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CaseRef {
    type Error = CaseRefError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CaseRef> for String {
    fn from(r: CaseRef) -> Self {
        r.0
    }
}

impl fmt::Display for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_references_parse_back() {
        for _ in 0..100 {
            let r = CaseRef::generate();
            assert_eq!(CaseRef::parse(r.as_str()), Ok(r.clone()));
            assert_eq!(CaseRef::parse(&r.as_str().to_lowercase()), Ok(r));
        }
    }

    #[test]
    fn rejects_confusable_characters() {
        assert!(CaseRef::parse("MX-0O1IL2").is_err());
        assert!(CaseRef::parse("mx7k3q9p").is_ok());
    }
}
