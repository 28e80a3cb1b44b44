//! Call-backs: a caller's request to be called back, kept on their case (the number to
//! call) until an agent logs that they reached them.

use muster_core::queue_profile::Waiting;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use time::OffsetDateTime;

use crate::Store;
use crate::entity::case;
use crate::error::StoreResult;

impl Store {
    /// Asks for `case_id` to be called back on `phone`.
    pub async fn request_call_back(&self, case_id: i64, phone: &str) -> StoreResult<()> {
        case::Entity::update_many()
            .col_expr(case::Column::CallBackTo, Expr::value(phone))
            .filter(case::Column::Id.eq(case_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// The number `case_id` is waiting to be called back on, if any.
    pub async fn call_back_of(&self, case_id: i64) -> StoreResult<Option<String>> {
        let number: Option<Option<String>> = case::Entity::find_by_id(case_id)
            .select_only()
            .column(case::Column::CallBackTo)
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(number.flatten())
    }

    /// The caller was reached: the case no longer waits for a call.
    pub async fn clear_call_back(&self, case_id: i64) -> StoreResult<()> {
        case::Entity::update_many()
            .col_expr(
                case::Column::CallBackTo,
                Expr::value(Option::<String>::None),
            )
            .filter(case::Column::Id.eq(case_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Call-backs waiting in the incident's queue (open, not taken by an agent), per
    /// departure date, as `waiting_by_departure` counts the whole queue.
    pub async fn waiting_call_backs(
        &self,
        incident_id: i64,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Waiting>> {
        self.waiting_where(incident_id, now, "AND call_back_to IS NOT NULL")
            .await
    }
}
