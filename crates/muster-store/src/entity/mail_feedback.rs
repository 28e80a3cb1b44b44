use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_feedback")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub external_id: String,
    pub kind: String,
    pub delivery_id: Option<i64>,
    pub campaign_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub email: String,
    pub action: String,
    pub status: String,
    #[sea_orm(column_type = "Text")]
    pub detail: String,
    pub permanent: bool,
    pub received_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
