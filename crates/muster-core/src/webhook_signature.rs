//! HMAC-SHA256 signatures on webhooks, both ways, in two headers: `X-Muster-Timestamp` (Unix
//! seconds) and `X-Muster-Signature: sha256=<hex of HMAC(secret, message)>`.
//!
//! - Outbound deliveries ([`sign`]) sign `"{timestamp}.{body}"`: they go to the one URL
//!   the receiver registered.
//! - Inbound requests ([`sign_request`], checked with [`verify_request`]) sign
//!   `"{timestamp}.{METHOD}.{path?query}.{body}"`, so a signed body cannot be replayed to
//!   another channel or another `?incident=`. The timestamp bounds a signature to a
//!   five-minute window; within it the web door refuses a signature seen before.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const TIMESTAMP_HEADER: &str = "X-Muster-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Muster-Signature";
/// How far a signed timestamp may be from now, either way.
pub const TOLERANCE_SECS: i64 = 300;

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
    #[error("the signature does not match the method, path, query and body")]
    Mismatch,
}

/// What an inbound signature covers besides its timestamp and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLine<'a> {
    /// `POST`.
    pub method: &'a str,
    /// The path and query as sent: `/api/v1/inbound/social?incident=ferry-fire`.
    pub target: &'a str,
}

fn mac(secret: &str, parts: &[&[u8]]) -> Result<Hmac<Sha256>, SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .map_err(|_| SignatureError::NoSecret)?;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            mac.update(b".");
        }
        mac.update(part);
    }
    Ok(mac)
}

fn header_value(mac: Hmac<Sha256>) -> String {
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The signature header value of an outbound delivery of `body` sent at `timestamp`;
/// `None` without a secret.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let timestamp = timestamp.to_string();
    mac(secret, &[timestamp.as_bytes(), body])
        .ok()
        .map(header_value)
}

fn request_mac(
    secret: &str,
    timestamp: i64,
    line: RequestLine<'_>,
    body: &[u8],
) -> Result<Hmac<Sha256>, SignatureError> {
    let timestamp = timestamp.to_string();
    mac(
        secret,
        &[
            timestamp.as_bytes(),
            line.method.as_bytes(),
            line.target.as_bytes(),
            body,
        ],
    )
}

/// The signature header value of an inbound request sent at `timestamp`; `None` without a
/// secret.
pub fn sign_request(
    secret: &str,
    timestamp: i64,
    line: RequestLine<'_>,
    body: &[u8],
) -> Option<String> {
    request_mac(secret, timestamp, line, body)
        .ok()
        .map(header_value)
}

/// A signature that verified: its timestamp, and the MAC that names it among requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub timestamp: i64,
    /// Lower-case hex: the same request signed again at the same second is the same value.
    pub mac_hex: String,
}

impl Verified {
    /// Until when the signature is accepted (Unix seconds): after it, a replay is stale.
    pub fn valid_until(&self) -> i64 {
        self.timestamp + TOLERANCE_SECS
    }
}

/// Checks the two header values a sender gave for an inbound request, at `now` (Unix
/// seconds).
pub fn verify_request(
    secret: &str,
    timestamp_header: &str,
    signature_header: &str,
    line: RequestLine<'_>,
    body: &[u8],
    now: i64,
) -> Result<Verified, SignatureError> {
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
        .trim()
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(SignatureError::Malformed)?;
    request_mac(secret, timestamp, line, body)?
        .verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch)?;
    Ok(Verified {
        timestamp,
        mac_hex: hex::encode(given),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOCIAL: RequestLine<'static> = RequestLine {
        method: "POST",
        target: "/api/v1/inbound/social?incident=ferry-fire",
    };

    #[test]
    fn an_outbound_delivery_signs_timestamp_and_body() {
        // As `printf '1000.{"text":"hello"}' | openssl dgst -sha256 -hmac s3cret` prints it.
        assert_eq!(
            sign("s3cret", 1_000, br#"{"text":"hello"}"#).as_deref(),
            Some("sha256=2b6dad92a9ac04584b2e60bd2d7408725f1f00ed0eaafb818ee050bf6fe20fad")
        );
        assert_eq!(sign("", 1_000, b"{}"), None);
    }

    #[test]
    fn an_inbound_signature_covers_method_path_query_and_body() {
        let body = br#"{"text":"hello"}"#;
        let signature = sign_request("s3cret", 1_795_000_000, SOCIAL, body).unwrap_or_default();
        // The message the docs' curl example signs: "{timestamp}.{METHOD}.{path?query}.{body}".
        assert_eq!(
            signature,
            "sha256=9ec65fc252d7038250f99ba3b4c052329ee189273e44e9d652a96892010c9461"
        );
        let check = |line: RequestLine<'_>, body: &[u8]| {
            verify_request(
                "s3cret",
                "1795000000",
                &signature,
                line,
                body,
                1_795_000_100,
            )
        };
        assert_eq!(
            check(SOCIAL, body).map(|v| (v.timestamp, v.valid_until())),
            Ok((1_795_000_000, 1_795_000_300))
        );
        for line in [
            RequestLine {
                target: "/api/v1/inbound/chat?incident=ferry-fire",
                ..SOCIAL
            },
            RequestLine {
                target: "/api/v1/inbound/social?incident=other",
                ..SOCIAL
            },
            RequestLine {
                target: "/api/v1/inbound/social",
                ..SOCIAL
            },
            RequestLine {
                method: "PUT",
                ..SOCIAL
            },
        ] {
            assert_eq!(check(line, body), Err(SignatureError::Mismatch), "{line:?}");
        }
        assert_eq!(check(SOCIAL, b"{}"), Err(SignatureError::Mismatch));
        // An outbound signature of the same body is not an inbound one.
        let outbound = sign("s3cret", 1_795_000_000, body).unwrap_or_default();
        assert_eq!(
            verify_request(
                "s3cret",
                "1795000000",
                &outbound,
                SOCIAL,
                body,
                1_795_000_000
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn every_way_a_signature_fails_has_its_own_error() {
        let body = br#"{"text":"hello"}"#;
        let signature = sign_request("s3cret", 1_000, SOCIAL, body).unwrap_or_default();
        let check = |secret: &str, timestamp: &str, signature: &str, now: i64| {
            verify_request(secret, timestamp, signature, SOCIAL, body, now).map(|_| ())
        };
        assert_eq!(check("s3cret", "1000", &signature, 1_300), Ok(()));
        assert_eq!(
            check("other", "1000", &signature, 1_100),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check("s3cret", "1000", &signature, 1_301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            check("s3cret", "soon", &signature, 1_000),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            check("s3cret", "1000", "md5=00", 1_000),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            check("", "1000", &signature, 1_000),
            Err(SignatureError::NoSecret)
        );
        assert_eq!(sign_request("", 1_000, SOCIAL, body), None);
    }
}
