//! A per-client limit on public submissions: generous enough for a hotel lobby full of
//! stranded travellers behind one address, tight enough to stop a script.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

/// Forgetting stale addresses once the table is this big keeps memory bounded.
const PRUNE_AT: usize = 50_000;

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt; `Err(seconds)` says how long to wait when over the limit.
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
