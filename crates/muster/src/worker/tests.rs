//! The runner's promises: a worker that dies is reported and started again, and
//! cancellation stops every worker promptly while the work in flight finishes.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::instrument::WithSubscriber;

use super::*;

/// Retries a millisecond apart, so a test does not wait for the real delays.
const QUICK: Backoff = Backoff {
    base: Duration::from_millis(1),
    max: Duration::from_millis(1),
    max_attempts: u32::MAX,
};

const POLL_QUICKLY: Pace = Pace::Poll {
    idle: Duration::from_millis(1),
};

/// A worker whose `n`th round (counted over all its starts) does what `script` says.
struct Scripted {
    rounds: Arc<AtomicU32>,
    script: fn(u32) -> anyhow::Result<Round>,
}

impl Worker for Scripted {
    async fn round(&mut self, _stop: &CancellationToken) -> anyhow::Result<Round> {
        let n = self.rounds.fetch_add(1, Ordering::SeqCst) + 1;
        (self.script)(n)
    }
}

/// Counts its starts and rounds.
struct Counters {
    starts: Arc<AtomicU32>,
    rounds: Arc<AtomicU32>,
}

fn scripted(
    name: &'static str,
    pace: Pace,
    retries: Backoff,
    script: fn(u32) -> anyhow::Result<Round>,
) -> (Runner<impl FnMut() -> Scripted>, Counters) {
    let counters = Counters {
        starts: Arc::new(AtomicU32::new(0)),
        rounds: Arc::new(AtomicU32::new(0)),
    };
    let (starts, rounds) = (counters.starts.clone(), counters.rounds.clone());
    let runner = Runner {
        name,
        pace,
        retries,
        start: move || {
            starts.fetch_add(1, Ordering::SeqCst);
            Scripted {
                rounds: rounds.clone(),
                script,
            }
        },
    };
    (runner, counters)
}

/// What the runner logged, as text.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Log {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("the log lock")).into_owned()
    }
}

impl std::io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("the log lock")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged<F: Future>(log: &Log, future: F) -> tracing::instrument::WithDispatch<F> {
    let subscriber = tracing_subscriber::fmt()
        .with_writer({
            let log = log.clone();
            move || log.clone()
        })
        .with_ansi(false)
        .finish();
    future.with_subscriber(subscriber)
}

async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "{what} within 5 s");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Runs `runner` with its log captured until `done`, then cancels it; returns the log.
async fn run_logged_until<W, F>(runner: Runner<F>, what: &str, done: impl Fn() -> bool) -> String
where
    W: Worker,
    F: FnMut() -> W + Send + 'static,
{
    let log = Log::default();
    let stop = CancellationToken::new();
    let task = tokio::spawn(logged(&log, runner.run(stop.clone())));
    until(what, done).await;
    stop.cancel();
    stops_within("the runner", Duration::from_secs(1), task).await;
    log.text()
}

async fn stops_within(what: &str, limit: Duration, task: tokio::task::JoinHandle<()>) {
    let started = Instant::now();
    let joined = tokio::time::timeout(limit, task).await;
    assert!(
        matches!(joined, Ok(Ok(()))),
        "{what} stops within {limit:?} of cancellation (waited {:?})",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_worker_that_panics_is_reported_and_started_again() {
    let (runner, counters) = scripted("flaky", POLL_QUICKLY, QUICK, |n| {
        assert!(n != 3, "the third round panics");
        Ok(Round::Idle)
    });
    let log = run_logged_until(runner, "ten rounds", || {
        counters.rounds.load(Ordering::SeqCst) >= 10
    })
    .await;

    assert_eq!(
        counters.starts.load(Ordering::SeqCst),
        2,
        "started once more"
    );
    assert!(
        log.contains("ERROR") && log.contains("worker panicked") && log.contains("flaky"),
        "the panic is logged as an error with the worker's name: {log}"
    );
    assert!(log.contains("worker recovered"), "{log}");
}

#[tokio::test]
async fn a_round_that_fails_is_reported_and_tried_again() {
    let (runner, counters) = scripted("failing", POLL_QUICKLY, QUICK, |n| {
        if n == 2 {
            anyhow::bail!("database unreachable")
        }
        Ok(Round::Idle)
    });
    let log = run_logged_until(runner, "five rounds", || {
        counters.rounds.load(Ordering::SeqCst) >= 5
    })
    .await;

    assert_eq!(
        counters.starts.load(Ordering::SeqCst),
        1,
        "an error keeps the worker (and what it holds); only a panic starts it afresh"
    );
    assert!(
        log.contains("ERROR")
            && log.contains("worker failed")
            && log.contains("failing")
            && log.contains("database unreachable"),
        "the failure is logged as an error with the worker's name and the cause: {log}"
    );
}

#[tokio::test]
async fn failures_in_a_row_wait_longer_each_time() {
    let doubling = Backoff {
        base: Duration::from_millis(40),
        max: Duration::from_secs(1),
        max_attempts: u32::MAX,
    };
    let (runner, counters) = scripted("down", POLL_QUICKLY, doubling, |_| {
        anyhow::bail!("database unreachable")
    });
    let stop = CancellationToken::new();
    let task = tokio::spawn(runner.run(stop.clone()));
    // Failures at 0, 40, 120 and 280 ms: four rounds take at least 280 ms, where a
    // worker that did not back off would have made hundreds.
    tokio::time::sleep(Duration::from_millis(250)).await;
    stop.cancel();
    stops_within("the runner", Duration::from_secs(1), task).await;
    let rounds = counters.rounds.load(Ordering::SeqCst);
    assert!((2..=3).contains(&rounds), "{rounds} rounds in 250 ms");
}

/// A round that takes a while, to be caught in flight by the cancellation.
struct Slow {
    started: Arc<AtomicU32>,
    completed: Arc<AtomicU32>,
    finished: Arc<AtomicBool>,
}

impl Worker for Slow {
    async fn round(&mut self, _stop: &CancellationToken) -> anyhow::Result<Round> {
        self.started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.completed.fetch_add(1, Ordering::SeqCst);
        Ok(Round::Worked)
    }

    async fn finish(self) {
        self.finished.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn cancellation_stops_every_worker_promptly_and_lets_work_in_flight_finish() {
    let started = Arc::new(AtomicU32::new(0));
    let completed = Arc::new(AtomicU32::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let slow = Runner {
        name: "slow",
        pace: POLL_QUICKLY,
        retries: QUICK,
        start: {
            let (started, completed, finished) =
                (started.clone(), completed.clone(), finished.clone());
            move || Slow {
                started: started.clone(),
                completed: completed.clone(),
                finished: finished.clone(),
            }
        },
    };
    let hour = Duration::from_secs(3600);
    // Between two rounds an hour apart.
    let (hourly, hourly_counters) =
        scripted("hourly", Pace::Every(hour), QUICK, |_| Ok(Round::Idle));
    // Waiting an hour before it is started again.
    let slow_restart = Backoff {
        base: hour,
        max: hour,
        max_attempts: u32::MAX,
    };
    let (broken, broken_counters) =
        scripted("broken", POLL_QUICKLY, slow_restart, |_| panic!("always"));

    let stop = CancellationToken::new();
    let tasks = [
        ("slow", tokio::spawn(slow.run(stop.clone()))),
        ("hourly", tokio::spawn(hourly.run(stop.clone()))),
        ("broken", tokio::spawn(broken.run(stop.clone()))),
    ];
    until("each worker under way", || {
        started.load(Ordering::SeqCst) >= 1
            && hourly_counters.rounds.load(Ordering::SeqCst) >= 1
            && broken_counters.rounds.load(Ordering::SeqCst) >= 1
    })
    .await;
    stop.cancel();
    for (name, task) in tasks {
        stops_within(name, Duration::from_secs(1), task).await;
    }

    assert_eq!(
        completed.load(Ordering::SeqCst),
        started.load(Ordering::SeqCst),
        "the round in flight finished"
    );
    assert!(finished.load(Ordering::SeqCst), "the worker finished");
    assert_eq!(hourly_counters.rounds.load(Ordering::SeqCst), 1);
    assert_eq!(
        broken_counters.starts.load(Ordering::SeqCst),
        1,
        "not started again"
    );
}
