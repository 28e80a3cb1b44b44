//! Bounces and complaints through the real binary: a campaign goes out through a private
//! Postfix instance (Debian's, run here on its own ports and folders), which bounces the
//! message for an unknown local user with a real DSN (RFC 3464) to the delivery's VERP
//! return path. Taken in as email, the DSN marks that delivery bounced with its status,
//! and the next campaign skips the address; an ARF complaint (RFC 5965) unsubscribes its
//! address. Neither becomes a case.

use std::time::Duration;

use muster_store::on_both_engines;
use muster_store::testing::TestEngine;
use serde_json::{Value, json};

use crate::support::postfix::Postfix;
use crate::support::{MANAGER_EMAIL, SmtpRecorder, TestApp, browser};

on_both_engines!(a_postfix_bounce_suppresses_the_address_and_a_complaint_unsubscribes);

pub const SLUG: &str = "ferry-fire";
pub const BOUNCE_DOMAIN: &str = "bounces.muster.test";

async fn inbound_email(app: &TestApp, raw: &[u8]) -> Value {
    let response = app
        .inbound(&format!("/api/v1/inbound/email?incident={SLUG}"), raw)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 200);
    response.json().await.expect("the answer is JSON")
}

pub async fn api(app: &TestApp, token: &str, path: &str, body: Option<Value>) -> Value {
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
    response.json().await.unwrap_or(Value::Null)
}

pub async fn campaign(app: &TestApp, token: &str) -> Value {
    let created = api(
        app,
        token,
        &format!("/api/v1/incidents/{SLUG}/campaigns"),
        Some(json!({"subject": "Update for {{name}}", "text": "Hello {{name}}.\nStop: {{unsubscribe_link}}\n"})),
    )
    .await;
    let id = created["campaign"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{created}"));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let body = api(app, token, &format!("/api/v1/campaigns/{id}"), None).await;
        if body["campaign"]["status"] == "done" || std::time::Instant::now() > deadline {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn parsed(raw: &str) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a message")
}

async fn a_postfix_bounce_suppresses_the_address_and_a_complaint_unsubscribes(engine: TestEngine) {
    let relay = SmtpRecorder::start().await;
    let postfix = Postfix::start(relay.port);
    postfix.ready().await;
    let mail_url = format!("smtp://127.0.0.1:{}", postfix.port);
    let app = TestApp::spawn_with(
        engine,
        &[
            ("MUSTER__MAIL__URL", mail_url.as_str()),
            ("MUSTER__MAIL__BOUNCE_DOMAIN", BOUNCE_DOMAIN),
        ],
    )
    .await;
    let token = app.token(MANAGER_EMAIL, "manager");
    let (ok, _, err) = app.muster(
        &[
            "incident",
            "open",
            "--slug",
            SLUG,
            "--title",
            "Fire on MS Aurora",
        ],
        &[],
    );
    assert!(ok, "incident open: {err}");
    let csv = "email,name\nnosuchuser@customers.test,Nobody\nkari@example.com,Kari\nola@example.com,Ola\nper@refused.test,Per\n";
    let imported = browser()
        .post(app.at(&format!("/api/v1/incidents/{SLUG}/audience")))
        .bearer_auth(&token)
        .header("Content-Type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(imported.status(), 200);

    let first = campaign(&app, &token).await;
    assert_eq!(
        (&first["progress"]["sent"], &first["progress"]["failed"]),
        (&json!(3), &json!(1)),
        "Postfix took three and refused one: {first}"
    );
    let first_id = first["campaign"]["id"].as_i64().unwrap_or_default();
    // Two campaign messages relayed on, and Postfix's DSN for the unknown user.
    let messages = relay.wait_for(3, Duration::from_secs(30)).await;
    assert_eq!(messages.len(), 3, "{}", postfix.log());
    let dsn = messages
        .iter()
        .find(|m| m.contains("report-type=delivery-status"))
        .unwrap_or_else(|| panic!("no DSN among {messages:?}"));
    let to = parsed(dsn)
        .to()
        .and_then(|t| t.first())
        .and_then(|a| a.address().map(str::to_owned))
        .unwrap_or_default();
    assert!(
        to.starts_with("bounce+c") && to.ends_with(&format!("@{BOUNCE_DOMAIN}")),
        "the DSN went to the delivery's return path: {to}"
    );

    let taken = inbound_email(&app, dsn.as_bytes()).await;
    assert_eq!(
        (
            &taken["outcome"],
            &taken["kind"],
            &taken["ours"],
            &taken["suppressed"]
        ),
        (&json!("report"), &json!("bounce"), &json!(true), &json!(1)),
        "{taken}"
    );
    assert!(taken.get("reference").is_none(), "no case: {taken}");
    let again = inbound_email(&app, dsn.as_bytes()).await;
    assert_eq!(
        again["recorded"], 0,
        "the same DSN twice counts once: {again}"
    );
    let after = api(&app, &token, &format!("/api/v1/campaigns/{first_id}"), None).await;
    assert_eq!(
        (&after["progress"]["bounced"], &after["progress"]["sent"]),
        (&json!(1), &json!(2)),
        "{after}"
    );

    // A complaint about Kari's copy: ARF as a mailbox provider sends it (RFC 5965 B.1),
    // naming our message by the Message-ID of the copy it returns.
    let kari = messages
        .iter()
        .find(|m| {
            parsed(m)
                .to()
                .and_then(|t| t.first())
                .and_then(|a| a.address())
                == Some("kari@example.com")
        })
        .unwrap_or_else(|| panic!("Kari's copy among {messages:?}"));
    let message_id = parsed(kari).message_id().unwrap_or_default().to_owned();
    let complaint = format!(
        "From: <abuse@mailbox.example>\r\nTo: <crisis@example.com>\r\nSubject: FW: Update\r\n\
         Message-ID: <arf-1@mailbox.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=feedback-report; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nAn abuse report.\r\n\
         --b1\r\nContent-Type: message/feedback-report\r\n\r\n\
         Feedback-Type: abuse\r\nUser-Agent: MailboxFBL/1.0\r\nVersion: 1\r\n\
         Original-Rcpt-To: <kari@example.com>\r\n\r\n\
         --b1\r\nContent-Type: text/rfc822-headers\r\n\r\n\
         From: crisis@example.com\r\nTo: kari@example.com\r\nMessage-ID: <{message_id}>\r\n\r\n\
         --b1--\r\n"
    );
    let taken = inbound_email(&app, complaint.as_bytes()).await;
    assert_eq!(
        (&taken["kind"], &taken["ours"], &taken["suppressed"]),
        (&json!("complaint"), &json!(true), &json!(1)),
        "{taken}"
    );

    // The next campaign skips both: only Ola is written a delivery.
    let second = campaign(&app, &token).await;
    assert_eq!(
        (&second["progress"]["total"], &second["progress"]["sent"]),
        (&json!(1), &json!(1)),
        "{second}"
    );
    let messages = relay.wait_for(4, Duration::from_secs(20)).await;
    let last = parsed(&messages[3]);
    assert_eq!(
        last.to().and_then(|t| t.first()).and_then(|a| a.address()),
        Some("ola@example.com")
    );

    // The mail page lists the campaign's bounce and complaint with their reasons.
    let manager = app.login(MANAGER_EMAIL).await;
    let page = manager
        .get(app.at(&format!("/console/incidents/{SLUG}/mail")))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    for expected in [
        "nosuchuser@customers.test",
        "5.1.1",
        "unknown user",
        "kari@example.com",
        "abuse",
        "deliveries that failed",
        "per@refused.test",
        "no such mailbox",
    ] {
        assert!(
            page.contains(expected),
            "{expected} on the mail page:\n{page}"
        );
    }
}
