use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbound_messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: i64,
    pub contact_id: Option<i64>,
    pub channel: String,
    pub recipient: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    pub idempotency_key: String,
    pub status: String,
    pub attempts: i32,
    pub lease_until: Option<TimeDateTimeWithTimeZone>,
    pub next_attempt_at: TimeDateTimeWithTimeZone,
    pub sending_at: Option<TimeDateTimeWithTimeZone>,
    pub provider_id: Option<String>,
    pub error: Option<String>,
    pub created_at: TimeDateTimeWithTimeZone,
    pub status_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
