//! One rule for text that comes in from outside (the form, CSV imports, inbound channels):
//! no NUL or other control characters, which nobody types, which PostgreSQL cannot store
//! (NUL) and which break headers and pages (line breaks in a name). Long text keeps tabs
//! and line breaks; a single line (a name, a subject) keeps neither.

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("contains a line break: it must be one line")]
    LineBreak,
    #[error("contains an invisible control character (U+{0:04X}): remove it and try again")]
    Control(u32),
}

fn first_control(text: &str, allowed: &[char]) -> Result<(), TextError> {
    match text
        .chars()
        .find(|c| c.is_control() && !allowed.contains(c))
    {
        Some('\n' | '\r') => Err(TextError::LineBreak),
        Some(c) => Err(TextError::Control(u32::from(c))),
        None => Ok(()),
    }
}

/// A name, a subject, a reference: printable characters only.
pub fn single_line(text: &str) -> Result<(), TextError> {
    first_control(text, &[])
}

/// A message or a note: printable characters, tabs and line breaks.
pub fn long_text(text: &str) -> Result<(), TextError> {
    first_control(text, &['\t', '\n', '\r'])
}

/// Text decoded from an email, which cannot be sent back to be fixed: control characters
/// other than tabs and line breaks are dropped.
pub fn strip_controls(text: &str) -> std::borrow::Cow<'_, str> {
    match long_text(text) {
        Ok(()) => std::borrow::Cow::Borrowed(text),
        Err(_) => text
            .chars()
            .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
            .collect::<String>()
            .into(),
    }
}

/// A name decoded from an email header (an encoded word may hide a line break): control
/// characters become spaces.
pub fn strip_to_one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_lines_refuse_line_breaks_and_controls() {
        assert_eq!(single_line("Kari Nordmann – Ålesund"), Ok(()));
        assert_eq!(single_line("Eve\r\nBcc: x@y.z"), Err(TextError::LineBreak));
        assert_eq!(single_line("Eve\tEve"), Err(TextError::Control(9)));
        assert_eq!(single_line("nul\0"), Err(TextError::Control(0)));
    }

    #[test]
    fn long_text_keeps_tabs_and_line_breaks() {
        assert_eq!(long_text("Line one\r\nLine\ttwo\n"), Ok(()));
        assert_eq!(long_text("a\u{7f}b"), Err(TextError::Control(0x7f)));
        assert_eq!(long_text("a\0b"), Err(TextError::Control(0)));
        assert!(
            TextError::Control(0).to_string().contains("U+0000"),
            "the message names the character"
        );
    }

    #[test]
    fn stripping_keeps_everything_else() {
        assert_eq!(strip_controls("Hi\0 there\u{1b}\n\tok"), "Hi there\n\tok");
        assert_eq!(strip_to_one_line("Eve\r\nBcc: x\0"), "Eve  Bcc: x");
        assert!(matches!(
            strip_controls("clean"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
