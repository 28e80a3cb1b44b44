//! A per-client limit on public submissions: generous enough for a hotel lobby full of
//! stranded travellers behind one address, tight enough to stop a script. On PostgreSQL the
//! attempts are counted in the database every replica shares, so N per client and window
//! means N for the whole deployment; on SQLite (one replica) in memory.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use muster_store::Store;

#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    shared: Option<Shared>,
}

/// The database count of a limit that holds across replicas.
#[derive(Debug)]
struct Shared {
    store: Store,
    /// Tells this limit's rows from another's.
    name: &'static str,
    checks: AtomicU64,
}

/// Forgetting stale addresses once the table is this big keeps memory bounded.
const PRUNE_AT: usize = 50_000;

/// Expired windows are deleted from the database once every this many checks.
const FORGET_EVERY: u64 = 1024;

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            seen: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// The limit `name`, counted in `store` when replicas share it, else in memory.
    pub fn across_replicas(
        name: &'static str,
        limit: u32,
        window: Duration,
        store: &Store,
    ) -> Self {
        let shared = store.shared_by_replicas().then(|| Shared {
            store: store.clone(),
            name,
            checks: AtomicU64::new(0),
        });
        Self {
            shared,
            ..Self::new(limit, window)
        }
    }

    /// Counts one attempt of `address` now; `Err(seconds)` says how long to wait when over
    /// the limit. If the database cannot count, this replica's own count decides.
    pub async fn admit(&self, address: IpAddr) -> Result<(), u64> {
        let Some(shared) = &self.shared else {
            return self.check(address, Instant::now());
        };
        let window = i64::try_from(self.window.as_secs()).unwrap_or(i64::MAX);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let key = format!("{}:{address}", shared.name);
        if shared.checks.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1
            && let Err(error) = shared.store.forget_attempts(window, now).await
        {
            tracing::warn!(%error, "old rate-limit windows could not be deleted");
        }
        match shared.store.count_attempt(&key, window, now).await {
            Ok(counted) if counted.attempts > i64::from(self.limit) => {
                let wait = counted.started + window - now;
                Err(u64::try_from(wait).unwrap_or(0).max(1))
            }
            Ok(_) => Ok(()),
            Err(error) => {
                tracing::warn!(%error, "the shared rate limit could not be counted");
                self.check(address, Instant::now())
            }
        }
    }

    /// Counts one attempt in this replica's memory.
    pub fn check(&self, address: IpAddr, now: Instant) -> Result<(), u64> {
        let Ok(mut seen) = self.seen.lock() else {
            return Ok(());
        };
        if seen.len() >= PRUNE_AT {
            let window = self.window;
            seen.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = seen.entry(address).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            let wait = self.window.saturating_sub(now.duration_since(entry.0));
            return Err(wait.as_secs().max(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_and_forgets_after_the_window() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        let start = Instant::now();
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert!(limiter.check(a, start).is_ok());
        assert!(limiter.check(a, start).is_ok());
        assert_eq!(limiter.check(a, start + Duration::from_secs(10)), Err(50));
        assert!(
            limiter.check(b, start).is_ok(),
            "other addresses are not affected"
        );
        assert!(limiter.check(a, start + Duration::from_secs(61)).is_ok());
    }
}
