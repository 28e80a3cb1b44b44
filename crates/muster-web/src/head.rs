//! HEAD on every GET route, as uptime monitors and CDNs expect: the request is routed as a
//! GET, and actix's HTTP codec, which saw the HEAD, sends the same headers (the length
//! included) without the body. An `Allow` that names GET names HEAD too.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{ALLOW, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;

pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let mut response = next.call(req).await?;
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        let allow = response
            .headers()
            .get(ALLOW)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.split(',').any(|m| m.trim() == "GET"))
            .map(|v| format!("{v}, HEAD"));
        if let Some(value) = allow.and_then(|v| HeaderValue::from_str(&v).ok()) {
            response.headers_mut().insert(ALLOW, value);
        }
    }
    Ok(response)
}
