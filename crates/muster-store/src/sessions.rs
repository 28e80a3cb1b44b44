//! Server-side console sessions. The cookie holds a random token; the table holds its hash,
//! so a copy of the database cannot be replayed as a login.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use time::Duration;

use crate::Store;
use crate::convert::now;
use crate::entity::{session, user};
use crate::error::StoreResult;
use crate::tokens::{hash_token, random_token};
use crate::users::{User, to_user};

#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
}

impl Store {
    /// Opens a session and returns the cookie token. A new token on every login
    /// (no session fixation: a token set before login is never promoted).
    pub async fn create_session(&self, user_id: i64, lifetime: Duration) -> StoreResult<String> {
        let token = random_token();
        let created = now();
        session::ActiveModel {
            id: Set(hash_token(&token)),
            user_id: Set(user_id),
            csrf_token: Set(random_token()),
            created_at: Set(created),
            expires_at: Set(created + lifetime),
        }
        .insert(&self.db)
        .await?;
        Ok(token)
    }

    pub async fn session(&self, token: &str) -> StoreResult<Option<Session>> {
        let found = session::Entity::find_by_id(hash_token(token))
            .filter(session::Column::ExpiresAt.gt(now()))
            .one(&self.db)
            .await?;
        let Some(found) = found else { return Ok(None) };
        let owner = user::Entity::find_by_id(found.user_id)
            .filter(user::Column::Active.eq(true))
            .one(&self.db)
            .await?;
        match owner {
            Some(model) => Ok(Some(Session {
                user: to_user(model)?,
                csrf_token: found.csrf_token,
            })),
            None => Ok(None),
        }
    }

    pub async fn delete_session(&self, token: &str) -> StoreResult<()> {
        session::Entity::delete_by_id(hash_token(token))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Removes expired sessions; run now and then by a worker.
    pub async fn purge_expired_sessions(&self) -> StoreResult<u64> {
        let result = session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lte(now()))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected)
    }
}
