//! What a use case can answer besides success; each door maps these once (an HTTP status,
//! a console page, a CLI exit).

use muster_core::problem::FieldErrors;
use muster_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// What was typed breaks a rule: a problem per field, nothing saved.
    #[error("some fields are not valid")]
    Invalid(FieldErrors),
    #[error("{0} not found")]
    NotFound(String),
    /// The actor's role does not allow this action.
    #[error("you are not allowed to do that")]
    Forbidden,
    #[error("{0}")]
    Conflict(String),
    /// A bad request that is no single field's fault (e.g. a template that cannot render).
    #[error("{0}")]
    Refused(String),
    /// What arrived from outside (an email) cannot be read: kept by its door, never retried
    /// as it is.
    #[error("{0}")]
    Unreadable(String),
    /// Mail cannot be sent from here now (no mailer configured, or the relay refused).
    #[error("mail cannot be sent now")]
    MailUnavailable,
    #[error("the page could not be republished: {0}")]
    Publish(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(what) => AppError::NotFound(what.to_owned()),
            StoreError::Conflict(message) => AppError::Conflict(message),
            other => AppError::Store(other),
        }
    }
}

impl AppError {
    /// One problem on one field.
    pub fn field(name: &str, problem: muster_core::problem::Problem) -> Self {
        AppError::Invalid(FieldErrors::from([(name.to_owned(), problem)]))
    }
}

pub type AppResult<T> = Result<T, AppError>;
