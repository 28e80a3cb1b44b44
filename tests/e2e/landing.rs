//! The public landing page: publication, caching, languages, feeds, and surviving outages.

use std::time::{Duration, Instant};

use muster_store::testing::TestEngine;
use serde_json::json;

use crate::support::{MANAGER_EMAIL, TestApp, csrf_of};
use muster_store::on_both_engines;

on_both_engines!(
    updates_appear_everywhere_at_once,
    etags_and_compression,
    languages_and_right_to_left,
    markdown_is_sanitised,
    crisis_follows_the_active_incident,
    console_edits_keep_what_was_typed,
);

async fn open(app: &TestApp, token: &str, slug: &str, languages: &str) {
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(token)
        .json(&json!({"slug": slug, "title": format!("Incident {slug}"), "summary": "Ferries are **delayed**.", "languages": languages, "time_zone": "Europe/Oslo"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
}

async fn publish(app: &TestApp, token: &str, slug: &str, body: &str) {
    let response = reqwest::Client::new()
        .post(app.at(&format!("/api/v1/incidents/{slug}/updates")))
        .bearer_auth(token)
        .json(&json!({"body": body}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
}

async fn get_text(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap_or_else(|e| panic!("{e}"));
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

async fn updates_appear_everywhere_at_once(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    open(&app, &token, "ferry-fire", "en").await;
    publish(&app, &token, "ferry-fire", "All passengers are *safe*.").await;
    publish(&app, &token, "ferry-fire", "Hotels are booked for tonight.").await;

    let (status, html) = get_text(&app.at("/i/ferry-fire")).await;
    assert_eq!(status, 200);
    let newest = html
        .find("Hotels are booked")
        .unwrap_or_else(|| panic!("{html}"));
    let oldest = html
        .find("All passengers are <em>safe</em>")
        .unwrap_or_else(|| panic!("{html}"));
    assert!(newest < oldest, "updates are newest first");
    assert!(
        html.contains("href=\"/i/ferry-fire/form"),
        "one link to the form"
    );
    assert!(html.contains("og:title"), "Open Graph tags for sharing");
    assert!(html.contains("href=\"#main\""), "a skip link");

    let (_, body) = get_text(&app.at("/i/ferry-fire.json")).await;
    let data: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(
        data["updates"][0]["body"]["en"],
        "Hotels are booked for tonight."
    );

    let (_, atom) = get_text(&app.at("/i/ferry-fire/feed.atom")).await;
    let feed = feed_rs::parser::parse(atom.as_bytes()).unwrap_or_else(|e| panic!("{e}: {atom}"));
    assert_eq!(feed.entries.len(), 2);
    assert_eq!(
        feed.title.map(|t| t.content).as_deref(),
        Some("Incident ferry-fire")
    );
    assert_eq!(
        feed.entries[0].title.as_ref().map(|t| t.content.as_str()),
        Some("Hotels are booked for tonight.")
    );
}

async fn etags_and_compression(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    open(&app, &token, "tram-down", "en").await;
    let client = reqwest::Client::new();
    let first = client
        .get(app.at("/i/tram-down"))
        .send()
        .await
        .expect("the request reaches the server");
    let etag = first.headers()["etag"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    let cache = first.headers()["cache-control"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        cache.contains("max-age")
            && cache.contains("stale-while-revalidate")
            && cache.contains("stale-if-error"),
        "{cache}"
    );
    let again = client
        .get(app.at("/i/tram-down"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(again.status(), 304);
    // Each encoding is its own representation with its own strong tag: a cache holding the
    // plain page must not be told its copy is the gzip one.
    let gzipped = client
        .get(app.at("/i/tram-down"))
        .header("Accept-Encoding", "gzip")
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(
        gzipped.status(),
        200,
        "the plain page's tag does not match the gzip one"
    );
    let gzip_tag = gzipped.headers()["etag"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(gzip_tag, etag);
    let gzip_again = client
        .get(app.at("/i/tram-down"))
        .header("Accept-Encoding", "gzip")
        .header("If-None-Match", &gzip_tag)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(gzip_again.status(), 304);
    for (accept, expected) in [("br", "br"), ("gzip, deflate", "gzip")] {
        let response = client
            .get(app.at("/i/tram-down"))
            .header("Accept-Encoding", accept)
            .send()
            .await
            .expect("the request reaches the server");
        assert_eq!(response.headers()["content-encoding"], expected);
        let size = response
            .bytes()
            .await
            .map(|b| b.len())
            .unwrap_or(usize::MAX);
        assert!(
            size < 30 * 1024,
            "the page is under 30 KB compressed ({size} bytes)"
        );
    }
    publish(&app, &token, "tram-down", "Buses replace trams.").await;
    let changed = client
        .get(app.at("/i/tram-down"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(changed.status(), 200, "a new update changes the ETag");
}

async fn languages_and_right_to_left(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    open(&app, &token, "flights-grounded", "en,fa,nb").await;
    let persian = reqwest::Client::new()
        .patch(app.at("/api/v1/incidents/flights-grounded"))
        .bearer_auth(&token)
        .json(&json!({"lang": "fa", "title": "همه پروازها لغو شد"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(persian.status(), 200);
    let (_, html) = get_text(&app.at("/i/flights-grounded?lang=fa")).await;
    assert!(html.contains("<html lang=\"fa\" dir=\"rtl\">"), "{html}");
    assert!(html.contains("همه پروازها لغو شد"));
    let by_header = reqwest::Client::new()
        .get(app.at("/i/flights-grounded"))
        .header("Accept-Language", "nb-NO,nb;q=0.9,en;q=0.5")
        .send()
        .await
        .expect("the request reaches the server");
    assert!(
        by_header.headers()["vary"]
            .to_str()
            .unwrap_or_default()
            .contains("Accept-Language")
    );
    let html = by_header.text().await.unwrap_or_default();
    assert!(html.contains("<html lang=\"nb\" dir=\"ltr\">"), "{html}");
    assert!(
        html.contains("Incident flights-grounded"),
        "untranslated content falls back to the default language"
    );
    let (_, html) = get_text(&app.at("/i/flights-grounded?lang=xx")).await;
    assert!(
        html.contains("<html lang=\"en\""),
        "an unknown language falls back to the default"
    );
}

async fn markdown_is_sanitised(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    open(&app, &token, "xss-check", "en").await;
    publish(
        &app,
        &token,
        "xss-check",
        "<script>alert('x')</script> <img src=x onerror=alert(1)>",
    )
    .await;
    publish(
        &app,
        &token,
        "xss-check",
        "Read [the details](javascript:alert(1)) and [the policy](https://example.com/p).",
    )
    .await;
    let (_, html) = get_text(&app.at("/i/xss-check")).await;
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("href=\"javascript:"), "{html}");
    assert!(html.contains("href=\"https://example.com/p\""), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "the text is shown, inert");
}

async fn crisis_follows_the_active_incident(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("the client builds");
    let none = client
        .get(app.at("/crisis"))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(none.status(), 404);
    open(&app, &token, "first-crisis", "en").await;
    let first = client
        .get(app.at("/crisis"))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(first.headers()["location"], "/i/first-crisis");
    open(&app, &token, "second-crisis", "en").await;
    let (ok, _, err) = app.muster(&["incident", "close", "--slug", "second-crisis"], &[]);
    assert!(ok, "{err}");
    // The CLI wrote to the database; the server picks the change up within its sync interval.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let location = client
            .get(app.at("/crisis"))
            .send()
            .await
            .map(|r| {
                r.headers()
                    .get("location")
                    .map(|l| l.to_str().unwrap_or("").to_owned())
            })
            .ok()
            .flatten();
        if location.as_deref() == Some("/i/first-crisis") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/crisis still points at {location:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = get_text(&app.at("/i/second-crisis")).await;
    assert_eq!(status, 200, "a resolved incident keeps its page");
}

async fn console_edits_keep_what_was_typed(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    app.add_user(MANAGER_EMAIL, "manager");
    let client = app.login(MANAGER_EMAIL).await;
    let home = client
        .get(app.at("/console"))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    let csrf = csrf_of(&home);
    let bad = client
        .post(app.at("/console/incidents"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("slug", "Not A Slug"),
            ("title", "Storm closes the harbour"),
            ("time_zone", "Europe/Oslo"),
            ("languages", "en"),
            ("summary", "Typed text 🚢 that must survive"),
            ("status", "active"),
            ("severity", "major"),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(bad.status(), 422);
    let page = bad.text().await.unwrap_or_default();
    assert!(page.contains("Typed text 🚢 that must survive"), "{page}");
    assert!(
        page.contains("value=\"Storm closes the harbour\""),
        "{page}"
    );
    assert!(page.contains("a slug may hold only"), "{page}");
    let good = client
        .post(app.at("/console/incidents"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("slug", "harbour-storm"),
            ("title", "Storm closes the harbour"),
            ("time_zone", "Europe/Oslo"),
            ("languages", "en"),
            ("summary", "Typed"),
            ("status", "active"),
            ("severity", "major"),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(good.status(), 303);
    let form = [
        ("csrf", csrf.as_str()),
        ("lang", "en"),
        ("refund_title", "Full refund"),
        ("refund_body", "Every ticket is refunded."),
        ("refund_standard", "Processed within 5 working days"),
    ];
    let saved = client
        .post(app.at("/console/incidents/harbour-storm/policies"))
        .form(&form)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(saved.status(), 303);
    let channels = [
        ("csrf", csrf.as_str()),
        ("lang", "en"),
        ("phone_address", "+47 22 00 00 00"),
        ("phone_wait_low", "90"),
        ("phone_wait_high", "30"),
    ];
    let refused = client
        .post(app.at("/console/incidents/harbour-storm/channels"))
        .form(&channels)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap_or_default();
    assert!(
        page.contains("value=\"+47 22 00 00 00\"")
            && page.contains("shortest wait cannot be longer"),
        "{page}"
    );
    let channels = [
        ("csrf", csrf.as_str()),
        ("lang", "en"),
        ("phone_address", "+47 22 00 00 00"),
        ("phone_wait_low", "30"),
        ("phone_wait_high", "90"),
    ];
    let saved = client
        .post(app.at("/console/incidents/harbour-storm/channels"))
        .form(&channels)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(saved.status(), 303);
    let update = [
        ("csrf", csrf.as_str()),
        ("lang", "en"),
        ("update_body", "The harbour reopens at noon."),
    ];
    let posted = client
        .post(app.at("/console/incidents/harbour-storm/updates"))
        .form(&update)
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(posted.status(), 303);
    let (_, html) = get_text(&app.at("/i/harbour-storm")).await;
    for expected in [
        "Processed within 5 working days",
        "tel:+4722000000",
        "under 2 hours",
        "The harbour reopens at noon.",
    ] {
        assert!(html.contains(expected), "{expected} missing from:\n{html}");
    }
    let audit = client
        .get(app.at("/console/audit"))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    for action in [
        "incident.open",
        "policies.replace",
        "channels.replace",
        "update.publish",
        "session.login",
    ] {
        assert!(audit.contains(action), "{action} not audited");
    }
}

/// PostgreSQL only: the page keeps being served while its database is unreachable.
#[tokio::test]
async fn page_survives_the_database_going_away() {
    let app = TestApp::spawn(TestEngine::Postgres).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    open(&app, &token, "outage", "en").await;
    publish(&app, &token, "outage", "Before the database went away.").await;
    let name = app.db.postgres_name().unwrap_or_default().to_owned();
    app.db
        .admin_execute(&format!(
            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"
        ))
        .await;
    app.db
        .admin_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await;
    let ready = reqwest::get(app.at("/readyz"))
        .await
        .map(|r| r.status().as_u16())
        .ok();
    assert_eq!(ready, Some(503), "readiness reports the database");
    for _ in 0..5 {
        let (status, html) = get_text(&app.at("/i/outage")).await;
        assert_eq!(status, 200);
        assert!(html.contains("Before the database went away."));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    app.db
        .admin_execute(&format!(
            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"
        ))
        .await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while reqwest::get(app.at("/readyz"))
        .await
        .map(|r| r.status().as_u16())
        .ok()
        != Some(200)
    {
        assert!(
            Instant::now() < deadline,
            "muster recovers by itself when the database is back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// PostgreSQL only: an update published on one of three replicas is served by all of
/// them within 2 s.
#[tokio::test]
async fn replicas_serve_a_new_update_within_two_seconds() {
    let app = TestApp::spawn(TestEngine::Postgres).await;
    let (_second, second_url) = app.replica().await;
    let (_third, third_url) = app.replica().await;
    let token = app.token(MANAGER_EMAIL, "manager");
    open(&app, &token, "multi-replica", "en").await;
    publish(
        &app,
        &token,
        "multi-replica",
        "Published on the first replica.",
    )
    .await;
    let published = Instant::now();
    for replica in [&app.url, &second_url, &third_url] {
        loop {
            let (status, html) = get_text(&format!("{replica}/i/multi-replica")).await;
            if status == 200 && html.contains("Published on the first replica.") {
                break;
            }
            assert!(
                published.elapsed() < Duration::from_secs(2),
                "{replica} is stale after 2 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// PostgreSQL only: every connection to the database is cut, again and again, during a
/// surge; the landing page never fails, and submissions succeed again by themselves.
#[tokio::test]
async fn connections_cut_under_load_heal_by_themselves() {
    let app = TestApp::spawn_with(
        TestEngine::Postgres,
        &[("MUSTER__INTAKE__MAX_PER_ADDRESS", "1000000")],
    )
    .await;
    let token = app.token(MANAGER_EMAIL, "manager");
    open(&app, &token, "cut", "en").await;
    let name = app.db.postgres_name().unwrap_or_default().to_owned();
    let page_url = app.at("/i/cut");
    let reader = tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut failures = 0;
        for _ in 0..200 {
            let ok = client
                .get(&page_url)
                .send()
                .await
                .map(|r| r.status() == 200)
                .unwrap_or(false);
            if !ok {
                failures += 1;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        failures
    });
    let submit = |n: usize| {
        let url = app.at("/i/cut/form");
        async move {
            let form = crate::support::intake_form(&format!("{n:05}"));
            crate::support::browser()
                .post(url)
                .form(&form)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };
    for round in 0..3 {
        app.db
            .admin_execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ))
            .await;
        let mut statuses = Vec::new();
        for n in 0..10 {
            statuses.push(submit(round * 100 + n).await);
        }
        assert!(
            statuses.iter().rev().take(5).all(|s| *s == 303),
            "submissions heal after cut {round}: {statuses:?}"
        );
    }
    assert_eq!(
        reader.await.unwrap_or(1),
        0,
        "the landing page never failed"
    );
}
