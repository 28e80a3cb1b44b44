//! How long to wait before trying again: the one retry policy of the mail queue, the
//! campaign dispatcher, outbound webhooks and the worker runner's restarts.

use std::time::Duration;

/// Waits that start at `base` and double after each further failure, never longer than
/// `max`; after `max_attempts` attempts the work is given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    pub max_attempts: u32,
}

impl Backoff {
    /// The wait after the `failures`th failure in a row: `base`, then doubling, at most
    /// `max`. Attempts are not counted here (a worker's restarts never run out).
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 2_u32.saturating_pow(failures.saturating_sub(1));
        self.base.saturating_mul(factor).min(self.max)
    }

    /// The wait before the next attempt once `attempts` (the failed one included) have
    /// been made, or `None` when they are used up.
    pub fn retry_after(&self, attempts: u32) -> Option<Duration> {
        (attempts < self.max_attempts).then(|| self.delay(attempts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    const HALF_MINUTE_TO_AN_HOUR: Backoff = Backoff {
        base: secs(30),
        max: secs(3600),
        max_attempts: 10,
    };

    #[test]
    fn waits_double_from_the_base() {
        let delays: Vec<Duration> = (1..=5).map(|n| HALF_MINUTE_TO_AN_HOUR.delay(n)).collect();
        assert_eq!(
            delays,
            [secs(30), secs(60), secs(120), secs(240), secs(480)]
        );
        // No failure yet counts as the first.
        assert_eq!(HALF_MINUTE_TO_AN_HOUR.delay(0), secs(30));
    }

    #[test]
    fn waits_stop_growing_at_the_cap() {
        assert_eq!(HALF_MINUTE_TO_AN_HOUR.delay(8), secs(3600));
        assert_eq!(HALF_MINUTE_TO_AN_HOUR.delay(9), secs(3600));
        // Far past any real count, nothing overflows.
        assert_eq!(HALF_MINUTE_TO_AN_HOUR.delay(u32::MAX), secs(3600));
        let uncapped = Backoff {
            max: Duration::MAX,
            ..HALF_MINUTE_TO_AN_HOUR
        };
        // Without a cap the factor saturates: longer than a century, and no overflow.
        assert!(uncapped.delay(200) > secs(100 * 365 * 24 * 3600));
        assert!(uncapped.delay(200) >= uncapped.delay(40));
    }

    #[test]
    fn attempts_run_out() {
        assert_eq!(HALF_MINUTE_TO_AN_HOUR.retry_after(1), Some(secs(30)));
        assert_eq!(HALF_MINUTE_TO_AN_HOUR.retry_after(9), Some(secs(3600)));
        assert_eq!(HALF_MINUTE_TO_AN_HOUR.retry_after(10), None);
        assert_eq!(HALF_MINUTE_TO_AN_HOUR.retry_after(11), None);
    }

    #[test]
    fn one_attempt_allowed_means_no_retry() {
        let once = Backoff {
            max_attempts: 1,
            ..HALF_MINUTE_TO_AN_HOUR
        };
        assert_eq!(once.retry_after(1), None);
        assert_eq!(once.retry_after(0), Some(secs(30)));
    }
}
