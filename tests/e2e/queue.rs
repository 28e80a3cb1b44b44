//! The agents' queue over HTTP: order, take-next under concurrency (three replicas on one
//! PostgreSQL), replies that thread back, merges, overdue alerts, and who may see what.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use muster_store::testing::TestEngine;
use serde_json::{Value, json};

use crate::support::{AGENT_EMAIL, MANAGER_EMAIL, SmtpRecorder, TestApp, csrf_of};
use muster_store::on_both_engines;

on_both_engines!(
    the_queue_is_in_order_of_urgency,
    merging_keeps_every_contact_and_tells_the_customer_once
);

const SLUG: &str = "grounded";

fn in_days(days: i64) -> String {
    let date = time::OffsetDateTime::now_utc().date() + time::Duration::days(days);
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Opens the incident and returns a manager's API token.
async fn ready(app: &TestApp) -> String {
    app.add_user_in(MANAGER_EMAIL, "manager", "refunds,rebooking,general");
    let token = app.token_for(MANAGER_EMAIL);
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"slug": SLUG, "title": "Flights grounded", "time_zone": "UTC"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201);
    token
}

/// A call logged by the telephony system: one case per distinct phone and booking.
async fn call(app: &TestApp, n: usize, departure: Option<i64>, email: Option<&str>) -> String {
    let mut record = json!({
        "phone": format!("+47 400 {n:05}"),
        "external_id": format!("call-{n}"),
        "name": format!("Caller {n}"),
        "booking_ref": format!("BK{n:05}"),
        "request_type": "refund",
        "notes": format!("Call {n}"),
    });
    if let Some(days) = departure {
        record["departure_date"] = json!(in_days(days));
    }
    if let Some(email) = email {
        record["email"] = json!(email);
    }
    let body = record.to_string();
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

async fn the_queue_is_in_order_of_urgency(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    ready(&app).await;
    let later = call(&app, 1, Some(40), None).await;
    let undated = call(&app, 2, None, None).await;
    let soon = call(&app, 3, Some(6), None).await;
    let now = call(&app, 4, Some(0), None).await;
    app.add_user_in(AGENT_EMAIL, "agent", "refunds");
    let agent = app.login(AGENT_EMAIL).await;
    let html = agent
        .get(app.at(&format!("/console/queue?incident={SLUG}")))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    let positions: Vec<usize> = [&now, &soon, &later, &undated]
        .iter()
        .map(|r| {
            html.find(&format!(">{r}</a>"))
                .unwrap_or_else(|| panic!("{r} not listed"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "critical, high, normal, needs date: {positions:?}"
    );
    assert!(
        html.contains("<strong>1</strong> critical")
            && html.contains("<strong>1</strong> need a date"),
        "counts per tier"
    );
    let take = agent
        .post(app.at("/console/queue/take"))
        .form(&[("csrf", csrf_of(&html).as_str()), ("incident", SLUG)])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(take.status(), 303);
    assert_eq!(
        take.headers()["location"],
        format!("/console/cases/{now}").as_str(),
        "the most urgent first"
    );
    let dashboard = agent
        .get(app.at("/console/dashboard"))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(
        dashboard.status(),
        403,
        "agents cannot reach the manager dashboard"
    );
}

async fn merging_keeps_every_contact_and_tells_the_customer_once(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    ready(&app).await;
    let first = call(&app, 1, Some(3), Some("ola@example.no")).await;
    let second = call(&app, 2, Some(3), Some("ola.nordmann@example.no")).await;
    let manager = app.login(MANAGER_EMAIL).await;
    let page = manager
        .get(app.at(&format!("/console/cases/{second}")))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    let merged = manager
        .post(app.at(&format!("/console/cases/{second}/merge")))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("into", first.as_str()),
            ("confirmed", "1"),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(merged.status(), 303);
    let survivor = manager
        .get(app.at(&format!("/console/cases/{first}")))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        survivor.contains("Call 1") && survivor.contains("Call 2"),
        "every contact kept"
    );
    let gone = manager
        .get(app.at(&format!("/console/cases/{second}")))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    assert!(gone.contains(&format!("Merged into <a href=\"/console/cases/{first}\">")));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let outbox = || {
        std::fs::read_dir(app.dir.join("outbox"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    while outbox() < 1 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(outbox(), 1, "the customer is told once");
}

/// Agents on three replicas of one PostgreSQL, all taking at once, never get the same
/// case, and every replica hands cases out.
#[tokio::test]
async fn take_next_never_gives_a_case_twice_across_three_replicas() {
    const CASES: usize = 60;
    let app = TestApp::spawn(TestEngine::Postgres).await;
    ready(&app).await;
    for n in 0..CASES {
        call(&app, n, Some(i64::try_from(n % 10).unwrap_or(0)), None).await;
    }
    let (_second, second_url) = app.replica().await;
    let (_third, third_url) = app.replica().await;
    let replicas = [app.url.clone(), second_url, third_url];
    // Every token first, so that no agent starts before the others exist.
    let tokens: Vec<String> = (0..9)
        .map(|i| {
            let email = format!("agent{i}@example.com");
            app.add_user_in(&email, "agent", "refunds");
            app.token_for(&email)
        })
        .collect();
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(tokens.len()));
    let mut agents = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let base = replicas[i % replicas.len()].clone();
        let start = start.clone();
        agents.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut mine = Vec::new();
            start.wait().await;
            loop {
                let response = client
                    .post(format!("{base}/api/v1/queue/next?incident={SLUG}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("the request reaches the server");
                if response.status() == 204 {
                    return (base, mine);
                }
                assert_eq!(response.status(), 200);
                let body: Value = response.json().await.unwrap_or(Value::Null);
                mine.push(
                    body["case"]["reference"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }));
    }
    let mut all = Vec::new();
    let mut per_replica: HashMap<String, usize> = HashMap::new();
    for agent in agents {
        let (base, mine) = agent.await.unwrap_or_else(|e| panic!("{e}"));
        *per_replica.entry(base).or_default() += mine.len();
        all.extend(mine);
    }
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(
        (all.len(), unique.len()),
        (CASES, CASES),
        "every case given exactly once"
    );
    assert!(
        replicas
            .iter()
            .all(|r| per_replica.get(r).copied().unwrap_or(0) > 0),
        "every replica handed out cases: {per_replica:?}"
    );
    eprintln!("cases taken per replica: {per_replica:?}");
}

/// A reply reaches a real SMTP server, and the customer's answer threads back.
#[tokio::test]
async fn a_reply_goes_out_and_the_answer_threads_back() {
    let smtp = SmtpRecorder::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(TestEngine::Postgres, &[("MUSTER__MAIL__URL", &url)]).await;
    let token = ready(&app).await;
    let canned = |body: &str| json!({"canned": [{"key": "ferry-refund", "title": "Refunded", "body": body}]});
    let api = reqwest::Client::new();
    let broken = api
        .put(app.at(&format!("/api/v1/incidents/{SLUG}/canned")))
        .bearer_auth(&token)
        .json(&canned("{{#if}}"))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(
        broken.status(),
        422,
        "a template that does not compile is refused"
    );
    let saved = api
        .put(app.at(&format!("/api/v1/incidents/{SLUG}/canned")))
        .bearer_auth(&token)
        .json(&canned(
            "Dear {{name}}, booking {{booking_ref}} is refunded in full. Your case: {{case_url}}",
        ))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(saved.status(), 200);
    let reference = call(&app, 1, Some(2), Some("kari@example.no")).await;
    app.add_user_in(AGENT_EMAIL, "agent", "refunds");
    let agent = app.login(AGENT_EMAIL).await;
    let page = agent
        .get(app.at(&format!("/console/cases/{reference}")))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    let sent = agent
        .post(app.at(&format!("/console/cases/{reference}/reply")))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("body", ""),
            ("canned", "ferry-refund"),
            ("then", "waiting_on_customer"),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(sent.status(), 303);
    let messages = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(messages.len(), 1);
    let parsed = mail_parser::MessageParser::default()
        .parse(messages[0].as_bytes())
        .unwrap_or_else(|| panic!("unparseable"));
    let body = parsed.body_text(0).unwrap_or_default().into_owned();
    assert!(
        body.contains("Dear Caller 1, booking BK00001 is refunded in full."),
        "the canned response, filled: {body}"
    );
    assert!(
        body.contains(&format!("/c/{reference}?t=")),
        "with the customer's case link: {body}"
    );
    let message_id = parsed.message_id().unwrap_or_default().to_owned();
    let reply_to = messages[0]
        .lines()
        .find(|l| l.starts_with("Reply-To:"))
        .unwrap_or_default()
        .to_owned();
    assert!(reply_to.contains(&format!("+{reference}@")), "{reply_to}");
    // The customer answers from another address; In-Reply-To threads it to the case.
    let answer = format!(
        "From: Kari <kari.private@example.org>\r\nTo: crisis@example.com\r\nSubject: Re: refund\r\nMessage-ID: <answer-1@example.org>\r\nIn-Reply-To: <{message_id}>\r\n\r\nThank you, received!\r\n"
    );
    let response = app
        .inbound(&format!("/api/v1/inbound/email?incident={SLUG}"), answer)
        .send()
        .await
        .expect("the request reaches the server");
    let threaded: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(threaded["reference"], reference.as_str());
    let page = agent
        .get(app.at(&format!("/console/cases/{reference}")))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        page.contains("Thank you, received!"),
        "the answer is on the case"
    );
    assert!(
        page.contains("<td>open</td>"),
        "the customer's answer reopens the case"
    );
}

/// A case past its target alerts the managers exactly once, however many scans run.
#[tokio::test]
async fn an_overdue_case_alerts_exactly_once() {
    let mut app =
        TestApp::spawn_with(TestEngine::Sqlite, &[("MUSTER__QUEUE__SLA_SCAN_SECS", "1")]).await;
    ready(&app).await;
    let reference = call(&app, 1, Some(1), None).await;
    app.restart_with(&[
        ("MUSTER__QUEUE__SLA_SCAN_SECS", "1"),
        ("MUSTER__CLOCK__OFFSET_HOURS", "5"),
    ])
    .await;
    let overdue_mails = || {
        std::fs::read_dir(app.dir.join("outbox"))
            .map(|d| {
                d.flatten()
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .filter(|m| m.contains("Subject: Overdue"))
                    .count()
            })
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while overdue_mails() < 1 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        overdue_mails(),
        1,
        "one alert for the one manager, after several scans"
    );
    let manager = app.login(MANAGER_EMAIL).await;
    let html = manager
        .get(app.at(&format!("/console/queue?incident={SLUG}&overdue=1")))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        html.contains(&reference) && html.contains(r#"class="due overdue""#),
        "{html}"
    );
}
