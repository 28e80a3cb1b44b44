//! Email threads as the customer's mail client sees them: the acknowledgement and the
//! agent's reply answer the customer's message (In-Reply-To, References) under one subject
//! with the case's reference, checked with Python's own `email` parser; and the customer's
//! answers find their case from any of their addresses, by our Message-ID, by the
//! `+REFERENCE` address or by the reference in the subject.

use std::path::PathBuf;
use std::time::Duration;

use muster_store::on_both_engines;
use muster_store::testing::TestEngine;
use serde_json::{Value, json};

use crate::support::{MANAGER_EMAIL, SmtpRecorder, TestApp, csrf_of};

on_both_engines!(a_case_is_one_thread_from_any_of_the_customers_addresses);

const SLUG: &str = "ferry-fire";

async fn email(app: &TestApp, raw: String) -> Value {
    let response = app
        .inbound(&format!("/api/v1/inbound/email?incident={SLUG}"), raw)
        .send()
        .await
        .expect("the request reaches the server");
    assert!(response.status().is_success(), "{:?}", response.status());
    response.json().await.expect("the answer is JSON")
}

/// The received message files, oldest first.
fn received(smtp: &SmtpRecorder) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(smtp.dir.join("received"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|x| x == "eml"));
    paths.sort();
    paths
}

fn header(raw: &str, name: &str) -> String {
    let message = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a message");
    match name {
        "Message-ID" => message.message_id().unwrap_or_default().to_owned(),
        _ => message
            .header_raw(name)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

/// Python's `email` parser says whether `files` (each with the Message-ID it answers)
/// form one thread under `subject`.
fn python_thread_check(subject: &str, files: &[(&PathBuf, &str)]) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/mail/thread_check.py"
    );
    let mut command = std::process::Command::new("python3");
    command.arg(script).arg(subject);
    for (path, answers) in files {
        command.arg(format!("{}={answers}", path.display()));
    }
    let output = command.output().expect("python3 runs");
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && said.contains("thread ok"),
        "{said}"
    );
}

async fn reply(app: &TestApp, agent: &reqwest::Client, reference: &str, body: &str) {
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
            ("body", body),
            ("then", "waiting_on_customer"),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(sent.status(), 303);
}

async fn a_case_is_one_thread_from_any_of_the_customers_addresses(engine: TestEngine) {
    let smtp = SmtpRecorder::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(engine, &[("MUSTER__MAIL__URL", url.as_str())]).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    let created = reqwest::Client::new()
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(
            &json!({"slug": SLUG, "title": "Fire on board", "languages": "en", "time_zone": "UTC"}),
        )
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(created.status(), 201);

    let first = email(
        &app,
        "From: Kari <kari@example.no>\r\nTo: help@example.com\r\nSubject: About my trip\r\n\
         Message-ID: <m1@example.no>\r\n\r\nWill the ferry sail on Friday?\r\n"
            .to_owned(),
    )
    .await;
    assert_eq!(first["outcome"], "created", "{first}");
    let reference = first["reference"].as_str().unwrap_or_default().to_owned();
    let subject = format!("Re: About my trip [{reference}]");
    // The acknowledgement first: queued together, the two could be sent side by side and
    // arrive in either order.
    assert_eq!(smtp.wait_for(1, Duration::from_secs(15)).await.len(), 1);

    let agent = app.login(MANAGER_EMAIL).await;
    reply(
        &app,
        &agent,
        &reference,
        "The ferry is cancelled; we rebook you.",
    )
    .await;
    let messages = smtp.wait_for(2, Duration::from_secs(15)).await;
    assert_eq!(messages.len(), 2, "the acknowledgement and the reply");
    let files = received(&smtp);
    python_thread_check(
        &subject,
        &[(&files[0], "m1@example.no"), (&files[1], "m1@example.no")],
    );
    let ack_id = header(&messages[0], "Message-ID");
    let reply_id = header(&messages[1], "Message-ID");
    assert!(ack_id.contains(&reference) && reply_id.contains(&reference));
    assert!(
        header(&messages[1], "Reply-To").contains(&format!("+{reference}@")),
        "the reply's address names the case"
    );

    // The customer answers from another of their addresses: our Message-ID threads it.
    let answer = email(
        &app,
        format!(
            "From: Kari <kari.private@example.org>\r\nTo: help@example.com\r\n\
             Subject: Re: {subject}\r\nMessage-ID: <m2@example.org>\r\n\
             In-Reply-To: <{reply_id}>\r\nReferences: <m1@example.no> <{reply_id}>\r\n\r\n\
             Thank you. Which sailing?\r\n"
        ),
    )
    .await;
    assert_eq!(
        (answer["outcome"].as_str(), answer["reference"].as_str()),
        (Some("joined"), Some(reference.as_str())),
        "{answer}"
    );
    // Later, from that address again, a new message without any of our headers: the
    // address is now known as the customer's.
    let later = email(
        &app,
        "From: kari.private@example.org\r\nTo: help@example.com\r\nSubject: One more thing\r\n\
         Message-ID: <m3@example.org>\r\n\r\nMy son travels with me.\r\n"
            .to_owned(),
    )
    .await;
    assert_eq!(later["reference"], reference.as_str(), "{later}");
    // A new message (not an answer) is acknowledged in its own thread, as it started one.
    let messages = smtp.wait_for(3, Duration::from_secs(15)).await;
    assert_eq!(messages.len(), 3, "the joined message is acknowledged");
    let files = received(&smtp);
    python_thread_check(
        &format!("Re: One more thing [{reference}]"),
        &[(&files[2], "m3@example.org")],
    );
    // From a third address: by the +REFERENCE address (lowercased by a mail server) ...
    let plus = email(
        &app,
        format!(
            "From: kari@work.example\r\nTo: help+{}@example.com\r\nSubject: Cabin\r\n\
             Message-ID: <m4@work.example>\r\n\r\nCabin 12, please.\r\n",
            reference.to_lowercase()
        ),
    )
    .await;
    assert_eq!(plus["reference"], reference.as_str(), "{plus}");
    // ... and from a fourth by the reference in the subject alone.
    let by_subject = email(
        &app,
        format!(
            "From: kari@phone.example\r\nTo: help@example.com\r\nSubject: Fwd: {subject}\r\n\
             Message-ID: <m5@phone.example>\r\n\r\nSent from my phone.\r\n"
        ),
    )
    .await;
    assert_eq!(by_subject["reference"], reference.as_str(), "{by_subject}");

    // The next reply still has the case's one subject and answers the latest message.
    reply(
        &app,
        &agent,
        &reference,
        "Sailing 14:00, cabin 12 is yours.",
    )
    .await;
    let messages = smtp.wait_for(4, Duration::from_secs(15)).await;
    assert_eq!(
        messages.len(),
        4,
        "answers in the thread are not acknowledged again"
    );
    let files = received(&smtp);
    python_thread_check(&subject, &[(&files[3], "m5@phone.example")]);
    let references = header(&messages[3], "References");
    assert!(
        references.contains("<m1@example.no>") && references.contains("<m2@example.org>"),
        "{references}"
    );
}
