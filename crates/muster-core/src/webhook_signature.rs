//! HMAC-SHA256 signatures on webhooks, both ways: `X-Muster-Timestamp` (Unix seconds) and
//! `X-Muster-Signature: sha256=<hex of HMAC(secret, "{timestamp}.{body}")>`. Outbound
//! deliveries are signed with [`sign`]; inbound ones checked with [`verify`]. The timestamp
//! bounds replays to a five-minute window; the external id makes retries harmless.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const TIMESTAMP_HEADER: &str = "X-Muster-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Muster-Signature";
const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No secret is configured: every signed request is refused.
    #[error("no secret is configured")]
    NoSecret,
    #[error("X-Muster-Timestamp is missing or not a number")]
    BadTimestamp,
    #[error("the timestamp is more than five minutes off")]
    Stale,
    #[error("X-Muster-Signature must be sha256=<hex>")]
    Malformed,
    #[error("the signature does not match the body")]
    Mismatch,
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Result<Hmac<Sha256>, SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .map_err(|_| SignatureError::NoSecret)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(mac)
}

/// The signature header value for `body` sent at `timestamp`; `None` without a secret.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let mac = mac(secret, timestamp, body).ok()?;
    Some(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// Checks the two header values a sender gave for `body`, at `now` (Unix seconds).
pub fn verify(
    secret: &str,
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let timestamp: i64 = timestamp_header
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let given = signature_header
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(SignatureError::Malformed)?;
    mac(secret, timestamp, body)?
        .verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_signed_verifies_and_nothing_else_does() {
        let body = br#"{"text":"hello"}"#;
        let signature = sign("s3cret", 1_000, body).unwrap_or_default();
        assert_eq!(verify("s3cret", "1000", &signature, body, 1_100), Ok(()));
        assert_eq!(
            verify("s3cret", "1000", &signature, b"{}", 1_100),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("other", "1000", &signature, body, 1_100),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("s3cret", "1000", &signature, body, 1_301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify("s3cret", "soon", &signature, body, 1_000),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            verify("s3cret", "1000", "md5=00", body, 1_000),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify("", "1000", &signature, body, 1_000),
            Err(SignatureError::NoSecret)
        );
        assert_eq!(sign("", 1_000, body), None);
    }
}
