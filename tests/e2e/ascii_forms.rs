//! Typed identifiers (issue 14, finding 10): booking references and phone numbers written
//! with Persian or Arabic-Indic digits or in full-width forms are taken as their ASCII
//! forms on every door (the form, the telephony webhook, free text in an email, the
//! audience file), so they match the same customer and booking.

use muster_store::on_both_engines;
use muster_store::testing::TestEngine;
use serde_json::{Value, json};

use crate::support::{MANAGER_EMAIL, TestApp, browser, text_of};

on_both_engines!(persian_and_full_width_identifiers_become_ascii_on_every_door);

const SLUG: &str = "squall";

async fn signed(app: &TestApp, channel: &str, content_type: &str, body: Vec<u8>) -> Value {
    let response = app
        .inbound(&format!("/api/v1/inbound/{channel}?incident={SLUG}"), body)
        .header("Content-Type", content_type)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201);
    response.json().await.unwrap_or(Value::Null)
}

async fn persian_and_full_width_identifiers_become_ascii_on_every_door(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"slug": SLUG, "title": "Squall", "languages": "en,fa", "time_zone": "UTC"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201);

    // The form in Persian, typed on a Persian keyboard and a full-width one.
    let date = time::OffsetDateTime::now_utc().date() + time::Duration::days(3);
    let form = [
        ("name", "سارا احمدی".to_owned()),
        ("email", "sara@example.ir".to_owned()),
        ("phone", "۰۹۱۲ ۳۴۵ ۶۷۸۹".to_owned()),
        ("booking_ref", "ＡＢ۱۲۳۴".to_owned()),
        ("departure_date", date.to_string()),
        ("request_type", "refund".to_owned()),
        ("message", "لطفا بلیط را پس بدهید".to_owned()),
        ("language", "fa".to_owned()),
        ("idempotency_key", "e".repeat(64)),
    ];
    let response = browser()
        .post(app.at(&format!("/i/{SLUG}/form?lang=fa")))
        .form(&form)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 303, "accepted, not refused");
    let location = response.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    let by_form = location
        .trim_start_matches("/c/")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();

    // A call whose telephony system sends full-width and Arabic-Indic digits.
    let call = json!({
        "phone": "＋４７ ４００ ００ ００１",
        "external_id": "call-1",
        "booking_ref": "ｃｄ٥٦٧٨",
        "notes": "Wants a new sailing",
    });
    let by_call = signed(
        &app,
        "phone",
        "application/json",
        call.to_string().into_bytes(),
    )
    .await;
    // An email naming its booking in Persian digits.
    let mail = "From: Reza <reza@example.ir>\r\nTo: help@example.com\r\nSubject: Refund\r\n\
                Message-ID: <r1@example.ir>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
                Booking EF۹۸۷۶۵, please refund.\r\n";
    let by_mail = signed(&app, "email", "message/rfc822", mail.as_bytes().to_vec()).await;

    let manager = app.login(MANAGER_EMAIL).await;
    let case = |reference: &str| app.at(&format!("/console/cases/{reference}"));
    let page = text_of(&manager, &case(&by_form)).await;
    assert!(
        page.contains("AB1234") && page.contains("09123456789"),
        "{page}"
    );
    let reference = by_call["reference"].as_str().unwrap_or_default();
    let page = text_of(&manager, &case(reference)).await;
    assert!(
        page.contains("+4740000001") && page.contains("CD5678"),
        "{page}"
    );
    let reference = by_mail["reference"].as_str().unwrap_or_default();
    let page = text_of(&manager, &case(reference)).await;
    assert!(page.contains("EF98765"), "{page}");
    // The agent's search finds the case by the booking typed in Persian digits too.
    let found = text_of(
        &manager,
        &app.at(&format!("/console/queue?incident={SLUG}&q=ＡＢ۱۲۳۴")),
    )
    .await;
    assert!(found.contains(&by_form), "{found}");

    // The audience file: a booking reference and a date in Persian digits are taken.
    let response = browser()
        .post(app.at(&format!("/api/v1/incidents/{SLUG}/audience")))
        .bearer_auth(&token)
        .header("Content-Type", "text/csv")
        .body(format!(
            "email,name,booking_reference,departure_date\nsara@example.ir,Sara,ＡＢ۱۲۳۴,{}\n",
            date.to_string()
                .chars()
                .map(|c| c
                    .to_digit(10)
                    .map_or(c, |d| char::from_u32(0x06F0 + d).unwrap_or(c)))
                .collect::<String>()
        ))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(
        report["rejected"].as_array().map(Vec::len),
        Some(0),
        "{report}"
    );
}
