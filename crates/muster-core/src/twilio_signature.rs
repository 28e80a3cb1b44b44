//! Twilio's request signature, `X-Twilio-Signature`, checked as Twilio computes it: the
//! base64 of HMAC-SHA1, keyed with the account's auth token, over the full URL Twilio
//! called (scheme, host, path and query) followed by every POST parameter's name and value,
//! sorted by name. SHA-1 is Twilio's choice, not ours; ring offers it for exactly this kind
//! of legacy use, with a constant-time comparison.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwilioSignatureError {
    /// No auth token is configured: every request is refused.
    #[error("no Twilio auth token is configured")]
    NoToken,
    #[error("X-Twilio-Signature is missing or not base64")]
    Malformed,
    #[error("X-Twilio-Signature does not match the URL and parameters")]
    Mismatch,
}

/// The string Twilio signs: the URL, then each parameter's name and value, sorted by name
/// (and by value for a repeated name; a pair given twice counts once, as in Twilio's own
/// helper libraries).
fn signed_text(url: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<&(String, String)> = params.iter().collect();
    pairs.sort();
    pairs.dedup();
    let mut text = url.to_owned();
    for (name, value) in pairs {
        text.push_str(name);
        text.push_str(value);
    }
    text
}

fn key(auth_token: &str) -> Result<hmac::Key, TwilioSignatureError> {
    if auth_token.is_empty() {
        return Err(TwilioSignatureError::NoToken);
    }
    Ok(hmac::Key::new(
        hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        auth_token.as_bytes(),
    ))
}

/// The header value Twilio would send for a POST of `params` to `url`; `None` without a
/// token. (Muster never sends to itself; the tests' stand-in for Twilio signs with this.)
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> Option<String> {
    let key = key(auth_token).ok()?;
    let tag = hmac::sign(&key, signed_text(url, params).as_bytes());
    Some(STANDARD.encode(tag.as_ref()))
}

/// Checks `header` against a POST of `params` to `url`.
pub fn verify(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header: &str,
) -> Result<(), TwilioSignatureError> {
    let key = key(auth_token)?;
    let given = STANDARD
        .decode(header.trim())
        .ok()
        .filter(|g| !g.is_empty())
        .ok_or(TwilioSignatureError::Malformed)?;
    hmac::verify(&key, signed_text(url, params).as_bytes(), &given)
        .map_err(|_| TwilioSignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Twilio's published example (docs "Webhooks security"): auth token `12345`.
    fn example() -> (&'static str, Vec<(String, String)>) {
        let params = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        (
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            params.to_vec(),
        )
    }

    #[test]
    fn twilios_published_example_verifies() {
        let (url, mut params) = example();
        assert_eq!(
            sign("12345", url, &params).as_deref(),
            Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
        );
        // The order the form came in does not matter: the names are sorted.
        params.reverse();
        assert_eq!(
            verify("12345", url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
            Ok(())
        );
    }

    #[test]
    fn anything_changed_fails() {
        let (url, params) = example();
        let good = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
        assert_eq!(
            verify("54321", url, &params, good),
            Err(TwilioSignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                "12345",
                "https://mycompany.com/myapp.php?foo=1",
                &params,
                good
            ),
            Err(TwilioSignatureError::Mismatch)
        );
        let mut pressed = params.clone();
        pressed[2].1 = "2".to_owned();
        assert_eq!(
            verify("12345", url, &pressed, good),
            Err(TwilioSignatureError::Mismatch)
        );
        assert_eq!(
            verify("12345", url, &params, "not base64!"),
            Err(TwilioSignatureError::Malformed)
        );
        assert_eq!(
            verify("12345", url, &params, ""),
            Err(TwilioSignatureError::Malformed)
        );
        assert_eq!(
            verify("", url, &params, good),
            Err(TwilioSignatureError::NoToken)
        );
        assert_eq!(sign("", url, &params), None);
    }
}
