//! Faults: the server killed with SIGKILL in the middle of a surge of submissions loses
//! none that it acknowledged.

use std::time::Duration;

use muster_store::testing::TestEngine;

use crate::support::{MANAGER_EMAIL, TestApp, browser, intake_form, signal};
use muster_store::on_both_engines;

on_both_engines!(every_acknowledged_submission_survives_a_kill);

async fn every_acknowledged_submission_survives_a_kill(engine: TestEngine) {
    let mut app =
        TestApp::spawn_with(engine, &[("MUSTER__INTAKE__MAX_PER_ADDRESS", "1000000")]).await;
    let token = app.token(MANAGER_EMAIL, "manager");
    let opened = reqwest::Client::new()
        .post(app.at("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"slug": "surge", "title": "Surge", "time_zone": "UTC"}))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(opened.status(), 201);
    let mut submitters = Vec::new();
    for worker in 0..8 {
        let url = app.at("/i/surge/form");
        submitters.push(tokio::spawn(async move {
            let client = browser();
            let mut acknowledged = Vec::new();
            for n in 0.. {
                let form = intake_form(&format!("{worker}{n:05}"));
                match client.post(&url).form(&form).send().await {
                    Ok(response) if response.status() == 303 => {
                        let location = response.headers()["location"]
                            .to_str()
                            .unwrap_or_default()
                            .to_owned();
                        acknowledged.push(location);
                    }
                    // Once the server is gone every request fails: the surge is over.
                    _ => return acknowledged,
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let child = app.take_child();
    signal(&child, "KILL");
    let mut acknowledged = Vec::new();
    for submitter in submitters {
        acknowledged.extend(submitter.await.unwrap_or_else(|e| panic!("{e}")));
    }
    assert!(
        acknowledged.len() > 20,
        "the surge was real: {} acknowledged",
        acknowledged.len()
    );
    drop(child);
    app.start_again(&[]).await;
    for location in &acknowledged {
        let status = reqwest::get(app.at(location))
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        assert_eq!(
            status, 200,
            "{location} was acknowledged but is gone after the kill"
        );
    }
}
