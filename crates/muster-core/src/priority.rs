//! Priority tiers: how urgent a case is, from how soon the customer travels.
//!
//! The tier is computed, never stored as truth: it rises as the departure date
//! approaches, measured against today in the incident's own time zone.

use serde::{Deserialize, Serialize};
use time::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Critical,
    High,
    Normal,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Critical, Tier::High, Tier::Normal];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Critical => "critical",
            Tier::High => "high",
            Tier::Normal => "normal",
        }
    }

    pub fn parse(raw: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == raw)
    }
}

/// Per-incident windows, in days from today: departures up to `critical_days` away are
/// critical, up to `high_days` high, later normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityWindows {
    pub critical_days: i64,
    pub high_days: i64,
}

impl Default for PriorityWindows {
    fn default() -> Self {
        Self {
            critical_days: 3,
            high_days: 7,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Priority {
    pub tier: Tier,
    /// No departure date is known: the case needs one before it can be ranked properly.
    pub needs_date: bool,
    /// Days from today to departure (negative once travel has begun).
    pub days_to_departure: Option<i64>,
}

impl PriorityWindows {
    pub fn priority(&self, departure: Option<Date>, today: Date) -> Priority {
        match departure {
            None => Priority {
                tier: Tier::Normal,
                needs_date: true,
                days_to_departure: None,
            },
            Some(date) => {
                let days = (date - today).whole_days();
                let tier = if days <= self.critical_days {
                    Tier::Critical
                } else if days <= self.high_days {
                    Tier::High
                } else {
                    Tier::Normal
                };
                Priority {
                    tier,
                    needs_date: false,
                    days_to_departure: Some(days),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    #[test]
    fn tiers_follow_the_default_windows() {
        let w = PriorityWindows::default();
        let today = date!(2026 - 11 - 24);
        assert_eq!(w.priority(Some(today), today).tier, Tier::Critical);
        assert_eq!(
            w.priority(Some(date!(2026 - 11 - 27)), today).tier,
            Tier::Critical
        );
        assert_eq!(
            w.priority(Some(date!(2026 - 11 - 28)), today).tier,
            Tier::High
        );
        assert_eq!(
            w.priority(Some(date!(2026 - 12 - 01)), today).tier,
            Tier::High
        );
        assert_eq!(
            w.priority(Some(date!(2026 - 12 - 02)), today).tier,
            Tier::Normal
        );
        let unknown = w.priority(None, today);
        assert_eq!((unknown.tier, unknown.needs_date), (Tier::Normal, true));
    }

    proptest! {
        /// As the days pass, a case's tier can only rise (critical sorts first).
        #[test]
        fn tier_never_falls_as_departure_nears(offset in -30i64..400, step in 0i64..30) {
            let w = PriorityWindows::default();
            let today = date!(2026 - 01 - 01);
            let departure = today + time::Duration::days(offset);
            let later = today + time::Duration::days(step);
            prop_assert!(w.priority(Some(departure), later).tier <= w.priority(Some(departure), today).tier);
        }
    }
}
