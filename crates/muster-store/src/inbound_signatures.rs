//! Inbound signatures seen within their window, in the shared database: a signed request
//! sent again, to any replica, is recognised and refused.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::Store;
use crate::entity::inbound_signature;
use crate::error::StoreResult;

impl Store {
    /// Records `signature`, accepted until `valid_until` (Unix seconds), and prunes those past
    /// their window at `now`. False when it was recorded before: the request is a replay.
    pub async fn record_inbound_signature(
        &self,
        signature: &str,
        valid_until: i64,
        now: i64,
    ) -> StoreResult<bool> {
        use inbound_signature::Column as C;
        inbound_signature::Entity::delete_many()
            .filter(C::ValidUntil.lt(now))
            .exec(&self.db)
            .await?;
        let inserted = inbound_signature::Entity::insert(inbound_signature::ActiveModel {
            signature: Set(signature.to_owned()),
            valid_until: Set(valid_until),
        })
        .on_conflict(OnConflict::column(C::Signature).do_nothing().to_owned())
        .exec_without_returning(&self.db)
        .await?;
        Ok(inserted == 1)
    }

    /// Forgets `signature`: its request was not handled, so the sender may send it again.
    pub async fn forget_inbound_signature(&self, signature: &str) -> StoreResult<()> {
        inbound_signature::Entity::delete_by_id(signature.to_owned())
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
