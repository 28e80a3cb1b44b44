//! Who is signed in: the session cookie, the CSRF token every console form carries, and
//! the role checks that keep agents out of manager pages.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use muster_app::Actor;
use muster_store::sessions::Session;
use muster_store::users::User;

use crate::error::WebError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "muster_session";

/// Compares secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A signed-in console user, manager or agent.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    pub user: User,
    pub csrf_token: String,
}

impl ConsoleUser {
    /// Rejects a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
        if constant_time_eq(submitted, &self.csrf_token) {
            Ok(())
        } else {
            Err(WebError::CsrfRejected)
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::console(&self.user)
    }
}

impl FromRequest for ConsoleUser {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<Data<AppState>>().cloned();
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        Box::pin(async move {
            let (Some(state), Some(token)) = (state, token) else {
                return Err(WebError::LoginRequired);
            };
            match state.store.session(&token).await? {
                Some(Session { user, csrf_token }) => Ok(ConsoleUser { user, csrf_token }),
                None => Err(WebError::LoginRequired),
            }
        })
    }
}

/// A signed-in manager; an agent gets 403.
#[derive(Debug, Clone)]
pub struct Manager(pub ConsoleUser);

impl FromRequest for Manager {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = ConsoleUser::from_request(req, payload);
        Box::pin(async move {
            let user = user.await?;
            if user.user.role.is_manager() {
                Ok(Manager(user))
            } else {
                Err(WebError::Forbidden)
            }
        })
    }
}
