//! Attempts counted in the database, so that a limit of N per client and window holds for
//! the whole deployment rather than for each replica (PostgreSQL, which every replica
//! shares). One row per client and limit: a fixed window, started by its first attempt.

use sea_orm::{ConnectionTrait, DbBackend};

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::raw_sql::statement;

/// Where a client's window stands after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Unix seconds.
    pub started: i64,
    /// Attempts in the window, this one included.
    pub attempts: i64,
}

impl Store {
    /// Whether replicas share this database (and so its counts).
    pub fn shared_by_replicas(&self) -> bool {
        self.backend() == DbBackend::Postgres
    }

    /// Counts one attempt of `key` at `now` (unix seconds) in a window of `window_secs`:
    /// one statement, so replicas counting at once never lose an attempt.
    pub async fn count_attempt(
        &self,
        key: &str,
        window_secs: i64,
        now: i64,
    ) -> StoreResult<Window> {
        let expired = now - window_secs;
        let sql = "INSERT INTO rate_windows (key, window_start, attempts) VALUES (?, ?, 1) \
                   ON CONFLICT (key) DO UPDATE SET \
                   attempts = CASE WHEN rate_windows.window_start <= ? THEN 1 \
                   ELSE rate_windows.attempts + 1 END, \
                   window_start = CASE WHEN rate_windows.window_start <= ? THEN ? \
                   ELSE rate_windows.window_start END \
                   RETURNING window_start, attempts";
        let values = vec![
            key.into(),
            now.into(),
            expired.into(),
            expired.into(),
            now.into(),
        ];
        let row = self
            .db
            .query_one_raw(statement(self.backend(), sql, values))
            .await?
            .ok_or(StoreError::NotFound("rate window"))?;
        Ok(Window {
            started: row.try_get("", "window_start")?,
            attempts: i64::from(row.try_get::<i32>("", "attempts")?),
        })
    }

    /// Forgets windows that ended before `now - window_secs`.
    pub async fn forget_attempts(&self, window_secs: i64, now: i64) -> StoreResult<()> {
        let sql = "DELETE FROM rate_windows WHERE window_start <= ?";
        self.db
            .execute_raw(statement(
                self.backend(),
                sql,
                vec![(now - window_secs).into()],
            ))
            .await?;
        Ok(())
    }
}
