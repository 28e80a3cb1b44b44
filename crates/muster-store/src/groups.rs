//! Disruption groups: saved filters over an incident's unresolved cases. A group's cases
//! are never listed in a table of their own: its filter is a condition on `cases`, so a
//! case that arrives later is in the group as soon as it is stored. With a trip the
//! condition is a range of `idx_cases_trip` (incident, trip, departure date, id); without
//! one, of `idx_cases_queue` (incident, status, departure date).

use muster_core::case::{Case, CaseStatus};
use muster_core::group::{Group, GroupFilter};
use muster_core::priority::Tier;
use muster_core::trip::Trip;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, Set, TransactionTrait, Value,
};
use time::Date;

use crate::Store;
use crate::audit::record_on;
use crate::cases::to_case;
use crate::convert::{corrupt, now};
use crate::entity::{case, case_group};
use crate::error::{StoreError, StoreResult};
use crate::raw_sql::statement;

/// A group's filter as it stands on one day: its tier already turned into dates.
#[derive(Debug, Clone)]
pub struct GroupScope {
    pub incident_id: i64,
    pub filter: GroupFilter,
    pub departure_from: Option<Date>,
    pub departure_to: Option<Date>,
}

/// The statuses of a case that is still in its groups.
const UNRESOLVED: [CaseStatus; 2] = [CaseStatus::Open, CaseStatus::WaitingOnCustomer];

/// The condition on `cases` (unqualified columns) for a case of the group, with its values.
pub(crate) fn group_condition(scope: &GroupScope) -> (String, Vec<Value>) {
    // The statuses are literals, not bound, as the queue's are: the planner sees them.
    let statuses = UNRESOLVED
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut conditions = vec![
        "incident_id = ?".to_owned(),
        format!("status IN ({statuses})"),
    ];
    let mut values: Vec<Value> = vec![scope.incident_id.into()];
    let filter = &scope.filter;
    if let Some(trip) = &filter.trip {
        conditions.push("trip = ?".to_owned());
        values.push(trip.as_str().into());
    }
    if let Some(from) = scope.departure_from {
        conditions.push("departure_date >= ?".to_owned());
        values.push(from.into());
    }
    if let Some(to) = scope.departure_to {
        conditions.push("departure_date <= ?".to_owned());
        values.push(to.into());
    }
    if let Some(request_type) = &filter.request_type {
        conditions.push("request_type = ?".to_owned());
        values.push(request_type.clone().into());
    }
    if let Some(team) = &filter.team {
        conditions.push("team = ?".to_owned());
        values.push(team.clone().into());
    }
    (conditions.join(" AND "), values)
}

fn to_group(m: case_group::Model) -> StoreResult<Group> {
    let trip = m
        .trip
        .as_deref()
        .map(|t| Trip::parse(t).map_err(|_| corrupt("group trip", t)))
        .transpose()?;
    let tier = m
        .tier
        .as_deref()
        .map(|t| Tier::parse(t).ok_or_else(|| corrupt("group tier", t)))
        .transpose()?;
    Ok(Group {
        id: m.id,
        incident_id: m.incident_id,
        name: m.name,
        filter: GroupFilter {
            trip,
            departure_from: m.departure_from,
            departure_to: m.departure_to,
            request_type: m.request_type,
            team: m.team,
            tier,
        },
        created_at: m.created_at,
        closed_at: m.closed_at,
    })
}

#[derive(Debug, FromQueryResult)]
struct Count {
    n: i64,
}

impl Store {
    /// Saves a group on the incident, audited.
    pub async fn create_group(
        &self,
        incident_id: i64,
        name: &str,
        filter: &GroupFilter,
        actor: &str,
        actor_id: Option<i64>,
    ) -> StoreResult<Group> {
        let tx = self.db.begin().await?;
        let saved = case_group::ActiveModel {
            incident_id: Set(incident_id),
            name: Set(name.to_owned()),
            trip: Set(filter.trip.as_ref().map(|t| t.as_str().to_owned())),
            departure_from: Set(filter.departure_from),
            departure_to: Set(filter.departure_to),
            request_type: Set(filter.request_type.clone()),
            team: Set(filter.team.clone()),
            tier: Set(filter.tier.map(|t| t.as_str().to_owned())),
            created_by: Set(actor_id),
            created_at: Set(now()),
            closed_at: Set(None),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        record_on(
            &tx,
            actor,
            "group.create",
            &format!("group:{}", saved.id),
            serde_json::json!({ "name": name }),
        )
        .await?;
        tx.commit().await?;
        to_group(saved)
    }

    pub async fn group(&self, id: i64) -> StoreResult<Group> {
        to_group(
            case_group::Entity::find_by_id(id)
                .one(&self.db)
                .await?
                .ok_or(StoreError::NotFound("group"))?,
        )
    }

    /// The incident's groups, newest first.
    pub async fn groups_of(&self, incident_id: i64) -> StoreResult<Vec<Group>> {
        case_group::Entity::find()
            .filter(case_group::Column::IncidentId.eq(incident_id))
            .order_by_desc(case_group::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_group)
            .collect()
    }

    /// How many unresolved cases the group holds: one index range, counted.
    pub async fn group_count(&self, scope: &GroupScope) -> StoreResult<u64> {
        let (condition, values) = group_condition(scope);
        let sql = format!("SELECT COUNT(*) AS n FROM cases WHERE {condition}");
        let row = self
            .db
            .query_one_raw(statement(self.backend(), &sql, values))
            .await?;
        let count = match row {
            Some(row) => Count::from_query_result(&row, "")?.n,
            None => 0,
        };
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// The group's first `limit` cases by departure date (undated last), then id.
    pub async fn group_cases(&self, scope: &GroupScope, limit: u64) -> StoreResult<Vec<Case>> {
        let (condition, mut values) = group_condition(scope);
        values.push(i64::try_from(limit).unwrap_or(50).into());
        let sql =
            format!("SELECT * FROM cases WHERE {condition} ORDER BY departure_date, id LIMIT ?");
        case::Entity::find()
            .from_raw_sql(statement(self.backend(), &sql, values))
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_case)
            .collect()
    }

    /// The languages of the group's cases, for the reply form: one text per language.
    pub async fn group_languages(&self, scope: &GroupScope) -> StoreResult<Vec<String>> {
        let (condition, values) = group_condition(scope);
        let sql =
            format!("SELECT DISTINCT language FROM cases WHERE {condition} ORDER BY language");
        let rows = self
            .db
            .query_all_raw(statement(self.backend(), &sql, values))
            .await?;
        Ok(rows
            .iter()
            .filter_map(|row| row.try_get::<String>("", "language").ok())
            .collect())
    }

    /// Closes the group's problem: with `resolve`, every unresolved case of the group is
    /// resolved (each audited); the group is marked closed. Returns how many were resolved.
    pub async fn close_group(
        &self,
        group_id: i64,
        scope: &GroupScope,
        resolve: bool,
        actor: &str,
    ) -> StoreResult<u64> {
        let tx = self.db.begin().await?;
        let closed = case_group::Entity::update_many()
            .col_expr(
                case_group::Column::ClosedAt,
                sea_orm::sea_query::Expr::value(Some(now())),
            )
            .filter(case_group::Column::Id.eq(group_id))
            .filter(case_group::Column::ClosedAt.is_null())
            .exec(&tx)
            .await?;
        if closed.rows_affected == 0 {
            return Err(StoreError::Conflict(format!(
                "group {group_id} is already closed"
            )));
        }
        let mut resolved = 0;
        if resolve {
            let at = now();
            let (condition, values) = group_condition(scope);
            // The audit entries first, while the condition still finds the cases.
            let mut audit_values: Vec<Value> = vec![
                at.into(),
                actor.into(),
                serde_json::json!({ "status": CaseStatus::Resolved.as_str(), "group_id": group_id })
                    .into(),
            ];
            audit_values.extend(values.iter().cloned());
            let audit = format!(
                "INSERT INTO audit_log (at, actor, action, subject, details) \
                 SELECT ?, ?, 'case.status', reference, ? FROM cases WHERE {condition}"
            );
            tx.execute_raw(statement(self.backend(), &audit, audit_values))
                .await?;
            let mut update_values: Vec<Value> =
                vec![CaseStatus::Resolved.as_str().into(), at.into(), at.into()];
            update_values.extend(values);
            let update = format!(
                "UPDATE cases SET status = ?, updated_at = ?, resolved_at = ?, \
                 claimed_by = NULL, lease_until = NULL WHERE {condition}"
            );
            resolved = tx
                .execute_raw(statement(self.backend(), &update, update_values))
                .await?
                .rows_affected();
        }
        record_on(
            &tx,
            actor,
            "group.close",
            &format!("group:{group_id}"),
            serde_json::json!({ "resolved": resolved }),
        )
        .await?;
        tx.commit().await?;
        Ok(resolved)
    }
}
