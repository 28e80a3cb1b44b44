//! Failed console logins, counted per client (on each account and on all of them), so
//! guessing is slowed down on every replica alike (the counts live in the shared database).

use muster_core::login_delay::{ClientFailures, Failures};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use time::Duration;

use crate::Store;
use crate::convert::now;
use crate::entity::login_attempt;
use crate::error::StoreResult;

fn account(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Store {
    pub async fn record_failed_login(&self, email: &str, address: &str) -> StoreResult<()> {
        login_attempt::ActiveModel {
            email: Set(account(email)),
            address: Set(address.to_owned()),
            attempted_at: Set(now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// This client's failures within `window`, on `email` and on any account. The rows are
    /// few: a throttled attempt is refused before it can fail, so a client adds only a
    /// handful per window.
    pub async fn recent_failed_logins(
        &self,
        email: &str,
        address: &str,
        window: Duration,
    ) -> StoreResult<ClientFailures> {
        use login_attempt::Column as C;
        let rows: Vec<(String, time::OffsetDateTime)> = login_attempt::Entity::find()
            .select_only()
            .column(C::Email)
            .column(C::AttemptedAt)
            .filter(C::Address.eq(address))
            .filter(C::AttemptedAt.gt(now() - window))
            .order_by_desc(C::AttemptedAt)
            .into_tuple()
            .all(&self.db)
            .await?;
        let email = account(email);
        let failures = |rows: Vec<&(String, time::OffsetDateTime)>| Failures {
            count: rows.len() as u64,
            last: rows.first().map(|(_, at)| *at),
        };
        Ok(ClientFailures {
            on_account: failures(rows.iter().filter(|(e, _)| *e == email).collect()),
            on_any: failures(rows.iter().collect()),
        })
    }

    /// A successful login clears what this client failed on the account; other clients'
    /// failures (an attacker's) keep counting against them.
    pub async fn clear_failed_logins(&self, email: &str, address: &str) -> StoreResult<()> {
        login_attempt::Entity::delete_many()
            .filter(login_attempt::Column::Email.eq(account(email)))
            .filter(login_attempt::Column::Address.eq(address))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
