//! Disruption groups on both engines: a group holds the cases of its filter, later ones
//! included; its count and first page are index range scans; a group reply is written
//! once per case even when a worker's lease runs out mid-batch; a case answered since the
//! reply was drafted is skipped; an undone reply never starts; closing resolves.

#![allow(clippy::expect_used)]

use std::collections::BTreeMap;

use muster_core::case::CaseStatus;
use muster_core::group::{GroupFilter, ReplyStatus, SkipReason};
use muster_core::incident::ChannelKind;
use muster_core::priority::Tier;
use muster_core::trip::Trip;
use muster_store::Store;
use muster_store::group_replies::{ClaimedTarget, NewGroupReply, TargetAnswer};
use muster_store::groups::GroupScope;
use muster_store::on_both_engines;
use muster_store::testing::{TestDb, TestEngine, incident_draft, sample_intake};
use time::{Date, Duration, OffsetDateTime};

on_both_engines!(
    a_group_holds_its_trip_and_the_cases_that_arrive_later,
    the_group_count_and_page_are_index_range_scans,
    a_reply_is_written_once_when_a_lease_runs_out_mid_batch,
    a_case_answered_since_the_draft_is_skipped,
    an_undone_reply_never_starts,
    closing_the_problem_resolves_the_cases,
);

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

async fn incident(store: &Store) -> i64 {
    store
        .create_incident(incident_draft("group-test"), "test")
        .await
        .expect("the incident is created")
        .id
}

async fn case(store: &Store, incident_id: i64, n: usize, trip: Option<&str>, days: i64) -> i64 {
    let mut intake = sample_intake(
        incident_id,
        n,
        ChannelKind::Form,
        Some(today() + Duration::days(days)),
    );
    intake.trip = trip.map(str::to_owned);
    store
        .take_in(intake, &format!("token-{n}"), |_, _| None)
        .await
        .expect("the case is taken in")
        .case
        .id
}

fn trip_scope(incident_id: i64, trip: &str) -> GroupScope {
    GroupScope {
        incident_id,
        filter: GroupFilter {
            trip: Some(Trip::parse(trip).expect("a trip code")),
            ..GroupFilter::default()
        },
        departure_from: None,
        departure_to: None,
    }
}

async fn contacts_of(store: &Store, case_id: i64) -> usize {
    store
        .timeline(case_id)
        .await
        .expect("the timeline reads")
        .len()
}

/// A reply to the trip's group, due at once, started; returns its id.
async fn started_reply(store: &Store, scope: &GroupScope, author: i64) -> (i64, u64) {
    let group = store
        .create_group(
            scope.incident_id,
            "Aurora 4 Dec",
            &scope.filter,
            "test",
            None,
        )
        .await
        .expect("the group is saved");
    let reply = store
        .draft_group_reply(
            NewGroupReply {
                group_id: group.id,
                bodies: BTreeMap::from([("en".to_owned(), "Your sailing is cancelled".to_owned())]),
                then_status: Some(CaseStatus::WaitingOnCustomer),
                author_id: author,
                author: "user:agent@example.com".into(),
                hold: Duration::ZERO,
            },
            "test",
        )
        .await
        .expect("the reply is drafted");
    let written = store
        .start_group_reply(reply.id, scope)
        .await
        .expect("the reply starts")
        .expect("this replica started it");
    (reply.id, written)
}

fn answer(target: &ClaimedTarget) -> TargetAnswer {
    TargetAnswer::Reply {
        body: format!("Dear {}", target.case.customer_name),
        channel: "email".into(),
        mail: None,
        token_hash: format!("hash-{}-{}", target.reply_id, target.case.id),
    }
}

async fn user(store: &Store) -> i64 {
    store
        .upsert_user(
            &muster_core::contact_info::EmailAddress::parse("agent@example.com")
                .expect("an address"),
            "Agent",
            muster_core::role::Role::Agent,
            "a long enough password",
        )
        .await
        .expect("the user is created")
        .id
}

async fn a_group_holds_its_trip_and_the_cases_that_arrive_later(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let incident_id = incident(&store).await;
    for n in 0..5 {
        case(&store, incident_id, n, Some("AURORA-1204"), 2).await;
    }
    case(&store, incident_id, 10, Some("BOREALIS-1204"), 2).await;
    case(&store, incident_id, 11, None, 2).await;
    let scope = trip_scope(incident_id, "AURORA-1204");
    assert_eq!(store.group_count(&scope).await.expect("counted"), 5);
    case(&store, incident_id, 20, Some("AURORA-1204"), 9).await;
    assert_eq!(
        store.group_count(&scope).await.expect("counted"),
        6,
        "a case that arrives later is in the group"
    );
    let page = store.group_cases(&scope, 4).await.expect("listed");
    assert_eq!(page.len(), 4);
    assert!(
        page.iter()
            .all(|c| c.trip.as_deref() == Some("AURORA-1204"))
    );
    // A tier narrows it: the later case departs in 9 days, beyond high (7).
    let filter = GroupFilter {
        tier: Some(Tier::Critical),
        ..scope.filter.clone()
    };
    let (from, to) = filter.departure_range(&Default::default(), today());
    let critical = GroupScope {
        filter,
        departure_from: from,
        departure_to: to,
        ..scope
    };
    assert_eq!(store.group_count(&critical).await.expect("counted"), 5);
}

async fn the_group_count_and_page_are_index_range_scans(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let incident_id = incident(&store).await;
    store
        .seed_open_cases_for_benchmark(incident_id, 5_000)
        .await
        .expect("seeded");
    store
        .seed_trip_for_benchmark(incident_id, "AURORA-1204", 50)
        .await
        .expect("trips given");
    let scope = trip_scope(incident_id, "AURORA-1204");
    assert_eq!(store.group_count(&scope).await.expect("counted"), 100);
    let (count, page) = store.explain_group(&scope, 50).await.expect("explained");
    for plan in [&count, &page] {
        assert!(plan.contains("idx_cases_trip"), "{plan}");
        assert!(
            !plan.contains("Seq Scan") && !plan.contains("SCAN cases"),
            "{plan}"
        );
    }
    assert!(
        !page.contains("TEMP B-TREE") && !page.contains("Sort"),
        "the page is read in index order: {page}"
    );
}

async fn a_reply_is_written_once_when_a_lease_runs_out_mid_batch(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let author = user(&store).await;
    let incident_id = incident(&store).await;
    let mut cases = Vec::new();
    for n in 0..30 {
        cases.push(case(&store, incident_id, n, Some("AURORA-1204"), 1).await);
    }
    let scope = trip_scope(incident_id, "AURORA-1204");
    let (reply_id, written) = started_reply(&store, &scope, author).await;
    assert_eq!(written, 30);
    // Worker A claims ten and dies before writing: its lease runs out at once.
    let lost = store
        .claim_group_targets("worker-a", 10, Duration::ZERO)
        .await
        .expect("claimed");
    assert_eq!(lost.len(), 10);
    // Worker B takes everything, the lapsed ten included, and answers it all.
    let claimed = store
        .claim_group_targets("worker-b", 100, Duration::minutes(1))
        .await
        .expect("claimed");
    assert_eq!(claimed.len(), 30);
    let answers = claimed.iter().map(|t| (t.clone(), answer(t))).collect();
    assert_eq!(
        store
            .answer_group_targets("worker-b", answers)
            .await
            .expect("answered"),
        30
    );
    // A wakes up and writes its batch: none of it lands.
    let late = lost.iter().map(|t| (t.clone(), answer(t))).collect();
    assert_eq!(
        store
            .answer_group_targets("worker-a", late)
            .await
            .expect("written"),
        0
    );
    for case_id in &cases {
        assert_eq!(
            contacts_of(&store, *case_id).await,
            2,
            "the message and one reply"
        );
    }
    let progress = store
        .group_reply_progress(reply_id)
        .await
        .expect("progress");
    assert_eq!((progress.replied, progress.pending), (30, 0));
    assert_eq!(
        store.finish_group_replies().await.expect("finished"),
        vec![reply_id]
    );
    let case = store
        .case_by_reference(
            &store
                .group_cases(&trip_scope(incident_id, "AURORA-1204"), 1)
                .await
                .expect("listed")[0]
                .reference,
        )
        .await
        .expect("found")
        .expect("a case");
    assert_eq!(case.status, CaseStatus::WaitingOnCustomer);
    assert!(case.first_response_at.is_some());
}

async fn a_case_answered_since_the_draft_is_skipped(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let author = user(&store).await;
    let incident_id = incident(&store).await;
    let first = case(&store, incident_id, 0, Some("DY1234"), 1).await;
    let second = case(&store, incident_id, 1, Some("DY1234"), 1).await;
    let scope = trip_scope(incident_id, "DY1234");
    let group = store
        .create_group(incident_id, "DY1234", &scope.filter, "test", None)
        .await
        .expect("saved");
    let reply = store
        .draft_group_reply(
            NewGroupReply {
                group_id: group.id,
                bodies: BTreeMap::from([("en".to_owned(), "Cancelled".to_owned())]),
                then_status: None,
                author_id: author,
                author: "user:agent@example.com".into(),
                hold: Duration::ZERO,
            },
            "test",
        )
        .await
        .expect("drafted");
    store
        .reply(
            second,
            author,
            "I answered this one myself",
            "user:colleague",
            |_| None,
        )
        .await
        .expect("a colleague answers");
    store
        .start_group_reply(reply.id, &scope)
        .await
        .expect("started");
    let claimed = store
        .claim_group_targets("w", 10, Duration::minutes(1))
        .await
        .expect("claimed");
    let answers = claimed.iter().map(|t| (t.clone(), answer(t))).collect();
    assert_eq!(
        store
            .answer_group_targets("w", answers)
            .await
            .expect("answered"),
        1
    );
    assert_eq!(contacts_of(&store, first).await, 2);
    assert_eq!(
        contacts_of(&store, second).await,
        2,
        "only the colleague's answer"
    );
    let skipped = store.group_reply_skips(reply.id, 10).await.expect("listed");
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].reason, SkipReason::AnsweredSince);
    assert_eq!(skipped[0].customer_name, "Customer 1");
}

async fn an_undone_reply_never_starts(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let author = user(&store).await;
    let incident_id = incident(&store).await;
    case(&store, incident_id, 0, Some("DY1234"), 1).await;
    let scope = trip_scope(incident_id, "DY1234");
    let group = store
        .create_group(incident_id, "DY1234", &scope.filter, "test", None)
        .await
        .expect("saved");
    let reply = store
        .draft_group_reply(
            NewGroupReply {
                group_id: group.id,
                bodies: BTreeMap::from([("en".to_owned(), "Oops".to_owned())]),
                then_status: None,
                author_id: author,
                author: "user:agent@example.com".into(),
                hold: Duration::seconds(60),
            },
            "test",
        )
        .await
        .expect("drafted");
    assert!(
        store.due_group_replies().await.expect("read").is_empty(),
        "held"
    );
    let undone = store
        .undo_group_reply(reply.id, "test")
        .await
        .expect("undone");
    assert_eq!(undone.status, ReplyStatus::Cancelled);
    assert!(
        store
            .start_group_reply(reply.id, &scope)
            .await
            .expect("tried")
            .is_none()
    );
    assert!(
        store.undo_group_reply(reply.id, "test").await.is_err(),
        "undone once"
    );
}

async fn closing_the_problem_resolves_the_cases(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let incident_id = incident(&store).await;
    for n in 0..4 {
        case(&store, incident_id, n, Some("DY1234"), 1).await;
    }
    let other = case(&store, incident_id, 9, Some("DY9999"), 1).await;
    let scope = trip_scope(incident_id, "DY1234");
    let group = store
        .create_group(incident_id, "DY1234", &scope.filter, "test", None)
        .await
        .expect("saved");
    assert_eq!(
        store
            .close_group(group.id, &scope, true, "test")
            .await
            .expect("closed"),
        4
    );
    assert_eq!(store.group_count(&scope).await.expect("counted"), 0);
    assert!(
        store
            .group(group.id)
            .await
            .expect("read")
            .closed_at
            .is_some()
    );
    assert!(
        store
            .close_group(group.id, &scope, true, "test")
            .await
            .is_err()
    );
    let audit = store.recent_audit(20).await.expect("read");
    assert_eq!(
        audit.iter().filter(|e| e.action == "case.status").count(),
        4,
        "each resolved case is audited"
    );
    assert_eq!(
        store
            .group_count(&trip_scope(incident_id, "DY9999"))
            .await
            .expect("counted"),
        1
    );
    let _ = other;
}
