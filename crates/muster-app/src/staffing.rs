//! A staffing plan as a manager types it (console or API): groups of agents, each with when
//! it starts and when it stops, in the incident's time zone (or as RFC 3339 from the API);
//! checked, then saved. The posted waits count on a group from the moment it is saved.

use muster_core::incident::parse_local_minute;
use muster_core::wait_estimator::StaffGroup;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use muster_core::problem::{FieldErrors, Problem};

/// More groups than a desk plans for one crisis.
pub const MAX_GROUPS: usize = 50;
const MAX_AGENTS: u32 = 10_000;

/// One group as typed; a row left wholly empty is no group.
#[derive(Debug, Clone, Default)]
pub struct StaffText {
    pub agents: String,
    pub from: String,
    pub until: String,
}

impl StaffText {
    fn is_empty(&self) -> bool {
        [&self.agents, &self.from, &self.until]
            .iter()
            .all(|f| f.trim().is_empty())
    }
}

/// `YYYY-MM-DDTHH:MM` in `zone`, or an RFC 3339 instant; empty is `Ok(None)`.
fn parse_moment(zone: &str, raw: &str) -> Result<Option<OffsetDateTime>, Problem> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    OffsetDateTime::parse(raw, &Rfc3339)
        .ok()
        .or_else(|| parse_local_minute(zone, raw))
        .map(|at| Some(at.to_offset(UtcOffset::UTC)))
        .ok_or_else(|| Problem::of("err_local_time").with("text", raw))
}

/// The groups typed, checked; errors are keyed `staffing[i].agents|from|until`.
pub fn parse_staffing(zone: &str, typed: &[StaffText]) -> Result<Vec<StaffGroup>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut groups = Vec::new();
    for (i, row) in typed.iter().enumerate().filter(|(_, row)| !row.is_empty()) {
        let mut error = |field: &str, problem: Problem| {
            errors.insert(format!("staffing[{i}].{field}"), problem);
        };
        let agents = match row.agents.trim().parse::<u32>() {
            Ok(n) if (1..=MAX_AGENTS).contains(&n) => Some(n),
            _ => {
                error("agents", Problem::of("err_agents").with("max", MAX_AGENTS));
                None
            }
        };
        let from = parse_moment(zone, &row.from).map_err(|e| error("from", e));
        let until = parse_moment(zone, &row.until).map_err(|e| error("until", e));
        let (Some(agents), Ok(from), Ok(until)) = (agents, from, until) else {
            continue;
        };
        match (from, until) {
            (None, None) => error("from", Problem::of("err_shift_unbounded")),
            (Some(from), Some(until)) if until <= from => {
                error("until", Problem::of("err_shift_order"));
            }
            _ => groups.push(StaffGroup {
                agents,
                from,
                until,
            }),
        }
    }
    if groups.len() > MAX_GROUPS {
        errors.insert(
            "staffing".to_owned(),
            Problem::of("err_too_many").with("max", MAX_GROUPS),
        );
    }
    if errors.is_empty() {
        Ok(groups)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn row(agents: &str, from: &str, until: &str) -> StaffText {
        StaffText {
            agents: agents.to_owned(),
            from: from.to_owned(),
            until: until.to_owned(),
        }
    }

    #[test]
    fn groups_are_read_in_the_incident_zone_and_empty_rows_skipped() {
        let groups = parse_staffing(
            "Europe/Oslo",
            &[
                row("8", "", "2026-11-30T17:00"),
                row("", "", ""),
                row(" 6 ", "2026-11-30T14:00", ""),
                row("4", "2026-11-30T09:00:00Z", "2026-11-30T12:00:00Z"),
            ],
        );
        assert_eq!(
            groups,
            Ok(vec![
                StaffGroup {
                    agents: 8,
                    from: None,
                    until: Some(datetime!(2026-11-30 16:00 UTC)),
                },
                StaffGroup {
                    agents: 6,
                    from: Some(datetime!(2026-11-30 13:00 UTC)),
                    until: None,
                },
                StaffGroup {
                    agents: 4,
                    from: Some(datetime!(2026-11-30 09:00 UTC)),
                    until: Some(datetime!(2026-11-30 12:00 UTC)),
                },
            ])
        );
    }

    #[test]
    fn each_bad_field_has_its_own_message() {
        let errors = parse_staffing(
            "UTC",
            &[
                row("0", "2026-11-30T14:00", ""),
                row("six", "", ""),
                row("3", "half past two", ""),
                row("3", "2026-11-30T14:00", "2026-11-30T13:00"),
                row("3", "", ""),
            ],
        )
        .err()
        .unwrap_or_default();
        let keys: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "staffing[0].agents",
                "staffing[1].agents",
                "staffing[2].from",
                "staffing[3].until",
                "staffing[4].from"
            ]
        );
        assert_eq!(
            errors["staffing[2].from"].param("text"),
            Some("half past two")
        );
    }
}
