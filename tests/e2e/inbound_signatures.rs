//! Inbound signatures cover the method, path and query, and each is taken once: a signed
//! request replayed to another channel or incident, or sent twice, is refused and stores
//! nothing, on any replica; a retry signed anew is answered as the same contact.

use muster_store::on_both_engines;
use muster_store::testing::TestEngine;
use serde_json::{Value, json};

use crate::support::{INBOUND_SECRET, MANAGER_EMAIL, TestApp, inbound_signature};

on_both_engines!(
    a_signed_request_is_good_once_and_only_for_its_own_path,
    a_request_that_took_nothing_may_be_sent_again,
);

const TARGET: &str = "/api/v1/inbound/social?incident=ferry-fire";

async fn open(app: &TestApp, slug: &str) {
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(app.token(MANAGER_EMAIL, "manager"))
        .json(&json!({"slug": slug, "title": slug, "languages": "en", "time_zone": "UTC"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201);
}

/// Sends `body` to `base` + `target` with the signature headers given.
async fn send(base: &str, target: &str, headers: &(String, String), body: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}{target}"))
        .header("Content-Type", "application/json")
        .header("X-Muster-Timestamp", &headers.0)
        .header("X-Muster-Signature", &headers.1)
        .body(body.to_owned())
        .send()
        .await
        .expect("the request reaches the server");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn inbound_ids(app: &TestApp) -> Vec<String> {
    let store = app.db.store().await;
    let mut ids = Vec::new();
    for channel in ["social", "chat"] {
        ids.extend(
            store
                .inbound_external_ids(channel)
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    ids
}

async fn a_signed_request_is_good_once_and_only_for_its_own_path(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    open(&app, "ferry-fire").await;
    open(&app, "storm").await;
    let body = json!({"network": "x", "handle": "@kari", "text": "Booking AB1234?", "external_id": "1860"})
        .to_string();
    let signed = inbound_signature(INBOUND_SECRET, TARGET, body.as_bytes());
    // The signed body and headers, sent anywhere but where they were signed for.
    for elsewhere in [
        "/api/v1/inbound/chat?incident=ferry-fire",
        "/api/v1/inbound/social?incident=storm",
        "/api/v1/inbound/social",
        "/api/v1/inbound/social?incident=ferry-fire&x=1",
    ] {
        let (status, answer) = send(&app.url, elsewhere, &signed, &body).await;
        assert_eq!(status, 401, "{elsewhere}: {answer}");
        assert!(
            answer.to_string().contains("does not match"),
            "{elsewhere}: {answer}"
        );
    }
    assert_eq!(inbound_ids(&app).await, Vec::<String>::new());

    let (status, first) = send(&app.url, TARGET, &signed, &body).await;
    assert_eq!(status, 201, "{first}");
    // The very same request again, here and on another replica: a replay.
    let (_replica, replica_url) = app.replica().await;
    for base in [&app.url, &replica_url] {
        let (status, answer) = send(base, TARGET, &signed, &body).await;
        assert_eq!(status, 401, "{answer}");
        assert!(answer.to_string().contains("used before"), "{answer}");
    }
    assert_eq!(inbound_ids(&app).await, vec!["social:1860".to_owned()]);

    // A provider retrying signs again: the same contact, answered as such, added once.
    let retry = app
        .inbound(TARGET, body.clone())
        .header("Content-Type", "application/json")
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(retry.status(), 200);
    let retry: Value = retry.json().await.unwrap_or(Value::Null);
    assert_eq!(retry["outcome"], "replayed");
    assert_eq!(retry["reference"], first["reference"]);
    assert_eq!(inbound_ids(&app).await, vec!["social:1860".to_owned()]);
}

async fn a_request_that_took_nothing_may_be_sent_again(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    // No such incident yet: answered 404, nothing taken, the signature left free.
    let body = json!({"network": "x", "handle": "@ola", "text": "Any news?", "external_id": "77"})
        .to_string();
    let signed = inbound_signature(INBOUND_SECRET, TARGET, body.as_bytes());
    let (status, answer) = send(&app.url, TARGET, &signed, &body).await;
    assert_eq!(status, 404, "{answer}");
    open(&app, "ferry-fire").await;
    let (status, answer) = send(&app.url, TARGET, &signed, &body).await;
    assert_eq!(
        status, 201,
        "the same bytes, once the incident exists: {answer}"
    );
    let (status, _) = send(&app.url, TARGET, &signed, &body).await;
    assert_eq!(status, 401, "taken now, so a replay");
    assert_eq!(inbound_ids(&app).await, vec!["social:77".to_owned()]);
}
