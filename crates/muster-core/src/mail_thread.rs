//! Email threads as mail clients expect them: one subject for the life of a case, with its
//! reference, and the reference found again in whatever a customer's reply carries (our
//! Message-IDs in In-Reply-To/References, the `+REFERENCE` address, the subject).

use crate::case_ref::CaseRef;

/// Prefixes mail clients put before a subject they answer or forward, in the languages
/// Muster speaks (English, Norwegian, German-speaking clients, Russian, Latvian, Persian).
const ANSWER_PREFIXES: &[&str] = &[
    "re",
    "fw",
    "fwd",
    "sv",
    "vs",
    "aw",
    "wg",
    "отв",
    "ответ",
    "пересл",
    "atb",
    "pārs",
    "پاسخ",
];

/// The subject every message Muster sends on a case carries: `Re: <the customer's first
/// subject> [MX-7K3Q9P]`, or `<fallback> [MX-7K3Q9P]` when the case did not start by
/// email. Decided from the first message, so acknowledgement, replies and notices share
/// it, and the reference in it threads the customer's answer back.
pub fn case_subject(customer_subject: Option<&str>, fallback: &str, reference: &CaseRef) -> String {
    let tag = format!("[{reference}]");
    let original = customer_subject.map(bare_subject).unwrap_or_default();
    let without_tag = original.replace(&tag, "");
    let original = without_tag.trim();
    if original.is_empty() {
        format!("{} {tag}", fallback.trim())
    } else {
        format!("Re: {original} {tag}")
    }
}

/// The subject without the answer and forward prefixes clients add (`Re: Fwd: AW: x` is `x`).
pub fn bare_subject(subject: &str) -> String {
    let mut rest = subject.trim();
    loop {
        let Some((head, tail)) = rest.split_once(':') else {
            return rest.to_owned();
        };
        let head = head.trim();
        // `Re[2]:` and `RE :` are answers too.
        let word = head.split('[').next().unwrap_or(head).trim().to_lowercase();
        if !ANSWER_PREFIXES.contains(&word.as_str()) {
            return rest.to_owned();
        }
        rest = tail.trim_start();
    }
}

/// The first case reference in `text`, in any letter case: `reply.7.MX-7K3Q9P@…`,
/// `support+mx-7k3q9p@…`, `Re: Our cruise [MX-7K3Q9P]`.
pub fn find_reference(text: &str) -> Option<CaseRef> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|word| {
            word.len() == 9 && word.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("mx-"))
        })
        .find_map(|word| CaseRef::parse(word).ok())
}

/// The Message-IDs a message answers, without angle brackets, oldest first, each once.
pub fn references(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        let id = id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim()
            .to_owned();
        if !id.is_empty() && !id.chars().any(char::is_control) && !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> CaseRef {
        CaseRef::parse("MX-7K3Q9P").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_case_subject_is_the_customers_first_subject_answered_with_its_reference() {
        let r = reference();
        assert_eq!(
            case_subject(Some("Our cruise"), "Ferry fire", &r),
            "Re: Our cruise [MX-7K3Q9P]"
        );
        // Answering our own subject again keeps it as it was.
        assert_eq!(
            case_subject(Some("RE: Re: Our cruise [MX-7K3Q9P]"), "Ferry fire", &r),
            "Re: Our cruise [MX-7K3Q9P]"
        );
        assert_eq!(
            case_subject(Some("  "), "Ferry fire", &r),
            "Ferry fire [MX-7K3Q9P]"
        );
        assert_eq!(
            case_subject(None, "Ferry fire", &r),
            "Ferry fire [MX-7K3Q9P]"
        );
        assert_eq!(bare_subject("AW: SV: Re[2]: Refund"), "Refund");
        assert_eq!(bare_subject("Booking: AB1234"), "Booking: AB1234");
    }

    #[test]
    fn references_are_found_in_ids_addresses_and_subjects() {
        let found = |t: &str| find_reference(t).map(|r| r.to_string());
        let expected = Some("MX-7K3Q9P".to_owned());
        assert_eq!(found("<reply.7.MX-7K3Q9P@example.com>"), expected);
        assert_eq!(found("support+mx-7k3q9p@example.com"), expected);
        assert_eq!(found("Re: Our cruise [MX-7K3Q9P]"), expected);
        assert_eq!(found("mx-toolong1 and MX-0OIL11"), None);
    }

    #[test]
    fn references_are_trimmed_and_each_kept_once() {
        let ids = ["<a@x>", "b@x", " <a@x> ", "", "c\r\nBcc: e@x"].map(String::from);
        assert_eq!(references(ids), vec!["a@x".to_owned(), "b@x".to_owned()]);
    }
}
