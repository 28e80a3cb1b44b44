//! Bulk seeding for the queue benchmark: a million open cases in one statement per engine,
//! far faster than inserting them one by one. Not used by the service itself.

use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use crate::Store;
use crate::convert::now;
use crate::error::StoreResult;
use crate::groups::{GroupScope, group_condition};
use crate::queue::{QueueScope, claim_in, slices};
use crate::raw_sql::statement;

/// A valid case reference (`MX-` and six characters of the reference alphabet) from `n`.
const REFERENCE_SQL: &str = "'MX-' || substr(a, CAST((n / 923521) % 31 + 1 AS INTEGER), 1) \
     || substr(a, CAST((n / 29791) % 31 + 1 AS INTEGER), 1) || substr(a, CAST((n / 961) % 31 + 1 AS INTEGER), 1) \
     || substr(a, CAST((n / 31) % 31 + 1 AS INTEGER), 1) || substr(a, CAST(n % 31 + 1 AS INTEGER), 1) || 'Z'";

impl Store {
    /// Inserts `count` open, unclaimed cases on `incident_id`, spread over 60 departure days
    /// (one in twenty without a date) and three teams.
    pub async fn seed_open_cases_for_benchmark(
        &self,
        incident_id: i64,
        count: u64,
    ) -> StoreResult<()> {
        let (series, departure) = match self.backend() {
            DbBackend::Postgres => (
                "SELECT generate_series(0, ? - 1) AS n",
                "CASE WHEN n % 20 = 0 THEN NULL ELSE CURRENT_DATE + (n % 60)::int END",
            ),
            _ => (
                "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < ?) SELECT n FROM s",
                "CASE WHEN n % 20 = 0 THEN NULL ELSE date('now', '+' || (n % 60) || ' days') END",
            ),
        };
        let sql = format!(
            "INSERT INTO cases (incident_id, reference, customer_name, email, booking_ref, departure_date, request_type, team, \
             language, status, channel, contact_count, created_at, updated_at) \
             SELECT ?, {REFERENCE_SQL}, 'Bench customer', 'c' || n || '@example.com', 'BK' || n, {departure}, 'refund', \
             CASE n % 3 WHEN 0 THEN 'refunds' WHEN 1 THEN 'rebooking' ELSE 'general' END, 'en', 'open', 'form', 1, ?, ? \
             FROM ({series}) AS numbers, (SELECT '23456789ABCDEFGHJKMNPQRSTUVWXYZ' AS a) AS alphabet"
        );
        let created = now();
        let values: Vec<Value> = vec![
            incident_id.into(),
            created.into(),
            created.into(),
            i64::try_from(count).unwrap_or(i64::MAX).into(),
        ];
        self.db
            .execute_raw(statement(self.backend(), &sql, values))
            .await?;
        if self.backend() == DbBackend::Postgres {
            self.db
                .execute_raw(Statement::from_string(DbBackend::Postgres, "ANALYZE cases"))
                .await?;
        } else {
            self.db
                .execute_raw(Statement::from_string(DbBackend::Sqlite, "ANALYZE"))
                .await?;
        }
        Ok(())
    }

    /// The plan of the take-next claim on the critical slice, to check both of its probes
    /// are index scans. PostgreSQL's `EXPLAIN` plans the statement without running it; on
    /// SQLite `EXPLAIN QUERY PLAN` does not run it either.
    pub async fn explain_take_next(&self, scope: &QueueScope) -> StoreResult<String> {
        let (prefix, column) = match self.backend() {
            DbBackend::Postgres => ("EXPLAIN", "QUERY PLAN"),
            _ => ("EXPLAIN QUERY PLAN", "detail"),
        };
        let critical = slices(scope.today, scope.windows)[0];
        let (sql, values) = claim_in(scope, critical, 0, time::Duration::minutes(1), now());
        let rows = self
            .db
            .query_all_raw(statement(
                self.backend(),
                &format!("{prefix} {sql}"),
                values,
            ))
            .await?;
        Ok(rows
            .iter()
            .filter_map(|row| row.try_get::<String>("", column).ok())
            .map(|line| format!("    {line}"))
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// Gives every `every`-th case of the incident (by id) the trip `trip`, for the group
    /// benchmark: a sailing's cases spread through a large queue.
    pub async fn seed_trip_for_benchmark(
        &self,
        incident_id: i64,
        trip: &str,
        every: i64,
    ) -> StoreResult<u64> {
        let sql = "UPDATE cases SET trip = ? WHERE incident_id = ? AND id % ? = 0";
        let values: Vec<Value> = vec![trip.into(), incident_id.into(), every.into()];
        let done = self
            .db
            .execute_raw(statement(self.backend(), sql, values))
            .await?
            .rows_affected();
        if self.backend() == DbBackend::Postgres {
            self.db
                .execute_raw(Statement::from_string(DbBackend::Postgres, "ANALYZE cases"))
                .await?;
        } else {
            self.db
                .execute_raw(Statement::from_string(DbBackend::Sqlite, "ANALYZE"))
                .await?;
        }
        Ok(done)
    }

    /// The plans of a group's count and of its first page, as the group page runs them.
    pub async fn explain_group(
        &self,
        scope: &GroupScope,
        limit: u64,
    ) -> StoreResult<(String, String)> {
        let (condition, values) = group_condition(scope);
        let count = format!("SELECT COUNT(*) AS n FROM cases WHERE {condition}");
        let mut page_values = values.clone();
        page_values.push(i64::try_from(limit).unwrap_or(50).into());
        let page =
            format!("SELECT * FROM cases WHERE {condition} ORDER BY departure_date, id LIMIT ?");
        Ok((
            self.explain(&count, values).await?,
            self.explain(&page, page_values).await?,
        ))
    }

    async fn explain(&self, sql: &str, values: Vec<Value>) -> StoreResult<String> {
        let (prefix, column) = match self.backend() {
            DbBackend::Postgres => ("EXPLAIN", "QUERY PLAN"),
            _ => ("EXPLAIN QUERY PLAN", "detail"),
        };
        let rows = self
            .db
            .query_all_raw(statement(
                self.backend(),
                &format!("{prefix} {sql}"),
                values,
            ))
            .await?;
        Ok(rows
            .iter()
            .filter_map(|row| row.try_get::<String>("", column).ok())
            .map(|line| format!("    {line}"))
            .collect::<Vec<_>>()
            .join("\n"))
    }
}
