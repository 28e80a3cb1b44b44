//! Duplicates over HTTP: a case suggests the other cases of the same customer on the same
//! incident; merging asks for a confirmation showing both, writes "merged from" on the
//! remaining case, sends the merged-away customer's link to the remaining case, and can be
//! undone, which puts everything back.

use muster_store::on_both_engines;
use muster_store::testing::TestEngine;
use serde_json::{Value, json};

use crate::support::{MANAGER_EMAIL, TestApp, browser, csrf_of, text_of};

on_both_engines!(a_duplicate_is_suggested_merged_and_the_merge_undone);

const SLUG: &str = "storm";

async fn ready(app: &TestApp) -> String {
    app.add_user_in(MANAGER_EMAIL, "manager", "refunds,rebooking,general");
    let token = app.token_for(MANAGER_EMAIL);
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"slug": SLUG, "title": "Storm", "time_zone": "UTC"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201);
    token
}

/// A call from Kari Nordmann's phone; `n` makes the call and the booking distinct.
async fn call(app: &TestApp, n: usize, notes: &str) -> String {
    let mut body = json!({
        "phone": "+47 400 00 001",
        "external_id": format!("call-{n}"),
        "name": "Kari Nordmann",
        "booking_ref": format!("BK{n:05}"),
        "request_type": "refund",
        "notes": notes,
    });
    if n == 2 {
        body["email"] = json!("kari@example.com");
    }
    let body = body.to_string();
    let response = app
        .inbound(&format!("/api/v1/inbound/phone?incident={SLUG}"), body)
        .header("Content-Type", "application/json")
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201);
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    answer["reference"].as_str().unwrap_or_default().to_owned()
}

/// The token of the first case link to `reference` mailed out (the file outbox).
async fn case_link_token(app: &TestApp, reference: &str) -> String {
    let marker = format!("/c/{reference}?t=");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        for entry in std::fs::read_dir(app.dir.join("outbox"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let text = text.replace("=\r\n", "").replace("=3D", "=");
            if let Some(rest) = text.split(&marker).nth(1) {
                return rest
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect();
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no mail links to {reference}");
}

async fn a_duplicate_is_suggested_merged_and_the_merge_undone(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    ready(&app).await;
    let manager = app.login(MANAGER_EMAIL).await;

    // Kari's first case is closed; she calls again, which opens a second one.
    let first = call(&app, 1, "First call").await;
    let page = text_of(&manager, &app.at(&format!("/console/cases/{first}"))).await;
    let csrf = csrf_of(&page);
    let resolved = manager
        .post(app.at(&format!("/console/cases/{first}/status")))
        .form(&[("csrf", csrf.as_str()), ("status", "resolved")])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(
        resolved.headers()["location"],
        format!("/console/cases/{first}?done=resolved").as_str()
    );
    let second = call(&app, 2, "Second call").await;
    assert_ne!(first, second);

    let page = text_of(&manager, &app.at(&format!("/console/cases/{second}"))).await;
    assert!(
        page.contains("Likely duplicates"),
        "a duplicate is suggested"
    );
    // Kari gets a reply with her case link before anyone notices the duplicate.
    manager
        .post(app.at(&format!("/console/cases/{second}/reply")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("body", "We are on it: {{case_url}}"),
            ("then", "open"),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    let token = case_link_token(&app, &second).await;
    assert!(page.contains(&format!("<a href=\"/console/cases/{first}\">{first}</a>")));
    assert!(page.contains("same name and phone"));

    // A case that does not exist is refused beside the field, with what was typed.
    let refused = manager
        .post(app.at(&format!("/console/cases/{second}/merge")))
        .form(&[("csrf", csrf.as_str()), ("into", "MX-ZZZZZZ")])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap_or_default();
    assert!(refused.contains("id=\"into-error\"") && refused.contains("value=\"MX-ZZZZZZ\""));

    // Merging first shows both cases and changes nothing.
    let confirm = manager
        .post(app.at(&format!("/console/cases/{second}/merge")))
        .form(&[("csrf", csrf.as_str()), ("into", first.as_str())])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(confirm.status(), 200);
    let confirm = confirm.text().await.unwrap_or_default();
    assert!(
        confirm.contains(&format!("Merge {second} into {first}?"))
            && confirm.contains("First call")
            && confirm.contains("We are on it"),
        "both cases shown"
    );
    let unchanged = text_of(&manager, &app.at(&format!("/console/cases/{second}"))).await;
    assert!(!unchanged.contains("Merged into"));

    let merged = manager
        .post(app.at(&format!("/console/cases/{second}/merge")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("into", first.as_str()),
            ("confirmed", "1"),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(
        merged.headers()["location"],
        format!("/console/cases/{first}?done=merged").as_str()
    );
    let remaining = text_of(
        &manager,
        &app.at(&format!("/console/cases/{first}?done=merged")),
    )
    .await;
    assert!(remaining.contains("Cases merged. You can undo this for 10 minutes."));
    assert!(
        remaining.contains(&format!("Merged from {second}")),
        "on the timeline"
    );
    assert!(remaining.contains("Second call") && remaining.contains("First call"));
    assert!(remaining.contains(&format!("Undo the merge of {second}")));

    // The merged-away customer's link, issued before the merge, leads to the remaining case.
    let customer = browser();
    let moved = customer
        .get(app.at(&format!("/c/{second}?t={token}")))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(moved.status(), 303);
    let location = moved.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        location.starts_with(&format!("/c/{first}?t=")),
        "the old link leads to the remaining case: {location}"
    );
    let opened = text_of(&customer, &app.at(&location)).await;
    assert!(opened.contains(first.as_str()) && opened.contains("Second call"));

    // Undo: both cases as they were.
    let csrf = csrf_of(&remaining);
    let merge_id = remaining
        .split("name=\"merge\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let undone = manager
        .post(app.at(&format!("/console/cases/{first}/unmerge")))
        .form(&[("csrf", csrf.as_str()), ("merge", merge_id.as_str())])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(
        undone.headers()["location"],
        format!("/console/cases/{second}?done=unmerged").as_str()
    );
    let restored = text_of(
        &manager,
        &app.at(&format!("/console/cases/{second}?done=unmerged")),
    )
    .await;
    assert!(restored.contains("Merge undone: both cases are back as they were."));
    assert!(restored.contains("Second call") && !restored.contains("Merged into"));
    let remaining = text_of(&manager, &app.at(&format!("/console/cases/{first}"))).await;
    assert!(!remaining.contains("Second call") && !remaining.contains("Merged from"));

    // A second undo of the same merge is refused beside the button, nothing changed.
    let again = manager
        .post(app.at(&format!("/console/cases/{first}/unmerge")))
        .form(&[("csrf", csrf.as_str()), ("merge", merge_id.as_str())])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(again.status(), 422);
    let again = again.text().await.unwrap_or_default();
    assert!(again.contains("id=\"undo-error\"") && again.contains("can no longer be undone"));
}
