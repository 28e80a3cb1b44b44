//! The headers every answer carries unless its handler set its own (the console sets a
//! policy of its own): no script at all on the public pages, which have none; styles from
//! the site and the pages' own `<style>`; images only from the site; forms post only to
//! the site; no framing (the case page holds a form and the customer's details); no
//! content sniffing; and no referrer beyond the site, since a case address carries the
//! customer's token. HSTS only when the public address is HTTPS.

use actix_web::middleware::DefaultHeaders;

pub const PUBLIC_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; \
     img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A year, the length HSTS preload lists ask for.
const HSTS: &str = "max-age=31536000";

pub fn middleware(base_url: &str) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("Content-Security-Policy", PUBLIC_CONTENT_SECURITY_POLICY))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"));
    if base_url.starts_with("https://") {
        headers.add(("Strict-Transport-Security", HSTS))
    } else {
        headers
    }
}
