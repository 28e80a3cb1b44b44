//! Wait times, always shown as an honest range in plain words, never a false precision.

use serde::{Deserialize, Serialize};

/// Expected time to a first answer, in minutes, from `low` to `high`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitRange {
    pub low_minutes: i64,
    pub high_minutes: i64,
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
        })
    }

    /// Rounds outwards to whole units, so the words never promise more than the numbers.
    pub fn phrase(&self) -> WaitPhrase {
        let (low, high) = (self.low_minutes, self.high_minutes.max(1));
        if high < HOUR {
            let low5 = (low / 5) * 5;
            let high5 = (div_ceil(high, 5) * 5).max(low5 + 5);
            WaitPhrase::Minutes {
                low: low5,
                high: high5,
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

    /// True when `minutes` falls inside the range once it is rounded as it is shown.
    pub fn shown_range_contains(&self, minutes: i64) -> bool {
        let (lo, hi) = match self.phrase() {
            WaitPhrase::Minutes { low, high } => (low, high),
            WaitPhrase::UnderHours { high } => (0, high * HOUR),
            WaitPhrase::Hours { low, high } => (low * HOUR, high * HOUR),
            WaitPhrase::Days { low, high } => (low * DAY, high * DAY),
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
        };
        assert!(range.shown_range_contains(130) && range.shown_range_contains(240));
        assert!(!range.shown_range_contains(241));
    }
}
