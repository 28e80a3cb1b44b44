use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "group_replies")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub group_id: i64,
    /// `{language: text}`.
    #[sea_orm(column_type = "JsonBinary")]
    pub bodies: Json,
    pub then_status: Option<String>,
    pub status: String,
    pub author_id: i64,
    pub author: String,
    pub drafted_at: TimeDateTimeWithTimeZone,
    pub send_at: TimeDateTimeWithTimeZone,
    pub started_at: Option<TimeDateTimeWithTimeZone>,
    pub finished_at: Option<TimeDateTimeWithTimeZone>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
