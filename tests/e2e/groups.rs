//! Disruption groups through the real binary: trips from the form, the audience file and
//! inbound email; a group saved in the console; one reply held with an undo, then sent to
//! every case through a real SMTP server, surviving a SIGKILL mid-send with every case
//! answered exactly once; bad input sent back beside its field; closing resolves.

use std::collections::HashMap;
use std::time::Duration;

use muster_store::on_both_engines;
use muster_store::testing::TestEngine;

use crate::support::{
    AGENT_EMAIL, MANAGER_EMAIL, SmtpRecorder, TestApp, browser, csrf_of, intake_form, text_of,
};

on_both_engines!(
    a_group_reply_reaches_every_case_once_across_a_kill,
    trips_come_from_the_form_the_audience_file_and_inbound_email,
    a_held_reply_is_undone_and_bad_input_comes_back_beside_its_field,
);

const SLUG: &str = "aurora";
const TRIP: &str = "AURORA-1204";

fn settings(smtp: &str) -> Vec<(&'static str, String)> {
    vec![
        ("MUSTER__MAIL__URL", smtp.to_owned()),
        ("MUSTER__INTAKE__MAX_PER_ADDRESS", "100000".to_owned()),
        ("MUSTER__QUEUE__GROUP_REPLY_HOLD_SECS", "1".to_owned()),
        ("MUSTER__QUEUE__GROUP_REPLY_LEASE_SECS", "2".to_owned()),
        ("MUSTER__MAIL__LEASE_SECS", "2".to_owned()),
    ]
}

fn env<'a>(settings: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    settings.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn ready(app: &TestApp) {
    app.add_user(MANAGER_EMAIL, "manager");
    app.add_user_in(AGENT_EMAIL, "agent", "refunds");
    let (ok, _, err) = app.muster(
        &[
            "incident",
            "open",
            "--slug",
            SLUG,
            "--title",
            "MS Aurora",
            "--languages",
            "en,nb,fa",
        ],
        &[],
    );
    assert!(ok, "incident open: {err}");
}

/// Customer `key` submits the form in `lang`, on `trip` when given.
async fn submit(app: &TestApp, key: &str, lang: &str, trip: Option<&str>) {
    let mut form: Vec<(&str, String)> = intake_form(key).into_iter().collect();
    form.push(("language", lang.to_owned()));
    if let Some(trip) = trip {
        form.push(("trip", trip.to_owned()));
    }
    let response = browser()
        .post(app.at(&format!("/i/{SLUG}/form")))
        .form(&form)
        .send()
        .await
        .expect("the form is posted");
    assert!(
        response.status().is_success() || response.status().is_redirection(),
        "{}",
        response.text().await.unwrap_or_default()
    );
}

/// Signs in and saves a group on the trip; returns the signed-in client and the group id.
async fn save_group(app: &TestApp, email: &str, trip: &str) -> (reqwest::Client, i64) {
    let client = app.login(email).await;
    let page = text_of(
        &client,
        &app.at(&format!("/console/groups?incident={SLUG}")),
    )
    .await;
    let response = client
        .post(app.at("/console/groups"))
        .form(&[
            ("csrf", csrf_of(&page)),
            ("incident", SLUG.to_owned()),
            ("name", "MS Aurora, 4 December".to_owned()),
            ("trip", trip.to_owned()),
        ])
        .send()
        .await
        .expect("the group is posted");
    assert_eq!(response.status(), 303);
    let location = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let id = location
        .trim_start_matches("/console/groups/")
        .split('?')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no group in {location}"));
    (client, id)
}

async fn post_reply(
    app: &TestApp,
    client: &reqwest::Client,
    group: i64,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = text_of(client, &app.at(&format!("/console/groups/{group}"))).await;
    let mut form: Vec<(&str, String)> = vec![("csrf", csrf_of(&page))];
    form.extend(fields.iter().map(|(k, v)| (*k, (*v).to_owned())));
    client
        .post(app.at(&format!("/console/groups/{group}/reply")))
        .form(&form)
        .send()
        .await
        .expect("the reply is posted")
}

/// Group replies received, by recipient: (Message-ID, subject, text) of each copy.
fn group_mail(smtp: &SmtpRecorder) -> HashMap<String, Vec<(String, String)>> {
    let mut by_recipient: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for raw in smtp.messages() {
        let Some(message) = mail_parser::MessageParser::default().parse(raw.as_bytes()) else {
            continue;
        };
        let id = message.message_id().unwrap_or_default().to_owned();
        if !id.starts_with("group.") {
            continue;
        }
        let to = message
            .to()
            .and_then(|to| to.first())
            .and_then(|m| m.address().map(str::to_owned))
            .unwrap_or_default();
        let text = message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default();
        by_recipient.entry(to).or_default().push((id, text));
    }
    by_recipient
}

async fn wait_for_group_mail(smtp: &SmtpRecorder, recipients: usize, timeout: Duration) {
    let deadline = std::time::Instant::now() + timeout;
    while group_mail(smtp).len() < recipients && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_group_reply_reaches_every_case_once_across_a_kill(engine: TestEngine) {
    const CASES: usize = 150;
    let smtp = SmtpRecorder::start().await;
    let settings = settings(&smtp.url());
    let mut app = TestApp::spawn_with(engine, &env(&settings)).await;
    ready(&app).await;
    for n in 0..CASES {
        let lang = ["en", "nb", "fa"][n % 3];
        submit(&app, &format!("g{n}"), lang, Some("aurora-1204")).await;
    }
    submit(&app, "other", "en", Some("BOREALIS-1204")).await;
    let (client, group) = save_group(&app, AGENT_EMAIL, TRIP).await;
    let page = text_of(&client, &app.at(&format!("/console/groups/{group}"))).await;
    assert!(
        page.contains(&format!("<span id=\"count\">{CASES}</span>")),
        "{page}"
    );
    for lang in ["en", "nb", "fa"] {
        assert!(
            page.contains(&format!("name=\"body_{lang}\"")),
            "a text per language"
        );
    }
    let response = post_reply(
        &app,
        &client,
        group,
        &[
            ("body_en", "Dear {{name}}, sailing {{trip}} is cancelled. Booking {{booking_reference}}: {{case_url}}"),
            ("body_nb", "Kjære {{name}}, avgangen er innstilt. {{case_url}}"),
            ("body_fa", "{{name}} عزیز، این سفر لغو شد. {{case_url}}"),
            ("then_status", "waiting_on_customer"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    wait_for_group_mail(&smtp, 10, Duration::from_secs(30)).await;
    app.kill().await;
    let at_kill = group_mail(&smtp).len();
    assert!(
        at_kill >= 10,
        "some replies went before the kill ({at_kill})"
    );
    app.restart(&env(&settings)).await;
    wait_for_group_mail(&smtp, CASES, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mail = group_mail(&smtp);
    assert_eq!(
        mail.len(),
        CASES,
        "every customer of the trip got the reply, no one else"
    );
    for (to, copies) in &mail {
        assert!(
            copies.iter().all(|(id, _)| *id == copies[0].0),
            "{to}: a message sent again after the kill keeps its Message-ID"
        );
    }
    let (_, text) = &mail["cg0@example.com"][0];
    assert!(
        text.starts_with("Dear Customer g0, sailing AURORA-1204 is cancelled. Booking BKG0"),
        "{text}"
    );
    assert!(text.contains("/c/MX-"), "the customer's own link: {text}");
    assert!(
        mail["cg2@example.com"][0].1.contains("عزیز"),
        "Persian for a Persian case"
    );
    assert!(
        mail["cg1@example.com"][0].1.starts_with("Kjære"),
        "Norwegian for a Norwegian case"
    );
    // Exactly once on every timeline, audited once, each case waiting on the customer.
    let store = app.db.store().await;
    let incident = store
        .incident_by_slug(SLUG)
        .await
        .expect("read")
        .expect("the incident");
    let scope = muster_store::groups::GroupScope {
        incident_id: incident.id,
        filter: muster_core::group::GroupFilter {
            trip: muster_core::trip::Trip::parse(TRIP).ok(),
            ..Default::default()
        },
        departure_from: None,
        departure_to: None,
    };
    assert_eq!(
        store.group_count(&scope).await.expect("counted"),
        CASES as u64
    );
    for case in store.group_cases(&scope, 500).await.expect("listed") {
        let replies = store
            .timeline(case.id)
            .await
            .expect("timeline")
            .into_iter()
            .filter(|e| e.direction == muster_core::case::Direction::Outbound)
            .count();
        assert_eq!(replies, 1, "{} answered once", case.reference);
        assert_eq!(
            case.status,
            muster_core::case::CaseStatus::WaitingOnCustomer
        );
    }
    let audited = store
        .recent_audit(1000)
        .await
        .expect("read")
        .into_iter()
        .filter(|e| e.action == "case.group_reply")
        .count();
    assert_eq!(audited, CASES);
    let page = text_of(&client, &app.at(&format!("/console/groups/{group}"))).await;
    assert!(
        page.contains(&format!(
            "<strong class=\"replied\">{CASES}</strong> of {CASES} cases answered"
        )),
        "{page}"
    );
}

async fn inbound_email(app: &TestApp, from: &str, subject: &str, body: &str) {
    let raw = format!(
        "From: {from}\r\nTo: crisis@example.com\r\nSubject: {subject}\r\nMessage-ID: <{}@example.net>\r\n\r\n{body}\r\n",
        uuid::Uuid::new_v4().simple()
    );
    let response = app
        .inbound(&format!("/api/v1/inbound/email?incident={SLUG}"), raw)
        .header("Content-Type", "message/rfc822")
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(
        response.status(),
        201,
        "{}",
        response.text().await.unwrap_or_default()
    );
}

async fn trips_come_from_the_form_the_audience_file_and_inbound_email(engine: TestEngine) {
    let smtp = SmtpRecorder::start().await;
    let settings = settings(&smtp.url());
    let app = TestApp::spawn_with(engine, &env(&settings)).await;
    ready(&app).await;
    submit(&app, "form1", "en", Some("dy1234")).await;
    // A case that names no trip before the file arrives, then one after it.
    submit(&app, "early", "en", None).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    let csv = "email,name,booking_reference,trip\n\
               cearly@example.com,Early,BKearly,DY1234\n\
               clate@example.com,Late,BKlate,DY1234\n";
    let response = browser()
        .post(app.at(&format!("/api/v1/incidents/{SLUG}/audience")))
        .bearer_auth(&token)
        .header("Content-Type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("imported");
    assert_eq!(response.status(), 200);
    submit(&app, "late", "en", None).await;
    inbound_email(
        &app,
        "Ola <ola@example.com>",
        "Cancelled?",
        "Hello, my flight DY1234 tomorrow, is it cancelled?",
    )
    .await;
    inbound_email(
        &app,
        "Per <per@example.com>",
        "Hello",
        "My flight was cancelled",
    )
    .await;
    let (client, group) = save_group(&app, MANAGER_EMAIL, "DY1234").await;
    let page = text_of(&client, &app.at(&format!("/console/groups/{group}"))).await;
    assert!(page.contains("<span id=\"count\">4</span>"), "{page}");
    for who in ["Customer form1", "Customer early", "Customer late", "Ola"] {
        assert!(page.contains(who), "{who} is in the group: {page}");
    }
    assert!(!page.contains("Per"), "a text naming no trip is not");
    let list = text_of(
        &client,
        &app.at(&format!("/console/groups?incident={SLUG}")),
    )
    .await;
    assert!(
        list.contains("trip DY1234") && list.contains("<td>4</td>"),
        "{list}"
    );
    // A bad trip on the form comes back beside its field, with what was typed.
    let mut form: Vec<(&str, String)> = intake_form("bad").into_iter().collect();
    form.push(("trip", "DY<1234>".to_owned()));
    let response = browser()
        .post(app.at(&format!("/i/{SLUG}/form")))
        .form(&form)
        .send()
        .await
        .expect("posted");
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap_or_default();
    assert!(body.contains("id=\"trip-error\""), "{body}");
    assert!(
        body.contains("DY&lt;1234&gt;"),
        "what was typed is kept, escaped"
    );
}

async fn a_held_reply_is_undone_and_bad_input_comes_back_beside_its_field(engine: TestEngine) {
    let smtp = SmtpRecorder::start().await;
    let mut settings = settings(&smtp.url());
    settings.retain(|(k, _)| *k != "MUSTER__QUEUE__GROUP_REPLY_HOLD_SECS");
    let app = TestApp::spawn_with(engine, &env(&settings)).await;
    ready(&app).await;
    for n in 0..3 {
        submit(&app, &format!("u{n}"), "en", Some(TRIP)).await;
    }
    let (client, group) = save_group(&app, AGENT_EMAIL, TRIP).await;
    // A template that does not compile, and a bad group: each message beside its field.
    let response = post_reply(&app, &client, group, &[("body_en", "Hi {{#if}}")]).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap_or_default();
    assert!(page.contains("id=\"body_en-error\""), "{page}");
    assert!(page.contains("Hi {{#if}}"), "what was typed is kept");
    let response = post_reply(&app, &client, group, &[("body_en", "  ")]).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap_or_default()
            .contains("at least one language")
    );
    let list = text_of(
        &client,
        &app.at(&format!("/console/groups?incident={SLUG}")),
    )
    .await;
    let response = client
        .post(app.at("/console/groups"))
        .form(&[
            ("csrf", csrf_of(&list)),
            ("incident", SLUG.to_owned()),
            ("name", "Bad".to_owned()),
            ("trip", "no;trip".to_owned()),
            ("departure_from", "2026-12-10".to_owned()),
            ("departure_to", "2026-12-01".to_owned()),
        ])
        .send()
        .await
        .expect("posted");
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap_or_default();
    assert!(
        page.contains("id=\"trip-error\"") && page.contains("id=\"departure_to-error\""),
        "{page}"
    );
    assert!(page.contains("value=\"no;trip\""), "kept");
    // Held with the default 60 seconds: undone, nothing goes.
    let response = post_reply(&app, &client, group, &[("body_en", "Sent by mistake")]).await;
    assert_eq!(response.status(), 303);
    let page = text_of(&client, &app.at(&format!("/console/groups/{group}?held=1"))).await;
    assert!(
        page.contains("Reply held") && page.contains("Undo this reply"),
        "{page}"
    );
    let undo = page
        .split("action=\"/console/groups/")
        .find_map(|rest| rest.split('"').next().filter(|a| a.ends_with("/undo")))
        .map(|a| format!("/console/groups/{a}"))
        .unwrap_or_else(|| panic!("no undo form: {page}"));
    let response = client
        .post(app.at(&undo))
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .expect("undone");
    assert_eq!(response.status(), 303);
    let page = text_of(
        &client,
        &app.at(&format!("/console/groups/{group}?undone=1")),
    )
    .await;
    assert!(
        page.contains("Reply undone") && page.contains("cancelled"),
        "{page}"
    );
    // Closing the problem resolves the group's cases.
    let response = client
        .post(app.at(&format!("/console/groups/{group}/close")))
        .form(&[("csrf", csrf_of(&page)), ("resolve", "1".to_owned())])
        .send()
        .await
        .expect("closed");
    assert_eq!(response.status(), 303);
    let page = text_of(
        &client,
        &app.at(&format!("/console/groups/{group}?closed=3")),
    )
    .await;
    assert!(
        page.contains("<span id=\"count\">0</span>") && page.contains("closed"),
        "{page}"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        group_mail(&smtp).is_empty(),
        "an undone reply sends nothing"
    );
}
