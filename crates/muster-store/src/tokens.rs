//! API bearer tokens, stored as SHA-256 hashes, and the random tokens everything else uses.

use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use crate::Store;
use crate::convert::now;
use crate::entity::{api_token, user};
use crate::error::{StoreError, StoreResult};
use crate::users::{User, to_user};

/// 32 random bytes, hex: unguessable, URL- and cookie-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// API tokens carry a recognisable prefix so a leaked one is easy to spot in a scan.
const API_PREFIX: &str = "mst_";

impl Store {
    /// Creates a token acting as `user_email`; the plain token is shown once, never stored.
    pub async fn create_api_token(
        &self,
        user_email: &str,
        name: &str,
    ) -> StoreResult<(i64, String)> {
        let owner = user::Entity::find()
            .filter(user::Column::Email.eq(user_email.trim().to_lowercase()))
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound("user"))?;
        let token = format!("{API_PREFIX}{}", random_token());
        let saved = api_token::ActiveModel {
            name: Set(name.to_owned()),
            token_hash: Set(hash_token(&token)),
            user_id: Set(owner.id),
            created_at: Set(now()),
            revoked_at: Set(None),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok((saved.id, token))
    }

    /// The user a live (unrevoked) token acts as.
    pub async fn api_token_user(&self, token: &str) -> StoreResult<Option<User>> {
        let found = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(hash_token(token)))
            .filter(api_token::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?;
        let Some(found) = found else { return Ok(None) };
        let owner = user::Entity::find_by_id(found.user_id)
            .filter(user::Column::Active.eq(true))
            .one(&self.db)
            .await?;
        owner.map(to_user).transpose()
    }

    pub async fn revoke_api_token(&self, id: i64) -> StoreResult<()> {
        let found = api_token::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound("API token"))?;
        let mut active: api_token::ActiveModel = found.into();
        active.revoked_at = Set(Some(now()));
        active.update(&self.db).await?;
        Ok(())
    }
}
