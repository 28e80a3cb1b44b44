//! One mapping from what went wrong to the HTTP status the client sees.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use muster_app::AppError;
use muster_core::language::Lang;
use muster_core::problem::FieldErrors;
use muster_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("sign in first")]
    LoginRequired,
    #[error("a valid bearer token is required")]
    Unauthorized,
    #[error("you are not allowed to do that")]
    Forbidden,
    #[error("bad signature: {0}")]
    BadSignature(String),
    #[error("{0}")]
    Unprocessable(String),
    /// Fields that break a rule; the API answers each one's message (in English).
    #[error("some fields are not valid")]
    Invalid(FieldErrors),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the form has expired: reload the page and try again")]
    CsrfRejected,
    #[error("{0}")]
    Conflict(String),
    #[error("too many attempts: try again in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("the service is busy: try again shortly")]
    Unavailable,
    #[error("something went wrong on our side")]
    Internal(String),
}

impl From<StoreError> for WebError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(_) => WebError::NotFound,
            StoreError::Conflict(message) => WebError::Conflict(message),
            err if err.is_unavailable() => WebError::Unavailable,
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<AppError> for WebError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Invalid(errors) => WebError::Invalid(errors),
            AppError::NotFound(_) => WebError::NotFound,
            AppError::Forbidden => WebError::Forbidden,
            AppError::Conflict(message) => WebError::Conflict(message),
            AppError::Refused(message) => WebError::BadRequest(message),
            AppError::Unreadable(message) => WebError::Unprocessable(message),
            AppError::MailUnavailable => WebError::Unavailable,
            AppError::Publish(detail) => WebError::Internal(detail),
            AppError::Store(err) => err.into(),
        }
    }
}

impl From<handlebars::RenderError> for WebError {
    fn from(err: handlebars::RenderError) -> Self {
        WebError::Internal(format!("template: {err}"))
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::LoginRequired => StatusCode::SEE_OTHER,
            WebError::Unauthorized | WebError::BadSignature(_) => StatusCode::UNAUTHORIZED,
            WebError::Unprocessable(_) | WebError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            WebError::Forbidden | WebError::CsrfRejected => StatusCode::FORBIDDEN,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            WebError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status_code());
        match self {
            WebError::LoginRequired => {
                return builder
                    .insert_header((header::LOCATION, "/console/login"))
                    .finish();
            }
            WebError::TooManyRequests { retry_after_secs } => {
                builder.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            WebError::Unauthorized => {
                builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            WebError::Internal(detail) => tracing::error!(%detail, "request failed"),
            WebError::Invalid(errors) => {
                let fields = muster_app::i18n::shared().messages(&Lang::english(), errors);
                return builder.json(serde_json::json!({
                    "error": self.to_string(),
                    "fields": fields,
                }));
            }
            _ => {}
        }
        builder
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .body(serde_json::json!({ "error": self.to_string() }).to_string())
    }
}

pub type WebResult<T> = Result<T, WebError>;
