//! When a pending sign-up's confirmation was last emailed, so that posting the subscribe
//! form again re-sends it at most once in a while instead of flooding the inbox.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AudienceMembers {
    Table,
    ConfirmationSentAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AudienceMembers::Table)
                    .add_column(timestamp_with_time_zone_null(
                        AudienceMembers::ConfirmationSentAt,
                    ))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AudienceMembers::Table)
                    .drop_column(AudienceMembers::ConfirmationSentAt)
                    .take(),
            )
            .await
    }
}
