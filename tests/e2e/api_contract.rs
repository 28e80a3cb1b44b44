//! The API as its OpenAPI document describes it (issue 14, finding 5): times are RFC 3339
//! strings, an id that is no id is a JSON 404 and a query that cannot be read a JSON 400.
//! The document itself is validated, and the running binary driven from it by schemathesis,
//! in `tests/api/run.sh`.

use muster_store::on_both_engines;
use muster_store::testing::TestEngine;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::support::{MANAGER_EMAIL, TestApp};

on_both_engines!(times_are_rfc3339_and_refusals_are_json);

fn is_rfc3339(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|text| OffsetDateTime::parse(text, &Rfc3339).is_ok())
}

async fn call(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, app.at(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .expect("the request reaches the server");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn times_are_rfc3339_and_refusals_are_json(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    let post = reqwest::Method::POST;
    let (status, incident) = call(
        &app,
        &token,
        post.clone(),
        "/api/v1/incidents",
        Some(json!({"slug": "storm", "title": "Storm"})),
    )
    .await;
    assert_eq!(status, 201, "{incident}");
    assert!(is_rfc3339(&incident["updated_at"]), "{incident}");
    let (status, update) = call(
        &app,
        &token,
        post.clone(),
        "/api/v1/incidents/storm/updates",
        Some(json!({"body": "Ferries stopped."})),
    )
    .await;
    assert_eq!(status, 201, "{update}");
    assert!(is_rfc3339(&update["published_at"]), "{update}");
    let (_, listed) = call(
        &app,
        &token,
        reqwest::Method::GET,
        "/api/v1/incidents",
        None,
    )
    .await;
    assert!(is_rfc3339(&listed[0]["updated_at"]), "{listed}");
    let (_, one) = call(
        &app,
        &token,
        reqwest::Method::GET,
        "/api/v1/incidents/storm",
        None,
    )
    .await;
    assert!(is_rfc3339(&one["updates"][0]["published_at"]), "{one}");

    let (status, refused) = call(
        &app,
        &token,
        reqwest::Method::GET,
        "/api/v1/campaigns/9223372036854775808",
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert!(refused["error"].is_string(), "{refused}");
    let (status, refused) = call(&app, &token, post, "/api/v1/queue/next?incident=%FF", None).await;
    assert!(matches!(status, 400 | 404), "{status}");
    assert!(refused["error"].is_string(), "{refused}");
}
