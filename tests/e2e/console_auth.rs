//! Console sign-in over HTTP: sessions, CSRF, throttling and role checks.

use muster_store::testing::TestEngine;

use crate::support::{AGENT_EMAIL, MANAGER_EMAIL, PASSWORD, TestApp, browser, csrf_of};
use muster_store::on_both_engines;

on_both_engines!(
    login_and_logout,
    csrf_is_enforced,
    agents_cannot_reach_manager_pages,
    failed_logins_are_throttled,
    the_owner_gets_in_while_an_attacker_elsewhere_keeps_failing,
);

async fn login_and_logout(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    app.add_user(MANAGER_EMAIL, "manager");
    let anonymous = browser();
    let response = anonymous
        .get(app.at("/console"))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/console/login");

    let client = browser();
    let form = client
        .get(app.at("/console/login"))
        .send()
        .await
        .expect("the request reaches the server");
    let html = form.text().await.unwrap_or_default();
    let csrf = csrf_of(&html);
    let wrong = client
        .post(app.at("/console/login"))
        .form(&[
            ("email", MANAGER_EMAIL),
            ("password", "not the password"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(wrong.status(), 401);
    let page = wrong.text().await.unwrap_or_default();
    assert!(page.contains("do not match"), "{page}");
    assert!(
        page.contains(&format!("value=\"{MANAGER_EMAIL}\"")),
        "the typed email is kept"
    );

    let client = app.login(MANAGER_EMAIL).await;
    let home = client
        .get(app.at("/console"))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(home.status(), 200);
    let set_cookie = home
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    assert_eq!(set_cookie.as_deref(), Some("no-store"));
    let html = home.text().await.unwrap_or_default();
    assert!(html.contains("Open an incident"), "{html}");

    let logout_without_token = client
        .post(app.at("/console/logout"))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(logout_without_token.status(), 403);
    let logout = client
        .post(app.at("/console/logout"))
        .form(&[("csrf", csrf_of(&html))])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(logout.status(), 303);
    let after = client
        .get(app.at("/console"))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(after.status(), 303, "the session is gone after logout");
}

async fn csrf_is_enforced(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    app.add_user(MANAGER_EMAIL, "manager");
    // The login form itself needs its token.
    let client = browser();
    let no_token = client
        .post(app.at("/console/login"))
        .form(&[
            ("email", MANAGER_EMAIL),
            ("password", PASSWORD),
            ("csrf", "x"),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(no_token.status(), 403);

    let client = app.login(MANAGER_EMAIL).await;
    let forged = client
        .post(app.at("/console/incidents"))
        .form(&[
            ("csrf", "forged"),
            ("slug", "forged-incident"),
            ("title", "Forged"),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(forged.status(), 403);
    let missing = client
        .post(app.at("/console/incidents"))
        .form(&[("slug", "forged-incident"), ("title", "Forged")])
        .send()
        .await
        .expect("the request reaches the server");
    assert!(missing.status().is_client_error());
    let html = client
        .get(app.at("/console"))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    assert!(!html.contains("forged-incident"), "no incident was created");
    let real = client
        .post(app.at("/console/incidents"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("slug", "real-incident"),
            ("title", "Real"),
            ("time_zone", "UTC"),
            ("languages", "en"),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(real.status(), 303);
}

async fn agents_cannot_reach_manager_pages(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let manager_token = app.token(MANAGER_EMAIL, "manager");
    let agent_token = app.token(AGENT_EMAIL, "agent");
    let api = reqwest::Client::new();
    let open = api
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&manager_token)
        .json(&serde_json::json!({"slug": "bridge-closed", "title": "Bridge closed"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(open.status(), 201);
    let by_agent = api
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&agent_token)
        .json(&serde_json::json!({"slug": "agent-incident", "title": "No"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(by_agent.status(), 403);
    let anonymous = api
        .get(app.at("/api/v1/incidents"))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(anonymous.status(), 401);
    let bad = api
        .get(app.at("/api/v1/incidents"))
        .bearer_auth("mst_nonsense")
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(bad.status(), 401);

    let agent = app.login(AGENT_EMAIL).await;
    let home = agent
        .get(app.at("/console"))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap_or_default();
    assert!(
        !html.contains("Open an incident"),
        "agents get no manager form"
    );
    for path in ["/console/incidents/bridge-closed", "/console/audit"] {
        let response = agent
            .get(app.at(path))
            .send()
            .await
            .expect("the request reaches the server");
        assert_eq!(response.status(), 403, "{path}");
    }
    let post = agent
        .post(app.at("/console/incidents/bridge-closed/updates"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("update_body", "agent update"),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(post.status(), 403);
}

async fn failed_logins_are_throttled(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    app.add_user(MANAGER_EMAIL, "manager");
    let client = browser();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let html = client
            .get(app.at("/console/login"))
            .send()
            .await
            .expect("the request reaches the server")
            .text()
            .await
            .unwrap_or_default();
        let response = client
            .post(app.at("/console/login"))
            .form(&[
                ("email", MANAGER_EMAIL),
                ("password", "guess guess guess"),
                ("csrf", &csrf_of(&html)),
            ])
            .send()
            .await
            .expect("the request reaches the server");
        if response.status() == 429 {
            assert!(response.headers().get("retry-after").is_some());
        }
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    // Even the right password waits out the window.
    let html = client
        .get(app.at("/console/login"))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    let right = client
        .post(app.at("/console/login"))
        .form(&[
            ("email", MANAGER_EMAIL),
            ("password", PASSWORD),
            ("csrf", &csrf_of(&html)),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(right.status(), 429);
}

/// One sign-in attempt through a proxy that says the client is `from`: the status, the
/// `Retry-After` seconds and the page.
async fn sign_in_from(
    app: &TestApp,
    client: &reqwest::Client,
    from: &str,
    email: &str,
    password: &str,
) -> (u16, Option<u64>, String) {
    let html = client
        .get(app.at("/console/login"))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    let response = client
        .post(app.at("/console/login"))
        .header("X-Forwarded-For", from)
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf", &csrf_of(&html)),
        ])
        .send()
        .await
        .expect("the request reaches the server");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (
        status,
        retry_after,
        response.text().await.unwrap_or_default(),
    )
}

async fn the_owner_gets_in_while_an_attacker_elsewhere_keeps_failing(engine: TestEngine) {
    let app =
        TestApp::spawn_with(engine, &[("MUSTER__SERVER__TRUSTED_PROXIES", "127.0.0.1")]).await;
    app.add_user(MANAGER_EMAIL, "manager");
    app.add_user(AGENT_EMAIL, "agent");
    let attacker = browser();
    let attacker_at = "203.0.113.66";
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let (status, retry_after, html) =
            sign_in_from(&app, &attacker, attacker_at, MANAGER_EMAIL, "guess guess").await;
        if status == 429 {
            let wait = retry_after.unwrap_or_else(|| panic!("a 429 says how long to wait"));
            assert!((1..=15).contains(&wait), "the first delay is short: {wait}");
            assert!(
                html.contains(&format!("Try again in {wait} seconds")),
                "the page says how long: {html}"
            );
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);

    // The owner, from their own address and with the right password, gets in at once.
    let owner = browser();
    let (status, _, _) = sign_in_from(&app, &owner, "198.51.100.10", MANAGER_EMAIL, PASSWORD).await;
    assert_eq!(
        status, 303,
        "the attacker's failures do not lock the owner out"
    );

    // The attacker is still held back, even with the right password, and the owner's
    // sign-in did not clear the attacker's failures.
    let (status, _, _) = sign_in_from(&app, &attacker, attacker_at, MANAGER_EMAIL, PASSWORD).await;
    assert_eq!(status, 429);
    // The header is believed only from the trusted proxy: the attacker cannot step to
    // a fresh address by writing one in front of the proxy's.
    let (status, _, _) = sign_in_from(
        &app,
        &attacker,
        &format!("198.51.100.10, {attacker_at}"),
        MANAGER_EMAIL,
        "guess guess",
    )
    .await;
    assert_eq!(status, 429);
    // Another account from the same address is not throttled by this one's failures.
    let (status, _, _) = sign_in_from(&app, &attacker, attacker_at, AGENT_EMAIL, "guess").await;
    assert_eq!(status, 401);
}
