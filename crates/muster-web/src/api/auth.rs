//! Bearer-token authentication for the API.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use muster_app::Actor;
use muster_store::users::User;

use crate::error::WebError;
use crate::state::AppState;

/// The user an API token acts as.
#[derive(Debug, Clone)]
pub struct ApiUser(pub User);

impl ApiUser {
    pub fn actor(&self) -> Actor {
        Actor::api(&self.0)
    }

    pub fn require_manager(&self) -> Result<(), WebError> {
        if self.0.role.is_manager() {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }
}

impl FromRequest for ApiUser {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<Data<AppState>>().cloned();
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned());
        Box::pin(async move {
            let (Some(state), Some(token)) = (state, token) else {
                return Err(WebError::Unauthorized);
            };
            state
                .store
                .api_token_user(&token)
                .await?
                .map(ApiUser)
                .ok_or(WebError::Unauthorized)
        })
    }
}
