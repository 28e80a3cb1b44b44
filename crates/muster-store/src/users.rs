//! Console users: managers and agents, with argon2id password hashes.

use muster_core::contact_info::EmailAddress;
use muster_core::role::Role;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;

use crate::convert::{corrupt, now};
use crate::entity::user;
use crate::error::{StoreError, StoreResult};
use crate::{Store, password};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
}

pub(crate) fn to_user(model: user::Model) -> StoreResult<User> {
    let role = model
        .role
        .parse()
        .map_err(|_| corrupt("user role", &model.role))?;
    Ok(User {
        id: model.id,
        email: model.email,
        name: model.name,
        role,
    })
}

/// Passwords shorter than this are refused: a console login guards customer data.
pub const MIN_PASSWORD_LEN: usize = 12;

impl Store {
    /// Creates a user, or resets the name, role and password of the one with that email.
    pub async fn upsert_user(
        &self,
        email: &EmailAddress,
        name: &str,
        role: Role,
        password: &str,
    ) -> StoreResult<User> {
        if password.chars().count() < MIN_PASSWORD_LEN {
            return Err(StoreError::Conflict(format!(
                "a password needs at least {MIN_PASSWORD_LEN} characters"
            )));
        }
        let owned = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || password::hash(&owned))
            .await
            .map_err(|e| StoreError::Hashing(e.to_string()))??;
        let existing = user::Entity::find()
            .filter(user::Column::Email.eq(email.as_str()))
            .one(&self.db)
            .await?;
        let model = match existing {
            Some(found) => {
                let mut active: user::ActiveModel = found.into();
                active.name = Set(name.to_owned());
                active.role = Set(role.as_str().to_owned());
                active.password_hash = Set(hash);
                active.active = Set(true);
                active.update(&self.db).await?
            }
            None => {
                user::ActiveModel {
                    email: Set(email.as_str().to_owned()),
                    name: Set(name.to_owned()),
                    role: Set(role.as_str().to_owned()),
                    password_hash: Set(hash),
                    active: Set(true),
                    created_at: Set(now()),
                    ..Default::default()
                }
                .insert(&self.db)
                .await?
            }
        };
        to_user(model)
    }

    /// The user whose email and password match, if any. Costs the same time either way.
    pub async fn authenticate(&self, email: &str, password: &str) -> StoreResult<Option<User>> {
        let found = user::Entity::find()
            .filter(user::Column::Email.eq(email.trim().to_lowercase()))
            .filter(user::Column::Active.eq(true))
            .one(&self.db)
            .await?;
        let password = password.to_owned();
        let (found, ok) = tokio::task::spawn_blocking(move || match found {
            Some(model) => {
                let ok = password::verify(&password, &model.password_hash);
                (Some(model), ok)
            }
            None => {
                password::decoy_verify(&password);
                (None, false)
            }
        })
        .await
        .map_err(|e| StoreError::Hashing(e.to_string()))?;
        match (found, ok) {
            (Some(model), true) => Ok(Some(to_user(model)?)),
            _ => Ok(None),
        }
    }

    pub async fn list_users(&self) -> StoreResult<Vec<User>> {
        user::Entity::find()
            .order_by_asc(user::Column::Email)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_user)
            .collect()
    }
}
