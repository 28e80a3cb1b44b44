use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audience_members")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub incident_id: i64,
    pub email: String,
    pub name: String,
    pub booking_ref: Option<String>,
    pub departure_date: Option<TimeDate>,
    pub language: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub variables: Json,
    pub source: String,
    pub confirmed_at: Option<TimeDateTimeWithTimeZone>,
    pub unsubscribed_at: Option<TimeDateTimeWithTimeZone>,
    pub bounced_at: Option<TimeDateTimeWithTimeZone>,
    pub unsubscribe_token: String,
    pub created_at: TimeDateTimeWithTimeZone,
    /// When a pending sign-up's confirmation was last emailed.
    pub confirmation_sent_at: Option<TimeDateTimeWithTimeZone>,
    /// The trip of the booking, from the file's `trip` column.
    pub trip: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
