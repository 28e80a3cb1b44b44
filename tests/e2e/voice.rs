//! The phone line as Twilio calls it: each request form-encoded and signed with
//! `X-Twilio-Signature` over the public URL, as Twilio does (the scheme is checked against
//! Twilio's published example in `muster_core::twilio_signature`), each answer TwiML, read
//! here as XML.

use std::time::{Duration, Instant};

use muster_core::twilio_signature;
use muster_store::on_both_engines;
use muster_store::testing::TestEngine;
use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Value, json};

use crate::support::{AGENT_EMAIL, MANAGER_EMAIL, TestApp, csrf_of};

on_both_engines!(
    the_line_answers_in_the_callers_language,
    a_forged_call_is_refused_and_stores_nothing,
    a_call_back_keeps_its_place_and_counts_on_the_phone_wait,
);

const TOKEN: &str = "twilio-auth-token-0123456789abcdef";
/// The address Twilio calls: the public one, not the test server's own.
const PUBLIC: &str = "https://status.example.com";
const SLUG: &str = "ferry-fire";
const CALLER: &str = "+4722000001";

async fn line(engine: TestEngine) -> TestApp {
    TestApp::spawn_with(
        engine,
        &[
            ("MUSTER__VOICE__TWILIO_AUTH_TOKEN", TOKEN),
            ("MUSTER__PUBLIC__BASE_URL", PUBLIC),
            ("MUSTER__QUEUE__WAIT_REFRESH_SECS", "1"),
        ],
    )
    .await
}

/// A Norwegian incident also in English and Persian, its phone wait posted at 10 to 20
/// minutes.
async fn ready(app: &TestApp) {
    let token = app.token(MANAGER_EMAIL, "manager");
    let client = reqwest::Client::new();
    let requests = [
        client.post(app.at("/api/v1/incidents")).json(&json!({
            "slug": SLUG, "title": "Brann om bord på MS Nordlys", "languages": "nb,en,fa", "time_zone": "UTC"
        })),
        client
            .patch(app.at(&format!("/api/v1/incidents/{SLUG}")))
            .json(&json!({"lang": "en", "title": "Fire on board MS Nordlys"})),
        client
            .post(app.at(&format!("/api/v1/incidents/{SLUG}/updates")))
            .json(&json!({"lang": "en", "body": "All passengers are *safe* ashore in Bodø.\n\nMore later."})),
        client
            .put(app.at(&format!("/api/v1/incidents/{SLUG}/channels")))
            .json(&json!({"channels": [
                {"kind": "form", "address": format!("/i/{SLUG}/form")},
                {"kind": "phone", "address": "+47 22 00 00 00"},
            ]})),
        client
            .put(app.at(&format!("/api/v1/incidents/{SLUG}/channels/phone/wait")))
            .json(&json!({"low_minutes": 10, "high_minutes": 20})),
    ];
    for request in requests {
        let response = request
            .bearer_auth(&token)
            .send()
            .await
            .expect("the request reaches the server");
        let status = response.status().as_u16();
        assert!(
            status < 300,
            "{status}: {}",
            response.text().await.unwrap_or_default()
        );
    }
}

/// POSTs `params` to `target` as Twilio would: signed with `token` over `PUBLIC` + `target`.
async fn twilio(
    app: &TestApp,
    target: &str,
    params: &[(&str, &str)],
    token: &str,
) -> (u16, String) {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let signature =
        twilio_signature::sign(token, &format!("{PUBLIC}{target}"), &owned).unwrap_or_default();
    let response = reqwest::Client::new()
        .post(app.at(target))
        .header("X-Twilio-Signature", signature)
        .form(&owned)
        .send()
        .await
        .expect("the request reaches the server");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

fn call<'a>(
    sid: &'a str,
    country: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("CallSid", sid),
        ("CallStatus", "in-progress"),
        ("Direction", "inbound"),
        ("From", CALLER),
        ("FromCountry", country),
        ("To", "+4722000000"),
        ("ToCountry", "NO"),
    ];
    params.extend_from_slice(extra);
    params
}

/// One TwiML element: its name, attributes, text and children.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn attribute(&self, name: &str) -> &str {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every element named `name` below this one, depth first.
    fn all(&self, name: &str) -> Vec<&Element> {
        let mut found = Vec::new();
        for child in &self.children {
            if child.name == name {
                found.push(child);
            }
            found.extend(child.all(name));
        }
        found
    }

    /// The `<Say>` elements below, as (language, text).
    fn says(&self) -> Vec<(String, String)> {
        self.all("Say")
            .into_iter()
            .map(|s| (s.attribute("language").to_owned(), s.text.clone()))
            .collect()
    }
}

/// Parses a TwiML document strictly: any XML error fails the test.
fn parse(twiml: &str) -> Element {
    let mut reader = Reader::from_str(twiml);
    let mut stack = vec![Element::default()];
    let decoder = reader.decoder();
    let open = |e: &quick_xml::events::BytesStart<'_>| Element {
        name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
        attributes: e
            .attributes()
            .map(|a| {
                let a = a.unwrap_or_else(|err| panic!("bad attribute in {twiml}: {err}"));
                let value = a
                    .decoded_and_normalized_value(quick_xml::XmlVersion::Explicit1_0, decoder)
                    .unwrap_or_else(|err| panic!("bad value in {twiml}: {err}"));
                (
                    String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                    value.into_owned(),
                )
            })
            .collect(),
        ..Element::default()
    };
    loop {
        match reader.read_event() {
            Ok(Event::Decl(_)) => {}
            Ok(Event::Start(e)) => stack.push(open(&e)),
            Ok(Event::Empty(e)) => {
                let element = open(&e);
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(element);
                }
            }
            Ok(Event::Text(t)) => {
                let text = t
                    .decode()
                    .unwrap_or_else(|err| panic!("bad text in {twiml}: {err}"));
                let text = quick_xml::escape::unescape(&text)
                    .unwrap_or_else(|err| panic!("bad text in {twiml}: {err}"))
                    .into_owned();
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&text);
                }
            }
            Ok(Event::GeneralRef(r)) => {
                let name = String::from_utf8_lossy(r.as_ref()).into_owned();
                let text = quick_xml::escape::unescape(&format!("&{name};"))
                    .unwrap_or_else(|err| panic!("bad entity in {twiml}: {err}"))
                    .into_owned();
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&text);
                }
            }
            Ok(Event::End(_)) => {
                let done = stack.pop().unwrap_or_default();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => panic!("unbalanced TwiML: {twiml}"),
                }
            }
            Ok(Event::Eof) => break,
            Ok(other) => panic!("unexpected {other:?} in {twiml}"),
            Err(err) => panic!("not XML ({err}): {twiml}"),
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements in {twiml}");
    let mut document = stack.pop().unwrap_or_default();
    assert_eq!(document.children.len(), 1, "one root: {twiml}");
    let root = document.children.remove(0);
    assert_eq!(root.name, "Response", "{twiml}");
    root
}

fn twiml_of((status, body): (u16, String)) -> Element {
    assert_eq!(status, 200, "{body}");
    parse(&body)
}

fn spoken(says: &[(String, String)], language: &str, words: &str) -> bool {
    says.iter()
        .any(|(lang, text)| lang == language && text.contains(words))
}

async fn the_line_answers_in_the_callers_language(engine: TestEngine) {
    let app = line(engine).await;
    ready(&app).await;
    let target = format!("/api/v1/voice/twilio?incident={SLUG}");

    // A caller from Norway hears Norwegian, and the English update in English.
    let norwegian = twiml_of(twilio(&app, &target, &call("CA01", "NO", &[]), TOKEN).await);
    let says = norwegian.says();
    assert!(
        spoken(&says, "nb-NO", "Brann om bord på MS Nordlys"),
        "{says:?}"
    );
    assert!(
        spoken(&says, "en-GB", "All passengers are safe ashore in Bodø."),
        "the update's first paragraph, its Markdown removed: {says:?}"
    );
    assert!(!spoken(&says, "en-GB", "More later"), "{says:?}");
    assert!(
        spoken(&says, "nb-NO", "10 til 20 minutter"),
        "the posted wait: {says:?}"
    );
    let gathers = norwegian.all("Gather");
    assert_eq!(gathers.len(), 1, "{norwegian:?}");
    let menu = gathers[0];
    assert_eq!(menu.attribute("numDigits"), "1");
    assert_eq!(
        menu.attribute("action"),
        format!("{PUBLIC}/api/v1/voice/twilio/menu?incident={SLUG}&lang=nb")
    );
    let offered = menu.says();
    assert!(spoken(&offered, "nb-NO", "Trykk 1"), "{offered:?}");
    assert!(spoken(&offered, "nb-NO", "Trykk 2"), "{offered:?}");
    assert!(
        spoken(&offered, "en-GB", "For English, press 3."),
        "{offered:?}"
    );
    assert!(
        spoken(&offered, "en-GB", "For Persian, press 4."),
        "Twilio cannot speak Persian: offered in English: {offered:?}"
    );
    // Without a key, the short address, then the call ends.
    let after: Vec<&str> = norwegian.children.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(after.last(), Some(&"Hangup"), "{after:?}");
    assert!(
        spoken(&says, "nb-NO", "status.example.com/crisis"),
        "{says:?}"
    );

    // A caller from Britain hears English throughout.
    let english = twiml_of(twilio(&app, &target, &call("CA02", "GB", &[]), TOKEN).await);
    let says = english.says();
    assert!(
        spoken(&says, "en-GB", "Fire on board MS Nordlys"),
        "{says:?}"
    );
    assert!(spoken(&says, "en-GB", "10 to 20 minutes"), "{says:?}");
    assert!(spoken(&says, "en-GB", "press 1"), "{says:?}");
    assert!(spoken(&says, "nb-NO", "For norsk, trykk 3."), "{says:?}");

    // The Norwegian caller presses 3: all again in English.
    let menu = format!("/api/v1/voice/twilio/menu?incident={SLUG}&lang=nb");
    let switched =
        twiml_of(twilio(&app, &menu, &call("CA01", "NO", &[("Digits", "3")]), TOKEN).await);
    let says = switched.says();
    assert!(
        spoken(&says, "en-GB", "Fire on board MS Nordlys"),
        "{says:?}"
    );
    assert_eq!(
        switched.all("Gather")[0].attribute("action"),
        format!("{PUBLIC}/api/v1/voice/twilio/menu?incident={SLUG}&lang=en")
    );

    // A caller from Iran is told, in English, that the line cannot speak Persian.
    let persian = twiml_of(twilio(&app, &target, &call("CA03", "IR", &[]), TOKEN).await);
    let says = persian.says();
    assert!(
        spoken(&says, "en-GB", "We cannot speak Persian on this line"),
        "{says:?}"
    );
    assert!(says.iter().all(|(lang, _)| lang != "fa-IR"), "{says:?}");

    // A key that is no choice: said so, and the menu again.
    let wrong = twiml_of(twilio(&app, &menu, &call("CA01", "NO", &[("Digits", "9")]), TOKEN).await);
    assert!(spoken(&wrong.says(), "nb-NO", "Beklager"), "{wrong:?}");
    assert_eq!(wrong.all("Gather").len(), 1);
}

async fn a_forged_call_is_refused_and_stores_nothing(engine: TestEngine) {
    let app = line(engine).await;
    ready(&app).await;
    let callback = format!("/api/v1/voice/twilio/call-back?incident={SLUG}&lang=nb");
    let params = call("CA10", "NO", &[("Digits", "")]);
    // Signed with another token; signed for another URL; not signed; tampered with.
    let (status, _) = twilio(&app, &callback, &params, "not-the-token").await;
    assert_eq!(status, 401);
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let for_elsewhere = twilio_signature::sign(
        TOKEN,
        &format!("{PUBLIC}/api/v1/voice/twilio/call-back?incident=other&lang=nb"),
        &owned,
    )
    .unwrap_or_default();
    let signed_for_this =
        twilio_signature::sign(TOKEN, &format!("{PUBLIC}{callback}"), &owned).unwrap_or_default();
    let mut tampered = owned.clone();
    tampered.push(("From".to_owned(), "+4799999999".to_owned()));
    tampered.retain(|(k, v)| k != "From" || v != CALLER);
    for (signature, form) in [
        (for_elsewhere, &owned),
        (String::new(), &owned),
        (signed_for_this, &tampered),
    ] {
        let response = reqwest::Client::new()
            .post(app.at(&callback))
            .header("X-Twilio-Signature", signature)
            .form(form)
            .send()
            .await
            .expect("the request reaches the server");
        assert_eq!(response.status(), 401);
    }
    let store = app.db.store().await;
    assert_eq!(
        store
            .inbound_external_ids("phone")
            .await
            .unwrap_or_default(),
        Vec::<String>::new(),
        "nothing stored"
    );
    // A replica with no token configured refuses the line altogether.
    let (_replica, replica_url) = app
        .replica_with(&[("MUSTER__PUBLIC__BASE_URL", PUBLIC)])
        .await;
    let refused = reqwest::Client::new()
        .post(format!("{replica_url}/api/v1/voice/twilio?incident={SLUG}"))
        .form(&owned)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(refused.status(), 403);
    // The genuine request goes through.
    let (status, _) = twilio(&app, &callback, &params, TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(
        store
            .inbound_external_ids("phone")
            .await
            .unwrap_or_default(),
        vec!["phone:call-back:CA10".to_owned()]
    );
}

/// The phone figure on the landing page's wait times (in the incident's Norwegian) for `tier`.
async fn phone_wait(app: &TestApp, tier: &str) -> String {
    let times: Value = reqwest::get(app.at(&format!("/i/{SLUG}/wait-times.json")))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or(Value::Null);
    times["channels"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["channel"] == "phone"))
        .map(|phone| {
            phone["tiers"][tier]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .unwrap_or_default()
}

async fn wait_for_phone_wait(app: &TestApp, tier: &str, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let shown = phone_wait(app, tier).await;
        if shown == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the {tier} phone wait is {shown:?}, not {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn a_call_back_keeps_its_place_and_counts_on_the_phone_wait(engine: TestEngine) {
    let app = line(engine).await;
    ready(&app).await;
    // Two customers already wait without a date.
    for n in 1..=2 {
        let body = json!({"phone": format!("+47 90 00 00 0{n}"), "external_id": format!("pbx-{n}"), "notes": "Wants a refund"})
            .to_string();
        let response = app
            .inbound(&format!("/api/v1/inbound/phone?incident={SLUG}"), body)
            .header("Content-Type", "application/json")
            .send()
            .await
            .expect("the request reaches the server");
        assert_eq!(response.status(), 201);
    }
    wait_for_phone_wait(&app, "normal", "10 til 20 minutter").await;

    // 2, then no date (#): queued behind the two.
    let menu = format!("/api/v1/voice/twilio/menu?incident={SLUG}&lang=en");
    let asked = twiml_of(twilio(&app, &menu, &call("CA20", "GB", &[("Digits", "2")]), TOKEN).await);
    let date_prompt = asked.all("Gather");
    assert_eq!(date_prompt.len(), 1, "{asked:?}");
    assert_eq!(date_prompt[0].attribute("numDigits"), "4");
    assert_eq!(date_prompt[0].attribute("actionOnEmptyResult"), "true");
    let callback = format!("/api/v1/voice/twilio/call-back?incident={SLUG}&lang=en");
    assert_eq!(
        date_prompt[0].attribute("action"),
        format!("{PUBLIC}{callback}")
    );
    let queued = twiml_of(
        twilio(
            &app,
            &callback,
            &call("CA20", "GB", &[("Digits", "")]),
            TOKEN,
        )
        .await,
    );
    let says = queued.says();
    assert!(
        spoken(&says, "en-GB", "You are number 3 in the queue"),
        "{says:?}"
    );
    let store = app.db.store().await;
    let ids = store
        .inbound_external_ids("phone")
        .await
        .unwrap_or_default();
    assert_eq!(ids.len(), 3, "{ids:?}");

    // The posted phone wait counts it: one call of six minutes more at the end of the normal
    // tier, a caller without a date (no agent seen yet: one agent assumed); the critical
    // tier is ahead of it.
    wait_for_phone_wait(&app, "normal", "10 til 30 minutter").await;
    assert_eq!(phone_wait(&app, "critical").await, "10 til 20 minutter");

    // The agent takes the queue in order: the call back comes third, with its number.
    app.add_user_in(AGENT_EMAIL, "agent", "refunds,rebooking,general");
    let agent = app.login(AGENT_EMAIL).await;
    let queue_page = agent
        .get(app.at(&format!("/console/queue?incident={SLUG}")))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    let csrf = csrf_of(&queue_page);
    let mut taken = Vec::new();
    for _ in 0..3 {
        let take = agent
            .post(app.at("/console/queue/take"))
            .form(&[("csrf", csrf.as_str()), ("incident", SLUG)])
            .send()
            .await
            .expect("the request reaches the server");
        assert_eq!(take.status(), 303);
        let location = take.headers()["location"].to_str().unwrap_or_default();
        taken.push(location.trim_start_matches("/console/cases/").to_owned());
    }
    let reference = taken[2].clone();
    let case_page = agent
        .get(app.at(&format!("/console/cases/{reference}")))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        case_page.contains(&format!(
            "Call back <a href=\"tel:{CALLER}\" id=\"call-back-link\">{CALLER}</a>"
        )),
        "{case_page}"
    );
    for earlier in &taken[..2] {
        let page = agent
            .get(app.at(&format!("/console/cases/{earlier}")))
            .send()
            .await
            .expect("the request reaches the server")
            .text()
            .await
            .unwrap_or_default();
        assert!(
            !page.contains("call-back-link"),
            "not a call back: {earlier}"
        );
    }
    let spelled: String = reference
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| format!("{c} "))
        .collect();
    assert!(
        spoken(&says, "en-GB", spelled.trim()),
        "the reference is spelled out: {says:?}"
    );

    // No answer: logged, and the case still waits for a call back.
    let log = |outcome: &'static str, notes: &'static str, page: String| {
        let agent = agent.clone();
        let url = app.at(&format!("/console/cases/{reference}/call"));
        async move {
            let csrf = csrf_of(&page);
            let logged = agent
                .post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("call_back", outcome),
                    ("call_notes", notes),
                ])
                .send()
                .await
                .expect("the request reaches the server");
            assert_eq!(logged.status(), 303);
        }
    };
    let reload = || async {
        agent
            .get(app.at(&format!("/console/cases/{reference}")))
            .send()
            .await
            .expect("the request reaches the server")
            .text()
            .await
            .unwrap_or_default()
    };
    log("no_answer", "Voicemail.", case_page).await;
    let case_page = reload().await;
    assert!(
        case_page.contains(&format!("Called back {CALLER}: no answer.")),
        "{case_page}"
    );
    assert!(
        case_page.contains("call-back-link"),
        "still waiting: {case_page}"
    );
    // Reached: logged on the case, which no longer waits for a call.
    log("reached", "Refund arranged by phone.", case_page).await;
    let case_page = reload().await;
    assert!(
        case_page.contains(&format!("Called back {CALLER}: reached.")),
        "{case_page}"
    );
    assert!(
        case_page.contains("Refund arranged by phone."),
        "{case_page}"
    );
    assert!(!case_page.contains("call-back-link"), "{case_page}");
}
