//! Trips that reach a case from the audience file: a case with a booking reference but no
//! trip takes the trip of the imported booking, when the case arrives and when the file
//! is imported after it.

use muster_core::audience::AudienceRow;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Value};

use crate::Store;
use crate::entity::audience_member;
use crate::error::StoreResult;
use crate::raw_sql::statement;

/// Gives the incident's cases without a trip the trip of their booking in `rows`.
pub(crate) async fn fill_case_trips<C: ConnectionTrait>(
    conn: &C,
    incident_id: i64,
    rows: &[AudienceRow],
) -> StoreResult<()> {
    let mut values: Vec<Value> = vec![incident_id.into()];
    let mut marks = Vec::new();
    for row in rows {
        if let (Some(booking), Some(_)) = (&row.booking_ref, &row.trip) {
            values.push(booking.as_str().into());
            marks.push("?");
        }
    }
    if marks.is_empty() {
        return Ok(());
    }
    // Walks idx_cases_booking for the listed bookings; the trip from idx_audience_booking.
    let sql = format!(
        "UPDATE cases SET trip = (SELECT a.trip FROM audience_members a \
         WHERE a.incident_id = cases.incident_id AND a.booking_ref = cases.booking_ref \
         AND a.trip IS NOT NULL ORDER BY a.id LIMIT 1) \
         WHERE incident_id = ? AND trip IS NULL AND booking_ref IN ({})",
        marks.join(", ")
    );
    conn.execute_raw(statement(conn.get_database_backend(), &sql, values))
        .await?;
    Ok(())
}

impl Store {
    /// The trip of an imported booking, if the audience file gave one.
    pub async fn trip_of_booking(
        &self,
        incident_id: i64,
        booking_ref: &str,
    ) -> StoreResult<Option<String>> {
        // On the intake's path before its own transaction: a connection cut under it (a
        // terminated backend) is passed like the intake's, on another connection.
        let mut tries = 0;
        let trip: Option<Option<String>> = loop {
            let found = audience_member::Entity::find()
                .select_only()
                .column(audience_member::Column::Trip)
                .filter(audience_member::Column::IncidentId.eq(incident_id))
                .filter(audience_member::Column::BookingRef.eq(booking_ref))
                .filter(audience_member::Column::Trip.is_not_null())
                .into_tuple()
                .one(&self.db)
                .await;
            match found {
                Err(err) if tries < 8 && crate::StoreError::is_connection_lost(&err) => tries += 1,
                other => break other?,
            }
        };
        Ok(trip.flatten())
    }
}
