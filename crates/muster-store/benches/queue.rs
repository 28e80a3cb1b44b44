//! `bench/queue`: 1,000,000 open cases, 50 agents taking the next case and resolving it,
//! first as fast as they can (closed loop: the saturation figure), then each spending a
//! fixed handling time on every case (paced: latency at a stated load below saturation).
//! Prints take-next p50/p99 and cases/s per engine and run, the query plan, and verifies
//! that no case was given twice. Take-next latency includes the wait for a pooled
//! connection when agents outnumber connections.
//!
//! Run through `bench/queue` (or `cargo bench -p muster-store --bench queue`).
//! Settings: QUEUE_CASES (default 1000000), QUEUE_AGENTS (50), QUEUE_POOL (connections on
//! PostgreSQL, default one per agent), QUEUE_SECONDS (20, per run), QUEUE_HANDLING_MS (100;
//! 0 skips the paced run), QUEUE_ENGINES (`sqlite,postgres`).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use muster_core::case::CaseStatus;
use muster_core::incident::Severity;
use muster_core::priority::PriorityWindows;
use muster_store::Store;
use muster_store::incidents::IncidentDraft;
use muster_store::queue::QueueScope;
use muster_store::testing::{TestDb, TestEngine, incident_draft};
use time::OffsetDateTime;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn open_incident(store: &Store) -> i64 {
    let draft = IncidentDraft {
        severity: Severity::Critical,
        ..incident_draft("queue-bench")
    };
    store
        .create_incident(draft, "bench")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id
}

/// Percentile of sorted microseconds, as milliseconds.
fn percentile_ms(sorted: &[u128], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index] as f64 / 1000.0
}

/// One agent's take-next latencies (microseconds) and the cases it was given.
#[derive(Default)]
struct Tally {
    latencies: Vec<u128>,
    taken: Vec<i64>,
}

/// `agents` agents take and resolve cases for `seconds`, each spending `handling` on a case
/// between taking and resolving it.
async fn agents_at_work(
    store: &Store,
    scope: &QueueScope,
    agents: u64,
    seconds: u64,
    handling: Duration,
) -> (Tally, f64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for agent in 0..agents {
        let store = store.clone();
        let scope = scope.clone();
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let next = store
                    .take_next(
                        i64::try_from(agent).unwrap_or(0) + 1,
                        &scope,
                        time::Duration::minutes(15),
                        OffsetDateTime::now_utc(),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                tally.latencies.push(t0.elapsed().as_micros());
                let Some(case) = next else { break };
                tally.taken.push(case.id);
                if !handling.is_zero() {
                    tokio::time::sleep(handling).await;
                }
                store
                    .set_case_status(case.id, CaseStatus::Resolved, "bench")
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for task in tasks {
        let tally = task.await.unwrap_or_else(|e| panic!("{e}"));
        all.latencies.extend(tally.latencies);
        all.taken.extend(tally.taken);
    }
    all.latencies.sort_unstable();
    (all, started.elapsed().as_secs_f64())
}

fn report(tally: &Tally, elapsed: f64) -> String {
    format!(
        "{} cases taken and resolved, {:.0} cases/s, take-next p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        tally.taken.len(),
        tally.taken.len() as f64 / elapsed,
        percentile_ms(&tally.latencies, 0.5),
        percentile_ms(&tally.latencies, 0.99),
        percentile_ms(&tally.latencies, 1.0),
    )
}

struct Settings {
    cases: u64,
    agents: u64,
    pool: u32,
    seconds: u64,
    handling_ms: u64,
}

async fn run(engine: TestEngine, settings: &Settings) {
    let Settings {
        cases,
        agents,
        pool,
        seconds,
        handling_ms,
    } = *settings;
    let db = TestDb::create(engine).await;
    let store = db.store_with_pool(pool).await;
    let incident = open_incident(&store).await;
    let seeding = Instant::now();
    store
        .seed_open_cases_for_benchmark(incident, cases)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "[{engine:?}] seeded {cases} open cases in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let scope = QueueScope {
        incident_id: incident,
        today: OffsetDateTime::now_utc().date(),
        windows: PriorityWindows::default(),
        teams: Some(vec!["refunds".into(), "rebooking".into(), "general".into()]),
    };
    if let Ok(plan) = store.explain_take_next(&scope).await {
        println!("[{engine:?}] take-next plan:\n{plan}");
    }
    let connections = match engine {
        TestEngine::Sqlite => "SQLite's one connection".to_owned(),
        TestEngine::Postgres => format!("a pool of {pool}"),
    };
    let (closed, elapsed) = agents_at_work(&store, &scope, agents, seconds, Duration::ZERO).await;
    println!(
        "[{engine:?}] {agents} agents on {connections}, no time between cases, {seconds} s: {}",
        report(&closed, elapsed)
    );
    let mut taken = closed.taken;
    if handling_ms > 0 {
        let handling = Duration::from_millis(handling_ms);
        let (paced, elapsed) = agents_at_work(&store, &scope, agents, seconds, handling).await;
        println!(
            "[{engine:?}] {agents} agents on {connections}, {handling_ms} ms handling per case \
             (offered at most {:.0} cases/s), {seconds} s: {}",
            agents as f64 * 1000.0 / handling_ms as f64,
            report(&paced, elapsed)
        );
        taken.extend(paced.taken);
    }
    let unique: HashSet<i64> = taken.iter().copied().collect();
    println!("[{engine:?}] given twice: {}", taken.len() - unique.len());
    assert_eq!(taken.len(), unique.len(), "a case was given twice");
}

fn main() {
    let agents = setting("QUEUE_AGENTS", 50);
    let settings = Settings {
        cases: setting("QUEUE_CASES", 1_000_000),
        agents,
        pool: u32::try_from(setting("QUEUE_POOL", agents)).unwrap_or(u32::MAX),
        seconds: setting("QUEUE_SECONDS", 20),
        handling_ms: setting("QUEUE_HANDLING_MS", 100),
    };
    let engines = std::env::var("QUEUE_ENGINES").unwrap_or_else(|_| "sqlite,postgres".into());
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
        runtime.block_on(run(engine, &settings));
    }
}
