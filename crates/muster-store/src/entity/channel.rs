use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "channels")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub incident_id: i64,
    pub kind: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub label: Json,
    pub address: String,
    pub posted_low_minutes: Option<i64>,
    pub posted_high_minutes: Option<i64>,
    pub posted_wait_overrides: bool,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
