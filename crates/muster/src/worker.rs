//! The worker runner: every background job of `muster serve` (the mail queue, the campaign
//! dispatcher, outbound webhooks, the SLA scan, page sync and the wait refresh) runs on
//! it, until one shared token is cancelled.
//!
//! A worker works in rounds, paced by the runner. A round in flight is never cut short:
//! on shutdown it finishes, then the worker finishes what it still holds. A round that
//! fails, or a worker that panics, is logged here with the worker's name and tried again
//! after a doubling delay (a panicked worker is started afresh): a worker is never
//! silently gone.

mod queue;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;
use muster_core::backoff::Backoff;
use tokio_util::sync::CancellationToken;

pub use queue::{Drain, Queue, Unrecorded};

/// What a round found to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// There may be more: go again at once.
    Worked,
    /// Nothing to do: wait for the pace.
    Idle,
}

/// When rounds run.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// Round after round while there is work, and `idle` between looks at an empty queue.
    Poll { idle: Duration },
    /// A round every period, the first at once.
    Every(Duration),
}

pub trait Worker: Send + 'static {
    /// One round. `stop` lets a round that waits (for a send slot) hand its work back.
    fn round(
        &mut self,
        stop: &CancellationToken,
    ) -> impl Future<Output = anyhow::Result<Round>> + Send;

    /// After the last round on shutdown: finish and record what is still in flight.
    fn finish(self) -> impl Future<Output = ()> + Send
    where
        Self: Sized,
    {
        async {}
    }
}

/// Waits after failures in a row: 1 s, 2 s, 4 s, … at most 15 s, so a database outage
/// is not hammered and a worker is back within seconds of the database.
const RETRIES: Backoff = Backoff {
    base: Duration::from_secs(1),
    max: Duration::from_secs(15),
    // Never given up on.
    max_attempts: u32::MAX,
};

/// A named worker, its pace, and how to start it (again, after a panic).
pub struct Runner<F> {
    name: &'static str,
    pace: Pace,
    retries: Backoff,
    start: F,
}

pub fn runner<W, F>(name: &'static str, pace: Pace, start: F) -> Runner<F>
where
    W: Worker,
    F: FnMut() -> W + Send + 'static,
{
    Runner {
        name,
        pace,
        retries: RETRIES,
        start,
    }
}

impl<W, F> Runner<F>
where
    W: Worker,
    F: FnMut() -> W + Send + 'static,
{
    /// Runs the worker until `stop` is cancelled and its last round and finish are done.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut failures = 0;
        loop {
            let worker = (self.start)();
            let ran = AssertUnwindSafe(drive(
                self.name,
                self.pace,
                self.retries,
                worker,
                &stop,
                &mut failures,
            ))
            .catch_unwind()
            .await;
            if ran.is_ok() {
                return;
            }
            // The panic message went to stderr through the panic hook; it may carry data,
            // so it is not repeated here.
            failures += 1;
            let delay = self.retries.delay(failures);
            tracing::error!(
                worker = self.name,
                failures,
                restart_in_ms = millis(delay),
                "worker panicked; starting it again"
            );
            if !pause(&stop, delay).await {
                return;
            }
        }
    }
}

async fn drive<W: Worker>(
    name: &'static str,
    pace: Pace,
    retries: Backoff,
    mut worker: W,
    stop: &CancellationToken,
    failures: &mut u32,
) {
    let mut ticker = match pace {
        Pace::Every(period) => {
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            Some(ticker)
        }
        Pace::Poll { .. } => None,
    };
    loop {
        if let Some(ticker) = &mut ticker {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = ticker.tick() => {}
            }
        }
        if stop.is_cancelled() {
            break;
        }
        let wait = match worker.round(stop).await {
            Ok(round) => {
                if *failures > 0 {
                    tracing::info!(worker = name, failures = *failures, "worker recovered");
                    *failures = 0;
                }
                match (pace, round) {
                    (Pace::Poll { idle }, Round::Idle) => idle,
                    _ => Duration::ZERO,
                }
            }
            Err(err) => {
                *failures += 1;
                let delay = retries.delay(*failures);
                tracing::error!(
                    worker = name,
                    failures = *failures,
                    retry_in_ms = millis(delay),
                    error = %format!("{err:#}"),
                    "worker failed; trying again"
                );
                delay
            }
        };
        if !pause(stop, wait).await {
            break;
        }
    }
    worker.finish().await;
}

/// Sleeps for `wait` unless `stop` is cancelled first; false when it was.
async fn pause(stop: &CancellationToken, wait: Duration) -> bool {
    if wait.is_zero() {
        return !stop.is_cancelled();
    }
    tokio::select! {
        () = stop.cancelled() => false,
        () = tokio::time::sleep(wait) => true,
    }
}

fn millis(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
