//! The agents' working view over HTTP: what the queue shows of each case, "send and take
//! next" with word that it worked, typed text kept when an action is refused, the warning
//! when a colleague has the case open, and the live feed announcing a new case to a second
//! agent without any reload.

use std::time::Duration;

use muster_store::on_both_engines;
use muster_store::testing::TestEngine;
use serde_json::{Value, json};

use crate::support::{MANAGER_EMAIL, TestApp, csrf_of, text_of};

on_both_engines!(
    an_agent_clears_cases_with_send_and_take_next,
    a_new_case_reaches_a_second_agent_live
);

const SLUG: &str = "storm";
const FIRST_AGENT: &str = "arne@example.com";
const SECOND_AGENT: &str = "berit@example.com";

fn in_days(days: i64) -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(days)).to_string()
}

async fn ready(app: &TestApp) {
    app.add_user_in(MANAGER_EMAIL, "manager", "refunds,rebooking,general");
    let token = app.token_for(MANAGER_EMAIL);
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"slug": SLUG, "title": "Storm", "time_zone": "UTC", "languages": "en, fa"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201);
    app.add_user_in(FIRST_AGENT, "agent", "refunds");
    app.add_user_in(SECOND_AGENT, "agent", "refunds");
}

/// A call logged by the telephony system, a refund with an email address to reply to.
async fn call(app: &TestApp, n: usize, days: i64, language: &str, notes: &str) -> String {
    let body = json!({
        "phone": format!("+47 400 {n:05}"),
        "external_id": format!("call-{n}"),
        "name": format!("Caller {n}"),
        "email": format!("caller{n}@example.com"),
        "booking_ref": format!("BK{n:05}"),
        "departure_date": in_days(days),
        "request_type": "refund",
        "language": language,
        "notes": notes,
    })
    .to_string();
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

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned()
}

async fn an_agent_clears_cases_with_send_and_take_next(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    ready(&app).await;
    let soon = call(&app, 1, 1, "en", "Is my ferry tomorrow cancelled?").await;
    let later = call(&app, 2, 20, "fa", "آیا سفر من لغو شده است؟").await;
    let arne = app.login(FIRST_AGENT).await;
    let berit = app.login(SECOND_AGENT).await;

    // With no incident named, the view opens the one with cases for the agent's teams.
    let queue = text_of(&arne, &app.at("/console/queue")).await;
    assert!(queue.contains("Queue · Storm"), "the incident with work");
    assert!(
        queue.contains("Is my ferry tomorrow cancelled?")
            && queue.contains("<p class=\"preview\" dir=\"auto\">آیا سفر من لغو شده است؟</p>"),
        "each case's last message, Persian in its own direction"
    );
    assert!(
        queue.contains("first answer <time class=\"due\"")
            && (queue.contains(">in 3 h 59 min<") || queue.contains(">in 4 h 00 min<")),
        "a critical case counts down from its 4-hour target"
    );
    assert!(queue.contains("My cases (0)"));

    let taken = arne
        .post(app.at("/console/queue/take"))
        .form(&[("csrf", csrf_of(&queue).as_str()), ("incident", SLUG)])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(location(&taken), format!("/console/cases/{soon}"));
    let case = text_of(&arne, &app.at(&format!("/console/cases/{soon}"))).await;
    assert!(
        !case.contains("class=\"warning\""),
        "nobody else has it open"
    );
    assert!(case.contains("taken by you"));

    // Berit opens the case Arne holds: she is warned, and so is Arne when he looks again.
    let seen = text_of(&berit, &app.at(&format!("/console/cases/{soon}"))).await;
    assert!(
        seen.contains("class=\"warning\"") && seen.contains("taken by agent"),
        "Berit is told a colleague holds the case"
    );
    let case = text_of(&arne, &app.at(&format!("/console/cases/{soon}"))).await;
    assert!(
        case.contains("class=\"warning\""),
        "Arne sees Berit has it open"
    );
    let queue = text_of(
        &arne,
        &app.at(&format!("/console/queue?incident={SLUG}&view=mine")),
    )
    .await;
    assert!(queue.contains("My cases (1)") && queue.contains(&format!(">{soon}</a>")));

    // A refused note comes back with what was typed beside the problem.
    let csrf = csrf_of(&case);
    let refused = arne
        .post(app.at(&format!("/console/cases/{soon}/note")))
        .form(&[("csrf", csrf.as_str()), ("note", "   ")])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(refused.status(), 422);
    let refused = arne
        .post(app.at(&format!("/console/cases/{soon}/reply")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("body", "Bad\u{0}text I typed"),
            ("next", "1"),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(refused.status(), 422, "a reply with a NUL is refused");
    let page = refused.text().await.unwrap_or_default();
    assert!(
        page.contains("id=\"body-error\""),
        "the problem beside the message"
    );
    assert!(page.contains("text I typed</textarea>"), "the text kept");

    // Send and take next: the reply goes, the next case opens, and the page says so.
    let sent = arne
        .post(app.at(&format!("/console/cases/{soon}/reply")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("body", "Yes, it is cancelled; we refund you in full."),
            ("then", "resolved"),
            ("next", "1"),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(sent.status(), 303);
    assert_eq!(
        location(&sent),
        format!("/console/cases/{later}?done=reply_next")
    );
    let next = text_of(&arne, &app.at(&location(&sent))).await;
    assert!(next.contains("Reply sent. Here is the next case."));
    assert!(
        next.contains("<span lang=\"fa\" dir=\"rtl\">فارسی</span>"),
        "the case shows its language"
    );
    let sent = arne
        .post(app.at(&format!("/console/cases/{later}/reply")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("body", "سفر شما لغو شده است."),
            ("then", "resolved"),
            ("next", "1"),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(
        location(&sent),
        format!("/console/queue?incident={SLUG}&empty=1&done=reply"),
        "no case left: the queue says so"
    );
    let empty = text_of(&arne, &app.at(&location(&sent))).await;
    assert!(empty.contains("Reply sent.") && empty.contains("No unclaimed case is waiting"));
    assert!(!empty.contains(&format!(">{soon}</a>")) && !empty.contains(&format!(">{later}</a>")));
}

/// Reads the event stream until a `case` event names `reference`, or `within` passes.
async fn hears(stream: &mut reqwest::Response, reference: &str, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = String::new();
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, stream.chunk()).await {
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if seen.contains("event: case") && seen.contains(reference) {
            return true;
        }
    }
    false
}

async fn a_new_case_reaches_a_second_agent_live(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    ready(&app).await;
    let first = call(&app, 1, 5, "en", "First").await;
    let berit = app.login(SECOND_AGENT).await;
    let mut stream = berit
        .get(app.at(&format!("/console/live?incident={SLUG}")))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let opening = stream.chunk().await.ok().flatten().unwrap_or_default();
    assert!(String::from_utf8_lossy(&opening).starts_with("retry:"));

    let arriving = call(&app, 2, 5, "en", "Second").await;
    assert!(
        hears(&mut stream, &arriving, Duration::from_secs(5)).await,
        "the new case is announced at once"
    );
    // What the page then fetches lists it, with the counts.
    let list = text_of(
        &berit,
        &app.at(&format!("/console/queue/panel?incident={SLUG}")),
    )
    .await;
    assert!(list.contains(&format!(">{arriving}</a>")) && list.contains(&format!(">{first}</a>")));
    assert!(
        list.contains("<strong>2</strong> high"),
        "the counts: {list}"
    );

    // Another agent taking a case is a change Berit hears of too.
    let arne = app.login(FIRST_AGENT).await;
    let queue = text_of(&arne, &app.at(&format!("/console/queue?incident={SLUG}"))).await;
    arne.post(app.at("/console/queue/take"))
        .form(&[("csrf", csrf_of(&queue).as_str()), ("incident", SLUG)])
        .send()
        .await
        .expect("the request reaches the server");
    assert!(hears(&mut stream, &first, Duration::from_secs(5)).await);

    // Without a session there is no feed.
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("the client builds")
        .get(app.at(&format!("/console/live?incident={SLUG}")))
        .send()
        .await
        .expect("the request reaches the server");
    assert_ne!(anonymous.status(), 200);
}
