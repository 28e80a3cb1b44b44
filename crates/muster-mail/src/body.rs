//! A text part's body in its transfer encoding, chosen as lettre chooses it. Mostly-ASCII
//! text, the common case, is quoted-printable; it is encoded here in one pass, line ends
//! made CRLF on the way, to the same bytes as lettre's encoder (the `quoted_printable`
//! crate after a line-end pass), which appends a character at a time and was a tenth of
//! a campaign's CPU.

use email_encoding::body::Encoding;
use lettre::message::Body;
use lettre::message::header::ContentTransferEncoding;

/// RFC 2045: encoded lines are at most 76 characters.
const LINE_LIMIT: usize = 76;

/// `text` as a body, line ends made CRLF.
pub(crate) fn encoded(text: &str) -> Body {
    match Encoding::choose(text, false) {
        Encoding::QuotedPrintable => Body::dangerous_pre_encoded(
            quoted_printable(text),
            ContentTransferEncoding::QuotedPrintable,
        ),
        // 7bit and base64: lettre's own.
        _ => Body::new(crlf(text)),
    }
}

/// A body with CRLF line ends, converted in one pass: lettre converts a bare `\n` by
/// inserting before it, which moves the rest of the body once per line.
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 32 + 2);
    for line in text.split_inclusive('\n') {
        match line.strip_suffix('\n') {
            Some(content) => {
                out.push_str(content.strip_suffix('\r').unwrap_or(content));
                out.push_str("\r\n");
            }
            None => out.push_str(line),
        }
    }
    out
}

/// Characters that stand for themselves in quoted-printable, as a table: looked up for
/// every byte of every body.
const LITERAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = matches!(byte as u8, b'\t' | b' '..=b'<' | b'>'..=b'~');
        byte += 1;
    }
    table
};

fn is_literal(byte: u8) -> bool {
    LITERAL[usize::from(byte)]
}

/// Quoted-printable output and where its current line stands.
struct Encoder {
    out: Vec<u8>,
    on_line: usize,
    /// Where the last thing appended begins: a soft break goes there when the line is
    /// full to the character.
    last_start: usize,
}

impl Encoder {
    fn append(&mut self, bytes: &[u8]) {
        if self.on_line + bytes.len() > LINE_LIMIT {
            if self.on_line == LINE_LIMIT {
                // "=" would not fit: break before the last thing appended instead.
                self.on_line = self.out.len() - self.last_start;
                self.out.splice(self.last_start..self.last_start, *b"=\r\n");
            } else {
                self.out.extend_from_slice(b"=\r\n");
                self.on_line = 0;
            }
        }
        self.out.extend_from_slice(bytes);
        self.on_line += bytes.len();
        self.last_start = self.out.len() - bytes.len();
    }

    fn encode_byte(&mut self, byte: u8) {
        if is_literal(byte) {
            self.append(&[byte]);
        } else {
            self.append_hex(byte);
        }
    }

    fn append_hex(&mut self, byte: u8) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let high = HEX[usize::from(byte >> 4)];
        let low = HEX[usize::from(byte & 0x0f)];
        self.append(&[b'=', high, low]);
    }

    /// A space or tab must not end an encoded line (RFC 2045 6.7 (3)).
    fn encode_trailing_blank(&mut self) {
        if let Some(&blank @ (b' ' | b'\t')) = self.out.last() {
            self.out.pop();
            self.on_line -= 1;
            self.append_hex(blank);
        }
    }
}

/// `text` in quoted-printable, every line end (`\n` or `\r\n`) a CRLF.
fn quoted_printable(text: &str) -> Vec<u8> {
    let input = text.as_bytes();
    let mut encoder = Encoder {
        out: Vec::with_capacity(input.len() + input.len() / 8 + 8),
        on_line: 0,
        last_start: 0,
    };
    let mut at = 0;
    while let Some(&byte) = input.get(at) {
        let rest = input.get(at..).unwrap_or_default();
        if byte == b'\n' {
            encoder.encode_trailing_blank();
            encoder.out.extend_from_slice(b"\r\n");
            encoder.on_line = 0;
            at += 1;
        } else if byte == b'\r' && input.get(at + 1) == Some(&b'\n') {
            at += 1;
        } else if is_literal(byte) && LINE_LIMIT - encoder.on_line >= 3 {
            // A run of literal characters, copied at once, leaving room for a soft break.
            let room = rest.get(..LINE_LIMIT - encoder.on_line - 2).unwrap_or(rest);
            let run = room
                .iter()
                .position(|&b| !is_literal(b))
                .unwrap_or(room.len());
            encoder
                .out
                .extend_from_slice(room.get(..run).unwrap_or_default());
            encoder.on_line += run;
            encoder.last_start = encoder.out.len();
            at += run;
        } else {
            encoder.encode_byte(byte);
            at += 1;
        }
    }
    encoder.encode_trailing_blank();
    encoder.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What lettre does: line ends made CRLF, then the `quoted_printable` crate.
    fn lettre_quoted_printable(text: &str) -> Vec<u8> {
        let mut crlf = String::with_capacity(text.len() * 2);
        let mut previous = '\0';
        for c in text.chars() {
            if c == '\n' && previous != '\r' {
                crlf.push('\r');
            }
            crlf.push(c);
            previous = c;
        }
        quoted_printable::encode(crlf)
    }

    #[test]
    fn long_lines_blanks_and_line_ends() {
        let text = "Dear Kari, your sailing is cancelled. A full refund within 5 working days = yes. \n\
                    Tab\t\r\nLone\rcarriage; ærlig talt – ok \n.\n";
        let encoded = quoted_printable(text);
        assert_eq!(encoded, lettre_quoted_printable(text));
        let wire = String::from_utf8_lossy(&encoded);
        assert!(wire.lines().all(|l| l.len() <= LINE_LIMIT), "{wire}");
        assert!(wire.contains("=3D") && wire.contains("=20\r\n"), "{wire}");
    }

    proptest! {
        #[test]
        fn same_bytes_as_lettre(text in "[a-zA-Z =.\t\r\næ–·<>\n]{0,400}") {
            prop_assert_eq!(quoted_printable(&text), lettre_quoted_printable(&text));
        }

        #[test]
        fn same_bytes_as_lettre_on_long_words(words in proptest::collection::vec("[a-z=é ]{1,90}", 0..12)) {
            let text = words.join("\n");
            prop_assert_eq!(quoted_printable(&text), lettre_quoted_printable(&text));
        }
    }
}
