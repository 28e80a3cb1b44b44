//! A limit that holds across replicas (issue 14): on PostgreSQL, N submissions per client
//! and window is N for the whole deployment, however the requests are spread.

use muster_store::testing::TestEngine;
use serde_json::json;

use crate::support::{MANAGER_EMAIL, TestApp, browser};

const LIMIT: &str = "3";

fn form(n: usize) -> Vec<(&'static str, String)> {
    let date = time::OffsetDateTime::now_utc().date() + time::Duration::days(3);
    vec![
        ("name", format!("Customer {n}")),
        ("email", format!("c{n}@example.com")),
        ("booking_ref", format!("BK{n:04}")),
        ("departure_date", date.to_string()),
        ("request_type", "refund".into()),
        ("message", "Refund, please".into()),
        ("idempotency_key", format!("{n}").repeat(64)),
    ]
}

/// PostgreSQL only: one client sending to two replicas in turn is refused after the limit.
#[tokio::test]
async fn one_limit_across_two_replicas() {
    let env = [("MUSTER__INTAKE__MAX_PER_ADDRESS", LIMIT)];
    let app = TestApp::spawn_with(TestEngine::Postgres, &env).await;
    let (_second, second_url) = app.replica_with(&env).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    let response = reqwest::Client::new()
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"slug": "gust", "title": "Gust", "time_zone": "UTC"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(response.status(), 201);
    let mut statuses = Vec::new();
    for n in 1..=6 {
        let base = if n % 2 == 0 { &second_url } else { &app.url };
        let response = browser()
            .post(format!("{base}/i/gust/form"))
            .form(&form(n))
            .send()
            .await
            .expect("the request reaches the server");
        statuses.push(response.status().as_u16());
    }
    // In memory each replica would have taken three: six in all.
    assert_eq!(statuses, vec![303, 303, 303, 429, 429, 429], "{statuses:?}");
}
