//! Connecting to the database, migrating it, and checking it is reachable.

use std::time::Duration;

use muster_migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, TransactionTrait,
};

use crate::error::StoreResult;
use crate::intake_batch::IntakeWriter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A handle on the database; cheap to clone (it wraps a pool).
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) db: DatabaseConnection,
    /// Group commit for new customers' contacts (see `intake_batch`).
    pub(crate) intake_writer: IntakeWriter,
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://…`). A SQLite file is created on
    /// first use, in WAL mode with `synchronous = FULL`, foreign keys on and a busy timeout.
    /// SQLite gets a single connection: it has one writer anyway, and that makes claims
    /// race-free without locks.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        let mut options = ConnectOptions::new(url.to_owned());
        let sqlite = url.starts_with("sqlite:");
        options
            .max_connections(if sqlite { 1 } else { max_connections })
            .min_connections(if sqlite { 1 } else { 2.min(max_connections) })
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false)
            // No SQL parameters (customer data) in traces.
            .record_stmt_in_spans(false)
            .map_sqlx_sqlite_opts(|opts| {
                opts.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: in WAL mode NORMAL may lose the last commits on power loss,
                    // and a customer told "received" must find the case afterwards.
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
            });
        if sqlite {
            // A file does not drop connections: no ping before each use.
            options.test_before_acquire(false);
        } else {
            // A ping on every checkout is a round trip per statement in a surge (9-29% of
            // take-next throughput). Only a connection idle long enough for the server,
            // a proxy or a restart to have dropped it is pinged; one dropped while busy
            // fails its statement once and is replaced.
            options.test_before_acquire_if_idle_for(Duration::from_secs(1));
        }
        let db = Database::connect(options).await?;
        Ok(Self {
            intake_writer: IntakeWriter::start(db.clone()),
            db,
        })
    }

    pub fn engine(&self) -> Engine {
        match self.db.get_database_backend() {
            DbBackend::Postgres => Engine::Postgres,
            _ => Engine::Sqlite,
        }
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// A round trip to the database, for readiness.
    pub async fn ping(&self) -> StoreResult<()> {
        self.db.ping().await?;
        Ok(())
    }

    pub async fn close(self) -> StoreResult<()> {
        self.db.close().await?;
        Ok(())
    }
}

/// Begins a transaction whose statements PostgreSQL plans for their values each time, for
/// the customer lookups of intake. A crisis starts on a near-empty `cases` table growing by
/// thousands of rows a minute: the generic plan a prepared lookup settles on while the table
/// is small is a sequential scan, kept until autovacuum next analyzes the table
/// (bench/intake on PostgreSQL: 1,100-1,400 submissions/s with it, 2,600-3,100 without).
/// Only here: planning every statement everywhere cost take-next a third of its throughput.
pub(crate) async fn begin_planned_for_values(
    db: &DatabaseConnection,
) -> Result<DatabaseTransaction, DbErr> {
    let tx = db.begin().await?;
    if db.get_database_backend() == DbBackend::Postgres {
        tx.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
            .await?;
    }
    Ok(tx)
}

#[cfg(test)]
mod tests {
    use sea_orm::Statement;

    use super::*;

    #[tokio::test]
    async fn sqlite_commits_reach_the_disk() {
        let folder = std::env::temp_dir().join(format!("muster-sync-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap_or_else(|e| panic!("{e}"));
        let url = format!("sqlite://{}/muster.db", folder.display());
        let store = Store::connect(&url, 1)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let row = store
            .db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA synchronous",
            ))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let level: Option<i32> = row.and_then(|r| r.try_get_by_index(0).ok());
        assert_eq!(level, Some(2), "2 is FULL (1 is NORMAL)");
        let _ = store.close().await;
        let _ = std::fs::remove_dir_all(folder);
    }
}
