//! `bench/groups`: 1,000,000 open cases, one in 200 on the sailing AURORA-1204 (5,000
//! cases). Prints the group page's queries (count, then the first 50 cases) p50/p99 next to
//! a yardstick measured in the same run (one case by its reference: a primary-key-like
//! unique index lookup), their query plans, and the time one group reply takes to be
//! written to every case of the group (the outbound contact, the case link's token, the
//! queued email, the status after and the audit entry, 250 cases a transaction, as the
//! group-reply worker writes them). The email itself then leaves through the mail queue,
//! whose throughput `bench/mail` measures.
//!
//! Settings: GROUPS_CASES (1000000), GROUPS_TRIP_EVERY (200), GROUPS_SAMPLES (300),
//! GROUPS_ENGINES (`sqlite,postgres`).

use std::collections::BTreeMap;
use std::time::Instant;

use muster_core::case::CaseStatus;
use muster_core::case_ref::CaseRef;
use muster_core::contact_info::EmailAddress;
use muster_core::group::GroupFilter;
use muster_core::role::Role;
use muster_core::trip::Trip;
use muster_store::cases::MailJob;
use muster_store::group_replies::{NewGroupReply, TargetAnswer};
use muster_store::groups::GroupScope;
use muster_store::testing::{TestDb, TestEngine, incident_draft};
use time::Duration;

const TRIP: &str = "AURORA-1204";
const BATCH: u64 = 250;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentiles(mut micros: Vec<u128>) -> String {
    micros.sort_unstable();
    let at = |p: f64| {
        let index = ((micros.len().saturating_sub(1)) as f64 * p).round() as usize;
        micros.get(index).copied().unwrap_or(0) as f64 / 1000.0
    };
    format!("p50 {:.2} ms, p99 {:.2} ms", at(0.5), at(0.99))
}

async fn run(engine: TestEngine, cases: u64, every: i64, samples: u64) {
    let db = TestDb::create(engine).await;
    let store = db.store_with_pool(8).await;
    let incident = store
        .create_incident(incident_draft("groups-bench"), "bench")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id;
    let seeding = Instant::now();
    store
        .seed_open_cases_for_benchmark(incident, cases)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let on_trip = store
        .seed_trip_for_benchmark(incident, TRIP, every)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "[{engine:?}] seeded {cases} open cases, {on_trip} on {TRIP}, in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let scope = GroupScope {
        incident_id: incident,
        filter: GroupFilter {
            trip: Trip::parse(TRIP).ok(),
            ..GroupFilter::default()
        },
        departure_from: None,
        departure_to: None,
    };
    let first = store
        .group_cases(&scope, 50)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let reference: CaseRef = first[0].reference.clone();
    let mut preview = Vec::new();
    let mut yardstick = Vec::new();
    for _ in 0..samples {
        let started = Instant::now();
        let count = store
            .group_count(&scope)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let page = store
            .group_cases(&scope, 50)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        preview.push(started.elapsed().as_micros());
        assert_eq!((count, page.len()), (on_trip, 50));
        let started = Instant::now();
        store
            .case_by_reference(&reference)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        yardstick.push(started.elapsed().as_micros());
    }
    println!(
        "[{engine:?}] group preview (count {on_trip} + first 50), {samples} samples: {}; yardstick (one case by reference): {}",
        percentiles(preview),
        percentiles(yardstick)
    );
    if let Ok((count, page)) = store.explain_group(&scope, 50).await {
        println!("[{engine:?}] count plan:\n{count}\n[{engine:?}] first-page plan:\n{page}");
    }

    let author = store
        .upsert_user(
            &EmailAddress::parse("bench@example.com").unwrap_or_else(|e| panic!("{e}")),
            "Bench",
            Role::Agent,
            "a long enough password",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id;
    let group = store
        .create_group(incident, "Aurora", &scope.filter, "bench", None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let reply = store
        .draft_group_reply(
            NewGroupReply {
                group_id: group.id,
                bodies: BTreeMap::from([("en".to_owned(), "Your sailing is cancelled".to_owned())]),
                then_status: Some(CaseStatus::WaitingOnCustomer),
                author_id: author,
                author: "bench".into(),
                hold: Duration::ZERO,
            },
            "bench",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let targets = store
        .start_group_reply(reply.id, &scope)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or(0);
    let mut answered = 0;
    loop {
        let claimed = store
            .claim_group_targets("bench", BATCH, Duration::minutes(1))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if claimed.is_empty() {
            break;
        }
        let answers = claimed
            .into_iter()
            .map(|target| {
                let text = format!(
                    "Dear {}, your sailing {TRIP} is cancelled: https://status.example.com/c/{}?t=0123456789abcdef",
                    target.case.customer_name, target.case.reference
                );
                let mail = MailJob {
                    kind: "group_reply".into(),
                    recipient: target.case.email.clone().unwrap_or_default(),
                    payload: serde_json::json!({ "subject": "Cancelled", "text": text }),
                };
                let answer = TargetAnswer::Reply {
                    body: text,
                    channel: "email".into(),
                    mail: Some(mail),
                    token_hash: format!("{:064}", target.target_id),
                };
                (target, answer)
            })
            .collect();
        answered += store
            .answer_group_targets("bench", answers)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    store
        .finish_group_replies()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "[{engine:?}] one group reply to {targets} cases written in {elapsed:.1} s ({:.0} cases/s); answered {answered}",
        answered as f64 / elapsed
    );
    assert_eq!(answered, targets);
}

fn main() {
    let cases = setting("GROUPS_CASES", 1_000_000);
    let every = i64::try_from(setting("GROUPS_TRIP_EVERY", 200)).unwrap_or(200);
    let samples = setting("GROUPS_SAMPLES", 300);
    let engines = std::env::var("GROUPS_ENGINES").unwrap_or_else(|_| "sqlite,postgres".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for engine in engines.split(',') {
        let engine = match engine.trim() {
            "sqlite" => TestEngine::Sqlite,
            "postgres" => TestEngine::Postgres,
            other => panic!("unknown engine {other}"),
        };
        runtime.block_on(run(engine, cases, every, samples));
    }
}
