//! The agents' queue on both engines: order, exclusive claims under concurrency, SLA
//! marking exactly once, merging.

// A test step that fails says what it expected (clippy.toml allows `expect` in tests;
// these helpers are test code too).
#![allow(clippy::expect_used)]

use std::collections::HashSet;

use muster_core::case::{Case, CaseStatus};
use muster_core::case_ref::CaseRef;
use muster_core::incident::{ChannelKind, SlaTargets};
use muster_core::priority::PriorityWindows;
use muster_core::webhook::{WebhookEvent, WebhookUrl};
use muster_store::Store;
use muster_store::cases::MailJob;
use muster_store::error::StoreError;
use muster_store::on_both_engines;
use muster_store::queue::{QueueFilter, QueueScope};
use muster_store::testing::{TestDb, TestEngine, incident_draft, sample_intake};
use time::{Date, Duration, OffsetDateTime};

on_both_engines!(
    the_most_urgent_case_comes_first,
    no_case_is_given_twice,
    overdue_is_marked_once,
    merging_keeps_every_contact,
    resolving_releases_the_claim_and_is_audited
);

async fn incident(store: &Store) -> i64 {
    store
        .create_incident(incident_draft("queue-test"), "test")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id
}

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

async fn case(store: &Store, incident_id: i64, n: usize, departure_in_days: Option<i64>) -> String {
    let departure = departure_in_days.map(|d| today() + Duration::days(d));
    let intake = sample_intake(incident_id, n, ChannelKind::Form, departure);
    let receipt = store
        .take_in(intake, &format!("token-{n}"), |_, _| None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    receipt.case.reference.as_str().to_owned()
}

fn scope(incident_id: i64) -> QueueScope {
    QueueScope {
        incident_id,
        today: today(),
        windows: PriorityWindows::default(),
        teams: Some(vec!["refunds".into()]),
    }
}

async fn the_most_urgent_case_comes_first(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let id = incident(&store).await;
    let undated = case(&store, id, 1, None).await;
    let later = case(&store, id, 2, Some(30)).await;
    let soon = case(&store, id, 3, Some(5)).await;
    let now_ = case(&store, id, 4, Some(1)).await;
    let page = store
        .queue_page(&scope(id), &QueueFilter::default(), 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let order: Vec<&str> = page.iter().map(|c| c.reference.as_str()).collect();
    assert_eq!(
        order,
        [
            now_.as_str(),
            soon.as_str(),
            later.as_str(),
            undated.as_str()
        ]
    );
    let counts = store
        .tier_counts(&scope(id))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            counts.critical,
            counts.high,
            counts.normal,
            counts.needs_date
        ),
        (1, 1, 2, 1)
    );
    let lease = Duration::minutes(15);
    let mut taken = Vec::new();
    while let Some(next) = store
        .take_next(7, &scope(id), lease, OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    {
        taken.push(next.reference.as_str().to_owned());
    }
    assert_eq!(taken, [now_, soon, later, undated]);
    let other_team = QueueScope {
        teams: Some(vec!["rebooking".into()]),
        ..scope(id)
    };
    let none = store
        .take_next(
            8,
            &other_team,
            lease,
            OffsetDateTime::now_utc() + Duration::hours(1),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(none.is_none(), "agents only get their teams' cases");
    // A lapsed claim makes the case available again.
    let lapsed = store
        .take_next(
            8,
            &scope(id),
            lease,
            OffsetDateTime::now_utc() + Duration::hours(1),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(lapsed.is_some());
}

async fn no_case_is_given_twice(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let id = incident(&store).await;
    for n in 0..60 {
        case(&store, id, n, Some(i64::try_from(n % 20).unwrap_or(0))).await;
    }
    let mut agents = Vec::new();
    for agent in 0..10_i64 {
        let store = store.clone();
        agents.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(next) = store
                .take_next(
                    agent,
                    &scope(id),
                    Duration::minutes(15),
                    OffsetDateTime::now_utc(),
                )
                .await
                .unwrap_or_else(|e| panic!("{e}"))
            {
                mine.push(next.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for agent in agents {
        all.extend(agent.await.unwrap_or_else(|e| panic!("{e}")));
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(
        (all.len(), unique.len()),
        (60, 60),
        "every case given exactly once"
    );
}

async fn overdue_is_marked_once(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let id = incident(&store).await;
    let hook = store
        .create_webhook(
            &WebhookUrl::parse("http://127.0.0.1:9/hook").unwrap_or_else(|e| panic!("{e}")),
            &[WebhookEvent::parse("case.overdue").unwrap_or_else(|e| panic!("{e}"))],
            "test",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .endpoint
        .id;
    let critical = case(&store, id, 1, Some(1)).await;
    let _normal = case(&store, id, 2, Some(30)).await;
    let later = OffsetDateTime::now_utc() + Duration::hours(5);
    let alert = |c: &muster_core::case::Case| {
        vec![MailJob {
            kind: "overdue".into(),
            recipient: "m@example.com".into(),
            payload: serde_json::json!({"case": c.reference}),
        }]
    };
    let sla = SlaTargets::default();
    let first = store
        .mark_overdue(id, today(), PriorityWindows::default(), sla, later, alert)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        first
            .iter()
            .map(|c| c.reference.as_str())
            .collect::<Vec<_>>(),
        [critical.as_str()],
        "only the critical case is past 4 hours"
    );
    let again = store
        .mark_overdue(id, today(), PriorityWindows::default(), sla, later, alert)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(again.is_empty(), "marked once");
    assert_eq!(store.unsent_mail_count().await.ok(), Some(1), "one alert");
    let deliveries = store
        .webhook_deliveries(hook, 10)
        .await
        .expect("webhook deliveries succeeds");
    assert_eq!(
        deliveries
            .iter()
            .map(|d| d.event.as_str())
            .collect::<Vec<_>>(),
        ["case.overdue"],
        "one webhook"
    );
    let counts = store
        .tier_counts(&scope(id))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(counts.overdue, 1);
}

async fn merging_keeps_every_contact(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let id = incident(&store).await;
    let a = case(&store, id, 1, Some(3)).await;
    let b = case(&store, id, 2, Some(3)).await;
    let find = |r: &str| muster_core::case_ref::CaseRef::parse(r).unwrap_or_else(|e| panic!("{e}"));
    let source = store
        .case_by_reference(&find(&b))
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("b"));
    let target = store
        .case_by_reference(&find(&a))
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("a"));
    let now = time::OffsetDateTime::now_utc();
    let merged = store
        .merge_cases(source.id, target.id, "test", None, now, |c| {
            Some(MailJob {
                kind: "merged".into(),
                recipient: c.email.clone().unwrap_or_default(),
                payload: serde_json::json!({}),
            })
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(merged.case.contact_count, 2);
    let timeline = store.timeline(target.id).await.unwrap_or_default();
    assert_eq!(timeline.len(), 3, "every contact kept, and the merge noted");
    assert_eq!(timeline[2].body, format!("Merged from {b}"));
    let gone = store
        .case_by_reference(&find(&b))
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("b"));
    assert_eq!(
        (gone.status, gone.merged_into.as_deref()),
        (CaseStatus::Resolved, Some(a.as_str()))
    );
    // The merged customer's link (old reference, moved token) opens the surviving case.
    let old = store
        .case_by_token(&find(&b), "token-2")
        .await
        .ok()
        .flatten();
    assert_eq!(
        old.map(|(c, _)| c.reference.as_str().to_owned()),
        Some(a.clone()),
        "the old link leads to the surviving case"
    );
    let via_target = store
        .case_by_token(&find(&a), "token-2")
        .await
        .ok()
        .flatten();
    assert!(
        via_target.is_some(),
        "the token moved to the surviving case"
    );
    let undoable = store
        .undoable_merges(target.id, now - time::Duration::minutes(10))
        .await
        .unwrap_or_default();
    assert_eq!(undoable.len(), 1);
    assert!(
        store
            .undo_merge(
                merged.merge_id,
                "test",
                now + time::Duration::seconds(1),
                now
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none(),
        "a merge older than the window is not undone"
    );
    let (remaining, restored) = store
        .undo_merge(
            merged.merge_id,
            "test",
            now - time::Duration::minutes(10),
            now,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the undo"));
    assert_eq!((remaining.contact_count, restored.contact_count), (1, 1));
    assert_eq!(
        (restored.status, restored.merged_into),
        (source.status, None),
        "the merged-away case stands as before"
    );
    assert_eq!(
        store.timeline(target.id).await.map(|t| t.len()).ok(),
        Some(1)
    );
    assert_eq!(
        store.timeline(source.id).await.map(|t| t.len()).ok(),
        Some(1)
    );
    let back = store
        .case_by_token(&find(&b), "token-2")
        .await
        .ok()
        .flatten();
    assert_eq!(
        back.map(|(c, _)| c.id),
        Some(source.id),
        "the link is its own again"
    );
    assert!(
        store
            .undo_merge(
                merged.merge_id,
                "test",
                now - time::Duration::minutes(10),
                now
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none(),
        "undone once"
    );
    assert_eq!(
        store.unsent_mail_count().await.ok(),
        Some(1),
        "the customer is told once"
    );
}

async fn as_stored(store: &Store, reference: &CaseRef) -> Case {
    store
        .case_by_reference(reference)
        .await
        .expect("case by reference succeeds")
        .unwrap_or_else(|| panic!("{} exists", reference.as_str()))
}

async fn resolving_releases_the_claim_and_is_audited(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let id = incident(&store).await;
    let reference = case(&store, id, 1, Some(1)).await;
    let taken = store
        .take_next(
            7,
            &scope(id),
            Duration::minutes(15),
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the case is in the queue"));
    assert_eq!(taken.claimed_by, Some(7));
    store
        .set_case_status(taken.id, CaseStatus::Resolved, "agent@example.com")
        .await
        .expect("set case status succeeds");
    let resolved = as_stored(&store, &taken.reference).await;
    assert_eq!(
        (resolved.status, resolved.claimed_by, resolved.lease_until),
        (CaseStatus::Resolved, None, None)
    );
    assert!(resolved.resolved_at.is_some());
    let audit = store.recent_audit(1).await.expect("recent audit succeeds");
    let entry = audit.first().unwrap_or_else(|| panic!("an audit entry"));
    assert_eq!(
        (
            entry.actor.as_str(),
            entry.action.as_str(),
            entry.subject.as_str()
        ),
        ("agent@example.com", "case.status", reference.as_str())
    );
    assert_eq!(entry.details, serde_json::json!({ "status": "resolved" }));
    store
        .set_case_status(taken.id, CaseStatus::Open, "agent@example.com")
        .await
        .expect("set case status succeeds");
    let reopened = as_stored(&store, &taken.reference).await;
    assert_eq!(
        (reopened.status, reopened.resolved_at),
        (CaseStatus::Open, None)
    );
    let missing = store
        .set_case_status(taken.id + 1000, CaseStatus::Resolved, "agent@example.com")
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound("case"))),
        "{missing:?}"
    );
}
