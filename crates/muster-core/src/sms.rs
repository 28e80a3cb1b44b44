//! How many SMS segments a text takes: 160 characters in one message when every character is
//! in the GSM 03.38 alphabet (GSM-7), else 70 UTF-16 units (UCS-2); a longer text is sent in
//! parts of 153 or 67, each with its concatenation header. Agents see the count before they
//! send, since the customer's phone shows each part as it arrives and each part is billed.

use serde::Serialize;

/// The GSM 03.38 default alphabet, one septet each.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table: an escape septet and the character, two septets each.
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{000C}";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Segments {
    pub encoding: Encoding,
    /// Parts the text is sent in.
    pub count: usize,
    /// Septets (GSM-7) or UTF-16 units (UCS-2) the text takes.
    pub units: usize,
}

/// The segments `text` is sent in.
pub fn segments(text: &str) -> Segments {
    let septets: Option<usize> = text
        .chars()
        .map(|c| {
            if GSM7_BASIC.contains(c) {
                Some(1)
            } else if GSM7_EXTENSION.contains(c) {
                Some(2)
            } else {
                None
            }
        })
        .sum();
    let (encoding, units, single, part) = match septets {
        Some(septets) => (Encoding::Gsm7, septets, 160, 153),
        None => (Encoding::Ucs2, text.encode_utf16().count(), 70, 67),
    };
    let count = if units <= single {
        1
    } else {
        units.div_ceil(part)
    };
    Segments {
        encoding,
        count,
        units,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_latin_text_fits_160_septets_then_parts_of_153() {
        let one = "a".repeat(160);
        assert_eq!(segments(&one).count, 1);
        assert_eq!(segments(&one).encoding, Encoding::Gsm7);
        assert_eq!(segments(&"a".repeat(161)).count, 2);
        assert_eq!(segments(&"a".repeat(306)).count, 2);
        assert_eq!(segments(&"a".repeat(307)).count, 3);
        // Norwegian letters are in the alphabet.
        assert_eq!(
            segments("Ærlig talt, ferja går ikke før kl. 18").encoding,
            Encoding::Gsm7
        );
    }

    #[test]
    fn extension_characters_take_two_septets() {
        let text = "€".repeat(80);
        assert_eq!(segments(&text).units, 160);
        assert_eq!(segments(&text).count, 1);
        assert_eq!(segments(&format!("{text}a")).count, 2);
    }

    #[test]
    fn anything_else_is_ucs2_at_70_then_67() {
        let persian = "س".repeat(70);
        assert_eq!(segments(&persian).encoding, Encoding::Ucs2);
        assert_eq!(segments(&persian).count, 1);
        assert_eq!(segments(&"س".repeat(71)).count, 2);
        assert_eq!(segments(&"ж".repeat(135)).count, 3);
        // One emoji in Latin text turns the whole message into UCS-2 (and takes two units).
        let mixed = format!("{}🙂", "a".repeat(69));
        assert_eq!(segments(&mixed).units, 71);
        assert_eq!(segments(&mixed).count, 2);
    }
}
