//! The console's own stylesheet and script, embedded in the binary and served as files so
//! that the console's Content-Security-Policy needs no inline script.

use actix_web::http::header;
use actix_web::{HttpResponse, get};

const STYLE: &str = include_str!("../../assets/console/console.css");
const SCRIPT: &str = include_str!("../../assets/console/console.js");

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        // Short: a new release's assets reach every agent within minutes.
        .insert_header((header::CACHE_CONTROL, "private, max-age=300"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

#[get("/console/assets/console.css")]
pub async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}

#[get("/console/assets/console.js")]
pub async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}
