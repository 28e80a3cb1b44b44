//! Outbound webhooks through the real binary: signed deliveries to a real HTTP receiver,
//! retries after a failure, the delivery log, and who may manage endpoints.

use std::time::Duration;

use muster_core::webhook_signature::sign;
use muster_store::testing::TestEngine;
use serde_json::{Value, json};

use crate::support::{AGENT_EMAIL, MANAGER_EMAIL, TestApp, csrf_of};
use crate::webhook_receiver::{Received, WebhookReceiver};
use muster_store::on_both_engines;

on_both_engines!(
    published_updates_are_delivered_signed,
    a_failed_delivery_is_retried_with_the_same_id,
    an_unreachable_endpoint_is_given_up_on,
    the_console_is_for_managers_and_checks_csrf,
);

const WAIT: Duration = Duration::from_secs(20);

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// Registers an endpoint over the API; returns its id and secret.
async fn register(app: &TestApp, token: &str, url: &str, events: &[&str]) -> (i64, String) {
    let response = client()
        .post(app.at("/api/v1/webhooks"))
        .bearer_auth(token)
        .json(&json!({ "url": url, "events": events }))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("the answer is JSON");
    let id = created["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{created}"));
    let secret = created["secret"].as_str().unwrap_or_default().to_owned();
    assert!(secret.starts_with("whsec_"), "{created}");
    (id, secret)
}

async fn open_incident(app: &TestApp, token: &str, slug: &str) {
    let response = client()
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(token)
        .json(&json!({"slug": slug, "title": "Ferry fire", "summary": "A fire on board.", "languages": "en", "time_zone": "Europe/Oslo"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
}

async fn publish(app: &TestApp, token: &str, slug: &str, body: &str) {
    let response = client()
        .post(app.at(&format!("/api/v1/incidents/{slug}/updates")))
        .bearer_auth(token)
        .json(&json!({ "body": body }))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
}

async fn deliveries(app: &TestApp, token: &str, id: i64) -> Vec<Value> {
    let response = client()
        .get(app.at(&format!("/api/v1/webhooks/{id}/deliveries")))
        .bearer_auth(token)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 200);
    response.json().await.expect("the answer is JSON")
}

/// Waits until the log shows `count` deliveries in `status`.
async fn wait_status(
    app: &TestApp,
    token: &str,
    id: i64,
    count: usize,
    status: &str,
) -> Vec<Value> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let log = deliveries(app, token, id).await;
        let done = log.iter().filter(|d| d["status"] == status).count();
        if done >= count || std::time::Instant::now() > deadline {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The request verifies as the receiver's documentation says it should.
fn assert_signed(request: &Received, secret: &str) {
    let timestamp: i64 = request
        .header("X-Muster-Timestamp")
        .parse()
        .unwrap_or_else(|e| panic!("timestamp: {e}"));
    assert!((time::OffsetDateTime::now_utc().unix_timestamp() - timestamp).abs() < 300);
    let expected = sign(secret, timestamp, &request.body).unwrap_or_default();
    assert_eq!(request.header("X-Muster-Signature"), expected);
    let forged = sign("whsec_not-the-secret", timestamp, &request.body).unwrap_or_default();
    assert_ne!(request.header("X-Muster-Signature"), forged);
}

async fn published_updates_are_delivered_signed(engine: TestEngine) {
    let receiver = WebhookReceiver::start(&[]).await;
    let app = TestApp::spawn(engine).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    let (id, secret) = register(
        &app,
        &token,
        &receiver.url,
        &["incident.published", "update.published"],
    )
    .await;
    // Another endpoint that wants other events gets nothing.
    let other = WebhookReceiver::start(&[]).await;
    register(&app, &token, &other.url, &["case.overdue"]).await;

    open_incident(&app, &token, "ferry-fire").await;
    publish(&app, &token, "ferry-fire", "Everyone is **safe** ashore.").await;

    let received = receiver.wait_for(2, WAIT).await;
    assert_eq!(received.len(), 2, "two events delivered");
    let mut events = Vec::new();
    for request in &received {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/hooks/muster");
        assert_eq!(request.header("Content-Type"), "application/json");
        assert_signed(request, &secret);
        let body = request.json();
        assert_eq!(body["id"], request.header("X-Muster-Delivery"));
        assert_eq!(body["event"], request.header("X-Muster-Event"));
        events.push(request.header("X-Muster-Event").to_owned());
    }
    events.sort();
    assert_eq!(events, vec!["incident.published", "update.published"]);
    let update = received
        .iter()
        .find(|r| r.header("X-Muster-Event") == "update.published")
        .map(Received::json)
        .unwrap_or_default();
    assert_eq!(update["data"]["incident"]["slug"], "ferry-fire");
    assert_eq!(
        update["data"]["update"]["body"]["en"],
        "Everyone is **safe** ashore."
    );

    let log = wait_status(&app, &token, id, 2, "delivered").await;
    assert_eq!(log.len(), 2);
    for delivery in &log {
        assert_eq!(delivery["status"], "delivered", "{delivery}");
        assert_eq!(delivery["attempts"], 1);
        assert_eq!(delivery["last_status_code"], 200);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(other.received().is_empty());
}

async fn a_failed_delivery_is_retried_with_the_same_id(engine: TestEngine) {
    let receiver = WebhookReceiver::start(&[500]).await;
    let app = TestApp::spawn_with(engine, &[("MUSTER__WEBHOOKS__RETRY_BASE_SECS", "1")]).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    let (id, secret) = register(&app, &token, &receiver.url, &["update.published"]).await;
    open_incident(&app, &token, "tram-stop").await;
    publish(&app, &token, "tram-stop", "Buses every ten minutes.").await;

    let received = receiver.wait_for(2, WAIT).await;
    assert_eq!(received.len(), 2, "answered 500, then retried");
    assert_eq!(
        received[0].header("X-Muster-Delivery"),
        received[1].header("X-Muster-Delivery"),
        "a retry carries the same delivery id"
    );
    assert_eq!(received[0].body, received[1].body, "and the same body");
    assert_signed(&received[1], &secret);

    let log = wait_status(&app, &token, id, 1, "delivered").await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "delivered", "{}", log[0]);
    assert_eq!(log[0]["attempts"], 2);
    let codes: Vec<&Value> = log[0]["history"]
        .as_array()
        .map(|h| h.iter().map(|a| &a["status_code"]).collect())
        .unwrap_or_default();
    assert_eq!(codes, vec![&json!(500), &json!(200)]);

    // The console's delivery log says the same.
    let browser = app.login(MANAGER_EMAIL).await;
    let page = browser
        .get(app.at(&format!("/console/webhooks/{id}")))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("update.published"), "{html}");
    assert!(html.contains("delivered"), "{html}");
    assert!(html.contains("HTTP 200"), "{html}");
}

async fn an_unreachable_endpoint_is_given_up_on(engine: TestEngine) {
    // A port that nothing listens on: every attempt is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("{e}"));
    let app = TestApp::spawn_with(
        engine,
        &[
            ("MUSTER__WEBHOOKS__RETRY_BASE_SECS", "1"),
            ("MUSTER__WEBHOOKS__MAX_ATTEMPTS", "2"),
        ],
    )
    .await;
    let token = app.token(MANAGER_EMAIL, "manager");
    let (id, _) = register(
        &app,
        &token,
        &format!("http://{closed}/gone"),
        &["incident.published"],
    )
    .await;
    open_incident(&app, &token, "power-cut").await;

    let log = wait_status(&app, &token, id, 1, "failed").await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "failed", "{}", log[0]);
    assert_eq!(log[0]["attempts"], 2);
    assert_eq!(log[0]["last_status_code"], Value::Null);
    let error = log[0]["last_error"].as_str().unwrap_or_default();
    assert!(error.starts_with("could not connect"), "{error}");
    assert_eq!(log[0]["history"].as_array().map(Vec::len), Some(2));
    assert!(!app.logs().contains("whsec_"), "no secret in the logs");
}

async fn the_console_is_for_managers_and_checks_csrf(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    app.add_user(MANAGER_EMAIL, "manager");
    let agent_token = app.token(AGENT_EMAIL, "agent");

    let agent = app.login(AGENT_EMAIL).await;
    let page = agent
        .get(app.at("/console/webhooks"))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(page.status(), 403);
    let api = client()
        .get(app.at("/api/v1/webhooks"))
        .bearer_auth(&agent_token)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(api.status(), 403);

    let manager = app.login(MANAGER_EMAIL).await;
    let html = manager
        .get(app.at("/console/webhooks"))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    let csrf = csrf_of(&html);
    let url = "https://hooks.example.com/muster";
    let post = |form: Vec<(&'static str, String)>, path: String| {
        let manager = manager.clone();
        let target = app.at(&path);
        async move {
            manager
                .post(target)
                .form(&form)
                .send()
                .await
                .expect("the request reaches the server")
        }
    };
    let missing = post(
        vec![("url", url.into()), ("events", "case.overdue".into())],
        "/console/webhooks".into(),
    )
    .await;
    assert_eq!(missing.status(), 403, "no CSRF token");
    let forged = post(
        vec![
            ("csrf", "forged".into()),
            ("url", url.into()),
            ("events", "case.overdue".into()),
        ],
        "/console/webhooks".into(),
    )
    .await;
    assert_eq!(forged.status(), 403, "a forged CSRF token");

    let invalid = post(
        vec![("csrf", csrf.clone()), ("url", "hooks.example.com".into())],
        "/console/webhooks".into(),
    )
    .await;
    assert_eq!(invalid.status(), 422);
    let html = invalid.text().await.unwrap_or_default();
    assert!(html.contains("http:// or https://"), "{html}");
    assert!(html.contains("choose at least one event"), "{html}");
    assert!(
        html.contains("value=\"hooks.example.com\""),
        "what was typed is kept"
    );

    let created = post(
        vec![
            ("csrf", csrf.clone()),
            ("url", url.into()),
            ("events", "case.overdue".into()),
            ("events", "campaign.finished".into()),
        ],
        "/console/webhooks".into(),
    )
    .await;
    assert_eq!(created.status(), 201);
    let html = created.text().await.unwrap_or_default();
    assert!(html.contains("whsec_"), "the secret is shown once: {html}");
    let listed: Vec<Value> = client()
        .get(app.at("/api/v1/webhooks"))
        .bearer_auth(app.token("second-manager@example.com", "manager"))
        .send()
        .await
        .expect("the request reaches the server")
        .json()
        .await
        .expect("the answer is JSON");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0]["events"],
        json!(["campaign.finished", "case.overdue"])
    );
    assert!(listed[0].get("secret").is_none(), "never listed again");
    let id = listed[0]["id"].as_i64().unwrap_or_default();

    // Disable, enable and delete each need the token too.
    let no_token = post(vec![], format!("/console/webhooks/{id}/delete")).await;
    assert_eq!(no_token.status(), 403);
    for action in ["disable", "enable", "disable"] {
        let done = post(
            vec![("csrf", csrf.clone())],
            format!("/console/webhooks/{id}/{action}"),
        )
        .await;
        assert_eq!(done.status(), 303, "{action}");
    }
    let html = manager
        .get(app.at("/console/webhooks"))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    assert!(html.contains("disabled"), "{html}");
    assert!(!html.contains("whsec_"), "the secret is not shown again");
    let deleted = post(
        vec![("csrf", csrf.clone())],
        format!("/console/webhooks/{id}/delete"),
    )
    .await;
    assert_eq!(deleted.status(), 303);
    let gone = manager
        .get(app.at(&format!("/console/webhooks/{id}")))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(gone.status(), 404);

    // The API deletes too.
    let manager_token = app.token("third-manager@example.com", "manager");
    let (api_id, _) = register(&app, &manager_token, url, &["case.overdue"]).await;
    let removed = client()
        .delete(app.at(&format!("/api/v1/webhooks/{api_id}")))
        .bearer_auth(&manager_token)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(removed.status(), 204);
    let gone = client()
        .delete(app.at(&format!("/api/v1/webhooks/{api_id}")))
        .bearer_auth(&manager_token)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(gone.status(), 404);

    let audit = manager
        .get(app.at("/console/audit"))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    for action in [
        "webhook.create",
        "webhook.disable",
        "webhook.enable",
        "webhook.delete",
    ] {
        assert!(audit.contains(action), "{action} is audited");
    }
}
