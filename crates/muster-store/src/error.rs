use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

impl StoreError {
    /// True when the database refused a row because a unique key already holds it.
    pub fn is_unique_violation(err: &DbErr) -> bool {
        matches!(
            err.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        )
    }
}

impl StoreError {
    /// True when the connection a statement ran on was lost (the server ended the backend,
    /// a reset socket): the pool drops that connection, and the same work on another one
    /// may well succeed.
    pub fn is_connection_lost(err: &DbErr) -> bool {
        use sea_orm::{RuntimeErr, sqlx};
        match err {
            DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
                match e.as_ref() {
                    sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::PoolClosed => true,
                    // Class 57: operator intervention (57P01 admin_shutdown: the backend was
                    // terminated).
                    sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("57P")),
                    _ => false,
                }
            }
            _ => false,
        }
    }

    /// True when the database could not be reached, as opposed to refusing a query.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(DbErr::ConnectionAcquire(_) | DbErr::Conn(_))
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
