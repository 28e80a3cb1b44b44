//! Which trip fields an incident's form asks for, and in whose words. A ferry company needs
//! the booking reference and the departure date; a tram network down for an afternoon has
//! neither to give, and its commuters must not be turned away by a required field.

use serde::{Deserialize, Serialize};

use crate::localized::Localized;

/// How the form treats one field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldRule {
    /// Asked, and the form is refused without it.
    #[default]
    Required,
    /// Asked, and may be left empty.
    Optional,
    /// Not on the form.
    Hidden,
}

impl FieldRule {
    pub const ALL: [FieldRule; 3] = [Self::Required, Self::Optional, Self::Hidden];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Optional => "optional",
            Self::Hidden => "hidden",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|rule| rule.as_str() == raw.trim())
    }

    pub fn is_asked(self) -> bool {
        self != Self::Hidden
    }
}

/// The form's trip fields for one incident. The default is the ferry-shaped form: both
/// required, with the standard labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FormFields {
    pub booking_ref: FieldRule,
    pub departure_date: FieldRule,
    /// The manager's own label per language ("Ticket or season card number"); a language
    /// without one shows the standard label.
    pub booking_ref_label: Localized,
    pub departure_date_label: Localized,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_reads_back_from_its_name() {
        for rule in FieldRule::ALL {
            assert_eq!(FieldRule::parse(rule.as_str()), Some(rule));
        }
        assert_eq!(FieldRule::parse("sometimes"), None);
    }

    #[test]
    fn settings_saved_before_the_rules_existed_keep_the_ferry_form() {
        let fields: FormFields = toml::from_str("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fields.booking_ref, FieldRule::Required);
        assert_eq!(fields.departure_date, FieldRule::Required);
        let hidden: FormFields =
            toml::from_str(r#"booking_ref = "hidden""#).unwrap_or_else(|e| panic!("{e}"));
        assert!(!hidden.booking_ref.is_asked());
        assert!(hidden.departure_date.is_asked());
    }
}
