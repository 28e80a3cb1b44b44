//! One use case, three doors: the console, the API and the CLI call the same rule and
//! answer with the same message (an update's length first), and nothing is published.

use muster_store::testing::TestEngine;
use serde_json::{Value, json};

use crate::support::{MANAGER_EMAIL, TestApp, csrf_of};
use muster_store::on_both_engines;

on_both_engines!(an_update_too_long_is_refused_alike_by_every_door);

/// The rule's words, as the English bundle gives them for a 20,000-character limit.
const TOO_LONG: &str = "This is too long: at most 20000 characters";
const EMPTY: &str = "Write the update before publishing it";
const CONTROL: &str = "This contains an invisible control character (perhaps pasted with the text): retype it without";

async fn an_update_too_long_is_refused_alike_by_every_door(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    let api = reqwest::Client::new();
    let opened = api
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"slug": "long-story", "title": "Long story"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(opened.status(), 201);
    let long = "x".repeat(20_001);

    for (body, expected) in [(long.as_str(), TOO_LONG), ("   ", EMPTY)] {
        let refused = api
            .post(app.at("/api/v1/incidents/long-story/updates"))
            .bearer_auth(&token)
            .json(&json!({ "body": body }))
            .send()
            .await
            .expect("the request reaches the server");
        assert_eq!(refused.status(), 422);
        let answer: Value = refused.json().await.unwrap_or_default();
        assert_eq!(answer["fields"]["body"], expected, "API: {answer}");

        let (ok, _, stderr) = app.muster(
            &[
                "incident",
                "update",
                "--slug",
                "long-story",
                "--message",
                body,
            ],
            &[],
        );
        assert!(!ok, "the CLI published a refused update");
        assert!(
            stderr.contains(&format!("--message: {expected}")),
            "CLI: {stderr}"
        );
    }

    let console = app.login(MANAGER_EMAIL).await;
    let page = console
        .get(app.at("/console/incidents/long-story"))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    for (body, expected) in [(long.as_str(), TOO_LONG), ("   ", EMPTY)] {
        let refused = console
            .post(app.at("/console/incidents/long-story/updates"))
            .form(&[("csrf", csrf_of(&page).as_str()), ("update_body", body)])
            .send()
            .await
            .expect("the request reaches the server");
        assert_eq!(refused.status(), 422);
        let html = refused.text().await.unwrap_or_default();
        assert!(html.contains(expected), "console: no \"{expected}\"");
        if body == long {
            assert!(html.contains(&long), "the console lost what was typed");
        }
    }

    // A NUL (which PostgreSQL cannot store) is refused by the same rule at both web doors;
    // a command line cannot carry one.
    let nul = "Buses from 14:00\u{0} every 10 minutes";
    let refused = api
        .post(app.at("/api/v1/incidents/long-story/updates"))
        .bearer_auth(&token)
        .json(&json!({ "body": nul }))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(refused.status(), 422);
    let answer: Value = refused.json().await.unwrap_or_default();
    assert_eq!(answer["fields"]["body"], CONTROL, "API: {answer}");
    let refused = console
        .post(app.at("/console/incidents/long-story/updates"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("update_body", nul)])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap_or_default();
    assert!(
        html.contains(CONTROL),
        "console: no control-character message"
    );

    let shown: Value = api
        .get(app.at("/api/v1/incidents/long-story"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("the request reaches the server")
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(
        shown["updates"],
        json!([]),
        "a refused update was published"
    );

    // The same doors accept the same update within the limit.
    let (ok, out, err) = app.muster(
        &[
            "incident",
            "update",
            "--slug",
            "long-story",
            "--message",
            &"y".repeat(20_000),
        ],
        &[],
    );
    assert!(ok, "{err}");
    assert!(out.contains("published update"), "{out}");
}

on_both_engines!(public_errors_are_pages_in_the_visitors_language);

/// A customer who follows a stale case link or mistypes an incident gets a page in their
/// language with the way on; only the API answers JSON.
async fn public_errors_are_pages_in_the_visitors_language(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    let client = reqwest::Client::new();
    for (path, accept) in [
        ("/i/no-such-sailing?lang=fa", "en"),
        ("/c/MX-7K3Q9P?t=nothing", "fa-IR,fa;q=0.9,en;q=0.5"),
        ("/i/no-such-sailing/form", "fa"),
    ] {
        let response = client
            .get(app.at(path))
            .header("Accept-Language", accept)
            .send()
            .await
            .expect("the request reaches the server");
        assert_eq!(response.status(), 404, "{path}");
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        let html = response.text().await.unwrap_or_default();
        assert!(html.contains("dir=\"rtl\""), "{path} is not in Persian");
        assert!(
            html.contains("صفحه پیدا نشد"),
            "{path} has no Persian title"
        );
        assert!(html.contains("href=\"/crisis\""), "{path} offers no way on");
    }
    let api = client
        .get(app.at("/api/v1/incidents/no-such-sailing"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(api.status(), 404);
    let answer: Value = api.json().await.unwrap_or_default();
    assert_eq!(answer["error"], "not found");
}
