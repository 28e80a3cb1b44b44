//! Outbound webhooks in the store, on SQLite and on PostgreSQL: fan-out per subscribed
//! endpoint, incident events written with their change, exclusive claims, retries.

// A test step that fails says what it expected (clippy.toml allows `expect` in tests;
// these helpers are test code too).
#![allow(clippy::expect_used)]

use std::time::Duration as StdDuration;

use muster_core::incident::IncidentStatus;
use muster_core::language::Lang;
use muster_core::localized::Localized;
use muster_core::webhook::{WebhookEvent, WebhookUrl};
use muster_store::Store;
use muster_store::incidents::{IncidentDraft, IncidentEdit};
use muster_store::on_both_engines;
use muster_store::testing::{TestDb, TestEngine, incident_draft};
use muster_store::webhooks::{AttemptOutcome, DeliveryStatus, NextStep, emit_event_on};
use sea_orm::TransactionTrait;
use time::Duration;

on_both_engines!(
    events_fan_out_to_subscribed_active_endpoints,
    incident_events_are_written_with_their_change,
    claims_are_exclusive_and_leases_expire,
    failures_are_retried_later_then_given_up,
    endpoints_are_audited_and_deleted_with_their_deliveries
);

const LEASE: Duration = Duration::seconds(60);

fn url(raw: &str) -> WebhookUrl {
    WebhookUrl::parse(raw).unwrap_or_else(|e| panic!("{e}"))
}

async fn endpoint(store: &Store, path: &str, events: &[WebhookEvent]) -> i64 {
    store
        .create_webhook(&url(&format!("http://127.0.0.1:9/{path}")), events, "test")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .endpoint
        .id
}

fn draft(slug: &str, status: IncidentStatus) -> IncidentDraft {
    let en = Lang::english();
    IncidentDraft {
        status,
        time_zone: "Europe/Oslo".into(),
        title: Localized::single(en.clone(), "Trams stopped"),
        summary: Localized::single(en, "Power cut"),
        ..incident_draft(slug)
    }
}

fn ok<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

async fn events_fan_out_to_subscribed_active_endpoints(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let both = endpoint(
        &store,
        "both",
        &[WebhookEvent::UpdatePublished, WebhookEvent::CaseOverdue],
    )
    .await;
    let overdue = endpoint(&store, "overdue", &[WebhookEvent::CaseOverdue]).await;
    let disabled = endpoint(&store, "off", &[WebhookEvent::CaseOverdue]).await;
    ok(store.set_webhook_active(disabled, false, "test").await);

    let queued = ok(store
        .emit_event("case.overdue", serde_json::json!({ "case": "MX-7K3Q9P" }))
        .await);
    assert_eq!(queued, 2, "one delivery per active subscribed endpoint");
    assert_eq!(
        ok(store
            .emit_event("campaign.finished", serde_json::json!({}))
            .await),
        0
    );
    assert!(
        store
            .emit_event("case.overdu", serde_json::json!({}))
            .await
            .is_err(),
        "a misspelt event is refused"
    );

    let claimed = ok(store.claim_webhook_deliveries(10, LEASE).await);
    assert_eq!(claimed.len(), 2);
    let mut endpoints: Vec<i64> = claimed.iter().map(|c| c.endpoint_id).collect();
    endpoints.sort_unstable();
    assert_eq!(endpoints, vec![both, overdue]);
    assert_ne!(claimed[0].delivery_id, claimed[1].delivery_id);
    for c in &claimed {
        assert_eq!(c.event, "case.overdue");
        assert_eq!(c.attempts, 1);
        assert!(c.secret.starts_with("whsec_"));
        assert_eq!(c.body["id"], c.delivery_id.as_str());
        assert_eq!(c.body["event"], "case.overdue");
        assert_eq!(c.body["data"]["case"], "MX-7K3Q9P");
    }
    let log = ok(store.webhook_deliveries(both, 10).await);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, DeliveryStatus::Delivering);
    assert!(ok(store.webhook_deliveries(disabled, 10).await).is_empty());
}

async fn incident_events_are_written_with_their_change(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let all = endpoint(&store, "all", &WebhookEvent::ALL).await;
    let events = |store: Store| async move {
        let mut names: Vec<String> = ok(store.webhook_deliveries(all, 50).await)
            .into_iter()
            .map(|d| d.event)
            .collect();
        names.reverse();
        names
    };

    // A dark site is prepared quietly: no event for the draft or its updates.
    ok(store
        .create_incident(draft("ferry", IncidentStatus::Draft), "test")
        .await);
    ok(store
        .post_update(
            "ferry",
            Localized::single(Lang::english(), "Prep"),
            None,
            "t",
        )
        .await);
    assert!(events(store.clone()).await.is_empty());

    let publish = IncidentEdit {
        status: Some(IncidentStatus::Active),
        ..Default::default()
    };
    ok(store.edit_incident("ferry", publish.clone(), "test").await);
    // Publishing twice announces once; moving between public statuses announces nothing.
    ok(store.edit_incident("ferry", publish, "test").await);
    let monitoring = IncidentEdit {
        status: Some(IncidentStatus::Monitoring),
        ..Default::default()
    };
    ok(store.edit_incident("ferry", monitoring, "test").await);
    ok(store
        .post_update(
            "ferry",
            Localized::single(Lang::english(), "Buses"),
            None,
            "t",
        )
        .await);
    ok(store
        .create_incident(draft("trams", IncidentStatus::Active), "test")
        .await);
    assert_eq!(
        events(store.clone()).await,
        vec![
            "incident.published",
            "update.published",
            "incident.published"
        ]
    );

    let claimed = ok(store.claim_webhook_deliveries(10, LEASE).await);
    let update = claimed
        .iter()
        .find(|c| c.event == "update.published")
        .unwrap_or_else(|| panic!("no update delivery"));
    assert_eq!(update.body["data"]["incident"]["slug"], "ferry");
    assert_eq!(update.body["data"]["update"]["body"]["en"], "Buses");

    // Other modules call `emit_event_on` inside their own transactions: a delivery
    // written in one that rolls back never goes out; one that commits does.
    let conn = ok(sea_orm::Database::connect(db.url.as_str()).await);
    let tx = ok(conn.begin().await);
    assert_eq!(
        ok(emit_event_on(&tx, "case.overdue", serde_json::json!({"n": 1})).await),
        1
    );
    ok(tx.rollback().await);
    assert!(ok(store.claim_webhook_deliveries(10, LEASE).await).is_empty());
    let tx = ok(conn.begin().await);
    ok(emit_event_on(&tx, "case.overdue", serde_json::json!({"n": 2})).await);
    ok(tx.commit().await);
    ok(conn.close().await);
    let overdue = ok(store.claim_webhook_deliveries(10, LEASE).await);
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].body["data"]["n"], 2);
}

async fn claims_are_exclusive_and_leases_expire(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    endpoint(&store, "a", &[WebhookEvent::CaseOverdue]).await;
    endpoint(&store, "b", &[WebhookEvent::CaseOverdue]).await;
    for n in 0..3 {
        ok(store
            .emit_event("case.overdue", serde_json::json!({ "n": n }))
            .await);
    }
    // Two workers claim at once: between them every delivery, none twice.
    let (first, second) = tokio::join!(
        store.claim_webhook_deliveries(4, LEASE),
        store.claim_webhook_deliveries(4, LEASE)
    );
    let mut ids: Vec<i64> = ok(first)
        .into_iter()
        .chain(ok(second))
        .map(|c| c.id)
        .collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(before, 6);
    assert_eq!(ids.len(), 6);
    assert!(ok(store.claim_webhook_deliveries(10, LEASE).await).is_empty());

    // A lease that ran out (a worker that died) makes the delivery due again, same id.
    ok(store
        .emit_event("case.overdue", serde_json::json!({}))
        .await);
    let short = ok(store
        .claim_webhook_deliveries(10, Duration::milliseconds(1))
        .await);
    assert_eq!(short.len(), 2);
    tokio::time::sleep(StdDuration::from_millis(20)).await;
    let again = ok(store.claim_webhook_deliveries(10, LEASE).await);
    let mut first_ids: Vec<&str> = short.iter().map(|c| c.delivery_id.as_str()).collect();
    let mut again_ids: Vec<&str> = again.iter().map(|c| c.delivery_id.as_str()).collect();
    first_ids.sort_unstable();
    again_ids.sort_unstable();
    assert_eq!(first_ids, again_ids);
    assert!(again.iter().all(|c| c.attempts == 2));
}

async fn failures_are_retried_later_then_given_up(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let id = endpoint(&store, "flaky", &[WebhookEvent::CampaignFinished]).await;
    ok(store
        .emit_event("campaign.finished", serde_json::json!({}))
        .await);
    let claimed = ok(store.claim_webhook_deliveries(10, LEASE).await);
    let delivery = claimed[0].id;
    let failed = AttemptOutcome {
        status_code: Some(500),
        error: Some("HTTP 500".into()),
        duration: StdDuration::from_millis(12),
    };
    ok(store
        .record_webhook_attempt(delivery, &failed, NextStep::RetryIn(Duration::minutes(2)))
        .await);
    let log = ok(store.webhook_deliveries(id, 10).await);
    assert_eq!(log[0].status, DeliveryStatus::Pending);
    assert_eq!(log[0].last_status_code, Some(500));
    let next = log[0]
        .next_attempt_at
        .unwrap_or_else(|| panic!("a retry is scheduled"));
    let wait = next - time::OffsetDateTime::now_utc();
    assert!(
        wait > Duration::seconds(100) && wait <= Duration::minutes(2),
        "{wait}"
    );
    assert!(
        ok(store.claim_webhook_deliveries(10, LEASE).await).is_empty(),
        "not due before its time"
    );

    // Due now: claimed again, then given up on.
    ok(store
        .record_webhook_attempt(delivery, &failed, NextStep::RetryIn(Duration::ZERO))
        .await);
    let retried = ok(store.claim_webhook_deliveries(10, LEASE).await);
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].attempts, 2);
    let refused = AttemptOutcome {
        status_code: None,
        error: Some("connection refused".into()),
        duration: StdDuration::from_millis(3),
    };
    ok(store
        .record_webhook_attempt(delivery, &refused, NextStep::GiveUp)
        .await);
    let log = ok(store.webhook_deliveries(id, 10).await);
    assert_eq!(log[0].status, DeliveryStatus::Failed);
    assert_eq!(log[0].last_status_code, None);
    assert_eq!(log[0].last_error.as_deref(), Some("connection refused"));
    assert_eq!(log[0].history.len(), 3);
    assert_eq!(log[0].history[0].duration_ms, 12);
    assert!(ok(store.claim_webhook_deliveries(10, LEASE).await).is_empty());
}

async fn endpoints_are_audited_and_deleted_with_their_deliveries(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let created = ok(store
        .create_webhook(
            &url("https://hooks.example.com/in"),
            &[WebhookEvent::IncidentPublished],
            "user:kari@example.com",
        )
        .await);
    let id = created.endpoint.id;
    assert_eq!(ok(store.list_webhooks().await).len(), 1);
    ok(store
        .emit_event("incident.published", serde_json::json!({}))
        .await);
    // Pending deliveries of a disabled endpoint wait; they go out once it is enabled.
    ok(store
        .set_webhook_active(id, false, "user:kari@example.com")
        .await);
    assert!(!ok(store.webhook(id).await).active);
    assert!(ok(store.claim_webhook_deliveries(10, LEASE).await).is_empty());
    ok(store
        .set_webhook_active(id, true, "user:kari@example.com")
        .await);
    let in_flight = ok(store.claim_webhook_deliveries(10, LEASE).await);
    assert_eq!(in_flight.len(), 1);

    ok(store.delete_webhook(id, "user:kari@example.com").await);
    // A worker finishing a delivery of the deleted endpoint records nothing, and no error.
    let answered = AttemptOutcome {
        status_code: Some(204),
        error: None,
        duration: StdDuration::from_millis(5),
    };
    ok(store
        .record_webhook_attempt(in_flight[0].id, &answered, NextStep::Delivered)
        .await);
    assert!(ok(store.list_webhooks().await).is_empty());
    assert!(ok(store.webhook_deliveries(id, 10).await).is_empty());
    assert!(matches!(
        store.delete_webhook(id, "test").await,
        Err(muster_store::StoreError::NotFound(_))
    ));
    let actions: Vec<String> = ok(store.recent_audit(10).await)
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "webhook.create",
        "webhook.disable",
        "webhook.enable",
        "webhook.delete",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    let audit =
        serde_json::to_string(&ok(store.recent_audit(10).await)).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !audit.contains(&created.secret),
        "no secret in the audit log"
    );
}
