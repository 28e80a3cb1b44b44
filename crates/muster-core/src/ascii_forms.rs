//! The one normalisation at the edge for identifiers people type: Persian (۰–۹) and
//! Arabic-Indic (٠–٩) digits and full-width forms (０–９, Ａ–Ｚ, ａ–ｚ, the full-width
//! punctuation and the ideographic space) become their ASCII forms. A Persian keyboard
//! types Persian digits, a Japanese or Chinese input method full-width ones; a booking
//! reference or a phone number means the same either way. Every parser of those
//! (`contact_info`, the free-text readers) folds through here, so every door does.

use std::borrow::Cow;

/// `raw` with those characters in their ASCII forms; borrowed when there were none.
pub fn fold(raw: &str) -> Cow<'_, str> {
    if raw.is_ascii() || !raw.chars().any(|c| ascii_form(c).is_some()) {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(raw.chars().map(|c| ascii_form(c).unwrap_or(c)).collect())
}

fn ascii_form(c: char) -> Option<char> {
    let code = u32::from(c);
    let ascii = match code {
        // Arabic-Indic digits, then Extended Arabic-Indic (Persian, Urdu).
        0x0660..=0x0669 => u32::from('0') + (code - 0x0660),
        0x06F0..=0x06F9 => u32::from('0') + (code - 0x06F0),
        // Full-width ASCII: `！` (U+FF01) to `～` (U+FF5E) sit 0xFEE0 above `!` to `~`.
        0xFF01..=0xFF5E => code - 0xFEE0,
        0x3000 => u32::from(' '),
        _ => return None,
    };
    char::from_u32(ascii)
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn persian_arabic_and_full_width_become_ascii() {
        assert_eq!(fold("۰۹۱۲ ۳۴۵ ۶۷۸۹"), "0912 345 6789");
        assert_eq!(fold("٠١٢٣٤٥٦٧٨٩"), "0123456789");
        assert_eq!(fold("ＡＢ１２３４"), "AB1234");
        assert_eq!(fold("ａｂ－１２"), "ab-12");
        assert_eq!(fold("＋４７\u{3000}４００"), "+47 400");
    }

    #[test]
    fn other_text_is_left_as_it_is() {
        assert!(matches!(fold("AB1234"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(fold("سلام AB12"), "سلام AB12");
        assert_eq!(fold("Ærøskøbing"), "Ærøskøbing");
    }
}
