//! What the live wait estimate reads, on both engines: the incident's arrivals over a window
//! and the agents seen at work on its cases, from the rows that taking and answering write.

// A test step that fails says what it expected (clippy.toml allows `expect` in tests;
// these helpers are test code too).
#![allow(clippy::expect_used)]

use muster_core::case::CaseStatus;
use muster_core::contact_info::EmailAddress;
use muster_core::incident::{ChannelKind, SlaTargets};
use muster_core::priority::PriorityWindows;
use muster_core::queue_profile::Waiting;
use muster_core::role::Role;
use muster_store::Store;
use muster_store::on_both_engines;
use muster_store::queue::QueueScope;
use muster_store::testing::{TestDb, TestEngine, incident_draft, sample_intake};
use time::{Date, Duration, OffsetDateTime};

on_both_engines!(
    arrivals_are_the_incidents_cases_in_the_window,
    the_waiting_queue_is_counted_by_departure_date,
    agents_on_duty_are_those_who_recently_took_or_worked_a_case
);

async fn incident(store: &Store, slug: &str) -> i64 {
    store
        .create_incident(incident_draft(slug), "test")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id
}

/// A new case on `channel`, departing in two days; its id.
async fn case(store: &Store, incident_id: i64, n: usize, channel: ChannelKind) -> i64 {
    let departure = OffsetDateTime::now_utc().date() + Duration::days(2);
    case_departing(store, incident_id, n, channel, Some(departure)).await
}

async fn case_departing(
    store: &Store,
    incident_id: i64,
    n: usize,
    channel: ChannelKind,
    departure_date: Option<Date>,
) -> i64 {
    let intake = sample_intake(incident_id, n, channel, departure_date);
    store
        .take_in(intake, &format!("token-{n}"), |_, _| None)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .case
        .id
}

async fn agent(store: &Store, name: &str) -> i64 {
    let email =
        EmailAddress::parse(&format!("{name}@example.com")).unwrap_or_else(|e| panic!("{e}"));
    store
        .upsert_user(&email, name, Role::Agent, "a long enough password")
        .await
        .expect("upsert user succeeds")
        .id
}

fn scope(incident_id: i64) -> QueueScope {
    QueueScope {
        incident_id,
        today: OffsetDateTime::now_utc().date(),
        windows: PriorityWindows::default(),
        teams: None,
    }
}

async fn arrivals_are_the_incidents_cases_in_the_window(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let ours = incident(&store, "waits-ours").await;
    let other = incident(&store, "waits-other").await;
    let before = OffsetDateTime::now_utc() - Duration::seconds(1);
    // Every channel feeds the one queue agents take from.
    case(&store, ours, 1, ChannelKind::Form).await;
    case(&store, ours, 2, ChannelKind::Email).await;
    case(&store, ours, 3, ChannelKind::Chat).await;
    case(&store, other, 4, ChannelKind::Form).await;
    let after = OffsetDateTime::now_utc() + Duration::seconds(1);
    let arrivals = store
        .arrivals_between(ours, before - Duration::hours(1), after)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(arrivals.len(), 3, "{arrivals:?}");
    assert!(
        arrivals.windows(2).all(|w| w[0].at <= w[1].at),
        "oldest first"
    );
    assert!(arrivals.iter().all(|a| (before..=after).contains(&a.at)));
    let departing = OffsetDateTime::now_utc().date() + Duration::days(2);
    assert!(arrivals.iter().all(|a| a.departure == Some(departing)));
    let later = store
        .arrivals_between(ours, after, after + Duration::hours(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(later.is_empty(), "{later:?}");
}

async fn the_waiting_queue_is_counted_by_departure_date(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let ours = incident(&store, "waits-ours").await;
    let other = incident(&store, "waits-other").await;
    let today = OffsetDateTime::now_utc().date();
    let (soon, later) = (today + Duration::days(2), today + Duration::days(10));
    for (n, departure) in [
        (1, Some(soon)),
        (2, Some(soon)),
        (3, Some(later)),
        (4, None),
    ] {
        case_departing(&store, ours, n, ChannelKind::Form, departure).await;
    }
    case_departing(&store, other, 5, ChannelKind::Email, Some(later)).await;
    // One of the soon cases is taken: no longer waiting. Five hours on, the other one is past
    // the critical target (four hours) and marked overdue; the later ones are not.
    let ann = agent(&store, "ann").await;
    let now = OffsetDateTime::now_utc();
    store
        .take_next(ann, &scope(ours), Duration::hours(8), now)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("nothing to take"));
    let later_on = now + Duration::hours(5);
    store
        .mark_overdue(
            ours,
            today,
            PriorityWindows::default(),
            SlaTargets::default(),
            later_on,
            |_| Vec::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut waiting = store
        .waiting_by_departure(ours, later_on)
        .await
        .expect("waiting by departure succeeds");
    waiting.sort_by_key(|w| (w.departure.is_none(), w.departure));
    let row = |departure, cases, overdue| Waiting {
        departure,
        cases,
        overdue,
    };
    assert_eq!(
        waiting,
        [
            row(Some(soon), 1, 1),
            row(Some(later), 1, 0),
            row(None, 1, 0)
        ]
    );
}

async fn agents_on_duty_are_those_who_recently_took_or_worked_a_case(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let ours = incident(&store, "waits-ours").await;
    let other = incident(&store, "waits-other").await;
    for n in 1..=4 {
        case(&store, ours, n, ChannelKind::Form).await;
    }
    let elsewhere = case(&store, other, 9, ChannelKind::Form).await;
    let (ann, bob, cat, dan) = (
        agent(&store, "ann").await,
        agent(&store, "bob").await,
        agent(&store, "cat").await,
        agent(&store, "dan").await,
    );
    let now = OffsetDateTime::now_utc();
    let since = now - Duration::minutes(20);
    let seen = |agents: std::collections::BTreeSet<String>| agents.into_iter().collect::<Vec<_>>();
    let nobody = store
        .agents_seen_since(ours, since)
        .await
        .expect("agents seen since succeeds");
    assert!(nobody.is_empty(), "no agent has worked yet: {nobody:?}");

    let take = |agent: i64, at: OffsetDateTime| {
        let store = store.clone();
        async move {
            store
                .take_next(agent, &scope(ours), Duration::hours(2), at)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|| panic!("nothing to take"))
                .id
        }
    };
    // Ann took a case just now and is writing the answer: her claim says she is here.
    take(ann, now).await;
    // Cat took one an hour ago and has not been seen since.
    take(cat, now - Duration::hours(1)).await;
    // Bob took his an hour ago, answered it just now and resolved it through the API, which
    // clears his claim: the audit log still has him, once.
    let bobs = take(bob, now - Duration::hours(1)).await;
    store
        .reply(bobs, bob, "Refunded.", "user:bob@example.com", |_| None)
        .await
        .expect("reply succeeds");
    store
        .set_case_status(bobs, CaseStatus::Resolved, "api:bob@example.com")
        .await
        .expect("set case status succeeds");
    // Dan works another incident; the intake and the system are not agents.
    store
        .add_note(elsewhere, dan, "Called back.", "user:dan@example.com")
        .await
        .expect("add note succeeds");
    store
        .audit("system", "case.status", "MX-NOBODY", serde_json::json!({}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let on_duty = store
        .agents_seen_since(ours, since)
        .await
        .expect("agents seen since succeeds");
    assert_eq!(seen(on_duty), ["ann@example.com", "bob@example.com"]);
    let gone = store
        .agents_seen_since(ours, now + Duration::minutes(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(gone.is_empty(), "{gone:?}");
    let theirs = store
        .agents_seen_since(other, since)
        .await
        .expect("agents seen since succeeds");
    assert_eq!(seen(theirs), ["dan@example.com"]);
}
