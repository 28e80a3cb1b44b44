//! No case disclosure (issue 14, finding 8): a stranger who writes with someone else's
//! email or booking reference learns nothing of their case, adds nothing to it and mails
//! them nothing; the agent sees the stranger's message on that case, marked unverified,
//! and the two cases as likely duplicates; the owner with their case link still joins.

use std::time::Duration;

use muster_store::on_both_engines;
use muster_store::testing::TestEngine;
use serde_json::{Value, json};

use crate::support::{MANAGER_EMAIL, TestApp, browser, text_of};

on_both_engines!(a_stranger_learns_nothing_and_the_agent_sees_it_unverified);

const SLUG: &str = "gale";

async fn ready(app: &TestApp) {
    let token = app.token(MANAGER_EMAIL, "manager");
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"slug": SLUG, "title": "Gale", "time_zone": "UTC"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201);
}

fn form(email: &str, booking: &str, message: &str, key: char) -> Vec<(&'static str, String)> {
    let date = time::OffsetDateTime::now_utc().date() + time::Duration::days(3);
    vec![
        ("name", "Kari Nordmann".into()),
        ("email", email.into()),
        ("booking_ref", booking.into()),
        ("departure_date", date.to_string()),
        ("request_type", "refund".into()),
        ("message", message.into()),
        ("language", "en".into()),
        ("idempotency_key", key.to_string().repeat(64)),
    ]
}

/// Posts the form; the reference and token it redirects to.
async fn submit(app: &TestApp, fields: &[(&'static str, String)]) -> (String, String) {
    let response = browser()
        .post(app.at(&format!("/i/{SLUG}/form")))
        .form(fields)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    let reference = location
        .trim_start_matches("/c/")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let token = location
        .split("t=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .unwrap_or_default()
        .to_owned();
    (reference, token)
}

/// Every mail in the file outbox, as text.
fn outbox(app: &TestApp) -> Vec<String> {
    std::fs::read_dir(app.dir.join("outbox"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| std::fs::read_to_string(entry.path()).unwrap_or_default())
        .collect()
}

async fn outbox_settles(app: &TestApp, at_least: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while outbox(app).len() < at_least && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Long enough for a mail queued after the last one to be written too.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    outbox(app)
}

fn addressed_to(mails: &[String], address: &str) -> usize {
    mails
        .iter()
        .filter(|m| {
            m.lines()
                .any(|l| l.starts_with("To:") && l.contains(address))
        })
        .count()
}

async fn social(app: &TestApp, text: &str) -> (u16, Value) {
    let body = json!({"network": "x", "handle": "@eve", "text": text, "external_id": "post-1"})
        .to_string();
    let response = app
        .inbound(&format!("/api/v1/inbound/social?incident={SLUG}"), body)
        .header("Content-Type", "application/json")
        .send()
        .await
        .expect("the request reaches the server");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn a_stranger_learns_nothing_and_the_agent_sees_it_unverified(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    ready(&app).await;
    let (owner_case, owner_token) = submit(
        &app,
        &form("kari@example.no", "AB1234", "Please refund my ticket", 'a'),
    )
    .await;
    assert_eq!(
        addressed_to(&outbox_settles(&app, 1).await, "kari@example.no"),
        1,
        "the owner's acknowledgement"
    );

    // A stranger with Kari's email and booking gets a case of their own, as anyone new.
    let (by_email, by_email_token) = submit(
        &app,
        &form("kari@example.no", "AB1234", "Stranger wants the money", 'b'),
    )
    .await;
    assert_ne!(by_email, owner_case, "not the owner's reference");
    let page = text_of(
        &browser(),
        &app.at(&format!("/c/{by_email}?t={by_email_token}")),
    )
    .await;
    assert!(page.contains("Stranger wants the money"), "{page}");
    assert!(
        !page.contains(&owner_case),
        "the owner's reference is not shown"
    );
    assert!(
        !page.contains("Please refund my ticket"),
        "nor their message"
    );
    // With only the booking reference and an address of their own.
    let (by_booking, _) = submit(
        &app,
        &form("eve@example.org", "AB1234", "Eve asks about AB1234", 'c'),
    )
    .await;
    assert_ne!(by_booking, owner_case);
    // Through an inbound channel, naming the booking in the text.
    let (status, posted) = social(&app, "Booking AB1234: where is my refund?").await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["outcome"], "created", "{posted}");
    let by_post = posted["reference"].as_str().unwrap_or_default().to_owned();
    assert_ne!(by_post, owner_case);
    assert!(
        !posted.to_string().contains(&owner_case),
        "the answer names no other case: {posted}"
    );

    // Kari is mailed nothing more; Eve only about her own case.
    let mails = outbox_settles(&app, 2).await;
    assert_eq!(
        addressed_to(&mails, "kari@example.no"),
        1,
        "no mail to the owner"
    );
    assert_eq!(addressed_to(&mails, "eve@example.org"), 1);
    assert!(
        mails
            .iter()
            .all(|m| !m.contains(&owner_case) || m.contains("kari@example.no"))
    );

    // Kari's own page shows only her conversation.
    let own = text_of(
        &browser(),
        &app.at(&format!("/c/{owner_case}?t={owner_token}")),
    )
    .await;
    assert_eq!(own.matches("<li class=\"inbound\"").count(), 1, "{own}");
    assert!(!own.contains("Stranger wants the money"));

    // The agent sees all three messages on Kari's case, marked unverified, and the
    // three cases as likely duplicates.
    let manager = app.login(MANAGER_EMAIL).await;
    let console = text_of(&manager, &app.at(&format!("/console/cases/{owner_case}"))).await;
    assert_eq!(
        console.matches("<li class=\"inbound unverified\"").count(),
        3,
        "{console}"
    );
    for text in [
        "Stranger wants the money",
        "Eve asks about AB1234",
        "Booking AB1234: where is my refund?",
    ] {
        assert!(console.contains(text), "{text} on the timeline");
    }
    assert!(
        console.contains(&format!(
            "on {by_email}, whose writer gave this case&#x27;s email address"
        )),
        "{console}"
    );
    assert!(console.contains("Likely duplicates"));
    for other in [&by_email, &by_booking, &by_post] {
        assert!(
            console.contains(&format!("value=\"{other}\"")),
            "{other} is offered to merge"
        );
    }
    let theirs = text_of(&manager, &app.at(&format!("/console/cases/{by_email}"))).await;
    assert!(
        theirs.contains("this case&#x27;s writer gave its email address without its link"),
        "{theirs}"
    );

    // The owner completing her case through her link still joins it.
    let mut completing = form("kari@example.no", "AB1234", "My son travels too", 'd');
    completing.push(("case", owner_case.clone()));
    completing.push(("t", owner_token.clone()));
    let (joined, _) = submit(&app, &completing).await;
    assert_eq!(joined, owner_case, "her link joins her case");
    let own = text_of(
        &browser(),
        &app.at(&format!("/c/{owner_case}?t={owner_token}")),
    )
    .await;
    assert_eq!(own.matches("<li class=\"inbound\"").count(), 2, "{own}");
    assert!(own.contains("My son travels too"));
}
