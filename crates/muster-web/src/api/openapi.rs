//! The API's OpenAPI 3.1 description, served at `/api/v1/openapi.json`.

use actix_web::{HttpResponse, get};

const DOCUMENT: &str = include_str!("openapi.json");

#[get("/api/v1/openapi.json")]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT)
}
