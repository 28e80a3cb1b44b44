use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub incident_id: i64,
    pub reference: String,
    pub customer_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub booking_ref: Option<String>,
    pub handle: Option<String>,
    pub departure_date: Option<TimeDate>,
    pub request_type: String,
    pub team: Option<String>,
    pub language: String,
    pub status: String,
    pub channel: String,
    pub idempotency_key: Option<String>,
    pub contact_count: i32,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
    pub first_response_at: Option<TimeDateTimeWithTimeZone>,
    pub resolved_at: Option<TimeDateTimeWithTimeZone>,
    pub claimed_by: Option<i64>,
    pub lease_until: Option<TimeDateTimeWithTimeZone>,
    pub overdue_at: Option<TimeDateTimeWithTimeZone>,
    pub merged_into: Option<String>,
    pub claimed_at: Option<TimeDateTimeWithTimeZone>,
    pub handling_seconds: Option<i64>,
    pub trip: Option<String>,
    pub unverified_match: Option<String>,
    pub unverified_match_on: Option<String>,
    /// The number a caller asked to be called back on, until an agent reached them.
    pub call_back_to: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
