use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "group_reply_targets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub reply_id: i64,
    pub case_id: i64,
    pub status: String,
    pub reason: Option<String>,
    pub claimed_by: Option<String>,
    pub lease_until: Option<TimeDateTimeWithTimeZone>,
    pub next_attempt_at: TimeDateTimeWithTimeZone,
    pub done_at: Option<TimeDateTimeWithTimeZone>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
