//! What is wrong with one field of what someone typed: a message key and its parameters.
//! Every door (the public form, the console, the API, the CLI) renders the same problem in
//! its reader's language, so one rule has one message wherever it is broken.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A translation key, e.g. `err_too_long`.
    pub key: &'static str,
    /// Values for the `{name}` placeholders of the key's text.
    pub params: Vec<(&'static str, String)>,
}

impl Problem {
    pub const fn of(key: &'static str) -> Self {
        Self {
            key,
            params: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.params.push((name, value.to_string()));
        self
    }

    /// Longer than `max` characters.
    pub fn too_long(max: usize) -> Self {
        Self::of("err_too_long").with("max", max)
    }

    /// A rule whose words are a parser's own (English) message, e.g. a time zone lookup.
    pub fn said(text: impl ToString) -> Self {
        Self::of("err_said").with("text", text)
    }

    /// The value of one parameter, if given.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Fills the placeholders of `text`, the key's words in some language.
    pub fn fill(&self, text: &str) -> String {
        self.params
            .iter()
            .fold(text.to_owned(), |out, (name, value)| {
                out.replace(&format!("{{{name}}}"), value)
            })
    }
}

impl From<crate::text_rule::TextError> for Problem {
    fn from(err: crate::text_rule::TextError) -> Self {
        match err {
            crate::text_rule::TextError::LineBreak => Problem::of("err_line_break"),
            crate::text_rule::TextError::Control(_) => Problem::of("err_control"),
        }
    }
}

/// Field name → what is wrong with it, in field order.
pub type FieldErrors = BTreeMap<String, Problem>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_from_the_parameters() {
        let problem = Problem::too_long(20_000);
        assert_eq!(
            problem.fill("at most {max} characters ({max})"),
            "at most 20000 characters (20000)"
        );
        assert_eq!(Problem::said("no such zone").fill("{text}"), "no such zone");
    }
}
