//! `bench/queue`: 1,000,000 open cases, 50 agents taking the next case and resolving it,
//! first as fast as they can (closed loop: the saturation figure), then each spending a
//! fixed handling time on every case (paced: latency at a stated load below saturation).
//! Prints take-next p50/p99 and cases/s per engine and run, the query plan, and verifies
//! that no case was given twice. Take-next latency includes the wait for a pooled
//! connection when agents outnumber connections.
//!
//! On PostgreSQL the yardstick follows in the same run: the bare claim (one
//! `UPDATE … FOR UPDATE SKIP LOCKED` on the same partial index, then the resolve) driven by
//! `pgbench` with as many clients as agents, on the same database; Muster's ratio to it is
//! the figure. A line `SUMMARY queue …` per engine is what `bench/all` collects.
//!
//! Run through `bench/queue` (or `cargo bench -p muster-store --bench queue`).
//! Settings: QUEUE_CASES (default 1000000), QUEUE_AGENTS (50), QUEUE_POOL (connections on
//! PostgreSQL, default one per agent), QUEUE_SECONDS (20, per run), QUEUE_HANDLING_MS (100;
//! 0 skips the paced run), QUEUE_ROUNDS (3 closed-loop rounds, the median is reported),
//! QUEUE_ENGINES (`sqlite,postgres`).

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
    rounds: u64,
}

async fn run(engine: TestEngine, settings: &Settings) {
    let Settings {
        cases,
        agents,
        pool,
        seconds,
        handling_ms,
        rounds,
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
    // Rounds alternate Muster and (on PostgreSQL) the bare claim, so both see the same
    // machine; the median of each is the figure.
    let mut taken = Vec::new();
    let mut muster_rounds = Vec::new();
    let mut bare_rounds = Vec::new();
    for round in 1..=rounds {
        let (closed, elapsed) =
            agents_at_work(&store, &scope, agents, seconds, Duration::ZERO).await;
        println!(
            "[{engine:?}] round {round}: {agents} agents on {connections}, no time between cases, {seconds} s: {}",
            report(&closed, elapsed)
        );
        muster_rounds.push(Rate {
            per_second: closed.taken.len() as f64 / elapsed,
            p99_ms: percentile_ms(&closed.latencies, 0.99),
        });
        taken.extend(closed.taken);
        if engine == TestEngine::Postgres {
            let bare = bare_claim_yardstick(&db.url, incident, agents, seconds);
            println!(
                "[{engine:?}] round {round}: yardstick, pgbench with {agents} clients, the bare SKIP LOCKED claim and resolve, {seconds} s: {bare}"
            );
            bare_rounds.push(bare);
        }
    }
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
    let muster = Rate::median(&muster_rounds);
    let engine_name = match engine {
        TestEngine::Sqlite => "SQLite",
        TestEngine::Postgres => "PostgreSQL",
    };
    let (yardstick, ratio) = match Rate::median_of(&bare_rounds) {
        Some(bare) => (
            format!("bare claim + resolve (pgbench): {bare}"),
            format!("{:.2}", muster.per_second / bare.per_second),
        ),
        None => (
            "none (SQLite has no SKIP LOCKED)".to_owned(),
            "-".to_owned(),
        ),
    };
    let verdict = if muster.p99_ms < 20.0 { "PASS" } else { "MISS" };
    // Tab-separated for bench/all: figure, value, yardstick, ratio, target, verdict.
    println!(
        "SUMMARY\ttake-next, {cases} open cases, {agents} agents ({engine_name}), median of {rounds}\t{muster}\t{yardstick}\t{ratio}\tp99 < 20 ms\t{verdict}"
    );
    let unique: HashSet<i64> = taken.iter().copied().collect();
    println!("[{engine:?}] given twice: {}", taken.len() - unique.len());
    assert_eq!(taken.len(), unique.len(), "a case was given twice");
}

/// One round's figures: cases taken per second and the p99 of one take.
#[derive(Debug, Clone, Copy)]
struct Rate {
    per_second: f64,
    p99_ms: f64,
}

impl Rate {
    /// The median round by rate and, separately, the median p99.
    fn median_of(rounds: &[Rate]) -> Option<Rate> {
        if rounds.is_empty() {
            return None;
        }
        let mut rates: Vec<f64> = rounds.iter().map(|r| r.per_second).collect();
        let mut p99s: Vec<f64> = rounds.iter().map(|r| r.p99_ms).collect();
        rates.sort_by(f64::total_cmp);
        p99s.sort_by(f64::total_cmp);
        Some(Rate {
            per_second: rates[rates.len() / 2],
            p99_ms: p99s[p99s.len() / 2],
        })
    }

    fn median(rounds: &[Rate]) -> Rate {
        Self::median_of(rounds).unwrap_or(Rate {
            per_second: 0.0,
            p99_ms: 0.0,
        })
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p99 {:.2} ms, {:.0} cases/s",
            self.p99_ms, self.per_second
        )
    }
}

/// The database's own limit for the claim: the same `UPDATE … SKIP LOCKED` on the same
/// predicate and order, committed without waiting for the disk as Muster's claim is (the critical slice's, where every seeded case within a week
/// lands first), then the resolve, in one pgbench transaction per case. Its latency is of
/// both statements (Muster's take-next figure is of the claim alone), from pgbench's
/// per-transaction log.
fn bare_claim_yardstick(url: &str, incident: i64, clients: u64, seconds: u64) -> Rate {
    let folder =
        std::env::temp_dir().join(format!("muster-queue-yardstick-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap_or_else(|e| panic!("{e}"));
    let claim = format!(
        "UPDATE cases SET claimed_by = :client_id + 1, lease_until = now() + interval '15 minutes', \
         claimed_at = now() FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit \
         WHERE id = (SELECT id FROM cases WHERE incident_id = {incident} \
         AND status = 'open' AND (claimed_by IS NULL OR lease_until < now()) \
         AND departure_date IS NOT NULL AND team IN ('refunds', 'rebooking', 'general') ORDER BY departure_date, created_at LIMIT 1 \
         FOR UPDATE SKIP LOCKED) RETURNING id AS case_id \\gset\n"
    );
    let resolve =
        "UPDATE cases SET status = 'resolved', resolved_at = now() WHERE id = :case_id;\n";
    std::fs::write(folder.join("yardstick.sql"), claim + resolve).unwrap_or_else(|e| panic!("{e}"));
    let status = std::process::Command::new("pgbench")
        .current_dir(&folder)
        .args(["-n", "-M", "prepared", "-l", "--log-prefix=claim"])
        .args([
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
        ])
        .args(["-f", "yardstick.sql"])
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("pgbench (from postgresql-client) is needed: {e}"));
    assert!(
        status.status.success(),
        "pgbench failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    // Log lines: client transaction_no latency_us script_no epoch epoch_us.
    let mut claims: Vec<u128> = Vec::new();
    for entry in std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("claim."))
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        for line in text.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() >= 4 {
                claims.push(fields[2].parse().unwrap_or(0));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&folder);
    claims.sort_unstable();
    Rate {
        per_second: claims.len() as f64 / seconds as f64,
        p99_ms: percentile_ms(&claims, 0.99),
    }
}

fn main() {
    let agents = setting("QUEUE_AGENTS", 50);
    let settings = Settings {
        cases: setting("QUEUE_CASES", 1_000_000),
        agents,
        pool: u32::try_from(setting("QUEUE_POOL", agents)).unwrap_or(u32::MAX),
        seconds: setting("QUEUE_SECONDS", 20),
        handling_ms: setting("QUEUE_HANDLING_MS", 100),
        rounds: setting("QUEUE_ROUNDS", 3).max(1),
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
