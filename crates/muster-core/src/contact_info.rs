//! How a customer is recognised across channels: email, phone and booking reference,
//! each normalised so the same customer matches the same case.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ContactError {
    #[error("enter an email address like name@example.com")]
    Email,
    #[error("enter a phone number with 7 to 15 digits, for example +47 22 00 00 00")]
    Phone,
    #[error("a booking reference has 4 to 16 letters and digits")]
    BookingRef,
}

impl EmailAddress {
    /// Lowercased and trimmed; one `@`, a dotted domain, no spaces, at most 254 characters.
    pub fn parse(raw: &str) -> Result<Self, ContactError> {
        let email = raw.trim().to_lowercase();
        let Some((local, domain)) = email.split_once('@') else {
            return Err(ContactError::Email);
        };
        let valid = email.len() <= 254
            && !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@')
            && email
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[],;:\"\\".contains(c));
        if valid {
            Ok(Self(email))
        } else {
            Err(ContactError::Email)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = ContactError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> Self {
        e.0
    }
}
impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Digits only, with a leading `+` kept when given: `+47 22-00 00 00` becomes `+4722000000`.
/// Persian and Arabic-Indic digits are folded to ASCII (`ascii_forms`), and the international
/// prefix `00` is written `+`, so one number typed on a Persian keyboard, sent by Twilio
/// (`+4722000000`) or by WhatsApp (`4722000000`, see [`PhoneNumber::international`]) is one
/// customer (E.164).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, ContactError> {
        let folded = crate::ascii_forms::fold(raw);
        let trimmed = folded.trim();
        let plus = trimmed.starts_with('+');
        let allowed = trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || " -().+".contains(c));
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        let (plus, digits) = match digits.strip_prefix("00") {
            Some(rest) if !plus => (true, rest.to_owned()),
            _ => (plus, digits),
        };
        if !allowed || !(7..=15).contains(&digits.len()) {
            return Err(ContactError::Phone);
        }
        Ok(Self(if plus { format!("+{digits}") } else { digits }))
    }

    /// A number that is international by contract though written without `+` (WhatsApp's
    /// `wa_id`, `4722000000`), in E.164: `+4722000000`.
    pub fn international(raw: &str) -> Result<Self, ContactError> {
        let trimmed = raw.trim();
        if trimmed.starts_with('+') {
            Self::parse(trimmed)
        } else {
            Self::parse(&format!("+{trimmed}"))
        }
    }

    /// The digits without the `+`, as WhatsApp's Cloud API takes a recipient.
    pub fn digits(&self) -> &str {
        self.0.trim_start_matches('+')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = ContactError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> Self {
        p.0
    }
}

/// Uppercase letters and digits, separators dropped: ` ab-12 cd ` becomes `AB12CD`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BookingRef(String);

impl BookingRef {
    pub fn parse(raw: &str) -> Result<Self, ContactError> {
        let folded = crate::ascii_forms::fold(raw);
        let trimmed = folded.trim();
        let allowed = trimmed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " -/".contains(c));
        let compact: String = trimmed
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if !allowed || !(4..=16).contains(&compact.len()) {
            return Err(ContactError::BookingRef);
        }
        Ok(Self(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BookingRef {
    type Error = ContactError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<BookingRef> for String {
    fn from(b: BookingRef) -> Self {
        b.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalises_so_the_same_customer_matches() {
        assert_eq!(
            EmailAddress::parse(" Kari@Example.NO "),
            EmailAddress::parse("kari@example.no")
        );
        assert_eq!(
            PhoneNumber::parse("+47 22-00 00 00").map(|p| p.0),
            Ok("+4722000000".into())
        );
        assert_eq!(
            BookingRef::parse(" ab-12 cd ").map(|b| b.0),
            Ok("AB12CD".into())
        );
    }

    #[test]
    fn reads_persian_and_arabic_indic_digits_and_the_00_prefix() {
        let expected = Ok("+4722000000".to_owned());
        assert_eq!(PhoneNumber::parse("+۴۷ ۲۲ ۰۰ ۰۰ ۰۰").map(|p| p.0), expected);
        assert_eq!(PhoneNumber::parse("+٤٧٢٢٠٠٠٠٠٠").map(|p| p.0), expected);
        assert_eq!(
            PhoneNumber::parse("0047 22 00 00 00").map(|p| p.0),
            expected
        );
        assert_eq!(
            PhoneNumber::international("4722000000").map(|p| p.0),
            expected
        );
        assert_eq!(
            PhoneNumber::international("+4722000000").map(|p| p.digits().to_owned()),
            Ok("4722000000".to_owned())
        );
    }

    #[test]
    fn rejects_malformed_input() {
        for bad in [
            "",
            "kari",
            "kari@",
            "@example.no",
            "kari@example",
            "ka ri@example.no",
            "a@b..no",
            "<a@b.no>",
        ] {
            assert_eq!(EmailAddress::parse(bad), Err(ContactError::Email), "{bad}");
        }
        assert_eq!(PhoneNumber::parse("12345"), Err(ContactError::Phone));
        assert_eq!(PhoneNumber::parse("call me"), Err(ContactError::Phone));
        assert_eq!(BookingRef::parse("AB"), Err(ContactError::BookingRef));
        assert_eq!(
            BookingRef::parse("AB12;DROP"),
            Err(ContactError::BookingRef)
        );
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_is_idempotent(raw in "\\PC{0,80}") {
            if let Ok(email) = EmailAddress::parse(&raw) {
                prop_assert_eq!(EmailAddress::parse(email.as_str()), Ok(email.clone()));
            }
            if let Ok(b) = BookingRef::parse(&raw) {
                prop_assert_eq!(BookingRef::parse(b.as_str()), Ok(b.clone()));
            }
            let _ = PhoneNumber::parse(&raw);
        }
    }
}
