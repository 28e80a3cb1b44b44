//! How long a client waits before its next sign-in after failed ones: nothing for the first
//! few, then a delay that doubles with each further failure, up to a cap. Failures count per
//! client (on one account, and on all accounts), never per account alone: an account-wide
//! count lets anyone who knows a manager's address keep the manager out.

use time::{Duration, OffsetDateTime};

/// A client's recent failed sign-ins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    pub count: u64,
    pub last: Option<OffsetDateTime>,
}

/// A client's failures on the account it is signing in to, and on every account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientFailures {
    pub on_account: Failures,
    pub on_any: Failures,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginDelay {
    /// Failures allowed before any wait.
    pub free: u64,
    /// The wait after the first failure beyond the free ones.
    pub first: Duration,
    pub cap: Duration,
}

impl LoginDelay {
    /// The wait required after `count` failures.
    pub fn after(&self, count: u64) -> Duration {
        if count < self.free {
            return Duration::ZERO;
        }
        let doublings = u32::try_from(count - self.free).unwrap_or(u32::MAX).min(30);
        self.first.saturating_mul(1_i32 << doublings).min(self.cap)
    }

    /// What is left of the wait at `now`; zero when the client may try.
    pub fn remaining(&self, failures: Failures, now: OffsetDateTime) -> Duration {
        match failures.last {
            Some(last) => (last + self.after(failures.count) - now).max(Duration::ZERO),
            None => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const DELAY: LoginDelay = LoginDelay {
        free: 5,
        first: Duration::seconds(15),
        cap: Duration::minutes(15),
    };

    #[test]
    fn free_failures_then_a_doubling_wait_up_to_the_cap() {
        assert_eq!(DELAY.after(4), Duration::ZERO);
        assert_eq!(DELAY.after(5), Duration::seconds(15));
        assert_eq!(DELAY.after(6), Duration::seconds(30));
        assert_eq!(DELAY.after(8), Duration::seconds(120));
        assert_eq!(DELAY.after(11), Duration::minutes(15));
        assert_eq!(DELAY.after(u64::MAX), Duration::minutes(15));
    }

    #[test]
    fn the_wait_runs_from_the_last_failure() {
        let last = datetime!(2026-12-03 10:00 UTC);
        let failures = Failures {
            count: 6,
            last: Some(last),
        };
        assert_eq!(
            DELAY.remaining(failures, last + Duration::seconds(10)),
            Duration::seconds(20)
        );
        assert_eq!(
            DELAY.remaining(failures, last + Duration::minutes(1)),
            Duration::ZERO
        );
        assert_eq!(
            DELAY.remaining(Failures::default(), last),
            Duration::ZERO,
            "no failures, no wait"
        );
    }
}
