//! The manager's and the customer's journeys (issue 18): nothing typed is lost, every save
//! says so beside its section, `/crisis` lets a visitor choose, and a resolved case says it
//! is resolved.

use std::time::{Duration, Instant};

use muster_store::on_both_engines;
use muster_store::testing::TestEngine;
use serde_json::json;

use crate::support::{MANAGER_EMAIL, TestApp, browser, csrf_of, intake_form, text_of};

on_both_engines!(
    a_wait_without_an_address_is_refused_beside_its_field_and_kept,
    every_save_says_so_and_errors_sit_beside_their_fields,
    crisis_lets_the_visitor_choose_between_active_incidents,
    a_resolved_case_says_so_and_shows_what_was_submitted,
    a_lost_case_link_is_sent_again_without_telling_who_has_a_case,
    the_form_keeps_an_impossible_date_and_lists_errors_in_field_order,
    a_commuter_form_asks_no_booking_and_lets_the_date_be_left_empty,
);

const TITLE: &str = "MS Aurora: fire on board";
/// The slug the console makes from [`TITLE`] when none is typed.
const SLUG: &str = "ms-aurora-fire-on-board";

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Signs a manager in and opens [`TITLE`] from the console home, leaving the slug empty.
async fn manager_with_incident(app: &TestApp) -> (reqwest::Client, String) {
    app.add_user_in(MANAGER_EMAIL, "manager", "refunds,rebooking,general");
    let client = app.login(MANAGER_EMAIL).await;
    let csrf = csrf_of(&text_of(&client, &app.at("/console")).await);
    let opened = client
        .post(app.at("/console/incidents"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", TITLE),
            ("slug", ""),
            ("status", "active"),
            ("severity", "major"),
            ("time_zone", "Europe/Oslo"),
            ("default_language", "en"),
            ("language_fa", "1"),
            ("summary", "A fire broke out in the engine room."),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(opened.status(), 303, "{:?}", opened.text().await);
    assert_eq!(
        location(&opened),
        format!("/console/incidents/{SLUG}?saved=opened"),
        "the slug is made from the title"
    );
    let page = text_of(&client, &app.at(&location(&opened))).await;
    assert!(page.contains("Incident opened."), "{page}");
    assert!(
        page.contains(r#"name="language_fa" value="1" checked"#),
        "Persian, ticked on the home form, is offered: {page}"
    );
    (client, csrf)
}

async fn post(
    client: &reqwest::Client,
    url: String,
    form: &[(&str, &str)],
) -> (u16, String, String) {
    let response = client
        .post(url)
        .form(form)
        .send()
        .await
        .expect("the request reaches the server");
    let status = response.status().as_u16();
    let to = location(&response);
    (status, to, response.text().await.unwrap_or_default())
}

async fn a_wait_without_an_address_is_refused_beside_its_field_and_kept(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let (client, csrf) = manager_with_incident(&app).await;
    let form_address = format!("/i/{SLUG}/form");
    let mut channels = vec![
        ("csrf", csrf.as_str()),
        ("lang", "en"),
        ("form_address", form_address.as_str()),
        ("form_wait_low", "30"),
        ("form_wait_high", "60"),
        ("form_wait_unit", "minutes"),
        // The email channel's address is forgotten; its wait is typed in days.
        ("email_address", ""),
        ("email_wait_low", "1"),
        ("email_wait_high", "2"),
        ("email_wait_unit", "days"),
        ("social_address", "@MSAurora"),
    ];
    let url = app.at(&format!("/console/incidents/{SLUG}/channels"));
    let (status, _, page) = post(&client, url.clone(), &channels).await;
    assert_eq!(
        status, 422,
        "a wait with no address is refused, not dropped"
    );
    assert!(
        page.contains(r#"<p class="error" id="email_address-error">This channel has a posted wait but no address"#),
        "the message sits beside the address: {page}"
    );
    assert!(
        page.contains(r##"<a href="#email_address" autofocus>"##),
        "the summary leads to the field: {page}"
    );
    for kept in [
        r#"id="email_wait_low" name="email_wait_low" inputmode="numeric" value="1""#,
        r#"id="email_wait_high" name="email_wait_high" inputmode="numeric" value="2""#,
        r#"<option value="days" selected>"#,
        r#"value="@MSAurora""#,
    ] {
        assert!(page.contains(kept), "{kept} was lost: {page}");
    }
    let public = text_of(&browser(), &app.at(&format!("/i/{SLUG}"))).await;
    assert!(
        !public.contains("30 to 60 minutes"),
        "nothing of the refused form was saved"
    );

    channels[6] = ("email_address", "help@example.com");
    let (status, to, _) = post(&client, url, &channels).await;
    assert_eq!(status, 303);
    assert_eq!(
        to,
        format!("/console/incidents/{SLUG}?lang=en&saved=channels#channels")
    );
    let page = text_of(&client, &app.at(&to)).await;
    assert!(
        page.contains(r#"<p class="saved" role="status">Channels and posted waits saved.</p>"#),
        "{page}"
    );
    assert!(
        page.contains(
            r#"id="email_wait_high" name="email_wait_high" inputmode="numeric" value="2""#
        ),
        "a wait in days is shown back in days: {page}"
    );

    let public = text_of(&browser(), &app.at(&format!("/i/{SLUG}"))).await;
    for shown in [
        "30 to 60 minutes",
        "1 to 2 days",
        r#"href="https://x.com/MSAurora""#,
        &format!(r#"href="/i/{SLUG}/form""#),
        &format!(r#"href="/i/{SLUG}/subscribe?lang&#x3D;en""#),
    ] {
        assert!(public.contains(shown), "{shown} missing: {public}");
    }
    let subscribe = text_of(&browser(), &app.at(&format!("/i/{SLUG}/subscribe?lang=fa"))).await;
    assert!(
        subscribe.contains(r#"<button class="button" type="submit">"#)
            && subscribe.contains(r#"dir="rtl""#),
        "the subscribe page is styled, in Persian: {subscribe}"
    );
}

async fn every_save_says_so_and_errors_sit_beside_their_fields(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let (client, csrf) = manager_with_incident(&app).await;
    let base = format!("/console/incidents/{SLUG}");

    let typed_body = "Every ticket is refunded in full. 🚢";
    let policies = [
        ("csrf", csrf.as_str()),
        ("lang", "en"),
        ("refund_title", "Full\nrefund"),
        ("refund_body", typed_body),
        ("refund_standard", "Within 5 working days"),
    ];
    let (status, _, page) = post(&client, app.at(&format!("{base}/policies")), &policies).await;
    assert_eq!(status, 422);
    assert!(
        page.contains(r#"id="refund_title-error""#) && page.contains(typed_body),
        "the policy error sits beside its title and the text is kept: {page}"
    );
    let summary = page
        .find(r#"class="error-summary""#)
        .expect("the refused section says what is wrong");
    let section = page.find(r#"id="policies-h""#).unwrap_or(usize::MAX);
    assert!(summary > section, "the summary is in the policies section");

    let tomorrow = format!(
        "{}T08:00",
        time::OffsetDateTime::now_utc().date() + time::Duration::days(1)
    );
    let fixed = [
        ("csrf", csrf.as_str()),
        ("lang", "en"),
        ("refund_title", "Full refund"),
        ("refund_body", typed_body),
        ("refund_standard", "Within 5 working days"),
    ];
    for (path, form, saved) in [
        ("/policies", fixed.to_vec(), "Policies saved."),
        (
            "/updates",
            vec![
                ("csrf", csrf.as_str()),
                ("lang", "en"),
                ("update_body", "Passengers are **safe** in Bergen."),
            ],
            "Update published: it is on the public page now.",
        ),
        (
            "",
            vec![
                ("csrf", csrf.as_str()),
                ("lang", "en"),
                ("title", TITLE),
                ("status", "active"),
                ("severity", "critical"),
                ("time_zone", "Europe/Oslo"),
                ("language_fa", "1"),
                ("summary", "A fire broke out."),
                ("contact_guidance", ""),
                ("letter", ""),
                ("letter_signature", ""),
            ],
            "Incident saved.",
        ),
        (
            "/staffing",
            vec![
                ("csrf", csrf.as_str()),
                ("staffing_0_agents", "4"),
                ("staffing_0_from", tomorrow.as_str()),
            ],
            "Staffing plan saved.",
        ),
    ] {
        let (status, to, body) = post(&client, app.at(&format!("{base}{path}")), &form).await;
        assert_eq!(status, 303, "{path}: {body}");
        let page = text_of(&client, &app.at(&to)).await;
        assert!(
            page.contains(&format!(r#"<p class="saved" role="status">{saved}</p>"#)),
            "{path} does not say it saved: {page}"
        );
    }
    let page = text_of(&client, &app.at(&base)).await;
    assert!(
        page.contains("<strong>safe</strong>"),
        "the timeline renders Markdown: {page}"
    );
    assert!(
        page.contains(r##"<a href="#channels">"##) && page.contains(r#"<datalist id="zones">"#),
        "the page has its in-page navigation and a time zone list"
    );
    assert!(
        !page.contains(r#"class="saved""#),
        "a plain visit says nothing was saved"
    );

    let bad_zone = [
        ("csrf", csrf.as_str()),
        ("lang", "en"),
        ("title", TITLE),
        ("time_zone", "Mars/Olympus"),
        ("summary", "Typed and kept"),
    ];
    let (status, _, page) = post(&client, app.at(&base), &bad_zone).await;
    assert_eq!(status, 422);
    assert!(
        page.contains(r#"id="time_zone-error""#)
            && page.contains("Typed and kept")
            && page.contains(r#"value="Mars/Olympus""#),
        "{page}"
    );
}

async fn open_by_api(app: &TestApp, token: &str, slug: &str, title: &str) {
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(token)
        .json(&json!({"slug": slug, "title": title, "summary": format!("About {title}."), "languages": "en,fa", "time_zone": "Europe/Oslo"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
}

async fn crisis_lets_the_visitor_choose_between_active_incidents(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    open_by_api(&app, &token, "ferry-fire", "Ferry fire").await;
    let crisis = browser()
        .get(app.at("/crisis"))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(crisis.status(), 302, "one incident: straight to it");
    assert_eq!(location(&crisis), "/i/ferry-fire");

    open_by_api(&app, &token, "trams-stopped", "Trams stopped").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let page = loop {
        let response = browser()
            .get(app.at("/crisis"))
            .header("accept-language", "fa")
            .send()
            .await
            .expect("the request reaches the server");
        if response.status() == 200 {
            break response.text().await.unwrap_or_default();
        }
        assert!(
            Instant::now() < deadline,
            "/crisis still sends everyone to one page"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(page.contains(r#"<html lang="fa" dir="rtl">"#), "{page}");
    assert!(page.contains("کدام اختلال به شما مربوط است؟"), "{page}");
    let trams = page
        .find("/i/trams-stopped?lang&#x3D;fa")
        .unwrap_or(usize::MAX);
    let ferry = page
        .find("/i/ferry-fire?lang&#x3D;fa")
        .unwrap_or(usize::MAX);
    assert!(
        trams < ferry && ferry < usize::MAX,
        "both, newest first: {page}"
    );
    assert!(
        page.contains(r#"lang="en" dir="auto">Ferry fire</a>"#),
        "an untranslated title says it is English: {page}"
    );
}

async fn a_resolved_case_says_so_and_shows_what_was_submitted(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    open_by_api(&app, &token, "ferry-fire", "Ferry fire").await;
    let submitted = browser()
        .post(app.at("/i/ferry-fire/form"))
        .form(&intake_form("resolved1"))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(submitted.status(), 303);
    let case_url = location(&submitted);
    let reference = case_url
        .trim_start_matches("/c/")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let open = text_of(&browser(), &app.at(&case_url)).await;
    assert!(
        open.contains("What you told us") && open.contains("BKRESOLVED1"),
        "the case shows what was submitted: {open}"
    );
    assert!(open.contains("Expected wait for a reply"), "{open}");

    let manager = app.login(MANAGER_EMAIL).await;
    let csrf = csrf_of(&text_of(&manager, &app.at("/console")).await);
    let (status, _, body) = post(
        &manager,
        app.at(&format!("/console/cases/{reference}/status")),
        &[("csrf", csrf.as_str()), ("status", "resolved")],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let resolved = text_of(&browser(), &app.at(&case_url)).await;
    assert!(resolved.contains("This case is resolved."), "{resolved}");
    for gone in ["Expected wait for a reply", "An agent will answer by email"] {
        assert!(
            !resolved.contains(gone),
            "a resolved case still says {gone:?}: {resolved}"
        );
    }
    assert!(
        resolved.contains(&format!(
            r#"<dd class="reference" dir="ltr">{reference}</dd>"#
        )),
        "{resolved}"
    );
}

fn outbox(app: &TestApp) -> Vec<String> {
    std::fs::read_dir(app.dir.join("outbox"))
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

async fn outbox_holds(app: &TestApp, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mail = outbox(app);
        if mail.len() >= count {
            return mail;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {count} messages",
            mail.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_lost_case_link_is_sent_again_without_telling_who_has_a_case(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    open_by_api(&app, &token, "ferry-fire", "Ferry fire").await;
    let submitted = browser()
        .post(app.at("/i/ferry-fire/form"))
        .form(&intake_form("link1"))
        .send()
        .await
        .expect("the request reaches the server");
    let reference = location(&submitted)
        .trim_start_matches("/c/")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    outbox_holds(&app, 1).await;
    let client = browser();
    let ask = |reference: String, email: &'static str| {
        let client = client.clone();
        let url = app.at("/c?lang=en");
        async move {
            let response = client
                .post(url)
                .form(&[("reference", reference.as_str()), ("email", email)])
                .send()
                .await
                .expect("the request reaches the server");
            (
                response.status().as_u16(),
                response.text().await.unwrap_or_default(),
            )
        }
    };
    let wrong_email = ask(reference.clone(), "someone@example.com").await;
    let unknown = ask("MX-222222".to_owned(), "clink1@example.com").await;
    let right = ask(reference.to_lowercase(), "CLink1@Example.com").await;
    assert_eq!(right.0, 200);
    assert!(
        right.1.contains("If a case with this reference"),
        "{}",
        right.1
    );
    assert_eq!(wrong_email, right, "a wrong address is answered alike");
    assert_eq!(unknown, right, "an unknown reference is answered alike");

    let mail = outbox_holds(&app, 2).await;
    let link = mail
        .iter()
        .find(|m| m.contains("The link to your case"))
        .expect("the link was sent to the case's own address");
    assert!(link.contains(&format!("/c/{reference}?t=")), "{link}");
    assert!(link.contains("To: clink1@example.com"), "{link}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(outbox(&app).len(), 2, "nothing went to the wrong address");

    let bad = ask("hello".to_owned(), "clink1@example.com").await;
    assert_eq!(bad.0, 422);
    assert!(
        bad.1.contains(r#"id="reference-error""#)
            && bad.1.contains(r#"value="clink1@example.com""#),
        "{}",
        bad.1
    );
    let form = text_of(&browser(), &app.at("/c?lang=fa")).await;
    assert!(form.contains(r#"dir="rtl""#) && form.contains(r#"name="reference""#));
    // Four asks so far; the limit is ten a window.
    for _ in 0..6 {
        assert_eq!(ask(reference.clone(), "x@example.com").await.0, 200);
    }
    assert_eq!(ask(reference.clone(), "x@example.com").await.0, 429);
}

async fn the_form_keeps_an_impossible_date_and_lists_errors_in_field_order(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    open_by_api(&app, &token, "ferry-fire", "Ferry fire").await;
    let mut form = intake_form("dates1").to_vec();
    form.retain(|(k, _)| *k != "name" && *k != "departure_date");
    form.push(("departure_date", "2026-02-30".to_owned()));
    let refused = browser()
        .post(app.at("/i/ferry-fire/form"))
        .form(&form)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap_or_default();
    assert!(
        page.contains(r#"name="departure_date" type="text""#)
            && page.contains(r#"value="2026-02-30""#),
        "the impossible date comes back where a date picker would not blank it: {page}"
    );
    let name = page.find(r##"<a href="#name">"##).unwrap_or(usize::MAX);
    let date = page
        .find(r##"<a href="#departure_date">"##)
        .unwrap_or(usize::MAX);
    assert!(
        name < date && date < usize::MAX,
        "errors in field order: {page}"
    );
    assert!(
        page.contains(r#"id="errors" autofocus"#),
        "focus goes to the errors"
    );
}

/// A tram network down: the manager stops asking for a booking reference, lets the date be
/// left empty and names it in Persian; the commuter's form is taken in without either.
async fn a_commuter_form_asks_no_booking_and_lets_the_date_be_left_empty(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let (client, csrf) = manager_with_incident(&app).await;
    let section = app.at(&format!("/console/incidents/{SLUG}/form"));
    // A rule that doesn't exist is refused beside its field, and the label typed is kept.
    let (status, _, page) = post(
        &client,
        section.clone(),
        &[
            ("csrf", csrf.as_str()),
            ("lang", "fa"),
            ("form_booking_ref", "sometimes"),
            ("form_booking_ref_label", ""),
            ("form_departure_date", "optional"),
            ("form_departure_date_label", "تاریخ سفر"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains(r#"id="form_booking_ref-error""#), "{page}");
    assert!(
        page.contains(r#"value="تاریخ سفر""#),
        "the label typed is kept: {page}"
    );
    let (status, to, page) = post(
        &client,
        section,
        &[
            ("csrf", csrf.as_str()),
            ("lang", "fa"),
            ("form_booking_ref", "hidden"),
            ("form_booking_ref_label", ""),
            ("form_departure_date", "optional"),
            ("form_departure_date_label", "تاریخ سفر"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{page}");
    assert!(to.ends_with("saved=form#form"), "{to}");
    let saved = text_of(&client, &app.at(&to)).await;
    assert!(saved.contains("Form saved"), "{saved}");

    let customer = browser();
    let form_url = app.at(&format!("/i/{SLUG}/form?lang=fa"));
    let form = text_of(&customer, &form_url).await;
    assert!(
        !form.contains(r#"name="booking_ref""#),
        "no booking field: {form}"
    );
    assert!(
        form.contains("تاریخ سفر"),
        "the manager's Persian label: {form}"
    );
    assert!(
        !form.contains(r#"name="departure_date" type="date" inputmode="numeric" required"#),
        "the date may be left empty: {form}"
    );
    let english = text_of(&customer, &app.at(&format!("/i/{SLUG}/form?lang=en"))).await;
    assert!(
        english.contains("Departure date"),
        "a language without its own label keeps the standard one"
    );

    let sent = customer
        .post(&form_url)
        .form(&[
            ("name", "Tram Commuter"),
            ("email", "commuter@example.com"),
            ("booking_ref", ""),
            ("departure_date", ""),
            ("request_type", "question"),
            ("message", "Will line 11 run tonight?"),
            ("language", "fa"),
            ("idempotency_key", &"7".repeat(64)),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(sent.status(), 303, "{:?}", sent.text().await);
    assert!(location(&sent).starts_with("/c/"), "{}", location(&sent));
    let queue = text_of(
        &client,
        &app.at(&format!("/console/queue?incident={SLUG}&needs_date=1")),
    )
    .await;
    assert!(
        queue.contains("Tram Commuter"),
        "the undated case waits under needs a date: {queue}"
    );
}
