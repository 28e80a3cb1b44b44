//! What the wait estimator learns from: when an agent took a case and how long their first
//! answer took, and every estimate posted, so posted waits can be compared with real ones.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cases {
    Table,
    ClaimedAt,
    HandlingSeconds,
}

#[derive(DeriveIden)]
enum WaitEstimates {
    Table,
    Id,
    IncidentId,
    Channel,
    Tier,
    LowMinutes,
    HighMinutes,
    PointMinutes,
    Source,
    PostedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .add_column(timestamp_with_time_zone_null(Cases::ClaimedAt))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .add_column(big_integer_null(Cases::HandlingSeconds))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WaitEstimates::Table)
                    .if_not_exists()
                    .col(big_pk_auto(WaitEstimates::Id))
                    .col(big_integer(WaitEstimates::IncidentId))
                    .col(string(WaitEstimates::Channel))
                    .col(string(WaitEstimates::Tier))
                    .col(big_integer(WaitEstimates::LowMinutes))
                    .col(big_integer(WaitEstimates::HighMinutes))
                    .col(double(WaitEstimates::PointMinutes))
                    .col(string(WaitEstimates::Source))
                    .col(timestamp_with_time_zone(WaitEstimates::PostedAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_wait_estimates_incident")
                    .table(WaitEstimates::Table)
                    .col(WaitEstimates::IncidentId)
                    .col(WaitEstimates::PostedAt)
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WaitEstimates::Table).take())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .drop_column(Cases::HandlingSeconds)
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .drop_column(Cases::ClaimedAt)
                    .take(),
            )
            .await
    }
}
