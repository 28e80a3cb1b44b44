//! Inbound webhooks' signature headers, checked by the rule in
//! [`muster_core::webhook_signature`]: the timestamp, method, path, query and body signed,
//! and each signature taken once within its window (on every replica: the record of
//! signatures seen is in the database).

use actix_web::HttpRequest;
use muster_core::webhook_signature::{
    self, RequestLine, SIGNATURE_HEADER, SignatureError, TIMESTAMP_HEADER, Verified,
};

use crate::error::{WebError, WebResult};
use crate::state::AppState;

/// Checks the request's signature and admits it once: the same signed request again is
/// refused. The caller releases it (`App::release_inbound_signature`) when it answers with
/// an error, so that a sender may retry what was not taken.
pub async fn admit(state: &AppState, req: &HttpRequest, body: &[u8]) -> WebResult<Verified> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path(), |p| p.as_str());
    let line = RequestLine {
        method: req.method().as_str(),
        target,
    };
    let verified = webhook_signature::verify_request(
        &state.config.inbound_secret,
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        line,
        body,
        state.app.now().unix_timestamp(),
    )
    .map_err(|err| match err {
        SignatureError::NoSecret => WebError::Forbidden,
        other => WebError::BadSignature(other.to_string()),
    })?;
    if !state.app.admit_inbound_signature(&verified).await? {
        return Err(WebError::BadSignature(
            "this signature was used before: sign every request, a retry too, with a fresh \
             timestamp"
                .into(),
        ));
    }
    Ok(verified)
}
