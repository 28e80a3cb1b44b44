//! Bulk mail through the real binary: CSV import, campaigns received by a real SMTP
//! server (parsed and checked), one-click unsubscribe, double opt-in, pause and resume,
//! the SIGTERM and SIGKILL cases, and one campaign shared by three replicas.

use std::collections::HashMap;
use std::time::Duration;

use mail_parser::MimeHeaders;
use muster_store::testing::TestEngine;
use serde_json::{Value, json};

use crate::support::{AGENT_EMAIL, MANAGER_EMAIL, SmtpRecorder, TestApp, browser, csrf_of};
use muster_store::on_both_engines;

on_both_engines!(
    csv_import_reports_rejections_and_updates_by_email,
    campaign_arrives_with_mime_structure_and_headers,
    one_click_unsubscribe_suppresses_the_next_campaign,
    subscribers_join_after_confirming,
    pause_and_resume,
    sigterm_mid_campaign_loses_none_and_sends_none_twice,
    sigkill_mid_campaign_resends_only_what_was_in_flight,
    console_upload_preview_and_send,
    a_message_that_cannot_be_built_fails_with_its_reason_and_the_campaign_finishes,
    forty_sign_ups_of_one_address_send_one_confirmation,
);

const SLUG: &str = "ferry-fire";

/// One received message, parsed.
#[derive(Debug)]
struct Mail {
    to: String,
    message_id: String,
    subject: String,
    multipart_alternative: bool,
    text: String,
    html: Option<String>,
    unsubscribe: String,
    unsubscribe_post: String,
}

fn parse(raw: &str) -> Mail {
    let message = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap_or_else(|| panic!("not a message:\n{raw}"));
    let header = |name: &str| {
        message
            .header_raw(name)
            .map(|h| h.trim().to_owned())
            .unwrap_or_default()
    };
    let content_type = message.content_type();
    Mail {
        to: message
            .to()
            .and_then(|to| to.first())
            .and_then(|m| m.address().map(str::to_owned))
            .unwrap_or_default(),
        message_id: message.message_id().unwrap_or_default().to_owned(),
        subject: message.subject().unwrap_or_default().to_owned(),
        multipart_alternative: content_type
            .is_some_and(|c| c.ctype() == "multipart" && c.subtype() == Some("alternative")),
        text: message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        html: message.body_html(0).map(|t| t.into_owned()),
        unsubscribe: header("List-Unsubscribe")
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned(),
        unsubscribe_post: header("List-Unsubscribe-Post"),
    }
}

async fn start(
    engine: TestEngine,
    smtp: &SmtpRecorder,
    extra: &[(&str, &str)],
) -> (TestApp, String) {
    let url = smtp.url();
    let mut env = vec![
        ("MUSTER__MAIL__URL", url.as_str()),
        ("MUSTER__MAIL__RETRY_SECS", "1"),
    ];
    env.extend_from_slice(extra);
    let app = TestApp::spawn_with(engine, &env).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    let (ok, _, err) = app.muster(
        &[
            "incident",
            "open",
            "--slug",
            SLUG,
            "--title",
            "Fire on MS Aurora",
            "--languages",
            "en,nb",
        ],
        &[],
    );
    assert!(ok, "incident open: {err}");
    (app, token)
}

fn audience(n: usize, prefix: &str) -> String {
    let mut csv = String::from("email,name,booking_reference,departure_date,language,cabin\n");
    for i in 0..n {
        let lang = if i % 2 == 0 { "en" } else { "nb" };
        csv.push_str(&format!(
            "{prefix}{i}@example.com,Customer {i},BK{i:04},2026-12-{:02},{lang},C{i}\n",
            i % 28 + 1
        ));
    }
    csv
}

async fn import(app: &TestApp, token: &str, csv: &str) -> Value {
    let response = browser()
        .post(app.at(&format!("/api/v1/incidents/{SLUG}/audience")))
        .bearer_auth(token)
        .header("Content-Type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 200);
    response.json().await.expect("the answer is JSON")
}

async fn api(app: &TestApp, token: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let client = browser();
    let request = match body {
        Some(body) => client.post(app.at(path)).json(&body),
        None => client.get(app.at(path)),
    };
    let response = request
        .bearer_auth(token)
        .send()
        .await
        .expect("the request reaches the server");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn campaign_body() -> Value {
    json!({
        "subject": "Oppdatering – {{name}}",
        "text": "Hello {{name}}, booking {{booking_reference}} on {{departure_date}} (cabin {{cabin}}).\nForm: {{form_link}}\nPage: {{landing_url}}\nStop: {{unsubscribe_link}}\n",
        "html": "<p>Hello {{name}}</p><p><a href=\"{{form_link}}\">Your form</a> <a href=\"{{unsubscribe_link}}\">Unsubscribe</a></p>",
    })
}

async fn send_campaign(app: &TestApp, token: &str) -> i64 {
    let (status, created) = api(
        app,
        token,
        &format!("/api/v1/incidents/{SLUG}/campaigns"),
        Some(campaign_body()),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    created["campaign"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{created}"))
}

async fn wait_until_finished(app: &TestApp, token: &str, id: i64) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) = api(app, token, &format!("/api/v1/campaigns/{id}"), None).await;
        if body["campaign"]["status"] == "done" || std::time::Instant::now() > deadline {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn by_recipient(messages: &[String]) -> HashMap<String, Vec<Mail>> {
    let mut map: HashMap<String, Vec<Mail>> = HashMap::new();
    for raw in messages {
        let mail = parse(raw);
        map.entry(mail.to.clone()).or_default().push(mail);
    }
    map
}

async fn csv_import_reports_rejections_and_updates_by_email(engine: TestEngine) {
    let smtp = SmtpRecorder::start().await;
    let (app, token) = start(engine, &smtp, &[]).await;
    let csv = "email,name,booking_reference,departure_date,language\n\
               kari@example.no,Kari,AB12CD,2026-12-01,nb\n\
               not-an-address,Nobody,,,en\n\
               ola@example.no,Ola,AB12CE,2026-02-30,nb\n\
               per@example.no,Per,,,en\n";
    let file = app.dir.join("audience.csv");
    std::fs::write(&file, csv).unwrap_or_else(|e| panic!("{e}"));
    let path = file.display().to_string();
    let (ok, out, err) = app.muster(&["audience", "import", "--incident", SLUG, &path], &[]);
    assert!(ok, "{err}");
    assert!(
        out.contains("line 3: \"not-an-address\" is not an email address"),
        "{out}"
    );
    assert!(out.contains("line 4: departure date"), "{out}");
    assert!(
        out.contains("4 rows: 2 added, 0 updated, 2 rejected"),
        "{out}"
    );
    assert!(
        err.contains("importing: 2/2 rows"),
        "progress on stderr: {err}"
    );

    // The API: the same report as JSON; re-importing updates by address, never duplicates.
    let report = import(
        &app,
        &token,
        "Email,Name\nKARI@example.no,Kari N.\nnew@example.no,New\n,\nx@y\n",
    )
    .await;
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(report["updated"], 1, "{report}");
    let rejected: Vec<u64> = report["rejected"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["line"].as_u64())
        .collect();
    assert_eq!(rejected, vec![5], "{report}");
    let (_, counts) = api(
        &app,
        &token,
        &format!("/api/v1/incidents/{SLUG}/audience"),
        None,
    )
    .await;
    assert_eq!(counts["total"], 3, "{counts}");
    let wrong_type = browser()
        .post(app.at(&format!("/api/v1/incidents/{SLUG}/audience")))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(wrong_type.ok(), Some(415));
}

async fn campaign_arrives_with_mime_structure_and_headers(engine: TestEngine) {
    let smtp = SmtpRecorder::start().await;
    let (app, token) = start(engine, &smtp, &[]).await;
    let mut csv = audience(4, "c");
    // A refused address fails with its reason and is bounced; a deferred one is retried.
    csv.push_str("reject-me@example.com,Refused,,,en,\nlater-me@example.com,Deferred,,,en,\n");
    import(&app, &token, &csv).await;

    let (status, preview) = api(
        &app,
        &token,
        &format!("/api/v1/incidents/{SLUG}/campaigns/preview"),
        Some(campaign_body()),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["subject"], "Oppdatering – Customer 0", "{preview}");

    let id = send_campaign(&app, &token).await;
    let done = wait_until_finished(&app, &token, id).await;
    assert_eq!(done["campaign"]["status"], "done", "{done}");
    assert_eq!(done["progress"]["sent"], 5, "{done}");
    assert_eq!(done["progress"]["failed"], 1, "{done}");

    let mails = by_recipient(&smtp.wait_for(5, Duration::from_secs(10)).await);
    assert_eq!(mails.len(), 5);
    assert!(!mails.contains_key("reject-me@example.com"));
    assert!(
        mails.contains_key("later-me@example.com"),
        "retried after the 451"
    );
    let nb = &mails["c1@example.com"][0];
    assert_eq!(nb.subject, "Oppdatering – Customer 1");
    assert!(nb.multipart_alternative, "{nb:?}");
    assert!(
        nb.text.contains("booking BK0001 on 02.12.2026 (cabin C1)"),
        "{}",
        nb.text
    );
    assert!(nb.text.contains(&format!("/i/{SLUG}/form?email=c1%40example.com&lang=nb&name=Customer+1&booking_ref=BK0001&departure_date=2026-12-02")), "{}", nb.text);
    assert!(
        nb.html
            .as_deref()
            .unwrap_or_default()
            .contains("<p>Hello Customer 1</p>")
    );
    assert!(
        nb.message_id.starts_with(&format!("campaign-{id}-"))
            && nb.message_id.ends_with("@example.com"),
        "{}",
        nb.message_id
    );
    assert!(
        nb.unsubscribe.starts_with("http") && nb.unsubscribe.contains("/u/"),
        "{}",
        nb.unsubscribe
    );
    assert_eq!(nb.unsubscribe_post, "List-Unsubscribe=One-Click");
    let en = &mails["c0@example.com"][0];
    assert!(en.text.contains("on 1 December 2026"), "{}", en.text);
    // Headers are 7-bit: the subject's non-ASCII is encoded (RFC 2047).
    for raw in smtp.messages() {
        let head = raw.split("\r\n\r\n").next().unwrap_or_default();
        assert!(head.is_ascii(), "{head}");
        let subject = head
            .lines()
            .find(|l| l.starts_with("Subject:"))
            .unwrap_or_default();
        assert!(subject.to_lowercase().contains("=?utf-8?"), "{subject}");
    }

    // The refused address is suppressed from the next campaign.
    let (_, counts) = api(
        &app,
        &token,
        &format!("/api/v1/incidents/{SLUG}/audience"),
        None,
    )
    .await;
    assert_eq!(counts["bounced"], 1, "{counts}");
    let next = send_campaign(&app, &token).await;
    let second = wait_until_finished(&app, &token, next).await;
    assert_eq!(second["progress"]["total"], 5, "{second}");
}

async fn one_click_unsubscribe_suppresses_the_next_campaign(engine: TestEngine) {
    let smtp = SmtpRecorder::start().await;
    let (app, token) = start(engine, &smtp, &[]).await;
    import(&app, &token, &audience(3, "u")).await;
    let first = send_campaign(&app, &token).await;
    wait_until_finished(&app, &token, first).await;
    let mails = by_recipient(&smtp.wait_for(3, Duration::from_secs(10)).await);
    let link = mails["u1@example.com"][0].unsubscribe.clone();
    let path = link
        .split_once("/u/")
        .map(|(_, t)| format!("/u/{t}"))
        .unwrap_or_default();

    // GET only shows a button: link scanners must not unsubscribe anyone.
    let page = browser()
        .get(app.at(&path))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap_or_default();
    assert!(
        html.contains("List-Unsubscribe") && html.contains("<button"),
        "{html}"
    );

    // RFC 8058: a bare POST with this body, no cookie, no CSRF token.
    let response = reqwest::Client::new()
        .post(app.at(&path))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 200);

    let second = send_campaign(&app, &token).await;
    let progress = wait_until_finished(&app, &token, second).await;
    assert_eq!(progress["progress"]["total"], 2, "{progress}");
    let mails = by_recipient(&smtp.wait_for(5, Duration::from_secs(10)).await);
    assert_eq!(
        mails["u1@example.com"].len(),
        1,
        "unsubscribed after the first"
    );
    assert_eq!(mails["u0@example.com"].len(), 2);
    let unknown = browser()
        .get(app.at(&format!("/u/{}", "ab".repeat(32))))
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(unknown.ok(), Some(404));
}

async fn subscribers_join_after_confirming(engine: TestEngine) {
    let smtp = SmtpRecorder::start().await;
    let (app, token) = start(engine, &smtp, &[]).await;
    let client = browser();
    let form = client
        .get(app.at(&format!("/i/{SLUG}/subscribe?lang=nb")))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(form.status(), 200);
    let bad = client
        .post(app.at(&format!("/i/{SLUG}/subscribe")))
        .form(&[("email", "not an address"), ("lang", "en")])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text()
            .await
            .unwrap_or_default()
            .contains("value=\"not an address\""),
        "the input is kept"
    );
    let ok = client
        .post(app.at(&format!("/i/{SLUG}/subscribe")))
        .form(&[("email", "fan@example.com"), ("lang", "en")])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(ok.status(), 200);

    // Not in the audience until confirmed.
    let early = send_campaign(&app, &token).await;
    assert_eq!(
        wait_until_finished(&app, &token, early).await["progress"]["total"],
        0
    );
    let confirmation = parse(&smtp.wait_for(1, Duration::from_secs(10)).await[0]);
    assert_eq!(confirmation.to, "fan@example.com");
    let link = confirmation
        .text
        .lines()
        .find(|l| l.contains("confirm="))
        .unwrap_or_default()
        .trim()
        .to_owned();
    let path = link
        .split_once("/i/")
        .map(|(_, rest)| format!("/i/{rest}"))
        .unwrap_or_default();
    let confirmed = client
        .get(app.at(&path))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(confirmed.status(), 200, "{path}");
    let later = send_campaign(&app, &token).await;
    assert_eq!(
        wait_until_finished(&app, &token, later).await["progress"]["sent"],
        1
    );
}

async fn pause_and_resume(engine: TestEngine) {
    let smtp = SmtpRecorder::start().await;
    let (app, token) = start(
        engine,
        &smtp,
        &[
            ("MUSTER__MAIL__RATE_PER_SECOND", "20"),
            ("MUSTER__MAIL__CONCURRENCY", "2"),
        ],
    )
    .await;
    import(&app, &token, &audience(60, "p")).await;
    let id = send_campaign(&app, &token).await;
    smtp.wait_for(5, Duration::from_secs(10)).await;
    let (status, paused) = api(
        &app,
        &token,
        &format!("/api/v1/campaigns/{id}/pause"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{paused}");
    assert_eq!(paused["campaign"]["status"], "paused");
    // What was already started may land; then nothing more.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let at_pause = smtp.messages().len();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        smtp.messages().len(),
        at_pause,
        "nothing is sent while paused"
    );
    assert!(at_pause < 60);
    let (_, progress) = api(&app, &token, &format!("/api/v1/campaigns/{id}"), None).await;
    assert_eq!(progress["progress"]["sent"], at_pause, "{progress}");
    assert!(progress["progress"]["pending"].as_u64().unwrap_or(0) > 0);

    let (status, _) = api(
        &app,
        &token,
        &format!("/api/v1/campaigns/{id}/resume"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200);
    let done = wait_until_finished(&app, &token, id).await;
    assert_eq!(done["progress"]["sent"], 60, "{done}");
    let mails = by_recipient(&smtp.wait_for(60, Duration::from_secs(10)).await);
    assert_eq!(mails.len(), 60);
    assert!(mails.values().all(|m| m.len() == 1), "never twice");
    let (status, _) = api(
        &app,
        &token,
        &format!("/api/v1/campaigns/{id}/resume"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 409, "a finished campaign cannot be resumed");
}

const SLOW: [(&str, &str); 3] = [
    ("MUSTER__MAIL__RATE_PER_SECOND", "40"),
    ("MUSTER__MAIL__CONCURRENCY", "4"),
    ("MUSTER__MAIL__LEASE_SECS", "2"),
];

async fn sigterm_mid_campaign_loses_none_and_sends_none_twice(engine: TestEngine) {
    let smtp = SmtpRecorder::start().await;
    let (mut app, token) = start(engine, &smtp, &SLOW).await;
    import(&app, &token, &audience(120, "t")).await;
    let id = send_campaign(&app, &token).await;
    smtp.wait_for(15, Duration::from_secs(10)).await;
    assert!(app.terminate().await, "clean exit on SIGTERM");
    let at_stop = smtp.messages().len();
    assert!(at_stop < 120, "stopped mid-campaign");
    let mut env = vec![("MUSTER__MAIL__URL", smtp.url())];
    env.extend(SLOW.iter().map(|(k, v)| (*k, v.to_string())));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.restart(&env).await;
    let done = wait_until_finished(&app, &token, id).await;
    assert_eq!(done["progress"]["sent"], 120, "{done}");
    let mails = by_recipient(&smtp.wait_for(120, Duration::from_secs(10)).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(mails.len(), 120, "none lost");
    assert_eq!(smtp.messages().len(), 120, "none twice");
}

async fn sigkill_mid_campaign_resends_only_what_was_in_flight(engine: TestEngine) {
    let smtp = SmtpRecorder::start().await;
    let (mut app, token) = start(engine, &smtp, &SLOW).await;
    import(&app, &token, &audience(120, "k")).await;
    let id = send_campaign(&app, &token).await;
    smtp.wait_for(15, Duration::from_secs(10)).await;
    app.kill().await;
    let at_kill = smtp.messages().len();
    assert!(at_kill < 120, "killed mid-campaign");
    let mut env = vec![("MUSTER__MAIL__URL", smtp.url())];
    env.extend(SLOW.iter().map(|(k, v)| (*k, v.to_string())));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.restart(&env).await;
    let done = wait_until_finished(&app, &token, id).await;
    assert_eq!(done["campaign"]["status"], "done", "{done}");
    let messages = smtp.wait_for(120, Duration::from_secs(10)).await;
    let mails = by_recipient(&messages);
    assert_eq!(mails.len(), 120, "every recipient gets the message");
    let duplicates: Vec<&Vec<Mail>> = mails.values().filter(|m| m.len() > 1).collect();
    // Only what was in flight at the kill (at most the concurrency, plus outcomes not yet
    // written) is sent again, and always with the same Message-ID.
    assert!(duplicates.len() <= 8, "{} duplicates", duplicates.len());
    for copies in duplicates {
        assert!(
            copies.iter().all(|m| m.message_id == copies[0].message_id),
            "same Message-ID"
        );
    }
}

fn multipart(csrf: &str, file: &str) -> (String, String) {
    let boundary = "muster-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n\
         --{boundary}--\r\n"
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn console_upload_preview_and_send(engine: TestEngine) {
    let smtp = SmtpRecorder::start().await;
    let (app, _token) = start(engine, &smtp, &[]).await;
    let page_path = format!("/console/incidents/{SLUG}/mail");

    app.add_user(AGENT_EMAIL, "agent");
    let agent = app.login(AGENT_EMAIL).await;
    let refused = agent
        .get(app.at(&page_path))
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(refused.ok(), Some(403), "managers only");

    let manager = app.login(MANAGER_EMAIL).await;
    let page = manager
        .get(app.at(&page_path))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(page.status(), 200);
    let csrf = csrf_of(&page.text().await.unwrap_or_default());
    let upload = |csrf: String| {
        let (content_type, body) = multipart(
            &csrf,
            "email,name,language\nkari@example.no,Kari,nb\nnope,X,en\nola@example.no,Ola,en\n",
        );
        manager
            .post(app.at(&format!("/console/incidents/{SLUG}/audience")))
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    let forged = upload("forged".into()).await.map(|r| r.status().as_u16());
    assert_eq!(forged.ok(), Some(403), "the upload needs the CSRF token");
    let report = upload(csrf.clone()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.status(), 200, "{}", app.logs());
    let html = report.text().await.unwrap_or_default();
    assert!(
        html.contains("3 rows: 2 added, 0 updated, 1 rejected"),
        "{html}"
    );
    assert!(
        html.contains("<td>3</td><td>&quot;nope&quot; is not an email address</td>"),
        "{html}"
    );

    let form = |action: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("subject", "Update for {{name}}".to_owned()),
            ("text", "Hello {{name}}: {{form_link}}".to_owned()),
            ("html", String::new()),
            ("action", action.to_owned()),
        ]
    };
    let preview = manager
        .post(app.at(&format!("/console/incidents/{SLUG}/campaigns")))
        .form(&form("preview"))
        .send()
        .await
        .expect("the request reaches the server");
    let html = preview.text().await.unwrap_or_default();
    assert!(
        html.contains("Preview for kari@example.no") && html.contains("Update for Kari"),
        "{html}"
    );
    assert!(smtp.messages().is_empty(), "a preview sends nothing");
    let sent = manager
        .post(app.at(&format!("/console/incidents/{SLUG}/campaigns")))
        .form(&form("send"))
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(sent.ok(), Some(303));
    let mails = by_recipient(&smtp.wait_for(2, Duration::from_secs(10)).await);
    assert_eq!(mails["ola@example.no"][0].subject, "Update for Ola");
    let page = manager
        .get(app.at(&page_path))
        .send()
        .await
        .expect("the request reaches the server");
    let html = page.text().await.unwrap_or_default();
    assert!(
        html.contains("Update for {{name}}"),
        "the campaign is listed: {html}"
    );
}

/// PostgreSQL only: a campaign started on one of three replicas is sent by all three, each
/// through an SMTP server of its own, and every recipient gets it exactly once.
#[tokio::test]
async fn three_replicas_share_one_campaign_and_send_none_twice() {
    const RECIPIENTS: usize = 150;
    // Slow enough per replica (20 a second) that one alone cannot take the whole campaign
    // before the others look.
    let pace = [
        ("MUSTER__MAIL__RATE_PER_SECOND", "20"),
        ("MUSTER__MAIL__CONCURRENCY", "2"),
    ];
    let smtp = [
        SmtpRecorder::start().await,
        SmtpRecorder::start().await,
        SmtpRecorder::start().await,
    ];
    let (app, token) = start(TestEngine::Postgres, &smtp[0], &pace).await;
    let mut replicas = Vec::new();
    for recorder in &smtp[1..] {
        let url = recorder.url();
        let mut env = vec![("MUSTER__MAIL__URL", url.as_str())];
        env.extend_from_slice(&pace);
        replicas.push(app.replica_with(&env).await);
    }
    import(&app, &token, &audience(RECIPIENTS, "r")).await;
    let id = send_campaign(&app, &token).await;
    let done = wait_until_finished(&app, &token, id).await;
    assert_eq!(done["campaign"]["status"], "done", "{done}");
    assert_eq!(done["progress"]["sent"], RECIPIENTS, "{done}");
    // Anything sent twice would arrive after the campaign is done.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received: Vec<Vec<String>> = smtp.iter().map(SmtpRecorder::messages).collect();
    let per_replica: Vec<usize> = received.iter().map(Vec::len).collect();
    assert!(
        per_replica.iter().all(|n| *n > 0),
        "every replica sent part of the campaign: {per_replica:?}"
    );
    let all: Vec<String> = received.into_iter().flatten().collect();
    let mails = by_recipient(&all);
    assert_eq!(mails.len(), RECIPIENTS, "every recipient got it");
    let twice: Vec<&String> = mails
        .iter()
        .filter(|(_, m)| m.len() > 1)
        .map(|(to, _)| to)
        .collect();
    assert!(twice.is_empty(), "sent more than once to {twice:?}");
    assert_eq!(all.len(), RECIPIENTS, "{per_replica:?}");
    eprintln!("messages sent per replica: {per_replica:?}");
}

async fn a_message_that_cannot_be_built_fails_with_its_reason_and_the_campaign_finishes(
    engine: TestEngine,
) {
    let smtp = SmtpRecorder::start().await;
    let (app, token) = start(engine, &smtp, &[]).await;
    let evil = "Eve\r\nBcc: evil@attacker.example";
    // The CSV door refuses a name that is not one line, saying which line and why.
    let report = import(
        &app,
        &token,
        &format!(
            "email,name\neve@example.com,\"{evil}\"\nkari@example.no,Kari\nnul@example.com,Nul\0\n"
        ),
    )
    .await;
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(report["rejected"][0]["line"], 2, "{report}");
    assert_eq!(
        report["rejected"][0]["reason"], "the name contains a line break: it must be one line",
        "{report}"
    );
    // A NUL, which PostgreSQL cannot store, is refused on its line too (never a 500).
    assert_eq!(report["rejected"][1]["line"], 5, "{report}");
    assert_eq!(
        report["rejected"][1]["reason"],
        "the name contains an invisible control character (U+0000): remove it and try again",
        "{report}"
    );
    // Such a row written before the rule existed still reaches the dispatcher.
    let store = app.db.store().await;
    let incident = store
        .incident_by_slug(SLUG)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no incident"));
    let row = muster_core::audience::AudienceRow {
        email: muster_core::contact_info::EmailAddress::parse("eve@example.com")
            .unwrap_or_else(|e| panic!("{e}")),
        name: evil.to_owned(),
        booking_ref: None,
        departure_date: None,
        trip: None,
        language: muster_core::language::Lang::english(),
        variables: Default::default(),
    };
    store
        .upsert_audience(incident.id, &[row])
        .await
        .expect("upsert audience succeeds");

    let id = send_campaign(&app, &token).await;
    let done = wait_until_finished(&app, &token, id).await;
    assert_eq!(done["campaign"]["status"], "done", "{done}");
    assert_eq!(done["progress"]["sent"], 1, "{done}");
    assert_eq!(done["progress"]["failed"], 1, "{done}");
    // The manager sees who failed and why in the campaign's answer.
    assert_eq!(done["failures"][0]["email"], "eve@example.com", "{done}");
    assert!(
        done["failures"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot go in a mail header")),
        "{done}"
    );
    let failures = store
        .campaign_failures(id, 10)
        .await
        .expect("campaign failures succeeds");
    assert_eq!(
        failures,
        vec![muster_store::campaigns::DeliveryFailure {
            email: "eve@example.com".to_owned(),
            error: "the recipient's name cannot go in a mail header: it contains a line break \
                    or another control character"
                .to_owned(),
        }]
    );
    let messages = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(parse(&messages[0]).to, "kari@example.no");
    assert!(!messages[0].contains("attacker"), "no header was injected");
    assert!(!app.logs().contains("panicked"), "{}", app.logs());
}

async fn forty_sign_ups_of_one_address_send_one_confirmation(engine: TestEngine) {
    let smtp = SmtpRecorder::start().await;
    let (app, _) = start(engine, &smtp, &[("MUSTER__INTAKE__MAX_PER_ADDRESS", "45")]).await;
    let url = app.at(&format!("/i/{SLUG}/subscribe"));
    let sign_up = |email: &'static str| {
        let url = url.clone();
        async move {
            browser()
                .post(url)
                .form(&[("email", email), ("lang", "en")])
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    // All at once, as a script would: one pending confirmation per address.
    let statuses =
        futures_util::future::join_all((0..40).map(|_| sign_up("fan@example.com"))).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    smtp.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(smtp.messages().len(), 1, "one confirmation email");

    // The client's own limit: 45 sign-ups per window, whatever the addresses.
    for _ in 0..5 {
        assert_eq!(sign_up("other@example.com").await, 200);
    }
    let limited = browser()
        .post(url.clone())
        .form(&[("email", "third@example.com"), ("lang", "en")])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().get("retry-after").is_some());
    assert!(
        limited
            .text()
            .await
            .unwrap_or_default()
            .contains("value=\"third@example.com\""),
        "the address typed is kept"
    );
    assert_eq!(smtp.messages().len(), 2, "one more for the other address");
}
