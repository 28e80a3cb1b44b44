use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "case_merges")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub source_id: i64,
    pub target_id: i64,
    pub moved_contacts: String,
    pub moved_tokens: String,
    pub marker_contact_id: i64,
    pub source_status: String,
    pub source_resolved_at: Option<TimeDateTimeWithTimeZone>,
    pub source_contact_count: i32,
    pub source_claimed_by: Option<i64>,
    pub actor: String,
    pub merged_at: TimeDateTimeWithTimeZone,
    pub undone_at: Option<TimeDateTimeWithTimeZone>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
