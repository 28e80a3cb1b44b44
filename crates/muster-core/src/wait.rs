//! Wait times, always shown as an honest range in plain words, never a false precision.

use serde::{Deserialize, Serialize};

/// Expected time to a first answer, in minutes, from `low` to `high`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitRange {
    pub low_minutes: i64,
    pub high_minutes: i64,
    /// The queue is outrunning the desk: the wait is at least `low_minutes` and growing, so
    /// it is shown as "more than …, and rising"; `high_minutes` is only the estimator's guess
    /// at how soon the crisis eases, and no promise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rising: bool,
}

/// How a range is said: the web layer turns each into words in the reader's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "unit", rename_all = "snake_case")]
pub enum WaitPhrase {
    /// "5 to 15 minutes"
    Minutes { low: i64, high: i64 },
    /// "under 2 hours"
    UnderHours { high: i64 },
    /// "2 to 4 hours"
    Hours { low: i64, high: i64 },
    /// "1 to 2 days"
    Days { low: i64, high: i64 },
    /// "more than 30 minutes, and rising"
    MoreThanMinutes { low: i64 },
    /// "more than 6 hours, and rising"
    MoreThanHours { low: i64 },
    /// "more than 3 days, and rising"
    MoreThanDays { low: i64 },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WaitError {
    #[error("a wait time cannot be negative")]
    Negative,
    #[error("the shortest wait cannot be longer than the longest")]
    Inverted,
    #[error("a wait time over 60 days is not a wait time")]
    TooLong,
}

const HOUR: i64 = 60;
const DAY: i64 = 24 * HOUR;

fn div_ceil(value: i64, unit: i64) -> i64 {
    (value + unit - 1) / unit
}

impl WaitRange {
    pub fn new(low_minutes: i64, high_minutes: i64) -> Result<Self, WaitError> {
        if low_minutes < 0 || high_minutes < 0 {
            return Err(WaitError::Negative);
        }
        if low_minutes > high_minutes {
            return Err(WaitError::Inverted);
        }
        if high_minutes > 60 * DAY {
            return Err(WaitError::TooLong);
        }
        Ok(Self {
            low_minutes,
            high_minutes,
            rising: false,
        })
    }

    /// The same range, marked as outrunning the desk (see [`WaitRange::rising`]).
    pub fn rising(self) -> Self {
        Self {
            rising: true,
            ..self
        }
    }

    /// Rounds outwards to whole units, so the words never promise more than the numbers. A
    /// rising wait is said by its lower end alone, rounded down.
    pub fn phrase(&self) -> WaitPhrase {
        if self.rising {
            return self.rising_phrase();
        }
        let (low, high) = (self.low_minutes, self.high_minutes.max(1));
        // Up to a whole hour is said in minutes: a posted "30 to 60 minutes" stays that.
        if high <= HOUR {
            let low5 = (low / 5) * 5;
            let high5 = (div_ceil(high, 5) * 5).max(low5 + 5);
            WaitPhrase::Minutes {
                low: low5,
                high: high5,
            }
        } else if low >= DAY && low % DAY == 0 && high % DAY == 0 {
            // Posted in whole days ("1 to 2 days"), said in days, not as 24 to 48 hours.
            WaitPhrase::Days {
                low: low / DAY,
                high: (high / DAY).max(low / DAY + 1),
            }
        } else if high <= 2 * DAY {
            let low_h = low / HOUR;
            let high_h = div_ceil(high, HOUR);
            if low_h == 0 {
                WaitPhrase::UnderHours { high: high_h }
            } else {
                WaitPhrase::Hours {
                    low: low_h,
                    high: high_h.max(low_h + 1),
                }
            }
        } else {
            let low_d = (low / DAY).max(if low >= DAY { 1 } else { 0 });
            let high_d = div_ceil(high, DAY);
            WaitPhrase::Days {
                low: low_d,
                high: high_d.max(low_d + 1),
            }
        }
    }

    fn rising_phrase(&self) -> WaitPhrase {
        let low = self.low_minutes;
        if low < HOUR {
            WaitPhrase::MoreThanMinutes { low: (low / 5) * 5 }
        } else if low < 2 * DAY {
            WaitPhrase::MoreThanHours { low: low / HOUR }
        } else {
            WaitPhrase::MoreThanDays { low: low / DAY }
        }
    }

    /// True when `minutes` falls inside the range once it is rounded as it is shown ("more
    /// than 6 hours" holds every wait from 6 hours on).
    pub fn shown_range_contains(&self, minutes: i64) -> bool {
        let (lo, hi) = match self.phrase() {
            WaitPhrase::Minutes { low, high } => (low, high),
            WaitPhrase::UnderHours { high } => (0, high * HOUR),
            WaitPhrase::Hours { low, high } => (low * HOUR, high * HOUR),
            WaitPhrase::Days { low, high } => (low * DAY, high * DAY),
            WaitPhrase::MoreThanMinutes { low } => (low, i64::MAX),
            WaitPhrase::MoreThanHours { low } => (low * HOUR, i64::MAX),
            WaitPhrase::MoreThanDays { low } => (low * DAY, i64::MAX),
        };
        (lo..=hi).contains(&minutes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase(lo: i64, hi: i64) -> WaitPhrase {
        WaitRange::new(lo, hi)
            .map(|r| r.phrase())
            .unwrap_or(WaitPhrase::Minutes { low: -1, high: -1 })
    }

    #[test]
    fn phrases_round_outwards() {
        assert_eq!(phrase(3, 12), WaitPhrase::Minutes { low: 0, high: 15 });
        assert_eq!(phrase(20, 90), WaitPhrase::UnderHours { high: 2 });
        assert_eq!(phrase(30, 60), WaitPhrase::Minutes { low: 30, high: 60 });
        assert_eq!(phrase(DAY, 2 * DAY), WaitPhrase::Days { low: 1, high: 2 });
        assert_eq!(
            phrase(DAY - 60, 2 * DAY),
            WaitPhrase::Hours { low: 23, high: 48 }
        );
        assert_eq!(phrase(130, 200), WaitPhrase::Hours { low: 2, high: 4 });
        assert_eq!(phrase(120, 120), WaitPhrase::Hours { low: 2, high: 3 });
        assert_eq!(
            phrase(DAY + 60, 2 * DAY + 60),
            WaitPhrase::Days { low: 1, high: 3 }
        );
    }

    #[test]
    fn rejects_nonsense() {
        assert_eq!(WaitRange::new(-1, 5), Err(WaitError::Negative));
        assert_eq!(WaitRange::new(10, 5), Err(WaitError::Inverted));
        assert_eq!(WaitRange::new(0, 61 * DAY), Err(WaitError::TooLong));
    }

    #[test]
    fn the_shown_range_covers_the_numbers() {
        let range = WaitRange {
            low_minutes: 130,
            high_minutes: 200,
            rising: false,
        };
        assert!(range.shown_range_contains(130) && range.shown_range_contains(240));
        assert!(!range.shown_range_contains(241));
    }

    fn rising(lo: i64, hi: i64) -> WaitPhrase {
        WaitRange::new(lo, hi)
            .map(|r| r.rising().phrase())
            .unwrap_or(WaitPhrase::Minutes { low: -1, high: -1 })
    }

    #[test]
    fn a_rising_wait_is_said_by_its_lower_end_rounded_down() {
        assert_eq!(rising(37, 50), WaitPhrase::MoreThanMinutes { low: 35 });
        assert_eq!(
            rising(6 * HOUR + 50, 9 * HOUR),
            WaitPhrase::MoreThanHours { low: 6 }
        );
        assert_eq!(rising(59, 300), WaitPhrase::MoreThanMinutes { low: 55 });
        assert_eq!(
            rising(2 * DAY + 1, 5 * DAY),
            WaitPhrase::MoreThanDays { low: 2 }
        );
        // The upper end is no promise: any longer wait is inside what was shown.
        let range = WaitRange {
            low_minutes: 6 * HOUR + 50,
            high_minutes: 9 * HOUR,
            rising: true,
        };
        assert!(range.shown_range_contains(6 * HOUR) && range.shown_range_contains(40 * HOUR));
        assert!(!range.shown_range_contains(6 * HOUR - 1));
    }

    proptest::proptest! {
        /// A rising wait's words never claim less than its lower end rounds down to, and never
        /// put an end to it: whatever wait comes at or after the lower end is inside.
        #[test]
        fn rising_words_hold_every_longer_wait(low in 0i64..(60 * DAY), extra in 0i64..DAY, later in 0i64..(90 * DAY)) {
            let high = (low + extra).min(60 * DAY);
            let range = WaitRange::new(low, high).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?.rising();
            proptest::prop_assert!(range.shown_range_contains(low + later));
            let (said, unit) = match range.phrase() {
                WaitPhrase::MoreThanMinutes { low } => (low, 1),
                WaitPhrase::MoreThanHours { low } => (low, HOUR),
                WaitPhrase::MoreThanDays { low } => (low, DAY),
                other => return Err(proptest::test_runner::TestCaseError::fail(format!("{other:?}"))),
            };
            proptest::prop_assert!(said * unit <= low && low - said * unit < unit.max(5));
            proptest::prop_assert!(said >= 1 || unit == 1);
        }

        /// Without `rising` the words are a closed range that holds both ends.
        #[test]
        fn steady_words_hold_both_ends(low in 0i64..(60 * DAY), extra in 0i64..DAY) {
            let high = (low + extra).min(60 * DAY);
            let range = WaitRange::new(low, high).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            proptest::prop_assert!(range.shown_range_contains(low) && range.shown_range_contains(high));
            proptest::prop_assert!(!range.shown_range_contains(62 * DAY));
        }
    }
}
