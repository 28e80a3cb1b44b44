//! The audit log: who did what to which thing, and when. Written for every change.

use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder, QuerySelect, Set};
use serde::Serialize;
use time::OffsetDateTime;

use crate::Store;
use crate::convert::now;
use crate::entity::audit_entry;
use crate::error::StoreResult;

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub details: serde_json::Value,
}

/// Writes one entry on `conn`, so it can share the transaction of the change it records.
pub(crate) async fn record_on<C: ConnectionTrait>(
    conn: &C,
    actor: &str,
    action: &str,
    subject: &str,
    details: serde_json::Value,
) -> StoreResult<()> {
    audit_entry::ActiveModel {
        at: Set(now()),
        actor: Set(actor.to_owned()),
        action: Set(action.to_owned()),
        subject: Set(subject.to_owned()),
        details: Set(details),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

impl Store {
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        details: serde_json::Value,
    ) -> StoreResult<()> {
        record_on(&self.db, actor, action, subject, details).await
    }

    pub async fn recent_audit(&self, limit: u64) -> StoreResult<Vec<AuditEntry>> {
        Ok(audit_entry::Entity::find()
            .order_by_desc(audit_entry::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| AuditEntry {
                at: m.at,
                actor: m.actor,
                action: m.action,
                subject: m.subject,
                details: m.details,
            })
            .collect())
    }
}
