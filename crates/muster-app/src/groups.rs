//! Disruption groups: saving a group (a filter over the incident's cases), looking at it
//! (count, first page, languages), closing its problem (resolving its cases).

use muster_core::case::Case;
use muster_core::group::{Group, GroupFilter};
use muster_core::incident::Incident;
use muster_core::intake::parse_date;
use muster_core::priority::Tier;
use muster_core::problem::Problem;
use muster_core::trip::Trip;
use muster_store::groups::GroupScope;

use crate::{Actor, App, AppError, AppResult, FieldErrors};

pub const GROUP_NAME_MAX: usize = 120;
/// Cases shown on a group's page.
pub const PREVIEW_SIZE: u64 = 50;

/// A group as typed on the console form: every field optional but the name.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct GroupInput {
    pub name: String,
    pub trip: String,
    pub departure_from: String,
    pub departure_to: String,
    pub request_type: String,
    pub team: String,
    pub tier: String,
}

/// What a group's page shows.
#[derive(Debug, Clone)]
pub struct GroupOverview {
    pub count: u64,
    pub first: Vec<Case>,
    /// The languages of its cases, for the reply form.
    pub languages: Vec<String>,
}

fn optional(raw: &str) -> Option<String> {
    let value = raw.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

impl App {
    /// Parses a typed group against the incident's request types and the teams.
    async fn parse_group(
        &self,
        incident: &Incident,
        input: &GroupInput,
    ) -> AppResult<(String, GroupFilter)> {
        let mut errors = FieldErrors::new();
        let name = input.name.trim();
        if name.is_empty() {
            errors.insert("name".into(), Problem::of("err_required"));
        } else if let Err(err) = muster_core::text_rule::single_line(name) {
            errors.insert("name".into(), err.into());
        } else if name.chars().count() > GROUP_NAME_MAX {
            errors.insert("name".into(), Problem::too_long(GROUP_NAME_MAX));
        }
        let trip = Trip::parse_optional(&input.trip)
            .map_err(|p| errors.insert("trip".into(), p))
            .ok()
            .flatten();
        let mut date = |field: &str, raw: &str| match optional(raw) {
            None => None,
            Some(raw) => parse_date(&raw).or_else(|| {
                errors.insert(field.into(), Problem::of("err_date"));
                None
            }),
        };
        let departure_from = date("departure_from", &input.departure_from);
        let departure_to = date("departure_to", &input.departure_to);
        if let (Some(from), Some(to)) = (departure_from, departure_to)
            && from > to
        {
            errors.insert("departure_to".into(), Problem::of("err_date_order"));
        }
        let request_type = optional(&input.request_type);
        if let Some(key) = &request_type
            && !incident
                .settings
                .request_types
                .iter()
                .any(|t| &t.key == key)
        {
            errors.insert("request_type".into(), Problem::of("err_request_type"));
        }
        let team = optional(&input.team);
        if let Some(key) = &team
            && !self.store.list_teams().await?.iter().any(|t| &t.key == key)
        {
            errors.insert(
                "team".into(),
                Problem::of("err_no_such_team").with("team", key),
            );
        }
        let tier = match optional(&input.tier) {
            None => None,
            Some(raw) => Tier::parse(&raw).or_else(|| {
                errors.insert("tier".into(), Problem::of("err_tier"));
                None
            }),
        };
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        Ok((
            name.to_owned(),
            GroupFilter {
                trip,
                departure_from,
                departure_to,
                request_type,
                team,
                tier,
            },
        ))
    }

    /// Saves a group; managers and agents both may.
    pub async fn create_group(
        &self,
        actor: &Actor,
        incident: &Incident,
        input: &GroupInput,
    ) -> AppResult<Group> {
        let user_id = actor.user_id.ok_or(AppError::Forbidden)?;
        let (name, filter) = self.parse_group(incident, input).await?;
        Ok(self
            .store
            .create_group(incident.id, &name, &filter, &actor.label, Some(user_id))
            .await?)
    }

    /// The group with this id on this incident.
    pub async fn group(&self, incident: &Incident, id: i64) -> AppResult<Group> {
        let group = self
            .store
            .group(id)
            .await
            .map_err(|_| AppError::NotFound(format!("group {id}")))?;
        if group.incident_id != incident.id {
            return Err(AppError::NotFound(format!("group {id}")));
        }
        Ok(group)
    }

    /// The group's filter as it stands today in the incident's time zone.
    pub fn group_scope(&self, incident: &Incident, group: &Group) -> GroupScope {
        let today = incident.today(self.now());
        let (departure_from, departure_to) = group
            .filter
            .departure_range(&incident.settings.windows, today);
        GroupScope {
            incident_id: incident.id,
            filter: group.filter.clone(),
            departure_from,
            departure_to,
        }
    }

    pub async fn group_count(&self, incident: &Incident, group: &Group) -> AppResult<u64> {
        Ok(self
            .store
            .group_count(&self.group_scope(incident, group))
            .await?)
    }

    /// The count, the first page and the languages of a group's unresolved cases.
    pub async fn group_overview(
        &self,
        incident: &Incident,
        group: &Group,
    ) -> AppResult<GroupOverview> {
        let scope = self.group_scope(incident, group);
        Ok(GroupOverview {
            count: self.store.group_count(&scope).await?,
            first: self.store.group_cases(&scope, PREVIEW_SIZE).await?,
            languages: self.store.group_languages(&scope).await?,
        })
    }

    /// Closes the group's problem; with `resolve`, its unresolved cases are resolved.
    /// Returns how many were.
    pub async fn close_group(
        &self,
        actor: &Actor,
        incident: &Incident,
        group: &Group,
        resolve: bool,
    ) -> AppResult<u64> {
        actor.user_id.ok_or(AppError::Forbidden)?;
        let scope = self.group_scope(incident, group);
        Ok(self
            .store
            .close_group(group.id, &scope, resolve, &actor.label)
            .await?)
    }
}
