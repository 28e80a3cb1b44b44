//! Posted waits everywhere a customer looks, the telephony override, and waits computed
//! from the live queue once enough answers have gone out.

use std::time::{Duration, Instant};

use muster_store::testing::TestEngine;
use serde_json::{Value, json};

use crate::support::{MANAGER_EMAIL, TestApp, browser, csrf_of, text_of};
use muster_store::on_both_engines;

on_both_engines!(the_wait_is_shown_everywhere_and_the_telephony_system_can_post_it);

const SLUG: &str = "tram-stop";

async fn ready(app: &TestApp) -> String {
    app.add_user_in(MANAGER_EMAIL, "manager", "refunds,rebooking,general");
    let token = app.token_for(MANAGER_EMAIL);
    let opened = reqwest::Client::new()
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"slug": SLUG, "title": "Trams stopped", "time_zone": "UTC"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(opened.status(), 201);
    set_channels(
        app,
        &token,
        json!([
            {"kind": "form", "address": "/i/tram-stop/form", "wait_low_minutes": "120", "wait_high_minutes": "240"},
            {"kind": "phone", "address": "+47 22 00 00 00"},
        ]),
    )
    .await;
    token
}

async fn set_channels(app: &TestApp, token: &str, channels: Value) {
    let set = reqwest::Client::new()
        .put(app.at(&format!("/api/v1/incidents/{SLUG}/channels")))
        .bearer_auth(token)
        .json(&json!({ "channels": channels }))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(set.status(), 200);
}

async fn submit(app: &TestApp, n: usize) -> reqwest::Response {
    let date = (time::OffsetDateTime::now_utc().date() + time::Duration::days(20)).to_string();
    let form = [
        ("name", format!("Rider {n}")),
        ("email", format!("rider{n}@example.com")),
        ("booking_ref", format!("TR{n:05}")),
        ("departure_date", date),
        ("request_type", "refund".to_owned()),
        ("message", "When do trams run again?".to_owned()),
        ("idempotency_key", format!("{n:064}")),
    ];
    browser()
        .post(app.at(&format!("/i/{SLUG}/form")))
        .form(&form)
        .send()
        .await
        .expect("the request reaches the server")
}

async fn json_of(url: String) -> Value {
    reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or(Value::Null)
}

async fn the_wait_is_shown_everywhere_and_the_telephony_system_can_post_it(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let token = ready(&app).await;
    let landing = reqwest::get(app.at(&format!("/i/{SLUG}")))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        landing.contains("2 to 4 hours"),
        "the landing page shows the posted wait"
    );
    let submitted = submit(&app, 1).await;
    let location = submitted.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    let confirmation = reqwest::get(app.at(&location))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        confirmation.contains("2 to 4 hours"),
        "the confirmation shows it"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let acknowledgement = loop {
        let mail = std::fs::read_dir(app.dir.join("outbox"))
            .ok()
            .and_then(|d| d.flatten().next())
            .and_then(|e| std::fs::read_to_string(e.path()).ok());
        if let Some(mail) = mail {
            break mail;
        }
        assert!(Instant::now() < deadline, "no acknowledgement");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        acknowledgement.contains("2 to 4 hours"),
        "the autoresponder shows it:\n{acknowledgement}"
    );
    let times = json_of(app.at(&format!("/i/{SLUG}/wait-times.json"))).await;
    let form = times["channels"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["channel"] == "form"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(form["tiers"]["normal"]["text"], "2 to 4 hours", "{times}");
    // The phone queue is invisible to Muster: the telephony system posts its wait.
    let posted = reqwest::Client::new()
        .put(app.at(&format!("/api/v1/incidents/{SLUG}/channels/phone/wait")))
        .bearer_auth(&token)
        .json(&json!({"low_minutes": 10, "high_minutes": 25}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(posted.status(), 200);
    let times = json_of(app.at(&format!("/i/{SLUG}/wait-times.json"))).await;
    let phone = times["channels"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["channel"] == "phone"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        phone["tiers"]["critical"]["text"], "10 to 25 minutes",
        "{times}"
    );
    let landing = reqwest::get(app.at(&format!("/i/{SLUG}")))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        landing.contains("10 to 25 minutes"),
        "the landing page follows at once"
    );
    let bad = reqwest::Client::new()
        .put(app.at(&format!("/api/v1/incidents/{SLUG}/channels/phone/wait")))
        .bearer_auth(&token)
        .json(&json!({"low_minutes": 30, "high_minutes": 5}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(bad.status(), 400);
}

/// Once agents have answered enough cases, the form's wait is computed from the live queue.
#[tokio::test]
async fn waits_are_computed_from_the_live_queue() {
    let app = TestApp::spawn_with(
        TestEngine::Sqlite,
        &[("MUSTER__QUEUE__WAIT_REFRESH_SECS", "1")],
    )
    .await;
    let token = ready(&app).await;
    // Email cases wait in the same queue as the form's: agents take the most urgent case
    // whatever channel it came in on.
    set_channels(
        &app,
        &token,
        json!([
            {"kind": "form", "address": "/i/tram-stop/form", "wait_low_minutes": "120", "wait_high_minutes": "240"},
            {"kind": "email", "address": "help@example.com", "wait_low_minutes": "1440", "wait_high_minutes": "2880"},
        ]),
    )
    .await;
    for n in 0..16 {
        assert_eq!(submit(&app, n).await.status(), 303);
    }
    let manager = app.login(MANAGER_EMAIL).await;
    for _ in 0..12 {
        let queue = text_of(
            &manager,
            &app.at(&format!("/console/queue?incident={SLUG}")),
        )
        .await;
        let taken = manager
            .post(app.at("/console/queue/take"))
            .form(&[("csrf", csrf_of(&queue).as_str()), ("incident", SLUG)])
            .send()
            .await
            .expect("the request reaches the server");
        let case = taken.headers()["location"]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            case.starts_with("/console/cases/"),
            "no case to take: {case}"
        );
        let page = text_of(&manager, &app.at(&case)).await;
        let replied = manager
            .post(app.at(&format!("{case}/reply")))
            .form(&[
                ("csrf", csrf_of(&page).as_str()),
                ("body", "Trams run again from 18:00."),
                ("then", "resolved"),
            ])
            .send()
            .await
            .expect("the request reaches the server");
        assert_eq!(replied.status(), 303);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let times = json_of(app.at(&format!("/i/{SLUG}/wait-times.json"))).await;
        let channel = |kind: &str| {
            times["channels"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["channel"] == kind))
                .map(|c| c["tiers"]["normal"].clone())
                .unwrap_or(Value::Null)
        };
        let (form, email) = (channel("form"), channel("email"));
        if form["source"] == "computed" {
            assert!(form["low_minutes"].as_i64().is_some());
            assert_eq!(email, form, "one queue, one wait: {times}");
            break;
        }
        assert!(Instant::now() < deadline, "still not computed: {times}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // The manager knows better (a backlog the data cannot show): the form wait they post
    // replaces the computed one at once, on every surface; email keeps its computed wait.
    let overridden = reqwest::Client::new()
        .put(app.at(&format!("/api/v1/incidents/{SLUG}/channels/form/wait")))
        .bearer_auth(&token)
        .json(&json!({"low_minutes": 2880, "high_minutes": 4320, "override": true}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(overridden.status(), 200);
    let answer: Value = overridden.json().await.unwrap_or(Value::Null);
    assert_eq!(answer["override"], true, "{answer}");
    let times = json_of(app.at(&format!("/i/{SLUG}/wait-times.json"))).await;
    let tier = |kind: &str, tier: &str| {
        times["channels"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["channel"] == kind))
            .map(|c| c["tiers"][tier].clone())
            .unwrap_or(Value::Null)
    };
    for level in ["critical", "high", "normal"] {
        let form = tier("form", level);
        assert_eq!(form["source"], "override", "{times}");
        assert_eq!(form["text"], "2 to 3 days", "{times}");
        assert_eq!(tier("email", level)["source"], "computed", "{times}");
    }
    let submitted = submit(&app, 100).await;
    let location = submitted.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    let confirmation = reqwest::get(app.at(&location))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        confirmation.contains("2 to 3 days"),
        "the confirmation shows the override"
    );
    let incident_page = text_of(&manager, &app.at(&format!("/console/incidents/{SLUG}"))).await;
    assert!(
        incident_page.contains(r#"name="form_wait_overrides" value="1" checked"#),
        "the console shows the override"
    );
}

/// The manager announces shifts and reinforcements, through the API and the console; a bad
/// entry is refused with its own message and every typed value kept.
#[tokio::test]
async fn a_staffing_plan_is_checked_saved_and_shown() {
    let app = TestApp::spawn(TestEngine::Sqlite).await;
    let token = ready(&app).await;
    let put = |body: Value| {
        reqwest::Client::new()
            .put(app.at(&format!("/api/v1/incidents/{SLUG}/staffing")))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let saved = put(json!({"groups": [
        {"agents": 8, "until": "2030-01-01T17:00"},
        {"agents": 6, "from": "2030-01-01T14:00:00+01:00"},
    ]}))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(saved.status(), 200);
    let saved: Value = saved.json().await.unwrap_or(Value::Null);
    assert_eq!(
        saved["groups"][0]["until"], "2030-01-01T17:00:00Z",
        "{saved}"
    );
    assert_eq!(
        saved["groups"][1]["from"], "2030-01-01T13:00:00Z",
        "{saved}"
    );
    let refused = put(json!({"groups": [{"agents": 0, "from": "2030-01-01T14:00"}]}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(refused.status(), 422);
    let refused: Value = refused.json().await.unwrap_or(Value::Null);
    assert!(
        refused["fields"]["staffing[0].agents"].is_string(),
        "{refused}"
    );

    let manager = app.login(MANAGER_EMAIL).await;
    let page_url = app.at(&format!("/console/incidents/{SLUG}"));
    let page = text_of(&manager, &page_url).await;
    assert!(
        page.contains(r#"name="staffing_1_from" value="2030-01-01T13:00""#),
        "the plan is shown in the incident's zone"
    );
    let save = |page: String, rows: &[(&str, &str, &str)]| {
        let mut fields = vec![("csrf".to_owned(), csrf_of(&page))];
        for (i, (agents, from, until)) in rows.iter().enumerate() {
            fields.push((format!("staffing_{i}_agents"), (*agents).to_owned()));
            fields.push((format!("staffing_{i}_from"), (*from).to_owned()));
            fields.push((format!("staffing_{i}_until"), (*until).to_owned()));
        }
        manager
            .post(app.at(&format!("/console/incidents/{SLUG}/staffing")))
            .form(&fields)
            .send()
    };
    let typed = save(
        page,
        &[("8", "", "2030-01-01T17:00"), ("12", "after lunch", "")],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(typed.status(), 422);
    let page = typed.text().await.unwrap_or_default();
    assert!(
        page.contains("&quot;after lunch&quot; is not a date and time"),
        "{page}"
    );
    assert!(
        page.contains(r#"value="after lunch""#),
        "the typed value is kept"
    );
    assert!(page.contains(r#"name="staffing_1_agents" inputmode="numeric" value="12""#));
    let fixed = save(page, &[("12", "2030-01-01T13:30", "")])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fixed.status(), 303);
    let incident = reqwest::Client::new()
        .get(app.at(&format!("/api/v1/incidents/{SLUG}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("the request reaches the server")
        .json::<Value>()
        .await
        .unwrap_or(Value::Null);
    assert_eq!(
        incident["settings"]["staffing"],
        json!([{"agents": 12, "from": "2030-01-01T13:30:00Z", "until": null}]),
        "{incident}"
    );
}
