//! Running the service: configuration errors, health, metrics, CLI, graceful shutdown.

use muster_store::testing::TestEngine;

use crate::support::{TestApp, binary, scratch_dir};
use muster_store::on_both_engines;

on_both_engines!(
    health_readiness_and_metrics,
    cli_manages_incidents_and_tokens,
    sigterm_stops_cleanly
);

async fn health_readiness_and_metrics(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let client = reqwest::Client::new();
    let health = client
        .get(app.at("/healthz"))
        .send()
        .await
        .expect("the request reaches the server");
    assert_eq!(health.status(), 200);
    assert!(
        health.headers().get("x-request-id").is_some(),
        "every response carries a request id"
    );
    assert_eq!(
        client
            .get(app.at("/readyz"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .ok(),
        Some(200)
    );
    let _ = client.get(app.at("/i/no-such-incident")).send().await;
    let metrics = client
        .get(app.at("/metrics"))
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        metrics.contains("muster_http_requests_total{route=\"/healthz\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("status=\"404\""), "{metrics}");
    assert!(
        metrics.contains(
            "muster_http_request_duration_seconds_bucket{route=\"/readyz\",le=\"+Inf\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("muster_queue_depth "), "{metrics}");
}

async fn cli_manages_incidents_and_tokens(engine: TestEngine) {
    let app = TestApp::spawn(engine).await;
    let (ok, out, err) = app.muster(
        &[
            "incident",
            "open",
            "--slug",
            "tram-stop",
            "--title",
            "Trams stopped",
            "--time-zone",
            "Europe/Riga",
            "--languages",
            "lv,en",
        ],
        &[],
    );
    assert!(ok, "{err}");
    assert!(out.contains("/i/tram-stop"), "{out}");
    let (ok, _, err) = app.muster(
        &[
            "incident",
            "open",
            "--slug",
            "Bad Slug",
            "--title",
            "",
            "--time-zone",
            "Nowhere/City",
        ],
        &[],
    );
    assert!(!ok);
    assert!(
        err.contains("--slug") && err.contains("--title") && err.contains("--time-zone"),
        "{err}"
    );
    let (ok, _, err) = app.muster(
        &[
            "incident",
            "update",
            "--slug",
            "tram-stop",
            "--message",
            "Buses run every 10 minutes",
        ],
        &[],
    );
    assert!(ok, "{err}");
    let token = app.token("ops@example.com", "manager");
    assert!(token.starts_with("mst_"), "{token}");
    let incident: serde_json::Value = reqwest::Client::new()
        .get(app.at("/api/v1/incidents/tram-stop"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("the request reaches the server")
        .json()
        .await
        .expect("the answer is JSON");
    assert_eq!(
        incident["updates"][0]["body"]["lv"],
        "Buses run every 10 minutes"
    );
    let (ok, _, err) = app.muster(&["incident", "close", "--slug", "tram-stop"], &[]);
    assert!(ok, "{err}");
    let (ok, _, _) = app.muster(
        &[
            "user",
            "add",
            "--email",
            "x@example.com",
            "--name",
            "X",
            "--role",
            "manager",
        ],
        &[("MUSTER_PASSWORD", "short")],
    );
    assert!(!ok, "a short password is refused");
}

async fn sigterm_stops_cleanly(engine: TestEngine) {
    let mut app = TestApp::spawn(engine).await;
    assert!(app.terminate().await, "muster exits 0 on SIGTERM");
    let logs = app.logs();
    assert!(
        logs.contains("shutting down") && logs.contains("stopped"),
        "{logs}"
    );
}

#[tokio::test]
async fn bad_configuration_names_the_key() {
    let dir = scratch_dir();
    let run = |key: &str, value: &str| {
        let output = std::process::Command::new(binary())
            .arg("migrate")
            .current_dir(&dir)
            .env(key, value)
            .output()
            .expect("the command runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, err) = run("MUSTER__SERVER__BIND", "127.0.0.1:99999");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("server.bind") && err.contains("65535"),
        "{err}"
    );
    let (code, err) = run("MUSTER__DATABASE__URL", "mysql://nope");
    assert_eq!(code, Some(2));
    assert!(err.contains("database.url"), "{err}");
    let (code, err) = run("MUSTER__MAIL__HOSTNAME", "smtp.example.com");
    assert_eq!(code, Some(2));
    assert!(err.contains("mail.hostname: unknown key"), "{err}");
    let bad_file = dir.join("bad.toml");
    std::fs::write(&bad_file, "[public]\nbase_url = \"ftp://example.com\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let output = std::process::Command::new(binary())
        .args(["--config", bad_file.to_str().unwrap_or_default(), "migrate"])
        .current_dir(&dir)
        .output()
        .expect("the command runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("public.base_url"));
    let _ = std::fs::remove_dir_all(dir);
}
