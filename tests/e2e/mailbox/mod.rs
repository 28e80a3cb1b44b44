//! The IMAP mailbox door against a real Dovecot, on both engines: every message becomes a
//! case or joins one exactly once with two replicas on the mailbox, a replica killed
//! mid-fetch loses and repeats nothing, and a message that cannot be read is quarantined
//! while the ones behind it are taken in.

mod dovecot;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use muster_store::Store;
use muster_store::on_both_engines;
use muster_store::testing::TestEngine;
use serde_json::json;

use crate::support::{AGENT_EMAIL, MANAGER_EMAIL, TestApp, csrf_of, signal};
use dovecot::Dovecot;

on_both_engines!(
    two_replicas_take_every_message_in_once,
    a_malformed_message_is_quarantined_and_those_behind_it_are_taken_in
);

const SLUG: &str = "ferry-fire";

/// Messages in the two-replica test: `MUSTER_TEST_MAILBOX_MESSAGES` (10000 for the issue's
/// full run), else enough for a replica to be killed mid-fetch while the suite stays quick.
fn message_count() -> usize {
    std::env::var("MUSTER_TEST_MAILBOX_MESSAGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(600)
}

/// Message `n`. Every fifth is the previous customer writing again about the same booking:
/// a contact joined to their case, not a case of its own.
fn message(n: usize) -> Vec<u8> {
    let sender = if n % 5 == 4 { n - 1 } else { n };
    format!(
        "From: Customer {sender} <customer{sender}@example.org>\r\n\
         To: support@example.com\r\n\
         Subject: Refund for booking BK{sender:05}\r\n\
         Message-ID: <m{n}@example.org>\r\n\
         Date: Thu, 3 Dec 2026 10:00:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         Please refund booking BK{sender:05}. Message {n}.\r\n"
    )
    .into_bytes()
}

/// Cases that `count` messages make: one per distinct sender.
fn cases_of(count: usize) -> usize {
    (0..count).filter(|n| n % 5 != 4).count()
}

/// Opens the incident the mailboxes deliver to.
async fn ready(app: &TestApp) {
    app.add_user_in(MANAGER_EMAIL, "manager", "refunds,rebooking,general");
    let token = app.token_for(MANAGER_EMAIL);
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"slug": SLUG, "title": "Ferry fire", "time_zone": "UTC"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201);
}

/// A configuration file with the test mailbox (over TLS, trusting the test CA) and any
/// `extra` TOML after it.
fn mailbox_config(dir: &Path, dovecot: &Dovecot, after_intake: &str, extra: &str) -> PathBuf {
    let path = dir.join("mailboxes.toml");
    let text = format!(
        r#"[inbound]
mailbox_lease_secs = 3

[[inbound.mailboxes]]
name = "support"
url = "imaps://support%40example.com@localhost:{port}/INBOX"
password_env = "MUSTER_TEST_IMAP_PASSWORD"
ca_file = "{ca}"
incident = "{SLUG}"
after_intake = "{after_intake}"
{extra}"#,
        port = dovecot.tls_port,
        ca = dovecot.ca_file.display(),
    );
    std::fs::write(&path, text).expect("the configuration is written");
    path
}

/// The external ids of every email contact, a duplicate counted twice.
async fn email_contacts(store: &Store) -> Vec<String> {
    store
        .inbound_email_ids()
        .await
        .expect("the contacts are read")
}

/// Waits until at least `count` email contacts exist; returns them.
async fn wait_for_contacts(
    store: &Store,
    count: usize,
    within: Duration,
    app: &TestApp,
) -> Vec<String> {
    let deadline = Instant::now() + within;
    loop {
        let ids = email_contacts(store).await;
        if ids.len() >= count {
            return ids;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {count} messages taken in after {within:?}:\n{}",
            ids.len(),
            app.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn two_replicas_take_every_message_in_once(engine: TestEngine) {
    let dovecot = Dovecot::start().await;
    let count = message_count();
    let messages: Vec<Vec<u8>> = (0..count).map(message).collect();
    dovecot.append("INBOX", &messages).await;
    let config = mailbox_config(&dovecot.dir, &dovecot, "flag", "");
    let config = config.display().to_string();
    let env = [
        ("MUSTER_CONFIG", config.as_str()),
        ("MUSTER_TEST_IMAP_PASSWORD", dovecot::PASSWORD),
    ];
    // The first replica takes the mailbox's lease at once; the second waits for it. Neither
    // takes anything in before the incident is open.
    let mut app = TestApp::spawn_with(engine, &env).await;
    let (mut second, _) = app.replica_with(&env).await;
    ready(&app).await;
    let store = app.db.store().await;
    let within = Duration::from_secs(60 + u64::try_from(count / 20).unwrap_or(600));
    wait_for_contacts(&store, 1, within, &app).await;
    let started = Instant::now();
    let at_kill = wait_for_contacts(&store, count / 4, within, &app)
        .await
        .len();
    let mut first = app.take_child();
    signal(&first, "KILL");
    let _ = first.wait().await;
    assert!(
        at_kill < count,
        "the first replica was killed mid-fetch ({at_kill} of {count} taken in)"
    );
    let ids = wait_for_contacts(&store, count, within, &app).await;
    let elapsed = started.elapsed();
    eprintln!(
        "{count} messages taken in from Dovecot in {:.1} s ({:.0} messages/s), a replica killed after {at_kill}",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    );
    // Nothing more comes: the survivor goes on from the cursor, and what the killed one
    // had taken in but not recorded is a replay.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ids_after = email_contacts(&store).await;
    assert_eq!(ids_after.len(), count, "no message is taken in twice");
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), count, "every message once");
    assert_eq!(
        store.open_case_count().await.ok(),
        Some(u64::try_from(cases_of(count)).unwrap_or(0)),
        "a customer writing again joins their case"
    );
    // The survivor also marks read what the killed replica had taken in but not marked.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (seen, unseen) = dovecot.seen_and_unseen("INBOX").await;
        if seen == count && unseen == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{seen} seen, {unseen} unseen");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    signal(&second, "TERM");
    let stopped = tokio::time::timeout(Duration::from_secs(20), second.wait()).await;
    assert!(
        matches!(stopped, Ok(Ok(status)) if status.success()),
        "the survivor stops cleanly"
    );
}

async fn a_malformed_message_is_quarantined_and_those_behind_it_are_taken_in(engine: TestEngine) {
    let dovecot = Dovecot::start().await;
    let mut messages = vec![b"This is not an email.\r\nNo headers, no sender.\r\n".to_vec()];
    messages.extend((1000..1100).map(message));
    dovecot.append("INBOX", &messages).await;
    // A second mailbox whose password is wrong: it fails on its own, visibly.
    let wrong = format!(
        r#"
[[inbound.mailboxes]]
name = "wrong-password"
url = "imap://support%40example.com@127.0.0.1:{}/INBOX"
allow_plaintext = true
password_env = "MUSTER_TEST_WRONG_PASSWORD"
incident = "{SLUG}"
"#,
        dovecot.port
    );
    let config = mailbox_config(&dovecot.dir, &dovecot, "move:Taken", &wrong);
    let config = config.display().to_string();
    let app = TestApp::spawn_with(
        engine,
        &[
            ("MUSTER_CONFIG", config.as_str()),
            ("MUSTER_TEST_IMAP_PASSWORD", dovecot::PASSWORD),
            ("MUSTER_TEST_WRONG_PASSWORD", "not the password"),
        ],
    )
    .await;
    ready(&app).await;
    app.add_user(AGENT_EMAIL, "agent");
    let store = app.db.store().await;
    let ids = wait_for_contacts(&store, 100, Duration::from_secs(60), &app).await;
    assert_eq!(
        ids.len(),
        100,
        "the hundred behind the bad one are taken in"
    );
    // Taken in and quarantined alike leave the inbox: both are kept in the database.
    let deadline = Instant::now() + Duration::from_secs(20);
    while dovecot.count("INBOX").await != 0 {
        assert!(Instant::now() < deadline, "the inbox is emptied");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(dovecot.count("Taken").await, 101, "moved to the folder");

    let manager = app.login(MANAGER_EMAIL).await;
    let page = manager
        .get(app.at("/console/mailboxes"))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        page.contains("the body is not an RFC 5322 message"),
        "{page}"
    );
    assert!(page.contains("Quarantine (1)"), "{page}");
    assert!(
        page.contains("UID 102 (UIDVALIDITY"),
        "the cursor is past all: {page}"
    );
    // The one with the wrong password says why, and the other goes on regardless.
    assert!(page.contains("wrong-password"), "{page}");
    assert!(page.contains("failing; retrying"), "{page}");
    assert!(
        page.to_lowercase().contains("authenticat"),
        "the sign-in failure is shown: {page}"
    );
    let id: i64 = page
        .split("id=\"quarantined-")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|id| id.parse().ok())
        .expect("the quarantined message is listed");
    let retry = app.at(&format!("/console/mailboxes/quarantine/{id}/retry"));
    let forged = manager
        .post(&retry)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(forged.status(), 403, "a retry needs the form's CSRF token");
    let retried = manager
        .post(&retry)
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(retried.status(), 303);
    let location = retried
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let page = manager
        .get(app.at(&location))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        page.contains("Still cannot be taken in: the body is not an RFC 5322 message"),
        "the refusal sits beside the message: {page}"
    );
    assert!(
        page.contains("<td>2 <small>"),
        "a second try is counted: {page}"
    );
    let agent = app.login(AGENT_EMAIL).await;
    let refused = agent
        .get(app.at("/console/mailboxes"))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(refused.status(), 403, "mailboxes are for managers");
}
