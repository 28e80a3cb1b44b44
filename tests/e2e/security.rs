//! Security over HTTP: session fixation, stored scripts rendered inert everywhere,
//! revoked tokens, bodies that are too big or not what they claim to be, and the
//! headers that keep pages from being framed, sniffed or leaking their address.

use muster_store::testing::TestEngine;
use serde_json::json;

use crate::support::{MANAGER_EMAIL, PASSWORD, TestApp, browser, csrf_of};
use muster_store::on_both_engines;

on_both_engines!(
    a_stored_script_is_inert_everywhere,
    a_revoked_token_is_refused,
    every_page_forbids_scripts_framing_and_sniffing
);

const SCRIPT: &str = "<script>alert('pwned')</script>";

/// The page's body; an error page would pass the script checks, so anything but 200 fails.
async fn get(client: &reqwest::Client, url: String) -> String {
    let response = client
        .get(&url)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 200, "{url}");
    response.text().await.unwrap_or_default()
}

async fn a_stored_script_is_inert_everywhere(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    let api = reqwest::Client::new();
    let hostile = json!({
        "slug": "xss", "title": format!("Title {SCRIPT}"), "summary": format!("Summary {SCRIPT}"),
        "letter": format!("Letter {SCRIPT}"), "letter_signature": format!("CEO {SCRIPT}"),
        "contact_guidance": format!("Guidance {SCRIPT}"), "languages": "en", "time_zone": "UTC",
    });
    let opened = api
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&hostile)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(opened.status(), 201);
    let calls = [
        (
            "/api/v1/incidents/xss/policies".to_owned(),
            json!({"policies": [{"kind": "refund", "title": SCRIPT, "body": SCRIPT, "standard": SCRIPT}]}),
        ),
        (
            "/api/v1/incidents/xss/channels".to_owned(),
            json!({"channels": [{"kind": "phone", "label": SCRIPT, "address": format!("+47 {SCRIPT}")}]}),
        ),
    ];
    for (path, body) in calls {
        let response = api
            .put(app.at(&path))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("the request reaches the server");
        assert_eq!(response.status(), 200, "{path}");
    }
    let update = api
        .post(app.at("/api/v1/incidents/xss/updates"))
        .bearer_auth(&token)
        .json(&json!({"body": SCRIPT}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(update.status(), 201);
    let date = time::OffsetDateTime::now_utc().date() + time::Duration::days(3);
    let form = [
        ("name", SCRIPT.to_owned()),
        ("email", "x@example.com".to_owned()),
        ("booking_ref", "AB1234".to_owned()),
        ("departure_date", date.to_string()),
        ("request_type", "refund".to_owned()),
        ("message", SCRIPT.to_owned()),
        ("idempotency_key", "d".repeat(64)),
    ];
    let submitted = browser()
        .post(app.at("/i/xss/form"))
        .form(&form)
        .send()
        .await
        .expect("the request reaches the server");
    let location = submitted.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    let reference = location
        .trim_start_matches("/c/")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let manager = app.login(MANAGER_EMAIL).await;
    let anonymous = reqwest::Client::new();
    let pages = [
        get(&anonymous, app.at("/i/xss")).await,
        get(&anonymous, app.at("/i/xss/feed.atom")).await,
        get(&anonymous, app.at(&location)).await,
        get(&anonymous, app.at("/i/xss/form")).await,
        get(&manager, app.at("/console")).await,
        get(&manager, app.at("/console/incidents/xss")).await,
        get(&manager, app.at("/console/queue?incident=xss")).await,
        get(&manager, app.at(&format!("/console/cases/{reference}"))).await,
        get(&manager, app.at("/console/dashboard?incident=xss")).await,
        get(&manager, app.at("/console/audit")).await,
    ];
    for (i, page) in pages.iter().enumerate() {
        assert!(!page.is_empty(), "page {i} is empty");
        assert!(
            !page.contains(SCRIPT),
            "page {i} carries a live script:\n{page}"
        );
    }
    assert!(
        pages[0].contains("&lt;script&gt;"),
        "the text is shown, escaped"
    );
}

async fn every_page_forbids_scripts_framing_and_sniffing(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    let opened = reqwest::Client::new()
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"slug": "ferry", "title": "Ferry", "languages": "en", "time_zone": "UTC"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(opened.status(), 201);
    let submitted = browser()
        .post(app.at("/i/ferry/form"))
        .form(&crate::support::intake_form("e1"))
        .send()
        .await
        .expect("the request reaches the server");
    let case_page = submitted.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(case_page.starts_with("/c/"), "{case_page}");
    let anonymous = reqwest::Client::new();
    let manager = app.login(MANAGER_EMAIL).await;
    let pages = [
        (&anonymous, "/i/ferry".to_owned()),
        (&anonymous, "/i/ferry/form".to_owned()),
        (&anonymous, case_page),
        (&anonymous, "/i/ferry.json".to_owned()),
        (&anonymous, "/no/such/page".to_owned()),
        (&manager, "/console".to_owned()),
    ];
    for (client, path) in pages {
        let response = client
            .get(app.at(&path))
            .send()
            .await
            .expect("the request reaches the server");
        let headers = response.headers();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let policy = header("content-security-policy");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert!(
            !policy.contains("script-src") && policy.contains("default-src"),
            "{path}: no script source is allowed beyond the default: {policy}"
        );
        assert!(!policy.contains("'unsafe-eval'"), "{path}: {policy}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        if !path.starts_with("/console") {
            assert!(policy.contains("default-src 'none'"), "{path}: {policy}");
            // The case page, whose address carries the token, sends none at all.
            let expected = if path.starts_with("/c/") {
                "no-referrer"
            } else {
                "same-origin"
            };
            assert_eq!(header("referrer-policy"), expected, "{path}");
        }
        assert!(
            header("strict-transport-security").is_empty(),
            "{path}: no HSTS over plain HTTP"
        );
    }
}

async fn a_revoked_token_is_refused(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    app.add_user(MANAGER_EMAIL, "manager");
    let (ok, token, err) = app.muster(
        &["token", "create", "--user", MANAGER_EMAIL, "--name", "ivr"],
        &[],
    );
    assert!(ok, "{err}");
    let id = err
        .lines()
        .find(|l| l.starts_with("token "))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_owned();
    let token = token.trim().to_owned();
    let list = |token: String| {
        let url = app.at("/api/v1/incidents");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };
    assert_eq!(list(token.clone()).await, 200);
    let (ok, _, err) = app.muster(&["token", "revoke", "--id", &id], &[]);
    assert!(ok, "{err}");
    assert_eq!(list(token).await, 401);
}

/// A session id planted before login is never promoted: login issues a fresh one.
#[tokio::test]
async fn login_never_keeps_a_planted_session() {
    let app = TestApp::spawn(TestEngine::Sqlite).await;
    app.add_user(MANAGER_EMAIL, "manager");
    let planted = "0".repeat(64);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("the client builds");
    let html = client
        .get(app.at("/console/login"))
        .header("Cookie", format!("muster_session={planted}"))
        .send()
        .await
        .expect("the request reaches the server");
    let login_cookie = html
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("muster_login_csrf="))
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_owned();
    let csrf = csrf_of(&html.text().await.unwrap_or_default());
    let response = client
        .post(app.at("/console/login"))
        .header(
            "Cookie",
            format!("muster_session={planted}; {login_cookie}"),
        )
        .form(&[
            ("email", MANAGER_EMAIL),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 303);
    let issued = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("muster_session="))
        .unwrap_or_default()
        .to_owned();
    assert!(
        !issued.contains(&planted),
        "a fresh session id is issued: {issued}"
    );
    assert!(
        issued.contains("HttpOnly") && issued.contains("SameSite=Lax"),
        "{issued}"
    );
    let with_planted = client
        .get(app.at("/console"))
        .header("Cookie", format!("muster_session={planted}"))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(with_planted.status(), 303, "the planted id opens nothing");
}

/// Oversized bodies, broken encodings and wrong content types get clear 4xx answers.
#[tokio::test]
async fn hostile_bodies_get_clear_errors() {
    let app = TestApp::spawn(TestEngine::Sqlite).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    let client = reqwest::Client::new();
    let huge = "a".repeat(2 * 1024 * 1024);
    let oversized = client
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body(format!("{{\"slug\":\"{huge}\"}}"))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(oversized.status(), 413);
    let broken = client
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body(vec![b'{', 0xff, 0xfe, b'}'])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(broken.status(), 400);
    assert!(
        broken
            .text()
            .await
            .unwrap_or_default()
            .contains("not valid"),
        "a clear message"
    );
    let unknown_field = client
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"slug": "a-b-c", "title": "x", "colour": "red"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(unknown_field.status(), 400);
    assert!(
        unknown_field
            .text()
            .await
            .unwrap_or_default()
            .contains("colour")
    );
    let text_to_json = client
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .header("Content-Type", "text/plain")
        .body("slug=x")
        .send()
        .await
        .expect("the request reaches the server");
    assert!(text_to_json.status().is_client_error());
    let health = client
        .get(app.at("/healthz"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    assert_eq!(health, 200, "the server is still up");
}
