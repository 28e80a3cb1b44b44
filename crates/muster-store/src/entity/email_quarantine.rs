use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "email_quarantine")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub source: String,
    pub source_key: String,
    pub incident_id: i64,
    pub raw: Vec<u8>,
    pub error: String,
    pub attempts: i32,
    pub quarantined_at: TimeDateTimeWithTimeZone,
    pub last_tried_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
