//! What a merge moved, so that it can be undone: the contacts and customer tokens that went
//! from the merged-away case to the one that remains, and how the merged-away case stood.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CaseMerges {
    Table,
    Id,
    SourceId,
    TargetId,
    /// JSON arrays of ids.
    MovedContacts,
    MovedTokens,
    /// The "merged from" entry written on the remaining case's timeline.
    MarkerContactId,
    SourceStatus,
    SourceResolvedAt,
    SourceContactCount,
    SourceClaimedBy,
    Actor,
    MergedAt,
    UndoneAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CaseMerges::Table)
                    .if_not_exists()
                    .col(big_pk_auto(CaseMerges::Id))
                    .col(big_integer(CaseMerges::SourceId))
                    .col(big_integer(CaseMerges::TargetId))
                    .col(text(CaseMerges::MovedContacts))
                    .col(text(CaseMerges::MovedTokens))
                    .col(big_integer(CaseMerges::MarkerContactId))
                    .col(string(CaseMerges::SourceStatus))
                    .col(timestamp_with_time_zone_null(CaseMerges::SourceResolvedAt))
                    .col(integer(CaseMerges::SourceContactCount))
                    .col(big_integer_null(CaseMerges::SourceClaimedBy))
                    .col(string(CaseMerges::Actor))
                    .col(timestamp_with_time_zone(CaseMerges::MergedAt))
                    .col(timestamp_with_time_zone_null(CaseMerges::UndoneAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_case_merges_target")
                    .table(CaseMerges::Table)
                    .col(CaseMerges::TargetId)
                    .col(CaseMerges::MergedAt)
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CaseMerges::Table).take())
            .await
    }
}
