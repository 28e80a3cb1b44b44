//! Bulk mail: indexes for campaign progress, address-wide suppression and due campaigns.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn index(table: &str, name: &str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut statement = Index::create()
        .name(name)
        .table(Alias::new(table))
        .if_not_exists()
        .take();
    for column in columns {
        statement.col(Alias::new(*column));
    }
    statement
}

const INDEXES: [(&str, &str, &[&str]); 4] = [
    // The dispatch queue in id order: SQLite and PostgreSQL both walk it without sorting.
    ("deliveries", "idx_deliveries_queue", &["status", "id"]),
    // Progress counts per campaign and state.
    (
        "deliveries",
        "idx_deliveries_campaign_status",
        &["campaign_id", "status"],
    ),
    // An unsubscribed or bounced address is suppressed in every incident.
    ("audience_members", "idx_audience_email", &["email"]),
    // Scheduled campaigns that are due.
    (
        "campaigns",
        "idx_campaigns_status",
        &["status", "scheduled_at"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, columns) in INDEXES {
            manager.create_index(index(table, name, columns)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, _) in INDEXES {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
