//! Failed console logins, counted per account and per address, so guessing is slowed
//! down on every replica alike (the counts live in the shared database).

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use time::Duration;

use crate::Store;
use crate::convert::now;
use crate::entity::login_attempt;
use crate::error::StoreResult;

impl Store {
    pub async fn record_failed_login(&self, email: &str, address: &str) -> StoreResult<()> {
        login_attempt::ActiveModel {
            email: Set(email.trim().to_lowercase()),
            address: Set(address.to_owned()),
            attempted_at: Set(now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// Failures for this account or from this address within `window`.
    pub async fn recent_failed_logins(
        &self,
        email: &str,
        address: &str,
        window: Duration,
    ) -> StoreResult<(u64, u64)> {
        let since = now() - window;
        let by_email = login_attempt::Entity::find()
            .filter(login_attempt::Column::Email.eq(email.trim().to_lowercase()))
            .filter(login_attempt::Column::AttemptedAt.gt(since))
            .count(&self.db)
            .await?;
        let by_address = login_attempt::Entity::find()
            .filter(login_attempt::Column::Address.eq(address))
            .filter(login_attempt::Column::AttemptedAt.gt(since))
            .count(&self.db)
            .await?;
        Ok((by_email, by_address))
    }

    /// A successful login clears the account's failures.
    pub async fn clear_failed_logins(&self, email: &str) -> StoreResult<()> {
        login_attempt::Entity::delete_many()
            .filter(login_attempt::Column::Email.eq(email.trim().to_lowercase()))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
