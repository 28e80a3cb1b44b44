//! The funnel: the intake form, the customer's case page, and the inbound channels, all
//! landing on one case per customer.

use std::time::Duration;

use muster_core::webhook_signature::{RequestLine, sign_request};
use muster_store::testing::TestEngine;
use reqwest::Response;
use serde_json::{Value, json};

use crate::nginx::Nginx;
use crate::support::{INBOUND_SECRET, MANAGER_EMAIL, SmtpRecorder, TestApp, browser};
use muster_store::on_both_engines;

on_both_engines!(
    bad_inputs_come_back_with_a_message_and_every_value,
    a_double_submission_is_one_case,
    one_customer_on_three_channels_is_one_case,
    a_retried_webhook_adds_nothing,
    auto_submitted_mail_gets_no_reply,
    signatures_are_checked,
    a_missing_date_is_completed_through_the_personal_link,
    case_pages_need_their_token,
    control_characters_are_refused_or_stripped_never_a_500,
    one_departure_rule_on_every_channel,
);

const SLUG: &str = "ferry-fire";

/// A date `days` from today, as the form takes it.
fn in_days(days: i64) -> String {
    let date = time::OffsetDateTime::now_utc().date() + time::Duration::days(days);
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

async fn ready(app: &TestApp) {
    let token = app.token(MANAGER_EMAIL, "manager");
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"slug": SLUG, "title": "Fire on board", "languages": "en,fa", "time_zone": "UTC"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201);
    let policies = json!({"policies": [{"kind": "refund", "title": "Refunds", "body": "All tickets", "standard": "Refunds are processed within 5 working days."}]});
    let response = reqwest::Client::new()
        .put(app.at(&format!("/api/v1/incidents/{SLUG}/policies")))
        .bearer_auth(&token)
        .json(&policies)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 200);
}

fn good_form() -> Vec<(&'static str, String)> {
    vec![
        ("name", "Kari Nordmann".into()),
        ("email", "kari@example.no".into()),
        ("phone", String::new()),
        ("booking_ref", "AB1234".into()),
        ("departure_date", in_days(5)),
        ("request_type", "refund".into()),
        ("message", "Please refund my ticket".into()),
        ("language", "en".into()),
        ("idempotency_key", "a".repeat(64)),
    ]
}

fn with(
    mut form: Vec<(&'static str, String)>,
    field: &str,
    value: &str,
) -> Vec<(&'static str, String)> {
    for entry in &mut form {
        if entry.0 == field {
            entry.1 = value.to_owned();
        }
    }
    form
}

async fn submit(app: &TestApp, form: &[(&'static str, String)]) -> Response {
    browser()
        .post(app.at(&format!("/i/{SLUG}/form")))
        .form(form)
        .send()
        .await
        .expect("the request reaches the server")
}

async fn follow(app: &TestApp, response: &Response) -> String {
    let location = response.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    reqwest::get(app.at(&location))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default()
}

fn reference_in(location: &str) -> String {
    location
        .trim_start_matches("/c/")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn inbound(app: &TestApp, channel: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let response = app
        .inbound(&format!("/api/v1/inbound/{channel}?incident={SLUG}"), body)
        .header("Content-Type", content_type)
        .send()
        .await
        .expect("the request reaches the server");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn email(from: &str, message_id: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: help@example.com\r\nSubject: About my trip\r\nMessage-ID: <{message_id}>\r\n{extra_headers}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

async fn conversation_len(app: &TestApp, case_url: &str) -> usize {
    let html = reqwest::get(case_url)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    let _ = app;
    html.matches("<li class=\"inbound\"").count()
}

async fn bad_inputs_come_back_with_a_message_and_every_value(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    ready(&app).await;
    let long = "x".repeat(100_000);
    let table: Vec<(&str, &str, &str)> = vec![
        (
            "email",
            "kari@",
            "Enter an email address like name@example.com",
        ),
        (
            "departure_date",
            "2026-02-30",
            "Enter a real date as YYYY-MM-DD",
        ),
        ("departure_date", "2020-01-01", "more than 30 days ago"),
        ("message", &long, "at most 5000 characters"),
        ("name", "", "This field is required"),
        (
            "booking_ref",
            "A!",
            "Enter the booking reference exactly as it appears",
        ),
        ("request_type", "bribe", "Choose a request type"),
    ];
    for (field, value, message) in table {
        let form = with(good_form(), field, value);
        let response = submit(&app, &form).await;
        assert_eq!(response.status(), 422, "{field}={value:.20}");
        let html = response.text().await.unwrap_or_default();
        assert!(
            html.contains(message),
            "{field}: no \"{message}\" in the page"
        );
        assert!(
            html.contains("aria-invalid=\"true\""),
            "{field} is marked invalid"
        );
        // Every other value typed is still there.
        assert!(
            html.contains("Kari Nordmann") || field == "name",
            "{field}: the name was lost"
        );
        assert!(
            html.contains("Please refund my ticket") || field == "message",
            "{field}: the message was lost"
        );
    }
    let empty = submit(&app, &[("idempotency_key", "b".repeat(64))]).await;
    assert_eq!(empty.status(), 422);
    let html = empty.text().await.unwrap_or_default();
    assert!(
        html.matches("This field is required").count() >= 6,
        "every missing field is named"
    );

    let rtl = with(
        with(good_form(), "name", "مریم احمدی 🚢"),
        "message",
        "لطفاً کمک کنید 🙏 <script>x</script>",
    );
    let accepted = submit(&app, &with(rtl, "language", "fa")).await;
    assert_eq!(accepted.status(), 303);
    let page = follow(&app, &accepted).await;
    assert!(
        page.contains("dir=\"rtl\""),
        "the case page follows the customer's language"
    );
    assert!(
        page.contains("لطفاً کمک کنید 🙏 &lt;script&gt;"),
        "text is kept, escaped"
    );

    let wrong_type = reqwest::Client::new()
        .post(app.at(&format!("/i/{SLUG}/form")))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(wrong_type.status(), 415);
    let explained = wrong_type.text().await.unwrap_or_default();
    assert!(
        explained.contains("application/x-www-form-urlencoded"),
        "{explained}"
    );
}

async fn a_double_submission_is_one_case(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    ready(&app).await;
    let form = good_form();
    let (first, second) = tokio::join!(submit(&app, &form), submit(&app, &form));
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (303, 303)
    );
    let a = first.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    let b = second.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(reference_in(&a), reference_in(&b), "one case");
    let page = follow(&app, &first).await;
    assert_eq!(
        page.matches("<li class=\"inbound\"").count(),
        1,
        "one contact"
    );
    assert!(
        page.contains("Refunds are processed within 5 working days."),
        "the policy standard"
    );
    assert!(
        page.contains("prioritised because you depart within 7 days"),
        "{page}"
    );
    let outbox = std::fs::read_dir(app.dir.join("outbox"))
        .map(|d| d.count())
        .unwrap_or(0);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut sent = outbox;
    while sent < 1 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        sent = std::fs::read_dir(app.dir.join("outbox"))
            .map(|d| d.count())
            .unwrap_or(0);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = std::fs::read_dir(app.dir.join("outbox"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(sent, 1, "one acknowledgement");
}

/// One customer on three channels: the same sender on the same channel joins their case;
/// a contact that only names the case's email or booking from elsewhere opens its own
/// (finding 8 of issue 14), and the agent sees it on the first case, marked unverified.
async fn one_customer_on_three_channels_is_one_case(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    ready(&app).await;
    let response = submit(&app, &good_form()).await;
    let location = response.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    let reference = reference_in(&location);
    let (status, by_email) = inbound(
        &app,
        "email",
        "message/rfc822",
        email("Kari <KARI@example.no>", "m1@example.no", "", "Any news?"),
    )
    .await;
    assert_eq!(status, 201, "{by_email}");
    assert_eq!(by_email["outcome"].as_str(), Some("created"), "{by_email}");
    let email_case = by_email["reference"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(
        email_case, reference,
        "an email names the form's case only unverified"
    );
    let (status, again) = inbound(
        &app,
        "email",
        "message/rfc822",
        email("kari@example.no", "m2@example.no", "", "Still waiting."),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (again["reference"].as_str(), again["outcome"].as_str()),
        (Some(email_case.as_str()), Some("joined")),
        "the same sender on the same channel joins"
    );
    let post = json!({"network": "x", "handle": "@kari_n", "text": "Booking AB1234: when do I get my refund?", "external_id": "tweet-1"});
    let (status, by_social) = inbound(
        &app,
        "social",
        "application/json",
        post.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 201, "{by_social}");
    let social_case = by_social["reference"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        ![reference.as_str(), email_case.as_str()].contains(&social_case.as_str()),
        "{by_social}"
    );
    assert!(
        !by_social["reply"]
            .as_str()
            .unwrap_or_default()
            .contains(&reference),
        "the writer is not told of another case"
    );
    assert_eq!(conversation_len(&app, &app.at(&location)).await, 1);
    let manager = app.login(MANAGER_EMAIL).await;
    let console =
        crate::support::text_of(&manager, &app.at(&format!("/console/cases/{reference}"))).await;
    for text in [
        "Any news?",
        "Still waiting.",
        "Booking AB1234: when do I get my refund?",
    ] {
        assert!(console.contains(text), "{text}: {console}");
    }
    assert_eq!(
        console.matches("<li class=\"inbound unverified\"").count(),
        3,
        "{console}"
    );
    let metrics = reqwest::get(app.at("/metrics"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        metrics.contains("muster_intake_total{channel=\"email\",outcome=\"joined\"} 1"),
        "{metrics}"
    );
}

async fn a_retried_webhook_adds_nothing(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    ready(&app).await;
    let post = json!({"network": "facebook", "handle": "ola", "text": "Is the ferry running?", "external_id": "fb-77"}).to_string();
    let (first, created) = inbound(
        &app,
        "social",
        "application/json",
        post.clone().into_bytes(),
    )
    .await;
    let (second, replayed) = inbound(&app, "social", "application/json", post.into_bytes()).await;
    assert_eq!((first, second), (201, 200));
    assert_eq!(replayed["outcome"], "replayed");
    assert_eq!(created["reference"], replayed["reference"]);
    assert_eq!(created["needs_date"], true, "no departure date in a post");
    let case_url = created["case_url"]
        .as_str()
        .unwrap_or_default()
        .replace("http://127.0.0.1:8080", &app.url);
    assert_eq!(conversation_len(&app, &case_url).await, 1);
}

async fn auto_submitted_mail_gets_no_reply(engine: TestEngine) {
    let mut smtp = SmtpRecorder::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(engine, &[("MUSTER__MAIL__URL", &url)]).await;
    ready(&app).await;
    let robots = [
        ("ooo@example.no", "Auto-Submitted: auto-replied\r\n"),
        ("list@example.no", "List-Id: <travel.example.no>\r\n"),
        ("bulk@example.no", "Precedence: bulk\r\n"),
        ("bounce@example.no", "Return-Path: <>\r\n"),
    ];
    for (i, (from, header)) in robots.iter().enumerate() {
        let (status, answer) = inbound(
            &app,
            "email",
            "message/rfc822",
            email(from, &format!("robot{i}@x"), header, "I am away"),
        )
        .await;
        assert_eq!(status, 201, "{answer}");
        assert_eq!(answer["auto_reply"], false, "{from}");
    }
    let (status, _) = inbound(
        &app,
        "email",
        "message/rfc822",
        email(
            "Person <person@example.no>",
            "human@x",
            "",
            "My booking ref: XY98765, I travel 2099-01-01",
        ),
    )
    .await;
    assert_eq!(status, 201);
    let messages = smtp.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = if messages.len() == 1 {
        smtp.messages()
    } else {
        messages
    };
    assert_eq!(messages.len(), 1, "only the person is answered");
    assert!(
        messages[0].contains("To: person@example.no"),
        "{}",
        messages[0]
    );
    assert!(messages[0].contains("Auto-Submitted: auto-replied"));
    smtp.stop().await;
}

async fn signatures_are_checked(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    ready(&app).await;
    let body = json!({"network": "x", "handle": "a", "text": "hi", "external_id": "1"}).to_string();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let target = format!("/api/v1/inbound/social?incident={SLUG}");
    let signed = |secret: &str, timestamp: i64, body: &[u8]| {
        let line = RequestLine {
            method: "POST",
            target: &target,
        };
        sign_request(secret, timestamp, line, body).unwrap_or_default()
    };
    let client = reqwest::Client::new();
    let attempt = |timestamp: i64, signature: String| {
        client
            .post(app.at(&target))
            .header("Content-Type", "application/json")
            .header("X-Muster-Timestamp", timestamp.to_string())
            .header("X-Muster-Signature", signature)
            .body(body.clone())
            .send()
    };
    let forged = attempt(now, signed("wrong secret", now, body.as_bytes()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(forged.status(), 401);
    let stale = attempt(
        now - 3600,
        signed(INBOUND_SECRET, now - 3600, body.as_bytes()),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stale.status(), 401);
    let tampered = attempt(now, signed(INBOUND_SECRET, now, b"other body"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tampered.status(), 401);
    let missing = client
        .post(app.at("/api/v1/inbound/social"))
        .body(body.clone())
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(missing.status(), 401);
    let good = attempt(now, signed(INBOUND_SECRET, now, body.as_bytes()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(good.status(), 201);
}

async fn a_missing_date_is_completed_through_the_personal_link(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    ready(&app).await;
    let call = json!({"phone": "+47 22 00 00 01", "external_id": "call-1", "name": "Ola", "notes": "Wants to rebook", "email": "ola@example.no"});
    let (status, answer) = inbound(
        &app,
        "phone",
        "application/json",
        call.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["needs_date"], true);
    let form_url = answer["form_url"]
        .as_str()
        .unwrap_or_default()
        .replace("http://127.0.0.1:8080", &app.url);
    let form = reqwest::get(&form_url)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        form.contains("value=\"Ola\"") && form.contains("value=\"ola@example.no\""),
        "prefilled: {form}"
    );
    let query: Vec<(String, String)> = url::Url::parse(&form_url)
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let get = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut completion = with(with(good_form(), "name", "Ola"), "email", "ola@example.no");
    completion = with(completion, "idempotency_key", &"c".repeat(64));
    completion.push(("case", get("case")));
    completion.push(("t", get("t")));
    let response = submit(&app, &completion).await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        reference_in(&location),
        get("case"),
        "the same case is completed"
    );
    let page = follow(&app, &response).await;
    assert!(
        !page.contains("We need your departure date"),
        "the date is known now"
    );
    assert_eq!(page.matches("<li class=\"inbound\"").count(), 2);
}

async fn case_pages_need_their_token(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    ready(&app).await;
    let response = submit(&app, &good_form()).await;
    let location = response.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    let reference = reference_in(&location);
    for path in [
        format!("/c/{reference}"),
        format!("/c/{reference}?t=wrong"),
        format!("/c/{reference}?t="),
    ] {
        let status = reqwest::get(app.at(&path))
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        assert_eq!(status, 404, "{path}");
    }
    let token = location
        .split("t=")
        .nth(1)
        .and_then(|t| t.split('&').next())
        .unwrap_or_default()
        .to_owned();
    let added = browser()
        .post(app.at(&format!("/c/{reference}")))
        .form(&[
            ("t", token.as_str()),
            ("message", "My flight number is AB 123"),
            ("idempotency_key", "x"),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(added.status(), 303);
    let page = follow(&app, &added).await;
    assert!(page.contains("My flight number is AB 123"));
    let forged = browser()
        .post(app.at(&format!("/c/{reference}")))
        .form(&[("t", "forged"), ("message", "let me in")])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(forged.status(), 404);
}

/// Tiers are computed from today in the incident's zone, so they rise as days pass.
#[tokio::test]
async fn tiers_rise_as_the_clock_moves() {
    let mut app = TestApp::spawn(TestEngine::Sqlite).await;
    ready(&app).await;
    let response = submit(&app, &with(good_form(), "departure_date", &in_days(6))).await;
    let location = response.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    let today = follow(&app, &response).await;
    assert!(today.contains("High priority"), "six days out is high");
    app.restart_with(&[("MUSTER__CLOCK__OFFSET_HOURS", "72")])
        .await;
    let later = reqwest::get(app.at(&location))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(later.contains("Urgent"), "three days later it is critical");
}

#[tokio::test]
async fn the_acknowledgement_reaches_a_real_smtp_server() {
    let smtp = SmtpRecorder::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(TestEngine::Postgres, &[("MUSTER__MAIL__URL", &url)]).await;
    ready(&app).await;
    let response = submit(&app, &with(good_form(), "language", "fa")).await;
    let location = response.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    let reference = reference_in(&location);
    let messages = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    for expected in [
        "Auto-Submitted: auto-replied",
        "To: kari@example.no",
        "Message-ID: <ack.",
        "Content-Type: text/plain; charset=utf-8",
    ] {
        assert!(message.contains(expected), "{expected} missing:\n{message}");
    }
    let parsed = mail_parser::MessageParser::default()
        .parse(message.as_bytes())
        .unwrap_or_else(|| panic!("unparseable"));
    assert!(
        parsed.subject().unwrap_or_default().contains(&reference),
        "the subject carries the reference"
    );
    let body = parsed.body_text(0).unwrap_or_default().into_owned();
    assert!(
        body.contains(&format!("/c/{reference}?t=")),
        "the case link: {body}"
    );
    assert!(
        body.contains("بازپرداخت") || body.contains("پرونده") || body.contains("شمارهٔ پیگیری"),
        "in Persian: {body}"
    );
    // Recorded as sent, or its lease would lapse and the customer get it again.
    let store = app.db.store().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.unsent_mail_count().await.ok() != Some(0) {
        assert!(
            std::time::Instant::now() < deadline,
            "the acknowledgement is still not marked sent"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn too_many_submissions_from_one_address_are_slowed_down() {
    let app = TestApp::spawn_with(
        TestEngine::Sqlite,
        &[("MUSTER__INTAKE__MAX_PER_ADDRESS", "2")],
    )
    .await;
    ready(&app).await;
    for i in 0..2 {
        let response = submit(
            &app,
            &with(good_form(), "idempotency_key", &format!("{i}").repeat(64)),
        )
        .await;
        assert_eq!(response.status(), 303);
    }
    let limited = submit(&app, &with(good_form(), "idempotency_key", &"9".repeat(64))).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().get("retry-after").is_some());
    let html = limited.text().await.unwrap_or_default();
    assert!(
        html.contains("Please refund my ticket"),
        "what was typed is kept"
    );
    let bot = submit(&app, &[("website", "http://spam.example".to_owned())]).await;
    assert_eq!(bot.status(), 303, "bots see a calm redirect");
}

async fn submit_from(app: &TestApp, from: &str, form: &[(&'static str, String)]) -> Response {
    browser()
        .post(app.at(&format!("/i/{SLUG}/form")))
        .header("X-Forwarded-For", from)
        .form(form)
        .send()
        .await
        .expect("the request reaches the server")
}

fn customer(i: usize) -> Vec<(&'static str, String)> {
    let form = with(good_form(), "email", &format!("customer{i}@example.com"));
    let form = with(form, "booking_ref", &format!("BK{i:04}"));
    with(form, "idempotency_key", &format!("{i:064x}"))
}

#[tokio::test]
async fn customers_behind_a_trusted_proxy_each_have_their_own_limit() {
    let app = TestApp::spawn_with(
        TestEngine::Sqlite,
        &[
            ("MUSTER__SERVER__TRUSTED_PROXIES", "127.0.0.1"),
            ("MUSTER__INTAKE__MAX_PER_ADDRESS", "3"),
        ],
    )
    .await;
    ready(&app).await;
    // Forty customers through one proxy, each with its own address: all taken in.
    for i in 0..40 {
        let response = submit_from(&app, &format!("6.6.6.6, 198.51.100.{i}"), &customer(i)).await;
        assert_eq!(response.status(), 303, "customer {i}");
    }
    // One client over its own limit is refused; the others are not.
    for i in 100..103 {
        let response = submit_from(&app, "198.51.100.200", &customer(i)).await;
        assert_eq!(response.status(), 303);
    }
    let limited = submit_from(&app, "198.51.100.200", &customer(103)).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().get("retry-after").is_some());
    assert_eq!(
        submit_from(&app, "198.51.100.201", &customer(104))
            .await
            .status(),
        303
    );

    // A peer that is not a trusted proxy cannot pick its address: its header is ignored.
    let direct = TestApp::spawn_with(
        TestEngine::Sqlite,
        &[
            ("MUSTER__SERVER__TRUSTED_PROXIES", "10.0.0.0/8"),
            ("MUSTER__INTAKE__MAX_PER_ADDRESS", "3"),
        ],
    )
    .await;
    ready(&direct).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let response = submit_from(&direct, &format!("198.51.100.{i}"), &customer(i)).await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [303, 303, 303, 429]);
}

async fn control_characters_are_refused_or_stripped_never_a_500(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    ready(&app).await;
    // The form: refused with a message beside the field, everything typed kept.
    let table = [
        (
            "message",
            "Refund\u{0} please",
            "invisible control character",
        ),
        (
            "name",
            "Kari\r\nBcc: evil@attacker.example",
            "Write this on one line",
        ),
        ("name", "Kari\u{1b}[31m", "invisible control character"),
    ];
    for (field, value, message) in table {
        let response = submit(&app, &with(good_form(), field, value)).await;
        assert_eq!(response.status(), 422, "{field}={value:?}");
        let html = response.text().await.unwrap_or_default();
        assert!(
            html.contains(message),
            "{field}: no \"{message}\" in the page"
        );
        assert!(html.contains("AB1234"), "{field}: what was typed is kept");
    }
    let multi_line = with(good_form(), "message", "Line one\r\n\tLine two");
    assert_eq!(
        submit(&app, &multi_line).await.status(),
        303,
        "tabs and line breaks are text"
    );

    // JSON channels: refused with the field named.
    let post =
        json!({"network": "x", "handle": "ola", "text": "Ferry?\u{0}", "external_id": "x-1"});
    let (status, body) = inbound(
        &app,
        "social",
        "application/json",
        post.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"],
        "text contains an invisible control character (U+0000): remove it and try again"
    );
    let post =
        json!({"network": "x", "handle": "ola\u{0}", "text": "Ferry?", "external_id": "x-2"});
    let (status, body) = inbound(
        &app,
        "chat",
        "application/json",
        post.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let call = json!({"phone": "+4791234567", "external_id": "call-1", "notes": "Called\u{0}"});
    let (status, body) = inbound(
        &app,
        "phone",
        "application/json",
        call.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("notes "),
        "{body}"
    );

    // Email cannot be sent back to be fixed: control characters in the decoded body
    // (quoted-printable =00, =01) are dropped, a line break hidden in the sender's encoded
    // name becomes a space, and the message is taken in.
    let raw = "From: =?utf-8?q?Ola=0D=0ANordmann?= <ola@example.no>\r\nTo: help@example.com\r\n\
         Subject: About my trip\r\nMessage-ID: <nul-1@example.no>\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
         My booking CD5678=00 please=01 help\r\n";
    let (status, created) = inbound(&app, "email", "message/rfc822", raw.as_bytes().to_vec()).await;
    assert_eq!(status, 201, "{created}");
    let case_url = created["case_url"]
        .as_str()
        .unwrap_or_default()
        .replace("http://127.0.0.1:8080", &app.url);
    let page = reqwest::get(&case_url)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(page.contains("My booking CD5678 please help"), "{page}");
}

#[tokio::test]
async fn forty_customers_through_nginx_are_all_taken_in() {
    let app = TestApp::spawn_with(
        TestEngine::Sqlite,
        &[
            ("MUSTER__SERVER__TRUSTED_PROXIES", "127.0.0.1"),
            ("MUSTER__INTAKE__MAX_PER_ADDRESS", "3"),
        ],
    )
    .await;
    ready(&app).await;
    let nginx = Nginx::start(&app.url).await;
    // Each customer connects from an address of its own (all of 127.0.0.0/8 is local).
    let from = |last: u8| {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, last]))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the client builds")
    };
    let post =
        |client: reqwest::Client, form: Vec<(&'static str, String)>, forged: Option<String>| {
            let url = format!("{}/i/{SLUG}/form", nginx.url);
            async move {
                let mut request = client.post(url).form(&form);
                if let Some(forged) = forged {
                    request = request.header("X-Forwarded-For", forged);
                }
                request
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or_else(|e| panic!("{e}"))
            }
        };
    let statuses = futures_util::future::join_all(
        (0..40u8).map(|i| post(from(10 + i), customer(usize::from(i)), None)),
    )
    .await;
    assert_eq!(
        statuses,
        vec![303; 40],
        "every customer behind the proxy is taken in"
    );
    // One client over its limit is refused, however it dresses its header up.
    let mut over = Vec::new();
    for i in 0..4 {
        let forged = Some(format!("198.51.100.{i}"));
        over.push(post(from(200), customer(100 + i), forged).await);
    }
    assert_eq!(over, [303, 303, 303, 429]);
}

/// A trip cancelled days ago is still a request (the refund); a date decades off is a typo,
/// refused alike by the form and the telephony webhook.
async fn one_departure_rule_on_every_channel(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    ready(&app).await;
    let yesterday = submit(&app, &with(good_form(), "departure_date", &in_days(-1))).await;
    assert_eq!(
        yesterday.status(),
        303,
        "a sailing of yesterday is taken in"
    );
    let stale = with(
        with(good_form(), "departure_date", &in_days(-31)),
        "idempotency_key",
        &"b".repeat(64),
    );
    let refused = submit(&app, &stale).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap_or_default();
    assert!(html.contains("more than 30 days ago"), "the form says why");
    for (external_id, date, expected) in [
        ("call-old", "1999-01-01", 422),
        ("call-far", "2031-01-01", 422),
        ("call-recent", in_days(-3).as_str(), 201),
    ] {
        let call = json!({"phone": "+47 22 00 00 09", "external_id": external_id, "notes": "Cancelled", "departure_date": date});
        let (status, answer) = inbound(
            &app,
            "phone",
            "application/json",
            call.to_string().into_bytes(),
        )
        .await;
        assert_eq!(status, expected, "{date}: {answer}");
    }
}
