//! Inbound webhooks' signature headers, checked by the rule in
//! [`muster_core::webhook_signature`] (the same one outbound deliveries are signed with).

use actix_web::HttpRequest;
use muster_core::webhook_signature::{self, SIGNATURE_HEADER, SignatureError, TIMESTAMP_HEADER};

use crate::error::WebError;

pub fn verify(req: &HttpRequest, secret: &str, body: &[u8], now: i64) -> Result<(), WebError> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    webhook_signature::verify(
        secret,
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        body,
        now,
    )
    .map_err(|err| match err {
        SignatureError::NoSecret => WebError::Forbidden,
        other => WebError::BadSignature(other.to_string()),
    })
}
