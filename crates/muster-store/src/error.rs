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
    /// True when the database could not be reached, as opposed to refusing a query.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(DbErr::ConnectionAcquire(_) | DbErr::Conn(_))
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
