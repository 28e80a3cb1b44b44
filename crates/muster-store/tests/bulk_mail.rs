//! The audience and the campaign queue against both engines.

// A test step that fails says what it expected (clippy.toml allows `expect` in tests;
// these helpers are test code too).
#![allow(clippy::expect_used)]

use muster_core::audience::parse_audience_csv;
use muster_core::campaign::{CampaignContent, CampaignStatus, Segment};
use muster_core::language::Lang;
use muster_store::Store;
use muster_store::campaigns::NewCampaign;
use muster_store::dispatch::Outcome;
use muster_store::incidents::IncidentDraft;
use muster_store::on_both_engines;
use muster_store::testing::{TestDb, TestEngine, incident_draft};

on_both_engines!(
    import_updates_by_email,
    claims_lease_and_finish,
    scheduled_then_cancelled,
    one_pending_confirmation_per_address
);

fn ok<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

async fn incident(store: &Store) -> i64 {
    let draft = IncidentDraft {
        time_zone: "Europe/Oslo".into(),
        languages: vec![Lang::english(), ok(Lang::parse("nb"))],
        ..incident_draft("ferry-fire")
    };
    ok(store.create_incident(draft, "test").await).id
}

async fn import(store: &Store, id: i64, csv: &str) -> muster_store::audience::ImportCounts {
    let parsed = ok(parse_audience_csv(csv, &Lang::english()));
    ok(store.upsert_audience(id, &parsed.rows).await)
}

async fn import_updates_by_email(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let id = incident(&store).await;
    let csv =
        "email,name,language,departure_date\na@example.com,A,en,2026-12-01\nb@example.com,B,nb,\n";
    let first = import(&store, id, csv).await;
    assert_eq!((first.created, first.updated), (2, 0));
    let again = import(
        &store,
        id,
        "email,name\nA@example.com,Anne\nc@example.com,C\n",
    )
    .await;
    assert_eq!((again.created, again.updated), (1, 1));
    assert_eq!(ok(store.audience_counts(id).await).total, 3);
    let sample = ok(store.sample_recipient(id, &Segment::default()).await);
    assert_eq!(sample.map(|r| r.name), Some("Anne".to_owned()));
}

async fn claims_lease_and_finish(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let id = incident(&store).await;
    let csv = "email,name,language\na@example.com,A,en\nb@example.com,B,nb\nc@example.com,C,en\nd@example.com,D,en\n";
    import(&store, id, csv).await;
    let nothing = ok(store
        .claim_deliveries("probe", 10, time::Duration::seconds(1))
        .await);
    assert!(nothing.is_empty(), "nothing to claim before a campaign");
    let content = CampaignContent {
        subject: "Hi {{name}}".into(),
        text: "Hello".into(),
        html: None,
    };
    let english = Segment {
        languages: vec![Lang::english()],
        ..Default::default()
    };
    let campaign = ok(store
        .create_campaign(
            "ferry-fire",
            NewCampaign {
                content,
                segment: english,
                send_at: None,
            },
            "example.com",
            "test",
            None,
        )
        .await);
    assert_eq!(campaign.status, CampaignStatus::Sending);
    assert_eq!(ok(store.campaign_progress(campaign.id).await).pending, 3);

    // Two workers never get the same delivery.
    let first = ok(store
        .claim_deliveries("w1", 2, time::Duration::seconds(1))
        .await);
    let second = ok(store
        .claim_deliveries("w2", 5, time::Duration::seconds(1))
        .await);
    assert_eq!((first.len(), second.len()), (2, 1));
    assert!(first[0].message_id.ends_with("@example.com"));
    // w2 dies; after its lease it is due again, same Message-ID.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let again = ok(store
        .claim_deliveries("w3", 5, time::Duration::seconds(30))
        .await);
    let ids: Vec<&str> = again.iter().map(|d| d.message_id.as_str()).collect();
    assert!(ids.contains(&second[0].message_id.as_str()), "{ids:?}");

    ok(store.pause_campaign(campaign.id, "test").await);
    let outcomes: Vec<(i64, Outcome)> = again.iter().map(|d| (d.id, Outcome::Sent)).collect();
    ok(store.record_outcomes(&outcomes).await);
    assert!(
        ok(store.finish_campaigns().await).is_empty(),
        "paused campaigns do not finish"
    );
    ok(store.resume_campaign(campaign.id, "test").await);
    let rest = ok(store
        .claim_deliveries("w3", 5, time::Duration::seconds(30))
        .await);
    let failed = rest.iter().map(|d| {
        (
            d.id,
            Outcome::Failed {
                error: "550 no such user".into(),
                bounce: true,
            },
        )
    });
    ok(store.record_outcomes(&failed.collect::<Vec<_>>()).await);
    assert_eq!(ok(store.finish_campaigns().await), vec![campaign.id]);
    let progress = ok(store.campaign_progress(campaign.id).await);
    assert_eq!((progress.sent + progress.failed, progress.pending), (3, 0));
    assert_eq!(ok(store.audience_counts(id).await).bounced, progress.failed);
}

async fn scheduled_then_cancelled(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let id = incident(&store).await;
    import(
        &store,
        id,
        "email,name,departure_date\na@example.com,A,2026-12-01\nb@example.com,B,2026-12-20\n",
    )
    .await;
    let content = CampaignContent {
        subject: "Hi".into(),
        text: "Hello".into(),
        html: None,
    };
    let december_first_week = Segment {
        departure_from: muster_core::audience::parse_date("2026-12-01"),
        departure_to: muster_core::audience::parse_date("2026-12-07"),
        ..Default::default()
    };
    let at = time::OffsetDateTime::now_utc() + time::Duration::milliseconds(800);
    let new = NewCampaign {
        content,
        segment: december_first_week,
        send_at: Some(at),
    };
    let campaign = ok(store
        .create_campaign("ferry-fire", new, "example.com", "test", None)
        .await);
    assert_eq!(campaign.status, CampaignStatus::Scheduled);
    assert_eq!(
        ok(store.start_due_campaigns("example.com").await),
        0,
        "not yet"
    );
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    assert_eq!(ok(store.start_due_campaigns("example.com").await), 1);
    assert_eq!(
        ok(store.start_due_campaigns("example.com").await),
        0,
        "started once"
    );
    let progress = ok(store.campaign_progress(campaign.id).await);
    assert_eq!(
        progress.pending, 1,
        "the departure window selects one member"
    );
    let cancelled = ok(store.cancel_campaign(campaign.id, "test").await);
    assert_eq!(cancelled.status, CampaignStatus::Cancelled);
    let progress = ok(store.campaign_progress(campaign.id).await);
    assert_eq!((progress.pending, progress.cancelled), (0, 1));
    let claims = ok(store
        .claim_deliveries("w", 10, time::Duration::seconds(5))
        .await);
    assert!(claims.is_empty());
    assert!(store.resume_campaign(campaign.id, "test").await.is_err());
}

async fn one_pending_confirmation_per_address(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let id = incident(&store).await;
    let minutes = time::Duration::minutes;
    let first = ok(store
        .subscribe(id, "fan@example.com", "en", minutes(10))
        .await);
    let token = first.unwrap_or_else(|| panic!("a new sign-up gets its confirmation"));
    // Signing up again while that one is fresh sends nothing, on any replica: the claim
    // is one conditional write.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let store = store.clone();
        tasks.spawn(async move {
            store
                .subscribe(id, "fan@example.com", "en", time::Duration::minutes(10))
                .await
        });
    }
    let again = tasks.join_all().await;
    assert!(again.iter().all(|r| matches!(r, Ok(None))), "{again:?}");
    // Once it is old enough, or it could not be sent, the same link goes out again.
    let resent = ok(store
        .subscribe(id, "fan@example.com", "en", minutes(0))
        .await);
    assert_eq!(resent.as_deref(), Some(token.as_str()));
    ok(store.confirmation_not_sent(id, "fan@example.com").await);
    let retried = ok(store
        .subscribe(id, "fan@example.com", "en", minutes(10))
        .await);
    assert_eq!(retried.as_deref(), Some(token.as_str()));
    // A confirmed subscriber is never sent another.
    assert!(ok(store.confirm_subscription(&token).await));
    let confirmed = ok(store
        .subscribe(id, "fan@example.com", "en", minutes(0))
        .await);
    assert_eq!(confirmed, None);
}
