//! The client address of a request: the peer, or what the trusted proxies say (the rule is
//! `muster_core::client_identity`).

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header::HeaderName;
use actix_web::web::Data;
use muster_core::client_identity::{ForwardedHeader, TrustedProxies};

/// The client address of `req` under `proxies`.
fn of(proxies: &TrustedProxies, req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let name = match proxies.header() {
        ForwardedHeader::XForwardedFor => HeaderName::from_static("x-forwarded-for"),
        ForwardedHeader::Forwarded => HeaderName::from_static("forwarded"),
    };
    let values: Vec<&str> = req
        .headers()
        .get_all(name)
        .filter_map(|v| v.to_str().ok())
        .collect();
    Some(proxies.client(peer, &values))
}

/// The client address of `req` under the server's trusted proxies (none when the app was
/// built without them, as in a static export).
pub fn client_address(req: &HttpRequest) -> Option<IpAddr> {
    match req.app_data::<Data<TrustedProxies>>() {
        Some(proxies) => of(proxies, req),
        None => of(&TrustedProxies::default(), req),
    }
}
