//! Answering in the customer's channel, end to end against the providers' stand-in
//! (`tests/providers/standin.py`, which checks credentials, signs its callbacks and
//! records every send): an SMS, a WhatsApp and a Telegram message each become a case or
//! join the customer's; the agent's reply from the console reaches the stand-in exactly
//! once, also when Muster is killed mid-send; delivery reports show on the timeline; a
//! forged or replayed provider request stores nothing; WhatsApp after 24 hours takes only
//! the approved template.

mod standin;

use std::time::{Duration, Instant};

use muster_store::on_both_engines;
use muster_store::testing::TestEngine;
use serde_json::{Value, json};

use crate::support::{MANAGER_EMAIL, TestApp, csrf_of, text_of};
use standin::{
    GRAPH_PHONE_ID, GRAPH_SECRET, GRAPH_TOKEN, Standin, TELEGRAM_SECRET, TELEGRAM_TOKEN,
    TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN, VERIFY_TOKEN, free_port,
};

on_both_engines!(
    an_sms_becomes_a_case_and_each_reply_is_sent_once,
    a_reply_interrupted_by_a_crash_is_never_sent_twice,
    a_telegram_message_is_answered_with_send_message,
    whatsapp_is_answered_within_its_window_and_by_template_after_it
);

const SLUG: &str = "ferry-fire";
const CUSTOMER: &str = "+4791234567";

/// Muster on a port known beforehand (the providers sign the public address they call),
/// with every connector pointed at the stand-in.
fn channel_env(port: u16, standin: &Standin) -> Vec<(String, String)> {
    let base = format!("http://127.0.0.1:{port}");
    [
        ("MUSTER__SERVER__BIND", format!("127.0.0.1:{port}")),
        ("MUSTER__PUBLIC__BASE_URL", base),
        ("MUSTER__CHANNELS__TWILIO__ACCOUNT_SID", TWILIO_SID.into()),
        ("MUSTER__CHANNELS__TWILIO__AUTH_TOKEN", TWILIO_TOKEN.into()),
        ("MUSTER__CHANNELS__TWILIO__FROM", TWILIO_FROM.into()),
        ("MUSTER__CHANNELS__TWILIO__API_BASE", standin.url.clone()),
        (
            "MUSTER__CHANNELS__WHATSAPP__PHONE_NUMBER_ID",
            GRAPH_PHONE_ID.into(),
        ),
        (
            "MUSTER__CHANNELS__WHATSAPP__ACCESS_TOKEN",
            GRAPH_TOKEN.into(),
        ),
        (
            "MUSTER__CHANNELS__WHATSAPP__APP_SECRET",
            GRAPH_SECRET.into(),
        ),
        (
            "MUSTER__CHANNELS__WHATSAPP__VERIFY_TOKEN",
            VERIFY_TOKEN.into(),
        ),
        ("MUSTER__CHANNELS__WHATSAPP__API_BASE", standin.url.clone()),
        ("MUSTER__CHANNELS__WHATSAPP__TEMPLATE", "case_update".into()),
        (
            "MUSTER__CHANNELS__TELEGRAM__BOT_TOKEN",
            TELEGRAM_TOKEN.into(),
        ),
        (
            "MUSTER__CHANNELS__TELEGRAM__SECRET_TOKEN",
            TELEGRAM_SECRET.into(),
        ),
        ("MUSTER__CHANNELS__TELEGRAM__API_BASE", standin.url.clone()),
        ("MUSTER__CHANNELS__LEASE_SECS", "5".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn borrowed(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn open_incident(app: &TestApp) {
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
}

/// The case reference a message names (`MX-XXXXXX`).
fn reference_in(text: &str) -> String {
    let at = text.find("MX-").expect("a reference in the text");
    text[at..at + 9].to_owned()
}

async fn case_page(app: &TestApp, agent: &reqwest::Client, reference: &str) -> String {
    text_of(agent, &app.at(&format!("/console/cases/{reference}"))).await
}

/// Posts the reply form with `fields` besides the CSRF token; returns the status and page.
async fn reply(
    app: &TestApp,
    agent: &reqwest::Client,
    reference: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let page = case_page(app, agent, reference).await;
    let csrf = csrf_of(&page);
    let mut form = vec![("csrf", csrf.as_str()), ("then", "waiting_on_customer")];
    form.extend_from_slice(fields);
    let response = agent
        .post(app.at(&format!("/console/cases/{reference}/reply")))
        .form(&form)
        .send()
        .await
        .expect("the request reaches the server");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// Waits until the case page shows `marker`; returns the page.
async fn wait_for_page(
    app: &TestApp,
    agent: &reqwest::Client,
    reference: &str,
    marker: &str,
) -> String {
    let started = Instant::now();
    loop {
        let page = case_page(app, agent, reference).await;
        if page.contains(marker) || started.elapsed() > Duration::from_secs(20) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Replays exactly what the stand-in sent to Muster (body and headers) to `url`.
async fn replay(url: &str, delivered: &Value) -> u16 {
    let mut request = reqwest::Client::new().post(url);
    if let Some(headers) = delivered["headers"].as_object() {
        for (name, value) in headers {
            request = request.header(name, value.as_str().unwrap_or_default());
        }
    }
    request
        .body(delivered["sent"].as_str().unwrap_or_default().to_owned())
        .send()
        .await
        .expect("the request reaches the server")
        .status()
        .as_u16()
}

fn authenticated(sends: &[Value]) -> bool {
    sends.iter().all(|s| s["authenticated"] == true)
}

async fn an_sms_becomes_a_case_and_each_reply_is_sent_once(engine: TestEngine) {
    let dir = crate::support::scratch_dir();
    let standin = Standin::start(&dir, &[]).await;
    let port = free_port();
    let env = channel_env(port, &standin);
    let app = TestApp::spawn_with(engine, &borrowed(&env)).await;
    open_incident(&app).await;
    let inbound = app.at(&format!("/api/v1/channels/twilio/sms?incident={SLUG}"));

    // A forged signature (signed with another token) is refused and stores nothing.
    let forged = standin
        .inbound(
            "twilio",
            &inbound,
            json!({"from": CUSTOMER, "body": "Forged", "sign_with": "not-the-token"}),
        )
        .await;
    assert_eq!(forged["status"], 401, "{forged}");

    let first = standin
        .inbound(
            "twilio",
            &inbound,
            json!({"from": CUSTOMER, "body": "Booking AB12345: is the 18:00 ferry going?", "sid": "SM00000000000000000000000000000001"}),
        )
        .await;
    assert_eq!(first["status"], 200, "{first}");
    assert!(
        first["body"]
            .as_str()
            .is_some_and(|b| b.contains("<Response></Response>")),
        "empty TwiML: {first}"
    );
    // The acknowledgement goes back by SMS, with the reference.
    let acks = standin.wait_for("twilio", "Your reference is", 1).await;
    assert_eq!(acks.len(), 1, "one acknowledgement: {acks:?}");
    assert_eq!(acks[0]["to"], CUSTOMER);
    assert!(authenticated(&acks));
    let reference = reference_in(acks[0]["body"].as_str().unwrap_or_default());

    // The same request again (a replay, or Twilio retrying) is one contact.
    assert_eq!(replay(&inbound, &first).await, 200);
    // The same customer writing again joins the case, unacknowledged.
    let again = standin
        .inbound(
            "twilio",
            &inbound,
            json!({"from": CUSTOMER, "body": "Hello? Any news?"}),
        )
        .await;
    assert_eq!(again["status"], 200, "{again}");

    let agent = app.login(MANAGER_EMAIL).await;
    let page = case_page(&app, &agent, &reference).await;
    assert_eq!(
        page.matches("<strong>inbound</strong>").count(),
        2,
        "two contacts, no replay:\n{page}"
    );
    assert!(!page.contains("Forged"), "the forged message is nowhere");
    assert!(
        page.contains(r#"<option value="sms" selected>SMS to +4791234567</option>"#),
        "{page}"
    );
    assert!(!page.contains("no email address"));

    let (status, _) = reply(
        &app,
        &agent,
        &reference,
        &[
            ("send_by", "sms"),
            ("body", "We rebook you on the 20:00 sailing."),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let sent = standin.wait_for("twilio", "20:00 sailing", 1).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(authenticated(&sent));
    assert_eq!(
        (sent[0]["to"].as_str(), sent[0]["from"].as_str()),
        (Some(CUSTOMER), Some(TWILIO_FROM))
    );
    assert_eq!(
        sent[0]["status_callback"],
        format!("http://127.0.0.1:{port}/api/v1/channels/twilio/status")
    );
    // Twilio's signed status callbacks move the reply to delivered.
    let page = wait_for_page(&app, &agent, &reference, r#"data-delivery="delivered""#).await;
    assert!(page.contains(r#"data-delivery="delivered""#), "{page}");

    // A text longer than one SMS is refused until the agent confirms the parts.
    let long = "The 18:00 sailing is cancelled because of the fire on board. ".repeat(4);
    let (status, page) = reply(
        &app,
        &agent,
        &reference,
        &[("send_by", "sms"), ("body", long.as_str())],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("This text is sent as 2 SMS"), "{page}");
    assert!(page.contains(r#"name="long_sms_ok""#));
    assert!(standin.sends_of("twilio", "cancelled because").is_empty());
    let (status, _) = reply(
        &app,
        &agent,
        &reference,
        &[
            ("send_by", "sms"),
            ("body", long.as_str()),
            ("long_sms_ok", "1"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        standin
            .wait_for("twilio", "cancelled because", 1)
            .await
            .len(),
        1
    );

    // A forged status callback changes nothing.
    let callback = reqwest::Client::new()
        .post(app.at("/api/v1/channels/twilio/status"))
        .header("X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJl")
        .form(&[
            ("MessageSid", sent[0]["id"].as_str().unwrap_or_default()),
            ("MessageStatus", "failed"),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(callback.status(), 401);
    let page = case_page(&app, &agent, &reference).await;
    assert!(!page.contains(r#"data-delivery="failed""#), "{page}");
}

async fn a_reply_interrupted_by_a_crash_is_never_sent_twice(engine: TestEngine) {
    let dir = crate::support::scratch_dir();
    // The stand-in records the send at once and answers it only 4 seconds later.
    let standin = Standin::start(&dir, &["--hold-when", "HOLD", "--hold-seconds", "4"]).await;
    let port = free_port();
    let env = channel_env(port, &standin);
    let mut app = TestApp::spawn_with(engine, &borrowed(&env)).await;
    open_incident(&app).await;
    let inbound = app.at(&format!("/api/v1/channels/twilio/sms?incident={SLUG}"));
    standin
        .inbound(
            "twilio",
            &inbound,
            json!({"from": CUSTOMER, "body": "Is my ferry going?"}),
        )
        .await;
    let acks = standin.wait_for("twilio", "Your reference is", 1).await;
    let reference = reference_in(acks[0]["body"].as_str().unwrap_or_default());
    let agent = app.login(MANAGER_EMAIL).await;
    let (status, _) = reply(
        &app,
        &agent,
        &reference,
        &[("body", "HOLD: we rebook you.")],
    )
    .await;
    assert_eq!(status, 303);
    // The request is at the provider: Muster dies before the answer comes.
    assert_eq!(standin.wait_for("twilio", "HOLD", 1).await.len(), 1);
    app.kill().await;
    app.start_again(&borrowed(&env)).await;
    let agent = app.login(MANAGER_EMAIL).await;
    // Past the lease the message is marked as possibly not arrived, and never sent again.
    let page = wait_for_page(&app, &agent, &reference, r#"data-delivery="unknown""#).await;
    assert!(page.contains(r#"data-delivery="unknown""#), "{page}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sends = standin.sends_of("twilio", "HOLD");
    assert_eq!(
        sends.len(),
        1,
        "exactly one send of the interrupted reply: {sends:?}"
    );
    // The restarted sender goes on with the next reply, once.
    let (status, _) = reply(
        &app,
        &agent,
        &reference,
        &[("body", "Your new sailing is at 20:00.")],
    )
    .await;
    assert_eq!(status, 303);
    let sent = standin.wait_for("twilio", "new sailing", 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        standin.sends_of("twilio", "new sailing").len(),
        1,
        "{sent:?}"
    );
    assert!(authenticated(&sent));
}

async fn a_telegram_message_is_answered_with_send_message(engine: TestEngine) {
    let dir = crate::support::scratch_dir();
    let standin = Standin::start(&dir, &[]).await;
    let port = free_port();
    let env = channel_env(port, &standin);
    let app = TestApp::spawn_with(engine, &borrowed(&env)).await;
    open_incident(&app).await;

    // `setWebhook` hands Telegram the address and the secret token.
    let (ok, out, err) = app.muster(&["channels", "telegram", "set-webhook"], &borrowed(&env));
    assert!(ok, "{out}{err}");
    let set: Vec<Value> = standin
        .sends()
        .into_iter()
        .filter(|s| s["method"] == "setWebhook")
        .collect();
    assert_eq!(set.len(), 1);
    assert_eq!(
        set[0]["url"],
        format!("http://127.0.0.1:{port}/api/v1/channels/telegram")
    );
    assert_eq!(set[0]["secret_token"], TELEGRAM_SECRET);
    assert!(authenticated(&set));

    let inbound = app.at(&format!("/api/v1/channels/telegram?incident={SLUG}"));
    let wrong = standin
        .inbound(
            "telegram",
            &inbound,
            json!({"from": "555001", "body": "Forged", "sign_with": "guess"}),
        )
        .await;
    assert_eq!(wrong["status"], 401, "{wrong}");
    let first = standin
        .inbound("telegram", &inbound, json!({"from": "555001", "body": "Is the ferry going?", "name": "Kari", "username": "kari_n"}))
        .await;
    assert_eq!(first["status"], 200, "{first}");
    assert_eq!(replay(&inbound, &first).await, 200);
    let acks = standin.wait_for("telegram", "Your reference is", 1).await;
    assert_eq!(acks.len(), 1, "{acks:?}");
    assert_eq!(acks[0]["to"], "555001");
    let reference = reference_in(acks[0]["body"].as_str().unwrap_or_default());

    let agent = app.login(MANAGER_EMAIL).await;
    let page = case_page(&app, &agent, &reference).await;
    assert_eq!(
        page.matches("<strong>inbound</strong>").count(),
        1,
        "the replay added nothing:\n{page}"
    );
    assert!(!page.contains("Forged"));
    assert!(
        page.contains(r#"<option value="telegram" selected>Telegram to 555001</option>"#),
        "{page}"
    );
    let (status, _) = reply(&app, &agent, &reference, &[("body", "Yes, at 18:00.")]).await;
    assert_eq!(status, 303);
    let sent = standin.wait_for("telegram", "Yes, at 18:00", 1).await;
    assert_eq!(sent.len(), 1);
    assert!(authenticated(&sent));
    assert_eq!(sent[0]["to"], "555001");
    let page = wait_for_page(&app, &agent, &reference, r#"data-delivery="sent""#).await;
    assert!(page.contains(r#"data-delivery="sent""#), "{page}");
}

async fn whatsapp_is_answered_within_its_window_and_by_template_after_it(engine: TestEngine) {
    let dir = crate::support::scratch_dir();
    let port = free_port();
    let webhook = format!("http://127.0.0.1:{port}/api/v1/channels/whatsapp");
    let standin = Standin::start(&dir, &["--whatsapp-webhook", webhook.as_str()]).await;
    let env = channel_env(port, &standin);
    let mut app = TestApp::spawn_with(engine, &borrowed(&env)).await;
    open_incident(&app).await;
    let client = reqwest::Client::new();

    // Meta's verification request: the challenge back with our token, 401 with another.
    let challenge = client
        .get(format!(
            "{webhook}?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
        ))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(challenge.status(), 200);
    assert_eq!(challenge.text().await.unwrap_or_default(), "1158201444");
    let refused = client
        .get(format!(
            "{webhook}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1"
        ))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(refused.status(), 401);

    // The customer texted first by SMS; their WhatsApp message (the same number, as wa_id
    // digits) joins that case.
    let sms = app.at(&format!("/api/v1/channels/twilio/sms?incident={SLUG}"));
    standin
        .inbound(
            "twilio",
            &sms,
            json!({"from": CUSTOMER, "body": "Is my ferry going?"}),
        )
        .await;
    let acks = standin.wait_for("twilio", "Your reference is", 1).await;
    let reference = reference_in(acks[0]["body"].as_str().unwrap_or_default());
    let inbound = format!("{webhook}?incident={SLUG}");
    let forged = standin
        .inbound(
            "whatsapp",
            &inbound,
            json!({"from": "4791234567", "body": "Forged", "sign_with": "guess"}),
        )
        .await;
    assert_eq!(forged["status"], 401, "{forged}");
    let first = standin
        .inbound("whatsapp", &inbound, json!({"from": "4791234567", "body": "Writing on WhatsApp now", "name": "Kari Nordmann"}))
        .await;
    assert_eq!(first["status"], 200, "{first}");
    assert_eq!(replay(&inbound, &first).await, 200);

    let agent = app.login(MANAGER_EMAIL).await;
    let page = case_page(&app, &agent, &reference).await;
    assert_eq!(
        page.matches("<strong>inbound</strong>").count(),
        2,
        "one case, no replay:\n{page}"
    );
    assert!(
        page.contains(r#"<option value="whatsapp">WhatsApp to +4791234567</option>"#),
        "{page}"
    );
    let (status, _) = reply(
        &app,
        &agent,
        &reference,
        &[
            ("send_by", "whatsapp"),
            ("body", "We rebook you on WhatsApp."),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let sent = standin.wait_for("whatsapp", "We rebook you", 1).await;
    assert_eq!(sent.len(), 1);
    assert!(authenticated(&sent));
    assert_eq!(
        (sent[0]["to"].as_str(), sent[0]["type"].as_str()),
        (Some("4791234567"), Some("text"))
    );
    let page = wait_for_page(&app, &agent, &reference, r#"data-delivery="read""#).await;
    assert!(
        page.contains(r#"data-delivery="read""#),
        "the signed statuses arrive:\n{page}"
    );

    // A day and more later (Muster's clock moved on), free text is refused with the offer.
    assert!(app.terminate().await);
    let mut later = env.clone();
    later.push(("MUSTER__CLOCK__OFFSET_HOURS".into(), "25".into()));
    app.start_again(&borrowed(&later)).await;
    let agent = app.login(MANAGER_EMAIL).await;
    let page = case_page(&app, &agent, &reference).await;
    assert!(page.contains("24-hour window closed"), "{page}");
    let (status, page) = reply(
        &app,
        &agent,
        &reference,
        &[("send_by", "whatsapp"), ("body", "Still there?")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains("only the approved template may be sent now"),
        "{page}"
    );
    assert!(
        page.contains("case_update (en)"),
        "the template is offered:\n{page}"
    );
    assert!(standin.sends_of("whatsapp", "Still there").is_empty());
    let (status, _) = reply(
        &app,
        &agent,
        &reference,
        &[("send_by", "whatsapp"), ("body", ""), ("template", "1")],
    )
    .await;
    assert_eq!(status, 303);
    let started = Instant::now();
    let templates = loop {
        let templates: Vec<Value> = standin
            .sends()
            .into_iter()
            .filter(|s| s["template"] == "case_update")
            .collect();
        if !templates.is_empty() || started.elapsed() > Duration::from_secs(20) {
            break templates;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(templates.len(), 1, "{templates:?}");
    assert!(authenticated(&templates));
}
