//! HMAC-SHA256 signatures on inbound webhooks: `X-Muster-Timestamp` (Unix seconds) and
//! `X-Muster-Signature: sha256=<hex of HMAC(secret, "{timestamp}.{body}")>`. The timestamp
//! bounds replays to a five-minute window; the external id makes retries harmless.

use actix_web::HttpRequest;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::WebError;

pub const TIMESTAMP_HEADER: &str = "X-Muster-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Muster-Signature";
const TOLERANCE_SECS: i64 = 300;

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Result<Hmac<Sha256>, WebError> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .map_err(|_| WebError::Forbidden)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(mac)
}

/// The signature header a sender computes, for integrators' reference and the tests.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let mac = mac(secret, timestamp, body).ok()?;
    Some(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

pub fn verify(req: &HttpRequest, secret: &str, body: &[u8], now: i64) -> Result<(), WebError> {
    if secret.is_empty() {
        return Err(WebError::Forbidden);
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let timestamp: i64 = header(TIMESTAMP_HEADER).parse().map_err(|_| {
        WebError::BadSignature("X-Muster-Timestamp is missing or not a number".into())
    })?;
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(WebError::BadSignature(
            "the timestamp is more than five minutes off".into(),
        ));
    }
    let given = header(SIGNATURE_HEADER)
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| WebError::BadSignature("X-Muster-Signature must be sha256=<hex>".into()))?;
    mac(secret, timestamp, body)?
        .verify_slice(&given)
        .map_err(|_| WebError::BadSignature("the signature does not match the body".into()))
}
