//! The agents' queue: open cases by tier (from the departure date against today in the
//! incident's zone), overdue first within a tier, then by departure date, then by age.
//! Taking the next case is one `UPDATE … WHERE id = COALESCE((overdue SELECT … FOR UPDATE
//! SKIP LOCKED), (SELECT … FOR UPDATE SKIP LOCKED)) RETURNING *` per slice of the queue, each
//! probe an index scan, so two agents never get the same case on any number of replicas
//! (SQLite: its single writer).

use muster_core::case::{Case, CaseStatus};
use muster_core::priority::{PriorityWindows, Tier};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Value,
};
use time::{Date, Duration, OffsetDateTime};

use crate::Store;
use crate::cases::to_case;
use crate::entity::case;
use crate::error::StoreResult;
use crate::raw_sql::statement;

/// Which part of the queue an agent or a view looks at.
#[derive(Debug, Clone)]
pub struct QueueScope {
    pub incident_id: i64,
    /// Today in the incident's time zone.
    pub today: Date,
    pub windows: PriorityWindows,
    /// Only these teams' cases; `None` for all.
    pub teams: Option<Vec<String>>,
}

/// A slice of the queue: one tier's departure dates (or no date at all).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slice {
    pub(crate) tier: Tier,
    /// Departure after this date (exclusive), if bounded below.
    after: Option<Date>,
    /// Departure up to this date (inclusive), if bounded above.
    until: Option<Date>,
    /// The "needs date" slice: no departure date known.
    pub(crate) undated: bool,
}

pub(crate) fn slices(today: Date, windows: PriorityWindows) -> [Slice; 4] {
    let critical_end = today + Duration::days(windows.critical_days);
    let high_end = today + Duration::days(windows.high_days);
    [
        Slice {
            tier: Tier::Critical,
            after: None,
            until: Some(critical_end),
            undated: false,
        },
        Slice {
            tier: Tier::High,
            after: Some(critical_end),
            until: Some(high_end),
            undated: false,
        },
        Slice {
            tier: Tier::Normal,
            after: Some(high_end),
            until: None,
            undated: false,
        },
        Slice {
            tier: Tier::Normal,
            after: None,
            until: None,
            undated: true,
        },
    ]
}

/// Filters a view of the queue may add.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub team: Option<String>,
    pub request_type: Option<String>,
    pub tier: Option<Tier>,
    pub status: Option<CaseStatus>,
    pub channel: Option<String>,
    pub needs_date: bool,
    pub overdue: bool,
}

/// How many open cases each tier holds, and how many are overdue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TierCounts {
    pub critical: u64,
    pub high: u64,
    pub normal: u64,
    pub needs_date: u64,
    pub overdue: u64,
}

pub(crate) fn in_slice(select: Select<case::Entity>, slice: Slice) -> Select<case::Entity> {
    if slice.undated {
        return select.filter(case::Column::DepartureDate.is_null());
    }
    let select = match slice.after {
        Some(after) => select.filter(case::Column::DepartureDate.gt(after)),
        None => select.filter(case::Column::DepartureDate.is_not_null()),
    };
    match slice.until {
        Some(until) => select.filter(case::Column::DepartureDate.lte(until)),
        None => select,
    }
}

/// The conditions (with their values) for a case in `slice` that an agent of `scope` may
/// claim at `now`: open, unclaimed or with a lapsed claim, of one of the agent's teams.
fn claimable_in(scope: &QueueScope, slice: Slice, now: OffsetDateTime) -> (String, Vec<Value>) {
    let mut conditions = vec![
        "incident_id = ?".to_owned(),
        // Literal, not bound: the partial case indexes are for this predicate.
        format!("status = '{}'", CaseStatus::Open.as_str()),
        "(claimed_by IS NULL OR lease_until < ?)".to_owned(),
    ];
    let mut values: Vec<Value> = vec![scope.incident_id.into(), now.into()];
    if slice.undated {
        conditions.push("departure_date IS NULL".to_owned());
    } else {
        conditions.push("departure_date IS NOT NULL".to_owned());
        if let Some(after) = slice.after {
            conditions.push("departure_date > ?".to_owned());
            values.push(after.into());
        }
        if let Some(until) = slice.until {
            conditions.push("departure_date <= ?".to_owned());
            values.push(until.into());
        }
    }
    if let Some(teams) = &scope.teams {
        conditions.push(format!("team IN ({})", vec!["?"; teams.len()].join(", ")));
        values.extend(teams.iter().map(|t| Value::from(t.clone())));
    }
    (conditions.join(" AND "), values)
}

/// The statement that claims the most urgent case of `slice` for `agent_id`. The overdue
/// probe runs first and the regular one only if it finds nothing (COALESCE evaluates
/// lazily): one round trip per slice, each probe an index scan.
///
/// The claim commits without waiting for the write-ahead log to reach the disk
/// (`{async_commit}`, PostgreSQL): a database crash can lose the claims of its last
/// moment (up to three `wal_writer_delay`s, 0.6 s by default), which leaves those cases
/// claimable again, exactly as when a lease lapses: another agent may take one while the
/// first still has it open. Nothing else is lost; resolving, replies and everything the
/// customer is told commit durably.
pub(crate) fn claim_in(
    scope: &QueueScope,
    slice: Slice,
    agent_id: i64,
    lease: Duration,
    now: OffsetDateTime,
) -> (String, Vec<Value>) {
    let (conditions, slice_values) = claimable_in(scope, slice, now);
    let order = if slice.undated {
        "created_at"
    } else {
        "departure_date, created_at"
    };
    let sql = format!(
        "UPDATE cases SET claimed_by = ?, lease_until = ?, claimed_at = ? {{async_commit}} \
         WHERE id = COALESCE(\
         (SELECT id FROM cases WHERE {conditions} AND overdue_at IS NOT NULL \
         ORDER BY overdue_at, created_at LIMIT 1 {{skip_locked}}), \
         (SELECT id FROM cases WHERE {conditions} ORDER BY {order} LIMIT 1 {{skip_locked}})) \
         RETURNING *"
    );
    let mut values: Vec<Value> = vec![agent_id.into(), (now + lease).into(), now.into()];
    values.extend(slice_values.iter().cloned());
    values.extend(slice_values);
    (sql, values)
}

impl Store {
    /// Gives `agent_id` the most urgent unclaimed open case in scope, held for `lease`.
    pub async fn take_next(
        &self,
        agent_id: i64,
        scope: &QueueScope,
        lease: Duration,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Case>> {
        if scope.teams.as_ref().is_some_and(Vec::is_empty) {
            return Ok(None);
        }
        for slice in slices(scope.today, scope.windows) {
            let (sql, values) = claim_in(scope, slice, agent_id, lease, now);
            let row = self
                .db
                .query_one_raw(statement(self.backend(), &sql, values))
                .await?;
            if let Some(row) = row {
                return to_case(case::Model::from_query_result(&row, "")?).map(Some);
            }
        }
        Ok(None)
    }

    /// Keeps an agent's claim alive while they work the case.
    pub async fn renew_claim(
        &self,
        case_id: i64,
        agent_id: i64,
        lease: Duration,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        case::Entity::update_many()
            .col_expr(case::Column::ClaimedBy, Expr::value(agent_id))
            .col_expr(case::Column::LeaseUntil, Expr::value(now + lease))
            .filter(case::Column::Id.eq(case_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// The queue as agents see it, most urgent first, a page at a time.
    pub async fn queue_page(
        &self,
        scope: &QueueScope,
        filter: &QueueFilter,
        limit: u64,
    ) -> StoreResult<Vec<Case>> {
        let mut out = Vec::new();
        for slice in slices(scope.today, scope.windows) {
            if filter.tier.is_some_and(|t| t != slice.tier) || (filter.needs_date && !slice.undated)
            {
                continue;
            }
            let remaining = limit.saturating_sub(out.len() as u64);
            if remaining == 0 {
                break;
            }
            let select = in_slice(self.filtered(scope, filter), slice)
                .order_by_asc(case::Column::OverdueAt.is_null())
                .order_by_asc(case::Column::DepartureDate)
                .order_by_asc(case::Column::CreatedAt)
                .limit(remaining);
            for model in select.all(&self.db).await? {
                out.push(to_case(model)?);
            }
        }
        Ok(out)
    }

    fn filtered(&self, scope: &QueueScope, filter: &QueueFilter) -> Select<case::Entity> {
        let status = filter.status.unwrap_or(CaseStatus::Open);
        let mut select = case::Entity::find()
            .filter(case::Column::IncidentId.eq(scope.incident_id))
            .filter(case::Column::Status.eq(status.as_str()));
        if let Some(team) = &filter.team {
            select = select.filter(case::Column::Team.eq(team.as_str()));
        }
        if let Some(kind) = &filter.request_type {
            select = select.filter(case::Column::RequestType.eq(kind.as_str()));
        }
        if let Some(channel) = &filter.channel {
            select = select.filter(case::Column::Channel.eq(channel.as_str()));
        }
        if filter.overdue {
            select = select.filter(case::Column::OverdueAt.is_not_null());
        }
        select
    }

    /// Open cases per tier: each count an index range scan.
    pub async fn tier_counts(&self, scope: &QueueScope) -> StoreResult<TierCounts> {
        let filter = QueueFilter::default();
        let mut counts = TierCounts::default();
        for slice in slices(scope.today, scope.windows) {
            let count = in_slice(self.filtered(scope, &filter), slice)
                .count(&self.db)
                .await?;
            match (slice.tier, slice.undated) {
                (Tier::Critical, _) => counts.critical = count,
                (Tier::High, _) => counts.high = count,
                (Tier::Normal, false) => counts.normal += count,
                (Tier::Normal, true) => {
                    counts.normal += count;
                    counts.needs_date = count;
                }
            }
        }
        counts.overdue = self
            .filtered(
                scope,
                &QueueFilter {
                    overdue: true,
                    ..Default::default()
                },
            )
            .count(&self.db)
            .await?;
        Ok(counts)
    }
}
