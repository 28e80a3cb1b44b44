//! What the agents' working view reads besides the queue itself: the cases an agent holds,
//! the last message of each listed case, the incident an agent's teams have work in, a
//! search by reference, booking, email or phone, and likely duplicates of a case. Every
//! query is an index range scan (`idx_cases_claimed`, `idx_contacts_case`,
//! `idx_cases_queue`, `idx_cases_booking`, `idx_cases_email`, `idx_cases_phone`).

use std::collections::HashMap;

use muster_core::case::{Case, CaseStatus, Direction};
use muster_core::case_ref::CaseRef;
use muster_core::contact_info::{BookingRef, EmailAddress, PhoneNumber};
use muster_core::incident::IncidentStatus;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use time::OffsetDateTime;

use crate::Store;
use crate::cases::to_case;
use crate::entity::{case, contact, incident, user};
use crate::error::StoreResult;

/// How many characters of the last message the queue shows.
pub const PREVIEW_CHARS: usize = 140;

/// A slug and a title of an incident agents work on.
#[derive(Debug, Clone)]
pub struct LiveIncident {
    pub id: i64,
    pub slug: String,
    pub title: muster_core::localized::Localized,
}

fn preview(body: &str) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(PREVIEW_CHARS) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

impl Store {
    /// Open cases of `incident_id` that `agent_id` holds at `now`, oldest claim first.
    pub async fn cases_held_by(
        &self,
        agent_id: i64,
        incident_id: i64,
        now: OffsetDateTime,
        limit: u64,
    ) -> StoreResult<Vec<Case>> {
        case::Entity::find()
            .filter(case::Column::ClaimedBy.eq(agent_id))
            .filter(case::Column::Status.eq(CaseStatus::Open.as_str()))
            .filter(case::Column::LeaseUntil.gt(now))
            .filter(case::Column::IncidentId.eq(incident_id))
            .order_by_asc(case::Column::LeaseUntil)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_case)
            .collect()
    }

    /// The last message to or from the customer on each of `case_ids` (notes left out),
    /// flattened to one line of at most [`PREVIEW_CHARS`] characters.
    pub async fn last_messages(&self, case_ids: &[i64]) -> StoreResult<HashMap<i64, String>> {
        let mut out = HashMap::with_capacity(case_ids.len());
        // One probe per case, newest first on `idx_contacts_case`: a join with a GROUP BY
        // would read every contact of every listed case.
        for &case_id in case_ids {
            let last = contact::Entity::find()
                .filter(contact::Column::CaseId.eq(case_id))
                .filter(contact::Column::Direction.ne(Direction::Note.as_str()))
                .order_by_desc(contact::Column::CreatedAt)
                .limit(1)
                .one(&self.db)
                .await?;
            if let Some(last) = last {
                out.insert(case_id, preview(&last.body));
            }
        }
        Ok(out)
    }

    /// Names of console users by id, for "taken by".
    pub async fn user_names(&self) -> StoreResult<HashMap<i64, String>> {
        Ok(user::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect())
    }

    /// Incidents agents work on (active, then monitoring), the most recently opened first.
    pub async fn live_incidents(&self) -> StoreResult<Vec<LiveIncident>> {
        let mut out = Vec::new();
        for status in [IncidentStatus::Active, IncidentStatus::Monitoring] {
            let models = incident::Entity::find()
                .filter(incident::Column::Status.eq(status.as_str()))
                .order_by_desc(incident::Column::OpenedAt)
                .order_by_desc(incident::Column::Id)
                .all(&self.db)
                .await?;
            for m in models {
                out.push(LiveIncident {
                    id: m.id,
                    title: crate::convert::from_json(m.title, "incident title")?,
                    slug: m.slug,
                });
            }
        }
        Ok(out)
    }

    /// Whether `incident_id` has an open case for any of `teams` (`None`: any team).
    pub async fn has_open_cases(
        &self,
        incident_id: i64,
        teams: Option<&[String]>,
    ) -> StoreResult<bool> {
        let mut select = case::Entity::find()
            .select_only()
            .column(case::Column::Id)
            .filter(case::Column::IncidentId.eq(incident_id))
            .filter(case::Column::Status.eq(CaseStatus::Open.as_str()));
        if let Some(teams) = teams {
            select = select.filter(case::Column::Team.is_in(teams.iter().cloned()));
        }
        Ok(select
            .limit(1)
            .into_tuple::<i64>()
            .one(&self.db)
            .await?
            .is_some())
    }

    /// Cases of `incident_id` an agent's search names: a case reference, else a booking
    /// reference, an email address or a phone number, exactly as stored.
    pub async fn search_cases(
        &self,
        incident_id: i64,
        text: &str,
        limit: u64,
    ) -> StoreResult<Vec<Case>> {
        let text = text.trim();
        if let Ok(reference) = CaseRef::parse(text) {
            return Ok(self
                .case_by_reference(&reference)
                .await?
                .into_iter()
                .collect());
        }
        // Each way of naming a customer, normalised as intake stores it.
        let probes = [
            (
                case::Column::BookingRef,
                BookingRef::parse(text).ok().map(|b| b.as_str().to_owned()),
            ),
            (
                case::Column::Email,
                EmailAddress::parse(text).ok().map(String::from),
            ),
            (
                case::Column::Phone,
                PhoneNumber::parse(text).ok().map(|p| p.as_str().to_owned()),
            ),
        ];
        for (column, value) in probes {
            let Some(value) = value else { continue };
            let found = case::Entity::find()
                .filter(case::Column::IncidentId.eq(incident_id))
                .filter(column.eq(value))
                .order_by_desc(case::Column::CreatedAt)
                .limit(limit)
                .all(&self.db)
                .await?;
            if !found.is_empty() {
                return found.into_iter().map(to_case).collect();
            }
        }
        Ok(Vec::new())
    }

    /// Cases of the same incident that are likely the same customer's request as `case`:
    /// those that gave its identifiers without its link (or whose identifiers it gave), the
    /// same booking reference, or the same name and phone number. Merged-away cases are
    /// left out.
    pub async fn likely_duplicates(&self, case: &Case) -> StoreResult<Vec<Case>> {
        let same_incident = || {
            case::Entity::find()
                .filter(case::Column::IncidentId.eq(case.incident_id))
                .filter(case::Column::Id.ne(case.id))
                .filter(case::Column::MergedInto.is_null())
                .order_by_asc(case::Column::CreatedAt)
                .limit(10)
        };
        let mut found: Vec<case::Model> = same_incident()
            .filter(case::Column::UnverifiedMatch.eq(case.reference.as_str()))
            .all(&self.db)
            .await?;
        if let Some(matched) = &case.unverified_match {
            found.extend(
                same_incident()
                    .filter(case::Column::Reference.eq(matched.reference.as_str()))
                    .all(&self.db)
                    .await?,
            );
        }
        if let Some(booking) = &case.booking_ref {
            for model in same_incident()
                .filter(case::Column::BookingRef.eq(booking.as_str()))
                .all(&self.db)
                .await?
            {
                if !found.iter().any(|f| f.id == model.id) {
                    found.push(model);
                }
            }
        }
        if let Some(phone) = &case.phone {
            for model in same_incident()
                .filter(case::Column::Phone.eq(phone.as_str()))
                .all(&self.db)
                .await?
            {
                let same_name = model
                    .customer_name
                    .trim()
                    .eq_ignore_ascii_case(case.customer_name.trim());
                if same_name && !found.iter().any(|f| f.id == model.id) {
                    found.push(model);
                }
            }
        }
        found.into_iter().map(to_case).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::preview;

    #[test]
    fn a_preview_is_one_line_cut_at_a_character() {
        assert_eq!(preview("Hello\n\n  there"), "Hello there");
        let long = "ش".repeat(200);
        let cut = preview(&long);
        assert_eq!(cut.chars().count(), super::PREVIEW_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
