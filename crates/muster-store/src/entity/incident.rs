use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "incidents")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub slug: String,
    pub status: String,
    pub severity: String,
    pub time_zone: String,
    pub default_language: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub languages: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub title: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub summary: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub letter: Json,
    pub letter_signature: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub contact_guidance: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub settings: Json,
    pub opened_at: Option<TimeDateTimeWithTimeZone>,
    pub closed_at: Option<TimeDateTimeWithTimeZone>,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
    pub content_version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
