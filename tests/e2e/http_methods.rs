//! HTTP as monitors, CDNs and browsers expect it: HEAD on every GET route with the GET's
//! headers and no body, and 405 with `Allow` for a method a public path does not take.

use std::time::{Duration, Instant};

use muster_store::testing::TestEngine;
use serde_json::json;

use crate::support::{MANAGER_EMAIL, TestApp, browser};

const SLUG: &str = "tram-outage";

async fn public_incident(app: &TestApp) {
    let token = app.token(MANAGER_EMAIL, "manager");
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(
            &json!({"slug": SLUG, "title": "Trams stopped", "languages": "en", "time_zone": "UTC"}),
        )
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201);
    let deadline = Instant::now() + Duration::from_secs(10);
    while reqwest::get(app.at(&format!("/i/{SLUG}")))
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or_default()
        != 200
    {
        assert!(Instant::now() < deadline, "the page is never served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn head_answers_every_get_route_like_get_without_the_body() {
    let app = TestApp::spawn(TestEngine::Sqlite).await;
    public_incident(&app).await;
    let client = browser();
    // The pre-rendered pages: byte for byte the same headers, the length included.
    let cached = [
        format!("/i/{SLUG}"),
        format!("/i/{SLUG}.json"),
        format!("/i/{SLUG}/feed.atom"),
    ];
    // Pages rendered per request (a fresh form key, a live count): same status and type.
    let rendered = [
        format!("/i/{SLUG}/form"),
        format!("/i/{SLUG}/subscribe"),
        format!("/i/{SLUG}/wait-times.json"),
        "/crisis".to_owned(),
        "/healthz".to_owned(),
        "/readyz".to_owned(),
        "/metrics".to_owned(),
        "/console/login".to_owned(),
    ];
    for path in cached.iter().chain(&rendered) {
        let get = client
            .get(app.at(path))
            .send()
            .await
            .expect("the request reaches the server");
        let head = client
            .head(app.at(path))
            .send()
            .await
            .expect("the request reaches the server");
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert!(
            get.status().is_success() || get.status().is_redirection(),
            "GET {path}"
        );
        let names: &[&str] = if cached.contains(path) {
            &[
                "content-type",
                "content-length",
                "etag",
                "cache-control",
                "vary",
            ]
        } else {
            &["content-type", "location"]
        };
        for name in names {
            assert_eq!(
                head.headers().get(*name),
                get.headers().get(*name),
                "HEAD {path}: {name}"
            );
        }
        assert!(
            head.bytes().await.unwrap_or_default().is_empty(),
            "HEAD {path} has no body"
        );
    }
}

#[tokio::test]
async fn other_methods_on_public_paths_get_405_with_allow() {
    let app = TestApp::spawn(TestEngine::Sqlite).await;
    public_incident(&app).await;
    let client = browser();
    let cases = [
        (reqwest::Method::POST, format!("/i/{SLUG}"), "GET, HEAD"),
        (
            reqwest::Method::DELETE,
            format!("/i/{SLUG}.json"),
            "GET, HEAD",
        ),
        (
            reqwest::Method::PUT,
            format!("/i/{SLUG}/form"),
            "GET, POST, HEAD",
        ),
        (
            reqwest::Method::PATCH,
            format!("/i/{SLUG}/subscribe"),
            "GET, POST, HEAD",
        ),
        (reqwest::Method::POST, "/healthz".to_owned(), "GET, HEAD"),
        (reqwest::Method::POST, "/crisis".to_owned(), "GET, HEAD"),
        (
            reqwest::Method::PUT,
            "/c/MX-7K3Q9P".to_owned(),
            "GET, POST, HEAD",
        ),
        (
            reqwest::Method::DELETE,
            format!("/u/{}", "a".repeat(32)),
            "GET, POST, HEAD",
        ),
    ];
    for (method, path, allow) in cases {
        let response = client
            .request(method.clone(), app.at(&path))
            .send()
            .await
            .expect("the request reaches the server");
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(
            response
                .headers()
                .get("allow")
                .and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}"
        );
    }
    let unknown = client
        .post(app.at("/nowhere"))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(
        unknown.status(),
        404,
        "a path that does not exist is still 404"
    );
}
